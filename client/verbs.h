/* SPDX-License-Identifier: MIT */
/* The memguard client's verbs: one file each, behind the table in memguard.c. Each takes the
 * arguments after its own name (argv[0] is the verb) and returns the process exit code. */
#pragma once

int verb_run(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_show(int argc, char **argv);
int verb_kill(int argc, char **argv);
int verb_freeze(int argc, char **argv);
int verb_thaw(int argc, char **argv);
int verb_limit(int argc, char **argv);
int verb_reload(int argc, char **argv);
int verb_profiles(int argc, char **argv);
