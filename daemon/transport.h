/* SPDX-License-Identifier: MIT */
/* The interface's transports: the control socket and the system bus, run on the libev loop. The
 * connection state is shared with bus.c, which serves the interface on every connection. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "wire.h"

struct manager;

struct bus_conn {
        struct bus *bus;
        sd_bus *sd;
        uid_t uid;                      /* the peer's, for the per-user cap; 0 for the system bus */
        ev_io io;
        ev_timer timer;
        ev_prepare prepare;
        bool system;
        /* The control socket's stream as checked before sd-bus reads it (not for the system bus, whose
         * daemon enforces its own limits). */
        struct wire wire;
        bool checked;                   /* SO_PEEK_OFF works: the stream is checked */
        bool held;                      /* a message header is incomplete: sd-bus must not read yet */
        uint64_t held_since;
        ev_timer hold_timer;
        struct bus_conn *next;
};

struct bus {
        struct manager *m;
        int listen_fd;
        ev_timer accept_pause;          /* out of descriptors: accept again a little later */
        bool socket_created;
        bool activated;                 /* the socket came from the service manager */
        ev_io listen_io;
        ev_timer reconnect;
        sd_id128_t server_id;
        uint64_t next_peer;
        struct bus_conn *conns;
};


/* Listen on the socket (or take it from socket activation) and join the system bus if there is one.
 * Only a socket that cannot be set up is an error. */
int transport_start(struct bus *b);
void transport_stop(struct bus *b);

/* Serve the interface on a started connection; and drop one (a lost system bus is retried later). */
int transport_attach(struct bus *b, sd_bus *sd, bool system);
void transport_conn_free(struct bus_conn *c);
