/* SPDX-License-Identifier: MIT */
/* Parsing and printing of sizes, durations and ratios, as users write them on the command line and in
 * configuration files. Every parser returns 0 or -EINVAL / -ERANGE and never logs: the caller names
 * the argument or file:line in its message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A size: "4000" (megabytes, counted as MiB like the ps-based shell wrapper did), "512M", "8G", "1.5G",
 * "100K", "123B", "2T", "80%" (of total_ram_bytes). Suffixes are binary (K = 1024), case-insensitive,
 * with an optional "iB"/"B" ("512MiB", "512MB"). Zero is rejected: a limit of nothing is a typo.
 * -EINVAL for garbage, negatives, empty strings; -ERANGE for overflow or a percentage above 100. */
int units_parse_size(const char *s, uint64_t total_ram_bytes, uint64_t *ret_bytes);

/* A duration: "2" (seconds), "500ms", "2s", "1.5s", "10us", "3m", "1h", or parts from the largest
 * unit down, each unit once: "1h30min", "1m30s", "1h02m03s". Zero is allowed.
 * -EINVAL for garbage, negatives, repeated or out-of-order units; -ERANGE for overflow. */
int units_parse_duration(const char *s, uint64_t *ret_usec);

/* A ratio in (0, 1]: "0.8", ".9", "1", or a percentage "80%". */
int units_parse_ratio(const char *s, double *ret);

/* A non-negative integer that fits in an int ("--limit-exit-code 137"), at most max. */
int units_parse_int(const char *s, int max, int *ret);

/* Human-readable size with binary prefixes, "1.5 GiB", "512 MiB", "900 KiB", "12 B". Returns buf. */
#define UNITS_SIZE_MAX 32
char *units_format_size(char buf[static UNITS_SIZE_MAX], uint64_t bytes);

/* Human-readable duration: "1.234s", "20ms", "1h02m03s". Returns buf. */
#define UNITS_DURATION_MAX 32
char *units_format_duration(char buf[static UNITS_DURATION_MAX], uint64_t usec);

/* The exact forms a configuration file takes, each read back unchanged by its parser. */

/* A size in the largest unit that divides it: 536870912 is "512M", 1000 is "1000B", 0 is "0B". */
char *units_format_size_exact(char buf[static UNITS_SIZE_MAX], uint64_t bytes);

/* A duration in the largest unit that divides it: "10s", "500ms", "1500ms", "2min", "1h", "0". */
char *units_format_duration_exact(char buf[static UNITS_DURATION_MAX], uint64_t usec);

/* The shortest decimal that units_parse_ratio() reads back as exactly v: "0.8", "1", "0.123". */
#define UNITS_RATIO_MAX 24
char *units_format_ratio(char buf[static UNITS_RATIO_MAX], double v);
