/* SPDX-License-Identifier: MIT */
/* Reading the configuration: the main file, then the drop-ins, each a stream of lines that inih
 * splits into settings. Section headers are read here, not by inih (see conf_parse_header()); each
 * setting is looked up in conf-keys.c's tables and parsed by conf-value.c; what one section cannot
 * know alone (references between sections, ratios of two keys) is checked after the last file. */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"
#include "conf.h"
#include "macro.h"
#include "units.h"

#define CONF_SECTIONS_EXPECTED "[daemon], [profile NAME], [rule NAME] or [watch NAME]"

/* One section being filled: its keys, its struct, where its keys were set. */
struct conf_section {
        const struct conf_key *keys;
        size_t n_keys;
        void *base;
        struct conf_origins *origins;
        const char *name;               /* NULL for [daemon] */
};

_printf_(4, 0) static void conf_parse_errorv(struct conf_parser *p, const char *file, unsigned line,
                                             const char *format, va_list ap) {
        size_t index;

        for (index = 0; index < p->n_files; index++)
                if (p->files[index] == file || streq(p->files[index], file))
                        break;
        if (conf_errors_addv(&p->log, index, file, line, format, ap) < 0)
                p->oom = true;
}

void conf_parse_error_at(struct conf_parser *p, const char *file, unsigned line, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        conf_parse_errorv(p, file, line, format, ap);
        va_end(ap);
}

/* An error on the line being read. */
_printf_(2, 3) static void conf_parse_error(struct conf_parser *p, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        conf_parse_errorv(p, p->file, p->line, format, ap);
        va_end(ap);
}

static struct conf_section conf_parse_section(struct conf_parser *p, enum conf_section_kind kind,
                                              size_t index) {
        struct conf_section s = {};
        struct conf *c = p->conf;

        s.keys = conf_keys_of(kind, &s.n_keys);
        switch (kind) {
        case CONF_SECTION_DAEMON:
                s.base = &c->daemon;
                s.origins = &p->daemon_origins;
                break;
        case CONF_SECTION_PROFILE:
                s.base = &c->profiles[index];
                s.origins = &p->profile_origins[index];
                s.name = c->profiles[index].name;
                break;
        case CONF_SECTION_RULE:
                s.base = &c->rules[index];
                s.origins = &p->rule_origins[index];
                s.name = c->rules[index].name;
                break;
        case CONF_SECTION_WATCH:
                s.base = &c->watches[index];
                s.origins = &p->watch_origins[index];
                s.name = c->watches[index].name;
                break;
        default:
                break;
        }
        return s;
}

static const char *conf_parse_skip_blanks(const char *s) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
                s++;
        return s;
}

static void conf_parse_strip_blanks_end(char *s) {
        size_t n = strlen(s);

        while (n > 0 && strchr(" \t\r\f\v", s[n - 1]))
                s[--n] = 0;
}

/* Appends one zeroed element to *array (n elements of size) and its origins. The arrays hold the
 * smallest power of two of elements that is at least n: they double when full, so that reading many
 * sections copies each one a bounded number of times. */
static int conf_parse_grow(void **array, size_t n, size_t size, struct conf_origins **origins) {
        size_t room = n == 0 ? 1 : 2 * n;
        struct conf_origins *o;
        void *a;

        if ((n & (n - 1)) == 0) {
                a = reallocarray(*array, room, size);
                if (!a)
                        return -ENOMEM;
                *array = a;
                o = reallocarray(*origins, room, sizeof(struct conf_origins));
                if (!o)
                        return -ENOMEM;
                *origins = o;
        }
        memset((uint8_t *) *array + n * size, 0, size);
        (*origins)[n] = (struct conf_origins) {};
        return 0;
}

/* Where element i of kind keeps its name, file and line: the section kinds share no struct. */
struct conf_parse_named {
        char **name;
        char **file;
        unsigned *line;
};

static struct conf_parse_named conf_parse_named(struct conf *c, enum conf_section_kind kind, size_t i) {
        switch (kind) {
        case CONF_SECTION_PROFILE:
                return (struct conf_parse_named) { &c->profiles[i].name, &c->profiles[i].file,
                                                   &c->profiles[i].line };
        case CONF_SECTION_RULE:
                return (struct conf_parse_named) { &c->rules[i].name, &c->rules[i].file, &c->rules[i].line };
        case CONF_SECTION_WATCH:
                return (struct conf_parse_named) { &c->watches[i].name, &c->watches[i].file,
                                                   &c->watches[i].line };
        default:
                abort();
        }
}

static struct conf_names *conf_parse_names(struct conf_parser *p, enum conf_section_kind kind) {
        return kind == CONF_SECTION_PROFILE ? &p->profile_names :
               kind == CONF_SECTION_RULE    ? &p->rule_names :
                                              &p->watch_names;
}

/* The earlier definition of a section called name, or NULL. The built-in default profile is not in
 * the names until a file redefined it. */
static const struct conf_parse_named *conf_parse_find_defined(struct conf_parser *p, enum conf_section_kind kind,
                                                              const char *name,
                                                              struct conf_parse_named *ret) {
        size_t i;

        if (!conf_names_find(conf_parse_names(p, kind), name, &i, &p->name_compares))
                return NULL;
        *ret = conf_parse_named(p->conf, kind, i);
        return ret;
}

const struct conf_profile *conf_parse_find_profile(struct conf_parser *p, const char *name) {
        size_t i;

        if (conf_names_find(&p->profile_names, name, &i, &p->name_compares))
                return &p->conf->profiles[i];
        p->name_compares++;
        return streq(name, CONF_DEFAULT_PROFILE) ? &p->conf->profiles[0] : NULL;
}

/* Room for one more section of kind, with its defaults; its index in p->index. */
static int conf_parse_add_section(struct conf_parser *p, enum conf_section_kind kind, const char *name) {
        struct conf *c = p->conf;
        int r;

        switch (kind) {
        case CONF_SECTION_PROFILE:
                if (streq(name, CONF_DEFAULT_PROFILE)) {
                        /* The built-in stays first, now with the file's values. */
                        p->index = 0;
                        p->default_redefined = true;
                        return 0;
                }
                r = conf_parse_grow((void **) &c->profiles, c->n_profiles, sizeof(struct conf_profile),
                                    &p->profile_origins);
                if (r < 0)
                        return r;
                conf_profile_init(&c->profiles[c->n_profiles]);
                p->index = c->n_profiles++;
                return 0;
        case CONF_SECTION_RULE:
                r = conf_parse_grow((void **) &c->rules, c->n_rules, sizeof(struct conf_rule), &p->rule_origins);
                if (r < 0)
                        return r;
                c->rules[c->n_rules].uid = (uid_t) -1;
                c->rules[c->n_rules].gid = (gid_t) -1;
                p->index = c->n_rules++;
                return 0;
        case CONF_SECTION_WATCH:
                r = conf_parse_grow((void **) &c->watches, c->n_watches, sizeof(struct conf_watch),
                                    &p->watch_origins);
                if (r < 0)
                        return r;
                p->index = c->n_watches++;
                return 0;
        default:
                return -EINVAL;
        }
}

/* A new named section: its struct with defaults, its name and its origin. Reports duplicates. */
static int conf_parse_new_section(struct conf_parser *p, enum conf_section_kind kind, const char *name) {
        struct conf_parse_named prev, new;
        char label[CONF_LABEL_SIZE];
        int r;

        if (conf_parse_find_defined(p, kind, name, &prev)) {
                /* A second definition would either merge or replace, and either surprises someone. */
                conf_parse_error(p, "%s already defined at %s:%u (expected each name once across all files)",
                                 conf_keys_label(label, kind, name), *prev.file, *prev.line);
                return -EEXIST;
        }

        r = conf_parse_add_section(p, kind, name);
        if (r < 0)
                return r;
        new = conf_parse_named(p->conf, kind, p->index);

        /* On a failure below the new element is counted with NULL strings: conf_free() takes them, and
         * nothing else looks at it, because the reader stops at the first allocation failure. */
        if (!*new.name) {
                *new.name = strdup(name);
                if (!*new.name)
                        return -ENOMEM;
        }
        free(*new.file);
        *new.file = strdup(p->file);
        if (!*new.file)
                return -ENOMEM;
        *new.line = p->line;
        r = conf_names_add(conf_parse_names(p, kind), *new.name, p->index, &p->name_compares);
        if (r < 0)
                return r;

        p->kind = kind;
        return 0;
}

/* The kind and name of a "[KIND NAME]" header whose brackets are gone; reports what is wrong. */
static enum conf_section_kind conf_parse_header_kind(struct conf_parser *p, const char *kind, const char *name) {
        char q[CONF_QUOTE_SIZE];
        enum conf_section_kind k;

        if (streq(kind, "daemon")) {
                if (*name) {
                        conf_parse_error(p, "section [daemon] takes no name, found '%s' (expected [daemon])",
                                         conf_quote(q, name));
                        return CONF_SECTION_INVALID;
                }
                return CONF_SECTION_DAEMON;
        }

        k = streq(kind, "profile") ? CONF_SECTION_PROFILE :
            streq(kind, "rule")    ? CONF_SECTION_RULE :
            streq(kind, "watch")   ? CONF_SECTION_WATCH :
                                     CONF_SECTION_INVALID;
        if (k == CONF_SECTION_INVALID) {
                if (*kind == 0)
                        conf_parse_error(p, "empty section header (expected " CONF_SECTIONS_EXPECTED ")");
                else
                        conf_parse_error(p, "unknown section '%s' (expected " CONF_SECTIONS_EXPECTED ")",
                                         conf_quote(q, kind));
                return CONF_SECTION_INVALID;
        }
        if (*name == 0) {
                conf_parse_error(p, "section [%s] needs a name (expected [%s NAME])", kind, kind);
                return CONF_SECTION_INVALID;
        }
        if (!conf_value_name_is_valid(name)) {
                conf_parse_error(p, "invalid %s name '%s' (expected 1 to %d of A-Z a-z 0-9 _ . -)", kind,
                                 conf_quote(q, name), CONF_NAME_MAX);
                return CONF_SECTION_INVALID;
        }
        return k;
}

/* A "[...]" line, seen by the reader and never by inih: inih cuts section names at 49 characters,
 * keeps filing keys under the previous section after a header without ']', and says nothing about a
 * section without keys. Here every header is checked whole and counts, empty or not. */
static void conf_parse_header(struct conf_parser *p, char *s) {
        char q[CONF_QUOTE_SIZE];
        char *end, *kind, *name;
        const char *after;
        enum conf_section_kind k;

        /* Until the header proves good, its keys are skipped: they belong to no section we know. */
        p->kind = CONF_SECTION_INVALID;

        conf_parse_strip_blanks_end(s);
        end = strchr(s, ']');
        if (!end) {
                conf_parse_error(p, "section header '%s' has no closing ']' (expected "
                                 CONF_SECTIONS_EXPECTED ")", conf_quote(q, s));
                return;
        }
        after = conf_parse_skip_blanks(end + 1);
        if (*after) {
                conf_parse_error(p, "unexpected '%s' after the section header (expected nothing after ']'; "
                                 "comments go on lines of their own)", conf_quote(q, after));
                return;
        }
        *end = 0;

        kind = (char *) conf_parse_skip_blanks(s + 1);
        conf_parse_strip_blanks_end(kind);
        name = kind + strcspn(kind, " \t\r\f\v");
        if (*name) {
                *name++ = 0;
                name = (char *) conf_parse_skip_blanks(name);
        }

        k = conf_parse_header_kind(p, kind, name);
        if (k == CONF_SECTION_DAEMON)
                p->kind = k;
        else if (k != CONF_SECTION_INVALID && conf_parse_new_section(p, k, name) == -ENOMEM)
                p->oom = true;
}

/* inih's fgets-like reader: one line per call, counted, so the handler knows FILE:LINE. Lines are read
 * whole with getline(): one longer than CONF_LINE_MAX is an error here, where inih would quietly read
 * it as two lines. */
static char *conf_parse_reader(char *str, int num, void *userdata) {
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
        t = conf_parse_skip_blanks(s);

        if (*t == '#' || *t == ';')
                /* A comment of any length or content: inih would skip it anyway. */
                s = (char *) "";
        else if (strlen(p->buf) != len) {
                conf_parse_error(p, "line contains a NUL byte (expected text)");
                s = (char *) "";
        } else if (visible > limit) {
                conf_parse_error(p, "line too long, %zu bytes (expected at most %zu)", visible, limit);
                s = (char *) "";
        } else if (*t == '[') {
                conf_parse_header(p, (char *) t);
                s = (char *) "";
        }

        /* A handled line still goes to inih, as an empty one, so inih's line count stays ours. */
        snprintf(str, (size_t) num, "%s\n", s);
        return str;
}

/* The message for conf_value_parse()'s r about key in the section labelled label. */
static void conf_parse_value_error(struct conf_parser *p, const char *label, const struct conf_key *key,
                                   const char *value, int r) {
        const char *what = conf_keys_types[key->type].what, *expected = conf_keys_types[key->type].expected;
        char q[CONF_QUOTE_SIZE];

        conf_quote(q, value);
        switch (r) {
        case -ENOMEM:
                p->oom = true;
                break;
        case -EINVAL:
                conf_parse_error(p, "%s %s: invalid %s '%s' (expected %s)", label, key->name, what, q, expected);
                break;
        case -ERANGE:
                conf_parse_error(p, "%s %s: %s '%s' out of range (expected %s)", label, key->name, what, q,
                                 expected);
                break;
        case -ENOENT:
                conf_parse_error(p, "%s %s: unknown %s '%s' (expected %s)", label, key->name, what, q, expected);
                break;
        case -EBADMSG:
                conf_parse_error(p, "%s %s: malformed %s '%s': a '[' without its ']' or a '\\' at the end "
                                 "(expected %s; \\[ is a literal '[')", label, key->name, what, q, expected);
                break;
        case -EEXIST:
                conf_parse_error(p, "%s %s: '%s' exists and is not a socket (expected a path that is free or "
                                 "holds memguardd's socket)", label, key->name, q);
                break;
        case -EDOM:
                conf_parse_error(p, "%s %s: '%s' is a share of the host's memory, whose size is unknown "
                                 "(expected an absolute size such as 8G)", label, key->name, q);
                break;
        default:
                conf_parse_error(p, "%s %s: cannot look up %s '%s': %s (expected %s)", label, key->name, what,
                                 q, strerror(-r), expected);
                break;
        }
}

/* inih's handler: one "name = value" line of the section the reader saw last. inih's own idea of the
 * section is not used (see conf_parse_header()). Always returns 1: errors are collected here, and
 * inih's "first error line" would only repeat one of them. */
static int conf_parse_handler(void *userdata, _unused_ const char *section, const char *name,
                              const char *value) {
        struct conf_parser *p = userdata;
        char label[CONF_LABEL_SIZE], q[CONF_QUOTE_SIZE], list[512];
        struct conf_section sec;
        const struct conf_key *key;
        struct conf_origin *origin;
        int r;

        if (p->oom || p->kind == CONF_SECTION_INVALID)
                return 1;

        if (p->kind == CONF_SECTION_NONE) {
                conf_parse_error(p, "'%s' outside of any section (expected a " CONF_SECTIONS_EXPECTED
                                 " line before it)", conf_quote(q, name));
                return 1;
        }

        sec = conf_parse_section(p, p->kind, p->index);
        conf_keys_label(label, p->kind, sec.name);

        if (!value) {
                conf_parse_error(p, "%s '%s' is not a setting (expected KEY = VALUE)", label, conf_quote(q, name));
                return 1;
        }
        if (*name == 0) {
                conf_parse_error(p, "%s missing key name before '=' (expected KEY = VALUE)", label);
                return 1;
        }

        key = conf_keys_find(p->kind, name);
        if (!key) {
                conf_keys_list(list, sizeof(list), p->kind);
                conf_parse_error(p, "%s unknown key '%s' (expected one of %s)", label, conf_quote(q, name), list);
                return 1;
        }

        origin = &sec.origins->keys[key - sec.keys];
        if (origin->line > 0) {
                /* inih hands over a repeated key like a new one: the first would be lost without a word. */
                conf_parse_error(p, "%s %s: duplicate key (first set at %s:%u)", label, key->name, origin->file,
                                 origin->line);
                return 1;
        }
        *origin = (struct conf_origin) { p->file, p->line, false };

        r = conf_value_parse(key->type, value, p->host_ram_bytes, (uint8_t *) sec.base + key->offset);
        origin->invalid = r < 0;
        if (r < 0)
                conf_parse_value_error(p, label, key, value, r);
        return 1;
}

static int conf_parse_add_file(struct conf_parser *p, const char *name) {
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

static void conf_parse_stream(struct conf_parser *p, FILE *f) {
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

        r = ini_parse_stream(conf_parse_reader, p, conf_parse_handler, p);
        if (r == -2)
                p->oom = true;
        else if (r > 0)
                /* Only an inih built without Debian's switches gets here: a line without '=' it kept
                 * from the handler. */
                conf_parse_error_at(p, p->file, (unsigned) r, "syntax error (expected KEY = VALUE or a "
                                    CONF_SECTIONS_EXPECTED " line)");

        if (p->read_errno > 0)
                conf_parse_error_at(p, p->file, 0, "cannot read: %s", strerror(p->read_errno));
        p->f = NULL;
}

static void conf_parse_file(struct conf_parser *p, const char *path) {
        FILE *f;

        if (conf_parse_add_file(p, path) < 0) {
                p->oom = true;
                return;
        }

        f = fopen(path, "re");
        if (!f) {
                conf_parse_error_at(p, path, 0, "cannot open: %s", strerror(errno));
                return;
        }
        conf_parse_stream(p, f);
        fclose(f);
}

static int conf_parse_dropin_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        /* Hidden files are editors' and package managers' leftovers (.foo.conf.swp, .dpkg-new). */
        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

/* Byte order, not alphasort()'s strcoll(): the order must not depend on the daemon's locale. */
static int conf_parse_dropin_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static void conf_parse_dropins(struct conf_parser *p, const char *dir) {
        struct dirent **list = NULL;
        size_t dirlen = strlen(dir);
        int n;

        n = scandir(dir, &list, conf_parse_dropin_filter, conf_parse_dropin_compare);
        if (n < 0) {
                if (errno == ENOENT)
                        return;
                conf_parse_error_at(p, dir, 0, "cannot read directory: %s", strerror(errno));
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
                        conf_parse_file(p, path);
                free(list[i]);
        }
        free(list);
}

static void conf_parse_done(struct conf_parser *p) {
        conf_free(p->conf);
        free(p->profile_origins);
        free(p->rule_origins);
        free(p->watch_origins);
        conf_errors_log_done(&p->log);
        conf_names_done(&p->profile_names);
        conf_names_done(&p->rule_names);
        conf_names_done(&p->watch_names);
        for (size_t i = 0; i < p->n_files; i++)
                free(p->files[i]);
        free(p->files);
        free(p->buf);
}

static int conf_parse_init(struct conf_parser *p, uint64_t host_ram_bytes, struct conf_errors *errors) {
        int r;

        *p = (struct conf_parser) {
                .host_ram_bytes = host_ram_bytes,
        };
        conf_errors_log_init(&p->log, errors);

        r = conf_new_default(&p->conf);
        if (r < 0)
                return r;
        p->profile_origins = calloc(1, sizeof(struct conf_origins));
        if (!p->profile_origins)
                return -ENOMEM;
        return 0;
}

static int conf_parse_finish(struct conf_parser *p, struct conf **ret) {
        /* Also after other errors: a reload's report should be complete, not come in rounds. */
        if (!p->oom)
                conf_parse_check(p);
        conf_errors_sort(&p->log);
        if (p->oom)
                return -ENOMEM;
        if (p->log.n > 0)
                return -EINVAL;

        *ret = TAKE_PTR(p->conf);
        return 0;
}

int conf_parse_files(const char *path, const char *dropin_dir, uint64_t host_ram_bytes, struct conf **ret,
                     struct conf_errors *errors) {
        _cleanup_(conf_parse_done) struct conf_parser p = {};
        int r;

        if (!path || !ret)
                return -EINVAL;

        r = conf_parse_init(&p, host_ram_bytes, errors);
        if (r < 0)
                return r;

        conf_parse_file(&p, path);
        if (dropin_dir && !p.oom)
                conf_parse_dropins(&p, dropin_dir);

        return conf_parse_finish(&p, ret);
}

int conf_parse_string(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                      struct conf_errors *errors) {
        return conf_parse_string_counted(text, name, host_ram_bytes, ret, errors, NULL);
}

int conf_parse_string_counted(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                              struct conf_errors *errors, uint64_t *ret_name_compares) {
        _cleanup_(conf_parse_done) struct conf_parser p = {};
        FILE *f;
        int r;

        if (!text || !name || !ret)
                return -EINVAL;

        r = conf_parse_init(&p, host_ram_bytes, errors);
        if (r < 0)
                return r;
        r = conf_parse_add_file(&p, name);
        if (r < 0)
                return r;

        if (*text) {
                f = fmemopen((void *) text, strlen(text), "r");
                if (!f)
                        return -errno;
                conf_parse_stream(&p, f);
                fclose(f);
        }

        r = conf_parse_finish(&p, ret);
        if (ret_name_compares)
                *ret_name_compares = p.name_compares;
        return r;
}
