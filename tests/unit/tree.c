/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "tree.h"

static void tree_closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static int tree_copy(int from, int to) {
        int fd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_(tree_closedirp) DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                struct stat st;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode)) {
                        /* The system call itself: the fake cgroupfs (fakecg.c) stands in for mkdirat(). */
                        if (syscall(SYS_mkdirat, to, de->d_name, 0755) < 0)
                                return -errno;
                        _cleanup_close_ int src = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        _cleanup_close_ int dst = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (src < 0 || dst < 0)
                                return -errno;
                        int r = tree_copy(src, dst);
                        if (r < 0)
                                return r;
                } else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                        if (n < 0)
                                return -errno;
                        target[n] = 0;
                        if (symlinkat(target, to, de->d_name) < 0)
                                return -errno;
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int src = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
                        _cleanup_close_ int dst = openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                                         0644);
                        if (src < 0 || dst < 0)
                                return -errno;
                        char buf[4096];
                        ssize_t k;
                        while ((k = read(src, buf, sizeof(buf))) > 0)
                                if (write(dst, buf, (size_t) k) != k)
                                        return -EIO;
                        if (k < 0)
                                return -errno;
                }
        }
        return 0;
}

static int tree_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

int tree_remove(const char *path) {
        return nftw(path, tree_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tree_clone(const char *fixture, const char *tag, char *path, size_t size) {
        const char *tmp = getenv("TMPDIR");
        if (snprintf(path, size, "%s/%s.XXXXXX", tmp ? tmp : "/tmp", tag) >= (int) size)
                return -ENAMETOOLONG;
        if (!mkdtemp(path))
                return -errno;
        _cleanup_close_ int from = open(fixture, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int to = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = from < 0 || to < 0 ? -errno : tree_copy(from, to);
        if (r < 0) {
                tree_remove(path);
                return r;
        }
        return 0;
}
