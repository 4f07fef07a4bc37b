/* SPDX-License-Identifier: MIT */
/* Unit tests that change a fixture host (rewrite counters, remove processes) work on a private copy,
 * so the fixtures in the tree stay as they are. */
#pragma once

#include <stddef.h>

/* Copies the fixture directory into a new mkdtemp() directory named after tag under $TMPDIR; path
 * gets its name. 0 or -errno (nothing is left behind on failure). */
int tree_clone(const char *fixture, const char *tag, char *path, size_t size);

/* Removes a directory tree. 0 or -1. */
int tree_remove(const char *path);
