/* SPDX-License-Identifier: MIT */
/* The effective configuration written back as INI: every section and every key of conf-keys.c's
 * tables with its normalised value, and where each section came from. What it writes loads again to
 * an equal configuration. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf-internal.h"
#include "conf.h"
#include "macro.h"
#include "units.h"

/* A size or rate: "off", "512M", "100M/s". */
static const char *conf_dump_size(char *buf, uint64_t v, bool rate) {
        char size[UNITS_SIZE_MAX];

        if (v == 0)
                return "off";
        snprintf(buf, UNITS_SIZE_MAX + 2, "%s%s", units_format_size_exact(size, v), rate ? "/s" : "");
        return buf;
}

/* A duration, or the word that stands for zero: "adaptive", "off". */
static const char *conf_dump_duration(char *buf, uint64_t v, enum conf_type type) {
        if (v == 0 && type == CONF_TYPE_INTERVAL)
                return "adaptive";
        if (v == 0 && type == CONF_TYPE_DURATION_OFF)
                return "off";
        return units_format_duration_exact(buf, v);
}

/* A user or group id, NULL for "any". */
static const char *conf_dump_id(char *buf, size_t size, uint32_t v) {
        if (v == UINT32_MAX)
                return NULL;
        snprintf(buf, size, "%" PRIu32, v);
        return buf;
}

/* One "key = value" line; a criterion that is not given shows as a comment, so every key is listed. */
static void conf_dump_key(FILE *f, const struct conf_key *key, const void *base) {
        const void *field = (const uint8_t *) base + key->offset;
        char buf[64];
        const char *s;

        _Static_assert(sizeof(buf) >= UNITS_SIZE_MAX + 2 && sizeof(buf) >= UNITS_DURATION_MAX &&
                       sizeof(buf) >= UNITS_RATIO_MAX, "conf_dump_key() buffer");

        switch (key->type) {
        case CONF_TYPE_SIZE:
        case CONF_TYPE_RATE:
                s = conf_dump_size(buf, *(const uint64_t *) field, key->type == CONF_TYPE_RATE);
                break;
        case CONF_TYPE_RATIO:
        case CONF_TYPE_RATIO_OFF:
                s = *(const double *) field == 0 ? "off" : units_format_ratio(buf, *(const double *) field);
                break;
        case CONF_TYPE_DURATION:
        case CONF_TYPE_DURATION_OFF:
        case CONF_TYPE_INTERVAL:
        case CONF_TYPE_TIMEOUT:
                s = conf_dump_duration(buf, *(const uint64_t *) field, key->type);
                break;
        case CONF_TYPE_ACTION:
                s = conf_action_to_string(*(const enum conf_action *) field);
                break;
        case CONF_TYPE_LOG_LEVEL:
                s = conf_keys_log_level_to_string(*(const int *) field);
                break;
        case CONF_TYPE_USER:
                s = conf_dump_id(buf, sizeof(buf), (uint32_t) *(const uid_t *) field);
                if (!s)
                        goto any;
                break;
        case CONF_TYPE_GROUP:
                s = conf_dump_id(buf, sizeof(buf), (uint32_t) *(const gid_t *) field);
                if (!s)
                        goto any;
                break;
        case CONF_TYPE_PATTERN:
        case CONF_TYPE_CGROUP_PATTERN:
                s = *(char *const *) field;
                if (!s)
                        goto any;
                break;
        default:
                s = *(char *const *) field;
                break;
        }

        if (s && *s)
                fprintf(f, "%s = %s\n", key->name, s);
        else
                fprintf(f, "%s =\n", key->name);
        return;
any:
        fprintf(f, "# %s = (any)\n", key->name);
}

static void conf_dump_section(FILE *f, enum conf_section_kind kind, const char *name, const char *note,
                              const char *file, unsigned line, const void *base) {
        char q[CONF_QUOTE_SIZE], header[CONF_LABEL_SIZE];
        const struct conf_key *keys;
        size_t n_keys;

        keys = conf_keys_of(kind, &n_keys);
        fputc('\n', f);
        if (file)
                /* Quoted: a drop-in's name may hold a newline, which would end the comment early. */
                fprintf(f, "# from %s:%u\n", conf_quote(q, file), line);
        else if (note)
                fprintf(f, "# %s\n", note);
        fprintf(f, "%s\n", conf_keys_label(header, kind, name));
        for (size_t i = 0; i < n_keys; i++)
                conf_dump_key(f, &keys[i], base);
}

int conf_dump(FILE *f, const struct conf *c) {
        if (!f || !c)
                return -EINVAL;

        fputs("# memguardd's effective configuration: built-in defaults, then every file in the order read\n",
              f);
        conf_dump_section(f, CONF_SECTION_DAEMON, NULL, "built-in defaults and the files' [daemon] keys", NULL,
                          0, &c->daemon);

        for (size_t i = 0; i < c->n_profiles; i++) {
                const struct conf_profile *p = &c->profiles[i];

                conf_dump_section(f, CONF_SECTION_PROFILE, p->name, "built in", p->file, p->line, p);
        }
        for (size_t i = 0; i < c->n_rules; i++) {
                const struct conf_rule *r = &c->rules[i];

                conf_dump_section(f, CONF_SECTION_RULE, r->name, NULL, r->file, r->line, r);
        }
        for (size_t i = 0; i < c->n_watches; i++) {
                const struct conf_watch *w = &c->watches[i];

                conf_dump_section(f, CONF_SECTION_WATCH, w->name, NULL, w->file, w->line, w);
        }

        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}
