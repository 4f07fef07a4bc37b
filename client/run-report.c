/* SPDX-License-Identifier: MIT */
/* memguard run's report files (--json FILE, --csv, --timeline): checked before the job runs, so a typo
 * costs nothing, and written whole or not at all, so a full disk never leaves a truncated report
 * where the last good one was. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "run.h"

/* Can path be written? Tried without truncating anything: a file made for the test is removed. */
static int run_report_check_one(const char *option, const char *path) {
        if (!path || strcmp(path, "-") == 0)
                return 0;
        int r = 0;
        struct stat st;
        if (stat(path, &st) < 0) {
                _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0666);
                if (fd < 0)
                        r = -errno;
                else
                        (void) unlink(path);
        } else if (S_ISDIR(st.st_mode))
                r = -EISDIR;
        else if (S_ISFIFO(st.st_mode)) {
                /* Opening a FIFO for writing waits for a reader: ask for the permission only. */
                if (access(path, W_OK) < 0)
                        r = -errno;
        } else {
                _cleanup_close_ int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (fd < 0)
                        r = -errno;
        }
        if (r < 0)
                return log_error_errno(r, "%s %s: cannot write there: %m", option, path);
        return 0;
}

int run_report_check(const struct run_args *a) {
        int r = 0;
        if (a->json)
                r = run_report_check_one("--json", a->json_file);
        if (r >= 0)
                r = run_report_check_one("--csv", a->csv_file);
        if (r >= 0)
                r = run_report_check_one("--timeline", a->timeline_file);
        return r;
}

/* Runs the writer on f and flushes it: a short write shows as an error here, not as a short file. */
static int run_report_emit(FILE *f, run_report_writer w, const void *data) {
        int r = w(f, data);
        if (fflush(f) != 0 && r >= 0)
                r = -errno;
        if (ferror(f) && r >= 0)
                r = -EIO;
        return r;
}

static int run_report_write_direct(const char *path, run_report_writer w, const void *data) {
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        int r = run_report_emit(f, w, data);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        return r;
}

/* A temporary file beside path, renamed over it once complete. -EXDEV when that cannot be done
 * (the directory is not ours to write): then the caller writes in place. */
static int run_report_write_replace(const char *path, const struct stat *old, run_report_writer w,
                                    const void *data) {
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return errno == EACCES || errno == EPERM || errno == EROFS ? -EXDEV : -errno;
        /* mkostemp makes 0600: give the report what a plain create (or the file it replaces) would have. */
        mode_t mask = umask(0);
        umask(mask);
        (void) fchmod(fd, old ? old->st_mode & 07777 : 0666 & ~mask);
        if (old)
                (void) !fchown(fd, old->st_uid, old->st_gid);
        FILE *f = fdopen(fd, "w");
        if (!f) {
                int r = -errno;
                safe_close(fd);
                (void) unlink(tmp);
                return r;
        }
        int r = run_report_emit(f, w, data);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int run_report_write(const char *path, const char *what, run_report_writer w, const void *data) {
        int r;
        if (strcmp(path, "-") == 0)
                r = run_report_emit(stdout, w, data);
        else {
                struct stat st;
                bool exists = lstat(path, &st) >= 0;
                /* A device, a FIFO or a symlink is written through, never replaced. */
                if (exists && !S_ISREG(st.st_mode))
                        r = run_report_write_direct(path, w, data);
                else {
                        r = run_report_write_replace(path, exists ? &st : NULL, w, data);
                        if (r == -EXDEV)
                                r = run_report_write_direct(path, w, data);
                }
        }
        if (r < 0)
                return log_error_errno(r, "cannot write the %s to %s: %m", what, path);
        return 0;
}

static int run_report_puts(FILE *f, const void *text) {
        return fputs(text, f) < 0 ? -EIO : 0;
}

int run_report_write_text(const char *path, const char *what, const char *text) {
        return run_report_write(path, what, run_report_puts, text);
}
