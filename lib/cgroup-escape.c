/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-escape.h"
#include "cgroup.h"
#include "macro.h"
#include "sysroot.h"

/* v1 prints "no limit" as the largest page-aligned counter (9223372036854771712 on x86-64): anything
 * from 2^62 up is no ceiling anyone set. */
#define CGROUP_ESCAPE_V1_UNLIMITED (UINT64_C(1) << 62)

void cgroup_escape_done(struct cgroup_escape *e) {
        if (!e)
                return;
        free(e->memory_where);
        free(e->other);
        *e = (struct cgroup_escape) { .memory_bytes = UINT64_MAX };
}

bool cgroup_escape_within(const char *path, const char *ancestor) {
        size_t n = strlen(ancestor);
        while (n > 1 && ancestor[n - 1] == '/')
                n--;
        if (n == 1 && ancestor[0] == '/')
                return true;
        return strncmp(path, ancestor, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* The file's first line, or NULL when it is missing or empty. */
static char *cgroup_escape_read_line(const struct sysroot *s, const char *mount, const char *root, const char *path,
                                     const char *name) {
        _cleanup_free_ char *p = cgroup_dir(mount, root, path, name);
        char *text = NULL;
        if (!p || sysroot_read_cgroup(s, p, &text, 4096) < 0)
                return NULL;
        text[strcspn(text, "\n")] = 0;
        if (!*text) {
                free(text);
                return NULL;
        }
        return text;
}

static int cgroup_escape_memory(struct cgroup_escape *e, const char *path, const char *text, bool v2) {
        uint64_t v;
        if (!text || cgroup_parse_u64(text, &v) < 0 || v == UINT64_MAX || (!v2 && v >= CGROUP_ESCAPE_V1_UNLIMITED))
                return 0;
        if (v >= e->memory_bytes)
                return 0;
        char *w = strdup(path);
        if (!w)
                return -ENOMEM;
        free(e->memory_where);
        e->memory_where = w;
        e->memory_bytes = v;
        return 0;
}

/* Is the text of this v2 file a limit someone set ("max", "max 100000", empty: none)? */
static bool cgroup_escape_is_limit(const char *name, const char *text) {
        if (!text)
                return false;
        if (strcmp(name, "cpu.max") == 0 || strcmp(name, "memory.high") == 0 || strcmp(name, "memory.swap.max") == 0)
                return strncmp(text, "max", 3) != 0 || (text[3] != 0 && text[3] != ' ');
        return true;  /* io.max, cpuset.cpus, cpuset.mems: empty unless set */
}

int cgroup_escape_read(const struct sysroot *s, const char *mount, const char *root, bool v2, const char *from,
                       const char *to, struct cgroup_escape *ret) {
        static const char *const v1_memory[] = { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes" };
        static const char *const v2_other[] = { "memory.high", "memory.swap.max", "cpu.max", "io.max",
                                                "cpuset.cpus", "cpuset.mems" };
        *ret = (struct cgroup_escape) { .memory_bytes = UINT64_MAX };
        _cleanup_free_ char *p = strdup(from);
        if (!p)
                return -ENOMEM;
        /* Up from the process's cgroup to the first one the destination is below too: "/" at the latest. */
        while (!cgroup_escape_within(to, p)) {
                for (size_t i = 0; i < (v2 ? 1 : ELEMENTSOF(v1_memory)); i++) {
                        _cleanup_free_ char *text = cgroup_escape_read_line(s, mount, root, p,
                                                                            v2 ? "memory.max" : v1_memory[i]);
                        if (cgroup_escape_memory(ret, p, text, v2) < 0)
                                goto oom;
                }
                for (size_t i = 0; v2 && !ret->other && i < ELEMENTSOF(v2_other); i++) {
                        _cleanup_free_ char *text = cgroup_escape_read_line(s, mount, root, p, v2_other[i]);
                        if (cgroup_escape_is_limit(v2_other[i], text) &&
                            asprintf(&ret->other, "%s %s on %s", v2_other[i], text, p) < 0) {
                                ret->other = NULL;
                                goto oom;
                        }
                }
                char *slash = strrchr(p, '/');
                if (!slash)
                        break;
                if (slash == p)
                        p[1] = 0;
                else
                        *slash = 0;
        }
        return 0;
oom:
        cgroup_escape_done(ret);
        return -ENOMEM;
}
