/* SPDX-License-Identifier: MIT */
/* The job in a v1 memory cgroup: the kernel enforces the ceiling (memory.limit_in_bytes, and
 * memory.memsw.limit_in_bytes so swap is no way around it), counts the group's memory
 * (memory.usage_in_bytes), keeps the high-water mark (memory.max_usage_in_bytes) and its OOM kills
 * (memory.oom_control). On hybrid hosts the job also gets a cgroup in the unified tree: it lists the
 * job's processes and ends them all at once with cgroup.kill, which v1 lacks. */
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

struct cgroup1 {
        char *mem_dir;        /* relative: "memory/x/memguard-12" */
        char *mem_path;       /* "/x/memguard-12" as /proc/PID/cgroup prints it */
        char *uni_dir;        /* relative: "unified/y/memguard-12", NULL when no unified tree is usable */
        char *uni_path;
        int mem_procs_fd;
        int uni_procs_fd;
        int procs_read_fd;    /* the cgroup.procs that lists members (unified twin, else v1), kept open */
        int usage_fd;
        int max_usage_fd;
        int oom_control_fd;
        int stat_fd;
        struct backend_slow slow;
        bool mem_created, uni_created;
};

static int backend_cgroup1_write(struct backend *b, const char *dir, const char *name, const char *value) {
        _cleanup_free_ char *p = cgroup_join(dir, NULL, name);
        if (!p)
                return -ENOMEM;
        return sysroot_write_cgroup(b->sysroot, p, value);
}

static int backend_cgroup1_open_file(struct backend *b, const char *dir, const char *name, int flags) {
        _cleanup_free_ char *p = cgroup_join(dir, NULL, name);
        if (!p)
                return -ENOMEM;
        return sysroot_open_cgroup(b->sysroot, p, flags);
}

static int backend_cgroup1_set_limit(struct backend *b, uint64_t bytes) {
        struct cgroup1 *c = b->data;
        char v[32];
        if (bytes == 0)
                snprintf(v, sizeof(v), "-1");
        else
                snprintf(v, sizeof(v), "%" PRIu64, bytes);
        /* memsw must stay >= limit: raise memsw first when growing, lower it last when shrinking. The
         * kernel refuses the wrong order with EINVAL, so try both orders. */
        int r = backend_cgroup1_write(b, c->mem_dir, "memory.limit_in_bytes", v);
        int s = backend_cgroup1_write(b, c->mem_dir, "memory.memsw.limit_in_bytes", v);
        if (r < 0)
                r = backend_cgroup1_write(b, c->mem_dir, "memory.limit_in_bytes", v);
        (void) s;  /* no swap accounting (swapaccount=0) is fine: no swap way around the limit then */
        return r;
}

static void backend_cgroup1_close(struct backend *b);

/* What killed earlier runs left in both parents; failing to list one is no reason not to run. */
static void backend_cgroup1_remove_stale(struct backend *b, const struct cgroup_layout *l, const char *mem_parent,
                                         const char *uni_parent) {
        _cleanup_free_ char *mem = cgroup_dir(l->v1_memory_mount, l->v1_memory_root, mem_parent, NULL);
        _cleanup_free_ char *uni = l->v2_mount && uni_parent ? cgroup_dir(l->v2_mount, l->v2_root, uni_parent, NULL)
                                                              : NULL;
        if (mem)
                (void) backend_stale_remove(b->sysroot, mem);
        if (uni)
                (void) backend_stale_remove(b->sysroot, uni);
}

/* Where the job's groups go (or are, when adopted): in the v1 memory hierarchy and, when there is
 * one, in the unified tree. */
static int backend_cgroup1_locate(struct backend *b, char **reterr) {
        struct cgroup1 *c = b->data;
        struct cgroup_layout l = {};
        int r = cgroup_layout_read(b->sysroot, 0, &l);
        if (r < 0) {
                backend_errorf(reterr, "cannot read the cgroup layout: %s", strerror(-r));
                return r;
        }
        if (!l.v1_memory_mount || !l.v1_memory_path) {
                cgroup_layout_done(&l);
                backend_errorf(reterr, "no cgroup v1 memory controller under /sys/fs/cgroup");
                return -EOPNOTSUPP;
        }
        const char *adopt = b->config.adopt_path;
        const char *mem_parent = b->config.parent_path ? b->config.parent_path : l.v1_memory_path;
        const char *uni_parent = b->config.unified_parent_path ? b->config.unified_parent_path : l.v2_path;
        c->mem_path = adopt ? strdup(adopt) : cgroup_child(mem_parent, b->group_name);
        c->mem_dir = c->mem_path ? cgroup_dir(l.v1_memory_mount, l.v1_memory_root, c->mem_path, NULL) : NULL;
        b->group_path = c->mem_path ? strdup(c->mem_path) : NULL;
        if (l.v2_mount && (adopt ? b->config.adopt_unified_path != NULL : uni_parent != NULL)) {
                c->uni_path = adopt ? strdup(b->config.adopt_unified_path) : cgroup_child(uni_parent, b->group_name);
                c->uni_dir = c->uni_path ? cgroup_dir(l.v2_mount, l.v2_root, c->uni_path, NULL) : NULL;
        }
        if (!adopt && b->config.remove_stale)
                backend_cgroup1_remove_stale(b, &l, mem_parent, uni_parent);
        cgroup_layout_done(&l);
        if (!c->mem_path || !b->group_path)
                return -ENOMEM;
        if (!c->mem_dir) {
                backend_errorf(reterr, "%s is outside what the v1 memory mount shows", c->mem_path);
                return -EXDEV;
        }
        return 0;
}

static int backend_cgroup1_open_memory(struct backend *b, char **reterr) {
        struct cgroup1 *c = b->data;
        c->mem_procs_fd = backend_cgroup1_open_file(b, c->mem_dir, "cgroup.procs", O_WRONLY);
        c->usage_fd = backend_cgroup1_open_file(b, c->mem_dir, "memory.usage_in_bytes", O_RDONLY);
        c->max_usage_fd = backend_cgroup1_open_file(b, c->mem_dir, "memory.max_usage_in_bytes", O_RDONLY);
        c->oom_control_fd = backend_cgroup1_open_file(b, c->mem_dir, "memory.oom_control", O_RDONLY);
        c->stat_fd = backend_cgroup1_open_file(b, c->mem_dir, "memory.stat", O_RDONLY);
        if (c->mem_procs_fd < 0 || c->usage_fd < 0) {
                int r = c->mem_procs_fd < 0 ? c->mem_procs_fd : c->usage_fd;
                backend_errorf(reterr, "cannot open the files of /sys/fs/cgroup/%s: %s", c->mem_dir, strerror(-r));
                return r;
        }
        return 0;
}

/* The unified tree is a convenience (membership, cgroup.kill): without it, v1 still works. */
static void backend_cgroup1_open_unified(struct backend *b) {
        struct cgroup1 *c = b->data;
        bool adopt = b->config.adopt_path;
        if (c->uni_dir && c->uni_path) {
                if (!adopt && cgroup_mkdir(b->sysroot, c->uni_dir) >= 0)
                        c->uni_created = true;
                if (adopt || c->uni_created)
                        c->uni_procs_fd = backend_cgroup1_open_file(b, c->uni_dir, "cgroup.procs", O_WRONLY);
                if (c->uni_procs_fd >= 0)
                        return;
                if (c->uni_created)
                        (void) cgroup_rmdir(b->sysroot, c->uni_dir, 0);
                c->uni_created = false;
        }
        free(c->uni_dir);
        free(c->uni_path);
        c->uni_dir = c->uni_path = NULL;
}

static int backend_cgroup1_open(struct backend *b, char **reterr) {
        struct cgroup1 *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->mem_procs_fd = c->uni_procs_fd = c->procs_read_fd = c->usage_fd = c->max_usage_fd = c->oom_control_fd = c->stat_fd = -1;
        b->data = c;

        bool adopt = b->config.adopt_path;
        int r = backend_cgroup1_locate(b, reterr);
        /* An adopted group becomes ours to remove only once fully adopted (see the end). */
        if (r >= 0 && !adopt) {
                r = cgroup_mkdir(b->sysroot, c->mem_dir);
                if (r < 0)
                        backend_errorf(reterr, "cannot create /sys/fs/cgroup/%s: %s", c->mem_dir, strerror(-r));
                else
                        c->mem_created = true;
        }
        if (r >= 0 && b->config.hard_limit_bytes > 0) {
                r = backend_cgroup1_set_limit(b, b->config.hard_limit_bytes);
                if (r < 0)
                        backend_errorf(reterr, "cannot set memory.limit_in_bytes: %s", strerror(-r));
        }
        if (r >= 0)
                r = backend_cgroup1_open_memory(b, reterr);
        if (r < 0) {
                backend_cgroup1_close(b);
                return r;
        }
        backend_cgroup1_open_unified(b);
        c->procs_read_fd =
                backend_cgroup1_open_file(b, c->uni_dir ? c->uni_dir : c->mem_dir, "cgroup.procs", O_RDONLY);
        if (adopt) {
                c->mem_created = b->config.adopt_owned;
                c->uni_created = b->config.adopt_owned && c->uni_dir;
        }
        return 0;
}

static int backend_cgroup1_prepare_child(struct backend *b) {
        struct cgroup1 *c = b->data;
        if (write(c->mem_procs_fd, "0", 1) != 1)
                return -errno;
        if (c->uni_procs_fd >= 0 && write(c->uni_procs_fd, "0", 1) != 1)
                return -errno;
        return 0;
}

static int backend_cgroup1_attach(struct backend *b, pid_t pid) {
        struct cgroup1 *c = b->data;
        char v[32];
        int n = snprintf(v, sizeof(v), "%d", (int) pid);
        if (write(c->mem_procs_fd, v, (size_t) n) != n)
                return -errno;
        if (c->uni_procs_fd >= 0 && write(c->uni_procs_fd, v, (size_t) n) != n)
                return -errno;
        return 0;
}

/* The unified twin freezes through cgroup2's core cgroup.freeze, which needs no controller. */
static int backend_cgroup1_freeze(struct backend *b, bool frozen) {
        struct cgroup1 *c = b->data;
        if (!c->uni_dir)
                return -EOPNOTSUPP;
        return backend_cgroup1_write(b, c->uni_dir, "cgroup.freeze", frozen ? "1" : "0");
}

static int backend_cgroup1_sample(struct backend *b, struct backend_sample *ret) {
        struct cgroup1 *c = b->data;
        int r = cgroup_pread_u64(c->usage_fd, &ret->current_bytes);
        if (r < 0)
                return r;
        backend_sample_slow(b, &c->slow, ret, c->max_usage_fd, c->oom_control_fd, c->stat_fd, "total_inactive_file");
        return 0;
}

static int backend_cgroup1_pids(struct backend *b, pid_t **ret, size_t *ret_n) {
        struct cgroup1 *c = b->data;
        if (c->procs_read_fd >= 0)
                return cgroup_reread_pids(c->procs_read_fd, ret, ret_n);
        _cleanup_free_ char *p = cgroup_join(c->uni_dir ? c->uni_dir : c->mem_dir, NULL, "cgroup.procs");
        if (!p)
                return -ENOMEM;
        return cgroup_read_pids(b->sysroot, p, ret, ret_n);
}

static bool backend_cgroup1_still_member(struct backend *b, pid_t pid) {
        struct cgroup1 *c = b->data;
        return cgroup_pid_in(b->sysroot, pid, 0, c->mem_path) > 0;
}

static int backend_cgroup1_kill(struct backend *b, int sig) {
        struct cgroup1 *c = b->data;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = backend_cgroup1_pids(b, &pids, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        if (sig == SIGKILL && c->uni_dir && backend_cgroup1_write(b, c->uni_dir, "cgroup.kill", "1") >= 0)
                return (int) n;
        return backend_signal_pids(b, pids, n, sig, backend_cgroup1_still_member);
}

static void backend_cgroup1_close(struct backend *b) {
        struct cgroup1 *c = b->data;
        if (!c)
                return;
        if (b->keep)
                c->mem_created = c->uni_created = false;
        if (c->mem_created && sysroot_is_live(b->sysroot)) {
                /* Nothing of the job outlives memguard's hold on it: repeat until the group is empty. */
                for (int i = 0; i < 50; i++) {
                        _cleanup_free_ pid_t *pids = NULL;
                        size_t n = 0;
                        if (backend_cgroup1_pids(b, &pids, &n) < 0 || n == 0)
                                break;
                        (void) backend_cgroup1_kill(b, SIGKILL);
                        usleep(10000);
                }
        }
        if (c->uni_created)
                (void) cgroup_rmdir(b->sysroot, c->uni_dir, 2 * 1000000ULL);
        if (c->mem_created)
                (void) cgroup_rmdir(b->sysroot, c->mem_dir, 2 * 1000000ULL);
        safe_close(c->mem_procs_fd);
        safe_close(c->uni_procs_fd);
        safe_close(c->procs_read_fd);
        safe_close(c->usage_fd);
        safe_close(c->max_usage_fd);
        safe_close(c->oom_control_fd);
        safe_close(c->stat_fd);
        free(c->mem_dir);
        free(c->mem_path);
        free(c->uni_dir);
        free(c->uni_path);
        free(c);
        b->data = NULL;
}

const struct backend_ops backend_cgroup1_ops = {
        .kind = BACKEND_CGROUP1,
        .measures = "memory.usage_in_bytes of the job's v1 memory cgroup (anonymous memory, page cache, "
                    "kernel); limits compare it without inactive page cache",
        .open = backend_cgroup1_open,
        .prepare_child = backend_cgroup1_prepare_child,
        .sample = backend_cgroup1_sample,
        .pids = backend_cgroup1_pids,
        .kill = backend_cgroup1_kill,
        .set_limit = backend_cgroup1_set_limit,
        .attach = backend_cgroup1_attach,
        .freeze = backend_cgroup1_freeze,
        .close = backend_cgroup1_close,
};
