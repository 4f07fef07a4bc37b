/* SPDX-License-Identifier: MIT */
/* What every process memguard starts (a job, a hook) must not inherit from it. */
#pragma once

/* In a freshly forked child, before exec: an empty signal mask, default dispositions (memguard ignores
 * SIGPIPE; libev may block signals), and no service-manager channels in the environment
 * (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*), which belong to memguard alone. */
void spawn_reset_child(void);
