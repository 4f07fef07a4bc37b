/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

/* Parses a verb's argv. 0 to go on, 1 after printing --help, or -EINVAL after a usage error. */
static int ctl_parse_args(const struct ctl_verb *v, int argc, char **argv, struct ctl_args *a) {
        enum { ARG_JSON = 0x100, ARG_NOW };
        static const struct option all[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "now", no_argument, NULL, ARG_NOW },
                {}
        };
        const char *verb = v->name;
        unsigned options = v->options;
        int want_args = v->n_args;
        *a = (struct ctl_args) {};
        if (connect_parse_args(&argc, argv, &a->connect) < 0)
                return -EINVAL;

        optind = 0;
        opterr = 0;  /* getopt would name the program after the verb: say it ourselves */
        int c;
        while ((c = getopt_long(argc, argv, "h", all, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("Usage: %s\n\n%s", v->usage, v->help);
                        return 1;
                case ARG_JSON:
                        if (!(options & CTL_OPT_JSON)) {
                                optopt = 0;
                                goto unknown;
                        }
                        a->json = true;
                        break;
                case ARG_NOW:
                        if (!(options & CTL_OPT_NOW)) {
                                optopt = 0;
                                goto unknown;
                        }
                        a->now = true;
                        break;
                default:
                unknown:
                        /* A short option may sit in a cluster ("-5G"): name the letter, not its neighbour. */
                        if (optopt > 0 && optopt < 0x100)
                                log_error("unknown option '-%c' (try 'memguard %s --help')", optopt, verb);
                        else
                                log_error("unknown option '%s' (try 'memguard %s --help')", argv[optind - 1], verb);
                        return -EINVAL;
                }
        }
        a->args = argv + optind;
        a->n_args = argc - optind;
        if (a->n_args < want_args) {
                log_error("missing argument (usage: %s)", v->usage);
                return -EINVAL;
        }
        if (a->n_args > want_args) {
                log_error("unexpected argument '%s' (usage: %s)", a->args[want_args], v->usage);
                return -EINVAL;
        }
        if ((options & CTL_OPT_JOB) && ctl_parse_job_id(a->args[0], &a->job) < 0)
                return -EINVAL;
        return 0;
}

int ctl_run(const struct ctl_verb *v, int argc, char **argv) {
        struct ctl_args a;
        int r = ctl_parse_args(v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        return v->exec(&a);
}

int ctl_connect(const struct ctl_args *a, sd_bus **ret) {
        _cleanup_free_ char *tried = NULL;
        int r = connect_daemon(&a->connect, ret, &tried);
        if (r >= 0)
                return 0;
        if (a->connect.system && r == -EHOSTUNREACH)
                log_error("no memguardd on the system bus: nobody owns %s there", CONNECT_NAME);
        else if (a->connect.system)
                log_error_errno(r, "no memguardd on the system bus: cannot connect to it: %m");
        else if (tried)
                log_error("%s", tried);
        else
                log_error_errno(r, "cannot reach memguardd: %m");
        return CTL_EXIT_NO_DAEMON;
}

int ctl_parse_job_id(const char *s, uint64_t *ret) {
        const char *digits = s;
        size_t n = strlen(CONNECT_PATH "/job/");
        if (strncmp(s, CONNECT_PATH "/job/", n) == 0)
                digits = s + n;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(digits, &end, 10);
        /* strtoull takes " 7", "+7" and "-7" (as a huge number): a job id is digits and nothing else. */
        if (*digits < '0' || *digits > '9' || *end || errno || v == 0) {
                log_error("invalid job id '%s': expected a number such as 7, as 'memguard status' lists them", s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int ctl_call_failed(const char *method, int r, const sd_bus_error *err) {
        if (sd_bus_error_is_set(err) && err->message && *err->message)
                log_error("%s", err->message);
        else if (sd_bus_error_is_set(err))
                log_error("%s failed: %s", method, err->name);
        else
                log_error_errno(r, "cannot call %s: %m", method);
        return CTL_EXIT_REFUSED;
}

int ctl_call(const struct ctl_args *a, sd_bus **ret_bus, const char *method, sd_bus_message **reply,
             const char *types, ...) {
        int r = ctl_connect(a, ret_bus);
        if (r != 0)
                return r;
        _cleanup_bus_error_ sd_bus_error err = SD_BUS_ERROR_NULL;
        va_list ap;
        va_start(ap, types);
        r = connect_callv(*ret_bus, method, &err, reply, types, ap);
        va_end(ap);
        return r < 0 ? ctl_call_failed(method, r, &err) : 0;
}

json_t *ctl_json_uint(uint64_t v) {
        /* jansson's integers are signed 64-bit: beyond that (a limit of UINT64_MAX), a double. */
        return v > (uint64_t) INT64_MAX ? json_real((double) v) : json_integer((json_int_t) v);
}

static int ctl_read_basic(sd_bus_message *m, char type, json_t **ret) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
                int h;
        } v;
        int r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        switch (type) {
        case 'y': *ret = json_integer(v.y); break;
        case 'b': *ret = json_boolean(v.b); break;
        case 'n': *ret = json_integer(v.n); break;
        case 'q': *ret = json_integer(v.q); break;
        case 'i': *ret = json_integer(v.i); break;
        case 'u': *ret = json_integer(v.u); break;
        case 'x': *ret = json_integer(v.x); break;
        case 't': *ret = ctl_json_uint(v.t); break;
        case 'd': *ret = json_real(v.d); break;
        case 's':
        case 'o':
        case 'g': *ret = json_string(v.s); break;
        case 'h': *ret = json_integer(v.h); break;
        default: return -EBADMSG;
        }
        return *ret ? 0 : -ENOMEM;
}

int ctl_read_json(sd_bus_message *m, json_t **ret) {
        char type;
        const char *contents;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        if (type != 'a' && type != 'v' && type != 'r')
                return ctl_read_basic(m, type, ret);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *v = NULL;
        if (type == 'v') {
                r = ctl_read_json(m, &v);
        } else if (type == 'a' && contents[0] == '{' && contents[1] == 's') {
                v = json_object();
                if (!v)
                        return -ENOMEM;
                _cleanup_free_ char *entry = strndup(contents + 1, strlen(contents) - 2);
                if (!entry)
                        return -ENOMEM;
                while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                        const char *key;
                        json_t *value = NULL;
                        r = sd_bus_message_read(m, "s", &key);
                        if (r >= 0)
                                r = ctl_read_json(m, &value);
                        if (r >= 0 && json_object_set_new(v, key, value) < 0)
                                r = -ENOMEM;
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
        } else {
                /* An array, or a struct as an array of its members. */
                v = json_array();
                if (!v)
                        return -ENOMEM;
                while ((r = sd_bus_message_at_end(m, false)) == 0) {
                        json_t *item = NULL;
                        r = ctl_read_json(m, &item);
                        if (r >= 0 && json_array_append_new(v, item) < 0)
                                r = -ENOMEM;
                        if (r < 0)
                                return r;
                }
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int ctl_print_json(json_t *v) {
        /* PRESERVE_ORDER: the daemon's order, on jansson versions that do not keep it by themselves;
         * 15 digits: 0.8 rather than 0.80000000000000004. */
        if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) < 0) {
                log_error("cannot write the JSON output");
                return CTL_EXIT_REFUSED;
        }
        putchar('\n');
        return ctl_finish_stdout(CTL_EXIT_OK);
}

int ctl_finish_stdout(int code) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error_errno(errno ? errno : EIO, "cannot write to standard output: %m");
                return code == CTL_EXIT_OK ? CTL_EXIT_REFUSED : code;
        }
        return code;
}
