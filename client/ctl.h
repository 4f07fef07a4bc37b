/* SPDX-License-Identifier: MIT */
/* What the verbs that talk to a running memguardd have in common (status, show, kill, freeze, thaw,
 * limit, reload, profiles): their options, the connection, job ids, the daemon's refusals, and the
 * exit codes memguard(1) documents. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "connect.h"
#include "macro.h"

/* Exit codes of these verbs. 1 and 2 are the same as memguard run's. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_REFUSED 1        /* the daemon refused or failed: its message is printed */
#define CTL_EXIT_USAGE 2          /* a bad JOB id or SIZE, a missing or extra argument, an unknown option */
#define CTL_EXIT_NO_DAEMON 3      /* no memguardd on the socket or the bus: what was tried is printed */

/* Options a verb accepts besides --help, --socket PATH and --system. */
enum {
        CTL_OPT_JSON = 1 << 0,
        CTL_OPT_NOW = 1 << 1,
        CTL_OPT_JOB = 1 << 2,     /* the first argument is a JOB, parsed into ctl_args.job */
};

struct ctl_args {
        struct connect_options connect;
        bool json;
        bool now;
        uint64_t job;             /* with CTL_OPT_JOB */
        char **args;              /* the positional arguments */
        int n_args;
};

/* One verb, as tmux's cmd_entry: its name, its usage and help, what it accepts, and the one call
 * that does it once the command line has been checked. */
struct ctl_verb {
        const char *name;
        const char *usage;        /* "memguard kill JOB [--now] [--socket PATH | --system]" */
        const char *help;         /* --help after the usage line: what it does, options, exit status */
        unsigned options;         /* CTL_OPT_* */
        int n_args;               /* exactly this many positional arguments */
        int (*exec)(const struct ctl_args *a);  /* returns the exit code */
};

/* Runs verb v with its argv (argv[0] is the verb's name): parses, then v->exec. The exit code. */
int ctl_run(const struct ctl_verb *v, int argc, char **argv);

/* The lines every verb's --help ends its options with. */
#define CTL_HELP_TRANSPORT                                                          \
        "      --socket PATH  only the daemon on this control socket\n"            \
        "      --system       only the daemon on the system bus\n"                 \
        "  -h, --help         show this help\n"

/* Connects as --socket/--system say. 0, or CTL_EXIT_NO_DAEMON after saying what was tried. */
int ctl_connect(const struct ctl_args *a, sd_bus **ret);

/* A JOB argument: a decimal id above 0, or its object path (/org/memguard/Manager1/job/ID).
 * 0, or -EINVAL after logging a usage error. */
int ctl_parse_job_id(const char *s, uint64_t *ret);

/* A method call failed: prints the daemon's message (or what went wrong on the way) and returns
 * CTL_EXIT_REFUSED. */
int ctl_call_failed(const char *method, int r, const sd_bus_error *err);

/* Connects as a says and calls method: what every verb starts with. 0 with *ret_bus (and *reply,
 * when not NULL) set, or the verb's exit code with the reason logged (no daemon, refused). */
int ctl_call(const struct ctl_args *a, sd_bus **ret_bus, const char *method, sd_bus_message **reply,
             const char *types, ...);

/* Reads the next complete value of m (any D-Bus type) as JSON: integers, doubles, booleans, strings,
 * arrays, structs as arrays, a{s*} dictionaries as objects. 0 or -errno. */
int ctl_read_json(sd_bus_message *m, json_t **ret);

/* An unsigned 64-bit number as JSON: an integer, or a double above INT64_MAX. NULL without memory. */
json_t *ctl_json_uint(uint64_t v);

/* Prints v on stdout, indented, with a newline. CTL_EXIT_OK, or CTL_EXIT_REFUSED if stdout fails. */
int ctl_print_json(json_t *v);

/* Flushes stdout: a full disk or a closed pipe is a failure (CTL_EXIT_REFUSED), not a silent loss. */
int ctl_finish_stdout(int code);

/* jansson < 2.11 has no json_decrefp. */
static inline void ctl_json_decrefp(json_t **p) {
        json_decref(*p);
}
#define _cleanup_json_ _cleanup_(ctl_json_decrefp)

static inline void ctl_bus_unrefp(sd_bus **p) {
        sd_bus_flush_close_unref(*p);
}
#define _cleanup_bus_ _cleanup_(ctl_bus_unrefp)

static inline void ctl_message_unrefp(sd_bus_message **p) {
        sd_bus_message_unref(*p);
}
#define _cleanup_message_ _cleanup_(ctl_message_unrefp)

#define _cleanup_bus_error_ _cleanup_(sd_bus_error_free)
