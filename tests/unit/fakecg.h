/* SPDX-License-Identifier: MIT */
/* A fake kernel behind mkdir and rmdir, for backend tests on fixture hosts.
 *
 * In cgroupfs, mkdir makes a group and the kernel fills it with its interface files at once; the
 * backends rely on that (mkdir, then open memory.current). A fixture directory is plain ext4/tmpfs,
 * where mkdir makes an empty directory, and the open fails. So this module defines mkdirat itself: the
 * engine is a static library, the linker resolves its mkdirat calls to this definition, which makes the
 * directory with the real system call and then, only for the cgroup directory of the armed sysroot,
 * creates the files the kernel would. rmdir of a group is the mirror image: the kernel removes a group
 * with its interface files, a plain rmdir refuses a directory that has files, so unlinkat(AT_REMOVEDIR)
 * is defined here too, records the removal and takes the files away first. No LD_PRELOAD, nothing
 * changes in lib/. Until fakecg_arm() both are the plain system calls, so a test binary that links them
 * in without using them (it calls unlinkat itself) behaves as with the C library's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sysroot.h"

struct fakecg {
        int cgroup_fd;          /* populate only below this directory fd; -1: plain mkdir */
        bool no_peak;           /* a kernel before 5.19: no memory.peak */
        int error;              /* first failure to populate, checked by the tests */
        char *created[8];       /* what mkdirat made below cgroup_fd, in order */
        size_t n_created;
        char *removed[8];       /* what unlinkat(AT_REMOVEDIR) was asked to remove, in order */
        size_t n_removed;
};

/* What the fake kernel did; tests read the counters and may set no_peak before a mkdir. */
extern struct fakecg fakecg;

/* Forgets what was recorded and disarms: mkdir and rmdir are plain again. */
void fakecg_reset(void);
/* Groups made below the cgroup directory of s get their interface files from now on. */
void fakecg_arm(const struct sysroot *s);
/* Was the group at this path (relative to the cgroup directory) made, or removed? */
bool fakecg_created(const char *path);
bool fakecg_removed(const char *path);
