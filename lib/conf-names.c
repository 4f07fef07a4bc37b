/* SPDX-License-Identifier: MIT */
/* The names of one kind of section, for the parser to find duplicates and references in constant
 * time: a file of 40,000 sections took seconds when each new name was compared with every earlier
 * one. Open addressing on an FNV-1a hash, at most half full; the names are borrowed from the
 * configuration, whose strings do not move while it grows. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf-internal.h"

static uint64_t conf_names_hash(const char *s) {
        uint64_t h = 14695981039346656037ULL;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return h;
}

/* The slot that holds name, or the empty one where it would go. */
static struct conf_names_slot *conf_names_slot(struct conf_names *t, const char *name, uint64_t *compares) {
        size_t mask = t->n_slots - 1;

        for (size_t i = conf_names_hash(name) & mask;; i = (i + 1) & mask) {
                if (!t->slots[i].name)
                        return &t->slots[i];
                (*compares)++;
                if (streq(t->slots[i].name, name))
                        return &t->slots[i];
        }
}

static int conf_names_grow(struct conf_names *t) {
        struct conf_names old = *t;
        uint64_t unused = 0;

        t->n_slots = old.n_slots > 0 ? old.n_slots * 2 : 64;
        t->slots = calloc(t->n_slots, sizeof(struct conf_names_slot));
        if (!t->slots) {
                *t = old;
                return -ENOMEM;
        }
        for (size_t i = 0; i < old.n_slots; i++)
                if (old.slots[i].name)
                        *conf_names_slot(t, old.slots[i].name, &unused) = old.slots[i];
        free(old.slots);
        return 0;
}

int conf_names_add(struct conf_names *t, const char *name, size_t index, uint64_t *compares) {
        struct conf_names_slot *s;
        int r;

        if (2 * (t->n + 1) > t->n_slots) {
                r = conf_names_grow(t);
                if (r < 0)
                        return r;
        }
        s = conf_names_slot(t, name, compares);
        if (!s->name)
                t->n++;
        *s = (struct conf_names_slot) { name, index };
        return 0;
}

bool conf_names_find(const struct conf_names *t, const char *name, size_t *ret_index, uint64_t *compares) {
        const struct conf_names_slot *s;

        if (t->n_slots == 0)
                return false;
        s = conf_names_slot((struct conf_names *) t, name, compares);
        if (!s->name)
                return false;
        if (ret_index)
                *ret_index = s->index;
        return true;
}

void conf_names_done(struct conf_names *t) {
        free(t->slots);
        *t = (struct conf_names) {};
}
