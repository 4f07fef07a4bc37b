/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "adopt.h"
#include "bus.h"
#include "cgroup.h"
#include "conf.h"
#include "events.h"
#include "guard.h"
#include "hooks.h"
#include "job.h"
#include "kevents.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "procfs.h"
#include "report.h"
#include "state.h"
#include "sysroot.h"
#include "units.h"

/* [watch] cgroups are looked for this often: a scheduler's job is found within this long. Each scan
 * lists every cgroup directory of the tree, which the kernel renders anew. */
#define MANAGER_WATCH_SCAN_USEC (3 * USEC_PER_SEC)
/* A daemon job's processes are all read every this many samples (the group's counters every sample). */
#define MANAGER_DETAIL_EVERY_SAMPLES 10
/* A daemon job's timeline: enough for its shape, little for a thousand jobs. */
#define MANAGER_JOB_SAMPLES_MAX 512
/* Persist a job's peak when it has grown by this fraction since the last write: a restart then loses
 * at most this much of the peak, and a growing job does not write on every sample. */
#define MANAGER_PEAK_SAVE_RATIO 1.05
/* An ended job's report stays this long for its client (FinishJob, GetReport, memguard show). */
#define MANAGER_KEEP_ENDED_USEC (10 * 60 * USEC_PER_SEC)
#define MANAGER_REAP_INTERVAL_USEC (30 * USEC_PER_SEC)
/* The daemon's own leaf in its cgroup2 subtree, so the subtree may hand the memory controller down
 * ("no internal processes"). */
#define MANAGER_SUPERVISOR_LEAF "supervisor"

static size_t manager_count_active(const struct manager *m);

void manager_notify_status(struct manager *m) {
        size_t n = manager_count_active(m);
        sd_notifyf(0, "STATUS=supervising %zu job%s", n, n == 1 ? "" : "s");
}

static const char *manager_user_name(uid_t uid, char *buf, size_t size) {
        struct passwd pw, *res = NULL;
        char tmp[1024];
        if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
                snprintf(buf, size, "%s", res->pw_name);
        else
                snprintf(buf, size, "%u", (unsigned) uid);
        return buf;
}

void manager_limits_from_profile(const struct manager *m, const struct conf_profile *p,
                                        struct policy_limits *l) {
        policy_limits_init(l);
        l->max_bytes = p->max_memory;
        l->max_process_bytes = p->max_process_memory;
        l->kill_threshold = p->kill_threshold;
        l->warn_at = p->warn_at;
        l->grace_usec = p->grace_usec;
        l->warn_every_usec = p->warn_every_usec;
        /* A profile's interval is fixed; otherwise adaptive, resting at the daemon's interval (so a
         * thousand idle jobs cost little) and shrinking toward 10ms as a job nears its threshold. */
        l->interval_usec = p->interval_usec;
        l->interval_max_usec = m->conf->daemon.interval_usec;
}

const struct conf_profile *manager_profile(const struct manager *m, const char *name) {
        const struct conf_profile *p = name ? conf_profile(m->conf, name) : NULL;
        if (!p)
                p = conf_profile(m->conf, m->conf->daemon.default_profile);
        if (!p)
                p = conf_profile(m->conf, CONF_DEFAULT_PROFILE);
        return p;
}

static void mjob_free(struct mjob *j) {
        if (!j)
                return;
        kevents_unwatch_job(j);
        if (j->finish_call)
                bus_finish_abandon(j);
        guard_free(j->guard);
        free(j->profile);
        free(j->watch);
        free(j->cgroup);
        free(j->unified_cgroup);
        free(j->command);
        free(j);
}

static size_t manager_count_active(const struct manager *m) {
        size_t n = 0;
        for (const struct mjob *j = m->jobs; j; j = j->next)
                n += !j->ended;
        return n;
}

/* Ended jobs stay for their reports a while, then go; never freed inside their own guard's callback. */
static void manager_reap_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct manager *m = w->data;
        uint64_t now = guard_now_mono();
        for (struct mjob **p = &m->jobs; *p;) {
                struct mjob *j = *p;
                if (j->ended && !j->finish_call && now - j->ended_usec >= MANAGER_KEEP_ENDED_USEC) {
                        *p = j->next;
                        mjob_free(j);
                } else
                        p = &j->next;
        }
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

int mjob_report(const struct mjob *j, const char *format, char **ret, int *ret_exit_code) {
        const struct guard *g = j->guard;
        int code = policy_exit_code(&g->state, j->wait_status, j->limit_exit_code, false);
        struct report_info info = {
                .job = g->job,
                .backend = backend_name(g->backend),
                .measures = g->backend->ops->measures,
                .limits = &g->limits,
                .state = &g->state,
                .interval_usec = g->limits.interval_usec,
                .exit_code = code,
                .wait_status = j->wait_status,
        };
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        int r;
        if (strcmp(format, "json") == 0)
                r = report_write_json(f, &info);
        else if (strcmp(format, "text") == 0)
                r = report_write_text(f, &info);
        else if (strcmp(format, "csv") == 0)
                r = report_write_csv(f, &info);
        else if (strcmp(format, "timeline") == 0)
                r = report_write_timeline(f, &info);
        else
                r = -EINVAL;
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        if (ret_exit_code)
                *ret_exit_code = code;
        return 0;
}

char *manager_cgroup_dir(const struct manager *m, bool unified, const char *path, const char *leaf) {
        const struct cgroup_layout *l = &m->layout;
        if (!path)
                return NULL;
        if (unified || m->backend_kind == BACKEND_CGROUP2)
                return l->v2_mount ? cgroup_dir(l->v2_mount, l->v2_root, path, leaf) : NULL;
        return l->v1_memory_mount ? cgroup_dir(l->v1_memory_mount, l->v1_memory_root, path, leaf) : NULL;
}

/* The job's record, in the state directory and on its cgroup: either one brings it back. */
void manager_job_save(struct manager *m, struct mjob *j) {
        _cleanup_free_ char *text = NULL;
        int r = state_format(m->state_dir, j, &text);
        if (r >= 0)
                r = state_save(m->state_dir, j, text);
        if (r < 0)
                log_warning_errno(r, "job %" PRIu64 ": cannot write its state under %s: %m", j->id, m->state_dir);
        if (text && j->cgroup && m->backend_kind != BACKEND_PROCFS) {
                _cleanup_free_ char *dir = manager_cgroup_dir(m, false, j->cgroup, NULL);
                int q = dir ? cgroup_set_xattr(m->sysroot, dir, STATE_XATTR, text) : -ENOENT;
                if (q < 0)
                        log_debug_errno(q, "job %" PRIu64 ": cannot keep its record on %s: %m", j->id, j->cgroup);
                else
                        r = 0;
        }
        if (r >= 0)
                j->peak_saved_bytes = job_peak_working_set(j->guard->job);
}

static void manager_job_sample(struct manager *m, struct mjob *j, const struct guard_event *ev) {
        const struct conf_profile *p = manager_profile(m, j->profile);
        uint64_t now = guard_now_mono();
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX];

        if (p && p->log_every_usec > 0 && now - j->last_usage_log_usec >= p->log_every_usec) {
                j->last_usage_log_usec = now;
                events_job(j, LOG_INFO, EVENTS_JOB_USAGE, ev->current_bytes, "uses %s of %s, %d processes",
                           units_format_size(b1, ev->current_bytes),
                           ev->limit_bytes ? units_format_size(b2, ev->limit_bytes) : "no limit", ev->count);
        }
        if (p && p->spike_rate_bytes_per_sec > 0 && j->prev_usec > 0 && now > j->prev_usec &&
            ev->current_bytes > j->prev_bytes) {
                double rate = (double) (ev->current_bytes - j->prev_bytes) * 1e6 / (double) (now - j->prev_usec);
                if (rate >= (double) p->spike_rate_bytes_per_sec &&
                    now - j->last_spike_log_usec >= j->guard->limits.warn_every_usec) {
                        j->last_spike_log_usec = now;
                        events_job(j, LOG_NOTICE, EVENTS_JOB_SPIKE, ev->current_bytes, "grows at %s/s, from %s to %s",
                                   units_format_size(b1, (uint64_t) rate), units_format_size(b2, j->prev_bytes),
                                   units_format_size((char[UNITS_SIZE_MAX]) {}, ev->current_bytes));
                }
        }
        j->prev_bytes = ev->current_bytes;
        j->prev_usec = now;

        uint64_t peak = job_peak_working_set(j->guard->job);
        if ((double) peak > (double) j->peak_saved_bytes * MANAGER_PEAK_SAVE_RATIO)
                manager_job_save(m, j);
}

static void manager_guard_event(struct guard *g, const struct guard_event *ev, void *userdata) {
        struct mjob *j = userdata;
        struct manager *m = j->manager;
        const struct conf_profile *p = manager_profile(m, j->profile);
        const char *reason = policy_reason_to_string(g->state.reason);

        switch (ev->type) {
        case GUARD_EVENT_STARTED:
                break;
        case GUARD_EVENT_SAMPLE:
                manager_job_sample(m, j, ev);
                break;
        case GUARD_EVENT_WARNING:
                events_job(j, LOG_WARNING, EVENTS_JOB_WARNING, ev->current_bytes, "%s", ev->message);
                bus_job_warning(m->bus, j, ev->current_bytes);
                break;
        case GUARD_EVENT_THRESHOLD:
                events_job(j, LOG_NOTICE, EVENTS_JOB_THRESHOLD, ev->current_bytes, "%s", ev->message);
                bus_job_threshold(m->bus, j, ev->current_bytes, reason);
                if (p && !g->dry_run)
                        (void) hooks_run(j, "pre-kill", p->pre_kill_hook, p->hook_timeout_usec, reason, ev->current_bytes,
                                         ev->limit_bytes);
                break;
        case GUARD_EVENT_KERNEL_OOM:
                events_job(j, LOG_WARNING, EVENTS_JOB_KERNEL_OOM, ev->current_bytes, "%s", ev->message);
                bus_job_threshold(m->bus, j, ev->current_bytes, reason);
                break;
        case GUARD_EVENT_TERM:
                events_job(j, LOG_NOTICE, EVENTS_JOB_SIGTERM, ev->current_bytes, "%s", ev->message);
                break;
        case GUARD_EVENT_KILL:
                events_job(j, LOG_NOTICE, EVENTS_JOB_SIGKILL, ev->current_bytes, "%s", ev->message);
                bus_job_killed(m->bus, j, reason);
                break;
        case GUARD_EVENT_FROZEN:
                events_job(j, LOG_NOTICE, EVENTS_JOB_THRESHOLD, ev->current_bytes, "%s", ev->message);
                break;
        case GUARD_EVENT_LEFTOVERS:
                log_info("job %" PRIu64 ": %s", j->id, ev->message);
                break;
        case GUARD_EVENT_ENDED: {
                char b1[UNITS_SIZE_MAX];
                const struct job *job = g->job;
                uint64_t peak = job_peak_working_set(job);
                events_job(j, LOG_INFO, EVENTS_JOB_ENDED, ev->current_bytes, "ended (%s), peak %s",
                           g->state.reason == POLICY_REASON_NONE ? "by itself" : reason, units_format_size(b1, peak));
                if (p && g->state.reason != POLICY_REASON_NONE && !g->dry_run)
                        (void) hooks_run(j, "post-kill", p->post_kill_hook, p->hook_timeout_usec, reason, ev->current_bytes,
                                         g->state.reason == POLICY_REASON_PROCESS ? g->limits.max_process_bytes
                                                                                  : g->limits.max_bytes);
                (void) state_remove(m->state_dir, j->id);
                /* The group goes now; the job's numbers stay a while for its report. */
                kevents_unwatch_job(j);
                backend_release(g->backend);
                j->ended = true;
                j->ended_usec = guard_now_mono();
                bus_job_ended(m->bus, j);
                if (j->finish_call)
                        bus_finish_reply(j);
                manager_notify_status(m);
                break;
        }
        default:
                break;
        }
}

/* Creates the job: backend (a new group, or an existing one adopted), guard, state. */
int manager_add_job(struct manager *m, enum mjob_source source, const struct backend_config *bc,
                           const struct policy_limits *limits, const char *profile, const char *watch,
                           uid_t uid, char *const *argv, uint64_t id, struct mjob **ret, char **reterr) {
        _cleanup_free_ char *why = NULL;
        struct backend *b = NULL;
        int r = backend_open(m->sysroot, m->backend_kind, bc, &b, &why);
        if (r < 0) {
                backend_errorf(reterr, "%s", why ? why : strerror(-r));
                return r;
        }
        struct job *job = NULL;
        r = job_new(argv, &job);
        if (r < 0) {
                backend_free(b);
                return r;
        }
        struct mjob *j = calloc(1, sizeof(*j));
        if (!j) {
                job_free(job);
                backend_free(b);
                return -ENOMEM;
        }
        j->manager = m;
        j->id = id ? id : m->next_id++;
        m->next_id = MAX(m->next_id, j->id + 1);
        j->source = source;
        j->uid = uid;
        manager_user_name(uid, j->user, sizeof(j->user));
        j->profile = strdup(profile);
        j->watch = watch ? strdup(watch) : NULL;
        j->cgroup = backend_group_path(b) ? strdup(backend_group_path(b)) : NULL;
        j->command = job_command_string(job);
        j->start_realtime_usec = job->start_realtime_usec;
        if (bc->adopt_unified_path)
                j->unified_cgroup = strdup(bc->adopt_unified_path);
        else if (m->backend_kind == BACKEND_CGROUP1 && m->unified_parent_path && bc->group_name)
                (void) asprintf(&j->unified_cgroup, "%s%s%s", m->unified_parent_path,
                                strcmp(m->unified_parent_path, "/") == 0 ? "" : "/", bc->group_name);

        r = guard_new(m->loop, m->sysroot, b, job, limits, false, &j->guard);
        if (r < 0) {
                job_free(job);
                backend_free(b);
                mjob_free(j);
                return r;
        }
        const struct conf_profile *p = manager_profile(m, profile);
        j->guard->freeze_instead = p && p->action == CONF_ACTION_FREEZE;
        j->guard->job->max_samples = MANAGER_JOB_SAMPLES_MAX;
        j->guard->detail_every_samples = MANAGER_DETAIL_EVERY_SAMPLES;
        j->guard->on_event = manager_guard_event;
        j->guard->userdata = j;
        j->wait_status = -1;
        j->limit_exit_code = POLICY_EXIT_LIMIT;
        j->event_fds[0] = j->event_fds[1] = -1;
        kevents_watch_job(m, j);
        j->next = m->jobs;
        m->jobs = j;
        *ret = j;
        return 0;
}

struct mjob *manager_find_any(struct manager *m, uint64_t id) {
        for (struct mjob *j = m->jobs; j; j = j->next)
                if (j->id == id)
                        return j;
        return NULL;
}

struct mjob *manager_find_job(struct manager *m, uint64_t id) {
        for (struct mjob *j = m->jobs; j; j = j->next)
                if (j->id == id && !j->ended)
                        return j;
        return NULL;
}

struct mjob *manager_find_cgroup(struct manager *m, const char *cgroup) {
        for (struct mjob *j = m->jobs; j; j = j->next)
                if (!j->ended && j->cgroup && strcmp(j->cgroup, cgroup) == 0)
                        return j;
        return NULL;
}

int manager_register_job(struct manager *m, uid_t uid, pid_t pid, int pidfd, char *const *argv,
                         const char *profile, const struct policy_limits *asked, struct mjob **ret, char **reterr) {
        _cleanup_close_ int fd = pidfd;
        const struct conf_profile *p;
        if (profile && *profile) {
                p = conf_profile(m->conf, profile);
                if (!p) {
                        backend_errorf(reterr, "no profile called '%s'", profile);
                        return -ENOENT;
                }
        } else {
                _cleanup_free_ char *cmd = job_argv_string(argv);
                struct passwd pw, *res = NULL;
                char tmp[1024];
                gid_t gid = getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res ? res->pw_gid : (gid_t) -1;
                /* Rules by cgroup see where the job was started: a user's session, a scheduler's step. */
                struct cgroup_layout l = {};
                const char *where = NULL;
                if (cgroup_layout_read(m->sysroot, pid, &l) >= 0)
                        where = m->backend_kind == BACKEND_CGROUP1 ? l.v1_memory_path : l.v2_path;
                p = conf_match(m->conf, uid, gid, cmd, where);
                cgroup_layout_done(&l);
        }
        struct policy_limits limits;
        manager_limits_from_profile(m, p, &limits);
        policy_limits_apply_asked(asked, uid == 0, &limits);

        struct mjob *j;
        int r;
        /* A group of that name may be left from another daemon (another state directory): skip it. */
        for (int attempt = 0;; attempt++) {
                char group[64];
                uint64_t id = m->next_id;
                snprintf(group, sizeof(group), "job-%" PRIu64, id);
                struct backend_config bc = {
                        .group_name = group,
                        .hard_limit_bytes = limits.max_bytes,
                        .parent_path = m->parent_path,
                        .unified_parent_path = m->unified_parent_path,
                        .root_pid = pid,
                };
                r = manager_add_job(m, MJOB_SOURCE_REGISTERED, &bc, &limits, p->name, NULL, uid, argv, id, &j, reterr);
                if (r != -EEXIST || attempt >= 100)
                        break;
                m->next_id++;
        }
        if (r < 0)
                return r;
        if (asked)
                j->asked = *asked;
        r = backend_attach(j->guard->backend, pid);
        if (r < 0 && r != -EOPNOTSUPP) {
                backend_errorf(reterr, "cannot move process %d into the job's cgroup: %s", (int) pid, strerror(-r));
                j->ended = true;
                j->ended_usec = 0;  /* nothing to report: reaped at the next pass */
                return r;
        }
        guard_adopt_pid(j->guard, pid, TAKE_FD(fd));
        manager_job_save(m, j);
        events_job(j, LOG_INFO, EVENTS_JOB_STARTED, 0, "registered by uid %u under profile %s", (unsigned) uid, p->name);
        bus_job_started(m->bus, j);
        manager_notify_status(m);
        *ret = j;
        return 0;
}

int manager_kill_job(struct manager *m, struct mjob *j, bool now) {
        if (j->guard->frozen && !now)
                (void) guard_freeze(j->guard, false);  /* a frozen job cannot act on SIGTERM */
        guard_request_stop(j->guard, POLICY_REASON_REQUEST, now ? SIGKILL : SIGTERM, true);
        return 0;
}

int manager_freeze_job(struct manager *m, struct mjob *j, bool frozen) {
        int r = guard_freeze(j->guard, frozen);
        if (r >= 0)
                log_info("job %" PRIu64 ": %s on request", j->id, frozen ? "frozen" : "thawed");
        return r;
}

int manager_set_limit(struct manager *m, struct mjob *j, uint64_t bytes) {
        int r = guard_set_limit(j->guard, bytes);
        /* It is what the job's owner (or root) asked for now: it holds across reloads. */
        if (r >= 0)
                j->asked.max_bytes = bytes;
        if (r >= 0)
                manager_job_save(m, j);
        return r;
}

/* host-reserve: when the host's available memory runs below it, the largest job is stopped, one at a
 * time (the next only once the last has ended: available memory lags behind a kill). */
void manager_check_host(struct manager *m) {
        uint64_t reserve = m->conf->daemon.host_reserve_bytes;
        if (reserve == 0)
                return;
        if (m->host_victim && manager_find_job(m, m->host_victim))
                return;
        m->host_victim = 0;
        uint64_t total = 0, avail = 0;
        if (procfs_read_meminfo(m->sysroot, &total, &avail) < 0 || avail >= reserve)
                return;
        struct mjob *victim = NULL;
        uint64_t most = 0;
        for (struct mjob *j = m->jobs; j; j = j->next) {
                if (j->ended || j->guard->state.stage != POLICY_STAGE_RUNNING)
                        continue;
                const struct job *job = j->guard->job;
                uint64_t cur = job->n_samples ? job->samples[job->n_samples - 1].working_set_bytes : 0;
                if (!victim || cur > most) {
                        victim = j;
                        most = cur;
                }
        }
        if (!victim)
                return;
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX];
        events_job(victim, LOG_WARNING, EVENTS_JOB_THRESHOLD, most,
                   "the host has %s available, below its reserve of %s: stopping its largest job",
                   units_format_size(b1, avail), units_format_size(b2, reserve));
        m->host_victim = victim->id;
        guard_request_stop(victim->guard, POLICY_REASON_HOST_RESERVE, SIGTERM, true);
}

static void manager_watch_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        manager_check_host(w->data);
        adopt_scan_watches(w->data);
}

static void manager_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        /* The loop is turning: every job's timer runs on it, so this ping vouches for them. */
        sd_notify(0, "WATCHDOG=1");
}

static void manager_signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        struct manager *m = w->data;
        if (w->signum == SIGHUP) {
                (void) manager_reload(m, NULL);
                return;
        }
        log_info("received SIG%s; stopping (supervised jobs keep running and are taken up again at the next start)",
                 sigabbrev_np(w->signum));
        sd_notify(0, "STOPPING=1");
        for (struct mjob *j = m->jobs; j; j = j->next)
                if (!j->ended)
                        manager_job_save(m, j);
        m->stopping = true;
        ev_break(loop, EVBREAK_ALL);
}

int manager_reload(struct manager *m, struct conf_errors *reterr) {
        sd_notify(0, "RELOADING=1");
        struct conf *c = NULL;
        struct conf_errors errors = {};
        int r = conf_load(m->config_path, m->dropin_dir, m->host_ram_bytes, &c, &errors);
        if (r < 0) {
                for (size_t i = 0; i < errors.n; i++)
                        log_error("%s", errors.messages[i]);
                struct log_field f[2] = { { .name = "CONFIG_FILE" }, { .name = "MEMGUARD_ERRORS" } };
                snprintf(f[0].value, sizeof(f[0].value), "%s", m->config_path);
                snprintf(f[1].value, sizeof(f[1].value), "%zu", errors.n);
                log_struct(LOG_ERR, EVENTS_RELOAD_FAILED, f, 2,
                           "configuration has %zu error%s, not reloading; the running configuration stays", errors.n,
                           errors.n == 1 ? "" : "s");
                if (reterr)
                        *reterr = errors;
                else
                        conf_errors_done(&errors);
                sd_notify(0, "READY=1");
                return r == -ENOMEM ? r : -EINVAL;
        }
        conf_free(m->conf);
        m->conf = c;
        log_set_max_level(m->conf->daemon.log_level);

        /* Running jobs follow their profile's new settings; the kernel ceiling of our own groups too. */
        for (struct mjob *j = m->jobs; j; j = j->next) {
                if (j->ended)
                        continue;
                const struct conf_profile *p = conf_profile(m->conf, j->profile);
                if (!p) {
                        log_warning("job %" PRIu64 ": profile %s is gone after the reload; it keeps its limits", j->id,
                                    j->profile);
                        continue;
                }
                struct policy_limits l;
                manager_limits_from_profile(m, p, &l);
                /* What the client asked for still holds, within what the new profile allows. */
                policy_limits_apply_asked(&j->asked, j->uid == 0, &l);
                uint64_t old_max = j->guard->limits.max_bytes;
                guard_set_limits(j->guard, &l);
                j->guard->freeze_instead = p->action == CONF_ACTION_FREEZE;
                if (j->source == MJOB_SOURCE_REGISTERED && l.max_bytes != old_max)
                        (void) guard_set_limit(j->guard, l.max_bytes);
                manager_job_save(m, j);
        }
        struct log_field f[1] = { { .name = "CONFIG_FILE" } };
        snprintf(f[0].value, sizeof(f[0].value), "%s", m->config_path);
        log_struct(LOG_INFO, EVENTS_RELOAD_OK, f, 1, "configuration reloaded: %zu profiles, %zu rules, %zu watches",
                   m->conf->n_profiles, m->conf->n_rules, m->conf->n_watches);
        sd_notify(0, "READY=1");
        manager_notify_status(m);
        (void) adopt_scan_watches(m);
        return 0;
}

/* Decides where job groups go and makes sure the memory controller reaches them. */
/* A configured parent is made when missing; on cgroup2 it hands the memory controller down. */
static void manager_make_parent(struct manager *m, const char *mount, const char *root, const char *path, bool v2) {
        _cleanup_free_ char *dir = cgroup_dir(mount, root, path, NULL);
        if (!dir)
                return;
        int r = cgroup_mkdir(m->sysroot, dir);
        if (r < 0 && r != -EEXIST)
                log_warning_errno(r, "cannot create the job cgroup parent %s: %m", path);
        if (!v2)
                return;
        _cleanup_free_ char *ctl = cgroup_dir(mount, root, path, "cgroup.controllers");
        _cleanup_free_ char *sub = cgroup_dir(mount, root, path, "cgroup.subtree_control");
        _cleanup_free_ char *have = NULL, *text = NULL;
        /* Only where the memory controller reaches this far (not the unified tree of a hybrid host). */
        if (!ctl || sysroot_read_cgroup(m->sysroot, ctl, &have, 4096) < 0 || !cgroup_list_has(have, "memory"))
                return;
        if (sub && sysroot_read_cgroup(m->sysroot, sub, &text, 4096) >= 0 && !cgroup_list_has(text, "memory")) {
                r = sysroot_write_cgroup(m->sysroot, sub, "+memory");
                if (r < 0)
                        log_warning_errno(r, "cannot enable the memory controller in %s: %m", path);
        }
}

static int manager_setup_cgroups(struct manager *m, enum backend_kind want, const char *cli_parent) {
        int r = cgroup_layout_read(m->sysroot, 0, &m->layout);
        const struct cgroup_layout l = m->layout;  /* a view; m->layout owns the strings */
        if (r < 0) {
                m->backend_kind = BACKEND_PROCFS;
                return log_warning_errno(r, "cannot read the cgroup layout, supervising through /proc only: %m");
        }
        const char *configured = cli_parent ? cli_parent
                                 : m->conf->daemon.cgroup_parent && *m->conf->daemon.cgroup_parent
                                         ? m->conf->daemon.cgroup_parent : NULL;
        if (configured) {
                if (l.v2_mount)
                        manager_make_parent(m, l.v2_mount, l.v2_root, configured, true);
                if (l.v1_memory_mount)
                        manager_make_parent(m, l.v1_memory_mount, l.v1_memory_root, configured, false);
        }
        bool v2_memory = false;
        if (l.v2_mount && l.v2_path) {
                _cleanup_free_ char *ctl = cgroup_dir(l.v2_mount, l.v2_root, configured ? configured : l.v2_path,
                                                      "cgroup.controllers");
                _cleanup_free_ char *text = NULL;
                v2_memory = ctl && sysroot_read_cgroup(m->sysroot, ctl, &text, 4096) >= 0 &&
                            cgroup_list_has(text, "memory");
        }

        enum backend_kind k = want;
        if (k == BACKEND_AUTO)
                k = v2_memory ? BACKEND_CGROUP2 : l.v1_memory_mount ? BACKEND_CGROUP1 : BACKEND_PROCFS;
        m->backend_kind = k;

        if (k == BACKEND_CGROUP2) {
                const char *own = l.v2_path;
                m->parent_path = strdup(configured ? configured : own);
                if (!configured && strcmp(own, "/") != 0) {
                        /* "No internal processes": move ourselves into a leaf so our cgroup (systemd's
                         * Delegate=yes subtree) can hand the memory controller to job groups. */
                        _cleanup_free_ char *leaf = cgroup_dir(l.v2_mount, l.v2_root, own, MANAGER_SUPERVISOR_LEAF);
                        _cleanup_free_ char *procs = cgroup_dir(l.v2_mount, l.v2_root, own,
                                                                MANAGER_SUPERVISOR_LEAF "/cgroup.procs");
                        r = cgroup_mkdir(m->sysroot, leaf);
                        if ((r >= 0 || r == -EEXIST) && (r = sysroot_write_cgroup(m->sysroot, procs, "0")) >= 0)
                                free(m->parent_path), m->parent_path = strdup(own);
                        else
                                log_warning_errno(r, "cannot move into %s/%s: %m", own, MANAGER_SUPERVISOR_LEAF);
                }
                _cleanup_free_ char *sub = cgroup_dir(l.v2_mount, l.v2_root, m->parent_path, "cgroup.subtree_control");
                _cleanup_free_ char *text = NULL;
                if (sub && sysroot_read_cgroup(m->sysroot, sub, &text, 4096) >= 0 && !cgroup_list_has(text, "memory")) {
                        r = sysroot_write_cgroup(m->sysroot, sub, "+memory");
                        if (r < 0)
                                log_warning_errno(r, "cannot enable the memory controller in %s: %m", sub);
                }
        } else if (k == BACKEND_CGROUP1) {
                m->parent_path = strdup(configured ? configured : l.v1_memory_path ? l.v1_memory_path : "/");
                if (l.v2_mount && l.v2_path)
                        m->unified_parent_path = strdup(configured ? configured : l.v2_path);
        }
        log_info("job groups: %s backend%s%s", backend_kind_to_string(k), m->parent_path ? " under " : "",
                 m->parent_path ? m->parent_path : "");
        return 0;
}

int manager_new(const struct manager_options *o, struct manager **ret) {
        struct manager *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->epoll_fd = m->psi_fd = -1;
        m->next_id = 1;
        m->config_path = strdup(o->config_path ? o->config_path : CONF_PATH_DEFAULT);
        m->dropin_dir = o->dropin_dir ? strdup(o->dropin_dir) : NULL;
        int r = sysroot_open(o->sysroot, &m->sysroot);
        if (r < 0) {
                manager_free(m);
                return log_error_errno(r, "cannot open %s/proc: %m", o->sysroot ? o->sysroot : "");
        }
        r = procfs_read_meminfo(m->sysroot, &m->host_ram_bytes, NULL);
        if (r < 0)
                log_warning_errno(r, "cannot read the host's memory size; percentages are of 0: %m");

        struct conf_errors errors = {};
        r = conf_load(m->config_path, m->dropin_dir, m->host_ram_bytes, &m->conf, &errors);
        if (r < 0) {
                for (size_t i = 0; i < errors.n; i++)
                        log_error("%s", errors.messages[i]);
                conf_errors_done(&errors);
                manager_free(m);
                return r;
        }
        log_set_max_level(MAX(log_get_max_level(), m->conf->daemon.log_level));
        m->socket_path = strdup(o->socket_path ? o->socket_path : m->conf->daemon.socket_path);
        m->state_dir = strdup(o->state_dir ? o->state_dir : m->conf->daemon.state_dir);

        m->loop = ev_default_loop(EVFLAG_NOENV);
        if (!m->loop) {
                manager_free(m);
                return log_error_errno(ENOMEM, "cannot set up the event loop");
        }
        ev_timer_init(&m->reap_timer, manager_reap_cb, 0., (double) MANAGER_REAP_INTERVAL_USEC / 1e6);
        m->reap_timer.data = m;
        (void) kevents_setup(m);

        (void) manager_setup_cgroups(m, o->backend, o->cgroup_parent);
        adopt_records(m);
        *ret = m;
        return 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        while (m->jobs) {
                struct mjob *j = m->jobs;
                m->jobs = j->next;
                /* Stopping the daemon must not end or forget anyone's job: keep the groups in place. */
                if (j->guard && j->guard->backend && !j->ended)
                        j->guard->backend->keep = true;
                mjob_free(j);
        }
        if (m->loop) {
                ev_signal_stop(m->loop, &m->sig_term);
                ev_signal_stop(m->loop, &m->sig_int);
                ev_signal_stop(m->loop, &m->sig_hup);
                ev_timer_stop(m->loop, &m->watch_timer);
                ev_timer_stop(m->loop, &m->watchdog_timer);
                ev_timer_stop(m->loop, &m->reap_timer);
        }
        bus_free(m->bus);
        kevents_done(m);
        cgroup_layout_done(&m->layout);
        conf_free(m->conf);
        sysroot_free(m->sysroot);
        free(m->config_path);
        free(m->dropin_dir);
        free(m->parent_path);
        free(m->unified_parent_path);
        free(m->socket_path);
        free(m->state_dir);
        free(m);
        return NULL;
}

int manager_start(struct manager *m) {
        ev_signal_init(&m->sig_term, manager_signal_cb, SIGTERM);
        ev_signal_init(&m->sig_int, manager_signal_cb, SIGINT);
        ev_signal_init(&m->sig_hup, manager_signal_cb, SIGHUP);
        m->sig_term.data = m->sig_int.data = m->sig_hup.data = m;
        ev_signal_start(m->loop, &m->sig_term);
        ev_signal_start(m->loop, &m->sig_int);
        ev_signal_start(m->loop, &m->sig_hup);
        signal(SIGPIPE, SIG_IGN);

        ev_timer_start(m->loop, &m->reap_timer);
        kevents_start(m);

        /* The interface: the socket must work; the system bus is a bonus where there is one. */
        int r = bus_new(m, &m->bus);
        if (r < 0)
                return r;

        ev_timer_init(&m->watch_timer, manager_watch_cb, 0., (double) MANAGER_WATCH_SCAN_USEC / 1e6);
        m->watch_timer.data = m;
        ev_timer_start(m->loop, &m->watch_timer);

        uint64_t wd = 0;
        if (sd_watchdog_enabled(0, &wd) > 0 && wd > 0) {
                m->watchdog_usec = wd;
                ev_timer_init(&m->watchdog_timer, manager_watchdog_cb, 0., (double) wd / 2e6);
                m->watchdog_timer.data = m;
                ev_timer_start(m->loop, &m->watchdog_timer);
        }

        /* Keep the supervisor itself out of swap when memory is tight: it is what frees memory. */
        if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
                log_debug_errno(errno, "mlockall failed, continuing without: %m");

        size_t n = manager_count_active(m);
        struct log_field f[1] = { { .name = "MEMGUARD_BACKEND" } };
        snprintf(f[0].value, sizeof(f[0].value), "%s", backend_kind_to_string(m->backend_kind));
        log_struct(LOG_INFO, EVENTS_DAEMON_STARTED, f, 1, "memguardd %s started: %s backend, %zu job%s taken up",
                   PACKAGE_VERSION, backend_kind_to_string(m->backend_kind), n, n == 1 ? "" : "s");
        sd_notifyf(0, "READY=1\nSTATUS=supervising %zu job%s\nMAINPID=%d", n, n == 1 ? "" : "s",
                   (int) getpid());
        return 0;
}
