/* SPDX-License-Identifier: MIT */
/* What a client sends on the control socket, seen before sd-bus reads it. sd-bus takes any message
 * up to 128 MiB and allocates what a header announces before the body arrives; memguardd's memory is
 * locked and any local user may connect. The transport peeks at the stream (SO_PEEK_OFF keeps the
 * place as sd-bus consumes it) and feeds it here: the SASL lines up to BEGIN, then each message's
 * fixed header, whose announced size must stay under the daemon's maximum. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The D-Bus fixed header: endianness, type, flags, version, body length, serial, fields length. */
#define WIRE_HEADER_SIZE 16
/* The smallest whole message (a reply: the header and one 8-byte field); sd-bus reads this much at
 * the start of each message, so a shorter one would let it read unchecked bytes of the next. */
#define WIRE_MESSAGE_MIN 24

struct wire {
        uint64_t max_bytes;     /* the largest message accepted */
        bool binary;            /* "BEGIN" was seen: messages follow */
        uint8_t line[8];        /* the start of the current SASL line */
        size_t line_len;
        uint8_t header[WIRE_HEADER_SIZE];
        size_t header_len;      /* bytes of the next message's header seen so far */
        uint64_t skip;          /* bytes of the current (checked) message still to pass */
};

void wire_init(struct wire *w, uint64_t max_bytes);

/* Takes the next n bytes of the stream. -EMSGSIZE when a message announces more than max_bytes,
 * -EBADMSG when a header is not D-Bus; the connection is then to be closed. */
int wire_feed(struct wire *w, const uint8_t *p, size_t n);

/* Whether sd-bus may read now: not while a message's header has only partly arrived, since sd-bus
 * would read it (and what follows) before it was checked. */
bool wire_may_read(const struct wire *w);

/* A message's whole size from its fixed header; -EBADMSG if it is not a D-Bus header. */
int wire_message_size(const uint8_t header[static WIRE_HEADER_SIZE], uint64_t *ret);
