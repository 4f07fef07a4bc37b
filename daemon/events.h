/* SPDX-License-Identifier: MIT */
/* memguardd's journal records: one MESSAGE_ID per kind of event (explained in
 * systemd/memguard.catalog), with the job's fields on every record. Where no journald listens the same
 * records go to stderr or the log file, fields in brackets. */
#pragma once

#include <stdint.h>

#include "macro.h"

#define EVENTS_JOB_STARTED "dfd41587938b4b199c42df82a34a7340"
#define EVENTS_JOB_ADOPTED "ac23c488e10b446e9ad636a130a500dd"
#define EVENTS_JOB_WARNING "2270aab3af694c4ba4b538c50c83a0b6"
#define EVENTS_JOB_THRESHOLD "b59470accdf64bc2bc17bb8fce340c8d"
#define EVENTS_JOB_SIGTERM "4f2a10ff068344db92d9a6dfedd0345c"
#define EVENTS_JOB_SIGKILL "b2f72c01a00641a59c89671bf8147705"
#define EVENTS_JOB_KERNEL_OOM "8a6e1ad11a0743f4b59d0f444672f706"
#define EVENTS_JOB_ENDED "004df36ceef54204ba3c50c7c9c01c11"
#define EVENTS_JOB_USAGE "bc6e549bb06246e88e709d03d8655759"
#define EVENTS_JOB_SPIKE "2ac0ab9f7a0c43aaa580ba139832a76c"

struct manager;
struct mjob;

/* Writes a record for every job event worth one (the journal listener). */
int events_listen(struct manager *m);

/* One record about a job, with MEMGUARD_JOB, MEMGUARD_USER, MEMGUARD_PROFILE, MEMGUARD_LIMIT_BYTES,
 * MEMGUARD_CURRENT_BYTES, MEMGUARD_PEAK_BYTES, MEMGUARD_CGROUP, MEMGUARD_COMMAND, the three sizes
 * formatted (MEMGUARD_LIMIT, "none" for no limit; MEMGUARD_CURRENT; MEMGUARD_PEAK) and OBJECT_PID. */
void events_job(const struct mjob *j, int level, const char *message_id, uint64_t current_bytes,
                const char *format, ...) _printf_(5, 6);
