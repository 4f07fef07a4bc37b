/* SPDX-License-Identifier: MIT */
/* Where memguard's own messages go: stderr (default), a log file, or the journal. Library code does
 * not call these above debug level; the front ends log once, at the edge. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

#include "macro.h"

enum log_target {
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
        LOG_TARGET_NONE,
};

void log_set_target(enum log_target t);
void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_program(const char *name);   /* prefix on stderr: "memguard: " */

/* Also append every message, timestamped, to this file (memguard run --log-file). -errno. */
int log_open_file(const char *path);
/* Closes it: 0, or -errno when any line could not be written (said on stderr when it happened). */
int log_close_file(void);

/* Returns -abs(error) when error != 0, so "return log_error_errno(r, ...)" reads naturally.
 * %m in format prints strerror(error). */
int log_internal(int level, int error, const char *format, ...) _printf_(3, 4);

/* A structured record: to the journal as fields (MESSAGE_ID and the given NAME=value pairs), elsewhere as
 * the message followed by the fields in brackets, so the same facts can be grepped without journald. */
struct log_field {
        const char *name;   /* "MEMGUARD_JOB": uppercase, digits, '_' */
        char value[256];
};
int log_struct(int level, const char *message_id, const struct log_field *fields, size_t n_fields,
               const char *format, ...) _printf_(5, 6);

/* Is a journald listening? sd_journal_send() succeeds silently without one, so ask the socket. */
int log_journal_available(void);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, ENOMEM, "out of memory")
