/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static void test_escape_controls(void **state) {
        char buf[64];
        assert_string_equal(escape_control("plain text, ünïcode", buf, sizeof(buf)), "plain text, ünïcode");
        assert_string_equal(escape_control("a\nb\tc\033[2J\x7f", buf, sizeof(buf)), "a\\x0ab\\x09c\\x1b[2J\\x7f");
        assert_string_equal(escape_control("", buf, sizeof(buf)), "");
}

/* Cut short, never in the middle of an escape, always terminated. */
static void test_escape_truncates_whole(void **state) {
        char buf[6];
        assert_string_equal(escape_control("ab\ncd", buf, sizeof(buf)), "ab");
        assert_string_equal(escape_control("abcdefgh", buf, sizeof(buf)), "abcde");
        char one[1] = { 'x' };
        assert_string_equal(escape_control("abc", one, sizeof(one)), "");
}

static void test_escape_dup_and_fputs(void **state) {
        char *s = escape_control_dup("\n\n\n");
        assert_non_null(s);
        assert_string_equal(s, "\\x0a\\x0a\\x0a");
        free(s);

        char out[64] = "";
        FILE *f = fmemopen(out, sizeof(out), "w");
        assert_non_null(f);
        escape_control_fputs("x\ry", f);
        fclose(f);
        assert_string_equal(out, "x\\x0dy");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_controls),
                cmocka_unit_test(test_escape_truncates_whole),
                cmocka_unit_test(test_escape_dup_and_fputs),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
