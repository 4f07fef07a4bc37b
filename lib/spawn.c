/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

static const char *const spawn_private[] = {
        "NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
};

static bool spawn_is_private(const char *entry) {
        for (size_t i = 0; i < ELEMENTSOF(spawn_private); i++) {
                size_t n = strlen(spawn_private[i]);
                if (strncmp(entry, spawn_private[i], n) == 0 && entry[n] == '=')
                        return true;
        }
        return false;
}

int spawn_environ(char ***ret) {
        size_t n = 0;
        for (char **e = environ; e && *e; e++)
                n++;
        char **env = calloc(n + 1, sizeof(char *));
        if (!env)
                return -ENOMEM;
        size_t k = 0;
        for (char **e = environ; e && *e; e++)
                if (!spawn_is_private(*e))
                        env[k++] = *e;
        *ret = env;
        return 0;
}

void spawn_reset_signals(void) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
}

void spawn_reset_child(void) {
        spawn_reset_signals();
        for (size_t i = 0; i < ELEMENTSOF(spawn_private); i++)
                unsetenv(spawn_private[i]);
}
