/* SPDX-License-Identifier: MIT */
/* How a job's memory is measured, bounded and its processes found and signalled. One interface, three
 * implementations picked at run time:
 *   cgroup2  a job cgroup with the v2 memory controller: memory.current/peak/events/stat, memory.max
 *            as the kernel-enforced ceiling, cgroup.kill.
 *   cgroup1  a v1 memory cgroup: memory.usage_in_bytes/max_usage_in_bytes/limit_in_bytes/oom_control,
 *            plus, on hybrid hosts, a cgroup in the unified tree for membership and cgroup.kill.
 *   procfs   no cgroup: the job is every descendant of the supervisor (a child subreaper), measured by
 *            summing RSS; works unprivileged everywhere, enforces nothing in the kernel.
 * Functions return -errno and never log; *reterr strings say why for a person. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sysroot;

enum backend_kind {
        BACKEND_AUTO,
        BACKEND_CGROUP2,
        BACKEND_CGROUP1,
        BACKEND_PROCFS,
        _BACKEND_KIND_MAX,
        _BACKEND_KIND_INVALID = -EINVAL,
};

const char *backend_kind_to_string(enum backend_kind k);
enum backend_kind backend_kind_from_string(const char *s);

struct backend_config {
        const char *group_name;     /* leaf name of the job cgroup, e.g. "memguard-1234" */
        uint64_t hard_limit_bytes;  /* kernel ceiling (memory.max / limit_in_bytes); 0 = none */
        pid_t supervisor_pid;       /* procfs: whose descendants form the job */
        pid_t root_pid;             /* procfs: the job's root when it is not our child; a member itself */
        /* Where job groups are made, as /proc/PID/cgroup prints paths; NULL: beneath our own cgroup.
         * For cgroup1 the first is the v1 memory path and the second the unified tree's. */
        const char *parent_path;
        const char *unified_parent_path;
        /* Supervise this existing cgroup instead of creating one (a [watch] match, or a job group
         * re-adopted after a restart); adopt_owned: it is ours, remove it when the job ends. */
        const char *adopt_path;
        const char *adopt_unified_path;
        bool adopt_owned;
        /* Before making the group, remove the empty ones killed earlier runs left in the same parent
         * (backend_stale_remove); memguard run sets it, whose groups nobody else removes. */
        bool remove_stale;
};

struct backend_sample {
        uint64_t current_bytes;     /* what the backend charges to the job in total */
        uint64_t working_set_bytes; /* current minus reclaimable file cache; what thresholds compare */
        uint64_t kernel_peak_bytes; /* the kernel's high-water counter, 0 when it has none */
        uint64_t oom_kills;         /* kernel OOM kills inside the job since it started */
        bool from_processes;        /* no group counter: the total is the sum of the processes' RSS */
};

struct backend;

struct backend_ops {
        enum backend_kind kind;
        const char *measures;       /* one line for the report: what "total" means here */
        int (*open)(struct backend *b, char **reterr);
        int (*prepare_child)(struct backend *b);  /* in the forked child: async-signal-safe only */
        int (*sample)(struct backend *b, struct backend_sample *ret);
        int (*pids)(struct backend *b, pid_t **ret, size_t *ret_n);
        int (*kill)(struct backend *b, int sig);
        int (*set_limit)(struct backend *b, uint64_t bytes);
        int (*attach)(struct backend *b, pid_t pid);
        int (*freeze)(struct backend *b, bool frozen);
        void (*close)(struct backend *b);
};

struct backend {
        const struct backend_ops *ops;
        struct sysroot *sysroot;    /* borrowed */
        struct backend_config config;
        char *group_name;
        char *group_path;           /* set by cgroup implementations at open */
        bool keep;                  /* on free, leave the job and its groups as they are (daemon stop) */
        bool released;              /* the groups are gone; only the description is left */
        uint64_t attention_bytes;   /* from here on the slow counters decide: read them every sample */
        bool fresh;                 /* the next sample reads everything (a job's final numbers) */
        void *data;                 /* the implementation's own state */
};

extern const struct backend_ops backend_cgroup2_ops;
extern const struct backend_ops backend_cgroup1_ops;
extern const struct backend_ops backend_procfs_ops;

/* Opens a backend of the given kind, or with BACKEND_AUTO the first that works of cgroup2, cgroup1,
 * procfs. *reterr (malloc'ed, may be NULL) explains every backend that was passed over and why, so
 * "memguard run" can say that it fell back to procfs and what it would need for a cgroup. */
int backend_open(struct sysroot *s, enum backend_kind kind, const struct backend_config *config,
                 struct backend **ret, char **reterr);
/* Removes what the backend created (the job cgroups; processes still inside are SIGKILLed first) but
 * keeps the backend's description for reports. Nothing but backend_name/ops->measures after this. */
void backend_release(struct backend *b);
/* backend_release() and free. */
struct backend *backend_free(struct backend *b);
static inline void backend_freep(struct backend **b) {
        backend_free(*b);
}

static inline const char *backend_name(const struct backend *b) {
        return backend_kind_to_string(b->ops->kind);
}

/* In the child between fork() and exec(): join the job's groups. Async-signal-safe. */
int backend_prepare_child(struct backend *b);
int backend_sample(struct backend *b, struct backend_sample *ret);
/* The pids of every process of the job now. *ret is malloc'ed. */
int backend_pids(struct backend *b, pid_t **ret, size_t *ret_n);
/* Sends sig to every process of the job; returns how many were signalled (0: none left) or -errno.
 * Never signals by a bare pid: pidfds, or cgroup.kill for SIGKILL where the kernel has it. */
int backend_kill(struct backend *b, int sig);
/* Moves a running process (not our child: a registered job) into the job's groups. Its existing
 * children stay where they are, so register before the job forks. -EOPNOTSUPP on procfs. */
int backend_attach(struct backend *b, pid_t pid);
/* Freezes (true) or thaws (false) every process of the job: cgroup.freeze where the kernel has it,
 * SIGSTOP/SIGCONT through pidfds otherwise. */
int backend_freeze(struct backend *b, bool frozen);
/* The job group's path as /proc/PID/cgroup prints it (primary hierarchy), NULL on procfs. */
const char *backend_group_path(const struct backend *b);
/* Changes the kernel-enforced ceiling; -EOPNOTSUPP on procfs. */
int backend_set_limit(struct backend *b, uint64_t bytes);

/* Shared by the cgroup implementations: the counters that cost the kernel more to render or that
 * need not be fresh every sample (memory.stat's inactive_file, the high-water mark, the OOM kill
 * count) are read again only every few samples, or every sample once current is past the attention
 * mark (half the ceiling), where they decide, or when the caller wants everything fresh. */
struct backend_slow {
        uint64_t inactive_file;
        uint64_t kernel_peak;
        uint64_t oom_kills;
        unsigned countdown;
};
#define BACKEND_SLOW_EVERY 10
/* Fills ret's kernel_peak_bytes, oom_kills and working_set_bytes (from ret->current_bytes) from the
 * slow counters, reading them again (peak_fd: a high-water file; oom_fd: a keyed file with "oom_kill";
 * stat_fd: memory.stat, where stat_key is the reclaimable cache) only when due. -1 fds are skipped. */
void backend_sample_slow(const struct backend *b, struct backend_slow *s, struct backend_sample *ret, int peak_fd,
                         int oom_fd, int stat_fd, const char *stat_key);

/* Shared by the implementations: send sig to each pid through a pidfd opened first and then checked
 * with still_member(b, pid) (is it still this job's process?), so a pid that was reused between
 * listing and signalling is never hit. Returns how many processes were signalled. */
int backend_signal_pids(struct backend *b, const pid_t *pids, size_t n, int sig,
                        bool (*still_member)(struct backend *b, pid_t pid));

/* Removes the empty "memguard-PID" groups directly below parent (relative to the cgroup directory)
 * whose memguard is gone: never signals, leaves a group that still has processes (said at debug
 * level). Returns how many were removed, or -errno when parent cannot be listed. */
int backend_stale_remove(const struct sysroot *s, const char *parent);

/* For the implementations: sets *reterr (when reterr is not NULL) to a formatted explanation,
 * replacing an earlier one. */
void backend_errorf(char **reterr, const char *format, ...) __attribute__((format(printf, 2, 3)));
