/* SPDX-License-Identifier: MIT */
/* What is the same for every backend: choosing one (auto, and what it says about those passed over)
 * and the kind names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

static void test_auto_cgroup2_host(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        char *err = (char *) "untouched";

        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_AUTO, &job_config, &b, &err), 0);
        assert_int_equal(b->ops->kind, BACKEND_CGROUP2);
        /* nothing was passed over */
        assert_null(err);
}

static void test_auto_cgroup1_host(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        /* the hybrid host's unified tree has no memory controller: cgroup1 it is, and it says why */
        host_open(h);
        fakecg_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_AUTO, &job_config, &b, &err), 0);
        assert_int_equal(b->ops->kind, BACKEND_CGROUP1);
        check_contains(err, "cgroup2: ");
        check_contains(err, "/sys/fs/cgroup/unified/user.slice/test has no memory controller");
        assert_null(strstr(err, "cgroup1:"));
}

static void test_auto_procfs_host(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        assert_int_equal(sysroot_open(PROCFS_HOST, &s), 0);
        assert_int_equal(backend_open(s, BACKEND_AUTO, &job_config, &b, &err), 0);
        assert_int_equal(b->ops->kind, BACKEND_PROCFS);
        /* "memguard run" tells the user it fell back, and what a cgroup would have needed */
        check_contains(err, "cgroup2: no cgroup2 filesystem under /sys/fs/cgroup");
        check_contains(err, "cgroup1: no cgroup v1 memory controller under /sys/fs/cgroup");
        assert_null(strstr(err, "procfs"));
}

static void test_auto_nothing_works(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_free_ char *err = NULL;

        /* not even the supervisor can be read: all three explain themselves */
        host_remove(h, "proc/100");
        host_open(h);
        assert_true(backend_open(h->s, BACKEND_AUTO, &job_config, &b, &err) < 0);
        assert_null(b);
        check_contains(err, "cgroup2: ");
        check_contains(err, "cgroup1: ");
        check_contains(err, "procfs: ");
}

static void test_kind_strings(void **state) {
        for (int k = 0; k < _BACKEND_KIND_MAX; k++)
                assert_int_equal(backend_kind_from_string(backend_kind_to_string((enum backend_kind) k)), k);
        assert_string_equal(backend_kind_to_string(BACKEND_PROCFS), "procfs");
        assert_int_equal(backend_kind_from_string("cgroup3"), _BACKEND_KIND_INVALID);
        assert_int_equal(backend_kind_from_string(NULL), _BACKEND_KIND_INVALID);
        assert_null(backend_kind_to_string(_BACKEND_KIND_MAX));
        assert_null(backend_kind_to_string(_BACKEND_KIND_INVALID));

        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        struct backend *b = NULL;
        assert_int_equal(sysroot_open(PROCFS_HOST, &s), 0);
        assert_int_equal(backend_open(s, _BACKEND_KIND_MAX, &job_config, &b, NULL), -EINVAL);
        assert_null(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_auto_cgroup2_host, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_auto_cgroup1_host, fixture_setup_cgroup1, fixture_teardown),
                cmocka_unit_test(test_auto_procfs_host),
                cmocka_unit_test_setup_teardown(test_auto_nothing_works, fixture_setup_procfs, fixture_teardown),
                cmocka_unit_test(test_kind_strings),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
