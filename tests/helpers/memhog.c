/* SPDX-License-Identifier: MIT */
/* A test job that uses memory on purpose: it allocates and touches memory at a given rate up to a
 * given size, optionally in several children or a double-forked grandchild, then holds it and exits
 * with a chosen code. The integration, VM and benchmark tiers all drive memguard with it.
 *
 *   memhog [--rate MB/s] [--size MB] [--hold SEC] [--children N] [--double-fork]
 *          [--ignore-term] [--exit CODE] [--pidfile FILE] [--go FILE [--pause-at MB]]
 *
 * Children (--children N) each allocate --size MB at --rate; the parent waits for them. With
 * --double-fork the allocating process is a grandchild whose parent exits at once, so it is
 * reparented (to the nearest subreaper); the root itself stays until the grandchild ends. --pidfile
 * writes the allocating pids, one per line.
 *
 * --go FILE makes the test, not the clock, say when to go on: with --pause-at MB the allocation stops
 * at MB until FILE exists (a test can then restart a daemon, or kill a client, while the job is
 * known to be far from its threshold); without it, memhog holds its size until FILE exists (until
 * the test has seen a sample of it), then --hold SEC more. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double arg_rate = 1000;  /* MB/s */
static double arg_size = 100;   /* MB */
static double arg_hold = 0;     /* seconds */
static int arg_children;
static int arg_double_fork;
static int arg_ignore_term;
static int arg_exit;
static const char *arg_pidfile;
static const char *arg_go;
static double arg_pause_at = -1; /* MB; < 0: no pause */

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void note_pid(void) {
        if (!arg_pidfile)
                return;
        FILE *f = fopen(arg_pidfile, "ae");
        if (!f)
                return;
        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
}

/* Until the test creates the --go file; the seconds it took. */
static double wait_go(void) {
        double start = now();
        while (access(arg_go, F_OK) < 0) {
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return now() - start;
}

/* Touch memory chunk by chunk so the rate is what the kernel sees as RSS growth. */
static void hog(void) {
        const size_t chunk = 1 << 20;
        size_t total = (size_t) (arg_size * 1024 * 1024);
        char *p = mmap(NULL, total ? total : chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("memhog: mmap");
                exit(3);
        }
        note_pid();
        double start = now();
        size_t pause_at = arg_go && arg_pause_at >= 0 ? (size_t) (arg_pause_at * 1024 * 1024) : SIZE_MAX;
        for (size_t done = 0; done < total; done += chunk) {
                size_t n = total - done < chunk ? total - done : chunk;
                if (done >= pause_at) {
                        /* The pause does not count against the rate. */
                        start += wait_go();
                        pause_at = SIZE_MAX;
                }
                memset(p + done, 0x5a, n);
                /* Pace: never ahead of rate x elapsed. */
                double due = start + (double) (done + n) / (arg_rate * 1024 * 1024);
                double t = now();
                if (due > t) {
                        struct timespec ts = { .tv_sec = (time_t) (due - t),
                                               .tv_nsec = (long) ((due - t - (double) (time_t) (due - t)) * 1e9) };
                        nanosleep(&ts, NULL);
                }
        }
        if (arg_go && arg_pause_at < 0)
                wait_go();
        if (arg_hold > 0) {
                double end = now() + arg_hold;
                while (now() < end) {
                        struct timespec ts = { 0, 10 * 1000 * 1000 };
                        nanosleep(&ts, NULL);
                }
        }
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "rate", required_argument, NULL, 'r' },     { "size", required_argument, NULL, 's' },
                { "hold", required_argument, NULL, 'h' },     { "children", required_argument, NULL, 'c' },
                { "double-fork", no_argument, NULL, 'd' },    { "ignore-term", no_argument, NULL, 'i' },
                { "exit", required_argument, NULL, 'e' },     { "pidfile", required_argument, NULL, 'p' },
                { "go", required_argument, NULL, 'g' },       { "pause-at", required_argument, NULL, 'a' },
                {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'r': arg_rate = atof(optarg); break;
                case 's': arg_size = atof(optarg); break;
                case 'h': arg_hold = atof(optarg); break;
                case 'c': arg_children = atoi(optarg); break;
                case 'd': arg_double_fork = 1; break;
                case 'i': arg_ignore_term = 1; break;
                case 'e': arg_exit = atoi(optarg); break;
                case 'p': arg_pidfile = optarg; break;
                case 'g': arg_go = optarg; break;
                case 'a': arg_pause_at = atof(optarg); break;
                default: return 2;
                }
        if (arg_rate <= 0) {
                fprintf(stderr, "memhog: --rate must be positive\n");
                return 2;
        }
        if (arg_pause_at >= 0 && !arg_go) {
                fprintf(stderr, "memhog: --pause-at needs --go FILE\n");
                return 2;
        }
        if (arg_ignore_term)
                signal(SIGTERM, SIG_IGN);

        if (arg_double_fork) {
                /* The grandchild holds the write end of this pipe; the root reads until end-of-file, so
                 * it lives exactly as long as the grandchild does, however slow the machine is: a root
                 * that left on a timer could leave before the grandchild reached its size. */
                int alive[2];
                if (pipe(alive) < 0)
                        return 3;
                pid_t p = fork();
                if (p < 0)
                        return 3;
                if (p == 0) {
                        close(alive[0]);
                        if (fork() == 0) {
                                setsid();
                                hog();
                                _exit(arg_exit);
                        }
                        _exit(0);
                }
                close(alive[1]);
                waitpid(p, NULL, 0);
                /* The grandchild is on its own now; keep the root alive while it works, like a
                 * pipeline that daemonised a helper, so the job's tree has both. */
                char byte;
                while (read(alive[0], &byte, 1) < 0 && errno == EINTR)
                        ;
                return arg_exit;
        }

        if (arg_children > 0) {
                for (int i = 0; i < arg_children; i++) {
                        pid_t p = fork();
                        if (p < 0)
                                return 3;
                        if (p == 0) {
                                hog();
                                _exit(0);
                        }
                }
                int failed = 0, st;
                while (wait(&st) > 0)
                        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                                failed = 1;
                return failed ? 4 : arg_exit;
        }

        hog();
        return arg_exit;
}
