/* SPDX-License-Identifier: MIT */
/* What a job moved out of its cgroup would leave behind: the memory ceilings and other limits between
 * its cgroup and the destination, read from fixture hosts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "cgroup-escape.h"
#include "fixture.h"
#include "host.h"
#include "sysroot.h"

static void test_escape_within(void **state) {
        assert_true(cgroup_escape_within("/a/b", "/"));
        assert_true(cgroup_escape_within("/a/b", "/a"));
        assert_true(cgroup_escape_within("/a/b", "/a/"));
        assert_true(cgroup_escape_within("/a/b", "/a/b"));
        assert_false(cgroup_escape_within("/a/bc", "/a/b"));
        assert_false(cgroup_escape_within("/a", "/a/b"));
        assert_false(cgroup_escape_within("/x/b", "/a"));
}

/* A job in /user.slice/test moved below /system.slice leaves the limits of test and user.slice: the
 * least memory ceiling among them, and the first other limit. */
static void test_escape_v2(void **state) {
        struct host *h = *state;
        struct sysroot *s = host_open(h);
        host_write(h, "sys/fs/cgroup/user.slice/test/memory.max", "max\n");
        host_write(h, "sys/fs/cgroup/user.slice/memory.max", "209715200\n");
        host_write(h, "sys/fs/cgroup/user.slice/test/cpu.max", "max 100000\n");
        struct cgroup_escape e;
        assert_int_equal(cgroup_escape_read(s, "", "/", true, "/user.slice/test", "/system.slice", &e), 0);
        assert_int_equal(e.memory_bytes, 200 * 1024 * 1024);
        assert_string_equal(e.memory_where, "/user.slice");
        assert_null(e.other);  /* "max 100000" is no limit */
        cgroup_escape_done(&e);

        host_write(h, "sys/fs/cgroup/user.slice/test/memory.max", "104857600\n");
        host_write(h, "sys/fs/cgroup/user.slice/test/cpu.max", "50000 100000\n");
        assert_int_equal(cgroup_escape_read(s, "", "/", true, "/user.slice/test", "/system.slice", &e), 0);
        assert_int_equal(e.memory_bytes, 100 * 1024 * 1024);
        assert_string_equal(e.memory_where, "/user.slice/test");
        assert_string_equal(e.other, "cpu.max 50000 100000 on /user.slice/test");
        cgroup_escape_done(&e);

        /* Moving within user.slice leaves only test's limits; moving below test leaves none. */
        host_write(h, "sys/fs/cgroup/user.slice/test/memory.max", "max\n");
        host_write(h, "sys/fs/cgroup/user.slice/test/cpu.max", "max 100000\n");
        assert_int_equal(cgroup_escape_read(s, "", "/", true, "/user.slice/test", "/user.slice/other", &e), 0);
        assert_int_equal(e.memory_bytes, UINT64_MAX);
        assert_null(e.memory_where);
        assert_null(e.other);
        cgroup_escape_done(&e);
        assert_int_equal(cgroup_escape_read(s, "", "/", true, "/user.slice/test", "/user.slice/test", &e), 0);
        assert_int_equal(e.memory_bytes, UINT64_MAX);
        cgroup_escape_done(&e);
}

/* v1: limit_in_bytes and memsw both count; the "unlimited" value v1 prints is no ceiling. */
static void test_escape_v1(void **state) {
        struct host *h = *state;
        struct sysroot *s = host_open(h);
        struct cgroup_escape e;
        assert_int_equal(cgroup_escape_read(s, "memory", "/", false, "/user.slice/test", "/system.slice", &e), 0);
        assert_int_equal(e.memory_bytes, UINT64_MAX);  /* 9223372036854771712 in the fixture */
        cgroup_escape_done(&e);
        host_write(h, "sys/fs/cgroup/memory/user.slice/test/memory.limit_in_bytes", "314572800\n");
        host_write(h, "sys/fs/cgroup/memory/user.slice/memory.memsw.limit_in_bytes", "209715200\n");
        assert_int_equal(cgroup_escape_read(s, "memory", "/", false, "/user.slice/test", "/system.slice", &e), 0);
        assert_int_equal(e.memory_bytes, 200 * 1024 * 1024);
        assert_string_equal(e.memory_where, "/user.slice");
        assert_null(e.other);
        cgroup_escape_done(&e);
        /* Garbage in a limit file is no ceiling rather than a wrong one. */
        host_write(h, "sys/fs/cgroup/memory/user.slice/memory.memsw.limit_in_bytes", "lots\n");
        assert_int_equal(cgroup_escape_read(s, "memory", "/", false, "/user.slice/test", "/system.slice", &e), 0);
        assert_int_equal(e.memory_bytes, 300 * 1024 * 1024);
        cgroup_escape_done(&e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_within),
                cmocka_unit_test_setup_teardown(test_escape_v2, fixture_setup_cgroup2, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_escape_v1, fixture_setup_cgroup1, fixture_teardown),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
