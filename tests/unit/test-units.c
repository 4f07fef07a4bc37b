/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "units.h"

#define TIB (GIB * 1024)

/* "80%" is taken of this in the size tables: 8 GiB, so percentages give round numbers. */
#define RAM (8 * GIB)

struct size_case {
        const char *in;
        int r;
        uint64_t bytes;
};

static const struct size_case size_cases[] = {
        /* plain numbers are MiB */
        { "4000", 0, 4000 * MIB },
        { "1", 0, MIB },
        { "0001", 0, MIB },
        { "1.5", 0, MIB + MIB / 2 },
        { ".5", 0, MIB / 2 },
        /* suffixes, any case, with or without B/iB */
        { "512M", 0, 512 * MIB },
        { "512m", 0, 512 * MIB },
        { "512MB", 0, 512 * MIB },
        { "512Mb", 0, 512 * MIB },
        { "512MiB", 0, 512 * MIB },
        { "512mib", 0, 512 * MIB },
        { "512MIB", 0, 512 * MIB },
        { "8G", 0, 8 * GIB },
        { "8g", 0, 8 * GIB },
        { "8GiB", 0, 8 * GIB },
        { "100K", 0, 100 * KIB },
        { "100k", 0, 100 * KIB },
        { "100KB", 0, 100 * KIB },
        { "100KiB", 0, 100 * KIB },
        { "123B", 0, 123 },
        { "123b", 0, 123 },
        { "2T", 0, 2 * TIB },
        { "2tib", 0, 2 * TIB },
        /* fractions, computed exactly and rounded down */
        { "1.5G", 0, GIB + GIB / 2 },
        { ".5G", 0, 512 * MIB },
        { "0.5K", 0, 512 },
        { "0.1G", 0, 107374182 },             /* 107374182.4 */
        { "1.25M", 0, MIB + MIB / 4 },
        { "1.0000000000000000000001G", 0, GIB }, /* digits past the 15th are dropped */
        { "1.5B", 0, 1 },
        /* percentages of RAM */
        { "80%", 0, 6871947673 },             /* 6871947673.6 */
        { "100%", 0, RAM },
        { "100.0%", 0, RAM },
        { "50%", 0, RAM / 2 },
        { "12.5%", 0, GIB },
        { "0.5%", 0, RAM / 200 },
        /* the edges of uint64_t */
        { "18446744073709551615B", 0, UINT64_MAX },
        { "16777215T", 0, 16777215 * TIB },
        { "17179869183G", 0, 17179869183 * GIB },

        /* garbage */
        { "", -EINVAL, 0 },
        { "4000x", -EINVAL, 0 },
        { "G", -EINVAL, 0 },
        { "B", -EINVAL, 0 },
        { "%", -EINVAL, 0 },
        { "--5", -EINVAL, 0 },
        { "-5", -EINVAL, 0 },
        { "-0", -EINVAL, 0 },
        { "-1G", -EINVAL, 0 },
        { "+5", -EINVAL, 0 },
        { " 12", -EINVAL, 0 },
        { "12 ", -EINVAL, 0 },
        { "12\n", -EINVAL, 0 },
        { "\t12", -EINVAL, 0 },
        { "5 G", -EINVAL, 0 },
        { "80 %", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "1E3", -EINVAL, 0 },
        { "1e3G", -EINVAL, 0 },
        { "nan", -EINVAL, 0 },
        { "NaN", -EINVAL, 0 },
        { "inf", -EINVAL, 0 },
        { "infinity", -EINVAL, 0 },
        { "0x10", -EINVAL, 0 },
        { "0x10M", -EINVAL, 0 },
        { "1.", -EINVAL, 0 },
        { "1.G", -EINVAL, 0 },
        { ".", -EINVAL, 0 },
        { ".G", -EINVAL, 0 },
        { "1..5G", -EINVAL, 0 },
        { "1.5.5G", -EINVAL, 0 },
        { "1,5G", -EINVAL, 0 },
        { "5GG", -EINVAL, 0 },
        { "5Gi", -EINVAL, 0 },
        { "5GiBB", -EINVAL, 0 },
        { "5GBi", -EINVAL, 0 },
        { "5iB", -EINVAL, 0 },
        { "5P", -EINVAL, 0 },
        { "5%%", -EINVAL, 0 },
        { "5%G", -EINVAL, 0 },
        { "5G%", -EINVAL, 0 },
        { "1G1M", -EINVAL, 0 },
        /* syntax is judged before size: garbage after a huge number is still garbage */
        { "99999999999999999999x", -EINVAL, 0 },
        /* parts go from the largest unit down, each unit once */
        { "1s1h", -EINVAL, 0 },
        { "1h1h", -EINVAL, 0 },
        { "1s1s", -EINVAL, 0 },
        { "30s1m", -EINVAL, 0 },
        { "1min2m", -EINVAL, 0 },
        { "1m2min", -EINVAL, 0 },
        { "1ms1s", -EINVAL, 0 },
        { "1us1ms", -EINVAL, 0 },
        { "1h30min1h", -EINVAL, 0 },
        { "5124095576h1h", -EINVAL, 0 },     /* garbage before range */

        /* zero: a limit of nothing */
        { "0", -ERANGE, 0 },
        { "0K", -ERANGE, 0 },
        { "0.0G", -ERANGE, 0 },
        { "0%", -ERANGE, 0 },
        { "0.4B", -ERANGE, 0 },
        /* overflow */
        { "99999999999999999999", -ERANGE, 0 },
        { "99999999999999999999B", -ERANGE, 0 },
        { "18446744073709551616B", -ERANGE, 0 },
        { "18446744073709551615G", -ERANGE, 0 },
        { "18446744073709551615K", -ERANGE, 0 },
        { "17179869184G", -ERANGE, 0 },       /* exactly 2^64 */
        { "16777216T", -ERANGE, 0 },
        /* more than all of it */
        { "101%", -ERANGE, 0 },
        { "100.5%", -ERANGE, 0 },
        { "100.000000001%", -ERANGE, 0 },
        { "99999999999999999999%", -ERANGE, 0 },
};

static void test_parse_size(_unused_ void **state) {
        for (size_t i = 0; i < ELEMENTSOF(size_cases); i++) {
                const struct size_case *c = &size_cases[i];
                uint64_t v = 0xdeadbeef;
                int r;

                r = units_parse_size(c->in, RAM, &v);
                if (r != c->r)
                        fail_msg("units_parse_size(\"%s\") = %d, expected %d", c->in, r, c->r);
                if (r == 0 && v != c->bytes)
                        fail_msg("units_parse_size(\"%s\") gave %" PRIu64 ", expected %" PRIu64, c->in, v,
                                 c->bytes);
                /* a failure leaves the output alone */
                if (r < 0 && v != 0xdeadbeef)
                        fail_msg("units_parse_size(\"%s\") wrote its output on failure", c->in);
        }
}

static void test_parse_size_percent_of_ram(_unused_ void **state) {
        uint64_t v;

        /* the percentage follows the RAM it is given */
        assert_int_equal(units_parse_size("50%", 1000, &v), 0);
        assert_int_equal(v, 500);
        assert_int_equal(units_parse_size("33.3%", 1000, &v), 0);
        assert_int_equal(v, 333);
        assert_int_equal(units_parse_size("100%", UINT64_MAX, &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(units_parse_size("50%", UINT64_MAX, &v), 0);
        assert_true(v == UINT64_MAX / 2);
        assert_int_equal(units_parse_size("80%", 24682416 * KIB, &v), 0);
        assert_true(v == 24682416 * KIB * 4 / 5);

        /* RAM unknown (0), or so small that the share rounds to nothing */
        assert_int_equal(units_parse_size("50%", 0, &v), -ERANGE);
        assert_int_equal(units_parse_size("1%", 99, &v), -ERANGE);
        assert_int_equal(units_parse_size("1%", 100, &v), 0);
        assert_int_equal(v, 1);

        /* the RAM does not matter for absolute sizes */
        assert_int_equal(units_parse_size("1G", 0, &v), 0);
        assert_true(v == GIB);
}

static void test_parse_size_null(_unused_ void **state) {
        uint64_t v;

        assert_int_equal(units_parse_size(NULL, RAM, &v), -EINVAL);
        assert_int_equal(units_parse_size("1G", RAM, NULL), -EINVAL);
}

struct duration_case {
        const char *in;
        int r;
        uint64_t usec;
};

static const struct duration_case duration_cases[] = {
        { "2", 0, 2 * USEC_PER_SEC },
        { "0", 0, 0 },
        { "0s", 0, 0 },
        { "0.0ms", 0, 0 },
        { "500ms", 0, 500 * USEC_PER_MSEC },
        { "2s", 0, 2 * USEC_PER_SEC },
        { "1.5s", 0, 1500 * USEC_PER_MSEC },
        { ".5s", 0, 500 * USEC_PER_MSEC },
        { "1.5", 0, 1500 * USEC_PER_MSEC },
        { "10us", 0, 10 },
        { "1.9us", 0, 1 },
        { "0.5ms", 0, 500 },
        { "1.234s", 0, 1234 * USEC_PER_MSEC },
        { "3m", 0, 180 * USEC_PER_SEC },
        { "3min", 0, 180 * USEC_PER_SEC },
        { "1.5m", 0, 90 * USEC_PER_SEC },
        { "1h", 0, 3600 * USEC_PER_SEC },
        { "1.5h", 0, 5400 * USEC_PER_SEC },
        { "90min", 0, 5400 * USEC_PER_SEC },
        { "0007s", 0, 7 * USEC_PER_SEC },
        /* what units_format_duration() prints reads back */
        { "1h02m03s", 0, 3723 * USEC_PER_SEC },
        { "1m30s", 0, 90 * USEC_PER_SEC },
        { "1h30min", 0, 5400 * USEC_PER_SEC },
        { "1s500ms", 0, 1500 * USEC_PER_MSEC },
        { "1h1m1s1ms1us", 0, 3661 * USEC_PER_SEC + 1001 },
        { "18446744073709551ms615us", 0, UINT64_MAX },
        { "18446744073709551615us", 0, UINT64_MAX },
        { "5124095576h", 0, 5124095576ULL * 3600 * USEC_PER_SEC },

        { "", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "-1s", -EINVAL, 0 },
        { "--5", -EINVAL, 0 },
        { "+1s", -EINVAL, 0 },
        { " 1", -EINVAL, 0 },
        { "1 ", -EINVAL, 0 },
        { "1 s", -EINVAL, 0 },
        { "1x", -EINVAL, 0 },
        { "s", -EINVAL, 0 },
        { "ms", -EINVAL, 0 },
        { "1S", -EINVAL, 0 },
        { "1H", -EINVAL, 0 },
        { "1sec", -EINVAL, 0 },
        { "1mi", -EINVAL, 0 },
        { "1d", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "1e3s", -EINVAL, 0 },
        { "inf", -EINVAL, 0 },
        { "nan", -EINVAL, 0 },
        { "0x10", -EINVAL, 0 },
        { "1.", -EINVAL, 0 },
        { "1.s", -EINVAL, 0 },
        { ".", -EINVAL, 0 },
        { "1h5", -EINVAL, 0 },       /* only a lone number may go without a unit */
        { "1h 5m", -EINVAL, 0 },
        { "1h-5m", -EINVAL, 0 },
        { "99999999999999999999x", -EINVAL, 0 },
        /* parts go from the largest unit down, each unit once */
        { "1s1h", -EINVAL, 0 },
        { "1h1h", -EINVAL, 0 },
        { "1s1s", -EINVAL, 0 },
        { "30s1m", -EINVAL, 0 },
        { "1min2m", -EINVAL, 0 },
        { "1m2min", -EINVAL, 0 },
        { "1ms1s", -EINVAL, 0 },
        { "1us1ms", -EINVAL, 0 },
        { "1h30min1h", -EINVAL, 0 },
        { "5124095576h1h", -EINVAL, 0 },     /* garbage before range */

        { "99999999999999999999", -ERANGE, 0 },
        { "18446744073709551615s", -ERANGE, 0 },
        { "18446744073709551616us", -ERANGE, 0 },
        { "5124095577h", -ERANGE, 0 },
        { "5124095576.1h", -ERANGE, 0 },     /* the fraction tips it over */
        { "5124095576h60min", -ERANGE, 0 },
        { "18446744073709551ms616us", -ERANGE, 0 },
};

static void test_parse_duration(_unused_ void **state) {
        for (size_t i = 0; i < ELEMENTSOF(duration_cases); i++) {
                const struct duration_case *c = &duration_cases[i];
                uint64_t v = 0xdeadbeef;
                int r;

                r = units_parse_duration(c->in, &v);
                if (r != c->r)
                        fail_msg("units_parse_duration(\"%s\") = %d, expected %d", c->in, r, c->r);
                if (r == 0 && v != c->usec)
                        fail_msg("units_parse_duration(\"%s\") gave %" PRIu64 ", expected %" PRIu64, c->in,
                                 v, c->usec);
                if (r < 0 && v != 0xdeadbeef)
                        fail_msg("units_parse_duration(\"%s\") wrote its output on failure", c->in);
        }

        assert_int_equal(units_parse_duration(NULL, &(uint64_t) { 0 }), -EINVAL);
        assert_int_equal(units_parse_duration("1s", NULL), -EINVAL);
}

struct ratio_case {
        const char *in;
        int r;
        double v;
};

static const struct ratio_case ratio_cases[] = {
        { "0.8", 0, 0.8 },
        { ".9", 0, 0.9 },
        { "1", 0, 1.0 },
        { "1.0", 0, 1.0 },
        { "1.000", 0, 1.0 },
        { "0.0001", 0, 0.0001 },
        { "80%", 0, 0.8 },
        { "100%", 0, 1.0 },
        { "12.5%", 0, 0.125 },
        { "0.5%", 0, 0.005 },

        { "", -EINVAL, 0 },
        { "-0.5", -EINVAL, 0 },
        { "+0.5", -EINVAL, 0 },
        { " 0.8", -EINVAL, 0 },
        { "0.8 ", -EINVAL, 0 },
        { "0.8x", -EINVAL, 0 },
        { "80 %", -EINVAL, 0 },
        { "80%%", -EINVAL, 0 },
        { "%", -EINVAL, 0 },
        { "abc", -EINVAL, 0 },
        { "1e-1", -EINVAL, 0 },
        { "8e-1", -EINVAL, 0 },
        { "nan", -EINVAL, 0 },
        { "inf", -EINVAL, 0 },
        { "0x1", -EINVAL, 0 },
        { "0,8", -EINVAL, 0 },
        { ".", -EINVAL, 0 },
        { "1.", -EINVAL, 0 },

        { "0", -ERANGE, 0 },
        { "0.0", -ERANGE, 0 },
        { "0%", -ERANGE, 0 },
        { "1.5", -ERANGE, 0 },
        { "1.0001", -ERANGE, 0 },
        { "2", -ERANGE, 0 },
        { "101%", -ERANGE, 0 },
        { "100.5%", -ERANGE, 0 },
        { "99999999999999999999", -ERANGE, 0 },
        { "99999999999999999999%", -ERANGE, 0 },
};

static void test_parse_ratio(_unused_ void **state) {
        for (size_t i = 0; i < ELEMENTSOF(ratio_cases); i++) {
                const struct ratio_case *c = &ratio_cases[i];
                double v = -1;
                int r;

                r = units_parse_ratio(c->in, &v);
                if (r != c->r)
                        fail_msg("units_parse_ratio(\"%s\") = %d, expected %d", c->in, r, c->r);
                /* the same double the compiler makes of the literal */
                if (r == 0 && v != c->v)
                        fail_msg("units_parse_ratio(\"%s\") gave %.17g, expected %.17g", c->in, v, c->v);
                if (r < 0 && v != -1)
                        fail_msg("units_parse_ratio(\"%s\") wrote its output on failure", c->in);
        }

        assert_int_equal(units_parse_ratio(NULL, &(double) { 0 }), -EINVAL);
        assert_int_equal(units_parse_ratio("0.5", NULL), -EINVAL);
}

struct int_case {
        const char *in;
        int max;
        int r;
        int v;
};

static const struct int_case int_cases[] = {
        { "0", 255, 0, 0 },
        { "137", 255, 0, 137 },
        { "255", 255, 0, 255 },
        { "007", 255, 0, 7 },
        { "2147483647", INT_MAX, 0, INT_MAX },
        { "0", 0, 0, 0 },

        { "", 255, -EINVAL, 0 },
        { "-1", 255, -EINVAL, 0 },
        { "-0", 255, -EINVAL, 0 },
        { "+1", 255, -EINVAL, 0 },
        { " 1", 255, -EINVAL, 0 },
        { "1 ", 255, -EINVAL, 0 },
        { "1\n", 255, -EINVAL, 0 },
        { "0x10", 255, -EINVAL, 0 },
        { "1.0", 255, -EINVAL, 0 },
        { "1e2", 255, -EINVAL, 0 },
        { "abc", 255, -EINVAL, 0 },
        { "99999999999999999999x", INT_MAX, -EINVAL, 0 },
        { "1", -1, -EINVAL, 0 },

        { "256", 255, -ERANGE, 0 },
        { "1", 0, -ERANGE, 0 },
        { "2147483648", INT_MAX, -ERANGE, 0 },
        { "4294967296", INT_MAX, -ERANGE, 0 },
        { "18446744073709551617", INT_MAX, -ERANGE, 0 },
        { "99999999999999999999999999999", INT_MAX, -ERANGE, 0 },
};

static void test_parse_int(_unused_ void **state) {
        for (size_t i = 0; i < ELEMENTSOF(int_cases); i++) {
                const struct int_case *c = &int_cases[i];
                int v = -42;
                int r;

                r = units_parse_int(c->in, c->max, &v);
                if (r != c->r)
                        fail_msg("units_parse_int(\"%s\", %d) = %d, expected %d", c->in, c->max, r, c->r);
                if (r == 0 && v != c->v)
                        fail_msg("units_parse_int(\"%s\", %d) gave %d, expected %d", c->in, c->max, v, c->v);
                if (r < 0 && v != -42)
                        fail_msg("units_parse_int(\"%s\") wrote its output on failure", c->in);
        }

        assert_int_equal(units_parse_int(NULL, 10, &(int) { 0 }), -EINVAL);
        assert_int_equal(units_parse_int("1", 10, NULL), -EINVAL);
}

static void test_format_size(_unused_ void **state) {
        static const struct {
                uint64_t bytes;
                const char *out;
        } cases[] = {
                { 0, "0 B" },
                { 12, "12 B" },
                { 1023, "1023 B" },
                { 1024, "1 KiB" },
                { 1536, "1.5 KiB" },
                { 900 * KIB, "900 KiB" },
                { 512 * MIB, "512 MiB" },
                { GIB + GIB / 2, "1.5 GiB" },
                { GIB + GIB / 4, "1.3 GiB" },         /* 1.25 rounds half up */
                { GIB + GIB / 100, "1 GiB" },         /* 1.01 */
                { GIB - 1, "1 GiB" },                 /* 1023.99 MiB would be "1024 MiB" */
                { GIB - 60 * MIB, "964 MiB" },
                { 4000 * MIB, "3.9 GiB" },
                { 2 * TIB, "2 TiB" },
                { TIB * 1024, "1 PiB" },
                { UINT64_MAX, "16 EiB" },
        };
        char buf[UNITS_SIZE_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_ptr_equal(units_format_size(buf, cases[i].bytes), buf);
                if (strcmp(buf, cases[i].out) != 0)
                        fail_msg("units_format_size(%" PRIu64 ") = \"%s\", expected \"%s\"", cases[i].bytes,
                                 buf, cases[i].out);
        }
}

static void test_format_duration(_unused_ void **state) {
        static const struct {
                uint64_t usec;
                const char *out;
        } cases[] = {
                { 0, "0s" },
                { 1, "1us" },
                { 999, "999us" },
                { 1000, "1ms" },
                { 1500, "1.5ms" },
                { 1999, "1.999ms" },
                { 20 * USEC_PER_MSEC, "20ms" },
                { 999999, "999.999ms" },
                { USEC_PER_SEC, "1s" },
                { 1234 * USEC_PER_MSEC, "1.234s" },
                { 1234567, "1.234s" },
                { 1250 * USEC_PER_MSEC, "1.25s" },
                { 2 * USEC_PER_SEC, "2s" },
                { 59999999, "59.999s" },              /* cut, never "60.000s" */
                { 60 * USEC_PER_SEC, "1m00s" },
                { 125 * USEC_PER_SEC, "2m05s" },
                { 3599 * USEC_PER_SEC, "59m59s" },
                { 3600 * USEC_PER_SEC, "1h00m00s" },
                { 3723 * USEC_PER_SEC, "1h02m03s" },
                { 100 * 3600 * USEC_PER_SEC, "100h00m00s" },
                { UINT64_MAX, "5124095576h01m49s" },
        };
        char buf[UNITS_DURATION_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_ptr_equal(units_format_duration(buf, cases[i].usec), buf);
                if (strcmp(buf, cases[i].out) != 0)
                        fail_msg("units_format_duration(%" PRIu64 ") = \"%s\", expected \"%s\"", cases[i].usec,
                                 buf, cases[i].out);
        }
}

static void test_duration_round_trip(_unused_ void **state) {
        /* values the printer shows exactly must come back unchanged */
        static const uint64_t values[] = {
                0, 1, 999, 1000, 1500, 20000, USEC_PER_SEC, 1234 * USEC_PER_MSEC, 59 * USEC_PER_SEC,
                61 * USEC_PER_SEC, 3723 * USEC_PER_SEC, 1000000 * USEC_PER_SEC,
        };
        char buf[UNITS_DURATION_MAX];

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                uint64_t v;

                units_format_duration(buf, values[i]);
                if (units_parse_duration(buf, &v) < 0 || v != values[i])
                        fail_msg("\"%s\" does not read back as %" PRIu64, buf, values[i]);
        }
}

static void test_size_round_trip(_unused_ void **state) {
        /* whole units print without a decimal, and the printed form parses back */
        static const uint64_t values[] = { 12, KIB, 900 * KIB, 512 * MIB, 3 * GIB, 2 * TIB, GIB + GIB / 2 };
        char buf[UNITS_SIZE_MAX];

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                char compact[UNITS_SIZE_MAX] = {};
                uint64_t v;
                size_t k = 0;

                units_format_size(buf, values[i]);
                /* the parser takes no blank between number and unit */
                for (const char *p = buf; *p; p++)
                        if (*p != ' ')
                                compact[k++] = *p;
                if (units_parse_size(compact, 0, &v) < 0 || v != values[i])
                        fail_msg("\"%s\" does not read back as %" PRIu64, buf, values[i]);
        }
}

/* The exact forms of a configuration file: the largest unit that divides, and back unchanged. */
static void test_format_size_exact(_unused_ void **state) {
        static const struct {
                uint64_t bytes;
                const char *out;
        } cases[] = {
                { 0, "0B" },
                { 1, "1B" },
                { 1000, "1000B" },
                { KIB, "1K" },
                { 3 * 512, "1536B" },
                { 512 * MIB, "512M" },
                { MIB + KIB, "1025K" },
                { 8 * GIB, "8G" },
                { 2 * TIB, "2T" },
                { 4096 * TIB, "4096T" },
                { UINT64_MAX, "18446744073709551615B" },
        };
        char buf[UNITS_SIZE_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v;

                assert_ptr_equal(units_format_size_exact(buf, cases[i].bytes), buf);
                if (strcmp(buf, cases[i].out) != 0)
                        fail_msg("units_format_size_exact(%" PRIu64 ") = \"%s\", expected \"%s\"", cases[i].bytes,
                                 buf, cases[i].out);
                if (cases[i].bytes > 0 && (units_parse_size(buf, 0, &v) < 0 || v != cases[i].bytes))
                        fail_msg("\"%s\" does not read back as %" PRIu64, buf, cases[i].bytes);
        }
}

static void test_format_duration_exact(_unused_ void **state) {
        static const struct {
                uint64_t usec;
                const char *out;
        } cases[] = {
                { 0, "0" },
                { 1, "1us" },
                { 1500, "1500us" },
                { USEC_PER_MSEC, "1ms" },
                { 500 * USEC_PER_MSEC, "500ms" },
                { 1500 * USEC_PER_MSEC, "1500ms" },
                { 10 * USEC_PER_SEC, "10s" },
                { 90 * USEC_PER_SEC, "90s" },
                { 120 * USEC_PER_SEC, "2min" },
                { 3600 * USEC_PER_SEC, "1h" },
                { 5400 * USEC_PER_SEC, "90min" },
                { UINT64_MAX, "18446744073709551615us" },
        };
        char buf[UNITS_DURATION_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v;

                assert_ptr_equal(units_format_duration_exact(buf, cases[i].usec), buf);
                if (strcmp(buf, cases[i].out) != 0)
                        fail_msg("units_format_duration_exact(%" PRIu64 ") = \"%s\", expected \"%s\"",
                                 cases[i].usec, buf, cases[i].out);
                if (units_parse_duration(buf, &v) < 0 || v != cases[i].usec)
                        fail_msg("\"%s\" does not read back as %" PRIu64, buf, cases[i].usec);
        }
}

static void test_format_ratio(_unused_ void **state) {
        static const struct {
                const char *in;
                const char *out;
        } cases[] = {
                { "0.8", "0.8" },
                { "80%", "0.8" },
                { "1", "1" },
                { "100%", "1" },
                { ".9", "0.9" },
                { "0.95", "0.95" },
                { "12.5%", "0.125" },
                { "0.0001", "0.0001" },
                { "0.123456789", "0.123456789" },
                { "33.3333%", "0.333333" },
        };
        char buf[UNITS_RATIO_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                double v, back;

                assert_int_equal(units_parse_ratio(cases[i].in, &v), 0);
                assert_ptr_equal(units_format_ratio(buf, v), buf);
                if (strcmp(buf, cases[i].out) != 0)
                        fail_msg("units_format_ratio(%s) = \"%s\", expected \"%s\"", cases[i].in, buf,
                                 cases[i].out);
                assert_int_equal(units_parse_ratio(buf, &back), 0);
                if (back != v)
                        fail_msg("\"%s\" does not read back as %.17g", buf, v);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_parse_size_percent_of_ram),
                cmocka_unit_test(test_parse_size_null),
                cmocka_unit_test(test_parse_duration),
                cmocka_unit_test(test_parse_ratio),
                cmocka_unit_test(test_parse_int),
                cmocka_unit_test(test_format_size),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_duration_round_trip),
                cmocka_unit_test(test_size_round_trip),
                cmocka_unit_test(test_format_size_exact),
                cmocka_unit_test(test_format_duration_exact),
                cmocka_unit_test(test_format_ratio),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
