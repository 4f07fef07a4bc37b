/* SPDX-License-Identifier: MIT */
/* The messages one load collects. Every message reads "FILE:LINE: what is wrong (expected what)";
 * they are listed in file and line order, whichever check found them, and after CONF_ERRORS_MAX only
 * counted. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf-internal.h"
#include "conf.h"
#include "macro.h"

void conf_errors_done(struct conf_errors *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->messages[i]);
        free(e->messages);
        *e = (struct conf_errors) {};
}

void conf_errors_log_init(struct conf_errors_log *log, struct conf_errors *errors) {
        *log = (struct conf_errors_log) {
                .errors = errors,
                .base = errors ? errors->n : 0,
        };
}

void conf_errors_log_done(struct conf_errors_log *log) {
        free(log->order);
        log->order = NULL;
}

/* The message itself, NULL when out of memory. */
_printf_(4, 0) static char *conf_errors_format(const struct conf_errors_log *log, const char *file,
                                               unsigned line, const char *format, va_list ap) {
        _cleanup_free_ char *what = NULL;
        char qfile[CONF_QUOTE_SIZE], *msg;
        int r;

        conf_quote(qfile, file);
        if (log->n == CONF_ERRORS_MAX + 1)
                r = asprintf(&msg, "%s:%u: more than %d errors, the rest are not listed", qfile, line,
                             CONF_ERRORS_MAX);
        else {
                if (vasprintf(&what, format, ap) < 0) {
                        what = NULL;
                        return NULL;
                }
                if (line > 0)
                        r = asprintf(&msg, "%s:%u: %s", qfile, line, what);
                else
                        r = asprintf(&msg, "%s: %s", qfile, what);
        }
        return r < 0 ? NULL : msg;
}

int conf_errors_addv(struct conf_errors_log *log, size_t file_index, const char *file, unsigned line,
                     const char *format, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        struct conf_error_order *o;
        char **m;
        size_t k;

        log->n++;
        if (!log->errors || log->n > CONF_ERRORS_MAX + 1)
                return 0;

        msg = conf_errors_format(log, file, line, format, ap);
        if (!msg)
                return -ENOMEM;

        k = log->errors->n - log->base;
        o = reallocarray(log->order, k + 1, sizeof(struct conf_error_order));
        if (!o)
                return -ENOMEM;
        log->order = o;
        m = reallocarray(log->errors->messages, log->errors->n + 1, sizeof(char *));
        if (!m)
                return -ENOMEM;
        log->errors->messages = m;

        o[k] = (struct conf_error_order) {
                /* The last word comes last, wherever the error was. */
                .file = log->n == CONF_ERRORS_MAX + 1 ? SIZE_MAX : file_index,
                .line = line,
                .seq = log->n,
                .message = msg,
        };
        m[log->errors->n++] = TAKE_PTR(msg);
        return 0;
}

static int conf_errors_compare(const void *a, const void *b) {
        const struct conf_error_order *x = a, *y = b;

        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void conf_errors_sort(struct conf_errors_log *log) {
        size_t n;

        if (!log->errors || log->errors->n <= log->base)
                return;
        n = log->errors->n - log->base;
        qsort(log->order, n, sizeof(struct conf_error_order), conf_errors_compare);
        for (size_t i = 0; i < n; i++)
                log->errors->messages[log->base + i] = log->order[i].message;
}
