/* SPDX-License-Identifier: MIT */
/* The cgroup parsers (lib/cgroup.h): the text as /proc/PID/mountinfo and /proc/PID/cgroup (whose paths
 * any user with a cgroup of their own can name), as memory.events, memory.stat and cgroup.events, as a
 * one-number file, a controller list and cgroup.procs; the last three also through a kept-open
 * file, as the sampling reads them. Then the paths found are joined the way the layout joins them. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgroup.h"
#include "fuzz.h"
#include "macro.h"

/* One file stands for every kept-open counter: created once, rewritten for each input. */
static int fuzz_cgroup_fd(const uint8_t *data, size_t size) {
        static int fd = -1;
        if (fd < 0)
                fd = memfd_create("fuzz-cgroup", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t) size)
                return -1;
        return fd;
}

static void fuzz_cgroup_joins(const char *mount, const char *root, const char *path) {
        _cleanup_free_ char *dir = cgroup_dir(mount, root, path, "job-1");
        if (dir) {
                size_t n = strlen(dir);
                fuzz_assert(n == 0 || dir[n - 1] != '/');
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_text(data, size);
        if (!s)
                return 0;

        _cleanup_free_ char *v2_path = NULL, *v1_path = NULL;
        int r = cgroup_parse_proc_cgroup(s, &v2_path, &v1_path);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ENOMEM);
        fuzz_assert(!v2_path || v2_path[0] == '/');
        fuzz_assert(!v1_path || v1_path[0] == '/');

        _cleanup_free_ char *v2_mount = NULL, *v2_root = NULL, *v1_mount = NULL, *v1_root = NULL;
        (void) cgroup_parse_mountinfo_roots(s, &v2_mount, &v2_root, &v1_mount, &v1_root);
        fuzz_cgroup_joins(v2_mount, v2_root, v2_path);
        fuzz_cgroup_joins(v1_mount, v1_root, v1_path);
        _cleanup_free_ char *m2 = NULL, *m1 = NULL;
        (void) cgroup_parse_mountinfo(s, &m2, &m1);

        uint64_t v;
        (void) cgroup_parse_u64(s, &v);
        (void) cgroup_list_has(s, "memory");
        static const char *const keys[] = { "oom_kill", "oom", "max", "high", "anon", "file", "populated",
                                            "frozen", "total_rss", "under_oom" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                r = cgroup_parse_keyed(s, keys[i], &v);
                fuzz_assert(r == 0 || r == -ENOENT || r == -EINVAL || r == -ERANGE);
        }

        int fd = fuzz_cgroup_fd(data, size);
        if (fd >= 0) {
                (void) cgroup_pread_u64(fd, &v);
                (void) cgroup_pread_keyed(fd, "anon", &v);
                _cleanup_free_ pid_t *pids = NULL;
                size_t n;
                if (cgroup_reread_pids(fd, &pids, &n) == 0)
                        for (size_t i = 0; i < n; i++)
                                fuzz_assert(pids[i] > 0);
        }
        return 0;
}
