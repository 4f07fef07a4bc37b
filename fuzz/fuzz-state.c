/* SPDX-License-Identifier: MIT */
/* A job record (daemon/state.h): the JSON memguardd reads back from its state directory and from the
 * xattr on a job's cgroup after a restart. A record that parses must name a job, a source and a
 * cgroup, with limits the policy accepts. */
#include <errno.h>
#include <stdint.h>

#include "fuzz.h"
#include "macro.h"
#include "policy.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_text(data, size);
        if (!s)
                return 0;

        struct state_job job;
        int r = state_parse(s, &job);
        fuzz_assert(r == 0 || r == -EINVAL);
        if (r < 0)
                return 0;
        fuzz_assert(job.id != 0 && job.source && job.cgroup);
        const char *why;
        fuzz_assert(policy_limits_validate(&job.limits, &why) == 0);
        state_job_done(&job);
        return 0;
}
