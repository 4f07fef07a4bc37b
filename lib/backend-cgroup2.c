/* SPDX-License-Identifier: MIT */
/* The job in its own cgroup with the v2 memory controller. The kernel enforces the ceiling
 * (memory.max), counts the group's memory (memory.current), keeps its high-water mark (memory.peak)
 * and its OOM kills (memory.events), and ends every process at once (cgroup.kill). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "macro.h"
#include "sysroot.h"

struct cgroup2 {
        char *dir;            /* relative to the cgroup root: "unified/x/memguard-12" */
        char *path;           /* as /proc/PID/cgroup prints it: "/x/memguard-12" */
        int procs_fd;         /* cgroup.procs, O_WRONLY: the child writes "0" to join */
        int procs_read_fd;    /* cgroup.procs again, for listing members every sample */
        int current_fd;
        int peak_fd;          /* -1 before Linux 5.19 */
        int events_fd;
        int stat_fd;
        struct backend_slow slow;
        bool created;
};

static char *backend_cgroup2_file(const struct cgroup2 *c, const char *name) {
        return cgroup_join(c->dir, NULL, name);
}

static int backend_cgroup2_open_file(struct backend *b, const char *name, int flags) {
        struct cgroup2 *c = b->data;
        _cleanup_free_ char *p = backend_cgroup2_file(c, name);
        if (!p)
                return -ENOMEM;
        return sysroot_open_cgroup(b->sysroot, p, flags);
}

static int backend_cgroup2_write(struct backend *b, const char *name, const char *value) {
        struct cgroup2 *c = b->data;
        _cleanup_free_ char *p = backend_cgroup2_file(c, name);
        if (!p)
                return -ENOMEM;
        return sysroot_write_cgroup(b->sysroot, p, value);
}

static int backend_cgroup2_set_limit(struct backend *b, uint64_t bytes) {
        char v[32];
        if (bytes == 0)
                snprintf(v, sizeof(v), "max");
        else
                snprintf(v, sizeof(v), "%" PRIu64, bytes);
        return backend_cgroup2_write(b, "memory.max", v);
}

static void backend_cgroup2_close(struct backend *b);

/* Makes sure the parent hands the memory controller to its children. */
static int backend_cgroup2_enable_memory(struct backend *b, const char *parent, char **reterr) {
        _cleanup_free_ char *ctl = cgroup_join(parent, NULL, "cgroup.controllers");
        _cleanup_free_ char *sub = cgroup_join(parent, NULL, "cgroup.subtree_control");
        _cleanup_free_ char *text = NULL;
        if (!ctl || !sub)
                return -ENOMEM;

        ssize_t n = sysroot_read_cgroup(b->sysroot, ctl, &text, 4096);
        if (n < 0) {
                backend_errorf(reterr, "cannot read /sys/fs/cgroup/%s: %s", ctl, strerror((int) -n));
                return (int) n;
        }
        if (!cgroup_list_has(text, "memory")) {
                backend_errorf(reterr, "the cgroup2 tree at /sys/fs/cgroup/%s has no memory controller", parent);
                return -EOPNOTSUPP;
        }
        free(text);
        text = NULL;
        n = sysroot_read_cgroup(b->sysroot, sub, &text, 4096);
        if (n < 0) {
                backend_errorf(reterr, "cannot read /sys/fs/cgroup/%s: %s", sub, strerror((int) -n));
                return (int) n;
        }
        if (cgroup_list_has(text, "memory"))
                return 0;
        int r = sysroot_write_cgroup(b->sysroot, sub, "+memory");
        if (r < 0) {
                /* EBUSY: the "no internal processes" rule; our own cgroup holds processes (us). */
                backend_errorf(reterr, "cannot enable the memory controller in /sys/fs/cgroup/%s: %s%s", sub,
                         strerror(-r),
                         r == -EBUSY ? " (the cgroup has processes of its own; run memguard in a delegated, "
                                       "empty cgroup or under memguardd)" : "");
                return r;
        }
        return 0;
}

/* Where the job's group goes (or is, when adopted): c->path and c->dir, and *ret_parent, the dir of
 * the group it goes in. */
static int backend_cgroup2_locate(struct backend *b, char **ret_parent, char **reterr) {
        struct cgroup2 *c = b->data;
        struct cgroup_layout l = {};
        int r = cgroup_layout_read(b->sysroot, 0, &l);
        if (r < 0) {
                backend_errorf(reterr, "cannot read the cgroup layout: %s", strerror(-r));
                return r;
        }
        if (!l.v2_mount || !l.v2_path) {
                cgroup_layout_done(&l);
                backend_errorf(reterr, "no cgroup2 filesystem under /sys/fs/cgroup");
                return -EOPNOTSUPP;
        }
        const char *adopt = b->config.adopt_path;
        const char *parent_path = b->config.parent_path ? b->config.parent_path : l.v2_path;
        *ret_parent = cgroup_dir(l.v2_mount, l.v2_root, parent_path, NULL);
        c->path = adopt ? strdup(adopt) : cgroup_child(parent_path, b->group_name);
        c->dir = c->path ? cgroup_dir(l.v2_mount, l.v2_root, c->path, NULL) : NULL;
        b->group_path = c->path ? strdup(c->path) : NULL;
        cgroup_layout_done(&l);
        if (!c->path || !b->group_path)
                return -ENOMEM;
        if (!*ret_parent || !c->dir) {
                backend_errorf(reterr, "%s is outside what the cgroup2 mount shows", c->path);
                return -EXDEV;
        }
        return 0;
}

/* A new group in parent, with the memory controller. */
static int backend_cgroup2_create(struct backend *b, const char *parent, char **reterr) {
        struct cgroup2 *c = b->data;
        /* What killed earlier runs left here; failing to list it is no reason not to run. */
        if (b->config.remove_stale)
                (void) backend_stale_remove(b->sysroot, parent);
        int r = backend_cgroup2_enable_memory(b, parent, reterr);
        if (r < 0)
                return r;
        r = cgroup_mkdir(b->sysroot, c->dir);
        if (r < 0) {
                backend_errorf(reterr, "cannot create /sys/fs/cgroup/%s: %s", c->dir, strerror(-r));
                return r;
        }
        c->created = true;
        return 0;
}

static int backend_cgroup2_open_files(struct backend *b, char **reterr) {
        struct cgroup2 *c = b->data;
        c->procs_fd = backend_cgroup2_open_file(b, "cgroup.procs", O_WRONLY);
        c->procs_read_fd = backend_cgroup2_open_file(b, "cgroup.procs", O_RDONLY);
        c->current_fd = backend_cgroup2_open_file(b, "memory.current", O_RDONLY);
        c->events_fd = backend_cgroup2_open_file(b, "memory.events", O_RDONLY);
        c->stat_fd = backend_cgroup2_open_file(b, "memory.stat", O_RDONLY);
        c->peak_fd = backend_cgroup2_open_file(b, "memory.peak", O_RDONLY);  /* Linux >= 5.19 */
        if (c->procs_fd < 0 || c->current_fd < 0 || c->events_fd < 0) {
                int r = c->procs_fd < 0 ? c->procs_fd : c->current_fd < 0 ? c->current_fd : c->events_fd;
                backend_errorf(reterr, "cannot open the files of /sys/fs/cgroup/%s: %s%s", c->dir, strerror(-r),
                               b->config.adopt_path && r == -ENOENT ? " (is the memory controller enabled for it?)"
                                                                    : "");
                return r;
        }
        return 0;
}

static int backend_cgroup2_open(struct backend *b, char **reterr) {
        struct cgroup2 *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->procs_fd = c->procs_read_fd = c->current_fd = c->peak_fd = c->events_fd = c->stat_fd = -1;
        b->data = c;

        /* An adopted group is someone else's (or ours from before a restart): it must already have the
         * memory controller. It becomes ours to remove only once it is fully adopted, so a failure here
         * never ends a job we meant to take up. */
        bool adopt = b->config.adopt_path;
        _cleanup_free_ char *parent = NULL;
        int r = backend_cgroup2_locate(b, &parent, reterr);
        if (r >= 0 && !adopt)
                r = backend_cgroup2_create(b, parent, reterr);
        if (r >= 0 && b->config.hard_limit_bytes > 0) {
                r = backend_cgroup2_set_limit(b, b->config.hard_limit_bytes);
                if (r < 0)
                        backend_errorf(reterr, "cannot set memory.max: %s", strerror(-r));
        }
        /* When the kernel must OOM-kill inside the job, end the whole job, as memguard would. */
        if (r >= 0 && (!adopt || b->config.adopt_owned))
                (void) backend_cgroup2_write(b, "memory.oom.group", "1");
        if (r >= 0)
                r = backend_cgroup2_open_files(b, reterr);
        if (r < 0) {
                backend_cgroup2_close(b);
                return r;
        }
        if (adopt)
                c->created = b->config.adopt_owned;
        return 0;
}

static int backend_cgroup2_freeze(struct backend *b, bool frozen) {
        return backend_cgroup2_write(b, "cgroup.freeze", frozen ? "1" : "0");
}

static int backend_cgroup2_attach(struct backend *b, pid_t pid) {
        struct cgroup2 *c = b->data;
        char v[32];
        int n = snprintf(v, sizeof(v), "%d", (int) pid);
        return write(c->procs_fd, v, (size_t) n) == n ? 0 : -errno;
}

static int backend_cgroup2_prepare_child(struct backend *b) {
        struct cgroup2 *c = b->data;
        return write(c->procs_fd, "0", 1) == 1 ? 0 : -errno;
}

static int backend_cgroup2_sample(struct backend *b, struct backend_sample *ret) {
        struct cgroup2 *c = b->data;
        int r = cgroup_pread_u64(c->current_fd, &ret->current_bytes);
        if (r < 0)
                return r;
        backend_sample_slow(b, &c->slow, ret, c->peak_fd, c->events_fd, c->stat_fd, "inactive_file");
        return 0;
}

static int backend_cgroup2_pids(struct backend *b, pid_t **ret, size_t *ret_n) {
        struct cgroup2 *c = b->data;
        if (c->procs_read_fd >= 0)
                return cgroup_reread_pids(c->procs_read_fd, ret, ret_n);
        _cleanup_free_ char *p = backend_cgroup2_file(c, "cgroup.procs");
        if (!p)
                return -ENOMEM;
        return cgroup_read_pids(b->sysroot, p, ret, ret_n);
}

static bool backend_cgroup2_still_member(struct backend *b, pid_t pid) {
        struct cgroup2 *c = b->data;
        return cgroup_pid_in(b->sysroot, pid, 1, c->path) > 0;
}

static int backend_cgroup2_kill(struct backend *b, int sig) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = backend_cgroup2_pids(b, &pids, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        /* cgroup.kill reaches every process atomically, including ones forked a moment ago. */
        if (sig == SIGKILL && backend_cgroup2_write(b, "cgroup.kill", "1") >= 0)
                return (int) n;
        return backend_signal_pids(b, pids, n, sig, backend_cgroup2_still_member);
}

static void backend_cgroup2_close(struct backend *b) {
        struct cgroup2 *c = b->data;
        if (!c)
                return;
        if (c->created && !b->keep) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                /* Nothing of the job outlives memguard's hold on it. */
                if (backend_cgroup2_pids(b, &pids, &n) >= 0 && n > 0 && sysroot_is_live(b->sysroot))
                        (void) backend_cgroup2_write(b, "cgroup.kill", "1");
                (void) cgroup_rmdir(b->sysroot, c->dir, 2 * 1000000ULL);
        }
        safe_close(c->procs_fd);
        safe_close(c->procs_read_fd);
        safe_close(c->current_fd);
        safe_close(c->peak_fd);
        safe_close(c->events_fd);
        safe_close(c->stat_fd);
        free(c->dir);
        free(c->path);
        free(c);
        b->data = NULL;
}

const struct backend_ops backend_cgroup2_ops = {
        .kind = BACKEND_CGROUP2,
        .measures = "memory.current of the job's cgroup (all memory charged to it: anonymous, page cache, "
                    "kernel); limits compare it without inactive page cache",
        .open = backend_cgroup2_open,
        .prepare_child = backend_cgroup2_prepare_child,
        .sample = backend_cgroup2_sample,
        .pids = backend_cgroup2_pids,
        .kill = backend_cgroup2_kill,
        .set_limit = backend_cgroup2_set_limit,
        .attach = backend_cgroup2_attach,
        .freeze = backend_cgroup2_freeze,
        .close = backend_cgroup2_close,
};
