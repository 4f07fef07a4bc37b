/* SPDX-License-Identifier: MIT */
/* The benchmark's job: allocates anonymous memory at a steady rate and writes down when it did, so
 * overshoot and reaction time come from the job's own clock, not from the guard's.
 *
 *   fastalloc --log FILE [--rate MB/s] [--size MB] [--chunk MB] [--hold SEC] [--delay SEC] [--thp]
 *
 * Why not tests/helpers/memhog: it cannot say when SIGTERM arrived, it faults 4 KiB pages one by one
 * from user space, and after a slow stretch it catches up with a burst, so its instantaneous rate is
 * not the rate asked for. Here each chunk is faulted in with one MADV_POPULATE_WRITE (memset if the
 * kernel lacks it): the same resident memory without a trip to user space per page. The pace is never
 * faster than --rate and a slow stretch is not made up. --thp marks the region MADV_HUGEPAGE (2 MiB
 * pages); it is off by default: on the VM this was written on, huge faults (synchronous compaction
 * with defrag=madvise, 512 host pages behind each) were slower and far more variable. make bench
 * measures both; docs/benchmarks.md has the last run's rates.
 *
 * The log (CLOCK_MONOTONIC nanoseconds, RSS from /proc/self/statm in KiB), one write(2) per line so
 * it survives SIGKILL and the kernel OOM killer:
 *   start T RSS      allocation begins (after --delay)
 *   c T RSS          after every chunk
 *   term T           SIGTERM arrived (taken at once by a thread waiting for it)
 *   stop T RSS       stopped growing: after the chunk in flight when SIGTERM came; exit 143
 *   done T RSS       reached --size without a signal (then holds)
 * MB here are MiB, as memguard counts them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MIB (1024ULL * 1024ULL)
#define HUGE_ALIGN (2 * MIB)  /* x86-64 THP size: the region starts on it so chunks can be huge (--thp) */

static atomic_int got_term;  /* set after term_ts is written */
static struct timespec term_ts;
static int log_fd = -1;
static int statm_fd = -1;

static uint64_t ts_ns(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * 1000000000ULL + (uint64_t) ts->tv_nsec;
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts_ns(&ts);
}

/* SIGTERM is blocked in the allocating thread and taken by this one, which sits in sigwaitinfo: the
 * arrival time is when the kernel delivered it, not when the allocating thread next left the kernel
 * (a 2 MiB populate can take milliseconds on a slow host). Then it wakes the allocating thread. */
static pthread_t main_thread;

static void *term_waiter(void *arg) {
        sigset_t *set = arg;
        while (sigwaitinfo(set, NULL) < 0)
                ;
        clock_gettime(CLOCK_MONOTONIC, &term_ts);
        got_term = 1;
        pthread_kill(main_thread, SIGUSR1);  /* ends a sleep; the handler does nothing */
        return NULL;
}

static void on_wake(int sig) {
}

static uint64_t rss_kib(void) {
        char buf[128];
        ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        unsigned long long size, resident;
        if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
                return 0;
        return resident * (uint64_t) sysconf(_SC_PAGESIZE) / 1024;
}

static void log_line(const char *tag, uint64_t t, int with_rss) {
        char line[96];
        int n = with_rss ? snprintf(line, sizeof(line), "%s %llu %llu\n", tag, (unsigned long long) t,
                                    (unsigned long long) rss_kib())
                         : snprintf(line, sizeof(line), "%s %llu\n", tag, (unsigned long long) t);
        (void) !write(log_fd, line, (size_t) n);
}

static void sleep_ns(uint64_t ns) {
        struct timespec ts = { .tv_sec = (time_t) (ns / 1000000000ULL), .tv_nsec = (long) (ns % 1000000000ULL) };
        nanosleep(&ts, NULL);  /* EINTR: the caller looks at got_term */
}

static _Noreturn void stop(void) {
        uint64_t t = now_ns();
        log_line("term", ts_ns(&term_ts), 0);
        log_line("stop", t, 1);
        _exit(143);
}

static int have_populate = 1;

static void populate(char *p, size_t n) {
        while (have_populate) {
                if (madvise(p, n, MADV_POPULATE_WRITE) == 0)
                        return;
                if (errno != EINTR)
                        have_populate = 0;  /* EINVAL: a kernel older than 5.14 */
        }
        for (size_t i = 0; i < n; i += 4096)
                p[i] = 0x5a;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "rate", required_argument, NULL, 'r' },  { "size", required_argument, NULL, 's' },
                { "chunk", required_argument, NULL, 'c' }, { "hold", required_argument, NULL, 'h' },
                { "delay", required_argument, NULL, 'd' }, { "log", required_argument, NULL, 'l' },
                { "thp", no_argument, NULL, 'T' },      {}
        };
        double rate = 1000, size = 4000, chunk_mb = 1, hold = 30, delay = 0;
        const char *log_path = NULL;
        int thp = 0, c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'r': rate = atof(optarg); break;
                case 's': size = atof(optarg); break;
                case 'c': chunk_mb = atof(optarg); break;
                case 'h': hold = atof(optarg); break;
                case 'd': delay = atof(optarg); break;
                case 'l': log_path = optarg; break;
                case 'T': thp = 1; break;
                default: return 2;
                }
        if (!log_path || rate <= 0 || size <= 0 || chunk_mb <= 0) {
                fprintf(stderr, "usage: fastalloc --log FILE [--rate MB/s] [--size MB] [--chunk MB] "
                                "[--hold SEC] [--delay SEC] [--thp]\n");
                return 2;
        }

        static sigset_t term_set;
        sigemptyset(&term_set);
        sigaddset(&term_set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &term_set, NULL);
        struct sigaction sa = { .sa_handler = on_wake };  /* no SA_RESTART: a sleep ends at once */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        main_thread = pthread_self();
        pthread_t waiter;
        if (pthread_create(&waiter, NULL, term_waiter, &term_set) != 0) {
                fprintf(stderr, "fastalloc: cannot start a thread\n");
                return 3;
        }

        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (log_fd < 0 || statm_fd < 0) {
                perror("fastalloc: open");
                return 3;
        }

        size_t total = (size_t) (size * MIB) & ~(size_t) 4095;
        size_t chunk = (size_t) (chunk_mb * MIB) & ~(size_t) 4095;
        if (chunk == 0)
                chunk = 4096;
        char *raw = mmap(NULL, total + HUGE_ALIGN, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (raw == MAP_FAILED) {
                perror("fastalloc: mmap");
                return 3;
        }
        char *p = (char *) (((uintptr_t) raw + HUGE_ALIGN - 1) & ~(uintptr_t) (HUGE_ALIGN - 1));
        (void) madvise(p, total, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);

        if (delay > 0) {
                uint64_t end = now_ns() + (uint64_t) (delay * 1e9);
                for (uint64_t t; !got_term && (t = now_ns()) < end;)
                        sleep_ns(end - t);
        }
        if (got_term)
                stop();

        uint64_t start = now_ns(), due = start;
        log_line("start", start, 1);
        for (size_t done = 0; done < total;) {
                size_t n = total - done < chunk ? total - done : chunk;
                populate(p + done, n);
                done += n;
                log_line("c", now_ns(), 1);
                if (got_term)
                        stop();
                /* Pace: never faster than --rate, and no catching up after slow chunks either (a
                 * burst would be a different, faster job): the next chunk is due one chunk-time
                 * after this one was, or now if that has passed. */
                due += (uint64_t) ((double) n / (rate * MIB) * 1e9);
                uint64_t t = now_ns();
                if (due < t)
                        due = t;
                for (; !got_term && (t = now_ns()) < due;)
                        sleep_ns(due - t);
                if (got_term)
                        stop();
        }
        log_line("done", now_ns(), 1);

        uint64_t end = now_ns() + (uint64_t) (hold * 1e9);
        for (uint64_t t; !got_term && (t = now_ns()) < end;)
                sleep_ns(end - t);
        if (got_term)
                stop();
        return 0;
}
