/* SPDX-License-Identifier: MIT */
/* Pure decisions. Given the limits, what the last sample showed, the ladder's state and the time,
 * say what to do. No I/O, no clock: tests drive it with literal structs and a fake "now". */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Why a job was (or is being) stopped. */
enum policy_reason {
        POLICY_REASON_NONE,
        POLICY_REASON_TOTAL,            /* the job's total crossed kill_threshold x max_bytes */
        POLICY_REASON_PROCESS,          /* one process crossed kill_threshold x max_process_bytes */
        POLICY_REASON_KERNEL_OOM,       /* the kernel OOM-killed inside the job at the hard ceiling */
        POLICY_REASON_INTERRUPT,        /* memguard itself was asked to stop (SIGINT/SIGTERM) */
        POLICY_REASON_REQUEST,          /* an operator asked (memguard kill) */
        POLICY_REASON_HOST_RESERVE,     /* the host ran below its reserve and this was the largest job */
        _POLICY_REASON_MAX,
        _POLICY_REASON_INVALID = -EINVAL,
};

enum policy_stage {
        POLICY_STAGE_RUNNING,
        POLICY_STAGE_TERM_SENT,         /* SIGTERM sent, grace running */
        POLICY_STAGE_KILL_SENT,         /* SIGKILL sent; repeat only after a settle delay */
        _POLICY_STAGE_MAX,
};

enum policy_action {
        POLICY_ACTION_NONE,
        POLICY_ACTION_WARN,
        POLICY_ACTION_TERM,
        POLICY_ACTION_KILL,
        _POLICY_ACTION_MAX,
};

struct policy_limits {
        uint64_t max_bytes;             /* the job's ceiling; 0 = none */
        uint64_t max_process_bytes;     /* one process's ceiling; 0 = none */
        double kill_threshold;          /* the ladder starts at this ratio of a ceiling, (0, 1] */
        double warn_at;                 /* warnings from this ratio of max_bytes; 0 = off */
        uint64_t grace_usec;            /* SIGTERM to SIGKILL */
        uint64_t warn_every_usec;       /* at most one warning per this long */
        uint64_t interval_usec;         /* fixed sampling interval; 0 = adaptive */
        uint64_t interval_max_usec;     /* adaptive: the longest interval; 0 = POLICY_INTERVAL_MAX_USEC */
};

/* Defaults, with the reasons. */
#define POLICY_DEFAULT_KILL_THRESHOLD 0.8                 /* what the ps-polling wrapper did */
#define POLICY_DEFAULT_GRACE_USEC (10 * 1000000ULL)       /* time for a job to flush and exit */
#define POLICY_DEFAULT_WARN_EVERY_USEC (30 * 1000000ULL)  /* enough to notice, not to flood a log */
/* Adaptive sampling: 100 ms when there is plenty of headroom, down to 10 ms as it runs out. At the
 * assumed fill rate below, the job cannot cross the threshold between two samples by more than one
 * interval's worth of growth. */
#define POLICY_INTERVAL_MAX_USEC (100 * 1000ULL)
#define POLICY_INTERVAL_MIN_USEC (10 * 1000ULL)
#define POLICY_ASSUMED_FILL_BYTES_PER_SEC (2ULL << 30)    /* 2 GiB/s: a fast allocator's pace */
/* After SIGKILL the counters lag behind the kernel's reclaim: wait this long before signalling again. */
#define POLICY_KILL_SETTLE_USEC (200 * 1000ULL)

struct policy_state {
        enum policy_stage stage;
        enum policy_reason reason;
        uint64_t term_usec;             /* when SIGTERM went out */
        uint64_t kill_usec;             /* when SIGKILL last went out */
        uint64_t last_warn_usec;
        bool warned;
        pid_t culprit_pid;              /* for POLICY_REASON_PROCESS */
        uint64_t culprit_bytes;         /* the value that crossed */
        uint64_t seen_oom_kills;        /* kernel OOM kills already accounted for */
};

struct policy_input {
        uint64_t total_bytes;           /* the job's working set */
        uint64_t top_process_bytes;     /* the largest process's RSS */
        pid_t top_process_pid;
        uint64_t oom_kills;             /* kernel OOM kills inside the job so far */
        bool processes_left;            /* anything of the job still alive */
};

void policy_limits_init(struct policy_limits *l);
void policy_state_init(struct policy_state *s);

/* Checks limits for consistency; on error *reterr names the offending setting (static string). */
int policy_limits_validate(const struct policy_limits *l, const char **reterr);

/* limit x ratio in bytes: where the ladder starts (ratio kill_threshold) or warnings do (warn_at).
 * The one place this product is computed, so the ladder, its messages and the report agree. */
uint64_t policy_threshold(uint64_t limit, double ratio);

/* May a job's ceiling go from current to wanted (0: none)? Root may set anything; a user may only lower
 * a limit, never raise or remove it. */
enum policy_limit_change {
        POLICY_LIMIT_ALLOWED,
        POLICY_LIMIT_NO_RAISE,
        POLICY_LIMIT_NO_REMOVE,
};
enum policy_limit_change policy_limit_change(uint64_t current, uint64_t wanted, bool root);

/* What a client asked for (0 fields: not asked), applied to l within what l allows: lower ceilings,
 * earlier thresholds, shorter grace. Root may ask for anything. A warning at or past the threshold is
 * dropped. */
void policy_limits_apply_asked(const struct policy_limits *asked, bool root, struct policy_limits *l);

/* The next step of the ladder at time now. Updates state (stage, reason, times). Call once per sample.
 * dry_run: decide and record as usual, the caller simply does not signal. */
enum policy_action policy_decide(const struct policy_limits *l, struct policy_state *s,
                                 const struct policy_input *in, uint64_t now_usec);

/* Start the ladder for a reason from outside the samples (interrupt, operator request). Returns the
 * action to take now (TERM, or KILL when immediate). */
enum policy_action policy_request_stop(const struct policy_limits *l, struct policy_state *s,
                                       enum policy_reason reason, bool immediate, uint64_t now_usec);

/* The root exited and left processes behind: they belong to the job and end with it, on the same
 * ladder. SIGTERM now unless the ladder already started, whatever started it (its grace keeps running
 * from that first SIGTERM: a wrapper such as sh or make exiting must not cut a checkpoint short);
 * SIGKILL once the grace is over, repeated only after the settle delay. The reason, and so the exit
 * code, stays what it was: ending leftovers of a job that exited on its own is not a limit kill. */
enum policy_action policy_leftovers(const struct policy_limits *l, struct policy_state *s, uint64_t now_usec);

/* At the very end, once nothing of the job is left: a kernel OOM kill seen only now still makes the
 * verdict a limit kill, whatever exit status the OOM-killed job produced. */
void policy_final(struct policy_state *s, uint64_t oom_kills);

/* How long until the next sample: the fixed interval, or adaptive from the headroom left below the
 * nearer of the two thresholds (the job's total, its largest process) and the fill rate seen between
 * the last two samples. In the TERM/KILL stages the grace deadline bounds it. */
uint64_t policy_next_interval(const struct policy_limits *l, const struct policy_state *s,
                              uint64_t total_bytes, uint64_t prev_total_bytes, uint64_t top_process_bytes,
                              uint64_t dt_usec, uint64_t now_usec);

/* The exit code "memguard run" returns: the job's own code, 128+N for a signal death, 10 (or
 * limit_exit_code) for a total limit stop, 11 for a per-process limit. wait_status as from waitpid.
 * In a dry run memguard stopped nothing, so the job's own code stands whatever the verdict. */
int policy_exit_code(const struct policy_state *s, int wait_status, int limit_exit_code, bool dry_run);

const char *policy_reason_to_string(enum policy_reason r);
const char *policy_action_to_string(enum policy_action a);

#define POLICY_EXIT_LIMIT 10
#define POLICY_EXIT_PROCESS_LIMIT 11
#define POLICY_EXIT_FAILURE 1
#define POLICY_EXIT_USAGE 2
