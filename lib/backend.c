/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_SYS_PIDFD_H
#include <sys/pidfd.h>
#endif

#include "backend.h"
#include "cgroup.h"
#include "macro.h"
#include "sysroot.h"

static const char *const backend_kind_table[_BACKEND_KIND_MAX] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_CGROUP2] = "cgroup2",
        [BACKEND_CGROUP1] = "cgroup1",
        [BACKEND_PROCFS] = "procfs",
};

const char *backend_kind_to_string(enum backend_kind k) {
        if (k < 0 || k >= _BACKEND_KIND_MAX)
                return NULL;
        return backend_kind_table[k];
}

enum backend_kind backend_kind_from_string(const char *s) {
        for (int k = 0; s && k < _BACKEND_KIND_MAX; k++)
                if (strcmp(s, backend_kind_table[k]) == 0)
                        return (enum backend_kind) k;
        return _BACKEND_KIND_INVALID;
}

static const struct backend_ops *backend_ops_for(enum backend_kind k) {
        switch (k) {
        case BACKEND_CGROUP2:
                return &backend_cgroup2_ops;
        case BACKEND_CGROUP1:
                return &backend_cgroup1_ops;
        case BACKEND_PROCFS:
                return &backend_procfs_ops;
        default:
                return NULL;
        }
}

static int backend_open_one(struct sysroot *s, enum backend_kind kind, const struct backend_config *config,
                            struct backend **ret, char **reterr) {
        struct backend *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->ops = backend_ops_for(kind);
        b->sysroot = s;
        b->config = *config;
        b->group_name = strdup(config->group_name ? config->group_name : "memguard");
        if (!b->group_name) {
                free(b);
                return -ENOMEM;
        }
        b->config.group_name = b->group_name;
        int r = b->ops->open(b, reterr);
        if (r < 0) {
                free(b->group_name);
                free(b->group_path);
                free(b);
                return r;
        }
        *ret = b;
        return 0;
}

/* Appends "name: why" to the explanation of what auto-selection passed over. */
static void backend_note_skip(char **acc, enum backend_kind k, const char *why, int r) {
        char *n;
        if (asprintf(&n, "%s%s%s: %s", *acc ? *acc : "", *acc ? "; " : "", backend_kind_to_string(k),
                     why ? why : strerror(-r)) < 0)
                return;
        free(*acc);
        *acc = n;
}

int backend_open(struct sysroot *s, enum backend_kind kind, const struct backend_config *config,
                 struct backend **ret, char **reterr) {
        if (kind != BACKEND_AUTO) {
                if (!backend_ops_for(kind))
                        return -EINVAL;
                return backend_open_one(s, kind, config, ret, reterr);
        }

        static const enum backend_kind order[] = { BACKEND_CGROUP2, BACKEND_CGROUP1, BACKEND_PROCFS };
        _cleanup_free_ char *skipped = NULL;
        int r = -ENOENT;
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                _cleanup_free_ char *why = NULL;
                r = backend_open_one(s, order[i], config, ret, &why);
                if (r >= 0) {
                        if (reterr)
                                *reterr = TAKE_PTR(skipped);
                        return r;
                }
                backend_note_skip(&skipped, order[i], why, r);
        }
        if (reterr)
                *reterr = TAKE_PTR(skipped);
        return r;
}

void backend_release(struct backend *b) {
        if (!b || b->released)
                return;
        if (b->ops && b->ops->close)
                b->ops->close(b);  /* the implementation honours b->keep */
        b->released = true;
}

struct backend *backend_free(struct backend *b) {
        if (!b)
                return NULL;
        backend_release(b);
        free(b->group_name);
        free(b->group_path);
        free(b);
        return NULL;
}

int backend_prepare_child(struct backend *b) {
        return b->ops->prepare_child ? b->ops->prepare_child(b) : 0;
}

int backend_sample(struct backend *b, struct backend_sample *ret) {
        *ret = (struct backend_sample) {};
        return b->ops->sample(b, ret);
}

int backend_pids(struct backend *b, pid_t **ret, size_t *ret_n) {
        return b->ops->pids(b, ret, ret_n);
}

int backend_kill(struct backend *b, int sig) {
        /* A fixture's pids are not processes of this machine: never signal them. */
        if (!sysroot_is_live(b->sysroot))
                return -EOPNOTSUPP;
        return b->ops->kill(b, sig);
}

int backend_attach(struct backend *b, pid_t pid) {
        if (!b->ops->attach)
                return -EOPNOTSUPP;
        return b->ops->attach(b, pid);
}

static bool backend_slow_due(const struct backend *b, struct backend_slow *s, uint64_t current_bytes) {
        uint64_t from = b->attention_bytes ? b->attention_bytes : b->config.hard_limit_bytes / 2;
        if (b->fresh || s->countdown == 0 || (from > 0 && current_bytes >= from)) {
                s->countdown = BACKEND_SLOW_EVERY;
                return true;
        }
        s->countdown--;
        return false;
}

void backend_sample_slow(const struct backend *b, struct backend_slow *s, struct backend_sample *ret, int peak_fd,
                         int oom_fd, int stat_fd, const char *stat_key) {
        if (backend_slow_due(b, s, ret->current_bytes)) {
                if (peak_fd >= 0)
                        (void) cgroup_pread_u64(peak_fd, &s->kernel_peak);
                if (oom_fd >= 0)
                        (void) cgroup_pread_keyed(oom_fd, "oom_kill", &s->oom_kills);
                if (stat_fd >= 0)
                        (void) cgroup_pread_keyed(stat_fd, stat_key, &s->inactive_file);
        }
        ret->kernel_peak_bytes = s->kernel_peak;
        ret->oom_kills = s->oom_kills;
        /* Counters read a moment apart may disagree: never below zero. */
        ret->working_set_bytes = ret->current_bytes > s->inactive_file ? ret->current_bytes - s->inactive_file : 0;
}

int backend_freeze(struct backend *b, bool frozen) {
        if (!sysroot_is_live(b->sysroot))
                return -EOPNOTSUPP;
        if (b->ops->freeze) {
                int r = b->ops->freeze(b, frozen);
                if (r != -EOPNOTSUPP)
                        return r;
        }
        /* No freezer: stopped processes hold their memory but use no more, which is what freezing is for. */
        int n = b->ops->kill(b, frozen ? SIGSTOP : SIGCONT);
        return n < 0 ? n : 0;
}

const char *backend_group_path(const struct backend *b) {
        return b->group_path;
}

int backend_set_limit(struct backend *b, uint64_t bytes) {
        if (!b->ops->set_limit)
                return -EOPNOTSUPP;
        int r = b->ops->set_limit(b, bytes);
        if (r >= 0)
                b->config.hard_limit_bytes = bytes;
        return r;
}

static int backend_pidfd_open(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int backend_pidfd_send_signal(int fd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

int backend_signal_pids(struct backend *b, const pid_t *pids, size_t n, int sig,
                        bool (*still_member)(struct backend *b, pid_t pid)) {
        int count = 0, err = 0;
        for (size_t i = 0; i < n; i++) {
                if (pids[i] <= 0 || pids[i] == getpid())
                        continue;
                _cleanup_close_ int fd = backend_pidfd_open(pids[i]);
                if (fd < 0 && errno == ENOSYS) {
                        /* No pidfds (Linux before 5.3, or under valgrind): a job must still be stoppable.
                         * kill() right after the membership check leaves the pid-reuse race pidfds close. */
                        if (still_member && !still_member(b, pids[i]))
                                continue;
                        if (kill(pids[i], sig) < 0) {
                                if (errno != ESRCH)
                                        err = -errno;
                                continue;
                        }
                        count++;
                        continue;
                }
                if (fd < 0) {
                        if (errno != ESRCH)
                                err = -errno;
                        continue;
                }
                /* The pidfd pins the process: if it is still ours now, the signal cannot hit a stranger. */
                if (still_member && !still_member(b, pids[i]))
                        continue;
                if (backend_pidfd_send_signal(fd, sig) < 0) {
                        if (errno != ESRCH)
                                err = -errno;
                        continue;
                }
                count++;
        }
        return count > 0 || err == 0 ? count : err;
}

void backend_errorf(char **reterr, const char *format, ...) {
        if (!reterr)
                return;
        va_list ap;
        va_start(ap, format);
        char *s = NULL;
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*reterr);
        *reterr = s;
}
