/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "pidfd.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose)

/* /proc/self is this daemon's own: no sysroot, which points at the supervised host's /proc. */
int pidfd_get_pid(int fd, pid_t *ret) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
        _cleanup_(fclosep) FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        char line[256];
        int r = -EBADF;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "Pid:", 4) == 0) {
                        long v = strtol(line + 4, NULL, 10);
                        r = v > 0 ? 0 : -ESRCH;  /* -1: the process is gone */
                        if (v > 0)
                                *ret = (pid_t) v;
                        break;
                }
        return r;
}
