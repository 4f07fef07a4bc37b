/* SPDX-License-Identifier: MIT */
/* memguard: the client. Dispatches to one verb per file. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "verbs.h"

/* run has its own command line; the others are entries of the ctl table. */
struct verb {
        const char *name;
        int (*run)(int argc, char **argv);
        const struct ctl_verb *ctl;
        const char *summary;
};

static const struct verb verbs[] = {
        { "run", verb_run, NULL, "run a command as a guarded job and report what it used" },
        { "status", NULL, &verb_status, "list the jobs memguardd supervises" },
        { "show", NULL, &verb_show, "everything about one job, with its latest samples" },
        { "kill", NULL, &verb_kill, "stop a job (SIGTERM, grace, SIGKILL; --now: SIGKILL)" },
        { "freeze", NULL, &verb_freeze, "freeze every process of a job" },
        { "thaw", NULL, &verb_thaw, "let a frozen job run again" },
        { "limit", NULL, &verb_limit, "set a job's memory ceiling" },
        { "reload", NULL, &verb_reload, "make memguardd read its configuration again" },
        { "profiles", NULL, &verb_profiles, "list memguardd's profiles" },
};

static void memguard_help(FILE *f) {
        fprintf(f,
                "Usage: memguard VERB [OPTIONS] ...\n"
                "       memguard run [OPTIONS] -- COMMAND [ARGS...]\n"
                "\n"
                "Keeps a job (a command and every process it starts) inside its memory budget and reports\n"
                "what it used.\n"
                "\n"
                "Verbs:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
        fprintf(f,
                "\n"
                "Options:\n"
                "  -h, --help     show this help\n"
                "      --version  show the version\n"
                "\n"
                "\"memguard VERB --help\" describes a verb; see memguard(1).\n");
}

int main(int argc, char **argv) {
        log_set_program("memguard");
        if (argc < 2) {
                memguard_help(stderr);
                return POLICY_EXIT_USAGE;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                memguard_help(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
                printf("memguard %s\n", PACKAGE_VERSION);
                return 0;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].ctl ? ctl_run(verbs[i].ctl, argc - 1, argv + 1)
                                            : verbs[i].run(argc - 1, argv + 1);
        log_error("unknown verb '%s' (try 'memguard --help')", argv[1]);
        return POLICY_EXIT_USAGE;
}
