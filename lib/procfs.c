/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "procfs.h"
#include "sysroot.h"

/* stat is a few hundred bytes; status grows with the CPU count (Cpus_allowed on big machines), so
 * leave it room; cmdline is cut, not refused, since it is only shown to people. */
#define PROCFS_STAT_MAX ((size_t) 4096)
#define PROCFS_STATUS_MAX ((size_t) 64 * 1024)
#define PROCFS_MEMINFO_MAX ((size_t) 64 * 1024)
#define PROCFS_CMDLINE_MAX ((size_t) 32 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static bool procfs_is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool procfs_is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Reads an unsigned decimal of [p, end) into *ret; the whole range must be digits. */
static int procfs_parse_u64_range(const char *p, const char *end, uint64_t *ret) {
        uint64_t v = 0;

        if (p >= end)
                return -EINVAL;
        for (; p < end; p++) {
                if (!procfs_is_digit(*p))
                        return -EINVAL;
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t) (*p - '0'), &v))
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int procfs_parse_pid_range(const char *p, const char *end, pid_t *ret) {
        uint64_t v;
        int r;

        r = procfs_parse_u64_range(p, end, &v);
        if (r < 0)
                return r;
        if (v > INT_MAX)
                return -EINVAL;
        *ret = (pid_t) v;
        return 0;
}

/* Next space-separated field of a stat line: [*ret_start, *ret_end). -EINVAL when the line ends. */
static int procfs_next_field(const char **p, const char **ret_start, const char **ret_end) {
        const char *s = *p, *e;

        if (*s != ' ')
                return -EINVAL;
        s++;
        for (e = s; *e && *e != ' ' && *e != '\n'; e++)
                ;
        if (e == s)
                return -EINVAL;
        *ret_start = s;
        *ret_end = e;
        *p = e;
        return 0;
}

int procfs_parse_stat(const char *text, struct procfs_stat *ret) {
        struct procfs_stat st = {};
        const char *open, *close, *p, *fs, *fe;
        uint64_t v;
        size_t l;
        int r;

        if (!text || !ret)
                return -EINVAL;

        /* The comm may hold anything, ')' and "(" included; only the last ')' is surely ours. */
        open = strchr(text, '(');
        close = strrchr(text, ')');
        if (!open || !close || close < open)
                return -EINVAL;

        if (open == text || open[-1] != ' ')
                return -EINVAL;
        r = procfs_parse_pid_range(text, open - 1, &st.pid);
        if (r < 0)
                return r;
        if (st.pid <= 0)
                return -EINVAL;

        l = MIN((size_t) (close - open - 1), sizeof(st.comm) - 1);
        memcpy(st.comm, open + 1, l);
        st.comm[l] = 0;

        /* Field 3, the state: one character. */
        p = close + 1;
        r = procfs_next_field(&p, &fs, &fe);
        if (r < 0)
                return r;
        if (fe - fs != 1)
                return -EINVAL;
        st.state = *fs;

        /* Fields 4 and 5: ppid and pgrp, 0 for the kernel's own roots. */
        r = procfs_next_field(&p, &fs, &fe);
        if (r < 0)
                return r;
        r = procfs_parse_pid_range(fs, fe, &st.ppid);
        if (r < 0)
                return r;
        r = procfs_next_field(&p, &fs, &fe);
        if (r < 0)
                return r;
        r = procfs_parse_pid_range(fs, fe, &st.pgrp);
        if (r < 0)
                return r;

        /* Fields 6 to 21 only have to be there; some are signed (priority, nice). */
        for (unsigned i = 6; i <= 21; i++) {
                r = procfs_next_field(&p, &fs, &fe);
                if (r < 0)
                        return r;
        }

        /* Field 22: starttime. */
        r = procfs_next_field(&p, &fs, &fe);
        if (r < 0)
                return r;
        r = procfs_parse_u64_range(fs, fe, &v);
        if (r < 0)
                return r;
        st.starttime = v;

        *ret = st;
        return 0;
}

/* When line starts with key (which includes the ':'), returns what follows it, else NULL. */
static const char *procfs_line_value(const char *line, const char *key) {
        size_t l = strlen(key);

        return strncmp(line, key, l) == 0 ? line + l : NULL;
}

/* "   1234 kB" up to the end of the line. */
static int procfs_parse_kib(const char *p, const char *eol, uint64_t *ret) {
        const char *e;

        while (p < eol && procfs_is_blank(*p))
                p++;
        for (e = p; e < eol && procfs_is_digit(*e); e++)
                ;
        if (e == p)
                return -EINVAL;
        /* The unit is always "kB"; accept a line without it, but nothing else after the number. */
        if (e < eol && !(eol - e == 3 && memcmp(e, " kB", 3) == 0))
                return -EINVAL;
        return procfs_parse_u64_range(p, e, ret);
}

/* Undoes the kernel's escaping of the Name: field, which turns '\n' into "\n" and '\\' into "\\".
 * Since a real backslash is always escaped, any other "\x" cannot come from the kernel: keep it. */
static void procfs_unescape_name(const char *p, const char *eol, char *buf, size_t size) {
        size_t n = 0;

        while (p < eol && n + 1 < size) {
                if (p[0] == '\\' && p + 1 < eol && (p[1] == 'n' || p[1] == '\\')) {
                        buf[n++] = p[1] == 'n' ? '\n' : '\\';
                        p += 2;
                } else
                        buf[n++] = *p++;
        }
        buf[n] = 0;
}

int procfs_parse_status(const char *text, struct procfs_status *ret) {
        struct procfs_status st = {
                /* Never guess root for a missing Uid: line. */
                .uid = (uid_t) -1,
        };
        bool have_name = false, have_ppid = false, have_uid = false, have_hwm = false;
        const char *line, *eol, *v;
        uint64_t n;
        int r;

        if (!text || !ret)
                return -EINVAL;

        for (line = text; *line; line = *eol ? eol + 1 : eol) {
                eol = strchrnul(line, '\n');

                if (!have_name && (v = procfs_line_value(line, "Name:"))) {
                        /* A tab follows the colon; the name itself may hold tabs and spaces. */
                        if (v < eol && *v == '\t')
                                v++;
                        procfs_unescape_name(v, eol, st.name, sizeof(st.name));
                        have_name = true;
                } else if (!have_ppid && (v = procfs_line_value(line, "PPid:"))) {
                        while (v < eol && procfs_is_blank(*v))
                                v++;
                        r = procfs_parse_pid_range(v, eol, &st.ppid);
                        if (r < 0)
                                return r;
                        have_ppid = true;
                } else if (!have_uid && (v = procfs_line_value(line, "Uid:"))) {
                        const char *e;

                        /* Real, effective, saved, filesystem: the first one is the owner. */
                        while (v < eol && procfs_is_blank(*v))
                                v++;
                        for (e = v; e < eol && !procfs_is_blank(*e); e++)
                                ;
                        r = procfs_parse_u64_range(v, e, &n);
                        if (r < 0)
                                return r;
                        if (n >= (uid_t) -1)
                                return -EINVAL;
                        st.uid = (uid_t) n;
                        have_uid = true;
                } else if (!st.has_vm && (v = procfs_line_value(line, "VmRSS:"))) {
                        r = procfs_parse_kib(v, eol, &st.rss_kib);
                        if (r < 0)
                                return r;
                        st.has_vm = true;
                } else if (!have_hwm && (v = procfs_line_value(line, "VmHWM:"))) {
                        r = procfs_parse_kib(v, eol, &st.hwm_kib);
                        if (r < 0)
                                return r;
                        have_hwm = true;
                }
        }

        if (!have_name || !have_ppid)
                return -EINVAL;

        *ret = st;
        return 0;
}

int procfs_parse_statm(const char *text, uint64_t *ret_resident_pages) {
        const char *p, *e;
        uint64_t v;
        int r;

        if (!text || !ret_resident_pages)
                return -EINVAL;

        /* Fields: size, resident, then five more. The first must be a number too, or the second is
         * not what we think it is. */
        for (e = text; procfs_is_digit(*e); e++)
                ;
        if (e == text || *e != ' ')
                return -EINVAL;

        p = e + 1;
        for (e = p; procfs_is_digit(*e); e++)
                ;
        if (*e != ' ' && *e != '\n' && *e != 0)
                return -EINVAL;
        r = procfs_parse_u64_range(p, e, &v);
        if (r < 0)
                return r;

        *ret_resident_pages = v;
        return 0;
}

static int procfs_kib_to_bytes(uint64_t kib, uint64_t *ret) {
        return __builtin_mul_overflow(kib, KIB, ret) ? -ERANGE : 0;
}

int procfs_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_avail) {
        uint64_t total = 0, avail = 0, free_kib = 0, buffers = 0, cached = 0;
        bool have_total = false, have_avail = false, have_free = false;
        const char *line, *eol, *v;
        int r;

        if (!text || !ret_total)
                return -EINVAL;

        for (line = text; *line; line = *eol ? eol + 1 : eol) {
                uint64_t *field = NULL;
                bool *have = NULL;

                eol = strchrnul(line, '\n');

                if ((v = procfs_line_value(line, "MemTotal:")))
                        field = &total, have = &have_total;
                else if ((v = procfs_line_value(line, "MemAvailable:")))
                        field = &avail, have = &have_avail;
                else if ((v = procfs_line_value(line, "MemFree:")))
                        field = &free_kib, have = &have_free;
                else if ((v = procfs_line_value(line, "Buffers:")))
                        field = &buffers;
                else if ((v = procfs_line_value(line, "Cached:")))
                        field = &cached;
                if (!field)
                        continue;

                r = procfs_parse_kib(v, eol, field);
                if (r < 0)
                        return r;
                if (have)
                        *have = true;
        }

        /* A machine with no memory is a broken file, and would turn "80%" into zero. */
        if (!have_total || total == 0)
                return -EINVAL;
        r = procfs_kib_to_bytes(total, ret_total);
        if (r < 0)
                return r;

        if (ret_avail) {
                /* Kernels before 3.14 have no MemAvailable: fall back to its old approximation. */
                if (!have_avail) {
                        if (!have_free)
                                return -EINVAL;
                        avail = free_kib;
                        if (__builtin_add_overflow(avail, buffers, &avail) ||
                            __builtin_add_overflow(avail, cached, &avail))
                                return -ERANGE;
                }
                r = procfs_kib_to_bytes(avail, ret_avail);
                if (r < 0)
                        return r;
        }
        return 0;
}

char *procfs_cmdline_to_string(const char *buf, size_t len) {
        char *s;

        if (!buf)
                len = 0;

        /* The final NUL ends the last argument; processes that rewrite their title (setproctitle)
         * pad with many more. Neither is a separator. */
        while (len > 0 && buf[len - 1] == 0)
                len--;

        s = malloc(len + 1);
        if (!s)
                return NULL;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) buf[i];

                if (c == 0)
                        s[i] = ' ';
                else if (c < 0x20 || c == 0x7f)
                        s[i] = '?';
                else
                        s[i] = (char) c;
        }
        s[len] = 0;
        return s;
}

static int procfs_pid_path(char *buf, size_t size, pid_t pid, const char *file) {
        if (pid <= 0)
                return -EINVAL;
        snprintf(buf, size, "%d/%s", (int) pid, file);
        return 0;
}

int procfs_read_stat(const struct sysroot *s, pid_t pid, struct procfs_stat *ret) {
        _cleanup_free_ char *text = NULL;
        struct procfs_stat st;
        char path[32];
        ssize_t n;
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = procfs_pid_path(path, sizeof(path), pid, "stat");
        if (r < 0)
                return r;

        n = sysroot_read_proc(s, path, &text, PROCFS_STAT_MAX);
        if (n < 0)
                return (int) n;

        r = procfs_parse_stat(text, &st);
        if (r < 0)
                return r;
        /* Only a broken tree disagrees with its own directory name. */
        if (st.pid != pid)
                return -EINVAL;

        *ret = st;
        return 0;
}

int procfs_read_status(const struct sysroot *s, pid_t pid, struct procfs_status *ret) {
        _cleanup_free_ char *text = NULL;
        char path[32];
        ssize_t n;
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = procfs_pid_path(path, sizeof(path), pid, "status");
        if (r < 0)
                return r;

        n = sysroot_read_proc(s, path, &text, PROCFS_STATUS_MAX);
        if (n < 0)
                return (int) n;

        return procfs_parse_status(text, ret);
}

int procfs_read_cmdline(const struct sysroot *s, pid_t pid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        char path[32], *str;
        size_t len = 0;
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = procfs_pid_path(path, sizeof(path), pid, "cmdline");
        if (r < 0)
                return r;

        fd = sysroot_open_proc(s, path, O_RDONLY);
        if (fd < 0)
                return fd;

        /* A java classpath can run to megabytes: keep the head, which is what a reader looks at. */
        ssize_t n = sysroot_read_head(fd, &buf, PROCFS_CMDLINE_MAX);
        if (n < 0)
                return (int) n;
        len = (size_t) n;

        str = procfs_cmdline_to_string(buf, len);
        if (!str)
                return -ENOMEM;
        *ret = str;
        return 0;
}

int procfs_read_meminfo(const struct sysroot *s, uint64_t *ret_total, uint64_t *ret_avail) {
        _cleanup_free_ char *text = NULL;
        ssize_t n;

        if (!s || !ret_total)
                return -EINVAL;

        n = sysroot_read_proc(s, "meminfo", &text, PROCFS_MEMINFO_MAX);
        if (n < 0)
                return (int) n;

        return procfs_parse_meminfo(text, ret_total, ret_avail);
}

struct procfs_link {
        pid_t pid;
        pid_t ppid;
};

static int procfs_link_cmp_pid(const void *a, const void *b) {
        const struct procfs_link *x = a, *y = b;

        return (x->pid > y->pid) - (x->pid < y->pid);
}

static int procfs_link_cmp_ppid(const void *a, const void *b) {
        const struct procfs_link *x = a, *y = b;

        if (x->ppid != y->ppid)
                return (x->ppid > y->ppid) - (x->ppid < y->ppid);
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A /proc entry name that is a pid: digits only, no sign, no leading zero. */
static pid_t procfs_dirent_pid(const char *name) {
        pid_t pid;

        if (name[0] == '0')
                return 0;
        if (procfs_parse_pid_range(name, name + strlen(name), &pid) < 0)
                return 0;
        return pid;
}

/* Every pid in the proc dir with its parent, each pid once. */
static int procfs_scan_links(const struct sysroot *s, struct procfs_link **ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ struct procfs_link *links = NULL;
        size_t n = 0, cap = 0, k = 0;
        struct dirent *de;
        int fd;

        fd = sysroot_open_proc(s, ".", O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }

        for (;;) {
                struct procfs_stat st;
                pid_t pid;
                int r;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }

                pid = procfs_dirent_pid(de->d_name);
                if (pid <= 0)
                        continue;

                r = procfs_read_stat(s, pid, &st);
                /* Exited between readdir and read, or died while the kernel built the text. With
                 * hidepid=1 other users' entries are listed but closed: not ours to manage, and no
                 * reason to lose the whole scan. */
                if (r == -ENOENT || r == -ESRCH || r == -EINVAL || r == -EACCES || r == -EPERM)
                        continue;
                if (r < 0)
                        return r;

                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 256;
                        struct procfs_link *nl = reallocarray(links, ncap, sizeof(*links));

                        if (!nl)
                                return -ENOMEM;
                        links = nl;
                        cap = ncap;
                }
                links[n++] = (struct procfs_link) { .pid = pid, .ppid = st.ppid };
        }

        /* One entry per pid: a pid seen twice would otherwise bring its subtree in twice. */
        if (n > 0) {
                qsort(links, n, sizeof(*links), procfs_link_cmp_pid);
                for (size_t i = 1; i < n; i++)
                        if (links[i].pid != links[k].pid)
                                links[++k] = links[i];
                n = k + 1;
        }

        *ret = TAKE_PTR(links);
        *ret_n = n;
        return 0;
}

int procfs_descendants(const struct sysroot *s, pid_t root, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ struct procfs_link *links = NULL;
        _cleanup_free_ pid_t *out = NULL;
        size_t nlinks = 0, nout = 0;
        int r;

        if (!s || root <= 0 || !ret || !ret_n)
                return -EINVAL;

        r = procfs_scan_links(s, &links, &nlinks);
        if (r < 0)
                return r;

        /* Each pid is listed once, so it is queued at most once: nlinks bounds the result. Never
         * empty, so callers can tell an allocation from a failure. */
        out = reallocarray(NULL, MAX(nlinks, (size_t) 1), sizeof(*out));
        if (!out)
                return -ENOMEM;

        if (nlinks > 0)
                qsort(links, nlinks, sizeof(*links), procfs_link_cmp_ppid);

        /* Breadth first: out[] doubles as the queue. Children of a pid sit together once sorted by
         * ppid. root is never queued, so a ppid loop through it (pid reuse) cannot spin. */
        for (size_t head = 0; head <= nout; head++) {
                pid_t parent = head == 0 ? root : out[head - 1];
                size_t lo = 0, hi = nlinks;

                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;

                        if (links[mid].ppid < parent)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (size_t i = lo; i < nlinks && links[i].ppid == parent; i++)
                        if (links[i].pid != root)
                                out[nout++] = links[i].pid;
        }

        *ret = TAKE_PTR(out);
        *ret_n = nout;
        return 0;
}
