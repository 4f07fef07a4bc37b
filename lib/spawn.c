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

/* Whether entry ("NAME=value") sets a variable that one of extra's sets too. */
static bool spawn_is_replaced(const char *entry, char *const *extra) {
        size_t n = strcspn(entry, "=");
        for (char *const *x = extra; x && *x; x++)
                if (strncmp(entry, *x, n) == 0 && (*x)[n] == '=')
                        return true;
        return false;
}

int spawn_environ_with(char *const *extra, char ***ret) {
        size_t n = 0;
        for (char **e = environ; e && *e; e++)
                n++;
        for (char *const *x = extra; x && *x; x++)
                n++;
        char **env = calloc(n + 1, sizeof(char *));
        if (!env)
                return -ENOMEM;
        size_t k = 0;
        for (char **e = environ; e && *e; e++)
                if (!spawn_is_private(*e) && !spawn_is_replaced(*e, extra))
                        env[k++] = *e;
        for (char *const *x = extra; x && *x; x++)
                env[k++] = *x;
        *ret = env;
        return 0;
}

int spawn_environ(char ***ret) {
        return spawn_environ_with(NULL, ret);
}

void spawn_reset_signals(void) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
}
