/* SPDX-License-Identifier: MIT */
/* The cgroup1 backend on the cgroup1-host fixture (a hybrid host: v1 memory and a unified tree), with
 * the fake cgroupfs making its groups. */
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

#include "backend.h"
#include "check.h"
#include "fakecg.h"
#include "fixture.h"
#include "host.h"
#include "macro.h"
#include "sysroot.h"

static const struct backend_config job_config = { .group_name = JOB };

static void test_cgroup1_attach(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* a registered process (not our child) is moved in by pid, into every group of the job. On a
         * fresh backend: the kept-open cgroup.procs descriptor has a file offset, which cgroupfs
         * ignores and a plain file does not, so this is not mixed with prepare_child's write. */
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, NULL), 0);
        assert_int_equal(backend_attach(b, 4242), 0);
        host_assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "4242");
        host_assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", "4242");
}

/* ---- the cgroup1 backend --------------------------------------------------------------------------- */

static void test_cgroup1_open(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;
        struct backend_config config = job_config;

        config.hard_limit_bytes = GIB;
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, &err), 0);
        assert_int_equal(fakecg.error, 0);
        assert_null(err);
        assert_string_equal(backend_name(b), "cgroup1");
        /* the primary hierarchy's path: the v1 memory group */
        assert_string_equal(backend_group_path(b), "/user.slice/test/" JOB);

        /* a v1 memory group, and on a hybrid host a twin in the unified tree */
        assert_int_equal(fakecg.n_created, 2);
        assert_true(fakecg_created(V1_MEM_JOB_DIR));
        assert_true(fakecg_created(V1_UNI_JOB_DIR));
        /* the ceiling, with swap no way around it */
        host_assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.limit_in_bytes", "1073741824");
        host_assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.memsw.limit_in_bytes", "1073741824");

        /* the child joins both */
        assert_int_equal(backend_prepare_child(b), 0);
        host_assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "0");
        host_assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", "0");

        /* membership comes from the unified twin */
        host_write(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", "201\n");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "201\n202\n");
        check_backend_pids(b, (const pid_t[]) { 201 }, 1);

        host_write(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", UNREACHABLE_PIDS);
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", UNREACHABLE_PIDS);
        assert_int_equal(backend_kill(b, SIGTERM), -EOPNOTSUPP);
        assert_int_equal(backend_kill(b, SIGKILL), -EOPNOTSUPP);
        host_assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.kill", "");

        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.limit_in_bytes", "");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.memsw.limit_in_bytes", "");
        assert_int_equal(backend_set_limit(b, 0), 0);
        host_assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.limit_in_bytes", "-1");
        host_assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.memsw.limit_in_bytes", "-1");

        assert_int_equal(backend_freeze(b, true), -EOPNOTSUPP);
        host_assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.freeze", "");

        /* both groups go when the backend does */
        b = backend_free(b);
        assert_true(fakecg_removed(V1_MEM_JOB_DIR));
        assert_true(fakecg_removed(V1_UNI_JOB_DIR));
        assert_false(host_exists(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR));
        assert_false(host_exists(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR));
}

static void test_cgroup1_parent_path(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_config config = job_config;

        /* each hierarchy has its own parent, and neither is memguard's own group */
        config.parent_path = "/user.slice";
        config.unified_parent_path = "/user.slice";
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, NULL), 0);
        assert_int_equal(fakecg.n_created, 2);
        assert_true(fakecg_created("memory/user.slice/" JOB));
        assert_true(fakecg_created("unified/user.slice/" JOB));
        assert_string_equal(backend_group_path(b), "/user.slice/" JOB);
}

static void test_cgroup1_adopt(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_config config = job_config;
        struct backend_sample bs;

        /* an existing v1 group and its unified twin, not ours */
        config.adopt_path = "/user.slice/test";
        config.adopt_unified_path = "/user.slice/test";
        host_write(h, "sys/fs/cgroup/unified/user.slice/test/cgroup.procs", "100\n201\n");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, NULL), 0);
        assert_int_equal(fakecg.n_created, 0);
        assert_string_equal(backend_group_path(b), "/user.slice/test");
        /* membership from the unified twin */
        check_backend_pids(b, (const pid_t[]) { 100, 201 }, 2);
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 52428800);
        /* no memory.max_usage_in_bytes in this group: no kernel peak, not an error */
        assert_int_equal(bs.kernel_peak_bytes, 0);
        b = backend_free(b);
        assert_int_equal(fakecg.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/memory/user.slice/test/cgroup.procs"));
}

static void test_cgroup1_sample(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, NULL), 0);

        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.usage_in_bytes", "734003200\n");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.max_usage_in_bytes", "943718400\n");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.oom_control",
                   "oom_kill_disable 1\nunder_oom 0\noom_kill 3\n");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.stat",
                   "cache 1\nrss 2\ninactive_file 7\nactive_file 8\ntotal_cache 100\n"
                   "total_inactive_file 104857600\ntotal_active_file 9\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 734003200);
        /* hierarchical total_inactive_file, not the group-local inactive_file */
        assert_int_equal(bs.working_set_bytes, 734003200 - 104857600);
        assert_int_equal(bs.kernel_peak_bytes, 943718400);
        /* oom_kill, not oom_kill_disable */
        assert_int_equal(bs.oom_kills, 3);
        assert_false(bs.from_processes);

        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.usage_in_bytes", "4096\n");
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 4096);
        assert_int_equal(bs.working_set_bytes, 0);
}

static void test_cgroup1_pure_v1(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* no cgroup2 anywhere: the memory group alone, membership from it */
        host_write(h, "proc/100/mountinfo",
                   "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                   "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, NULL), 0);
        assert_int_equal(fakecg.n_created, 1);
        assert_true(fakecg_created(V1_MEM_JOB_DIR));
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "201\n202\n");
        check_backend_pids(b, (const pid_t[]) { 201, 202 }, 2);
        assert_int_equal(backend_prepare_child(b), 0);
}

static void test_cgroup1_unified_unusable(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* the unified tree is mounted but memguard's place in it is not there: v1 alone still works */
        host_remove(h, "sys/fs/cgroup/unified/user.slice");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, NULL), 0);
        assert_false(host_exists(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR));
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "202\n");
        check_backend_pids(b, (const pid_t[]) { 202 }, 1);
}

static void test_cgroup1_no_memory_hierarchy(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        host_write(h, "proc/100/mountinfo",
                   "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                   "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, &err), -EOPNOTSUPP);
        assert_null(b);
        check_contains(err, "no cgroup v1 memory controller");
        assert_int_equal(fakecg.n_created, 0);
}

static void test_cgroup1_mount_root(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        /* A container without a cgroup namespace (Docker on a v1 host): the memory hierarchy is mounted
         * from the container's own group, the mount's root field says which, and /proc/self/cgroup
         * prints the full path. /sys/fs/cgroup/memory IS /docker/abc: the job's group belongs directly
         * in it, not in a "docker/abc" below it that does not exist. */
        host_write(h, "proc/100/mountinfo",
                   "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                   "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime master:15 - "
                   "cgroup cgroup rw,memory\n");
        host_write(h, "proc/100/cgroup", "4:memory:/docker/abc\n1:cpu:/docker/abc\n");
        host_open(h);
        fakecg_arm(h->s);
        int r = backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, &err);
        char why[512];
        snprintf(why, sizeof(why), "%s", err ? err : "no explanation");
        /* freed before asserting, as in test-cgroup's test_read_pids_overflow */
        free(err);
        err = NULL;
        if (r < 0)
                fail_msg("backend_open: %s (%s)", strerror(-r), why);
        assert_true(fakecg_created("memory/" JOB));
}

/* ---- what killed runs left behind ---------------------------------------------------------------- */

static void stale_group(struct host *h, const char *parent, const char *leaf, const char *procs) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "sys/fs/cgroup/%s/%s", parent, leaf);
        host_mkdir(h, p);
        snprintf(p, sizeof(p), "sys/fs/cgroup/%s/%s/cgroup.procs", parent, leaf);
        host_write(h, p, procs);
}

static bool stale_exists(struct host *h, const char *parent, const char *leaf) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "sys/fs/cgroup/%s/%s", parent, leaf);
        return host_exists(h, p);
}

static void test_cgroup1_remove_stale(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_config config = job_config;
        const char *parents[] = { "memory/user.slice/test", "unified/user.slice/test" };

        /* 201 now runs something else, 300 is a running memguard, 555 is gone; 203 is gone too, but
         * its job still runs in its groups */
        host_write(h, "proc/201/comm", "python3\n");
        host_mkdir(h, "proc/300");
        host_write(h, "proc/300/comm", "memguard\n");
        for (size_t i = 0; i < ELEMENTSOF(parents); i++) {
                stale_group(h, parents[i], "memguard-555", "");
                stale_group(h, parents[i], "memguard-201", "");
                stale_group(h, parents[i], "memguard-203", UNREACHABLE_PIDS);
                stale_group(h, parents[i], "memguard-300", "");
                stale_group(h, parents[i], "memguard-0555", "");
                stale_group(h, parents[i], "memguard-555x", "");
                stale_group(h, parents[i], "job-555", "");
        }

        /* only memguard run asks for it */
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, NULL), 0);
        b = backend_free(b);
        for (size_t i = 0; i < ELEMENTSOF(parents); i++)
                assert_true(stale_exists(h, parents[i], "memguard-555"));

        config.remove_stale = true;
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(parents); i++) {
                assert_false(stale_exists(h, parents[i], "memguard-555"));
                assert_false(stale_exists(h, parents[i], "memguard-201"));
                assert_true(stale_exists(h, parents[i], "memguard-203"));
                assert_true(stale_exists(h, parents[i], "memguard-300"));
                assert_true(stale_exists(h, parents[i], "memguard-0555"));
                assert_true(stale_exists(h, parents[i], "memguard-555x"));
                assert_true(stale_exists(h, parents[i], "job-555"));
        }
        /* never by signalling: the orphaned job's pids are unreachable, so a signal would have failed */
        host_assert_file(h, "sys/fs/cgroup/unified/user.slice/test/memguard-203/cgroup.procs", UNREACHABLE_PIDS);
        /* and our own group is made as before */
        assert_true(host_exists(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR));
        assert_true(host_exists(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cgroup1_attach, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_open, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_remove_stale, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_parent_path, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_adopt, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_sample, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_pure_v1, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_unified_unusable, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_no_memory_hierarchy, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_mount_root, fixture_setup_cgroup1, fixture_teardown),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
