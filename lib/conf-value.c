/* SPDX-License-Identifier: MIT */
/* One value of one type, parsed into the field it sets. Sizes, durations and ratios are units.c's;
 * this file adds the words ("off", "adaptive"), the ranges each key allows, paths, patterns, names,
 * users and groups. Nothing here knows which key or line a value came from: the parser says that. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "conf-internal.h"
#include "conf.h"
#include "macro.h"
#include "units.h"

/* policy_limits_validate() refuses shorter fixed intervals: sampling faster only burns CPU. */
#define CONF_INTERVAL_MIN_USEC USEC_PER_MSEC

bool conf_value_name_is_valid(const char *s) {
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");

        /* "." and ".." would be path tricks where a name becomes part of a file or cgroup name. */
        return n > 0 && n <= CONF_NAME_MAX && s[n] == 0 && !streq(s, ".") && !streq(s, "..");
}

static int conf_value_uid_or_gid(const char *s, uint32_t *ret) {
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
static bool conf_value_errno_is_not_found(int r) {
        return r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM;
}

/* One getpwnam_r() or getgrnam_r() call: r as they return it, *ret_found and *ret_id. */
typedef int (*conf_value_lookup_t)(const char *s, char *buf, size_t size, bool *ret_found, uint32_t *ret_id);

static int conf_value_getpwnam(const char *s, char *buf, size_t size, bool *ret_found, uint32_t *ret_id) {
        struct passwd pw, *result = NULL;
        int r = getpwnam_r(s, &pw, buf, size, &result);

        *ret_found = result;
        *ret_id = result ? (uint32_t) pw.pw_uid : 0;
        return r;
}

static int conf_value_getgrnam(const char *s, char *buf, size_t size, bool *ret_found, uint32_t *ret_id) {
        struct group gr, *result = NULL;
        int r = getgrnam_r(s, &gr, buf, size, &result);

        *ret_found = result;
        *ret_id = result ? (uint32_t) gr.gr_gid : 0;
        return r;
}

/* A user or group: numbers are ids, as chown(1) reads them (a job's uid may have no name in this
 * host's NSS); anything else is looked up by name. */
static int conf_value_id(const char *s, conf_value_lookup_t lookup, uint32_t *ret) {
        _cleanup_free_ char *buf = NULL;
        bool found = false;
        uint32_t id;
        size_t size = 1024;
        int r;

        r = conf_value_uid_or_gid(s, &id);
        if (r != -ENOENT) {
                if (r == 0)
                        *ret = id;
                return r;
        }

        for (;;) {
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = lookup(s, buf, size, &found, &id);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                free(TAKE_PTR(buf));
                size *= 4;
        }
        if (found) {
                *ret = id;
                return 0;
        }
        return conf_value_errno_is_not_found(r) ? -ENOENT : -r;
}

/* A cgroup path as the daemon will use it: absolute, no empty, "." or ".." components, no trailing
 * slash except for the root itself. */
static bool conf_value_cgroup_path_is_valid(const char *s) {
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

static int conf_value_string(char **field, const char *value) {
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

/* The end of the bracket expression that starts at s, just after its '[', or NULL when no ']'
 * closes it. "[]...]" and "[!]...]" begin with a literal ']'; "[:alpha:]", "[=a=]" and "[.a.]" are
 * read whole. */
static const char *conf_value_bracket_end(const char *s) {
        if (*s == '!' || *s == '^')
                s++;
        if (*s == ']')
                s++;
        for (; *s; s++) {
                if (*s == ']')
                        return s;
                if (*s == '\\' && s[1])
                        s++;
                else if (*s == '[' && s[1] && strchr(":=.", s[1])) {
                        char close[3] = { s[1], ']', 0 };
                        const char *e = strstr(s + 2, close);

                        if (!e)
                                return NULL;
                        s = e + 1;
                }
        }
        return NULL;
}

/* fnmatch() reads a '[' that nothing closes, or a '\\' with nothing after it, as a literal character:
 * "command = [" would quietly match only the command "[". Here both are errors; "\\[" is a literal. */
static bool conf_value_pattern_is_valid(const char *s) {
        for (; *s; s++) {
                if (*s == '\\') {
                        if (!*++s)
                                return false;
                } else if (*s == '[') {
                        s = conf_value_bracket_end(s + 1);
                        if (!s)
                                return false;
                }
        }
        return true;
}

static int conf_value_pattern(enum conf_type type, const char *value, char **field) {
        if (*value == 0)
                return -EINVAL;
        /* fnmatch(FNM_PATHNAME) never lets a leading '*' match the leading '/' of a cgroup path: a
         * relative pattern would silently match nothing. */
        if (type == CONF_TYPE_CGROUP_PATTERN && value[0] != '/')
                return -EINVAL;
        if (!conf_value_pattern_is_valid(value))
                return -EBADMSG;
        return conf_value_string(field, value);
}

static int conf_value_size(enum conf_type type, const char *value, uint64_t host_ram_bytes,
                           uint64_t *field) {
        _cleanup_free_ char *copy = strdup(value);
        uint64_t u;
        size_t n;
        int r;

        if (!copy)
                return -ENOMEM;
        n = strlen(copy);
        if (type == CONF_TYPE_RATE && n >= 2 && streq(copy + n - 2, "/s"))
                copy[n - 2] = 0;
        else if (streq(copy, "off")) {
                *field = 0;
                return 0;
        }
        r = units_parse_size(copy, host_ram_bytes, &u);
        if (r == -ERANGE && host_ram_bytes == 0 && n > 0 && strchr(copy, '%'))
                return -EDOM;
        if (r < 0)
                return r;
        *field = u;
        return 0;
}

static int conf_value_ratio(enum conf_type type, const char *value, double *field) {
        double d;
        int r;

        if (type == CONF_TYPE_RATIO_OFF && streq(value, "off")) {
                *field = 0;
                return 0;
        }
        r = units_parse_ratio(value, &d);
        if (r < 0)
                return r;
        *field = d;
        return 0;
}

static int conf_value_duration(enum conf_type type, const char *value, uint64_t *field) {
        uint64_t u;
        int r;

        if ((type == CONF_TYPE_INTERVAL && streq(value, "adaptive")) ||
            (type == CONF_TYPE_DURATION_OFF && streq(value, "off"))) {
                *field = 0;
                return 0;
        }
        r = units_parse_duration(value, &u);
        if (r < 0)
                return r;
        if (type == CONF_TYPE_TIMEOUT && u == 0)
                return -ERANGE;
        /* Zero too: "adaptive" says that, where "0" might be read as "as fast as possible". */
        if (type == CONF_TYPE_INTERVAL && u < CONF_INTERVAL_MIN_USEC)
                return -ERANGE;
        *field = u;
        return 0;
}

static int conf_value_action(const char *value, enum conf_action *field) {
        for (enum conf_action a = 0; a < _CONF_ACTION_MAX; a++)
                if (streq(value, conf_action_to_string(a))) {
                        *field = a;
                        return 0;
                }
        return -EINVAL;
}

static int conf_value_log_level(const char *value, int *field) {
        int level = conf_keys_log_level_from_string(value);

        if (level < 0)
                return -EINVAL;
        *field = level;
        return 0;
}

/* memguardd removes a stale socket before it binds: a path that holds anything else, a symlink
 * included, is somebody's file and must never be the socket, whatever the daemon would do with it. */
static int conf_value_socket(const char *value, char **field) {
        struct stat st;

        if (value[0] != '/')
                return -EINVAL;
        if (strlen(value) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return -ERANGE;
        if (lstat(value, &st) == 0 && !S_ISSOCK(st.st_mode))
                return -EEXIST;
        return conf_value_string(field, value);
}

/* A string that is valid or not as a whole. */
static int conf_value_checked_string(bool valid, const char *value, char **field) {
        if (!valid)
                return -EINVAL;
        return conf_value_string(field, value);
}

/* Users and groups are stored as 32-bit ids (conf_value_id parses them so). */
_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t");
_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t");

int conf_value_parse(enum conf_type type, const char *value, uint64_t host_ram_bytes, void *field) {
        switch (type) {
        case CONF_TYPE_SIZE:
        case CONF_TYPE_RATE:
                return conf_value_size(type, value, host_ram_bytes, field);
        case CONF_TYPE_RATIO:
        case CONF_TYPE_RATIO_OFF:
                return conf_value_ratio(type, value, field);
        case CONF_TYPE_DURATION:
        case CONF_TYPE_DURATION_OFF:
        case CONF_TYPE_INTERVAL:
        case CONF_TYPE_TIMEOUT:
                return conf_value_duration(type, value, field);
        case CONF_TYPE_ACTION:
                return conf_value_action(value, field);
        case CONF_TYPE_LOG_LEVEL:
                return conf_value_log_level(value, field);
        case CONF_TYPE_SOCKET:
                return conf_value_socket(value, field);
        case CONF_TYPE_PATH:
                return conf_value_checked_string(value[0] == '/', value, field);
        case CONF_TYPE_CGROUP_PATH:
                return conf_value_checked_string(!*value || conf_value_cgroup_path_is_valid(value), value,
                                                 field);
        case CONF_TYPE_COMMAND:
                return conf_value_string(field, *value ? value : NULL);
        case CONF_TYPE_PATTERN:
        case CONF_TYPE_CGROUP_PATTERN:
                return conf_value_pattern(type, value, field);
        case CONF_TYPE_NAME:
                return conf_value_checked_string(conf_value_name_is_valid(value), value, field);
        case CONF_TYPE_USER:
                return conf_value_id(value, conf_value_getpwnam, field);
        case CONF_TYPE_GROUP:
                return conf_value_id(value, conf_value_getgrnam, field);
        default:
                return -EINVAL;
        }
}
