/* SPDX-License-Identifier: MIT */
/* Profile hooks (pre-kill-hook, post-kill-hook): a command line run with /bin/sh -c, in its own
 * session, with the job described in the environment:
 *   MEMGUARD_HOOK (pre-kill|post-kill), MEMGUARD_JOB, MEMGUARD_USER, MEMGUARD_UID, MEMGUARD_PROFILE,
 *   MEMGUARD_CGROUP, MEMGUARD_COMMAND, MEMGUARD_PID, MEMGUARD_REASON, MEMGUARD_CURRENT_BYTES,
 *   MEMGUARD_LIMIT_BYTES, MEMGUARD_PEAK_BYTES.
 * A hook never delays the ladder (a job over its limit is not held for a script); it is killed with
 * its whole session when hook-timeout runs out. */
#pragma once

#include <stdint.h>

struct manager;

/* Runs the profile's pre-kill hook when a job crosses its threshold and its post-kill hook when a job
 * memguard stopped has ended. */
int hooks_listen(struct manager *m);
