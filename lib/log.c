/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "escape.h"
#include "log.h"

/* One message, before escaping. */
#define LOG_LINE_MAX 2048

static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;
static const char *log_program = "memguard";
static FILE *log_file;
static char *log_file_path;
static int log_file_error;       /* the first failed write to the log file, as a positive errno */

void log_set_target(enum log_target t) {
        log_target = t;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_program(const char *name) {
        log_program = name;
}

int log_open_file(const char *path) {
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        FILE *f = fopen(path, "ae");
        if (!f) {
                int r = -errno;
                free(p);
                return r;
        }
        /* Line-buffered: "tail -f" on the log must show each line as it happens. */
        setvbuf(f, NULL, _IOLBF, 0);
        (void) log_close_file();
        log_file = f;
        log_file_path = p;
        return 0;
}

/* A log file that cannot be written (a full disk) is said once on stderr, whatever the level: the
 * log itself is where it would otherwise have gone. */
static void log_file_failed(int error) {
        if (log_file_error)
                return;
        log_file_error = error ? error : EIO;
        fprintf(stderr, "%s: error: cannot write to the log file %s: %s\n", log_program, log_file_path,
                strerror(log_file_error));
}

int log_close_file(void) {
        if (!log_file)
                return 0;
        if (fclose(log_file) != 0)
                log_file_failed(errno);
        log_file = NULL;
        free(log_file_path);
        log_file_path = NULL;
        int r = -log_file_error;
        log_file_error = 0;
        return r;
}

static const char *log_level_prefix(int level) {
        switch (level) {
        case LOG_EMERG:
        case LOG_ALERT:
        case LOG_CRIT:
        case LOG_ERR:
                return "error: ";
        case LOG_WARNING:
                return "warning: ";
        default:
                return "";
        }
}

/* Writes one finished line to the target (when to_target) and to the log file. */
static void log_write(int level, const char *raw, bool to_target) {
        /* The log file keeps the story even under --quiet, but not the debug chatter. */
        bool to_file = log_file && level <= MAX(log_max_level, LOG_INFO);
        /* A message may carry a user's text (a command line): one message stays one line, so nobody
         * forges the next. The journal keeps it as it is, in its own field. */
        char msg[LOG_LINE_MAX * 4];
        escape_control(raw, msg, sizeof(msg));

        if (to_target && level <= log_max_level) {
                if (log_target == LOG_TARGET_STDERR)
                        fprintf(stderr, "%s: %s%s\n", log_program, log_level_prefix(level), msg);
                else if (log_target == LOG_TARGET_JOURNAL)
                        sd_journal_send("MESSAGE=%s", raw, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s", log_program,
                                        NULL);
        }
        if (to_file) {
                char ts[32];
                time_t t = time(NULL);
                struct tm tm;
                strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
                if (fprintf(log_file, "[%s] %s%s\n", ts, log_level_prefix(level), msg) < 0 || ferror(log_file))
                        log_file_failed(errno);
        }
}

int log_internal(int level, int error, const char *format, ...) {
        int saved = errno;
        if (error < 0)
                error = -error;

        if (level <= log_max_level || log_file) {
                char msg[LOG_LINE_MAX];
                va_list ap;
                va_start(ap, format);
                /* %m must name the error we were given, not whatever errno happens to hold. */
                errno = error;
                vsnprintf(msg, sizeof(msg), format, ap);
                va_end(ap);
                log_write(level, msg, true);
        }
        errno = saved;
        return -error;
}

int log_journal_available(void) {
        return access("/run/systemd/journal/socket", W_OK) == 0;
}

int log_struct(int level, const char *message_id, const struct log_field *fields, size_t n_fields,
               const char *format, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        if (level > log_max_level && !log_file)
                return 0;

        if (log_target == LOG_TARGET_JOURNAL && level <= log_max_level) {
                /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID and the fields. */
                size_t n = 4 + n_fields;
                struct iovec iov[n];
                char *strings[n];
                size_t k = 0;
                int ok = 1;
                ok &= asprintf(&strings[k++], "MESSAGE=%s", msg) >= 0;
                ok &= asprintf(&strings[k++], "PRIORITY=%d", level) >= 0;
                ok &= asprintf(&strings[k++], "SYSLOG_IDENTIFIER=%s", log_program) >= 0;
                ok &= asprintf(&strings[k++], "MESSAGE_ID=%s", message_id) >= 0;
                for (size_t i = 0; i < n_fields; i++)
                        ok &= asprintf(&strings[k++], "%s=%s", fields[i].name, fields[i].value) >= 0;
                if (ok) {
                        for (size_t i = 0; i < k; i++)
                                iov[i] = (struct iovec) { .iov_base = strings[i], .iov_len = strlen(strings[i]) };
                        sd_journal_sendv(iov, (int) k);
                }
                for (size_t i = 0; i < k; i++)
                        free(strings[i]);
                if (!log_file)
                        return 0;
        }

        char line[4096];
        size_t len = (size_t) snprintf(line, sizeof(line), "%s [MESSAGE_ID=%s", msg, message_id);
        for (size_t i = 0; i < n_fields && len < sizeof(line); i++)
                len += (size_t) snprintf(line + len, sizeof(line) - len, " %s=%s", fields[i].name, fields[i].value);
        if (len < sizeof(line))
                snprintf(line + len, sizeof(line) - len, "]");
        /* Already in the journal as fields: then only the file gets the line. */
        log_write(level, line, log_target != LOG_TARGET_JOURNAL);
        return 0;
}
