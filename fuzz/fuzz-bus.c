/* SPDX-License-Identifier: MIT */
/* The interface as a local user reaches it: bytes on the control socket. Each input is served by a
 * fresh peer-to-peer server connection, set up exactly as the control socket sets up an accepted one,
 * with the interface's objects on it (bus_add_objects()) and a manager over the cgroup2 fixture host
 * with the shipped configuration and no jobs. The input follows an authentication that any local user
 * can perform, so it starts on the D-Bus messages themselves; each whole message is written with its
 * own sendmsg(), and one that declares a file descriptor carries /dev/null, so RegisterJob's argument
 * checks run up to the descriptor's own check. What is not reached: a caller of another uid, and the
 * methods' work on a running job (registering one moves a real process into a real cgroup). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "fuzz.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "transport.h"

#ifndef FUZZ_TOP_SRCDIR
#error "FUZZ_TOP_SRCDIR must name the source tree (fixtures and the shipped configuration)"
#endif

/* Beyond the socket buffer a single write would block: the daemon's own limits are tested elsewhere. */
#define FUZZ_BUS_INPUT_MAX (64 * 1024)
/* sd_bus_process() returns 0 only when it waits for input; all input is there, so this is a stall. */
#define FUZZ_BUS_IDLE_MAX 64

static struct manager *fuzz_bus_manager;
static struct bus *fuzz_bus;
static sd_id128_t fuzz_bus_server_id;
static int fuzz_bus_devnull = -1;
static char fuzz_bus_auth[128];
static char fuzz_bus_state[] = "/tmp/fuzz-bus-XXXXXX";

static void fuzz_bus_cleanup(void) {
        fuzz_bus_manager = manager_free(fuzz_bus_manager);
        fuzz_bus = bus_free(fuzz_bus);
        (void) rmdir(fuzz_bus_state);
}

static int fuzz_bus_setup(void) {
        if (fuzz_bus_manager)
                return 0;
        if (!mkdtemp(fuzz_bus_state))
                return -errno;
        struct manager_options o = {
                .config_path = FUZZ_TOP_SRCDIR "/conf/memguard.conf",
                .sysroot = FUZZ_TOP_SRCDIR "/tests/fixtures/cgroup2-host",
                .state_dir = fuzz_bus_state,
                .backend = BACKEND_AUTO,
        };
        int r = manager_new(&o, &fuzz_bus_manager);
        if (r < 0) {
                fprintf(stderr, "cannot set up the manager: %s\n", strerror(-r));
                abort();
        }
        atexit(fuzz_bus_cleanup);
        log_set_target(LOG_TARGET_NONE);
        r = bus_new_unconnected(fuzz_bus_manager, &fuzz_bus);
        if (r < 0) {
                fprintf(stderr, "cannot set up the interface: %s\n", strerror(-r));
                abort();
        }
        (void) sd_id128_randomize(&fuzz_bus_server_id);
        fuzz_bus_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

        /* AUTH EXTERNAL with our uid in hex-encoded decimal, as libsystemd's client sends it. */
        char uid[16], *p = fuzz_bus_auth;
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        p += sprintf(p, "%cAUTH EXTERNAL ", 0);
        for (const char *u = uid; *u; u++)
                p += sprintf(p, "%02x", (unsigned char) *u);
        sprintf(p, "\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n");
        return 0;
}

static uint32_t fuzz_bus_u32(const uint8_t *p, bool le) {
        return le ? (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24
                  : (uint32_t) p[3] | (uint32_t) p[2] << 8 | (uint32_t) p[1] << 16 | (uint32_t) p[0] << 24;
}

/* The length of the message at data (fixed header, fields padded to 8, body), 0 when it is not whole.
 * Whether it declares a descriptor: the UNIX_FDS field (code 9, signature "u") among its fields. */
static size_t fuzz_bus_message_size(const uint8_t *data, size_t size, bool *ret_fds) {
        if (size < 16 || (data[0] != 'l' && data[0] != 'B'))
                return 0;
        bool le = data[0] == 'l';
        uint64_t fields = fuzz_bus_u32(data + 12, le);
        uint64_t total = 16 + ((fields + 7) & ~UINT64_C(7)) + fuzz_bus_u32(data + 4, le);
        if (total > size)
                return 0;
        *ret_fds = memmem(data + 16, MIN(fields, size - 16), "\x09\x01u\0", 4) != NULL;
        return (size_t) total;
}

static void fuzz_bus_send(int fd, const void *data, size_t size, bool with_fd) {
        struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (with_fd && fuzz_bus_devnull >= 0) {
                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fuzz_bus_devnull, sizeof(int));
        }
        /* The socket buffer holds the whole input (FUZZ_BUS_INPUT_MAX): a short write is a bug here. */
        fuzz_assert(sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t) size);
}

/* The replies are read and dropped; FUZZ_BUS_VERBOSE=1 shows their printable bytes, to see what a
 * seed reaches. */
static void fuzz_bus_drain(int fd) {
        static int verbose = -1;
        if (verbose < 0)
                verbose = getenv("FUZZ_BUS_VERBOSE") != NULL;
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                for (ssize_t i = 0; verbose && i < n; i++)
                        fputc(buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > FUZZ_BUS_INPUT_MAX || fuzz_bus_setup() < 0)
                return 0;

        int sv[2];
        fuzz_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);

        /* As transport.c serves an accepted connection. */
        sd_bus *sd = NULL;
        int r = sd_bus_new(&sd);
        if (r >= 0)
                r = sd_bus_set_fd(sd, sv[0], sv[0]);
        if (r >= 0)
                r = sd_bus_set_server(sd, 1, fuzz_bus_server_id);
        if (r >= 0)
                r = sd_bus_negotiate_fds(sd, 1);
        if (r >= 0)
                r = sd_bus_start(sd);
        if (r >= 0)
                r = bus_add_objects(fuzz_bus, sd, false);
        fuzz_assert(r >= 0);

        /* The authentication first, on its own: sd-bus refuses a descriptor that arrives during it. */
        fuzz_bus_send(sv[1], fuzz_bus_auth, 1 + strlen(fuzz_bus_auth + 1), false);
        for (unsigned idle = 0; sd_bus_is_ready(sd) == 0 && idle < FUZZ_BUS_IDLE_MAX;) {
                r = sd_bus_process(sd, NULL);
                fuzz_assert(r >= 0);
                idle = r == 0 ? idle + 1 : 0;
        }
        fuzz_assert(sd_bus_is_ready(sd) > 0);
        while (size > 0) {
                bool fds = false;
                size_t n = fuzz_bus_message_size(data, size, &fds);
                if (n == 0)
                        n = size;
                fuzz_bus_send(sv[1], data, n, fds);
                data += n;
                size -= n;
        }
        (void) shutdown(sv[1], SHUT_WR);

        for (unsigned idle = 0; idle < FUZZ_BUS_IDLE_MAX;) {
                r = sd_bus_process(sd, NULL);
                fuzz_bus_drain(sv[1]);
                if (r < 0)
                        break;
                idle = r == 0 ? idle + 1 : 0;
        }
        sd_bus_close_unref(sd);
        close(sv[1]);
        return 0;
}
