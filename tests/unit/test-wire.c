/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "wire.h"

#define MAX (512 * 1024)

/* A fixed header: little-endian method call announcing body and header-field bytes. */
static void header(uint8_t h[WIRE_HEADER_SIZE], char endian, uint32_t body, uint32_t fields) {
        memset(h, 0, WIRE_HEADER_SIZE);
        h[0] = (uint8_t) endian;
        h[1] = 1;
        h[3] = 1;
        for (int i = 0; i < 4; i++) {
                int shift = endian == 'l' ? 8 * i : 8 * (3 - i);
                h[4 + i] = (uint8_t) (body >> shift);
                h[12 + i] = (uint8_t) (fields >> shift);
        }
        h[8] = 1;  /* serial */
}

static const char auth[] = "\0AUTH EXTERNAL 30\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n";

static void feed_auth(struct wire *w) {
        assert_int_equal(wire_feed(w, (const uint8_t *) auth, sizeof(auth) - 1), 0);
        assert_true(w->binary);
}

static void test_size(void **state) {
        uint8_t h[WIRE_HEADER_SIZE];
        uint64_t size;
        header(h, 'l', 100, 60);   /* fields end at 76, padded to 80 */
        assert_int_equal(wire_message_size(h, &size), 0);
        assert_int_equal(size, 180);
        header(h, 'B', 8, 8);      /* big-endian: 24 + 8 */
        assert_int_equal(wire_message_size(h, &size), 0);
        assert_int_equal(size, 32);
        header(h, 'l', 0, 0);      /* shorter than any real message */
        assert_int_equal(wire_message_size(h, &size), -EBADMSG);
        header(h, 'x', 8, 8);
        assert_int_equal(wire_message_size(h, &size), -EBADMSG);
        header(h, 'l', 8, 8);
        h[3] = 2;                  /* protocol version */
        assert_int_equal(wire_message_size(h, &size), -EBADMSG);
        header(h, 'l', 8, 8);
        h[1] = 0;                  /* message type */
        assert_int_equal(wire_message_size(h, &size), -EBADMSG);
        header(h, 'l', UINT32_MAX, UINT32_MAX);
        assert_int_equal(wire_message_size(h, &size), 0);
        assert_true(size > (uint64_t) UINT32_MAX);
}

/* Nothing is checked before BEGIN; a header after it is. */
static void test_auth_then_messages(void **state) {
        struct wire w;
        wire_init(&w, MAX);
        assert_int_equal(wire_feed(&w, (const uint8_t *) "\0AUTH EXTERNAL 30\r\n", 19), 0);
        assert_false(w.binary);
        assert_true(wire_may_read(&w));
        /* BEGIN only at the start of a line */
        assert_int_equal(wire_feed(&w, (const uint8_t *) "DATA XBEGIN\r\n", 13), 0);
        assert_false(w.binary);
        assert_int_equal(wire_feed(&w, (const uint8_t *) "BEGIN\r\n", 7), 0);
        assert_true(w.binary);

        uint8_t h[WIRE_HEADER_SIZE], body[64] = {};
        header(h, 'l', 40, 8);
        assert_int_equal(wire_feed(&w, h, sizeof(h)), 0);
        assert_int_equal(w.skip, 8 + 40);
        assert_true(wire_may_read(&w));
        assert_int_equal(wire_feed(&w, body, 48), 0);
        assert_int_equal(w.skip, 0);
        /* the next header, one byte at a time: sd-bus must wait until it is whole */
        header(h, 'l', 0, 8);
        for (size_t i = 0; i < WIRE_HEADER_SIZE - 1; i++) {
                assert_int_equal(wire_feed(&w, h + i, 1), 0);
                assert_false(wire_may_read(&w));
        }
        assert_int_equal(wire_feed(&w, h + WIRE_HEADER_SIZE - 1, 1), 0);
        assert_true(wire_may_read(&w));
}

/* A 120 MiB call is refused at its header, before any of its body arrives. */
static void test_too_large(void **state) {
        struct wire w;
        wire_init(&w, MAX);
        feed_auth(&w);
        uint8_t h[WIRE_HEADER_SIZE];
        header(h, 'l', 120u << 20, 64);
        assert_int_equal(wire_feed(&w, h, sizeof(h)), -EMSGSIZE);

        /* exactly the maximum passes, one byte more does not */
        wire_init(&w, MAX);
        feed_auth(&w);
        header(h, 'l', MAX - 24, 8);
        assert_int_equal(wire_feed(&w, h, sizeof(h)), 0);
        wire_init(&w, MAX);
        feed_auth(&w);
        header(h, 'l', MAX - 23, 8);
        assert_int_equal(wire_feed(&w, h, sizeof(h)), -EMSGSIZE);
}

/* Messages in one buffer with the auth lines, as a client that pipelines sends them. */
static void test_pipelined(void **state) {
        uint8_t buf[512] = {}, h[WIRE_HEADER_SIZE];
        size_t n = sizeof(auth) - 1;
        memcpy(buf, auth, n);
        header(h, 'l', 16, 8);
        memcpy(buf + n, h, sizeof(h));
        n += 40;
        header(h, 'B', 1u << 30, 8);
        memcpy(buf + n, h, sizeof(h));
        n += sizeof(h);
        struct wire w;
        wire_init(&w, MAX);
        assert_int_equal(wire_feed(&w, buf, n), -EMSGSIZE);
}

static void test_garbage(void **state) {
        struct wire w;
        wire_init(&w, MAX);
        feed_auth(&w);
        const uint8_t junk[WIRE_HEADER_SIZE] = "GET / HTTP/1.1\r\n";
        assert_int_equal(wire_feed(&w, junk, sizeof(junk)), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_auth_then_messages),
                cmocka_unit_test(test_too_large),
                cmocka_unit_test(test_pipelined),
                cmocka_unit_test(test_garbage),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
