/* SPDX-License-Identifier: MIT */
/* How the interface reaches its callers: the control socket (a peer-to-peer D-Bus server per accepted
 * connection), the system bus when there is one, and the glue that runs every sd-bus connection on the
 * libev loop (sd-bus has no libev adapter: an ev_io on its fd, an ev_timer for its absolute timeout,
 * and an ev_prepare that re-arms both before every poll). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <malloc.h>
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
#include "wire.h"

/* One user may hold this many connections to the socket (the client says so: CONNECT_PER_USER_MAX): a
 * user opening connections in a loop must not use up the daemon's descriptors and lock root (and
 * everyone else) out. */
#define TRANSPORT_CONNECTIONS_PER_USER 32
/* When accept() fails for want of descriptors, wait this long rather than spin on a readable socket. */
#define TRANSPORT_ACCEPT_PAUSE_USEC (100 * USEC_PER_MSEC)
/* A lost system bus (dbus-daemon restarted) is tried again this often; the socket keeps serving. */
#define TRANSPORT_RECONNECT_USEC (5 * USEC_PER_SEC)
/* The largest message a client may send on the socket. The interface's calls are tiny; the largest
 * is RegisterJob with a command line of at most 256 KiB (BUS_ARGV_BYTES_MAX) in 4096 strings. sd-bus
 * alone would take 128 MiB per message, in memory that is locked. */
#define TRANSPORT_MESSAGE_MAX (512 * 1024)
/* A connection's input waits while more than this many replies wait to be written: a client that
 * sends calls and never reads the answers stops being served instead of filling the daemon. */
#define TRANSPORT_REPLIES_MAX 16
/* Signals queued to a listener that does not read them: past this many (some 256 bytes each), it is
 * dropped. */
#define TRANSPORT_WQUEUE_MAX 4096
/* A message header that arrived in part is waited for this long, looking this often. */
#define TRANSPORT_HOLD_MAX_USEC (10 * USEC_PER_SEC)
#define TRANSPORT_HOLD_POLL_USEC (20 * USEC_PER_MSEC)
/* The stream is checked before sd-bus reads it, but a header can still slip in between the check and
 * sd-bus's read once, as the SASL exchange ends; if one call to sd-bus grows the heap by more than
 * this, the connection is dropped at once, which frees what it took. Far above any reply. */
#define TRANSPORT_GROWTH_MAX (32ULL << 20)

struct transport_conn {
        struct transport *transport;
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
        ev_timer_stop(loop, &c->hold_timer);
        if (c->system)
                ev_timer_start(loop, &t->reconnect);
        sd_bus_flush_close_unref(c->sd);
        free(c);
        /* The daemon's memory is locked: what a connection took goes back to the system now. */
        malloc_trim(0);
}

static uint64_t transport_queued(struct transport_conn *c) {
        uint64_t n = 0;
        (void) sd_bus_get_n_queued_write(c->sd, &n);
        return n;
}

/* Under AddressSanitizer malloc is ASan's and mallinfo2() says nothing: ask ASan (weak: absent
 * otherwise). */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static uint64_t transport_heap(void) {
        if (__sanitizer_get_current_allocated_bytes)
                return __sanitizer_get_current_allocated_bytes();
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks + mi.hblkhd;
}

/* Passes what arrived since the last look to the stream check. -EMSGSIZE/-EBADMSG: drop the client. */
static int transport_peek(struct transport_conn *c) {
        if (!c->checked)
                return 0;
        int fd = sd_bus_get_fd(c->sd);
        uint8_t buf[4096];
        for (;;) {
                /* SO_PEEK_OFF: each peek starts where the last one ended, and the kernel moves that
                 * place back as sd-bus reads, so every byte is seen once. */
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
                if (n <= 0)
                        return 0;  /* nothing more, the end, or an error: sd-bus will see those itself */
                int r = wire_feed(&c->wire, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

static void transport_hold(struct transport_conn *c, bool hold) {
        if (hold == c->held)
                return;
        c->held = hold;
        struct ev_loop *loop = c->transport->loop;
        if (hold) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                c->held_since = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
                ev_timer_set(&c->hold_timer, (double) TRANSPORT_HOLD_POLL_USEC / 1e6,
                             (double) TRANSPORT_HOLD_POLL_USEC / 1e6);
                ev_timer_start(loop, &c->hold_timer);
        } else
                ev_timer_stop(loop, &c->hold_timer);
}

/* sd-bus reads a message exactly to its end: with a header in part at the end of the stream, what
 * comes before it (the peek offset says how much sd-bus has not read yet) is still safe to read. */
static bool transport_may_read(struct transport_conn *c) {
        if (wire_may_read(&c->wire))
                return true;
        int off = 0;
        socklen_t len = sizeof(off);
        if (getsockopt(sd_bus_get_fd(c->sd), SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0)
                return false;
        return off > 0 && (size_t) off > c->wire.header_len;
}

/* once: while replies wait, sd-bus is still called once per wakeup, to write them; it then reads at
 * most one message, so the queue cannot grow faster than the client reads. */
static int transport_process_one(struct transport_conn *c, bool *once) {
        int r = transport_peek(c);
        if (r < 0)
                return log_debug_errno(r, "dropping a client whose message is too large or not D-Bus: %m");
        transport_hold(c, !transport_may_read(c));
        if (c->held)
                return 0;
        if (transport_queued(c) > TRANSPORT_REPLIES_MAX) {
                if (!*once)
                        return 0;
                *once = false;
        }
        uint64_t before = c->checked ? transport_heap() : 0;
        r = sd_bus_process(c->sd, NULL);
        if (r > 0 && c->checked && transport_heap() > before + TRANSPORT_GROWTH_MAX)
                return log_debug_errno(EMSGSIZE, "dropping a client whose message took too much memory: %m");
        return r;
}

static void transport_process(struct transport_conn *c) {
        int r;
        bool once = true;
        while ((r = transport_process_one(c, &once)) > 0)
                ;
        if (r < 0) {
                log_debug_errno(r, "D-Bus connection closed: %m");
                transport_conn_free(c);
        }
}

static void transport_hold_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct transport_conn *c = w->data;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        if (now - c->held_since >= TRANSPORT_HOLD_MAX_USEC) {
                log_debug("dropping a client that left a message header unfinished");
                transport_conn_free(c);
                return;
        }
        transport_process(c);
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
        if (transport_queued(c) > TRANSPORT_WQUEUE_MAX) {
                log_debug("dropping a client that does not read what it is sent");
                transport_conn_free(c);
                return;
        }
        int events = sd_bus_get_events(c->sd);
        if (events < 0)
                return;
        /* Input waits for a header's rest, or for the client to read its replies (transport_process_one). */
        if (c->held || transport_queued(c) > TRANSPORT_REPLIES_MAX)
                events &= ~POLLIN;
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
        ev_timer_init(&c->hold_timer, transport_hold_cb, 0., 0.);
        c->hold_timer.data = c;
        wire_init(&c->wire, TRANSPORT_MESSAGE_MAX);
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
        /* Peeks at the stream start where the last one ended (transport_peek). Without it (kernels
         * before 4.4?) messages are not checked before sd-bus reads them. */
        int zero = 0;
        bool checked = setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) >= 0;
        if (!checked)
                log_debug_errno(errno, "cannot set SO_PEEK_OFF, client messages are not checked: %m");
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
        if (r >= 0) {
                t->conns->uid = cred.uid;
                t->conns->checked = checked;
        }
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
        /* Only a stale socket is replaced: any other file at that path (a typo, a symlink, /etc/passwd)
         * is someone's and stays. */
        struct stat st;
        if (lstat(path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        safe_close(fd);
                        return log_error_errno(EEXIST, "%s exists and is not a socket: refusing to replace it with "
                                               "the control socket", path);
                }
                (void) unlink(path);
        }
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

void transport_foreach(struct transport *t, void (*fn)(sd_bus *sd, bool system, uid_t uid, void *userdata),
                       void *userdata) {
        for (struct transport_conn *c = t->conns; c; c = c->next)
                fn(c->sd, c->system, c->system ? 0 : c->uid, userdata);
}
