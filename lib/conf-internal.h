/* SPDX-License-Identifier: MIT */
/* What the files of the configuration module share and nothing outside it sees. conf.h is the
 * interface; the module is split by concept:
 *   conf.c         the model (defaults, freeing) and matching a job to a profile or watch
 *   conf-keys.c    the sections, their keys and the value types: the one list the parser looks keys
 *                  up in and the dump prints
 *   conf-value.c   one value of one type, parsed into its field
 *   conf-names.c   finding a section by its name
 *   conf-errors.c  the messages a load collects, kept in file and line order
 *   conf-parse.c   reading the files: headers, settings, drop-ins
 *   conf-parse-check.c  the checks across sections, after the last file
 *   conf-dump.c    the effective configuration written back as INI */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "macro.h"

/* Local, so that a streq() macro.h may grow later does not collide with it. */
static inline bool conf_streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
#define streq conf_streq

/* Values and names quoted in messages are cut here: a line of garbage should not become a screenful. */
#define CONF_QUOTE_MAX 64
#define CONF_QUOTE_SIZE (CONF_QUOTE_MAX * 4 + 4)

/* s for a message: at most CONF_QUOTE_MAX bytes, control bytes as \xNN. Returns buf. */
const char *conf_quote(char buf[static CONF_QUOTE_SIZE], const char *s);

/* A profile with the built-in values and no name. */
void conf_profile_init(struct conf_profile *p);

/* --- conf-keys.c ------------------------------------------------------------------------------- */

enum conf_section_kind {
        CONF_SECTION_NONE,              /* before the first header of a file */
        CONF_SECTION_INVALID,           /* after a broken header: its keys are skipped, not misfiled */
        CONF_SECTION_DAEMON,
        CONF_SECTION_PROFILE,
        CONF_SECTION_RULE,
        CONF_SECTION_WATCH,
};

enum conf_type {
        CONF_TYPE_SIZE,                 /* uint64_t bytes, "off" = 0 */
        CONF_TYPE_RATE,                 /* uint64_t bytes per second, optional "/s", "off" = 0 */
        CONF_TYPE_RATIO,                /* double in (0, 1] */
        CONF_TYPE_RATIO_OFF,            /* the same, "off" = 0 */
        CONF_TYPE_DURATION,             /* uint64_t usec, 0 allowed */
        CONF_TYPE_DURATION_OFF,         /* the same, "off" = 0 */
        CONF_TYPE_INTERVAL,             /* uint64_t usec, "adaptive" = 0, else at least 1ms */
        CONF_TYPE_TIMEOUT,              /* uint64_t usec above zero */
        CONF_TYPE_ACTION,               /* enum conf_action */
        CONF_TYPE_LOG_LEVEL,            /* int, a syslog level */
        CONF_TYPE_SOCKET,               /* char *, absolute, fits sockaddr_un */
        CONF_TYPE_PATH,                 /* char *, absolute */
        CONF_TYPE_CGROUP_PATH,          /* char *, absolute cgroup path or "" */
        CONF_TYPE_COMMAND,              /* char *, "" = NULL */
        CONF_TYPE_PATTERN,              /* char *, fnmatch() pattern; NULL = not given */
        CONF_TYPE_CGROUP_PATTERN,       /* char *, fnmatch() pattern starting with '/'; NULL = not given */
        CONF_TYPE_NAME,                 /* char *, a profile name */
        CONF_TYPE_USER,                 /* uid_t, (uid_t) -1 = not given */
        CONF_TYPE_GROUP,                /* gid_t, (gid_t) -1 = not given */
        _CONF_TYPE_MAX,
};

/* How a type is named in messages: "invalid WHAT 'value' (expected EXPECTED)". */
struct conf_type_info {
        const char *what;
        const char *expected;
};
extern const struct conf_type_info conf_keys_types[_CONF_TYPE_MAX];

struct conf_key {
        const char *name;
        enum conf_type type;
        size_t offset;                  /* of the field in the section's struct */
};

/* Room for the origins of every key of the longest table. */
#define CONF_KEYS_MAX 16

/* The keys of a section kind, in the order the dump prints them; NULL and 0 for other kinds. */
const struct conf_key *conf_keys_of(enum conf_section_kind kind, size_t *ret_n);

/* The key called name in kind's table, or NULL. */
const struct conf_key *conf_keys_find(enum conf_section_kind kind, const char *name);

/* The position of a key this module's code names: a typo there aborts, it is not a user's error. */
size_t conf_keys_index(enum conf_section_kind kind, const char *name);

/* ", "-separated names of kind's keys, for "unknown key" messages. */
void conf_keys_list(char *buf, size_t size, enum conf_section_kind kind);

/* "[profile big]", "[daemon]" for messages and the dump. */
#define CONF_LABEL_SIZE (CONF_NAME_MAX + 16)
const char *conf_keys_label(char buf[static CONF_LABEL_SIZE], enum conf_section_kind kind, const char *name);

/* log-level's words and syslog levels; NULL or -1 when there is none. */
const char *conf_keys_log_level_to_string(int level);
int conf_keys_log_level_from_string(const char *s);

/* --- conf-value.c ------------------------------------------------------------------------------ */

/* [A-Za-z0-9_.-]{1,CONF_NAME_MAX}, not "." or "..". */
bool conf_value_name_is_valid(const char *s);

/* Parses value as type into field. -EINVAL (garbage), -ERANGE, -ENOENT (no such user or group),
 * -EBADMSG (a pattern with an unclosed '[' or a trailing '\'), -EEXIST (a socket path that holds
 * something other than a socket), -EDOM (a percentage with no RAM size
 * to take it of), -ENOMEM, or the -errno of a failed lookup. */
int conf_value_parse(enum conf_type type, const char *value, uint64_t host_ram_bytes, void *field);

/* --- conf-names.c ------------------------------------------------------------------------------ */

struct conf_names_slot {
        const char *name;               /* borrowed; NULL = empty */
        size_t index;
};

/* Section names to their index in the configuration's array. */
struct conf_names {
        struct conf_names_slot *slots;
        size_t n_slots;                 /* 0 or a power of two */
        size_t n;
};

/* Maps name (borrowed, must outlive t) to index, replacing an earlier entry of that name. -ENOMEM.
 * Each string comparison made is added to *compares. */
int conf_names_add(struct conf_names *t, const char *name, size_t index, uint64_t *compares);

/* Whether name is in t, and its index. */
bool conf_names_find(const struct conf_names *t, const char *name, size_t *ret_index, uint64_t *compares);

void conf_names_done(struct conf_names *t);

/* --- conf-errors.c ----------------------------------------------------------------------------- */

/* Where a message belongs, so they can be listed in file order: the cross-checks after the last file
 * find problems at any line of any file. */
struct conf_error_order {
        size_t file;                    /* index of the file in the order read; SIZE_MAX = last */
        unsigned line;
        size_t seq;                     /* keeps the order of messages about one line */
        char *message;                  /* borrowed, for sorting */
};

/* The messages of one load, appended to the caller's list. */
struct conf_errors_log {
        struct conf_errors *errors;     /* may be NULL: then only counted */
        size_t n;                       /* counted, listed or not */
        size_t base;                    /* errors->n before this load: older messages stay put */
        struct conf_error_order *order; /* one per message this load added */
};

void conf_errors_log_init(struct conf_errors_log *log, struct conf_errors *errors);
void conf_errors_log_done(struct conf_errors_log *log);

/* Adds "FILE:LINE: what" ("FILE: what" for line 0); file_index orders it. Past CONF_ERRORS_MAX one
 * last message says the rest are not listed. -ENOMEM. */
_printf_(5, 0) int conf_errors_addv(struct conf_errors_log *log, size_t file_index, const char *file,
                                    unsigned line, const char *format, va_list ap);

/* Puts this load's messages in file, line and arrival order. */
void conf_errors_sort(struct conf_errors_log *log);

/* --- conf-parse.c, conf-parse-check.c --------------------------------------------------------- */

/* Where a key was set: duplicates name the first place, cross-checks point at the key's own line. */
struct conf_origin {
        const char *file;               /* one of conf_parser.files */
        unsigned line;                  /* 0 = not set */
        bool invalid;                   /* set, but to garbage: cross-checks skip it, it has its error */
};

struct conf_origins {
        struct conf_origin keys[CONF_KEYS_MAX];
};

struct conf_parser {
        struct conf *conf;
        struct conf_errors_log log;
        bool oom;
        uint64_t host_ram_bytes;

        /* Parallel to conf->profiles, rules and watches. */
        struct conf_origins daemon_origins;
        struct conf_origins *profile_origins;
        struct conf_origins *rule_origins;
        struct conf_origins *watch_origins;
        bool default_redefined;         /* a [profile default] was read: a second one is a duplicate */

        /* The names of conf->profiles, rules and watches; the built-in default profile's only once a
         * file redefined it. */
        struct conf_names profile_names;
        struct conf_names rule_names;
        struct conf_names watch_names;

        /* Every file name read so far: the origins point into these. */
        char **files;
        size_t n_files;

        /* The file being read. */
        const char *file;
        FILE *f;
        unsigned line;
        char *buf;
        size_t buf_size;
        int read_errno;

        /* The section the reader saw last. */
        enum conf_section_kind kind;
        size_t index;

        /* How often two section names were compared: loading must stay linear in the sections. */
        uint64_t name_compares;
};

/* An error at file:line (line 0: the file as a whole). */
_printf_(4, 5) void conf_parse_error_at(struct conf_parser *p, const char *file, unsigned line,
                                        const char *format, ...);

/* After all files: what one section cannot know alone. */
void conf_parse_check(struct conf_parser *p);

/* The profile called name, or NULL. */
const struct conf_profile *conf_parse_find_profile(struct conf_parser *p, const char *name);

/* conf_load() and conf_load_string(), which conf.c hands over to. */
int conf_parse_files(const char *path, const char *dropin_dir, uint64_t host_ram_bytes, struct conf **ret,
                     struct conf_errors *errors);
int conf_parse_string(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                      struct conf_errors *errors);

/* conf_parse_string() that also says how many name comparisons it took (tests prove the parser
 * linear in the number of sections with it, without timing anything). */
int conf_parse_string_counted(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                              struct conf_errors *errors, uint64_t *ret_name_compares);
