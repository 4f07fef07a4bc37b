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

static int state_mkdirs(const char *state_dir) {
        char p[4096];
        if (snprintf(p, sizeof(p), "%s/jobs", state_dir) >= (int) sizeof(p))
                return -ENAMETOOLONG;
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return -errno;
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
        json_object_set_new(o, "limits", state_limits(mjob_limits(j)));
        char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int state_save(const char *state_dir, uint64_t id, const char *text) {
        int r = state_mkdirs(state_dir);
        if (r < 0)
                return r;
        char path[4096], tmp[4096];
        snprintf(path, sizeof(path), "%s/jobs/%" PRIu64 ".json", state_dir, id);
        snprintf(tmp, sizeof(tmp), "%s/jobs/.%" PRIu64 ".json.tmp", state_dir, id);
        /* Write, sync, rename: after a crash the file is either the old or the new one, never half. */
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        r = write(fd, text, len) == (ssize_t) len ? 0 : -EIO;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int state_remove(const char *state_dir, uint64_t id) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/jobs/%" PRIu64 ".json", state_dir, id);
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
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

int state_load_all(const char *state_dir, struct state_job **ret, size_t *ret_n, size_t *ret_bad) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/jobs", state_dir);
        *ret = NULL;
        *ret_n = *ret_bad = 0;
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        struct state_job *all = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                char path[4096 + 256];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                _cleanup_free_ char *text = NULL;
                struct state_job s;
                if (fd < 0 || sysroot_read_fd(fd, &text, 1024 * 1024) < 0 || state_parse(text, &s) < 0) {
                        char bad[sizeof(path) + 8];
                        snprintf(bad, sizeof(bad), "%s.bad", path);
                        (void) rename(path, bad);
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
                r = state_save(m->state_dir, id, text);
        if (r < 0)
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
                (void) state_remove(m->state_dir, mjob_id(j));
                break;
        default:
                break;
        }
}

int state_listen(struct manager *m) {
        return manager_add_listener(m, &(struct manager_listener) { .job_event = state_job_event });
}
