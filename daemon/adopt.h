/* SPDX-License-Identifier: MIT */
/* Jobs memguardd did not start: [watch] matches and its own jobs from before a restart. */
#pragma once

struct manager;


struct adopt;

/* Rescans the cgroup tree for [watch] matches every few seconds and after every reload. */
int adopt_new(struct manager *m, struct adopt **ret);
struct adopt *adopt_free(struct adopt *a);
static inline void adopt_freep(struct adopt **a) {
        adopt_free(*a);
}

/* Rescan the cgroup tree for [watch] matches. Returns how many jobs were added. */
int adopt_scan_watches(struct manager *m);

/* Take up the jobs recorded before a restart: the state directory, then the records on our own job
 * groups (which survive a wiped state directory). */
void adopt_records(struct manager *m);
