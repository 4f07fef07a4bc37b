/* SPDX-License-Identifier: MIT */
/* memguardd's one context: the libev default loop, the configuration, the job table, the signal,
 * watchdog and [watch] scan watchers, and the state directory. Front ends (signals, the bus, the
 * control socket) call manager_* and never touch a job's guard directly. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "cgroup.h"
#include "policy.h"

struct sd_bus_message;
struct bus;

struct conf;
struct conf_errors;
struct conf_profile;
struct guard;
struct sysroot;

enum mjob_source {
        MJOB_SOURCE_REGISTERED,         /* a client handed us its process */
        MJOB_SOURCE_WATCH,              /* a cgroup matched a [watch] section */
};

struct mjob {
        struct manager *manager;
        uint64_t id;
        enum mjob_source source;
        struct guard *guard;
        char *profile;                  /* the profile's name: profiles are re-resolved on reload */
        char *watch;                    /* the [watch] section that found it */
        char *cgroup;                   /* the job group as /proc/PID/cgroup prints it */
        char *unified_cgroup;           /* cgroup1 hosts: its twin in the unified tree */
        char *command;                  /* for people: the command line */
        uid_t uid;
        char user[64];
        struct policy_limits asked;     /* what the client asked for; kept across reloads */
        uint64_t ceiling_bytes;         /* the least memory ceiling of the cgroups it was started in, 0: none */
        uint64_t start_realtime_usec;
        uint64_t peak_saved_bytes;      /* the peak last written to the state file */
        int save_error;                 /* the last failure to write it (logged once), 0 if none */
        uint64_t last_usage_log_usec;   /* log-every */
        uint64_t last_spike_log_usec;
        uint64_t prev_bytes, prev_usec; /* spike-rate */
        bool ended;
        uint64_t ended_usec;            /* CLOCK_MONOTONIC; ended jobs stay a while for their reports */
        int wait_status;                /* the root's status as its parent saw it (FinishJob), -1 unknown */
        int limit_exit_code;            /* what the client wants for a limit stop */
        struct sd_bus_message *finish_call; /* a FinishJob call answered when the job has ended */
        int event_fds[2];               /* cgroup.events, memory.events: in the manager's epoll set */
        struct mjob *next;
};

struct manager {
        struct ev_loop *loop;
        struct sysroot *sysroot;
        struct conf *conf;
        char *config_path;
        char *dropin_dir;
        uint64_t host_ram_bytes;

        enum backend_kind backend_kind; /* what this host gives job groups */
        struct cgroup_layout layout;    /* the mounts, read once at start (they do not move) */
        char *parent_path;              /* where job groups are made */
        char *unified_parent_path;
        char *socket_path;              /* from the config, or --socket */
        char *state_dir;
        int state_fd;                   /* state-dir/jobs, checked at start; records are opened relative to it */

        struct mjob *jobs;
        uint64_t next_id;

        ev_signal sig_term, sig_int, sig_hup;
        ev_timer watch_timer;
        ev_timer watchdog_timer;
        ev_timer reap_timer;
        /* The kernel's notifications (cgroup.events, memory.events, the PSI trigger) report POLLPRI
         * while POLLIN is always set, so they sit in an epoll set of their own watched as one fd. */
        int epoll_fd;
        ev_io epoll_io;
        int psi_fd;            /* frees ended jobs once nobody can want their report */
        struct bus *bus;                /* the D-Bus interface on the system bus and the socket */
        uint64_t watchdog_usec;
        uint64_t host_victim;           /* the job being stopped for host-reserve, 0 if none */
        bool stopping;
};

struct manager_options {
        const char *config_path;
        const char *dropin_dir;
        const char *sysroot;
        const char *socket_path;        /* overrides [daemon] socket */
        const char *state_dir;          /* overrides [daemon] state-dir */
        const char *cgroup_parent;      /* overrides [daemon] cgroup-parent */
        enum backend_kind backend;
};

/* Loads the configuration (every error printed with file:line), opens the sysroot, finds where job
 * groups go, and re-adopts the jobs recorded in the state directory. Startup failures are -errno. */
int manager_new(const struct manager_options *o, struct manager **ret);
struct manager *manager_free(struct manager *m);

/* Starts the signal, watchdog and scan watchers and says READY=1. */
int manager_start(struct manager *m);

/* Reload the configuration: all or nothing. On errors *reterr (when not NULL) gets every message, to
 * free with conf_errors_done(), and the running configuration stays. */
int manager_reload(struct manager *m, struct conf_errors *reterr);

/* A running job by id; manager_find_any also finds one that ended recently (for its report). */
struct mjob *manager_find_job(struct manager *m, uint64_t id);
struct mjob *manager_find_any(struct manager *m, uint64_t id);

/* "running", "frozen", "stopping", "killing", "ended". */
const char *mjob_state(const struct mjob *j);

/* The report of a job, as memguard run prints it: format "json" or "text"; *ret malloc'ed. */
int mjob_report(const struct mjob *j, const char *format, char **ret, int *ret_exit_code);

/* A client's process as a job: moved into a new job group under the profile (a user may ask for a
 * lower limit, never a higher one). pidfd is taken over. */
int manager_register_job(struct manager *m, uid_t uid, pid_t pid, int pidfd, char *const *argv,
                         const char *profile, const struct policy_limits *asked, struct mjob **ret, char **reterr);

/* Operator actions. */
int manager_kill_job(struct manager *m, struct mjob *j, bool now);
int manager_freeze_job(struct manager *m, struct mjob *j, bool frozen);
int manager_set_limit(struct manager *m, struct mjob *j, uint64_t bytes);

/* For the daemon's own files (adopt, kevents, bus): */
int manager_add_job(struct manager *m, enum mjob_source source, const struct backend_config *bc,
                    const struct policy_limits *limits, const char *profile, const char *watch, uid_t uid,
                    char *const *argv, uint64_t id, struct mjob **ret, char **reterr);
const struct conf_profile *manager_profile(const struct manager *m, const char *name);
void manager_limits_from_profile(const struct manager *m, const struct conf_profile *p, struct policy_limits *l);
struct mjob *manager_find_cgroup(struct manager *m, const char *cgroup);
/* The job's record, in the state directory and on its cgroup. */
void manager_job_save(struct manager *m, struct mjob *j);
/* The directory (relative to the cgroup root) of the cgroup at path (plus leaf), in the hierarchy the
 * backend uses, or with unified in the cgroup2 tree (a cgroup1 job's twin). NULL when that hierarchy
 * is not there. */
char *manager_cgroup_dir(const struct manager *m, bool unified, const char *path, const char *leaf);
void manager_notify_status(struct manager *m);
/* host-reserve: stop the largest job when the host runs short. */
void manager_check_host(struct manager *m);
