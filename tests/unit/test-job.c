/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "host.h"
#include "job.h"
#include "macro.h"
#include "procfs.h"
#include "sysroot.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

#define PROCFS_HOST FIXTURES "/procfs-host"

/* What the procfs-host fixture's job processes hold, in KiB (see their status files). */
#define RSS_MAKE 4096
#define HWM_MAKE 6144
#define RSS_CC1 102400
#define HWM_CC1 153600
#define RSS_PY 51200

static struct procfs_stat proc_stat(pid_t pid, const char *comm, pid_t ppid, uint64_t starttime) {
        struct procfs_stat st = { .pid = pid, .state = 'S', .ppid = ppid, .pgrp = pid, .starttime = starttime };
        snprintf(st.comm, sizeof(st.comm), "%s", comm);
        return st;
}

static struct procfs_status proc_status(const char *name, pid_t ppid, uint64_t rss_kib, uint64_t hwm_kib) {
        struct procfs_status st = { .ppid = ppid, .uid = 1000, .rss_kib = rss_kib, .hwm_kib = hwm_kib, .has_vm = true };
        snprintf(st.name, sizeof(st.name), "%s", name);
        return st;
}

/* Records one process with the given peak, for the tests of what is derived from the list. */
static void note(struct job *j, pid_t pid, const char *name, uint64_t peak_kib) {
        struct procfs_stat st = proc_stat(pid, name, 1, (uint64_t) pid * 10);
        struct procfs_status status = proc_status(name, 1, peak_kib / 2, peak_kib);
        assert_non_null(job_note_proc(j, &st, &status, name, 1));
}

static void test_new(void **state) {
        char arg0[] = "make", arg1[] = "-j4";
        char *argv[] = { arg0, arg1, NULL };
        _cleanup_(job_freep) struct job *j = NULL;

        assert_int_equal(job_new(argv, &j), 0);
        assert_non_null(j);
        /* a copy: the caller's strings may change or go away */
        arg0[0] = 'X';
        arg1[1] = 'X';
        assert_string_equal(j->argv[0], "make");
        assert_string_equal(j->argv[1], "-j4");
        assert_null(j->argv[2]);
        assert_ptr_not_equal(j->argv, argv);
        assert_ptr_not_equal(j->argv[0], arg0);
        assert_true(j->start_mono_usec > 0);
        assert_true(j->start_realtime_usec > 0);
        assert_int_equal(j->n_procs, 0);
        assert_int_equal(j->n_samples, 0);

        struct job *none = (struct job *) 0x1;
        char *empty[] = { NULL };
        assert_int_equal(job_new(empty, &none), -EINVAL);
        assert_int_equal(job_new(NULL, &none), -EINVAL);
        /* nothing handed out on failure */
        assert_ptr_equal(none, (struct job *) 0x1);

        assert_null(job_free(NULL));
}

static void test_note_proc_peaks(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;
        struct procfs_stat st = proc_stat(500, "sh", 100, 1000);
        struct procfs_status status;
        struct job_proc *p;

        assert_int_equal(job_new((char *[]) { "sh", NULL }, &j), 0);

        status = proc_status("sh", 100, 1000, 1500);
        p = job_note_proc(j, &st, &status, "sh -c make", 10);
        assert_non_null(p);
        assert_int_equal(p->pid, 500);
        assert_int_equal(p->ppid, 100);
        assert_int_equal(p->starttime, 1000);
        assert_string_equal(p->comm, "sh");
        assert_string_equal(p->cmdline, "sh -c make");
        assert_int_equal(p->rss_bytes, 1000 * KIB);
        /* the kernel's own high-water mark saw more than this sample did */
        assert_int_equal(p->max_rss_bytes, 1500 * KIB);
        assert_int_equal(p->first_seen_usec, 10);
        assert_int_equal(p->last_seen_usec, 10);
        assert_true(p->alive);

        /* grown past its last VmHWM reading: the sample counts */
        status = proc_status("sh", 100, 3000, 1500);
        p = job_note_proc(j, &st, &status, "sh -c make", 20);
        assert_int_equal(p->max_rss_bytes, 3000 * KIB);
        assert_int_equal(p->rss_bytes, 3000 * KIB);

        /* shrunk: the peak stays, the current value follows */
        status = proc_status("sh", 100, 500, 2000);
        p = job_note_proc(j, &st, &status, NULL, 30);
        assert_int_equal(p->max_rss_bytes, 3000 * KIB);
        assert_int_equal(p->rss_bytes, 500 * KIB);
        assert_int_equal(p->first_seen_usec, 10);
        assert_int_equal(p->last_seen_usec, 30);
        /* no command line this time: the one read before stays */
        assert_string_equal(p->cmdline, "sh -c make");
        assert_int_equal(j->n_procs, 1);

        /* no status at all (unreadable): stat's name, nothing measured, the peak kept */
        p = job_note_proc(j, &st, NULL, "", 40);
        assert_string_equal(p->comm, "sh");
        assert_int_equal(p->rss_bytes, 0);
        assert_int_equal(p->max_rss_bytes, 3000 * KIB);
        assert_string_equal(p->cmdline, "sh -c make");
        assert_int_equal(j->n_procs, 1);
}

static void test_note_proc_exec(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;
        struct procfs_stat st = proc_stat(500, "sh", 100, 1000);
        struct procfs_status status = proc_status("sh", 100, 1000, 1000);
        struct job_proc *p;

        assert_int_equal(job_new((char *[]) { "sh", NULL }, &j), 0);
        assert_non_null(job_note_proc(j, &st, &status, "sh -c gcc x.c", 1));

        /* the forked shell execs gcc: same process, new name and command line */
        status = proc_status("gcc", 100, 8000, 8000);
        st = proc_stat(500, "gcc", 100, 1000);
        p = job_note_proc(j, &st, &status, "gcc -c x.c", 2);
        assert_int_equal(j->n_procs, 1);
        assert_string_equal(p->comm, "gcc");
        assert_string_equal(p->cmdline, "gcc -c x.c");
        assert_int_equal(p->max_rss_bytes, 8000 * KIB);
        assert_int_equal(p->first_seen_usec, 1);

        /* status's name wins over stat's: it follows exec and is unescaped */
        st = proc_stat(500, "stale", 100, 1000);
        p = job_note_proc(j, &st, &status, NULL, 3);
        assert_string_equal(p->comm, "gcc");
}

static void test_note_proc_pid_reuse(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;
        struct procfs_stat old = proc_stat(700, "cc1", 100, 5000);
        struct procfs_stat reused = proc_stat(700, "ld", 100, 9000);
        struct procfs_status status;
        struct job_proc *p;

        assert_int_equal(job_new((char *[]) { "make", NULL }, &j), 0);
        status = proc_status("cc1", 100, 40000, 50000);
        assert_non_null(job_note_proc(j, &old, &status, "cc1 big.c", 1));

        /* the same pid, born later: another process, with a peak of its own */
        status = proc_status("ld", 100, 100, 200);
        p = job_note_proc(j, &reused, &status, "ld -o a.out", 2);
        assert_int_equal(j->n_procs, 2);
        assert_int_equal(p->starttime, 9000);
        assert_string_equal(p->comm, "ld");
        assert_int_equal(p->max_rss_bytes, 200 * KIB);
        assert_int_equal(j->procs[0].max_rss_bytes, 50000 * KIB);
        assert_string_equal(j->procs[0].comm, "cc1");
        assert_string_equal(j->procs[0].cmdline, "cc1 big.c");

        /* and each is found again by its own start time */
        status = proc_status("ld", 100, 300, 300);
        p = job_note_proc(j, &reused, &status, NULL, 3);
        assert_int_equal(j->n_procs, 2);
        assert_ptr_equal(p, &j->procs[1]);
        assert_int_equal(p->max_rss_bytes, 300 * KIB);
        assert_int_equal(j->procs[0].max_rss_bytes, 50000 * KIB);
}

static void test_note_proc_many(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;

        /* well past the first allocation: every entry survives the growth */
        assert_int_equal(job_new((char *[]) { "make", NULL }, &j), 0);
        for (pid_t pid = 1000; pid < 1100; pid++)
                note(j, pid, "cc1", (uint64_t) pid);
        assert_int_equal(j->n_procs, 100);
        for (size_t i = 0; i < j->n_procs; i++) {
                assert_int_equal(j->procs[i].pid, 1000 + (pid_t) i);
                assert_int_equal(j->procs[i].max_rss_bytes, (1000 + i) * KIB);
                assert_string_equal(j->procs[i].cmdline, "cc1");
        }
}

static void test_groups(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;
        _cleanup_free_ struct job_group *g = NULL;
        size_t n = 0;

        assert_int_equal(job_new((char *[]) { "make", NULL }, &j), 0);
        note(j, 10, "cc1", 100 * 1024);
        note(j, 11, "cc1", 300 * 1024);
        note(j, 12, "cc1", 200 * 1024);
        note(j, 20, "ld", 700 * 1024);
        note(j, 30, "make", 10 * 1024);
        note(j, 40, "as", 5 * 1024);
        note(j, 41, "as", 5 * 1024);

        assert_int_equal(job_groups(j, &g, &n), 0);
        assert_int_equal(n, 4);
        /* largest total first: one big ld outweighs three smaller cc1 */
        assert_string_equal(g[0].comm, "ld");
        assert_int_equal(g[0].n_procs, 1);
        assert_int_equal(g[0].sum_peak_bytes, 700 * MIB);
        assert_int_equal(g[0].max_peak_bytes, 700 * MIB);
        assert_string_equal(g[1].comm, "cc1");
        assert_int_equal(g[1].n_procs, 3);
        assert_int_equal(g[1].sum_peak_bytes, 600 * MIB);
        assert_int_equal(g[1].max_peak_bytes, 300 * MIB);
        /* equal totals: by name, so the report is the same from run to run */
        assert_string_equal(g[2].comm, "as");
        assert_int_equal(g[2].n_procs, 2);
        assert_int_equal(g[2].sum_peak_bytes, 10 * MIB);
        assert_int_equal(g[2].max_peak_bytes, 5 * MIB);
        assert_string_equal(g[3].comm, "make");
        assert_int_equal(g[3].n_procs, 1);
}

static void test_groups_empty(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;
        _cleanup_free_ struct job_group *g = NULL;
        size_t n = 99;

        assert_int_equal(job_new((char *[]) { "true", NULL }, &j), 0);
        assert_int_equal(job_groups(j, &g, &n), 0);
        assert_int_equal(n, 0);
        /* an allocation all the same, so callers tell "none" from failure */
        assert_non_null(g);
        assert_null(job_top_proc(j));
}

static void test_top_proc(void **state) {
        _cleanup_(job_freep) struct job *j = NULL;

        assert_int_equal(job_new((char *[]) { "make", NULL }, &j), 0);
        note(j, 10, "cc1", 300 * 1024);
        assert_int_equal(job_top_proc(j)->pid, 10);
        note(j, 20, "ld", 700 * 1024);
        note(j, 30, "as", 5 * 1024);
        const struct job_proc *top = job_top_proc(j);
        assert_non_null(top);
        assert_int_equal(top->pid, 20);
        assert_string_equal(top->comm, "ld");
        assert_int_equal(top->max_rss_bytes, 700 * MIB);
}

static void check_command(char **argv, const char *want) {
        _cleanup_(job_freep) struct job *j = NULL;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(job_new(argv, &j), 0);
        s = job_command_string(j);
        assert_non_null(s);
        assert_string_equal(s, want);
}

static void test_command_string(void **state) {
        check_command((char *[]) { "make", "-j4", "all", NULL }, "make -j4 all");
        check_command((char *[]) { "true", NULL }, "true");
        check_command((char *[]) { "sh", "-c", "echo a  b", NULL }, "sh -c echo a  b");
        check_command((char *[]) { "printf", "", "x", NULL }, "printf  x");
}

/* ---- job_sample on a host fixture ------------------------------------------------------------------ */

/* The samples change the host between passes: on a copy, so the fixture in the tree stays as it is. */
static int setup_procfs_host(void **state) {
        return host_setup(state, PROCFS_HOST);
}

static void write_status(struct host *h, pid_t pid, const char *name, pid_t ppid, uint64_t rss_kib,
                         uint64_t hwm_kib) {
        char rel[64], text[512];
        snprintf(rel, sizeof(rel), "proc/%d/status", (int) pid);
        int n = snprintf(text, sizeof(text),
                         "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n"
                         "PPid:\t%d\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
                         "VmHWM:\t%8" PRIu64 " kB\nVmRSS:\t%8" PRIu64 " kB\nThreads:\t1\n",
                         name, (int) pid, (int) pid, (int) ppid, hwm_kib, rss_kib);
        host_write_data(h, rel, text, (size_t) n);
}

static const struct job_proc *find_proc(const struct job *j, pid_t pid) {
        for (size_t i = 0; i < j->n_procs; i++)
                if (j->procs[i].pid == pid)
                        return &j->procs[i];
        return NULL;
}

static void test_sample_fixture(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;
        const struct backend_config config = { .group_name = "memguard-test" };

        /* read only: the fixture itself */
        assert_int_equal(sysroot_open(PROCFS_HOST, &s), 0);
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &config, &b, NULL), 0);
        assert_int_equal(job_new((char *[]) { "make", "-j4", NULL }, &j), 0);

        uint64_t mono = j->start_mono_usec + 2 * USEC_PER_SEC;
        assert_int_equal(job_sample(j, b, s, mono, 1700000000000000ULL), 0);

        assert_int_equal(j->n_samples, 1);
        const struct job_sample *smp = &j->samples[0];
        /* make, cc1 and python3; the zombie ld holds nothing and is not counted */
        assert_int_equal(smp->nproc, 3);
        assert_int_equal(smp->rss_sum_bytes, (RSS_MAKE + RSS_CC1 + RSS_PY) * KIB);
        /* procfs has no group counter: the total is the sum */
        assert_int_equal(smp->total_bytes, smp->rss_sum_bytes);
        assert_int_equal(smp->working_set_bytes, smp->rss_sum_bytes);
        assert_int_equal(smp->elapsed_usec, 2 * USEC_PER_SEC);
        assert_int_equal(smp->realtime_usec, 1700000000000000ULL);

        assert_int_equal(j->n_procs, 3);
        assert_null(find_proc(j, 104));
        /* not the supervisor, not the unrelated tree */
        assert_null(find_proc(j, 100));
        assert_null(find_proc(j, 200));
        const struct job_proc *cc1 = find_proc(j, 102);
        assert_non_null(cc1);
        assert_string_equal(cc1->comm, "cc1");
        assert_string_equal(cc1->cmdline, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet big.c");
        assert_int_equal(cc1->ppid, 101);
        assert_int_equal(cc1->rss_bytes, RSS_CC1 * KIB);
        assert_int_equal(cc1->max_rss_bytes, HWM_CC1 * KIB);
        assert_int_equal(cc1->starttime, 1200);
        assert_true(cc1->alive);
        assert_int_equal(find_proc(j, 101)->max_rss_bytes, HWM_MAKE * KIB);
        assert_int_equal(find_proc(j, 103)->ppid, 100);

        /* the largest process now, for per-process limits */
        assert_int_equal(j->top_pid, 102);
        assert_int_equal(j->top_rss_bytes, RSS_CC1 * KIB);
        assert_int_equal(j->peak_total_bytes, smp->rss_sum_bytes);
        assert_int_equal(j->peak_working_set_bytes, smp->rss_sum_bytes);
        assert_int_equal(j->kernel_peak_bytes, 0);
        assert_int_equal(j->oom_kills, 0);
        assert_int_equal(job_top_proc(j)->pid, 102);
}

static void test_sample_changes(void **state) {
        struct host *h = *state;
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;
        const struct backend_config config = { .group_name = "memguard-test" };

        assert_int_equal(sysroot_open(h->path, &s), 0);
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &config, &b, NULL), 0);
        assert_int_equal(job_new((char *[]) { "make", "-j4", NULL }, &j), 0);
        assert_int_equal(job_sample(j, b, s, j->start_mono_usec, 1), 0);
        uint64_t first_total = j->samples[0].total_bytes;

        /* make execs a shell step, cc1 grows, python3 exits */
        write_status(h, 101, "sh", 100, 2048, 2048);
        static const char sh_cmdline[] = "/bin/sh\0-c\0./configure\0";
        host_write_data(h, "proc/101/cmdline", sh_cmdline, sizeof(sh_cmdline));
        write_status(h, 102, "cc1", 101, 409600, 409600);
        host_remove(h, "proc/103");
        assert_int_equal(job_sample(j, b, s, j->start_mono_usec + USEC_PER_SEC, 2), 0);

        assert_int_equal(j->n_samples, 2);
        assert_int_equal(j->samples[1].nproc, 2);
        assert_int_equal(j->samples[1].rss_sum_bytes, (2048 + 409600) * KIB);
        /* the exec'd process keeps its entry, under its new name, with the peak of its earlier life */
        const struct job_proc *p = find_proc(j, 101);
        assert_string_equal(p->comm, "sh");
        assert_string_equal(p->cmdline, "/bin/sh -c ./configure");
        assert_int_equal(p->max_rss_bytes, HWM_MAKE * KIB);
        assert_int_equal(p->rss_bytes, 2048 * KIB);
        assert_int_equal(p->first_seen_usec, 1);
        assert_int_equal(p->last_seen_usec, 2);
        /* the exited one stays in the record, no longer alive */
        p = find_proc(j, 103);
        assert_non_null(p);
        assert_false(p->alive);
        assert_int_equal(p->max_rss_bytes, RSS_PY * KIB);
        assert_int_equal(p->last_seen_usec, 1);
        assert_int_equal(j->n_procs, 3);
        assert_int_equal(j->peak_total_bytes, (2048 + 409600) * KIB);
        assert_true(j->peak_total_bytes > first_total);

        /* shrinking: the peaks stay where they were */
        write_status(h, 102, "cc1", 101, 1024, 409600);
        assert_int_equal(job_sample(j, b, s, j->start_mono_usec + 2 * USEC_PER_SEC, 3), 0);
        assert_int_equal(j->samples[2].total_bytes, (2048 + 1024) * KIB);
        assert_int_equal(j->peak_total_bytes, (2048 + 409600) * KIB);
        assert_int_equal(find_proc(j, 102)->max_rss_bytes, 409600 * KIB);
        /* the largest now is the shell, not the earlier peak */
        assert_int_equal(j->top_pid, 101);

        /* a reused pid: 103 comes back as another process, born later */
        char dir[PATH_MAX * 2];
        snprintf(dir, sizeof(dir), "%s/proc/103", h->path);
        assert_int_equal(mkdir(dir, 0755), 0);
        static const char stat_line[] =
                "103 (tail) S 100 103 103 0 -1 4194560 512 0 0 0 10 5 0 0 20 0 1 0 9999 16777216 10 "
                "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        host_write_data(h, "proc/103/stat", stat_line, sizeof(stat_line) - 1);
        write_status(h, 103, "tail", 100, 512, 512);
        host_write_data(h, "proc/103/cmdline", "tail\0-f\0", 8);
        assert_int_equal(job_sample(j, b, s, j->start_mono_usec + 3 * USEC_PER_SEC, 4), 0);
        assert_int_equal(j->n_procs, 4);
        assert_int_equal(j->samples[3].nproc, 3);
        /* the newest entry is the new process; the old one under the same pid is kept apart */
        assert_int_equal(j->procs[3].pid, 103);
        assert_string_equal(j->procs[3].comm, "tail");
        assert_int_equal(j->procs[3].starttime, 9999);
        assert_true(j->procs[3].alive);
        p = find_proc(j, 103);
        assert_ptr_not_equal(p, &j->procs[3]);
        assert_string_equal(p->comm, "python3");
        assert_false(p->alive);
        assert_int_equal(p->max_rss_bytes, RSS_PY * KIB);

        job_finish(j, j->start_mono_usec + 4 * USEC_PER_SEC, 5);
        assert_int_equal(j->end_realtime_usec, 5);
        assert_int_equal(j->end_mono_usec, j->start_mono_usec + 4 * USEC_PER_SEC);
        for (size_t i = 0; i < j->n_procs; i++)
                assert_false(j->procs[i].alive);
}

static void test_sample_zombie_only(void **state) {
        struct host *h = *state;
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;
        const struct backend_config config = { .supervisor_pid = 101 };

        /* under make: cc1 and the zombie; cc1 gone, only the zombie is left, which is nothing */
        host_remove(h, "proc/102");
        assert_int_equal(sysroot_open(h->path, &s), 0);
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &config, &b, NULL), 0);
        assert_int_equal(job_new((char *[]) { "make", NULL }, &j), 0);
        assert_int_equal(job_sample(j, b, s, j->start_mono_usec, 1), 0);
        assert_int_equal(j->samples[0].nproc, 0);
        assert_int_equal(j->samples[0].total_bytes, 0);
        assert_int_equal(j->n_procs, 0);
        assert_int_equal(j->top_pid, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new),
                cmocka_unit_test(test_note_proc_peaks),
                cmocka_unit_test(test_note_proc_exec),
                cmocka_unit_test(test_note_proc_pid_reuse),
                cmocka_unit_test(test_note_proc_many),
                cmocka_unit_test(test_groups),
                cmocka_unit_test(test_groups_empty),
                cmocka_unit_test(test_top_proc),
                cmocka_unit_test(test_command_string),
                cmocka_unit_test(test_sample_fixture),
                cmocka_unit_test_setup_teardown(test_sample_changes, setup_procfs_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_sample_zombie_only, setup_procfs_host, host_teardown),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
