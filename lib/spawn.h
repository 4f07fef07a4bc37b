/* SPDX-License-Identifier: MIT */
/* What every process memguard starts (a job, a hook) must not inherit from it. */
#pragma once

/* The environment for a child: ours without the service-manager channels (NOTIFY_SOCKET, WATCHDOG_*,
 * LISTEN_*), which belong to memguard alone. Built before fork, since between fork and exec only
 * async-signal-safe calls are allowed and setenv/unsetenv are not. The strings are environ's own,
 * only the array is new: free(*ret) once the child has been forked, and change no variable before
 * that. 0 or -ENOMEM. */
int spawn_environ(char ***ret);
/* The same with the "NAME=value" strings of extra (NULL-terminated) added, each replacing a variable
 * of its name. extra's strings stay the caller's. */
int spawn_environ_with(char *const *extra, char ***ret);

/* In a freshly forked child, before exec: an empty signal mask and default dispositions (memguard
 * ignores SIGPIPE; libev may block signals). Async-signal-safe. */
void spawn_reset_signals(void);
