/* SPDX-License-Identifier: MIT */
/* memguard reload: memguardd reads its configuration again, all or nothing. */
#include <stdio.h>

#include "ctl.h"
#include "log.h"
#include "verbs.h"

#define RELOAD_USAGE "memguard reload [--socket PATH | --system]"


static int reload_exec(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        int r = ctl_call(a, &bus, "Reload", &reply, NULL);
        if (r != 0)
                return r;

        int ok;
        size_t n = 0;
        r = sd_bus_message_read(reply, "b", &ok);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "s");
        while (r >= 0) {
                const char *line;
                r = sd_bus_message_read(reply, "s", &line);
                if (r <= 0)
                        break;
                /* The daemon's lines already say file:line: what. */
                fprintf(stderr, "%s\n", line);
                n++;
        }
        if (r < 0) {
                log_error_errno(r, "cannot read the daemon's answer to Reload: %m");
                return CTL_EXIT_REFUSED;
        }
        if (!ok) {
                if (n > 0)
                        log_error("the configuration has %zu error%s: nothing changed, the running configuration stays",
                                  n, n == 1 ? "" : "s");
                else
                        log_error("the configuration was not reloaded: the running configuration stays");
                return CTL_EXIT_REFUSED;
        }
        log_info("configuration reloaded");
        return CTL_EXIT_OK;
}

const struct ctl_verb verb_reload = {
        .name = "reload",
        .usage = RELOAD_USAGE,
        .help = "Asks memguardd to read its configuration and drop-ins again (as SIGHUP does) and says how it\n"
                "went. A configuration with any error changes nothing: every error is printed with its\n"
                "file:line and the running configuration stays. Running jobs take up their profile's new\n"
                "values. Only root may reload.\n"
                "\n"
                CTL_HELP_TRANSPORT
                "\n"
                "Exit status: 0 when the new configuration is in force; 1 when it had errors (the old one\n"
                "stays), or the daemon refused or failed; 2 for a usage error; 3 when no daemon answered.\n",
        .options = 0,
        .n_args = 0,
        .exec = reload_exec,
};
