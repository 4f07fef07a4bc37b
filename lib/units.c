/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "units.h"

/* Fraction digits past this many are checked but dropped: 1e-15 of a TiB is far below a byte, and
 * 100 * 10^15 still leaves headroom in units_mul_div(). */
#define UNITS_FRAC_DIGITS_MAX 15

/* A decimal number as written, kept exact: ip + frac / frac_den. Doubles would round "0.1G" and
 * strtod() would bring the locale, exponents, hex, "inf" and leading blanks along. */
struct units_number {
        uint64_t ip;
        uint64_t frac;
        uint64_t frac_den;      /* 10^digits kept, 1 when there is no fraction */
        bool overflow;          /* ip did not fit: reported as -ERANGE once the syntax is known good */
};

static bool units_is_digit(char c) {
        return c >= '0' && c <= '9';
}

static char units_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* Reads [0-9]*(\.[0-9]+)? with at least one digit before or after the dot; *p is left on the first
 * byte after the number. A sign, blank, "0x" or exponent is never a number here, so the suffix check
 * that follows rejects them. */
static int units_parse_number(const char **p, struct units_number *ret) {
        const char *s = *p;
        struct units_number n = { .frac_den = 1 };
        unsigned ndigits = 0;

        for (; units_is_digit(*s); s++, ndigits++) {
                if (n.overflow)
                        continue;
                if (__builtin_mul_overflow(n.ip, 10, &n.ip) ||
                    __builtin_add_overflow(n.ip, (uint64_t) (*s - '0'), &n.ip))
                        n.overflow = true;
        }

        if (*s == '.') {
                unsigned nfrac = 0;

                s++;
                for (; units_is_digit(*s); s++, nfrac++)
                        if (nfrac < UNITS_FRAC_DIGITS_MAX) {
                                n.frac = n.frac * 10 + (uint64_t) (*s - '0');
                                n.frac_den *= 10;
                        }
                /* "1." and "." look like typos more than numbers. */
                if (nfrac == 0)
                        return -EINVAL;
                ndigits += nfrac;
        }

        if (ndigits == 0)
                return -EINVAL;

        *p = s;
        *ret = n;
        return 0;
}

/* floor(a * b / d) without a 128-bit type, which 32-bit Debian ports lack: long multiplication bit by
 * bit, keeping the remainder below d. Needs b <= d and d < 2^62, so that 2r + b never overflows and
 * the result is at most a. */
static uint64_t units_mul_div(uint64_t a, uint64_t b, uint64_t d) {
        uint64_t q = 0, r = 0;

        for (int bit = 63; bit >= 0; bit--) {
                q <<= 1;
                r <<= 1;
                if ((a >> bit) & 1)
                        r += b;
                q += r / d;
                r %= d;
        }
        return q;
}

/* n * unit, or -ERANGE. */
static int units_scale(const struct units_number *n, uint64_t unit, uint64_t *ret) {
        uint64_t v, f;

        if (n->overflow)
                return -ERANGE;
        if (__builtin_mul_overflow(n->ip, unit, &v))
                return -ERANGE;
        /* frac < frac_den, so this part is below one unit and cannot overflow by itself. */
        f = n->frac == 0 ? 0 : units_mul_div(unit, n->frac, n->frac_den);
        if (__builtin_add_overflow(v, f, &v))
                return -ERANGE;
        *ret = v;
        return 0;
}

/* n / 100 of whole, for "80%"; -ERANGE above 100. */
static int units_percent_of(const struct units_number *n, uint64_t whole, uint64_t *ret) {
        if (n->overflow || n->ip > 100 || (n->ip == 100 && n->frac > 0))
                return -ERANGE;
        *ret = units_mul_div(whole, n->ip * n->frac_den + n->frac, 100 * n->frac_den);
        return 0;
}

static int units_size_suffix(const char *p, uint64_t *ret_unit) {
        static const char prefixes[] = "kmgt";
        uint64_t unit = 1;
        const char *k;

        if (*p == 0) {
                /* The shell wrapper this replaces took plain numbers as megabytes. */
                *ret_unit = MIB;
                return 0;
        }

        k = strchr(prefixes, units_lower(*p));
        if (k && *k) {
                for (const char *i = prefixes; i <= k; i++)
                        unit *= KIB;
                p++;
                if (units_lower(*p) == 'i')
                        p++;
                else if (*p == 0) {
                        *ret_unit = unit;
                        return 0;
                }
        }

        /* Bare "B" means bytes; after a prefix "B" and "iB" are both decoration. */
        if (units_lower(p[0]) != 'b' || p[1] != 0)
                return -EINVAL;
        *ret_unit = unit;
        return 0;
}

int units_parse_size(const char *s, uint64_t total_ram_bytes, uint64_t *ret_bytes) {
        struct units_number n;
        uint64_t v, unit;
        const char *p = s;
        int r;

        if (!s || !ret_bytes)
                return -EINVAL;

        r = units_parse_number(&p, &n);
        if (r < 0)
                return r;

        if (p[0] == '%' && p[1] == 0)
                r = units_percent_of(&n, total_ram_bytes, &v);
        else {
                r = units_size_suffix(p, &unit);
                if (r < 0)
                        return r;
                r = units_scale(&n, unit, &v);
        }
        if (r < 0)
                return r;

        /* Also catches "0.1B" and a percentage of an unknown (zero) RAM size: still nothing. */
        if (v == 0)
                return -ERANGE;

        *ret_bytes = v;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} units_duration_table[] = {
        /* Longest first where one suffix starts another: "min" before "m", "ms" before "m". */
        { "min", 60 * USEC_PER_SEC },
        { "ms", USEC_PER_MSEC },
        { "us", 1 },
        { "s", USEC_PER_SEC },
        { "m", 60 * USEC_PER_SEC },
        { "h", 3600 * USEC_PER_SEC },
};

int units_parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0, prev_unit = UINT64_MAX;
        const char *p = s;
        bool overflow = false;
        unsigned parts = 0;

        if (!s || !ret_usec)
                return -EINVAL;

        /* One number with an optional unit, or several with units ("1h02m03s", which
         * units_format_duration() prints, reads back). Parts go from the largest unit down, each unit
         * once: "1s1h" or "1h1h" is a slip of the keyboard more likely than a sum anyone meant. */
        do {
                struct units_number n;
                uint64_t unit = 0, v;
                int r;

                r = units_parse_number(&p, &n);
                if (r < 0)
                        return r;

                for (size_t i = 0; i < ELEMENTSOF(units_duration_table); i++) {
                        size_t l = strlen(units_duration_table[i].suffix);

                        if (strncmp(p, units_duration_table[i].suffix, l) == 0) {
                                unit = units_duration_table[i].usec;
                                p += l;
                                break;
                        }
                }
                if (unit == 0) {
                        if (parts > 0 || *p != 0)
                                return -EINVAL;
                        unit = USEC_PER_SEC;
                }
                if (unit >= prev_unit)
                        return -EINVAL;
                prev_unit = unit;
                parts++;

                if (units_scale(&n, unit, &v) < 0 || __builtin_add_overflow(total, v, &total))
                        overflow = true;
        } while (*p != 0);

        if (overflow)
                return -ERANGE;

        *ret_usec = total;
        return 0;
}

int units_parse_ratio(const char *s, double *ret) {
        struct units_number n;
        const char *p = s;
        double v;
        int r;

        if (!s || !ret)
                return -EINVAL;

        r = units_parse_number(&p, &n);
        if (r < 0)
                return r;

        if (p[0] == '%' && p[1] == 0) {
                if (n.overflow || n.ip > 100)
                        return -ERANGE;
                v = (double) (n.ip * n.frac_den + n.frac) / (double) (100 * n.frac_den);
        } else if (*p == 0) {
                if (n.overflow || n.ip > 1)
                        return -ERANGE;
                v = (double) n.ip + (double) n.frac / (double) n.frac_den;
        } else
                return -EINVAL;

        if (!(v > 0.0 && v <= 1.0))
                return -ERANGE;

        *ret = v;
        return 0;
}

int units_parse_int(const char *s, int max, int *ret) {
        uint64_t v = 0;
        const char *p;

        if (!s || !ret || max < 0)
                return -EINVAL;
        if (*s == 0)
                return -EINVAL;

        for (p = s; *p; p++) {
                if (!units_is_digit(*p))
                        return -EINVAL;
                /* Keep scanning after the value is too big, so "99999999999x" is still garbage. */
                if (v <= (uint64_t) INT_MAX)
                        v = v * 10 + (uint64_t) (*p - '0');
        }

        if (v > (uint64_t) max)
                return -ERANGE;

        *ret = (int) v;
        return 0;
}

char *units_format_size(char buf[static UNITS_SIZE_MAX], uint64_t bytes) {
        static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        uint64_t unit = 1, q, tenths;
        size_t i = 0;

        while (i + 1 < ELEMENTSOF(names) && bytes / unit >= KIB) {
                unit *= KIB;
                i++;
        }

        if (i == 0) {
                snprintf(buf, UNITS_SIZE_MAX, "%" PRIu64 " B", bytes);
                return buf;
        }

        /* Round to one decimal; r * 10 stays below 10 * 2^60, so no overflow even for EiB. */
        q = bytes / unit;
        tenths = q * 10 + ((bytes % unit) * 10 + unit / 2) / unit;

        /* 1023.96 MiB rounds to "1024.0 MiB": say "1 GiB" instead. */
        if (tenths >= 10240 && i + 1 < ELEMENTSOF(names)) {
                tenths /= 1024;
                i++;
        }

        if (tenths % 10 == 0)
                snprintf(buf, UNITS_SIZE_MAX, "%" PRIu64 " %s", tenths / 10, names[i]);
        else
                snprintf(buf, UNITS_SIZE_MAX, "%" PRIu64 ".%" PRIu64 " %s", tenths / 10, tenths % 10,
                         names[i]);
        return buf;
}

/* "1", "1.5", "1.234": whole and up to three decimals with trailing zeros dropped. */
static void units_format_decimal(char *buf, size_t size, uint64_t whole, unsigned thousandths,
                                 const char *suffix) {
        if (thousandths == 0)
                snprintf(buf, size, "%" PRIu64 "%s", whole, suffix);
        else if (thousandths % 100 == 0)
                snprintf(buf, size, "%" PRIu64 ".%01u%s", whole, thousandths / 100, suffix);
        else if (thousandths % 10 == 0)
                snprintf(buf, size, "%" PRIu64 ".%02u%s", whole, thousandths / 10, suffix);
        else
                snprintf(buf, size, "%" PRIu64 ".%03u%s", whole, thousandths, suffix);
}

char *units_format_duration(char buf[static UNITS_DURATION_MAX], uint64_t usec) {
        const uint64_t usec_per_min = 60 * USEC_PER_SEC, usec_per_hour = 60 * usec_per_min;

        /* Every form below reads back through units_parse_duration(). Sub-unit digits are cut, not
         * rounded, so 59.9996s never shows as "60.000s". */
        if (usec == 0)
                snprintf(buf, UNITS_DURATION_MAX, "0s");
        else if (usec < USEC_PER_MSEC)
                snprintf(buf, UNITS_DURATION_MAX, "%" PRIu64 "us", usec);
        else if (usec < USEC_PER_SEC)
                units_format_decimal(buf, UNITS_DURATION_MAX, usec / USEC_PER_MSEC,
                                     (unsigned) (usec % USEC_PER_MSEC), "ms");
        else if (usec < usec_per_min)
                units_format_decimal(buf, UNITS_DURATION_MAX, usec / USEC_PER_SEC,
                                     (unsigned) (usec % USEC_PER_SEC / USEC_PER_MSEC), "s");
        else if (usec < usec_per_hour)
                snprintf(buf, UNITS_DURATION_MAX, "%" PRIu64 "m%02" PRIu64 "s", usec / usec_per_min,
                         usec % usec_per_min / USEC_PER_SEC);
        else
                snprintf(buf, UNITS_DURATION_MAX, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s",
                         usec / usec_per_hour, usec % usec_per_hour / usec_per_min,
                         usec % usec_per_min / USEC_PER_SEC);
        return buf;
}

char *units_format_size_exact(char buf[static UNITS_SIZE_MAX], uint64_t bytes) {
        static const struct {
                char suffix;
                uint64_t unit;
        } units[] = {
                { 'T', 1024 * GIB },
                { 'G', GIB },
                { 'M', MIB },
                { 'K', KIB },
        };

        if (bytes > 0)
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (bytes % units[i].unit == 0) {
                                snprintf(buf, UNITS_SIZE_MAX, "%" PRIu64 "%c", bytes / units[i].unit,
                                         units[i].suffix);
                                return buf;
                        }
        snprintf(buf, UNITS_SIZE_MAX, "%" PRIu64 "B", bytes);
        return buf;
}

char *units_format_duration_exact(char buf[static UNITS_DURATION_MAX], uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "h", 3600 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
        };

        if (usec == 0) {
                snprintf(buf, UNITS_DURATION_MAX, "0");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (usec % units[i].usec == 0) {
                        snprintf(buf, UNITS_DURATION_MAX, "%" PRIu64 "%s", usec / units[i].usec,
                                 units[i].suffix);
                        return buf;
                }
        snprintf(buf, UNITS_DURATION_MAX, "%" PRIu64 "us", usec);
        return buf;
}

/* Integer formatting only: printf("%f") would follow LC_NUMERIC and write "0,8" under some locales. */
char *units_format_ratio(char buf[static UNITS_RATIO_MAX], double v) {
        uint64_t scale = 1;

        for (int digits = 1; digits <= 15; digits++) {
                uint64_t n, whole, frac;
                double back;
                int len;

                scale *= 10;
                n = (uint64_t) (v * (double) scale + 0.5);
                whole = n / scale;
                frac = n % scale;
                len = snprintf(buf, UNITS_RATIO_MAX, "%" PRIu64 ".%0*" PRIu64, whole, digits, frac);
                /* Trailing zeros, then a bare dot, go. */
                while (len > 0 && buf[len - 1] == '0')
                        buf[--len] = 0;
                if (len > 0 && buf[len - 1] == '.')
                        buf[--len] = 0;
                if (units_parse_ratio(buf, &back) == 0 && back == v)
                        return buf;
        }
        return buf;
}
