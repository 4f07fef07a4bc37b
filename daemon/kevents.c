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
#include "guard.h"
#include "kevents.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "sysroot.h"

void kevents_unwatch_job(struct mjob *j) {
        for (size_t i = 0; i < ELEMENTSOF(j->event_fds); i++) {
                if (j->event_fds[i] >= 0 && j->manager->epoll_fd >= 0)
                        (void) epoll_ctl(j->manager->epoll_fd, EPOLL_CTL_DEL, j->event_fds[i], NULL);
                j->event_fds[i] = safe_close(j->event_fds[i]);
        }
}

/* The kernel tells the job's group emptied (cgroup.events "populated 0") and that it hit high, max
 * or an OOM kill (memory.events) at once: the job is sampled then rather than at its next turn. On a
 * cgroup1 host the unified twin has cgroup.events; v1 has no such file. */
void kevents_watch_job(struct manager *m, struct mjob *j) {
        if (m->epoll_fd < 0 || m->backend_kind == BACKEND_PROCFS)
                return;
        char *dirs[2] = {};
        if (m->backend_kind == BACKEND_CGROUP2) {
                dirs[0] = manager_cgroup_dir(m, false, j->cgroup, "cgroup.events");
                dirs[1] = manager_cgroup_dir(m, false, j->cgroup, "memory.events");
        } else
                dirs[0] = manager_cgroup_dir(m, true, j->unified_cgroup, "cgroup.events");
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (!dirs[i])
                        continue;
                int fd = sysroot_open_cgroup(m->sysroot, dirs[i], O_RDONLY);
                free(dirs[i]);
                if (fd < 0)
                        continue;
                char buf[256];
                (void) pread(fd, buf, sizeof(buf), 0);  /* arm: the next change raises POLLPRI */
                struct epoll_event ev = { .events = EPOLLPRI, .data.ptr = j };
                if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        safe_close(fd);
                        continue;
                }
                j->event_fds[i] = fd;
        }
}

static void kevents_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct manager *m = w->data;
        struct epoll_event evs[64];
        int n = epoll_wait(m->epoll_fd, evs, ELEMENTSOF(evs), 0);
        for (int i = 0; i < n; i++) {
                if (evs[i].data.ptr == &m->psi_fd) {
                        /* Host-wide memory pressure: look at the host and every job now. */
                        log_info("the host is under memory pressure: sampling every job now");
                        manager_check_host(m);
                        for (struct mjob *j = m->jobs; j; j = j->next)
                                if (!j->ended)
                                        guard_poke(j->guard, false);
                        continue;
                }
                struct mjob *j = evs[i].data.ptr;
                char buf[256];
                for (size_t k = 0; k < ELEMENTSOF(j->event_fds); k++)
                        if (j->event_fds[k] >= 0)
                                (void) pread(j->event_fds[k], buf, sizeof(buf), 0);  /* re-arm */
                if (!j->ended)
                        guard_poke(j->guard, true);
        }
}

/* A PSI trigger on /proc/pressure/memory: 500 ms of stalls in 2 s (a multiple of 2 s is what the
 * kernel allows without CAP_SYS_RESOURCE, which a hardened unit may lack). A failed trigger write
 * leaves the fd reporting POLLPRI forever, so it is only added once the write succeeded. */
static void kevents_setup_psi(struct manager *m) {
        m->psi_fd = sysroot_open_proc(m->sysroot, "pressure/memory", O_RDWR | O_NONBLOCK);
        if (m->psi_fd < 0)
                return;
        static const char trigger[] = "some 500000 2000000";
        struct epoll_event ev = { .events = EPOLLPRI, .data.ptr = &m->psi_fd };
        if (write(m->psi_fd, trigger, sizeof(trigger)) < 0 || epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, m->psi_fd, &ev) < 0) {
                log_debug_errno(errno, "no memory pressure trigger: %m");
                m->psi_fd = safe_close(m->psi_fd);
        }
}


int kevents_setup(struct manager *m) {
        m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (m->epoll_fd < 0)
                return log_warning_errno(errno, "no epoll set for the kernel's notifications, sampling only: %m");
        ev_io_init(&m->epoll_io, kevents_cb, m->epoll_fd, EV_READ);
        m->epoll_io.data = m;
        kevents_setup_psi(m);
        return 0;
}

void kevents_start(struct manager *m) {
        if (m->epoll_fd >= 0)
                ev_io_start(m->loop, &m->epoll_io);
}

void kevents_done(struct manager *m) {
        if (m->loop)
                ev_io_stop(m->loop, &m->epoll_io);
        m->psi_fd = safe_close(m->psi_fd);
        m->epoll_fd = safe_close(m->epoll_fd);
}
