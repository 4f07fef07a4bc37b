/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "job.h"
#include "macro.h"
#include "sysroot.h"

int job_new(char *const *argv, struct job **ret) {
        size_t n = 0;
        while (argv && argv[n])
                n++;
        if (n == 0)
                return -EINVAL;

        struct job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->argv = calloc(n + 1, sizeof(char *));
        if (!j->argv) {
                free(j);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                j->argv[i] = strdup(argv[i]);
                if (!j->argv[i]) {
                        job_free(j);
                        return -ENOMEM;
                }
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        j->start_mono_usec = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        clock_gettime(CLOCK_REALTIME, &ts);
        j->start_realtime_usec = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        *ret = j;
        return 0;
}

struct job *job_free(struct job *j) {
        if (!j)
                return NULL;
        for (size_t i = 0; j->argv && j->argv[i]; i++)
                free(j->argv[i]);
        free(j->argv);
        for (size_t i = 0; i < j->n_procs; i++)
                free(j->procs[i].cmdline);
        free(j->procs);
        free(j->samples);
        free(j);
        return NULL;
}

static struct job_proc *job_find_proc(struct job *j, pid_t pid, uint64_t starttime) {
        /* Newest first: a reused pid's latest incarnation is the one still alive. */
        for (size_t i = j->n_procs; i > 0; i--)
                if (j->procs[i - 1].pid == pid && j->procs[i - 1].starttime == starttime)
                        return &j->procs[i - 1];
        return NULL;
}

struct job_proc *job_note_proc(struct job *j, const struct procfs_stat *st, const struct procfs_status *status,
                               const char *cmdline, uint64_t now_realtime_usec) {
        struct job_proc *p = job_find_proc(j, st->pid, st->starttime);
        if (!p) {
                if (j->n_procs == j->cap_procs) {
                        size_t cap = j->cap_procs ? j->cap_procs * 2 : 16;
                        struct job_proc *n = realloc(j->procs, cap * sizeof(*n));
                        if (!n)
                                return NULL;
                        j->procs = n;
                        j->cap_procs = cap;
                }
                p = &j->procs[j->n_procs++];
                *p = (struct job_proc) {
                        .pid = st->pid,
                        .starttime = st->starttime,
                        .first_seen_usec = now_realtime_usec,
                };
        }
        p->ppid = status ? status->ppid : st->ppid;
        /* The name from status follows exec (a forked shell becomes "gcc"); stat's is the fallback. */
        snprintf(p->comm, sizeof(p->comm), "%s", status && status->name[0] ? status->name : st->comm);
        if (cmdline && *cmdline && (!p->cmdline || strcmp(p->cmdline, cmdline) != 0)) {
                char *c = strdup(cmdline);
                if (c) {
                        free(p->cmdline);
                        p->cmdline = c;
                }
        }
        uint64_t rss = status ? status->rss_kib * KIB : 0;
        uint64_t hwm = status ? status->hwm_kib * KIB : 0;
        p->rss_bytes = rss;
        p->max_rss_bytes = MAX(p->max_rss_bytes, MAX(rss, hwm));
        p->last_seen_usec = now_realtime_usec;
        p->alive = true;
        return p;
}

/* Halves the timeline's resolution, keeping its first and latest samples: memory stays bounded for a
 * job that runs for days, and the shape (and every peak, kept apart) survives. */
static void job_thin_samples(struct job *j) {
        size_t k = 0;
        for (size_t i = 0; i < j->n_samples; i += 2)
                j->samples[k++] = j->samples[i];
        if (j->n_samples % 2 == 0)
                j->samples[k - 1] = j->samples[j->n_samples - 1];
        j->n_samples = k;
}

static int job_append_sample(struct job *j, const struct job_sample *s) {
        size_t max = j->max_samples ? j->max_samples : JOB_SAMPLES_MAX;
        if (j->n_samples >= max && max >= 4)
                job_thin_samples(j);
        if (j->n_samples == j->cap_samples) {
                size_t cap = j->cap_samples ? MIN(j->cap_samples * 2, MAX(max, 16)) : 16;
                struct job_sample *n = realloc(j->samples, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                j->samples = n;
                j->cap_samples = cap;
        }
        j->samples[j->n_samples++] = *s;
        return 0;
}

/* The job's peaks and OOM kills from one reading of the backend's counters. */
static void job_note_totals(struct job *j, const struct backend_sample *bs) {
        j->peak_total_bytes = MAX(j->peak_total_bytes, bs->current_bytes);
        j->peak_working_set_bytes = MAX(j->peak_working_set_bytes, bs->working_set_bytes);
        j->kernel_peak_bytes = MAX(j->kernel_peak_bytes, bs->kernel_peak_bytes);
        j->oom_kills = MAX(j->oom_kills, bs->oom_kills);
}

int job_sample(struct job *j, struct backend *b, const struct sysroot *s, uint64_t now_mono_usec,
               uint64_t now_realtime_usec) {
        struct backend_sample bs;
        int r = backend_sample(b, &bs);
        if (r < 0)
                return r;

        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        r = backend_pids(b, &pids, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < j->n_procs; i++)
                j->procs[i].alive = false;

        uint64_t rss_sum = 0;
        uint32_t nproc = 0;
        j->top_pid = 0;
        j->top_rss_bytes = 0;
        for (size_t i = 0; i < n; i++) {
                struct procfs_stat st;
                struct procfs_status status;
                /* Processes come and go between listing and reading: a vanished one is simply skipped. */
                if (procfs_read_stat(s, pids[i], &st) < 0)
                        continue;
                if (procfs_read_status(s, pids[i], &status) < 0)
                        continue;
                if (!status.has_vm && st.state == 'Z')
                        continue;  /* a zombie holds no memory and is about to be reaped */

                struct job_proc *p = job_find_proc(j, st.pid, st.starttime);
                _cleanup_free_ char *cmdline = NULL;
                /* The command line changes only at exec, which also changes the name. */
                if (!p || strcmp(p->comm, status.name) != 0 || !p->cmdline)
                        (void) procfs_read_cmdline(s, st.pid, &cmdline);
                p = job_note_proc(j, &st, &status, cmdline, now_realtime_usec);
                if (!p)
                        return -ENOMEM;
                rss_sum += p->rss_bytes;
                nproc++;
                if (p->rss_bytes > j->top_rss_bytes) {
                        j->top_rss_bytes = p->rss_bytes;
                        j->top_pid = p->pid;
                }
        }

        if (bs.from_processes) {
                bs.current_bytes = rss_sum;
                bs.working_set_bytes = rss_sum;
        }

        struct job_sample sample = {
                .realtime_usec = now_realtime_usec,
                .elapsed_usec = now_mono_usec > j->start_mono_usec ? now_mono_usec - j->start_mono_usec : 0,
                .total_bytes = bs.current_bytes,
                .working_set_bytes = bs.working_set_bytes,
                .rss_sum_bytes = rss_sum,
                .nproc = nproc,
        };
        r = job_append_sample(j, &sample);
        if (r < 0)
                return r;

        job_note_totals(j, &bs);
        return 0;
}

int job_sample_totals(struct job *j, struct backend *b, const struct sysroot *s, uint64_t now_mono_usec,
                      uint64_t now_realtime_usec) {
        struct backend_sample bs;
        int r = backend_sample(b, &bs);
        if (r < 0)
                return r;
        if (bs.from_processes)
                return job_sample(j, b, s, now_mono_usec, now_realtime_usec);

        const struct job_sample *last = j->n_samples ? &j->samples[j->n_samples - 1] : NULL;
        struct job_sample sample = {
                .realtime_usec = now_realtime_usec,
                .elapsed_usec = now_mono_usec > j->start_mono_usec ? now_mono_usec - j->start_mono_usec : 0,
                .total_bytes = bs.current_bytes,
                .working_set_bytes = bs.working_set_bytes,
                .rss_sum_bytes = last ? last->rss_sum_bytes : 0,
                .nproc = last ? last->nproc : 0,
        };
        r = job_append_sample(j, &sample);
        if (r < 0)
                return r;
        job_note_totals(j, &bs);
        return 0;
}

static int job_group_cmp(const void *a, const void *b) {
        const struct job_group *x = a, *y = b;
        if (x->sum_peak_bytes != y->sum_peak_bytes)
                return x->sum_peak_bytes > y->sum_peak_bytes ? -1 : 1;
        return strcmp(x->comm, y->comm);
}

int job_groups(const struct job *j, struct job_group **ret, size_t *ret_n) {
        struct job_group *g = calloc(j->n_procs ? j->n_procs : 1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < j->n_procs; i++) {
                const struct job_proc *p = &j->procs[i];
                size_t k;
                for (k = 0; k < n; k++)
                        if (strcmp(g[k].comm, p->comm) == 0)
                                break;
                if (k == n)
                        snprintf(g[n++].comm, sizeof(g[k].comm), "%s", p->comm);
                g[k].n_procs++;
                g[k].sum_peak_bytes += p->max_rss_bytes;
                g[k].max_peak_bytes = MAX(g[k].max_peak_bytes, p->max_rss_bytes);
        }
        qsort(g, n, sizeof(*g), job_group_cmp);
        *ret = g;
        *ret_n = n;
        return 0;
}

const struct job_proc *job_top_proc(const struct job *j) {
        const struct job_proc *top = NULL;
        for (size_t i = 0; i < j->n_procs; i++)
                if (!top || j->procs[i].max_rss_bytes > top->max_rss_bytes)
                        top = &j->procs[i];
        return top;
}

char *job_argv_string(char *const *argv) {
        size_t len = 1;
        for (size_t i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 1;
        char *s = malloc(len), *p = s;
        if (!s)
                return NULL;
        *p = 0;
        for (size_t i = 0; argv[i]; i++)
                p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
        return s;
}

char *job_command_string(const struct job *j) {
        return job_argv_string(j->argv);
}

void job_finish(struct job *j, uint64_t now_mono_usec, uint64_t now_realtime_usec) {
        j->end_mono_usec = now_mono_usec;
        j->end_realtime_usec = now_realtime_usec;
        for (size_t i = 0; i < j->n_procs; i++)
                j->procs[i].alive = false;
}

uint64_t job_peak_total(const struct job *j) {
        return MAX(j->peak_total_bytes, j->kernel_peak_bytes);
}

uint64_t job_peak_working_set(const struct job *j) {
        return MAX(j->peak_working_set_bytes, j->kernel_peak_bytes);
}
