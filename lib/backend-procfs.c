/* SPDX-License-Identifier: MIT */
/* No cgroup at all: the job is every process that descends from the supervisor, which is a child
 * subreaper, so double-forked and reparented descendants come back to it and stay in the tree. The
 * total is the sum of the processes' RSS (counted by job_sample), sampled; nothing is enforced by the
 * kernel, so the ladder is the only guard. Works unprivileged everywhere. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "macro.h"
#include "procfs.h"
#include "sysroot.h"

/* Whose descendants form the job: the job's own root when it is not our child (memguardd), else the
 * supervisor (memguard run), to which orphans are reparented. */
static pid_t backend_procfs_root(const struct backend *b) {
        if (b->config.root_pid > 0)
                return b->config.root_pid;
        return b->config.supervisor_pid > 0 ? b->config.supervisor_pid : b->sysroot->self_pid;
}

static int backend_procfs_open(struct backend *b, char **reterr) {
        if (backend_procfs_root(b) <= 0) {
                backend_errorf(reterr, "no supervisor pid to walk the process tree from");
                return -EINVAL;
        }
        struct procfs_stat st;
        int r = procfs_read_stat(b->sysroot, backend_procfs_root(b), &st);
        if (r < 0) {
                backend_errorf(reterr, "cannot read /proc/%d/stat: %s", (int) backend_procfs_root(b),
                               strerror(-r));
                return r;
        }
        return 0;
}

static int backend_procfs_sample(struct backend *b, struct backend_sample *ret) {
        ret->from_processes = true;
        return 0;
}

static int backend_procfs_pids(struct backend *b, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = procfs_descendants(b->sysroot, backend_procfs_root(b), &pids, &n);
        if (r < 0)
                return r;
        if (b->config.root_pid > 0) {
                /* The root is a member too, while it lives. */
                struct procfs_stat st;
                if (procfs_read_stat(b->sysroot, b->config.root_pid, &st) >= 0) {
                        pid_t *np = realloc(pids, (n + 1) * sizeof(pid_t));
                        if (!np)
                                return -ENOMEM;
                        pids = np;
                        memmove(pids + 1, pids, n * sizeof(pid_t));
                        pids[0] = b->config.root_pid;
                        n++;
                }
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

/* Still below the supervisor? Walk up the ppid chain (short: a job's tree is shallow). */
static bool backend_procfs_still_member(struct backend *b, pid_t pid) {
        pid_t root = backend_procfs_root(b);
        if (pid == b->config.root_pid)
                return true;
        for (int depth = 0; depth < 4096 && pid > 1; depth++) {
                struct procfs_stat st;
                if (procfs_read_stat(b->sysroot, pid, &st) < 0)
                        return false;
                if (st.ppid == root)
                        return true;
                pid = st.ppid;
        }
        return false;
}

static int backend_procfs_kill(struct backend *b, int sig) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = backend_procfs_pids(b, &pids, &n);
        if (r < 0)
                return r;
        return backend_signal_pids(b, pids, n, sig, backend_procfs_still_member);
}

const struct backend_ops backend_procfs_ops = {
        .kind = BACKEND_PROCFS,
        .measures = "the sum of the resident set sizes (VmRSS) of the job's processes, sampled",
        .open = backend_procfs_open,
        .sample = backend_procfs_sample,
        .pids = backend_procfs_pids,
        .kill = backend_procfs_kill,
};
