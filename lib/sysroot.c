/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "sysroot.h"

static pid_t sysroot_fixture_self(int root_fd) {
        _cleanup_close_ int fd = openat(root_fd, "self-pid", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        char buf[32];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        char *end;
        long v = strtol(buf, &end, 10);
        if (end == buf || v <= 0 || v > INT_MAX)
                return 0;
        return (pid_t) v;
}

int sysroot_open(const char *root, struct sysroot **ret) {
        if (!root)
                root = "/";

        struct sysroot *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->root_fd = s->proc_fd = s->cgroup_fd = -1;

        int r;
        s->root = strdup(root);
        if (!s->root) {
                r = -ENOMEM;
                goto fail;
        }
        s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0) {
                r = -errno;
                goto fail;
        }
        s->proc_fd = openat(s->root_fd, "proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->proc_fd < 0) {
                r = -errno;
                goto fail;
        }
        /* No cgroupfs is a legitimate host (containers, old kernels): the procfs backend still works. */
        s->cgroup_fd = openat(s->root_fd, "sys/fs/cgroup", O_PATH | O_DIRECTORY | O_CLOEXEC);

        s->self_pid = sysroot_is_live(s) ? getpid() : sysroot_fixture_self(s->root_fd);
        *ret = s;
        return 0;
fail:
        sysroot_free(s);
        return r;
}

struct sysroot *sysroot_free(struct sysroot *s) {
        if (!s)
                return NULL;
        safe_close(s->root_fd);
        safe_close(s->proc_fd);
        safe_close(s->cgroup_fd);
        free(s->root);
        free(s);
        return NULL;
}

int sysroot_is_live(const struct sysroot *s) {
        return s && s->root && strcmp(s->root, "/") == 0;
}

static int sysroot_openat(int dirfd, const char *path, int flags) {
        if (dirfd < 0)
                return -ENOENT;
        if (!path || path[0] == '/')
                return -EINVAL;
        int fd = openat(dirfd, path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int sysroot_open_proc(const struct sysroot *s, const char *path, int flags) {
        return sysroot_openat(s->proc_fd, path, flags);
}

int sysroot_open_cgroup(const struct sysroot *s, const char *path, int flags) {
        return sysroot_openat(s->cgroup_fd, path, flags);
}

/* Reads into buf[*len..cap) until it is full or the file ends. */
static int sysroot_read_into(int fd, char *buf, size_t cap, size_t *len) {
        while (*len < cap) {
                ssize_t k = read(fd, buf + *len, cap - *len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return 1;
                *len += (size_t) k;
        }
        return 0;
}

ssize_t sysroot_read_fd(int fd, char **ret, size_t max) {
        size_t cap = 1024, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap >= max)
                                return -EFBIG;
                        size_t ncap = MIN(cap * 2, max);
                        char *n = realloc(buf, ncap + 1);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap = ncap;
                }
                int r = sysroot_read_into(fd, buf, cap, &len);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return (ssize_t) len;
}

ssize_t sysroot_read_head(int fd, char **ret, size_t max) {
        size_t len = 0;
        _cleanup_free_ char *buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        int r = sysroot_read_into(fd, buf, max, &len);
        if (r < 0)
                return r;
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return (ssize_t) len;
}

ssize_t sysroot_read_proc(const struct sysroot *s, const char *path, char **ret, size_t max) {
        _cleanup_close_ int fd = sysroot_open_proc(s, path, O_RDONLY);
        if (fd < 0)
                return fd;
        return sysroot_read_fd(fd, ret, max);
}

ssize_t sysroot_read_cgroup(const struct sysroot *s, const char *path, char **ret, size_t max) {
        _cleanup_close_ int fd = sysroot_open_cgroup(s, path, O_RDONLY);
        if (fd < 0)
                return fd;
        return sysroot_read_fd(fd, ret, max);
}

ssize_t sysroot_pread_small(int fd, char *buf, size_t size) {
        if (size == 0)
                return -EINVAL;
        ssize_t n;
        do
                n = pread(fd, buf, size - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return n;
}

int sysroot_write_cgroup(const struct sysroot *s, const char *path, const char *value) {
        _cleanup_close_ int fd = sysroot_open_cgroup(s, path, O_WRONLY);
        if (fd < 0)
                return fd;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}
