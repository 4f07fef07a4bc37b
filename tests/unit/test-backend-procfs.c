/* SPDX-License-Identifier: MIT */
/* The procfs backend (no cgroup: the supervisor's process tree) on the procfs-host fixture. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "backend.h"
#include "check.h"
#include "fixture.h"
#include "host.h"
#include "job.h"
#include "macro.h"
#include "sysroot.h"

static const struct backend_config job_config = { .group_name = JOB };

static void test_procfs_backend(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        assert_int_equal(sysroot_open(PROCFS_HOST, &s), 0);
        assert_int_equal(s->self_pid, 100);
        /* no supervisor given: the sysroot's self */
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &job_config, &b, NULL), 0);
        assert_string_equal(backend_name(b), "procfs");

        /* children, a grandchild, one reparented to the supervisor, a zombie; not init, not the
         * unrelated sshd tree, not the supervisor itself */
        check_backend_pids(b, (const pid_t[]) { 101, 102, 103, 104 }, 4);

        assert_int_equal(backend_sample(b, &bs), 0);
        assert_true(bs.from_processes);
        assert_int_equal(bs.current_bytes, 0);
        assert_int_equal(bs.kernel_peak_bytes, 0);

        /* nothing to join, nothing the kernel could enforce (signalling: test_procfs_backend_kill) */
        assert_int_equal(backend_prepare_child(b), 0);
        assert_int_equal(backend_set_limit(b, GIB), -EOPNOTSUPP);
        assert_int_equal(backend_attach(b, 4242), -EOPNOTSUPP);
        assert_null(backend_group_path(b));
        b = backend_free(b);

        /* an explicit supervisor: its subtree only */
        struct backend_config config = { .supervisor_pid = 101 };
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &config, &b, NULL), 0);
        check_backend_pids(b, (const pid_t[]) { 102, 104 }, 2);
        b = backend_free(b);

        config.supervisor_pid = 102;
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &config, &b, NULL), 0);
        check_backend_pids(b, NULL, 0);
}

static void test_procfs_backend_kill(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        char dir[PATH_MAX * 2];

        /* the job is one child whose pid no process of this machine can have */
        host_remove(h, "proc/101");
        host_remove(h, "proc/102");
        host_remove(h, "proc/103");
        host_remove(h, "proc/104");
        snprintf(dir, sizeof(dir), "%s/proc/%d", h->path, UNREACHABLE_PID);
        assert_int_equal(mkdir(dir, 0755), 0);
        char rel[64];
        snprintf(rel, sizeof(rel), "proc/%d/stat", UNREACHABLE_PID);
        host_write(h, rel, "4194401 (sleep) S 100 4194401 4194401 0 -1 4194560 512 0 0 0 10 5 0 0 20 0 1 0 7000 "
                           "16777216 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &job_config, &b, NULL), 0);
        check_backend_pids(b, (const pid_t[]) { UNREACHABLE_PID }, 1);

        /* a fixture's pids are not this machine's processes: never signalled, nor stopped */
        assert_int_equal(backend_kill(b, SIGTERM), -EOPNOTSUPP);
        assert_int_equal(backend_kill(b, SIGKILL), -EOPNOTSUPP);
        assert_int_equal(backend_freeze(b, true), -EOPNOTSUPP);
        assert_int_equal(backend_freeze(b, false), -EOPNOTSUPP);
}

static void test_procfs_backend_root_pid(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_config config = { .root_pid = 101 };

        /* a registered job (not our child): its root is a member too, listed first */
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &config, &b, NULL), 0);
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(backend_pids(b, &pids, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(pids[0], 101);
        check_pids(pids, n, (const pid_t[]) { 101, 102, 104 }, 3);

        /* once the root has exited, what it left is still the job */
        host_remove(h, "proc/101");
        check_backend_pids(b, (const pid_t[]) { 102, 104 }, 2);

        /* a root that is not there cannot be supervised */
        b = backend_free(b);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &config, &b, NULL), -ENOENT);
}

static void test_procfs_backend_errors(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;
        struct backend_config config = { .supervisor_pid = 555 };

        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &config, &b, &err), -ENOENT);
        assert_null(b);
        check_contains(err, "/proc/555/stat");

        /* no self-pid file and no supervisor: nothing to walk from */
        sysroot_free(h->s);
        h->s = NULL;
        host_remove(h, "self-pid");
        host_open(h);
        assert_int_equal(h->s->self_pid, 0);
        free(err);
        err = NULL;
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &job_config, &b, &err), -EINVAL);
        check_contains(err, "no supervisor pid");
}

static void test_procfs_vanished(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;

        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &job_config, &b, NULL), 0);
        assert_int_equal(job_new((char *[]) { "make", "-j4", NULL }, &j), 0);

        assert_int_equal(backend_pids(b, &pids, &n), 0);
        check_pids(pids, n, (const pid_t[]) { 101, 102, 103, 104 }, 4);

        /* 103 exits after it was listed; 102 is caught half-way, its stat read but its status gone */
        host_remove(h, "proc/103");
        host_remove(h, "proc/102/status");
        assert_int_equal(job_sample(j, b, h->s, j->start_mono_usec, 1), 0);
        assert_int_equal(j->n_samples, 1);
        assert_int_equal(j->samples[0].nproc, 1);
        assert_int_equal(j->samples[0].rss_sum_bytes, 4096 * KIB);
        assert_int_equal(j->n_procs, 1);
        assert_int_equal(j->procs[0].pid, 101);

        /* everything gone: still a sample, of nothing */
        host_remove(h, "proc/101");
        host_remove(h, "proc/102");
        host_remove(h, "proc/104");
        assert_int_equal(job_sample(j, b, h->s, j->start_mono_usec, 2), 0);
        assert_int_equal(j->n_samples, 2);
        assert_int_equal(j->samples[1].nproc, 0);
        assert_int_equal(j->samples[1].total_bytes, 0);
        assert_false(j->procs[0].alive);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_procfs_backend),
                cmocka_unit_test_setup_teardown(test_procfs_backend_kill, fixture_setup_procfs, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_procfs_backend_root_pid, fixture_setup_procfs, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_procfs_backend_errors, fixture_setup_procfs, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_procfs_vanished, fixture_setup_procfs, fixture_teardown),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
