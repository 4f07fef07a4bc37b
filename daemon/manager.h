/* SPDX-License-Identifier: MIT */
/* memguardd's one context: the libev default loop, the configuration, the job table, the signal,
 * watchdog and host-reserve watchers, and where job groups go. Jobs (mjob.h) report what happens to
 * them as job events; the manager hands each one to the listeners that registered themselves (the bus,
 * the journal records, the hooks, the state records, the kernel's notifications) and knows none of
 * them. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "cgroup.h"
#include "mjob.h"
#include "policy.h"

/* The daemon's own records (systemd/memguard.catalog explains each). */
#define MANAGER_MESSAGE_STARTED "7339d3bba7c7446ca0c3e8f0472c53a0"
#define MANAGER_MESSAGE_RELOAD_OK "b996c43ad552471cb47d026b365d18b0"
#define MANAGER_MESSAGE_RELOAD_FAILED "3c68f6ed414a4845aefd1bd80afb805f"

struct conf;
struct conf_errors;
struct conf_profile;
struct manager;
struct sysroot;

/* What a listener hears: every job event, and that the configuration was reloaded. Either may be NULL. */
struct manager_listener {
        void (*job_event)(struct manager *m, struct mjob *j, const struct mjob_event *ev, void *userdata);
        void (*reloaded)(struct manager *m, void *userdata);
        void *userdata;
};

/* Listeners registered before the loop runs; enough for every part of the daemon and a few more. */
#define MANAGER_LISTENERS_MAX 8

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
        int state_fd;                   /* state-dir/jobs, opened and checked by state_listen(); records are
                                         * opened relative to it; closed with the manager */

        struct mjob **jobs;             /* running jobs, and ended ones kept for their reports; newest first */
        size_t n_jobs;
        uint64_t next_id;

        struct manager_listener listeners[MANAGER_LISTENERS_MAX];
        size_t n_listeners;

        ev_signal sig_term, sig_int, sig_hup;
        ev_timer host_timer;
        ev_timer watchdog_timer;
        ev_timer reap_timer;
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

/* Loads the configuration (every error printed with file:line), opens the sysroot and finds where job
 * groups go. Every failure is logged here; -errno. */
int manager_new(const struct manager_options *o, struct manager **ret);
/* Frees the jobs (their groups stay: the next start takes them up), telling the listeners, which must
 * still be there. */
struct manager *manager_free(struct manager *m);
static inline void manager_freep(struct manager **m) {
        manager_free(*m);
}

/* -ENOSPC (logged) past MANAGER_LISTENERS_MAX. */
int manager_add_listener(struct manager *m, const struct manager_listener *l);

/* Starts the signal, watchdog, host and reap watchers and says READY=1. */
int manager_start(struct manager *m);

/* Reload the configuration: all or nothing. On errors *reterr (when not NULL) gets every message, to
 * free with conf_errors_done(), and the running configuration stays. */
int manager_reload(struct manager *m, struct conf_errors *reterr);

/* A running job by id; manager_find_any also finds one that ended recently (for its report). */
struct mjob *manager_find_job(struct manager *m, uint64_t id);
struct mjob *manager_find_any(struct manager *m, uint64_t id);
struct mjob *manager_find_cgroup(struct manager *m, const char *cgroup);
/* The running job pid belongs to: its root, or a process in its group. */
struct mjob *manager_find_pid(struct manager *m, pid_t pid);
size_t manager_count_active(const struct manager *m);

/* A client's process as a job: moved into a new job group under the profile (a user may ask for a
 * lower limit, never a higher one). pidfd is taken over. */
struct manager_register {
        uid_t uid;
        pid_t pid;
        int pidfd;
        char *const *argv;
        const char *profile;            /* NULL: the rules choose */
        const struct policy_limits *asked;
        int limit_exit_code;
};
int manager_register_job(struct manager *m, const struct manager_register *r, struct mjob **ret, char **reterr);

/* A job the daemon did not start (adopt.c): o->on_event, o->userdata, the profile's actions and, for
 * an id of 0, the id are the manager's to fill. Announce it with manager_job_added() once it is
 * watched. */
int manager_add_job(struct manager *m, struct mjob_options *o, struct mjob **ret, char **reterr);
void manager_job_added(struct manager *m, struct mjob *j, bool restored);

const struct conf_profile *manager_profile(const struct manager *m, const char *name);
void manager_limits_from_profile(const struct manager *m, const struct conf_profile *p, struct policy_limits *l);
/* The directory (relative to the cgroup root) of the cgroup at path (plus leaf), in the hierarchy the
 * backend uses, or with unified in the cgroup2 tree (a cgroup1 job's twin). NULL when that hierarchy
 * is not there. */
char *manager_cgroup_dir(const struct manager *m, bool unified, const char *path, const char *leaf);
/* host-reserve: stop the largest job when the host runs short. */
void manager_check_host(struct manager *m);
