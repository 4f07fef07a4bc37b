/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

static bool env_has(char **env, const char *entry) {
        for (; *env; env++)
                if (strcmp(*env, entry) == 0)
                        return true;
        return false;
}

static size_t env_count(char **env) {
        size_t n = 0;
        while (env[n])
                n++;
        return n;
}

/* The service manager's channels stay with memguard; everything else, look-alikes included, goes on. */
static void test_environ_drops_service_channels(void **state) {
        assert_int_equal(setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1), 0);
        assert_int_equal(setenv("WATCHDOG_USEC", "1000", 1), 0);
        assert_int_equal(setenv("LISTEN_FDS", "1", 1), 0);
        assert_int_equal(setenv("LISTEN_FDS_X", "kept", 1), 0);
        assert_int_equal(setenv("MY_NOTIFY_SOCKET", "kept", 1), 0);
        assert_int_equal(setenv("PATH", "/usr/bin:/bin", 1), 0);
        size_t before = 0;
        for (char **e = environ; *e; e++)
                before++;

        char **env = NULL;
        assert_int_equal(spawn_environ(&env), 0);
        assert_false(env_has(env, "NOTIFY_SOCKET=/run/systemd/notify"));
        assert_false(env_has(env, "WATCHDOG_USEC=1000"));
        assert_false(env_has(env, "LISTEN_FDS=1"));
        assert_true(env_has(env, "LISTEN_FDS_X=kept"));
        assert_true(env_has(env, "MY_NOTIFY_SOCKET=kept"));
        assert_true(env_has(env, "PATH=/usr/bin:/bin"));
        assert_int_equal(env_count(env), before - 3);
        /* Our own environment is left as it was: only the child's is filtered. */
        assert_string_equal(getenv("NOTIFY_SOCKET"), "/run/systemd/notify");
        free(env);
}

/* A hook's variables go in, replacing look-alikes the daemon was started with, next to everything else. */
static void test_environ_with(void **state) {
        unsetenv("WATCHDOG_USEC");
        unsetenv("LISTEN_FDS");
        assert_int_equal(setenv("MEMGUARD_JOB", "stale", 1), 0);
        assert_int_equal(setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1), 0);
        assert_int_equal(setenv("PATH", "/usr/bin:/bin", 1), 0);
        char job[] = "MEMGUARD_JOB=7", hook[] = "MEMGUARD_HOOK=pre-kill";
        char *extra[] = { job, hook, NULL };
        size_t before = 0;
        for (char **e = environ; *e; e++)
                before++;

        char **env = NULL;
        assert_int_equal(spawn_environ_with(extra, &env), 0);
        assert_true(env_has(env, "MEMGUARD_JOB=7"));
        assert_false(env_has(env, "MEMGUARD_JOB=stale"));
        assert_true(env_has(env, "MEMGUARD_HOOK=pre-kill"));
        assert_false(env_has(env, "NOTIFY_SOCKET=/run/systemd/notify"));
        assert_true(env_has(env, "PATH=/usr/bin:/bin"));
        /* MEMGUARD_JOB replaced, NOTIFY_SOCKET dropped, MEMGUARD_HOOK added */
        assert_int_equal(env_count(env), before - 1 + 1);
        assert_string_equal(getenv("MEMGUARD_JOB"), "stale");
        free(env);
        unsetenv("MEMGUARD_JOB");
}

static void test_environ_empty(void **state) {
        char **saved = environ;
        char *none[] = { NULL };
        environ = none;
        char **env = NULL;
        int r = spawn_environ(&env);
        environ = saved;
        assert_int_equal(r, 0);
        assert_null(env[0]);
        free(env);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_environ_drops_service_channels),
                cmocka_unit_test(test_environ_with),
                cmocka_unit_test(test_environ_empty),
        };

        /* The automake harness reads every test's output as TAP. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
