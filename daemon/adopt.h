/* SPDX-License-Identifier: MIT */
/* Jobs memguardd did not start: [watch] matches and its own jobs from before a restart. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "manager.h"
#include "policy.h"

/* Supervise the existing cgroup at cgroup (owned: ours, to remove when it ends; saved: limits from a
 * record, else the profile's; id 0: a new job). -errno, logged. */
int adopt_cgroup(struct manager *m, const char *cgroup, const char *unified, const char *profile, const char *watch,
                 enum mjob_source source, bool owned, const struct policy_limits *saved, uint64_t id, uid_t uid,
                 const char *command, uint64_t start_usec, uint64_t peak);

/* Rescan the cgroup tree for [watch] matches. Returns how many jobs were added. */
int adopt_scan_watches(struct manager *m);

/* Take up the jobs recorded before a restart: the state directory, then the records on our own job
 * groups (which survive a wiped state directory). */
void adopt_records(struct manager *m);
