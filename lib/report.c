/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "job.h"
#include "macro.h"
#include "policy.h"
#include "escape.h"
#include "report.h"
#include "units.h"

/* The text summary lists this many processes (and groups); a parallel build can have thousands,
 * and the full list is in the JSON and CSV. */
#define REPORT_TEXT_MAX_ROWS 20
/* A process name with every byte escaped as \xNN. */
#define REPORT_COMM_ESCAPED_MAX (PROCFS_COMM_MAX * 4)

/* Our own: jansson's json_decrefp() only appeared in 2.11 and configure accepts 2.10. */
static inline void report_json_decrefp(json_t **p) {
        json_decref(*p);
}
#define _cleanup_json_decref_ _cleanup_(report_json_decrefp)

static const char *report_verdict_completed = "completed";
static const char *report_verdict_failed = "failed";
static const char *report_verdict_killed = "killed";
static const char *report_verdict_would_kill = "would have been killed (dry run)";
static const char *report_verdict_oom = "oom-killed";
static const char *report_verdict_interrupted = "interrupted";
static const char *report_verdict_stopped = "stopped";
static const char *report_verdict_running = "running";
static const char *report_verdict_unknown = "unknown";

char *report_format_time(char buf[static REPORT_TIME_MAX], uint64_t realtime_usec) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        struct tm tm;

        /* An unrepresentable time gives an empty string rather than a made-up date. */
        if (!gmtime_r(&t, &tm) || strftime(buf, REPORT_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                buf[0] = '\0';
        return buf;
}

static enum policy_reason report_state_reason(const struct report_info *r) {
        if (!r->state)
                return POLICY_REASON_NONE;
        return r->state->reason;
}

static double report_kill_threshold(const struct report_info *r) {
        if (!r->limits || r->limits->kill_threshold <= 0)
                return POLICY_DEFAULT_KILL_THRESHOLD;
        return r->limits->kill_threshold;
}

static uint64_t report_duration_usec(const struct job *j) {
        /* The monotonic clocks are immune to wall-clock jumps during the job; the realtime ones are the
         * fallback for a job that was never finished with both. */
        if (j->end_mono_usec > j->start_mono_usec)
                return j->end_mono_usec - j->start_mono_usec;
        if (j->end_realtime_usec > j->start_realtime_usec)
                return j->end_realtime_usec - j->start_realtime_usec;
        return 0;
}

const char *report_verdict(const struct report_info *r) {
        switch (report_state_reason(r)) {
        case POLICY_REASON_TOTAL:
        case POLICY_REASON_PROCESS:
                /* In a dry run the ladder decides as usual but nothing is signalled. */
                return r->dry_run ? report_verdict_would_kill : report_verdict_killed;
        case POLICY_REASON_KERNEL_OOM:
                /* The kernel's hard ceiling applies in a dry run too: this kill really happened. */
                return report_verdict_oom;
        case POLICY_REASON_INTERRUPT:
                return report_verdict_interrupted;
        case POLICY_REASON_REQUEST:
                return report_verdict_stopped;
        case POLICY_REASON_HOST_RESERVE:
                return report_verdict_killed;
        default:
                break;
        }

        if (r->wait_status == -1)
                return r->job && r->job->end_realtime_usec == 0 ? report_verdict_running : report_verdict_unknown;
        if (WIFEXITED(r->wait_status) && WEXITSTATUS(r->wait_status) == 0)
                return report_verdict_completed;
        return report_verdict_failed;
}

/* The name of the process a per-process stop was about. A pid can be reused within a job, so take
 * the latest process seen with it. */
static const char *report_proc_comm(const struct job *j, pid_t pid) {
        const struct job_proc *found = NULL;

        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n_procs; i++)
                if (j->procs[i].pid == pid && (!found || j->procs[i].last_seen_usec >= found->last_seen_usec))
                        found = &j->procs[i];
        return found && found->comm[0] ? found->comm : NULL;
}

static char *report_reason_total(const struct report_info *r) {
        char value[UNITS_SIZE_MAX], threshold[UNITS_SIZE_MAX], max[UNITS_SIZE_MAX];
        uint64_t bytes = r->state->culprit_bytes;
        double ratio = report_kill_threshold(r);
        char *s;

        /* Older states may not carry the value that crossed; the peak working set is what was compared. */
        if (bytes == 0 && r->job)
                bytes = r->job->peak_working_set_bytes ?: r->job->peak_total_bytes;
        units_format_size(value, bytes);

        if (!r->limits || r->limits->max_bytes == 0) {
                if (asprintf(&s, "total memory %s crossed the job's limit", value) < 0)
                        return NULL;
                return s;
        }

        units_format_size(threshold, policy_threshold(r->limits->max_bytes, ratio));
        units_format_size(max, r->limits->max_bytes);
        if (asprintf(&s, "total memory %s crossed the kill threshold %s (%g%% of %s)", value, threshold,
                     ratio * 100.0, max) < 0)
                return NULL;
        return s;
}

static char *report_reason_process(const struct report_info *r) {
        char value[UNITS_SIZE_MAX], threshold[UNITS_SIZE_MAX], max[UNITS_SIZE_MAX];
        _cleanup_free_ char *who = NULL;
        const char *comm;
        double ratio = report_kill_threshold(r);
        char *s;
        int k;

        comm = report_proc_comm(r->job, r->state->culprit_pid);
        if (comm)
                k = asprintf(&who, "process %d (%s)", (int) r->state->culprit_pid, comm);
        else
                k = asprintf(&who, "process %d", (int) r->state->culprit_pid);
        if (k < 0)
                return NULL;

        units_format_size(value, r->state->culprit_bytes);

        if (!r->limits || r->limits->max_process_bytes == 0) {
                if (asprintf(&s, "%s reached %s, over the per-process limit", who, value) < 0)
                        return NULL;
                return s;
        }

        units_format_size(threshold, policy_threshold(r->limits->max_process_bytes, ratio));
        units_format_size(max, r->limits->max_process_bytes);
        if (asprintf(&s, "%s reached %s, over the per-process kill threshold %s (%g%% of %s)", who, value,
                     threshold, ratio * 100.0, max) < 0)
                return NULL;
        return s;
}

static char *report_reason_oom(const struct report_info *r) {
        char max[UNITS_SIZE_MAX];
        _cleanup_free_ char *what = NULL;
        uint64_t n = r->job ? r->job->oom_kills : 0;
        char *s;
        int k;

        if (n > 1)
                k = asprintf(&what, "the kernel OOM-killed %" PRIu64 " processes", n);
        else
                k = asprintf(&what, "the kernel OOM-killed a process");
        if (k < 0)
                return NULL;

        if (r->limits && r->limits->max_bytes > 0)
                k = asprintf(&s, "%s at the hard limit of %s", what, units_format_size(max, r->limits->max_bytes));
        else
                k = asprintf(&s, "%s in the job", what);
        if (k < 0)
                return NULL;
        return s;
}

static char *report_reason_exit(const struct report_info *r) {
        char *s;
        int k;

        if (r->wait_status == -1) {
                if (r->job && r->job->end_realtime_usec == 0)
                        return strdup("the job is still running");
                return strdup("the job's exit status is unknown");
        }

        if (WIFEXITED(r->wait_status))
                k = asprintf(&s, "exited with status %d", WEXITSTATUS(r->wait_status));
        else if (WIFSIGNALED(r->wait_status)) {
                int sig = WTERMSIG(r->wait_status);
                const char *abbrev = sigabbrev_np(sig);
                const char *core = WCOREDUMP(r->wait_status) ? ", core dumped" : "";

                /* Real-time signals have no abbreviation; strsignal still describes them. */
                if (abbrev)
                        k = asprintf(&s, "killed by signal %d (SIG%s)%s", sig, abbrev, core);
                else
                        k = asprintf(&s, "killed by signal %d (%s)%s", sig, strsignal(sig), core);
        } else
                k = asprintf(&s, "ended with wait status 0x%x", (unsigned) r->wait_status);
        if (k < 0)
                return NULL;
        return s;
}

char *report_reason(const struct report_info *r) {
        switch (report_state_reason(r)) {
        case POLICY_REASON_TOTAL:
                return report_reason_total(r);
        case POLICY_REASON_PROCESS:
                return report_reason_process(r);
        case POLICY_REASON_KERNEL_OOM:
                return report_reason_oom(r);
        case POLICY_REASON_INTERRUPT:
                /* The state does not record which signal memguard got. */
                return strdup("memguard was interrupted (SIGINT or SIGTERM) and stopped the job");
        case POLICY_REASON_REQUEST:
                return strdup("an operator asked memguard to stop the job");
        case POLICY_REASON_HOST_RESERVE:
                return strdup("the host's available memory fell below memguardd's host-reserve and this was the "
                              "largest job");
        default:
                return report_reason_exit(r);
        }
}

static int report_proc_cmp(const void *a, const void *b) {
        const struct job_proc *x = *(const struct job_proc *const *) a, *y = *(const struct job_proc *const *) b;

        if (x->max_rss_bytes != y->max_rss_bytes)
                return x->max_rss_bytes > y->max_rss_bytes ? -1 : 1;
        if (x->pid != y->pid)
                return x->pid < y->pid ? -1 : 1;
        return x->first_seen_usec < y->first_seen_usec ? -1 : x->first_seen_usec > y->first_seen_usec;
}

/* The processes largest first, as memwatch lists them, without reordering the job itself (it is
 * const, and the sampler finds processes by position). */
static int report_sorted_procs(const struct job *j, const struct job_proc ***ret) {
        const struct job_proc **v;

        v = calloc(MAX(j->n_procs, (size_t) 1), sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_procs; i++)
                v[i] = &j->procs[i];
        if (j->n_procs > 1)
                qsort(v, j->n_procs, sizeof(*v), report_proc_cmp);
        *ret = v;
        return 0;
}

static int report_finish(FILE *f) {
        if (ferror(f))
                return -EIO;
        if (fflush(f) != 0)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

/* Writes s as one CSV field, always quoted, embedded quotes doubled (RFC 4180), as memwatch does. */
static void report_csv_quoted(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

int report_write_csv(FILE *f, const struct report_info *r) {
        _cleanup_free_ const struct job_proc **procs = NULL;
        int k;

        if (!f || !r || !r->job)
                return -EINVAL;

        k = report_sorted_procs(r->job, &procs);
        if (k < 0)
                return k;

        fputs("pid,ppid,command,max_rss_kib,max_rss_mib,first_seen,last_seen\n", f);
        for (size_t i = 0; i < r->job->n_procs; i++) {
                const struct job_proc *p = procs[i];
                char first[REPORT_TIME_MAX], last[REPORT_TIME_MAX];
                uint64_t kib = p->max_rss_bytes / KIB;

                fprintf(f, "%d,%d,", (int) p->pid, (int) p->ppid);
                report_csv_quoted(f, p->comm);
                fprintf(f, ",%" PRIu64 ",%.2f,%s,%s\n", kib, (double) kib / 1024.0,
                        report_format_time(first, p->first_seen_usec), report_format_time(last, p->last_seen_usec));
        }

        return report_finish(f);
}

int report_write_timeline(FILE *f, const struct report_info *r) {
        if (!f || !r || !r->job)
                return -EINVAL;

        fputs("timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count\n", f);
        for (size_t i = 0; i < r->job->n_samples; i++) {
                const struct job_sample *s = &r->job->samples[i];
                char ts[REPORT_TIME_MAX];

                fprintf(f, "%s,%.3f,%" PRIu64 ",%.2f,%" PRIu32 "\n", report_format_time(ts, s->realtime_usec),
                        (double) s->elapsed_usec / (double) USEC_PER_SEC, s->total_bytes / KIB,
                        (double) s->total_bytes / (double) MIB, s->nproc);
        }

        return report_finish(f);
}

/* json_object_set_new() and json_array_append_new() take NULL for a failed allocation and return -1,
 * which makes one check per member enough. */
static int report_json_set(json_t *o, const char *key, json_t *v) {
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static int report_json_append(json_t *a, json_t *v) {
        return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
}

static json_t *report_json_uint(uint64_t v) {
        return json_integer((json_int_t) MIN(v, (uint64_t) INT64_MAX));
}

/* Zero means "unset" for limits and the kernel counter: null tells consumers it was not there. */
static json_t *report_json_uint_or_null(uint64_t v) {
        return v > 0 ? report_json_uint(v) : json_null();
}

static json_t *report_json_time_or_null(uint64_t usec) {
        char buf[REPORT_TIME_MAX];

        if (usec == 0)
                return json_null();
        return json_string(report_format_time(buf, usec));
}

static json_t *report_json_string_or_null(const char *s) {
        _cleanup_free_ char *ascii = NULL;
        json_t *v;

        if (!s)
                return json_null();
        v = json_string(s);
        if (v)
                return v;

        /* json_string() refuses invalid UTF-8, and a comm or cmdline may hold any bytes; the dump would
         * fail on them as well. Keep the ASCII and mark the rest, as procfs does for control bytes. */
        ascii = strdup(s);
        if (!ascii)
                return NULL;
        for (char *c = ascii; *c; c++)
                if ((unsigned char) *c >= 0x80)
                        *c = '?';
        return json_string(ascii);
}

static int report_json_command(json_t *root, const struct job *j) {
        _cleanup_json_decref_ json_t *a = json_array();

        if (!a)
                return -ENOMEM;
        for (char **arg = j->argv; arg && *arg; arg++)
                if (report_json_append(a, report_json_string_or_null(*arg)) < 0)
                        return -ENOMEM;
        return report_json_set(root, "command", TAKE_PTR(a));
}

static int report_json_processes(json_t *root, const struct job *j) {
        _cleanup_json_decref_ json_t *a = json_array();
        _cleanup_free_ const struct job_proc **procs = NULL;
        int k;

        if (!a)
                return -ENOMEM;
        k = report_sorted_procs(j, &procs);
        if (k < 0)
                return k;

        for (size_t i = 0; i < j->n_procs; i++) {
                const struct job_proc *p = procs[i];
                _cleanup_json_decref_ json_t *o = json_object();

                if (!o)
                        return -ENOMEM;
                if (report_json_set(o, "pid", json_integer(p->pid)) < 0 ||
                    report_json_set(o, "ppid", json_integer(p->ppid)) < 0 ||
                    report_json_set(o, "command", report_json_string_or_null(p->comm)) < 0 ||
                    report_json_set(o, "cmdline", report_json_string_or_null(p->cmdline)) < 0 ||
                    report_json_set(o, "max_rss_kib", report_json_uint(p->max_rss_bytes / KIB)) < 0 ||
                    report_json_set(o, "first_seen", report_json_time_or_null(p->first_seen_usec)) < 0 ||
                    report_json_set(o, "last_seen", report_json_time_or_null(p->last_seen_usec)) < 0 ||
                    report_json_append(a, TAKE_PTR(o)) < 0)
                        return -ENOMEM;
        }
        return report_json_set(root, "processes", TAKE_PTR(a));
}

static int report_json_limit(json_t *root, const struct policy_limits *l) {
        _cleanup_json_decref_ json_t *o = json_object();

        if (!o)
                return -ENOMEM;
        if (report_json_set(o, "max_memory_bytes", l ? report_json_uint_or_null(l->max_bytes) : json_null()) < 0 ||
            report_json_set(o, "max_process_memory_bytes",
                            l ? report_json_uint_or_null(l->max_process_bytes) : json_null()) < 0 ||
            report_json_set(o, "kill_threshold",
                            l && l->kill_threshold > 0 ? json_real(l->kill_threshold) : json_null()) < 0 ||
            report_json_set(o, "warn_at", l && l->warn_at > 0 ? json_real(l->warn_at) : json_null()) < 0 ||
            report_json_set(o, "grace_seconds",
                            l ? json_real((double) l->grace_usec / (double) USEC_PER_SEC) : json_null()) < 0)
                return -ENOMEM;
        return report_json_set(root, "limit", TAKE_PTR(o));
}

static int report_json_peak(json_t *root, const struct job *j) {
        _cleanup_json_decref_ json_t *o = json_object();

        if (!o)
                return -ENOMEM;
        if (report_json_set(o, "sampled_total_bytes", report_json_uint(j->peak_total_bytes)) < 0 ||
            report_json_set(o, "working_set_bytes", report_json_uint(j->peak_working_set_bytes)) < 0 ||
            report_json_set(o, "kernel_high_water_bytes", report_json_uint_or_null(j->kernel_peak_bytes)) < 0)
                return -ENOMEM;
        return report_json_set(root, "peak", TAKE_PTR(o));
}

static int report_json_groups(json_t *root, const struct job *j) {
        _cleanup_json_decref_ json_t *a = json_array();
        _cleanup_free_ struct job_group *groups = NULL;
        size_t n = 0;
        int k;

        if (!a)
                return -ENOMEM;
        k = job_groups(j, &groups, &n);
        if (k < 0)
                return k;

        for (size_t i = 0; i < n; i++) {
                _cleanup_json_decref_ json_t *o = json_object();

                if (!o)
                        return -ENOMEM;
                if (report_json_set(o, "command", report_json_string_or_null(groups[i].comm)) < 0 ||
                    report_json_set(o, "processes", report_json_uint(groups[i].n_procs)) < 0 ||
                    report_json_set(o, "total_peak_kib", report_json_uint(groups[i].sum_peak_bytes / KIB)) < 0 ||
                    report_json_set(o, "max_peak_kib", report_json_uint(groups[i].max_peak_bytes / KIB)) < 0 ||
                    report_json_append(a, TAKE_PTR(o)) < 0)
                        return -ENOMEM;
        }
        return report_json_set(root, "groups", TAKE_PTR(a));
}

int report_write_json(FILE *f, const struct report_info *r) {
        _cleanup_json_decref_ json_t *root = NULL;
        _cleanup_free_ char *reason = NULL;
        const struct job *j;
        uint64_t interval_usec;
        int k;

        if (!f || !r || !r->job)
                return -EINVAL;
        j = r->job;

        reason = report_reason(r);
        if (!reason)
                return -ENOMEM;

        /* memwatch's consumers want one number; for adaptive sampling the slowest interval is the
         * honest bound on how stale a sample can be. */
        interval_usec = r->interval_usec > 0 ? r->interval_usec : POLICY_INTERVAL_MAX_USEC;

        root = json_object();
        if (!root)
                return -ENOMEM;

        /* Insertion order is output order (jansson >= 2.8): memwatch's keys first, ours after. */
        k = report_json_command(root, j);
        if (k < 0)
                return k;
        if (report_json_set(root, "start_time", report_json_time_or_null(j->start_realtime_usec)) < 0 ||
            report_json_set(root, "end_time", report_json_time_or_null(j->end_realtime_usec)) < 0 ||
            report_json_set(root, "duration_seconds",
                            json_real((double) report_duration_usec(j) / (double) USEC_PER_SEC)) < 0 ||
            report_json_set(root, "interval_ms", report_json_uint(interval_usec / USEC_PER_MSEC)) < 0 ||
            report_json_set(root, "interval_mode", json_string(r->interval_usec > 0 ? "fixed" : "adaptive")) < 0 ||
            report_json_set(root, "shortest_interval_ms",
                            r->shortest_interval_usec > 0 ? json_real((double) r->shortest_interval_usec / USEC_PER_MSEC)
                                                          : json_null()) < 0 ||
            report_json_set(root, "max_total_rss_kib", report_json_uint(job_peak_total(j) / KIB)) < 0)
                return -ENOMEM;

        k = report_json_processes(root, j);
        if (k < 0)
                return k;
        k = report_json_limit(root, r->limits);
        if (k < 0)
                return k;

        if (report_json_set(root, "verdict", json_string(report_verdict(r))) < 0 ||
            report_json_set(root, "reason", report_json_string_or_null(reason)) < 0 ||
            report_json_set(root, "backend", report_json_string_or_null(r->backend)) < 0 ||
            report_json_set(root, "measures", report_json_string_or_null(r->measures)) < 0 ||
            report_json_set(root, "exit_code", json_integer(r->exit_code)) < 0)
                return -ENOMEM;

        k = report_json_peak(root, j);
        if (k < 0)
                return k;

        if (report_json_set(root, "samples", report_json_uint(j->n_samples)) < 0 ||
            report_json_set(root, "oom_kills", report_json_uint(j->oom_kills)) < 0)
                return -ENOMEM;

        k = report_json_groups(root, j);
        if (k < 0)
                return k;

        if (report_json_set(root, "dry_run", json_boolean(r->dry_run)) < 0 ||
            report_json_set(root, "signal",
                            r->wait_status != -1 && WIFSIGNALED(r->wait_status) ?
                                    json_integer(WTERMSIG(r->wait_status)) : json_null()) < 0)
                return -ENOMEM;
        if (r->note && report_json_set(root, "note", report_json_string_or_null(r->note)) < 0)
                return -ENOMEM;

        /* 15 significant digits: 0.8 stays "0.8" instead of its 17-digit binary expansion. */
        if (json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) < 0)
                return ferror(f) ? -EIO : -ENOMEM;
        fputc('\n', f);

        return report_finish(f);
}

static void report_text_samples(FILE *f, const struct report_info *r) {
        char interval[UNITS_DURATION_MAX];

        fprintf(f, "Samples:         %zu ", r->job->n_samples);
        if (r->interval_usec > 0)
                fprintf(f, "(every %s)\n", units_format_duration(interval, r->interval_usec));
        else if (r->shortest_interval_usec > 0)
                fprintf(f, "(adaptive, %" PRIu64 "-%" PRIu64 " ms; every %s at the closest)\n",
                        (uint64_t) (POLICY_INTERVAL_MIN_USEC / USEC_PER_MSEC),
                        (uint64_t) (POLICY_INTERVAL_MAX_USEC / USEC_PER_MSEC),
                        units_format_duration(interval, r->shortest_interval_usec));
        else
                fprintf(f, "(adaptive, %" PRIu64 "-%" PRIu64 " ms)\n",
                        (uint64_t) (POLICY_INTERVAL_MIN_USEC / USEC_PER_MSEC),
                        (uint64_t) (POLICY_INTERVAL_MAX_USEC / USEC_PER_MSEC));
}

static void report_text_duration(FILE *f, const struct job *j) {
        uint64_t usec = report_duration_usec(j), sec = usec / USEC_PER_SEC;
        char precise[UNITS_DURATION_MAX];

        fprintf(f, "Duration:        %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, sec / 3600, sec / 60 % 60, sec % 60);
        /* Short jobs would all read 00:00:00; the precise figure is what tells them apart. */
        if (sec < 60)
                fprintf(f, " (%s)", units_format_duration(precise, usec));
        fputc('\n', f);
}

static void report_text_peak(FILE *f, const struct job *j) {
        char total[UNITS_SIZE_MAX], ws[UNITS_SIZE_MAX], kernel[UNITS_SIZE_MAX];
        bool show_ws = j->peak_working_set_bytes > 0 && j->peak_working_set_bytes != j->peak_total_bytes;

        fprintf(f, "Peak total:      %s", units_format_size(total, j->peak_total_bytes));
        /* The working set is what the limits compare; show it when cache makes it differ. */
        if (show_ws && j->kernel_peak_bytes > 0)
                fprintf(f, " (working set %s, kernel high-water %s)", units_format_size(ws, j->peak_working_set_bytes),
                        units_format_size(kernel, j->kernel_peak_bytes));
        else if (show_ws)
                fprintf(f, " (working set %s)", units_format_size(ws, j->peak_working_set_bytes));
        else if (j->kernel_peak_bytes > 0)
                fprintf(f, " (kernel high-water %s)", units_format_size(kernel, j->kernel_peak_bytes));
        fputc('\n', f);
}

/* "4.0 GiB, kill threshold 80% (3.2 GiB)" */
static void report_text_ceiling(FILE *f, uint64_t max_bytes, double ratio) {
        char max[UNITS_SIZE_MAX], threshold[UNITS_SIZE_MAX];

        fprintf(f, "%s, kill threshold %g%% (%s)", units_format_size(max, max_bytes), ratio * 100.0,
                units_format_size(threshold, policy_threshold(max_bytes, ratio)));
}

static void report_text_limits(FILE *f, const struct report_info *r) {
        const struct policy_limits *l = r->limits;
        double ratio = report_kill_threshold(r);
        char warn[UNITS_SIZE_MAX], grace[UNITS_DURATION_MAX];
        bool has_max = l && l->max_bytes > 0, has_process = l && l->max_process_bytes > 0;

        fputs("Limit:           ", f);
        if (has_max) {
                report_text_ceiling(f, l->max_bytes, ratio);
                if (l->warn_at > 0)
                        fprintf(f, ", warn at %g%% (%s)", l->warn_at * 100.0,
                                units_format_size(warn, policy_threshold(l->max_bytes, l->warn_at)));
                fprintf(f, ", grace %s\n", units_format_duration(grace, l->grace_usec));
        } else
                fputs("none\n", f);

        fputs("Process limit:   ", f);
        if (has_process) {
                report_text_ceiling(f, l->max_process_bytes, ratio);
                /* The grace applies to both ladders; say it once, where it is seen first. */
                if (!has_max)
                        fprintf(f, ", grace %s", units_format_duration(grace, l->grace_usec));
                fputc('\n', f);
        } else
                fputs("none\n", f);
}

static int report_text_processes(FILE *f, const struct job *j) {
        _cleanup_free_ const struct job_proc **procs = NULL;
        size_t shown = MIN(j->n_procs, (size_t) REPORT_TEXT_MAX_ROWS);
        int k;

        k = report_sorted_procs(j, &procs);
        if (k < 0)
                return k;

        fputs("\nPer-process peak RSS:\n", f);
        if (j->n_procs == 0)
                fputs("  none seen (the job ended before the first sample)\n", f);
        for (size_t i = 0; i < shown; i++) {
                char size[UNITS_SIZE_MAX], comm[REPORT_COMM_ESCAPED_MAX];

                fprintf(f, "  pid %-6d %9s  %s\n", (int) procs[i]->pid,
                        units_format_size(size, procs[i]->max_rss_bytes),
                        escape_control(procs[i]->comm, comm, sizeof(comm)));
        }
        if (j->n_procs > shown)
                fprintf(f, "  ... and %zu more\n", j->n_procs - shown);
        return 0;
}

static int report_text_groups(FILE *f, const struct job *j) {
        _cleanup_free_ struct job_group *groups = NULL;
        size_t n = 0, shown;
        int k;

        k = job_groups(j, &groups, &n);
        if (k < 0)
                return k;
        if (n == 0)
                return 0;

        shown = MIN(n, (size_t) REPORT_TEXT_MAX_ROWS);
        fputs("Process groups (by command):\n", f);
        for (size_t i = 0; i < shown; i++) {
                char size[UNITS_SIZE_MAX], comm[REPORT_COMM_ESCAPED_MAX];

                fprintf(f, "  %-20s (%2zu process%s)  total peak %s\n",
                        escape_control(groups[i].comm, comm, sizeof(comm)), groups[i].n_procs,
                        groups[i].n_procs == 1 ? "" : "es", units_format_size(size, groups[i].sum_peak_bytes));
        }
        if (n > shown)
                fprintf(f, "  ... and %zu more\n", n - shown);
        return 0;
}

int report_write_text(FILE *f, const struct report_info *r) {
        _cleanup_free_ char *command = NULL, *reason = NULL;
        const struct job *j;
        int k;

        if (!f || !r || !r->job)
                return -EINVAL;
        j = r->job;

        /* The command line is the user's own text: one line, whatever it holds. */
        _cleanup_free_ char *raw = job_command_string(j);
        command = raw ? escape_control_dup(raw) : NULL;
        reason = report_reason(r);
        if (!command || !reason)
                return -ENOMEM;

        fputs("memguard: job report\n", f);
        fprintf(f, "Command:         %s\n", command);
        report_text_duration(f, j);
        report_text_samples(f, r);
        if (r->backend) {
                fprintf(f, "Backend:         %s", r->backend);
                if (r->measures)
                        fprintf(f, " (%s)", r->measures);
                fputc('\n', f);
        }
        report_text_peak(f, j);
        report_text_limits(f, r);
        if (j->oom_kills > 0)
                fprintf(f, "OOM kills:       %" PRIu64 " (by the kernel)\n", j->oom_kills);
        if (r->dry_run)
                fputs("Dry run:         yes (limits were checked, no signals were sent)\n", f);
        fprintf(f, "Verdict:         %s: %s\n", report_verdict(r), reason);
        fprintf(f, "Exit code:       %d\n", r->exit_code);
        if (r->note)
                fprintf(f, "Note:            %s\n", r->note);

        k = report_text_processes(f, j);
        if (k < 0)
                return k;
        k = report_text_groups(f, j);
        if (k < 0)
                return k;

        return report_finish(f);
}
