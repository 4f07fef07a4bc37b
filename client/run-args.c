/* SPDX-License-Identifier: MIT */
/* memguard run's command line: its options, checked and turned into limits, or a usage error that
 * names the option. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "procfs.h"
#include "run.h"
#include "units.h"

static void run_args_help(FILE *f) {
        fprintf(f,
                "Usage: memguard run [OPTIONS] -- COMMAND [ARGS...]\n"
                "\n"
                "Runs COMMAND as a guarded job: it and every process it starts are measured together; past the\n"
                "kill threshold the whole job gets SIGTERM, then SIGKILL after the grace. A report follows.\n"
                "\n"
                "Limits:\n"
                "  -m, --max-memory SIZE         the job's ceiling: 4000 (MiB), 512M, 8G, 80%% (of RAM)\n"
                "      --kill-threshold RATIO    start stopping the job at RATIO x max-memory (default 0.8)\n"
                "      --warn-at RATIO           warn from RATIO x max-memory (default: off)\n"
                "      --grace DURATION          SIGTERM to SIGKILL (default 10s): 500ms, 2s, 1m\n"
                "      --max-process-memory SIZE a ceiling for each single process (exit code 11)\n"
                "      --check-interval DURATION sample every DURATION (plain number: seconds);\n"
                "                                default adaptive, 100ms shrinking to 10ms near the limit\n"
                "  -i, --interval MS             the same in milliseconds, as memwatch's -i\n"
                "      --dry-run                 measure and report, never signal\n"
                "      --backend NAME            auto (default), cgroup2, cgroup1 or procfs\n"
                "      --limit-exit-code N       exit code when stopped for max-memory (default 10)\n"
                "\n"
                "Output:\n"
                "      --json[=FILE]             the report as JSON on stdout or into FILE\n"
                "                                (also \"--json FILE\" when COMMAND follows \"--\")\n"
                "      --csv FILE                per-process peaks as CSV\n"
                "      --timeline FILE           the samples as CSV (timestamp, elapsed_seconds, ...)\n"
                "      --log-file FILE           append every event and a usage line per second to FILE\n"
                "  -q, --quiet                   no summary, no warnings on stderr (errors still show)\n"
                "\n"
                "Daemon:\n"
                "      --no-daemon               guard the job in this process even if memguardd runs\n"
                "      --socket PATH             hand the job to the memguardd serving PATH\n"
                "      --system                  hand the job to memguardd on the system bus\n"
                "  By default the job goes to memguardd when its socket (" CONNECT_SOCKET_DEFAULT ") or the\n"
                "  system bus answers, so the host's policy applies and the job stays guarded if this client\n"
                "  dies; otherwise (no daemon, or one that does not answer within 5s) it is guarded here.\n"
                "  --dry-run and --backend always guard here.\n"
                "  -h, --help                    show this help\n"
                "\n"
                "\n"
                "Exit status: the job's own; 128+N when it died of signal N; 10 when memguard stopped it for\n"
                "max-memory (or the kernel OOM-killed inside it); 11 for max-process-memory; 127 when COMMAND\n"
                "was not found; 1 when memguard itself failed; 2 for a usage error.\n");
}

enum {
        ARG_KILL_THRESHOLD = 0x100,
        ARG_WARN_AT,
        ARG_GRACE,
        ARG_MAX_PROCESS_MEMORY,
        ARG_CHECK_INTERVAL,
        ARG_DRY_RUN,
        ARG_BACKEND,
        ARG_LIMIT_EXIT_CODE,
        ARG_JSON,
        ARG_CSV,
        ARG_TIMELINE,
        ARG_LOG_FILE,
        ARG_SYSROOT,
        ARG_NO_DAEMON,
};

/* Logs "invalid value VALUE for OPTION: WHY" and returns -EINVAL. */
static int run_args_usage_error(const char *option, const char *value, const char *why) {
        log_error("invalid value '%s' for %s: %s", value, option, why);
        return -EINVAL;
}

static bool run_args_dashdash_after(int argc, char **argv, int i) {
        for (; i < argc; i++)
                if (strcmp(argv[i], "--") == 0)
                        return true;
        return false;
}

static const struct option run_args_options[] = {
        { "max-memory", required_argument, NULL, 'm' },
        { "kill-threshold", required_argument, NULL, ARG_KILL_THRESHOLD },
        { "warn-at", required_argument, NULL, ARG_WARN_AT },
        { "grace", required_argument, NULL, ARG_GRACE },
        { "max-process-memory", required_argument, NULL, ARG_MAX_PROCESS_MEMORY },
        { "check-interval", required_argument, NULL, ARG_CHECK_INTERVAL },
        { "interval", required_argument, NULL, 'i' },
        { "dry-run", no_argument, NULL, ARG_DRY_RUN },
        { "backend", required_argument, NULL, ARG_BACKEND },
        { "limit-exit-code", required_argument, NULL, ARG_LIMIT_EXIT_CODE },
        { "json", optional_argument, NULL, ARG_JSON },
        { "csv", required_argument, NULL, ARG_CSV },
        { "timeline", required_argument, NULL, ARG_TIMELINE },
        { "log-file", required_argument, NULL, ARG_LOG_FILE },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "sysroot", required_argument, NULL, ARG_SYSROOT },
        { "no-daemon", no_argument, NULL, ARG_NO_DAEMON },
        {}
};

/* One option getopt_long() returned: 0 to go on, 1 after --help, -EINVAL (said) for a bad one. */
static int run_args_option(int c, int argc, char **argv, struct run_args *a) {
        switch (c) {
        case 'm':
                a->max_memory = optarg;
                break;
        case ARG_MAX_PROCESS_MEMORY:
                a->max_process_memory = optarg;
                break;
        case ARG_KILL_THRESHOLD:
                if (units_parse_ratio(optarg, &a->limits.kill_threshold) < 0)
                        return run_args_usage_error("--kill-threshold", optarg, "expected a ratio in (0, 1] such as 0.8 or 80%");
                a->kill_threshold_set = true;
                break;
        case ARG_WARN_AT:
                if (units_parse_ratio(optarg, &a->limits.warn_at) < 0)
                        return run_args_usage_error("--warn-at", optarg, "expected a ratio in (0, 1] such as 0.7 or 70%");
                break;
        case ARG_GRACE:
                if (units_parse_duration(optarg, &a->limits.grace_usec) < 0)
                        return run_args_usage_error("--grace", optarg, "expected a duration such as 10s or 500ms");
                a->grace_set = true;
                break;
        case ARG_CHECK_INTERVAL:
                if (units_parse_duration(optarg, &a->limits.interval_usec) < 0 || a->limits.interval_usec == 0)
                        return run_args_usage_error("--check-interval", optarg,
                                               "expected a positive duration such as 2, 2s or 500ms");
                break;
        case 'i': {
                int ms;
                if (units_parse_int(optarg, 3600 * 1000, &ms) < 0 || ms <= 0)
                        return run_args_usage_error("--interval", optarg, "expected milliseconds, such as 200");
                a->limits.interval_usec = (uint64_t) ms * USEC_PER_MSEC;
                break;
        }
        case ARG_DRY_RUN:
                a->dry_run = true;
                break;
        case ARG_BACKEND:
                a->backend = backend_kind_from_string(optarg);
                if (a->backend < 0)
                        return run_args_usage_error("--backend", optarg, "expected auto, cgroup2, cgroup1 or procfs");
                break;
        case ARG_LIMIT_EXIT_CODE:
                if (units_parse_int(optarg, 255, &a->limit_exit_code) < 0 || a->limit_exit_code == 0)
                        return run_args_usage_error("--limit-exit-code", optarg, "expected a number from 1 to 255");
                break;
        case ARG_JSON:
                a->json = true;
                if (optarg)
                        a->json_file = optarg;
                else if (optind < argc && argv[optind][0] != '-' && run_args_dashdash_after(argc, argv, optind + 1))
                        a->json_file = argv[optind++];
                break;
        case ARG_CSV:
                a->csv_file = optarg;
                break;
        case ARG_TIMELINE:
                a->timeline_file = optarg;
                break;
        case ARG_LOG_FILE:
                a->log_file = optarg;
                break;
        case ARG_SYSROOT:
                a->sysroot = optarg;
                break;
        case ARG_NO_DAEMON:
                a->no_daemon = true;
                break;
        case 'q':
                a->quiet = true;
                break;
        case 'h':
                run_args_help(stdout);
                return 1;
        case ':':
                log_error("option '%s' needs a value (try 'memguard run --help')", argv[optind - 1]);
                return -EINVAL;
        default:
                log_error("unknown option '%s' (try 'memguard run --help')", argv[optind - 1]);
                return -EINVAL;
        }
        return 0;
}

int run_args_parse(int argc, char **argv, struct run_args *a) {
        *a = (struct run_args) {};
        if (connect_parse_args(&argc, argv, &a->connect) < 0)
                return -EINVAL;
        policy_limits_init(&a->limits);
        a->backend = BACKEND_AUTO;
        a->limit_exit_code = POLICY_EXIT_LIMIT;

        optind = 0;
        opterr = 0;  /* getopt would name the program "run": say it ourselves */
        /* "+": stop at the first non-option, so the command's own options stay its own. */
        int c;
        while ((c = getopt_long(argc, argv, "+:m:i:qh", run_args_options, NULL)) >= 0) {
                int r = run_args_option(c, argc, argv, a);
                if (r != 0)
                        return r;
        }
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        if (optind >= argc) {
                log_error("no command to run (usage: memguard run [OPTIONS] -- COMMAND [ARGS...])");
                return -EINVAL;
        }
        a->command = argv + optind;
        return 0;
}

int run_args_resolve(struct run_args *a, const struct sysroot *s) {
        /* Sizes wait until here: "80%" needs the host's RAM, read through the sysroot. */
        uint64_t ram = 0;
        int r;
        if (a->max_memory || a->max_process_memory) {
                r = procfs_read_meminfo(s, &ram, NULL);
                if (r < 0)
                        log_warning_errno(r, "cannot read the host's memory size from /proc/meminfo: %m");
        }
        if (a->max_memory && (r = units_parse_size(a->max_memory, ram, &a->limits.max_bytes)) < 0)
                return run_args_usage_error("--max-memory", a->max_memory,
                                            r == -ERANGE ? "out of range" : "expected a size such as 4000 (MiB), 512M, 8G or 80%");
        if (a->max_process_memory && (r = units_parse_size(a->max_process_memory, ram, &a->limits.max_process_bytes)) < 0)
                return run_args_usage_error("--max-process-memory", a->max_process_memory,
                                            r == -ERANGE ? "out of range" : "expected a size such as 4000 (MiB), 512M, 8G or 80%");
        const char *why = NULL;
        if (policy_limits_validate(&a->limits, &why) < 0) {
                log_error("%s", why);
                return -EINVAL;
        }
        return 0;
}

bool run_args_local_only(const struct run_args *a) {
        return a->no_daemon || a->dry_run || a->backend != BACKEND_AUTO || a->sysroot;
}
