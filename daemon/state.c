/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "mjob.h"
#include "state.h"
#include "sysroot.h"

void state_job_done(struct state_job *s) {
        if (!s)
                return;
        free(s->source);
        free(s->cgroup);
        free(s->unified_cgroup);
        free(s->profile);
        free(s->watch);
        free(s->command);
        free(s->state_dir);
        *s = (struct state_job) {};
}

/* A directory nobody but root or uid could have filled: a real directory (not a symlink), owned by one
 * of them, writable by neither group nor others. */
static int state_check_dir(int fd, const char *path, uid_t uid, char **reterr) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid != 0 && st.st_uid != uid) {
                backend_errorf(reterr, "the state directory %s is owned by uid %u, not by root or memguardd's user: "
                               "refusing to trust the job records in it", path, (unsigned) st.st_uid);
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                backend_errorf(reterr, "the state directory %s is writable by %s (mode %04o): refusing to trust the "
                               "job records in it; make it 0755 or stricter", path,
                               st.st_mode & S_IWOTH ? "others" : "its group", (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

/* mkdir, then open without following a symlink planted in its place. */
static int state_open_dir(int at, const char *name, const char *path, mode_t mode, uid_t uid, char **reterr) {
        if (mkdirat(at, name, mode) < 0 && errno != EEXIST) {
                int r = -errno;
                backend_errorf(reterr, "cannot create the state directory %s: %s", path, strerror(-r));
                return r;
        }
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                backend_errorf(reterr, "cannot open the state directory %s: %s", path,
                               r == -ELOOP || r == -ENOTDIR ? "it is not a directory (a symlink?)" : strerror(-r));
                return r;
        }
        int r = state_check_dir(fd, path, uid, reterr);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return fd;
}

int state_open(const char *state_dir, uid_t uid, int *ret_fd, char **reterr) {
        char jobs[4096];
        if (snprintf(jobs, sizeof(jobs), "%s/jobs", state_dir) >= (int) sizeof(jobs))
                return -ENAMETOOLONG;
        _cleanup_close_ int top = state_open_dir(AT_FDCWD, state_dir, state_dir, 0755, uid, reterr);
        if (top < 0)
                return top;
        int fd = state_open_dir(top, "jobs", jobs, 0700, uid, reterr);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

static json_t *state_str(const char *s) {
        return s ? json_string(s) : json_null();
}

static json_t *state_limits(const struct policy_limits *l) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        json_object_set_new(o, "max_bytes", json_integer((json_int_t) l->max_bytes));
        json_object_set_new(o, "max_process_bytes", json_integer((json_int_t) l->max_process_bytes));
        json_object_set_new(o, "kill_threshold", json_real(l->kill_threshold));
        json_object_set_new(o, "warn_at", json_real(l->warn_at));
        json_object_set_new(o, "grace_usec", json_integer((json_int_t) l->grace_usec));
        json_object_set_new(o, "warn_every_usec", json_integer((json_int_t) l->warn_every_usec));
        json_object_set_new(o, "interval_usec", json_integer((json_int_t) l->interval_usec));
        return o;
}

int state_format(const char *state_dir, const struct mjob *j, char **ret) {
        json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        json_object_set_new(o, "id", json_integer((json_int_t) mjob_id(j)));
        json_object_set_new(o, "source", json_string(mjob_source_to_string(mjob_source(j))));
        json_object_set_new(o, "cgroup", state_str(mjob_cgroup(j)));
        json_object_set_new(o, "unified_cgroup", state_str(mjob_unified_cgroup(j)));
        json_object_set_new(o, "profile", state_str(mjob_profile(j)));
        json_object_set_new(o, "watch", state_str(mjob_watch(j)));
        json_object_set_new(o, "command", state_str(mjob_command(j)));
        json_object_set_new(o, "state_dir", state_str(state_dir));
        json_object_set_new(o, "uid", json_integer((json_int_t) mjob_uid(j)));
        json_object_set_new(o, "start_realtime_usec", json_integer((json_int_t) mjob_start_realtime_usec(j)));
        json_object_set_new(o, "peak_bytes", json_integer((json_int_t) mjob_peak_bytes(j)));
        if (mjob_ceiling_bytes(j) > 0)
                json_object_set_new(o, "ceiling_bytes", json_integer((json_int_t) mjob_ceiling_bytes(j)));
        json_object_set_new(o, "limits", state_limits(mjob_limits(j)));
        char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int state_save(int jobs_fd, uint64_t id, const char *text) {
        if (jobs_fd < 0)
                return -EBADF;
        char name[64], tmp[64];
        snprintf(name, sizeof(name), "%" PRIu64 ".json", id);
        snprintf(tmp, sizeof(tmp), ".%" PRIu64 ".json.tmp", id);
        /* Write, sync, rename: after a crash the file is either the old or the new one, never half. A
         * fresh file (O_EXCL, no symlink followed) so nothing planted under the name is written through. */
        if (unlinkat(jobs_fd, tmp, 0) < 0 && errno != ENOENT)
                return -errno;
        _cleanup_close_ int fd = openat(jobs_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        ssize_t n = write(fd, text, len);
        int r = n == (ssize_t) len ? 0 : n < 0 ? -errno : -EIO;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(jobs_fd, tmp, jobs_fd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(jobs_fd, tmp, 0);
        return r;
}

int state_remove(int jobs_fd, uint64_t id) {
        char name[64];
        snprintf(name, sizeof(name), "%" PRIu64 ".json", id);
        if (jobs_fd < 0)
                return -EBADF;
        return unlinkat(jobs_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

static char *state_get_str(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int state_get_u64(json_t *o, const char *key, uint64_t *ret) {
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EINVAL;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

int state_parse(const char *text, struct state_job *ret) {
        json_error_t err;
        json_t *o = json_loads(text, 0, &err);
        if (!json_is_object(o)) {
                json_decref(o);
                return -EINVAL;
        }
        struct state_job s = {};
        policy_limits_init(&s.limits);
        uint64_t uid = 0;
        int r = 0;
        r |= state_get_u64(o, "id", &s.id);
        r |= state_get_u64(o, "uid", &uid);
        r |= state_get_u64(o, "start_realtime_usec", &s.start_realtime_usec);
        r |= state_get_u64(o, "peak_bytes", &s.peak_bytes);
        if (json_object_get(o, "ceiling_bytes"))
                r |= state_get_u64(o, "ceiling_bytes", &s.ceiling_bytes);
        s.source = state_get_str(o, "source");
        s.cgroup = state_get_str(o, "cgroup");
        s.unified_cgroup = state_get_str(o, "unified_cgroup");
        s.profile = state_get_str(o, "profile");
        s.watch = state_get_str(o, "watch");
        s.command = state_get_str(o, "command");
        s.state_dir = state_get_str(o, "state_dir");
        s.uid = (uid_t) uid;
        json_t *l = json_object_get(o, "limits");
        if (json_is_object(l)) {
                (void) state_get_u64(l, "max_bytes", &s.limits.max_bytes);
                (void) state_get_u64(l, "max_process_bytes", &s.limits.max_process_bytes);
                (void) state_get_u64(l, "grace_usec", &s.limits.grace_usec);
                (void) state_get_u64(l, "warn_every_usec", &s.limits.warn_every_usec);
                (void) state_get_u64(l, "interval_usec", &s.limits.interval_usec);
                json_t *v = json_object_get(l, "kill_threshold");
                if (json_is_number(v))
                        s.limits.kill_threshold = json_number_value(v);
                v = json_object_get(l, "warn_at");
                if (json_is_number(v))
                        s.limits.warn_at = json_number_value(v);
        }
        json_decref(o);
        const char *why;
        if (r != 0 || s.id == 0 || !s.source || !s.cgroup || uid > UINT32_MAX ||
            policy_limits_validate(&s.limits, &why) < 0) {
                state_job_done(&s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

int state_load_all(int jobs_fd, struct state_job **ret, size_t *ret_n, size_t *ret_bad) {
        *ret = NULL;
        *ret_n = *ret_bad = 0;
        if (jobs_fd < 0)
                return -EBADF;
        int dfd = openat(jobs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        DIR *d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return -errno;
        }

        struct state_job *all = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                _cleanup_close_ int fd = openat(jobs_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                struct stat st;
                _cleanup_free_ char *text = NULL;
                struct state_job s;
                /* Only a regular file: a fifo or device planted here must not hang or feed the daemon. */
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || sysroot_read_fd(fd, &text, 1024 * 1024) < 0 ||
                    state_parse(text, &s) < 0) {
                        char bad[256 + 8];
                        snprintf(bad, sizeof(bad), "%s.bad", de->d_name);
                        (void) renameat(jobs_fd, de->d_name, jobs_fd, bad);
                        (*ret_bad)++;
                        continue;
                }
                struct state_job *na = realloc(all, (n + 1) * sizeof(*all));
                if (!na) {
                        state_job_done(&s);
                        break;
                }
                all = na;
                all[n++] = s;
        }
        closedir(d);
        *ret = all;
        *ret_n = n;
        return 0;
}

/* The job's record, in the state directory and on its cgroup: either one brings it back. */
static void state_job_save(struct manager *m, struct mjob *j) {
        _cleanup_free_ char *text = NULL;
        uint64_t id = mjob_id(j);
        int r = state_format(m->state_dir, j, &text);
        if (r >= 0)
                r = state_save(m->state_fd, id, text);
        if (mjob_save_failed(j, r))
                log_warning_errno(r, "job %" PRIu64 ": cannot write its state under %s: %m", id, m->state_dir);
        if (text && mjob_cgroup(j) && m->backend_kind != BACKEND_PROCFS) {
                _cleanup_free_ char *dir = manager_cgroup_dir(m, false, mjob_cgroup(j), NULL);
                int q = dir ? cgroup_set_xattr(m->sysroot, dir, STATE_XATTR, text) : -ENOENT;
                if (q < 0)
                        log_debug_errno(q, "job %" PRIu64 ": cannot keep its record on %s: %m", id, mjob_cgroup(j));
                else
                        r = 0;
        }
        if (r >= 0)
                mjob_saved(j);
}

static void state_job_event(struct manager *m, struct mjob *j, const struct mjob_event *ev, void *userdata) {
        switch (ev->type) {
        case MJOB_EVENT_ADDED:
        case MJOB_EVENT_PEAK:
        case MJOB_EVENT_LIMIT_CHANGED:
        case MJOB_EVENT_DETACHED:
                state_job_save(m, j);
                break;
        case MJOB_EVENT_ENDED:
                (void) state_remove(m->state_fd, mjob_id(j));
                break;
        default:
                break;
        }
}

int state_listen(struct manager *m) {
        /* Records name cgroups we act on as root: only a directory nobody else could write is trusted. */
        _cleanup_free_ char *why = NULL;
        int r = state_open(m->state_dir, geteuid(), &m->state_fd, &why);
        if (r < 0 && why)
                return log_error_errno(r, "%s", why);
        if (r < 0)
                return log_error_errno(r, "cannot open the state directory %s: %m", m->state_dir);
        return manager_add_listener(m, &(struct manager_listener) { .job_event = state_job_event });
}
