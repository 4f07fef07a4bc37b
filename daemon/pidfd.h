/* SPDX-License-Identifier: MIT */
/* What a pidfd a client handed over points at. */
#pragma once

#include <sys/types.h>

/* The pid behind a pidfd of ours, from /proc/self/fdinfo: -ESRCH when the process is gone, -EBADF
 * when fd is no pidfd. */
int pidfd_get_pid(int fd, pid_t *ret);
