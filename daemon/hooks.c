/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
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

/* The variables a hook gets (hooks.h), "NAME=value" each, NULL-terminated. */
struct hooks_env {
        char *vars[16];
        size_t n;
        int error;                      /* the first add that failed: a hook must get them all */
};

static void hooks_env_done(struct hooks_env *e) {
        for (size_t i = 0; i < e->n; i++)
                free(e->vars[i]);
}

static void hooks_env_add(struct hooks_env *e, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void hooks_env_add(struct hooks_env *e, const char *name, const char *fmt, ...) {
        /* Each value at most 4 KiB: one string over 128 KiB (a long command) would make execve fail. */
        char v[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        if (e->error < 0)
                return;
        if (e->n + 1 >= ELEMENTSOF(e->vars))
                e->error = -E2BIG;
        else if (asprintf(&e->vars[e->n], "%s=%s", name, v) < 0)
                e->error = -ENOMEM;
        else
                e->n++;
}

static int hooks_env_fill(struct hooks_env *e, const struct mjob *j, const char *which, uint64_t current_bytes,
                          uint64_t limit_bytes) {
        hooks_env_add(e, "MEMGUARD_HOOK", "%s", which);
        hooks_env_add(e, "MEMGUARD_JOB", "%" PRIu64, mjob_id(j));
        hooks_env_add(e, "MEMGUARD_USER", "%s", mjob_user(j));
        hooks_env_add(e, "MEMGUARD_UID", "%u", (unsigned) mjob_uid(j));
        hooks_env_add(e, "MEMGUARD_PROFILE", "%s", mjob_profile(j) ? mjob_profile(j) : "");
        hooks_env_add(e, "MEMGUARD_CGROUP", "%s", mjob_cgroup(j) ? mjob_cgroup(j) : "");
        hooks_env_add(e, "MEMGUARD_COMMAND", "%s", mjob_command(j) ? mjob_command(j) : "");
        hooks_env_add(e, "MEMGUARD_PID", "%d", (int) mjob_pid(j));
        hooks_env_add(e, "MEMGUARD_REASON", "%s", policy_reason_to_string(mjob_reason(j)));
        hooks_env_add(e, "MEMGUARD_CURRENT_BYTES", "%" PRIu64, current_bytes);
        hooks_env_add(e, "MEMGUARD_LIMIT_BYTES", "%" PRIu64, limit_bytes);
        hooks_env_add(e, "MEMGUARD_PEAK_BYTES", "%" PRIu64, mjob_peak_bytes(j));
        /* A hook without its variables would act on the wrong job, or on none. */
        return e->error;
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

        /* Everything the child needs is built here: between fork and exec only async-signal-safe
         * calls are allowed, and setenv is not one. */
        _cleanup_(hooks_env_done) struct hooks_env vars = {};
        _cleanup_free_ char **env = NULL;
        int r = hooks_env_fill(&vars, j, which, current_bytes, limit_bytes);
        if (r >= 0)
                r = spawn_environ_with(vars.vars, &env);
        if (r < 0)
                return log_error_errno(r, "job %" PRIu64 ": cannot run the %s hook: %m", mjob_id(j), which);
        char *const argv[] = { "sh", "-c", (char *) command, NULL };

        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "job %" PRIu64 ": cannot run the %s hook: %m", mjob_id(j), which);
        if (pid == 0) {
                spawn_reset_signals();
                setsid();
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                execve("/bin/sh", argv, env);
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
