/* SPDX-License-Identifier: MIT */
/* The one interface, org.memguard.Manager1 at /org/memguard/Manager1 (each job an org.memguard.Job1
 * object below it), served on the system bus when there is one and, as a peer-to-peer D-Bus server, on
 * the control socket (which also answers org.freedesktop.DBus.Hello, so busctl --address works). Every
 * method checks the caller's uid: a user sees the details of and controls only their own jobs; root
 * controls all. The interface is versioned in its name: a changed method gets a new name. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bus-names.h"

struct bus;
struct sd_bus;
struct manager;


/* Listens on the socket (or takes it from socket activation), connects to the system bus when one
 * answers, and sends the interface's signals about jobs. Only a socket that cannot be set up is an
 * error (logged). */
int bus_new(struct manager *m, struct bus **ret);
/* The same without a transport: for a caller that attaches connections itself (bus_add_objects). */
int bus_new_unconnected(struct manager *m, struct bus **ret);
/* After manager_free(): pending FinishJob calls were answered when their jobs were freed. */
struct bus *bus_free(struct bus *b);
static inline void bus_freep(struct bus **b) {
        bus_free(*b);
}

/* Puts the interface's objects on a connection (the transport calls it for each). */
int bus_add_objects(struct bus *b, struct sd_bus *sd, bool system);
