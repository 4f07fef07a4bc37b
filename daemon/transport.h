/* SPDX-License-Identifier: MIT */
/* How an interface reaches its callers: the control socket (a peer-to-peer D-Bus server per accepted
 * connection) and the system bus when there is one, each connection run on the libev loop. What is
 * served on a connection is the caller's: on_connection puts it there. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

struct transport;

/* Called for every new connection before it is served; < 0 drops the connection. */
typedef int (*transport_connection_cb)(sd_bus *sd, bool system, void *userdata);

struct transport_options {
        struct ev_loop *loop;
        const char *socket_path;
        const char *bus_name;           /* the name taken on the system bus */
        transport_connection_cb on_connection;
        void *userdata;
};

/* Listen on the socket (or take it from socket activation) and join the system bus if there is one.
 * Only a socket that cannot be set up is an error (logged). */
int transport_new(const struct transport_options *o, struct transport **ret);
struct transport *transport_free(struct transport *t);
static inline void transport_freep(struct transport **t) {
        transport_free(*t);
}

/* Every live connection, for signals: system says it is the system bus (where every listener hears a
 * broadcast), uid is the control socket peer's (SO_PEERCRED), 0 for the system bus. */
void transport_foreach(struct transport *t, void (*fn)(sd_bus *sd, bool system, uid_t uid, void *userdata),
                       void *userdata);
