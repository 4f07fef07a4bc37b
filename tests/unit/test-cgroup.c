/* SPDX-License-Identifier: MIT */
/* The cgroup module: the parsers of /proc/PID/cgroup, mountinfo and the interface files, and the
 * reads through a fixture sysroot (pids, membership, the layout). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgroup.h"
#include "check.h"
#include "fixture.h"
#include "host.h"
#include "macro.h"
#include "sysroot.h"

/* ---- the parsers --------------------------------------------------------------------------------- */

/* /proc/self/cgroup of a hybrid Linux host, as it prints it. */
static const char hybrid_proc_cgroup[] =
        "9:name=systemd:/\n"
        "8:pids:/\n"
        "7:blkio:/\n"
        "6:freezer:/\n"
        "5:devices:/\n"
        "4:memory:/process_api/2494a2e570e4bf8d74de57b2cfccf0d5\n"
        "3:cpuset:/\n"
        "2:cpuacct:/\n"
        "1:cpu:/\n"
        "0::/\n";

static void check_proc_cgroup(const char *text, const char *v2, const char *v1) {
        _cleanup_free_ char *got_v2 = NULL;
        _cleanup_free_ char *got_v1 = NULL;
        assert_int_equal(cgroup_parse_proc_cgroup(text, &got_v2, &got_v1), 0);
        if (v2)
                assert_string_equal(got_v2, v2);
        else
                assert_null(got_v2);
        if (v1)
                assert_string_equal(got_v1, v1);
        else
                assert_null(got_v1);
}

static void test_parse_proc_cgroup(void **state) {
        check_proc_cgroup(hybrid_proc_cgroup, "/", "/process_api/2494a2e570e4bf8d74de57b2cfccf0d5");
        /* pure v2 */
        check_proc_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n",
                          "/user.slice/user-1000.slice/session-2.scope", NULL);
        /* pure v1, memory alone or with others in one hierarchy */
        check_proc_cgroup("4:memory:/x\n", NULL, "/x");
        check_proc_cgroup("5:devices:/\n3:cpu,memory:/y\n2:cpuacct:/\n", NULL, "/y");
        check_proc_cgroup("3:memory,cpu:/z\n", NULL, "/z");
        /* a controller whose name only starts with "memory" is not memory */
        check_proc_cgroup("3:memoryx:/a\n2:xmemory:/b\n1:name=memory:/c\n", NULL, NULL);
        /* the path may hold ':' (only the first two separate fields) */
        check_proc_cgroup("0::/a:b/c:d\n", "/a:b/c:d", NULL);
        check_proc_cgroup("4:memory:/x:y:z\n0::/p:q\n", "/p:q", "/x:y:z");
        /* no final newline */
        check_proc_cgroup("0::/no/newline", "/no/newline", NULL);
        /* nothing at all: neither, and no error */
        check_proc_cgroup("", NULL, NULL);
        /* the callers may ask for one of them only */
        _cleanup_free_ char *v1 = NULL;
        assert_int_equal(cgroup_parse_proc_cgroup(hybrid_proc_cgroup, NULL, &v1), 0);
        assert_string_equal(v1, "/process_api/2494a2e570e4bf8d74de57b2cfccf0d5");
}

static void test_parse_proc_cgroup_garbage(void **state) {
        static const char *const bad[] = {
                "garbage\n",
                "4:memory\n",
                "0::relative/path\n",
                "0::\n",
                "0::/ok\nnonsense\n",
                "4:memory:/x\n\n0::/\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *v2 = NULL, *v1 = NULL;
                assert_int_equal(cgroup_parse_proc_cgroup(bad[i], &v2, &v1), -EINVAL);
                free(v2);
                free(v1);
        }
}

/* From a hybrid host's /proc/self/mountinfo, the lines that matter and some that do not. */
static const char hybrid_mountinfo[] =
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A pure cgroup2 host (with an optional field before the separator, as util-linux documents). */
static const char v2_mountinfo[] =
        "21 26 0:20 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
        "26 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw,errors=remount-ro\n"
        "29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime master:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n";

static void check_mountinfo(const char *text, const char *v2, const char *v1) {
        _cleanup_free_ char *got_v2 = NULL;
        _cleanup_free_ char *got_v1 = NULL;
        assert_int_equal(cgroup_parse_mountinfo(text, &got_v2, &got_v1), 0);
        if (v2)
                assert_string_equal(got_v2, v2);
        else
                assert_null(got_v2);
        if (v1)
                assert_string_equal(got_v1, v1);
        else
                assert_null(got_v1);
}

static void test_parse_mountinfo(void **state) {
        check_mountinfo(hybrid_mountinfo, "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory");
        check_mountinfo(v2_mountinfo, "/sys/fs/cgroup", NULL);
        /* several optional fields */
        check_mountinfo("35 31 0:32 / /sys/fs/cgroup/memory rw master:1 propagate_from:2 unbindable - cgroup "
                        "cgroup rw,memory\n",
                        NULL, "/sys/fs/cgroup/memory");
        /* v1 hierarchies with several controllers, memory among them or not */
        check_mountinfo("35 31 0:32 / /sys/fs/cgroup/cpu,memory rw - cgroup cgroup rw,cpu,memory,nsroot=/\n",
                        NULL, "/sys/fs/cgroup/cpu,memory");
        check_mountinfo("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", NULL, NULL);
        /* memory_recursiveprot is a cgroup2 option, not the v1 memory controller */
        check_mountinfo("32 31 0:29 / /sys/fs/cgroup/x rw - cgroup cgroup rw,memory_recursiveprot\n", NULL, NULL);
        /* no cgroup at all */
        check_mountinfo("26 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n", NULL, NULL);
        check_mountinfo("", NULL, NULL);
        /* without a final newline */
        check_mountinfo("29 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", "/sys/fs/cgroup", NULL);
}

static void test_parse_mountinfo_escapes(void **state) {
        /* space, tab, backslash and newline are octal escapes in mountinfo */
        check_mountinfo("41 31 0:38 / /sys/fs/cgroup/my\\040tree rw - cgroup2 cgroup2 rw\n",
                        "/sys/fs/cgroup/my tree", NULL);
        check_mountinfo("41 31 0:38 / /mnt/a\\011b\\134c\\012d rw - cgroup2 cgroup2 rw\n",
                        "/mnt/a\tb\\c\nd", NULL);
        /* an escape at the very end */
        check_mountinfo("41 31 0:38 / /mnt/end\\040 rw - cgroup2 cgroup2 rw\n", "/mnt/end ", NULL);
        /* what is not a full octal escape stays as it is */
        check_mountinfo("41 31 0:38 / /mnt/x\\9y rw - cgroup2 cgroup2 rw\n", "/mnt/x\\9y", NULL);
        check_mountinfo("35 31 0:32 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n", NULL,
                        "/sys/fs/cgroup/mem ory");
}

static void test_parse_mountinfo_garbage(void **state) {
        static const char *const bad[] = {
                /* no " - " separator */
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime cgroup2 cgroup2 rw\n",
                /* the separator of the next line does not count for this one */
                ("41 31 0:38 / /sys/fs/cgroup/unified rw cgroup2 cgroup2 rw\n"
                 "22 27 0:21 / /proc rw,relatime - proc proc rw\n"),
                /* too few fields */
                "41 31 0:38 /\n",
                "garbage\n",
                /* nothing after the file system type */
                "41 31 0:38 / /sys/fs/cgroup rw - cgroup2\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *v2 = NULL, *v1 = NULL;
                assert_int_equal(cgroup_parse_mountinfo(bad[i], &v2, &v1), -EINVAL);
                free(v2);
                free(v1);
        }
}

static void test_parse_u64(void **state) {
        uint64_t v;

        assert_int_equal(cgroup_parse_u64("max", &v), 0);
        assert_true(v == UINT64_MAX);
        v = 0;
        assert_int_equal(cgroup_parse_u64("max\n", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(cgroup_parse_u64("123\n", &v), 0);
        assert_int_equal(v, 123);
        assert_int_equal(cgroup_parse_u64("0", &v), 0);
        assert_int_equal(v, 0);
        /* v1's "no limit" */
        assert_int_equal(cgroup_parse_u64("9223372036854771712\n", &v), 0);
        assert_int_equal(v, 9223372036854771712ULL);
        assert_int_equal(cgroup_parse_u64("18446744073709551615\n", &v), 0);
        assert_true(v == UINT64_MAX);

        v = 42;
        static const char *const bad[] = { "-1", "-1\n", "12x", "12 \n", " 12", "", "\n", "maximum", "ma",
                                           "+5", "0x10", "1.5" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (cgroup_parse_u64(bad[i], &v) != -EINVAL)
                        fail_msg("\"%s\" was not refused", bad[i]);
        }
        /* a refused text leaves the result alone */
        assert_int_equal(v, 42);
        /* one past UINT64_MAX must not wrap */
        assert_int_equal(cgroup_parse_u64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(cgroup_parse_u64("99999999999999999999999\n", &v), -ERANGE);
        assert_int_equal(v, 42);
}

static void test_parse_keyed(void **state) {
        static const char events[] = "low 1\nhigh 2\nmax 3\noom 7\noom_kill 2\noom_group_kill 1\n";
        static const char events_reordered[] = "oom_group_kill 9\noom_kill 4\noom 8\n";
        static const char oom_control[] = "oom_kill_disable 1\nunder_oom 0\noom_kill 5\n";
        static const char v1_stat[] = "cache 10\nrss 20\ninactive_file 30\nactive_file 40\n"
                                      "total_cache 100\ntotal_inactive_file 300\ntotal_active_file 400\n";
        static const char v2_stat[] = "anon 1\nfile 2\nfile_mapped 3\nfile_dirty 4\ninactive_anon 5\n"
                                      "active_anon 6\ninactive_file 7\nactive_file 8";
        uint64_t v;

        /* keys that are prefixes of others must find their own line */
        assert_int_equal(cgroup_parse_keyed(events, "oom", &v), 0);
        assert_int_equal(v, 7);
        assert_int_equal(cgroup_parse_keyed(events, "oom_kill", &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(cgroup_parse_keyed(events, "oom_group_kill", &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(cgroup_parse_keyed(events, "max", &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(cgroup_parse_keyed(events_reordered, "oom_kill", &v), 0);
        assert_int_equal(v, 4);
        assert_int_equal(cgroup_parse_keyed(events_reordered, "oom", &v), 0);
        assert_int_equal(v, 8);
        assert_int_equal(cgroup_parse_keyed(oom_control, "oom_kill", &v), 0);
        assert_int_equal(v, 5);
        /* a key inside another key is not that key */
        assert_int_equal(cgroup_parse_keyed(v1_stat, "inactive_file", &v), 0);
        assert_int_equal(v, 30);
        assert_int_equal(cgroup_parse_keyed(v1_stat, "total_inactive_file", &v), 0);
        assert_int_equal(v, 300);
        assert_int_equal(cgroup_parse_keyed(v2_stat, "file", &v), 0);
        assert_int_equal(v, 2);
        /* the last line needs no newline */
        assert_int_equal(cgroup_parse_keyed(v2_stat, "active_file", &v), 0);
        assert_int_equal(v, 8);

        v = 99;
        assert_int_equal(cgroup_parse_keyed(events, "kill", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed(events, "oom_", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed("", "oom_kill", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed("oom_kill\n", "oom_kill", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed("oom_kill x\n", "oom_kill", &v), -EINVAL);
        assert_int_equal(cgroup_parse_keyed("oom_kill -1\n", "oom_kill", &v), -EINVAL);
        assert_int_equal(cgroup_parse_keyed("oom_kill 12x\n", "oom_kill", &v), -EINVAL);
        assert_int_equal(cgroup_parse_keyed("oom_kill 99999999999999999999999\n", "oom_kill", &v), -ERANGE);
        assert_int_equal(v, 99);
}

static void test_pread_counters(void **state) {
        /* a kept-open counter file is read from its start every time, whatever was read before */
        _cleanup_close_ int fd = memfd_create("memory.current", MFD_CLOEXEC);
        uint64_t v;

        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "4096\n", 5, 0), 5);
        assert_int_equal(cgroup_pread_u64(fd, &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(cgroup_pread_u64(fd, &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, "max\n", 4, 0), 4);
        assert_int_equal(cgroup_pread_u64(fd, &v), 0);
        assert_true(v == UINT64_MAX);

        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, "oom 1\noom_kill 6\n", 17, 0), 17);
        assert_int_equal(cgroup_pread_keyed(fd, "oom_kill", &v), 0);
        assert_int_equal(v, 6);
        assert_int_equal(cgroup_pread_keyed(fd, "oom_group_kill", &v), -ENOENT);

        assert_int_equal(cgroup_pread_u64(-1, &v), -EBADF);
}

static void check_join(const char *mount, const char *path, const char *leaf, const char *want) {
        _cleanup_free_ char *got = cgroup_join(mount, path, leaf);
        assert_non_null(got);
        assert_string_equal(got, want);
}

static void test_join(void **state) {
        check_join("unified", "/a/b", "job", "unified/a/b/job");
        check_join("memory", "/x", NULL, "memory/x");
        /* a pure v2 host's cgroup root is the mount itself: "" */
        check_join("", "/user.slice/test", "job", "user.slice/test/job");
        check_join("", "/user.slice/test", NULL, "user.slice/test");
        check_join("", "/", "job", "job");
        check_join("", "/", NULL, "");
        check_join("unified", "/", NULL, "unified");
        check_join("unified", "/", "job", "unified/job");
        check_join(NULL, NULL, "cgroup.procs", "cgroup.procs");
        check_join(NULL, NULL, NULL, "");
        check_join("user.slice/test", NULL, "cgroup.controllers", "user.slice/test/cgroup.controllers");
        /* never a leading '/', which openat() would take as absolute */
        check_join("", "//a", "b", "a/b");
        check_join("memory", "/a", "", "memory/a");
}

static void test_child(void **state) {
        _cleanup_free_ char *a = cgroup_child("/a/b", "memguard-7");
        _cleanup_free_ char *b = cgroup_child("/", "memguard-7");
        assert_string_equal(a, "/a/b/memguard-7");
        /* the root's children have one '/', as /proc/PID/cgroup writes them */
        assert_string_equal(b, "/memguard-7");
}

static void test_list_has(void **state) {
        assert_true(cgroup_list_has("cpuset cpu io memory hugetlb pids\n", "memory"));
        assert_true(cgroup_list_has("memory", "memory"));
        assert_true(cgroup_list_has("memory\n", "memory"));
        assert_false(cgroup_list_has("cpu pids\n", "memory"));
        assert_false(cgroup_list_has("memory_recursiveprot cpu\n", "memory"));
        assert_false(cgroup_list_has("xmemory\n", "memory"));
        assert_false(cgroup_list_has("", "memory"));
        assert_false(cgroup_list_has("\n", "memory"));
}

/* ---- reads through a fixture sysroot --------------------------------------------------------------- */

static void test_read_pids(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 99;

        assert_int_equal(sysroot_open(CGROUP2_HOST, &s), 0);
        assert_int_equal(cgroup_read_pids(s, "user.slice/cases/two/cgroup.procs", &pids, &n), 0);
        check_pids(pids, n, (const pid_t[]) { 201, 202 }, 2);
        free(pids);
        pids = NULL;

        assert_int_equal(cgroup_read_pids(s, "user.slice/cases/empty/cgroup.procs", &pids, &n), 0);
        assert_int_equal(n, 0);
        free(pids);
        pids = NULL;

        assert_int_equal(cgroup_read_pids(s, "user.slice/cases/garbage/cgroup.procs", &pids, &n), -EINVAL);
        assert_int_equal(cgroup_read_pids(s, "user.slice/cases/negative/cgroup.procs", &pids, &n), -EINVAL);
        assert_int_equal(cgroup_read_pids(s, "user.slice/cases/missing/cgroup.procs", &pids, &n), -ENOENT);
        assert_null(pids);
}

static void test_read_pids_overflow(void **state) {
        struct sysroot *s = NULL;
        pid_t *pids = NULL;
        size_t n = 0;

        /* 4294967497 is 2^32 + 201: not a pid, and it must not come back as 201, which is a process
         * that could then be signalled */
        assert_int_equal(sysroot_open(CGROUP2_HOST, &s), 0);
        int r = cgroup_read_pids(s, "user.slice/cases/overflow/cgroup.procs", &pids, &n);
        pid_t first = r == 0 && n > 0 ? pids[0] : 0;
        /* freed before asserting: a failed assertion jumps past cleanup handlers, and a leak report
         * in the sanitizer run would only hide the real failure */
        free(pids);
        sysroot_free(s);
        if (first != 0)
                fail_msg("cgroup_read_pids took \"4294967497\" for pid %d", (int) first);
        /* garbage or overflow, as HACKING.md has parsers say */
        assert_true(r == -EINVAL || r == -ERANGE);
}

static void test_pid_in(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s2 = NULL;
        _cleanup_(sysroot_freep) struct sysroot *s1 = NULL;

        assert_int_equal(sysroot_open(CGROUP2_HOST, &s2), 0);
        assert_int_equal(cgroup_pid_in(s2, 201, 1, "/user.slice/test/" JOB), 1);
        /* a process in a child group of the job's is the job's */
        assert_int_equal(cgroup_pid_in(s2, 202, 1, "/user.slice/test/" JOB), 1);
        /* "/a/job2" is a sibling of "/a/job", not inside it */
        assert_int_equal(cgroup_pid_in(s2, 203, 1, "/user.slice/test/" JOB), 0);
        assert_int_equal(cgroup_pid_in(s2, 203, 1, "/user.slice/test/" JOB "2"), 1);
        /* the group's parent holds the job, the job does not hold its parent's processes */
        assert_int_equal(cgroup_pid_in(s2, 201, 1, "/user.slice/test"), 1);
        assert_int_equal(cgroup_pid_in(s2, 100, 1, "/user.slice/test/" JOB), 0);
        /* no v1 memory line on a pure v2 host */
        assert_int_equal(cgroup_pid_in(s2, 201, 0, "/user.slice/test/" JOB), 0);
        /* gone */
        assert_int_equal(cgroup_pid_in(s2, 999, 1, "/user.slice/test/" JOB), -ENOENT);

        assert_int_equal(sysroot_open(CGROUP1_HOST, &s1), 0);
        assert_int_equal(cgroup_pid_in(s1, 201, 0, "/user.slice/test/" JOB), 1);
        assert_int_equal(cgroup_pid_in(s1, 201, 1, "/user.slice/test/" JOB), 1);
        assert_int_equal(cgroup_pid_in(s1, 203, 0, "/user.slice/test/" JOB), 0);
        assert_int_equal(cgroup_pid_in(s1, 100, 0, "/user.slice/test/" JOB), 0);
}

static void test_layout(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        struct cgroup_layout l = {};

        assert_int_equal(sysroot_open(CGROUP2_HOST, &s), 0);
        assert_int_equal(s->self_pid, 100);
        assert_int_equal(cgroup_layout_read(s, 0, &l), 0);
        assert_string_equal(l.v2_mount, "");
        assert_string_equal(l.v2_path, "/user.slice/test");
        assert_null(l.v1_memory_mount);
        assert_null(l.v1_memory_path);
        cgroup_layout_done(&l);
        s = sysroot_free(s);

        assert_int_equal(sysroot_open(CGROUP1_HOST, &s), 0);
        assert_int_equal(cgroup_layout_read(s, 0, &l), 0);
        assert_string_equal(l.v2_mount, "unified");
        assert_string_equal(l.v2_path, "/user.slice/test");
        assert_string_equal(l.v1_memory_mount, "memory");
        assert_string_equal(l.v1_memory_path, "/user.slice/test");
        cgroup_layout_done(&l);
        /* another pid's view */
        assert_int_equal(cgroup_layout_read(s, 201, &l), 0);
        assert_string_equal(l.v1_memory_path, "/user.slice/test/" JOB);
        cgroup_layout_done(&l);
        s = sysroot_free(s);

        assert_int_equal(sysroot_open(PROCFS_HOST, &s), 0);
        assert_int_equal(s->cgroup_fd, -1);
        assert_int_equal(cgroup_layout_read(s, 0, &l), 0);
        assert_null(l.v2_mount);
        assert_null(l.v1_memory_mount);
        assert_string_equal(l.v2_path, "/");
        cgroup_layout_done(&l);
}

static void test_layout_mount_elsewhere(void **state) {
        struct host *h = *state;
        struct cgroup_layout l = {};

        /* a cgroup2 mount outside /sys/fs/cgroup is not the one the sysroot opens */
        host_write(h, "proc/100/mountinfo",
                   "29 22 0:26 / /run/cgroup2 rw,nosuid - cgroup2 cgroup2 rw\n"
                   "30 22 0:27 / /sys/fs/cgroupx rw,nosuid - cgroup2 cgroup2 rw\n");
        host_open(h);
        assert_int_equal(cgroup_layout_read(h->s, 0, &l), 0);
        assert_null(l.v2_mount);
        cgroup_layout_done(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_proc_cgroup),
                cmocka_unit_test(test_parse_proc_cgroup_garbage),
                cmocka_unit_test(test_parse_mountinfo),
                cmocka_unit_test(test_parse_mountinfo_escapes),
                cmocka_unit_test(test_parse_mountinfo_garbage),
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_parse_keyed),
                cmocka_unit_test(test_pread_counters),
                cmocka_unit_test(test_join),
                cmocka_unit_test(test_child),
                cmocka_unit_test(test_list_has),
                cmocka_unit_test(test_read_pids),
                cmocka_unit_test(test_read_pids_overflow),
                cmocka_unit_test(test_pid_in),
                cmocka_unit_test(test_layout),
                cmocka_unit_test_setup_teardown(test_layout_mount_elsewhere, fixture_setup_cgroup2, fixture_teardown),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
