/* SPDX-License-Identifier: MIT */
/* memguard profiles: the profiles of the daemon's configuration in force, with their limits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "units.h"
#include "verbs.h"

#define PROFILES_USAGE "memguard profiles [--json] [--socket PATH | --system]"

struct profile {
        const char *name;
        uint64_t max_memory, max_process_memory;
        double kill_threshold, warn_at;
        uint64_t grace_usec;
        const char *action;
};


static int profiles_add_json(json_t *array, const struct profile *p, bool is_default) {
        json_t *o = json_pack("{sssbsososfsfsoss}", "name", p->name, "default", is_default, "max_memory_bytes",
                              ctl_json_uint(p->max_memory), "max_process_memory_bytes",
                              ctl_json_uint(p->max_process_memory), "kill_threshold", p->kill_threshold, "warn_at",
                              p->warn_at, "grace_usec", ctl_json_uint(p->grace_usec), "action", p->action);
        if (!o || json_array_append_new(array, o) < 0)
                return -ENOMEM;
        return 0;
}

static void profiles_ratio(char *buf, size_t size, double v) {
        if (v == 0)
                snprintf(buf, size, "off");
        else
                snprintf(buf, size, "%g%%", v * 100);
}

static void profiles_print(const struct profile *p, size_t n, const char *default_profile) {
        int w = (int) strlen("NAME");
        for (size_t i = 0; i < n; i++)
                w = MAX(w, (int) strlen(p[i].name));
        printf("  %-*s  %10s  %12s  %7s  %7s  %10s  %s\n", w, "NAME", "MAX-MEMORY", "MAX-PROCESS", "KILL-AT", "WARN-AT",
               "GRACE", "ACTION");
        for (size_t i = 0; i < n; i++) {
                char mem[UNITS_SIZE_MAX], proc[UNITS_SIZE_MAX], grace[UNITS_DURATION_MAX], kill[16], warn[16];
                profiles_ratio(kill, sizeof(kill), p[i].kill_threshold);
                profiles_ratio(warn, sizeof(warn), p[i].warn_at);
                printf("%c %-*s  %10s  %12s  %7s  %7s  %10s  %s\n", strcmp(p[i].name, default_profile) == 0 ? '*' : ' ',
                       w, p[i].name, p[i].max_memory ? units_format_size(mem, p[i].max_memory) : "off",
                       p[i].max_process_memory ? units_format_size(proc, p[i].max_process_memory) : "off", kill, warn,
                       units_format_duration(grace, p[i].grace_usec), p[i].action);
        }
}

static int profiles_exec(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        int r = ctl_call(a, &bus, "ListProfiles", &reply, NULL);
        if (r != 0)
                return r;

        /* Which one is the default: a property, so an older daemon without it still lists. */
        _cleanup_free_ char *default_profile = NULL;
        _cleanup_bus_error_ sd_bus_error perr = SD_BUS_ERROR_NULL;
        if (sd_bus_get_property_string(bus, CONNECT_NAME, CONNECT_PATH, CONNECT_INTERFACE, "DefaultProfile", &perr,
                                       &default_profile) < 0)
                log_debug("cannot read DefaultProfile: %s", perr.message ? perr.message : "?");

        _cleanup_free_ struct profile *list = NULL;
        size_t n = 0;
        r = sd_bus_message_enter_container(reply, 'a', "(sttddts)");
        while (r >= 0) {
                struct profile p;
                r = sd_bus_message_read(reply, "(sttddts)", &p.name, &p.max_memory, &p.max_process_memory,
                                        &p.kill_threshold, &p.warn_at, &p.grace_usec, &p.action);
                if (r <= 0)
                        break;
                struct profile *more = realloc(list, (n + 1) * sizeof(*list));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                list = more;
                list[n++] = p;
        }
        if (r < 0) {
                log_error_errno(r, "cannot read the daemon's answer to ListProfiles: %m");
                return CTL_EXIT_REFUSED;
        }

        const char *def = default_profile ? default_profile : "";
        if (!a->json) {
                profiles_print(list, n, def);
                return ctl_finish_stdout(CTL_EXIT_OK);
        }
        _cleanup_json_ json_t *array = json_array();
        for (size_t i = 0; array && i < n; i++)
                if (profiles_add_json(array, &list[i], strcmp(list[i].name, def) == 0) < 0) {
                        log_error_errno(ENOMEM, "cannot list the profiles: %m");
                        return CTL_EXIT_REFUSED;
                }
        if (!array) {
                log_error_errno(ENOMEM, "cannot list the profiles: %m");
                return CTL_EXIT_REFUSED;
        }
        return ctl_print_json(array);
}

const struct ctl_verb verb_profiles = {
        .name = "profiles",
        .usage = PROFILES_USAGE,
        .help = "Lists the profiles memguardd applies, as its configuration in force defines them: the job's\n"
                "ceiling, one process's ceiling, the kill threshold, the warning ratio, the grace and the action.\n"
                "The default profile (for jobs no rule matches) is marked with '*'.\n"
                "\n"
                "      --json         a JSON array of objects: name, default, max_memory_bytes,\n"
                "                     max_process_memory_bytes (0: none), kill_threshold, warn_at (0: off),\n"
                "                     grace_usec, action\n"
                CTL_HELP_TRANSPORT
                "\n"
                "Exit status: 0; 1 when the daemon refused or failed; 2 for a usage error; 3 when no daemon\n"
                "answered.\n",
        .options = CTL_OPT_JSON,
        .n_args = 0,
        .exec = profiles_exec,
};
