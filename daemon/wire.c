/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "wire.h"

void wire_init(struct wire *w, uint64_t max_bytes) {
        *w = (struct wire) { .max_bytes = max_bytes };
}

static uint32_t wire_u32(const uint8_t *p, bool little) {
        return little ? (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24
                      : (uint32_t) p[3] | (uint32_t) p[2] << 8 | (uint32_t) p[1] << 16 | (uint32_t) p[0] << 24;
}

int wire_message_size(const uint8_t h[static WIRE_HEADER_SIZE], uint64_t *ret) {
        if (h[0] != 'l' && h[0] != 'B')
                return -EBADMSG;
        /* Message type 1..4 (call, return, error, signal), protocol version 1. */
        if (h[1] < 1 || h[1] > 4 || h[3] != 1)
                return -EBADMSG;
        bool little = h[0] == 'l';
        uint64_t body = wire_u32(h + 4, little);
        uint64_t fields = wire_u32(h + 12, little);
        /* The body starts at the next 8-byte boundary after the header fields. */
        uint64_t size = ((WIRE_HEADER_SIZE + fields + 7) & ~(uint64_t) 7) + body;
        if (size < WIRE_MESSAGE_MIN)
                return -EBADMSG;
        *ret = size;
        return 0;
}

/* SASL: lines end in "\r\n"; the line "BEGIN" ends it and the binary protocol starts right after. */
static size_t wire_feed_auth(struct wire *w, const uint8_t *p, size_t n) {
        static const char begin[] = "BEGIN\r\n";
        for (size_t i = 0; i < n; i++) {
                if (w->line_len < sizeof(w->line))
                        w->line[w->line_len] = p[i];
                w->line_len++;
                if (p[i] != '\n')
                        continue;
                if (w->line_len == strlen(begin) && memcmp(w->line, begin, strlen(begin)) == 0) {
                        w->binary = true;
                        return i + 1;
                }
                w->line_len = 0;
        }
        return n;
}

int wire_feed(struct wire *w, const uint8_t *p, size_t n) {
        while (n > 0) {
                size_t used;
                if (!w->binary)
                        used = wire_feed_auth(w, p, n);
                else if (w->skip > 0) {
                        used = w->skip < n ? (size_t) w->skip : n;
                        w->skip -= used;
                } else {
                        used = WIRE_HEADER_SIZE - w->header_len;
                        if (used > n)
                                used = n;
                        memcpy(w->header + w->header_len, p, used);
                        w->header_len += used;
                        if (w->header_len == WIRE_HEADER_SIZE) {
                                uint64_t size;
                                int r = wire_message_size(w->header, &size);
                                if (r < 0)
                                        return r;
                                if (size > w->max_bytes)
                                        return -EMSGSIZE;
                                w->header_len = 0;
                                w->skip = size - WIRE_HEADER_SIZE;
                        }
                }
                p += used;
                n -= used;
        }
        return 0;
}

bool wire_may_read(const struct wire *w) {
        return !(w->binary && w->skip == 0 && w->header_len > 0);
}
