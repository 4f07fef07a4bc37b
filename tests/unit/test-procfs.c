/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "macro.h"
#include "procfs.h"
#include "sysroot.h"

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

#define PROC_TREE FIXTURES "/proc-tree"

/* cmocka 1.1 prints a skipped test as "not ok N # SKIP", which the automake TAP driver counts as a
 * failure: pass with a comment instead. */
#define SKIP_TEST(why)                                  \
        do {                                            \
                print_message("# skipped: %s\n", why);  \
                return;                                 \
        } while (0)

/* The tail of a real stat line after the pgrp (field 5): session .. starttime is fields 6..22. */
#define STAT_MID " 12272 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 "
#define STAT_END " 3133440 385 18446744073709551615 94558994010112 0 17 0 0 0\n"

static void test_parse_stat_plain(_unused_ void **state) {
        struct procfs_stat st;

        assert_int_equal(procfs_parse_stat("14212 (cat) R 14210 14211" STAT_MID "52145" STAT_END, &st), 0);
        assert_int_equal(st.pid, 14212);
        assert_string_equal(st.comm, "cat");
        assert_int_equal(st.state, 'R');
        assert_int_equal(st.ppid, 14210);
        assert_int_equal(st.pgrp, 14211);
        assert_true(st.starttime == 52145);

        /* starttime as the last field, without a newline (the file was cut right after it) */
        assert_int_equal(procfs_parse_stat("7 (a) S 1 7" STAT_MID "18446744073709551615", &st), 0);
        assert_true(st.starttime == UINT64_MAX);

        /* the kernel's own roots have ppid and pgrp 0 */
        assert_int_equal(procfs_parse_stat("2 (kthreadd) S 0 0" STAT_MID "11" STAT_END, &st), 0);
        assert_int_equal(st.ppid, 0);
        assert_int_equal(st.pgrp, 0);
}

static void test_parse_stat_hostile_comm(_unused_ void **state) {
        static const struct {
                const char *text;
                const char *comm;
        } cases[] = {
                { "1000 (a) R 1 () S 42 43" STAT_MID "99" STAT_END, "a) R 1 (" },
                { "1000 (x y) S 42 43" STAT_MID "99" STAT_END, "x y" },
                { "1000 () ) )) S 42 43" STAT_MID "99" STAT_END, ") ) )" },
                { "1000 (((() S 42 43" STAT_MID "99" STAT_END, "(((" },
                { "1000 (new\nline) S 42 43" STAT_MID "99" STAT_END, "new\nline" },
                { "1000 () S 42 43" STAT_MID "99" STAT_END, "" },
                { "1000 (\t\\\x1b) S 42 43" STAT_MID "99" STAT_END, "\t\\\x1b" },
                /* a comm that looks like the rest of a stat line, fields and all */
                { "1000 (x) Z 1 1" STAT_MID "1) S 42 43" STAT_MID "99" STAT_END,
                  "x) Z 1 1" STAT_MID "1" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct procfs_stat st;
                int r;

                r = procfs_parse_stat(cases[i].text, &st);
                if (r != 0)
                        fail_msg("case %zu: procfs_parse_stat() = %d", i, r);
                if (strcmp(st.comm, cases[i].comm) != 0)
                        fail_msg("case %zu: comm \"%s\", expected \"%s\"", i, st.comm, cases[i].comm);
                assert_int_equal(st.pid, 1000);
                assert_int_equal(st.state, 'S');
                assert_int_equal(st.ppid, 42);
                assert_int_equal(st.pgrp, 43);
                assert_true(st.starttime == 99);
        }
}

static void test_parse_stat_long_comm(_unused_ void **state) {
        char text[512], comm[200];
        struct procfs_stat st;

        memset(comm, 'c', sizeof(comm) - 1);
        comm[sizeof(comm) - 1] = 0;
        snprintf(text, sizeof(text), "5 (%s) S 1 5" STAT_MID "9" STAT_END, comm);

        assert_int_equal(procfs_parse_stat(text, &st), 0);
        assert_int_equal(strlen(st.comm), PROCFS_COMM_MAX - 1);
        assert_memory_equal(st.comm, comm, PROCFS_COMM_MAX - 1);
        assert_int_equal(st.ppid, 1);
}

static void test_parse_stat_malformed(_unused_ void **state) {
        static const char *const bad[] = {
                "",
                "\n",
                "garbage\n",
                "123",
                "123 (bash",                                   /* truncated: no ')' at all */
                "123 (bash S 1 123" STAT_MID "9" STAT_END,      /* no ')' */
                "123 bash) S 1 123" STAT_MID "9" STAT_END,      /* no '(' */
                "123 )bash( S 1 123" STAT_MID "9" STAT_END,     /* the wrong way round */
                "123 (a) R 1 (",                               /* hostile comm, cut short */
                "123 (bash)",
                "123 (bash) ",
                "123 (bash) S",
                "123 (bash) S 1",
                "123 (bash) S 1 123",
                "123 (bash) S 1 123 12272 0 -1",                /* missing fields */
                "123 (bash) S 1 123" STAT_MID,                  /* everything but starttime */
                "123 (bash) S 1 123" STAT_MID "\n",
                "(bash) S 1 123" STAT_MID "9" STAT_END,         /* no pid */
                " (bash) S 1 123" STAT_MID "9" STAT_END,
                "123(bash) S 1 123" STAT_MID "9" STAT_END,
                "abc (bash) S 1 123" STAT_MID "9" STAT_END,
                "-5 (bash) S 1 123" STAT_MID "9" STAT_END,
                "0 (bash) S 1 123" STAT_MID "9" STAT_END,
                "99999999999 (bash) S 1 123" STAT_MID "9" STAT_END,
                "12 3 (bash) S 1 123" STAT_MID "9" STAT_END,
                "123 (bash)S 1 123" STAT_MID "9" STAT_END,      /* no blank after ')' */
                "123 (bash)  S 1 123" STAT_MID "9" STAT_END,    /* an empty field */
                "123 (bash) SS 1 123" STAT_MID "9" STAT_END,    /* a state of two letters */
                "123 (bash) S x 123" STAT_MID "9" STAT_END,     /* bad ppid */
                "123 (bash) S -1 123" STAT_MID "9" STAT_END,
                "123 (bash) S 1 1x" STAT_MID "9" STAT_END,      /* bad pgrp */
                "123 (bash) S 1 123" STAT_MID "9x" STAT_END,    /* bad starttime */
                "123 (bash) S 1 123" STAT_MID "-9" STAT_END,
                "123 (bash) S 1 123" STAT_MID "99999999999999999999" STAT_END,
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct procfs_stat st = { .pid = -7 };
                int r;

                r = procfs_parse_stat(bad[i], &st);
                if (r != -EINVAL)
                        fail_msg("procfs_parse_stat(\"%s\") = %d, expected -EINVAL", bad[i], r);
                assert_int_equal(st.pid, -7);
        }

        assert_int_equal(procfs_parse_stat(NULL, &(struct procfs_stat) {}), -EINVAL);
}

#define STATUS_HEAD "Umask:\t0022\nState:\tS (sleeping)\nTgid:\t77\nNgid:\t0\nPid:\t77\n"
#define STATUS_IDS "TracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\nFDSize:\t64\nGroups:\t \n"
#define STATUS_VM                                                                           \
        "VmPeak:\t    9000 kB\nVmSize:\t    8000 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n" \
        "VmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\nRssAnon:\t     112 kB\nVmSwap:\t       0 kB\n"
#define STATUS_TAIL "Threads:\t1\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t0\n"

static void test_parse_status(_unused_ void **state) {
        struct procfs_status st;

        assert_int_equal(procfs_parse_status("Name:\tbash\n" STATUS_HEAD "PPid:\t1\n" STATUS_IDS STATUS_VM STATUS_TAIL,
                                             &st), 0);
        assert_string_equal(st.name, "bash");
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.uid, 1000);  /* the real uid, not the effective 0 */
        assert_true(st.rss_kib == 4096);
        assert_true(st.hwm_kib == 5120);
        assert_true(st.has_vm);

        /* a zombie or kernel thread: no Vm lines at all */
        assert_int_equal(procfs_parse_status("Name:\tcc1\n" STATUS_HEAD "PPid:\t102\n" STATUS_IDS STATUS_TAIL, &st), 0);
        assert_string_equal(st.name, "cc1");
        assert_int_equal(st.ppid, 102);
        assert_false(st.has_vm);
        assert_true(st.rss_kib == 0);
        assert_true(st.hwm_kib == 0);

        /* no Uid: line: unknown, never root */
        assert_int_equal(procfs_parse_status("Name:\tx\nPPid:\t0\n", &st), 0);
        assert_int_equal(st.uid, (uid_t) -1);
        assert_int_equal(st.ppid, 0);
        assert_false(st.has_vm);

        /* the last line without its newline */
        assert_int_equal(procfs_parse_status("Name:\tx\nPPid:\t5\nVmRSS:\t  12 kB", &st), 0);
        assert_true(st.has_vm);
        assert_true(st.rss_kib == 12);
}

static void test_parse_status_names(_unused_ void **state) {
        static const struct {
                const char *field;
                const char *name;
        } cases[] = {
                { "bash", "bash" },
                { "", "" },
                { "x y", "x y" },
                { "tab\there", "tab\there" },             /* the kernel leaves tabs alone */
                { "a\\nb", "a\nb" },
                { "a\\\\b", "a\\b" },
                { "a\\\\nb", "a\\nb" },                   /* an escaped backslash, then a plain n */
                { "\\\\\\n", "\\\n" },
                { "end\\", "end\\" },                     /* a lone backslash at the end, as is */
                { "a\\tb", "a\\tb" },                     /* not a kernel escape: left as is */
                { "a) R 1 (", "a) R 1 (" },
                /* a name that tries to smuggle in a line of its own */
                { "evil\\nPPid:\t999\\nVmRSS:\t1 kB", "evil\nPPid:\t999\nVmRSS:\t1 kB" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char text[512];
                struct procfs_status st;
                int r;

                snprintf(text, sizeof(text), "Name:\t%s\n" STATUS_HEAD "PPid:\t42\n" STATUS_IDS STATUS_TAIL,
                         cases[i].field);
                r = procfs_parse_status(text, &st);
                if (r != 0)
                        fail_msg("case %zu: procfs_parse_status() = %d", i, r);
                if (strcmp(st.name, cases[i].name) != 0)
                        fail_msg("case %zu: name \"%s\", expected \"%s\"", i, st.name, cases[i].name);
                assert_int_equal(st.ppid, 42);
                assert_false(st.has_vm);
        }
}

static void test_parse_status_long_name(_unused_ void **state) {
        char text[512], name[200];
        struct procfs_status st;

        /* escapes near the cut must not run past the buffer */
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        memcpy(name + PROCFS_COMM_MAX - 3, "\\\\\\n", 4);
        snprintf(text, sizeof(text), "Name:\t%s\nPPid:\t1\n", name);

        assert_int_equal(procfs_parse_status(text, &st), 0);
        assert_int_equal(strlen(st.name), PROCFS_COMM_MAX - 1);
        assert_int_equal(st.name[PROCFS_COMM_MAX - 3], '\\');
        assert_int_equal(st.name[PROCFS_COMM_MAX - 2], '\n');
}

static void test_parse_status_malformed(_unused_ void **state) {
        static const char *const bad[] = {
                "",
                "garbage",
                STATUS_HEAD "PPid:\t1\n" STATUS_IDS,                      /* no Name */
                "Name:\tbash\n" STATUS_HEAD STATUS_IDS STATUS_VM,         /* no PPid */
                "PPid:\t1\n",
                "Name:\tbash\nPPid:\n",
                "Name:\tbash\nPPid:\tabc\n",
                "Name:\tbash\nPPid:\t-1\n",
                "Name:\tbash\nPPid:\t1x\n",
                "Name:\tbash\nPPid:\t99999999999\n",
                "Name:\tbash\nPPid:\t1\nUid:\tabc\t0\t0\t0\n",
                "Name:\tbash\nPPid:\t1\nUid:\t\n",
                "Name:\tbash\nPPid:\t1\nUid:\t4294967295\t0\t0\t0\n",
                "Name:\tbash\nPPid:\t1\nVmRSS:\t   abc kB\n",
                "Name:\tbash\nPPid:\t1\nVmRSS:\t    12 MB\n",
                "Name:\tbash\nPPid:\t1\nVmRSS:\t    12 kB trailing\n",
                "Name:\tbash\nPPid:\t1\nVmRSS:\t\n",
                "Name:\tbash\nPPid:\t1\nVmRSS:\t-12 kB\n",
                "Name:\tbash\nPPid:\t1\nVmHWM:\t1x kB\n",
                "Name:\tbash\nPPid:\t1\nVmRSS:\t99999999999999999999999 kB\n",
                /* the names only count at the start of a line */
                "XName:\tbash\nPPid:\t1\n",
                "Name:\tbash\n PPid:\t1\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct procfs_status st = { .ppid = -7 };
                int r;

                r = procfs_parse_status(bad[i], &st);
                if (r != -EINVAL)
                        fail_msg("procfs_parse_status(\"%s\") = %d, expected -EINVAL", bad[i], r);
                assert_int_equal(st.ppid, -7);
        }

        assert_int_equal(procfs_parse_status(NULL, &(struct procfs_status) {}), -EINVAL);
}

static void test_parse_statm(_unused_ void **state) {
        static const struct {
                const char *text;
                int r;
                uint64_t pages;
        } cases[] = {
                { "765 428 400 5 0 123 0\n", 0, 428 },
                { "765 428 400 5 0 123 0", 0, 428 },
                { "765 428\n", 0, 428 },
                { "765 428", 0, 428 },
                { "0 0 0 0 0 0 0\n", 0, 0 },
                { "1 18446744073709551615 0\n", 0, UINT64_MAX },

                { "", -EINVAL, 0 },
                { "\n", -EINVAL, 0 },
                { "garbage\n", -EINVAL, 0 },
                { "765\n", -EINVAL, 0 },
                { "765", -EINVAL, 0 },
                { "765 \n", -EINVAL, 0 },
                { "abc 428 400\n", -EINVAL, 0 },
                { "765 abc 400\n", -EINVAL, 0 },
                { "765 -4 400\n", -EINVAL, 0 },
                { "765 42x 400\n", -EINVAL, 0 },
                { " 765 428 400\n", -EINVAL, 0 },
                { "765  428 400\n", -EINVAL, 0 },
                { "765\t428\n", -EINVAL, 0 },
                { "-765 428\n", -EINVAL, 0 },
                { "1 18446744073709551616 0\n", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0xdeadbeef;
                int r;

                r = procfs_parse_statm(cases[i].text, &v);
                if (r != cases[i].r)
                        fail_msg("procfs_parse_statm(\"%s\") = %d, expected %d", cases[i].text, r, cases[i].r);
                if (r == 0 && v != cases[i].pages)
                        fail_msg("procfs_parse_statm(\"%s\") gave %ju", cases[i].text, (uintmax_t) v);
                if (r < 0 && v != 0xdeadbeef)
                        fail_msg("procfs_parse_statm(\"%s\") wrote its output on failure", cases[i].text);
        }
}

static void test_parse_meminfo(_unused_ void **state) {
        uint64_t total = 0, avail = 0;

        assert_int_equal(procfs_parse_meminfo("MemTotal:       24682416 kB\n"
                                              "MemFree:        24360704 kB\n"
                                              "MemAvailable:   24340508 kB\n"
                                              "Buffers:            3612 kB\n"
                                              "Cached:           150740 kB\n"
                                              "SwapCached:            0 kB\n"
                                              "HugePages_Total:       0\n"
                                              "Hugepagesize:       2048 kB\n",
                                              &total, &avail), 0);
        assert_true(total == 24682416ULL * 1024);
        assert_true(avail == 24340508ULL * 1024);

        /* only the total asked for */
        total = 0;
        assert_int_equal(procfs_parse_meminfo("MemTotal: 1000 kB\n", &total, NULL), 0);
        assert_true(total == 1000 * 1024);

        /* before 3.14 there is no MemAvailable: MemFree + Buffers + Cached, SwapCached not taken */
        assert_int_equal(procfs_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\n"
                                              "Cached: 3 kB\nSwapCached: 5000 kB\n",
                                              &total, &avail), 0);
        assert_true(avail == 123 * 1024);
        assert_int_equal(procfs_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nSwapCached: 7 kB\n", &total,
                                              &avail), 0);
        assert_true(avail == 100 * 1024);

        /* in any order */
        assert_int_equal(procfs_parse_meminfo("MemAvailable: 7 kB\nMemTotal: 9 kB", &total, &avail), 0);
        assert_true(total == 9 * 1024);
        assert_true(avail == 7 * 1024);
}

static void test_parse_meminfo_malformed(_unused_ void **state) {
        static const struct {
                const char *text;
                bool want_avail;
                int r;
        } cases[] = {
                { "", false, -EINVAL },
                { "garbage", false, -EINVAL },
                { "MemFree: 100 kB\nMemAvailable: 50 kB\n", false, -EINVAL },  /* no MemTotal */
                { "MemFree: 100 kB\nMemAvailable: 50 kB\n", true, -EINVAL },
                { "XMemTotal: 100 kB\n", false, -EINVAL },
                { "MemTotal: 0 kB\n", false, -EINVAL },
                { "MemTotal: abc kB\n", false, -EINVAL },
                { "MemTotal: 100 MB\n", false, -EINVAL },
                { "MemTotal: -100 kB\n", false, -EINVAL },
                { "MemTotal:\n", false, -EINVAL },
                { "MemTotal: 100 kB\nMemAvailable: x kB\n", true, -EINVAL },
                { "MemTotal: 100 kB\nMemAvailable: x kB\n", false, -EINVAL },
                { "MemTotal: 100 kB\n", true, -EINVAL },                       /* nothing to tell avail */
                { "MemTotal: 99999999999999999999999 kB\n", false, -EINVAL },
                { "MemTotal: 18014398509481984 kB\n", false, -ERANGE },        /* 2^64 bytes */
                { "MemTotal: 1 kB\nMemFree: 18446744073709551615 kB\nCached: 1 kB\n", true, -ERANGE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t total = 0, avail = 0;
                int r;

                r = procfs_parse_meminfo(cases[i].text, &total, cases[i].want_avail ? &avail : NULL);
                if (r != cases[i].r)
                        fail_msg("procfs_parse_meminfo(\"%s\") = %d, expected %d", cases[i].text, r, cases[i].r);
        }

        assert_int_equal(procfs_parse_meminfo(NULL, &(uint64_t) { 0 }, NULL), -EINVAL);
        assert_int_equal(procfs_parse_meminfo("MemTotal: 1 kB\n", NULL, NULL), -EINVAL);
}

static void test_cmdline_to_string(_unused_ void **state) {
        static const struct {
                const char *buf;
                size_t len;
                const char *out;
        } cases[] = {
                { "make\0-j8\0", 9, "make -j8" },
                { "make\0-j8", 8, "make -j8" },                         /* rewritten, no final NUL */
                { "a\0\0b\0", 5, "a  b" },                              /* an empty argument stays */
                { "\0", 1, "" },
                { "\0\0\0", 3, "" },
                { "", 0, "" },
                { "nginx: worker\0\0\0\0\0\0", 19, "nginx: worker" },    /* setproctitle padding */
                { "a\tb\nc\x1b[31m\x7f\0", 12, "a?b?c?[31m?" },
                { "\r\0\x01", 3, "? ?" },
                { "caf\xc3\xa9\0", 6, "caf\xc3\xa9" },                  /* UTF-8 is left to the terminal */
                { "a\0b\0", 2, "a" },                                   /* only len bytes count */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = procfs_cmdline_to_string(cases[i].buf, cases[i].len);

                assert_non_null(s);
                if (strcmp(s, cases[i].out) != 0)
                        fail_msg("case %zu: \"%s\", expected \"%s\"", i, s, cases[i].out);
        }

        _cleanup_free_ char *empty = procfs_cmdline_to_string(NULL, 0);
        assert_non_null(empty);
        assert_string_equal(empty, "");
}

#define _cleanup_sysroot_ _cleanup_(sysroot_freep)

static void test_read_fixture(_unused_ void **state) {
        _cleanup_sysroot_ struct sysroot *s = NULL;
        struct procfs_stat st;
        struct procfs_status status;
        uint64_t total, avail;

        assert_int_equal(sysroot_open(PROC_TREE, &s), 0);

        assert_int_equal(procfs_read_stat(s, 100, &st), 0);
        assert_int_equal(st.pid, 100);
        assert_string_equal(st.comm, "memguard");
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.pgrp, 100);
        assert_true(st.starttime == 5000);

        assert_int_equal(procfs_read_status(s, 100, &status), 0);
        assert_string_equal(status.name, "memguard");
        assert_int_equal(status.ppid, 1);
        assert_int_equal(status.uid, 1000);
        assert_true(status.has_vm);
        assert_true(status.rss_kib == 4096);
        assert_true(status.hwm_kib == 5120);

        /* the hostile comm, raw in stat and plain in status */
        assert_int_equal(procfs_read_stat(s, 103, &st), 0);
        assert_string_equal(st.comm, "a) R 1 (");
        assert_int_equal(st.state, 'R');
        assert_int_equal(st.ppid, 101);
        assert_true(st.starttime == 5003);
        assert_int_equal(procfs_read_status(s, 103, &status), 0);
        assert_string_equal(status.name, "a) R 1 (");
        assert_true(status.hwm_kib == 204800);

        /* a newline and a backslash in the comm: raw in stat, escaped in status, the same once read */
        assert_int_equal(procfs_read_stat(s, 105, &st), 0);
        assert_string_equal(st.comm, "new\nline\\");
        assert_int_equal(st.ppid, 103);
        assert_int_equal(procfs_read_status(s, 105, &status), 0);
        assert_string_equal(status.name, st.comm);

        /* a zombie and a kernel thread have no memory of their own */
        assert_int_equal(procfs_read_stat(s, 104, &st), 0);
        assert_int_equal(st.state, 'Z');
        assert_int_equal(procfs_read_status(s, 104, &status), 0);
        assert_false(status.has_vm);
        assert_true(status.rss_kib == 0);
        assert_int_equal(procfs_read_status(s, 2, &status), 0);
        assert_false(status.has_vm);

        assert_int_equal(procfs_read_meminfo(s, &total, &avail), 0);
        assert_true(total == 8052736ULL * 1024);
        assert_true(avail == 4194304ULL * 1024);
        total = 0;
        assert_int_equal(procfs_read_meminfo(s, &total, NULL), 0);
        assert_true(total == 8052736ULL * 1024);
}

static void test_read_fixture_broken(_unused_ void **state) {
        _cleanup_sysroot_ struct sysroot *s = NULL;
        struct procfs_stat st;
        struct procfs_status status;
        char *cmdline = NULL;

        assert_int_equal(sysroot_open(PROC_TREE, &s), 0);

        /* garbage stat */
        assert_int_equal(procfs_read_stat(s, 300, &st), -EINVAL);
        /* the directory is there, the stat is gone: exited mid-scan */
        assert_int_equal(procfs_read_stat(s, 301, &st), -ENOENT);
        assert_int_equal(procfs_read_cmdline(s, 301, &cmdline), -ENOENT);
        assert_null(cmdline);
        /* a stat that names another pid than its directory */
        assert_int_equal(procfs_read_stat(s, 302, &st), -EINVAL);
        /* no such process */
        assert_int_equal(procfs_read_stat(s, 4242, &st), -ENOENT);
        assert_int_equal(procfs_read_status(s, 4242, &status), -ENOENT);
        assert_int_equal(procfs_read_cmdline(s, 4242, &cmdline), -ENOENT);
        assert_null(cmdline);
        /* pids that cannot be */
        assert_int_equal(procfs_read_stat(s, 0, &st), -EINVAL);
        assert_int_equal(procfs_read_stat(s, -1, &st), -EINVAL);
        assert_int_equal(procfs_read_status(s, 0, &status), -EINVAL);
        assert_int_equal(procfs_read_cmdline(s, -5, &cmdline), -EINVAL);
}

static void test_read_cmdline_fixture(_unused_ void **state) {
        static const struct {
                pid_t pid;
                const char *out;
        } cases[] = {
                { 100, "memguard run --max 4G -- make -j8" },
                { 103, "./evil arg?with?[31mcolor  last" },
                { 104, "" },                                     /* zombie */
                { 2, "" },                                       /* kernel thread */
                { 105, "new?line\\" },
                { 200, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups" },
        };
        _cleanup_sysroot_ struct sysroot *s = NULL;

        assert_int_equal(sysroot_open(PROC_TREE, &s), 0);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *c = NULL;
                int r;

                r = procfs_read_cmdline(s, cases[i].pid, &c);
                if (r != 0)
                        fail_msg("procfs_read_cmdline(%d) = %d", (int) cases[i].pid, r);
                if (strcmp(c, cases[i].out) != 0)
                        fail_msg("procfs_read_cmdline(%d) = \"%s\", expected \"%s\"", (int) cases[i].pid, c,
                                 cases[i].out);
        }
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

/* Runs procfs_descendants() and compares the set, in any order, with want. */
static void check_descendants(const struct sysroot *s, pid_t root, const pid_t *want, size_t n_want) {
        _cleanup_free_ pid_t *got = NULL;
        size_t n = 12345;
        int r;

        r = procfs_descendants(s, root, &got, &n);
        if (r != 0)
                fail_msg("procfs_descendants(%d) = %d", (int) root, r);
        assert_non_null(got);
        if (n != n_want)
                fail_msg("procfs_descendants(%d) found %zu pids, expected %zu", (int) root, n, n_want);
        qsort(got, n, sizeof(*got), cmp_pid);
        for (size_t i = 0; i < n; i++)
                if (got[i] != want[i])
                        fail_msg("procfs_descendants(%d): [%zu] = %d, expected %d", (int) root, i, (int) got[i],
                                 (int) want[i]);
}

static void test_descendants_fixture(_unused_ void **state) {
        _cleanup_sysroot_ struct sysroot *s = NULL;
        pid_t *pids = NULL;
        size_t n;

        assert_int_equal(sysroot_open(PROC_TREE, &s), 0);

        /* 300 (garbage stat), 301 (no stat) and 302 (wrong pid) claim 100 as parent, and are skipped */
        check_descendants(s, 100, (const pid_t[]) { 101, 102, 103, 104, 105 }, 5);
        check_descendants(s, 101, (const pid_t[]) { 103, 105 }, 2);
        check_descendants(s, 102, (const pid_t[]) { 104 }, 1);
        check_descendants(s, 200, (const pid_t[]) { 201 }, 1);
        check_descendants(s, 1, (const pid_t[]) { 100, 101, 102, 103, 104, 105, 200, 201 }, 8);
        /* leaves, and a pid that is not there at all */
        check_descendants(s, 105, NULL, 0);
        check_descendants(s, 104, NULL, 0);
        check_descendants(s, 4242, NULL, 0);
        /* a skipped entry is no one's parent */
        check_descendants(s, 300, NULL, 0);

        assert_int_equal(procfs_descendants(s, 0, &pids, &n), -EINVAL);
        assert_int_equal(procfs_descendants(s, -1, &pids, &n), -EINVAL);
        assert_null(pids);
}

/* --- a writable copy of the fixture, to make processes vanish ------------------------------------ */

static int setup_tmp_tree(void **state) {
        return host_setup(state, PROC_TREE);
}

/* The copy's proc directory, for what the tests do to it below the host_* helpers. */
static int open_proc(struct host *h) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s/proc", h->path);
        return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_vanished(void **state) {
        struct host *t = *state;
        _cleanup_sysroot_ struct sysroot *s = NULL;
        _cleanup_close_ int proc = -1;
        struct procfs_stat st;
        struct procfs_status status;
        char *cmdline = NULL;
        uint64_t total;

        assert_int_equal(sysroot_open(t->path, &s), 0);
        proc = open_proc(t);
        assert_true(proc >= 0);

        /* the copy behaves like the original */
        assert_int_equal(procfs_read_stat(s, 101, &st), 0);
        check_descendants(s, 100, (const pid_t[]) { 101, 102, 103, 104, 105 }, 5);

        /* 101 exits: every reader says so, and the scan goes on without it */
        host_remove(t, "proc/101");
        assert_int_equal(procfs_read_stat(s, 101, &st), -ENOENT);
        assert_int_equal(procfs_read_status(s, 101, &status), -ENOENT);
        assert_int_equal(procfs_read_cmdline(s, 101, &cmdline), -ENOENT);
        assert_null(cmdline);
        /* 103 and 105 hang off a parent nobody can see any more */
        check_descendants(s, 100, (const pid_t[]) { 102, 104 }, 2);

        /* the subreaper adopts the orphan: it is back in the job */
        host_write(t, "proc/103/stat", "103 (a) R 1 () R 100 101" STAT_MID "5003" STAT_END);
        check_descendants(s, 100, (const pid_t[]) { 102, 103, 104, 105 }, 4);

        /* half gone: the directory stays a moment longer than its files */
        assert_int_equal(unlinkat(proc, "102/stat", 0), 0);
        assert_int_equal(procfs_read_stat(s, 102, &st), -ENOENT);
        assert_int_equal(procfs_read_status(s, 102, &status), 0);
        check_descendants(s, 100, (const pid_t[]) { 103, 105 }, 2);

        /* the stat turns into garbage (a torn read) */
        host_write(t, "proc/103/stat", "103 (a) R 1 () R 10");
        assert_int_equal(procfs_read_stat(s, 103, &st), -EINVAL);
        check_descendants(s, 100, NULL, 0);

        assert_int_equal(unlinkat(proc, "meminfo", 0), 0);
        assert_int_equal(procfs_read_meminfo(s, &total, NULL), -ENOENT);
        host_write(t, "proc/meminfo", "MemFree: 100 kB\n");
        assert_int_equal(procfs_read_meminfo(s, &total, NULL), -EINVAL);
}

static void test_descendants_ppid_loop(void **state) {
        struct host *t = *state;
        _cleanup_sysroot_ struct sysroot *s = NULL;

        /* pid reuse can make the root a child of its own descendant: the scan must still end, and
         * without the root in the result */
        host_write(t, "proc/100/stat", "100 (memguard) S 105 100" STAT_MID "5000" STAT_END);
        assert_int_equal(sysroot_open(t->path, &s), 0);
        check_descendants(s, 100, (const pid_t[]) { 101, 102, 103, 104, 105 }, 5);
        check_descendants(s, 103, (const pid_t[]) { 100, 101, 102, 104, 105 }, 5);
        /* the loop is cut off from init now */
        check_descendants(s, 1, (const pid_t[]) { 200, 201 }, 2);
}

static void test_descendants_unreadable(void **state) {
        struct host *t = *state;
        _cleanup_sysroot_ struct sysroot *s = NULL;
        _cleanup_close_ int proc = -1;
        struct procfs_stat st;

        /* hidepid=1 lists other users' pids but refuses their files; root reads through any mode */
        proc = open_proc(t);
        assert_true(proc >= 0);
        assert_int_equal(fchmodat(proc, "102/stat", 0, 0), 0);
        if (faccessat(proc, "102/stat", R_OK, 0) == 0)
                SKIP_TEST("file modes do not bind this user");

        assert_int_equal(sysroot_open(t->path, &s), 0);
        assert_int_equal(procfs_read_stat(s, 102, &st), -EACCES);
        check_descendants(s, 100, (const pid_t[]) { 101, 103, 105 }, 3);
}

static void test_cmdline_cut(void **state) {
        struct host *t = *state;
        _cleanup_sysroot_ struct sysroot *s = NULL;
        _cleanup_free_ char *big = NULL, *c = NULL;
        const size_t len = 1024 * 1024;

        /* a megabyte of classpath is cut to its head, not refused */
        big = malloc(len + 1);
        assert_non_null(big);
        memset(big, 'j', len);
        big[len] = 0;
        host_write(t, "proc/100/cmdline", big);

        assert_int_equal(sysroot_open(t->path, &s), 0);
        assert_int_equal(procfs_read_cmdline(s, 100, &c), 0);
        assert_true(strlen(c) > 1024);
        assert_true(strlen(c) < len);
        assert_int_equal(strspn(c, "j"), strlen(c));
}

/* --- the live system ------------------------------------------------------------------------------ */

static void test_live_self(_unused_ void **state) {
        _cleanup_sysroot_ struct sysroot *s = NULL;
        _cleanup_free_ char *cmdline = NULL;
        struct procfs_stat st;
        struct procfs_status status;
        uint64_t total = 0, avail = 0;

        if (sysroot_open(NULL, &s) < 0 || access("/proc/self/stat", R_OK) < 0)
                SKIP_TEST("no /proc");

        assert_int_equal(procfs_read_stat(s, getpid(), &st), 0);
        assert_int_equal(st.pid, getpid());
        assert_int_equal(st.ppid, getppid());
        assert_int_equal(st.state, 'R');
        assert_true(st.starttime > 0);

        assert_int_equal(procfs_read_status(s, getpid(), &status), 0);
        assert_int_equal(status.ppid, getppid());
        assert_int_equal(status.uid, getuid());
        assert_true(status.has_vm);
        assert_true(status.rss_kib > 0);
        assert_true(status.hwm_kib >= status.rss_kib);
        assert_string_equal(status.name, st.comm);

        assert_int_equal(procfs_read_cmdline(s, getpid(), &cmdline), 0);
        /* the same as a plain read; not argv[], which valgrind and binfmt runners do not show the
         * kernel's way (valgrind even fakes an open() of "/proc/self/cmdline", hence the openat()) */
        {
                _cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = -1;
                _cleanup_free_ char *plain = NULL;
                char raw[4096];
                ssize_t k;

                assert_true(proc >= 0);
                fd = openat(proc, "self/cmdline", O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                k = read(fd, raw, sizeof(raw));
                assert_true(k > 0);
                plain = procfs_cmdline_to_string(raw, (size_t) k);
                assert_non_null(plain);
                assert_string_equal(cmdline, plain);
                assert_true(strlen(cmdline) > 0);
        }

        assert_int_equal(procfs_read_meminfo(s, &total, &avail), 0);
        assert_true(total > 0);
        assert_true(avail <= total);
}

/* Blocks until every write end of fd is closed. */
static void wait_for_eof(int fd) {
        char c;

        while (read(fd, &c, 1) != 0 && errno == EINTR)
                ;
}

static void test_live_descendants(_unused_ void **state) {
        _cleanup_sysroot_ struct sysroot *s = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        int report[2], release[2];
        pid_t child, grandchild = 0;
        size_t n;
        bool seen_child = false, seen_grandchild = false;

        if (sysroot_open(NULL, &s) < 0 || access("/proc/self/stat", R_OK) < 0)
                SKIP_TEST("no /proc");

        /* A child forks a grandchild and reports its pid on one pipe; both stay until the other
         * pipe's last write end, ours, is closed. */
        assert_int_equal(pipe2(report, O_CLOEXEC), 0);
        assert_int_equal(pipe2(release, O_CLOEXEC), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                pid_t g;

                close(report[0]);
                close(release[1]);
                g = fork();
                if (g == 0) {
                        close(report[1]);
                        wait_for_eof(release[0]);
                        _exit(0);
                }
                if (write(report[1], &g, sizeof(g)) != sizeof(g))
                        _exit(1);
                close(report[1]);
                wait_for_eof(release[0]);
                waitpid(g, NULL, 0);
                _exit(0);
        }
        close(report[1]);
        close(release[0]);
        assert_int_equal(read(report[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
        close(report[0]);

        assert_int_equal(procfs_descendants(s, getpid(), &pids, &n), 0);
        for (size_t i = 0; i < n; i++) {
                assert_true(pids[i] != getpid());
                seen_child = seen_child || pids[i] == child;
                seen_grandchild = seen_grandchild || pids[i] == grandchild;
        }

        close(release[1]);
        assert_int_equal(waitpid(child, NULL, 0), child);

        assert_true(grandchild > 0);
        assert_true(seen_child);
        assert_true(seen_grandchild);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_stat_plain),
                cmocka_unit_test(test_parse_stat_hostile_comm),
                cmocka_unit_test(test_parse_stat_long_comm),
                cmocka_unit_test(test_parse_stat_malformed),
                cmocka_unit_test(test_parse_status),
                cmocka_unit_test(test_parse_status_names),
                cmocka_unit_test(test_parse_status_long_name),
                cmocka_unit_test(test_parse_status_malformed),
                cmocka_unit_test(test_parse_statm),
                cmocka_unit_test(test_parse_meminfo),
                cmocka_unit_test(test_parse_meminfo_malformed),
                cmocka_unit_test(test_cmdline_to_string),
                cmocka_unit_test(test_read_fixture),
                cmocka_unit_test(test_read_fixture_broken),
                cmocka_unit_test(test_read_cmdline_fixture),
                cmocka_unit_test(test_descendants_fixture),
                cmocka_unit_test_setup_teardown(test_vanished, setup_tmp_tree, host_teardown),
                cmocka_unit_test_setup_teardown(test_descendants_ppid_loop, setup_tmp_tree, host_teardown),
                cmocka_unit_test_setup_teardown(test_descendants_unreadable, setup_tmp_tree, host_teardown),
                cmocka_unit_test_setup_teardown(test_cmdline_cut, setup_tmp_tree, host_teardown),
                cmocka_unit_test(test_live_self),
                cmocka_unit_test(test_live_descendants),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
