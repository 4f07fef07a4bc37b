/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connect.h"
#include "log.h"
#include "macro.h"

int connect_parse_args(int *argc, char **argv, struct connect_options *o) {
        int k = 1;
        for (int i = 1; i < *argc; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        /* Everything after "--" belongs to a command. */
                        for (; i < *argc; i++)
                                argv[k++] = argv[i];
                        break;
                }
                if (strcmp(argv[i], "--system") == 0) {
                        o->system = true;
                        continue;
                }
                if (strcmp(argv[i], "--socket") == 0) {
                        if (i + 1 >= *argc) {
                                log_error("option '--socket' needs a path");
                                return -EINVAL;
                        }
                        o->socket_path = argv[++i];
                        continue;
                }
                if (strncmp(argv[i], "--socket=", 9) == 0) {
                        o->socket_path = argv[i] + 9;
                        continue;
                }
                argv[k++] = argv[i];
        }
        argv[k] = NULL;
        *argc = k;
        if (o->system && o->socket_path) {
                log_error("--socket and --system exclude each other");
                return -EINVAL;
        }
        return 0;
}

/* Until the daemon has taken the connection (the authentication is answered), within the timeout. */
static int connect_wait_ready(sd_bus *bus) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t deadline = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000 + CONNECT_TIMEOUT_USEC;
        for (;;) {
                int r = sd_bus_is_ready(bus);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

static int connect_socket(const char *path, sd_bus **ret) {
        sd_bus *bus = NULL;
        _cleanup_free_ char *address = NULL;
        if (asprintf(&address, "unix:path=%s", path) < 0)
                return -ENOMEM;
        int r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = connect_wait_ready(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int connect_system(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        /* Only worth it when the daemon owns its name there. */
        r = sd_bus_get_name_creds(bus, CONNECT_NAME, 0, NULL);
        if (r < 0) {
                sd_bus_unref(bus);
                return -EHOSTUNREACH;
        }
        *ret = bus;
        return 0;
}

/* Why a connection to the socket failed, for people. */
static int connect_socket_error(const char *path, int r, char **reterr) {
        if (!reterr)
                return r;
        if (r == -ETIMEDOUT)
                r = asprintf(reterr, "memguardd at %s does not answer (stopped or hung?): gave up after %d s", path,
                             (int) (CONNECT_TIMEOUT_USEC / USEC_PER_SEC));
        else if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
                /* Accepted and closed at once: what the daemon does past its per-user cap. */
                r = asprintf(reterr, "memguardd at %s closed the connection at once: it takes at most %d "
                             "connections from one user at a time (close some), or it is stopping", path,
                             CONNECT_PER_USER_MAX);
        else
                r = asprintf(reterr, "cannot connect to %s: %s", path, strerror(-r));
        if (r < 0)
                *reterr = NULL;
        return r;
}

int connect_daemon(const struct connect_options *o, sd_bus **ret, char **reterr) {
        int r = -ENOENT;
        const char *path = o->socket_path ? o->socket_path : CONNECT_SOCKET_DEFAULT;
        if (!o->system) {
                r = connect_socket(path, ret);
                /* Someone listens there: the bus would only lead to the same daemon. An explicit socket is
                 * the only one to try. */
                if (r >= 0)
                        return 0;
                if (o->socket_path || r == -ETIMEDOUT || r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE) {
                        (void) connect_socket_error(path, r, reterr);
                        return r;
                }
        }
        int s = connect_system(ret);
        if (s >= 0)
                return 0;
        int k;
        if (!reterr)
                k = 0;
        else if (s == -EHOSTUNREACH)
                k = asprintf(reterr, "%s%s%snobody owns %s on the system bus", o->system ? "" : "no memguardd at ",
                             o->system ? "" : path, o->system ? "" : " and ", CONNECT_NAME);
        else
                k = asprintf(reterr, "%s%s%scannot connect to the system bus: %s", o->system ? "" : "no memguardd at ",
                             o->system ? "" : path, o->system ? "" : " and ", strerror(-s));
        if (k < 0 && reterr)
                *reterr = NULL;
        return o->system ? s : r;
}

int connect_callv(sd_bus *bus, const char *method, sd_bus_error *err, sd_bus_message **reply, const char *types,
                  va_list ap) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, CONNECT_NAME, CONNECT_PATH, CONNECT_INTERFACE, method);
        if (r >= 0 && types)
                r = sd_bus_message_appendv(m, types, ap);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, err, reply);
        sd_bus_message_unref(m);
        return r;
}

int connect_call(sd_bus *bus, const char *method, sd_bus_error *err, sd_bus_message **reply, const char *types,
                 ...) {
        va_list ap;
        va_start(ap, types);
        int r = connect_callv(bus, method, err, reply, types, ap);
        va_end(ap);
        return r;
}
