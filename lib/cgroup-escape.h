/* SPDX-License-Identifier: MIT */
/* What a process would leave behind if it were moved out of the cgroup it runs in into a group below
 * another one: the limits set on its cgroup and on those of its ancestors that are not also ancestors
 * of the destination. memguardd reads them before it moves a registered job into its own job group,
 * so a job is never looser than the cgroup it was started in (a scheduler's --mem, a user slice's
 * MemoryMax=). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct sysroot;

struct cgroup_escape {
        uint64_t memory_bytes;  /* the least memory ceiling among them; UINT64_MAX: none */
        char *memory_where;     /* the cgroup that sets it, NULL when none */
        char *other;            /* the first other limit found, for people ("cpu.max 50000 100000 on /a"), or NULL */
};

void cgroup_escape_done(struct cgroup_escape *e);

/* Is the cgroup at path (as /proc/PID/cgroup prints it) ancestor itself or below it? */
bool cgroup_escape_within(const char *path, const char *ancestor);

/* Reads the limits between from (the process's cgroup) and to (the destination's parent), both as
 * /proc/PID/cgroup prints them, in the hierarchy mounted at mount with root (see cgroup_dir). v2: a
 * cgroup2 tree (memory.max; other: memory.high, memory.swap.max, cpu.max, io.max, cpuset.cpus and
 * cpuset.mems), else the v1 memory hierarchy (memory.limit_in_bytes, memory.memsw.limit_in_bytes).
 * Files that are missing (a controller that is not enabled there) set nothing. *ret is filled even
 * when nothing is found; -ENOMEM is the only error. */
int cgroup_escape_read(const struct sysroot *s, const char *mount, const char *root, bool v2, const char *from,
                       const char *to, struct cgroup_escape *ret);
