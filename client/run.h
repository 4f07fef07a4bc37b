/* SPDX-License-Identifier: MIT */
/* memguard run's options, shared by the embedded engine (run.c) and the daemon hand-over
 * (run-daemon.c). */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "connect.h"
#include "policy.h"
#include "backend.h"

struct run_args {
        struct policy_limits limits;
        enum backend_kind backend;
        bool dry_run;
        bool quiet;
        int limit_exit_code;
        const char *log_file;
        bool json;
        const char *json_file;    /* NULL: stdout */
        const char *csv_file;
        const char *timeline_file;
        const char *sysroot;      /* tests only */
        const char *max_memory;   /* kept as text until the host's RAM is known (for "80%") */
        bool kill_threshold_set;  /* asked for explicitly: the daemon's profile decides otherwise */
        bool grace_set;
        bool no_daemon;
        struct connect_options connect;
        const char *max_process_memory;
        char **command;
};


/* The job handed to memguardd over bus: forked here, registered by pidfd, released to exec, waited
 * for, and reported on with the daemon's verdict. signal_fd yields (signo, si_code) pairs from the
 * signal handler. Returns the exit code. */
int run_with_daemon(sd_bus *bus, const struct run_args *a, int signal_fd);

/* Writes a report text to path ("-" for stdout). 0 or -errno (logged). */
int run_write_text(const char *path, const char *text, const char *what);
