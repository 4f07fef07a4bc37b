/* SPDX-License-Identifier: MIT */
/* One job of memguardd: the guard that samples and stops it, and what the daemon knows about it. Its
 * guard's events become job events here, so the rest of the daemon never sees the guard. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "job.h"
#include "macro.h"
#include "mjob.h"
#include "report.h"

/* A daemon job's processes are all read every this many samples (the group's counters every sample). */
#define MJOB_DETAIL_EVERY_SAMPLES 10
/* A daemon job's timeline: enough for its shape, little for a thousand jobs. */
#define MJOB_SAMPLES_MAX 512
/* MJOB_EVENT_PEAK when the peak has grown by this fraction since the record was written: a restart
 * then loses at most this much of the peak, and a growing job is not written on every sample. */
#define MJOB_PEAK_SAVE_RATIO 1.05

struct mjob {
        uint64_t id;
        enum mjob_source source;
        struct guard *guard;
        char *profile;
        char *watch;
        char *cgroup;                   /* the job group as /proc/PID/cgroup prints it */
        char *unified_cgroup;
        char *command;                  /* for people: the command line */
        uid_t uid;
        char user[64];
        struct policy_limits asked;
        uint64_t start_realtime_usec;
        uint64_t ceiling_bytes;
        bool ended;
        uint64_t ended_usec;
        int wait_status;
        int limit_exit_code;

        uint64_t log_every_usec;
        uint64_t spike_rate_bytes_per_sec;
        uint64_t peak_saved_bytes;
        int save_error;                 /* the last failure to write its state file, 0 if none */
        uint64_t last_usage_log_usec;
        uint64_t last_spike_log_usec;
        uint64_t prev_bytes, prev_usec;

        mjob_event_cb on_event;
        void *userdata;
};

static void mjob_emit(struct mjob *j, const struct mjob_event *ev) {
        if (j->on_event)
                j->on_event(j, ev, j->userdata);
}

static void mjob_user_name(uid_t uid, char *buf, size_t size) {
        struct passwd pw, *res = NULL;
        char tmp[1024];
        if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
                snprintf(buf, size, "%s", res->pw_name);
        else
                snprintf(buf, size, "%u", (unsigned) uid);
}

/* Every sample: the usage record, the spike record and the peak's record, each when due. */
static void mjob_sample(struct mjob *j, const struct guard_event *gev) {
        uint64_t now = guard_now_mono();
        uint64_t cur = gev->current_bytes;

        if (j->log_every_usec > 0 && now - j->last_usage_log_usec >= j->log_every_usec) {
                j->last_usage_log_usec = now;
                mjob_emit(j, &(struct mjob_event) { .type = MJOB_EVENT_USAGE, .current_bytes = cur,
                                                    .limit_bytes = gev->limit_bytes, .count = gev->count });
        }
        if (j->spike_rate_bytes_per_sec > 0 && j->prev_usec > 0 && now > j->prev_usec && cur > j->prev_bytes) {
                double rate = (double) (cur - j->prev_bytes) * 1e6 / (double) (now - j->prev_usec);
                if (rate >= (double) j->spike_rate_bytes_per_sec &&
                    now - j->last_spike_log_usec >= j->guard->limits.warn_every_usec) {
                        j->last_spike_log_usec = now;
                        mjob_emit(j, &(struct mjob_event) { .type = MJOB_EVENT_SPIKE, .current_bytes = cur,
                                                            .previous_bytes = j->prev_bytes,
                                                            .rate_bytes_per_sec = (uint64_t) rate });
                }
        }
        j->prev_bytes = cur;
        j->prev_usec = now;

        if ((double) mjob_peak_bytes(j) > (double) j->peak_saved_bytes * MJOB_PEAK_SAVE_RATIO)
                mjob_emit(j, &(struct mjob_event) { .type = MJOB_EVENT_PEAK, .current_bytes = cur });
}

/* The group goes now; the job's numbers stay a while for its report. */
static void mjob_end(struct mjob *j, const struct guard_event *gev) {
        j->ended = true;
        j->ended_usec = guard_now_mono();
        mjob_emit(j, &(struct mjob_event) { .type = MJOB_EVENT_ENDED, .current_bytes = gev->current_bytes,
                                            .message = gev->message });
        backend_release(j->guard->backend);
}

static void mjob_guard_event(struct guard *g, const struct guard_event *gev, void *userdata) {
        struct mjob *j = userdata;
        struct mjob_event ev = {
                .current_bytes = gev->current_bytes,
                .limit_bytes = gev->limit_bytes,
                .signal = gev->signal,
                .count = gev->count,
                .message = gev->message,
        };

        switch (gev->type) {
        case GUARD_EVENT_SAMPLE:
                mjob_sample(j, gev);
                return;
        case GUARD_EVENT_ENDED:
                mjob_end(j, gev);
                return;
        case GUARD_EVENT_WARNING:
                ev.type = MJOB_EVENT_WARNING;
                break;
        case GUARD_EVENT_THRESHOLD:
                ev.type = MJOB_EVENT_THRESHOLD;
                break;
        case GUARD_EVENT_KERNEL_OOM:
                ev.type = MJOB_EVENT_KERNEL_OOM;
                break;
        case GUARD_EVENT_TERM:
        case GUARD_EVENT_KILL:
                ev.type = MJOB_EVENT_SIGNAL_SENT;
                break;
        case GUARD_EVENT_FROZEN:
                ev.type = MJOB_EVENT_FROZEN;
                break;
        case GUARD_EVENT_LEFTOVERS:
                ev.type = MJOB_EVENT_LEFTOVERS;
                break;
        case GUARD_EVENT_SAMPLE_ERROR:
                ev.type = MJOB_EVENT_SAMPLE_ERROR;
                break;
        case GUARD_EVENT_GROUP_GONE:
                ev.type = MJOB_EVENT_GROUP_GONE;
                break;
        default:
                return;
        }
        mjob_emit(j, &ev);
}

static int mjob_strdup(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The strings that name it, copied. */
static int mjob_set_names(struct mjob *j, const struct mjob_options *o, const struct backend *b) {
        if (mjob_strdup(o->profile, &j->profile) < 0 || mjob_strdup(o->watch, &j->watch) < 0 ||
            mjob_strdup(backend_group_path(b), &j->cgroup) < 0 || mjob_strdup(o->unified_cgroup, &j->unified_cgroup) < 0)
                return -ENOMEM;
        return 0;
}

int mjob_new(struct ev_loop *loop, struct sysroot *s, enum backend_kind kind, const struct mjob_options *o,
             struct mjob **ret, char **reterr) {
        struct mjob *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->id = o->id;
        j->source = o->source;
        j->uid = o->uid;
        mjob_user_name(o->uid, j->user, sizeof(j->user));
        if (o->asked)
                j->asked = *o->asked;
        j->ceiling_bytes = o->ceiling_bytes;
        j->wait_status = -1;
        j->limit_exit_code = o->limit_exit_code > 0 ? o->limit_exit_code : POLICY_EXIT_LIMIT;
        j->log_every_usec = o->log_every_usec;
        j->spike_rate_bytes_per_sec = o->spike_rate_bytes_per_sec;
        j->on_event = o->on_event;
        j->userdata = o->userdata;

        _cleanup_free_ char *why = NULL;
        struct backend *b = NULL;
        int r = backend_open(s, kind, o->backend, &b, &why);
        if (r < 0) {
                backend_errorf(reterr, "%s", why ? why : strerror(-r));
                mjob_free(j);
                return r;
        }
        struct job *job = NULL;
        r = mjob_set_names(j, o, b);
        if (r >= 0)
                r = job_new(o->argv, &job);
        if (r >= 0)
                r = guard_new(loop, s, b, job, o->limits, false, &j->guard);
        if (r < 0) {
                job_free(job);
                backend_free(b);
                mjob_free(j);
                return r;
        }
        j->command = job_command_string(job);
        if (!j->command) {
                mjob_free(j);
                return -ENOMEM;
        }
        j->start_realtime_usec = job->start_realtime_usec;
        j->guard->freeze_instead = o->freeze_instead;
        j->guard->job->max_samples = MJOB_SAMPLES_MAX;
        j->guard->detail_every_samples = MJOB_DETAIL_EVERY_SAMPLES;
        j->guard->on_event = mjob_guard_event;
        j->guard->userdata = j;
        *ret = j;
        return 0;
}

struct mjob *mjob_free(struct mjob *j) {
        if (!j)
                return NULL;
        guard_free(j->guard);
        free(j->profile);
        free(j->watch);
        free(j->cgroup);
        free(j->unified_cgroup);
        free(j->command);
        free(j);
        return NULL;
}

int mjob_adopt_pid(struct mjob *j, pid_t pid, int pidfd, char **reterr) {
        _cleanup_close_ int fd = pidfd;
        int r = backend_attach(j->guard->backend, pid);
        if (r < 0 && r != -EOPNOTSUPP) {
                backend_errorf(reterr, "cannot move process %d into the job's cgroup: %s", (int) pid, strerror(-r));
                /* Nothing to report: it goes at the manager's next pass over ended jobs. */
                j->ended = true;
                j->ended_usec = 0;
                return r;
        }
        return guard_adopt_pid(j->guard, pid, TAKE_FD(fd));
}

void mjob_adopt_group(struct mjob *j, uint64_t start_usec, uint64_t peak_bytes) {
        if (start_usec)
                j->guard->job->start_realtime_usec = j->start_realtime_usec = start_usec;
        j->guard->job->peak_working_set_bytes = peak_bytes;
        (void) guard_adopt_group(j->guard);
}

uint64_t mjob_id(const struct mjob *j) {
        return j->id;
}

enum mjob_source mjob_source(const struct mjob *j) {
        return j->source;
}

const char *mjob_source_to_string(enum mjob_source s) {
        return s == MJOB_SOURCE_WATCH ? "watch" : "registered";
}

uid_t mjob_uid(const struct mjob *j) {
        return j->uid;
}

const char *mjob_user(const struct mjob *j) {
        return j->user;
}

const char *mjob_profile(const struct mjob *j) {
        return j->profile;
}

const char *mjob_watch(const struct mjob *j) {
        return j->watch;
}

const char *mjob_cgroup(const struct mjob *j) {
        return j->cgroup;
}

const char *mjob_unified_cgroup(const struct mjob *j) {
        return j->unified_cgroup;
}

const char *mjob_command(const struct mjob *j) {
        return j->command;
}

const char *mjob_backend_name(const struct mjob *j) {
        return backend_name(j->guard->backend);
}

pid_t mjob_pid(const struct mjob *j) {
        return j->guard->job->pid;
}

uint64_t mjob_start_realtime_usec(const struct mjob *j) {
        return j->start_realtime_usec;
}

uint64_t mjob_ceiling_bytes(const struct mjob *j) {
        return j->ceiling_bytes;
}

uint64_t mjob_current_bytes(const struct mjob *j) {
        const struct job *job = j->guard->job;
        return job->n_samples ? job->samples[job->n_samples - 1].working_set_bytes : 0;
}

uint64_t mjob_peak_bytes(const struct mjob *j) {
        return job_peak_working_set(j->guard->job);
}

const struct policy_limits *mjob_limits(const struct mjob *j) {
        return &j->guard->limits;
}

const struct policy_limits *mjob_asked(const struct mjob *j) {
        return &j->asked;
}

enum policy_stage mjob_stage(const struct mjob *j) {
        return j->guard->state.stage;
}

enum policy_reason mjob_reason(const struct mjob *j) {
        return j->guard->state.reason;
}

const char *mjob_state(const struct mjob *j) {
        if (j->ended)
                return "ended";
        if (j->guard->frozen)
                return "frozen";
        switch (j->guard->state.stage) {
        case POLICY_STAGE_TERM_SENT:
                return "stopping";
        case POLICY_STAGE_KILL_SENT:
                return "killing";
        default:
                return "running";
        }
}

bool mjob_ended(const struct mjob *j) {
        return j->ended;
}

bool mjob_ended_for(const struct mjob *j, uint64_t usec) {
        return j->ended && guard_now_mono() - j->ended_usec >= usec;
}

const struct job *mjob_record(const struct mjob *j) {
        return j->guard->job;
}

int mjob_wait_status(const struct mjob *j) {
        return j->wait_status;
}

void mjob_set_wait_status(struct mjob *j, int status) {
        j->wait_status = status;
}

static int mjob_report_write(FILE *f, const char *format, const struct report_info *info) {
        if (strcmp(format, "json") == 0)
                return report_write_json(f, info);
        if (strcmp(format, "text") == 0)
                return report_write_text(f, info);
        if (strcmp(format, "csv") == 0)
                return report_write_csv(f, info);
        if (strcmp(format, "timeline") == 0)
                return report_write_timeline(f, info);
        return -EINVAL;
}

int mjob_report(const struct mjob *j, const char *format, char **ret, int *ret_exit_code) {
        const struct guard *g = j->guard;
        int code = policy_exit_code(&g->state, j->wait_status, j->limit_exit_code, false);
        struct report_info info = guard_report_info(g, j->wait_status, code);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        int r = mjob_report_write(f, format, &info);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        if (ret_exit_code)
                *ret_exit_code = code;
        return 0;
}

void mjob_kill(struct mjob *j, bool now) {
        if (j->guard->frozen && !now)
                (void) guard_freeze(j->guard, false);  /* a frozen job cannot act on SIGTERM */
        guard_request_stop(j->guard, POLICY_REASON_REQUEST, now ? SIGKILL : SIGTERM, true);
}

int mjob_freeze(struct mjob *j, bool frozen) {
        int r = guard_freeze(j->guard, frozen);
        if (r < 0)
                return r;
        mjob_emit(j, &(struct mjob_event) { .type = frozen ? MJOB_EVENT_FROZEN : MJOB_EVENT_THAWED,
                                            .current_bytes = mjob_current_bytes(j), .requested = true });
        return 0;
}

int mjob_set_limit(struct mjob *j, uint64_t bytes) {
        int r = guard_set_limit(j->guard, bytes);
        if (r < 0)
                return r;
        /* It is what the job's owner (or root) asked for now: it holds across reloads. */
        j->asked.max_bytes = bytes;
        mjob_emit(j, &(struct mjob_event) { .type = MJOB_EVENT_LIMIT_CHANGED, .current_bytes = mjob_current_bytes(j),
                                            .limit_bytes = bytes, .requested = true });
        return 0;
}

void mjob_apply(struct mjob *j, const struct policy_limits *l, bool freeze_instead, uint64_t log_every_usec,
                uint64_t spike_rate_bytes_per_sec) {
        uint64_t old_max = j->guard->limits.max_bytes;
        guard_set_limits(j->guard, l);
        j->guard->freeze_instead = freeze_instead;
        j->log_every_usec = log_every_usec;
        j->spike_rate_bytes_per_sec = spike_rate_bytes_per_sec;
        /* Our own groups carry the kernel ceiling too; a scheduler's keep the scheduler's. */
        if (j->source == MJOB_SOURCE_REGISTERED && l->max_bytes != old_max)
                (void) guard_set_limit(j->guard, l->max_bytes);
        mjob_emit(j, &(struct mjob_event) { .type = MJOB_EVENT_LIMIT_CHANGED, .current_bytes = mjob_current_bytes(j),
                                            .limit_bytes = l->max_bytes });
}

void mjob_request_stop(struct mjob *j, enum policy_reason reason, int sig) {
        guard_request_stop(j->guard, reason, sig, true);
}

void mjob_poke(struct mjob *j, bool detail) {
        if (!j->ended)
                guard_poke(j->guard, detail);
}

void mjob_sample_now(struct mjob *j) {
        if (!j->ended && j->guard->state.stage == POLICY_STAGE_RUNNING)
                guard_sample_now(j->guard);
}

bool mjob_save_failed(struct mjob *j, int r) {
        bool new = r < 0 && r != j->save_error;
        j->save_error = r < 0 ? r : 0;
        return new;
}

void mjob_saved(struct mjob *j) {
        j->peak_saved_bytes = mjob_peak_bytes(j);
}

void mjob_keep_group(struct mjob *j) {
        if (j->guard && j->guard->backend && !j->ended)
                j->guard->backend->keep = true;
}
