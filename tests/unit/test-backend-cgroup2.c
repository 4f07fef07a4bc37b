/* SPDX-License-Identifier: MIT */
/* The cgroup2 backend on the cgroup2-host fixture, with the fake cgroupfs making its groups. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "check.h"
#include "fakecg.h"
#include "fixture.h"
#include "host.h"
#include "job.h"
#include "macro.h"
#include "sysroot.h"

static const struct backend_config job_config = { .group_name = JOB };

static void test_cgroup2_no_memory_controller(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        host_write(h, "sys/fs/cgroup/user.slice/test/cgroup.controllers", "cpu pids\n");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EOPNOTSUPP);
        assert_null(b);
        check_contains(err, "/sys/fs/cgroup/user.slice/test");
        check_contains(err, "no memory controller");
        /* refused before making anything */
        assert_int_equal(fakecg.n_created, 0);
        assert_false(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));
}

static void test_cgroup2_no_mount(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        host_write(h, "proc/100/mountinfo", "26 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EOPNOTSUPP);
        assert_null(b);
        check_contains(err, "no cgroup2 filesystem");
}

static void test_cgroup2_no_layout(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        host_remove(h, "proc/100/mountinfo");
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -ENOENT);
        check_contains(err, "cannot read the cgroup layout");

        /* a mountinfo that cannot be parsed is as bad */
        host_write(h, "proc/100/mountinfo", "this is not a mountinfo\n");
        free(err);
        err = NULL;
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EINVAL);
        check_contains(err, "cannot read the cgroup layout");
}

static void test_cgroup2_group_exists(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        /* somebody else's group of that name: refused, and left alone */
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/sys/fs/cgroup/%s", h->path, V2_JOB_DIR);
        assert_int_equal(mkdir(p, 0755), 0);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "4321\n");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EEXIST);
        check_contains(err, "cannot create /sys/fs/cgroup/" V2_JOB_DIR);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "4321\n");
        assert_int_equal(fakecg.n_removed, 0);
}

static void test_cgroup2_no_interface_files(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        /* a plain mkdir, no kernel to fill the group: opening its files fails, and the half-made group
         * is removed again */
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -ENOENT);
        assert_null(b);
        check_contains(err, "cannot open the files of /sys/fs/cgroup/" V2_JOB_DIR);
        assert_false(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));
}

static void test_cgroup2_enables_memory(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* the parent does not hand memory down yet: the backend asks for it */
        host_write(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        host_assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "+memory");
}

static void test_cgroup2_open(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;
        struct backend_config config = job_config;

        config.hard_limit_bytes = GIB;
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), 0);
        assert_int_equal(fakecg.error, 0);
        assert_null(err);
        assert_string_equal(backend_name(b), "cgroup2");
        assert_non_null(b->ops->measures);
        assert_string_equal(backend_group_path(b), "/user.slice/test/" JOB);

        /* one group, below memguard's own, with the kernel ceiling and whole-group OOM kills */
        assert_int_equal(fakecg.n_created, 1);
        assert_true(fakecg_created(V2_JOB_DIR));
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "1073741824");
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.oom.group", "1");
        /* the parent already handed memory down: left as it was */
        host_assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "memory pids\n");

        /* the child joins the job's group itself, by writing "0" to its cgroup.procs */
        assert_int_equal(backend_prepare_child(b), 0);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "0");

        /* the ceiling moves */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "");
        assert_int_equal(backend_set_limit(b, 2 * GIB), 0);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "2147483648");
        assert_int_equal(b->config.hard_limit_bytes, 2 * GIB);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "");
        assert_int_equal(backend_set_limit(b, 0), 0);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "max");

        /* freezing acts on the job's processes: not on a fixture's */
        assert_int_equal(backend_freeze(b, true), -EOPNOTSUPP);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.freeze", "");

        /* what the backend made, it removes */
        assert_int_equal(fakecg.n_removed, 0);
        b = backend_free(b);
        assert_true(fakecg_removed(V2_JOB_DIR));
        assert_false(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));

        /* without a hard limit memory.max is not written (the kernel's "max" stays) */
        fakecg_reset();
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "");
}

static void test_cgroup2_keep(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;

        /* the daemon stopping without ending its jobs: the group stays for the next start to adopt */
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        b->keep = true;
        assert_null(backend_free(b));
        assert_int_equal(fakecg.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current"));
}

static void test_cgroup2_parent_path(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_config config = job_config;

        /* the daemon makes job groups in its delegated subtree, not beside itself */
        config.parent_path = "/user.slice";
        host_write(h, "sys/fs/cgroup/user.slice/cgroup.subtree_control", "");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, NULL), 0);
        assert_true(fakecg_created("user.slice/" JOB));
        assert_int_equal(fakecg.n_created, 1);
        assert_string_equal(backend_group_path(b), "/user.slice/" JOB);
        /* and the memory controller is asked of that parent, not of memguard's own group */
        host_assert_file(h, "sys/fs/cgroup/user.slice/cgroup.subtree_control", "+memory");
        host_assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "memory pids\n");
}

#define WATCHED "system.slice/build.service"

static void test_cgroup2_adopt(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;
        struct backend_config config = job_config;
        struct backend_sample bs;

        /* somebody else's group ([watch]): supervised where it is, made and changed by nobody here */
        config.adopt_path = "/" WATCHED;
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), 0);
        assert_null(err);
        assert_int_equal(fakecg.n_created, 0);
        assert_string_equal(backend_group_path(b), "/" WATCHED);
        host_assert_file(h, "sys/fs/cgroup/" WATCHED "/memory.oom.group", "0\n");
        host_assert_file(h, "sys/fs/cgroup/" WATCHED "/memory.max", "max\n");
        host_assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "memory pids\n");

        check_backend_pids(b, (const pid_t[]) { 301, 302 }, 2);
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 268435456);
        assert_int_equal(bs.working_set_bytes, 268435456 - 33554432);
        assert_int_equal(bs.kernel_peak_bytes, 402653184);

        /* not ours: left in place */
        b = backend_free(b);
        assert_int_equal(fakecg.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/" WATCHED "/memory.current"));

        /* ours from before a restart: whole-group OOM kills, and removed at the end */
        config.adopt_owned = true;
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, NULL), 0);
        host_assert_file(h, "sys/fs/cgroup/" WATCHED "/memory.oom.group", "1\n");
        assert_int_equal(fakecg.n_created, 0);
        b = backend_free(b);
        assert_true(fakecg_removed(WATCHED));
}

static void test_cgroup2_adopt_errors(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;
        struct backend_config config = job_config;

        /* a group without the memory controller has no memory.* files: say what is probably wrong */
        host_remove(h, "sys/fs/cgroup/" WATCHED "/memory.current");
        config.adopt_path = "/" WATCHED;
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), -ENOENT);
        assert_null(b);
        check_contains(err, "/sys/fs/cgroup/" WATCHED);
        check_contains(err, "memory controller");
        /* somebody else's group is never removed, not even after a failure */
        assert_int_equal(fakecg.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/" WATCHED "/cgroup.procs"));

        /* a group that is not there */
        free(err);
        err = NULL;
        config.adopt_path = "/system.slice/gone.service";
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), -ENOENT);
        check_contains(err, "system.slice/gone.service");
        assert_int_equal(fakecg.n_created, 0);
}

static void test_cgroup2_at_root(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* memguard in the root cgroup (a container's own namespace root): the group lands at the top */
        host_write(h, "proc/100/cgroup", "0::/\n");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_true(fakecg_created(JOB));
        assert_true(host_exists(h, "sys/fs/cgroup/" JOB "/memory.current"));
}

static void test_cgroup2_sample(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        /* past its attention mark: every sample reads every counter (test_cgroup2_slow_counters has
         * the other case) */
        b->attention_bytes = 1;

        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 0);
        assert_false(bs.from_processes);

        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "734003200\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "943718400\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.events",
                   "low 0\nhigh 0\nmax 12\noom 7\noom_kill 2\noom_group_kill 1\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat",
                   "anon 600000000\nfile 134003200\ninactive_anon 1\nactive_anon 2\n"
                   "inactive_file 104857600\nactive_file 29145600\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 734003200);
        /* what limits compare: without the page cache the kernel can drop */
        assert_int_equal(bs.working_set_bytes, 734003200 - 104857600);
        assert_int_equal(bs.kernel_peak_bytes, 943718400);
        /* oom_kill, not oom (7) nor oom_group_kill (1) */
        assert_int_equal(bs.oom_kills, 2);
        assert_false(bs.from_processes);

        /* the same descriptors, fresh values: nothing is cached between samples */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "1000\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat", "inactive_file 5000\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 1000);
        /* counters read a moment apart may disagree: never below zero */
        assert_int_equal(bs.working_set_bytes, 0);

        /* an unreadable total is an error, not a zero */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "garbage\n");
        assert_int_equal(backend_sample(b, &bs), -EINVAL);
}

static void test_cgroup2_no_peak(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        /* before Linux 5.19 there is no memory.peak: the backend works without */
        host_open(h);
        fakecg_arm(h->s);
        fakecg.no_peak = true;
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "5000\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 5000);
        assert_int_equal(bs.kernel_peak_bytes, 0);
}

static void test_cgroup2_pids_kill(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);

        check_backend_pids(b, NULL, 0);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "201\n202\n");
        check_backend_pids(b, (const pid_t[]) { 201, 202 }, 2);

        /* fixture pids are not this machine's processes: no signal, no cgroup.kill */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", UNREACHABLE_PIDS);
        assert_int_equal(backend_kill(b, SIGTERM), -EOPNOTSUPP);
        assert_int_equal(backend_kill(b, SIGKILL), -EOPNOTSUPP);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.kill", "");
}

static void test_cgroup2_attach(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* a registered process (not our child) is moved in by pid, into every group of the job. On a
         * fresh backend: the kept-open cgroup.procs descriptor has a file offset, which cgroupfs
         * ignores and a plain file does not, so this is not mixed with prepare_child's write. */
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_int_equal(backend_attach(b, 4242), 0);
        host_assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "4242");
}

static void test_cgroup2_job_sample(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_int_equal(job_new((char *[]) { "./memhog", NULL }, &j), 0);

        /* 999 is listed but gone by the time its files are read: skipped */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "201\n202\n999\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "734003200\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "943718400\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.events", "oom 0\noom_kill 1\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat", "inactive_file 104857600\n");
        assert_int_equal(job_sample(j, b, h->s, j->start_mono_usec + 5 * USEC_PER_SEC, 1700000000000000ULL), 0);

        assert_int_equal(j->n_samples, 1);
        const struct job_sample *smp = &j->samples[0];
        assert_int_equal(smp->total_bytes, 734003200);
        assert_int_equal(smp->working_set_bytes, 734003200 - 104857600);
        assert_int_equal(smp->rss_sum_bytes, (409600 + 204800) * KIB);
        assert_int_equal(smp->nproc, 2);
        assert_int_equal(smp->elapsed_usec, 5 * USEC_PER_SEC);
        assert_int_equal(j->n_procs, 2);
        assert_int_equal(j->top_pid, 201);
        assert_int_equal(j->top_rss_bytes, 409600 * KIB);
        assert_int_equal(j->peak_total_bytes, 734003200);
        assert_int_equal(j->peak_working_set_bytes, 734003200 - 104857600);
        assert_int_equal(j->kernel_peak_bytes, 943718400);
        assert_int_equal(j->oom_kills, 1);
}

static void test_cgroup2_slow_counters(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        b->attention_bytes = GIB;
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "1000000\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "2000000\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat", "inactive_file 100000\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.kernel_peak_bytes, 2000000);
        assert_int_equal(bs.working_set_bytes, 900000);

        /* Far below the attention mark the slow counters are read every BACKEND_SLOW_EVERY samples;
         * memory.current every sample. */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "3000000\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "3000000\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat", "inactive_file 0\n");
        for (int i = 0; i < BACKEND_SLOW_EVERY; i++) {
                assert_int_equal(backend_sample(b, &bs), 0);
                assert_int_equal(bs.current_bytes, 3000000);
                assert_int_equal(bs.kernel_peak_bytes, 2000000);
                assert_int_equal(bs.working_set_bytes, 2900000);
        }
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.kernel_peak_bytes, 3000000);
        assert_int_equal(bs.working_set_bytes, 3000000);

        /* Past the attention mark, every sample reads everything. */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "2147483648\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat", "inactive_file 1000\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.working_set_bytes, 2147483648 - 1000);

        /* And so does every sample after "fresh" (a job's final numbers). */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "1000\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "2147483648\n");
        b->fresh = true;
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.kernel_peak_bytes, 2147483648);
}

static void test_cgroup2_job_sample_totals(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        b->attention_bytes = 1;  /* every counter fresh on every sample */
        assert_int_equal(job_new((char *[]) { "./memhog", NULL }, &j), 0);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "201\n202\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "734003200\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "943718400\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.events", "oom 0\noom_kill 0\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.stat", "inactive_file 0\n");
        assert_int_equal(job_sample(j, b, h->s, j->start_mono_usec + USEC_PER_SEC, 1), 0);
        assert_int_equal(j->n_procs, 2);

        /* The totals pass reads the group's counters only: a process that appeared since is neither
         * counted nor known until the next full pass, and the last full pass's sums stay. */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "201\n202\n999\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.current", "838860800\n");
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.peak", "990000000\n");
        assert_int_equal(job_sample_totals(j, b, h->s, j->start_mono_usec + 2 * USEC_PER_SEC, 2), 0);
        assert_int_equal(j->n_samples, 2);
        assert_int_equal(j->samples[1].total_bytes, 838860800);
        assert_int_equal(j->samples[1].nproc, 2);
        assert_int_equal(j->samples[1].rss_sum_bytes, j->samples[0].rss_sum_bytes);
        assert_int_equal(j->n_procs, 2);
        assert_int_equal(j->peak_total_bytes, 838860800);
        assert_int_equal(j->kernel_peak_bytes, 990000000);
}

static void test_cgroup2_remove_stale(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_config config = job_config;

        /* 555 is gone, 300 a running memguard; 203 is gone but its job still runs in its group */
        host_mkdir(h, "proc/300");
        host_write(h, "proc/300/comm", "memguard\n");
        const char *leaves[] = { "memguard-555", "memguard-203", "memguard-300", "memguard-", "other-555" };
        for (size_t i = 0; i < ELEMENTSOF(leaves); i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "sys/fs/cgroup/user.slice/test/%s", leaves[i]);
                host_mkdir(h, p);
                snprintf(p, sizeof(p), "sys/fs/cgroup/user.slice/test/%s/cgroup.procs", leaves[i]);
                host_write(h, p, strcmp(leaves[i], "memguard-203") == 0 ? UNREACHABLE_PIDS : "");
        }
        config.remove_stale = true;
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, NULL), 0);
        assert_true(fakecg_removed("user.slice/test/memguard-555"));
        assert_false(host_exists(h, "sys/fs/cgroup/user.slice/test/memguard-555"));
        assert_true(host_exists(h, "sys/fs/cgroup/user.slice/test/memguard-203"));
        assert_true(host_exists(h, "sys/fs/cgroup/user.slice/test/memguard-300"));
        assert_true(host_exists(h, "sys/fs/cgroup/user.slice/test/memguard-"));
        assert_true(host_exists(h, "sys/fs/cgroup/user.slice/test/other-555"));
        assert_int_equal(fakecg.n_removed, 1);
        assert_true(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cgroup2_no_memory_controller, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_mount, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_layout, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_group_exists, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_interface_files, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_enables_memory, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_open, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_remove_stale, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_keep, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_parent_path, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_adopt, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_adopt_errors, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_at_root, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_sample, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_peak, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_pids_kill, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_attach, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_slow_counters, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_job_sample_totals, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_job_sample, fixture_setup_cgroup2, fixture_teardown),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
