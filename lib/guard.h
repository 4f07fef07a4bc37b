/* SPDX-License-Identifier: MIT */
/* One supervised job on a libev loop: the sampling timer (adaptive or fixed), the child watcher for
 * its root process, and the ladder (policy decides, guard acts through the backend). Used by
 * "memguard run" for its one job and by memguardd for each of its jobs. Events (warning, threshold,
 * SIGTERM, SIGKILL, kernel OOM kill, end) go to one callback, so each front end logs them its way. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "report.h"

#include "policy.h"

struct backend;
struct job;
struct sysroot;

enum guard_event_type {
        GUARD_EVENT_STARTED,
        GUARD_EVENT_SAMPLE,             /* every sample: for live logs, not for the journal */
        GUARD_EVENT_WARNING,
        GUARD_EVENT_THRESHOLD,          /* a kill threshold was crossed: the ladder starts */
        GUARD_EVENT_TERM,               /* SIGTERM (or a forwarded signal) sent to every process */
        GUARD_EVENT_KILL,               /* SIGKILL sent to every process */
        GUARD_EVENT_FROZEN,             /* the job was frozen instead of stopped (action freeze) */
        GUARD_EVENT_KERNEL_OOM,         /* the kernel OOM-killed inside the job */
        GUARD_EVENT_LEFTOVERS,          /* the root exited with processes left: they are being ended */
        GUARD_EVENT_SAMPLE_ERROR,       /* sampling failed (said once per kind of failure) */
        GUARD_EVENT_GROUP_GONE,         /* the job's cgroup was removed under it; .count: 1 when still guarded */
        GUARD_EVENT_ENDED,              /* everything of the job is gone; the report can be written */
        _GUARD_EVENT_MAX,
};

struct guard;

struct guard_event {
        enum guard_event_type type;
        uint64_t current_bytes;         /* the job's working set at the time */
        uint64_t limit_bytes;           /* the ceiling that applies (total or per process) */
        uint64_t threshold_bytes;       /* where the ladder starts for that ceiling */
        pid_t pid;                      /* culprit (per-process) or the root */
        int signal;                     /* for TERM/KILL */
        int count;                      /* processes signalled */
        const char *message;            /* a sentence for people */
};

typedef void (*guard_event_cb)(struct guard *g, const struct guard_event *ev, void *userdata);

struct guard {
        struct ev_loop *loop;
        struct sysroot *sysroot;        /* borrowed */
        struct backend *backend;        /* owned */
        struct job *job;                /* owned */
        struct policy_limits limits;
        struct policy_state state;
        bool dry_run;
        bool freeze_instead;            /* the ladder freezes the job rather than signalling it */
        bool frozen;

        ev_timer sample_timer;
        ev_child child_watcher;         /* the root is our child (memguard run) */
        ev_io pidfd_watcher;            /* the root is someone else's child: its pidfd turns readable */
        int root_pidfd;

        bool has_root;                  /* false for an adopted group: it ends when it is empty */

        bool root_exited;
        int wait_status;
        bool ended;
        int last_error;                 /* last sampling failure, 0 if none */

        uint64_t prev_total_bytes;
        uint64_t prev_sample_usec;
        /* The shortest interval the sampler chose between two samples (0: none yet): how much the
         * adaptive sampling tightened, which reports say, since a loaded machine's timers may not. */
        uint64_t shortest_interval_usec;
        uint64_t last_detail_usec;      /* the last sample that read every process */
        unsigned samples_since_detail;
        bool force_detail;
        /* Every process is read at most every 100 ms, and at most every this many samples (0 or 1:
         * the time alone decides). memguard run's one job wants every process's peak; a daemon with a
         * thousand idle jobs sampled each second does not need them every second. */
        unsigned detail_every_samples;

        guard_event_cb on_event;
        void *userdata;
};

/* Takes ownership of backend and job. */
int guard_new(struct ev_loop *loop, struct sysroot *s, struct backend *b, struct job *j,
              const struct policy_limits *limits, bool dry_run, struct guard **ret);
struct guard *guard_free(struct guard *g);
static inline void guard_freep(struct guard **g) {
        guard_free(*g);
}

/* Forks and execs job->argv inside the backend's groups and starts watching it. On an exec failure
 * returns -errno of execvp (-ENOENT: command not found, -EACCES: not executable) and the failed child
 * has been reaped. */
int guard_spawn(struct guard *g);

/* Supervise a process that is not our child (a registered job): pidfd is taken over and closed with
 * the guard. The root's exit status stays unknown here (its parent reaps it). */
int guard_adopt_pid(struct guard *g, pid_t pid, int pidfd);

/* Supervise the backend's group as it is, with no root process: the job ends when the group is empty. */
int guard_adopt_group(struct guard *g);

/* Ask the job to stop from outside the samples: forward sig (SIGTERM, SIGINT, ...) to every process
 * and, when ladder is set, SIGKILL after the grace. */
void guard_request_stop(struct guard *g, enum policy_reason reason, int sig, bool ladder);

/* Sample now, out of turn (the kernel said something changed: cgroup.events, memory.events, PSI);
 * detail: read every process too (the group may have emptied). */
void guard_poke(struct guard *g, bool detail);

/* Sample now and act on it, before returning (a decision across jobs needs fresh numbers). */
void guard_sample_now(struct guard *g);

/* What a report says of the job g guards: its backend, limits and state; the root's wait_status (-1:
 * unknown) and the exit code memguard returns for it. The caller adds dry_run and a note. */
struct report_info guard_report_info(const struct guard *g, int wait_status, int exit_code);

/* New limits for the ladder (a reload); the kernel ceiling is guard_set_limit's. */
void guard_set_limits(struct guard *g, const struct policy_limits *l);

/* Freeze or thaw the job on request. -errno from the backend. */
int guard_freeze(struct guard *g, bool frozen);

/* Changes the job's ceiling (kernel and ladder). -errno from the backend. */
int guard_set_limit(struct guard *g, uint64_t bytes);

/* The monotonic and realtime clocks in usec, one place for the engine to read them. */
uint64_t guard_now_mono(void);
uint64_t guard_now_realtime(void);
