/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "macro.h"

void check_pids(const pid_t *got, size_t n, const pid_t *want, size_t n_want) {
        _cleanup_free_ pid_t *sorted = malloc(MAX(n, (size_t) 1) * sizeof(pid_t));
        assert_non_null(sorted);
        if (n > 0)
                memcpy(sorted, got, n * sizeof(pid_t));
        for (size_t i = 1; i < n; i++)
                for (size_t k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
                        pid_t t = sorted[k];
                        sorted[k] = sorted[k - 1];
                        sorted[k - 1] = t;
                }
        assert_int_equal(n, n_want);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(sorted[i], want[i]);
}

void check_backend_pids(struct backend *b, const pid_t *want, size_t n_want) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(backend_pids(b, &pids, &n), 0);
        check_pids(pids, n, want, n_want);
}

void check_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle))
                fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}
