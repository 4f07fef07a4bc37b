/* SPDX-License-Identifier: MIT */
/* Whole files in and out, for tests that set up or read back what the code under test sees. */
#pragma once

#include <stddef.h>

/* The file's bytes with a NUL after them (a file with NUL bytes in it reads short as a string);
 * NULL when it cannot be opened. A failed read fails the test. */
char *file_read(const char *path);

/* Writes exactly these bytes, creating or truncating the file in place (O_TRUNC keeps the inode, so a
 * descriptor the code under test keeps open sees the new bytes at its next read from offset 0). A
 * failed open or write fails the test. */
void file_write(const char *path, const void *data, size_t size);
