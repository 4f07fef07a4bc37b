/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "sysroot.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_FILE_MAX (1024 * 1024)
#define CGROUP_PIDS_MAX (16 * 1024 * 1024)

void cgroup_layout_done(struct cgroup_layout *l) {
        if (!l)
                return;
        free(l->v2_mount);
        free(l->v1_memory_mount);
        free(l->v2_path);
        free(l->v1_memory_path);
        free(l->v2_root);
        free(l->v1_memory_root);
        *l = (struct cgroup_layout) {};
}

int cgroup_list_has(const char *text, const char *controller) {
        size_t n = strlen(controller);
        for (const char *p = text; p && *p;) {
                p += strspn(p, " \t\n");
                size_t k = strcspn(p, " \t\n");
                if (k == n && strncmp(p, controller, n) == 0)
                        return 1;
                p += k;
        }
        return 0;
}

/* Is "memory" one of the comma-separated controllers of a v1 line ("4:memory:/x", "3:cpu,memory:/")? */
static int cgroup_controllers_have_memory(const char *s, size_t len) {
        while (len > 0) {
                const char *comma = memchr(s, ',', len);
                size_t k = comma ? (size_t) (comma - s) : len;
                if (k == 6 && strncmp(s, "memory", 6) == 0)
                        return 1;
                if (!comma)
                        break;
                s += k + 1;
                len -= k + 1;
        }
        return 0;
}

int cgroup_parse_proc_cgroup(const char *text, char **ret_v2_path, char **ret_v1_memory_path) {
        _cleanup_free_ char *v2 = NULL, *v1 = NULL;

        for (const char *line = text; line && *line;) {
                const char *eol = strchrnul(line, '\n');
                /* hierarchy-ID:controller-list:cgroup-path; the path itself may contain ':'. */
                const char *c1 = memchr(line, ':', (size_t) (eol - line));
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t) (eol - c1 - 1)) : NULL;
                if (!c1 || !c2 || c2[1] != '/')
                        return -EINVAL;
                const char *path = c2 + 1;
                size_t plen = (size_t) (eol - path);

                if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
                        free(v2);
                        v2 = strndup(path, plen);
                        if (!v2)
                                return -ENOMEM;
                } else if (cgroup_controllers_have_memory(c1 + 1, (size_t) (c2 - c1 - 1))) {
                        free(v1);
                        v1 = strndup(path, plen);
                        if (!v1)
                                return -ENOMEM;
                }
                line = *eol ? eol + 1 : eol;
        }
        if (ret_v2_path)
                *ret_v2_path = TAKE_PTR(v2);
        if (ret_v1_memory_path)
                *ret_v1_memory_path = TAKE_PTR(v1);
        return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *cgroup_unescape(const char *s, size_t len) {
        char *out = malloc(len + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
                    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

int cgroup_parse_mountinfo(const char *text, char **ret_v2_mount, char **ret_v1_memory_mount) {
        return cgroup_parse_mountinfo_roots(text, ret_v2_mount, NULL, ret_v1_memory_mount, NULL);
}

int cgroup_parse_mountinfo_roots(const char *text, char **ret_v2_mount, char **ret_v2_root,
                                 char **ret_v1_memory_mount, char **ret_v1_memory_root) {
        _cleanup_free_ char *v2 = NULL, *v1 = NULL, *v2r = NULL, *v1r = NULL;

        for (const char *line = text; line && *line;) {
                const char *eol = strchrnul(line, '\n');
                /* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
                const char *f[5];
                size_t flen[5];
                const char *p = line;
                int i;
                for (i = 0; i < 5 && p < eol; i++) {
                        f[i] = p;
                        const char *sp = memchr(p, ' ', (size_t) (eol - p));
                        flen[i] = (size_t) ((sp ? sp : eol) - p);
                        p = sp ? sp + 1 : eol;
                }
                if (i < 5)
                        return -EINVAL;
                const char *sep = strstr(p, " - ");
                if (!sep || sep > eol) {
                        /* "- " may directly follow the options when there are no optional fields. */
                        if (strncmp(p, "- ", 2) == 0)
                                sep = p - 1;
                        else
                                return -EINVAL;
                }
                const char *fstype = sep + 3;
                const char *fsend = memchr(fstype, ' ', (size_t) (eol - fstype));
                if (!fsend)
                        return -EINVAL;
                size_t fslen = (size_t) (fsend - fstype);
                const char *source_end = memchr(fsend + 1, ' ', (size_t) (eol - fsend - 1));
                const char *super = source_end ? source_end + 1 : eol;

                if (fslen == 7 && strncmp(fstype, "cgroup2", 7) == 0) {
                        free(v2);
                        free(v2r);
                        v2 = cgroup_unescape(f[4], flen[4]);
                        v2r = cgroup_unescape(f[3], flen[3]);
                        if (!v2 || !v2r)
                                return -ENOMEM;
                } else if (fslen == 6 && strncmp(fstype, "cgroup", 6) == 0 &&
                           cgroup_controllers_have_memory(super, (size_t) (eol - super))) {
                        free(v1);
                        free(v1r);
                        v1 = cgroup_unescape(f[4], flen[4]);
                        v1r = cgroup_unescape(f[3], flen[3]);
                        if (!v1 || !v1r)
                                return -ENOMEM;
                }
                line = *eol ? eol + 1 : eol;
        }
        if (ret_v2_mount)
                *ret_v2_mount = TAKE_PTR(v2);
        if (ret_v2_root)
                *ret_v2_root = TAKE_PTR(v2r);
        if (ret_v1_memory_mount)
                *ret_v1_memory_mount = TAKE_PTR(v1);
        if (ret_v1_memory_root)
                *ret_v1_memory_root = TAKE_PTR(v1r);
        return 0;
}

/* "/sys/fs/cgroup" -> "", "/sys/fs/cgroup/unified" -> "unified", elsewhere -> NULL. */
static char *cgroup_relative_mount(const char *abs) {
        size_t n = strlen(CGROUP_ROOT);
        if (!abs || strncmp(abs, CGROUP_ROOT, n) != 0)
                return NULL;
        if (abs[n] == 0)
                return strdup("");
        if (abs[n] != '/')
                return NULL;
        return strdup(abs + n + 1);
}

int cgroup_layout_read(const struct sysroot *s, pid_t pid, struct cgroup_layout *ret) {
        char path[64];
        _cleanup_free_ char *mi = NULL, *cg = NULL, *v2m = NULL, *v1m = NULL;
        struct cgroup_layout l = {};
        int r;

        if (pid <= 0)
                pid = s->self_pid;
        if (pid > 0)
                snprintf(path, sizeof(path), "%d/mountinfo", (int) pid);
        else
                snprintf(path, sizeof(path), "self/mountinfo");
        ssize_t n = sysroot_read_proc(s, path, &mi, CGROUP_FILE_MAX);
        if (n < 0)
                return (int) n;
        r = cgroup_parse_mountinfo_roots(mi, &v2m, &l.v2_root, &v1m, &l.v1_memory_root);
        if (r < 0) {
                cgroup_layout_done(&l);
                return r;
        }

        if (pid > 0)
                snprintf(path, sizeof(path), "%d/cgroup", (int) pid);
        else
                snprintf(path, sizeof(path), "self/cgroup");
        n = sysroot_read_proc(s, path, &cg, CGROUP_FILE_MAX);
        if (n < 0) {
                cgroup_layout_done(&l);
                return (int) n;
        }
        r = cgroup_parse_proc_cgroup(cg, &l.v2_path, &l.v1_memory_path);
        if (r < 0) {
                cgroup_layout_done(&l);
                return r;
        }
        if (v2m)
                l.v2_mount = cgroup_relative_mount(v2m);
        if (v1m)
                l.v1_memory_mount = cgroup_relative_mount(v1m);
        *ret = l;
        return 0;
}

char *cgroup_dir(const char *mount, const char *root, const char *path, const char *leaf) {
        const char *rel = path ? path : "/";
        if (root && strcmp(root, "/") != 0) {
                size_t n = strlen(root);
                if (strncmp(rel, root, n) != 0 || (rel[n] != 0 && rel[n] != '/'))
                        return NULL;
                rel += n;
        }
        return cgroup_join(mount, rel, leaf);
}

char *cgroup_join(const char *mount, const char *path, const char *leaf) {
        char *out;
        const char *m = mount ? mount : "";
        const char *p = path ? path : "";
        while (*p == '/')
                p++;
        const char *l = leaf ? leaf : "";
        if (asprintf(&out, "%s%s%s%s%s", m, *m && *p ? "/" : "", p, (*m || *p) && *l ? "/" : "", l) < 0)
                return NULL;
        /* Strip a trailing '/' left by a root path, so "unified/" becomes "unified". */
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '/')
                out[--n] = 0;
        return out;
}

char *cgroup_child(const char *parent, const char *leaf) {
        char *p;
        if (asprintf(&p, "%s%s%s", parent, strcmp(parent, "/") == 0 ? "" : "/", leaf) < 0)
                return NULL;
        return p;
}

int cgroup_parse_u64(const char *text, uint64_t *ret) {
        if (strncmp(text, "max", 3) == 0 && (text[3] == 0 || text[3] == '\n')) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (*text < '0' || *text > '9')
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != 0 && *end != '\n')
                return -EINVAL;
        *ret = v;
        return 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        size_t n = strlen(key);
        for (const char *line = text; line && *line;) {
                if (strncmp(line, key, n) == 0 && line[n] == ' ') {
                        const char *v = line + n + 1;
                        if (*v < '0' || *v > '9')
                                return -EINVAL;
                        errno = 0;
                        char *end;
                        unsigned long long x = strtoull(v, &end, 10);
                        if (errno == ERANGE)
                                return -ERANGE;
                        if (*end != 0 && *end != '\n')
                                return -EINVAL;
                        *ret = x;
                        return 0;
                }
                const char *eol = strchr(line, '\n');
                line = eol ? eol + 1 : NULL;
        }
        return -ENOENT;
}

int cgroup_pread_u64(int fd, uint64_t *ret) {
        char buf[64];
        ssize_t n = sysroot_pread_small(fd, buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        return cgroup_parse_u64(buf, ret);
}

int cgroup_pread_keyed(int fd, const char *key, uint64_t *ret) {
        /* memory.stat runs to a few KiB on recent kernels. */
        char buf[8192];
        ssize_t n = sysroot_pread_small(fd, buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        return cgroup_parse_keyed(buf, key, ret);
}

static int cgroup_parse_pids(const char *text, pid_t **ret, size_t *ret_n) {
        size_t cap = 16, k = 0;
        _cleanup_free_ pid_t *pids = malloc(cap * sizeof(pid_t));
        if (!pids)
                return -ENOMEM;
        for (const char *p = text; *p;) {
                char *end;
                errno = 0;
                long v = strtol(p, &end, 10);
                if (end == p || errno || v <= 0 || v > INT_MAX || (*end != '\n' && *end != 0))
                        return -EINVAL;
                if (k == cap) {
                        pid_t *np = realloc(pids, (cap *= 2) * sizeof(pid_t));
                        if (!np)
                                return -ENOMEM;
                        pids = np;
                }
                pids[k++] = (pid_t) v;
                p = *end ? end + 1 : end;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = k;
        return 0;
}

int cgroup_read_pids(const struct sysroot *s, const char *path, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        ssize_t n = sysroot_read_cgroup(s, path, &text, CGROUP_PIDS_MAX);
        if (n < 0)
                return (int) n;
        return cgroup_parse_pids(text, ret, ret_n);
}

int cgroup_reread_pids(int fd, pid_t **ret, size_t *ret_n) {
        /* The kernel renders the list anew from offset 0: no open and close on every sample. */
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        _cleanup_free_ char *text = NULL;
        ssize_t n = sysroot_read_fd(fd, &text, CGROUP_PIDS_MAX);
        if (n < 0)
                return (int) n;
        return cgroup_parse_pids(text, ret, ret_n);
}

int cgroup_pid_in(const struct sysroot *s, pid_t pid, int v2, const char *path) {
        char p[64];
        _cleanup_free_ char *text = NULL, *v2p = NULL, *v1p = NULL;
        snprintf(p, sizeof(p), "%d/cgroup", (int) pid);
        ssize_t n = sysroot_read_proc(s, p, &text, CGROUP_FILE_MAX);
        if (n < 0)
                return (int) n;
        int r = cgroup_parse_proc_cgroup(text, &v2p, &v1p);
        if (r < 0)
                return r;
        const char *have = v2 ? v2p : v1p;
        if (!have)
                return 0;
        size_t len = strlen(path);
        return strncmp(have, path, len) == 0 && (have[len] == 0 || have[len] == '/');
}

int cgroup_mkdir(const struct sysroot *s, const char *path) {
        if (s->cgroup_fd < 0)
                return -ENOENT;
        if (mkdirat(s->cgroup_fd, path, 0755) < 0)
                return -errno;
        return 0;
}

int cgroup_rmdir(const struct sysroot *s, const char *path, uint64_t timeout_usec) {
        if (s->cgroup_fd < 0)
                return -ENOENT;
        for (uint64_t waited = 0;; waited += 10000) {
                if (unlinkat(s->cgroup_fd, path, AT_REMOVEDIR) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || waited >= timeout_usec)
                        return -errno;
                /* Exiting tasks leave the group a moment after they are reaped. */
                usleep(10000);
        }
}

int cgroup_set_xattr(const struct sysroot *s, const char *path, const char *name, const char *value) {
        _cleanup_close_ int fd = sysroot_open_cgroup(s, path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        return fsetxattr(fd, name, value, strlen(value), 0) < 0 ? -errno : 0;
}

int cgroup_get_xattr(const struct sysroot *s, const char *path, const char *name, uid_t *ret_owner, char **ret) {
        _cleanup_close_ int fd = sysroot_open_cgroup(s, path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        struct stat st;
        if (ret_owner && fstat(fd, &st) < 0)
                return -errno;
        if (ret_owner)
                *ret_owner = st.st_uid;
        ssize_t n = fgetxattr(fd, name, NULL, 0);
        if (n < 0)
                return -errno;
        char *v = malloc((size_t) n + 1);
        if (!v)
                return -ENOMEM;
        n = fgetxattr(fd, name, v, (size_t) n);
        if (n < 0) {
                int r = -errno;
                free(v);
                return r;
        }
        v[n] = 0;
        *ret = v;
        return 0;
}
