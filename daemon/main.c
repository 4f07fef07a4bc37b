/* SPDX-License-Identifier: MIT */
/* memguardd: argument parsing, and the wiring: the manager and the parts that listen to its jobs. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "adopt.h"
#include "backend.h"
#include "bus.h"
#include "conf.h"
#include "events.h"
#include "hooks.h"
#include "kevents.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "procfs.h"
#include "state.h"
#include "sysroot.h"

/* Exit codes at startup (the daemon never exits by itself once it runs). */
#define EXIT_CONFIG 1
#define EXIT_USAGE 2

static void help(FILE *f) {
        fprintf(f,
                "Usage: memguardd [OPTIONS]\n"
                "\n"
                "Supervises batch jobs' memory under the host's INI policy (memguard.conf(5)).\n"
                "\n"
                "  -f, --config FILE     configuration file (default " CONF_PATH_DEFAULT ");\n"
                "                        drop-ins are read from conf.d/ beside it\n"
                "      --check-config    validate the configuration, print the effective one, exit 0 or 1\n"
                "  -d, --debug           stay in the foreground and log to stderr, debug level\n"
                "      --log-target T    auto (journal when journald listens, else stderr), journal, stderr\n"
                "      --socket PATH     the control socket (overrides [daemon] socket)\n"
                "      --state-dir DIR   where job records are kept (overrides [daemon] state-dir)\n"
                "      --backend NAME    auto, cgroup2, cgroup1 or procfs\n"
                "      --cgroup-parent P where job cgroups go (overrides [daemon] cgroup-parent)\n"
                "      --sysroot DIR     read /proc and /sys/fs/cgroup below DIR (tests)\n"
                "      --version         show the version\n"
                "  -h, --help            show this help\n");
}

static char *dropin_dir_for(const char *config) {
        if (strcmp(config, CONF_PATH_DEFAULT) == 0)
                return strdup(CONF_DROPIN_DIR_DEFAULT);
        _cleanup_free_ char *copy = strdup(config);
        if (!copy)
                return NULL;
        char *out;
        if (asprintf(&out, "%s/conf.d", dirname(copy)) < 0)
                return NULL;
        return out;
}

static int check_config(const char *config, const char *dropin, const char *sysroot) {
        uint64_t ram = 0;
        _cleanup_(sysroot_freep) struct sysroot *s = NULL;
        if (sysroot_open(sysroot, &s) >= 0)
                (void) procfs_read_meminfo(s, &ram, NULL);
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors errors = {};
        int r = conf_load(config, dropin, ram, &c, &errors);
        for (size_t i = 0; i < errors.n; i++)
                fprintf(stderr, "%s\n", errors.messages[i]);
        size_t n = errors.n;
        conf_errors_done(&errors);
        if (r < 0) {
                fprintf(stderr, "memguardd: configuration has %zu error%s\n", n, n == 1 ? "" : "s");
                return EXIT_CONFIG;
        }
        conf_dump(stdout, c);
        fprintf(stderr, "memguardd: configuration OK\n");
        return 0;
}

/* The listeners hear every job event in the order they register here: the journal record first,
 * then the hooks, the state record, the kernel's notifications and the bus signals last (a client
 * waiting in FinishJob hears of the end once everything else has). Jobs from before a restart are taken
 * up once everyone listens, and before the socket answers. The manager goes first at the end: freeing
 * its jobs tells the listeners, which must still be there. */
static int run(const struct manager_options *o) {
        _cleanup_(kevents_freep) struct kevents *k = NULL;
        _cleanup_(adopt_freep) struct adopt *a = NULL;
        _cleanup_(bus_freep) struct bus *b = NULL;
        _cleanup_(manager_freep) struct manager *m = NULL;
        if (manager_new(o, &m) < 0 || events_listen(m) < 0 || hooks_listen(m) < 0 || state_listen(m) < 0 ||
            kevents_new(m, &k) < 0)
                return EXIT_CONFIG;
        adopt_records(m);
        if (bus_new(m, &b) < 0 || adopt_new(m, &a) < 0 || manager_start(m) < 0)
                return EXIT_CONFIG;
        ev_run(m->loop, 0);
        return 0;
}

struct args {
        struct manager_options o;
        bool check, debug;
        const char *target;
};

/* > 0: done, exit 0 (--help, --version); < 0: a usage error, said. */
static int parse_argv(int argc, char **argv, struct args *a) {
        enum { ARG_CHECK = 0x100, ARG_LOG_TARGET, ARG_SOCKET, ARG_STATE_DIR, ARG_BACKEND, ARG_SYSROOT, ARG_VERSION,
               ARG_CGROUP_PARENT };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'f' },       { "check-config", no_argument, NULL, ARG_CHECK },
                { "debug", no_argument, NULL, 'd' },              { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "socket", required_argument, NULL, ARG_SOCKET }, { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "backend", required_argument, NULL, ARG_BACKEND }, { "sysroot", required_argument, NULL, ARG_SYSROOT },
                { "version", no_argument, NULL, ARG_VERSION },    { "help", no_argument, NULL, 'h' },
                { "cgroup-parent", required_argument, NULL, ARG_CGROUP_PARENT },
                {}
        };
        struct manager_options *o = &a->o;
        int c;
        while ((c = getopt_long(argc, argv, "f:dh", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        o->config_path = optarg;
                        break;
                case ARG_CHECK:
                        a->check = true;
                        break;
                case 'd':
                        a->debug = true;
                        break;
                case ARG_LOG_TARGET:
                        if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "journal") != 0 && strcmp(optarg, "stderr") != 0) {
                                log_error("invalid value '%s' for --log-target: expected auto, journal or stderr", optarg);
                                return -EINVAL;
                        }
                        a->target = optarg;
                        break;
                case ARG_SOCKET:
                        o->socket_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        o->state_dir = optarg;
                        break;
                case ARG_BACKEND:
                        o->backend = backend_kind_from_string(optarg);
                        if (o->backend < 0) {
                                log_error("invalid value '%s' for --backend: expected auto, cgroup2, cgroup1 or procfs", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_SYSROOT:
                        o->sysroot = optarg;
                        break;
                case ARG_CGROUP_PARENT:
                        if (optarg[0] != '/') {
                                log_error("invalid value '%s' for --cgroup-parent: expected a cgroup path such as /memguard",
                                          optarg);
                                return -EINVAL;
                        }
                        o->cgroup_parent = optarg;
                        break;
                case ARG_VERSION:
                        printf("memguardd %s\n", PACKAGE_VERSION);
                        return 1;
                case 'h':
                        help(stdout);
                        return 1;
                default:
                        log_error("try 'memguardd --help'");
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("unexpected argument '%s' (try 'memguardd --help')", argv[optind]);
                return -EINVAL;
        }

        return 0;
}

int main(int argc, char **argv) {
        struct args a = { .o = { .config_path = CONF_PATH_DEFAULT, .backend = BACKEND_AUTO }, .target = "auto" };
        log_set_program("memguardd");
        int r = parse_argv(argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        struct manager_options *o = &a.o;

        _cleanup_free_ char *dropin = dropin_dir_for(o->config_path);
        o->dropin_dir = dropin;
        if (a.check)
                return check_config(o->config_path, dropin, o->sysroot);

        /* journald silently drops what it is sent when it is not there: choose by its socket. */
        if (a.debug || strcmp(a.target, "stderr") == 0 || (strcmp(a.target, "auto") == 0 && !log_journal_available()))
                log_set_target(LOG_TARGET_STDERR);
        else
                log_set_target(LOG_TARGET_JOURNAL);
        log_set_max_level(a.debug ? LOG_DEBUG : LOG_INFO);

        /* One descriptor per supervised job's counters and per client: use what the system allows. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        return run(o);
}
