/* SPDX-License-Identifier: MIT */
/* memguard kill, freeze, thaw and limit: an operator's hand on a running job. The daemon decides who
 * may: a job's owner and root; raising or removing a limit is root's alone. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "units.h"
#include "verbs.h"

#define CONTROL_HELP_END                                                                              \
        CTL_HELP_TRANSPORT                                                                            \
        "\n"                                                                                          \
        "Exit status: 0; 1 when the daemon refused (not your job, no such running job) or failed;\n" \
        "2 for a usage error; 3 when no daemon answered.\n"

static int control_kill(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        return ctl_call(a, &bus, "KillJob", NULL, "tb", a->job, (int) a->now);
}

static int control_freeze(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        return ctl_call(a, &bus, "FreezeJob", NULL, "t", a->job);
}

static int control_thaw(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        return ctl_call(a, &bus, "ThawJob", NULL, "t", a->job);
}

/* The host's RAM, for "80%": the daemon runs on this host too. 0 when unknown (a percentage is then
 * rejected as out of range by units_parse_size). */
static uint64_t control_host_ram(void) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        return pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page : 0;
}

static int control_limit(const struct ctl_args *a) {
        const char *size = a->args[1];
        uint64_t bytes = 0;
        /* "off" asks for no limit, which SetLimit says with 0 (and allows root alone). */
        if (strcmp(size, "off") != 0 && strcmp(size, "none") != 0) {
                int r = units_parse_size(size, control_host_ram(), &bytes);
                if (r < 0) {
                        log_error("invalid size '%s': %s", size,
                                  r == -ERANGE ? "out of range" : "expected 4000 (MiB), 512M, 8G, 80% or off");
                        return CTL_EXIT_USAGE;
                }
        }
        _cleanup_bus_ sd_bus *bus = NULL;
        return ctl_call(a, &bus, "SetLimit", NULL, "tt", a->job, bytes);
}

const struct ctl_verb verb_kill = {
        .name = "kill",
        .usage = "memguard kill JOB [--now] [--socket PATH | --system]",
        .help = "Stops job JOB as its profile would at its limit: SIGTERM to every process, SIGKILL to what is\n"
                "left after the grace. The job's owner and root may.\n"
                "\n"
                "      --now          SIGKILL at once, no grace\n"
                CONTROL_HELP_END,
        .options = CTL_OPT_JOB | CTL_OPT_NOW,
        .n_args = 1,
        .exec = control_kill,
};

const struct ctl_verb verb_freeze = {
        .name = "freeze",
        .usage = "memguard freeze JOB [--socket PATH | --system]",
        .help = "Freezes every process of job JOB (the cgroup freezer; SIGSTOP on the procfs backend): it stays\n"
                "in memory, stopped, until 'memguard thaw' or 'memguard kill'. The job's owner and root may.\n"
                "\n"
                CONTROL_HELP_END,
        .options = CTL_OPT_JOB,
        .n_args = 1,
        .exec = control_freeze,
};

const struct ctl_verb verb_thaw = {
        .name = "thaw",
        .usage = "memguard thaw JOB [--socket PATH | --system]",
        .help = "Lets a frozen job JOB run again. The job's owner and root may.\n"
                "\n"
                CONTROL_HELP_END,
        .options = CTL_OPT_JOB,
        .n_args = 1,
        .exec = control_thaw,
};

const struct ctl_verb verb_limit = {
        .name = "limit",
        .usage = "memguard limit JOB SIZE [--socket PATH | --system]",
        .help = "Sets the memory ceiling of job JOB, all its processes together, and the kernel's hard limit\n"
                "with it. SIZE: 4000 (MiB), 512M, 8G, 1.5G, 80% (of this host's RAM), or off (no limit).\n"
                "The job's owner may lower it; only root may raise or remove it.\n"
                "\n"
                CONTROL_HELP_END,
        .options = CTL_OPT_JOB,
        .n_args = 2,
        .exec = control_limit,
};
