/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "events.h"
#include "guard.h"
#include "job.h"
#include "log.h"
#include "manager.h"

void events_job(const struct mjob *j, int level, const char *message_id, uint64_t current_bytes,
                const char *format, ...) {
        char msg[768];
        va_list ap;
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        const struct guard *g = j->guard;
        const struct job *job = g ? g->job : NULL;
        uint64_t peak = job ? job_peak_working_set(job) : 0;
        struct log_field f[9] = {
                { .name = "MEMGUARD_JOB" }, { .name = "MEMGUARD_USER" }, { .name = "MEMGUARD_PROFILE" }, { .name = "MEMGUARD_LIMIT_BYTES" },
                { .name = "MEMGUARD_CURRENT_BYTES" }, { .name = "MEMGUARD_PEAK_BYTES" }, { .name = "MEMGUARD_CGROUP" },
                { .name = "MEMGUARD_COMMAND" }, { .name = "OBJECT_PID" },
        };
        size_t n = 8;
        snprintf(f[0].value, sizeof(f[0].value), "%" PRIu64, j->id);
        snprintf(f[1].value, sizeof(f[1].value), "%s", j->user);
        snprintf(f[2].value, sizeof(f[2].value), "%s", j->profile ? j->profile : "");
        snprintf(f[3].value, sizeof(f[3].value), "%" PRIu64, g ? g->limits.max_bytes : 0);
        snprintf(f[4].value, sizeof(f[4].value), "%" PRIu64, current_bytes);
        snprintf(f[5].value, sizeof(f[5].value), "%" PRIu64, peak);
        snprintf(f[6].value, sizeof(f[6].value), "%s", j->cgroup ? j->cgroup : "");
        snprintf(f[7].value, sizeof(f[7].value), "%s", j->command ? j->command : "");
        /* journald adds OBJECT_COMM/EXE/... for a live pid: worth it while the root runs. */
        if (job && job->pid > 0) {
                snprintf(f[8].value, sizeof(f[8].value), "%d", (int) job->pid);
                n = 9;
        }
        log_struct(level, message_id, f, n, "job %" PRIu64 " (%s): %s", j->id, j->command ? j->command : "?", msg);
}
