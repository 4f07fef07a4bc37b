/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "macro.h"
#include "policy.h"

/* 1000 MiB x 0.8, exactly: 838860800 is representable, so the threshold has no rounding to argue about. */
#define MAX_BYTES (1000 * MIB)
#define THRESHOLD (MAX_BYTES / 5 * 4)
#define GRACE (10 * USEC_PER_SEC)
#define WARN_EVERY (30 * USEC_PER_SEC)

/* The policy reads no clock: tests move this one by hand, so every deadline is checked to the microsecond. */
struct fake_clock {
        uint64_t now;
};

static void clock_advance(struct fake_clock *c, uint64_t usec) {
        c->now += usec;
}

static struct policy_limits total_limits(void) {
        return (struct policy_limits) {
                .max_bytes = MAX_BYTES,
                .kill_threshold = 0.8,
                .grace_usec = GRACE,
                .warn_every_usec = WARN_EVERY,
        };
}

static struct policy_input sample(uint64_t total) {
        return (struct policy_input) {
                .total_bytes = total,
                .top_process_bytes = total,
                .top_process_pid = 4242,
                .processes_left = true,
        };
}

static enum policy_action decide(const struct policy_limits *l, struct policy_state *s, uint64_t total,
                                 const struct fake_clock *c) {
        struct policy_input in = sample(total);
        return policy_decide(l, s, &in, c->now);
}

static void test_defaults(void **state) {
        struct policy_limits l;
        struct policy_state s;
        const char *err = NULL;

        policy_limits_init(&l);
        assert_true(l.kill_threshold == POLICY_DEFAULT_KILL_THRESHOLD);
        assert_int_equal(l.grace_usec, POLICY_DEFAULT_GRACE_USEC);
        assert_int_equal(l.warn_every_usec, POLICY_DEFAULT_WARN_EVERY_USEC);
        assert_int_equal(l.max_bytes, 0);
        assert_int_equal(l.interval_usec, 0);
        /* the defaults themselves must pass validation, or "memguard run" with no options would refuse */
        assert_int_equal(policy_limits_validate(&l, &err), 0);

        policy_state_init(&s);
        assert_int_equal(s.stage, POLICY_STAGE_RUNNING);
        assert_int_equal(s.reason, POLICY_REASON_NONE);
}

static void test_below_threshold(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 1000 };

        const uint64_t totals[] = { 0, 1, MAX_BYTES / 2, THRESHOLD - 1 };
        for (size_t i = 0; i < ELEMENTSOF(totals); i++) {
                assert_int_equal(decide(&l, &s, totals[i], &c), POLICY_ACTION_NONE);
                clock_advance(&c, 100 * USEC_PER_MSEC);
        }
        assert_int_equal(s.stage, POLICY_STAGE_RUNNING);
        assert_int_equal(s.reason, POLICY_REASON_NONE);

        /* no limit at all: nothing is ever too much */
        l.max_bytes = 0;
        assert_int_equal(decide(&l, &s, UINT64_MAX, &c), POLICY_ACTION_NONE);
        assert_int_equal(s.stage, POLICY_STAGE_RUNNING);
}

static void test_term_at_threshold(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 5 * USEC_PER_SEC };

        assert_int_equal(decide(&l, &s, THRESHOLD - 1, &c), POLICY_ACTION_NONE);
        clock_advance(&c, 50 * USEC_PER_MSEC);
        /* exactly at the threshold counts as crossing it */
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_TERM);
        assert_int_equal(s.stage, POLICY_STAGE_TERM_SENT);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);
        assert_int_equal(s.term_usec, c.now);
        assert_int_equal(s.culprit_bytes, THRESHOLD);
        assert_int_equal(s.culprit_pid, 0);

        /* a ratio of 1 stops at the limit itself, not a byte before */
        l.kill_threshold = 1.0;
        s = (struct policy_state) {};
        assert_int_equal(decide(&l, &s, MAX_BYTES - 1, &c), POLICY_ACTION_NONE);
        assert_int_equal(decide(&l, &s, MAX_BYTES, &c), POLICY_ACTION_TERM);

        /* a limit so large that limit x ratio does not fit must not wrap around to a small threshold */
        l.max_bytes = UINT64_MAX;
        l.kill_threshold = 1.0;
        s = (struct policy_state) {};
        assert_int_equal(decide(&l, &s, 64 * GIB, &c), POLICY_ACTION_NONE);
}

static void test_ladder(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 1 };

        assert_int_equal(decide(&l, &s, THRESHOLD + MIB, &c), POLICY_ACTION_TERM);
        uint64_t term = c.now;

        /* SIGTERM goes out once: later samples, still over, wait out the grace quietly */
        for (int i = 0; i < 50; i++) {
                clock_advance(&c, 100 * USEC_PER_MSEC);
                if (c.now - term >= GRACE)
                        break;
                assert_int_equal(decide(&l, &s, THRESHOLD + 2 * MIB, &c), POLICY_ACTION_NONE);
        }
        c.now = term + GRACE - 1;
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_NONE);
        assert_int_equal(s.stage, POLICY_STAGE_TERM_SENT);

        /* grace over, processes left: SIGKILL */
        c.now = term + GRACE;
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_KILL);
        assert_int_equal(s.stage, POLICY_STAGE_KILL_SENT);
        assert_int_equal(s.kill_usec, c.now);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);

        /* again only once the last SIGKILL had time to take effect */
        uint64_t kill = c.now;
        c.now = kill + POLICY_KILL_SETTLE_USEC - 1;
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_NONE);
        c.now = kill + POLICY_KILL_SETTLE_USEC;
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_KILL);
        assert_int_equal(s.kill_usec, c.now);
        clock_advance(&c, POLICY_KILL_SETTLE_USEC / 2);
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_NONE);

        /* everything exited: nothing more, however long it is */
        struct policy_input gone = sample(THRESHOLD);
        gone.processes_left = false;
        for (int i = 0; i < 5; i++) {
                clock_advance(&c, USEC_PER_SEC);
                assert_int_equal(policy_decide(&l, &s, &gone, c.now), POLICY_ACTION_NONE);
        }
        /* the verdict survives the end */
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);
}

static void test_no_kill_when_all_exited(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 1 };

        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_TERM);
        /* the job obeyed SIGTERM within the grace: no SIGKILL, not at the deadline nor after it */
        struct policy_input gone = sample(0);
        gone.processes_left = false;
        c.now += GRACE;
        assert_int_equal(policy_decide(&l, &s, &gone, c.now), POLICY_ACTION_NONE);
        c.now += GRACE;
        assert_int_equal(policy_decide(&l, &s, &gone, c.now), POLICY_ACTION_NONE);
        assert_int_equal(s.stage, POLICY_STAGE_TERM_SENT);
}

static void test_process_limit(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 7 };
        struct policy_input in = {
                .total_bytes = 300 * MIB,
                .top_process_bytes = 80 * MIB - 1,
                .top_process_pid = 31337,
                .processes_left = true,
        };

        l.max_process_bytes = 100 * MIB;
        assert_int_equal(policy_decide(&l, &s, &in, c.now), POLICY_ACTION_NONE);

        in.top_process_bytes = 80 * MIB;
        assert_int_equal(policy_decide(&l, &s, &in, c.now), POLICY_ACTION_TERM);
        assert_int_equal(s.reason, POLICY_REASON_PROCESS);
        assert_int_equal(s.culprit_pid, 31337);
        assert_int_equal(s.culprit_bytes, 80 * MIB);

        /* with no job limit the per-process one works alone */
        l.max_bytes = 0;
        s = (struct policy_state) {};
        in.total_bytes = 64 * GIB;
        assert_int_equal(policy_decide(&l, &s, &in, c.now), POLICY_ACTION_TERM);
        assert_int_equal(s.reason, POLICY_REASON_PROCESS);
}

static void test_total_precedes_process(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct policy_input in = {
                .total_bytes = THRESHOLD + 5,
                .top_process_bytes = 90 * MIB,
                .top_process_pid = 31337,
                .processes_left = true,
        };

        l.max_process_bytes = 100 * MIB;
        assert_int_equal(policy_decide(&l, &s, &in, 1), POLICY_ACTION_TERM);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);
        assert_int_equal(s.culprit_pid, 0);
        assert_int_equal(s.culprit_bytes, THRESHOLD + 5);
}

static void test_warn(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 100 };
        uint64_t warn = MAX_BYTES / 2;

        l.warn_at = 0.5;
        assert_int_equal(decide(&l, &s, warn - 1, &c), POLICY_ACTION_NONE);
        assert_int_equal(decide(&l, &s, warn, &c), POLICY_ACTION_WARN);
        assert_int_equal(s.stage, POLICY_STAGE_RUNNING);
        assert_int_equal(s.last_warn_usec, c.now);
        uint64_t first = c.now;

        /* at most one warning per warn_every */
        for (int i = 0; i < 20; i++) {
                clock_advance(&c, USEC_PER_SEC);
                assert_int_equal(decide(&l, &s, warn + MIB, &c), POLICY_ACTION_NONE);
        }
        c.now = first + WARN_EVERY - 1;
        assert_int_equal(decide(&l, &s, warn + MIB, &c), POLICY_ACTION_NONE);
        c.now = first + WARN_EVERY;
        assert_int_equal(decide(&l, &s, warn + MIB, &c), POLICY_ACTION_WARN);

        /* over the kill threshold it is a TERM, not yet another warning */
        clock_advance(&c, 2 * WARN_EVERY);
        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_TERM);

        /* warn_at 0 is off */
        l.warn_at = 0;
        s = (struct policy_state) {};
        assert_int_equal(decide(&l, &s, THRESHOLD - 1, &c), POLICY_ACTION_NONE);
}

static void test_kernel_oom(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 1 };
        struct policy_input in = sample(MIB);

        /* kills counted before are not news */
        s.seen_oom_kills = 2;
        in.oom_kills = 2;
        assert_int_equal(policy_decide(&l, &s, &in, c.now), POLICY_ACTION_NONE);

        in.oom_kills = 3;
        assert_int_equal(policy_decide(&l, &s, &in, c.now), POLICY_ACTION_TERM);
        assert_int_equal(s.reason, POLICY_REASON_KERNEL_OOM);
        assert_int_equal(s.seen_oom_kills, 3);
        assert_int_equal(s.stage, POLICY_STAGE_TERM_SENT);

        /* the ladder goes on as for any other reason, and the reason stays */
        in.oom_kills = 4;
        clock_advance(&c, GRACE);
        assert_int_equal(policy_decide(&l, &s, &in, c.now), POLICY_ACTION_KILL);
        assert_int_equal(s.reason, POLICY_REASON_KERNEL_OOM);
        assert_int_equal(s.seen_oom_kills, 4);

        /* the kernel acting needs no limit of memguard's own */
        l.max_bytes = 0;
        s = (struct policy_state) {};
        in = sample(0);
        in.oom_kills = 1;
        assert_int_equal(policy_decide(&l, &s, &in, 1), POLICY_ACTION_TERM);
        assert_int_equal(s.reason, POLICY_REASON_KERNEL_OOM);
}

static void test_final(void **state) {
        struct policy_state s = {};

        /* nothing new: no verdict */
        policy_final(&s, 0);
        assert_int_equal(s.reason, POLICY_REASON_NONE);

        /* an OOM kill seen only at the very end makes it a limit stop */
        policy_final(&s, 1);
        assert_int_equal(s.reason, POLICY_REASON_KERNEL_OOM);
        assert_int_equal(s.seen_oom_kills, 1);

        /* but never replaces a reason already given */
        s = (struct policy_state) { .reason = POLICY_REASON_TOTAL, .stage = POLICY_STAGE_KILL_SENT };
        policy_final(&s, 5);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);
        assert_int_equal(s.seen_oom_kills, 5);

        s = (struct policy_state) { .reason = POLICY_REASON_INTERRUPT };
        policy_final(&s, 1);
        assert_int_equal(s.reason, POLICY_REASON_INTERRUPT);

        /* kills already answered during the run are not new at the end */
        s = (struct policy_state) { .seen_oom_kills = 2 };
        policy_final(&s, 2);
        assert_int_equal(s.reason, POLICY_REASON_NONE);
}

static void test_request_stop(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};

        assert_int_equal(policy_request_stop(&l, &s, POLICY_REASON_INTERRUPT, false, 100), POLICY_ACTION_TERM);
        assert_int_equal(s.stage, POLICY_STAGE_TERM_SENT);
        assert_int_equal(s.reason, POLICY_REASON_INTERRUPT);
        assert_int_equal(s.term_usec, 100);

        /* a second Ctrl-C during the grace does not restart it */
        assert_int_equal(policy_request_stop(&l, &s, POLICY_REASON_INTERRUPT, false, 200), POLICY_ACTION_NONE);
        assert_int_equal(s.term_usec, 100);

        /* the grace of a requested stop ends in SIGKILL like any other */
        struct policy_input in = sample(0);
        assert_int_equal(policy_decide(&l, &s, &in, 100 + GRACE), POLICY_ACTION_KILL);

        /* immediate: straight to SIGKILL */
        s = (struct policy_state) {};
        assert_int_equal(policy_request_stop(&l, &s, POLICY_REASON_REQUEST, true, 300), POLICY_ACTION_KILL);
        assert_int_equal(s.stage, POLICY_STAGE_KILL_SENT);
        assert_int_equal(s.reason, POLICY_REASON_REQUEST);
        assert_int_equal(s.kill_usec, 300);

        /* an interrupt while the limit ladder runs keeps the limit as the verdict */
        s = (struct policy_state) {};
        assert_int_equal(decide(&l, &s, THRESHOLD, &(struct fake_clock) { 1 }), POLICY_ACTION_TERM);
        assert_int_equal(policy_request_stop(&l, &s, POLICY_REASON_INTERRUPT, false, 2), POLICY_ACTION_NONE);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);
        assert_int_equal(policy_request_stop(&l, &s, POLICY_REASON_INTERRUPT, true, 3), POLICY_ACTION_KILL);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);
}

/* The root exited with processes left, the ladder not started: SIGTERM to them now, SIGKILL only after
 * the job's whole grace, and the verdict stays the job's own. */
static void test_leftovers_fresh(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};

        assert_int_equal(policy_leftovers(&l, &s, 1000), POLICY_ACTION_TERM);
        assert_int_equal(s.stage, POLICY_STAGE_TERM_SENT);
        assert_int_equal(s.term_usec, 1000);
        assert_int_equal(s.reason, POLICY_REASON_NONE);

        assert_int_equal(policy_leftovers(&l, &s, 1000 + USEC_PER_SEC), POLICY_ACTION_NONE);
        assert_int_equal(policy_leftovers(&l, &s, 1000 + GRACE - 1), POLICY_ACTION_NONE);
        assert_int_equal(policy_leftovers(&l, &s, 1000 + GRACE), POLICY_ACTION_KILL);
        assert_int_equal(s.stage, POLICY_STAGE_KILL_SENT);
        assert_int_equal(policy_leftovers(&l, &s, 1000 + GRACE + POLICY_KILL_SETTLE_USEC - 1), POLICY_ACTION_NONE);
        assert_int_equal(policy_leftovers(&l, &s, 1000 + GRACE + POLICY_KILL_SETTLE_USEC), POLICY_ACTION_KILL);
        assert_int_equal(s.reason, POLICY_REASON_NONE);
        assert_int_equal(policy_exit_code(&s, 0, 0, false), 0);
}

/* The ladder started (threshold, or a forwarded SIGTERM) and then the main process, a wrapper such as
 * sh, exited at once: no second SIGTERM, and the grace still runs from the first one. */
static void test_leftovers_keep_grace(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        struct fake_clock c = { 1 };

        assert_int_equal(decide(&l, &s, THRESHOLD, &c), POLICY_ACTION_TERM);
        uint64_t term = c.now;
        for (uint64_t t = term + 1; t < term + GRACE; t += 500 * USEC_PER_MSEC)
                assert_int_equal(policy_leftovers(&l, &s, t), POLICY_ACTION_NONE);
        assert_int_equal(s.term_usec, term);
        assert_int_equal(policy_leftovers(&l, &s, term + GRACE), POLICY_ACTION_KILL);
        assert_int_equal(s.reason, POLICY_REASON_TOTAL);

        s = (struct policy_state) {};
        assert_int_equal(policy_request_stop(&l, &s, POLICY_REASON_INTERRUPT, false, 50), POLICY_ACTION_TERM);
        assert_int_equal(policy_leftovers(&l, &s, 50 + GRACE - 1), POLICY_ACTION_NONE);
        assert_int_equal(policy_leftovers(&l, &s, 50 + GRACE), POLICY_ACTION_KILL);
        assert_int_equal(s.reason, POLICY_REASON_INTERRUPT);
}

static void test_interval_fixed(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};

        l.interval_usec = 250 * USEC_PER_MSEC;
        /* whatever the headroom and the rate */
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, 0), 250 * USEC_PER_MSEC);
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD, 0, 0, 1000, 0), 250 * USEC_PER_MSEC);
        assert_int_equal(policy_next_interval(&l, &s, MAX_BYTES, MAX_BYTES - GIB, 0, 1, 0), 250 * USEC_PER_MSEC);

        /* a fixed interval longer than the adaptive maximum is still honoured */
        l.interval_usec = 2 * USEC_PER_SEC;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, 0), 2 * USEC_PER_SEC);
}

static void test_interval_adaptive_bounds(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};

        /* plenty of headroom: the slow end */
        l.max_bytes = 64 * GIB;
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, 0, 100000, 0), POLICY_INTERVAL_MAX_USEC);
        /* no limit at all: the slow end too */
        l.max_bytes = 0;
        assert_int_equal(policy_next_interval(&l, &s, 64 * GIB, 0, 0, 100000, 0), POLICY_INTERVAL_MAX_USEC);

        /* at and over the threshold: the fast end */
        l = total_limits();
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD, THRESHOLD, 0, 10000, 0), POLICY_INTERVAL_MIN_USEC);
        assert_int_equal(policy_next_interval(&l, &s, MAX_BYTES * 2, 0, 0, 10000, 0), POLICY_INTERVAL_MIN_USEC);
        /* a byte short of it is just as urgent */
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD - 1, THRESHOLD - 1, 0, 10000, 0),
                         POLICY_INTERVAL_MIN_USEC);

        /* in between: the time the headroom lasts at the assumed rate; 100 MiB at 2 GiB/s = 48828.125 us */
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD - 100 * MIB, 0, 0, 0, 0), 48828);
}

static void test_interval_monotonic(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        uint64_t prev = UINT64_MAX;
        bool saw_between = false;

        /* the closer to the threshold, never a longer sleep */
        for (uint64_t total = 0; total <= THRESHOLD + 10 * MIB; total += MIB) {
                uint64_t i = policy_next_interval(&l, &s, total, total, 0, 10000, 0);
                assert_true(i <= prev);
                assert_in_range(i, POLICY_INTERVAL_MIN_USEC, POLICY_INTERVAL_MAX_USEC);
                if (i > POLICY_INTERVAL_MIN_USEC && i < POLICY_INTERVAL_MAX_USEC)
                        saw_between = true;
                prev = i;
        }
        assert_int_equal(prev, POLICY_INTERVAL_MIN_USEC);
        assert_true(saw_between);
}

static void test_interval_observed_rate(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        uint64_t total = THRESHOLD - 400 * MIB;

        /* the assumed 2 GiB/s makes 400 MiB last 195 ms: capped at the maximum */
        assert_int_equal(policy_next_interval(&l, &s, total, total, 0, 10000, 0), POLICY_INTERVAL_MAX_USEC);
        /* 80 MiB in the last 10 ms is 8000 MiB/s: 400 MiB last 50 ms */
        assert_int_equal(policy_next_interval(&l, &s, total, total - 80 * MIB, 0, 10000, 0), 50000);
        /* slower than assumed: the assumed rate still rules */
        assert_int_equal(policy_next_interval(&l, &s, total, total - MIB, 0, USEC_PER_SEC, 0),
                         POLICY_INTERVAL_MAX_USEC);
        /* shrinking: no rate to speak of */
        assert_int_equal(policy_next_interval(&l, &s, total, total + GIB, 0, 10000, 0), POLICY_INTERVAL_MAX_USEC);
        /* 350 MiB in the last millisecond: the headroom lasts ~1 ms, but no sleep is shorter than the minimum */
        assert_int_equal(policy_next_interval(&l, &s, total, total - 350 * MIB, 0, 1000, 0), POLICY_INTERVAL_MIN_USEC);
}

static void test_interval_process_headroom(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};
        uint64_t proc_threshold = 100 * MIB / 5 * 4;

        /* a per-process limit alone: its headroom paces the sampling as the job's would */
        l.max_bytes = 0;
        l.max_process_bytes = 64 * GIB;
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, GIB, 10000, 0), POLICY_INTERVAL_MAX_USEC);
        l.max_process_bytes = 100 * MIB;
        /* 80 MiB of headroom from nothing: 39062.5 us at 2 GiB/s */
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, 0, 10000, 0), 39062);
        /* 10 MiB short at 2 GiB/s: 4882.8 us, so the minimum */
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, proc_threshold - 10 * MIB, 10000, 0),
                         POLICY_INTERVAL_MIN_USEC);
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, proc_threshold, 10000, 0), POLICY_INTERVAL_MIN_USEC);

        l.max_process_bytes = 2 * GIB;
        proc_threshold = 2 * GIB / 5 * 4;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, proc_threshold - 100 * MIB, 0, 0), 48828);

        /* both limits: whichever threshold is nearer */
        l = total_limits();
        l.max_process_bytes = 2 * GIB;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, proc_threshold - 100 * MIB, 0, 0), 48828);
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD - 100 * MIB, 0, 0, 0, 0), 48828);
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD - 100 * MIB, 0, proc_threshold, 0, 0),
                         POLICY_INTERVAL_MIN_USEC);
}

static void test_interval_adaptive_longest(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {};

        /* the daemon watches many idle jobs: with plenty of headroom it may sleep longer than 100 ms */
        l.interval_max_usec = USEC_PER_SEC;
        l.max_bytes = 64 * GIB;
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, 0, 100000, 0), USEC_PER_SEC);
        l.max_bytes = 0;
        assert_int_equal(policy_next_interval(&l, &s, GIB, GIB, 0, 100000, 0), USEC_PER_SEC);

        /* but the headroom still rules once it runs short: 100 MiB at 2 GiB/s, then the minimum */
        l = total_limits();
        l.interval_max_usec = USEC_PER_SEC;
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD - 100 * MIB, 0, 0, 0, 0), 48828);
        assert_int_equal(policy_next_interval(&l, &s, THRESHOLD, 0, 0, 0, 0), POLICY_INTERVAL_MIN_USEC);

        /* a longest interval below the minimum is the minimum, never a busy loop */
        l.interval_max_usec = 1000;
        l.max_bytes = 0;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, 0), POLICY_INTERVAL_MIN_USEC);

        /* a fixed interval is not adaptive: the longest does not apply */
        l.interval_usec = 3 * USEC_PER_SEC;
        l.interval_max_usec = USEC_PER_SEC;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, 0), 3 * USEC_PER_SEC);
}

static void test_interval_ladder(void **state) {
        struct policy_limits l = total_limits();
        struct policy_state s = {
                .stage = POLICY_STAGE_TERM_SENT,
                .reason = POLICY_REASON_TOTAL,
                .term_usec = 10 * USEC_PER_SEC,
        };
        uint64_t term = s.term_usec;

        /* a long fixed interval must not sleep through the end of the grace */
        l.interval_usec = USEC_PER_SEC;
        l.grace_usec = 300 * USEC_PER_MSEC;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term), 300 * USEC_PER_MSEC);
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term + 250 * USEC_PER_MSEC), 50 * USEC_PER_MSEC);
        /* never a busy loop, not even at or past the deadline */
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term + 299 * USEC_PER_MSEC),
                         POLICY_INTERVAL_MIN_USEC);
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term + USEC_PER_SEC), POLICY_INTERVAL_MIN_USEC);
        /* a grace longer than the interval: the interval */
        l.grace_usec = 10 * USEC_PER_SEC;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term), USEC_PER_SEC);

        /* adaptive and well below the threshold (a per-process stop): the grace still bounds it */
        l.interval_usec = 0;
        l.grace_usec = 30 * USEC_PER_MSEC;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term), 30 * USEC_PER_MSEC);

        /* after SIGKILL: back when the settle delay is over */
        s.stage = POLICY_STAGE_KILL_SENT;
        l.interval_usec = USEC_PER_SEC;
        assert_int_equal(policy_next_interval(&l, &s, 0, 0, 0, 0, term), POLICY_KILL_SETTLE_USEC);
}

static void test_exit_code(void **state) {
        struct policy_state s = {};

        /* nothing stopped the job: its own status */
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 0), 0, false), 0);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(7, 0), 0, false), 7);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 9), 0, false), 137);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 15), 0, false), 143);
        /* a limit code given for limit stops does not change anything else */
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(7, 0), 137, false), 7);
        /* no status at all (wait failed) */
        assert_int_equal(policy_exit_code(&s, -1, 0, false), POLICY_EXIT_FAILURE);

        /* the limit verdict wins over whatever the stopped job returned */
        s.reason = POLICY_REASON_TOTAL;
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 15), 0, false), POLICY_EXIT_LIMIT);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 0), 0, false), 10);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 9), 137, false), 137);

        s.reason = POLICY_REASON_PROCESS;
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 15), 0, false), POLICY_EXIT_PROCESS_LIMIT);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(1, 0), 0, false), 11);

        s.reason = POLICY_REASON_KERNEL_OOM;
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 9), 0, false), 10);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 0), 137, false), 137);

        /* stopped on request: what the job made of it */
        s.reason = POLICY_REASON_INTERRUPT;
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(130, 0), 0, false), 130);
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 15), 0, false), 143);
        s.reason = POLICY_REASON_REQUEST;
        assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 9), 0, false), 137);

        /* a dry run stopped nothing: the job's own code, whatever the verdict */
        const enum policy_reason reasons[] = { POLICY_REASON_TOTAL, POLICY_REASON_PROCESS, POLICY_REASON_KERNEL_OOM };
        for (size_t i = 0; i < ELEMENTSOF(reasons); i++) {
                s.reason = reasons[i];
                assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 0), 0, true), 0);
                assert_int_equal(policy_exit_code(&s, W_EXITCODE(3, 0), 137, true), 3);
                assert_int_equal(policy_exit_code(&s, W_EXITCODE(0, 9), 0, true), 137);
        }
}

/* A user may only lower a ceiling: never raise it, never remove it; root may do either. */
static void test_limit_change(void **state) {
        assert_int_equal(policy_limit_change(MAX_BYTES, MAX_BYTES / 2, false), POLICY_LIMIT_ALLOWED);
        assert_int_equal(policy_limit_change(MAX_BYTES, MAX_BYTES, false), POLICY_LIMIT_ALLOWED);
        assert_int_equal(policy_limit_change(MAX_BYTES, MAX_BYTES + 1, false), POLICY_LIMIT_NO_RAISE);
        assert_int_equal(policy_limit_change(MAX_BYTES, 0, false), POLICY_LIMIT_NO_REMOVE);
        /* No ceiling yet: any ceiling lowers it. */
        assert_int_equal(policy_limit_change(0, MAX_BYTES, false), POLICY_LIMIT_ALLOWED);
        assert_int_equal(policy_limit_change(0, 0, false), POLICY_LIMIT_NO_REMOVE);
        assert_int_equal(policy_limit_change(MAX_BYTES, MAX_BYTES * 2, true), POLICY_LIMIT_ALLOWED);
        assert_int_equal(policy_limit_change(MAX_BYTES, 0, true), POLICY_LIMIT_ALLOWED);
}

static void test_apply_asked(void **state) {
        struct policy_limits profile = total_limits();
        profile.max_process_bytes = MAX_BYTES / 2;
        profile.warn_at = 0.5;

        /* Lower and earlier: taken. */
        struct policy_limits l = profile;
        policy_limits_apply_asked(&(struct policy_limits) { .max_bytes = MAX_BYTES / 4, .max_process_bytes = MIB,
                                                            .kill_threshold = 0.5, .grace_usec = USEC_PER_SEC },
                                  false, &l);
        assert_int_equal(l.max_bytes, MAX_BYTES / 4);
        assert_int_equal(l.max_process_bytes, MIB);
        assert_true(l.kill_threshold == 0.5);
        assert_int_equal(l.grace_usec, USEC_PER_SEC);
        /* The profile's warning now sits at the threshold: it would never come first. */
        assert_true(l.warn_at == 0);

        /* Higher and later, from a user: ignored. */
        l = profile;
        policy_limits_apply_asked(&(struct policy_limits) { .max_bytes = MAX_BYTES * 2, .max_process_bytes = MAX_BYTES,
                                                            .kill_threshold = 0.9, .grace_usec = GRACE * 2 },
                                  false, &l);
        assert_int_equal(l.max_bytes, MAX_BYTES);
        assert_int_equal(l.max_process_bytes, MAX_BYTES / 2);
        assert_true(l.kill_threshold == 0.8);
        assert_int_equal(l.grace_usec, GRACE);
        assert_true(l.warn_at == 0.5);

        /* The same from root: taken. */
        l = profile;
        policy_limits_apply_asked(&(struct policy_limits) { .max_bytes = MAX_BYTES * 2, .kill_threshold = 0.9,
                                                            .grace_usec = GRACE * 2, .interval_usec = USEC_PER_SEC },
                                  true, &l);
        assert_int_equal(l.max_bytes, MAX_BYTES * 2);
        assert_true(l.kill_threshold == 0.9);
        assert_int_equal(l.grace_usec, GRACE * 2);
        assert_int_equal(l.interval_usec, USEC_PER_SEC);

        /* Nothing asked: the profile stands. */
        l = profile;
        policy_limits_apply_asked(NULL, false, &l);
        assert_memory_equal(&l, &profile, sizeof(l));
}

/* The product the ladder, its messages and the report share: exact, and saturating. */
static void test_threshold(void **state) {
        assert_int_equal(policy_threshold(MAX_BYTES, 0.8), THRESHOLD);
        assert_int_equal(policy_threshold(MAX_BYTES, 1.0), MAX_BYTES);
        /* A double loses the last bytes of a large limit; the ladder must not. */
        assert_int_equal(policy_threshold(UINT64_MAX - 1, 1.0), UINT64_MAX - 1);
        assert_int_equal(policy_threshold((1ULL << 53) + 1, 1.0), (1ULL << 53) + 1);
        assert_int_equal(policy_threshold(0, 0.8), 0);
}

static void test_validate(void **state) {
        struct policy_limits l;
        const char *err;

        l = total_limits();
        err = NULL;
        assert_int_equal(policy_limits_validate(&l, &err), 0);

        const double bad_ratios[] = { 0, -0.5, 1.0001, 2, NAN };
        for (size_t i = 0; i < ELEMENTSOF(bad_ratios); i++) {
                l = total_limits();
                l.kill_threshold = bad_ratios[i];
                err = NULL;
                assert_int_equal(policy_limits_validate(&l, &err), -EINVAL);
                assert_non_null(err);
                assert_non_null(strstr(err, "threshold"));
        }
        l = total_limits();
        l.kill_threshold = 1;
        assert_int_equal(policy_limits_validate(&l, &err), 0);

        /* a warning ratio needs a limit to be a ratio of */
        l = total_limits();
        l.max_bytes = 0;
        l.max_process_bytes = 100 * MIB;
        l.warn_at = 0.5;
        err = NULL;
        assert_int_equal(policy_limits_validate(&l, &err), -EINVAL);
        assert_non_null(err);
        assert_non_null(strstr(err, "warn"));

        l = total_limits();
        l.warn_at = 1.5;
        err = NULL;
        assert_int_equal(policy_limits_validate(&l, &err), -EINVAL);
        assert_non_null(err);
        l.warn_at = -0.1;
        assert_int_equal(policy_limits_validate(&l, &err), -EINVAL);
        l.warn_at = 0.9;
        assert_int_equal(policy_limits_validate(&l, &err), 0);

        /* below a millisecond a fixed interval is a busy loop; 0 means adaptive */
        l = total_limits();
        l.interval_usec = 999;
        err = NULL;
        assert_int_equal(policy_limits_validate(&l, &err), -EINVAL);
        assert_non_null(err);
        assert_non_null(strstr(err, "interval"));
        l.interval_usec = 1000;
        assert_int_equal(policy_limits_validate(&l, &err), 0);
        l.interval_usec = 0;
        assert_int_equal(policy_limits_validate(&l, &err), 0);
}

/* A job growing at rate bytes/s, sampled exactly when policy_next_interval says, with the clock in
 * whole microseconds. Returns how far past the threshold the job was at the sample that decided TERM,
 * and the number of samples it took. */
static uint64_t simulate_ramp(const struct policy_limits *l, uint64_t bytes_per_sec, size_t *ret_samples) {
        struct policy_state s = {};
        uint64_t now = 0, prev_total = 0, prev_now = 0;
        uint64_t limit = l->max_bytes > 0 ? l->max_bytes : l->max_process_bytes;
        uint64_t threshold = (uint64_t) ((long double) limit * (long double) l->kill_threshold);
        size_t n = 0;

        for (;;) {
                uint64_t total = (uint64_t) ((long double) bytes_per_sec * (long double) now / 1e6L);
                struct policy_input in = sample(total);
                enum policy_action a = policy_decide(l, &s, &in, now);
                n++;
                if (a == POLICY_ACTION_TERM) {
                        assert_true(total >= threshold);
                        *ret_samples = n;
                        return total - threshold;
                }
                assert_int_equal(a, POLICY_ACTION_NONE);
                /* the ramp crosses the threshold long before this many samples at the slowest pace */
                assert_true(n < 100000);

                /* one process holds it all, so total and top process are the same ramp */
                uint64_t next = policy_next_interval(l, &s, total, prev_total, total, n > 1 ? now - prev_now : 0,
                                                     now);
                assert_in_range(next, POLICY_INTERVAL_MIN_USEC, POLICY_INTERVAL_MAX_USEC);
                prev_total = total;
                prev_now = now;
                now += next;
        }
}

static void test_simulated_ramp(void **state) {
        struct policy_limits l = total_limits();
        size_t samples;

        l.max_bytes = 8 * GIB;
        /* 1 GB/s, slower than the assumed fill rate: the guarantee of the header holds, the overshoot is
         * at most one maximal interval's growth at the assumed rate ... */
        uint64_t over = simulate_ramp(&l, 1000 * 1000 * 1000, &samples);
        uint64_t bound = POLICY_ASSUMED_FILL_BYTES_PER_SEC * POLICY_INTERVAL_MAX_USEC / USEC_PER_SEC;
        print_message("# 1 GB/s ramp: %zu samples, %" PRIu64 " bytes over the threshold\n", samples, over);
        assert_true(over <= bound);
        /* ... and in fact one minimal interval's growth at the job's own rate */
        assert_true(over <= 1000 * 1000 * 1000 / USEC_PER_SEC * POLICY_INTERVAL_MIN_USEC);
        /* 6.87 GB at 1 GB/s is 6.9 s: sampling every 10 ms throughout would be ~690 samples */
        assert_true(samples < 300);

        /* 16 GiB/s, faster than assumed: the observed rate takes over from the second sample on, so the
         * overshoot is still bounded by one minimal interval at the job's own pace */
        over = simulate_ramp(&l, 16 * GIB, &samples);
        print_message("# 16 GiB/s ramp: %zu samples, %" PRIu64 " bytes over the threshold\n", samples, over);
        assert_true(over <= 16 * GIB / USEC_PER_SEC * POLICY_INTERVAL_MIN_USEC);

        /* a per-process limit alone gets the same guarantee */
        l.max_bytes = 0;
        l.max_process_bytes = 8 * GIB;
        over = simulate_ramp(&l, 1000 * 1000 * 1000, &samples);
        print_message("# 1 GB/s ramp, per-process limit: %zu samples, %" PRIu64 " bytes over\n", samples, over);
        assert_true(over <= 1000 * 1000 * 1000 / USEC_PER_SEC * POLICY_INTERVAL_MIN_USEC);
        assert_true(samples < 300);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_below_threshold),
                cmocka_unit_test(test_term_at_threshold),
                cmocka_unit_test(test_ladder),
                cmocka_unit_test(test_no_kill_when_all_exited),
                cmocka_unit_test(test_process_limit),
                cmocka_unit_test(test_total_precedes_process),
                cmocka_unit_test(test_warn),
                cmocka_unit_test(test_kernel_oom),
                cmocka_unit_test(test_final),
                cmocka_unit_test(test_request_stop),
                cmocka_unit_test(test_leftovers_fresh),
                cmocka_unit_test(test_leftovers_keep_grace),
                cmocka_unit_test(test_interval_fixed),
                cmocka_unit_test(test_interval_adaptive_bounds),
                cmocka_unit_test(test_interval_monotonic),
                cmocka_unit_test(test_interval_observed_rate),
                cmocka_unit_test(test_interval_process_headroom),
                cmocka_unit_test(test_interval_adaptive_longest),
                cmocka_unit_test(test_interval_ladder),
                cmocka_unit_test(test_exit_code),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_limit_change),
                cmocka_unit_test(test_apply_asked),
                cmocka_unit_test(test_threshold),
                cmocka_unit_test(test_simulated_ramp),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
