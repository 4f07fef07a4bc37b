/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fakecg.h"
#include "macro.h"

struct fakecg_file {
        const char *name;
        const char *content;
};

/* Files the code writes start empty: unlike the kernel, a plain file is not replaced by a write, and
 * the tests read back exactly what was written. */
static const struct fakecg_file fakecg_v2_files[] = {
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

static const struct fakecg_file fakecg_v1_files[] = {
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
static const struct fakecg_file fakecg_unified_files[] = {
        { "cgroup.procs", "" },
        { "cgroup.kill", "" },
        { "cgroup.freeze", "" },
        { "cgroup.events", "populated 0\nfrozen 0\n" },
        { "cgroup.controllers", "" },
};

static const struct fakecg_file fakecg_peak_file = { "memory.peak", "0\n" };

struct fakecg fakecg = { .cgroup_fd = -1 };

void fakecg_reset(void) {
        for (size_t i = 0; i < fakecg.n_created; i++)
                free(fakecg.created[i]);
        for (size_t i = 0; i < fakecg.n_removed; i++)
                free(fakecg.removed[i]);
        fakecg = (struct fakecg) { .cgroup_fd = -1 };
}

void fakecg_arm(const struct sysroot *s) {
        fakecg.cgroup_fd = s->cgroup_fd;
}

static void fakecg_populate_set(int dirfd, const char *dir, const struct fakecg_file *files, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
                _cleanup_close_ int fd = openat(dirfd, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                size_t len = strlen(files[i].content);
                if (fd < 0 || write(fd, files[i].content, len) != (ssize_t) len) {
                        if (!fakecg.error)
                                fakecg.error = errno ? errno : EIO;
                }
        }
}

static void fakecg_populate(int dirfd, const char *path) {
        if (fakecg.n_created < ELEMENTSOF(fakecg.created))
                fakecg.created[fakecg.n_created++] = strdup(path);

        if (strncmp(path, "memory/", 7) == 0)
                fakecg_populate_set(dirfd, path, fakecg_v1_files, ELEMENTSOF(fakecg_v1_files));
        else if (strncmp(path, "unified/", 8) == 0)
                fakecg_populate_set(dirfd, path, fakecg_unified_files, ELEMENTSOF(fakecg_unified_files));
        else {
                fakecg_populate_set(dirfd, path, fakecg_v2_files, ELEMENTSOF(fakecg_v2_files));
                if (!fakecg.no_peak)
                        fakecg_populate_set(dirfd, path, &fakecg_peak_file, 1);
        }
}

/* Not fakecg_-prefixed on purpose: this definition takes the place of the C library's for the engine. */
int mkdirat(int dirfd, const char *path, mode_t mode) {
        if (syscall(SYS_mkdirat, dirfd, path, mode) < 0)
                return -1;
        if (fakecg.cgroup_fd >= 0 && dirfd == fakecg.cgroup_fd)
                fakecg_populate(dirfd, path);
        return 0;
}

/* The interface files go with the group; anything else in it (a child group) makes rmdir fail. */
static void fakecg_depopulate_set(int dirfd, const char *dir, const struct fakecg_file *files, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
                (void) syscall(SYS_unlinkat, dirfd, p, 0);
        }
}

/* As mkdirat above. */
int unlinkat(int dirfd, const char *path, int flags) {
        if (fakecg.cgroup_fd >= 0 && dirfd == fakecg.cgroup_fd && (flags & AT_REMOVEDIR)) {
                if (fakecg.n_removed < ELEMENTSOF(fakecg.removed))
                        fakecg.removed[fakecg.n_removed++] = strdup(path);
                fakecg_depopulate_set(dirfd, path, fakecg_v2_files, ELEMENTSOF(fakecg_v2_files));
                fakecg_depopulate_set(dirfd, path, fakecg_v1_files, ELEMENTSOF(fakecg_v1_files));
                fakecg_depopulate_set(dirfd, path, &fakecg_peak_file, 1);
        }
        return syscall(SYS_unlinkat, dirfd, path, flags) < 0 ? -1 : 0;
}

static bool fakecg_listed(char *const *list, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (list[i] && strcmp(list[i], path) == 0)
                        return true;
        return false;
}

bool fakecg_created(const char *path) {
        return fakecg_listed(fakecg.created, fakecg.n_created, path);
}

bool fakecg_removed(const char *path) {
        return fakecg_listed(fakecg.removed, fakecg.n_removed, path);
}
