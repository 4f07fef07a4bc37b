/* SPDX-License-Identifier: MIT */
/* memguard status: every running job the daemon supervises, as a table or as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "escape.h"
#include "log.h"
#include "units.h"
#include "verbs.h"

#define STATUS_USAGE "memguard status [--json] [--socket PATH | --system]"

struct status_job {
        uint64_t id;
        const char *user;
        uint32_t uid;
        const char *state, *profile, *command;
        uint64_t current, peak, limit;
        const char *path;
        bool visible;             /* ours (or we are root): the daemon gave its command and numbers */
};


static json_t *status_bytes_json(const struct status_job *j, uint64_t v) {
        return j->visible ? ctl_json_uint(v) : json_null();
}

static int status_add_json(json_t *array, const struct status_job *j) {
        json_t *o = json_object();
        if (!o || json_array_append_new(array, o) < 0)
                return -ENOMEM;
        /* json_object_set_new() takes NULL for a failed allocation and returns -1. */
        int r = 0;
        r |= json_object_set_new(o, "id", ctl_json_uint(j->id));
        r |= json_object_set_new(o, "user", json_string(j->user));
        r |= json_object_set_new(o, "uid", json_integer(j->uid));
        r |= json_object_set_new(o, "state", json_string(j->state));
        r |= json_object_set_new(o, "profile", *j->profile ? json_string(j->profile) : json_null());
        r |= json_object_set_new(o, "command", j->visible ? json_string(j->command) : json_null());
        r |= json_object_set_new(o, "current_bytes", status_bytes_json(j, j->current));
        r |= json_object_set_new(o, "peak_bytes", status_bytes_json(j, j->peak));
        r |= json_object_set_new(o, "limit_bytes", status_bytes_json(j, j->limit));
        r |= json_object_set_new(o, "path", json_string(j->path));
        return r < 0 ? -ENOMEM : 0;
}

enum { COL_ID, COL_USER, COL_STATE, COL_CURRENT, COL_PEAK, COL_LIMIT, COL_PROFILE, COL_COMMAND, COL_MAX };

/* One row of cells, each at most this long: a user or profile name, a size, a state. The command
 * is the last column and printed as it is. */
#define STATUS_CELL_MAX 72

struct status_row {
        char cell[COL_MAX - 1][STATUS_CELL_MAX];
        const char *command;
};

static void status_row_fill(struct status_row *row, const struct status_job *j) {
        char b[UNITS_SIZE_MAX];
        snprintf(row->cell[COL_ID], STATUS_CELL_MAX, "%" PRIu64, j->id);
        snprintf(row->cell[COL_USER], STATUS_CELL_MAX, "%s", j->user);
        snprintf(row->cell[COL_STATE], STATUS_CELL_MAX, "%s", j->state);
        snprintf(row->cell[COL_CURRENT], STATUS_CELL_MAX, "%s", j->visible ? units_format_size(b, j->current) : "-");
        snprintf(row->cell[COL_PEAK], STATUS_CELL_MAX, "%s", j->visible ? units_format_size(b, j->peak) : "-");
        snprintf(row->cell[COL_LIMIT], STATUS_CELL_MAX, "%s",
                 !j->visible ? "-" : j->limit == 0 ? "none" : units_format_size(b, j->limit));
        snprintf(row->cell[COL_PROFILE], STATUS_CELL_MAX, "%s", *j->profile ? j->profile : "-");
        row->command = j->visible ? j->command : "-";
}

static void status_print_table(const struct status_row *rows, size_t n) {
        static const char *const header[COL_MAX] = { "ID", "USER", "STATE", "CURRENT", "PEAK", "LIMIT", "PROFILE", "COMMAND" };
        /* Numbers right-aligned, words left-aligned. */
        static const bool right[COL_MAX] = { [COL_ID] = true, [COL_CURRENT] = true, [COL_PEAK] = true, [COL_LIMIT] = true };
        int width[COL_MAX - 1];
        for (int c = 0; c < COL_MAX - 1; c++) {
                width[c] = (int) strlen(header[c]);
                for (size_t i = 0; i < n; i++)
                        width[c] = MAX(width[c], (int) strlen(rows[i].cell[c]));
        }
        for (int c = 0; c < COL_MAX - 1; c++)
                printf("%*s  ", right[c] ? width[c] : -width[c], header[c]);
        printf("%s\n", header[COL_COMMAND]);
        for (size_t i = 0; i < n; i++) {
                for (int c = 0; c < COL_MAX - 1; c++)
                        printf("%*s  ", right[c] ? width[c] : -width[c], rows[i].cell[c]);
                escape_control_fputs(rows[i].command, stdout);
                putchar('\n');
        }
}

static int status_exec(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        int r = ctl_call(a, &bus, "ListJobs", &reply, NULL);
        if (r != 0)
                return r;

        uid_t me = geteuid();
        _cleanup_json_ json_t *array = json_array();
        _cleanup_free_ struct status_row *rows = NULL;
        size_t n = 0;
        if (!array) {
                log_error_errno(ENOMEM, "cannot list the jobs: %m");
                return CTL_EXIT_REFUSED;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(tsusssttto)");
        while (r >= 0) {
                struct status_job j = {};
                r = sd_bus_message_read(reply, "(tsusssttto)", &j.id, &j.user, &j.uid, &j.state, &j.profile, &j.command,
                                        &j.current, &j.peak, &j.limit, &j.path);
                if (r <= 0)
                        break;
                j.visible = me == 0 || me == j.uid;
                if (a->json) {
                        r = status_add_json(array, &j);
                        continue;
                }
                struct status_row *more = realloc(rows, (n + 1) * sizeof(*rows));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                rows = more;
                status_row_fill(&rows[n++], &j);
        }
        if (r < 0) {
                log_error_errno(r, "cannot read the daemon's answer to ListJobs: %m");
                return CTL_EXIT_REFUSED;
        }
        if (a->json)
                return ctl_print_json(array);
        if (n == 0)
                printf("No running jobs.\n");
        else
                status_print_table(rows, n);
        return ctl_finish_stdout(CTL_EXIT_OK);
}

const struct ctl_verb verb_status = {
        .name = "status",
        .usage = STATUS_USAGE,
        .help = "Lists the running jobs memguardd supervises: id, user, state, current and peak memory, limit,\n"
                "profile and command. Everyone sees every job; the command and the numbers only of their own\n"
                "(root: of all).\n"
                "\n"
                "      --json         a JSON array of objects: id, user, uid, state, profile, command,\n"
                "                     current_bytes, peak_bytes, limit_bytes (0: none), path; null for what\n"
                "                     is not yours to see\n"
                CTL_HELP_TRANSPORT
                "\n"
                "Exit status: 0; 1 when the daemon refused or failed; 2 for a usage error; 3 when no daemon\n"
                "answered.\n",
        .options = CTL_OPT_JSON,
        .n_args = 0,
        .exec = status_exec,
};
