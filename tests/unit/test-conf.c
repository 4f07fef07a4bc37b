/* SPDX-License-Identifier: MIT */
/* The configuration loader: every key read good and bad (table-driven), every error with its exact
 * "FILE:LINE: ..." text, many errors from one load, drop-in order, a dump that loads back to the same
 * configuration, rule matching, and golden files: tests/fixtures/conf/good-*.conf against good-*.out
 * (conf_dump) and bad-*.conf against bad-*.err (one message a line); a NAME.d directory next to a
 * fixture is its drop-in directory. MEMGUARD_UPDATE_GOLDEN=1 rewrites the .out and .err files instead of
 * comparing: review the diff before committing it. The shipped conf/memguard.conf and conf/conf.d
 * must load, and every daemon and profile key must be documented there with its real default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "conf-internal.h"
#include "conf.h"
#include "file.h"
#include "macro.h"

/* "80%" is taken of this: 8 GiB, so percentages give round numbers. */
#define RAM (8 * GIB)

#define CONF_FIXTURES FIXTURES "/conf"
/* The shipped files, found from the fixtures so that out-of-tree builds find them too. */
#define SHIPPED_CONF FIXTURES "/../../conf/memguard.conf"
#define SHIPPED_DROPINS FIXTURES "/../../conf/conf.d"

static bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* All messages, one a line, so a failed comparison shows the whole list. */
static char *errors_join(const struct conf_errors *e) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        assert_non_null(f);
        for (size_t i = 0; i < e->n; i++)
                fprintf(f, "%s\n", e->messages[i]);
        assert_int_equal(fclose(f), 0);
        return s;
}

static char *dump_string(const struct conf *c) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        assert_non_null(f);
        assert_int_equal(conf_dump(f, c), 0);
        assert_int_equal(fclose(f), 0);
        return s;
}

static struct conf *load_good(const char *text) {
        struct conf_errors e = {};
        struct conf *c = NULL;
        _cleanup_free_ char *joined = NULL;
        int r;

        r = conf_load_string(text, "t.conf", RAM, &c, &e);
        joined = errors_join(&e);
        assert_string_equal(joined, "");
        assert_int_equal(r, 0);
        assert_non_null(c);
        conf_errors_done(&e);
        return c;
}

/* Loads text that must fail and compares the messages, one a line. */
static void check_errors(const char *text, const char *expected) {
        struct conf_errors e = {};
        struct conf *c = (struct conf *) 0x1; /* must stay untouched */
        _cleanup_free_ char *joined = NULL;
        int r;

        r = conf_load_string(text, "t.conf", RAM, &c, &e);
        joined = errors_join(&e);
        assert_string_equal(joined, expected);
        assert_int_equal(r, -EINVAL);
        assert_ptr_equal(c, (struct conf *) 0x1);
        conf_errors_done(&e);
}

static void profile_equal(const struct conf_profile *a, const struct conf_profile *b) {
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->max_memory, b->max_memory);
        assert_int_equal(a->max_process_memory, b->max_process_memory);
        assert_true(a->kill_threshold == b->kill_threshold);
        assert_true(a->warn_at == b->warn_at);
        assert_int_equal(a->grace_usec, b->grace_usec);
        assert_int_equal(a->interval_usec, b->interval_usec);
        assert_int_equal(a->log_every_usec, b->log_every_usec);
        assert_int_equal(a->warn_every_usec, b->warn_every_usec);
        assert_int_equal(a->spike_rate_bytes_per_sec, b->spike_rate_bytes_per_sec);
        assert_int_equal(a->action, b->action);
        assert_true(streq_ptr(a->pre_kill_hook, b->pre_kill_hook));
        assert_true(streq_ptr(a->post_kill_hook, b->post_kill_hook));
        assert_int_equal(a->hook_timeout_usec, b->hook_timeout_usec);
}

/* Every setting, not where it came from. */
static void conf_equal(const struct conf *a, const struct conf *b) {
        assert_int_equal(a->daemon.interval_usec, b->daemon.interval_usec);
        assert_string_equal(a->daemon.socket_path, b->daemon.socket_path);
        assert_string_equal(a->daemon.state_dir, b->daemon.state_dir);
        assert_int_equal(a->daemon.log_level, b->daemon.log_level);
        assert_int_equal(a->daemon.host_reserve_bytes, b->daemon.host_reserve_bytes);
        assert_string_equal(a->daemon.default_profile, b->daemon.default_profile);
        assert_string_equal(a->daemon.cgroup_parent, b->daemon.cgroup_parent);

        assert_int_equal(a->n_profiles, b->n_profiles);
        for (size_t i = 0; i < a->n_profiles; i++)
                profile_equal(&a->profiles[i], &b->profiles[i]);

        assert_int_equal(a->n_rules, b->n_rules);
        for (size_t i = 0; i < a->n_rules; i++) {
                assert_string_equal(a->rules[i].name, b->rules[i].name);
                assert_string_equal(a->rules[i].profile, b->rules[i].profile);
                assert_int_equal(a->rules[i].uid, b->rules[i].uid);
                assert_int_equal(a->rules[i].gid, b->rules[i].gid);
                assert_true(streq_ptr(a->rules[i].command, b->rules[i].command));
                assert_true(streq_ptr(a->rules[i].cgroup, b->rules[i].cgroup));
        }

        assert_int_equal(a->n_watches, b->n_watches);
        for (size_t i = 0; i < a->n_watches; i++) {
                assert_string_equal(a->watches[i].name, b->watches[i].name);
                assert_string_equal(a->watches[i].cgroup, b->watches[i].cgroup);
                assert_string_equal(a->watches[i].profile, b->watches[i].profile);
        }
}

/* Drops the "# from FILE:LINE" and "# built in" lines: after a reload everything is from the dump. */
static void strip_origins(char *s) {
        char *out = s;

        for (const char *l = s; *l;) {
                size_t n = strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n');

                if (strncmp(l, "# from ", 7) != 0 && strncmp(l, "# built in\n", 11) != 0) {
                        memmove(out, l, n);
                        out += n;
                }
                l += n;
        }
        *out = 0;
}

/* Dump, load the dump, compare; and the second dump is the first but for the "# from" lines. */
static void check_dump_reloads(const struct conf *c) {
        _cleanup_free_ char *dump = dump_string(c), *dump2 = NULL;
        _cleanup_(conf_freep) struct conf *again = NULL;

        again = load_good(dump);
        conf_equal(c, again);

        dump2 = dump_string(again);
        strip_origins(dump);
        strip_origins(dump2);
        assert_string_equal(dump, dump2);
}

static void test_defaults(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL, *d = NULL;
        const struct conf_profile *p;

        assert_int_equal(conf_new_default(&c), 0);
        assert_int_equal(c->daemon.interval_usec, USEC_PER_SEC);
        assert_string_equal(c->daemon.socket_path, "/run/memguard/memguardd.sock");
        assert_string_equal(c->daemon.state_dir, "/var/lib/memguard");
        assert_int_equal(c->daemon.log_level, LOG_INFO);
        assert_int_equal(c->daemon.host_reserve_bytes, 0);
        assert_string_equal(c->daemon.default_profile, "default");
        assert_string_equal(c->daemon.cgroup_parent, "");
        assert_int_equal(c->n_rules, 0);
        assert_int_equal(c->n_watches, 0);

        assert_int_equal(c->n_profiles, 1);
        p = conf_profile(c, "default");
        assert_ptr_equal(p, &c->profiles[0]);
        assert_int_equal(p->max_memory, 0);
        assert_int_equal(p->max_process_memory, 0);
        assert_true(p->kill_threshold == 0.8);
        assert_true(p->warn_at == 0);
        assert_int_equal(p->grace_usec, 10 * USEC_PER_SEC);
        assert_int_equal(p->interval_usec, 0);
        assert_int_equal(p->log_every_usec, 0);
        assert_int_equal(p->warn_every_usec, 30 * USEC_PER_SEC);
        assert_int_equal(p->spike_rate_bytes_per_sec, 0);
        assert_int_equal(p->action, CONF_ACTION_KILL);
        assert_null(p->pre_kill_hook);
        assert_null(p->post_kill_hook);
        assert_int_equal(p->hook_timeout_usec, 5 * USEC_PER_SEC);
        assert_null(p->file);
        assert_null(conf_profile(c, "nope"));
        assert_ptr_equal(conf_match(c, 0, 0, "x", "/x"), p);
        assert_null(conf_match_watch(c, "/x"));

        /* An empty file and a file of comments are the built-in configuration. */
        d = load_good("");
        conf_equal(c, d);
        d = conf_free(d);
        d = load_good("# nothing\n;\n\n   \n");
        conf_equal(c, d);

        assert_null(conf_free(NULL));
        conf_errors_done(NULL);
        assert_string_equal(conf_action_to_string(CONF_ACTION_KILL), "kill");
        assert_string_equal(conf_action_to_string(CONF_ACTION_FREEZE), "freeze");
        assert_null(conf_action_to_string(_CONF_ACTION_MAX));
}

enum field {
        F_U64,
        F_DOUBLE,
        F_INT,
        F_STR,
        F_UID,
        F_GID,
};

struct good_case {
        const char *section;            /* "daemon", "profile", "rule", "watch" */
        const char *key;
        const char *value;
        const char *extra;              /* more lines after the key, for cross-checks */
        size_t offset;
        enum field field;
        uint64_t u;
        double d;
        const char *s;
};

#define D(k, v, f, t, ...) { "daemon", k, v, NULL, offsetof(struct conf_daemon, f), t, __VA_ARGS__ }
#define DX(k, v, x, f, t, ...) { "daemon", k, v, x, offsetof(struct conf_daemon, f), t, __VA_ARGS__ }
#define P(k, v, f, t, ...) { "profile", k, v, NULL, offsetof(struct conf_profile, f), t, __VA_ARGS__ }
#define PX(k, v, x, f, t, ...) { "profile", k, v, x, offsetof(struct conf_profile, f), t, __VA_ARGS__ }
#define R(k, v, f, t, ...) { "rule", k, v, NULL, offsetof(struct conf_rule, f), t, __VA_ARGS__ }
#define W(k, v, f, t, ...) { "watch", k, v, NULL, offsetof(struct conf_watch, f), t, __VA_ARGS__ }

static const struct good_case good_cases[] = {
        D("interval", "2", interval_usec, F_U64, .u = 2 * USEC_PER_SEC),
        D("interval", "500ms", interval_usec, F_U64, .u = 500 * USEC_PER_MSEC),
        D("interval", "1ms", interval_usec, F_U64, .u = USEC_PER_MSEC),
        D("interval", "1h30min", interval_usec, F_U64, .u = 5400 * USEC_PER_SEC),
        D("interval", "adaptive", interval_usec, F_U64, .u = 0),
        D("socket", "/run/x.sock", socket_path, F_STR, .s = "/run/x.sock"),
        D("socket", "/" "123456789012345678901234567890123456789012345678901234567890"
                    "1234567890123456789012345678901234567890123456", socket_path, F_STR,
          .s = "/" "123456789012345678901234567890123456789012345678901234567890"
               "1234567890123456789012345678901234567890123456"),
        D("state-dir", "/srv/mg", state_dir, F_STR, .s = "/srv/mg"),
        D("log-level", "err", log_level, F_INT, .u = LOG_ERR),
        D("log-level", "warning", log_level, F_INT, .u = LOG_WARNING),
        D("log-level", "notice", log_level, F_INT, .u = LOG_NOTICE),
        D("log-level", "info", log_level, F_INT, .u = LOG_INFO),
        D("log-level", "debug", log_level, F_INT, .u = LOG_DEBUG),
        D("host-reserve", "512M", host_reserve_bytes, F_U64, .u = 512 * MIB),
        D("host-reserve", "4000", host_reserve_bytes, F_U64, .u = 4000 * MIB),
        D("host-reserve", "10%", host_reserve_bytes, F_U64, .u = 858993459),
        D("host-reserve", "off", host_reserve_bytes, F_U64, .u = 0),
        D("host-reserve", "99%", host_reserve_bytes, F_U64, .u = 8504035246),
        D("default-profile", "default", default_profile, F_STR, .s = "default"),
        DX("default-profile", "big", "[profile big]", default_profile, F_STR, .s = "big"),
        D("cgroup-parent", "/memguard.slice", cgroup_parent, F_STR, .s = "/memguard.slice"),
        D("cgroup-parent", "/a.slice/b.slice", cgroup_parent, F_STR, .s = "/a.slice/b.slice"),
        D("cgroup-parent", "/", cgroup_parent, F_STR, .s = "/"),
        D("cgroup-parent", "", cgroup_parent, F_STR, .s = ""),

        P("max-memory", "8G", max_memory, F_U64, .u = 8 * GIB),
        P("max-memory", "4000", max_memory, F_U64, .u = 4000 * MIB),
        P("max-memory", "1.5G", max_memory, F_U64, .u = GIB + GIB / 2),
        P("max-memory", "80%", max_memory, F_U64, .u = 6871947673),
        P("max-memory", "off", max_memory, F_U64, .u = 0),
        P("max-process-memory", "2G", max_process_memory, F_U64, .u = 2 * GIB),
        P("max-process-memory", "off", max_process_memory, F_U64, .u = 0),
        P("kill-threshold", "0.9", kill_threshold, F_DOUBLE, .d = 0.9),
        P("kill-threshold", "90%", kill_threshold, F_DOUBLE, .d = 0.9),
        P("kill-threshold", "1", kill_threshold, F_DOUBLE, .d = 1.0),
        PX("warn-at", "0.5", "max-memory = 1G", warn_at, F_DOUBLE, .d = 0.5),
        PX("warn-at", "75%", "max-memory = 1G", warn_at, F_DOUBLE, .d = 0.75),
        P("warn-at", "off", warn_at, F_DOUBLE, .d = 0),
        P("grace", "30s", grace_usec, F_U64, .u = 30 * USEC_PER_SEC),
        P("grace", "1.5s", grace_usec, F_U64, .u = 1500 * USEC_PER_MSEC),
        P("grace", "0", grace_usec, F_U64, .u = 0),
        P("action", "kill", action, F_INT, .u = CONF_ACTION_KILL),
        P("action", "freeze", action, F_INT, .u = CONF_ACTION_FREEZE),
        P("interval", "250ms", interval_usec, F_U64, .u = 250 * USEC_PER_MSEC),
        P("interval", "adaptive", interval_usec, F_U64, .u = 0),
        P("log-every", "5min", log_every_usec, F_U64, .u = 300 * USEC_PER_SEC),
        P("log-every", "off", log_every_usec, F_U64, .u = 0),
        P("log-every", "0", log_every_usec, F_U64, .u = 0),
        P("warn-every", "1min", warn_every_usec, F_U64, .u = 60 * USEC_PER_SEC),
        P("warn-every", "0", warn_every_usec, F_U64, .u = 0),
        P("spike-rate", "100M", spike_rate_bytes_per_sec, F_U64, .u = 100 * MIB),
        P("spike-rate", "100M/s", spike_rate_bytes_per_sec, F_U64, .u = 100 * MIB),
        P("spike-rate", "1G/s", spike_rate_bytes_per_sec, F_U64, .u = GIB),
        P("spike-rate", "off", spike_rate_bytes_per_sec, F_U64, .u = 0),
        /* Shell, not comments: ";" and "#" stay in a hook. */
        P("pre-kill-hook", "echo a ; echo b # c", pre_kill_hook, F_STR, .s = "echo a ; echo b # c"),
        P("pre-kill-hook", "", pre_kill_hook, F_STR, .s = NULL),
        P("post-kill-hook", "/usr/bin/notify --job=$MEMGUARD_JOB", post_kill_hook, F_STR,
          .s = "/usr/bin/notify --job=$MEMGUARD_JOB"),
        P("hook-timeout", "10s", hook_timeout_usec, F_U64, .u = 10 * USEC_PER_SEC),
        P("hook-timeout", "500ms", hook_timeout_usec, F_U64, .u = 500 * USEC_PER_MSEC),

        R("user", "root", uid, F_UID, .u = 0),
        R("user", "1234", uid, F_UID, .u = 1234),
        R("group", "root", gid, F_GID, .u = 0),
        R("group", "4321", gid, F_GID, .u = 4321),
        R("command", "*python*", command, F_STR, .s = "*python*"),
        R("command", "*python[23]*", command, F_STR, .s = "*python[23]*"),
        R("command", "[]x]*", command, F_STR, .s = "[]x]*"),
        R("command", "[!]]*", command, F_STR, .s = "[!]]*"),
        R("command", "[[:digit:]]*", command, F_STR, .s = "[[:digit:]]*"),
        R("command", "\\[x", command, F_STR, .s = "\\[x"),
        R("command", "a]b", command, F_STR, .s = "a]b"),
        R("cgroup", "/user.slice/*", cgroup, F_STR, .s = "/user.slice/*"),
        R("profile", "default", profile, F_STR, .s = "default"),

        W("cgroup", "/system.slice/slurmstepd.scope/job_*", cgroup, F_STR,
          .s = "/system.slice/slurmstepd.scope/job_*"),
        W("profile", "default", profile, F_STR, .s = "default"),
        W("cgroup", "/?*", cgroup, F_STR, .s = "/?*"),
};

/* "[SECTION NAME]\nKEY = VALUE\n" and whatever else the section needs to be valid. */
static char *case_text(const char *section, const char *key, const char *value, const char *extra) {
        char *s = NULL;
        const char *required = "";

        if (streq_ptr(section, "rule") && !streq_ptr(key, "profile"))
                required = "profile = default\n";
        else if (streq_ptr(section, "watch"))
                required = streq_ptr(key, "profile") ? "cgroup = /x\n" :
                           streq_ptr(key, "cgroup")  ? "profile = default\n" :
                                                       "cgroup = /x\nprofile = default\n";

        assert_true(asprintf(&s, "[%s%s]\n%s = %s\n%s%s%s", section,
                             streq_ptr(section, "daemon") ? "" :
                             streq_ptr(section, "profile") ? " p" :
                             streq_ptr(section, "rule") ? " r" : " w",
                             key, value, required, extra ? extra : "", extra ? "\n" : "") > 0);
        return s;
}

static void test_keys_good(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(good_cases); i++) {
                const struct good_case *t = &good_cases[i];
                _cleanup_free_ char *text = case_text(t->section, t->key, t->value, t->extra);
                _cleanup_(conf_freep) struct conf *c = NULL;
                const uint8_t *base;

                c = load_good(text);
                base = streq_ptr(t->section, "daemon") ? (const uint8_t *) &c->daemon :
                       streq_ptr(t->section, "profile") ? (const uint8_t *) conf_profile(c, "p") :
                       streq_ptr(t->section, "rule") ? (const uint8_t *) &c->rules[0] :
                                                       (const uint8_t *) &c->watches[0];
                assert_non_null(base);
                base += t->offset;

                /* Failures name the case: a bare "1 != 2" from a table of dozens says little. */
                switch (t->field) {
                case F_U64:
                        if (*(const uint64_t *) base != t->u)
                                fail_msg("%s: %" PRIu64 " != %" PRIu64, text, *(const uint64_t *) base, t->u);
                        break;
                case F_DOUBLE:
                        if (*(const double *) base != t->d)
                                fail_msg("%s: %.17g != %.17g", text, *(const double *) base, t->d);
                        break;
                case F_INT:
                        if (*(const int *) base != (int) t->u)
                                fail_msg("%s: %d != %d", text, *(const int *) base, (int) t->u);
                        break;
                case F_UID:
                        if (*(const uid_t *) base != (uid_t) t->u)
                                fail_msg("%s: uid %u != %u", text, (unsigned) *(const uid_t *) base,
                                         (unsigned) t->u);
                        break;
                case F_GID:
                        if (*(const gid_t *) base != (gid_t) t->u)
                                fail_msg("%s: gid %u != %u", text, (unsigned) *(const gid_t *) base,
                                         (unsigned) t->u);
                        break;
                case F_STR:
                        if (!streq_ptr(*(char *const *) base, t->s))
                                fail_msg("%s: '%s' != '%s'", text, *(char *const *) base ?: "(null)",
                                         t->s ?: "(null)");
                        break;
                }

                check_dump_reloads(c);
        }
}

struct bad_case {
        const char *section;
        const char *key;
        const char *value;
        const char *extra;
        const char *error;              /* the one expected message */
};

#define SIZE_EXPECTED "(expected e.g. 4000, 512M, 8G, 80% or off)"
#define RATIO_EXPECTED "(expected a ratio in (0, 1] such as 0.8 or 80%)"
#define DURATION_EXPECTED "(expected e.g. 2, 500ms, 10s or 5min)"
#define INTERVAL_EXPECTED "(expected adaptive, or a duration of at least 1ms such as 500ms or 2s)"
#define CGROUP_PATTERN_EXPECTED \
        "(expected a shell pattern on absolute cgroup paths such as /system.slice/slurmstepd.scope/job_*)"

#define CGROUP_PATTERN_EXPECTED_ESCAPE \
        "(expected a shell pattern on absolute cgroup paths such as /system.slice/slurmstepd.scope/job_*; " \
        "\\[ is a literal '[')"

static const struct bad_case bad_cases[] = {
        { "daemon", "interval", "fast", NULL,
          "t.conf:2: [daemon] interval: invalid interval 'fast' " INTERVAL_EXPECTED },
        { "daemon", "interval", "500us", NULL,
          "t.conf:2: [daemon] interval: interval '500us' out of range " INTERVAL_EXPECTED },
        /* Zero is not "adaptive" spelled differently, nor "as fast as possible". */
        { "daemon", "interval", "0", NULL,
          "t.conf:2: [daemon] interval: interval '0' out of range " INTERVAL_EXPECTED },
        { "daemon", "interval", "0ms", NULL,
          "t.conf:2: [daemon] interval: interval '0ms' out of range " INTERVAL_EXPECTED },
        { "daemon", "interval", "-1", NULL,
          "t.conf:2: [daemon] interval: invalid interval '-1' " INTERVAL_EXPECTED },
        { "daemon", "interval", "", NULL,
          "t.conf:2: [daemon] interval: invalid interval '' " INTERVAL_EXPECTED },
        { "daemon", "socket", "memguardd.sock", NULL,
          "t.conf:2: [daemon] socket: invalid socket path 'memguardd.sock' (expected an absolute path of at "
          "most 107 bytes)" },
        { "daemon", "socket", "/" "123456789012345678901234567890123456789012345678901234567890"
                              "12345678901234567890123456789012345678901234567", NULL,
          "t.conf:2: [daemon] socket: socket path "
          "'/123456789012345678901234567890123456789012345678901234567890123...' "
          "out of range (expected an absolute path of at most 107 bytes)" },
        { "daemon", "state-dir", "var/lib/memguard", NULL,
          "t.conf:2: [daemon] state-dir: invalid path 'var/lib/memguard' (expected an absolute path)" },
        { "daemon", "state-dir", "", NULL, "t.conf:2: [daemon] state-dir: invalid path '' (expected an "
                                           "absolute path)" },
        { "daemon", "log-level", "verbose", NULL,
          "t.conf:2: [daemon] log-level: invalid log level 'verbose' (expected err, warning, notice, info or "
          "debug)" },
        { "daemon", "log-level", "INFO", NULL,
          "t.conf:2: [daemon] log-level: invalid log level 'INFO' (expected err, warning, notice, info or "
          "debug)" },
        { "daemon", "log-level", "6", NULL,
          "t.conf:2: [daemon] log-level: invalid log level '6' (expected err, warning, notice, info or debug)" },
        { "daemon", "host-reserve", "bogus", NULL,
          "t.conf:2: [daemon] host-reserve: invalid size 'bogus' " SIZE_EXPECTED },
        { "daemon", "host-reserve", "0", NULL,
          "t.conf:2: [daemon] host-reserve: size '0' out of range " SIZE_EXPECTED },
        /* A reserve of all the host's memory would stop every job at once. */
        { "daemon", "host-reserve", "100%", NULL,
          "t.conf:2: [daemon] host-reserve: 8G is not below the host's memory, 8G (expected a share below "
          "100% such as 10%, a smaller size, or off)" },
        { "daemon", "host-reserve", "8G", NULL,
          "t.conf:2: [daemon] host-reserve: 8G is not below the host's memory, 8G (expected a share below "
          "100% such as 10%, a smaller size, or off)" },
        { "daemon", "host-reserve", "16G", NULL,
          "t.conf:2: [daemon] host-reserve: 16G is not below the host's memory, 8G (expected a share below "
          "100% such as 10%, a smaller size, or off)" },
        { "daemon", "host-reserve", "101%", NULL,
          "t.conf:2: [daemon] host-reserve: size '101%' out of range " SIZE_EXPECTED },
        { "daemon", "default-profile", "no such", NULL,
          "t.conf:2: [daemon] default-profile: invalid profile name 'no such' (expected 1 to 40 of A-Z a-z "
          "0-9 _ . -)" },
        { "daemon", "default-profile", "missing", NULL,
          "t.conf:2: [daemon] default-profile: no such profile 'missing' (expected one of default)" },
        { "daemon", "cgroup-parent", "memguard.slice", NULL,
          "t.conf:2: [daemon] cgroup-parent: invalid cgroup path 'memguard.slice' "
          "(expected an absolute cgroup path such as /memguard.slice, or nothing)" },
        { "daemon", "cgroup-parent", "/a/../b", NULL,
          "t.conf:2: [daemon] cgroup-parent: invalid cgroup path '/a/../b' "
          "(expected an absolute cgroup path such as /memguard.slice, or nothing)" },
        { "daemon", "cgroup-parent", "/a/", NULL,
          "t.conf:2: [daemon] cgroup-parent: invalid cgroup path '/a/' "
          "(expected an absolute cgroup path such as /memguard.slice, or nothing)" },
        { "daemon", "cgroup-parent", "/a//b", NULL,
          "t.conf:2: [daemon] cgroup-parent: invalid cgroup path '/a//b' "
          "(expected an absolute cgroup path such as /memguard.slice, or nothing)" },
        { "daemon", "cgroup-parent", "/a/./b", NULL,
          "t.conf:2: [daemon] cgroup-parent: invalid cgroup path '/a/./b' "
          "(expected an absolute cgroup path such as /memguard.slice, or nothing)" },

        { "profile", "max-memory", "bogus", NULL,
          "t.conf:2: [profile p] max-memory: invalid size 'bogus' " SIZE_EXPECTED },
        { "profile", "max-memory", "-1G", NULL,
          "t.conf:2: [profile p] max-memory: invalid size '-1G' " SIZE_EXPECTED },
        { "profile", "max-memory", "8X", NULL,
          "t.conf:2: [profile p] max-memory: invalid size '8X' " SIZE_EXPECTED },
        { "profile", "max-memory", "0", NULL,
          "t.conf:2: [profile p] max-memory: size '0' out of range " SIZE_EXPECTED },
        { "profile", "max-memory", "200%", NULL,
          "t.conf:2: [profile p] max-memory: size '200%' out of range " SIZE_EXPECTED },
        /* No inline comments: a value is everything after '='. */
        { "profile", "max-memory", "8G ; the big one", NULL,
          "t.conf:2: [profile p] max-memory: invalid size '8G ; the big one' " SIZE_EXPECTED },
        { "profile", "max-memory", "8G # the big one", NULL,
          "t.conf:2: [profile p] max-memory: invalid size '8G # the big one' " SIZE_EXPECTED },
        { "profile", "max-process-memory", "lots", NULL,
          "t.conf:2: [profile p] max-process-memory: invalid size 'lots' " SIZE_EXPECTED },
        { "profile", "kill-threshold", "0", NULL,
          "t.conf:2: [profile p] kill-threshold: ratio '0' out of range " RATIO_EXPECTED },
        { "profile", "kill-threshold", "1.2", NULL,
          "t.conf:2: [profile p] kill-threshold: ratio '1.2' out of range " RATIO_EXPECTED },
        { "profile", "kill-threshold", "high", NULL,
          "t.conf:2: [profile p] kill-threshold: invalid ratio 'high' " RATIO_EXPECTED },
        { "profile", "kill-threshold", "off", NULL,
          "t.conf:2: [profile p] kill-threshold: invalid ratio 'off' " RATIO_EXPECTED },
        { "profile", "warn-at", "2", NULL,
          "t.conf:2: [profile p] warn-at: ratio '2' out of range (expected a ratio in (0, 1] such as 0.8 or "
          "80%, or off)" },
        { "profile", "warn-at", "0.5", NULL,
          "t.conf:2: [profile p] warn-at: a ratio of max-memory, which is not set "
          "(expected max-memory = SIZE in this profile, or warn-at = off)" },
        { "profile", "warn-at", "0.8", "max-memory = 1G",
          "t.conf:2: [profile p] warn-at: 0.8 is not below kill-threshold 0.8 (expected warn-at < "
          "kill-threshold)" },
        { "profile", "warn-at", "95%", "max-memory = 1G\nkill-threshold = 0.9",
          "t.conf:2: [profile p] warn-at: 0.95 is not below kill-threshold 0.9 (expected warn-at < "
          "kill-threshold)" },
        { "profile", "grace", "soon", NULL,
          "t.conf:2: [profile p] grace: invalid duration 'soon' " DURATION_EXPECTED },
        { "profile", "grace", "-5s", NULL,
          "t.conf:2: [profile p] grace: invalid duration '-5s' " DURATION_EXPECTED },
        { "profile", "grace", "10 s", NULL,
          "t.conf:2: [profile p] grace: invalid duration '10 s' " DURATION_EXPECTED },
        { "profile", "action", "stop", NULL, "t.conf:2: [profile p] action: invalid action 'stop' (expected "
                                             "kill or freeze)" },
        { "profile", "action", "Kill", NULL, "t.conf:2: [profile p] action: invalid action 'Kill' (expected "
                                             "kill or freeze)" },
        /* Parts of a duration go from the largest unit down, each once. */
        { "profile", "grace", "1s1h", NULL,
          "t.conf:2: [profile p] grace: invalid duration '1s1h' " DURATION_EXPECTED },
        { "profile", "grace", "1h1h", NULL,
          "t.conf:2: [profile p] grace: invalid duration '1h1h' " DURATION_EXPECTED },
        { "profile", "interval", "0", NULL,
          "t.conf:2: [profile p] interval: interval '0' out of range " INTERVAL_EXPECTED },
        { "profile", "interval", "0.5ms", NULL,
          "t.conf:2: [profile p] interval: interval '0.5ms' out of range " INTERVAL_EXPECTED },
        { "profile", "interval", "off", NULL,
          "t.conf:2: [profile p] interval: invalid interval 'off' " INTERVAL_EXPECTED },
        { "profile", "log-every", "never", NULL,
          "t.conf:2: [profile p] log-every: invalid duration 'never' (expected e.g. 2, 500ms, 10s or 5min, "
          "or off)" },
        { "profile", "warn-every", "off", NULL,
          "t.conf:2: [profile p] warn-every: invalid duration 'off' " DURATION_EXPECTED },
        { "profile", "spike-rate", "fast", NULL,
          "t.conf:2: [profile p] spike-rate: invalid rate 'fast' (expected a size per second, e.g. 100M or "
          "100M/s, or off)" },
        { "profile", "spike-rate", "100M/min", NULL,
          "t.conf:2: [profile p] spike-rate: invalid rate '100M/min' (expected a size per second, e.g. 100M "
          "or 100M/s, or off)" },
        { "profile", "spike-rate", "off/s", NULL,
          "t.conf:2: [profile p] spike-rate: invalid rate 'off/s' (expected a size per second, e.g. 100M or "
          "100M/s, or off)" },
        { "profile", "spike-rate", "0/s", NULL,
          "t.conf:2: [profile p] spike-rate: rate '0/s' out of range (expected a size per second, e.g. 100M "
          "or 100M/s, or off)" },
        { "profile", "hook-timeout", "0", NULL,
          "t.conf:2: [profile p] hook-timeout: timeout '0' out of range (expected a duration above zero such "
          "as 5s)" },
        { "profile", "hook-timeout", "off", NULL,
          "t.conf:2: [profile p] hook-timeout: invalid timeout 'off' (expected a duration above zero such as "
          "5s)" },

        { "rule", "user", "memguard-no-such-user", NULL,
          "t.conf:2: [rule r] user: unknown user 'memguard-no-such-user' (expected a user name or a numeric "
          "uid)" },
        { "rule", "user", "4294967295", NULL,
          "t.conf:2: [rule r] user: user '4294967295' out of range (expected a user name or a numeric uid)" },
        { "rule", "user", "99999999999", NULL,
          "t.conf:2: [rule r] user: user '99999999999' out of range (expected a user name or a numeric uid)" },
        { "rule", "user", "", NULL, "t.conf:2: [rule r] user: unknown user '' (expected a user name or a "
                                    "numeric uid)" },
        { "rule", "group", "memguard-no-such-group", NULL,
          "t.conf:2: [rule r] group: unknown group 'memguard-no-such-group' (expected a group name or a "
          "numeric gid)" },
        { "rule", "group", "4294967295", NULL,
          "t.conf:2: [rule r] group: group '4294967295' out of range (expected a group name or a numeric gid)" },
        { "rule", "command", "", NULL,
          "t.conf:2: [rule r] command: invalid pattern '' (expected a shell pattern such as *python*)" },
        { "rule", "cgroup", "job_*", NULL,
          "t.conf:2: [rule r] cgroup: invalid cgroup pattern 'job_*' " CGROUP_PATTERN_EXPECTED },
        { "rule", "cgroup", "*/job_*", NULL,
          "t.conf:2: [rule r] cgroup: invalid cgroup pattern '*/job_*' " CGROUP_PATTERN_EXPECTED },
        /* fnmatch() would read these as literals; they are typos. */
        { "rule", "command", "[", NULL,
          "t.conf:2: [rule r] command: malformed pattern '[': a '[' without its ']' or a '\\' at the end "
          "(expected a shell pattern such as *python*; \\[ is a literal '[')" },
        { "rule", "command", "*python[23*", NULL,
          "t.conf:2: [rule r] command: malformed pattern '*python[23*': a '[' without its ']' or a '\\' at "
          "the end (expected a shell pattern such as *python*; \\[ is a literal '[')" },
        { "rule", "command", "[[:alpha:]", NULL,
          "t.conf:2: [rule r] command: malformed pattern '[[:alpha:]': a '[' without its ']' or a '\\' at "
          "the end (expected a shell pattern such as *python*; \\[ is a literal '[')" },
        { "rule", "command", "[[:alpha]", NULL,
          "t.conf:2: [rule r] command: malformed pattern '[[:alpha]': a '[' without its ']' or a '\\' at "
          "the end (expected a shell pattern such as *python*; \\[ is a literal '[')" },
        { "rule", "command", "make\\", NULL,
          "t.conf:2: [rule r] command: malformed pattern 'make\\x5c': a '[' without its ']' or a '\\' at "
          "the end (expected a shell pattern such as *python*; \\[ is a literal '[')" },
        { "rule", "cgroup", "/user.slice/user-[0-9*", NULL,
          "t.conf:2: [rule r] cgroup: malformed cgroup pattern '/user.slice/user-[0-9*': a '[' without its "
          "']' or a '\\' at the end " CGROUP_PATTERN_EXPECTED_ESCAPE },
        { "rule", "profile", "missing", NULL,
          "t.conf:2: [rule r] profile: no such profile 'missing' (expected one of default)" },
        { "rule", "profile", "bad name!", NULL,
          "t.conf:2: [rule r] profile: invalid profile name 'bad name!' (expected 1 to 40 of A-Z a-z 0-9 _ . "
          "-)" },

        { "watch", "cgroup", "", NULL,
          "t.conf:2: [watch w] cgroup: invalid cgroup pattern '' " CGROUP_PATTERN_EXPECTED },
        { "watch", "cgroup", "slurm/job_*", NULL,
          "t.conf:2: [watch w] cgroup: invalid cgroup pattern 'slurm/job_*' " CGROUP_PATTERN_EXPECTED },
        { "watch", "cgroup", "/x/job_[", NULL,
          "t.conf:2: [watch w] cgroup: malformed cgroup pattern '/x/job_[': a '[' without its ']' or a '\\' "
          "at the end " CGROUP_PATTERN_EXPECTED_ESCAPE },
        /* The root cgroup is the whole host. */
        { "watch", "cgroup", "/", NULL,
          "t.conf:2: [watch w] cgroup: '/' matches the root cgroup /, which holds the whole host (expected a "
          "pattern of cgroups below it such as /system.slice/slurmstepd.scope/job_*)" },
        { "watch", "cgroup", "/*", NULL,
          "t.conf:2: [watch w] cgroup: '/*' matches the root cgroup /, which holds the whole host (expected a "
          "pattern of cgroups below it such as /system.slice/slurmstepd.scope/job_*)" },
        { "watch", "profile", "missing", NULL,
          "t.conf:2: [watch w] profile: no such profile 'missing' (expected one of default)" },
};

static void test_keys_bad(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const struct bad_case *t = &bad_cases[i];
                _cleanup_free_ char *text = case_text(t->section, t->key, t->value, t->extra), *expected = NULL;

                assert_true(asprintf(&expected, "%s\n", t->error) > 0);
                check_errors(text, expected);
        }
}

static void test_unknown_keys_and_sections(void **state) {
        check_errors("[daemon]\nmax-memory = 1G\n",
                     "t.conf:2: [daemon] unknown key 'max-memory' (expected one of interval, socket, "
                     "state-dir, "
                     "log-level, host-reserve, default-profile, cgroup-parent)\n");
        check_errors("[profile p]\nmax_memory = 1G\n",
                     "t.conf:2: [profile p] unknown key 'max_memory' (expected one of max-memory, "
                     "max-process-memory, kill-threshold, warn-at, grace, action, interval, log-every, "
                     "warn-every, spike-rate, pre-kill-hook, post-kill-hook, hook-timeout)\n");
        check_errors("[rule r]\nprofile = default\nuid = 0\n",
                     "t.conf:3: [rule r] unknown key 'uid' (expected one of profile, user, group, command, "
                     "cgroup)\n");
        check_errors("[watch w]\ncgroup = /x\nprofile = default\npath = /y\n",
                     "t.conf:4: [watch w] unknown key 'path' (expected one of cgroup, profile)\n");
        /* Keys are case-sensitive, like every value word. */
        check_errors("[daemon]\nInterval = 2\n",
                     "t.conf:2: [daemon] unknown key 'Interval' (expected one of interval, socket, "
                     "state-dir, "
                     "log-level, host-reserve, default-profile, cgroup-parent)\n");
        /* A long unknown key is quoted whole up to the cut, not as inih's 49 characters. */
        check_errors("[watch w]\ncgroup = /x\nprofile = default\n"
                     "this-key-is-much-longer-than-inih-would-keep-for-a-name-0123456789abcdef = 1\n",
                     "t.conf:4: [watch w] unknown key "
                     "'this-key-is-much-longer-than-inih-would-keep-for-a-name-"
                     "01234567...' (expected one of cgroup, profile)\n");
        check_errors("[job x]\n", "t.conf:1: unknown section 'job' (expected [daemon], [profile NAME], [rule "
                                  "NAME] or "
                                  "[watch NAME])\n");
        check_errors("[Profile p]\n", "t.conf:1: unknown section 'Profile' (expected [daemon], [profile "
                                      "NAME], "
                                      "[rule NAME] or [watch NAME])\n");
        /* The keys of a broken section are not reported once more, nor filed under another one. */
        check_errors("[daemon]\n[jobs]\ninterval = x\nfoo = 1\n",
                     "t.conf:2: unknown section 'jobs' (expected [daemon], [profile NAME], [rule NAME] or "
                     "[watch NAME])\n");
}

static void test_section_headers(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;

        check_errors("[daemon\ninterval = 2s\n",
                     "t.conf:1: section header '[daemon' has no closing ']' (expected [daemon], [profile "
                     "NAME], "
                     "[rule NAME] or [watch NAME])\n");
        check_errors("[daemon] ; main\n",
                     "t.conf:1: unexpected '; main' after the section header (expected nothing after ']'; "
                     "comments go on lines of their own)\n");
        check_errors("[]\n", "t.conf:1: empty section header (expected [daemon], [profile NAME], [rule NAME] "
                             "or "
                             "[watch NAME])\n");
        check_errors("[  ]\n", "t.conf:1: empty section header (expected [daemon], [profile NAME], [rule "
                               "NAME] or "
                               "[watch NAME])\n");
        check_errors("[daemon main]\n", "t.conf:1: section [daemon] takes no name, found 'main' (expected "
                                        "[daemon])\n");
        check_errors("[profile]\n", "t.conf:1: section [profile] needs a name (expected [profile NAME])\n");
        check_errors("[rule]\n", "t.conf:1: section [rule] needs a name (expected [rule NAME])\n");
        check_errors("[watch ]\n", "t.conf:1: section [watch] needs a name (expected [watch NAME])\n");
        check_errors("[profile a b]\n",
                     "t.conf:1: invalid profile name 'a b' (expected 1 to 40 of A-Z a-z 0-9 _ . -)\n");
        check_errors("[profile a/b]\n",
                     "t.conf:1: invalid profile name 'a/b' (expected 1 to 40 of A-Z a-z 0-9 _ . -)\n");
        check_errors("[rule ..]\n", "t.conf:1: invalid rule name '..' (expected 1 to 40 of A-Z a-z 0-9 _ . "
                                    "-)\n");
        check_errors("[watch .]\n", "t.conf:1: invalid watch name '.' (expected 1 to 40 of A-Z a-z 0-9 _ . "
                                    "-)\n");
        /* inih would cut this header at 49 characters; the reader sees it whole. */
        check_errors("[profile this-name-is-forty-five-characters-long-xxxxxx]\n",
                     "t.conf:1: invalid profile name 'this-name-is-forty-five-characters-long-xxxxxx' "
                     "(expected 1 to 40 of A-Z a-z 0-9 _ . -)\n");
        check_errors("[profile \x1b[31mred]\n",
                     "t.conf:1: invalid profile name '\\x1b[31mred' (expected 1 to 40 of A-Z a-z 0-9 _ . -)\n");

        /* 40 characters: the longest name. */
        c = load_good("[profile abcdefghij-abcdefghij-abcdefghij-abcdefg]\nmax-memory = 1G\n"
                      "[ rule\tspaced ]\nprofile = abcdefghij-abcdefghij-abcdefghij-abcdefg\n"
                      "[profile A.Z_0-9]\n");
        assert_int_equal(c->n_profiles, 3);
        assert_string_equal(c->profiles[1].name, "abcdefghij-abcdefghij-abcdefghij-abcdefg");
        assert_int_equal(c->profiles[1].max_memory, GIB);
        assert_int_equal(c->profiles[1].line, 1);
        assert_string_equal(c->profiles[1].file, "t.conf");
        assert_string_equal(c->profiles[2].name, "A.Z_0-9");
        assert_int_equal(c->n_rules, 1);
        assert_string_equal(c->rules[0].name, "spaced");
        assert_int_equal(c->rules[0].line, 3);
}

static void test_syntax(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;

        check_errors("interval = 1\n",
                     "t.conf:1: 'interval' outside of any section (expected a [daemon], [profile NAME], "
                     "[rule NAME] or [watch NAME] line before it)\n");
        check_errors("[daemon]\nfoo\n", "t.conf:2: [daemon] 'foo' is not a setting (expected KEY = VALUE)\n");
        check_errors("[daemon]\n= 5\n", "t.conf:2: [daemon] missing key name before '=' (expected KEY = "
                                        "VALUE)\n");
        /* No continuation lines: an indented line is a line of its own, not more of the hook. */
        check_errors("[profile p]\npre-kill-hook = echo a\n  echo b\n",
                     "t.conf:3: [profile p] 'echo b' is not a setting (expected KEY = VALUE)\n");
        check_errors("[profile p]\npre-kill-hook = echo a\n  post-kill-hook = echo b\n  grace = x\n",
                     "t.conf:4: [profile p] grace: invalid duration 'x' (expected e.g. 2, 500ms, 10s or "
                     "5min)\n");

        /* Blanks, CRLF, a byte order mark, inih's "key: value" and an empty section are all fine. */
        c = load_good("\xef\xbb\xbf[daemon]\r\n  interval   =   2s  \r\n\tlog-level: debug\r\n"
                      "[profile empty]\r\n[profile p]\r\npre-kill-hook = a=b: c\r\n");
        assert_int_equal(c->daemon.interval_usec, 2 * USEC_PER_SEC);
        assert_int_equal(c->daemon.log_level, LOG_DEBUG);
        assert_non_null(conf_profile(c, "empty"));
        assert_string_equal(conf_profile(c, "p")->pre_kill_hook, "a=b: c");
        assert_int_equal(conf_profile(c, "p")->line, 5);
}

static void test_duplicates(void **state) {
        check_errors("[daemon]\ninterval = 1\nlog-level = info\n[daemon]\ninterval = 2\n",
                     "t.conf:5: [daemon] interval: duplicate key (first set at t.conf:2)\n");
        check_errors("[profile p]\ngrace = 1\ngrace = 1\n",
                     "t.conf:3: [profile p] grace: duplicate key (first set at t.conf:2)\n");
        /* A bad first value still counts as set. */
        check_errors("[profile p]\ngrace = x\ngrace = 1\n",
                     "t.conf:2: [profile p] grace: invalid duration 'x' (expected e.g. 2, 500ms, 10s or "
                     "5min)\n"
                     "t.conf:3: [profile p] grace: duplicate key (first set at t.conf:2)\n");
        check_errors("[profile p]\n[profile q]\n[profile p]\ngrace = 1\n",
                     "t.conf:3: [profile p] already defined at t.conf:1 (expected each name once across all "
                     "files)\n");
        check_errors("[rule r]\nprofile = default\n[rule r]\nprofile = default\n",
                     "t.conf:3: [rule r] already defined at t.conf:1 (expected each name once across all "
                     "files)\n");
        check_errors("[watch w]\ncgroup = /x\nprofile = default\n[watch w]\n",
                     "t.conf:4: [watch w] already defined at t.conf:1 (expected each name once across all "
                     "files)\n");
        /* The built-in default may be redefined once; a second time names the first. */
        check_errors("[profile default]\n\n[profile default]\n",
                     "t.conf:3: [profile default] already defined at t.conf:1 (expected each name once "
                     "across all "
                     "files)\n");
        /* The same name in different kinds is fine. */
        _cleanup_(conf_freep) struct conf *c = load_good("[profile x]\n[rule x]\nprofile = x\n[watch "
                                                         "x]\ncgroup = /x\n"
                                                         "profile = x\n");
        assert_int_equal(c->n_profiles, 2);
}

static void test_default_profile(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;

        /* [profile default] changes the built-in one in place, which stays first. */
        c = load_good("[profile a]\n[profile default]\nmax-memory = 2G\ngrace = 1s\n");
        assert_int_equal(c->n_profiles, 2);
        assert_string_equal(c->profiles[0].name, "default");
        assert_int_equal(c->profiles[0].max_memory, 2 * GIB);
        assert_int_equal(c->profiles[0].grace_usec, USEC_PER_SEC);
        assert_true(c->profiles[0].kill_threshold == 0.8);
        assert_string_equal(c->profiles[0].file, "t.conf");
        assert_int_equal(c->profiles[0].line, 2);
        assert_ptr_equal(conf_match(c, 0, 0, "x", "/x"), &c->profiles[0]);
        check_dump_reloads(c);
        c = conf_free(c);

        /* default-profile picks another one for unmatched jobs. */
        c = load_good("[daemon]\ndefault-profile = small\n[profile small]\nmax-memory = 1G\n");
        assert_string_equal(conf_match(c, 0, 0, "x", "/x")->name, "small");
}

static void test_several_errors(void **state) {
        /* Parsing goes on after each error, and the cross-checks run too: everything in one report,
         * in file order. */
        check_errors("[daemon]\n"
                     "interval = soon\n"
                     "bogus = 1\n"
                     "[rule r]\n"
                     "profile = nope\n"
                     "user = memguard-no-such-user\n"
                     "[profile p]\n"
                     "max-memory = bogus\n"
                     "[profile q]\n"
                     "warn-at = 0.5\n"
                     "[watch w]\n",
                     "t.conf:2: [daemon] interval: invalid interval 'soon' " INTERVAL_EXPECTED "\n"
                     "t.conf:3: [daemon] unknown key 'bogus' (expected one of interval, socket, state-dir, "
                     "log-level, host-reserve, default-profile, cgroup-parent)\n"
                     "t.conf:5: [rule r] profile: no such profile 'nope' (expected one of default, p, q)\n"
                     "t.conf:6: [rule r] user: unknown user 'memguard-no-such-user' (expected a user name or "
                     "a "
                     "numeric uid)\n"
                     "t.conf:8: [profile p] max-memory: invalid size 'bogus' " SIZE_EXPECTED "\n"
                     "t.conf:10: [profile q] warn-at: a ratio of max-memory, which is not set (expected "
                     "max-memory "
                     "= SIZE in this profile, or warn-at = off)\n"
                     "t.conf:11: [watch w] missing key 'cgroup' (expected cgroup = PATTERN)\n"
                     "t.conf:11: [watch w] missing key 'profile' (expected profile = NAME)\n");
}

static void test_no_cascades(void **state) {
        /* A value that did not parse is not checked against others: one mistake, one message. */
        check_errors("[profile p]\nmax-memory = bogus\nwarn-at = 0.5\n",
                     "t.conf:2: [profile p] max-memory: invalid size 'bogus' " SIZE_EXPECTED "\n");
        check_errors("[profile p]\nmax-memory = 1G\nkill-threshold = 0\nwarn-at = 0.9\n",
                     "t.conf:3: [profile p] kill-threshold: ratio '0' out of range " RATIO_EXPECTED "\n");
        check_errors("[rule r]\nprofile = no/such\n",
                     "t.conf:2: [rule r] profile: invalid profile name 'no/such' (expected 1 to 40 of A-Z "
                     "a-z 0-9 _ . -)\n");
        check_errors("[watch w]\ncgroup = x\nprofile = default\n",
                     "t.conf:2: [watch w] cgroup: invalid cgroup pattern 'x' " CGROUP_PATTERN_EXPECTED "\n");
}

static void test_too_many_errors(void **state) {
        _cleanup_free_ char *text = NULL;
        struct conf_errors e = {};
        struct conf *c = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        fputs("[daemon]\n", f);
        for (int i = 0; i < 150; i++)
                fprintf(f, "junk%d = 1\n", i);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(conf_load_string(text, "t.conf", RAM, &c, &e), -EINVAL);
        assert_null(c);
        assert_int_equal(e.n, CONF_ERRORS_MAX + 1);
        assert_true(strncmp(e.messages[0], "t.conf:2: [daemon] unknown key 'junk0' ", 39) == 0);
        assert_string_equal(e.messages[CONF_ERRORS_MAX], "t.conf:102: more than 100 errors, the rest are not "
                                                         "listed");
        conf_errors_done(&e);
        assert_int_equal(e.n, 0);
        assert_null(e.messages);

        /* Without a list the errors are still counted: the load fails all the same. */
        assert_int_equal(conf_load_string("[daemon]\nx = 1\n", "t.conf", RAM, &c, NULL), -EINVAL);
        assert_null(c);
}

static void test_errors_append(void **state) {
        struct conf_errors e = {};
        struct conf *c = NULL;

        assert_int_equal(conf_load_string("[x]\n", "a.conf", RAM, &c, &e), -EINVAL);
        assert_int_equal(conf_load_string("[profile p]\nwarn-at = 0.5\n[y]\n", "b.conf", RAM, &c, &e), -EINVAL);
        assert_int_equal(e.n, 3);
        assert_true(strncmp(e.messages[0], "a.conf:1: unknown section 'x'", 29) == 0);
        /* The second load's messages are sorted among themselves only. */
        assert_true(strncmp(e.messages[1], "b.conf:2: [profile p] warn-at: a ratio", 38) == 0);
        assert_true(strncmp(e.messages[2], "b.conf:3: unknown section 'y'", 29) == 0);
        conf_errors_done(&e);
}

/* A socket path may be free or hold a socket, never somebody's file: memguardd removes what is there. */
static void test_socket_path(void **state) {
        char dir[] = "/tmp/memguard-test-conf-XXXXXX";
        _cleanup_free_ char *file = NULL, *link = NULL, *sock = NULL, *free_path = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&file, "%s/file", dir) > 0);
        assert_true(asprintf(&link, "%s/link", dir) > 0);
        assert_true(asprintf(&sock, "%s/sock", dir) > 0);
        assert_true(asprintf(&free_path, "%s/free", dir) > 0);

        fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(symlink(sock, link), 0);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        strcpy(sa.sun_path, sock);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);

        struct {
                const char *path;
                bool good;
        } cases[] = {
                { free_path, true },
                { sock, true },                 /* the socket of a running memguardd, at a reload */
                { file, false },
                { link, false },                /* even to a socket: the link itself would be removed */
                { dir, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL, *expected = NULL;

                assert_true(asprintf(&text, "[daemon]\nsocket = %s\n", cases[i].path) > 0);
                if (cases[i].good) {
                        _cleanup_(conf_freep) struct conf *c = load_good(text);

                        assert_string_equal(c->daemon.socket_path, cases[i].path);
                        continue;
                }
                assert_true(asprintf(&expected, "t.conf:2: [daemon] socket: '%s' exists and is not a socket "
                                     "(expected a path that is free or holds memguardd's socket)\n",
                                     cases[i].path) > 0);
                check_errors(text, expected);
        }

        close(fd);
        assert_int_equal(unlink(sock), 0);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(unlink(file), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* Thousands of sections (a generated file, a drop-in per job) load in time linear in their number:
 * the name comparisons that find duplicates and references are counted, not timed. */
static uint64_t load_sections_compares(size_t n) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors e = {};
        uint64_t compares = UINT64_MAX;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        /* Rules name profiles defined after them, watches the ones before: both ways are looked up. */
        for (size_t i = 0; i < n / 4; i++)
                fprintf(f, "[rule r%zu]\nprofile = p%zu\n", i, i);
        for (size_t i = 0; i < n / 4; i++)
                fprintf(f, "[profile p%zu]\nmax-memory = 1G\n", i);
        for (size_t i = 0; i < n / 4; i++)
                fprintf(f, "[profile q%zu]\n", i);
        for (size_t i = 0; i < n / 4; i++)
                fprintf(f, "[watch w%zu]\ncgroup = /x/job_%zu\nprofile = q%zu\n", i, i, i);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(conf_parse_string_counted(text, "t.conf", RAM, &c, &e, &compares), 0);
        assert_int_equal(e.n, 0);
        assert_int_equal(c->n_profiles, n / 2 + 1);
        assert_int_equal(c->n_rules, n / 4);
        assert_int_equal(c->n_watches, n / 4);
        free(text);
        return compares;
}

static void test_many_sections(void **state) {
        uint64_t small = load_sections_compares(4000), large = load_sections_compares(40000);

        /* A few comparisons per section, and ten times the sections cost about ten times as many: a
         * scan of every section so far would cost thousands per section and a hundred times as many. */
        if (large > 4 * 40000 || large > 12 * small)
                fail_msg("%" PRIu64 " name comparisons for 4,000 sections, %" PRIu64 " for 40,000", small, large);
}

static void test_long_lines(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *hook = NULL, *text = NULL;
        const char *prefix = "pre-kill-hook = ";
        size_t n = CONF_LINE_MAX - strlen(prefix);

        hook = malloc(n + 2);
        assert_non_null(hook);
        memset(hook, 'x', n + 1);
        hook[n] = 0;

        /* Exactly CONF_LINE_MAX bytes: fine, and not split. */
        assert_true(asprintf(&text, "[profile p]\n%s%s\r\n", prefix, hook) > 0);
        c = load_good(text);
        assert_int_equal(strlen(conf_profile(c, "p")->pre_kill_hook), n);
        free(text);

        /* One more: an error at its line, and the next line keeps its number. */
        hook[n] = 'x';
        hook[n + 1] = 0;
        assert_true(asprintf(&text, "[profile p]\n%s%s\nbogus = 1\n", prefix, hook) > 0);
        check_errors(text, "t.conf:2: line too long, 4097 bytes (expected at most 4096)\n"
                           "t.conf:3: [profile p] unknown key 'bogus' (expected one of max-memory, "
                           "max-process-memory, "
                           "kill-threshold, warn-at, grace, action, interval, log-every, warn-every, "
                           "spike-rate, "
                           "pre-kill-hook, post-kill-hook, hook-timeout)\n");
        free(text);

        /* A comment may be as long as it likes: no part of it can become a key. */
        assert_true(asprintf(&text, "[profile p]\n  # %s%s\n; %s\n", hook, hook, hook) > 0);
        c = conf_free(c);
        c = load_good(text);
        free(text);

        /* A long header line is an error too, not a truncated section name. */
        assert_true(asprintf(&text, "[profile %s%s]\n", hook, "0123456789") > 0);
        check_errors(text, "t.conf:1: line too long, 4101 bytes (expected at most 4096)\n");
}

static void test_files(void **state) {
        char dir[] = "/tmp/test-conf-XXXXXX";
        _cleanup_free_ char *main_path = NULL, *dropins = NULL, *nul_path = NULL, *joined = NULL;
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors e = {};
        static const char nul_text[] = "[daemon]\ninterval = 1\0s\n# a comment may hold \0\nfoo = 1\n";

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&main_path, "%s/main.conf", dir) > 0);
        assert_true(asprintf(&dropins, "%s/conf.d", dir) > 0);
        assert_true(asprintf(&nul_path, "%s/nul.conf", dir) > 0);

        /* A missing main file is an error; a missing drop-in directory is not. */
        assert_int_equal(conf_load(main_path, dropins, RAM, &c, &e), -EINVAL);
        assert_null(c);
        assert_int_equal(e.n, 1);
        assert_true(strstr(e.messages[0], "/main.conf: cannot open: No such file or directory") != NULL);
        conf_errors_done(&e);

        file_write(main_path, "[daemon]\ninterval = 3s\n", strlen("[daemon]\ninterval = 3s\n"));
        assert_int_equal(conf_load(main_path, dropins, RAM, &c, &e), 0);
        assert_int_equal(e.n, 0);
        assert_int_equal(c->daemon.interval_usec, 3 * USEC_PER_SEC);
        c = conf_free(c);
        assert_int_equal(conf_load(main_path, NULL, RAM, &c, NULL), 0);
        c = conf_free(c);

        /* A drop-in "directory" that is a file, and a "file" that is a directory. */
        assert_int_equal(conf_load(main_path, main_path, RAM, &c, &e), -EINVAL);
        assert_int_equal(e.n, 1);
        assert_true(strstr(e.messages[0], "/main.conf: cannot read directory: Not a directory") != NULL);
        conf_errors_done(&e);
        assert_int_equal(conf_load(dir, NULL, RAM, &c, &e), -EINVAL);
        assert_int_equal(e.n, 1);
        assert_true(strstr(e.messages[0], ": cannot read: Is a directory") != NULL);
        conf_errors_done(&e);

        /* A NUL byte is an error at its line; the lines after it still count. */
        file_write(nul_path, nul_text, sizeof(nul_text) - 1);
        assert_int_equal(conf_load(nul_path, NULL, RAM, &c, &e), -EINVAL);
        joined = errors_join(&e);
        assert_non_null(strstr(joined, "/nul.conf:2: line contains a NUL byte (expected text)\n"));
        assert_non_null(strstr(joined, "/nul.conf:4: [daemon] unknown key 'foo'"));
        assert_int_equal(e.n, 2);
        conf_errors_done(&e);

        assert_int_equal(unlink(nul_path), 0);
        assert_int_equal(unlink(main_path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_percent_without_ram(void **state) {
        struct conf_errors e = {};
        struct conf *c = NULL;

        assert_int_equal(conf_load_string("[profile p]\nmax-memory = 50%\n", "t.conf", 0, &c, &e), -EINVAL);
        assert_int_equal(e.n, 1);
        assert_string_equal(e.messages[0], "t.conf:2: [profile p] max-memory: '50%' is a share of the host's "
                                           "memory, "
                                           "whose size is unknown (expected an absolute size such as 8G)");
        conf_errors_done(&e);
}

static void test_quoting(void **state) {
        /* Control bytes in a message are escaped, long values cut. */
        check_errors("[profile p]\naction = \x1b]0;pwned\x07\n",
                     "t.conf:2: [profile p] action: invalid action '\\x1b]0;pwned\\x07' (expected kill or "
                     "freeze)\n");
        check_errors("[profile p]\naction = "
                     "0123456789012345678901234567890123456789012345678901234567890123456789\n",
                     "t.conf:2: [profile p] action: invalid action "
                     "'0123456789012345678901234567890123456789012345678901234567890123...' "
                     "(expected kill or freeze)\n");
}

static void test_match(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        const struct conf_watch *w;

        c = load_good("[daemon]\ndefault-profile = fallback\n"
                      "[profile a]\n[profile b]\n[profile c]\n[profile d]\n[profile fallback]\n"
                      "[rule by-user]\nuser = 1000\nprofile = a\n"
                      "[rule by-user-and-command]\nuser = 1001\ncommand = *python*\nprofile = b\n"
                      "[rule by-group]\ngroup = 2000\nprofile = c\n"
                      "[rule by-cgroup]\ncgroup = /slurm/job_*\nprofile = d\n"
                      "[rule by-command]\ncommand = make *\nprofile = b\n"
                      "[watch slurm]\ncgroup = /slurm/job_*\nprofile = d\n"
                      "[watch docker]\ncgroup = /system.slice/docker-*.scope\nprofile = c\n");

        /* The first matching rule wins, even when a later one matches too. */
        assert_string_equal(conf_match(c, 1000, 2000, "make all", "/slurm/job_1")->name, "a");
        /* Every given criterion must match. */
        assert_string_equal(conf_match(c, 1001, 0, "/usr/bin/python3 x.py", NULL)->name, "b");
        assert_string_equal(conf_match(c, 1001, 0, "perl x.pl", NULL)->name, "fallback");
        assert_string_equal(conf_match(c, 1001, 2000, "perl x.pl", NULL)->name, "c");
        /* A rule that asks for a command does not match a job without one. */
        assert_string_equal(conf_match(c, 1001, 0, NULL, NULL)->name, "fallback");
        assert_string_equal(conf_match(c, 5, 5, NULL, "/slurm/job_17")->name, "d");
        /* "*" stops at "/" in cgroup patterns, not in command patterns. */
        assert_string_equal(conf_match(c, 5, 5, NULL, "/slurm/job_17/step_0")->name, "fallback");
        assert_string_equal(conf_match(c, 5, 5, "make -C /src/x", "/slurm")->name, "b");
        assert_string_equal(conf_match(c, 5, 5, "gmake", NULL)->name, "fallback");
        /* The job's ids may be anything, -1 included: only a rule's -1 means "any". */
        assert_string_equal(conf_match(c, (uid_t) -1, (gid_t) -1, NULL, NULL)->name, "fallback");

        w = conf_match_watch(c, "/slurm/job_3");
        assert_non_null(w);
        assert_string_equal(w->name, "slurm");
        w = conf_match_watch(c, "/system.slice/docker-0123abcd.scope");
        assert_non_null(w);
        assert_string_equal(w->name, "docker");
        assert_null(conf_match_watch(c, "/slurm/job_3/step_batch"));
        assert_null(conf_match_watch(c, "/system.slice/docker.service"));
        assert_null(conf_match_watch(c, NULL));
        assert_null(conf_match(NULL, 0, 0, NULL, NULL));
}

static void test_dropins(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct conf_errors e = {};

        assert_int_equal(chdir(CONF_FIXTURES), 0);
        assert_int_equal(conf_load("good-dropins.conf", "good-dropins.d/", RAM, &c, &e), 0);
        assert_int_equal(e.n, 0);

        /* Byte order: 10- and 20- before 9-; hidden and non-.conf files skipped. */
        assert_int_equal(c->n_rules, 3);
        assert_string_equal(c->rules[0].name, "first");
        assert_string_equal(c->rules[0].file, "good-dropins.conf");
        assert_string_equal(c->rules[1].name, "second");
        assert_string_equal(c->rules[1].file, "good-dropins.d/10-extra.conf");
        assert_int_equal(c->rules[1].line, 6);
        assert_string_equal(c->rules[2].name, "third");
        assert_string_equal(c->rules[2].file, "good-dropins.d/9-last.conf");
        assert_int_equal(c->n_profiles, 3);
        assert_string_equal(c->profiles[2].name, "late");
        assert_string_equal(c->profiles[2].file, "good-dropins.d/20-more.conf");
        /* [daemon] keys from two files. */
        assert_int_equal(c->daemon.log_level, LOG_NOTICE);
        assert_int_equal(c->daemon.interval_usec, 2 * USEC_PER_SEC);

        /* The first rule's user wins over the second's command. */
        assert_string_equal(conf_match(c, 0, 0, "make", NULL)->name, "base");
        assert_string_equal(conf_match(c, 1, 0, "make", NULL)->name, "late");
        assert_string_equal(conf_match(c, 1, 0, "cc", "/batch/x")->name, "base");
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int fixture_filter(const struct dirent *de) {
        return (strncmp(de->d_name, "good-", 5) == 0 || strncmp(de->d_name, "bad-", 4) == 0) &&
               has_suffix(de->d_name, ".conf");
}

static int fixture_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_golden(void **state) {
        bool update = getenv("MEMGUARD_UPDATE_GOLDEN") != NULL;
        struct dirent **list = NULL;
        unsigned n_good = 0, n_bad = 0;
        int n;

        /* Relative names, so the expected files do not depend on where the tree is. */
        assert_int_equal(chdir(CONF_FIXTURES), 0);
        n = scandir(".", &list, fixture_filter, fixture_compare);
        assert_true(n > 0);

        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                bool good = strncmp(name, "good-", 5) == 0;
                _cleanup_free_ char *stem = strndup(name, strlen(name) - 5), *dropins = NULL,
                                    *expected_path = NULL, *expected = NULL, *actual = NULL, *errors = NULL;
                _cleanup_(conf_freep) struct conf *c = NULL;
                struct conf_errors e = {};
                struct stat st;
                int r;

                assert_non_null(stem);
                assert_true(asprintf(&dropins, "%s.d", stem) > 0);
                assert_true(asprintf(&expected_path, "%s.%s", stem, good ? "out" : "err") > 0);
                r = conf_load(name, stat(dropins, &st) == 0 ? dropins : NULL, RAM, &c, &e);
                print_message("# %s\n", name);
                if (good) {
                        errors = errors_join(&e);
                        assert_string_equal(errors, "");
                        assert_int_equal(r, 0);
                        actual = dump_string(c);
                        check_dump_reloads(c);
                        n_good++;
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_null(c);
                        assert_true(e.n > 0);
                        actual = errors_join(&e);
                        n_bad++;
                }
                conf_errors_done(&e);

                if (update)
                        file_write(expected_path, actual, strlen(actual));
                expected = file_read(expected_path);
                if (!expected)
                        fail_msg("%s is missing (MEMGUARD_UPDATE_GOLDEN=1 writes it)", expected_path);
                assert_string_equal(actual, expected);
                free(list[i]);
        }
        free(list);
        assert_true(n_good >= 3);
        assert_true(n_bad >= 4);
}

static void test_shipped(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL, *main_only = NULL, *builtin = NULL, *uncommented = NULL;
        _cleanup_free_ char *text = NULL, *joined = NULL, *dump = NULL;
        struct conf_errors e = {};
        const struct conf_profile *p;

        assert_int_equal(conf_load(SHIPPED_CONF, SHIPPED_DROPINS, RAM, &c, &e), 0);
        joined = errors_join(&e);
        assert_string_equal(joined, "");
        conf_errors_done(&e);

        /* The two examples: a Slurm node and CI runners. */
        p = conf_profile(c, "hpc-batch");
        assert_non_null(p);
        assert_int_equal(p->max_memory, (uint64_t) (RAM * 0.9));
        assert_non_null(conf_profile(c, "ci-build"));
        assert_int_equal(conf_profile(c, "ci-nightly")->action, CONF_ACTION_FREEZE);
        assert_string_equal(conf_match_watch(c, "/system.slice/slurmstepd.scope/job_4242")->profile, "hpc-batch");
        assert_string_equal(conf_match_watch(c, "/system.slice/docker-4f1e.scope")->profile, "ci-build");
        assert_string_equal(conf_match(c, 1000, 1000, "srun ./a.out",
                                       "/system.slice/slurmstepd.scope/job_7/step_0")->name, "hpc-batch");
        assert_string_equal(conf_match(c, 1000, 1000, "./nightly-bench --all", "/user.slice")->name,
                            "ci-nightly");
        assert_string_equal(conf_match(c, 1000, 1000, "bash", "/user.slice")->name, "default");
        check_dump_reloads(c);

        /* The main file alone is the built-in configuration: everything in it is commented out. */
        assert_int_equal(conf_load(SHIPPED_CONF, NULL, RAM, &main_only, NULL), 0);
        assert_int_equal(conf_new_default(&builtin), 0);
        conf_equal(main_only, builtin);

        /* Uncommenting every "#key = value" line and the "#[profile default]" header must give the
         * built-in configuration again: the documented defaults are the real ones. */
        text = file_read(SHIPPED_CONF);
        assert_non_null(text);
        for (char *l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n'))
                if (l[0] == '#' && ((l[1] >= 'a' && l[1] <= 'z' && strstr(l, " =") &&
                                     strstr(l, " =") < l + strcspn(l, "\n")) ||
                                    strncmp(l + 1, "[profile default]", 17) == 0))
                        l[0] = ' ';
        uncommented = load_good(text);
        conf_equal(uncommented, builtin);
        assert_string_equal(uncommented->profiles[0].file, "t.conf");

        /* ... and every key of those sections is there: the dump lists them all. */
        dump = dump_string(builtin);
        for (const char *l = dump; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n')) {
                _cleanup_free_ char *needle = NULL;

                if (*l < 'a' || *l > 'z')
                        continue;
                assert_true(asprintf(&needle, "\n %.*s =", (int) strcspn(l, " "), l) > 0);
                if (!strstr(text, needle))
                        fail_msg("key '%s' is not documented in conf/memguard.conf", needle + 2);
        }
}

static void test_dump_format(void **state) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        _cleanup_free_ char *dump = NULL;

        /* Exact values in the largest unit that divides them; odd ones survive the round trip. */
        c = load_good("[daemon]\nhost-reserve = 1.5K\ninterval = 1500ms\n"
                      "[profile p]\nmax-memory = 4000\nmax-process-memory = 2T\nkill-threshold = 33.3333%\n"
                      "warn-at = 0.000000000000001\ngrace = 90s\nlog-every = 2h\nwarn-every = 1us\n"
                      "interval = 1.001s\nspike-rate = 1000B\n");
        dump = dump_string(c);
        assert_non_null(strstr(dump, "\nhost-reserve = 1536B\n"));
        assert_non_null(strstr(dump, "\ninterval = 1500ms\n"));
        assert_non_null(strstr(dump, "\nmax-memory = 4000M\n"));
        assert_non_null(strstr(dump, "\nmax-process-memory = 2T\n"));
        assert_non_null(strstr(dump, "\nkill-threshold = 0.333333\n"));
        assert_non_null(strstr(dump, "\nwarn-at = 0.000000000000001\n"));
        assert_non_null(strstr(dump, "\ngrace = 90s\n"));
        assert_non_null(strstr(dump, "\nlog-every = 2h\n"));
        assert_non_null(strstr(dump, "\nwarn-every = 1us\n"));
        assert_non_null(strstr(dump, "\ninterval = 1001ms\n"));
        assert_non_null(strstr(dump, "\nspike-rate = 1000B/s\n"));
        assert_non_null(strstr(dump, "\n# from t.conf:4\n[profile p]\n"));
        check_dump_reloads(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_keys_good),
                cmocka_unit_test(test_keys_bad),
                cmocka_unit_test(test_unknown_keys_and_sections),
                cmocka_unit_test(test_section_headers),
                cmocka_unit_test(test_syntax),
                cmocka_unit_test(test_duplicates),
                cmocka_unit_test(test_default_profile),
                cmocka_unit_test(test_several_errors),
                cmocka_unit_test(test_no_cascades),
                cmocka_unit_test(test_too_many_errors),
                cmocka_unit_test(test_errors_append),
                cmocka_unit_test(test_socket_path),
                cmocka_unit_test(test_many_sections),
                cmocka_unit_test(test_long_lines),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_percent_without_ram),
                cmocka_unit_test(test_quoting),
                cmocka_unit_test(test_match),
                cmocka_unit_test(test_dropins),
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_shipped),
                cmocka_unit_test(test_dump_format),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
