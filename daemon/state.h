/* SPDX-License-Identifier: MIT */
/* What memguardd must not forget when it is restarted or killed: one small JSON file per job under
 * STATE_DIR/jobs/ (id, where its cgroup is, owner, profile, limits, start time, peak so far), written
 * atomically (temp file + rename) when the job starts and when its peak grows, removed when it ends. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

struct manager;
struct mjob;

/* Keeps every job's record up to date: written when it is added, its peak grows, its limits change or
 * the daemon stops; removed when it ends. */
int state_listen(struct manager *m);

struct state_job {
        uint64_t id;
        char *source;                   /* "registered" or "watch" */
        char *cgroup;
        char *unified_cgroup;
        char *profile;
        char *watch;
        char *command;
        char *state_dir;                /* the daemon the record belongs to (its state directory) */
        uid_t uid;
        uint64_t start_realtime_usec;
        uint64_t peak_bytes;
        struct policy_limits limits;
};

void state_job_done(struct state_job *s);

/* The job's record as compact JSON (malloc'ed): the state file's text, also kept on the job's cgroup
 * (STATE_XATTR) so the job can be taken up again even if the state directory is lost. */
int state_format(const char *state_dir, const struct mjob *j, char **ret);
int state_save(const char *state_dir, uint64_t id, const char *text);

#define STATE_XATTR "trusted.memguard.job"
int state_remove(const char *state_dir, uint64_t id);

/* Parse one state file's text. -EINVAL names nothing: the caller logs the file. */
int state_parse(const char *text, struct state_job *ret);

/* Every state file: *ret is a malloc'ed array. Unreadable or malformed files are skipped and counted
 * in *ret_bad (and left in place for a person to look at, renamed to *.bad). */
int state_load_all(const char *state_dir, struct state_job **ret, size_t *ret_n, size_t *ret_bad);
