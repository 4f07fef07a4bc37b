/* SPDX-License-Identifier: MIT */
/* The one door into /proc and the cgroup filesystems. Opened once; every read below goes through
 * openat() on these directory fds, so tests point the whole engine at a fixture tree
 * (tests/fixtures/...) and the VM tier at a real kernel without changing a line of the engine. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sysroot {
        char *root;        /* "/" or a fixture directory */
        int root_fd;       /* O_PATH on root */
        int proc_fd;       /* <root>/proc */
        int cgroup_fd;     /* <root>/sys/fs/cgroup, -1 when absent */
        pid_t self_pid;    /* the pid that "self" means: getpid(), or the fixture's */
};

/* Opens root ("/" when NULL). A fixture tree may carry a file "self-pid" naming the pid that plays
 * memguard itself. -errno when root or root/proc cannot be opened. */
int sysroot_open(const char *root, struct sysroot **ret);
struct sysroot *sysroot_free(struct sysroot *s);
static inline void sysroot_freep(struct sysroot **s) {
        sysroot_free(*s);
}

/* True when this sysroot is the live system (root "/"), where pids are real and signals may be sent. */
int sysroot_is_live(const struct sysroot *s);

/* openat() relative to proc or cgroupfs; path must be relative ("self/cgroup", "memory/x/memory.stat").
 * O_CLOEXEC is always added. -errno on failure. */
int sysroot_open_proc(const struct sysroot *s, const char *path, int flags);
int sysroot_open_cgroup(const struct sysroot *s, const char *path, int flags);

/* Reads a whole small file (at most max bytes; -EFBIG beyond) into a NUL-terminated buffer.
 * Returns the length or -errno. ENOENT/ESRCH mean the object vanished. */
ssize_t sysroot_read_fd(int fd, char **ret, size_t max);
/* The first max bytes of fd (all of it when shorter), NUL-terminated, malloc'ed: for a file whose
 * head is what matters. Its length, or -errno. */
ssize_t sysroot_read_head(int fd, char **ret, size_t max);
ssize_t sysroot_read_proc(const struct sysroot *s, const char *path, char **ret, size_t max);
ssize_t sysroot_read_cgroup(const struct sysroot *s, const char *path, char **ret, size_t max);

/* pread(fd, ..., 0) of a kept-open counter file into buf (NUL-terminated). The sampling hot path. */
ssize_t sysroot_pread_small(int fd, char *buf, size_t size);

/* Writes s to a cgroup file (path relative to the cgroup root). -errno. */
int sysroot_write_cgroup(const struct sysroot *s, const char *path, const char *value);
