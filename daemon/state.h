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

/* Opens the state directory (m->state_fd, state_open), and keeps every job's record up to date: written when it is added, its peak grows, its limits change or
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
        uint64_t ceiling_bytes;         /* the ceiling of the cgroups it was started in, 0: none */
        struct policy_limits limits;
};

void state_job_done(struct state_job *s);

/* The job's record as compact JSON (malloc'ed): the state file's text, also kept on the job's cgroup
 * (STATE_XATTR) so the job can be taken up again even if the state directory is lost. */
int state_format(const char *state_dir, const struct mjob *j, char **ret);

/* Opens STATE_DIR/jobs (made when missing) for the records, after checking that nobody but root or
 * the daemon's own user (uid) could have put anything there: the directory and jobs/ must be real
 * directories owned by one of them and writable by neither group nor others. *ret_fd is an O_PATH-free
 * directory fd every record is opened relative to. -errno with *reterr saying why for a person. */
int state_open(const char *state_dir, uid_t uid, int *ret_fd, char **reterr);

/* Records are read and written relative to the fd from state_open, never through a symlink. */
int state_save(int jobs_fd, uint64_t id, const char *text);

/* user.*: root owns its job groups and may set it without CAP_SYS_ADMIN, which trusted.* needs and the
 * shipped unit does not grant. Records of older versions are still read from trusted.*. */
#define STATE_XATTR "user.memguard.job"
#define STATE_XATTR_OLD "trusted.memguard.job"
int state_remove(int jobs_fd, uint64_t id);

/* Parse one state file's text. -EINVAL names nothing: the caller logs the file. */
int state_parse(const char *text, struct state_job *ret);

/* Every state file: *ret is a malloc'ed array. Unreadable or malformed files are skipped and counted
 * in *ret_bad (and left in place for a person to look at, renamed to *.bad). */
int state_load_all(int jobs_fd, struct state_job **ret, size_t *ret_n, size_t *ret_bad);
