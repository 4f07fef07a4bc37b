/* SPDX-License-Identifier: MIT */
/* The kernel's notifications to memguardd: cgroup.events, memory.events and a PSI trigger, in one
 * epoll set watched by the loop. A notified job is sampled at once, every process included. */
#pragma once

struct kevents;
struct manager;

/* The epoll set and the host-wide PSI trigger, and a listener that watches each job's files while it
 * runs. Only a failed allocation is an error: without an epoll set, sampling alone does the work. */
int kevents_new(struct manager *m, struct kevents **ret);
struct kevents *kevents_free(struct kevents *k);
static inline void kevents_freep(struct kevents **k) {
        kevents_free(*k);
}
