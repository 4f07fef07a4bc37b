/* SPDX-License-Identifier: MIT */
/* How the client reaches memguardd: the control socket (a peer-to-peer D-Bus connection), or the
 * system bus. Both speak org.memguard.Manager1. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define CONNECT_SOCKET_DEFAULT "/run/memguard/memguardd.sock"
#define CONNECT_NAME "org.memguard.Manager1"
#define CONNECT_PATH "/org/memguard/Manager1"
#define CONNECT_INTERFACE "org.memguard.Manager1"

struct connect_options {
        const char *socket_path;  /* --socket PATH: only this socket */
        bool system;              /* --system: only the system bus */
};

/* Parse --socket PATH / --socket=PATH / --system out of argv (removing them), for every verb. Returns
 * 0, or -EINVAL after logging a usage error. */
int connect_parse_args(int *argc, char **argv, struct connect_options *o);

/* How long a client waits for memguardd to take its connection on the socket. A daemon answers in
 * milliseconds (socket activation included); one that is stopped or hung must not hold a job or a
 * terminal for sd-bus's 25 s per call. */
#define CONNECT_TIMEOUT_USEC (5 * USEC_PER_SEC)

/* memguardd's cap on one user's connections to the socket (TRANSPORT_CONNECTIONS_PER_USER): past it
 * the daemon closes a new connection at once, and the client says why. */
#define CONNECT_PER_USER_MAX 32

/* Connects as o says; by default the socket, then the system bus if the daemon is there.
 * -ENOENT/-ECONNREFUSED/-EHOSTUNREACH when no daemon answers, -ETIMEDOUT when a daemon listens on the
 * socket but does not answer within CONNECT_TIMEOUT_USEC, -ECONNRESET/-ENOTCONN/-EPIPE when it closed
 * the connection at once (its per-user cap); in those cases the bus is not tried. *reterr says what
 * was tried, for people. */
int connect_daemon(const struct connect_options *o, sd_bus **ret, char **reterr);

/* Calls a Manager1 method; on error *err is set (the daemon's message) and -errno returned. */
int connect_call(sd_bus *bus, const char *method, sd_bus_error *err, sd_bus_message **reply, const char *types,
                 ...);
int connect_callv(sd_bus *bus, const char *method, sd_bus_error *err, sd_bus_message **reply, const char *types,
                  va_list ap);
