/* SPDX-License-Identifier: MIT */
/* The interface's names, for bus.c (methods and objects) and bus-signal.c (signals). */
#pragma once

#define BUS_NAME "org.memguard.Manager1"
#define BUS_PATH "/org/memguard/Manager1"
#define BUS_INTERFACE "org.memguard.Manager1"
#define BUS_JOB_INTERFACE "org.memguard.Job1"
#define BUS_JOB_PREFIX "/org/memguard/Manager1/job"
