/* SPDX-License-Identifier: MIT */
/* memguard run, one file per concept: its arguments (run-args.c), its own signals (run-signals.c),
 * guarding the job in this process (run-local.c) or handing it to memguardd (run-daemon.c), and the
 * report files (run-report.c). run.c chooses; nothing here calls back up into it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "backend.h"
#include "connect.h"
#include "policy.h"
#include "sysroot.h"

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

/* run-args.c. The verb's argv (argv[0] is "run"), --socket and --system included: 0, 1 after --help,
 * or -EINVAL after a usage error naming the option. */
int run_args_parse(int argc, char **argv, struct run_args *a);
/* The sizes ("80%" of the host's RAM, read through s) and the limits checked together. 0 or -EINVAL
 * (logged). */
int run_args_resolve(struct run_args *a, const struct sysroot *s);
/* --no-daemon, --dry-run, --backend and --sysroot need the engine in this process. */
bool run_args_local_only(const struct run_args *a);

/* run-signals.c. SIGINT, SIGTERM, SIGHUP and SIGQUIT are caught and queued on a non-blocking pipe;
 * *ret_fd is its read end (poll it). SIGPIPE is ignored. 0 or -errno. */
struct run_signal {
        int signo;
        bool from_terminal;       /* the terminal sent it to the job too: do not pass it on again */
};
int run_signals_open(int *ret_fd);
/* The next queued signal: true, or false when none is waiting. */
bool run_signals_next(int fd, struct run_signal *ret);

/* run-local.c. Guards the job with the engine here, writes the report. Returns the exit code. */
int run_local(const struct run_args *a, struct sysroot *s, int signal_fd);

/* run-daemon.c. The job handed to memguardd over bus: forked here, registered by pidfd, released to
 * exec, waited for, and reported on with the daemon's verdict. Returns the exit code. */
int run_daemon(sd_bus *bus, const struct run_args *a, int signal_fd);

/* run-report.c. Are the report files the user named writable? Checked before the job runs; 0, or
 * -errno after an error naming the option. */
int run_report_check(const struct run_args *a);
/* Writes what writer(f, data) produces to path ("-": stdout): a regular file is replaced whole, through
 * a temporary file, or not at all. 0 or -errno (logged, naming what and path). */
typedef int (*run_report_writer)(FILE *f, const void *data);
int run_report_write(const char *path, const char *what, run_report_writer writer, const void *data);
int run_report_write_text(const char *path, const char *what, const char *text);
