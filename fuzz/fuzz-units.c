/* SPDX-License-Identifier: MIT */
/* Sizes, durations, ratios and counts as users write them (lib/units.h): the same text through every
 * parser, and the first bytes as a number through both printers. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_text(data, size);
        if (!s)
                return 0;

        /* Percentages are of a 16 GiB host, and of an empty one (a host whose meminfo was unreadable). */
        static const uint64_t rams[] = { UINT64_C(16) << 30, 0, UINT64_MAX };
        for (size_t i = 0; i < ELEMENTSOF(rams); i++) {
                uint64_t bytes = 0;
                int r = units_parse_size(s, rams[i], &bytes);
                fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
                fuzz_assert(r < 0 || bytes > 0);  /* zero is rejected: a limit of nothing is a typo */
        }

        uint64_t usec;
        int r = units_parse_duration(s, &usec);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);

        double ratio;
        r = units_parse_ratio(s, &ratio);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
        fuzz_assert(r < 0 || (ratio > 0 && ratio <= 1));

        int v;
        r = units_parse_int(s, 255, &v);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
        fuzz_assert(r < 0 || (v >= 0 && v <= 255));
        r = units_parse_int(s, INT_MAX, &v);
        fuzz_assert(r < 0 || v >= 0);

        uint64_t n = 0;
        memcpy(&n, data, MIN(size, sizeof(n)));
        char buf[MAX(UNITS_SIZE_MAX, UNITS_DURATION_MAX)];
        fuzz_assert(strnlen(units_format_size(buf, n), UNITS_SIZE_MAX) < UNITS_SIZE_MAX && buf[0]);
        fuzz_assert(strnlen(units_format_duration(buf, n), UNITS_DURATION_MAX) < UNITS_DURATION_MAX && buf[0]);
        return 0;
}
