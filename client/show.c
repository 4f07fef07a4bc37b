/* SPDX-License-Identifier: MIT */
/* memguard show JOB: everything the daemon knows of one job (GetJob), with its latest samples. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "escape.h"
#include "log.h"
#include "units.h"
#include "verbs.h"

#define SHOW_USAGE "memguard show JOB [--json] [--socket PATH | --system]"
#define SHOW_SAMPLES_KEY "LastSamples"


static bool show_ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The samples as (elapsed usec, working set bytes, processes) structs become objects that say so. */
static int show_name_samples(json_t *props) {
        json_t *samples = json_object_get(props, SHOW_SAMPLES_KEY);
        if (!json_is_array(samples))
                return 0;
        _cleanup_json_ json_t *named = json_array();
        if (!named)
                return -ENOMEM;
        size_t i;
        json_t *s;
        json_array_foreach(samples, i, s) {
                if (!json_is_array(s) || json_array_size(s) != 3)
                        return 0;  /* not the shape we know: leave it as the daemon sent it */
                json_t *o = json_pack("{sOsOsO}", "elapsed_usec", json_array_get(s, 0), "working_set_bytes",
                                      json_array_get(s, 1), "processes", json_array_get(s, 2));
                if (!o || json_array_append_new(named, o) < 0)
                        return -ENOMEM;
        }
        return json_object_set(props, SHOW_SAMPLES_KEY, named) < 0 ? -ENOMEM : 0;
}

static const char *show_format(const char *key, json_t *v, char *buf, size_t size) {
        char b[MAX(UNITS_SIZE_MAX, UNITS_DURATION_MAX)];
        if (json_is_integer(v)) {
                json_int_t n = json_integer_value(v);
                if (show_ends_with(key, "Bytes")) {
                        /* A limit of 0 is no limit; a usage of 0 is 0. */
                        if (n == 0 && show_ends_with(key, "LimitBytes"))
                                return "none";
                        snprintf(buf, size, "%s", units_format_size(b, n < 0 ? 0 : (uint64_t) n));
                } else if (show_ends_with(key, "USec")) {
                        snprintf(buf, size, "%s", units_format_duration(b, n < 0 ? 0 : (uint64_t) n));
                } else if (strcmp(key, "StartTime") == 0 && n > 0) {
                        time_t t = (time_t) (n / (json_int_t) USEC_PER_SEC);
                        struct tm tm;
                        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                                snprintf(buf, size, "%lld", (long long) n);
                } else if (strcmp(key, "Pid") == 0 && n == 0) {
                        return "-";
                } else
                        snprintf(buf, size, "%lld", (long long) n);
                return buf;
        }
        if (json_is_real(v) && show_ends_with(key, "Bytes")) {
                /* Beyond INT64_MAX: ctl_json_uint made it a double. */
                double d = json_real_value(v);
                /* (double) UINT64_MAX rounds up to 2^64, which no uint64_t holds. */
                uint64_t n = d >= 18446744073709551615.0 ? UINT64_MAX : d > 0 ? (uint64_t) d : 0;
                snprintf(buf, size, "%s", units_format_size(b, n));
                return buf;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);
                /* Ratios (KillThreshold, WarnAt) as people write them; a warn-at of 0 is none. */
                if (d == 0 && strcmp(key, "WarnAt") == 0)
                        return "off";
                if (d >= 0 && d <= 1)
                        snprintf(buf, size, "%g%%", d * 100);
                else
                        snprintf(buf, size, "%g", d);
                return buf;
        }
        if (json_is_string(v))
                return *json_string_value(v) ? json_string_value(v) : "-";
        if (json_is_boolean(v))
                return json_is_true(v) ? "yes" : "no";
        char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, size, "%s", dump ? dump : "?");
        free(dump);
        return buf;
}

/* GetJob's keys are for programs, with the unit in the name ("GraceUSec", "LimitBytes"); people read
 * "Grace: 10s" and "Limit: 100 MiB": the unit goes (the value says it) and the words part. */
static void show_label(const char *key, char *buf, size_t size) {
        static const struct {
                const char *key, *label;
        } acronyms[] = {
                { "Uid", "UID" },
                { "Pid", "PID" },
        };
        for (size_t i = 0; i < ELEMENTSOF(acronyms); i++)
                if (strcmp(key, acronyms[i].key) == 0) {
                        snprintf(buf, size, "%s", acronyms[i].label);
                        return;
                }
        size_t n = strlen(key);
        static const char *const units[] = { "USec", "Bytes" };
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (show_ends_with(key, units[i]) && n > strlen(units[i])) {
                        n -= strlen(units[i]);
                        break;
                }
        size_t k = 0;
        for (size_t i = 0; i < n && k + 2 < size; i++) {
                bool word = i > 0 && isupper((unsigned char) key[i]) && islower((unsigned char) key[i - 1]);
                if (word)
                        buf[k++] = ' ';
                buf[k++] = word ? (char) tolower((unsigned char) key[i]) : key[i];
        }
        buf[k] = 0;
}

static void show_print_samples(json_t *samples, json_int_t total) {
        size_t n = json_array_size(samples);
        if (n == 0)
                return;
        printf("\nLast %zu of %lld samples:\n", n, (long long) MAX(total, (json_int_t) n));
        printf("%12s  %12s  %9s\n", "ELAPSED", "WORKING SET", "PROCESSES");
        size_t i;
        json_t *s;
        json_array_foreach(samples, i, s) {
                char b1[UNITS_DURATION_MAX], b2[UNITS_SIZE_MAX];
                json_int_t e = json_integer_value(json_object_get(s, "elapsed_usec"));
                json_int_t w = json_integer_value(json_object_get(s, "working_set_bytes"));
                json_int_t p = json_integer_value(json_object_get(s, "processes"));
                printf("%12s  %12s  %9lld\n", units_format_duration(b1, e < 0 ? 0 : (uint64_t) e),
                       units_format_size(b2, w < 0 ? 0 : (uint64_t) w), (long long) p);
        }
}

static void show_print(json_t *props, json_t *keys) {
        int width = 0;
        size_t i;
        json_t *k;
        char label[64];
        json_array_foreach(keys, i, k) {
                show_label(json_string_value(k), label, sizeof(label));
                width = MAX(width, (int) strlen(label) + 1);
        }
        json_t *samples = NULL;
        json_array_foreach(keys, i, k) {
                const char *key = json_string_value(k);
                json_t *v = json_object_get(props, key);
                if (strcmp(key, SHOW_SAMPLES_KEY) == 0 && json_is_array(v) &&
                    (json_array_size(v) == 0 || json_is_object(json_array_get(v, 0)))) {
                        samples = v;
                        continue;
                }
                char buf[256];
                show_label(key, label, sizeof(label));
                printf("%s:%*s ", label, width - (int) strlen(label) - 1, "");
                escape_control_fputs(show_format(key, v, buf, sizeof(buf)), stdout);
                putchar('\n');
        }
        if (samples)
                show_print_samples(samples, json_integer_value(json_object_get(props, "Samples")));
}

/* GetJob's a{sv} as an object, and its keys in the daemon's order for people. */
static int show_read(sd_bus_message *reply, json_t **ret_props, json_t **ret_keys) {
        _cleanup_json_ json_t *props = json_object(), *keys = json_array();
        if (!props || !keys)
                return -ENOMEM;
        int r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                json_t *v = NULL;
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = ctl_read_json(reply, &v);
                if (r >= 0 && json_object_set_new(props, key, v) < 0)
                        r = -ENOMEM;
                if (r >= 0 && json_array_append_new(keys, json_string(key)) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = show_name_samples(props);
        if (r < 0)
                return r;
        *ret_props = TAKE_PTR(props);
        *ret_keys = TAKE_PTR(keys);
        return 0;
}

static int show_exec(const struct ctl_args *a) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        int r = ctl_call(a, &bus, "GetJob", &reply, "t", a->job);
        if (r != 0)
                return r;

        _cleanup_json_ json_t *props = NULL, *keys = NULL;
        r = show_read(reply, &props, &keys);
        if (r < 0) {
                log_error_errno(r, "cannot read the daemon's answer to GetJob: %m");
                return CTL_EXIT_REFUSED;
        }
        if (a->json)
                return ctl_print_json(props);
        show_print(props, keys);
        return ctl_finish_stdout(CTL_EXIT_OK);
}

const struct ctl_verb verb_show = {
        .name = "show",
        .usage = SHOW_USAGE,
        .help = "Shows everything memguardd knows of job JOB (an id from 'memguard status'): owner, state,\n"
                "profile, command, cgroup, backend, limits, current and peak memory, and its latest samples.\n"
                "Only the job's owner and root may see it; a job that ended a moment ago is still shown.\n"
                "\n"
                "      --json         GetJob's dictionary as a JSON object, with the same keys; LastSamples\n"
                "                     as objects of elapsed_usec, working_set_bytes and processes\n"
                CTL_HELP_TRANSPORT
                "\n"
                "Exit status: 0; 1 when the daemon refused (not your job, no such job) or failed; 2 for a\n"
                "usage error; 3 when no daemon answered.\n",
        .options = CTL_OPT_JSON | CTL_OPT_JOB,
        .n_args = 1,
        .exec = show_exec,
};
