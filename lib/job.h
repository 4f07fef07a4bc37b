/* SPDX-License-Identifier: MIT */
/* One supervised job as memguard saw it: every process that ever belonged to it with its own peak,
 * the timeline of samples, and the job's peaks. Filled by job_sample(); read by policy input,
 * the reports and the daemon. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procfs.h"

struct backend;
struct sysroot;

struct job_proc {
        pid_t pid;
        pid_t ppid;
        uint64_t starttime;             /* with pid, identifies the process across pid reuse */
        char comm[PROCFS_COMM_MAX];     /* latest name (a fork that execs changes it) */
        char *cmdline;                  /* command line as last read, printable */
        uint64_t rss_bytes;             /* at the last sample that saw it */
        uint64_t max_rss_bytes;         /* max of sampled RSS and the kernel's VmHWM */
        uint64_t first_seen_usec;       /* CLOCK_REALTIME */
        uint64_t last_seen_usec;
        bool alive;                     /* present in the last sample */
};

struct job_sample {
        uint64_t realtime_usec;         /* CLOCK_REALTIME when taken */
        uint64_t elapsed_usec;          /* since the job started */
        uint64_t total_bytes;           /* the backend's total for the job */
        uint64_t working_set_bytes;     /* total without reclaimable cache: what limits compare */
        uint64_t rss_sum_bytes;         /* sum of the processes' RSS */
        uint32_t nproc;
};

struct job_group {
        char comm[PROCFS_COMM_MAX];
        size_t n_procs;
        uint64_t sum_peak_bytes;        /* sum of the processes' own peaks */
        uint64_t max_peak_bytes;
};

struct job {
        char **argv;                    /* owned copy, NULL-terminated */
        pid_t pid;                      /* the root process */

        struct job_proc *procs;
        size_t n_procs, cap_procs;

        struct job_sample *samples;
        size_t n_samples, cap_samples;
        size_t max_samples;             /* the timeline is thinned to half when it reaches this */

        uint64_t start_realtime_usec, end_realtime_usec;
        uint64_t start_mono_usec, end_mono_usec;

        uint64_t peak_total_bytes;      /* max sampled total */
        uint64_t peak_working_set_bytes;
        uint64_t kernel_peak_bytes;     /* the kernel's high-water counter for the group (0: none) */
        uint64_t oom_kills;             /* kernel OOM kills seen inside the job */

        /* the largest single process at the last sample, for per-process limits */
        pid_t top_pid;
        uint64_t top_rss_bytes;
};

/* A long job's timeline keeps its shape, not every sample: at this many, every other one goes. */
#define JOB_SAMPLES_MAX 4096

/* Copies argv. start times are taken from the clocks now. */
int job_new(char *const *argv, struct job **ret);
struct job *job_free(struct job *j);
static inline void job_freep(struct job **j) {
        job_free(*j);
}

/* One sampling pass: the backend's totals, the member processes (status per process: RSS, VmHWM,
 * name), the peaks; appends to the timeline. now_* are the caller's clock readings. Processes that
 * vanish mid-read are skipped. Returns 0 or -errno from the backend. */
int job_sample(struct job *j, struct backend *b, const struct sysroot *s, uint64_t now_mono_usec,
               uint64_t now_realtime_usec);

/* A cheaper pass for cgroup backends between full ones: the group's counters only, without listing
 * or reading its processes (their peaks are the kernel's VmHWM, caught at the next full pass); the
 * process count and per-process fields keep their last values. A backend without group counters
 * (procfs) gets a full pass. */
int job_sample_totals(struct job *j, struct backend *b, const struct sysroot *s, uint64_t now_mono_usec,
                      uint64_t now_realtime_usec);

/* Record what one process looks like now (used by job_sample and by tests). */
struct job_proc *job_note_proc(struct job *j, const struct procfs_stat *st, const struct procfs_status *status,
                               const char *cmdline, uint64_t now_realtime_usec);

/* Processes grouped by name, largest total peak first. *ret is malloc'ed. */
int job_groups(const struct job *j, struct job_group **ret, size_t *ret_n);

/* The process with the largest peak, or NULL when none was seen. */
const struct job_proc *job_top_proc(const struct job *j);

/* A command line as one string (arguments joined by spaces). malloc'ed, NULL on OOM. */
char *job_argv_string(char *const *argv);
/* The job's command line, as job_argv_string(). */
char *job_command_string(const struct job *j);

/* The job's two peaks. The kernel's high-water counter sees spikes between two samples, so it wins
 * when it is larger. Total: everything charged to the job, page cache included (what memwatch calls
 * max_total_rss_kib, for reports). Working set: what the ladder compares with the limit (for the
 * daemon's records and signals). */
uint64_t job_peak_total(const struct job *j);
uint64_t job_peak_working_set(const struct job *j);

/* Marks the end of the job (clocks). */
void job_finish(struct job *j, uint64_t now_mono_usec, uint64_t now_realtime_usec);
