/* SPDX-License-Identifier: MIT */
/* The one interface, org.memguard.Manager1 at /org/memguard/Manager1 (each job an org.memguard.Job1
 * object below it), served on the system bus when there is one and, as a peer-to-peer D-Bus server, on
 * the control socket (which also answers org.freedesktop.DBus.Hello, so busctl --address works). Every
 * method checks the caller's uid: a user sees the details of and controls only their own jobs; root
 * controls all. The interface is versioned in its name: a changed method gets a new name. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct bus;
struct sd_bus;
struct manager;
struct mjob;

#define BUS_NAME "org.memguard.Manager1"
#define BUS_PATH "/org/memguard/Manager1"
#define BUS_INTERFACE "org.memguard.Manager1"
#define BUS_JOB_INTERFACE "org.memguard.Job1"
#define BUS_JOB_PREFIX "/org/memguard/Manager1/job"

/* Listens on the socket (or takes it from socket activation) and connects to the system bus when
 * one answers. Only a socket that cannot be set up is an error. */
int bus_new(struct manager *m, struct bus **ret);
struct bus *bus_free(struct bus *b);

/* Puts the interface's objects on a connection (the transports call it for each). */
int bus_add_objects(struct bus *b, struct sd_bus *sd, bool system);

void bus_job_started(struct bus *b, const struct mjob *j);
void bus_job_warning(struct bus *b, const struct mjob *j, uint64_t current_bytes);
void bus_job_threshold(struct bus *b, const struct mjob *j, uint64_t current_bytes, const char *reason);
void bus_job_killed(struct bus *b, const struct mjob *j, const char *reason);
void bus_job_ended(struct bus *b, const struct mjob *j);

/* Answer the job's pending FinishJob call now that it has ended, or drop it (daemon stopping). */
void bus_finish_reply(struct mjob *j);
void bus_finish_abandon(struct mjob *j);
