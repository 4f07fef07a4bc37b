/* SPDX-License-Identifier: MIT */
#include "fakecg.h"
#include "fixture.h"
#include "host.h"

static int fixture_setup(void **state, const char *fixture) {
        fakecg_reset();
        return host_setup(state, fixture);
}

int fixture_setup_cgroup2(void **state) {
        return fixture_setup(state, CGROUP2_HOST);
}

int fixture_setup_cgroup1(void **state) {
        return fixture_setup(state, CGROUP1_HOST);
}

int fixture_setup_procfs(void **state) {
        return fixture_setup(state, PROCFS_HOST);
}

int fixture_teardown(void **state) {
        fakecg_reset();
        return host_teardown(state);
}
