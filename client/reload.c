/* SPDX-License-Identifier: MIT */
/* memguard reload: memguardd reads its configuration again, all or nothing. */
#include <stdio.h>

#include "ctl.h"
#include "log.h"
#include "verbs.h"

#define RELOAD_USAGE "memguard reload [--socket PATH | --system]"

static void reload_help(FILE *f) {
        fprintf(f,
                "Usage: " RELOAD_USAGE "\n"
                "\n"
                "Asks memguardd to read its configuration and drop-ins again (as SIGHUP does) and says how it\n"
                "went. A configuration with any error changes nothing: every error is printed with its\n"
                "file:line and the running configuration stays. Running jobs take up their profile's new\n"
                "values. Only root may reload.\n"
                "\n"
                "      --socket PATH  only the daemon on this control socket\n"
                "      --system       only the daemon on the system bus\n"
                "  -h, --help         show this help\n"
                "\n"
                "Exit status: 0 when the new configuration is in force; 1 when it had errors (the old one\n"
                "stays), or the daemon refused or failed; 2 for a usage error; 3 when no daemon answered.\n");
}

int verb_reload(int argc, char **argv) {
        struct ctl_args a;
        int r = ctl_parse_args(argc, argv, 0, 0, RELOAD_USAGE, reload_help, &a);
        if (r != 0)
                return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;

        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        r = ctl_call(&a, &bus, "Reload", &reply, NULL);
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
