/* SPDX-License-Identifier: MIT */
/* A fixture host (one of the fixture hosts or proc-tree) on a private copy: tests that change a host
 * (rewrite counters, remove processes, make groups) work on their own, so the fixtures in the tree stay
 * as they are. Paths given to host_* are relative to the copy's root ("proc/101/stat"). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "sysroot.h"

struct host {
        char path[PATH_MAX];    /* the copy's root */
        struct sysroot *s;      /* host_open()'s sysroot on it, freed by host_teardown() */
};

/* cmocka setup and teardown: *state becomes a struct host on a copy of fixture, and goes away with it.
 * -1 when the copy cannot be made (cmocka runs no teardown then, so nothing is left behind). */
int host_setup(void **state, const char *fixture);
int host_teardown(void **state);

/* Opens the copy as a sysroot (h->s), which is never the live system. */
struct sysroot *host_open(struct host *h);

/* Rewrites a file of the copy in place (see file_write()). */
void host_write(struct host *h, const char *rel, const char *text);
void host_write_data(struct host *h, const char *rel, const void *data, size_t size);
/* A file of the copy as a string; NULL when it is not there. */
char *host_read(struct host *h, const char *rel);
bool host_exists(struct host *h, const char *rel);
/* Makes a directory in the copy (a plain one: no fake kernel fills it). */
void host_mkdir(struct host *h, const char *rel);
/* Removes a file or a directory tree of the copy. */
void host_remove(struct host *h, const char *rel);
/* The file is there and holds exactly expected. */
void host_assert_file(struct host *h, const char *rel, const char *expected);
