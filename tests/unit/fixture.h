/* SPDX-License-Identifier: MIT */
/* The fixture hosts of the backend tests (tests/fixtures/cgroup2-host, cgroup1-host, procfs-host) and
 * what the tests ask of them, and their cmocka setups: each test gets a private copy (host.h) with the
 * fake cgroupfs (fakecg.h) reset, to be armed by the test. */
#pragma once

#ifndef FIXTURES
#error "FIXTURES must name the tests/fixtures directory"
#endif

#define CGROUP2_HOST FIXTURES "/cgroup2-host"
#define CGROUP1_HOST FIXTURES "/cgroup1-host"
#define PROCFS_HOST FIXTURES "/procfs-host"

/* The leaf every test asks for, and where it lands on each fixture host. */
#define JOB "memguard-test"
#define V2_JOB_DIR "user.slice/test/" JOB
#define V1_MEM_JOB_DIR "memory/user.slice/test/" JOB
#define V1_UNI_JOB_DIR "unified/user.slice/test/" JOB

/* Above PID_MAX_LIMIT (2^22), so no process of this machine has these pids. The kill tests list only
 * them: should the guard against signalling fixture pids ever break, the test fails on -ESRCH instead
 * of signalling whatever runs as pid 201 here. */
#define UNREACHABLE_PIDS "4194401\n4194402\n"
#define UNREACHABLE_PID 4194401

/* cmocka setups: *state is a struct host on a copy of that fixture host. */
int fixture_setup_cgroup2(void **state);
int fixture_setup_cgroup1(void **state);
int fixture_setup_procfs(void **state);
/* The fake kernel forgets the copy before it goes. */
int fixture_teardown(void **state);
