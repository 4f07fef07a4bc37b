/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include "events.h"
#include "log.h"
#include "manager.h"
#include "mjob.h"
#include "units.h"

void events_job(const struct mjob *j, int level, const char *message_id, uint64_t current_bytes,
                const char *format, ...) {
        char msg[768];
        va_list ap;
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        const char *command = mjob_command(j), *cgroup = mjob_cgroup(j), *profile = mjob_profile(j);
        uint64_t limit = mjob_limits(j)->max_bytes, peak = mjob_peak_bytes(j);
        struct log_field f[12] = {
                { .name = "MEMGUARD_JOB" }, { .name = "MEMGUARD_USER" }, { .name = "MEMGUARD_PROFILE" }, { .name = "MEMGUARD_LIMIT_BYTES" },
                { .name = "MEMGUARD_CURRENT_BYTES" }, { .name = "MEMGUARD_PEAK_BYTES" }, { .name = "MEMGUARD_CGROUP" },
                { .name = "MEMGUARD_COMMAND" }, { .name = "MEMGUARD_LIMIT" }, { .name = "MEMGUARD_CURRENT" },
                { .name = "MEMGUARD_PEAK" }, { .name = "OBJECT_PID" },
        };
        size_t n = 11;
        snprintf(f[0].value, sizeof(f[0].value), "%" PRIu64, mjob_id(j));
        snprintf(f[1].value, sizeof(f[1].value), "%s", mjob_user(j));
        snprintf(f[2].value, sizeof(f[2].value), "%s", profile ? profile : "");
        snprintf(f[3].value, sizeof(f[3].value), "%" PRIu64, limit);
        snprintf(f[4].value, sizeof(f[4].value), "%" PRIu64, current_bytes);
        snprintf(f[5].value, sizeof(f[5].value), "%" PRIu64, peak);
        snprintf(f[6].value, sizeof(f[6].value), "%s", cgroup ? cgroup : "");
        snprintf(f[7].value, sizeof(f[7].value), "%s", command ? command : "");
        /* The same sizes for people: journalctl -x shows the catalog text with these, the _BYTES
         * fields stay for scripts. */
        if (limit > 0)
                units_format_size(f[8].value, limit);
        else
                snprintf(f[8].value, sizeof(f[8].value), "none");
        units_format_size(f[9].value, current_bytes);
        units_format_size(f[10].value, peak);
        /* journald adds OBJECT_COMM/EXE/... for a live pid: worth it while the root runs. */
        if (mjob_pid(j) > 0) {
                snprintf(f[11].value, sizeof(f[11].value), "%d", (int) mjob_pid(j));
                n = 12;
        }
        log_struct(level, message_id, f, n, "job %" PRIu64 " (%s): %s", mjob_id(j), command ? command : "?", msg);
}

static void events_added(const struct mjob *j, const struct mjob_event *ev) {
        if (ev->restored)
                events_job(j, LOG_INFO, EVENTS_JOB_ADOPTED, 0, "supervised again after a restart (cgroup %s)",
                           mjob_cgroup(j));
        else if (mjob_source(j) == MJOB_SOURCE_WATCH)
                events_job(j, LOG_INFO, EVENTS_JOB_STARTED, 0, "found by [watch %s] (cgroup %s), profile %s",
                           mjob_watch(j), mjob_cgroup(j), mjob_profile(j));
        else
                events_job(j, LOG_INFO, EVENTS_JOB_STARTED, 0, "registered by uid %u under profile %s",
                           (unsigned) mjob_uid(j), mjob_profile(j));
}

static void events_sample(const struct mjob *j, const struct mjob_event *ev) {
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX], b3[UNITS_SIZE_MAX];
        if (ev->type == MJOB_EVENT_USAGE)
                events_job(j, LOG_INFO, EVENTS_JOB_USAGE, ev->current_bytes, "uses %s of %s, %d processes",
                           units_format_size(b1, ev->current_bytes),
                           ev->limit_bytes ? units_format_size(b2, ev->limit_bytes) : "no limit", ev->count);
        else
                events_job(j, LOG_NOTICE, EVENTS_JOB_SPIKE, ev->current_bytes, "grows at %s/s, from %s to %s",
                           units_format_size(b1, ev->rate_bytes_per_sec), units_format_size(b2, ev->previous_bytes),
                           units_format_size(b3, ev->current_bytes));
}

static void events_ended(const struct mjob *j, const struct mjob_event *ev) {
        char b1[UNITS_SIZE_MAX];
        enum policy_reason reason = mjob_reason(j);
        events_job(j, LOG_INFO, EVENTS_JOB_ENDED, ev->current_bytes, "ended (%s), peak %s",
                   reason == POLICY_REASON_NONE ? "by itself" : policy_reason_to_string(reason),
                   units_format_size(b1, mjob_peak_bytes(j)));
}

static void events_frozen(const struct mjob *j, const struct mjob_event *ev) {
        if (ev->requested)
                log_info("job %" PRIu64 ": %s on request", mjob_id(j), ev->type == MJOB_EVENT_FROZEN ? "frozen" : "thawed");
        else
                events_job(j, LOG_NOTICE, EVENTS_JOB_THRESHOLD, ev->current_bytes, "%s", ev->message);
}

static void events_job_event(struct manager *m, struct mjob *j, const struct mjob_event *ev, void *userdata) {
        switch (ev->type) {
        case MJOB_EVENT_ADDED:
                events_added(j, ev);
                break;
        case MJOB_EVENT_USAGE:
        case MJOB_EVENT_SPIKE:
                events_sample(j, ev);
                break;
        case MJOB_EVENT_WARNING:
                events_job(j, LOG_WARNING, EVENTS_JOB_WARNING, ev->current_bytes, "%s", ev->message);
                break;
        case MJOB_EVENT_THRESHOLD:
                events_job(j, LOG_NOTICE, EVENTS_JOB_THRESHOLD, ev->current_bytes, "%s", ev->message);
                break;
        case MJOB_EVENT_HOST_RESERVE:
                events_job(j, LOG_WARNING, EVENTS_JOB_THRESHOLD, ev->current_bytes, "%s", ev->message);
                break;
        case MJOB_EVENT_KERNEL_OOM:
                events_job(j, LOG_WARNING, EVENTS_JOB_KERNEL_OOM, ev->current_bytes, "%s", ev->message);
                break;
        case MJOB_EVENT_SIGNAL_SENT:
                events_job(j, LOG_NOTICE, ev->signal == SIGKILL ? EVENTS_JOB_SIGKILL : EVENTS_JOB_SIGTERM,
                           ev->current_bytes, "%s", ev->message);
                break;
        case MJOB_EVENT_FROZEN:
        case MJOB_EVENT_THAWED:
                events_frozen(j, ev);
                break;
        case MJOB_EVENT_LEFTOVERS:
                log_info("job %" PRIu64 ": %s", mjob_id(j), ev->message);
                break;
        case MJOB_EVENT_SAMPLE_ERROR:
                log_warning("job %" PRIu64 ": %s", mjob_id(j), ev->message);
                break;
        case MJOB_EVENT_GROUP_GONE:
                /* Schedulers remove a job's cgroup as soon as it empties: only a guard that changes is news. */
                if (ev->count > 0)
                        log_warning("job %" PRIu64 ": %s", mjob_id(j), ev->message);
                else
                        log_info("job %" PRIu64 ": %s", mjob_id(j), ev->message);
                break;
        case MJOB_EVENT_ENDED:
                events_ended(j, ev);
                break;
        default:
                break;
        }
}

int events_listen(struct manager *m) {
        return manager_add_listener(m, &(struct manager_listener) { .job_event = events_job_event });
}
