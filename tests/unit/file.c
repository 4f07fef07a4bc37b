/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "file.h"
#include "macro.h"
#include "sysroot.h"

/* Larger than any fixture or configuration a test reads back. */
#define FILE_READ_MAX (16 * 1024 * 1024)

char *file_read(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        char *text = NULL;
        assert_true(sysroot_read_fd(fd, &text, FILE_READ_MAX) >= 0);
        return text;
}

void file_write(const char *path, const void *data, size_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                fail_msg("cannot open %s: %m", path);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
}
