/* SPDX-License-Identifier: MIT */
/* org.memguard.Manager1 and org.memguard.Job1: the methods, properties and signals, each method
 * authorising its caller by uid. transport.c puts them on the socket and the system bus. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "cgroup.h"
#include "conf.h"
#include "guard.h"
#include "job.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "procfs.h"
#include "sysroot.h"
#include "transport.h"

/* Limits on what a caller may send: a command line is for people to read, not a data channel. */
#define BUS_ARGV_MAX 4096
#define BUS_ARGV_BYTES_MAX (256 * 1024)
/* "memguard show" gets this many of the latest samples. */
#define BUS_SAMPLES_SHOWN 20

#define BUS_ERROR_NO_SUCH_JOB "org.memguard.Manager1.Error.NoSuchJob"

static const sd_bus_vtable bus_manager_vtable[];
static const sd_bus_vtable bus_job_vtable[];
static const sd_bus_vtable bus_hello_vtable[];
static int bus_job_find(sd_bus *sd, const char *path, const char *interface, void *userdata, void **ret_found,
                        sd_bus_error *err);
static int bus_job_enumerate(sd_bus *sd, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *err);

/* --- who is asking ---------------------------------------------------------------------------------- */

/* The caller's uid: from the bus's sender credentials, or the peer's (SO_PEERCRED) on the socket. */
static int bus_caller_uid(sd_bus_message *msg, uid_t *ret) {
        sd_bus_creds *creds = NULL;
        int r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0) {
                r = sd_bus_creds_get_euid(creds, ret);
                sd_bus_creds_unref(creds);
        }
        return r;
}

static bool bus_may_see(uid_t caller, const struct mjob *j) {
        return caller == 0 || caller == j->uid;
}

/* Finds job id for the caller: NoSuchJob, or AccessDenied for someone else's job. */
static struct mjob *bus_job_for(struct bus *b, sd_bus_message *msg, uint64_t id, bool running, uid_t *ret_uid,
                                sd_bus_error *err) {
        uid_t uid;
        int r = bus_caller_uid(msg, &uid);
        if (r < 0) {
                sd_bus_error_set_errnof(err, -r, "cannot tell who is calling: %s", strerror(-r));
                return NULL;
        }
        struct mjob *j = running ? manager_find_job(b->m, id) : manager_find_any(b->m, id);
        if (!j) {
                sd_bus_error_setf(err, BUS_ERROR_NO_SUCH_JOB, "no %sjob %" PRIu64, running ? "running " : "", id);
                return NULL;
        }
        if (!bus_may_see(uid, j)) {
                sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED, "job %" PRIu64 " belongs to %s (uid %u), not to uid %u",
                                  id, j->user, (unsigned) j->uid, (unsigned) uid);
                return NULL;
        }
        if (ret_uid)
                *ret_uid = uid;
        return j;
}

static int bus_job_path(uint64_t id, char *buf, size_t size) {
        return snprintf(buf, size, BUS_JOB_PREFIX "/%" PRIu64, id) < (int) size ? 0 : -ENAMETOOLONG;
}

static uint64_t bus_job_current(const struct mjob *j) {
        const struct job *job = j->guard->job;
        return job->n_samples ? job->samples[job->n_samples - 1].working_set_bytes : 0;
}

static uint64_t bus_job_peak(const struct mjob *j) {
        const struct job *job = j->guard->job;
        return job_peak_working_set(job);
}

/* --- org.memguard.Manager1 ----------------------------------------------------------------------------- */

static int bus_method_list_jobs(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uid_t uid;
        int r = bus_caller_uid(msg, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot tell who is calling");
        sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tsusssttto)");
        for (struct mjob *j = b->m->jobs; r >= 0 && j; j = j->next) {
                if (j->ended)
                        continue;
                /* Anyone sees that a job exists; its command and numbers are its owner's business. */
                bool mine = bus_may_see(uid, j);
                char path[128];
                bus_job_path(j->id, path, sizeof(path));
                r = sd_bus_message_append(reply, "(tsusssttto)", j->id, j->user, (uint32_t) j->uid, mjob_state(j),
                                          j->profile ? j->profile : "", mine && j->command ? j->command : "",
                                          mine ? bus_job_current(j) : 0, mine ? bus_job_peak(j) : 0,
                                          mine ? j->guard->limits.max_bytes : 0, path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int bus_append_dict_t(sd_bus_message *m, const char *k, uint64_t v) {
        return sd_bus_message_append(m, "{sv}", k, "t", v);
}

static int bus_append_dict_s(sd_bus_message *m, const char *k, const char *v) {
        return sd_bus_message_append(m, "{sv}", k, "s", v ? v : "");
}

static int bus_method_get_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uint64_t id;
        int r = sd_bus_message_read(msg, "t", &id);
        if (r < 0)
                return r;
        struct mjob *j = bus_job_for(b, msg, id, false, NULL, err);
        if (!j)
                return -EACCES;
        const struct guard *g = j->guard;
        const struct job *job = g->job;
        sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0) r = bus_append_dict_t(reply, "Id", j->id);
        if (r >= 0) r = bus_append_dict_s(reply, "User", j->user);
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "Uid", "u", (uint32_t) j->uid);
        if (r >= 0) r = bus_append_dict_s(reply, "State", mjob_state(j));
        if (r >= 0) r = bus_append_dict_s(reply, "Profile", j->profile);
        if (r >= 0) r = bus_append_dict_s(reply, "Command", j->command);
        if (r >= 0) r = bus_append_dict_s(reply, "Cgroup", j->cgroup);
        if (r >= 0) r = bus_append_dict_s(reply, "Source", j->source == MJOB_SOURCE_WATCH ? "watch" : "registered");
        if (r >= 0) r = bus_append_dict_s(reply, "Backend", backend_name(g->backend));
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "Pid", "u", (uint32_t) MAX(job->pid, 0));
        if (r >= 0) r = bus_append_dict_t(reply, "StartTime", j->start_realtime_usec);
        if (r >= 0) r = bus_append_dict_t(reply, "CurrentBytes", bus_job_current(j));
        if (r >= 0) r = bus_append_dict_t(reply, "PeakBytes", bus_job_peak(j));
        if (r >= 0) r = bus_append_dict_t(reply, "LimitBytes", g->limits.max_bytes);
        if (r >= 0) r = bus_append_dict_t(reply, "ProcessLimitBytes", g->limits.max_process_bytes);
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "KillThreshold", "d", g->limits.kill_threshold);
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "WarnAt", "d", g->limits.warn_at);
        if (r >= 0) r = bus_append_dict_t(reply, "GraceUSec", g->limits.grace_usec);
        if (r >= 0) r = bus_append_dict_t(reply, "Samples", job->n_samples);
        if (r >= 0) r = bus_append_dict_s(reply, "Reason", policy_reason_to_string(g->state.reason));
        /* The latest samples: elapsed usec, working set, processes. */
        if (r >= 0) r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0) r = sd_bus_message_append(reply, "s", "LastSamples");
        if (r >= 0) r = sd_bus_message_open_container(reply, 'v', "a(ttu)");
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ttu)");
        size_t first = job->n_samples > BUS_SAMPLES_SHOWN ? job->n_samples - BUS_SAMPLES_SHOWN : 0;
        for (size_t i = first; r >= 0 && i < job->n_samples; i++)
                r = sd_bus_message_append(reply, "(ttu)", job->samples[i].elapsed_usec,
                                          job->samples[i].working_set_bytes, job->samples[i].nproc);
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

/* The pid behind a pidfd, from /proc/self/fdinfo. */
static int bus_pidfd_pid(int fd, pid_t *ret) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
        FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        char line[256];
        int r = -EBADF;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "Pid:", 4) == 0) {
                        long v = strtol(line + 4, NULL, 10);
                        r = v > 0 ? 0 : -ESRCH;  /* -1: the process is gone */
                        if (v > 0)
                                *ret = (pid_t) v;
                        break;
                }
        fclose(f);
        return r;
}

static int bus_read_limits(sd_bus_message *msg, struct policy_limits *l, int *limit_exit_code, sd_bus_error *err) {
        int r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key;
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "MaxMemory") == 0)
                        r = sd_bus_message_read(msg, "v", "t", &l->max_bytes);
                else if (strcmp(key, "MaxProcessMemory") == 0)
                        r = sd_bus_message_read(msg, "v", "t", &l->max_process_bytes);
                else if (strcmp(key, "KillThreshold") == 0)
                        r = sd_bus_message_read(msg, "v", "d", &l->kill_threshold);
                else if (strcmp(key, "WarnAt") == 0)
                        r = sd_bus_message_read(msg, "v", "d", &l->warn_at);
                else if (strcmp(key, "GraceUSec") == 0)
                        r = sd_bus_message_read(msg, "v", "t", &l->grace_usec);
                else if (strcmp(key, "IntervalUSec") == 0)
                        r = sd_bus_message_read(msg, "v", "t", &l->interval_usec);
                else if (strcmp(key, "LimitExitCode") == 0)
                        r = sd_bus_message_read(msg, "v", "i", limit_exit_code);
                else
                        return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "unknown limit '%s'", key);
                if (r < 0)
                        return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "limit '%s' has the wrong type", key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        if (l->kill_threshold < 0 || l->kill_threshold > 1 || l->warn_at < 0 || l->warn_at > 1)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "KillThreshold and WarnAt are ratios in (0, 1]");
        if (*limit_exit_code < 1 || *limit_exit_code > 255)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "LimitExitCode must be 1..255");
        if (l->interval_usec > 0 && l->interval_usec < USEC_PER_MSEC)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "IntervalUSec must be at least 1000");
        return 0;
}

static int bus_method_register_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uid_t uid;
        int r = bus_caller_uid(msg, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot tell who is calling");

        int fd;
        r = sd_bus_message_read(msg, "h", &fd);
        if (r < 0)
                return r;
        char **argv = NULL;
        r = sd_bus_message_read_strv(msg, &argv);
        if (r < 0)
                return r;
        const char *profile;
        struct policy_limits asked = {};
        int limit_exit_code = POLICY_EXIT_LIMIT;
        size_t n = 0, bytes = 0;
        for (; argv && argv[n]; n++)
                bytes += strlen(argv[n]) + 1;
        if ((r = sd_bus_message_read(msg, "s", &profile)) < 0 ||
            (r = bus_read_limits(msg, &asked, &limit_exit_code, err)) < 0)
                goto out;
        if (n == 0 || n > BUS_ARGV_MAX || bytes > BUS_ARGV_BYTES_MAX) {
                r = sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS,
                                      "argv must have 1 to %d arguments of at most %d bytes in all", BUS_ARGV_MAX,
                                      BUS_ARGV_BYTES_MAX);
                goto out;
        }
        pid_t pid = 0;
        r = bus_pidfd_pid(fd, &pid);
        if (r < 0) {
                r = sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "the file descriptor is not a pidfd of a live process");
                goto out;
        }
        /* The pidfd pins the process: if its owner is the caller now, it is the caller's process. */
        struct procfs_status st;
        r = procfs_read_status(b->m->sysroot, pid, &st);
        if (r < 0) {
                r = sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "process %d is gone", (int) pid);
                goto out;
        }
        if (uid != 0 && st.uid != uid) {
                r = sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED,
                                      "process %d belongs to uid %u, not to uid %u: only its owner may register it",
                                      (int) pid, (unsigned) st.uid, (unsigned) uid);
                goto out;
        }
        /* A process of a guarded job stays in that job: registering it again would take it out of the
         * job's cgroup and from under its limit. */
        for (struct mjob *j = b->m->jobs; j; j = j->next) {
                if (j->ended)
                        continue;
                bool member = j->guard->job->pid == pid;
                if (!member && j->cgroup)
                        member = cgroup_pid_in(b->m->sysroot, pid, b->m->backend_kind == BACKEND_CGROUP2, j->cgroup) > 0;
                if (member) {
                        r = sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "process %d is already part of job %" PRIu64,
                                              (int) pid, j->id);
                        goto out;
                }
        }
        int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (own < 0) {
                r = sd_bus_error_set_errnof(err, errno, "cannot keep the pidfd: %m");
                goto out;
        }
        _cleanup_free_ char *why = NULL;
        struct mjob *j;
        r = manager_register_job(b->m, uid, pid, own, argv, *profile ? profile : NULL, &asked, &j, &why);
        if (r < 0) {
                r = sd_bus_error_setf(err, r == -ENOENT ? SD_BUS_ERROR_INVALID_ARGS : SD_BUS_ERROR_FAILED, "%s",
                                      why ? why : strerror(-r));
                goto out;
        }
        j->limit_exit_code = limit_exit_code;
        char path[128];
        bus_job_path(j->id, path, sizeof(path));
        r = sd_bus_reply_method_return(msg, "to", j->id, path);
out:
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
        return r;
}

static int bus_method_kill_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        uint64_t id;
        int now;
        int r = sd_bus_message_read(msg, "tb", &id, &now);
        if (r < 0)
                return r;
        struct mjob *j = bus_job_for(userdata, msg, id, true, NULL, err);
        if (!j)
                return -EACCES;
        manager_kill_job(j->manager, j, now);
        return sd_bus_reply_method_return(msg, NULL);
}

static int bus_freeze(sd_bus_message *msg, void *userdata, sd_bus_error *err, bool frozen) {
        uint64_t id;
        int r = sd_bus_message_read(msg, "t", &id);
        if (r < 0)
                return r;
        struct mjob *j = bus_job_for(userdata, msg, id, true, NULL, err);
        if (!j)
                return -EACCES;
        r = manager_freeze_job(j->manager, j, frozen);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot %s job %" PRIu64 ": %s", frozen ? "freeze" : "thaw",
                                               id, strerror(-r));
        return sd_bus_reply_method_return(msg, NULL);
}

static int bus_method_freeze_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        return bus_freeze(msg, userdata, err, true);
}

static int bus_method_thaw_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        return bus_freeze(msg, userdata, err, false);
}

static int bus_method_set_limit(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        uint64_t id, bytes;
        int r = sd_bus_message_read(msg, "tt", &id, &bytes);
        if (r < 0)
                return r;
        uid_t uid;
        struct mjob *j = bus_job_for(userdata, msg, id, true, &uid, err);
        if (!j)
                return -EACCES;
        uint64_t cur = j->guard->limits.max_bytes;
        enum policy_limit_change c = policy_limit_change(cur, bytes, uid == 0);
        if (c == POLICY_LIMIT_NO_REMOVE)
                return sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED, "only root may remove a job's limit");
        if (c == POLICY_LIMIT_NO_RAISE)
                return sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED,
                                         "only root may raise a limit: job %" PRIu64 " may use at most %" PRIu64
                                         " bytes, %" PRIu64 " asked", id, cur, bytes);
        r = manager_set_limit(j->manager, j, bytes);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot set the limit of job %" PRIu64 ": %s", id, strerror(-r));
        return sd_bus_reply_method_return(msg, NULL);
}

static int bus_method_get_report(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        uint64_t id;
        const char *format;
        int r = sd_bus_message_read(msg, "ts", &id, &format);
        if (r < 0)
                return r;
        if (strcmp(format, "json") != 0 && strcmp(format, "text") != 0 && strcmp(format, "csv") != 0 &&
            strcmp(format, "timeline") != 0)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS,
                                         "format must be \"json\", \"text\", \"csv\" or \"timeline\"");
        struct mjob *j = bus_job_for(userdata, msg, id, false, NULL, err);
        if (!j)
                return -EACCES;
        _cleanup_free_ char *text = NULL;
        r = mjob_report(j, format, &text, NULL);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot make the report: %s", strerror(-r));
        return sd_bus_reply_method_return(msg, "s", text);
}

static int bus_finish_send(sd_bus_message *call, const struct mjob *j) {
        _cleanup_free_ char *text = NULL, *json = NULL;
        int code = POLICY_EXIT_FAILURE;
        int r = mjob_report(j, "text", &text, &code);
        if (r >= 0)
                r = mjob_report(j, "json", &json, NULL);
        if (r < 0)
                return sd_bus_reply_method_errnof(call, -r, "cannot make the report: %s", strerror(-r));
        return sd_bus_reply_method_return(call, "iss", code, text, json);
}

/* The client, the root's parent, says how the root ended; the answer (exit code and report) waits until
 * nothing of the job is left. */
static int bus_method_finish_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        uint64_t id;
        int status;
        int r = sd_bus_message_read(msg, "ti", &id, &status);
        if (r < 0)
                return r;
        struct mjob *j = bus_job_for(userdata, msg, id, false, NULL, err);
        if (!j)
                return -EACCES;
        if (j->finish_call)
                return sd_bus_error_setf(err, SD_BUS_ERROR_FAILED, "job %" PRIu64 " is already being finished", id);
        j->wait_status = status;
        if (j->ended)
                return bus_finish_send(msg, j);
        j->finish_call = sd_bus_message_ref(msg);
        return 1;
}

void bus_finish_reply(struct mjob *j) {
        if (!j->finish_call)
                return;
        int r = bus_finish_send(j->finish_call, j);
        if (r < 0)
                log_debug_errno(r, "job %" PRIu64 ": cannot answer FinishJob: %m", j->id);
        j->finish_call = sd_bus_message_unref(j->finish_call);
}

void bus_finish_abandon(struct mjob *j) {
        if (j->finish_call)
                (void) sd_bus_reply_method_errorf(j->finish_call, SD_BUS_ERROR_FAILED, "memguardd is stopping");
        j->finish_call = sd_bus_message_unref(j->finish_call);
}

static int bus_method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uid_t uid;
        int r = bus_caller_uid(msg, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot tell who is calling");
        if (uid != 0)
                return sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED, "only root may reload the configuration");
        struct conf_errors errors = {};
        r = manager_reload(b->m, &errors);
        sd_bus_message *reply = NULL;
        int q = sd_bus_message_new_method_return(msg, &reply);
        if (q >= 0)
                q = sd_bus_message_append(reply, "b", r >= 0);
        if (q >= 0)
                q = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; q >= 0 && i < errors.n; i++)
                q = sd_bus_message_append(reply, "s", errors.messages[i]);
        if (q >= 0)
                q = sd_bus_message_close_container(reply);
        if (q >= 0)
                q = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        conf_errors_done(&errors);
        return q;
}

static int bus_method_list_profiles(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        const struct conf *c = b->m->conf;
        sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sttddts)");
        for (size_t i = 0; r >= 0 && i < c->n_profiles; i++) {
                const struct conf_profile *p = &c->profiles[i];
                r = sd_bus_message_append(reply, "(sttddts)", p->name, p->max_memory, p->max_process_memory,
                                          p->kill_threshold, p->warn_at, p->grace_usec, conf_action_to_string(p->action));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int bus_property_version(sd_bus *sd, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *err) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int bus_property_njobs(sd_bus *sd, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uint32_t n = 0;
        for (struct mjob *j = b->m->jobs; j; j = j->next)
                n += !j->ended;
        return sd_bus_message_append(reply, "u", n);
}

static int bus_property_default_profile(sd_bus *sd, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        return sd_bus_message_append(reply, "s", b->m->conf->daemon.default_profile);
}

/* Methods are open to everyone at the bus level (SD_BUS_VTABLE_UNPRIVILEGED): each one decides itself
 * from the caller's uid, so a user can act on their own jobs and the refusals say why. */
static const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", bus_property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NJobs", "u", bus_property_njobs, 0, 0),
        SD_BUS_PROPERTY("DefaultProfile", "s", bus_property_default_profile, 0, 0),
        SD_BUS_METHOD_WITH_NAMES("ListJobs", "", SD_BUS_PARAM(), "a(tsusssttto)", SD_BUS_PARAM(jobs),
                                 bus_method_list_jobs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetJob", "t", SD_BUS_PARAM(id), "a{sv}", SD_BUS_PARAM(properties),
                                 bus_method_get_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RegisterJob", "hassa{sv}", SD_BUS_PARAM(pidfd) SD_BUS_PARAM(argv)
                                 SD_BUS_PARAM(profile) SD_BUS_PARAM(limits), "to", SD_BUS_PARAM(id) SD_BUS_PARAM(path),
                                 bus_method_register_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("FinishJob", "ti", SD_BUS_PARAM(id) SD_BUS_PARAM(wait_status), "iss",
                                 SD_BUS_PARAM(exit_code) SD_BUS_PARAM(text) SD_BUS_PARAM(json),
                                 bus_method_finish_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("KillJob", "tb", SD_BUS_PARAM(id) SD_BUS_PARAM(now), "", SD_BUS_PARAM(),
                                 bus_method_kill_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("FreezeJob", "t", SD_BUS_PARAM(id), "", SD_BUS_PARAM(), bus_method_freeze_job,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ThawJob", "t", SD_BUS_PARAM(id), "", SD_BUS_PARAM(), bus_method_thaw_job,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetLimit", "tt", SD_BUS_PARAM(id) SD_BUS_PARAM(bytes), "", SD_BUS_PARAM(),
                                 bus_method_set_limit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetReport", "ts", SD_BUS_PARAM(id) SD_BUS_PARAM(format), "s", SD_BUS_PARAM(report),
                                 bus_method_get_report, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Reload", "", SD_BUS_PARAM(), "bas", SD_BUS_PARAM(ok) SD_BUS_PARAM(errors),
                                 bus_method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListProfiles", "", SD_BUS_PARAM(), "a(sttddts)", SD_BUS_PARAM(profiles),
                                 bus_method_list_profiles, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Signals reach every peer: they carry ids and numbers, never another user's command line. */
        SD_BUS_SIGNAL_WITH_NAMES("JobStarted", "tsu", SD_BUS_PARAM(id) SD_BUS_PARAM(user) SD_BUS_PARAM(uid), 0),
        SD_BUS_SIGNAL_WITH_NAMES("JobWarning", "ttt", SD_BUS_PARAM(id) SD_BUS_PARAM(current) SD_BUS_PARAM(limit), 0),
        SD_BUS_SIGNAL_WITH_NAMES("JobThresholdCrossed", "ttts",
                                 SD_BUS_PARAM(id) SD_BUS_PARAM(current) SD_BUS_PARAM(limit) SD_BUS_PARAM(reason), 0),
        SD_BUS_SIGNAL_WITH_NAMES("JobKilled", "ts", SD_BUS_PARAM(id) SD_BUS_PARAM(reason), 0),
        SD_BUS_SIGNAL_WITH_NAMES("JobEnded", "tis", SD_BUS_PARAM(id) SD_BUS_PARAM(exit_status) SD_BUS_PARAM(verdict), 0),
        SD_BUS_VTABLE_END,
};

/* --- org.memguard.Job1: one object per job ------------------------------------------------------------ */

/* The job an object path names, if the caller may see it (others' jobs do not exist for them). */
static int bus_job_find(sd_bus *sd, const char *path, const char *interface, void *userdata, void **ret_found,
                        sd_bus_error *err) {
        struct bus *b = userdata;
        size_t n = strlen(BUS_JOB_PREFIX "/");
        if (strncmp(path, BUS_JOB_PREFIX "/", n) != 0)
                return 0;
        char *end;
        errno = 0;
        unsigned long long id = strtoull(path + n, &end, 10);
        if (errno || *end || end == path + n)
                return 0;
        struct mjob *j = manager_find_any(b->m, id);
        if (!j)
                return 0;
        sd_bus_message *msg = sd_bus_get_current_message(sd);
        uid_t uid;
        if (!msg || bus_caller_uid(msg, &uid) < 0 || !bus_may_see(uid, j))
                return 0;
        *ret_found = j;
        return 1;
}

static int bus_job_enumerate(sd_bus *sd, const char *prefix, void *userdata, char ***ret_nodes, sd_bus_error *err) {
        struct bus *b = userdata;
        sd_bus_message *msg = sd_bus_get_current_message(sd);
        uid_t uid = (uid_t) -1;
        if (msg)
                (void) bus_caller_uid(msg, &uid);
        size_t n = 0;
        for (struct mjob *j = b->m->jobs; j; j = j->next)
                n++;
        char **nodes = calloc(n + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        size_t k = 0;
        for (struct mjob *j = b->m->jobs; j; j = j->next) {
                char path[128];
                if (j->ended || !bus_may_see(uid, j) || bus_job_path(j->id, path, sizeof(path)) < 0)
                        continue;
                nodes[k] = strdup(path);
                if (!nodes[k])
                        break;
                k++;
        }
        *ret_nodes = nodes;
        return 0;
}

static int bus_job_property(sd_bus *sd, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *err) {
        struct mjob *j = userdata;
        if (strcmp(property, "Id") == 0)
                return sd_bus_message_append(reply, "t", j->id);
        if (strcmp(property, "User") == 0)
                return sd_bus_message_append(reply, "s", j->user);
        if (strcmp(property, "Command") == 0)
                return sd_bus_message_append(reply, "s", j->command ? j->command : "");
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", mjob_state(j));
        if (strcmp(property, "CurrentBytes") == 0)
                return sd_bus_message_append(reply, "t", bus_job_current(j));
        if (strcmp(property, "PeakBytes") == 0)
                return sd_bus_message_append(reply, "t", bus_job_peak(j));
        if (strcmp(property, "LimitBytes") == 0)
                return sd_bus_message_append(reply, "t", j->guard->limits.max_bytes);
        if (strcmp(property, "Profile") == 0)
                return sd_bus_message_append(reply, "s", j->profile ? j->profile : "");
        return -ENOENT;
}

static const sd_bus_vtable bus_job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", bus_job_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("User", "s", bus_job_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Command", "s", bus_job_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", bus_job_property, 0, 0),
        SD_BUS_PROPERTY("CurrentBytes", "t", bus_job_property, 0, 0),
        SD_BUS_PROPERTY("PeakBytes", "t", bus_job_property, 0, 0),
        SD_BUS_PROPERTY("LimitBytes", "t", bus_job_property, 0, 0),
        SD_BUS_PROPERTY("Profile", "s", bus_job_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

/* --- org.freedesktop.DBus on the socket, for busctl --address ----------------------------------------- */

static int bus_method_hello(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        char name[32];
        snprintf(name, sizeof(name), ":1.%" PRIu64, ++b->next_peer);
        return sd_bus_reply_method_return(msg, "s", name);
}

/* A peer connection gets every signal anyway: match rules are accepted and need no bookkeeping. */
static int bus_method_match(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable bus_hello_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", "", "s", bus_method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("AddMatch", "s", "", bus_method_match, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RemoveMatch", "s", "", bus_method_match, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* --- signals ---------------------------------------------------------------------------------------- */

static void bus_emit(struct bus *b, const char *member, const char *types, ...) {
        if (!b)
                return;
        for (struct bus_conn *c = b->conns; c; c = c->next) {
                sd_bus_message *sig = NULL;
                int r = sd_bus_message_new_signal(c->sd, &sig, BUS_PATH, BUS_INTERFACE, member);
                if (r >= 0) {
                        va_list ap;
                        va_start(ap, types);
                        r = sd_bus_message_appendv(sig, types, ap);
                        va_end(ap);
                }
                if (r >= 0)
                        r = sd_bus_send(c->sd, sig, NULL);
                if (r < 0)
                        log_debug_errno(r, "cannot send %s: %m", member);
                sd_bus_message_unref(sig);
        }
}

void bus_job_started(struct bus *b, const struct mjob *j) {
        bus_emit(b, "JobStarted", "tsu", j->id, j->user, (uint32_t) j->uid);
}

void bus_job_warning(struct bus *b, const struct mjob *j, uint64_t current_bytes) {
        bus_emit(b, "JobWarning", "ttt", j->id, current_bytes, j->guard->limits.max_bytes);
}

void bus_job_threshold(struct bus *b, const struct mjob *j, uint64_t current_bytes, const char *reason) {
        bus_emit(b, "JobThresholdCrossed", "ttts", j->id, current_bytes, j->guard->limits.max_bytes, reason);
}

void bus_job_killed(struct bus *b, const struct mjob *j, const char *reason) {
        bus_emit(b, "JobKilled", "ts", j->id, reason);
}

void bus_job_ended(struct bus *b, const struct mjob *j) {
        const struct guard *g = j->guard;
        const char *verdict = g->state.reason == POLICY_REASON_NONE ? "completed" : policy_reason_to_string(g->state.reason);
        bus_emit(b, "JobEnded", "tis", j->id, j->wait_status, verdict);
}

int bus_add_objects(struct bus *b, sd_bus *sd, bool system) {
        int r = sd_bus_add_object_vtable(sd, NULL, BUS_PATH, BUS_INTERFACE, bus_manager_vtable, b);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(sd, NULL, BUS_JOB_PREFIX, BUS_JOB_INTERFACE, bus_job_vtable,
                                               bus_job_find, b);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(sd, NULL, BUS_JOB_PREFIX, bus_job_enumerate, b);
        if (r >= 0)
                r = sd_bus_add_object_manager(sd, NULL, BUS_PATH);
        if (r >= 0 && !system)
                r = sd_bus_add_object_vtable(sd, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                             bus_hello_vtable, b);
        return r;
}

int bus_new(struct manager *m, struct bus **ret) {
        struct bus *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->m = m;
        int r = transport_start(b);
        if (r < 0) {
                free(b);
                return r;
        }
        *ret = b;
        return 0;
}

struct bus *bus_free(struct bus *b) {
        if (!b)
                return NULL;
        transport_stop(b);
        free(b);
        return NULL;
}
