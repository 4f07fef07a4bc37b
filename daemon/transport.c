/* SPDX-License-Identifier: MIT */
/* How the interface reaches its callers: the control socket (a peer-to-peer D-Bus server per accepted
 * connection), the system bus when there is one, and the glue that runs every sd-bus connection on the
 * libev loop (sd-bus has no libev adapter: an ev_io on its fd, an ev_timer for its absolute timeout,
 * and an ev_prepare that re-arms both before every poll). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "transport.h"

/* One user may hold this many connections to the socket: a user opening connections in a loop must not
 * use up the daemon's descriptors and lock root (and everyone else) out. */
#define TRANSPORT_CONNECTIONS_PER_USER 32
/* When accept() fails for want of descriptors, wait this long rather than spin on a readable socket. */
#define TRANSPORT_ACCEPT_PAUSE_USEC (100 * USEC_PER_MSEC)
/* A lost system bus (dbus-daemon restarted) is tried again this often; the socket keeps serving. */
#define TRANSPORT_RECONNECT_USEC (5 * USEC_PER_SEC)

struct transport_conn {
        struct transport *transport;
        sd_bus *sd;
        uid_t uid;                      /* the peer's, for the per-user cap; 0 for the system bus */
        ev_io io;
        ev_timer timer;
        ev_prepare prepare;
        bool system;
        struct transport_conn *next;
};

struct transport {
        struct ev_loop *loop;
        char *socket_path;
        char *bus_name;
        transport_connection_cb on_connection;
        void *userdata;
        int listen_fd;
        ev_timer accept_pause;          /* out of descriptors: accept again a little later */
        bool socket_created;
        bool activated;                 /* the socket came from the service manager */
        ev_io listen_io;
        ev_timer reconnect;
        sd_id128_t server_id;
        uint64_t next_peer;             /* Hello's unique names on the socket */
        struct transport_conn *conns;
};

/* --- org.freedesktop.DBus on the socket, for busctl --address ------------------------------------- */

static int transport_method_hello(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct transport *t = userdata;
        char name[32];
        snprintf(name, sizeof(name), ":1.%" PRIu64, ++t->next_peer);
        return sd_bus_reply_method_return(msg, "s", name);
}

/* A peer connection gets every signal anyway: match rules are accepted and need no bookkeeping. */
static int transport_method_match(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable transport_hello_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", "", "s", transport_method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("AddMatch", "s", "", transport_method_match, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RemoveMatch", "s", "", transport_method_match, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* --- libev glue --------------------------------------------------------------------------------- */

static void transport_conn_free(struct transport_conn *c) {
        if (!c)
                return;
        struct transport *t = c->transport;
        for (struct transport_conn **p = &t->conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        struct ev_loop *loop = t->loop;
        ev_io_stop(loop, &c->io);
        ev_timer_stop(loop, &c->timer);
        ev_prepare_stop(loop, &c->prepare);
        if (c->system)
                ev_timer_start(loop, &t->reconnect);
        sd_bus_flush_close_unref(c->sd);
        free(c);
}

static void transport_process(struct transport_conn *c) {
        int r;
        while ((r = sd_bus_process(c->sd, NULL)) > 0)
                ;
        if (r < 0) {
                log_debug_errno(r, "D-Bus connection closed: %m");
                transport_conn_free(c);
        }
}

static void transport_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        transport_process(w->data);
}

static void transport_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        transport_process(w->data);
}

/* Before every poll: wait for what sd-bus wants (output queued from a timer callback, too) and
 * until its next timeout, which is absolute CLOCK_MONOTONIC. */
static void transport_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
        struct transport_conn *c = w->data;
        int events = sd_bus_get_events(c->sd);
        if (events < 0)
                return;
        int want = (events & POLLIN ? EV_READ : 0) | (events & POLLOUT ? EV_WRITE : 0);
        if (want != (c->io.events & (EV_READ | EV_WRITE))) {
                ev_io_stop(loop, &c->io);
                ev_io_set(&c->io, c->io.fd, want);
                if (want)
                        ev_io_start(loop, &c->io);
        }
        uint64_t until;
        ev_timer_stop(loop, &c->timer);
        if (sd_bus_get_timeout(c->sd, &until) >= 0 && until != UINT64_MAX) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
                ev_timer_set(&c->timer, until > now ? (double) (until - now) / 1e6 : 0., 0.);
                ev_timer_start(loop, &c->timer);
        }
}

static int transport_attach(struct transport *t, sd_bus *sd, bool system) {
        _cleanup_free_ struct transport_conn *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->transport = t;
        c->sd = sd;
        c->system = system;
        int r = t->on_connection(sd, system, t->userdata);
        /* The socket has no bus daemon: answer what a client asks one first. */
        if (r >= 0 && !system)
                r = sd_bus_add_object_vtable(sd, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                             transport_hello_vtable, t);
        if (r < 0)
                return r;
        ev_io_init(&c->io, transport_io_cb, sd_bus_get_fd(sd), EV_READ);
        c->io.data = c;
        ev_io_start(t->loop, &c->io);
        ev_timer_init(&c->timer, transport_timer_cb, 0., 0.);
        c->timer.data = c;
        ev_prepare_init(&c->prepare, transport_prepare_cb);
        c->prepare.data = c;
        ev_prepare_start(t->loop, &c->prepare);
        c->next = t->conns;
        t->conns = TAKE_PTR(c);
        return 0;
}

/* --- transports ------------------------------------------------------------------------------------- */

static void transport_accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct transport *t = w->data;
        ev_io_start(loop, &t->listen_io);
}

static size_t transport_connections_of(const struct transport *t, uid_t uid) {
        size_t n = 0;
        for (const struct transport_conn *c = t->conns; c; c = c->next)
                n += !c->system && c->uid == uid;
        return n;
}

static void transport_accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct transport *t = w->data;
        int fd = accept4(t->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The socket stays readable: pause instead of spinning, and say so once. */
                        if (!ev_is_active(&t->accept_pause))
                                log_warning_errno(errno, "cannot accept on the control socket, pausing: %m");
                        ev_io_stop(loop, &t->listen_io);
                        ev_timer_set(&t->accept_pause, (double) TRANSPORT_ACCEPT_PAUSE_USEC / 1e6, 0.);
                        ev_timer_start(loop, &t->accept_pause);
                } else if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "cannot accept a connection on the control socket: %m");
                return;
        }
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            (cred.uid != 0 && transport_connections_of(t, cred.uid) >= TRANSPORT_CONNECTIONS_PER_USER)) {
                log_debug("refusing a connection from uid %u: it holds %d already", (unsigned) cred.uid,
                          TRANSPORT_CONNECTIONS_PER_USER);
                safe_close(fd);
                return;
        }
        sd_bus *sd = NULL;
        int r = sd_bus_new(&sd);
        if (r >= 0)
                r = sd_bus_set_fd(sd, fd, fd);
        if (r >= 0)
                r = sd_bus_set_server(sd, 1, t->server_id);
        if (r >= 0)
                r = sd_bus_negotiate_fds(sd, 1);
        if (r >= 0)
                r = sd_bus_set_description(sd, "control-socket-peer");
        if (r >= 0)
                r = sd_bus_start(sd);
        if (r >= 0)
                r = transport_attach(t, sd, false);
        if (r >= 0)
                t->conns->uid = cred.uid;
        if (r < 0) {
                log_warning_errno(r, "cannot serve a connection on the control socket: %m");
                if (sd)
                        sd_bus_flush_close_unref(sd);
                else
                        safe_close(fd);
        }
}

static int transport_listen(struct transport *t, const char *path) {
        /* Socket activation (memguardd.socket) hands it over ready. */
        int n = sd_listen_fds(1);
        if (n > 0) {
                t->listen_fd = SD_LISTEN_FDS_START;
                t->activated = true;
                (void) fcntl(t->listen_fd, F_SETFL, fcntl(t->listen_fd, F_GETFL) | O_NONBLOCK);
                return 0;
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "the socket path %s is too long", path);
        strcpy(sa.sun_path, path);

        _cleanup_free_ char *dir = strdup(path);
        if (dir)
                (void) mkdir(dirname(dir), 0755);

        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "cannot create the control socket: %m");
        /* A second daemon on the same socket would steal the first one's clients. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
                safe_close(probe);
                safe_close(fd);
                return log_error_errno(EADDRINUSE, "another memguardd already serves %s", path);
        }
        safe_close(probe);
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = log_error_errno(errno, "cannot bind the control socket %s: %m", path);
                safe_close(fd);
                return r;
        }
        /* Anyone may connect: every method decides from the caller's uid. */
        (void) chmod(path, 0666);
        if (listen(fd, SOMAXCONN) < 0) {
                int r = log_error_errno(errno, "cannot listen on %s: %m", path);
                safe_close(fd);
                return r;
        }
        t->listen_fd = fd;
        t->socket_created = true;
        return 0;
}

static int transport_connect_system(struct transport *t) {
        sd_bus *sd = NULL;
        int r = sd_bus_open_system_with_description(&sd, "memguardd");
        if (r >= 0)
                r = sd_bus_request_name(sd, t->bus_name, 0);
        if (r >= 0)
                r = transport_attach(t, sd, true);
        if (r < 0) {
                sd_bus_flush_close_unref(sd);
                return r;
        }
        log_info("serving %s on the system bus", t->bus_name);
        return 0;
}

static void transport_reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct transport *t = w->data;
        ev_timer_stop(loop, w);
        if (transport_connect_system(t) < 0)
                ev_timer_start(loop, w);
}


int transport_new(const struct transport_options *o, struct transport **ret) {
        _cleanup_(transport_freep) struct transport *t = calloc(1, sizeof(*t));
        if (!t)
                return log_oom();
        t->loop = o->loop;
        t->on_connection = o->on_connection;
        t->userdata = o->userdata;
        t->listen_fd = -1;
        t->socket_path = strdup(o->socket_path);
        t->bus_name = strdup(o->bus_name);
        if (!t->socket_path || !t->bus_name)
                return log_oom();
        (void) sd_id128_randomize(&t->server_id);
        ev_timer_init(&t->reconnect, transport_reconnect_cb, (double) TRANSPORT_RECONNECT_USEC / 1e6, 0.);
        t->reconnect.data = t;
        ev_timer_init(&t->accept_pause, transport_accept_pause_cb, 0., 0.);
        t->accept_pause.data = t;

        int r = transport_listen(t, t->socket_path);
        if (r < 0)
                return r;
        ev_io_init(&t->listen_io, transport_accept_cb, t->listen_fd, EV_READ);
        t->listen_io.data = t;
        ev_io_start(t->loop, &t->listen_io);
        if (t->activated)
                log_info("serving %s on the socket the service manager passed", t->bus_name);
        else
                log_info("serving %s on %s", t->bus_name, t->socket_path);

        /* No system bus is no failure: the socket serves the same interface. */
        r = transport_connect_system(t);
        if (r < 0)
                log_info("not on the system bus (%s); the control socket serves alone", strerror(-r));
        *ret = TAKE_PTR(t);
        return 0;
}

struct transport *transport_free(struct transport *t) {
        if (!t)
                return NULL;
        while (t->conns) {
                struct transport_conn *c = t->conns;
                c->system = false;  /* no reconnection while tearing down */
                transport_conn_free(c);
        }
        ev_timer_stop(t->loop, &t->reconnect);
        ev_timer_stop(t->loop, &t->accept_pause);
        if (t->listen_fd >= 0)
                ev_io_stop(t->loop, &t->listen_io);
        if (t->socket_created)
                (void) unlink(t->socket_path);
        safe_close(t->listen_fd);
        free(t->socket_path);
        free(t->bus_name);
        free(t);
        return NULL;
}

void transport_foreach(struct transport *t, void (*fn)(sd_bus *sd, void *userdata), void *userdata) {
        for (struct transport_conn *c = t->conns; c; c = c->next)
                fn(c->sd, userdata);
}
