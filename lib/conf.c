/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include "conf.h"
#include "macro.h"
#include "policy.h"
#include "units.h"

/* Long enough to page someone or save a process list, short enough that a hung hook does not hold
 * up the next one for long. */
#define CONF_DEFAULT_HOOK_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* Where adaptive sampling rests while a job has room to spare: a thousand idle jobs cost little, and
 * sampling still speeds up to 10ms as a job nears its threshold. */
#define CONF_DEFAULT_INTERVAL_USEC USEC_PER_SEC
#define CONF_DEFAULT_SOCKET_PATH "/run/memguard/memguardd.sock"
#define CONF_DEFAULT_STATE_DIR "/var/lib/memguard"
/* policy_limits_validate() refuses shorter fixed intervals: sampling faster only burns CPU. */
#define CONF_INTERVAL_MIN_USEC USEC_PER_MSEC

/* Local, so that a streq() macro.h may grow later does not collide with it. */
static bool conf_streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
#define streq conf_streq

/* Values and names quoted in messages are cut here: a line of garbage should not become a screenful. */
#define CONF_QUOTE_MAX 64
#define CONF_QUOTE_SIZE (CONF_QUOTE_MAX * 4 + 4)
/* "unknown profile" messages list this many of the known names. */
#define CONF_LIST_NAMES_MAX 10

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

static const struct {
        const char *what;               /* "invalid WHAT 'value'" */
        const char *expected;           /* "(expected EXPECTED)" */
} conf_type_table[_CONF_TYPE_MAX] = {
        [CONF_TYPE_SIZE] = { "size", "e.g. 4000, 512M, 8G, 80% or off" },
        [CONF_TYPE_RATE] = { "rate", "a size per second, e.g. 100M or 100M/s, or off" },
        [CONF_TYPE_RATIO] = { "ratio", "a ratio in (0, 1] such as 0.8 or 80%" },
        [CONF_TYPE_RATIO_OFF] = { "ratio", "a ratio in (0, 1] such as 0.8 or 80%, or off" },
        [CONF_TYPE_DURATION] = { "duration", "e.g. 2, 500ms, 10s or 5min" },
        [CONF_TYPE_DURATION_OFF] = { "duration", "e.g. 2, 500ms, 10s or 5min, or off" },
        [CONF_TYPE_INTERVAL] = { "interval", "adaptive, or a duration of at least 1ms such as 500ms or 2s" },
        [CONF_TYPE_TIMEOUT] = { "timeout", "a duration above zero such as 5s" },
        [CONF_TYPE_ACTION] = { "action", "kill or freeze" },
        [CONF_TYPE_LOG_LEVEL] = { "log level", "err, warning, notice, info or debug" },
        [CONF_TYPE_SOCKET] = { "socket path", "an absolute path of at most 107 bytes" },
        [CONF_TYPE_PATH] = { "path", "an absolute path" },
        [CONF_TYPE_CGROUP_PATH] = { "cgroup path",
                                    "an absolute cgroup path such as /memguard.slice, or nothing" },
        [CONF_TYPE_COMMAND] = { "command", "a command line for /bin/sh -c, or nothing" },
        [CONF_TYPE_PATTERN] = { "pattern", "a shell pattern such as *python*" },
        [CONF_TYPE_CGROUP_PATTERN] = { "cgroup pattern",
                                       "a shell pattern on absolute cgroup paths such as "
                                       "/system.slice/slurmstepd.scope/job_*" },
        [CONF_TYPE_NAME] = { "profile name", "1 to 40 of A-Z a-z 0-9 _ . -" },
        [CONF_TYPE_USER] = { "user", "a user name or a numeric uid" },
        [CONF_TYPE_GROUP] = { "group", "a group name or a numeric gid" },
};

struct conf_key {
        const char *name;
        enum conf_type type;
        size_t offset;
};

/* These tables are the one list of keys: the parser looks keys up here and conf_dump() prints every
 * one of them, in this order. */
#define DAEMON_KEY(n, t, f) { n, t, offsetof(struct conf_daemon, f) }
static const struct conf_key conf_daemon_keys[] = {
        DAEMON_KEY("interval", CONF_TYPE_INTERVAL, interval_usec),
        DAEMON_KEY("socket", CONF_TYPE_SOCKET, socket_path),
        DAEMON_KEY("state-dir", CONF_TYPE_PATH, state_dir),
        DAEMON_KEY("log-level", CONF_TYPE_LOG_LEVEL, log_level),
        DAEMON_KEY("host-reserve", CONF_TYPE_SIZE, host_reserve_bytes),
        DAEMON_KEY("default-profile", CONF_TYPE_NAME, default_profile),
        DAEMON_KEY("cgroup-parent", CONF_TYPE_CGROUP_PATH, cgroup_parent),
};

#define PROFILE_KEY(n, t, f) { n, t, offsetof(struct conf_profile, f) }
static const struct conf_key conf_profile_keys[] = {
        PROFILE_KEY("max-memory", CONF_TYPE_SIZE, max_memory),
        PROFILE_KEY("max-process-memory", CONF_TYPE_SIZE, max_process_memory),
        PROFILE_KEY("kill-threshold", CONF_TYPE_RATIO, kill_threshold),
        PROFILE_KEY("warn-at", CONF_TYPE_RATIO_OFF, warn_at),
        PROFILE_KEY("grace", CONF_TYPE_DURATION, grace_usec),
        PROFILE_KEY("action", CONF_TYPE_ACTION, action),
        PROFILE_KEY("interval", CONF_TYPE_INTERVAL, interval_usec),
        PROFILE_KEY("log-every", CONF_TYPE_DURATION_OFF, log_every_usec),
        PROFILE_KEY("warn-every", CONF_TYPE_DURATION, warn_every_usec),
        PROFILE_KEY("spike-rate", CONF_TYPE_RATE, spike_rate_bytes_per_sec),
        PROFILE_KEY("pre-kill-hook", CONF_TYPE_COMMAND, pre_kill_hook),
        PROFILE_KEY("post-kill-hook", CONF_TYPE_COMMAND, post_kill_hook),
        PROFILE_KEY("hook-timeout", CONF_TYPE_TIMEOUT, hook_timeout_usec),
};

#define RULE_KEY(n, t, f) { n, t, offsetof(struct conf_rule, f) }
static const struct conf_key conf_rule_keys[] = {
        RULE_KEY("profile", CONF_TYPE_NAME, profile),
        RULE_KEY("user", CONF_TYPE_USER, uid),
        RULE_KEY("group", CONF_TYPE_GROUP, gid),
        RULE_KEY("command", CONF_TYPE_PATTERN, command),
        RULE_KEY("cgroup", CONF_TYPE_CGROUP_PATTERN, cgroup),
};

#define WATCH_KEY(n, t, f) { n, t, offsetof(struct conf_watch, f) }
static const struct conf_key conf_watch_keys[] = {
        WATCH_KEY("cgroup", CONF_TYPE_CGROUP_PATTERN, cgroup),
        WATCH_KEY("profile", CONF_TYPE_NAME, profile),
};

/* Room for the origins of every key of the longest table. */
#define CONF_KEYS_MAX 16
_Static_assert(ELEMENTSOF(conf_daemon_keys) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");
_Static_assert(ELEMENTSOF(conf_profile_keys) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");
_Static_assert(ELEMENTSOF(conf_rule_keys) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");
_Static_assert(ELEMENTSOF(conf_watch_keys) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");

static size_t conf_key_index(const struct conf_key *keys, size_t n_keys, const char *name) {
        for (size_t i = 0; i < n_keys; i++)
                if (strcmp(keys[i].name, name) == 0)
                        return i;
        abort(); /* a typo in this file, not in a configuration */
}
#define CONF_KEY_INDEX(table, name) conf_key_index(table, ELEMENTSOF(table), name)

/* Where a key was set: duplicates name the first place, cross-checks point at the key's own line. */
struct conf_origin {
        const char *file;               /* one of conf_parser.files */
        unsigned line;                  /* 0 = not set */
        bool invalid;                   /* set, but to garbage: cross-checks skip it, it has its error */
};

struct conf_origins {
        struct conf_origin keys[CONF_KEYS_MAX];
};

/* Where a message belongs, so they can be listed in file order: the cross-checks after the last file
 * find problems at any line of any file. */
struct conf_error_order {
        size_t file;                    /* index in conf_parser.files */
        unsigned line;
        size_t seq;                     /* keeps the order of messages about one line */
        char *message;                  /* borrowed, for sorting */
};

struct conf_parser {
        struct conf *conf;
        struct conf_errors *errors;     /* may be NULL: then only counted */
        size_t n_errors;
        size_t errors_base;             /* errors->n before this load: older messages stay put */
        struct conf_error_order *order; /* one per message this load added */
        bool oom;
        uint64_t host_ram_bytes;

        /* Parallel to conf->profiles, rules and watches. */
        struct conf_origins daemon_origins;
        struct conf_origins *profile_origins;
        struct conf_origins *rule_origins;
        struct conf_origins *watch_origins;
        bool default_redefined;         /* a [profile default] was read: a second one is a duplicate */

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
};

static const char *const conf_action_table[_CONF_ACTION_MAX] = {
        [CONF_ACTION_KILL] = "kill",
        [CONF_ACTION_FREEZE] = "freeze",
};

const char *conf_action_to_string(enum conf_action a) {
        return a >= 0 && a < _CONF_ACTION_MAX ? conf_action_table[a] : NULL;
}

static const struct {
        const char *name;
        int level;
} conf_log_level_table[] = {
        { "err", LOG_ERR },
        { "warning", LOG_WARNING },
        { "notice", LOG_NOTICE },
        { "info", LOG_INFO },
        { "debug", LOG_DEBUG },
};

static const char *conf_log_level_to_string(int level) {
        for (size_t i = 0; i < ELEMENTSOF(conf_log_level_table); i++)
                if (conf_log_level_table[i].level == level)
                        return conf_log_level_table[i].name;
        return NULL;
}

void conf_errors_done(struct conf_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->messages[i]);
        free(e->messages);
        *e = (struct conf_errors) {};
}

static void conf_profile_done(struct conf_profile *p) {
        free(p->name);
        free(p->pre_kill_hook);
        free(p->post_kill_hook);
        free(p->file);
}

static void conf_rule_done(struct conf_rule *r) {
        free(r->name);
        free(r->profile);
        free(r->command);
        free(r->cgroup);
        free(r->file);
}

static void conf_watch_done(struct conf_watch *w) {
        free(w->name);
        free(w->cgroup);
        free(w->profile);
        free(w->file);
}

struct conf *conf_free(struct conf *c) {
        if (!c)
                return NULL;

        free(c->daemon.socket_path);
        free(c->daemon.state_dir);
        free(c->daemon.default_profile);
        free(c->daemon.cgroup_parent);
        for (size_t i = 0; i < c->n_profiles; i++)
                conf_profile_done(&c->profiles[i]);
        free(c->profiles);
        for (size_t i = 0; i < c->n_rules; i++)
                conf_rule_done(&c->rules[i]);
        free(c->rules);
        for (size_t i = 0; i < c->n_watches; i++)
                conf_watch_done(&c->watches[i]);
        free(c->watches);
        free(c);
        return NULL;
}

static void conf_profile_init(struct conf_profile *p) {
        *p = (struct conf_profile) {
                .kill_threshold = POLICY_DEFAULT_KILL_THRESHOLD,
                .grace_usec = POLICY_DEFAULT_GRACE_USEC,
                .warn_every_usec = POLICY_DEFAULT_WARN_EVERY_USEC,
                .action = CONF_ACTION_KILL,
                .hook_timeout_usec = CONF_DEFAULT_HOOK_TIMEOUT_USEC,
        };
}

int conf_new_default(struct conf **ret) {
        _cleanup_(conf_freep) struct conf *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        c->daemon = (struct conf_daemon) {
                .interval_usec = CONF_DEFAULT_INTERVAL_USEC,
                .socket_path = strdup(CONF_DEFAULT_SOCKET_PATH),
                .state_dir = strdup(CONF_DEFAULT_STATE_DIR),
                .log_level = LOG_INFO,
                .default_profile = strdup(CONF_DEFAULT_PROFILE),
                .cgroup_parent = strdup(""),
        };
        if (!c->daemon.socket_path || !c->daemon.state_dir || !c->daemon.default_profile ||
            !c->daemon.cgroup_parent)
                return -ENOMEM;

        /* The built-in profile: no limits, so a job no rule matches is watched and reported on, never
         * killed, until the administrator decides otherwise. */
        c->profiles = calloc(1, sizeof(struct conf_profile));
        if (!c->profiles)
                return -ENOMEM;
        conf_profile_init(&c->profiles[0]);
        c->profiles[0].name = strdup(CONF_DEFAULT_PROFILE);
        if (!c->profiles[0].name) {
                free(c->profiles);
                c->profiles = NULL;
                return -ENOMEM;
        }
        c->n_profiles = 1;

        *ret = TAKE_PTR(c);
        return 0;
}

/* s for a message: at most CONF_QUOTE_MAX bytes, control bytes as \xNN, so a binary file or a
 * terminal escape in a file cannot garble the daemon's log. */
static const char *conf_quote(char buf[static CONF_QUOTE_SIZE], const char *s) {
        size_t n = 0, i;

        for (i = 0; i < CONF_QUOTE_MAX && s[i]; i++) {
                unsigned char ch = (unsigned char) s[i];

                if (ch < 0x20 || ch == 0x7f || ch == '\\')
                        n += (size_t) snprintf(buf + n, CONF_QUOTE_SIZE - n, "\\x%02x", ch);
                else
                        buf[n++] = (char) ch;
        }
        if (s[i])
                n += (size_t) snprintf(buf + n, CONF_QUOTE_SIZE - n, "...");
        buf[n] = 0;
        return buf;
}

_printf_(4, 0) static void conf_parser_errorv(struct conf_parser *p, const char *file, unsigned line,
                                              const char *format, va_list ap) {
        _cleanup_free_ char *what = NULL, *msg = NULL;
        struct conf_error_order order = {}, *o;
        char qfile[CONF_QUOTE_SIZE];
        char **m;
        int r;

        p->n_errors++;
        if (!p->errors || p->n_errors > CONF_ERRORS_MAX + 1)
                return;

        order.seq = p->n_errors;
        order.line = line;
        for (order.file = 0; order.file < p->n_files; order.file++)
                if (p->files[order.file] == file || streq(p->files[order.file], file))
                        break;

        if (p->n_errors == CONF_ERRORS_MAX + 1) {
                /* The last word, wherever the error was. */
                order.file = SIZE_MAX;
                r = asprintf(&msg, "%s:%u: more than %d errors, the rest are not listed",
                             conf_quote(qfile, file), line, CONF_ERRORS_MAX);
        } else {
                if (vasprintf(&what, format, ap) < 0) {
                        what = NULL;
                        p->oom = true;
                        return;
                }
                if (line > 0)
                        r = asprintf(&msg, "%s:%u: %s", conf_quote(qfile, file), line, what);
                else
                        r = asprintf(&msg, "%s: %s", conf_quote(qfile, file), what);
        }
        if (r < 0) {
                msg = NULL;
                p->oom = true;
                return;
        }

        o = reallocarray(p->order, p->errors->n - p->errors_base + 1, sizeof(struct conf_error_order));
        if (!o) {
                p->oom = true;
                return;
        }
        p->order = o;
        m = reallocarray(p->errors->messages, p->errors->n + 1, sizeof(char *));
        if (!m) {
                p->oom = true;
                return;
        }
        p->errors->messages = m;
        order.message = msg;
        o[p->errors->n - p->errors_base] = order;
        m[p->errors->n++] = TAKE_PTR(msg);
}

static int conf_error_order_compare(const void *a, const void *b) {
        const struct conf_error_order *x = a, *y = b;

        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void conf_parser_sort_errors(struct conf_parser *p) {
        size_t n;

        if (!p->errors || p->errors->n <= p->errors_base)
                return;
        n = p->errors->n - p->errors_base;
        qsort(p->order, n, sizeof(struct conf_error_order), conf_error_order_compare);
        for (size_t i = 0; i < n; i++)
                p->errors->messages[p->errors_base + i] = p->order[i].message;
}

_printf_(4, 5) static void conf_parser_error_at(struct conf_parser *p, const char *file, unsigned line,
                                                 const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        conf_parser_errorv(p, file, line, format, ap);
        va_end(ap);
}

/* An error on the line being read. */
_printf_(2, 3) static void conf_parser_error(struct conf_parser *p, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        conf_parser_errorv(p, p->file, p->line, format, ap);
        va_end(ap);
}

static bool conf_name_is_valid(const char *s) {
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");

        /* "." and ".." would be path tricks where a name becomes part of a file or cgroup name. */
        return n > 0 && n <= CONF_NAME_MAX && s[n] == 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* "[profile big]" for messages. */
#define CONF_LABEL_SIZE (CONF_NAME_MAX + 16)
static const char *conf_label(char buf[static CONF_LABEL_SIZE], enum conf_section_kind kind,
                              const char *name) {
        static const char *const kinds[] = {
                [CONF_SECTION_PROFILE] = "profile",
                [CONF_SECTION_RULE] = "rule",
                [CONF_SECTION_WATCH] = "watch",
        };

        if (kind == CONF_SECTION_DAEMON)
                snprintf(buf, CONF_LABEL_SIZE, "[daemon]");
        else
                snprintf(buf, CONF_LABEL_SIZE, "[%s %s]", kinds[kind], name);
        return buf;
}

struct conf_section {
        const struct conf_key *keys;
        size_t n_keys;
        void *base;
        struct conf_origins *origins;
        const char *name;               /* NULL for [daemon] */
};

static struct conf_section conf_parser_section(struct conf_parser *p, enum conf_section_kind kind,
                                               size_t index) {
        struct conf *c = p->conf;

        switch (kind) {
        case CONF_SECTION_DAEMON:
                return (struct conf_section) { conf_daemon_keys, ELEMENTSOF(conf_daemon_keys), &c->daemon,
                                               &p->daemon_origins, NULL };
        case CONF_SECTION_PROFILE:
                return (struct conf_section) { conf_profile_keys, ELEMENTSOF(conf_profile_keys),
                                               &c->profiles[index], &p->profile_origins[index],
                                               c->profiles[index].name };
        case CONF_SECTION_RULE:
                return (struct conf_section) { conf_rule_keys, ELEMENTSOF(conf_rule_keys), &c->rules[index],
                                               &p->rule_origins[index], c->rules[index].name };
        case CONF_SECTION_WATCH:
                return (struct conf_section) { conf_watch_keys, ELEMENTSOF(conf_watch_keys),
                                               &c->watches[index], &p->watch_origins[index],
                                               c->watches[index].name };
        default:
                return (struct conf_section) {};
        }
}

static const char *conf_skip_blanks(const char *s) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
                s++;
        return s;
}

static void conf_strip_blanks_end(char *s) {
        size_t n = strlen(s);

        while (n > 0 && strchr(" \t\r\f\v", s[n - 1]))
                s[--n] = 0;
}

/* Appends one zeroed element to *array (n elements of size) and its origins. */
static int conf_grow(void **array, size_t n, size_t size, struct conf_origins **origins) {
        void *a;
        struct conf_origins *o;

        a = reallocarray(*array, n + 1, size);
        if (!a)
                return -ENOMEM;
        *array = a;
        memset((uint8_t *) a + n * size, 0, size);

        o = reallocarray(*origins, n + 1, sizeof(struct conf_origins));
        if (!o)
                return -ENOMEM;
        *origins = o;
        o[n] = (struct conf_origins) {};
        return 0;
}

/* The profile called name, or NULL. */
static const struct conf_profile *conf_find_profile(const struct conf *c, const char *name) {
        for (size_t i = 0; i < c->n_profiles; i++)
                if (streq(c->profiles[i].name, name))
                        return &c->profiles[i];
        return NULL;
}

/* A new named section: its struct with defaults, its name and its origin. Reports duplicates. */
static int conf_parser_new_section(struct conf_parser *p, enum conf_section_kind kind, const char *name) {
        struct conf *c = p->conf;
        const char *prev_file = NULL;
        unsigned prev_line = 0;
        char label[CONF_LABEL_SIZE];
        char **namep, **filep;
        unsigned *linep;
        int r;

        switch (kind) {
        case CONF_SECTION_PROFILE:
                for (size_t i = 0; i < c->n_profiles; i++)
                        if (streq(c->profiles[i].name, name) && (i > 0 || p->default_redefined)) {
                                prev_file = c->profiles[i].file;
                                prev_line = c->profiles[i].line;
                        }
                break;
        case CONF_SECTION_RULE:
                for (size_t i = 0; i < c->n_rules; i++)
                        if (streq(c->rules[i].name, name)) {
                                prev_file = c->rules[i].file;
                                prev_line = c->rules[i].line;
                        }
                break;
        case CONF_SECTION_WATCH:
                for (size_t i = 0; i < c->n_watches; i++)
                        if (streq(c->watches[i].name, name)) {
                                prev_file = c->watches[i].file;
                                prev_line = c->watches[i].line;
                        }
                break;
        default:
                return -EINVAL;
        }
        if (prev_file) {
                /* A second definition would either merge or replace, and either surprises someone. */
                conf_parser_error(p, "%s already defined at %s:%u (expected each name once across all files)",
                                  conf_label(label, kind, name), prev_file, prev_line);
                return -EEXIST;
        }

        switch (kind) {
        case CONF_SECTION_PROFILE:
                if (streq(name, CONF_DEFAULT_PROFILE)) {
                        /* The built-in stays first, now with the file's values. */
                        p->index = 0;
                        p->default_redefined = true;
                } else {
                        r = conf_grow((void **) &c->profiles, c->n_profiles, sizeof(struct conf_profile),
                                      &p->profile_origins);
                        if (r < 0)
                                return r;
                        conf_profile_init(&c->profiles[c->n_profiles]);
                        p->index = c->n_profiles++;
                }
                namep = &c->profiles[p->index].name;
                filep = &c->profiles[p->index].file;
                linep = &c->profiles[p->index].line;
                break;
        case CONF_SECTION_RULE:
                r = conf_grow((void **) &c->rules, c->n_rules, sizeof(struct conf_rule), &p->rule_origins);
                if (r < 0)
                        return r;
                c->rules[c->n_rules].uid = (uid_t) -1;
                c->rules[c->n_rules].gid = (gid_t) -1;
                p->index = c->n_rules++;
                namep = &c->rules[p->index].name;
                filep = &c->rules[p->index].file;
                linep = &c->rules[p->index].line;
                break;
        case CONF_SECTION_WATCH:
                r = conf_grow((void **) &c->watches, c->n_watches, sizeof(struct conf_watch),
                              &p->watch_origins);
                if (r < 0)
                        return r;
                p->index = c->n_watches++;
                namep = &c->watches[p->index].name;
                filep = &c->watches[p->index].file;
                linep = &c->watches[p->index].line;
                break;
        default:
                return -EINVAL;
        }

        /* On a failure below the new element is counted with NULL strings: conf_free() takes them, and
         * nothing else looks at it, because the reader stops at the first allocation failure. */
        if (!*namep) {
                *namep = strdup(name);
                if (!*namep)
                        return -ENOMEM;
        }
        free(*filep);
        *filep = strdup(p->file);
        if (!*filep)
                return -ENOMEM;
        *linep = p->line;

        p->kind = kind;
        return 0;
}

#define CONF_SECTIONS_EXPECTED "[daemon], [profile NAME], [rule NAME] or [watch NAME]"

/* A "[...]" line, seen by the reader and never by inih: inih cuts section names at 49 characters,
 * keeps filing keys under the previous section after a header without ']', and says nothing about a
 * section without keys. Here every header is checked whole and counts, empty or not. */
static void conf_parser_header(struct conf_parser *p, char *s) {
        char q[CONF_QUOTE_SIZE];
        char *end, *kind, *name;
        const char *after;
        int r;

        /* Until the header proves good, its keys are skipped: they belong to no section we know. */
        p->kind = CONF_SECTION_INVALID;

        conf_strip_blanks_end(s);
        end = strchr(s, ']');
        if (!end) {
                conf_parser_error(p, "section header '%s' has no closing ']' (expected "
                                  CONF_SECTIONS_EXPECTED ")", conf_quote(q, s));
                return;
        }
        after = conf_skip_blanks(end + 1);
        if (*after) {
                conf_parser_error(p, "unexpected '%s' after the section header (expected nothing after ']'; "
                                  "comments go on lines of their own)", conf_quote(q, after));
                return;
        }
        *end = 0;

        kind = (char *) conf_skip_blanks(s + 1);
        conf_strip_blanks_end(kind);
        name = kind + strcspn(kind, " \t\r\f\v");
        if (*name) {
                *name++ = 0;
                name = (char *) conf_skip_blanks(name);
        }

        if (streq(kind, "daemon")) {
                if (*name) {
                        conf_parser_error(p, "section [daemon] takes no name, found '%s' (expected [daemon])",
                                          conf_quote(q, name));
                        return;
                }
                p->kind = CONF_SECTION_DAEMON;
                return;
        }

        enum conf_section_kind k = streq(kind, "profile") ? CONF_SECTION_PROFILE :
                                   streq(kind, "rule")    ? CONF_SECTION_RULE :
                                   streq(kind, "watch")   ? CONF_SECTION_WATCH :
                                                            CONF_SECTION_INVALID;
        if (k == CONF_SECTION_INVALID) {
                if (*kind == 0)
                        conf_parser_error(p, "empty section header (expected " CONF_SECTIONS_EXPECTED ")");
                else
                        conf_parser_error(p, "unknown section '%s' (expected " CONF_SECTIONS_EXPECTED ")",
                                          conf_quote(q, kind));
                return;
        }
        if (*name == 0) {
                conf_parser_error(p, "section [%s] needs a name (expected [%s NAME])", kind, kind);
                return;
        }
        if (!conf_name_is_valid(name)) {
                conf_parser_error(p, "invalid %s name '%s' (expected 1 to %d of A-Z a-z 0-9 _ . -)", kind,
                                  conf_quote(q, name), CONF_NAME_MAX);
                return;
        }

        r = conf_parser_new_section(p, k, name);
        if (r == -ENOMEM)
                p->oom = true;
}

/* inih's fgets-like reader: one line per call, counted, so the handler knows FILE:LINE. Lines are read
 * whole with getline(): one longer than CONF_LINE_MAX is an error here, where inih would quietly read
 * it as two lines. */
static char *conf_reader(char *str, int num, void *userdata) {
        struct conf_parser *p = userdata;
        size_t len, visible, limit;
        const char *t;
        ssize_t n;
        char *s;

        /* Out of memory, nothing more can be recorded: stop, conf_load() returns -ENOMEM. */
        if (p->oom)
                return NULL;

        errno = 0;
        n = getline(&p->buf, &p->buf_size, p->f);
        if (n < 0) {
                if (ferror(p->f))
                        p->read_errno = errno > 0 ? errno : EIO;
                return NULL;
        }
        p->line++;

        len = (size_t) n;
        if (len > 0 && p->buf[len - 1] == '\n')
                p->buf[--len] = 0;
        visible = len > 0 && p->buf[len - 1] == '\r' ? len - 1 : len;

        /* inih needs room for the line, its "\n" and the NUL. */
        limit = num > 3 ? MIN((size_t) CONF_LINE_MAX, (size_t) num - 3) : 0;

        s = p->buf;
        /* A UTF-8 byte order mark, as some editors write, is not part of the first line. */
        if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
                s += 3;
        t = conf_skip_blanks(s);

        if (*t == '#' || *t == ';')
                /* A comment of any length or content: inih would skip it anyway. */
                s = (char *) "";
        else if (strlen(p->buf) != len) {
                conf_parser_error(p, "line contains a NUL byte (expected text)");
                s = (char *) "";
        } else if (visible > limit) {
                conf_parser_error(p, "line too long, %zu bytes (expected at most %zu)", visible, limit);
                s = (char *) "";
        } else if (*t == '[') {
                conf_parser_header(p, (char *) t);
                s = (char *) "";
        }

        /* A handled line still goes to inih, as an empty one, so inih's line count stays ours. */
        snprintf(str, (size_t) num, "%s\n", s);
        return str;
}

static int conf_parse_uid_or_gid(const char *s, uint32_t *ret) {
        uint64_t v = 0;

        if (*s == 0 || strspn(s, "0123456789") != strlen(s))
                return -ENOENT;
        for (; *s; s++) {
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > UINT32_MAX)
                        return -ERANGE;
        }
        /* -1 is "nobody in particular" to the kernel and "any" to us: never a real id. */
        if (v == UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

/* getpwnam_r()/getgrnam_r() report "no such entry" as 0 with no result or as one of these. */
static bool conf_errno_is_not_found(int r) {
        return r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM;
}

static int conf_lookup_user(const char *s, uid_t *ret) {
        struct passwd pw, *result = NULL;
        _cleanup_free_ char *buf = NULL;
        uint32_t id;
        size_t size = 1024;
        int r;

        /* Numbers are ids, as chown(1) reads them: a job's uid may have no name in this host's NSS. */
        r = conf_parse_uid_or_gid(s, &id);
        if (r != -ENOENT) {
                if (r == 0)
                        *ret = (uid_t) id;
                return r;
        }

        for (;;) {
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getpwnam_r(s, &pw, buf, size, &result);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                free(TAKE_PTR(buf));
                size *= 4;
        }
        if (result) {
                *ret = pw.pw_uid;
                return 0;
        }
        return conf_errno_is_not_found(r) ? -ENOENT : -r;
}

static int conf_lookup_group(const char *s, gid_t *ret) {
        struct group gr, *result = NULL;
        _cleanup_free_ char *buf = NULL;
        uint32_t id;
        size_t size = 1024;
        int r;

        r = conf_parse_uid_or_gid(s, &id);
        if (r != -ENOENT) {
                if (r == 0)
                        *ret = (gid_t) id;
                return r;
        }

        for (;;) {
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(s, &gr, buf, size, &result);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                free(TAKE_PTR(buf));
                size *= 4;
        }
        if (result) {
                *ret = gr.gr_gid;
                return 0;
        }
        return conf_errno_is_not_found(r) ? -ENOENT : -r;
}

/* A cgroup path as the daemon will use it: absolute, no empty, "." or ".." components, no trailing
 * slash except for the root itself. */
static bool conf_cgroup_path_is_valid(const char *s) {
        const char *c;

        if (*s != '/')
                return false;
        if (streq(s, "/"))
                return true;
        for (c = s + 1;; ) {
                size_t n = strcspn(c, "/");

                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += n;
                if (*c == 0)
                        return true;
                c++;
        }
}

static int conf_set_string(char **field, const char *value) {
        char *s = NULL;

        if (value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*field);
        *field = s;
        return 0;
}

/* Parses value as type into field. -EINVAL (garbage), -ERANGE, -ENOENT (no such user or group),
 * -EDOM (a percentage with no RAM size to take it of), -ENOMEM, or the -errno of a failed lookup. */
static int conf_parse_value(enum conf_type type, const char *value, uint64_t host_ram_bytes, void *field) {
        uint64_t u;
        double d;
        int r;

        switch (type) {
        case CONF_TYPE_SIZE:
        case CONF_TYPE_RATE: {
                _cleanup_free_ char *copy = strdup(value);
                size_t n;

                if (!copy)
                        return -ENOMEM;
                n = strlen(copy);
                if (type == CONF_TYPE_RATE && n >= 2 && streq(copy + n - 2, "/s"))
                        copy[n - 2] = 0;
                else if (streq(copy, "off")) {
                        *(uint64_t *) field = 0;
                        return 0;
                }
                r = units_parse_size(copy, host_ram_bytes, &u);
                if (r == -ERANGE && host_ram_bytes == 0 && n > 0 && strchr(copy, '%'))
                        return -EDOM;
                if (r < 0)
                        return r;
                *(uint64_t *) field = u;
                return 0;
        }

        case CONF_TYPE_RATIO_OFF:
                if (streq(value, "off")) {
                        *(double *) field = 0;
                        return 0;
                }
                /* fall through */
        case CONF_TYPE_RATIO:
                r = units_parse_ratio(value, &d);
                if (r < 0)
                        return r;
                *(double *) field = d;
                return 0;

        case CONF_TYPE_DURATION_OFF:
        case CONF_TYPE_INTERVAL:
                if (streq(value, type == CONF_TYPE_INTERVAL ? "adaptive" : "off")) {
                        *(uint64_t *) field = 0;
                        return 0;
                }
                /* fall through */
        case CONF_TYPE_DURATION:
        case CONF_TYPE_TIMEOUT:
                r = units_parse_duration(value, &u);
                if (r < 0)
                        return r;
                if (type == CONF_TYPE_TIMEOUT && u == 0)
                        return -ERANGE;
                if (type == CONF_TYPE_INTERVAL && u > 0 && u < CONF_INTERVAL_MIN_USEC)
                        return -ERANGE;
                *(uint64_t *) field = u;
                return 0;

        case CONF_TYPE_ACTION:
                for (enum conf_action a = 0; a < _CONF_ACTION_MAX; a++)
                        if (streq(value, conf_action_table[a])) {
                                *(enum conf_action *) field = a;
                                return 0;
                        }
                return -EINVAL;

        case CONF_TYPE_LOG_LEVEL:
                for (size_t i = 0; i < ELEMENTSOF(conf_log_level_table); i++)
                        if (streq(value, conf_log_level_table[i].name)) {
                                *(int *) field = conf_log_level_table[i].level;
                                return 0;
                        }
                return -EINVAL;

        case CONF_TYPE_SOCKET:
                if (value[0] != '/')
                        return -EINVAL;
                if (strlen(value) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                        return -ERANGE;
                return conf_set_string(field, value);

        case CONF_TYPE_PATH:
                if (value[0] != '/')
                        return -EINVAL;
                return conf_set_string(field, value);

        case CONF_TYPE_CGROUP_PATH:
                if (*value && !conf_cgroup_path_is_valid(value))
                        return -EINVAL;
                return conf_set_string(field, value);

        case CONF_TYPE_COMMAND:
                return conf_set_string(field, *value ? value : NULL);

        case CONF_TYPE_PATTERN:
                if (*value == 0)
                        return -EINVAL;
                return conf_set_string(field, value);

        case CONF_TYPE_CGROUP_PATTERN:
                /* fnmatch(FNM_PATHNAME) never lets a leading '*' match the leading '/' of a cgroup path:
                 * a relative pattern would silently match nothing. */
                if (value[0] != '/')
                        return -EINVAL;
                return conf_set_string(field, value);

        case CONF_TYPE_NAME:
                if (!conf_name_is_valid(value))
                        return -EINVAL;
                return conf_set_string(field, value);

        case CONF_TYPE_USER:
                return conf_lookup_user(value, field);

        case CONF_TYPE_GROUP:
                return conf_lookup_group(value, field);

        default:
                return -EINVAL;
        }
}

static void conf_key_list(char *buf, size_t size, const struct conf_key *keys, size_t n_keys) {
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n_keys && used < size; i++)
                used += (size_t) snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "", keys[i].name);
}

/* inih's handler: one "name = value" line of the section the reader saw last. inih's own idea of the
 * section is not used (see conf_parser_header()). Always returns 1: errors are collected here, and
 * inih's "first error line" would only repeat one of them. */
static int conf_handler(void *userdata, const char *section, const char *name, const char *value) {
        struct conf_parser *p = userdata;
        char label[CONF_LABEL_SIZE], q[CONF_QUOTE_SIZE], list[512];
        struct conf_section sec;
        const struct conf_key *key = NULL;
        struct conf_origin *origin;
        const char *what, *expected;
        enum conf_type type;
        int r;

        if (p->oom || p->kind == CONF_SECTION_INVALID)
                return 1;

        if (p->kind == CONF_SECTION_NONE) {
                conf_parser_error(p, "'%s' outside of any section (expected a " CONF_SECTIONS_EXPECTED
                                  " line before it)", conf_quote(q, name));
                return 1;
        }

        sec = conf_parser_section(p, p->kind, p->index);
        conf_label(label, p->kind, sec.name);

        if (!value) {
                conf_parser_error(p, "%s '%s' is not a setting (expected KEY = VALUE)", label,
                                  conf_quote(q, name));
                return 1;
        }
        if (*name == 0) {
                conf_parser_error(p, "%s missing key name before '=' (expected KEY = VALUE)", label);
                return 1;
        }

        for (size_t i = 0; i < sec.n_keys; i++)
                if (streq(sec.keys[i].name, name)) {
                        key = &sec.keys[i];
                        break;
                }
        if (!key) {
                conf_key_list(list, sizeof(list), sec.keys, sec.n_keys);
                conf_parser_error(p, "%s unknown key '%s' (expected one of %s)", label, conf_quote(q, name),
                                  list);
                return 1;
        }

        origin = &sec.origins->keys[key - sec.keys];
        if (origin->line > 0) {
                /* inih hands over a repeated key like a new one: the first would be lost without a word. */
                conf_parser_error(p, "%s %s: duplicate key (first set at %s:%u)", label, key->name,
                                  origin->file, origin->line);
                return 1;
        }
        *origin = (struct conf_origin) { p->file, p->line, false };

        type = key->type;
        what = conf_type_table[type].what;
        expected = conf_type_table[type].expected;
        conf_quote(q, value);
        r = conf_parse_value(type, value, p->host_ram_bytes, (uint8_t *) sec.base + key->offset);
        origin->invalid = r < 0;
        switch (r) {
        case 0:
                break;
        case -ENOMEM:
                p->oom = true;
                break;
        case -EINVAL:
                conf_parser_error(p, "%s %s: invalid %s '%s' (expected %s)", label, key->name, what, q,
                                  expected);
                break;
        case -ERANGE:
                conf_parser_error(p, "%s %s: %s '%s' out of range (expected %s)", label, key->name, what, q,
                                  expected);
                break;
        case -ENOENT:
                conf_parser_error(p, "%s %s: unknown %s '%s' (expected %s)", label, key->name, what, q,
                                  expected);
                break;
        case -EDOM:
                conf_parser_error(p, "%s %s: '%s' is a share of the host's memory, whose size is unknown "
                                  "(expected an absolute size such as 8G)", label, key->name, q);
                break;
        default:
                conf_parser_error(p, "%s %s: cannot look up %s '%s': %s (expected %s)", label, key->name,
                                  what, q, strerror(-r), expected);
                break;
        }
        return 1;
}

static int conf_parser_add_file(struct conf_parser *p, const char *name) {
        char **f, *s;

        s = strdup(name);
        if (!s)
                return -ENOMEM;
        f = reallocarray(p->files, p->n_files + 1, sizeof(char *));
        if (!f) {
                free(s);
                return -ENOMEM;
        }
        p->files = f;
        p->files[p->n_files++] = s;
        p->file = s;
        return 0;
}

static void conf_parser_stream(struct conf_parser *p, FILE *f) {
        int r;

        p->f = f;
        p->line = 0;
        p->read_errno = 0;
        /* A section never continues into the next file: keys before a file's first header are errors. */
        p->kind = CONF_SECTION_NONE;

#if HAVE_DECL_INI_MAX_LINE
        /* Debian's libinih makes its compile-time switches globals. No continuation lines: an indented
         * line would be handed over as the previous key again. No inline comments: "a ; b" in a hook
         * is shell, not a comment. Lines without '=' reach the handler (value NULL), so each one is
         * reported, not only the first. memguard has no other inih user to disturb. */
        ini_max_line = CONF_LINE_MAX + 3;
        ini_allow_multiline = false;
        ini_allow_inline_comments = false;
        ini_allow_no_value = true;
#endif

        r = ini_parse_stream(conf_reader, p, conf_handler, p);
        if (r == -2)
                p->oom = true;
        else if (r > 0)
                /* Only an inih built without Debian's switches gets here: a line without '=' it kept
                 * from the handler. */
                conf_parser_error_at(p, p->file, (unsigned) r, "syntax error (expected KEY = VALUE or a "
                                     CONF_SECTIONS_EXPECTED " line)");

        if (p->read_errno > 0)
                conf_parser_error_at(p, p->file, 0, "cannot read: %s", strerror(p->read_errno));
        p->f = NULL;
}

static void conf_parser_file(struct conf_parser *p, const char *path) {
        FILE *f;

        if (conf_parser_add_file(p, path) < 0) {
                p->oom = true;
                return;
        }

        f = fopen(path, "re");
        if (!f) {
                conf_parser_error_at(p, path, 0, "cannot open: %s", strerror(errno));
                return;
        }
        conf_parser_stream(p, f);
        fclose(f);
}

static int conf_dropin_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        /* Hidden files are editors' and package managers' leftovers (.foo.conf.swp, .dpkg-new). */
        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

/* Byte order, not alphasort()'s strcoll(): the order must not depend on the daemon's locale. */
static int conf_dropin_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static void conf_parser_dropins(struct conf_parser *p, const char *dir) {
        struct dirent **list = NULL;
        size_t dirlen = strlen(dir);
        int n;

        n = scandir(dir, &list, conf_dropin_filter, conf_dropin_compare);
        if (n < 0) {
                if (errno == ENOENT)
                        return;
                conf_parser_error_at(p, dir, 0, "cannot read directory: %s", strerror(errno));
                return;
        }

        /* "conf.d/" and "conf.d" name their files the same way. */
        while (dirlen > 1 && dir[dirlen - 1] == '/')
                dirlen--;

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%.*s/%s", (int) dirlen, dir, list[i]->d_name) < 0) {
                        path = NULL;
                        p->oom = true;
                } else if (!p->oom)
                        conf_parser_file(p, path);
                free(list[i]);
        }
        free(list);
}

/* ", "-separated names of the profiles, for "unknown profile" messages. */
static void conf_profile_list(char *buf, size_t size, const struct conf *c) {
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < c->n_profiles && used < size; i++) {
                if (i == CONF_LIST_NAMES_MAX) {
                        snprintf(buf + used, size - used, ", ...");
                        break;
                }
                used += (size_t) snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "",
                                          c->profiles[i].name);
        }
}

#define CONF_RATIO_MAX 24
static const char *conf_format_ratio(char buf[static CONF_RATIO_MAX], double v);

/* After all files: what one section cannot know alone. */
static void conf_parser_check(struct conf_parser *p) {
        const size_t warn_at_key = CONF_KEY_INDEX(conf_profile_keys, "warn-at"),
                     max_memory_key = CONF_KEY_INDEX(conf_profile_keys, "max-memory"),
                     kill_threshold_key = CONF_KEY_INDEX(conf_profile_keys, "kill-threshold"),
                     rule_profile_key = CONF_KEY_INDEX(conf_rule_keys, "profile"),
                     watch_cgroup_key = CONF_KEY_INDEX(conf_watch_keys, "cgroup"),
                     watch_profile_key = CONF_KEY_INDEX(conf_watch_keys, "profile"),
                     default_profile_key = CONF_KEY_INDEX(conf_daemon_keys, "default-profile");
        struct conf *c = p->conf;
        char label[CONF_LABEL_SIZE], list[CONF_LIST_NAMES_MAX * (CONF_NAME_MAX + 2) + 8];
        char r1[CONF_RATIO_MAX], r2[CONF_RATIO_MAX];

        conf_profile_list(list, sizeof(list), c);

        for (size_t i = 0; i < c->n_profiles; i++) {
                const struct conf_profile *pr = &c->profiles[i];
                const struct conf_origins *o = &p->profile_origins[i];
                const struct conf_origin *warn_at = &o->keys[warn_at_key];

                /* Against a value that did not parse, a check would only repeat that error. */
                if (pr->warn_at <= 0 || o->keys[max_memory_key].invalid ||
                    o->keys[kill_threshold_key].invalid)
                        continue;
                conf_label(label, CONF_SECTION_PROFILE, pr->name);
                /* policy_limits_validate() agrees: a warning ratio needs something to be a ratio of. */
                if (pr->max_memory == 0)
                        conf_parser_error_at(p, warn_at->file, warn_at->line,
                                             "%s warn-at: a ratio of max-memory, which is not set "
                                             "(expected max-memory = SIZE in this profile, or warn-at = off)",
                                             label);
                else if (pr->warn_at >= pr->kill_threshold)
                        conf_parser_error_at(p, warn_at->file, warn_at->line,
                                             "%s warn-at: %s is not below kill-threshold %s "
                                             "(expected warn-at < kill-threshold)",
                                             label, conf_format_ratio(r1, pr->warn_at),
                                             conf_format_ratio(r2, pr->kill_threshold));
        }

        for (size_t i = 0; i < c->n_rules; i++) {
                const struct conf_rule *r = &c->rules[i];
                const struct conf_origin *o = &p->rule_origins[i].keys[rule_profile_key];

                conf_label(label, CONF_SECTION_RULE, r->name);
                if (o->line == 0)
                        conf_parser_error_at(p, r->file, r->line,
                                             "%s missing key 'profile' (expected profile = NAME)", label);
                else if (r->profile && !conf_find_profile(c, r->profile))
                        conf_parser_error_at(p, o->file, o->line,
                                             "%s profile: no such profile '%s' (expected one of %s)", label,
                                             r->profile, list);
        }

        for (size_t i = 0; i < c->n_watches; i++) {
                const struct conf_watch *w = &c->watches[i];
                const struct conf_origin *cg = &p->watch_origins[i].keys[watch_cgroup_key],
                                         *o = &p->watch_origins[i].keys[watch_profile_key];

                conf_label(label, CONF_SECTION_WATCH, w->name);
                if (cg->line == 0)
                        conf_parser_error_at(p, w->file, w->line,
                                             "%s missing key 'cgroup' (expected cgroup = PATTERN)", label);
                if (o->line == 0)
                        conf_parser_error_at(p, w->file, w->line,
                                             "%s missing key 'profile' (expected profile = NAME)", label);
                else if (w->profile && !conf_find_profile(c, w->profile))
                        conf_parser_error_at(p, o->file, o->line,
                                             "%s profile: no such profile '%s' (expected one of %s)", label,
                                             w->profile, list);
        }

        const struct conf_origin *dp = &p->daemon_origins.keys[default_profile_key];
        if (dp->line > 0 && c->daemon.default_profile && !conf_find_profile(c, c->daemon.default_profile))
                conf_parser_error_at(p, dp->file, dp->line,
                                     "[daemon] default-profile: no such profile '%s' (expected one of %s)",
                                     c->daemon.default_profile, list);
}

static void conf_parser_done(struct conf_parser *p) {
        conf_free(p->conf);
        free(p->profile_origins);
        free(p->rule_origins);
        free(p->watch_origins);
        free(p->order);
        for (size_t i = 0; i < p->n_files; i++)
                free(p->files[i]);
        free(p->files);
        free(p->buf);
}

static int conf_parser_init(struct conf_parser *p, uint64_t host_ram_bytes, struct conf_errors *errors) {
        int r;

        *p = (struct conf_parser) {
                .errors = errors,
                .errors_base = errors ? errors->n : 0,
                .host_ram_bytes = host_ram_bytes,
        };

        r = conf_new_default(&p->conf);
        if (r < 0)
                return r;
        p->profile_origins = calloc(1, sizeof(struct conf_origins));
        if (!p->profile_origins)
                return -ENOMEM;
        return 0;
}

static int conf_parser_finish(struct conf_parser *p, struct conf **ret) {
        /* Also after other errors: a reload's report should be complete, not come in rounds. */
        if (!p->oom)
                conf_parser_check(p);
        conf_parser_sort_errors(p);
        if (p->oom)
                return -ENOMEM;
        if (p->n_errors > 0)
                return -EINVAL;

        *ret = TAKE_PTR(p->conf);
        return 0;
}

int conf_load(const char *path, const char *dropin_dir, uint64_t host_ram_bytes, struct conf **ret,
              struct conf_errors *errors) {
        _cleanup_(conf_parser_done) struct conf_parser p = {};
        int r;

        if (!path || !ret)
                return -EINVAL;

        r = conf_parser_init(&p, host_ram_bytes, errors);
        if (r < 0)
                return r;

        conf_parser_file(&p, path);
        if (dropin_dir && !p.oom)
                conf_parser_dropins(&p, dropin_dir);

        return conf_parser_finish(&p, ret);
}

int conf_load_string(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                     struct conf_errors *errors) {
        _cleanup_(conf_parser_done) struct conf_parser p = {};
        FILE *f;
        int r;

        if (!text || !name || !ret)
                return -EINVAL;

        r = conf_parser_init(&p, host_ram_bytes, errors);
        if (r < 0)
                return r;
        r = conf_parser_add_file(&p, name);
        if (r < 0)
                return r;

        if (*text) {
                f = fmemopen((void *) text, strlen(text), "r");
                if (!f)
                        return -errno;
                conf_parser_stream(&p, f);
                fclose(f);
        }

        return conf_parser_finish(&p, ret);
}

const struct conf_profile *conf_profile(const struct conf *c, const char *name) {
        if (!c || !name)
                return NULL;
        return conf_find_profile(c, name);
}

const struct conf_profile *conf_match(const struct conf *c, uid_t uid, gid_t gid, const char *command,
                                      const char *cgroup) {
        const struct conf_profile *p;

        if (!c)
                return NULL;

        for (size_t i = 0; i < c->n_rules; i++) {
                const struct conf_rule *r = &c->rules[i];

                if (r->uid != (uid_t) -1 && r->uid != uid)
                        continue;
                if (r->gid != (gid_t) -1 && r->gid != gid)
                        continue;
                if (r->command && (!command || fnmatch(r->command, command, 0) != 0))
                        continue;
                /* FNM_PATHNAME: "job_*" is a job's group, not also every step group below it. */
                if (r->cgroup && (!cgroup || fnmatch(r->cgroup, cgroup, FNM_PATHNAME) != 0))
                        continue;

                p = conf_find_profile(c, r->profile);
                if (p)
                        return p;
        }

        p = conf_find_profile(c, c->daemon.default_profile);
        return p ? p : c->n_profiles > 0 ? &c->profiles[0] : NULL;
}

const struct conf_watch *conf_match_watch(const struct conf *c, const char *cgroup) {
        if (!c || !cgroup)
                return NULL;

        for (size_t i = 0; i < c->n_watches; i++)
                if (fnmatch(c->watches[i].cgroup, cgroup, FNM_PATHNAME) == 0)
                        return &c->watches[i];
        return NULL;
}

/* The shortest decimal that units_parse_ratio() reads back as exactly v. Integer formatting only:
 * printf("%f") would follow LC_NUMERIC and write "0,8" under some locales. */
static const char *conf_format_ratio(char buf[static CONF_RATIO_MAX], double v) {
        uint64_t scale = 1;

        for (int digits = 1; digits <= 15; digits++) {
                uint64_t n, whole, frac;
                double back;
                int len;

                scale *= 10;
                n = (uint64_t) (v * (double) scale + 0.5);
                whole = n / scale;
                frac = n % scale;
                len = snprintf(buf, CONF_RATIO_MAX, "%" PRIu64 ".%0*" PRIu64, whole, digits, frac);
                /* Trailing zeros, then a bare dot, go. */
                while (len > 0 && buf[len - 1] == '0')
                        buf[--len] = 0;
                if (len > 0 && buf[len - 1] == '.')
                        buf[--len] = 0;
                if (units_parse_ratio(buf, &back) == 0 && back == v)
                        return buf;
        }
        return buf;
}

/* Exact, in the largest unit that divides it: 536870912 is "512M", 1000 is "1000B". */
static void conf_format_size(char *buf, size_t size, uint64_t bytes) {
        static const struct {
                char suffix;
                uint64_t unit;
        } units[] = {
                { 'T', 1024 * GIB },
                { 'G', GIB },
                { 'M', MIB },
                { 'K', KIB },
        };

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (bytes % units[i].unit == 0) {
                        snprintf(buf, size, "%" PRIu64 "%c", bytes / units[i].unit, units[i].suffix);
                        return;
                }
        snprintf(buf, size, "%" PRIu64 "B", bytes);
}

/* Exact, in the largest unit that divides it: "10s", "500ms", "1500ms", "2min", "1h". */
static void conf_format_duration(char *buf, size_t size, uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "h", 3600 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
        };

        if (usec == 0) {
                snprintf(buf, size, "0");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (usec % units[i].usec == 0) {
                        snprintf(buf, size, "%" PRIu64 "%s", usec / units[i].usec, units[i].suffix);
                        return;
                }
        snprintf(buf, size, "%" PRIu64 "us", usec);
}

/* One "key = value" line; a criterion that is not given shows as a comment, so every key is listed. */
static void conf_dump_key(FILE *f, const struct conf_key *key, const void *base) {
        const void *field = (const uint8_t *) base + key->offset;
        char buf[64];
        const char *s = buf;

        switch (key->type) {
        case CONF_TYPE_SIZE:
        case CONF_TYPE_RATE: {
                uint64_t v = *(const uint64_t *) field;

                if (v == 0)
                        s = "off";
                else {
                        conf_format_size(buf, sizeof(buf) - 2, v);
                        if (key->type == CONF_TYPE_RATE)
                                strcat(buf, "/s");
                }
                break;
        }
        case CONF_TYPE_RATIO:
        case CONF_TYPE_RATIO_OFF: {
                double v = *(const double *) field;

                if (v == 0)
                        s = "off";
                else
                        conf_format_ratio(buf, v);
                break;
        }
        case CONF_TYPE_DURATION:
        case CONF_TYPE_DURATION_OFF:
        case CONF_TYPE_INTERVAL:
        case CONF_TYPE_TIMEOUT: {
                uint64_t v = *(const uint64_t *) field;

                if (v == 0 && key->type == CONF_TYPE_INTERVAL)
                        s = "adaptive";
                else if (v == 0 && key->type == CONF_TYPE_DURATION_OFF)
                        s = "off";
                else
                        conf_format_duration(buf, sizeof(buf), v);
                break;
        }
        case CONF_TYPE_ACTION:
                s = conf_action_to_string(*(const enum conf_action *) field);
                break;
        case CONF_TYPE_LOG_LEVEL:
                s = conf_log_level_to_string(*(const int *) field);
                break;
        case CONF_TYPE_USER:
        case CONF_TYPE_GROUP: {
                uint32_t v = key->type == CONF_TYPE_USER ? (uint32_t) *(const uid_t *) field :
                                                           (uint32_t) *(const gid_t *) field;

                if (v == UINT32_MAX) {
                        fprintf(f, "# %s = (any)\n", key->name);
                        return;
                }
                snprintf(buf, sizeof(buf), "%" PRIu32, v);
                break;
        }
        case CONF_TYPE_PATTERN:
        case CONF_TYPE_CGROUP_PATTERN:
                s = *(char *const *) field;
                if (!s) {
                        fprintf(f, "# %s = (any)\n", key->name);
                        return;
                }
                break;
        default:
                s = *(char *const *) field;
                break;
        }

        if (s && *s)
                fprintf(f, "%s = %s\n", key->name, s);
        else
                fprintf(f, "%s =\n", key->name);
}

static void conf_dump_section(FILE *f, const char *header, const char *note, const char *file, unsigned line,
                              const struct conf_key *keys, size_t n_keys, const void *base) {
        char q[CONF_QUOTE_SIZE];

        fputc('\n', f);
        if (file)
                /* Quoted: a drop-in's name may hold a newline, which would end the comment early. */
                fprintf(f, "# from %s:%u\n", conf_quote(q, file), line);
        else if (note)
                fprintf(f, "# %s\n", note);
        fprintf(f, "%s\n", header);
        for (size_t i = 0; i < n_keys; i++)
                conf_dump_key(f, &keys[i], base);
}

int conf_dump(FILE *f, const struct conf *c) {
        char header[CONF_LABEL_SIZE];

        if (!f || !c)
                return -EINVAL;

        fputs("# memguardd's effective configuration: built-in defaults, then every file in the order read\n",
              f);
        conf_dump_section(f, "[daemon]", "built-in defaults and the files' [daemon] keys", NULL, 0,
                          conf_daemon_keys, ELEMENTSOF(conf_daemon_keys), &c->daemon);

        for (size_t i = 0; i < c->n_profiles; i++) {
                const struct conf_profile *p = &c->profiles[i];

                conf_dump_section(f, conf_label(header, CONF_SECTION_PROFILE, p->name), "built in", p->file,
                                  p->line, conf_profile_keys, ELEMENTSOF(conf_profile_keys), p);
        }
        for (size_t i = 0; i < c->n_rules; i++)
                conf_dump_section(f, conf_label(header, CONF_SECTION_RULE, c->rules[i].name), NULL,
                                  c->rules[i].file, c->rules[i].line, conf_rule_keys,
                                  ELEMENTSOF(conf_rule_keys), &c->rules[i]);
        for (size_t i = 0; i < c->n_watches; i++)
                conf_dump_section(f, conf_label(header, CONF_SECTION_WATCH, c->watches[i].name), NULL,
                                  c->watches[i].file, c->watches[i].line, conf_watch_keys,
                                  ELEMENTSOF(conf_watch_keys), &c->watches[i]);

        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}
