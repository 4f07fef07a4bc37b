/* SPDX-License-Identifier: MIT */
/* What every fuzz harness shares. A harness is one file defining LLVMFuzzerTestOneInput(); it links
 * either with libFuzzer (./configure --enable-fuzz) or with replay.c, a plain main that feeds it the
 * files named on its command line, so the committed corpora are regression tests in every build.
 * A harness aborts when a parser breaks a promise of its header, not only when it crashes. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsers take C strings, as read from /proc or a file: the input as one, cut at a NUL like
 * sysroot_read_fd() would leave it. NULL on OOM. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (s) {
                memcpy(s, data, size);
                s[size] = '\0';
        }
        return s;
}

/* A broken promise: abort() is what both libFuzzer and the replay driver report as a failure. */
#define fuzz_assert(expr)                                                                         \
        do {                                                                                      \
                if (!(expr))                                                                      \
                        fuzz_fail(__FILE__, __LINE__, #expr);                                     \
        } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *expr);
