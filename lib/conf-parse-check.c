/* SPDX-License-Identifier: MIT */
/* The checks after the last file: what one section cannot know alone, such as a rule's profile that
 * a later drop-in defines, or a warning ratio against a threshold. Each message points at the key's
 * own line, or at the section's header for a key that is missing. */
#include <fnmatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf-internal.h"
#include "conf.h"
#include "macro.h"
#include "units.h"

/* "unknown profile" messages list this many of the known names. */
#define CONF_LIST_NAMES_MAX 10

/* ", "-separated names of the profiles, for "unknown profile" messages. */
#define CONF_PROFILE_LIST_SIZE (CONF_LIST_NAMES_MAX * (CONF_NAME_MAX + 2) + 8)
static void conf_parse_check_profile_list(char buf[static CONF_PROFILE_LIST_SIZE], const struct conf *c) {
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < c->n_profiles && used < CONF_PROFILE_LIST_SIZE; i++) {
                if (i == CONF_LIST_NAMES_MAX) {
                        snprintf(buf + used, CONF_PROFILE_LIST_SIZE - used, ", ...");
                        break;
                }
                used += (size_t) snprintf(buf + used, CONF_PROFILE_LIST_SIZE - used, "%s%s", i > 0 ? ", " : "",
                                          c->profiles[i].name);
        }
}

/* warn-at needs max-memory and must stay below kill-threshold. */
static void conf_parse_check_profiles(struct conf_parser *p) {
        const size_t warn_at_key = conf_keys_index(CONF_SECTION_PROFILE, "warn-at"),
                     max_memory_key = conf_keys_index(CONF_SECTION_PROFILE, "max-memory"),
                     kill_threshold_key = conf_keys_index(CONF_SECTION_PROFILE, "kill-threshold");
        const struct conf *c = p->conf;
        char label[CONF_LABEL_SIZE], r1[UNITS_RATIO_MAX], r2[UNITS_RATIO_MAX];

        for (size_t i = 0; i < c->n_profiles; i++) {
                const struct conf_profile *pr = &c->profiles[i];
                const struct conf_origins *o = &p->profile_origins[i];
                const struct conf_origin *warn_at = &o->keys[warn_at_key];

                /* Against a value that did not parse, a check would only repeat that error. */
                if (pr->warn_at <= 0 || o->keys[max_memory_key].invalid || o->keys[kill_threshold_key].invalid)
                        continue;
                conf_keys_label(label, CONF_SECTION_PROFILE, pr->name);
                /* policy_limits_validate() agrees: a warning ratio needs something to be a ratio of. */
                if (pr->max_memory == 0)
                        conf_parse_error_at(p, warn_at->file, warn_at->line,
                                            "%s warn-at: a ratio of max-memory, which is not set "
                                            "(expected max-memory = SIZE in this profile, or warn-at = off)",
                                            label);
                else if (pr->warn_at >= pr->kill_threshold)
                        conf_parse_error_at(p, warn_at->file, warn_at->line,
                                            "%s warn-at: %s is not below kill-threshold %s "
                                            "(expected warn-at < kill-threshold)",
                                            label, units_format_ratio(r1, pr->warn_at),
                                            units_format_ratio(r2, pr->kill_threshold));
        }
}

/* A required key that no line set: the error points at the section's header. */
static bool conf_parse_check_required(struct conf_parser *p, const char *label, const char *file, unsigned line,
                                      const struct conf_origin *o, const char *key, const char *expected) {
        if (o->line > 0)
                return true;
        conf_parse_error_at(p, file, line, "%s missing key '%s' (expected %s = %s)", label, key, key, expected);
        return false;
}

/* A profile = NAME that names no profile; list is conf_parse_check_profile_list(). */
static void conf_parse_check_reference(struct conf_parser *p, const char *label, const char *key,
                                         const struct conf_origin *o, const char *name, const char *list) {
        if (name && !conf_parse_find_profile(p, name))
                conf_parse_error_at(p, o->file, o->line, "%s %s: no such profile '%s' (expected one of %s)",
                                    label, key, name, list);
}

/* The root cgroup holds the whole host, memguardd and the scheduler included: as one job, the first
 * threshold crossed would stop everything. A [watch] takes up cgroups below it. */
static void conf_parse_check_watch_root(struct conf_parser *p, const char *label, const struct conf_origin *o,
                                        const char *pattern) {
        char q[CONF_QUOTE_SIZE];

        if (o->invalid || !pattern || fnmatch(pattern, "/", FNM_PATHNAME) != 0)
                return;
        conf_parse_error_at(p, o->file, o->line,
                            "%s cgroup: '%s' matches the root cgroup /, which holds the whole host "
                            "(expected a pattern of cgroups below it such as /system.slice/slurmstepd.scope/job_*)",
                            label, conf_quote(q, pattern));
}

/* Rules and watches need their keys and existing profiles; so does default-profile. */
static void conf_parse_check_references(struct conf_parser *p, const char *list) {
        const size_t rule_profile_key = conf_keys_index(CONF_SECTION_RULE, "profile"),
                     watch_cgroup_key = conf_keys_index(CONF_SECTION_WATCH, "cgroup"),
                     watch_profile_key = conf_keys_index(CONF_SECTION_WATCH, "profile"),
                     default_profile_key = conf_keys_index(CONF_SECTION_DAEMON, "default-profile");
        const struct conf *c = p->conf;
        char label[CONF_LABEL_SIZE];

        for (size_t i = 0; i < c->n_rules; i++) {
                const struct conf_rule *r = &c->rules[i];
                const struct conf_origin *o = &p->rule_origins[i].keys[rule_profile_key];

                conf_keys_label(label, CONF_SECTION_RULE, r->name);
                if (conf_parse_check_required(p, label, r->file, r->line, o, "profile", "NAME"))
                        conf_parse_check_reference(p, label, "profile", o, r->profile, list);
        }

        for (size_t i = 0; i < c->n_watches; i++) {
                const struct conf_watch *w = &c->watches[i];
                const struct conf_origin *cg = &p->watch_origins[i].keys[watch_cgroup_key],
                                         *o = &p->watch_origins[i].keys[watch_profile_key];

                conf_keys_label(label, CONF_SECTION_WATCH, w->name);
                if (conf_parse_check_required(p, label, w->file, w->line, cg, "cgroup", "PATTERN"))
                        conf_parse_check_watch_root(p, label, cg, w->cgroup);
                if (conf_parse_check_required(p, label, w->file, w->line, o, "profile", "NAME"))
                        conf_parse_check_reference(p, label, "profile", o, w->profile, list);
        }

        const struct conf_origin *dp = &p->daemon_origins.keys[default_profile_key];
        if (dp->line > 0)
                conf_parse_check_reference(p, "[daemon]", "default-profile", dp, c->daemon.default_profile,
                                             list);
}

/* A reserve of all the host's memory would stop every job the moment it started, one after another.
 * Checked here, not with the value, because an absolute size needs the host's size just the same. */
static void conf_parse_check_daemon(struct conf_parser *p) {
        const struct conf_origin *o =
                &p->daemon_origins.keys[conf_keys_index(CONF_SECTION_DAEMON, "host-reserve")];
        uint64_t reserve = p->conf->daemon.host_reserve_bytes;
        char r1[UNITS_SIZE_MAX], r2[UNITS_SIZE_MAX];

        if (o->line == 0 || o->invalid || p->host_ram_bytes == 0 || reserve < p->host_ram_bytes)
                return;
        conf_parse_error_at(p, o->file, o->line,
                            "[daemon] host-reserve: %s is not below the host's memory, %s (expected a share "
                            "below 100%% such as 10%%, a smaller size, or off)",
                            units_format_size_exact(r1, reserve), units_format_size_exact(r2, p->host_ram_bytes));
}

/* After all files: what one section cannot know alone. */
void conf_parse_check(struct conf_parser *p) {
        char list[CONF_PROFILE_LIST_SIZE];

        conf_parse_check_profile_list(list, p->conf);
        conf_parse_check_daemon(p);
        conf_parse_check_profiles(p);
        conf_parse_check_references(p, list);
}
