/* SPDX-License-Identifier: MIT */
/* What the kernel tells memguardd without being asked: a job's group emptied (cgroup.events), it hit
 * high, max or an OOM kill (memory.events), the host is under memory pressure (a PSI trigger). These
 * fds report POLLPRI while POLLIN is always set, so they sit in one epoll set of their own, which the
 * loop watches as a single fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cgroup.h"
#include "kevents.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "mjob.h"
#include "sysroot.h"

/* One job's notification files. */
struct kevents_watch {
        struct kevents *k;
        struct mjob *job;
        int fds[2];                     /* cgroup.events, memory.events */
        struct kevents_watch *next;
};

struct kevents {
        struct manager *m;
        struct ev_loop *loop;
        int epoll_fd;
        ev_io epoll_io;
        int psi_fd;
        struct kevents_watch psi;       /* the PSI trigger's epoll tag (no job) */
        struct kevents_watch *watches;
};

static struct kevents_watch *kevents_find(struct kevents *k, const struct mjob *j) {
        for (struct kevents_watch *w = k->watches; w; w = w->next)
                if (w->job == j)
                        return w;
        return NULL;
}

static void kevents_unwatch_job(struct kevents *k, const struct mjob *j) {
        for (struct kevents_watch **p = &k->watches; *p; p = &(*p)->next) {
                struct kevents_watch *w = *p;
                if (w->job != j)
                        continue;
                *p = w->next;
                for (size_t i = 0; i < ELEMENTSOF(w->fds); i++) {
                        if (w->fds[i] >= 0)
                                (void) epoll_ctl(k->epoll_fd, EPOLL_CTL_DEL, w->fds[i], NULL);
                        safe_close(w->fds[i]);
                }
                free(w);
                return;
        }
}

/* The kernel tells the job's group emptied (cgroup.events "populated 0") and that it hit high, max
 * or an OOM kill (memory.events) at once: the job is sampled then rather than at its next turn. On a
 * cgroup1 host the unified twin has cgroup.events; v1 has no such file. */
static void kevents_watch_job(struct kevents *k, struct mjob *j) {
        struct manager *m = k->m;
        if (k->epoll_fd < 0 || m->backend_kind == BACKEND_PROCFS || kevents_find(k, j))
                return;
        struct kevents_watch *w = calloc(1, sizeof(*w));
        if (!w) {
                log_oom();
                return;
        }
        *w = (struct kevents_watch) { .k = k, .job = j, .fds = { -1, -1 }, .next = k->watches };
        k->watches = w;
        char *dirs[2] = {};
        if (m->backend_kind == BACKEND_CGROUP2) {
                dirs[0] = manager_cgroup_dir(m, false, mjob_cgroup(j), "cgroup.events");
                dirs[1] = manager_cgroup_dir(m, false, mjob_cgroup(j), "memory.events");
        } else
                dirs[0] = manager_cgroup_dir(m, true, mjob_unified_cgroup(j), "cgroup.events");
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                int fd = dirs[i] ? sysroot_open_cgroup(m->sysroot, dirs[i], O_RDONLY) : -1;
                free(dirs[i]);
                if (fd < 0)
                        continue;
                char buf[256];
                (void) pread(fd, buf, sizeof(buf), 0);  /* arm: the next change raises POLLPRI */
                struct epoll_event ev = { .events = EPOLLPRI, .data.ptr = w };
                if (epoll_ctl(k->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        safe_close(fd);
                        continue;
                }
                w->fds[i] = fd;
        }
        /* A change before the watch was armed raises nothing: a watched job whose group emptied
         * between its first sample and now would wait for its next turn (minutes, with a slow
         * profile). One sample now sees it. */
        if (w->fds[0] >= 0 || w->fds[1] >= 0)
                mjob_poke(j, false);
}

/* Host-wide memory pressure: look at the host and every job now. */
static void kevents_pressure(struct kevents *k) {
        struct manager *m = k->m;
        log_info("the host is under memory pressure: sampling every job now");
        manager_check_host(m);
        for (size_t i = 0; i < m->n_jobs; i++)
                mjob_poke(m->jobs[i], false);
}

static void kevents_cb(struct ev_loop *loop, ev_io *io, int revents) {
        struct kevents *k = io->data;
        struct epoll_event evs[64];
        int n = epoll_wait(k->epoll_fd, evs, ELEMENTSOF(evs), 0);
        for (int i = 0; i < n; i++) {
                struct kevents_watch *w = evs[i].data.ptr;
                if (w == &k->psi) {
                        kevents_pressure(k);
                        continue;
                }
                char buf[256];
                for (size_t f = 0; f < ELEMENTSOF(w->fds); f++)
                        if (w->fds[f] >= 0)
                                (void) pread(w->fds[f], buf, sizeof(buf), 0);  /* re-arm */
                mjob_poke(w->job, true);
        }
}

static void kevents_job_event(struct manager *m, struct mjob *j, const struct mjob_event *ev, void *userdata) {
        struct kevents *k = userdata;
        if (ev->type == MJOB_EVENT_ADDED)
                kevents_watch_job(k, j);
        /* A removed cgroup's notifications went with it (and its files may poll as errors). */
        else if (ev->type == MJOB_EVENT_ENDED || ev->type == MJOB_EVENT_FREED || ev->type == MJOB_EVENT_GROUP_GONE)
                kevents_unwatch_job(k, j);
}

/* A PSI trigger on /proc/pressure/memory: 500 ms of stalls in 2 s (a multiple of 2 s is what the
 * kernel allows without CAP_SYS_RESOURCE, which a hardened unit may lack). A failed trigger write
 * leaves the fd reporting POLLPRI forever, so it is only added once the write succeeded. */
static void kevents_setup_psi(struct kevents *k) {
        k->psi_fd = sysroot_open_proc(k->m->sysroot, "pressure/memory", O_RDWR | O_NONBLOCK);
        if (k->psi_fd < 0)
                return;
        static const char trigger[] = "some 500000 2000000";
        struct epoll_event ev = { .events = EPOLLPRI, .data.ptr = &k->psi };
        if (write(k->psi_fd, trigger, sizeof(trigger)) < 0 || epoll_ctl(k->epoll_fd, EPOLL_CTL_ADD, k->psi_fd, &ev) < 0) {
                log_debug_errno(errno, "no memory pressure trigger: %m");
                k->psi_fd = safe_close(k->psi_fd);
        }
}

int kevents_new(struct manager *m, struct kevents **ret) {
        _cleanup_(kevents_freep) struct kevents *k = calloc(1, sizeof(*k));
        if (!k)
                return log_oom();
        k->m = m;
        k->loop = m->loop;
        k->psi_fd = -1;
        k->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (k->epoll_fd < 0)
                log_warning_errno(errno, "no epoll set for the kernel's notifications, sampling only: %m");
        else {
                ev_io_init(&k->epoll_io, kevents_cb, k->epoll_fd, EV_READ);
                k->epoll_io.data = k;
                kevents_setup_psi(k);
                ev_io_start(k->loop, &k->epoll_io);
        }
        int r = manager_add_listener(m, &(struct manager_listener) { .job_event = kevents_job_event, .userdata = k });
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

struct kevents *kevents_free(struct kevents *k) {
        if (!k)
                return NULL;
        while (k->watches)
                kevents_unwatch_job(k, k->watches->job);
        if (k->epoll_fd >= 0)
                ev_io_stop(k->loop, &k->epoll_io);
        safe_close(k->psi_fd);
        safe_close(k->epoll_fd);
        free(k);
        return NULL;
}
