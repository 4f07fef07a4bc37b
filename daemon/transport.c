/* SPDX-License-Identifier: MIT */
/* How the interface reaches its callers: the control socket (a peer-to-peer D-Bus server per accepted
 * connection), the system bus when there is one, and the glue that runs every sd-bus connection on the
 * libev loop (sd-bus has no libev adapter: an ev_io on its fd, an ev_timer for its absolute timeout,
 * and an ev_prepare that re-arms both before every poll). */
#include <errno.h>
#include <fcntl.h>
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

#include "bus.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "transport.h"

/* One user may hold this many connections to the socket: a user opening connections in a loop must not
 * use up the daemon's descriptors and lock root (and everyone else) out. */
#define TRANSPORT_CONNECTIONS_PER_USER 32
/* When accept() fails for want of descriptors, wait this long rather than spin on a readable socket. */
#define TRANSPORT_ACCEPT_PAUSE_USEC (100 * USEC_PER_MSEC)
/* A lost system bus (dbus-daemon restarted) is tried again this often; the socket keeps serving. */
#define TRANSPORT_RECONNECT_USEC (5 * USEC_PER_SEC)

/* --- libev glue --------------------------------------------------------------------------------- */

void transport_conn_free(struct bus_conn *c) {
        if (!c)
                return;
        struct bus *b = c->bus;
        for (struct bus_conn **p = &b->conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        struct ev_loop *loop = b->m->loop;
        ev_io_stop(loop, &c->io);
        ev_timer_stop(loop, &c->timer);
        ev_prepare_stop(loop, &c->prepare);
        if (c->system)
                ev_timer_start(loop, &b->reconnect);
        sd_bus_flush_close_unref(c->sd);
        free(c);
}

static void transport_process(struct bus_conn *c) {
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
        struct bus_conn *c = w->data;
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

int transport_attach(struct bus *b, sd_bus *sd, bool system) {
        struct bus_conn *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->bus = b;
        c->sd = sd;
        c->system = system;
        int r = bus_add_objects(b, sd, system);
        if (r < 0) {
                free(c);
                return r;
        }
        ev_io_init(&c->io, transport_io_cb, sd_bus_get_fd(sd), EV_READ);
        c->io.data = c;
        ev_io_start(b->m->loop, &c->io);
        ev_timer_init(&c->timer, transport_timer_cb, 0., 0.);
        c->timer.data = c;
        ev_prepare_init(&c->prepare, transport_prepare_cb);
        c->prepare.data = c;
        ev_prepare_start(b->m->loop, &c->prepare);
        c->next = b->conns;
        b->conns = c;
        return 0;
}

/* --- transports ------------------------------------------------------------------------------------- */

static void transport_accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct bus *b = w->data;
        ev_io_start(loop, &b->listen_io);
}

static size_t transport_connections_of(const struct bus *b, uid_t uid) {
        size_t n = 0;
        for (const struct bus_conn *c = b->conns; c; c = c->next)
                n += !c->system && c->uid == uid;
        return n;
}

static void transport_accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct bus *b = w->data;
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The socket stays readable: pause instead of spinning, and say so once. */
                        if (!ev_is_active(&b->accept_pause))
                                log_warning_errno(errno, "cannot accept on the control socket, pausing: %m");
                        ev_io_stop(loop, &b->listen_io);
                        ev_timer_set(&b->accept_pause, (double) TRANSPORT_ACCEPT_PAUSE_USEC / 1e6, 0.);
                        ev_timer_start(loop, &b->accept_pause);
                } else if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "cannot accept a connection on the control socket: %m");
                return;
        }
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            (cred.uid != 0 && transport_connections_of(b, cred.uid) >= TRANSPORT_CONNECTIONS_PER_USER)) {
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
                r = sd_bus_set_server(sd, 1, b->server_id);
        if (r >= 0)
                r = sd_bus_negotiate_fds(sd, 1);
        if (r >= 0)
                r = sd_bus_set_description(sd, "control-socket-peer");
        if (r >= 0)
                r = sd_bus_start(sd);
        if (r >= 0)
                r = transport_attach(b, sd, false);
        if (r >= 0)
                b->conns->uid = cred.uid;
        if (r < 0) {
                log_warning_errno(r, "cannot serve a connection on the control socket: %m");
                if (sd)
                        sd_bus_flush_close_unref(sd);
                else
                        safe_close(fd);
        }
}

static int transport_listen(struct bus *b, const char *path) {
        /* Socket activation (memguardd.socket) hands it over ready. */
        int n = sd_listen_fds(1);
        if (n > 0) {
                b->listen_fd = SD_LISTEN_FDS_START;
                b->activated = true;
                (void) fcntl(b->listen_fd, F_SETFL, fcntl(b->listen_fd, F_GETFL) | O_NONBLOCK);
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
        b->listen_fd = fd;
        b->socket_created = true;
        return 0;
}

static int transport_connect_system(struct bus *b) {
        sd_bus *sd = NULL;
        int r = sd_bus_open_system_with_description(&sd, "memguardd");
        if (r >= 0)
                r = sd_bus_request_name(sd, BUS_NAME, 0);
        if (r >= 0)
                r = transport_attach(b, sd, true);
        if (r < 0) {
                sd_bus_flush_close_unref(sd);
                return r;
        }
        log_info("serving %s on the system bus", BUS_NAME);
        return 0;
}

static void transport_reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct bus *b = w->data;
        ev_timer_stop(loop, w);
        if (transport_connect_system(b) < 0)
                ev_timer_start(loop, w);
}


int transport_start(struct bus *b) {
        struct manager *m = b->m;
        b->listen_fd = -1;
        (void) sd_id128_randomize(&b->server_id);
        ev_timer_init(&b->reconnect, transport_reconnect_cb, (double) TRANSPORT_RECONNECT_USEC / 1e6, 0.);
        b->reconnect.data = b;
        ev_timer_init(&b->accept_pause, transport_accept_pause_cb, 0., 0.);
        b->accept_pause.data = b;

        int r = transport_listen(b, m->socket_path);
        if (r < 0)
                return r;
        ev_io_init(&b->listen_io, transport_accept_cb, b->listen_fd, EV_READ);
        b->listen_io.data = b;
        ev_io_start(m->loop, &b->listen_io);
        if (b->activated)
                log_info("serving %s on the socket the service manager passed", BUS_INTERFACE);
        else
                log_info("serving %s on %s", BUS_INTERFACE, m->socket_path);

        /* No system bus is no failure: the socket serves the same interface. */
        r = transport_connect_system(b);
        if (r < 0)
                log_info("not on the system bus (%s); the control socket serves alone", strerror(-r));
        return 0;
}

void transport_stop(struct bus *b) {
        while (b->conns) {
                struct bus_conn *c = b->conns;
                c->system = false;  /* no reconnection while tearing down */
                transport_conn_free(c);
        }
        ev_timer_stop(b->m->loop, &b->reconnect);
        ev_timer_stop(b->m->loop, &b->accept_pause);
        ev_io_stop(b->m->loop, &b->listen_io);
        if (b->socket_created)
                (void) unlink(b->m->socket_path);
        b->listen_fd = safe_close(b->listen_fd);
}
