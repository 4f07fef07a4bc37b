/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "hooks.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "mjob.h"
#include "spawn.h"

struct hooks_child {
        ev_child child;
        ev_timer timeout;
        pid_t pid;
        uint64_t job_id;
        char which[16];
};

static void hooks_child_free(struct ev_loop *loop, struct hooks_child *h) {
        ev_child_stop(loop, &h->child);
        ev_timer_stop(loop, &h->timeout);
        free(h);
}

static void hooks_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct hooks_child *h = w->data;
        int st = w->rstatus;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                log_debug("job %" PRIu64 ": %s hook finished", h->job_id, h->which);
        else if (WIFEXITED(st))
                log_warning("job %" PRIu64 ": %s hook exited with status %d", h->job_id, h->which, WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
                log_warning("job %" PRIu64 ": %s hook killed by signal %d", h->job_id, h->which, WTERMSIG(st));
        hooks_child_free(loop, h);
}

static void hooks_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct hooks_child *h = w->data;
        log_warning("job %" PRIu64 ": %s hook timed out; killing it", h->job_id, h->which);
        /* Its own session: the whole hook, children included, goes. */
        kill(-h->pid, SIGKILL);
}

static void hooks_setenv(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hooks_setenv(const char *name, const char *fmt, ...) {
        char v[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        setenv(name, v, 1);
}

/* limit_bytes: the ceiling that was crossed (the per-process one for a process-limit stop). */
static int hooks_run(struct ev_loop *loop, const struct mjob *j, const char *which, const char *command,
                     uint64_t timeout_usec, uint64_t current_bytes, uint64_t limit_bytes) {
        if (!command || !*command)
                return 0;
        _cleanup_free_ struct hooks_child *h = calloc(1, sizeof(*h));
        if (!h)
                return log_oom();
        h->job_id = mjob_id(j);
        snprintf(h->which, sizeof(h->which), "%s", which);

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "job %" PRIu64 ": cannot run the %s hook: %m", mjob_id(j), which);
        if (pid == 0) {
                spawn_reset_child();
                setsid();
                hooks_setenv("MEMGUARD_HOOK", "%s", which);
                hooks_setenv("MEMGUARD_JOB", "%" PRIu64, mjob_id(j));
                hooks_setenv("MEMGUARD_USER", "%s", mjob_user(j));
                hooks_setenv("MEMGUARD_UID", "%u", (unsigned) mjob_uid(j));
                hooks_setenv("MEMGUARD_PROFILE", "%s", mjob_profile(j) ? mjob_profile(j) : "");
                hooks_setenv("MEMGUARD_CGROUP", "%s", mjob_cgroup(j) ? mjob_cgroup(j) : "");
                hooks_setenv("MEMGUARD_COMMAND", "%s", mjob_command(j) ? mjob_command(j) : "");
                hooks_setenv("MEMGUARD_PID", "%d", (int) mjob_pid(j));
                hooks_setenv("MEMGUARD_REASON", "%s", policy_reason_to_string(mjob_reason(j)));
                hooks_setenv("MEMGUARD_CURRENT_BYTES", "%" PRIu64, current_bytes);
                hooks_setenv("MEMGUARD_LIMIT_BYTES", "%" PRIu64, limit_bytes);
                hooks_setenv("MEMGUARD_PEAK_BYTES", "%" PRIu64, mjob_peak_bytes(j));
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                _exit(127);
        }
        h->pid = pid;
        ev_child_init(&h->child, hooks_child_cb, pid, 0);
        h->child.data = h;
        ev_child_start(loop, &h->child);
        ev_timer_init(&h->timeout, hooks_timeout_cb, (double) timeout_usec / 1e6, 0.);
        h->timeout.data = h;
        ev_timer_start(loop, &h->timeout);
        log_debug("job %" PRIu64 ": %s hook started (pid %d)", mjob_id(j), which, (int) pid);
        TAKE_PTR(h);  /* the child watcher frees it */
        return 0;
}

static void hooks_job_event(struct manager *m, struct mjob *j, const struct mjob_event *ev, void *userdata) {
        const struct conf_profile *p = manager_profile(m, mjob_profile(j));
        enum policy_reason reason = mjob_reason(j);
        if (!p)
                return;
        if (ev->type == MJOB_EVENT_THRESHOLD)
                (void) hooks_run(m->loop, j, "pre-kill", p->pre_kill_hook, p->hook_timeout_usec, ev->current_bytes,
                                 ev->limit_bytes);
        else if (ev->type == MJOB_EVENT_ENDED && reason != POLICY_REASON_NONE)
                (void) hooks_run(m->loop, j, "post-kill", p->post_kill_hook, p->hook_timeout_usec, ev->current_bytes,
                                 reason == POLICY_REASON_PROCESS ? mjob_limits(j)->max_process_bytes
                                                                 : mjob_limits(j)->max_bytes);
}

int hooks_listen(struct manager *m) {
        return manager_add_listener(m, &(struct manager_listener) { .job_event = hooks_job_event });
}
