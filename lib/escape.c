/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* "\x1b": the longest a byte gets. */
#define ESCAPE_MAX_PER_BYTE 4

static bool escape_is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

char *escape_control(const char *s, char *buf, size_t size) {
        static const char hex[] = "0123456789abcdef";
        size_t k = 0;
        if (size == 0)
                return buf;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (!escape_is_control(*p)) {
                        if (k + 1 >= size)
                                break;
                        buf[k++] = (char) *p;
                        continue;
                }
                if (k + ESCAPE_MAX_PER_BYTE >= size)
                        break;
                buf[k++] = '\\';
                buf[k++] = 'x';
                buf[k++] = hex[*p >> 4];
                buf[k++] = hex[*p & 0xf];
        }
        buf[k] = 0;
        return buf;
}

char *escape_control_dup(const char *s) {
        size_t size = strlen(s) * ESCAPE_MAX_PER_BYTE + 1;
        char *buf = malloc(size);
        return buf ? escape_control(s, buf, size) : NULL;
}

void escape_control_fputs(const char *s, FILE *f) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (escape_is_control(*p))
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
}
