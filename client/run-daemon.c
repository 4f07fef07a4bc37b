/* SPDX-License-Identifier: MIT */
/* memguard run with memguardd: the job is our child (we forward its exit code) but memguardd guards it
 * under the host's policy, so it stays guarded even if this client dies. The child waits on a pipe
 * until it has been registered by pidfd and moved into its job cgroup, then execs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "run.h"
#include "spawn.h"
#include "units.h"

/* FinishJob is answered once nothing of the job is left: allow the grace and then some. */
#define RUN_FINISH_SLACK_USEC (60 * USEC_PER_SEC)
/* A memguardd that went away while the job ran is waited for this long to come back (systemd restarts
 * it after a second): the new one takes the job up again under the same id and knows its verdict. */
#define RUN_RECONNECT_USEC (15 * USEC_PER_SEC)
#define RUN_RECONNECT_PAUSE_USEC (100 * 1000)

/* What the daemon's signals are matched against. */
struct run_daemon_job {
        uint64_t id;
        bool lost;              /* the connection broke while the job ran */
};

static int run_daemon_signal(sd_bus_message *m, void *userdata, sd_bus_error *err) {
        struct run_daemon_job *d = userdata;
        const char *member = sd_bus_message_get_member(m);
        uint64_t id;
        if (sd_bus_message_read(m, "t", &id) < 0 || id != d->id)
                return 0;
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX];
        if (strcmp(member, "JobWarning") == 0) {
                uint64_t cur, lim;
                if (sd_bus_message_read(m, "tt", &cur, &lim) >= 0)
                        log_warning("job uses %s of its limit %s", units_format_size(b1, cur), units_format_size(b2, lim));
        } else if (strcmp(member, "JobThresholdCrossed") == 0) {
                uint64_t cur, lim;
                const char *reason;
                if (sd_bus_message_read(m, "tts", &cur, &lim, &reason) >= 0)
                        log_notice("MEMORY THRESHOLD EXCEEDED: job uses %s (limit %s): memguardd stops it (%s)",
                                   units_format_size(b1, cur), units_format_size(b2, lim), reason);
        } else if (strcmp(member, "JobKilled") == 0) {
                const char *reason;
                if (sd_bus_message_read(m, "s", &reason) >= 0)
                        log_notice("memguardd sent SIGKILL to the job (%s)", reason);
        }
        return 0;
}

static _noreturn_ void run_daemon_child(const struct run_args *a, char **env, int go_fd, int err_fd) {
        spawn_reset_signals();
        char c;
        ssize_t n;
        do
                n = read(go_fd, &c, 1);
        while (n < 0 && errno == EINTR);
        /* No go (the daemon refused the job, or memguard died): the job never starts. */
        if (n != 1 || c != 'g')
                _exit(POLICY_EXIT_FAILURE);
        execvpe(a->command[0], a->command, env);
        int e = errno;
        (void) !write(err_fd, &e, sizeof(e));
        _exit(e == ENOENT ? 127 : 126);
}

static int run_daemon_append_limits(sd_bus_message *m, const struct run_args *a) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && a->limits.max_bytes > 0)
                r = sd_bus_message_append(m, "{sv}", "MaxMemory", "t", a->limits.max_bytes);
        if (r >= 0 && a->limits.max_process_bytes > 0)
                r = sd_bus_message_append(m, "{sv}", "MaxProcessMemory", "t", a->limits.max_process_bytes);
        if (r >= 0 && a->kill_threshold_set)
                r = sd_bus_message_append(m, "{sv}", "KillThreshold", "d", a->limits.kill_threshold);
        if (r >= 0 && a->limits.warn_at > 0)
                r = sd_bus_message_append(m, "{sv}", "WarnAt", "d", a->limits.warn_at);
        if (r >= 0 && a->grace_set)
                r = sd_bus_message_append(m, "{sv}", "GraceUSec", "t", a->limits.grace_usec);
        if (r >= 0 && a->limits.interval_usec > 0)
                r = sd_bus_message_append(m, "{sv}", "IntervalUSec", "t", a->limits.interval_usec);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "LimitExitCode", "i", (int32_t) a->limit_exit_code);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int run_daemon_register(sd_bus *bus, const struct run_args *a, int pidfd, uint64_t *ret_id) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = sd_bus_message_new_method_call(bus, &m, CONNECT_NAME, CONNECT_PATH, CONNECT_INTERFACE, "RegisterJob");
        if (r >= 0)
                r = sd_bus_message_append(m, "h", pidfd);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, a->command);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "");
        if (r >= 0)
                r = run_daemon_append_limits(m, a);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &err, &reply);
        if (r >= 0) {
                const char *path;
                r = sd_bus_message_read(reply, "to", ret_id, &path);
        } else
                log_error("memguardd did not take the job: %s", err.message ? err.message : strerror(-r));
        sd_bus_error_free(&err);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        return r;
}

static int run_daemon_kill(sd_bus *bus, uint64_t id, bool now) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = connect_call(bus, "KillJob", &err, NULL, "tb", id, now);
        if (r < 0)
                log_warning("memguardd did not stop the job: %s", err.message ? err.message : strerror(-r));
        sd_bus_error_free(&err);
        return r;
}

/* Waits for the child while serving the bus (the daemon's signals) and our own signals. */
static int run_daemon_wait(sd_bus *bus, struct run_daemon_job *d, pid_t pid, int pidfd, int signal_fd, int *ret_status) {
        for (;;) {
                int r;
                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                if (r < 0) {
                        log_warning_errno(r, "lost the connection to memguardd; the job stays guarded by it: %m");
                        bus = NULL;
                        d->lost = true;
                }
                struct pollfd p[3] = {
                        { .fd = pidfd, .events = POLLIN },
                        { .fd = signal_fd, .events = POLLIN },
                        { .fd = bus ? sd_bus_get_fd(bus) : -1, .events = bus ? (short) sd_bus_get_events(bus) : 0 },
                };
                int timeout = -1;
                uint64_t until;
                if (bus && sd_bus_get_timeout(bus, &until) >= 0 && until != UINT64_MAX) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        uint64_t now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
                        timeout = until > now ? (int) MIN((until - now + 999) / 1000, (uint64_t) INT32_MAX) : 0;
                }
                if (poll(p, 3, timeout) < 0 && errno != EINTR)
                        return -errno;
                struct run_signal sig;
                while ((p[1].revents & POLLIN) && run_signals_next(signal_fd, &sig)) {
                        if (sig.from_terminal) {
                                log_info("interrupted (SIG%s from the terminal); waiting for the job to exit",
                                         sigabbrev_np(sig.signo));
                                continue;
                        }
                        log_info("received SIG%s; passing it on to the job", sigabbrev_np(sig.signo));
                        if (sig.signo == SIGINT)
                                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGINT, NULL, 0);
                        else if (bus)
                                (void) run_daemon_kill(bus, d->id, false);
                        else
                                (void) syscall(SYS_pidfd_send_signal, pidfd, sig.signo, NULL, 0);
                }
                if (p[0].revents & POLLIN) {
                        int st;
                        while (waitpid(pid, &st, 0) < 0)
                                if (errno != EINTR)
                                        return -errno;
                        *ret_status = st;
                        return 0;
                }
        }
}

/* The CSV report and the timeline: asked of the daemon (it kept the samples), written here. */
static int run_daemon_extra_reports(sd_bus *bus, const struct run_args *a, uint64_t id) {
        const struct {
                const char *path, *format, *what;
        } extra[] = {
                { a->csv_file, "csv", "CSV report" },
                { a->timeline_file, "timeline", "timeline" },
        };
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                if (!extra[i].path)
                        continue;
                sd_bus_message *rep = NULL;
                sd_bus_error err = SD_BUS_ERROR_NULL;
                const char *body;
                int q = connect_call(bus, "GetReport", &err, &rep, "ts", id, extra[i].format);
                if (q >= 0)
                        q = sd_bus_message_read(rep, "s", &body);
                if (q < 0) {
                        log_error("no %s from memguardd: %s", extra[i].what, err.message ? err.message : strerror(-q));
                        r = -EIO;
                } else if (run_report_write_text(extra[i].path, extra[i].what, body) < 0)
                        r = -EIO;
                sd_bus_error_free(&err);
                sd_bus_message_unref(rep);
        }
        return r;
}

static bool run_daemon_gone(int r) {
        return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ECONNREFUSED || r == -ENOENT;
}

/* A new connection to the restarted memguardd, or NULL once RUN_RECONNECT_USEC has passed. */
static sd_bus *run_daemon_reconnect(const struct run_args *a) {
        log_info("waiting for memguardd to come back for the job's report");
        for (uint64_t waited = 0; waited < RUN_RECONNECT_USEC; waited += RUN_RECONNECT_PAUSE_USEC) {
                sd_bus *bus = NULL;
                if (connect_daemon(&a->connect, &bus, NULL) >= 0)
                        return bus;
                usleep(RUN_RECONNECT_PAUSE_USEC);
        }
        return NULL;
}

static int run_daemon_finish_call(sd_bus *bus, uint64_t id, int status, uint64_t timeout, sd_bus_error *err,
                                  sd_bus_message **reply) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, CONNECT_NAME, CONNECT_PATH, CONNECT_INTERFACE, "FinishJob");
        if (r >= 0)
                r = sd_bus_message_append(m, "ti", id, (int32_t) status);
        if (r >= 0)
                r = sd_bus_call(bus, m, timeout, err, reply);
        sd_bus_message_unref(m);
        return r;
}

/* FinishJob: the daemon answers once nothing of the job is left, with its verdict and the report,
 * which go to the user as the engine's own would. When the connection broke (lost), the restarted
 * daemon is asked. Returns the exit code. */
static int run_daemon_finish(sd_bus *bus, const struct run_args *a, uint64_t id, int status, bool lost) {
        sd_bus_message *reply = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        uint64_t grace = a->limits.grace_usec ? a->limits.grace_usec : POLICY_DEFAULT_GRACE_USEC;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *fresh = NULL;
        int r = lost ? -ECONNRESET : run_daemon_finish_call(bus, id, status, grace + RUN_FINISH_SLACK_USEC, &err, &reply);
        if (r < 0 && run_daemon_gone(r) && (fresh = run_daemon_reconnect(a))) {
                bus = fresh;
                sd_bus_error_free(&err);
                r = run_daemon_finish_call(bus, id, status, grace + RUN_FINISH_SLACK_USEC, &err, &reply);
        }
        int code;
        const char *text = NULL, *json = NULL;
        if (r >= 0)
                r = sd_bus_message_read(reply, "iss", &code, &text, &json);
        if (r < 0) {
                /* Without the daemon's verdict the job's own status is all there is. */
                log_error("no report from memguardd: %s", err.message ? err.message : strerror(-r));
                struct policy_state none = {};
                code = policy_exit_code(&none, status, a->limit_exit_code, false);
        } else {
                if (!a->quiet)
                        fputs(text, stderr);
                if (a->json && run_report_write_text(a->json_file ? a->json_file : "-", "JSON report", json) < 0 &&
                    code == 0)
                        code = POLICY_EXIT_FAILURE;
                if (run_daemon_extra_reports(bus, a, id) < 0 && code == 0)
                        code = POLICY_EXIT_FAILURE;
        }
        if (a->log_file)
                log_info("job ended (memguardd job %" PRIu64 "); exit code %d", id, code);
        sd_bus_error_free(&err);
        sd_bus_message_unref(reply);
        return code;
}

/* Forks the job, held before exec until go_fd says so. *ret_go and *ret_err: the parent's ends. */
static pid_t run_daemon_fork(const struct run_args *a, int *ret_go, int *ret_err) {
        _cleanup_free_ char **env = NULL;
        if (spawn_environ(&env) < 0)
                return -ENOMEM;
        int go[2], errp[2];
        if (pipe2(go, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(errp, O_CLOEXEC) < 0) {
                int r = -errno;
                safe_close(go[0]);
                safe_close(go[1]);
                return r;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                safe_close(go[1]);
                safe_close(errp[0]);
                run_daemon_child(a, env, go[0], errp[1]);
        }
        int r = -errno;
        safe_close(go[0]);
        safe_close(errp[1]);
        if (pid < 0) {
                safe_close(go[1]);
                safe_close(errp[0]);
                return r;
        }
        *ret_go = go[1];
        *ret_err = errp[0];
        return pid;
}

int run_daemon(sd_bus *bus, const struct run_args *a, int signal_fd) {
        _cleanup_close_ int gofd = -1, errfd = -1;
        pid_t pid = run_daemon_fork(a, &gofd, &errfd);
        if (pid < 0)
                return log_error_errno(pid, "cannot start the job: %m"), POLICY_EXIT_FAILURE;
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        struct run_daemon_job d = {};
        int r = pidfd < 0 ? -errno : run_daemon_register(bus, a, pidfd, &d.id);
        if (r < 0) {
                if (pidfd < 0)
                        log_error_errno(r, "cannot open a pidfd for the job: %m");
                gofd = safe_close(gofd);  /* the child exits without running anything */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return POLICY_EXIT_FAILURE;
        }
        static const char *const members[] = { "JobWarning", "JobThresholdCrossed", "JobKilled" };
        for (size_t i = 0; i < ELEMENTSOF(members); i++)
                (void) sd_bus_match_signal(bus, NULL, NULL, CONNECT_PATH, CONNECT_INTERFACE, members[i],
                                           run_daemon_signal, &d);
        /* On the system bus the daemon addresses these to subscribers only (they carry the job's
         * numbers); on the socket it needs no asking. Without them the job is still guarded. */
        _cleanup_(sd_bus_error_free) sd_bus_error serr = SD_BUS_ERROR_NULL;
        if (connect_call(bus, "Subscribe", &serr, NULL, NULL) < 0)
                log_debug("cannot subscribe to the job's warnings: %s", serr.message ? serr.message : "no reason");
        log_debug("job %" PRIu64 " registered with memguardd", d.id);

        (void) !write(gofd, "g", 1);
        gofd = safe_close(gofd);
        int exec_error = 0;
        ssize_t n;
        do
                n = read(errfd, &exec_error, sizeof(exec_error));
        while (n < 0 && errno == EINTR);

        int status = -1;
        r = run_daemon_wait(bus, &d, pid, pidfd, signal_fd, &status);
        if (r < 0)
                return log_error_errno(r, "cannot wait for the job: %m"), POLICY_EXIT_FAILURE;
        bool exec_failed = n == (ssize_t) sizeof(exec_error);
        if (exec_failed && exec_error == ENOENT)
                log_error("%s: command not found", a->command[0]);
        else if (exec_failed)
                log_error_errno(exec_error, "%s: cannot run: %m", a->command[0]);

        int code = run_daemon_finish(bus, a, d.id, status, d.lost);
        if (exec_failed && code != POLICY_EXIT_LIMIT)
                return exec_error == ENOENT ? 127 : 126;
        return code;
}
