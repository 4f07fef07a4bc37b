/* SPDX-License-Identifier: MIT */
/* memguard run's own signals (INT, TERM, HUP, QUIT) as records on a pipe, so both ways of guarding
 * the job (here, or handed to memguardd) read them in their loop instead of in a handler. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "macro.h"
#include "run.h"

/* The record the handler writes: what came, and whether the terminal sent it to us all. */
struct run_signals_msg {
        int signo;
        int si_code;
};

static int run_signals_pipe[2] = { -1, -1 };

static void run_signals_handler(int sig, siginfo_t *si, void *ctx) {
        int saved = errno;
        struct run_signals_msg msg = { sig, si ? si->si_code : SI_USER };
        (void) !write(run_signals_pipe[1], &msg, sizeof(msg));
        errno = saved;
}

int run_signals_open(int *ret_fd) {
        if (run_signals_pipe[0] < 0 && pipe2(run_signals_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        struct sigaction sa = { .sa_sigaction = run_signals_handler, .sa_flags = SA_SIGINFO | SA_RESTART };
        sigemptyset(&sa.sa_mask);
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (sigaction(sigs[i], &sa, NULL) < 0)
                        return -errno;
        /* A closed report pipe must not kill memguard before it has ended the job. */
        signal(SIGPIPE, SIG_IGN);
        *ret_fd = run_signals_pipe[0];
        return 0;
}

bool run_signals_next(int fd, struct run_signal *ret) {
        struct run_signals_msg msg;
        if (read(fd, &msg, sizeof(msg)) != (ssize_t) sizeof(msg))
                return false;
        /* SI_KERNEL: the terminal sent it to the whole process group, the job included. Anything else
         * (SI_USER, SI_QUEUE, ...) came to memguard alone, so it is ours to pass on. */
        *ret = (struct run_signal) { .signo = msg.signo, .from_terminal = msg.si_code == SI_KERNEL };
        return true;
}
