/* SPDX-License-Identifier: MIT */
/* The kernel's notifications to memguardd: cgroup.events, memory.events and a PSI trigger, in one
 * epoll set watched by the loop. A notified job is sampled at once, every process included. */
#pragma once

struct manager;
struct mjob;

/* The epoll set (m->epoll_fd) and the host-wide PSI trigger; failures leave sampling alone at work. */
int kevents_setup(struct manager *m);
void kevents_start(struct manager *m);
void kevents_done(struct manager *m);

/* A job's own notifications; unwatch when it ends or goes. */
void kevents_watch_job(struct manager *m, struct mjob *j);
void kevents_unwatch_job(struct mjob *j);
