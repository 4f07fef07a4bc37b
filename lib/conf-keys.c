/* SPDX-License-Identifier: MIT */
/* The sections, their keys and the types of their values. These tables are the one list of keys: the
 * parser looks keys up here and the dump prints every one of them, in this order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-internal.h"
#include "conf.h"
#include "macro.h"

const struct conf_type_info conf_keys_types[_CONF_TYPE_MAX] = {
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

#define DAEMON_KEY(n, t, f) { n, t, offsetof(struct conf_daemon, f) }
static const struct conf_key conf_keys_daemon[] = {
        DAEMON_KEY("interval", CONF_TYPE_INTERVAL, interval_usec),
        DAEMON_KEY("socket", CONF_TYPE_SOCKET, socket_path),
        DAEMON_KEY("state-dir", CONF_TYPE_PATH, state_dir),
        DAEMON_KEY("log-level", CONF_TYPE_LOG_LEVEL, log_level),
        DAEMON_KEY("host-reserve", CONF_TYPE_SIZE, host_reserve_bytes),
        DAEMON_KEY("default-profile", CONF_TYPE_NAME, default_profile),
        DAEMON_KEY("cgroup-parent", CONF_TYPE_CGROUP_PATH, cgroup_parent),
};

#define PROFILE_KEY(n, t, f) { n, t, offsetof(struct conf_profile, f) }
static const struct conf_key conf_keys_profile[] = {
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
static const struct conf_key conf_keys_rule[] = {
        RULE_KEY("profile", CONF_TYPE_NAME, profile),
        RULE_KEY("user", CONF_TYPE_USER, uid),
        RULE_KEY("group", CONF_TYPE_GROUP, gid),
        RULE_KEY("command", CONF_TYPE_PATTERN, command),
        RULE_KEY("cgroup", CONF_TYPE_CGROUP_PATTERN, cgroup),
};

#define WATCH_KEY(n, t, f) { n, t, offsetof(struct conf_watch, f) }
static const struct conf_key conf_keys_watch[] = {
        WATCH_KEY("cgroup", CONF_TYPE_CGROUP_PATTERN, cgroup),
        WATCH_KEY("profile", CONF_TYPE_NAME, profile),
};

_Static_assert(ELEMENTSOF(conf_keys_daemon) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");
_Static_assert(ELEMENTSOF(conf_keys_profile) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");
_Static_assert(ELEMENTSOF(conf_keys_rule) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");
_Static_assert(ELEMENTSOF(conf_keys_watch) <= CONF_KEYS_MAX, "CONF_KEYS_MAX");

const struct conf_key *conf_keys_of(enum conf_section_kind kind, size_t *ret_n) {
        switch (kind) {
        case CONF_SECTION_DAEMON:
                *ret_n = ELEMENTSOF(conf_keys_daemon);
                return conf_keys_daemon;
        case CONF_SECTION_PROFILE:
                *ret_n = ELEMENTSOF(conf_keys_profile);
                return conf_keys_profile;
        case CONF_SECTION_RULE:
                *ret_n = ELEMENTSOF(conf_keys_rule);
                return conf_keys_rule;
        case CONF_SECTION_WATCH:
                *ret_n = ELEMENTSOF(conf_keys_watch);
                return conf_keys_watch;
        default:
                *ret_n = 0;
                return NULL;
        }
}

const struct conf_key *conf_keys_find(enum conf_section_kind kind, const char *name) {
        const struct conf_key *keys;
        size_t n;

        keys = conf_keys_of(kind, &n);
        for (size_t i = 0; i < n; i++)
                if (streq(keys[i].name, name))
                        return &keys[i];
        return NULL;
}

size_t conf_keys_index(enum conf_section_kind kind, const char *name) {
        const struct conf_key *keys, *key;
        size_t n;

        keys = conf_keys_of(kind, &n);
        key = conf_keys_find(kind, name);
        if (!key)
                abort(); /* a typo in this module, not in a configuration */
        return (size_t) (key - keys);
}

void conf_keys_list(char *buf, size_t size, enum conf_section_kind kind) {
        const struct conf_key *keys;
        size_t used = 0, n;

        keys = conf_keys_of(kind, &n);
        buf[0] = 0;
        for (size_t i = 0; i < n && used < size; i++)
                used += (size_t) snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "", keys[i].name);
}

const char *conf_keys_label(char buf[static CONF_LABEL_SIZE], enum conf_section_kind kind, const char *name) {
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

static const struct {
        const char *name;
        int level;
} conf_keys_log_levels[] = {
        { "err", LOG_ERR },
        { "warning", LOG_WARNING },
        { "notice", LOG_NOTICE },
        { "info", LOG_INFO },
        { "debug", LOG_DEBUG },
};

const char *conf_keys_log_level_to_string(int level) {
        for (size_t i = 0; i < ELEMENTSOF(conf_keys_log_levels); i++)
                if (conf_keys_log_levels[i].level == level)
                        return conf_keys_log_levels[i].name;
        return NULL;
}

int conf_keys_log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(conf_keys_log_levels); i++)
                if (streq(conf_keys_log_levels[i].name, s))
                        return conf_keys_log_levels[i].level;
        return -1;
}
