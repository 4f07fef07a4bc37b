/* SPDX-License-Identifier: MIT */
/* Parsers for /proc/PID/{stat,status,statm,cmdline} and /proc/meminfo, and the per-process reads
 * built on them. The parsers take the text, so unit tests feed them hostile input directly (a comm of
 * "a) R 1 (", embedded newlines, truncated files). Readers return -ESRCH/-ENOENT when the process
 * vanished: that is normal, callers skip it quietly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sysroot;

#define PROCFS_COMM_MAX 64

struct procfs_stat {
        pid_t pid;
        char comm[PROCFS_COMM_MAX];  /* as in the file, any bytes but NUL, truncated */
        char state;
        pid_t ppid;
        pid_t pgrp;
        uint64_t starttime;          /* clock ticks after boot: with pid, a key safe from pid reuse */
};

struct procfs_status {
        char name[PROCFS_COMM_MAX];  /* "Name:" with the kernel's escaping undone for \n and \\ */
        pid_t ppid;
        uid_t uid;                   /* real uid */
        uint64_t rss_kib;            /* VmRSS, 0 for kernel threads and zombies */
        uint64_t hwm_kib;            /* VmHWM: the kernel's own per-process peak */
        bool has_vm;                 /* false when the Vm* lines are absent (zombie, kernel thread) */
};

/* Parse the contents of /proc/PID/stat. The comm is everything between the first '(' and the LAST ')',
 * since a comm may hold ')' and spaces. -EINVAL on malformed text. */
int procfs_parse_stat(const char *text, struct procfs_stat *ret);

/* Parse the contents of /proc/PID/status. -EINVAL when Name or PPid is missing or a number is bad. */
int procfs_parse_status(const char *text, struct procfs_status *ret);

/* Parse /proc/PID/statm: resident pages (second field). */
int procfs_parse_statm(const char *text, uint64_t *ret_resident_pages);

/* Parse /proc/meminfo's MemTotal (and MemAvailable when ret_avail is not NULL), in bytes. */
int procfs_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_avail);

/* Turn the NUL-separated /proc/PID/cmdline (len bytes) into one printable line: arguments joined by
 * spaces, control characters shown as '?'. Returns a malloc'ed string, or NULL on OOM. An empty
 * cmdline (kernel thread, zombie) gives "". */
char *procfs_cmdline_to_string(const char *buf, size_t len);

/* Read and parse for a pid through the sysroot. */
int procfs_read_stat(const struct sysroot *s, pid_t pid, struct procfs_stat *ret);
int procfs_read_status(const struct sysroot *s, pid_t pid, struct procfs_status *ret);
int procfs_read_cmdline(const struct sysroot *s, pid_t pid, char **ret);
int procfs_read_meminfo(const struct sysroot *s, uint64_t *ret_total, uint64_t *ret_avail);

/* Every pid that descends from root (root itself excluded) by a full scan of /proc and the ppid links,
 * since /proc/PID/task/TID/children is not built into every kernel. *ret is malloc'ed. */
int procfs_descendants(const struct sysroot *s, pid_t root, pid_t **ret, size_t *ret_n);
