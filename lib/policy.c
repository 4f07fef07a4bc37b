/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stddef.h>
#include <sys/wait.h>

#include "macro.h"
#include "policy.h"

void policy_limits_init(struct policy_limits *l) {
        *l = (struct policy_limits) {
                .kill_threshold = POLICY_DEFAULT_KILL_THRESHOLD,
                .grace_usec = POLICY_DEFAULT_GRACE_USEC,
                .warn_every_usec = POLICY_DEFAULT_WARN_EVERY_USEC,
        };
}

void policy_state_init(struct policy_state *s) {
        *s = (struct policy_state) {};
}

int policy_limits_validate(const struct policy_limits *l, const char **reterr) {
        if (!(l->kill_threshold > 0 && l->kill_threshold <= 1)) {
                *reterr = "kill threshold must be a ratio in (0, 1]";
                return -EINVAL;
        }
        if (l->warn_at < 0 || l->warn_at > 1) {
                *reterr = "warn-at must be a ratio in (0, 1]";
                return -EINVAL;
        }
        if (l->warn_at > 0 && l->max_bytes == 0) {
                *reterr = "warn-at needs a memory limit to be a ratio of";
                return -EINVAL;
        }
        if (l->interval_usec > 0 && l->interval_usec < 1000) {
                *reterr = "check interval must be at least 1ms";
                return -EINVAL;
        }
        return 0;
}

uint64_t policy_threshold(uint64_t limit, double ratio) {
        /* A ratio of 1 is the limit to the byte, with no floating point at all: long double holds every
         * uint64_t exactly on x86, but not everywhere (valgrind computes it as a double). */
        if (ratio >= 1.0)
                return limit;
        long double t = (long double) limit * (long double) ratio;
        return t >= (long double) UINT64_MAX ? UINT64_MAX : (uint64_t) t;
}

enum policy_limit_change policy_limit_change(uint64_t current, uint64_t wanted, bool root) {
        if (root)
                return POLICY_LIMIT_ALLOWED;
        /* No ceiling at all is the highest one there is. */
        if (wanted == 0)
                return POLICY_LIMIT_NO_REMOVE;
        if (current > 0 && wanted > current)
                return POLICY_LIMIT_NO_RAISE;
        return POLICY_LIMIT_ALLOWED;
}

void policy_limits_apply_asked(const struct policy_limits *asked, bool root, struct policy_limits *l) {
        if (!asked)
                return;
        if (asked->max_bytes > 0 && policy_limit_change(l->max_bytes, asked->max_bytes, root) == POLICY_LIMIT_ALLOWED)
                l->max_bytes = asked->max_bytes;
        if (asked->max_process_bytes > 0 &&
            policy_limit_change(l->max_process_bytes, asked->max_process_bytes, root) == POLICY_LIMIT_ALLOWED)
                l->max_process_bytes = asked->max_process_bytes;
        /* An earlier threshold and a shorter grace stop the job sooner: anyone may ask for them. */
        if (asked->kill_threshold > 0 && (root || asked->kill_threshold < l->kill_threshold))
                l->kill_threshold = asked->kill_threshold;
        if (asked->warn_at > 0)
                l->warn_at = asked->warn_at;
        if (asked->grace_usec > 0 && (root || asked->grace_usec < l->grace_usec))
                l->grace_usec = asked->grace_usec;
        /* A job sampled rarely is a job host-reserve cannot see: no longer than the profile's or the
         * daemon's interval, whichever is longer. */
        if (asked->interval_usec > 0) {
                uint64_t most = MAX(l->interval_usec, l->interval_max_usec);
                l->interval_usec = most > 0 ? MIN(asked->interval_usec, most) : asked->interval_usec;
        }
        if (l->warn_at >= l->kill_threshold)
                l->warn_at = 0;
}

static enum policy_action policy_start_term(struct policy_state *s, enum policy_reason reason, uint64_t now) {
        s->stage = POLICY_STAGE_TERM_SENT;
        s->reason = reason;
        s->term_usec = now;
        return POLICY_ACTION_TERM;
}

/* The ladder after its first SIGTERM, with processes left: SIGKILL once the grace is over, and again
 * only after the settle delay (SIGKILL cannot be ignored, but counters lag and new forks may slip in).
 * One mechanism for the limit ladder and for what a main process leaves behind. */
static enum policy_action policy_ladder_step(const struct policy_limits *l, struct policy_state *s, uint64_t now) {
        switch (s->stage) {
        case POLICY_STAGE_TERM_SENT:
                if (now - s->term_usec < l->grace_usec)
                        return POLICY_ACTION_NONE;
                s->stage = POLICY_STAGE_KILL_SENT;
                s->kill_usec = now;
                return POLICY_ACTION_KILL;
        case POLICY_STAGE_KILL_SENT:
                if (now - s->kill_usec < POLICY_KILL_SETTLE_USEC)
                        return POLICY_ACTION_NONE;
                s->kill_usec = now;
                return POLICY_ACTION_KILL;
        default:
                return POLICY_ACTION_NONE;
        }
}

enum policy_action policy_decide(const struct policy_limits *l, struct policy_state *s,
                                 const struct policy_input *in, uint64_t now) {
        bool new_oom = in->oom_kills > s->seen_oom_kills;
        s->seen_oom_kills = MAX(s->seen_oom_kills, in->oom_kills);

        switch (s->stage) {
        case POLICY_STAGE_RUNNING:
                /* The kernel already acted at the hard ceiling: the job is in trouble, end the rest of it
                 * gracefully, and make the verdict the limit, not whatever exit status follows. */
                if (new_oom) {
                        s->culprit_bytes = in->total_bytes;
                        return policy_start_term(s, POLICY_REASON_KERNEL_OOM, now);
                }
                if (l->max_bytes > 0 && in->total_bytes >= policy_threshold(l->max_bytes, l->kill_threshold)) {
                        s->culprit_bytes = in->total_bytes;
                        s->culprit_pid = 0;
                        return policy_start_term(s, POLICY_REASON_TOTAL, now);
                }
                if (l->max_process_bytes > 0 &&
                    in->top_process_bytes >= policy_threshold(l->max_process_bytes, l->kill_threshold)) {
                        s->culprit_bytes = in->top_process_bytes;
                        s->culprit_pid = in->top_process_pid;
                        return policy_start_term(s, POLICY_REASON_PROCESS, now);
                }
                if (l->warn_at > 0 && l->max_bytes > 0 &&
                    in->total_bytes >= policy_threshold(l->max_bytes, l->warn_at) &&
                    (!s->warned || now - s->last_warn_usec >= l->warn_every_usec)) {
                        s->warned = true;
                        s->last_warn_usec = now;
                        return POLICY_ACTION_WARN;
                }
                return POLICY_ACTION_NONE;

        case POLICY_STAGE_TERM_SENT:
                if (new_oom && s->reason == POLICY_REASON_NONE)
                        s->reason = POLICY_REASON_KERNEL_OOM;
                return in->processes_left ? policy_ladder_step(l, s, now) : POLICY_ACTION_NONE;

        case POLICY_STAGE_KILL_SENT:
                return in->processes_left ? policy_ladder_step(l, s, now) : POLICY_ACTION_NONE;

        default:
                return POLICY_ACTION_NONE;
        }
}

enum policy_action policy_request_stop(const struct policy_limits *l, struct policy_state *s,
                                       enum policy_reason reason, bool immediate, uint64_t now) {
        if (s->reason == POLICY_REASON_NONE)
                s->reason = reason;
        if (immediate || s->stage == POLICY_STAGE_KILL_SENT) {
                s->stage = POLICY_STAGE_KILL_SENT;
                s->kill_usec = now;
                return POLICY_ACTION_KILL;
        }
        if (s->stage == POLICY_STAGE_TERM_SENT)
                return POLICY_ACTION_NONE;  /* the grace is already running */
        s->stage = POLICY_STAGE_TERM_SENT;
        s->term_usec = now;
        return POLICY_ACTION_TERM;
}

enum policy_action policy_leftovers(const struct policy_limits *l, struct policy_state *s, uint64_t now) {
        switch (s->stage) {
        case POLICY_STAGE_RUNNING:
                s->stage = POLICY_STAGE_TERM_SENT;
                s->term_usec = now;
                return POLICY_ACTION_TERM;
        default:
                return policy_ladder_step(l, s, now);
        }
}

void policy_final(struct policy_state *s, uint64_t oom_kills) {
        if (oom_kills > s->seen_oom_kills && s->reason == POLICY_REASON_NONE)
                s->reason = POLICY_REASON_KERNEL_OOM;
        s->seen_oom_kills = MAX(s->seen_oom_kills, oom_kills);
}

/* How long the headroom below threshold lasts at rate, in usec; 0 at or past it. */
static double policy_headroom_usec(uint64_t value, uint64_t threshold, double rate) {
        if (value >= threshold)
                return 0;
        return (double) (threshold - value) / rate * 1e6;
}

uint64_t policy_next_interval(const struct policy_limits *l, const struct policy_state *s,
                              uint64_t total_bytes, uint64_t prev_total_bytes, uint64_t top_process_bytes,
                              uint64_t dt_usec, uint64_t now) {
        uint64_t interval;

        if (l->interval_usec > 0)
                interval = l->interval_usec;
        else {
                /* Like earlyoom: sleep no longer than the headroom lasts at the faster of the observed and
                 * the assumed fill rate, for whichever threshold is nearer. */
                double rate = (double) POLICY_ASSUMED_FILL_BYTES_PER_SEC;
                if (dt_usec > 0 && total_bytes > prev_total_bytes) {
                        double seen = (double) (total_bytes - prev_total_bytes) * 1e6 / (double) dt_usec;
                        rate = MAX(rate, seen);
                }
                uint64_t longest = l->interval_max_usec > 0 ? MAX(l->interval_max_usec, POLICY_INTERVAL_MIN_USEC)
                                                            : POLICY_INTERVAL_MAX_USEC;
                double headroom = (double) longest;
                if (l->max_bytes > 0)
                        headroom = MIN(headroom, policy_headroom_usec(total_bytes,
                                                                      policy_threshold(l->max_bytes, l->kill_threshold), rate));
                if (l->max_process_bytes > 0)
                        headroom = MIN(headroom, policy_headroom_usec(top_process_bytes,
                                                                      policy_threshold(l->max_process_bytes, l->kill_threshold),
                                                                      rate));
                interval = (uint64_t) CLAMP(headroom, (double) POLICY_INTERVAL_MIN_USEC, (double) longest);
        }

        /* While the ladder runs, wake up no later than its next step is due. */
        if (s->stage == POLICY_STAGE_TERM_SENT) {
                uint64_t due = s->term_usec + l->grace_usec;
                uint64_t left = due > now ? due - now : 0;
                interval = MIN(interval, MAX(left, POLICY_INTERVAL_MIN_USEC));
        } else if (s->stage == POLICY_STAGE_KILL_SENT)
                interval = MIN(interval, POLICY_KILL_SETTLE_USEC);
        return interval;
}

int policy_exit_code(const struct policy_state *s, int wait_status, int limit_exit_code, bool dry_run) {
        switch (dry_run ? POLICY_REASON_NONE : s->reason) {
        case POLICY_REASON_TOTAL:
        case POLICY_REASON_KERNEL_OOM:
        case POLICY_REASON_HOST_RESERVE:
                return limit_exit_code > 0 ? limit_exit_code : POLICY_EXIT_LIMIT;
        case POLICY_REASON_PROCESS:
                return POLICY_EXIT_PROCESS_LIMIT;
        default:
                break;
        }
        if (wait_status < 0)
                return POLICY_EXIT_FAILURE;
        if (WIFEXITED(wait_status))
                return WEXITSTATUS(wait_status);
        if (WIFSIGNALED(wait_status))
                return 128 + WTERMSIG(wait_status);
        return POLICY_EXIT_FAILURE;
}

static const char *const policy_reason_table[_POLICY_REASON_MAX] = {
        [POLICY_REASON_NONE] = "none",
        [POLICY_REASON_TOTAL] = "total-limit",
        [POLICY_REASON_PROCESS] = "process-limit",
        [POLICY_REASON_KERNEL_OOM] = "kernel-oom",
        [POLICY_REASON_INTERRUPT] = "interrupted",
        [POLICY_REASON_REQUEST] = "requested",
        [POLICY_REASON_HOST_RESERVE] = "host-reserve",
};

const char *policy_reason_to_string(enum policy_reason r) {
        return r >= 0 && r < _POLICY_REASON_MAX ? policy_reason_table[r] : NULL;
}

static const char *const policy_action_table[_POLICY_ACTION_MAX] = {
        [POLICY_ACTION_NONE] = "none",
        [POLICY_ACTION_WARN] = "warn",
        [POLICY_ACTION_TERM] = "term",
        [POLICY_ACTION_KILL] = "kill",
};

const char *policy_action_to_string(enum policy_action a) {
        return a >= 0 && a < _POLICY_ACTION_MAX ? policy_action_table[a] : NULL;
}
