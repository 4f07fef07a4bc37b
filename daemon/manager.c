/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "cgroup-escape.h"
#include "cgroup.h"
#include "conf.h"
#include "job.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "mjob.h"
#include "procfs.h"
#include "sysroot.h"
#include "units.h"

/* The host's available memory is checked against host-reserve this often. */
#define MANAGER_HOST_CHECK_USEC (3 * USEC_PER_SEC)
/* An ended job's report stays this long for its client (FinishJob, GetReport, memguard show). */
#define MANAGER_KEEP_ENDED_USEC (10 * 60 * USEC_PER_SEC)
#define MANAGER_REAP_INTERVAL_USEC (30 * USEC_PER_SEC)
/* The daemon's own leaf in its cgroup2 subtree, so the subtree may hand the memory controller down
 * ("no internal processes"). */
#define MANAGER_SUPERVISOR_LEAF "supervisor"

static void manager_notify_status(struct manager *m) {
        size_t n = manager_count_active(m);
        sd_notifyf(0, "STATUS=supervising %zu job%s", n, n == 1 ? "" : "s");
}

int manager_add_listener(struct manager *m, const struct manager_listener *l) {
        /* Only a change to main.c can get here: say so rather than lose a listener. */
        if (m->n_listeners >= ELEMENTSOF(m->listeners))
                return log_error_errno(ENOSPC, "more than %zu listeners to jobs", ELEMENTSOF(m->listeners));
        m->listeners[m->n_listeners++] = *l;
        return 0;
}

/* Every job event goes to every listener, in the order they registered. */
static void manager_dispatch(struct manager *m, struct mjob *j, const struct mjob_event *ev) {
        for (size_t i = 0; i < m->n_listeners; i++)
                if (m->listeners[i].job_event)
                        m->listeners[i].job_event(m, j, ev, m->listeners[i].userdata);
        if (ev->type == MJOB_EVENT_ADDED || ev->type == MJOB_EVENT_ENDED)
                manager_notify_status(m);
}

static void manager_job_event(struct mjob *j, const struct mjob_event *ev, void *userdata) {
        manager_dispatch(userdata, j, ev);
}

void manager_job_added(struct manager *m, struct mjob *j, bool restored) {
        manager_dispatch(m, j, &(struct mjob_event) { .type = MJOB_EVENT_ADDED, .restored = restored });
}

void manager_limits_from_profile(const struct manager *m, const struct conf_profile *p,
                                        struct policy_limits *l) {
        policy_limits_init(l);
        l->max_bytes = p->max_memory;
        l->max_process_bytes = p->max_process_memory;
        l->kill_threshold = p->kill_threshold;
        l->warn_at = p->warn_at;
        l->grace_usec = p->grace_usec;
        l->warn_every_usec = p->warn_every_usec;
        /* A profile's interval is fixed; otherwise adaptive, resting at the daemon's interval (so a
         * thousand idle jobs cost little) and shrinking toward 10ms as a job nears its threshold. */
        l->interval_usec = p->interval_usec;
        l->interval_max_usec = m->conf->daemon.interval_usec;
}

const struct conf_profile *manager_profile(const struct manager *m, const char *name) {
        const struct conf_profile *p = name ? conf_profile(m->conf, name) : NULL;
        if (!p)
                p = conf_profile(m->conf, m->conf->daemon.default_profile);
        if (!p)
                p = conf_profile(m->conf, CONF_DEFAULT_PROFILE);
        return p;
}

size_t manager_count_active(const struct manager *m) {
        size_t n = 0;
        for (size_t i = 0; i < m->n_jobs; i++)
                n += !mjob_ended(m->jobs[i]);
        return n;
}

static void manager_drop_job(struct manager *m, size_t i) {
        struct mjob *j = m->jobs[i];
        manager_dispatch(m, j, &(struct mjob_event) { .type = MJOB_EVENT_FREED });
        mjob_free(j);
        memmove(m->jobs + i, m->jobs + i + 1, (m->n_jobs - i - 1) * sizeof(*m->jobs));
        m->n_jobs--;
}

/* Ended jobs stay for their reports a while, then go; never freed inside their own guard's callback. */
static void manager_reap_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct manager *m = w->data;
        for (size_t i = m->n_jobs; i-- > 0;)
                if (mjob_ended_for(m->jobs[i], MANAGER_KEEP_ENDED_USEC))
                        manager_drop_job(m, i);
}

char *manager_cgroup_dir(const struct manager *m, bool unified, const char *path, const char *leaf) {
        const struct cgroup_layout *l = &m->layout;
        if (!path)
                return NULL;
        if (unified || m->backend_kind == BACKEND_CGROUP2)
                return l->v2_mount ? cgroup_dir(l->v2_mount, l->v2_root, path, leaf) : NULL;
        return l->v1_memory_mount ? cgroup_dir(l->v1_memory_mount, l->v1_memory_root, path, leaf) : NULL;
}

/* The job group a cgroup1 host's registered job gets in the unified tree too (for cgroup.events). */
static int manager_unified_cgroup(const struct manager *m, const struct backend_config *bc, char **ret) {
        *ret = NULL;
        if (bc->adopt_unified_path || m->backend_kind != BACKEND_CGROUP1 || !m->unified_parent_path || !bc->group_name)
                return 0;
        if (asprintf(ret, "%s%s%s", m->unified_parent_path, strcmp(m->unified_parent_path, "/") == 0 ? "" : "/",
                     bc->group_name) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int manager_grow_jobs(struct manager *m) {
        struct mjob **n = reallocarray(m->jobs, m->n_jobs + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        m->jobs = n;
        return 0;
}

int manager_add_job(struct manager *m, struct mjob_options *o, struct mjob **ret, char **reterr) {
        const struct conf_profile *p = manager_profile(m, o->profile);
        _cleanup_free_ char *unified = NULL;
        int r = manager_unified_cgroup(m, o->backend, &unified);
        if (r < 0 || (r = manager_grow_jobs(m)) < 0)
                return r;
        if (unified)
                o->unified_cgroup = unified;
        else if (o->backend->adopt_unified_path)
                o->unified_cgroup = o->backend->adopt_unified_path;
        if (o->id == 0)
                o->id = m->next_id;
        o->freeze_instead = p && p->action == CONF_ACTION_FREEZE;
        o->log_every_usec = p ? p->log_every_usec : 0;
        o->spike_rate_bytes_per_sec = p ? p->spike_rate_bytes_per_sec : 0;
        o->on_event = manager_job_event;
        o->userdata = m;
        struct mjob *j;
        r = mjob_new(m->loop, m->sysroot, m->backend_kind, o, &j, reterr);
        if (r < 0)
                return r;
        m->next_id = MAX(m->next_id, o->id + 1);
        /* Newest first: that is the order jobs are listed in. */
        memmove(m->jobs + 1, m->jobs, m->n_jobs * sizeof(*m->jobs));
        m->jobs[0] = j;
        m->n_jobs++;
        *ret = j;
        return 0;
}

struct mjob *manager_find_any(struct manager *m, uint64_t id) {
        for (size_t i = 0; i < m->n_jobs; i++)
                if (mjob_id(m->jobs[i]) == id)
                        return m->jobs[i];
        return NULL;
}

struct mjob *manager_find_job(struct manager *m, uint64_t id) {
        struct mjob *j = manager_find_any(m, id);
        return j && !mjob_ended(j) ? j : NULL;
}

struct mjob *manager_find_cgroup(struct manager *m, const char *cgroup) {
        for (size_t i = 0; i < m->n_jobs; i++) {
                struct mjob *j = m->jobs[i];
                if (!mjob_ended(j) && mjob_cgroup(j) && strcmp(mjob_cgroup(j), cgroup) == 0)
                        return j;
        }
        return NULL;
}

struct mjob *manager_find_pid(struct manager *m, pid_t pid) {
        for (size_t i = 0; i < m->n_jobs; i++) {
                struct mjob *j = m->jobs[i];
                if (mjob_ended(j))
                        continue;
                if (mjob_pid(j) == pid ||
                    (mjob_cgroup(j) && cgroup_pid_in(m->sysroot, pid, m->backend_kind == BACKEND_CGROUP2, mjob_cgroup(j)) > 0))
                        return j;
        }
        return NULL;
}

/* The profile a client's job runs under: the one it named, or the first rule that matches it. */
static int manager_match_profile(struct manager *m, const struct manager_register *reg,
                                 const struct cgroup_layout *l, const struct conf_profile **ret, char **reterr) {
        if (reg->profile && *reg->profile) {
                *ret = conf_profile(m->conf, reg->profile);
                if (!*ret) {
                        backend_errorf(reterr, "no profile called '%s'", reg->profile);
                        return -ENOENT;
                }
                return 0;
        }
        _cleanup_free_ char *cmd = job_argv_string(reg->argv);
        if (!cmd)
                return -ENOMEM;
        struct passwd pw, *res = NULL;
        char tmp[1024];
        gid_t gid = getpwuid_r(reg->uid, &pw, tmp, sizeof(tmp), &res) == 0 && res ? res->pw_gid : (gid_t) -1;
        /* Rules by cgroup see where the job was started: a user's session, a scheduler's step. */
        const char *where = m->backend_kind == BACKEND_CGROUP1 ? l->v1_memory_path : l->v2_path;
        *ret = conf_match(m->conf, reg->uid, gid, cmd, where);
        return 0;
}

/* A job never leaves the limits of the cgroup it was started in. Moving it into a job group of ours
 * would, so the memory ceilings set between its cgroup and our parent become the job's ceiling
 * (*ret, 0: none). Other limits (memory.high and swap, cpu, io, cpuset on cgroup2) cannot be carried
 * over: a caller who could not leave them by itself is refused, root is told. pids.max is not looked
 * at: systemd sets it on every slice, and a job's processes are few. */
static int manager_inherited_ceiling(struct manager *m, uid_t uid, pid_t pid, const struct cgroup_layout *l,
                                     uint64_t *ret, char **reterr) {
        *ret = 0;
        if (m->backend_kind == BACKEND_PROCFS)
                return 0;  /* nothing is moved */
        bool v2 = m->backend_kind == BACKEND_CGROUP2;
        const struct {
                const char *mount, *root, *from, *to;
                bool v2;
        } trees[] = {
                { v2 ? m->layout.v2_mount : m->layout.v1_memory_mount, v2 ? m->layout.v2_root : m->layout.v1_memory_root,
                  v2 ? l->v2_path : l->v1_memory_path, m->parent_path, v2 },
                /* cgroup1 hosts: the job's twin in the unified tree, where controllers may be too. */
                { v2 ? NULL : m->layout.v2_mount, m->layout.v2_root, l->v2_path, m->unified_parent_path, true },
        };
        uint64_t least = UINT64_MAX;
        for (size_t i = 0; i < ELEMENTSOF(trees); i++) {
                if (!trees[i].mount || !trees[i].to)
                        continue;
                if (!trees[i].from) {
                        backend_errorf(reterr, "cannot tell which cgroup process %d runs in", (int) pid);
                        return -ESRCH;
                }
                struct cgroup_escape e;
                int r = cgroup_escape_read(m->sysroot, trees[i].mount, trees[i].root, trees[i].v2, trees[i].from,
                                           trees[i].to, &e);
                if (r < 0)
                        return r;
                if (e.other && uid != 0) {
                        backend_errorf(reterr, "memguardd will not move process %d out of the limits it runs under "
                                       "(%s); guard it where it is with 'memguard run --no-daemon'", (int) pid, e.other);
                        cgroup_escape_done(&e);
                        return -EPERM;
                }
                if (e.other)
                        log_warning("process %d of uid 0 leaves a limit it ran under (%s) for its job group", (int) pid,
                                    e.other);
                if (e.memory_bytes < least) {
                        char b[UNITS_SIZE_MAX];
                        least = e.memory_bytes;
                        log_info("process %d: the job's memory ceiling is at most %s, as on %s where it was started",
                                 (int) pid, units_format_size(b, least), e.memory_where);
                }
                cgroup_escape_done(&e);
        }
        *ret = least == UINT64_MAX ? 0 : least;
        return 0;
}

static void manager_apply_ceiling(uint64_t ceiling, struct policy_limits *l) {
        if (ceiling > 0 && (l->max_bytes == 0 || l->max_bytes > ceiling))
                l->max_bytes = ceiling;
}

/* A new group of our own for the job. A group of that name may be left from another daemon (another
 * state directory): skip it. */
static int manager_add_registered(struct manager *m, const struct manager_register *reg, const char *profile,
                                  const struct policy_limits *limits, uint64_t ceiling, struct mjob **ret,
                                  char **reterr) {
        for (int attempt = 0;; attempt++) {
                char group[64];
                snprintf(group, sizeof(group), "job-%" PRIu64, m->next_id);
                struct backend_config bc = {
                        .group_name = group,
                        .hard_limit_bytes = limits->max_bytes,
                        .parent_path = m->parent_path,
                        .unified_parent_path = m->unified_parent_path,
                        .root_pid = reg->pid,
                };
                struct mjob_options o = {
                        .id = m->next_id,
                        .source = MJOB_SOURCE_REGISTERED,
                        .uid = reg->uid,
                        .profile = profile,
                        .argv = reg->argv,
                        .backend = &bc,
                        .limits = limits,
                        .asked = reg->asked,
                        .limit_exit_code = reg->limit_exit_code,
                        .ceiling_bytes = ceiling,
                };
                int r = manager_add_job(m, &o, ret, reterr);
                if (r != -EEXIST || attempt >= 100)
                        return r;
                m->next_id++;
        }
}

int manager_register_job(struct manager *m, const struct manager_register *reg, struct mjob **ret, char **reterr) {
        _cleanup_close_ int fd = reg->pidfd;
        _cleanup_(cgroup_layout_done) struct cgroup_layout l = {};
        (void) cgroup_layout_read(m->sysroot, reg->pid, &l);
        const struct conf_profile *p;
        int r = manager_match_profile(m, reg, &l, &p, reterr);
        if (r < 0)
                return r;
        uint64_t ceiling;
        r = manager_inherited_ceiling(m, reg->uid, reg->pid, &l, &ceiling, reterr);
        if (r < 0)
                return r;
        struct policy_limits limits;
        manager_limits_from_profile(m, p, &limits);
        policy_limits_apply_asked(reg->asked, reg->uid == 0, &limits);
        manager_apply_ceiling(ceiling, &limits);

        struct mjob *j;
        r = manager_add_registered(m, reg, p->name, &limits, ceiling, &j, reterr);
        if (r < 0)
                return r;
        r = mjob_adopt_pid(j, reg->pid, TAKE_FD(fd), reterr);
        if (r < 0)
                return r;
        manager_job_added(m, j, false);
        *ret = j;
        return 0;
}

/* The running job using the most memory; NULL if none. */
static struct mjob *manager_largest_job(struct manager *m) {
        struct mjob *victim = NULL;
        for (size_t i = 0; i < m->n_jobs; i++) {
                struct mjob *j = m->jobs[i];
                if (mjob_ended(j) || mjob_stage(j) != POLICY_STAGE_RUNNING)
                        continue;
                if (!victim || mjob_current_bytes(j) > mjob_current_bytes(victim))
                        victim = j;
        }
        return victim;
}

/* host-reserve: when the host's available memory runs below it, the largest job is stopped, one at a
 * time (the next only once the last has ended: available memory lags behind a kill). */
void manager_check_host(struct manager *m) {
        uint64_t reserve = m->conf->daemon.host_reserve_bytes;
        if (reserve == 0)
                return;
        if (m->host_victim && manager_find_job(m, m->host_victim))
                return;
        m->host_victim = 0;
        uint64_t total = 0, avail = 0;
        if (procfs_read_meminfo(m->sysroot, &total, &avail) < 0 || avail >= reserve)
                return;
        /* The largest job now, not as it was at its last turn: a job on a long fixed interval must not
         * hide behind an old sample while a smaller one is stopped in its place. */
        for (size_t i = 0; i < m->n_jobs; i++)
                mjob_sample_now(m->jobs[i]);
        struct mjob *victim = manager_largest_job(m);
        if (!victim)
                return;
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX], msg[256];
        snprintf(msg, sizeof(msg), "the host has %s available, below its reserve of %s: stopping its largest job",
                 units_format_size(b1, avail), units_format_size(b2, reserve));
        manager_dispatch(m, victim, &(struct mjob_event) { .type = MJOB_EVENT_HOST_RESERVE,
                                                           .current_bytes = mjob_current_bytes(victim),
                                                           .message = msg });
        m->host_victim = mjob_id(victim);
        mjob_request_stop(victim, POLICY_REASON_HOST_RESERVE, SIGTERM);
}

static void manager_host_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        manager_check_host(w->data);
}

static void manager_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        /* The loop is turning: every job's timer runs on it, so this ping vouches for them. */
        sd_notify(0, "WATCHDOG=1");
}

static void manager_signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        struct manager *m = w->data;
        if (w->signum == SIGHUP) {
                (void) manager_reload(m, NULL);
                return;
        }
        log_info("received SIG%s; stopping (supervised jobs keep running and are taken up again at the next start)",
                 sigabbrev_np(w->signum));
        sd_notify(0, "STOPPING=1");
        for (size_t i = 0; i < m->n_jobs; i++)
                if (!mjob_ended(m->jobs[i]))
                        manager_dispatch(m, m->jobs[i], &(struct mjob_event) { .type = MJOB_EVENT_DETACHED });
        m->stopping = true;
        ev_break(loop, EVBREAK_ALL);
}

static int manager_reload_failed(struct manager *m, int r, struct conf_errors *errors, struct conf_errors *reterr) {
        for (size_t i = 0; i < errors->n; i++)
                log_error("%s", errors->messages[i]);
        struct log_field f[2] = { { .name = "CONFIG_FILE" }, { .name = "MEMGUARD_ERRORS" } };
        snprintf(f[0].value, sizeof(f[0].value), "%s", m->config_path);
        snprintf(f[1].value, sizeof(f[1].value), "%zu", errors->n);
        log_struct(LOG_ERR, MANAGER_MESSAGE_RELOAD_FAILED, f, 2,
                   "configuration has %zu error%s, not reloading; the running configuration stays", errors->n,
                   errors->n == 1 ? "" : "s");
        if (reterr)
                *reterr = *errors;
        else
                conf_errors_done(errors);
        sd_notify(0, "READY=1");
        return r == -ENOMEM ? r : -EINVAL;
}

/* A running job follows its profile's new settings; the kernel ceiling of our own groups too. */
static void manager_reapply(struct manager *m, struct mjob *j) {
        const struct conf_profile *p = conf_profile(m->conf, mjob_profile(j));
        if (!p) {
                log_warning("job %" PRIu64 ": profile %s is gone after the reload; it keeps its limits", mjob_id(j),
                            mjob_profile(j));
                return;
        }
        struct policy_limits l;
        manager_limits_from_profile(m, p, &l);
        /* What the client asked for still holds, within what the new profile allows. */
        policy_limits_apply_asked(mjob_asked(j), mjob_uid(j) == 0, &l);
        manager_apply_ceiling(mjob_ceiling_bytes(j), &l);
        mjob_apply(j, &l, p->action == CONF_ACTION_FREEZE, p->log_every_usec, p->spike_rate_bytes_per_sec);
}

int manager_reload(struct manager *m, struct conf_errors *reterr) {
        sd_notify(0, "RELOADING=1");
        struct conf *c = NULL;
        struct conf_errors errors = {};
        int r = conf_load(m->config_path, m->dropin_dir, m->host_ram_bytes, &c, &errors);
        if (r < 0)
                return manager_reload_failed(m, r, &errors, reterr);
        conf_free(m->conf);
        m->conf = c;
        log_set_max_level(m->conf->daemon.log_level);

        for (size_t i = 0; i < m->n_jobs; i++)
                if (!mjob_ended(m->jobs[i]))
                        manager_reapply(m, m->jobs[i]);
        struct log_field f[1] = { { .name = "CONFIG_FILE" } };
        snprintf(f[0].value, sizeof(f[0].value), "%s", m->config_path);
        log_struct(LOG_INFO, MANAGER_MESSAGE_RELOAD_OK, f, 1, "configuration reloaded: %zu profiles, %zu rules, %zu watches",
                   m->conf->n_profiles, m->conf->n_rules, m->conf->n_watches);
        sd_notify(0, "READY=1");
        manager_notify_status(m);
        for (size_t i = 0; i < m->n_listeners; i++)
                if (m->listeners[i].reloaded)
                        m->listeners[i].reloaded(m, m->listeners[i].userdata);
        return 0;
}

/* Decides where job groups go and makes sure the memory controller reaches them. */
/* A configured parent is made when missing; on cgroup2 it hands the memory controller down. */
/* Hands the memory controller down from the cgroup2 group at path to the groups below it. */
static void manager_enable_memory(struct manager *m, const char *mount, const char *root, const char *path) {
        _cleanup_free_ char *sub = cgroup_dir(mount, root, path, "cgroup.subtree_control");
        _cleanup_free_ char *text = NULL;
        if (sub && sysroot_read_cgroup(m->sysroot, sub, &text, 4096) >= 0 && !cgroup_list_has(text, "memory")) {
                int r = sysroot_write_cgroup(m->sysroot, sub, "+memory");
                if (r < 0)
                        log_warning_errno(r, "cannot enable the memory controller in %s: %m", path);
        }
}

static void manager_make_parent(struct manager *m, const char *mount, const char *root, const char *path, bool v2) {
        _cleanup_free_ char *dir = cgroup_dir(mount, root, path, NULL);
        if (!dir)
                return;
        int r = cgroup_mkdir(m->sysroot, dir);
        if (r < 0 && r != -EEXIST)
                log_warning_errno(r, "cannot create the job cgroup parent %s: %m", path);
        if (!v2)
                return;
        _cleanup_free_ char *ctl = cgroup_dir(mount, root, path, "cgroup.controllers");
        _cleanup_free_ char *have = NULL;
        /* Only where the memory controller reaches this far (not the unified tree of a hybrid host). */
        if (!ctl || sysroot_read_cgroup(m->sysroot, ctl, &have, 4096) < 0 || !cgroup_list_has(have, "memory"))
                return;
        manager_enable_memory(m, mount, root, path);
}

/* cgroup2: job groups under the configured parent, or beside our own leaf in our own group. */
static int manager_setup_cgroup2(struct manager *m, const char *configured) {
        const struct cgroup_layout *l = &m->layout;
        const char *own = l->v2_path;
        m->parent_path = strdup(configured ? configured : own);
        if (!m->parent_path)
                return log_oom();
        if (!configured && strcmp(own, "/") != 0) {
                /* "No internal processes": move ourselves into a leaf so our cgroup (systemd's Delegate=yes
                 * subtree) can hand the memory controller to job groups. */
                _cleanup_free_ char *leaf = cgroup_dir(l->v2_mount, l->v2_root, own, MANAGER_SUPERVISOR_LEAF);
                _cleanup_free_ char *procs = cgroup_dir(l->v2_mount, l->v2_root, own,
                                                        MANAGER_SUPERVISOR_LEAF "/cgroup.procs");
                int r = leaf && procs ? cgroup_mkdir(m->sysroot, leaf) : -ENOMEM;
                if ((r >= 0 || r == -EEXIST) && (r = sysroot_write_cgroup(m->sysroot, procs, "0")) >= 0)
                        log_debug("moved into %s/%s", own, MANAGER_SUPERVISOR_LEAF);
                else
                        log_warning_errno(r, "cannot move into %s/%s: %m", own, MANAGER_SUPERVISOR_LEAF);
        }
        manager_enable_memory(m, l->v2_mount, l->v2_root, m->parent_path);
        return 0;
}

static int manager_setup_cgroup1(struct manager *m, const char *configured) {
        const struct cgroup_layout *l = &m->layout;
        m->parent_path = strdup(configured ? configured : l->v1_memory_path ? l->v1_memory_path : "/");
        if (!m->parent_path)
                return log_oom();
        if (l->v2_mount && l->v2_path) {
                m->unified_parent_path = strdup(configured ? configured : l->v2_path);
                if (!m->unified_parent_path)
                        return log_oom();
        }
        return 0;
}

/* Decides where job groups go and makes sure the memory controller reaches them. */
static int manager_setup_cgroups(struct manager *m, enum backend_kind want, const char *cli_parent) {
        int r = cgroup_layout_read(m->sysroot, 0, &m->layout);
        const struct cgroup_layout *l = &m->layout;
        if (r < 0) {
                m->backend_kind = BACKEND_PROCFS;
                log_warning_errno(r, "cannot read the cgroup layout, supervising through /proc only: %m");
                return 0;
        }
        const char *configured = cli_parent ? cli_parent
                                 : m->conf->daemon.cgroup_parent && *m->conf->daemon.cgroup_parent
                                         ? m->conf->daemon.cgroup_parent : NULL;
        if (configured) {
                if (l->v2_mount)
                        manager_make_parent(m, l->v2_mount, l->v2_root, configured, true);
                if (l->v1_memory_mount)
                        manager_make_parent(m, l->v1_memory_mount, l->v1_memory_root, configured, false);
        }
        bool v2_memory = false;
        if (l->v2_mount && l->v2_path) {
                _cleanup_free_ char *ctl = cgroup_dir(l->v2_mount, l->v2_root, configured ? configured : l->v2_path,
                                                      "cgroup.controllers");
                _cleanup_free_ char *text = NULL;
                v2_memory = ctl && sysroot_read_cgroup(m->sysroot, ctl, &text, 4096) >= 0 &&
                            cgroup_list_has(text, "memory");
        }

        enum backend_kind k = want;
        if (k == BACKEND_AUTO)
                k = v2_memory ? BACKEND_CGROUP2 : l->v1_memory_mount ? BACKEND_CGROUP1 : BACKEND_PROCFS;
        m->backend_kind = k;
        if (k == BACKEND_CGROUP2)
                r = manager_setup_cgroup2(m, configured);
        else if (k == BACKEND_CGROUP1)
                r = manager_setup_cgroup1(m, configured);
        if (r < 0)
                return r;
        log_info("job groups: %s backend%s%s", backend_kind_to_string(k), m->parent_path ? " under " : "",
                 m->parent_path ? m->parent_path : "");
        return 0;
}

/* The configuration, with every error printed with its file:line, and the paths it decides. */
static int manager_load_conf(struct manager *m, const struct manager_options *o) {
        struct conf_errors errors = {};
        int r = conf_load(m->config_path, m->dropin_dir, m->host_ram_bytes, &m->conf, &errors);
        size_t n = errors.n;
        for (size_t i = 0; i < errors.n; i++)
                log_error("%s", errors.messages[i]);
        conf_errors_done(&errors);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(EINVAL, "cannot start: the configuration has %zu error%s", n, n == 1 ? "" : "s");
        log_set_max_level(MAX(log_get_max_level(), m->conf->daemon.log_level));
        m->socket_path = strdup(o->socket_path ? o->socket_path : m->conf->daemon.socket_path);
        m->state_dir = strdup(o->state_dir ? o->state_dir : m->conf->daemon.state_dir);
        if (!m->socket_path || !m->state_dir)
                return log_oom();
        return 0;
}

int manager_new(const struct manager_options *o, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof(*m));
        if (!m)
                return log_oom();
        m->next_id = 1;
        m->state_fd = -1;
        m->config_path = strdup(o->config_path ? o->config_path : CONF_PATH_DEFAULT);
        m->dropin_dir = o->dropin_dir ? strdup(o->dropin_dir) : NULL;
        if (!m->config_path || (o->dropin_dir && !m->dropin_dir))
                return log_oom();
        int r = sysroot_open(o->sysroot, &m->sysroot);
        if (r < 0)
                return log_error_errno(r, "cannot open %s/proc: %m", o->sysroot ? o->sysroot : "");
        r = procfs_read_meminfo(m->sysroot, &m->host_ram_bytes, NULL);
        if (r < 0)
                log_warning_errno(r, "cannot read the host's memory size; percentages are of 0: %m");
        r = manager_load_conf(m, o);
        if (r < 0)
                return r;
        m->loop = ev_default_loop(EVFLAG_NOENV);
        if (!m->loop)
                return log_error_errno(ENOMEM, "cannot set up the event loop");
        ev_timer_init(&m->reap_timer, manager_reap_cb, 0., (double) MANAGER_REAP_INTERVAL_USEC / 1e6);
        m->reap_timer.data = m;
        ev_timer_init(&m->host_timer, manager_host_cb, 0., (double) MANAGER_HOST_CHECK_USEC / 1e6);
        m->host_timer.data = m;
        r = manager_setup_cgroups(m, o->backend, o->cgroup_parent);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        while (m->n_jobs > 0) {
                /* Stopping the daemon must not end or forget anyone's job: keep the groups in place. */
                mjob_keep_group(m->jobs[m->n_jobs - 1]);
                manager_drop_job(m, m->n_jobs - 1);
        }
        free(m->jobs);
        if (m->loop) {
                ev_signal_stop(m->loop, &m->sig_term);
                ev_signal_stop(m->loop, &m->sig_int);
                ev_signal_stop(m->loop, &m->sig_hup);
                ev_timer_stop(m->loop, &m->host_timer);
                ev_timer_stop(m->loop, &m->watchdog_timer);
                ev_timer_stop(m->loop, &m->reap_timer);
        }
        safe_close(m->state_fd);
        cgroup_layout_done(&m->layout);
        conf_free(m->conf);
        sysroot_free(m->sysroot);
        free(m->config_path);
        free(m->dropin_dir);
        free(m->parent_path);
        free(m->unified_parent_path);
        free(m->socket_path);
        free(m->state_dir);
        free(m);
        return NULL;
}

int manager_start(struct manager *m) {
        ev_signal_init(&m->sig_term, manager_signal_cb, SIGTERM);
        ev_signal_init(&m->sig_int, manager_signal_cb, SIGINT);
        ev_signal_init(&m->sig_hup, manager_signal_cb, SIGHUP);
        m->sig_term.data = m->sig_int.data = m->sig_hup.data = m;
        ev_signal_start(m->loop, &m->sig_term);
        ev_signal_start(m->loop, &m->sig_int);
        ev_signal_start(m->loop, &m->sig_hup);
        signal(SIGPIPE, SIG_IGN);
        ev_timer_start(m->loop, &m->reap_timer);
        ev_timer_start(m->loop, &m->host_timer);

        uint64_t wd = 0;
        if (sd_watchdog_enabled(0, &wd) > 0 && wd > 0) {
                m->watchdog_usec = wd;
                ev_timer_init(&m->watchdog_timer, manager_watchdog_cb, 0., (double) wd / 2e6);
                m->watchdog_timer.data = m;
                ev_timer_start(m->loop, &m->watchdog_timer);
        }

        /* Keep the supervisor itself out of swap when memory is tight: it is what frees memory. On fault:
         * an allocation costs locked memory when it is used, not when it is made. */
        if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
                log_debug_errno(errno, "mlockall failed, continuing without: %m");

        size_t n = manager_count_active(m);
        struct log_field f[1] = { { .name = "MEMGUARD_BACKEND" } };
        snprintf(f[0].value, sizeof(f[0].value), "%s", backend_kind_to_string(m->backend_kind));
        log_struct(LOG_INFO, MANAGER_MESSAGE_STARTED, f, 1, "memguardd %s started: %s backend, %zu job%s taken up",
                   PACKAGE_VERSION, backend_kind_to_string(m->backend_kind), n, n == 1 ? "" : "s");
        sd_notifyf(0, "READY=1\nSTATUS=supervising %zu job%s\nMAINPID=%d", n, n == 1 ? "" : "s",
                   (int) getpid());
        return 0;
}
