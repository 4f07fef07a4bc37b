/* SPDX-License-Identifier: MIT */
/* memguard run without memguardd: the engine guards the job in this process (a backend, a guard, its
 * event loop), and the report comes from here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "backend.h"
#include "guard.h"
#include "job.h"
#include "log.h"
#include "macro.h"
#include "report.h"
#include "run.h"
#include "units.h"

struct run_local {
        struct guard *guard;
        ev_io signal_io;
        int signal_fd;
        uint64_t last_usage_log_usec;
};

static void run_local_signal_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct run_local *st = w->data;
        struct run_signal s;
        while (run_signals_next(st->signal_fd, &s)) {
                if (st->guard->ended)
                        continue;
                if (s.from_terminal) {
                        /* The job already has it from the terminal: sending it again would make it twice. */
                        if (st->guard->state.reason == POLICY_REASON_NONE)
                                st->guard->state.reason = POLICY_REASON_INTERRUPT;
                        log_info("interrupted (SIG%s from the terminal); waiting for the job to exit",
                                 sigabbrev_np(s.signo));
                        continue;
                }
                /* Someone asked memguard to stop: pass it on to every process of the job, once. SIGINT is
                 * passed on as it is; TERM, HUP and QUIT also start the grace, then SIGKILL. */
                log_info("received SIG%s; passing it on to the job", sigabbrev_np(s.signo));
                guard_request_stop(st->guard, POLICY_REASON_INTERRUPT, s.signo, s.signo != SIGINT);
        }
}

static void run_local_event(struct guard *g, const struct guard_event *ev, void *userdata) {
        struct run_local *st = userdata;
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX];

        switch (ev->type) {
        case GUARD_EVENT_STARTED:
                log_debug("job started: pid %d", (int) ev->pid);
                break;
        case GUARD_EVENT_SAMPLE: {
                /* The shell wrapper's "Memory usage:" line, once a second, for tail -f and grep. */
                uint64_t now = guard_now_mono();
                if (now - st->last_usage_log_usec >= USEC_PER_SEC) {
                        st->last_usage_log_usec = now;
                        if (ev->limit_bytes > 0)
                                log_info("Memory usage: %s of %s (%.1f%%), %d processes",
                                         units_format_size(b1, ev->current_bytes), units_format_size(b2, ev->limit_bytes),
                                         100.0 * (double) ev->current_bytes / (double) ev->limit_bytes, ev->count);
                        else
                                log_info("Memory usage: %s, %d processes", units_format_size(b1, ev->current_bytes),
                                         ev->count);
                }
                break;
        }
        case GUARD_EVENT_WARNING:
                log_warning("%s", ev->message);
                break;
        case GUARD_EVENT_THRESHOLD:
        case GUARD_EVENT_KERNEL_OOM:
                log_notice("%s", ev->message);
                break;
        case GUARD_EVENT_TERM:
        case GUARD_EVENT_KILL:
                if (ev->count < 0)
                        log_error("%s", ev->message);
                else
                        log_notice("%s", ev->message);
                break;
        case GUARD_EVENT_LEFTOVERS:
                log_notice("%s (%d process%s)", ev->message, ev->count, ev->count == 1 ? "" : "es");
                break;
        case GUARD_EVENT_SAMPLE_ERROR:
        case GUARD_EVENT_GROUP_GONE:
                log_warning("%s", ev->message);
                break;
        case GUARD_EVENT_ENDED:
                ev_break(g->loop, EVBREAK_ALL);
                break;
        default:
                break;
        }
}

/* Opens the backend; *ret_note says which were passed over, for the report. */
static int run_local_backend(const struct run_args *a, struct sysroot *s, struct backend **ret,
                             char **ret_note) {
        char group[64];
        snprintf(group, sizeof(group), "memguard-%d", (int) getpid());
        struct backend_config bc = {
                .group_name = group,
                .hard_limit_bytes = a->dry_run ? 0 : a->limits.max_bytes,
                .supervisor_pid = s->self_pid,
                /* A SIGKILLed memguard could not remove its groups: the next run does. */
                .remove_stale = true,
        };
        _cleanup_free_ char *skipped = NULL;
        int r = backend_open(s, a->backend, &bc, ret, &skipped);
        if (r < 0) {
                log_error("cannot use the %s backend: %s", backend_kind_to_string(a->backend),
                          skipped ? skipped : strerror(-r));
                return r;
        }
        if (a->backend != BACKEND_AUTO || !skipped)
                return 0;
        if (asprintf(ret_note, "using the %s backend; passed over %s", backend_name(*ret), skipped) < 0)
                *ret_note = NULL;
        if ((*ret)->ops->kind == BACKEND_PROCFS) {
                /* -q hides warnings, but not this one: without it a user believes the kernel holds the
                 * ceiling when only sampling does. */
                int level = log_get_max_level();
                log_set_max_level(MAX(level, LOG_WARNING));
                log_warning("falling back to the procfs backend (%s): memory is sampled, the kernel does not "
                            "enforce the limit", skipped);
                log_set_max_level(level);
        }
        return 0;
}

static int run_local_spawn_failed(const struct run_args *a, int r) {
        if (r == -ENOENT) {
                log_error("%s: command not found", a->command[0]);
                return 127;
        }
        if (r == -EXDEV) {
                log_error("%s: cannot move the job into its cgroup", a->command[0]);
                return POLICY_EXIT_FAILURE;
        }
        log_error_errno(r, "%s: cannot run: %m", a->command[0]);
        return r == -EACCES || r == -ENOEXEC || r == -EISDIR ? 126 : POLICY_EXIT_FAILURE;
}

static int run_local_write_json(FILE *f, const void *info) {
        return report_write_json(f, info);
}

static int run_local_write_csv(FILE *f, const void *info) {
        return report_write_csv(f, info);
}

static int run_local_write_timeline(FILE *f, const void *info) {
        return report_write_timeline(f, info);
}

/* The report on stderr, the log file's last line and the report files; the exit code, made a failure
 * when a report the user asked for could not be written. */
static int run_local_report(const struct run_args *a, const struct guard *g, const char *note) {
        int code = policy_exit_code(&g->state, g->wait_status, a->limit_exit_code, a->dry_run);
        struct report_info info = guard_report_info(g, g->wait_status, code);
        info.dry_run = a->dry_run;
        info.note = note;
        if (!a->quiet)
                report_write_text(stderr, &info);
        if (a->log_file) {
                _cleanup_free_ char *reason = report_reason(&info);
                log_info("job ended: %s: %s; exit code %d", report_verdict(&info), reason ? reason : "", code);
        }
        const struct {
                const char *path, *what;
                run_report_writer writer;
        } files[] = {
                { a->json ? (a->json_file ? a->json_file : "-") : NULL, "JSON report", run_local_write_json },
                { a->csv_file, "CSV report", run_local_write_csv },
                { a->timeline_file, "timeline", run_local_write_timeline },
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (files[i].path && run_report_write(files[i].path, files[i].what, files[i].writer, &info) < 0 &&
                    code == 0)
                        code = POLICY_EXIT_FAILURE;
        return code;
}

int run_local(const struct run_args *a, struct sysroot *s, int signal_fd) {
        /* Double-forked and reparented descendants come back to us, so they stay in the job. */
        if (sysroot_is_live(s) && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_warning_errno(errno, "cannot become a child subreaper, orphaned descendants may escape: %m");

        _cleanup_(backend_freep) struct backend *backend = NULL;
        _cleanup_free_ char *note = NULL;
        if (run_local_backend(a, s, &backend, &note) < 0)
                return POLICY_EXIT_FAILURE;
        _cleanup_(job_freep) struct job *job = NULL;
        int r = job_new(a->command, &job);
        if (r < 0)
                return log_error_errno(r, "cannot set up the job: %m"), POLICY_EXIT_FAILURE;
        struct ev_loop *loop = ev_default_loop(EVFLAG_NOENV);
        if (!loop)
                return log_error("cannot set up the event loop"), POLICY_EXIT_FAILURE;
        _cleanup_(guard_freep) struct guard *guard = NULL;
        r = guard_new(loop, s, backend, job, &a->limits, a->dry_run, &guard);
        if (r < 0)
                return log_error_errno(r, "cannot set up the guard: %m"), POLICY_EXIT_FAILURE;
        backend = NULL;  /* the guard's now */
        job = NULL;

        struct run_local st = { .guard = guard, .signal_fd = signal_fd };
        guard->on_event = run_local_event;
        guard->userdata = &st;
        ev_io_init(&st.signal_io, run_local_signal_cb, signal_fd, EV_READ);
        st.signal_io.data = &st;
        ev_io_start(loop, &st.signal_io);

        r = guard_spawn(guard);
        if (r < 0) {
                ev_io_stop(loop, &st.signal_io);
                return run_local_spawn_failed(a, r);
        }
        ev_run(loop, 0);
        ev_io_stop(loop, &st.signal_io);
        return run_local_report(a, guard, note);
}
