/* SPDX-License-Identifier: MIT */
/* Jobs memguardd did not start: existing cgroups matched by a [watch] section, and its own jobs from
 * before a restart (their records in the state directory, or on their cgroups). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adopt.h"
#include "cgroup.h"
#include "conf.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "mjob.h"
#include "procfs.h"
#include "state.h"
#include "sysroot.h"

/* How deep below the root the [watch] scan walks: scheduler hierarchies are a few levels. */
#define ADOPT_WATCH_MAX_DEPTH 8
/* [watch] cgroups are looked for this often: a scheduler's job is found within this long. Each scan
 * lists every cgroup directory of the tree, which the kernel renders anew. */
#define ADOPT_WATCH_SCAN_USEC (3 * USEC_PER_SEC)

struct adopt {
        struct manager *m;
        struct ev_loop *loop;
        ev_timer watch_timer;
};

/* An existing cgroup to supervise. */
struct adopt_options {
        const char *cgroup;
        const char *unified_cgroup;
        const char *profile;
        const char *watch;
        const char *command;            /* for people; the cgroup when empty */
        enum mjob_source source;
        bool owned;                     /* ours: removed when it ends, and it gets our kernel ceiling */
        const struct policy_limits *saved; /* from its record; NULL: the profile's */
        uint64_t id;                    /* from its record; 0: a new job */
        uid_t uid;
        uint64_t start_usec;            /* from its record; 0: now */
        uint64_t peak_bytes;
        uint64_t ceiling_bytes;         /* from its record: the cgroup it was started in still bounds it */
};

static struct adopt_options adopt_options_from_record(const struct state_job *s) {
        bool owned = strcmp(s->source, "registered") == 0;
        return (struct adopt_options) {
                .cgroup = s->cgroup,
                .unified_cgroup = s->unified_cgroup,
                .profile = s->profile,
                .watch = s->watch,
                .command = s->command,
                .source = owned ? MJOB_SOURCE_REGISTERED : MJOB_SOURCE_WATCH,
                .owned = owned,
                .saved = &s->limits,
                .id = s->id,
                .uid = s->uid,
                .start_usec = s->start_realtime_usec,
                .peak_bytes = s->peak_bytes,
                .ceiling_bytes = s->ceiling_bytes,
        };
}

static int adopt_read_xattr(struct manager *m, const char *cgroup, struct state_job *ret);

/* Supervises an existing cgroup: found by a [watch] section, or recorded before a restart. -errno,
 * logged. */
static int adopt_cgroup(struct manager *m, const struct adopt_options *a) {
        const struct conf_profile *p = manager_profile(m, a->profile);
        struct policy_limits limits;
        if (a->saved)
                limits = *a->saved;
        else
                manager_limits_from_profile(m, p, &limits);
        struct backend_config bc = {
                .adopt_path = a->cgroup,
                .adopt_unified_path = a->unified_cgroup,
                .adopt_owned = a->owned,
                /* A scheduler's cgroup keeps the scheduler's kernel limits; our own job groups get ours. */
                .hard_limit_bytes = a->owned ? limits.max_bytes : 0,
        };
        char *argv[] = { (char *) (a->command && *a->command ? a->command : a->cgroup), NULL };
        struct mjob_options o = {
                .id = a->id,
                .source = a->source,
                .uid = a->uid,
                .profile = p ? p->name : a->profile,
                .watch = a->watch,
                .argv = argv,
                .backend = &bc,
                .limits = &limits,
                .ceiling_bytes = a->ceiling_bytes,
        };
        _cleanup_free_ char *why = NULL;
        struct mjob *j;
        int r = manager_add_job(m, &o, &j, &why);
        if (r < 0 && why)
                return log_warning_errno(r, "cannot supervise cgroup %s: %s", a->cgroup, why);
        if (r < 0)
                return log_warning_errno(r, "cannot supervise cgroup %s: %m", a->cgroup);
        mjob_adopt_group(j, a->start_usec, a->peak_bytes);
        manager_job_added(m, j, a->id != 0);
        return 0;
}

/* A cgroup a [watch] section matched, with processes in it: ours before a restart (its id, start,
 * limits and peak so far kept on it), or a new job. */
static int adopt_watched(struct manager *m, const char *child, const struct conf_watch *w, pid_t first) {
        struct state_job sj;
        if (adopt_read_xattr(m, child, &sj) >= 0 && !manager_find_any(m, sj.id)) {
                struct adopt_options a = adopt_options_from_record(&sj);
                a.cgroup = child;
                a.unified_cgroup = NULL;
                a.watch = w->name;
                a.source = MJOB_SOURCE_WATCH;
                a.owned = false;
                a.ceiling_bytes = 0;
                int r = adopt_cgroup(m, &a);
                state_job_done(&sj);
                return r;
        }
        struct procfs_status st;
        uid_t uid = procfs_read_status(m->sysroot, first, &st) >= 0 ? st.uid : 0;
        _cleanup_free_ char *cmd = NULL;
        (void) procfs_read_cmdline(m->sysroot, first, &cmd);
        return adopt_cgroup(m, &(struct adopt_options) { .cgroup = child, .profile = w->profile, .watch = w->name,
                                                         .command = cmd, .source = MJOB_SOURCE_WATCH, .uid = uid });
}

/* The [watch] scan: every directory of the tree the backend uses, matched against the patterns. */
static int adopt_scan_dir(struct manager *m, const char *mount, const char *root, const char *path, int depth) {
        _cleanup_free_ char *dir = cgroup_dir(mount, root, path, NULL);
        if (!dir)
                return -ENOMEM;
        int fd = sysroot_open_cgroup(m->sysroot, *dir ? dir : ".", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return 0;
        DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return 0;
        }
        int added = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *child = NULL;
                if (asprintf(&child, "%s/%s", strcmp(path, "/") == 0 ? "" : path, de->d_name) < 0)
                        break;
                const struct conf_watch *w = conf_match_watch(m->conf, child);
                if (w && !manager_find_cgroup(m, child)) {
                        _cleanup_free_ pid_t *pids = NULL;
                        size_t n = 0;
                        _cleanup_free_ char *procs = cgroup_dir(mount, root, child, "cgroup.procs");
                        if (procs && cgroup_read_pids(m->sysroot, procs, &pids, &n) >= 0 && n > 0 &&
                            adopt_watched(m, child, w, pids[0]) >= 0)
                                added++;
                        continue;
                }
                if (depth < ADOPT_WATCH_MAX_DEPTH)
                        added += adopt_scan_dir(m, mount, root, child, depth + 1);
        }
        closedir(d);
        return added;
}

int adopt_scan_watches(struct manager *m) {
        if (m->conf->n_watches == 0 || m->backend_kind == BACKEND_PROCFS)
                return 0;
        bool v2 = m->backend_kind == BACKEND_CGROUP2;
        const char *mount = v2 ? m->layout.v2_mount : m->layout.v1_memory_mount;
        const char *root = v2 ? m->layout.v2_root : m->layout.v1_memory_root;
        return mount ? adopt_scan_dir(m, mount, root, root ? root : "/", 0) : 0;
}

/* Is path exactly parent/job-N? */
static bool adopt_is_job_group(const char *path, const char *parent) {
        if (!path || !parent)
                return false;
        size_t n = strcmp(parent, "/") == 0 ? 0 : strlen(parent);
        if (strncmp(path, parent, n) != 0 || strncmp(path + n, "/job-", 5) != 0)
                return false;
        const char *d = path + n + 5;
        return *d && strspn(d, "0123456789") == strlen(d);
}

/* A record names a cgroup we act on as root (its limit, signals to its processes): it must be one we
 * could have made or found ourselves. A registered job's group is a job-N directly below our parent
 * (its twin below the unified parent); a watched one matches a [watch] section; and a job of a user
 * other than root has only that user's processes, so nobody gets to stop another user's. NULL when
 * the record holds, else why not. */
static const char *adopt_check_record(struct manager *m, const struct state_job *s, bool owned, const pid_t *pids,
                                      size_t n) {
        if (owned && !adopt_is_job_group(s->cgroup, m->parent_path))
                return "its cgroup is not a job group of ours";
        if (owned && s->unified_cgroup && !adopt_is_job_group(s->unified_cgroup, m->unified_parent_path))
                return "its unified cgroup is not a job group of ours";
        if (!owned && !conf_match_watch(m->conf, s->cgroup))
                return "its cgroup matches no [watch] section";
        if (s->uid == 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                struct procfs_status st;
                if (procfs_read_status(m->sysroot, pids[i], &st) >= 0 && st.uid != s->uid)
                        return "its cgroup holds another user's processes";
        }
        return NULL;
}

/* One job recorded before a restart: adopted again if its group still has processes. */
static void adopt_record(struct manager *m, struct state_job *s) {
        struct adopt_options a = adopt_options_from_record(s);
        bool owned = a.owned;
        _cleanup_free_ pid_t *pids = NULL;
        size_t np = 0;
        _cleanup_free_ char *procs = manager_cgroup_dir(m, false, s->cgroup, "cgroup.procs");
        bool alive = procs && cgroup_read_pids(m->sysroot, procs, &pids, &np) >= 0 && np > 0;
        const char *bad = adopt_check_record(m, s, owned, pids, np);
        if (bad) {
                log_warning("job record %" PRIu64 " (cgroup %s, uid %u) refused: %s", s->id, s->cgroup, (unsigned) s->uid,
                            bad);
                (void) state_remove(m->state_fd, s->id);
                return;
        }
        m->next_id = MAX(m->next_id, s->id + 1);
        if (!alive && owned) {
                /* It ended while we were away: tidy its groups. */
                _cleanup_free_ char *dir = manager_cgroup_dir(m, false, s->cgroup, NULL);
                _cleanup_free_ char *udir = manager_cgroup_dir(m, true, s->unified_cgroup, NULL);
                if (dir)
                        (void) cgroup_rmdir(m->sysroot, dir, 0);
                if (udir)
                        (void) cgroup_rmdir(m->sysroot, udir, 0);
        }
        if (!alive) {
                log_info("job %" PRIu64 " (%s) ended while memguardd was not running", s->id,
                         s->command ? s->command : s->cgroup);
                (void) state_remove(m->state_fd, s->id);
        } else if (adopt_cgroup(m, &a) < 0)
                (void) state_remove(m->state_fd, s->id);
}

/* A job's record kept on its cgroup, if there is a good one. */
static int adopt_read_xattr(struct manager *m, const char *cgroup, struct state_job *ret) {
        _cleanup_free_ char *dir = manager_cgroup_dir(m, false, cgroup, NULL);
        _cleanup_free_ char *text = NULL;
        uid_t owner = 0;
        if (!dir)
                return -ENODATA;
        /* Whoever owns a cgroup (a delegated subtree's user) may set its user.* attributes: only a
         * group owned by root or by us holds a record of ours. */
        if (cgroup_get_xattr(m->sysroot, dir, STATE_XATTR, &owner, &text) < 0 || (owner != 0 && owner != geteuid())) {
                free(text);
                text = NULL;
                if (cgroup_get_xattr(m->sysroot, dir, STATE_XATTR_OLD, NULL, &text) < 0)
                        return -ENODATA;
        }
        int r = state_parse(text, ret);
        if (r < 0)
                return r;
        /* A record copied along with a moved group, or another daemon's job (another state directory):
         * not ours to take up. */
        if (strcmp(ret->cgroup, cgroup) != 0 || !ret->state_dir || strcmp(ret->state_dir, m->state_dir) != 0) {
                state_job_done(ret);
                return -EXDEV;
        }
        return 0;
}

/* Jobs recorded before a restart, from the state directory, then from the records on our own job
 * groups (which survive a lost or wiped state directory). */
void adopt_records(struct manager *m) {
        struct state_job *all = NULL;
        size_t n = 0, bad = 0;
        int r = state_load_all(m->state_fd, &all, &n, &bad);
        if (r < 0)
                log_warning_errno(r, "cannot read the job records in %s: %m", m->state_dir);
        if (bad > 0)
                log_warning("%zu unreadable job record%s in %s/jobs renamed to *.bad", bad, bad == 1 ? "" : "s",
                            m->state_dir);
        for (size_t i = 0; i < n; i++) {
                adopt_record(m, &all[i]);
                state_job_done(&all[i]);
        }
        free(all);

        if (m->backend_kind == BACKEND_PROCFS || !m->parent_path)
                return;
        _cleanup_free_ char *parent = manager_cgroup_dir(m, false, m->parent_path, NULL);
        int fd = parent ? sysroot_open_cgroup(m->sysroot, *parent ? parent : ".", O_RDONLY | O_DIRECTORY) : -1;
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || strncmp(de->d_name, "job-", 4) != 0)
                        continue;
                _cleanup_free_ char *cgroup = NULL;
                if (asprintf(&cgroup, "%s/%s", strcmp(m->parent_path, "/") == 0 ? "" : m->parent_path, de->d_name) < 0)
                        break;
                struct state_job sj;
                if (manager_find_cgroup(m, cgroup) || adopt_read_xattr(m, cgroup, &sj) < 0)
                        continue;
                if (!manager_find_any(m, sj.id)) {
                        log_info("job %" PRIu64 ": no record in %s, taking it up from its cgroup %s", sj.id,
                                 m->state_dir, cgroup);
                        adopt_record(m, &sj);
                }
                state_job_done(&sj);
        }
        closedir(d);
}

static void adopt_watch_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct adopt *a = w->data;
        (void) adopt_scan_watches(a->m);
}

static void adopt_reloaded(struct manager *m, void *userdata) {
        (void) adopt_scan_watches(m);
}

int adopt_new(struct manager *m, struct adopt **ret) {
        _cleanup_(adopt_freep) struct adopt *a = calloc(1, sizeof(*a));
        if (!a)
                return log_oom();
        a->m = m;
        a->loop = m->loop;
        int r = manager_add_listener(m, &(struct manager_listener) { .reloaded = adopt_reloaded, .userdata = a });
        if (r < 0)
                return r;
        ev_timer_init(&a->watch_timer, adopt_watch_cb, 0., (double) ADOPT_WATCH_SCAN_USEC / 1e6);
        a->watch_timer.data = a;
        ev_timer_start(m->loop, &a->watch_timer);
        *ret = TAKE_PTR(a);
        return 0;
}

struct adopt *adopt_free(struct adopt *a) {
        if (!a)
                return NULL;
        ev_timer_stop(a->loop, &a->watch_timer);
        free(a);
        return NULL;
}
