/* SPDX-License-Identifier: MIT */
/* Text a user chose (a command line, a process name) made safe for line-based output: every control
 * character (below 0x20, and DEL) becomes \xNN, so one record stays one line, nobody can forge the
 * next one, and no terminal obeys an escape sequence a job carries. */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* s escaped into buf (always terminated; cut short when buf is too small). Returns buf. */
char *escape_control(const char *s, char *buf, size_t size);
/* s escaped, newly allocated; NULL without memory. */
char *escape_control_dup(const char *s);
/* s escaped, written to f. */
void escape_control_fputs(const char *s, FILE *f);
