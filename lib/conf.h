/* SPDX-License-Identifier: MIT */
/* memguardd's configuration: /etc/memguard/memguard.conf, then the *.conf files of conf.d in byte
 * order, INI files read with inih. Loading is all or nothing: every error is collected with its
 * file:line and what was expected, and a configuration with any error is never returned, so a reload
 * with a typo keeps the running configuration. Nothing here logs: the daemon prints the collected
 * messages itself.
 *
 * Sections (every key, its default and its meaning are in conf/memguard.conf):
 *   [daemon]         the daemon's own settings; each key may be set once across all files
 *   [profile NAME]   limits and logging for jobs; "default" is built in and may be redefined once
 *   [rule NAME]      picks a profile for a job by user, group, command or cgroup; first match wins
 *   [watch NAME]     supervise existing cgroups whose path matches a pattern (a scheduler's jobs)
 * A section name (profile, rule, watch) is defined once across all files: a second definition is an
 * error naming the first, so a drop-in never half-overrides something silently. Unknown sections and
 * keys are errors too.
 *
 * Hooks (pre-kill-hook, post-kill-hook) run as "/bin/sh -c HOOK" with the job's facts in the
 * environment (daemon/hooks.c sets it), and are killed after hook-timeout:
 *   MEMGUARD_HOOK           "pre-kill" or "post-kill"
 *   MEMGUARD_JOB            the daemon's job id
 *   MEMGUARD_PROFILE        the profile's name
 *   MEMGUARD_USER           the job's user name (its uid when it has no name)
 *   MEMGUARD_UID            the job's uid
 *   MEMGUARD_PID            the job's root process, 0 for a watched cgroup without one
 *   MEMGUARD_CGROUP         the job's cgroup path, empty when it has none
 *   MEMGUARD_COMMAND        the job's command line
 *   MEMGUARD_REASON         policy_reason_to_string(): "total-limit", "process-limit", ...
 *   MEMGUARD_CURRENT_BYTES  the job's usage when the hook starts
 *   MEMGUARD_PEAK_BYTES     the job's peak so far
 *   MEMGUARD_LIMIT_BYTES    the ceiling that was crossed
 * These are the journal fields of the same names (daemon/events.h), so a hook and a log query agree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "macro.h"

/* Where "make install" put them: SYSCONFDIR comes from configure (/etc with --sysconfdir=/etc). */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONF_PATH_DEFAULT SYSCONFDIR "/memguard/memguard.conf"
#define CONF_DROPIN_DIR_DEFAULT SYSCONFDIR "/memguard/conf.d"

/* The longest line read, newline excluded. Longer lines are errors rather than split in two, which
 * is what inih would do with them. */
#define CONF_LINE_MAX 4096

/* Profile, rule and watch names: [A-Za-z0-9_.-]{1,40}. Short enough for log lines and journal fields,
 * and safe in a file name or a cgroup name. */
#define CONF_NAME_MAX 40

/* The profile every job gets when no rule matches, unless [daemon] default-profile says otherwise. */
#define CONF_DEFAULT_PROFILE "default"

/* A reload with a broken file should list what is wrong, not a million lines of a binary file. */
#define CONF_ERRORS_MAX 100

enum conf_action {
        CONF_ACTION_KILL,               /* SIGTERM, grace, SIGKILL: the job ends */
        CONF_ACTION_FREEZE,             /* freeze the job's cgroup, for an operator to decide */
        _CONF_ACTION_MAX,
};

struct conf_daemon {
        uint64_t interval_usec;         /* interval: adaptive sampling's longest interval; 0 = 100ms */
        char *socket_path;              /* socket: the control socket */
        char *state_dir;                /* state-dir: job records that survive a restart */
        int log_level;                  /* log-level: a syslog level, LOG_ERR .. LOG_DEBUG */
        uint64_t host_reserve_bytes;    /* host-reserve: memory to keep free host-wide; 0 = off */
        char *default_profile;          /* default-profile: for jobs no rule matches */
        char *cgroup_parent;            /* cgroup-parent: where job cgroups go; "" = own subtree */
};

struct conf_profile {
        char *name;
        uint64_t max_memory;            /* max-memory: the job's ceiling in bytes; 0 = none */
        uint64_t max_process_memory;    /* max-process-memory: one process's ceiling; 0 = none */
        double kill_threshold;          /* kill-threshold: the action starts at this ratio, (0, 1] */
        double warn_at;                 /* warn-at: warnings from this ratio of max-memory; 0 = off */
        uint64_t grace_usec;            /* grace: SIGTERM to SIGKILL */
        uint64_t interval_usec;         /* interval: fixed sampling interval; 0 = adaptive */
        uint64_t log_every_usec;        /* log-every: a usage record this often; 0 = off */
        uint64_t warn_every_usec;       /* warn-every: at most one warning per this long */
        uint64_t spike_rate_bytes_per_sec; /* spike-rate: a record when growing faster; 0 = off */
        enum conf_action action;        /* action: what crossing kill-threshold does */
        char *pre_kill_hook;            /* pre-kill-hook: "/bin/sh -c" command line; NULL = none */
        char *post_kill_hook;           /* post-kill-hook: the same, after the job is gone */
        uint64_t hook_timeout_usec;     /* hook-timeout: a hook is killed after this, > 0 */
        char *file;                     /* where it was defined; NULL for the built-in default */
        unsigned line;
};

struct conf_rule {
        char *name;
        char *profile;                  /* profile: required, an existing profile */
        uid_t uid;                      /* user: (uid_t) -1 = any user */
        gid_t gid;                      /* group: the job's primary group; (gid_t) -1 = any */
        char *command;                  /* command: fnmatch() pattern on the command line; NULL = any */
        char *cgroup;                   /* cgroup: fnmatch(FNM_PATHNAME) pattern; NULL = any */
        char *file;
        unsigned line;
};

struct conf_watch {
        char *name;
        char *cgroup;                   /* cgroup: required, fnmatch(FNM_PATHNAME) pattern */
        char *profile;                  /* profile: required, an existing profile */
        char *file;
        unsigned line;
};

struct conf {
        struct conf_daemon daemon;
        struct conf_profile *profiles;  /* profiles[0] is always "default" */
        size_t n_profiles;
        struct conf_rule *rules;        /* in file order: main file, then conf.d in byte order */
        size_t n_rules;
        struct conf_watch *watches;
        size_t n_watches;
};

/* Every message reads "FILE:LINE: what is wrong (expected what)", or "FILE: ..." when no line applies.
 * FILE is spelled as the caller gave the path (the drop-in directory joined with the entry's name). */
struct conf_errors {
        char **messages;
        size_t n;
};

/* Frees the messages and leaves an empty list; NULL is fine. */
void conf_errors_done(struct conf_errors *e);

/* Loads path, then the *.conf files of dropin_dir (NULL = none; a missing directory is fine) in
 * strcmp() order, hidden files skipped. Sizes in percent are of host_ram_bytes. Messages are appended
 * to errors (NULL = not wanted). Returns 0 and sets *ret only when there was no error at all; -EINVAL
 * when there were errors (a missing main file is one), -ENOMEM; *ret is untouched then. */
int conf_load(const char *path, const char *dropin_dir, uint64_t host_ram_bytes, struct conf **ret,
              struct conf_errors *errors);

/* The same for one file's text; name stands for its file name in messages and "# from" lines. */
int conf_load_string(const char *text, const char *name, uint64_t host_ram_bytes, struct conf **ret,
                     struct conf_errors *errors);

/* The built-in configuration, as if every file were empty. -ENOMEM. */
int conf_new_default(struct conf **ret);

struct conf *conf_free(struct conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct conf *, conf_free);

/* The profile called name, or NULL. */
const struct conf_profile *conf_profile(const struct conf *c, const char *name);

/* The profile of the first rule whose every given criterion matches, else the default profile.
 * command or cgroup NULL: rules that ask for one do not match. Never NULL for a loaded configuration. */
const struct conf_profile *conf_match(const struct conf *c, uid_t uid, gid_t gid, const char *command,
                                      const char *cgroup);

/* The first [watch] whose pattern matches this cgroup path, or NULL. */
const struct conf_watch *conf_match_watch(const struct conf *c, const char *cgroup);

/* The effective configuration as INI: every section and every key with normalised values (exact sizes
 * such as 512M, durations such as 500ms, ratios such as 0.8), and "# from FILE:LINE" above each
 * section that a file defined. It loads again to an equal configuration. -errno of the stream. */
int conf_dump(FILE *f, const struct conf *c);

const char *conf_action_to_string(enum conf_action a);
