/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "host.h"
#include "macro.h"
#include "tree.h"

int host_setup(void **state, const char *fixture) {
        struct host *h = calloc(1, sizeof(*h));
        *state = NULL;
        if (!h)
                return -1;
        /* Named after the test binary, so a copy left behind by a crash says whose it is. */
        if (tree_clone(fixture, program_invocation_short_name, h->path, sizeof(h->path)) < 0) {
                free(h);
                return -1;
        }
        *state = h;
        return 0;
}

int host_teardown(void **state) {
        struct host *h = *state;
        if (!h)
                return 0;
        sysroot_free(h->s);
        int r = h->path[0] ? tree_remove(h->path) : 0;
        free(h);
        *state = NULL;
        return r < 0 ? -1 : 0;
}

struct sysroot *host_open(struct host *h) {
        assert_null(h->s);
        assert_int_equal(sysroot_open(h->path, &h->s), 0);
        assert_false(sysroot_is_live(h->s));
        return h->s;
}

static void host_path(struct host *h, const char *rel, char *buf, size_t size) {
        if (snprintf(buf, size, "%s/%s", h->path, rel) >= (int) size)
                fail_msg("path too long: %s/%s", h->path, rel);
}

void host_write_data(struct host *h, const char *rel, const void *data, size_t size) {
        char p[PATH_MAX * 2];
        host_path(h, rel, p, sizeof(p));
        file_write(p, data, size);
}

void host_write(struct host *h, const char *rel, const char *text) {
        host_write_data(h, rel, text, strlen(text));
}

char *host_read(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        host_path(h, rel, p, sizeof(p));
        return file_read(p);
}

bool host_exists(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        host_path(h, rel, p, sizeof(p));
        return access(p, F_OK) == 0;
}

void host_mkdir(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        host_path(h, rel, p, sizeof(p));
        if (mkdir(p, 0755) < 0)
                fail_msg("cannot make %s: %m", p);
}

void host_remove(struct host *h, const char *rel) {
        char p[PATH_MAX * 2];
        host_path(h, rel, p, sizeof(p));
        assert_int_equal(tree_remove(p), 0);
}

void host_assert_file(struct host *h, const char *rel, const char *expected) {
        _cleanup_free_ char *text = host_read(h, rel);
        if (!text)
                fail_msg("%s: missing, expected \"%s\"", rel, expected);
        assert_string_equal(text, expected);
}
