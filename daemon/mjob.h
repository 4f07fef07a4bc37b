/* SPDX-License-Identifier: MIT */
/* One job of memguardd: its guard (sampling, the ladder, the backend's group) and what the daemon
 * knows about it (owner, profile, where it came from). The record is opaque: everyone else reads it
 * through the accessors below and hears about it through job events (mjob_event), which the job turns
 * its guard's events into and the manager hands to its listeners. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "policy.h"

struct job;
struct mjob;
struct sysroot;

enum mjob_source {
        MJOB_SOURCE_REGISTERED,         /* a client handed us its process */
        MJOB_SOURCE_WATCH,              /* a cgroup matched a [watch] section */
};

enum mjob_event_type {
        MJOB_EVENT_ADDED,               /* supervised from now on (restored: taken up after a restart) */
        MJOB_EVENT_USAGE,               /* log-every: a usage record is due */
        MJOB_EVENT_SPIKE,               /* spike-rate: it grows faster than the profile's rate */
        MJOB_EVENT_PEAK,                /* its peak grew enough since its record was last written */
        MJOB_EVENT_WARNING,
        MJOB_EVENT_THRESHOLD,           /* a kill threshold was crossed: the ladder starts */
        MJOB_EVENT_KERNEL_OOM,          /* the kernel OOM-killed inside it: the ladder starts */
        MJOB_EVENT_HOST_RESERVE,        /* the host ran short and it is the largest job: it is stopped */
        MJOB_EVENT_SIGNAL_SENT,         /* SIGTERM or SIGKILL went to every process */
        MJOB_EVENT_LIMIT_CHANGED,       /* SetLimit, or a reload applied its profile again */
        MJOB_EVENT_FROZEN,              /* by the ladder (action freeze) or on request */
        MJOB_EVENT_THAWED,
        MJOB_EVENT_LEFTOVERS,           /* the root exited with processes left: they are being ended */
        MJOB_EVENT_SAMPLE_ERROR,        /* sampling failed (said once per kind of failure) */
        MJOB_EVENT_GROUP_GONE,          /* its cgroup was removed under it; count: 1 when still guarded */
        MJOB_EVENT_ENDED,               /* nothing of it is left; its report stays a while */
        MJOB_EVENT_DETACHED,            /* memguardd stops and leaves it running, to take it up again */
        MJOB_EVENT_FREED,               /* the record goes: forget it */
        _MJOB_EVENT_MAX,
};

struct mjob_event {
        enum mjob_event_type type;
        uint64_t current_bytes;         /* the working set at the time */
        uint64_t limit_bytes;           /* the ceiling concerned (total, or per process) */
        uint64_t previous_bytes;        /* SPIKE: the working set one sample before */
        uint64_t rate_bytes_per_sec;    /* SPIKE */
        int signal;                     /* SIGNAL_SENT */
        int count;                      /* USAGE: processes; SIGNAL_SENT: processes signalled */
        bool restored;                  /* ADDED: a job from before a restart */
        bool requested;                 /* FROZEN, THAWED: an operator's request rather than the ladder */
        const char *message;            /* a sentence for people, when the guard wrote one */
};

typedef void (*mjob_event_cb)(struct mjob *j, const struct mjob_event *ev, void *userdata);

/* What a new job is. Strings are copied. */
struct mjob_options {
        uint64_t id;
        enum mjob_source source;
        uid_t uid;
        const char *profile;            /* the profile's name: profiles are re-resolved on reload */
        const char *watch;              /* the [watch] section that found it, or NULL */
        const char *unified_cgroup;     /* cgroup1 hosts: its twin in the unified tree, or NULL */
        char *const *argv;
        const struct backend_config *backend;
        const struct policy_limits *limits;
        const struct policy_limits *asked; /* what the client asked for (kept across reloads), or NULL */
        int limit_exit_code;            /* what the client wants for a limit stop; 0: the default */
        uint64_t ceiling_bytes;         /* the least memory ceiling of the cgroups it was started in, 0: none */
        bool freeze_instead;            /* the profile's action is freeze */
        uint64_t log_every_usec;        /* MJOB_EVENT_USAGE this often; 0: never */
        uint64_t spike_rate_bytes_per_sec; /* MJOB_EVENT_SPIKE from this rate; 0: never */
        uint64_t interval_max_usec;
        mjob_event_cb on_event;
        void *userdata;
};

/* Opens the backend's group (a new one, or an existing one adopted) and the guard; nothing is watched
 * yet (mjob_adopt_pid, mjob_adopt_group). *reterr, when set, says why it failed. */
int mjob_new(struct ev_loop *loop, struct sysroot *s, enum backend_kind kind, const struct mjob_options *o,
             struct mjob **ret, char **reterr);
struct mjob *mjob_free(struct mjob *j);

/* Start watching: the root process of a registered job (moved into the group first; pidfd is taken
 * over), or an adopted group as it is (start_usec, peak_bytes: from its record, 0 if none). */
int mjob_adopt_pid(struct mjob *j, pid_t pid, int pidfd, char **reterr);
void mjob_adopt_group(struct mjob *j, uint64_t start_usec, uint64_t peak_bytes);

/* Who it is. */
uint64_t mjob_id(const struct mjob *j);
enum mjob_source mjob_source(const struct mjob *j);
const char *mjob_source_to_string(enum mjob_source s);
uid_t mjob_uid(const struct mjob *j);
const char *mjob_user(const struct mjob *j);
const char *mjob_profile(const struct mjob *j);
const char *mjob_watch(const struct mjob *j);
const char *mjob_cgroup(const struct mjob *j);
const char *mjob_unified_cgroup(const struct mjob *j);
const char *mjob_command(const struct mjob *j);
const char *mjob_backend_name(const struct mjob *j);
pid_t mjob_pid(const struct mjob *j);
uint64_t mjob_start_realtime_usec(const struct mjob *j);
/* The least memory ceiling of the cgroups it was started in (it never leaves those), 0: none. */
uint64_t mjob_ceiling_bytes(const struct mjob *j);

/* How it is. */
uint64_t mjob_current_bytes(const struct mjob *j);
uint64_t mjob_peak_bytes(const struct mjob *j);         /* the working set's peak */
const struct policy_limits *mjob_limits(const struct mjob *j);
const struct policy_limits *mjob_asked(const struct mjob *j);
enum policy_stage mjob_stage(const struct mjob *j);
enum policy_reason mjob_reason(const struct mjob *j);
/* "running", "frozen", "stopping", "killing", "ended". */
const char *mjob_state(const struct mjob *j);
bool mjob_ended(const struct mjob *j);
/* Ended at least usec ago (a job that never started counts as long ended). */
bool mjob_ended_for(const struct mjob *j, uint64_t usec);
/* The samples and processes, read-only. */
const struct job *mjob_record(const struct mjob *j);
/* The root's status as its parent saw it (FinishJob); -1 unknown. */
int mjob_wait_status(const struct mjob *j);
void mjob_set_wait_status(struct mjob *j, int status);

/* The report of a job, as memguard run prints it: format "json", "text", "csv" or "timeline"; *ret
 * malloc'ed. */
int mjob_report(const struct mjob *j, const char *format, char **ret, int *ret_exit_code);

/* Operator actions. */
void mjob_kill(struct mjob *j, bool now);
int mjob_freeze(struct mjob *j, bool frozen);
int mjob_set_limit(struct mjob *j, uint64_t bytes);
/* New settings from a reload: limits for the ladder, and for a registered job the kernel ceiling. */
void mjob_apply(struct mjob *j, const struct policy_limits *l, bool freeze_instead, uint64_t log_every_usec,
                uint64_t spike_rate_bytes_per_sec);
void mjob_request_stop(struct mjob *j, enum policy_reason reason, int sig);
/* Sample now, out of turn (the kernel said something changed); detail: every process too. */
void mjob_poke(struct mjob *j, bool detail);
/* Sample now and act on it, before returning (a decision across jobs needs fresh numbers). */
void mjob_sample_now(struct mjob *j);
/* How writing its state file went (0 or -errno): true for a failure not yet reported, so a full disk
 * that fails every save of a growing job is said once per kind of failure. */
bool mjob_save_failed(struct mjob *j, int r);
/* The record was written with the peak it has now (MJOB_EVENT_PEAK compares with it). */
void mjob_saved(struct mjob *j);
/* The daemon stops: leave the job's groups where they are. */
void mjob_keep_group(struct mjob *j);
