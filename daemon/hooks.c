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

#include "guard.h"
#include "hooks.h"
#include "job.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "spawn.h"

struct hook {
        ev_child child;
        ev_timer timeout;
        pid_t pid;
        uint64_t job_id;
        char which[16];
};

static void hook_free(struct ev_loop *loop, struct hook *h) {
        ev_child_stop(loop, &h->child);
        ev_timer_stop(loop, &h->timeout);
        free(h);
}

static void hook_child_cb(struct ev_loop *loop, ev_child *w, int revents) {
        struct hook *h = w->data;
        int st = w->rstatus;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                log_debug("job %" PRIu64 ": %s hook finished", h->job_id, h->which);
        else if (WIFEXITED(st))
                log_warning("job %" PRIu64 ": %s hook exited with status %d", h->job_id, h->which, WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
                log_warning("job %" PRIu64 ": %s hook killed by signal %d", h->job_id, h->which, WTERMSIG(st));
        hook_free(loop, h);
}

static void hook_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct hook *h = w->data;
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

int hooks_run(struct mjob *j, const char *which, const char *command, uint64_t timeout_usec,
              const char *reason, uint64_t current_bytes, uint64_t limit_bytes) {
        if (!command || !*command)
                return 0;
        struct ev_loop *loop = j->manager->loop;
        struct hook *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->job_id = j->id;
        snprintf(h->which, sizeof(h->which), "%s", which);

        const struct guard *g = j->guard;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                free(h);
                return log_error_errno(r, "job %" PRIu64 ": cannot run the %s hook: %m", j->id, which);
        }
        if (pid == 0) {
                spawn_reset_child();
                setsid();
                hooks_setenv("MEMGUARD_HOOK", "%s", which);
                hooks_setenv("MEMGUARD_JOB", "%" PRIu64, j->id);
                hooks_setenv("MEMGUARD_USER", "%s", j->user);
                hooks_setenv("MEMGUARD_UID", "%u", (unsigned) j->uid);
                hooks_setenv("MEMGUARD_PROFILE", "%s", j->profile ? j->profile : "");
                hooks_setenv("MEMGUARD_CGROUP", "%s", j->cgroup ? j->cgroup : "");
                hooks_setenv("MEMGUARD_COMMAND", "%s", j->command ? j->command : "");
                hooks_setenv("MEMGUARD_PID", "%d", g && g->job ? (int) g->job->pid : 0);
                hooks_setenv("MEMGUARD_REASON", "%s", reason ? reason : "");
                hooks_setenv("MEMGUARD_CURRENT_BYTES", "%" PRIu64, current_bytes);
                hooks_setenv("MEMGUARD_LIMIT_BYTES", "%" PRIu64, limit_bytes);
                hooks_setenv("MEMGUARD_PEAK_BYTES", "%" PRIu64,
                             g && g->job ? job_peak_working_set(g->job) : 0);
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                _exit(127);
        }
        h->pid = pid;
        ev_child_init(&h->child, hook_child_cb, pid, 0);
        h->child.data = h;
        ev_child_start(loop, &h->child);
        ev_timer_init(&h->timeout, hook_timeout_cb, (double) timeout_usec / 1e6, 0.);
        h->timeout.data = h;
        ev_timer_start(loop, &h->timeout);
        log_debug("job %" PRIu64 ": %s hook started (pid %d)", j->id, which, (int) pid);
        return 0;
}
