/* SPDX-License-Identifier: MIT */
/* The driver of a harness built without libFuzzer: runs LLVMFuzzerTestOneInput() once on each file
 * named, or on every file of each directory named, and says which file it is on first, so a crash
 * names its input. The same command line works on a libFuzzer build ("fuzz-x FILE..."). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"
#include "sysroot.h"

/* libFuzzer's default -max_len is smaller; a seed is never this big. */
#define REPLAY_INPUT_MAX (1024 * 1024)

static int replay_file(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        _cleanup_free_ char *buf = NULL;
        ssize_t n = sysroot_read_fd(fd, &buf, REPLAY_INPUT_MAX);
        close(fd);
        if (n < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror((int) -n));
                return (int) n;
        }
        fprintf(stderr, "Running: %s\n", path);
        LLVMFuzzerTestOneInput((const uint8_t *) buf, (size_t) n);
        return 0;
}

static int replay_path(const char *path, unsigned *count) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return replay_file(path);
        }
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        int r = 0;
        for (int i = 0; i < n; i++) {
                if (names[i]->d_name[0] != '.') {
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%s/%s", path, names[i]->d_name) < 0)
                                r = -ENOMEM;
                        else if (replay_path(p, count) < 0)
                                r = -EIO;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        unsigned count = 0;
        int r = 0;
        for (int i = 1; i < argc; i++)
                if (replay_path(argv[i], &count) < 0)
                        r = 1;
        fprintf(stderr, "Executed %u inputs\n", count);
        return r;
}
