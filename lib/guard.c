/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "guard.h"
#include "job.h"
#include "spawn.h"
#include "macro.h"
#include "sysroot.h"
#include "units.h"

/* Once the root has exited with processes left, look this often at least: the report waits on the
 * last of them. */
#define GUARD_LEFTOVER_POLL_USEC (20 * 1000ULL)
/* On cgroup backends every process is read at most this often, and at most every few samples (the
 * group's counters every sample): near a threshold samples come every 10ms, and a thousand idle jobs
 * come every second; reading every process's status that often costs far more than the per-process
 * peaks are worth, which the kernel's VmHWM keeps anyway. */
#define GUARD_DETAIL_EVERY_USEC (100 * 1000ULL)
#define GUARD_DETAIL_PER_PROCESS_USEC (1000ULL)

/* Below half the job's ceiling, cache in memory.stat cannot decide anything: the backend may read it
 * less often. */
static void guard_set_attention(struct guard *g) {
        uint64_t least = g->limits.max_bytes;
        if (g->limits.warn_at > 0 && g->limits.max_bytes > 0)
                least = (uint64_t) ((double) g->limits.max_bytes * g->limits.warn_at);
        g->backend->attention_bytes = least / 2;
}

static uint64_t guard_clock(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t guard_now_mono(void) {
        return guard_clock(CLOCK_MONOTONIC);
}

uint64_t guard_now_realtime(void) {
        return guard_clock(CLOCK_REALTIME);
}

static void guard_emit(struct guard *g, const struct guard_event *ev) {
        if (g->on_event)
                g->on_event(g, ev, g->userdata);
}

static void guard_schedule(struct guard *g, uint64_t usec) {
        ev_timer_stop(g->loop, &g->sample_timer);
        ev_timer_set(&g->sample_timer, (double) usec / 1e6, 0.);
        ev_timer_start(g->loop, &g->sample_timer);
}

/* Sends sig to every process of the job and says so. */
static void guard_signal(struct guard *g, enum guard_event_type type, int sig, uint64_t current) {
        int n = backend_kill(g->backend, sig);
        char msg[160];
        if (n < 0)
                snprintf(msg, sizeof(msg), "could not send %s to the job: %s", sigabbrev_np(sig), strerror(-n));
        else
                snprintf(msg, sizeof(msg), "sent SIG%s to %d process%s of the job", sigabbrev_np(sig), n,
                         n == 1 ? "" : "es");
        guard_emit(g, &(struct guard_event) {
                              .type = type,
                              .current_bytes = current,
                              .limit_bytes = g->limits.max_bytes,
                              .pid = g->job->pid,
                              .signal = sig,
                              .count = n,
                              .message = msg,
                      });
}

static void guard_act(struct guard *g, enum policy_action a, uint64_t current) {
        char msg[256], b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX], b3[UNITS_SIZE_MAX];
        struct guard_event ev = { .current_bytes = current, .pid = g->job->pid, .message = msg };

        switch (a) {
        case POLICY_ACTION_WARN:
                ev.type = GUARD_EVENT_WARNING;
                ev.limit_bytes = g->limits.max_bytes;
                ev.threshold_bytes = policy_threshold(g->limits.max_bytes, g->limits.kill_threshold);
                snprintf(msg, sizeof(msg), "job uses %s, %.0f%% of its limit %s (stopped at %s)",
                         units_format_size(b1, current), 100.0 * (double) current / (double) g->limits.max_bytes,
                         units_format_size(b2, g->limits.max_bytes), units_format_size(b3, ev.threshold_bytes));
                guard_emit(g, &ev);
                return;

        case POLICY_ACTION_TERM:
                ev.type = g->state.reason == POLICY_REASON_KERNEL_OOM ? GUARD_EVENT_KERNEL_OOM : GUARD_EVENT_THRESHOLD;
                if (g->state.reason == POLICY_REASON_PROCESS) {
                        ev.pid = g->state.culprit_pid;
                        ev.current_bytes = g->state.culprit_bytes;
                        ev.limit_bytes = g->limits.max_process_bytes;
                        ev.threshold_bytes = policy_threshold(ev.limit_bytes, g->limits.kill_threshold);
                        snprintf(msg, sizeof(msg), "process %d uses %s, over the per-process kill threshold %s "
                                 "(%.0f%% of %s)%s", (int) ev.pid, units_format_size(b1, ev.current_bytes),
                                 units_format_size(b2, ev.threshold_bytes), g->limits.kill_threshold * 100,
                                 units_format_size(b3, ev.limit_bytes), g->dry_run ? "; dry run: not stopping it" : "");
                } else if (g->state.reason == POLICY_REASON_KERNEL_OOM) {
                        ev.limit_bytes = g->limits.max_bytes;
                        snprintf(msg, sizeof(msg), "the kernel OOM-killed a process of the job at its hard limit %s",
                                 units_format_size(b1, g->limits.max_bytes));
                } else {
                        ev.limit_bytes = g->limits.max_bytes;
                        ev.threshold_bytes = policy_threshold(ev.limit_bytes, g->limits.kill_threshold);
                        snprintf(msg, sizeof(msg), "MEMORY THRESHOLD EXCEEDED: job uses %s, over the kill threshold "
                                 "%s (%.0f%% of %s)%s", units_format_size(b1, current),
                                 units_format_size(b2, ev.threshold_bytes), g->limits.kill_threshold * 100,
                                 units_format_size(b3, ev.limit_bytes), g->dry_run ? "; dry run: not stopping it" : "");
                }
                guard_emit(g, &ev);
                if (g->dry_run)
                        return;
                if (g->freeze_instead && g->state.reason != POLICY_REASON_KERNEL_OOM) {
                        /* Held where it is for a person to decide; the ladder stops here. */
                        int r = backend_freeze(g->backend, true);
                        g->frozen = r >= 0;
                        snprintf(msg, sizeof(msg), r >= 0 ? "froze the job" : "could not freeze the job: %s",
                                 strerror(-r));
                        ev.type = GUARD_EVENT_FROZEN;
                        ev.count = r;
                        guard_emit(g, &ev);
                        return;
                }
                guard_signal(g, GUARD_EVENT_TERM, SIGTERM, current);
                return;

        case POLICY_ACTION_KILL:
                if (!g->dry_run && !g->frozen)
                        guard_signal(g, GUARD_EVENT_KILL, SIGKILL, current);
                return;

        default:
                return;
        }
}

static void guard_started(struct guard *g);

static void guard_end(struct guard *g) {
        struct backend_sample bs;
        /* The kernel's counters after everything exited: the high-water mark and late OOM kills. */
        g->backend->fresh = true;
        if (backend_sample(g->backend, &bs) >= 0) {
                g->job->kernel_peak_bytes = MAX(g->job->kernel_peak_bytes, bs.kernel_peak_bytes);
                g->job->oom_kills = MAX(g->job->oom_kills, bs.oom_kills);
        }
        policy_final(&g->state, g->job->oom_kills);
        job_finish(g->job, guard_now_mono(), guard_now_realtime());
        ev_timer_stop(g->loop, &g->sample_timer);
        /* The report is all that is left to want: the root's pidfd goes now, not with the guard (a
         * daemon keeps ended jobs a while for their reports). */
        if (ev_is_active(&g->pidfd_watcher))
                ev_io_stop(g->loop, &g->pidfd_watcher);
        g->root_pidfd = safe_close(g->root_pidfd);
        g->ended = true;
        guard_emit(g, &(struct guard_event) {
                              .type = GUARD_EVENT_ENDED,
                              .current_bytes = g->job->peak_working_set_bytes,
                              .limit_bytes = g->limits.max_bytes,
                              .pid = g->job->pid,
                              .message = "job ended",
                      });
}

/* How often every process is read: each costs some 30us, so a one-process job is read every sample
 * (its per-process peak then matches the total's), a hundred-process one every 100 ms: about 3% of a
 * core at most either way. */
static uint64_t guard_detail_period(const struct guard *g) {
        const struct job_sample *last = g->job->n_samples ? &g->job->samples[g->job->n_samples - 1] : NULL;
        uint64_t n = last ? last->nproc : 1;
        return MIN(GUARD_DETAIL_EVERY_USEC, n * GUARD_DETAIL_PER_PROCESS_USEC);
}

static void guard_leftovers(struct guard *g, enum policy_action a, uint64_t total, int nproc, uint64_t now) {
        /* The threshold still applies to what is left (a dry run only reports it). */
        guard_act(g, a, total);
        enum policy_action la = policy_leftovers(&g->limits, &g->state, now);
        /* Leftovers end even in a dry run, or the job would never end: what a dry run leaves out is
         * stopping the job for its memory, and a suppressed step of that ladder is taken here. */
        if (g->dry_run && (a == POLICY_ACTION_TERM || a == POLICY_ACTION_KILL))
                la = a;
        if (la == POLICY_ACTION_TERM) {
                guard_emit(g, &(struct guard_event) {
                                      .type = GUARD_EVENT_LEFTOVERS,
                                      .pid = g->job->pid,
                                      .count = nproc,
                                      .message = "the job's main process exited; ending what it left running",
                              });
                guard_signal(g, GUARD_EVENT_TERM, SIGTERM, total);
        } else if (la == POLICY_ACTION_KILL)
                guard_signal(g, GUARD_EVENT_KILL, SIGKILL, total);
        uint64_t next = policy_next_interval(&g->limits, &g->state, total, total, g->job->top_rss_bytes, 0, now);
        guard_schedule(g, MIN(next, GUARD_LEFTOVER_POLL_USEC));
}

/* The job's cgroup was removed under it: its counters answer ENODEV (ENOENT once the directory is
 * gone). A cgroup can only be removed empty, so a group without a root has ended (schedulers remove a
 * job's cgroup as soon as it empties). A root that lives was moved out first: it is guarded on through
 * /proc from now on, as memguard run guards without cgroups. Returns true when the job ended. */
static bool guard_group_gone(struct guard *g, int error) {
        if (g->backend->ops->kind == BACKEND_PROCFS || (error != -ENODEV && error != -ENOENT))
                return false;
        char msg[256];
        struct guard_event ev = { .type = GUARD_EVENT_GROUP_GONE, .pid = g->job->pid, .message = msg };
        if (!g->has_root) {
                snprintf(msg, sizeof(msg), "the job's cgroup %s was removed: the job has ended",
                         backend_group_path(g->backend) ? backend_group_path(g->backend) : "");
                guard_emit(g, &ev);
                guard_end(g);
                return true;
        }
        struct backend *b = NULL;
        int r = backend_open(g->sysroot, BACKEND_PROCFS, &(struct backend_config) { .root_pid = g->job->pid }, &b, NULL);
        if (r < 0) {
                /* Not even its root is left to read: nothing of the job remains. */
                snprintf(msg, sizeof(msg), "the job's cgroup %s was removed and its main process is gone: the job "
                         "has ended", backend_group_path(g->backend) ? backend_group_path(g->backend) : "");
                guard_emit(g, &ev);
                guard_end(g);
                return true;
        }
        snprintf(msg, sizeof(msg), "the job's cgroup %s was removed: guarding its processes through /proc from now on",
                 backend_group_path(g->backend) ? backend_group_path(g->backend) : "");
        ev.count = 1;
        guard_emit(g, &ev);
        /* The old group's description stays for the caller's records; the new backend does the work. */
        g->backend->keep = true;
        backend_free(g->backend);
        g->backend = b;
        guard_set_attention(g);
        g->force_detail = true;
        guard_schedule(g, 0);
        return true;
}

static void guard_tick(struct guard *g) {
        if (g->ended)
                return;
        uint64_t now = guard_now_mono();
        /* Every process, when a per-process limit needs them or their turn has come; else the totals. */
        bool detail = g->force_detail || g->limits.max_process_bytes > 0 || g->root_exited || g->job->n_samples == 0 ||
                      (now - g->last_detail_usec >= guard_detail_period(g) &&
                       ++g->samples_since_detail >= g->detail_every_samples);
        int r = detail ? job_sample(g->job, g->backend, g->sysroot, now, guard_now_realtime())
                       : job_sample_totals(g->job, g->backend, g->sysroot, now, guard_now_realtime());
        g->force_detail = false;
        if (detail && r >= 0) {
                g->last_detail_usec = now;
                g->samples_since_detail = 0;
        }
        if (r < 0 && guard_group_gone(g, r))
                return;
        if (r < 0 && r != g->last_error) {
                /* Once per kind of failure, not every sample: a stuck error must not flood the log. */
                char msg[160];
                snprintf(msg, sizeof(msg), "cannot read the job's memory: %s", strerror(-r));
                guard_emit(g, &(struct guard_event) { .type = GUARD_EVENT_SAMPLE_ERROR, .pid = g->job->pid, .message = msg });
        }
        g->last_error = r < 0 ? r : 0;

        const struct job_sample *last = g->job->n_samples > 0 ? &g->job->samples[g->job->n_samples - 1] : NULL;
        uint64_t total = last ? last->working_set_bytes : 0;
        bool left = r < 0 || (last && last->nproc > 0);

        struct policy_input in = {
                .total_bytes = total,
                .top_process_bytes = g->job->top_rss_bytes,
                .top_process_pid = g->job->top_pid,
                .oom_kills = g->job->oom_kills,
                .processes_left = left,
        };
        enum policy_action a = policy_decide(&g->limits, &g->state, &in, now);

        if (r >= 0)
                guard_emit(g, &(struct guard_event) {
                                      .type = GUARD_EVENT_SAMPLE,
                                      .current_bytes = total,
                                      .limit_bytes = g->limits.max_bytes,
                                      .pid = g->job->pid,
                                      .count = last ? (int) last->nproc : 0,
                              });

        if (!g->has_root) {
                if (!left && g->job->n_samples > 1) {
                        guard_end(g);
                        return;
                }
        } else if (g->root_exited) {
                if (!left) {
                        guard_end(g);
                        return;
                }
                /* The root is gone but left processes behind: they belong to the job and end with it,
                 * within the grace of the job's first SIGTERM (policy_leftovers). */
                guard_leftovers(g, a, total, last ? (int) last->nproc : 0, now);
                return;
        }

        guard_act(g, a, total);

        uint64_t dt = g->prev_sample_usec > 0 ? now - g->prev_sample_usec : 0;
        uint64_t next = policy_next_interval(&g->limits, &g->state, total, g->prev_total_bytes,
                                             g->job->top_rss_bytes, dt, now);
        g->prev_total_bytes = total;
        g->prev_sample_usec = now;
        if (g->shortest_interval_usec == 0 || next < g->shortest_interval_usec)
                g->shortest_interval_usec = next;
        guard_schedule(g, next);
}

static void guard_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        guard_tick(w->data);
}

static void guard_pidfd_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct guard *g = w->data;
        ev_io_stop(loop, w);
        g->root_exited = true;
        g->backend->fresh = true;
        guard_tick(g);
}

static void guard_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct guard *g = w->data;
        ev_child_stop(loop, w);
        g->root_exited = true;
        g->backend->fresh = true;
        g->wait_status = w->rstatus;
        /* Look at once: most jobs leave nothing behind and the report should not wait a tick. */
        guard_tick(g);
}

int guard_new(struct ev_loop *loop, struct sysroot *s, struct backend *b, struct job *j,
              const struct policy_limits *limits, bool dry_run, struct guard **ret) {
        struct guard *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->loop = loop;
        g->sysroot = s;
        g->backend = b;
        g->job = j;
        g->limits = *limits;
        g->dry_run = dry_run;
        guard_set_attention(g);
        g->wait_status = -1;
        g->root_pidfd = -1;
        policy_state_init(&g->state);
        ev_timer_init(&g->sample_timer, guard_timer_cb, 0., 0.);
        g->sample_timer.data = g;
        *ret = g;
        return 0;
}

struct guard *guard_free(struct guard *g) {
        if (!g)
                return NULL;
        if (g->loop) {
                ev_timer_stop(g->loop, &g->sample_timer);
                if (ev_is_active(&g->child_watcher))
                        ev_child_stop(g->loop, &g->child_watcher);
                if (ev_is_active(&g->pidfd_watcher))
                        ev_io_stop(g->loop, &g->pidfd_watcher);
        }
        safe_close(g->root_pidfd);
        backend_free(g->backend);
        job_free(g->job);
        free(g);
        return NULL;
}

/* What the child reports through the CLOEXEC pipe when it cannot become the job. */
struct guard_spawn_error {
        int stage;  /* 0: joining the job's groups, 1: exec */
        int error;
};

static _noreturn_ void guard_child(struct guard *g, char **env, int errfd) {
        spawn_reset_signals();

        struct guard_spawn_error e = { 0, 0 };
        int r = backend_prepare_child(g->backend);
        if (r < 0) {
                e.error = -r;
                (void) !write(errfd, &e, sizeof(e));
                _exit(126);
        }
        execvpe(g->job->argv[0], g->job->argv, env);
        e.stage = 1;
        e.error = errno;
        (void) !write(errfd, &e, sizeof(e));
        _exit(e.error == ENOENT ? 127 : 126);
}

int guard_spawn(struct guard *g) {
        _cleanup_free_ char **env = NULL;
        int r = spawn_environ(&env);
        if (r < 0)
                return r;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                safe_close(pipefd[0]);
                guard_child(g, env, pipefd[1]);
        }
        safe_close(pipefd[1]);

        struct guard_spawn_error e;
        ssize_t n;
        do
                n = read(pipefd[0], &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        safe_close(pipefd[0]);
        if (n == (ssize_t) sizeof(e)) {
                /* The loop has not run since the fork, so the child is still ours to reap here. */
                int st;
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
                return e.stage == 0 ? -EXDEV : -e.error;
        }

        g->job->pid = pid;
        g->has_root = true;
        ev_child_init(&g->child_watcher, guard_child_cb, pid, 0);
        g->child_watcher.data = g;
        ev_child_start(g->loop, &g->child_watcher);
        guard_started(g);
        return 0;
}

int guard_adopt_pid(struct guard *g, pid_t pid, int pidfd) {
        g->job->pid = pid;
        g->has_root = true;
        g->root_pidfd = pidfd;
        ev_io_init(&g->pidfd_watcher, guard_pidfd_cb, pidfd, EV_READ);
        g->pidfd_watcher.data = g;
        ev_io_start(g->loop, &g->pidfd_watcher);
        guard_started(g);
        return 0;
}

int guard_adopt_group(struct guard *g) {
        g->has_root = false;
        guard_started(g);
        return 0;
}

static void guard_started(struct guard *g) {
        pid_t pid = g->job->pid;
        guard_emit(g, &(struct guard_event) {
                              .type = GUARD_EVENT_STARTED,
                              .limit_bytes = g->limits.max_bytes,
                              .threshold_bytes = policy_threshold(g->limits.max_bytes, g->limits.kill_threshold),
                              .pid = pid,
                              .message = "job started",
                      });
        /* First sample right away: a short job still gets one. */
        guard_schedule(g, 0);
}

void guard_request_stop(struct guard *g, enum policy_reason reason, int sig, bool ladder) {
        if (g->ended)
                return;
        uint64_t now = guard_now_mono();
        if (ladder) {
                enum policy_action a = policy_request_stop(&g->limits, &g->state, reason, sig == SIGKILL, now);
                if (a == POLICY_ACTION_NONE)
                        return;
                if (a == POLICY_ACTION_KILL)
                        sig = SIGKILL;
                guard_schedule(g, policy_next_interval(&g->limits, &g->state, g->prev_total_bytes,
                                                       g->prev_total_bytes, g->job->top_rss_bytes, 0, now));
        } else if (g->state.reason == POLICY_REASON_NONE)
                g->state.reason = reason;
        guard_signal(g, sig == SIGKILL ? GUARD_EVENT_KILL : GUARD_EVENT_TERM, sig, g->prev_total_bytes);
}

void guard_sample_now(struct guard *g) {
        if (!g->ended)
                guard_tick(g);
}

void guard_poke(struct guard *g, bool detail) {
        if (g->ended)
                return;
        g->force_detail |= detail;
        guard_schedule(g, 0);
}

void guard_set_limits(struct guard *g, const struct policy_limits *l) {
        g->limits = *l;
        guard_set_attention(g);
}

int guard_freeze(struct guard *g, bool frozen) {
        int r = backend_freeze(g->backend, frozen);
        if (r >= 0)
                g->frozen = frozen;
        return r;
}

int guard_set_limit(struct guard *g, uint64_t bytes) {
        int r = backend_set_limit(g->backend, bytes);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        g->limits.max_bytes = bytes;
        guard_set_attention(g);
        return 0;
}

struct report_info guard_report_info(const struct guard *g, int wait_status, int exit_code) {
        return (struct report_info) {
                .job = g->job,
                .backend = backend_name(g->backend),
                .measures = g->backend->ops->measures,
                .limits = &g->limits,
                .state = &g->state,
                .interval_usec = g->limits.interval_usec,
                .shortest_interval_usec = g->shortest_interval_usec,
                .exit_code = exit_code,
                .wait_status = wait_status,
        };
}
