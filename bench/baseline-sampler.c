/* SPDX-License-Identifier: MIT */
/* Baseline 2 for `make bench`: a memwatch-style sampler, written from its description. Every
 * interval it scans all of /proc (every /proc/PID/stat, for the ppid), builds the tree below the
 * command it started, sums the command's and its descendants' resident sizes from /proc/PID/statm,
 * and at kill-threshold x max-memory sends SIGTERM to every process of the tree, SIGKILL after the
 * grace, and exits 10. No cgroup, no subreaper, no pidfd: what a simple sampler does.
 *
 *   baseline-sampler [--max-memory MB] [--interval-ms MS] [--kill-threshold RATIO] [--grace SEC]
 *                    [--report FILE] -- COMMAND [ARGS...]
 *
 * Defaults: 500 ms, 0.8, 10 s. --report FILE gets "samples N", "max_total_rss_kib K", "killed 0|1".
 * The first sample is taken at once, the next ones on a fixed absolute schedule. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct link {
        pid_t pid, ppid;
};

static struct link *links;
static size_t n_links, cap_links;
static pid_t *tree;
static size_t n_tree, cap_tree;

static int read_file(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = 0;
        return 0;
}

/* Every process on the host: pid and ppid from /proc/PID/stat (the ppid follows the last ')'). */
static void scan_proc(void) {
        DIR *d = opendir("/proc");
        n_links = 0;
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0)
                        continue;
                char path[64], buf[1024];
                snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
                if (read_file(path, buf, sizeof(buf)) < 0)
                        continue;
                char *rp = strrchr(buf, ')');
                char state;
                int ppid;
                if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
                        continue;
                if (n_links == cap_links) {
                        cap_links = cap_links ? 2 * cap_links : 1024;
                        links = realloc(links, cap_links * sizeof(*links));
                        if (!links)
                                abort();
                }
                links[n_links++] = (struct link) { (pid_t) pid, (pid_t) ppid };
        }
        closedir(d);
}

static void tree_add(pid_t pid) {
        if (n_tree == cap_tree) {
                cap_tree = cap_tree ? 2 * cap_tree : 256;
                tree = realloc(tree, cap_tree * sizeof(*tree));
                if (!tree)
                        abort();
        }
        tree[n_tree++] = pid;
}

/* The root and its descendants, breadth first (quadratic, as simple samplers are). */
static void build_tree(pid_t root) {
        n_tree = 0;
        tree_add(root);
        for (size_t head = 0; head < n_tree; head++)
                for (size_t i = 0; i < n_links; i++)
                        if (links[i].ppid == tree[head] && links[i].pid != root)
                                tree_add(links[i].pid);
}

static uint64_t tree_rss_kib(void) {
        static long page_kib;
        if (!page_kib)
                page_kib = sysconf(_SC_PAGESIZE) / 1024;
        uint64_t sum = 0;
        for (size_t i = 0; i < n_tree; i++) {
                char path[64], buf[256];
                unsigned long long size, resident;
                snprintf(path, sizeof(path), "/proc/%d/statm", (int) tree[i]);
                if (read_file(path, buf, sizeof(buf)) < 0 || sscanf(buf, "%llu %llu", &size, &resident) != 2)
                        continue;
                sum += resident * (uint64_t) page_kib;
        }
        return sum;
}

static void signal_tree(int sig) {
        for (size_t i = 0; i < n_tree; i++)
                (void) kill(tree[i], sig);
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
        struct timespec ts = { .tv_sec = (time_t) (t / 1000000000ULL), .tv_nsec = (long) (t % 1000000000ULL) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

static int exit_status(int st) {
        return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "max-memory", required_argument, NULL, 'm' },     { "interval-ms", required_argument, NULL, 'i' },
                { "kill-threshold", required_argument, NULL, 't' }, { "grace", required_argument, NULL, 'g' },
                { "report", required_argument, NULL, 'r' },         {}
        };
        double max_mb = 0, interval_ms = 500, ratio = 0.8, grace = 10;
        const char *report = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0)
                switch (c) {
                case 'm': max_mb = atof(optarg); break;
                case 'i': interval_ms = atof(optarg); break;
                case 't': ratio = atof(optarg); break;
                case 'g': grace = atof(optarg); break;
                case 'r': report = optarg; break;
                default: return 2;
                }
        if (optind >= argc || interval_ms <= 0) {
                fprintf(stderr, "usage: baseline-sampler [--max-memory MB] [--interval-ms MS] "
                                "[--kill-threshold RATIO] [--grace SEC] [--report FILE] -- COMMAND...\n");
                return 2;
        }

        pid_t child = fork();
        if (child < 0)
                return 1;
        if (child == 0) {
                execvp(argv[optind], argv + optind);
                _exit(errno == ENOENT ? 127 : 126);
        }

        uint64_t threshold_kib = (uint64_t) (max_mb * ratio * 1024);
        uint64_t period = (uint64_t) (interval_ms * 1e6), next = now_ns(), kill_at = 0;
        uint64_t samples = 0, max_kib = 0;
        int killed = 0, st = 0;
        for (;;) {
                pid_t w = waitpid(child, &st, WNOHANG);
                if (w == child)
                        break;
                scan_proc();
                build_tree(child);
                uint64_t kib = tree_rss_kib();
                samples++;
                if (kib > max_kib)
                        max_kib = kib;
                if (!killed && max_mb > 0 && kib >= threshold_kib) {
                        fprintf(stderr, "baseline-sampler: MEMORY THRESHOLD EXCEEDED: %llu MiB >= %llu MiB\n",
                                (unsigned long long) (kib / 1024), (unsigned long long) (threshold_kib / 1024));
                        signal_tree(SIGTERM);
                        killed = 1;
                        kill_at = now_ns() + (uint64_t) (grace * 1e9);
                } else if (killed && now_ns() >= kill_at)
                        signal_tree(SIGKILL);
                next += period;
                uint64_t t = now_ns();
                if (next < t)
                        next = t;  /* a sample took longer than the interval: do not catch up */
                sleep_until(next);
        }

        if (report) {
                FILE *f = fopen(report, "we");
                if (f) {
                        fprintf(f, "samples %llu\nmax_total_rss_kib %llu\nkilled %d\n", (unsigned long long) samples,
                                (unsigned long long) max_kib, killed);
                        fclose(f);
                }
        }
        return killed ? 10 : exit_status(st);
}
