/* SPDX-License-Identifier: MIT */
/* What memguard tells people about a finished (or running) job: a human summary, JSON (a superset of
 * memwatch's schema, so existing consumers keep working), per-process CSV and timeline CSV with
 * memwatch's column names. Writers return 0 or -errno and never log. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "policy.h"

struct job;

struct report_info {
        const struct job *job;
        const char *backend;            /* "cgroup2", "cgroup1", "procfs" */
        const char *measures;           /* what the backend's total means */
        const struct policy_limits *limits;
        const struct policy_state *state;
        uint64_t interval_usec;         /* configured interval, 0 = adaptive */
        uint64_t shortest_interval_usec; /* the shortest the sampler chose, 0 = unknown */
        int exit_code;                  /* what memguard run returns */
        int wait_status;                /* the root process's status (waitpid), -1 if unknown */
        int dry_run;
        const char *note;               /* optional extra line (e.g. "fell back to procfs: ...") */
};

/* "completed", "killed", "would have been killed (dry run)", "failed" ... */
const char *report_verdict(const struct report_info *r);
/* One sentence: why the job ended as it did. malloc'ed. */
char *report_reason(const struct report_info *r);

int report_write_text(FILE *f, const struct report_info *r);
int report_write_json(FILE *f, const struct report_info *r);
int report_write_csv(FILE *f, const struct report_info *r);
int report_write_timeline(FILE *f, const struct report_info *r);

/* ISO 8601 UTC with a Z, as memwatch writes: "2025-11-20T18:02:34Z" (usec precision dropped). */
#define REPORT_TIME_MAX 32
char *report_format_time(char buf[static REPORT_TIME_MAX], uint64_t realtime_usec);
