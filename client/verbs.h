/* SPDX-License-Identifier: MIT */
/* The memguard client's verbs: one file each, behind the table in memguard.c. run takes the arguments
 * after its own name (argv[0] is the verb) and returns the process exit code; the verbs that talk to
 * a running memguardd are entries for ctl_run. */
#pragma once

#include "ctl.h"

int verb_run(int argc, char **argv);
extern const struct ctl_verb verb_status;
extern const struct ctl_verb verb_show;
extern const struct ctl_verb verb_kill;
extern const struct ctl_verb verb_freeze;
extern const struct ctl_verb verb_thaw;
extern const struct ctl_verb verb_limit;
extern const struct ctl_verb verb_reload;
extern const struct ctl_verb verb_profiles;
