/* SPDX-License-Identifier: MIT */
/* Assertions more than one unit test makes, with messages that say what differed. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "backend.h"

/* got holds exactly the pids of want (sorted ascending), in any order: the order of a pid list means
 * nothing. */
void check_pids(const pid_t *got, size_t n, const pid_t *want, size_t n_want);
/* backend_pids() succeeds with exactly want, as check_pids(). */
void check_backend_pids(struct backend *b, const pid_t *want, size_t n_want);
/* haystack is a string that contains needle. */
void check_contains(const char *haystack, const char *needle);
