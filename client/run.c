/* SPDX-License-Identifier: MIT */
/* memguard run: guard one command and its whole process tree, in this process, with the engine. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "backend.h"
#include "guard.h"
#include "job.h"
#include "log.h"
#include "macro.h"
#include "procfs.h"
#include "report.h"
#include "sysroot.h"
#include "units.h"
#include "verbs.h"
#include "run.h"
#include "connect.h"

struct run_state {
        struct run_args *args;
        struct guard *guard;
        ev_io signal_io;
        uint64_t last_usage_log_usec;
        int interrupted;          /* the signal that interrupted memguard, 0 if none */
};

static int run_signal_pipe[2] = { -1, -1 };

static void run_help(FILE *f) {
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
                "  dies; otherwise it is guarded here. --dry-run and --backend always guard here.\n"
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

static int run_usage_error(const char *option, const char *value, const char *why) {
        log_error("invalid value '%s' for %s: %s", value, option, why);
        return -EINVAL;
}

static bool run_has_dashdash_after(int argc, char **argv, int i) {
        for (; i < argc; i++)
                if (strcmp(argv[i], "--") == 0)
                        return true;
        return false;
}

static int run_parse_args(int argc, char **argv, struct run_args *a) {
        static const struct option options[] = {
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
        int c;

        policy_limits_init(&a->limits);
        a->backend = BACKEND_AUTO;
        a->limit_exit_code = POLICY_EXIT_LIMIT;

        optind = 0;
        opterr = 0;  /* getopt would name the program "run": say it ourselves */
        /* "+": stop at the first non-option, so the command's own options stay its own. */
        while ((c = getopt_long(argc, argv, "+:m:i:qh", options, NULL)) >= 0) {
                switch (c) {
                case 'm':
                        a->max_memory = optarg;
                        break;
                case ARG_MAX_PROCESS_MEMORY:
                        a->max_process_memory = optarg;
                        break;
                case ARG_KILL_THRESHOLD:
                        if (units_parse_ratio(optarg, &a->limits.kill_threshold) < 0)
                                return run_usage_error("--kill-threshold", optarg, "expected a ratio in (0, 1] such as 0.8 or 80%");
                        a->kill_threshold_set = true;
                        break;
                case ARG_WARN_AT:
                        if (units_parse_ratio(optarg, &a->limits.warn_at) < 0)
                                return run_usage_error("--warn-at", optarg, "expected a ratio in (0, 1] such as 0.7 or 70%");
                        break;
                case ARG_GRACE:
                        if (units_parse_duration(optarg, &a->limits.grace_usec) < 0)
                                return run_usage_error("--grace", optarg, "expected a duration such as 10s or 500ms");
                        a->grace_set = true;
                        break;
                case ARG_CHECK_INTERVAL:
                        if (units_parse_duration(optarg, &a->limits.interval_usec) < 0 || a->limits.interval_usec == 0)
                                return run_usage_error("--check-interval", optarg,
                                                       "expected a positive duration such as 2, 2s or 500ms");
                        break;
                case 'i': {
                        int ms;
                        if (units_parse_int(optarg, 3600 * 1000, &ms) < 0 || ms <= 0)
                                return run_usage_error("--interval", optarg, "expected milliseconds, such as 200");
                        a->limits.interval_usec = (uint64_t) ms * USEC_PER_MSEC;
                        break;
                }
                case ARG_DRY_RUN:
                        a->dry_run = true;
                        break;
                case ARG_BACKEND:
                        a->backend = backend_kind_from_string(optarg);
                        if (a->backend < 0)
                                return run_usage_error("--backend", optarg, "expected auto, cgroup2, cgroup1 or procfs");
                        break;
                case ARG_LIMIT_EXIT_CODE:
                        if (units_parse_int(optarg, 255, &a->limit_exit_code) < 0 || a->limit_exit_code == 0)
                                return run_usage_error("--limit-exit-code", optarg, "expected a number from 1 to 255");
                        break;
                case ARG_JSON:
                        a->json = true;
                        if (optarg)
                                a->json_file = optarg;
                        else if (optind < argc && argv[optind][0] != '-' && run_has_dashdash_after(argc, argv, optind + 1))
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
                        run_help(stdout);
                        return 1;
                case ':':
                        log_error("option '%s' needs a value (try 'memguard run --help')", argv[optind - 1]);
                        return -EINVAL;
                default:
                        log_error("unknown option '%s' (try 'memguard run --help')", argv[optind - 1]);
                        return -EINVAL;
                }
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

static void run_signal_handler(int sig, siginfo_t *si, void *ctx) {
        int saved = errno;
        /* Whether the terminal sent it (SI_KERNEL: the job, in our process group, got it too) or a
         * process did (SI_USER, SI_QUEUE, ...: only memguard got it, so it is ours to pass on). */
        int msg[2] = { sig, si ? si->si_code : SI_USER };
        (void) !write(run_signal_pipe[1], msg, sizeof(msg));
        errno = saved;
}

static int run_setup_signals(void) {
        if (pipe2(run_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        struct sigaction sa = { .sa_sigaction = run_signal_handler, .sa_flags = SA_SIGINFO | SA_RESTART };
        sigemptyset(&sa.sa_mask);
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (sigaction(sigs[i], &sa, NULL) < 0)
                        return -errno;
        /* A closed report pipe must not kill memguard before it has ended the job. */
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

static void run_signal_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct run_state *st = w->data;
        int msg[2];
        while (read(run_signal_pipe[0], msg, sizeof(msg)) == (ssize_t) sizeof(msg)) {
                int sig = msg[0];
                bool from_terminal = msg[1] == SI_KERNEL;
                if (!st->interrupted)
                        st->interrupted = sig;
                if (!st->guard || st->guard->ended)
                        continue;
                if (from_terminal) {
                        /* The job already has it from the terminal: sending it again would make it twice. */
                        if (st->guard->state.reason == POLICY_REASON_NONE)
                                st->guard->state.reason = POLICY_REASON_INTERRUPT;
                        log_info("interrupted (SIG%s from the terminal); waiting for the job to exit", sigabbrev_np(sig));
                        continue;
                }
                /* Someone asked memguard to stop: pass it on to every process of the job, once. SIGINT is
                 * passed on as it is; TERM, HUP and QUIT also start the grace, then SIGKILL. */
                log_info("received SIG%s; passing it on to the job", sigabbrev_np(sig));
                guard_request_stop(st->guard, POLICY_REASON_INTERRUPT, sig, sig != SIGINT);
        }
}

static void run_event(struct guard *g, const struct guard_event *ev, void *userdata) {
        struct run_state *st = userdata;
        char b1[UNITS_SIZE_MAX], b2[UNITS_SIZE_MAX];

        switch (ev->type) {
        case GUARD_EVENT_STARTED:
                log_debug("job started: pid %d", (int) ev->pid);
                break;
        case GUARD_EVENT_SAMPLE: {
                /* The shell wrapper's "Memory usage:" line, once a second, for tail -f and grep. */
                uint64_t now = guard_now_mono();
                if (now - st->last_usage_log_usec >= USEC_PER_SEC) {
                        st->last_usage_log_usec = now;
                        if (ev->limit_bytes > 0)
                                log_info("Memory usage: %s of %s (%.1f%%), %d processes",
                                          units_format_size(b1, ev->current_bytes), units_format_size(b2, ev->limit_bytes),
                                          100.0 * (double) ev->current_bytes / (double) ev->limit_bytes, ev->count);
                        else
                                log_info("Memory usage: %s, %d processes", units_format_size(b1, ev->current_bytes),
                                          ev->count);
                }
                break;
        }
        case GUARD_EVENT_WARNING:
                log_warning("%s", ev->message);
                break;
        case GUARD_EVENT_THRESHOLD:
        case GUARD_EVENT_KERNEL_OOM:
                log_notice("%s", ev->message);
                break;
        case GUARD_EVENT_TERM:
        case GUARD_EVENT_KILL:
                if (ev->count < 0)
                        log_error("%s", ev->message);
                else
                        log_notice("%s", ev->message);
                break;
        case GUARD_EVENT_LEFTOVERS:
                log_notice("%s (%d process%s)", ev->message, ev->count, ev->count == 1 ? "" : "es");
                break;
        case GUARD_EVENT_ENDED:
                ev_break(g->loop, EVBREAK_ALL);
                break;
        default:
                break;
        }
}

int run_write_text(const char *path, const char *text, const char *what) {
        FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
        if (!f)
                return log_error_errno(errno, "cannot write the %s to %s: %m", what, path);
        int r = fputs(text, f) < 0 ? -EIO : 0;
        if (f != stdout) {
                if (fclose(f) != 0 && r >= 0)
                        r = -errno;
        } else if (fflush(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                return log_error_errno(r, "cannot write the %s to %s: %m", what, path);
        return 0;
}

typedef int (*run_writer)(FILE *f, const struct report_info *r);

static int run_write_file(const char *path, run_writer w, const struct report_info *info, const char *what) {
        FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
        if (!f)
                return log_error_errno(errno, "cannot write the %s to %s: %m", what, path);
        int r = w(f, info);
        if (f != stdout) {
                if (fclose(f) != 0 && r >= 0)
                        r = -errno;
        } else if (fflush(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                return log_error_errno(r, "cannot write the %s to %s: %m", what, path);
        return 0;
}

static int run_host_ram(const struct sysroot *s, uint64_t *ret) {
        uint64_t total = 0;
        int r = procfs_read_meminfo(s, &total, NULL);
        if (r < 0)
                return r;
        *ret = total;
        return 0;
}

int verb_run(int argc, char **argv) {
        struct run_args args = {};
        if (connect_parse_args(&argc, argv, &args.connect) < 0)
                return POLICY_EXIT_USAGE;
        int r = run_parse_args(argc, argv, &args);
        if (r > 0)
                return 0;  /* --help */
        if (r < 0)
                return POLICY_EXIT_USAGE;

        log_set_max_level(args.quiet ? LOG_ERR : LOG_NOTICE);
        if (args.log_file) {
                r = log_open_file(args.log_file);
                if (r < 0) {
                        log_error_errno(r, "cannot open the log file %s: %m", args.log_file);
                        return POLICY_EXIT_USAGE;
                }
        }

        _cleanup_(sysroot_freep) struct sysroot *sysroot = NULL;
        r = sysroot_open(args.sysroot, &sysroot);
        if (r < 0) {
                log_error_errno(r, "cannot open %s/proc: %m", args.sysroot ? args.sysroot : "");
                return POLICY_EXIT_FAILURE;
        }

        uint64_t ram = 0;
        if (args.max_memory || args.max_process_memory) {
                r = run_host_ram(sysroot, &ram);
                if (r < 0)
                        log_warning_errno(r, "cannot read the host's memory size from /proc/meminfo: %m");
        }
        if (args.max_memory && (r = units_parse_size(args.max_memory, ram, &args.limits.max_bytes)) < 0) {
                run_usage_error("--max-memory", args.max_memory,
                                r == -ERANGE ? "out of range" : "expected a size such as 4000 (MiB), 512M, 8G or 80%");
                return POLICY_EXIT_USAGE;
        }
        if (args.max_process_memory &&
            (r = units_parse_size(args.max_process_memory, ram, &args.limits.max_process_bytes)) < 0) {
                run_usage_error("--max-process-memory", args.max_process_memory,
                                r == -ERANGE ? "out of range" : "expected a size such as 4000 (MiB), 512M, 8G or 80%");
                return POLICY_EXIT_USAGE;
        }
        const char *why = NULL;
        if (policy_limits_validate(&args.limits, &why) < 0) {
                log_error("%s", why);
                return POLICY_EXIT_USAGE;
        }

        r = run_setup_signals();
        if (r < 0) {
                log_error_errno(r, "cannot set up signal handling: %m");
                return POLICY_EXIT_FAILURE;
        }

        /* The host's daemon guards the job when it is there, unless this run needs the engine here. */
        bool explicit_daemon = args.connect.socket_path || args.connect.system;
        if (!args.no_daemon && !args.dry_run && args.backend == BACKEND_AUTO && !args.sysroot) {
                sd_bus *bus = NULL;
                _cleanup_free_ char *unreachable = NULL;
                r = connect_daemon(&args.connect, &bus, &unreachable);
                if (r >= 0) {
                        int code = run_with_daemon(bus, &args, run_signal_pipe[0]);
                        sd_bus_flush_close_unref(bus);
                        log_close_file();
                        return code;
                }
                if (explicit_daemon) {
                        log_error("%s", unreachable ? unreachable : "cannot reach memguardd");
                        return POLICY_EXIT_FAILURE;
                }
                log_debug("no memguardd (%s): guarding the job in this process",
                          unreachable ? unreachable : strerror(-r));
        } else if (explicit_daemon && !args.no_daemon) {
                log_error("--dry-run, --backend and --sysroot guard the job in this process: they do not go with "
                          "--socket or --system");
                return POLICY_EXIT_USAGE;
        }
        /* Double-forked and reparented descendants come back to us, so they stay in the job. */
        if (sysroot_is_live(sysroot) && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_warning_errno(errno, "cannot become a child subreaper, orphaned descendants may escape: %m");

        char group[64];
        snprintf(group, sizeof(group), "memguard-%d", (int) getpid());
        struct backend_config bc = {
                .group_name = group,
                .hard_limit_bytes = args.dry_run ? 0 : args.limits.max_bytes,
                .supervisor_pid = sysroot->self_pid,
        };
        struct backend *backend = NULL;
        _cleanup_free_ char *skipped = NULL;
        r = backend_open(sysroot, args.backend, &bc, &backend, &skipped);
        if (r < 0) {
                log_error("cannot use the %s backend: %s", backend_kind_to_string(args.backend),
                          skipped ? skipped : strerror(-r));
                return POLICY_EXIT_FAILURE;
        }
        _cleanup_free_ char *note = NULL;
        if (args.backend == BACKEND_AUTO && skipped) {
                if (asprintf(&note, "using the %s backend; passed over %s", backend_name(backend), skipped) < 0)
                        note = NULL;
                if (backend->ops->kind == BACKEND_PROCFS)
                        log_notice("falling back to the procfs backend (%s): memory is sampled, the kernel does not "
                                   "enforce the limit", skipped);
        }

        struct job *job = NULL;
        r = job_new(args.command, &job);
        if (r < 0) {
                backend_free(backend);
                log_error_errno(r, "cannot set up the job: %m");
                return POLICY_EXIT_FAILURE;
        }

        struct ev_loop *loop = ev_default_loop(EVFLAG_NOENV);
        if (!loop) {
                job_free(job);
                backend_free(backend);
                log_error("cannot set up the event loop");
                return POLICY_EXIT_FAILURE;
        }

        struct run_state st = { .args = &args };
        _cleanup_(guard_freep) struct guard *guard = NULL;
        r = guard_new(loop, sysroot, backend, job, &args.limits, args.dry_run, &guard);
        if (r < 0) {
                job_free(job);
                backend_free(backend);
                log_error_errno(r, "cannot set up the guard: %m");
                return POLICY_EXIT_FAILURE;
        }
        st.guard = guard;
        guard->on_event = run_event;
        guard->userdata = &st;

        ev_io_init(&st.signal_io, run_signal_cb, run_signal_pipe[0], EV_READ);
        st.signal_io.data = &st;
        ev_io_start(loop, &st.signal_io);

        r = guard_spawn(guard);
        if (r < 0) {
                if (r == -ENOENT) {
                        log_error("%s: command not found", args.command[0]);
                        return 127;
                }
                if (r == -EXDEV) {
                        log_error("%s: cannot move the job into its cgroup", args.command[0]);
                        return POLICY_EXIT_FAILURE;
                }
                log_error_errno(r, "%s: cannot run: %m", args.command[0]);
                return r == -EACCES || r == -ENOEXEC || r == -EISDIR ? 126 : POLICY_EXIT_FAILURE;
        }

        ev_run(loop, 0);
        ev_io_stop(loop, &st.signal_io);

        int code = policy_exit_code(&guard->state, guard->wait_status, args.limit_exit_code, args.dry_run);
        struct report_info info = {
                .job = guard->job,
                .backend = backend_name(guard->backend),
                .measures = guard->backend->ops->measures,
                .limits = &guard->limits,
                .state = &guard->state,
                .interval_usec = args.limits.interval_usec,
                .exit_code = code,
                .wait_status = guard->wait_status,
                .dry_run = args.dry_run,
                .note = note,
        };

        if (!args.quiet)
                report_write_text(stderr, &info);
        if (args.log_file) {
                _cleanup_free_ char *reason = report_reason(&info);
                log_info("job ended: %s: %s; exit code %d", report_verdict(&info), reason ? reason : "", code);
        }
        if (args.json && run_write_file(args.json_file ? args.json_file : "-", report_write_json, &info, "JSON report") < 0)
                code = code == 0 ? POLICY_EXIT_FAILURE : code;
        if (args.csv_file && run_write_file(args.csv_file, report_write_csv, &info, "CSV report") < 0)
                code = code == 0 ? POLICY_EXIT_FAILURE : code;
        if (args.timeline_file && run_write_file(args.timeline_file, report_write_timeline, &info, "timeline") < 0)
                code = code == 0 ? POLICY_EXIT_FAILURE : code;

        log_close_file();
        return code;
}
