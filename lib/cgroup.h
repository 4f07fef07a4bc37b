/* SPDX-License-Identifier: MIT */
/* Where the cgroup hierarchies are and where a process sits in them, read through the sysroot from
 * /proc/PID/mountinfo and /proc/PID/cgroup. Paths returned are relative to the sysroot's cgroup
 * directory (/sys/fs/cgroup): "" for a pure v2 host's root, "unified" and "memory" on hybrid hosts. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct sysroot;

struct cgroup_layout {
        char *v2_mount;           /* the cgroup2 mount, relative; NULL when there is none */
        char *v1_memory_mount;    /* the v1 hierarchy carrying "memory", relative; NULL when none */
        /* Which cgroup each mount shows at its top: "/" normally; "/docker/abc" in a container without
         * a cgroup namespace, where /proc/PID/cgroup still prints full paths. */
        char *v2_root;
        char *v1_memory_root;
        char *v2_path;            /* the process's cgroup in the v2 tree, "/..." ; NULL when none */
        char *v1_memory_path;     /* the process's cgroup in the v1 memory tree, "/..."; NULL when none */
};

void cgroup_layout_done(struct cgroup_layout *l);

/* Parse /proc/PID/cgroup text: the "0::" line and the v1 line whose controllers include memory. */
int cgroup_parse_proc_cgroup(const char *text, char **ret_v2_path, char **ret_v1_memory_path);

/* Parse /proc/PID/mountinfo text: the absolute mount points of the cgroup2 filesystem and of the v1
 * hierarchy with the memory controller (either may come back NULL). Octal escapes are undone. */
int cgroup_parse_mountinfo(const char *text, char **ret_v2_mount, char **ret_v1_memory_mount);
/* The same with each mount's root field (which cgroup the mount shows at its top). */
int cgroup_parse_mountinfo_roots(const char *text, char **ret_v2_mount, char **ret_v2_root,
                                 char **ret_v1_memory_mount, char **ret_v1_memory_root);

/* The directory (relative to the cgroup root) of the cgroup at path, as /proc/PID/cgroup prints it,
 * plus leaf: the mount with the mount's root taken off the path. NULL when path is not below root
 * (outside what the mount shows) or on OOM. */
char *cgroup_dir(const char *mount, const char *root, const char *path, const char *leaf);

/* Both of the above for pid (0: the sysroot's self), with mount points made relative to
 * /sys/fs/cgroup (mounts elsewhere are ignored). */
int cgroup_layout_read(const struct sysroot *s, pid_t pid, struct cgroup_layout *ret);

/* Join dir and leaf into a relative path without a leading '/', e.g. ("unified", "/a/b", "job") ->
 * "unified/a/b/job". malloc'ed, NULL on OOM. */
char *cgroup_join(const char *mount, const char *path, const char *leaf);

/* A child's cgroup path: ("/a/b", "leaf") -> "/a/b/leaf", ("/", "leaf") -> "/leaf". malloc'ed, NULL on
 * OOM. */
char *cgroup_child(const char *parent, const char *leaf);

/* Is "controller" listed in the space-separated text of a cgroup.controllers/subtree_control file? */
int cgroup_list_has(const char *text, const char *controller);

/* "123\n" -> 123; "max\n" -> UINT64_MAX. -EINVAL on anything else. */
int cgroup_parse_u64(const char *text, uint64_t *ret);

/* The value of "key N" in a flat keyed file (memory.events, memory.stat, memory.oom_control).
 * -ENOENT when the key is absent, -EINVAL when its value is not a number. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);

/* pread a kept-open counter file and parse it as cgroup_parse_u64 / cgroup_parse_keyed. */
int cgroup_pread_u64(int fd, uint64_t *ret);
int cgroup_pread_keyed(int fd, const char *key, uint64_t *ret);

/* The pids listed in a cgroup.procs file (path relative to the cgroup root). *ret is malloc'ed. */
int cgroup_read_pids(const struct sysroot *s, const char *path, pid_t **ret, size_t *ret_n);

/* The same from a kept-open cgroup.procs (read again from its start). */
int cgroup_reread_pids(int fd, pid_t **ret, size_t *ret_n);

/* Is pid in the cgroup at path (or below it)? hierarchy: "0" for v2, otherwise v1 with memory.
 * Reads /proc/PID/cgroup; path is the cgroup path ("/a/b/job") as that file prints it. */
int cgroup_pid_in(const struct sysroot *s, pid_t pid, int v2, const char *path);

/* mkdir a cgroup (relative path). 0, or -EEXIST when it is already there, or -errno. */
int cgroup_mkdir(const struct sysroot *s, const char *path);

/* Extended attributes on a cgroup directory (relative path): cgroupfs keeps trusted.* and (since Linux
 * 5.7) user.* ones for as long as the group exists. get returns a malloc'ed NUL-terminated value and,
 * when ret_owner is not NULL, the directory's owner (whoever owns it may set user.* ones). -errno
 * (-ENODATA: not set). */
int cgroup_set_xattr(const struct sysroot *s, const char *path, const char *name, const char *value);
int cgroup_get_xattr(const struct sysroot *s, const char *path, const char *name, uid_t *ret_owner, char **ret);

/* rmdir a cgroup, retrying for up to timeout_usec while the kernel still holds exiting tasks (EBUSY).
 * Returns 0 when it is gone (ENOENT counts as gone). */
int cgroup_rmdir(const struct sysroot *s, const char *path, uint64_t timeout_usec);
