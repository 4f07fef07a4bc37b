/* SPDX-License-Identifier: MIT */
/* org.memguard.Manager1 and org.memguard.Job1: the methods, properties and signals, each method
 * authorising its caller by uid. transport.c puts them on the socket and the system bus. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "bus-signal.h"
#include "conf.h"
#include "job.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "mjob.h"
#include "pidfd.h"
#include "procfs.h"
#include "transport.h"
#include "units.h"

/* Limits on what a caller may send: a command line is for people to read, not a data channel. */
#define BUS_ARGV_MAX 4096
#define BUS_ARGV_BYTES_MAX (256 * 1024)
/* "memguard show" gets this many of the latest samples. */
#define BUS_SAMPLES_SHOWN 20

#define BUS_ERROR_NO_SUCH_JOB "org.memguard.Manager1.Error.NoSuchJob"

/* A FinishJob call waiting for its job to end. */
struct bus_finish {
        uint64_t job_id;
        sd_bus_message *call;
        struct bus_finish *next;
};

struct bus {
        struct manager *m;
        struct transport *transport;
        struct bus_finish *finishes;
        struct bus_signal *signal;
};

static const sd_bus_vtable bus_manager_vtable[];
static const sd_bus_vtable bus_job_vtable[];
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
        return caller == 0 || caller == mjob_uid(j);
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
                                  id, mjob_user(j), (unsigned) mjob_uid(j), (unsigned) uid);
                return NULL;
        }
        if (ret_uid)
                *ret_uid = uid;
        return j;
}

static const char *bus_str(const char *s) {
        return s ? s : "";
}

static int bus_job_path(uint64_t id, char *buf, size_t size) {
        return snprintf(buf, size, BUS_JOB_PREFIX "/%" PRIu64, id) < (int) size ? 0 : -ENAMETOOLONG;
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
        for (size_t i = 0; r >= 0 && i < b->m->n_jobs; i++) {
                struct mjob *j = b->m->jobs[i];
                if (mjob_ended(j))
                        continue;
                /* Anyone sees that a job exists; its command and numbers are its owner's business. */
                bool mine = bus_may_see(uid, j);
                char path[128];
                bus_job_path(mjob_id(j), path, sizeof(path));
                r = sd_bus_message_append(reply, "(tsusssttto)", mjob_id(j), mjob_user(j), (uint32_t) mjob_uid(j),
                                          mjob_state(j), bus_str(mjob_profile(j)), mine ? bus_str(mjob_command(j)) : "",
                                          mine ? mjob_current_bytes(j) : 0, mine ? mjob_peak_bytes(j) : 0,
                                          mine ? mjob_limits(j)->max_bytes : 0, path);
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
        return sd_bus_message_append(m, "{sv}", k, "s", bus_str(v));
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
        const struct job *job = mjob_record(j);
        const struct policy_limits *l = mjob_limits(j);
        sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0) r = bus_append_dict_t(reply, "Id", mjob_id(j));
        if (r >= 0) r = bus_append_dict_s(reply, "User", mjob_user(j));
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "Uid", "u", (uint32_t) mjob_uid(j));
        if (r >= 0) r = bus_append_dict_s(reply, "State", mjob_state(j));
        if (r >= 0) r = bus_append_dict_s(reply, "Profile", mjob_profile(j));
        if (r >= 0) r = bus_append_dict_s(reply, "Command", mjob_command(j));
        if (r >= 0) r = bus_append_dict_s(reply, "Cgroup", mjob_cgroup(j));
        if (r >= 0) r = bus_append_dict_s(reply, "Source", mjob_source_to_string(mjob_source(j)));
        if (r >= 0) r = bus_append_dict_s(reply, "Backend", mjob_backend_name(j));
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "Pid", "u", (uint32_t) MAX(job->pid, 0));
        if (r >= 0) r = bus_append_dict_t(reply, "StartTime", mjob_start_realtime_usec(j));
        if (r >= 0) r = bus_append_dict_t(reply, "CurrentBytes", mjob_current_bytes(j));
        if (r >= 0) r = bus_append_dict_t(reply, "PeakBytes", mjob_peak_bytes(j));
        if (r >= 0) r = bus_append_dict_t(reply, "LimitBytes", l->max_bytes);
        if (r >= 0) r = bus_append_dict_t(reply, "ProcessLimitBytes", l->max_process_bytes);
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "KillThreshold", "d", l->kill_threshold);
        if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "WarnAt", "d", l->warn_at);
        if (r >= 0) r = bus_append_dict_t(reply, "GraceUSec", l->grace_usec);
        if (r >= 0) r = bus_append_dict_t(reply, "Samples", job->n_samples);
        if (r >= 0) r = bus_append_dict_s(reply, "Reason", policy_reason_to_string(mjob_reason(j)));
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

static void bus_strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, bus_strv_free)

/* The live process behind a pidfd, if the caller may hand it over: its own, and in no job yet. */
static int bus_pidfd_process(struct bus *b, int fd, uid_t uid, pid_t *ret, sd_bus_error *err) {
        pid_t pid = 0;
        if (pidfd_get_pid(fd, &pid) < 0)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "the file descriptor is not a pidfd of a live process");
        /* The pidfd pins the process: if its owner is the caller now, it is the caller's process. */
        struct procfs_status st;
        if (procfs_read_status(b->m->sysroot, pid, &st) < 0)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "process %d is gone", (int) pid);
        if (uid != 0 && st.uid != uid)
                return sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED,
                                         "process %d belongs to uid %u, not to uid %u: only its owner may register it",
                                         (int) pid, (unsigned) st.uid, (unsigned) uid);
        /* A process of a guarded job stays in that job: registering it again would take it out of the
         * job's cgroup and from under its limit. */
        struct mjob *j = manager_find_pid(b->m, pid);
        if (j)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "process %d is already part of job %" PRIu64,
                                         (int) pid, mjob_id(j));
        /* The init system, or memguardd itself, is nobody's job: stopping it would stop the host. */
        if (pid == 1 || pid == getpid())
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS, "process %d is %s, not a job", (int) pid,
                                         pid == 1 ? "the init system" : "memguardd itself");
        *ret = pid;
        return 0;
}

static int bus_check_argv(char **argv, sd_bus_error *err) {
        size_t n = 0, bytes = 0;
        for (; argv && argv[n]; n++)
                bytes += strlen(argv[n]) + 1;
        if (n == 0 || n > BUS_ARGV_MAX || bytes > BUS_ARGV_BYTES_MAX)
                return sd_bus_error_setf(err, SD_BUS_ERROR_INVALID_ARGS,
                                         "argv must have 1 to %d arguments of at most %d bytes in all", BUS_ARGV_MAX,
                                         BUS_ARGV_BYTES_MAX);
        return 0;
}

static int bus_method_register_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        struct manager_register reg = { .limit_exit_code = POLICY_EXIT_LIMIT };
        int r = bus_caller_uid(msg, &reg.uid);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot tell who is calling");

        int fd;
        r = sd_bus_message_read(msg, "h", &fd);
        if (r < 0)
                return r;
        _cleanup_(bus_strv_freep) char **argv = NULL;
        r = sd_bus_message_read_strv(msg, &argv);
        if (r < 0)
                return r;
        const char *profile;
        struct policy_limits asked = {};
        if ((r = sd_bus_message_read(msg, "s", &profile)) < 0 ||
            (r = bus_read_limits(msg, &asked, &reg.limit_exit_code, err)) < 0 || (r = bus_check_argv(argv, err)) < 0 ||
            (r = bus_pidfd_process(b, fd, reg.uid, &reg.pid, err)) < 0)
                return r;
        reg.pidfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (reg.pidfd < 0)
                return sd_bus_error_set_errnof(err, errno, "cannot keep the pidfd: %m");
        reg.argv = argv;
        reg.profile = *profile ? profile : NULL;
        reg.asked = &asked;
        _cleanup_free_ char *why = NULL;
        struct mjob *j;
        r = manager_register_job(b->m, &reg, &j, &why);
        if (r < 0)
                return sd_bus_error_setf(err, r == -ENOENT ? SD_BUS_ERROR_INVALID_ARGS : SD_BUS_ERROR_FAILED, "%s",
                                         why ? why : strerror(-r));
        char path[128];
        bus_job_path(mjob_id(j), path, sizeof(path));
        return sd_bus_reply_method_return(msg, "to", mjob_id(j), path);
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
        mjob_kill(j, now);
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
        r = mjob_freeze(j, frozen);
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
        uint64_t cur = mjob_limits(j)->max_bytes;
        enum policy_limit_change c = policy_limit_change(cur, bytes, uid == 0);
        if (c == POLICY_LIMIT_NO_REMOVE)
                return sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED, "only root may remove a job's limit");
        if (c == POLICY_LIMIT_NO_RAISE)
                return sd_bus_error_setf(err, SD_BUS_ERROR_ACCESS_DENIED,
                                         "only root may raise a limit: job %" PRIu64 " may use at most %" PRIu64
                                         " bytes, %" PRIu64 " asked", id, cur, bytes);
        r = mjob_set_limit(j, bytes);
        if (r == -EBUSY) {
                /* cgroup v1 refuses a limit below what the group uses when it cannot reclaim enough. */
                char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX];
                return sd_bus_error_setf(err, SD_BUS_ERROR_FAILED,
                                         "cannot lower the limit of job %" PRIu64 " to %s: it uses %s, and the kernel "
                                         "could not reclaim enough to fit; the limit stays", id,
                                         units_format_size(b1, bytes), units_format_size(b2, mjob_current_bytes(j)));
        }
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

static struct bus_finish **bus_finish_find(struct bus *b, uint64_t id) {
        struct bus_finish **p = &b->finishes;
        while (*p && (*p)->job_id != id)
                p = &(*p)->next;
        return p;
}

/* The client, the root's parent, says how the root ended; the answer (exit code and report) waits until
 * nothing of the job is left. */
static int bus_method_finish_job(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uint64_t id;
        int status;
        int r = sd_bus_message_read(msg, "ti", &id, &status);
        if (r < 0)
                return r;
        struct mjob *j = bus_job_for(b, msg, id, false, NULL, err);
        if (!j)
                return -EACCES;
        if (*bus_finish_find(b, id))
                return sd_bus_error_setf(err, SD_BUS_ERROR_FAILED, "job %" PRIu64 " is already being finished", id);
        mjob_set_wait_status(j, status);
        if (mjob_ended(j))
                return bus_finish_send(msg, j);
        struct bus_finish *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (struct bus_finish) { .job_id = id, .call = sd_bus_message_ref(msg), .next = b->finishes };
        b->finishes = f;
        return 1;
}

/* Answers the job's pending FinishJob call: with its report once it has ended, or with an error when
 * the daemon lets go of it. */
static void bus_finish(struct bus *b, const struct mjob *j, bool ended) {
        struct bus_finish **p = bus_finish_find(b, mjob_id(j)), *f = *p;
        if (!f)
                return;
        *p = f->next;
        int r = ended ? bus_finish_send(f->call, j)
                      : sd_bus_reply_method_errorf(f->call, SD_BUS_ERROR_FAILED, "memguardd is stopping");
        if (r < 0)
                log_debug_errno(r, "job %" PRIu64 ": cannot answer FinishJob: %m", mjob_id(j));
        sd_bus_message_unref(f->call);
        free(f);
}

/* Subscribe and Unsubscribe: bus-signal.c keeps who hears what. */
static int bus_method_subscribe(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        uid_t uid;
        int r = bus_caller_uid(msg, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(err, -r, "cannot tell who is calling");
        r = bus_signal_subscribe(b->signal, msg, uid, err);
        return r < 0 ? r : sd_bus_reply_method_return(msg, NULL);
}

static int bus_method_unsubscribe(sd_bus_message *msg, void *userdata, sd_bus_error *err) {
        struct bus *b = userdata;
        (void) err;
        bus_signal_unsubscribe(b->signal, msg);
        return sd_bus_reply_method_return(msg, NULL);
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
        const struct conf *c = b->m->conf;  /* the running configuration, read-only */
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
        return sd_bus_message_append(reply, "u", (uint32_t) manager_count_active(b->m));
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
        SD_BUS_METHOD_WITH_NAMES("Subscribe", "", SD_BUS_PARAM(), "", SD_BUS_PARAM(), bus_method_subscribe,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Unsubscribe", "", SD_BUS_PARAM(), "", SD_BUS_PARAM(), bus_method_unsubscribe,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
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
        char **nodes = calloc(b->m->n_jobs + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < b->m->n_jobs; i++) {
                const struct mjob *j = b->m->jobs[i];
                char path[128];
                if (mjob_ended(j) || !bus_may_see(uid, j) || bus_job_path(mjob_id(j), path, sizeof(path)) < 0)
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
                return sd_bus_message_append(reply, "t", mjob_id(j));
        if (strcmp(property, "User") == 0)
                return sd_bus_message_append(reply, "s", mjob_user(j));
        if (strcmp(property, "Command") == 0)
                return sd_bus_message_append(reply, "s", bus_str(mjob_command(j)));
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", mjob_state(j));
        if (strcmp(property, "CurrentBytes") == 0)
                return sd_bus_message_append(reply, "t", mjob_current_bytes(j));
        if (strcmp(property, "PeakBytes") == 0)
                return sd_bus_message_append(reply, "t", mjob_peak_bytes(j));
        if (strcmp(property, "LimitBytes") == 0)
                return sd_bus_message_append(reply, "t", mjob_limits(j)->max_bytes);
        if (strcmp(property, "Profile") == 0)
                return sd_bus_message_append(reply, "s", bus_str(mjob_profile(j)));
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

/* --- job events ----------------------------------------------------------------------------------- */

static void bus_job_event(struct manager *m, struct mjob *j, const struct mjob_event *ev, void *userdata) {
        struct bus *b = userdata;
        switch (ev->type) {
        case MJOB_EVENT_ADDED:
                bus_signal_emit(b->signal, BUS_SIGNAL_STARTED, j, 0);
                break;
        case MJOB_EVENT_WARNING:
                bus_signal_emit(b->signal, BUS_SIGNAL_WARNING, j, ev->current_bytes);
                break;
        case MJOB_EVENT_THRESHOLD:
        case MJOB_EVENT_KERNEL_OOM:
                bus_signal_emit(b->signal, BUS_SIGNAL_THRESHOLD, j, ev->current_bytes);
                break;
        case MJOB_EVENT_SIGNAL_SENT:
                if (ev->signal == SIGKILL)
                        bus_signal_emit(b->signal, BUS_SIGNAL_KILLED, j, 0);
                break;
        case MJOB_EVENT_ENDED:
                bus_signal_emit(b->signal, BUS_SIGNAL_ENDED, j, 0);
                bus_finish(b, j, true);
                break;
        case MJOB_EVENT_FREED:
                bus_finish(b, j, false);
                break;
        default:
                break;
        }
}

static int bus_on_connection(sd_bus *sd, bool system, void *userdata) {
        return bus_add_objects(userdata, sd, system);
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
        return r;
}

/* The listener goes last: a bus that failed to start must not be left behind in the manager's list. */
static int bus_start(struct manager *m, bool connect, struct bus **ret) {
        _cleanup_(bus_freep) struct bus *b = calloc(1, sizeof(*b));
        if (!b)
                return log_oom();
        b->m = m;
        struct transport_options o = {
                .loop = m->loop,
                .socket_path = m->socket_path,
                .bus_name = BUS_NAME,
                .on_connection = bus_on_connection,
                .userdata = b,
        };
        int r = connect ? transport_new(&o, &b->transport) : 0;
        if (r >= 0)
                r = bus_signal_new(b->transport, &b->signal);
        if (r >= 0)
                r = manager_add_listener(m, &(struct manager_listener) { .job_event = bus_job_event, .userdata = b });
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int bus_new(struct manager *m, struct bus **ret) {
        return bus_start(m, true, ret);
}

int bus_new_unconnected(struct manager *m, struct bus **ret) {
        return bus_start(m, false, ret);
}

struct bus *bus_free(struct bus *b) {
        if (!b)
                return NULL;
        /* The manager has let go of every job by now: nobody is left to wait for. */
        while (b->finishes) {
                struct bus_finish *f = b->finishes;
                b->finishes = f->next;
                sd_bus_message_unref(f->call);
                free(f);
        }
        bus_signal_free(b->signal);
        transport_free(b->transport);
        free(b);
        return NULL;
}
