/* SPDX-License-Identifier: MIT */
/* The configuration loader (lib/conf.h), through its public entry points only: the input as one file's
 * text, and split at lines "#---" into memguard.conf and its conf.d drop-ins, loaded from disk the way
 * memguardd loads them. Every error must name its file; a configuration that loads must dump to text
 * that loads again and dumps the same (the promise of conf_dump). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "macro.h"

#define FUZZ_CONF_RAM (UINT64_C(16) << 30)
#define FUZZ_CONF_DROPINS_MAX 8
#define FUZZ_CONF_SEPARATOR "#---\n"

/* In memory when the system has a tmpfs there: on a busy disk, creating and truncating files each run
 * waits for the journal and the fuzzer runs a hundred times slower. */
static char fuzz_conf_dir[] = "/dev/shm/fuzz-conf-XXXXXX";
static char fuzz_conf_main[sizeof(fuzz_conf_dir) + 32];
static char fuzz_conf_dropins[sizeof(fuzz_conf_dir) + 32];

static void fuzz_conf_cleanup(void) {
        char p[sizeof(fuzz_conf_dropins) + 32];
        for (int i = 0; i < FUZZ_CONF_DROPINS_MAX; i++) {
                snprintf(p, sizeof(p), "%s/%02d.conf", fuzz_conf_dropins, i);
                (void) unlink(p);
        }
        (void) rmdir(fuzz_conf_dropins);
        (void) unlink(fuzz_conf_main);
        (void) rmdir(fuzz_conf_dir);
}

static int fuzz_conf_setup(void) {
        static int done;
        if (done)
                return done;
        done = -1;
        if (!mkdtemp(fuzz_conf_dir)) {
                memcpy(fuzz_conf_dir, "/tmp/fuzz-conf-XXXXXX", sizeof("/tmp/fuzz-conf-XXXXXX"));
                if (!mkdtemp(fuzz_conf_dir))
                        return done;
        }
        snprintf(fuzz_conf_main, sizeof(fuzz_conf_main), "%s/memguard.conf", fuzz_conf_dir);
        snprintf(fuzz_conf_dropins, sizeof(fuzz_conf_dropins), "%s/conf.d", fuzz_conf_dir);
        if (mkdir(fuzz_conf_dropins, 0700) < 0)
                return done;
        atexit(fuzz_conf_cleanup);
        return done = 1;
}

static void fuzz_conf_write(const char *path, const char *text, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        fuzz_assert(fd >= 0);
        fuzz_assert(write(fd, text, len) == (ssize_t) len);
        close(fd);
}

/* Each message names a file given to the loader, as "FILE:LINE: ..." or "FILE: ...". */
static void fuzz_conf_check_errors(const struct conf_errors *e, const char *a, const char *b) {
        for (size_t i = 0; i < e->n; i++) {
                const char *m = e->messages[i];
                bool named = (strncmp(m, a, strlen(a)) == 0 && m[strlen(a)] == ':') ||
                             (b && strncmp(m, b, strlen(b)) == 0);
                if (!named)
                        fprintf(stderr, "unplaced message: %s\n", m);
                fuzz_assert(named);
        }
        fuzz_assert(e->n <= CONF_ERRORS_MAX + 1);
}

/* dump -> load -> dump is a fixed point. */
static void fuzz_conf_round_trip(const struct conf *c) {
        _cleanup_free_ char *text = NULL, *again = NULL;
        size_t n = 0, n_again = 0;
        FILE *f = open_memstream(&text, &n);
        fuzz_assert(f);
        fuzz_assert(conf_dump(f, c) == 0);
        fuzz_assert(fclose(f) == 0);

        _cleanup_(conf_freep) struct conf *c2 = NULL;
        struct conf_errors e = {};
        int r = conf_load_string(text, "dumped.conf", FUZZ_CONF_RAM, &c2, &e);
        if (r < 0) {
                fprintf(stderr, "the dump does not load:\n%s\n", text);
                for (size_t i = 0; i < e.n; i++)
                        fprintf(stderr, "%s\n", e.messages[i]);
        }
        conf_errors_done(&e);
        fuzz_assert(r == 0);

        f = open_memstream(&again, &n_again);
        fuzz_assert(f);
        fuzz_assert(conf_dump(f, c2) == 0);
        fuzz_assert(fclose(f) == 0);
        /* Comments tell where each section came from, which differs by design ("# built in" becomes
         * "# from dumped.conf:14"): the settings must not. */
        const char *p = text, *q = again;
        for (;;) {
                while (p && *p == '#')
                        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
                while (q && *q == '#')
                        q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL;
                if (!p || !*p || !q || !*q)
                        break;
                const char *pe = strchrnul(p, '\n'), *qe = strchrnul(q, '\n');
                if (pe - p != qe - q || memcmp(p, q, (size_t) (pe - p)) != 0) {
                        fprintf(stderr, "the dump changes when loaded again:\n%s\n---\n%s\n", text, again);
                        fuzz_assert(!"the dump is a fixed point");
                }
                p = *pe ? pe + 1 : NULL;
                q = *qe ? qe + 1 : NULL;
        }
        fuzz_assert((!p || !*p) && (!q || !*q));

        /* The lookups on a loaded configuration. */
        fuzz_assert(conf_match(c, 1000, 1000, "python3 train.py", "/user.slice/job") != NULL);
        fuzz_assert(conf_match(c, 0, 0, NULL, NULL) != NULL);
        fuzz_assert(conf_profile(c, c->daemon.default_profile) != NULL);
        (void) conf_match_watch(c, "/system.slice/slurmstepd.scope/job_1");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_text(data, size);
        if (!s)
                return 0;

        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors e = {};
        int r = conf_load_string(s, "fuzz.conf", FUZZ_CONF_RAM, &c, &e);
        fuzz_assert(r == 0 || r == -EINVAL);
        fuzz_assert((r == 0) == (e.n == 0));
        fuzz_conf_check_errors(&e, "fuzz.conf", NULL);
        conf_errors_done(&e);
        if (r == 0)
                fuzz_conf_round_trip(c);

        if (fuzz_conf_setup() < 0)
                return 0;
        /* The pieces: the main file, then the drop-ins 00.conf, 01.conf, ... (absent ones removed). */
        const char *p = s;
        for (int i = -1; i < FUZZ_CONF_DROPINS_MAX; i++) {
                char path[sizeof(fuzz_conf_dropins) + 32];
                if (i < 0)
                        snprintf(path, sizeof(path), "%s", fuzz_conf_main);
                else
                        snprintf(path, sizeof(path), "%s/%02d.conf", fuzz_conf_dropins, i);
                if (!p) {
                        (void) unlink(path);
                        continue;
                }
                const char *sep = strstr(p, "\n" FUZZ_CONF_SEPARATOR);
                size_t len = sep ? (size_t) (sep - p) + 1 : strlen(p);
                fuzz_conf_write(path, p, len);
                p = sep ? sep + 1 + strlen(FUZZ_CONF_SEPARATOR) : NULL;
        }
        _cleanup_(conf_freep) struct conf *cf = NULL;
        r = conf_load(fuzz_conf_main, fuzz_conf_dropins, FUZZ_CONF_RAM, &cf, &e);
        fuzz_assert(r == 0 || r == -EINVAL);
        fuzz_assert((r == 0) == (e.n == 0));
        fuzz_conf_check_errors(&e, fuzz_conf_main, fuzz_conf_dropins);
        conf_errors_done(&e);
        if (r == 0)
                fuzz_conf_round_trip(cf);
        return 0;
}
