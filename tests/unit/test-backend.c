/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "job.h"
#include "macro.h"
#include "sysroot.h"
#include "tree.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

#define CGROUP2_HOST FIXTURES "/cgroup2-host"
#define CGROUP1_HOST FIXTURES "/cgroup1-host"
#define PROCFS_HOST FIXTURES "/procfs-host"

/* The leaf every test asks for, and where it lands on each fixture host. */
#define JOB "memguard-test"
#define V2_JOB_DIR "user.slice/test/" JOB
#define V1_MEM_JOB_DIR "memory/user.slice/test/" JOB
#define V1_UNI_JOB_DIR "unified/user.slice/test/" JOB


static void freestrp(char **p) {
        free(*p);
}
#define _cleanup_str_ _cleanup_(freestrp)

static char *mfree(char *p) {
        free(p);
        return NULL;
}

/* ---- a fake kernel behind mkdir and rmdir ----------------------------------------------------------
 * In cgroupfs, mkdir makes a group and the kernel fills it with its interface files at once; the
 * backends rely on that (mkdir, then open memory.current). A fixture directory is plain ext4/tmpfs,
 * where mkdir makes an empty directory, and the open fails. So this test binary defines mkdirat
 * itself: the engine is a static library, the linker resolves its mkdirat calls to this definition,
 * which makes the directory with the real system call and then, only for the cgroup directory of the
 * sysroot under test, creates the files the kernel would. rmdir of a group is the mirror image: the
 * kernel removes a group with its interface files, a plain rmdir refuses a directory that has files,
 * so unlinkat(AT_REMOVEDIR) is defined here too, records the removal and takes the files away first.
 * No LD_PRELOAD, nothing changes in lib/. */

struct fake_file {
        const char *name;
        const char *content;
};

/* Files the code writes start empty: unlike the kernel, a plain file is not replaced by a write, and
 * the tests read back exactly what was written. */
static const struct fake_file fake_v2_files[] = {
        { "cgroup.procs", "" },
        { "cgroup.kill", "" },
        { "cgroup.freeze", "" },
        { "cgroup.events", "populated 0\nfrozen 0\n" },
        { "cgroup.controllers", "memory pids\n" },
        { "cgroup.subtree_control", "" },
        { "memory.current", "0\n" },
        { "memory.max", "" },
        { "memory.oom.group", "" },
        { "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n" },
        { "memory.stat", "anon 0\nfile 0\nkernel 0\ninactive_anon 0\nactive_anon 0\ninactive_file 0\n"
                         "active_file 0\nunevictable 0\n" },
};

static const struct fake_file fake_v1_files[] = {
        { "cgroup.procs", "" },
        { "tasks", "" },
        { "memory.usage_in_bytes", "0\n" },
        { "memory.max_usage_in_bytes", "0\n" },
        { "memory.limit_in_bytes", "" },
        { "memory.memsw.limit_in_bytes", "" },
        { "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n" },
        { "memory.stat", "cache 0\nrss 0\ninactive_anon 0\nactive_anon 0\ninactive_file 0\nactive_file 0\n"
                         "total_cache 0\ntotal_rss 0\ntotal_inactive_file 0\ntotal_active_file 0\n" },
};

/* The unified tree of a hybrid host: membership and cgroup.kill, no controllers. */
static const struct fake_file fake_unified_files[] = {
        { "cgroup.procs", "" },
        { "cgroup.kill", "" },
        { "cgroup.freeze", "" },
        { "cgroup.events", "populated 0\nfrozen 0\n" },
        { "cgroup.controllers", "" },
};

static struct {
        int cgroup_fd;          /* populate only below this directory fd; -1: plain mkdir */
        bool no_peak;           /* a kernel before 5.19: no memory.peak */
        int error;              /* first failure to populate, checked by the tests */
        char *created[8];       /* what mkdirat made below cgroup_fd, in order */
        size_t n_created;
        char *removed[8];       /* what unlinkat(AT_REMOVEDIR) was asked to remove, in order */
        size_t n_removed;
} fake = { .cgroup_fd = -1 };

static void fake_reset(void) {
        for (size_t i = 0; i < fake.n_created; i++)
                free(fake.created[i]);
        fake.n_created = 0;
        for (size_t i = 0; i < fake.n_removed; i++)
                free(fake.removed[i]);
        fake.n_removed = 0;
        fake.cgroup_fd = -1;
        fake.no_peak = false;
        fake.error = 0;
}

static void fake_arm(const struct sysroot *s) {
        fake.cgroup_fd = s->cgroup_fd;
}

static void fake_populate_set(int dirfd, const char *dir, const struct fake_file *files, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
                _cleanup_close_ int fd = openat(dirfd, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                size_t len = strlen(files[i].content);
                if (fd < 0 || write(fd, files[i].content, len) != (ssize_t) len) {
                        if (!fake.error)
                                fake.error = errno ? errno : EIO;
                }
        }
}

static void fake_populate(int dirfd, const char *path) {
        if (fake.n_created < ELEMENTSOF(fake.created))
                fake.created[fake.n_created++] = strdup(path);

        if (strncmp(path, "memory/", 7) == 0)
                fake_populate_set(dirfd, path, fake_v1_files, ELEMENTSOF(fake_v1_files));
        else if (strncmp(path, "unified/", 8) == 0)
                fake_populate_set(dirfd, path, fake_unified_files, ELEMENTSOF(fake_unified_files));
        else {
                fake_populate_set(dirfd, path, fake_v2_files, ELEMENTSOF(fake_v2_files));
                if (!fake.no_peak)
                        fake_populate_set(dirfd, path, &(struct fake_file) { "memory.peak", "0\n" }, 1);
        }
}

/* Not static on purpose: this definition takes the place of the C library's for the engine. */
int mkdirat(int dirfd, const char *path, mode_t mode) {
        if (syscall(SYS_mkdirat, dirfd, path, mode) < 0)
                return -1;
        if (fake.cgroup_fd >= 0 && dirfd == fake.cgroup_fd)
                fake_populate(dirfd, path);
        return 0;
}

/* The interface files go with the group; anything else in it (a child group) makes rmdir fail. */
static void fake_depopulate_set(int dirfd, const char *dir, const struct fake_file *files, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
                (void) syscall(SYS_unlinkat, dirfd, p, 0);
        }
}

/* Not static on purpose, as mkdirat above. */
int unlinkat(int dirfd, const char *path, int flags) {
        if (fake.cgroup_fd >= 0 && dirfd == fake.cgroup_fd && (flags & AT_REMOVEDIR)) {
                if (fake.n_removed < ELEMENTSOF(fake.removed))
                        fake.removed[fake.n_removed++] = strdup(path);
                fake_depopulate_set(dirfd, path, fake_v2_files, ELEMENTSOF(fake_v2_files));
                fake_depopulate_set(dirfd, path, fake_v1_files, ELEMENTSOF(fake_v1_files));
                fake_depopulate_set(dirfd, path, &(struct fake_file) { "memory.peak", "" }, 1);
        }
        return syscall(SYS_unlinkat, dirfd, path, flags) < 0 ? -1 : 0;
}

static bool fake_created(const char *path) {
        for (size_t i = 0; i < fake.n_created; i++)
                if (fake.created[i] && strcmp(fake.created[i], path) == 0)
                        return true;
        return false;
}

static bool fake_removed(const char *path) {
        for (size_t i = 0; i < fake.n_removed; i++)
                if (fake.removed[i] && strcmp(fake.removed[i], path) == 0)
                        return true;
        return false;
}

/* ---- fixture copies ------------------------------------------------------------------------------ */

struct host {
        char path[PATH_MAX];
        struct sysroot *s;
};

/* Every test that changes a host works on its own copy, so the fixtures in the tree stay as they are. */
static int host_setup(void **state, const char *fixture) {
        struct host *h = calloc(1, sizeof(*h));
        if (!h)
                return -1;
        *state = h;
        fake_reset();
        if (tree_clone(fixture, "test-backend", h->path, sizeof(h->path)) < 0) {
                /* cmocka runs no teardown after a failed setup */
                free(h);
                *state = NULL;
                return -1;
        }
        return 0;
}

static int setup_cgroup2_host(void **state) {
        return host_setup(state, CGROUP2_HOST);
}

static int setup_cgroup1_host(void **state) {
        return host_setup(state, CGROUP1_HOST);
}

static int setup_procfs_host(void **state) {
        return host_setup(state, PROCFS_HOST);
}

static int host_teardown(void **state) {
        struct host *h = *state;
        fake_reset();
        if (!h)
                return 0;
        sysroot_free(h->s);
        int r = h->path[0] ? tree_remove(h->path) : 0;
        free(h);
        return r < 0 ? -1 : 0;
}

static struct sysroot *host_open(struct host *h) {
        assert_null(h->s);
        assert_int_equal(sysroot_open(h->path, &h->s), 0);
        assert_false(sysroot_is_live(h->s));
        return h->s;
}

/* Rewrites a file of the copy in place: O_TRUNC keeps the inode, so a descriptor the backend keeps
 * open (memory.current and friends) sees the new text at its next pread from offset 0. */
static void host_write(struct host *h, const char *rel, const char *text) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", h->path, rel);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        size_t len = strlen(text);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
}

static char *host_read(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", h->path, rel);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        char *text = NULL;
        assert_true(sysroot_read_fd(fd, &text, 1024 * 1024) >= 0);
        return text;
}

static bool host_exists(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", h->path, rel);
        return access(p, F_OK) == 0;
}

static void host_remove(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/%s", h->path, rel);
        assert_int_equal(tree_remove(p), 0);
}

static void assert_file(struct host *h, const char *rel, const char *expected) {
        _cleanup_str_ char *text = host_read(h, rel);
        assert_non_null(text);
        assert_string_equal(text, expected);
}

static void assert_pids(const pid_t *got, size_t n, const pid_t *want, size_t n_want) {
        _cleanup_free_ pid_t *sorted = malloc(MAX(n, (size_t) 1) * sizeof(pid_t));
        assert_non_null(sorted);
        if (n > 0)
                memcpy(sorted, got, n * sizeof(pid_t));
        /* the order of a pid list means nothing: compare as sets */
        for (size_t i = 1; i < n; i++)
                for (size_t k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
                        pid_t t = sorted[k];
                        sorted[k] = sorted[k - 1];
                        sorted[k - 1] = t;
                }
        assert_int_equal(n, n_want);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(sorted[i], want[i]);
}

static void assert_backend_pids(struct backend *b, const pid_t *want, size_t n_want) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(backend_pids(b, &pids, &n), 0);
        assert_pids(pids, n, want, n_want);
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle))
                fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

static const struct backend_config job_config = { .group_name = JOB };

/* Above PID_MAX_LIMIT (2^22), so no process of this machine has these pids. The kill tests list only
 * them: should the guard against signalling fixture pids ever break, the test fails on -ESRCH instead
 * of signalling whatever runs as pid 201 here. */
#define UNREACHABLE_PIDS "4194401\n4194402\n"
#define UNREACHABLE_PID 4194401

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
        _cleanup_str_ char *got_v2 = NULL;
        _cleanup_str_ char *got_v1 = NULL;
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
        _cleanup_str_ char *v1 = NULL;
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
        _cleanup_str_ char *got_v2 = NULL;
        _cleanup_str_ char *got_v1 = NULL;
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
        _cleanup_str_ char *got = cgroup_join(mount, path, leaf);
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
        assert_pids(pids, n, (const pid_t[]) { 201, 202 }, 2);
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

/* ---- the cgroup2 backend --------------------------------------------------------------------------- */

static void test_cgroup2_no_memory_controller(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        host_write(h, "sys/fs/cgroup/user.slice/test/cgroup.controllers", "cpu pids\n");
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EOPNOTSUPP);
        assert_null(b);
        assert_contains(err, "/sys/fs/cgroup/user.slice/test");
        assert_contains(err, "no memory controller");
        /* refused before making anything */
        assert_int_equal(fake.n_created, 0);
        assert_false(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));
}

static void test_cgroup2_no_mount(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        host_write(h, "proc/100/mountinfo", "26 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EOPNOTSUPP);
        assert_null(b);
        assert_contains(err, "no cgroup2 filesystem");
}

static void test_cgroup2_no_layout(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        host_remove(h, "proc/100/mountinfo");
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -ENOENT);
        assert_contains(err, "cannot read the cgroup layout");

        /* a mountinfo that cannot be parsed is as bad */
        host_write(h, "proc/100/mountinfo", "this is not a mountinfo\n");
        free(err);
        err = NULL;
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EINVAL);
        assert_contains(err, "cannot read the cgroup layout");
}

static void test_cgroup2_group_exists(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        /* somebody else's group of that name: refused, and left alone */
        char p[PATH_MAX * 2];
        snprintf(p, sizeof(p), "%s/sys/fs/cgroup/%s", h->path, V2_JOB_DIR);
        assert_int_equal(mkdir(p, 0755), 0);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "4321\n");
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -EEXIST);
        assert_contains(err, "cannot create /sys/fs/cgroup/" V2_JOB_DIR);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "4321\n");
        assert_int_equal(fake.n_removed, 0);
}

static void test_cgroup2_no_interface_files(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        /* a plain mkdir, no kernel to fill the group: opening its files fails, and the half-made group
         * is removed again */
        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, &err), -ENOENT);
        assert_null(b);
        assert_contains(err, "cannot open the files of /sys/fs/cgroup/" V2_JOB_DIR);
        assert_false(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));
}

static void test_cgroup2_enables_memory(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* the parent does not hand memory down yet: the backend asks for it */
        host_write(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "");
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "+memory");
}

static void test_cgroup2_open(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;
        struct backend_config config = job_config;

        config.hard_limit_bytes = GIB;
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), 0);
        assert_int_equal(fake.error, 0);
        assert_null(err);
        assert_string_equal(backend_name(b), "cgroup2");
        assert_non_null(b->ops->measures);
        assert_string_equal(backend_group_path(b), "/user.slice/test/" JOB);

        /* one group, below memguard's own, with the kernel ceiling and whole-group OOM kills */
        assert_int_equal(fake.n_created, 1);
        assert_true(fake_created(V2_JOB_DIR));
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "1073741824");
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.oom.group", "1");
        /* the parent already handed memory down: left as it was */
        assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "memory pids\n");

        /* the child joins the job's group itself, by writing "0" to its cgroup.procs */
        assert_int_equal(backend_prepare_child(b), 0);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "0");

        /* the ceiling moves */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "");
        assert_int_equal(backend_set_limit(b, 2 * GIB), 0);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "2147483648");
        assert_int_equal(b->config.hard_limit_bytes, 2 * GIB);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "");
        assert_int_equal(backend_set_limit(b, 0), 0);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "max");

        /* freezing acts on the job's processes: not on a fixture's */
        assert_int_equal(backend_freeze(b, true), -EOPNOTSUPP);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.freeze", "");

        /* what the backend made, it removes */
        assert_int_equal(fake.n_removed, 0);
        b = backend_free(b);
        assert_true(fake_removed(V2_JOB_DIR));
        assert_false(host_exists(h, "sys/fs/cgroup/" V2_JOB_DIR));

        /* without a hard limit memory.max is not written (the kernel's "max" stays) */
        fake_reset();
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/memory.max", "");
}

static void test_cgroup2_keep(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;

        /* the daemon stopping without ending its jobs: the group stays for the next start to adopt */
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        b->keep = true;
        assert_null(backend_free(b));
        assert_int_equal(fake.n_removed, 0);
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
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, NULL), 0);
        assert_true(fake_created("user.slice/" JOB));
        assert_int_equal(fake.n_created, 1);
        assert_string_equal(backend_group_path(b), "/user.slice/" JOB);
        /* and the memory controller is asked of that parent, not of memguard's own group */
        assert_file(h, "sys/fs/cgroup/user.slice/cgroup.subtree_control", "+memory");
        assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "memory pids\n");
}

#define WATCHED "system.slice/build.service"

static void test_cgroup2_adopt(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;
        struct backend_config config = job_config;
        struct backend_sample bs;

        /* somebody else's group ([watch]): supervised where it is, made and changed by nobody here */
        config.adopt_path = "/" WATCHED;
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), 0);
        assert_null(err);
        assert_int_equal(fake.n_created, 0);
        assert_string_equal(backend_group_path(b), "/" WATCHED);
        assert_file(h, "sys/fs/cgroup/" WATCHED "/memory.oom.group", "0\n");
        assert_file(h, "sys/fs/cgroup/" WATCHED "/memory.max", "max\n");
        assert_file(h, "sys/fs/cgroup/user.slice/test/cgroup.subtree_control", "memory pids\n");

        assert_backend_pids(b, (const pid_t[]) { 301, 302 }, 2);
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 268435456);
        assert_int_equal(bs.working_set_bytes, 268435456 - 33554432);
        assert_int_equal(bs.kernel_peak_bytes, 402653184);

        /* not ours: left in place */
        b = backend_free(b);
        assert_int_equal(fake.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/" WATCHED "/memory.current"));

        /* ours from before a restart: whole-group OOM kills, and removed at the end */
        config.adopt_owned = true;
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, NULL), 0);
        assert_file(h, "sys/fs/cgroup/" WATCHED "/memory.oom.group", "1\n");
        assert_int_equal(fake.n_created, 0);
        b = backend_free(b);
        assert_true(fake_removed(WATCHED));
}

static void test_cgroup2_adopt_errors(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;
        struct backend_config config = job_config;

        /* a group without the memory controller has no memory.* files: say what is probably wrong */
        host_remove(h, "sys/fs/cgroup/" WATCHED "/memory.current");
        config.adopt_path = "/" WATCHED;
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), -ENOENT);
        assert_null(b);
        assert_contains(err, "/sys/fs/cgroup/" WATCHED);
        assert_contains(err, "memory controller");
        /* somebody else's group is never removed, not even after a failure */
        assert_int_equal(fake.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/" WATCHED "/cgroup.procs"));

        /* a group that is not there */
        free(err);
        err = NULL;
        config.adopt_path = "/system.slice/gone.service";
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &config, &b, &err), -ENOENT);
        assert_contains(err, "system.slice/gone.service");
        assert_int_equal(fake.n_created, 0);
}

static void test_cgroup2_at_root(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* memguard in the root cgroup (a container's own namespace root): the group lands at the top */
        host_write(h, "proc/100/cgroup", "0::/\n");
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_true(fake_created(JOB));
        assert_true(host_exists(h, "sys/fs/cgroup/" JOB "/memory.current"));
}

static void test_cgroup2_sample(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        host_open(h);
        fake_arm(h->s);
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
        fake_arm(h->s);
        fake.no_peak = true;
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
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP2, &job_config, &b, NULL), 0);

        assert_backend_pids(b, NULL, 0);
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "201\n202\n");
        assert_backend_pids(b, (const pid_t[]) { 201, 202 }, 2);

        /* fixture pids are not this machine's processes: no signal, no cgroup.kill */
        host_write(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", UNREACHABLE_PIDS);
        assert_int_equal(backend_kill(b, SIGTERM), -EOPNOTSUPP);
        assert_int_equal(backend_kill(b, SIGKILL), -EOPNOTSUPP);
        assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.kill", "");
}

/* On a fresh backend: the kept-open cgroup.procs descriptor has a file offset, which cgroupfs ignores
 * and a plain file does not, so this is not mixed with prepare_child's write. */
static void check_attach(struct host *h, bool v1) {
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* a registered process (not our child) is moved in by pid, into every group of the job */
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, v1 ? BACKEND_CGROUP1 : BACKEND_CGROUP2, &job_config, &b, NULL), 0);
        assert_int_equal(backend_attach(b, 4242), 0);
        if (v1) {
                assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "4242");
                assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", "4242");
        } else
                assert_file(h, "sys/fs/cgroup/" V2_JOB_DIR "/cgroup.procs", "4242");
}

static void test_cgroup2_attach(void **state) {
        check_attach(*state, false);
}

static void test_cgroup1_attach(void **state) {
        check_attach(*state, true);
}

static void test_cgroup2_job_sample(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_(job_freep) struct job *j = NULL;

        host_open(h);
        fake_arm(h->s);
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
        fake_arm(h->s);
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
        fake_arm(h->s);
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

/* ---- the cgroup1 backend --------------------------------------------------------------------------- */

static void test_cgroup1_open(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;
        struct backend_config config = job_config;

        config.hard_limit_bytes = GIB;
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, &err), 0);
        assert_int_equal(fake.error, 0);
        assert_null(err);
        assert_string_equal(backend_name(b), "cgroup1");
        /* the primary hierarchy's path: the v1 memory group */
        assert_string_equal(backend_group_path(b), "/user.slice/test/" JOB);

        /* a v1 memory group, and on a hybrid host a twin in the unified tree */
        assert_int_equal(fake.n_created, 2);
        assert_true(fake_created(V1_MEM_JOB_DIR));
        assert_true(fake_created(V1_UNI_JOB_DIR));
        /* the ceiling, with swap no way around it */
        assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.limit_in_bytes", "1073741824");
        assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.memsw.limit_in_bytes", "1073741824");

        /* the child joins both */
        assert_int_equal(backend_prepare_child(b), 0);
        assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "0");
        assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", "0");

        /* membership comes from the unified twin */
        host_write(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", "201\n");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "201\n202\n");
        assert_backend_pids(b, (const pid_t[]) { 201 }, 1);

        host_write(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.procs", UNREACHABLE_PIDS);
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", UNREACHABLE_PIDS);
        assert_int_equal(backend_kill(b, SIGTERM), -EOPNOTSUPP);
        assert_int_equal(backend_kill(b, SIGKILL), -EOPNOTSUPP);
        assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.kill", "");

        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.limit_in_bytes", "");
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.memsw.limit_in_bytes", "");
        assert_int_equal(backend_set_limit(b, 0), 0);
        assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.limit_in_bytes", "-1");
        assert_file(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/memory.memsw.limit_in_bytes", "-1");

        assert_int_equal(backend_freeze(b, true), -EOPNOTSUPP);
        assert_file(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR "/cgroup.freeze", "");

        /* both groups go when the backend does */
        b = backend_free(b);
        assert_true(fake_removed(V1_MEM_JOB_DIR));
        assert_true(fake_removed(V1_UNI_JOB_DIR));
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
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, NULL), 0);
        assert_int_equal(fake.n_created, 2);
        assert_true(fake_created("memory/user.slice/" JOB));
        assert_true(fake_created("unified/user.slice/" JOB));
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
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &config, &b, NULL), 0);
        assert_int_equal(fake.n_created, 0);
        assert_string_equal(backend_group_path(b), "/user.slice/test");
        /* membership from the unified twin */
        assert_backend_pids(b, (const pid_t[]) { 100, 201 }, 2);
        assert_int_equal(backend_sample(b, &bs), 0);
        assert_int_equal(bs.current_bytes, 52428800);
        /* no memory.max_usage_in_bytes in this group: no kernel peak, not an error */
        assert_int_equal(bs.kernel_peak_bytes, 0);
        b = backend_free(b);
        assert_int_equal(fake.n_removed, 0);
        assert_true(host_exists(h, "sys/fs/cgroup/memory/user.slice/test/cgroup.procs"));
}

static void test_cgroup1_sample(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        struct backend_sample bs;

        host_open(h);
        fake_arm(h->s);
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
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, NULL), 0);
        assert_int_equal(fake.n_created, 1);
        assert_true(fake_created(V1_MEM_JOB_DIR));
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "201\n202\n");
        assert_backend_pids(b, (const pid_t[]) { 201, 202 }, 2);
        assert_int_equal(backend_prepare_child(b), 0);
}

static void test_cgroup1_unified_unusable(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;

        /* the unified tree is mounted but memguard's place in it is not there: v1 alone still works */
        host_remove(h, "sys/fs/cgroup/unified/user.slice");
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, NULL), 0);
        assert_false(host_exists(h, "sys/fs/cgroup/" V1_UNI_JOB_DIR));
        host_write(h, "sys/fs/cgroup/" V1_MEM_JOB_DIR "/cgroup.procs", "202\n");
        assert_backend_pids(b, (const pid_t[]) { 202 }, 1);
}

static void test_cgroup1_no_memory_hierarchy(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        host_write(h, "proc/100/mountinfo",
                   "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                   "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, &err), -EOPNOTSUPP);
        assert_null(b);
        assert_contains(err, "no cgroup v1 memory controller");
        assert_int_equal(fake.n_created, 0);
}

static void test_cgroup1_mount_root(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

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
        fake_arm(h->s);
        int r = backend_open(h->s, BACKEND_CGROUP1, &job_config, &b, &err);
        char why[512];
        snprintf(why, sizeof(why), "%s", err ? err : "no explanation");
        /* freed before asserting, as in test_read_pids_overflow */
        err = mfree(err);
        if (r < 0)
                fail_msg("backend_open: %s (%s)", strerror(-r), why);
        assert_true(fake_created("memory/" JOB));
}

/* ---- choosing a backend ---------------------------------------------------------------------------- */

static void test_auto_cgroup2_host(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        char *err = (char *) "untouched";

        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_AUTO, &job_config, &b, &err), 0);
        assert_int_equal(b->ops->kind, BACKEND_CGROUP2);
        /* nothing was passed over */
        assert_null(err);
}

static void test_auto_cgroup1_host(void **state) {
        struct host *h = *state;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        /* the hybrid host's unified tree has no memory controller: cgroup1 it is, and it says why */
        host_open(h);
        fake_arm(h->s);
        assert_int_equal(backend_open(h->s, BACKEND_AUTO, &job_config, &b, &err), 0);
        assert_int_equal(b->ops->kind, BACKEND_CGROUP1);
        assert_contains(err, "cgroup2: ");
        assert_contains(err, "/sys/fs/cgroup/unified/user.slice/test has no memory controller");
        assert_null(strstr(err, "cgroup1:"));
}

static void test_auto_procfs_host(void **state) {
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        _cleanup_(backend_freep) struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        assert_int_equal(sysroot_open(PROCFS_HOST, &s), 0);
        assert_int_equal(backend_open(s, BACKEND_AUTO, &job_config, &b, &err), 0);
        assert_int_equal(b->ops->kind, BACKEND_PROCFS);
        /* "memguard run" tells the user it fell back, and what a cgroup would have needed */
        assert_contains(err, "cgroup2: no cgroup2 filesystem under /sys/fs/cgroup");
        assert_contains(err, "cgroup1: no cgroup v1 memory controller under /sys/fs/cgroup");
        assert_null(strstr(err, "procfs"));
}

static void test_auto_nothing_works(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;

        /* not even the supervisor can be read: all three explain themselves */
        host_remove(h, "proc/100");
        host_open(h);
        assert_true(backend_open(h->s, BACKEND_AUTO, &job_config, &b, &err) < 0);
        assert_null(b);
        assert_contains(err, "cgroup2: ");
        assert_contains(err, "cgroup1: ");
        assert_contains(err, "procfs: ");
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

/* ---- the procfs backend ---------------------------------------------------------------------------- */

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
        assert_backend_pids(b, (const pid_t[]) { 101, 102, 103, 104 }, 4);

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
        assert_backend_pids(b, (const pid_t[]) { 102, 104 }, 2);
        b = backend_free(b);

        config.supervisor_pid = 102;
        assert_int_equal(backend_open(s, BACKEND_PROCFS, &config, &b, NULL), 0);
        assert_backend_pids(b, NULL, 0);
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
        assert_backend_pids(b, (const pid_t[]) { UNREACHABLE_PID }, 1);

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
        assert_pids(pids, n, (const pid_t[]) { 101, 102, 104 }, 3);

        /* once the root has exited, what it left is still the job */
        host_remove(h, "proc/101");
        assert_backend_pids(b, (const pid_t[]) { 102, 104 }, 2);

        /* a root that is not there cannot be supervised */
        b = backend_free(b);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &config, &b, NULL), -ENOENT);
}

static void test_procfs_backend_errors(void **state) {
        struct host *h = *state;
        struct backend *b = NULL;
        _cleanup_str_ char *err = NULL;
        struct backend_config config = { .supervisor_pid = 555 };

        host_open(h);
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &config, &b, &err), -ENOENT);
        assert_null(b);
        assert_contains(err, "/proc/555/stat");

        /* no self-pid file and no supervisor: nothing to walk from */
        sysroot_free(h->s);
        h->s = NULL;
        host_remove(h, "self-pid");
        host_open(h);
        assert_int_equal(h->s->self_pid, 0);
        free(err);
        err = NULL;
        assert_int_equal(backend_open(h->s, BACKEND_PROCFS, &job_config, &b, &err), -EINVAL);
        assert_contains(err, "no supervisor pid");
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
        assert_pids(pids, n, (const pid_t[]) { 101, 102, 103, 104 }, 4);

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
                cmocka_unit_test(test_parse_proc_cgroup),
                cmocka_unit_test(test_parse_proc_cgroup_garbage),
                cmocka_unit_test(test_parse_mountinfo),
                cmocka_unit_test(test_parse_mountinfo_escapes),
                cmocka_unit_test(test_parse_mountinfo_garbage),
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_parse_keyed),
                cmocka_unit_test(test_pread_counters),
                cmocka_unit_test(test_join),
                cmocka_unit_test(test_list_has),
                cmocka_unit_test(test_read_pids),
                cmocka_unit_test(test_read_pids_overflow),
                cmocka_unit_test(test_pid_in),
                cmocka_unit_test(test_layout),
                cmocka_unit_test_setup_teardown(test_layout_mount_elsewhere, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_memory_controller, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_mount, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_layout, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_group_exists, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_interface_files, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_enables_memory, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_open, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_keep, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_parent_path, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_adopt, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_adopt_errors, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_at_root, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_sample, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_no_peak, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_pids_kill, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_attach, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_attach, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_slow_counters, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_job_sample_totals, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup2_job_sample, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_open, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_parent_path, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_adopt, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_sample, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_pure_v1, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_unified_unusable, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_no_memory_hierarchy, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_cgroup1_mount_root, setup_cgroup1_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_auto_cgroup2_host, setup_cgroup2_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_auto_cgroup1_host, setup_cgroup1_host, host_teardown),
                cmocka_unit_test(test_auto_procfs_host),
                cmocka_unit_test_setup_teardown(test_auto_nothing_works, setup_procfs_host, host_teardown),
                cmocka_unit_test(test_kind_strings),
                cmocka_unit_test(test_procfs_backend),
                cmocka_unit_test_setup_teardown(test_procfs_backend_kill, setup_procfs_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_procfs_backend_root_pid, setup_procfs_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_procfs_backend_errors, setup_procfs_host, host_teardown),
                cmocka_unit_test_setup_teardown(test_procfs_vanished, setup_procfs_host, host_teardown),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
