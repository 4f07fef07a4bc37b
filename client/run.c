/* SPDX-License-Identifier: MIT */
/* memguard run: guard one command and its whole process tree, here or by memguardd, and report. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "run.h"
#include "verbs.h"

static void run_bus_closep(sd_bus **bus) {
        sd_bus_flush_close_unref(*bus);
}

enum run_where {
        RUN_HERE,
        RUN_DAEMON,               /* *ret_bus is the connection */
};

/* The host's daemon guards the job when it is there, unless this run needs the engine here. 0 with
 * *ret_where set, or an exit code (never 0) after the error is logged. */
static int run_choose(const struct run_args *a, sd_bus **ret_bus, enum run_where *ret_where) {
        *ret_where = RUN_HERE;
        bool explicit_daemon = a->connect.socket_path || a->connect.system;
        if (run_args_local_only(a)) {
                if (explicit_daemon && !a->no_daemon) {
                        log_error("--dry-run, --backend and --sysroot guard the job in this process: they do not go "
                                  "with --socket or --system");
                        return POLICY_EXIT_USAGE;
                }
                return 0;
        }
        _cleanup_free_ char *unreachable = NULL;
        int r = connect_daemon(&a->connect, ret_bus, &unreachable);
        if (r >= 0) {
                *ret_where = RUN_DAEMON;
                return 0;
        }
        if (explicit_daemon) {
                log_error("%s", unreachable ? unreachable : "cannot reach memguardd");
                return POLICY_EXIT_FAILURE;
        }
        if (r == -ETIMEDOUT || r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
                /* The host's policy does not apply: say so, but a stuck or full daemon must not stop the work. */
                log_warning("%s: guarding the job in this process", unreachable ? unreachable : strerror(-r));
        else
                log_debug("no memguardd (%s): guarding the job in this process",
                          unreachable ? unreachable : strerror(-r));
        return 0;
}

static int run_open_log(const struct run_args *a) {
        log_set_max_level(a->quiet ? LOG_ERR : LOG_NOTICE);
        if (!a->log_file)
                return 0;
        int r = log_open_file(a->log_file);
        if (r < 0)
                return log_error_errno(r, "--log-file %s: cannot open it for appending: %m", a->log_file);
        return 0;
}

static int run_main(struct run_args *a) {
        _cleanup_(sysroot_freep) struct sysroot *sysroot = NULL;
        int r = sysroot_open(a->sysroot, &sysroot);
        if (r < 0)
                return log_error_errno(r, "cannot open %s/proc: %m", a->sysroot ? a->sysroot : ""), POLICY_EXIT_FAILURE;
        if (run_args_resolve(a, sysroot) < 0 || run_report_check(a) < 0)
                return POLICY_EXIT_USAGE;
        int signal_fd;
        r = run_signals_open(&signal_fd);
        if (r < 0)
                return log_error_errno(r, "cannot set up signal handling: %m"), POLICY_EXIT_FAILURE;

        _cleanup_(run_bus_closep) sd_bus *bus = NULL;
        enum run_where where;
        r = run_choose(a, &bus, &where);
        if (r != 0)
                return r;
        return where == RUN_DAEMON ? run_daemon(bus, a, signal_fd) : run_local(a, sysroot, signal_fd);
}

int verb_run(int argc, char **argv) {
        struct run_args args;
        int r = run_args_parse(argc, argv, &args);
        if (r != 0)
                return r > 0 ? 0 : POLICY_EXIT_USAGE;
        if (run_open_log(&args) < 0)
                return POLICY_EXIT_USAGE;
        int code = run_main(&args);
        /* A log the user asked for and did not get is a failure, as a report file is. */
        if (log_close_file() < 0 && code == 0)
                code = POLICY_EXIT_FAILURE;
        return code;
}
