/* SPDX-License-Identifier: MIT */
/* The configuration model: the built-in defaults, freeing, and matching a job to a profile or a
 * cgroup to a [watch]. Loading is conf-parse.c's, writing it back conf-dump.c's. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-internal.h"
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

static const char *const conf_action_table[_CONF_ACTION_MAX] = {
        [CONF_ACTION_KILL] = "kill",
        [CONF_ACTION_FREEZE] = "freeze",
};

const char *conf_action_to_string(enum conf_action a) {
        return a >= 0 && a < _CONF_ACTION_MAX ? conf_action_table[a] : NULL;
}

/* So a binary file or a terminal escape in a file cannot garble the daemon's log. */
const char *conf_quote(char buf[static CONF_QUOTE_SIZE], const char *s) {
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

void conf_profile_init(struct conf_profile *p) {
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

int conf_load(const char *path, const char *dropin_dir, uint64_t host_ram_bytes, struct conf **ret,
              struct conf_errors *errors) {
        return conf_parse_files(path, dropin_dir, host_ram_bytes, ret, errors);
}

int conf_load_string(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                     struct conf_errors *errors) {
        return conf_parse_string(text, name, host_ram_bytes, ret, errors);
}

const struct conf_profile *conf_profile(const struct conf *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_profiles; i++)
                if (streq(c->profiles[i].name, name))
                        return &c->profiles[i];
        return NULL;
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

                p = conf_profile(c, r->profile);
                if (p)
                        return p;
        }

        p = conf_profile(c, c->daemon.default_profile);
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
