/* SPDX-License-Identifier: MIT */
/* memguard kill, freeze, thaw and limit: an operator's hand on a running job. The daemon decides who
 * may: a job's owner and root; raising or removing a limit is root's alone. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "units.h"
#include "verbs.h"

#define KILL_USAGE "memguard kill JOB [--now] [--socket PATH | --system]"
#define FREEZE_USAGE "memguard freeze JOB [--socket PATH | --system]"
#define THAW_USAGE "memguard thaw JOB [--socket PATH | --system]"
#define LIMIT_USAGE "memguard limit JOB SIZE [--socket PATH | --system]"

#define CONTROL_TRANSPORT_HELP                                                    \
        "      --socket PATH  only the daemon on this control socket\n"          \
        "      --system       only the daemon on the system bus\n"               \
        "  -h, --help         show this help\n"                                  \
        "\n"                                                                      \
        "Exit status: 0; 1 when the daemon refused (not your job, no such running job) or failed;\n" \
        "2 for a usage error; 3 when no daemon answered.\n"

static void kill_help(FILE *f) {
        fprintf(f,
                "Usage: " KILL_USAGE "\n"
                "\n"
                "Stops job JOB as its profile would at its limit: SIGTERM to every process, SIGKILL to what is\n"
                "left after the grace. The job's owner and root may.\n"
                "\n"
                "      --now          SIGKILL at once, no grace\n"
                CONTROL_TRANSPORT_HELP);
}

static void freeze_help(FILE *f) {
        fprintf(f,
                "Usage: " FREEZE_USAGE "\n"
                "\n"
                "Freezes every process of job JOB (the cgroup freezer; SIGSTOP on the procfs backend): it stays\n"
                "in memory, stopped, until 'memguard thaw' or 'memguard kill'. The job's owner and root may.\n"
                "\n"
                CONTROL_TRANSPORT_HELP);
}

static void thaw_help(FILE *f) {
        fprintf(f,
                "Usage: " THAW_USAGE "\n"
                "\n"
                "Lets a frozen job JOB run again. The job's owner and root may.\n"
                "\n"
                CONTROL_TRANSPORT_HELP);
}

static void limit_help(FILE *f) {
        fprintf(f,
                "Usage: " LIMIT_USAGE "\n"
                "\n"
                "Sets the memory ceiling of job JOB, all its processes together, and the kernel's hard limit\n"
                "with it. SIZE: 4000 (MiB), 512M, 8G, 1.5G, 80%% (of this host's RAM), or off (no limit).\n"
                "The job's owner may lower it; only root may raise or remove it.\n"
                "\n"
                CONTROL_TRANSPORT_HELP);
}

/* Connects and calls method(id, extra...) on the job: the common part of every verb here. */
static int control_call(const struct ctl_args *a, const char *method, const char *types, uint64_t id, int flag,
                        uint64_t bytes) {
        _cleanup_bus_ sd_bus *bus = NULL;
        if (strcmp(types, "tb") == 0)
                return ctl_call(a, &bus, method, NULL, types, id, flag);
        if (strcmp(types, "tt") == 0)
                return ctl_call(a, &bus, method, NULL, types, id, bytes);
        return ctl_call(a, &bus, method, NULL, types, id);
}

static int control_job_verb(int argc, char **argv, unsigned options, const char *usage, void (*help)(FILE *f),
                            const char *method, const char *types) {
        struct ctl_args a;
        int r = ctl_parse_args(argc, argv, options, 1, usage, help, &a);
        if (r != 0)
                return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        uint64_t id;
        if (ctl_parse_job_id(a.args[0], &id) < 0)
                return CTL_EXIT_USAGE;
        return control_call(&a, method, types, id, a.now, 0);
}

int verb_kill(int argc, char **argv) {
        return control_job_verb(argc, argv, CTL_OPT_NOW, KILL_USAGE, kill_help, "KillJob", "tb");
}

int verb_freeze(int argc, char **argv) {
        return control_job_verb(argc, argv, 0, FREEZE_USAGE, freeze_help, "FreezeJob", "t");
}

int verb_thaw(int argc, char **argv) {
        return control_job_verb(argc, argv, 0, THAW_USAGE, thaw_help, "ThawJob", "t");
}

/* The host's RAM, for "80%": the daemon runs on this host too. 0 when unknown (a percentage is then
 * rejected as out of range by units_parse_size). */
static uint64_t control_host_ram(void) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        return pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page : 0;
}

int verb_limit(int argc, char **argv) {
        struct ctl_args a;
        int r = ctl_parse_args(argc, argv, 0, 2, LIMIT_USAGE, limit_help, &a);
        if (r != 0)
                return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        uint64_t id, bytes = 0;
        if (ctl_parse_job_id(a.args[0], &id) < 0)
                return CTL_EXIT_USAGE;
        const char *size = a.args[1];
        /* "off" asks for no limit, which SetLimit says with 0 (and allows root alone). */
        if (strcmp(size, "off") != 0 && strcmp(size, "none") != 0) {
                r = units_parse_size(size, control_host_ram(), &bytes);
                if (r < 0) {
                        log_error("invalid size '%s': %s", size,
                                  r == -ERANGE ? "out of range" : "expected 4000 (MiB), 512M, 8G, 80% or off");
                        return CTL_EXIT_USAGE;
                }
        }
        return control_call(&a, "SetLimit", "tt", id, 0, bytes);
}
