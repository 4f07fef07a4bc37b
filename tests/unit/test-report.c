/* SPDX-License-Identifier: MIT */
/* The reports from a job built by hand: every JSON member read back with jansson, the CSV and timeline
 * rows byte for byte, the human summary's key lines, and the verdict and reason for each way a job
 * can end. Expected sizes are formatted with units_format_size() so these tests pin the report, not
 * the size formatter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "job.h"
#include "macro.h"
#include "policy.h"
#include "report.h"
#include "units.h"

/* 2025-11-20T18:02:34Z, memwatch's example start time */
#define T0 (UINT64_C(1763661754) * USEC_PER_SEC)

struct fixture {
        struct job *job;
        struct policy_limits limits;
        struct policy_state state;
        struct report_info info;
};

static void proc_set(struct job_proc *p, pid_t pid, pid_t ppid, const char *comm, const char *cmdline,
                     uint64_t max_rss_bytes, uint64_t first_usec, uint64_t last_usec) {
        p->pid = pid;
        p->ppid = ppid;
        snprintf(p->comm, sizeof(p->comm), "%s", comm);
        p->cmdline = cmdline ? strdup(cmdline) : NULL;
        assert_true(!cmdline || p->cmdline);
        p->rss_bytes = max_rss_bytes / 2;
        p->max_rss_bytes = max_rss_bytes;
        p->first_seen_usec = first_usec;
        p->last_seen_usec = last_usec;
}

static void sample_set(struct job_sample *s, uint64_t elapsed_usec, uint64_t total_bytes, uint32_t nproc) {
        s->realtime_usec = T0 + elapsed_usec;
        s->elapsed_usec = elapsed_usec;
        s->total_bytes = total_bytes;
        s->working_set_bytes = total_bytes - total_bytes / 8;
        s->rss_sum_bytes = total_bytes;
        s->nproc = nproc;
}

static struct job *job_make(size_t n_procs) {
        struct job *j = calloc(1, sizeof(*j));

        assert_non_null(j);
        j->argv = calloc(3, sizeof(char *));
        assert_non_null(j->argv);
        j->argv[0] = strdup("make");
        j->argv[1] = strdup("-j2");
        assert_non_null(j->argv[0]);
        assert_non_null(j->argv[1]);
        j->pid = 100;

        j->procs = calloc(MAX(n_procs, (size_t) 4), sizeof(struct job_proc));
        assert_non_null(j->procs);
        j->n_procs = j->cap_procs = MAX(n_procs, (size_t) 4);
        proc_set(&j->procs[0], 100, 99, "make", "make -j2", 10 * MIB, T0, T0 + 201 * USEC_PER_SEC);
        proc_set(&j->procs[1], 101, 100, "cc1", "cc1 big.c", 300 * MIB, T0 + USEC_PER_SEC, T0 + 150 * USEC_PER_SEC);
        /* 5.5 MiB; a name with a comma and a double quote, as CSV must survive */
        proc_set(&j->procs[2], 102, 100, "a,b\"c", "sh -c \"a,b\"", 5 * MIB + 512 * KIB, T0 + USEC_PER_SEC,
                 T0 + 156 * USEC_PER_SEC);
        proc_set(&j->procs[3], 103, 100, "cc1", NULL, 100 * MIB, T0 + 2 * USEC_PER_SEC, T0 + 3 * USEC_PER_SEC);
        /* extra processes for the "... and N more" rows: small, distinct names */
        for (size_t i = 4; i < n_procs; i++) {
                char name[24];

                snprintf(name, sizeof(name), "w%zu", i);
                proc_set(&j->procs[i], (pid_t) (1000 + i), 100, name, name, (i + 1) * KIB, T0, T0);
        }

        j->samples = calloc(3, sizeof(struct job_sample));
        assert_non_null(j->samples);
        j->n_samples = j->cap_samples = 3;
        sample_set(&j->samples[0], 0, 100 * MIB, 2);
        sample_set(&j->samples[1], 100 * USEC_PER_MSEC, 412 * MIB, 4);
        sample_set(&j->samples[2], 250600, 50 * MIB + 256 * KIB, 1);

        j->start_realtime_usec = T0;
        j->end_realtime_usec = T0 + 201 * USEC_PER_SEC + 400 * USEC_PER_MSEC;
        j->start_mono_usec = 5 * USEC_PER_SEC;
        j->end_mono_usec = j->start_mono_usec + 201 * USEC_PER_SEC + 400 * USEC_PER_MSEC;
        j->peak_total_bytes = 412 * MIB;
        j->peak_working_set_bytes = 400 * MIB;
        j->kernel_peak_bytes = 420 * MIB;
        return j;
}

static void job_unmake(struct job *j) {
        if (!j)
                return;
        for (size_t i = 0; i < j->n_procs; i++)
                free(j->procs[i].cmdline);
        free(j->procs);
        free(j->samples);
        for (char **a = j->argv; a && *a; a++)
                free(*a);
        free(j->argv);
        free(j);
}

/* A job killed for its total: 412 MiB crossed 80% of 500 MiB. */
static int setup(void **state) {
        struct fixture *x = calloc(1, sizeof(*x));

        if (!x)
                return -1;
        x->job = job_make(4);
        x->limits = (struct policy_limits) {
                .max_bytes = 500 * MIB,
                .max_process_bytes = 300 * MIB,
                .kill_threshold = 0.8,
                .warn_at = 0.7,
                .grace_usec = 10 * USEC_PER_SEC,
                .warn_every_usec = POLICY_DEFAULT_WARN_EVERY_USEC,
        };
        x->state = (struct policy_state) {
                .stage = POLICY_STAGE_KILL_SENT,
                .reason = POLICY_REASON_TOTAL,
                .culprit_bytes = 412 * MIB,
        };
        x->info = (struct report_info) {
                .job = x->job,
                .backend = "cgroup2",
                .measures = "memory.current of the job's cgroup",
                .limits = &x->limits,
                .state = &x->state,
                .interval_usec = 0,
                .shortest_interval_usec = 12500,
                .exit_code = POLICY_EXIT_LIMIT,
                .wait_status = W_EXITCODE(0, SIGTERM),
                .dry_run = 0,
                .note = "fell back to procfs: test",
        };
        *state = x;
        return 0;
}

static int teardown(void **state) {
        struct fixture *x = *state;

        job_unmake(x->job);
        free(x);
        return 0;
}

/* Runs one writer into memory; the result is malloc'ed. */
static char *write_mem(int (*writer)(FILE *, const struct report_info *), const struct report_info *r) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        assert_int_equal(writer(f, r), 0);
        assert_int_equal(fclose(f), 0);
        assert_non_null(buf);
        assert_int_equal(strlen(buf), len);
        return buf;
}

static char *size_str(char buf[static UNITS_SIZE_MAX], uint64_t bytes) {
        return units_format_size(buf, bytes);
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static size_t count_lines(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (*s == '\n')
                        n++;
        return n;
}

/* The line of text starting with prefix, as a malloc'ed string without the newline. */
static char *line_starting(const char *text, const char *prefix) {
        size_t plen = strlen(prefix);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, prefix, plen) == 0)
                        return strndup(p, strcspn(p, "\n"));
        return NULL;
}

static void assert_line(const char *text, const char *expected) {
        _cleanup_free_ char *l = line_starting(text, expected);

        if (!l)
                fail_msg("no line \"%s\" in:\n%s", expected, text);
        assert_string_equal(l, expected);
}

static void test_format_time(_unused_ void **state) {
        char buf[REPORT_TIME_MAX];

        assert_string_equal(report_format_time(buf, 0), "1970-01-01T00:00:00Z");
        assert_string_equal(report_format_time(buf, T0), "2025-11-20T18:02:34Z");
        /* sub-second part dropped, not rounded */
        assert_string_equal(report_format_time(buf, T0 + 999999), "2025-11-20T18:02:34Z");
        assert_ptr_equal(report_format_time(buf, T0 + 86400 * USEC_PER_SEC), buf);
        assert_string_equal(buf, "2025-11-21T18:02:34Z");
}

static json_t *json_from_report(const struct report_info *r, char **ret_text) {
        char *text = write_mem(report_write_json, r);
        json_error_t err;
        json_t *root;

        root = json_loads(text, 0, &err);
        if (!root)
                fail_msg("JSON does not parse: %s at %d:%d\n%s", err.text, err.line, err.column, text);
        assert_true(json_is_object(root));
        if (ret_text)
                *ret_text = text;
        else
                free(text);
        return root;
}

static const json_t *member(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);

        if (!v)
                fail_msg("JSON member \"%s\" missing", key);
        return v;
}

static void assert_json_int(const json_t *o, const char *key, long long expected) {
        const json_t *v = member(o, key);

        if (!json_is_integer(v))
                fail_msg("JSON member \"%s\" is not an integer", key);
        assert_int_equal(json_integer_value(v), expected);
}

static void assert_json_str(const json_t *o, const char *key, const char *expected) {
        const json_t *v = member(o, key);

        if (!json_is_string(v))
                fail_msg("JSON member \"%s\" is not a string", key);
        assert_string_equal(json_string_value(v), expected);
}

static void assert_json_real(const json_t *o, const char *key, double expected) {
        const json_t *v = member(o, key);

        if (!json_is_real(v))
                fail_msg("JSON member \"%s\" is not a real", key);
        assert_true(fabs(json_real_value(v) - expected) < 1e-9);
}

static void assert_json_null(const json_t *o, const char *key) {
        if (!json_is_null(member(o, key)))
                fail_msg("JSON member \"%s\" is not null", key);
}

static const json_t *json_proc(const json_t *procs, pid_t pid) {
        for (size_t i = 0; i < json_array_size(procs); i++) {
                const json_t *p = json_array_get(procs, i);

                if (json_integer_value(json_object_get(p, "pid")) == pid)
                        return p;
        }
        fail_msg("no process %d in the JSON", (int) pid);
        return NULL;
}

static void test_json_full(void **state) {
        struct fixture *x = *state;
        static const char *const keys[] = {
                "command", "start_time", "end_time", "duration_seconds", "interval_ms", "interval_mode",
                "shortest_interval_ms", "max_total_rss_kib", "processes", "limit", "verdict", "reason", "backend", "measures",
                "exit_code", "peak", "samples", "oom_kills", "groups", "dry_run", "signal", "note",
        };
        _cleanup_free_ char *text = NULL, *reason = NULL;
        json_t *root = json_from_report(&x->info, &text);
        const json_t *v, *p, *o;
        size_t i = 0;

        /* memwatch's layout: pretty-printed with 2 spaces, one trailing newline */
        assert_true(starts_with(text, "{\n  \"command\": [\n    \"make\",\n"));
        assert_true(text[strlen(text) - 1] == '\n' && text[strlen(text) - 2] == '}');

        /* every key, in the documented order, nothing else */
        for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it), i++) {
                assert_true(i < ELEMENTSOF(keys));
                assert_string_equal(json_object_iter_key(it), keys[i]);
        }
        assert_int_equal(i, ELEMENTSOF(keys));

        v = member(root, "command");
        assert_int_equal(json_array_size(v), 2);
        assert_string_equal(json_string_value(json_array_get(v, 0)), "make");
        assert_string_equal(json_string_value(json_array_get(v, 1)), "-j2");

        assert_json_str(root, "start_time", "2025-11-20T18:02:34Z");
        assert_json_str(root, "end_time", "2025-11-20T18:05:55Z");
        assert_json_real(root, "duration_seconds", 201.4);
        /* adaptive: the slowest interval, and the mode said out loud */
        assert_json_int(root, "interval_ms", POLICY_INTERVAL_MAX_USEC / 1000);
        assert_json_str(root, "interval_mode", "adaptive");
        /* how far the sampling tightened */
        assert_json_real(root, "shortest_interval_ms", 12.5);
        /* the kernel's high-water (420 MiB) beats the sampled 412 MiB */
        assert_json_int(root, "max_total_rss_kib", 420 * 1024);

        v = member(root, "processes");
        assert_int_equal(json_array_size(v), 4);
        /* largest first, as memwatch */
        assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 0), "pid")), 101);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 1), "pid")), 103);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 2), "pid")), 100);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 3), "pid")), 102);
        p = json_proc(v, 102);
        assert_int_equal(json_object_size(p), 7);
        assert_json_int(p, "ppid", 100);
        assert_json_str(p, "command", "a,b\"c");
        assert_json_str(p, "cmdline", "sh -c \"a,b\"");
        assert_json_int(p, "max_rss_kib", 5 * 1024 + 512);
        assert_json_str(p, "first_seen", "2025-11-20T18:02:35Z");
        assert_json_str(p, "last_seen", "2025-11-20T18:05:10Z");
        p = json_proc(v, 101);
        assert_json_int(p, "max_rss_kib", 300 * 1024);
        assert_json_str(p, "command", "cc1");
        /* a command line never read is null, not "" */
        assert_json_null(json_proc(v, 103), "cmdline");

        o = member(root, "limit");
        assert_int_equal(json_object_size(o), 5);
        assert_json_int(o, "max_memory_bytes", 500 * MIB);
        assert_json_int(o, "max_process_memory_bytes", 300 * MIB);
        assert_json_real(o, "kill_threshold", 0.8);
        assert_json_real(o, "warn_at", 0.7);
        assert_json_real(o, "grace_seconds", 10.0);

        reason = report_reason(&x->info);
        assert_non_null(reason);
        assert_json_str(root, "verdict", "killed");
        assert_json_str(root, "reason", reason);
        assert_json_str(root, "backend", "cgroup2");
        assert_json_str(root, "measures", "memory.current of the job's cgroup");
        assert_json_int(root, "exit_code", POLICY_EXIT_LIMIT);

        o = member(root, "peak");
        assert_int_equal(json_object_size(o), 3);
        assert_json_int(o, "sampled_total_bytes", 412 * MIB);
        assert_json_int(o, "working_set_bytes", 400 * MIB);
        assert_json_int(o, "kernel_high_water_bytes", 420 * MIB);

        assert_json_int(root, "samples", 3);
        assert_json_int(root, "oom_kills", 0);

        v = member(root, "groups");
        assert_int_equal(json_array_size(v), 3);
        o = json_array_get(v, 0);
        assert_json_str(o, "command", "cc1");
        assert_json_int(o, "processes", 2);
        assert_json_int(o, "total_peak_kib", 400 * 1024);
        assert_json_int(o, "max_peak_kib", 300 * 1024);
        o = json_array_get(v, 2);
        assert_json_str(o, "command", "a,b\"c");
        assert_json_int(o, "processes", 1);

        assert_true(json_is_false(member(root, "dry_run")));
        assert_json_int(root, "signal", SIGTERM);
        assert_json_str(root, "note", "fell back to procfs: test");

        json_decref(root);
}

static void test_json_unset(void **state) {
        struct fixture *x = *state;
        json_t *root;
        const json_t *o;

        /* no limits at all, a fixed interval, no kernel counter, a clean exit, no note */
        x->limits.max_bytes = 0;
        x->limits.max_process_bytes = 0;
        x->limits.warn_at = 0;
        x->limits.grace_usec = 0;
        x->state.reason = POLICY_REASON_NONE;
        x->info.interval_usec = 250 * USEC_PER_MSEC;
        x->info.shortest_interval_usec = 0;
        x->info.wait_status = W_EXITCODE(0, 0);
        x->info.exit_code = 0;
        x->info.note = NULL;
        x->info.dry_run = 1;
        x->job->kernel_peak_bytes = 0;

        root = json_from_report(&x->info, NULL);
        assert_json_int(root, "interval_ms", 250);
        assert_json_str(root, "interval_mode", "fixed");
        /* no sample scheduled one yet: unknown, not 0 */
        assert_json_null(root, "shortest_interval_ms");
        assert_json_int(root, "max_total_rss_kib", 412 * 1024);
        o = member(root, "limit");
        assert_json_null(o, "max_memory_bytes");
        assert_json_null(o, "max_process_memory_bytes");
        assert_json_null(o, "warn_at");
        assert_json_real(o, "kill_threshold", 0.8);
        assert_json_real(o, "grace_seconds", 0.0);
        assert_json_null(member(root, "peak"), "kernel_high_water_bytes");
        assert_json_str(root, "verdict", "completed");
        assert_json_str(root, "reason", "exited with status 0");
        assert_json_int(root, "exit_code", 0);
        assert_json_null(root, "signal");
        assert_true(json_is_true(member(root, "dry_run")));
        assert_null(json_object_get(root, "note"));
        json_decref(root);

        /* no limits structure at all: every limit null */
        x->info.limits = NULL;
        root = json_from_report(&x->info, NULL);
        o = member(root, "limit");
        assert_json_null(o, "max_memory_bytes");
        assert_json_null(o, "kill_threshold");
        assert_json_null(o, "grace_seconds");
        json_decref(root);
}

static void test_json_empty_job(void **state) {
        struct fixture *x = *state;
        json_t *root;

        /* a job that ended before the first sample */
        x->job->n_procs = 0;
        x->job->n_samples = 0;
        root = json_from_report(&x->info, NULL);
        assert_int_equal(json_array_size(member(root, "processes")), 0);
        assert_int_equal(json_array_size(member(root, "groups")), 0);
        assert_json_int(root, "samples", 0);
        json_decref(root);
        x->job->n_procs = 4;
}

static void test_json_duration(void **state) {
        struct fixture *x = *state;
        json_t *root;

        /* the wall clock jumped an hour during the job: the monotonic clocks are believed */
        x->job->end_realtime_usec += 3600 * USEC_PER_SEC;
        root = json_from_report(&x->info, NULL);
        assert_json_real(root, "duration_seconds", 201.4);
        assert_json_str(root, "end_time", "2025-11-20T19:05:55Z");
        json_decref(root);

        /* no monotonic readings: the realtime ones */
        x->job->start_mono_usec = x->job->end_mono_usec = 0;
        x->job->end_realtime_usec = T0 + 2500 * USEC_PER_MSEC;
        root = json_from_report(&x->info, NULL);
        assert_json_real(root, "duration_seconds", 2.5);
        json_decref(root);

        /* not finished: no end time, no duration */
        x->job->end_realtime_usec = 0;
        root = json_from_report(&x->info, NULL);
        assert_json_null(root, "end_time");
        assert_json_real(root, "duration_seconds", 0.0);
        json_decref(root);
}

static void test_order_ties(void **state) {
        struct fixture *x = *state;
        _cleanup_free_ char *text = NULL;
        const char *p100, *p103;

        /* equal peaks: by pid, so the output does not depend on the sampler's order */
        x->job->procs[3].max_rss_bytes = x->job->procs[0].max_rss_bytes;
        text = write_mem(report_write_csv, &x->info);
        p100 = strstr(text, "\n100,");
        p103 = strstr(text, "\n103,");
        assert_non_null(p100);
        assert_non_null(p103);
        assert_true(p100 < p103);
}

static void test_json_invalid_utf8(void **state) {
        struct fixture *x = *state;
        json_t *root;

        /* a comm is any bytes; the JSON must still come out, and valid */
        strcpy(x->job->procs[0].comm, "x\xff\xfey");
        root = json_from_report(&x->info, NULL);
        assert_json_str(json_proc(member(root, "processes"), 100), "command", "x??y");
        json_decref(root);
}

static void test_csv(void **state) {
        struct fixture *x = *state;
        _cleanup_free_ char *text = write_mem(report_write_csv, &x->info);

        assert_true(starts_with(text, "pid,ppid,command,max_rss_kib,max_rss_mib,first_seen,last_seen\n"));
        assert_int_equal(count_lines(text), 1 + 4);
        /* always quoted, the embedded quote doubled, the comma kept inside the field */
        assert_line(text, "102,100,\"a,b\"\"c\",5632,5.50,2025-11-20T18:02:35Z,2025-11-20T18:05:10Z");
        assert_line(text, "100,99,\"make\",10240,10.00,2025-11-20T18:02:34Z,2025-11-20T18:05:55Z");
        /* largest first */
        assert_true(starts_with(strchr(text, '\n') + 1,
                                "101,100,\"cc1\",307200,300.00,2025-11-20T18:02:35Z,2025-11-20T18:05:04Z\n"));
}

static void test_timeline(void **state) {
        struct fixture *x = *state;
        _cleanup_free_ char *text = write_mem(report_write_timeline, &x->info);

        assert_string_equal(text,
                            "timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count\n"
                            "2025-11-20T18:02:34Z,0.000,102400,100.00,2\n"
                            "2025-11-20T18:02:34Z,0.100,421888,412.00,4\n"
                            "2025-11-20T18:02:34Z,0.251,51456,50.25,1\n");

        x->job->n_samples = 0;
        free(text);
        text = write_mem(report_write_timeline, &x->info);
        assert_string_equal(text, "timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count\n");
        x->job->n_samples = 3;
}

static void test_text(void **state) {
        struct fixture *x = *state;
        _cleanup_free_ char *text = write_mem(report_write_text, &x->info), *reason = report_reason(&x->info);
        char a[UNITS_SIZE_MAX], b[UNITS_SIZE_MAX], c[UNITS_SIZE_MAX], d[UNITS_SIZE_MAX];
        char g[UNITS_DURATION_MAX], expected[512];
        const char *p101, *p103;

        assert_true(starts_with(text, "memguard: job report\n"));
        assert_line(text, "Command:         make -j2");
        assert_line(text, "Duration:        00:03:21");
        snprintf(expected, sizeof(expected), "Samples:         3 (adaptive, 10-100 ms; every %s at the closest)",
                 units_format_duration(g, 12500));
        assert_line(text, expected);
        assert_line(text, "Backend:         cgroup2 (memory.current of the job's cgroup)");

        snprintf(expected, sizeof(expected), "Peak total:      %s (working set %s, kernel high-water %s)",
                 size_str(a, 412 * MIB), size_str(b, 400 * MIB), size_str(c, 420 * MIB));
        assert_line(text, expected);

        snprintf(expected, sizeof(expected),
                 "Limit:           %s, kill threshold 80%% (%s), warn at 70%% (%s), grace %s",
                 size_str(a, 500 * MIB), size_str(b, 400 * MIB), size_str(c, 350 * MIB),
                 units_format_duration(g, 10 * USEC_PER_SEC));
        assert_line(text, expected);
        snprintf(expected, sizeof(expected), "Process limit:   %s, kill threshold 80%% (%s)", size_str(a, 300 * MIB),
                 size_str(b, 240 * MIB));
        assert_line(text, expected);

        assert_non_null(reason);
        snprintf(expected, sizeof(expected), "Verdict:         killed: %s", reason);
        assert_line(text, expected);
        assert_line(text, "Exit code:       10");
        assert_line(text, "Note:            fell back to procfs: test");
        assert_null(strstr(text, "Dry run"));

        /* per-process rows, largest first */
        assert_non_null(strstr(text, "\nPer-process peak RSS:\n"));
        snprintf(expected, sizeof(expected), "  pid 101    %9s  cc1", size_str(d, 300 * MIB));
        assert_line(text, expected);
        p101 = strstr(text, "  pid 101 ");
        p103 = strstr(text, "  pid 103 ");
        assert_non_null(p101);
        assert_non_null(p103);
        assert_true(p101 < p103);
        assert_null(strstr(text, "more\n"));

        assert_non_null(strstr(text, "\nProcess groups (by command):\n"));
        snprintf(expected, sizeof(expected), "  cc1                  ( 2 processes)  total peak %s",
                 size_str(a, 400 * MIB));
        assert_line(text, expected);
        assert_int_equal(text[strlen(text) - 1], '\n');
}

static void test_text_unset_and_many(void **state) {
        struct fixture *x = *state;
        _cleanup_free_ char *text = NULL, *dry = NULL;
        char a[UNITS_SIZE_MAX];
        char expected[256];

        job_unmake(x->job);
        x->job = job_make(25);
        x->info.job = x->job;
        x->info.limits = NULL;
        x->state.reason = POLICY_REASON_NONE;
        x->info.dry_run = 1;
        x->info.interval_usec = 0;
        x->info.wait_status = W_EXITCODE(3, 0);
        x->info.exit_code = 3;
        x->info.backend = NULL;
        x->job->kernel_peak_bytes = 0;
        x->job->peak_working_set_bytes = x->job->peak_total_bytes;

        text = write_mem(report_write_text, &x->info);
        assert_line(text, "Limit:           none");
        assert_line(text, "Process limit:   none");
        dry = line_starting(text, "Dry run:         yes");
        assert_non_null(dry);
        assert_line(text, "Verdict:         failed: exited with status 3");
        assert_line(text, "Exit code:       3");
        snprintf(expected, sizeof(expected), "Peak total:      %s", size_str(a, 412 * MIB));
        assert_line(text, expected);
        assert_null(strstr(text, "Backend:"));
        /* 25 processes: 20 rows, then the rest counted; the same for the 24 groups */
        assert_line(text, "  ... and 5 more");
        assert_line(text, "  ... and 4 more");
}

static void test_text_no_procs(void **state) {
        struct fixture *x = *state;
        _cleanup_free_ char *text = NULL;

        x->job->n_procs = 0;
        text = write_mem(report_write_text, &x->info);
        assert_non_null(strstr(text, "Per-process peak RSS:\n  none seen"));
        assert_null(strstr(text, "Process groups"));
        x->job->n_procs = 4;
}

static void assert_outcome(const struct report_info *r, const char *verdict, const char *reason) {
        _cleanup_free_ char *s = report_reason(r);

        assert_string_equal(report_verdict(r), verdict);
        assert_non_null(s);
        assert_string_equal(s, reason);
}

static void test_reasons(void **state) {
        struct fixture *x = *state;
        struct report_info *r = &x->info;
        char a[UNITS_SIZE_MAX], b[UNITS_SIZE_MAX], c[UNITS_SIZE_MAX], expected[256];

        /* the job's total crossed 80% of 500 MiB */
        snprintf(expected, sizeof(expected), "total memory %s crossed the kill threshold %s (80%% of %s)",
                 size_str(a, 412 * MIB), size_str(b, 400 * MIB), size_str(c, 500 * MIB));
        assert_outcome(r, "killed", expected);

        /* the same in a dry run: nothing was signalled */
        r->dry_run = 1;
        assert_outcome(r, "would have been killed (dry run)", expected);
        r->dry_run = 0;

        /* another ratio is printed as it is */
        x->limits.kill_threshold = 0.85;
        snprintf(expected, sizeof(expected), "total memory %s crossed the kill threshold %s (85%% of %s)",
                 size_str(a, 412 * MIB), size_str(b, (uint64_t) (500 * MIB * 0.85)), size_str(c, 500 * MIB));
        assert_outcome(r, "killed", expected);
        x->limits.kill_threshold = 0.8;

        /* one process over its own ceiling, named from the job's process list */
        x->state.reason = POLICY_REASON_PROCESS;
        x->state.culprit_pid = 101;
        x->state.culprit_bytes = 250 * MIB;
        r->exit_code = POLICY_EXIT_PROCESS_LIMIT;
        snprintf(expected, sizeof(expected),
                 "process 101 (cc1) reached %s, over the per-process kill threshold %s (80%% of %s)",
                 size_str(a, 250 * MIB), size_str(b, 240 * MIB), size_str(c, 300 * MIB));
        assert_outcome(r, "killed", expected);
        r->dry_run = 1;
        assert_outcome(r, "would have been killed (dry run)", expected);
        r->dry_run = 0;
        /* a culprit that left no trace in the list still gets its pid */
        x->state.culprit_pid = 4242;
        snprintf(expected, sizeof(expected),
                 "process 4242 reached %s, over the per-process kill threshold %s (80%% of %s)",
                 size_str(a, 250 * MIB), size_str(b, 240 * MIB), size_str(c, 300 * MIB));
        assert_outcome(r, "killed", expected);

        /* the kernel's OOM killer at the hard ceiling, in a dry run too */
        x->state.reason = POLICY_REASON_KERNEL_OOM;
        r->wait_status = W_EXITCODE(0, SIGKILL);
        x->job->oom_kills = 1;
        snprintf(expected, sizeof(expected), "the kernel OOM-killed a process at the hard limit of %s",
                 size_str(a, 500 * MIB));
        assert_outcome(r, "oom-killed", expected);
        r->dry_run = 1;
        assert_outcome(r, "oom-killed", expected);
        r->dry_run = 0;
        x->job->oom_kills = 2;
        snprintf(expected, sizeof(expected), "the kernel OOM-killed 2 processes at the hard limit of %s",
                 size_str(a, 500 * MIB));
        assert_outcome(r, "oom-killed", expected);

        /* memguard itself stopped by a signal, or by an operator */
        x->state.reason = POLICY_REASON_INTERRUPT;
        assert_outcome(r, "interrupted", "memguard was interrupted (SIGINT or SIGTERM) and stopped the job");
        x->state.reason = POLICY_REASON_REQUEST;
        assert_outcome(r, "stopped", "an operator asked memguard to stop the job");

        /* no stop: the root's own end */
        x->state.reason = POLICY_REASON_NONE;
        r->wait_status = W_EXITCODE(0, 0);
        assert_outcome(r, "completed", "exited with status 0");
        r->dry_run = 1;
        assert_outcome(r, "completed", "exited with status 0");
        r->dry_run = 0;
        r->wait_status = W_EXITCODE(7, 0);
        assert_outcome(r, "failed", "exited with status 7");
        r->wait_status = W_EXITCODE(0, SIGKILL);
        assert_outcome(r, "failed", "killed by signal 9 (SIGKILL)");
        r->wait_status = W_EXITCODE(0, SIGSEGV) | 0x80;
        assert_outcome(r, "failed", "killed by signal 11 (SIGSEGV), core dumped");

        /* no wait status: still running, or lost */
        r->wait_status = -1;
        assert_outcome(r, "unknown", "the job's exit status is unknown");
        x->job->end_realtime_usec = 0;
        assert_outcome(r, "running", "the job is still running");

        /* no state and no limits at all */
        r->state = NULL;
        r->limits = NULL;
        r->wait_status = W_EXITCODE(1, 0);
        assert_outcome(r, "failed", "exited with status 1");
}

static void test_signal_in_json(void **state) {
        struct fixture *x = *state;
        json_t *root;

        x->state.reason = POLICY_REASON_NONE;
        x->info.wait_status = W_EXITCODE(0, SIGKILL);
        x->info.exit_code = 128 + SIGKILL;
        root = json_from_report(&x->info, NULL);
        assert_json_int(root, "signal", SIGKILL);
        assert_json_str(root, "verdict", "failed");
        assert_json_str(root, "reason", "killed by signal 9 (SIGKILL)");
        assert_json_int(root, "exit_code", 137);
        json_decref(root);

        /* a core dump does not change the number */
        x->info.wait_status = W_EXITCODE(0, SIGSEGV) | 0x80;
        root = json_from_report(&x->info, NULL);
        assert_json_int(root, "signal", SIGSEGV);
        json_decref(root);

        /* an exit status is not a signal */
        x->info.wait_status = W_EXITCODE(9, 0);
        root = json_from_report(&x->info, NULL);
        assert_json_null(root, "signal");
        json_decref(root);

        /* unknown status: no signal either */
        x->info.wait_status = -1;
        root = json_from_report(&x->info, NULL);
        assert_json_null(root, "signal");
        json_decref(root);
}

static void test_errors(void **state) {
        struct fixture *x = *state;
        struct report_info none = { .job = NULL };
        FILE *ro;

        assert_int_equal(report_write_json(stdout, &none), -EINVAL);
        assert_int_equal(report_write_csv(stdout, &none), -EINVAL);
        assert_int_equal(report_write_timeline(stdout, &none), -EINVAL);
        assert_int_equal(report_write_text(stdout, &none), -EINVAL);

        /* a stream that refuses writes: the writers must say so, not report success */
        ro = fopen("/dev/null", "r");
        assert_non_null(ro);
        assert_int_equal(report_write_csv(ro, &x->info), -EIO);
        clearerr(ro);
        assert_int_equal(report_write_timeline(ro, &x->info), -EIO);
        clearerr(ro);
        assert_int_equal(report_write_text(ro, &x->info), -EIO);
        clearerr(ro);
        assert_true(report_write_json(ro, &x->info) < 0);
        fclose(ro);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_time),
                cmocka_unit_test_setup_teardown(test_json_full, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json_unset, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json_empty_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json_duration, setup, teardown),
                cmocka_unit_test_setup_teardown(test_order_ties, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json_invalid_utf8, setup, teardown),
                cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
                cmocka_unit_test_setup_teardown(test_text, setup, teardown),
                cmocka_unit_test_setup_teardown(test_text_unset_and_many, setup, teardown),
                cmocka_unit_test_setup_teardown(test_text_no_procs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reasons, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signal_in_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        };

        /* The automake harness reads TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
