/* SPDX-License-Identifier: MIT */
/* What a killed "memguard run" leaves behind: SIGKILL gives it no chance to remove its job groups
 * ("memguard-PID"), so the next run in the same place removes them. Only empty groups of a memguard
 * that is gone, and only by rmdir: a job still running in an orphaned group is not ours to end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "log.h"
#include "macro.h"
#include "sysroot.h"

#define BACKEND_STALE_PREFIX "memguard-"

/* "memguard-1234" -> 1234; 0 for any other name (leading zeros and signs too, so a name maps to one
 * pid and back). */
static pid_t backend_stale_pid(const char *name) {
        if (strncmp(name, BACKEND_STALE_PREFIX, strlen(BACKEND_STALE_PREFIX)) != 0)
                return 0;
        const char *d = name + strlen(BACKEND_STALE_PREFIX);
        if (d[0] < '1' || d[0] > '9' || strspn(d, "0123456789") != strlen(d) || strlen(d) > 10)
                return 0;
        long long v = strtoll(d, NULL, 10);
        return v > INT_MAX ? 0 : (pid_t) v;
}

/* Is pid a running memguard? /proc/PID/comm through the sysroot; a pid now used by another program
 * is as gone as a missing one. Where /proc hides other users' processes (hidepid), a live system is
 * asked with kill(pid, 0), which delivers nothing. Unsure counts as alive: the group is kept. */
static bool backend_stale_owner_alive(const struct sysroot *s, pid_t pid) {
        /* Our own pid, before our group is made: a dead memguard's, whose pid we were given. */
        if (pid == s->self_pid)
                return false;
        char p[32];
        snprintf(p, sizeof(p), "%d/comm", (int) pid);
        _cleanup_free_ char *comm = NULL;
        ssize_t n = sysroot_read_proc(s, p, &comm, 64);
        if (n == -ENOENT || n == -ESRCH)
                return sysroot_is_live(s) && !(kill(pid, 0) < 0 && errno == ESRCH);
        if (n < 0)
                return true;
        comm[strcspn(comm, "\n")] = 0;
        return strcmp(comm, "memguard") == 0;
}

int backend_stale_remove(const struct sysroot *s, const char *parent) {
        /* A pure v2 host's root is "" relative to the cgroup directory. */
        _cleanup_close_ int fd = sysroot_open_cgroup(s, parent[0] ? parent : ".", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        DIR *d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1;  /* the DIR's now */

        int removed = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                pid_t pid = backend_stale_pid(de->d_name);
                if (pid <= 0 || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                if (backend_stale_owner_alive(s, pid))
                        continue;
                _cleanup_free_ char *dir = cgroup_join(parent, NULL, de->d_name);
                _cleanup_free_ char *procs = cgroup_join(parent, de->d_name, "cgroup.procs");
                if (!dir || !procs) {
                        closedir(d);
                        return -ENOMEM;
                }
                _cleanup_free_ pid_t *pids = NULL;
                size_t n_pids = 0;
                int r = cgroup_read_pids(s, procs, &pids, &n_pids);
                if (r < 0) {
                        log_debug_errno(r, "leaving %s alone: cannot read its cgroup.procs: %m", dir);
                        continue;
                }
                if (n_pids > 0) {
                        log_debug("leaving %s alone: its memguard %d is gone but %zu process%s still run in it",
                                  dir, (int) pid, n_pids, n_pids == 1 ? "" : "es");
                        continue;
                }
                r = cgroup_rmdir(s, dir, 0);
                if (r < 0) {
                        log_debug_errno(r, "cannot remove %s, left by memguard %d: %m", dir, (int) pid);
                        continue;
                }
                log_debug("removed %s, left by memguard %d", dir, (int) pid);
                removed++;
        }
        closedir(d);
        return removed;
}
