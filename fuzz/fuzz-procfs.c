/* SPDX-License-Identifier: MIT */
/* The /proc parsers (lib/procfs.h): the text as /proc/PID/stat, status, statm and /proc/meminfo, the
 * raw bytes as /proc/PID/cmdline. Any process can put nearly anything in its comm and its argv. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_text(data, size);
        if (!s)
                return 0;

        struct procfs_stat st;
        if (procfs_parse_stat(s, &st) == 0) {
                fuzz_assert(st.pid > 0);
                fuzz_assert(strnlen(st.comm, sizeof(st.comm)) < sizeof(st.comm));
        }

        struct procfs_status status;
        int r = procfs_parse_status(s, &status);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ERANGE);
        if (r == 0)
                fuzz_assert(strnlen(status.name, sizeof(status.name)) < sizeof(status.name));

        uint64_t pages, total, avail;
        (void) procfs_parse_statm(s, &pages);
        (void) procfs_parse_meminfo(s, &total, NULL);
        (void) procfs_parse_meminfo(s, &total, &avail);

        /* cmdline is not a C string: its NULs separate the arguments. */
        _cleanup_free_ char *line = procfs_cmdline_to_string((const char *) data, size);
        if (line) {
                fuzz_assert(strlen(line) <= size);
                for (const char *p = line; *p; p++)
                        fuzz_assert((unsigned char) *p >= 0x20 && *p != 0x7f);
        }
        return 0;
}
