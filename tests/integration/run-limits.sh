#!/bin/bash
# memguard run: the job is stopped at its limits on every backend this host has, and not otherwise.
. "$(dirname "$0")/lib.sh"
require_binaries
require_jq
probe_backends

J=$TEST_TMP/report.json

# --- per backend: a fast allocator is stopped, a tree of processes is summed ---------------------------
for b in cgroup2 cgroup1 procfs; do
        if ! have_backend "$b"; then
                skip "$b: a fast allocator is stopped at --max-memory" "$b is not available here: $(backend_why "$b")"
                skip "$b: a tree of 4 allocating children is summed" "$b is not available here"
                continue
        fi

        rm -f "$J"
        mg run --backend "$b" --max-memory 300 --json "$J" -- "$MEMHOG" --rate 1000 --size 3000
        check_rc "$b: memhog --rate 1000 --size 3000 with --max-memory 300 is stopped with exit 10" 10
        # Stopped, not finished: it never got to allocate all it asked for (a count, not a timing).
        check "$b: ... before it allocated its 3000 MiB (peak $(jget "$J" .max_total_rss_kib) KiB)" \
                test "$(jget "$J" '.max_total_rss_kib // 3072000')" -lt $((3000 * 1024))
        check_eq "$b: ... the JSON report says backend $b" "$b" "$(jget "$J" .backend)"
        check_eq "$b: ... verdict killed" "killed" "$(jget "$J" .verdict)" || diag "reason: $(jget "$J" .reason)"
        peak_kib=$(jget "$J" .max_total_rss_kib)
        high=$(jget "$J" .peak.kernel_high_water_bytes)
        # It crossed the kill threshold (240 MiB) to be stopped: the peak must show at least that.
        check "$b: ... the peak is reported, at least the 240 MiB threshold it crossed (${peak_kib} KiB)" \
                test "${peak_kib:-0}" -ge $((240 * 1024))
        if [ "$b" = procfs ]; then
                check_eq "$b: ... no kernel high-water mark without a cgroup" "null" "$high"
        else
                # The kernel enforces max-memory as a hard ceiling: the peak can never be above it.
                if [ "$high" = null ] && [ "$b" = cgroup2 ]; then
                        diag "no memory.peak on this kernel (before 5.19): only max_total_rss_kib is checked"
                        high=0
                fi
                if [ "${high:-x}" != null ] && [ "${high:-0}" -le $((300 * MIB)) ] && [ "${peak_kib:-0}" -le $((300 * 1024)) ]; then
                        ok "$b: ... the recorded peak never exceeds --max-memory (high-water ${high} B, max_total_rss_kib ${peak_kib})"
                else
                        not_ok "$b: ... the recorded peak never exceeds --max-memory"
                        diag "kernel_high_water_bytes=$high (limit $((300 * MIB))), max_total_rss_kib=$peak_kib (limit $((300 * 1024)))"
                fi
        fi

        # The children hold their memory until memguard has sampled them all at once: until its log's
        # "Memory usage:" line says 4 x 60 MiB, and two more lines (two seconds of samples) have come.
        rm -f "$J" "$TEST_TMP/go" "$TEST_TMP/usage.log"
        mg_bg run --backend "$b" --json "$J" --log-file "$TEST_TMP/usage.log" -- \
                "$MEMHOG" --children 4 --size 60 --go "$TEST_TMP/go"
        wait_for 10 usage_seen "$TEST_TMP/usage.log" 240 || diag "$b: memguard's log never said 240 MiB"
        seen=$(usage_lines "$TEST_TMP/usage.log")
        wait_for 10 test "$(usage_lines "$TEST_TMP/usage.log")" -ge $((seen + 2))
        touch "$TEST_TMP/go"
        mg_wait
        check_rc "$b: memhog --children 4 --size 60 held until sampled, without a limit, exits 0" 0
        peak_kib=$(jget "$J" .max_total_rss_kib)
        nproc=$(jget "$J" '.processes | length')
        # 4 x 60 MiB, less 10% for timing and rounding.
        check "$b: ... the children are summed: max_total_rss_kib ${peak_kib} >= 4 x 60 MiB x 0.9" \
                test "${peak_kib:-0}" -ge $((4 * 60 * 1024 * 9 / 10))
        check "$b: ... the processes list has the parent and its 4 children (${nproc} entries)" test "${nproc:-0}" -ge 5 ||
                diag "$(jget "$J" '.processes[] | "\(.pid) \(.ppid) \(.command) \(.max_rss_kib)"')"
done

# --- auto picks the first backend that works --------------------------------------------------------------
rm -f "$J"
mg run --json "$J" -- true
check_eq "auto picks the first backend that works here (of ${BACKENDS[*]})" "${BACKENDS[0]}" "$(jget "$J" .backend)"

# --- a job under its limit ----------------------------------------------------------------------------------
rm -f "$J"
mg run --max-memory 500 --json "$J" -- "$MEMHOG" --size 50 --hold 0.3 --exit 3
check_rc "a job under its limit (50 of 500 MiB) keeps its own exit code 3" 3
check_eq "... its verdict is 'failed' (report.c: a non-zero exit)" "failed" "$(jget "$J" .verdict)"
check_eq "... and the reason is its exit status" "exited with status 3" "$(jget "$J" .reason)"
check_eq "... the JSON exit_code is 3" "3" "$(jget "$J" .exit_code)"

# --- --limit-exit-code ----------------------------------------------------------------------------------------
rm -f "$J"
mg run --max-memory 300 --limit-exit-code 137 --json "$J" -- "$MEMHOG" --rate 1000 --size 3000
check_rc "--limit-exit-code 137 turns the limit's exit code 10 into 137" 137
check_eq "... the JSON exit_code is 137 too" "137" "$(jget "$J" .exit_code)"
check_eq "... and the verdict is still killed" "killed" "$(jget "$J" .verdict)"

# --- --max-process-memory -----------------------------------------------------------------------------------
# Each child holds its 200 MiB until it is stopped (--hold is a ceiling only), so the sampler sees it over
# 120 MiB (80% of 150) however late it comes; without --hold a child can cross and exit between two
# samples (see below).
rm -f "$J" "$TEST_TMP/children.pid"
mg run --max-process-memory 150 --json "$J" -- "$MEMHOG" --children 2 --size 200 --hold 120 --pidfile "$TEST_TMP/children.pid"
check_rc "--max-process-memory 150 with 2 children of 200 MiB each stops the job with exit 11" 11
reason=$(jget "$J" .reason)
culprit=$(printf '%s' "$reason" | sed -n 's/^process \([0-9][0-9]*\) (memhog).*/\1/p')
if [ -n "$culprit" ] && grep -qx "$culprit" "$TEST_TMP/children.pid" 2>/dev/null; then
        ok "... the JSON reason names the process, one of the children: $reason"
else
        not_ok "... the JSON reason names the process, one of the children"
        diag "reason: $reason" "children: $(tr '\n' ' ' <"$TEST_TMP/children.pid" 2>/dev/null)"
fi
check_eq "... verdict killed" "killed" "$(jget "$J" .verdict)"

# The adaptive sampling must tighten near the per-process threshold as it does near the job's: the man
# page promises "100ms with plenty of headroom, shrinking toward 10ms as the job approaches its
# threshold". A process holds 130 MiB against a threshold of 150 MiB (no stop) until a logged sample
# has seen it there; the report's shortest_interval_ms is the shortest interval the sampler chose.
# What the sampler decided, not when a loaded machine's timers fired: counting samples in a window,
# or the gaps between them, failed under load (timers came 80 ms late).
L=$TEST_TMP/near.log
sampled_near() { grep -Eq 'Memory usage: 1[2-9][0-9]\.[0-9] MiB' "$L"; }
shortest_near() {  # shortest_near LIMIT_OPTIONS...: ms=the job's shortest chosen interval, in ms
        rm -f "$J" "$L" "$TEST_TMP/near.go"
        mg_bg run --backend procfs "$@" --kill-threshold 1 --json "$J" --log-file "$L" -q -- \
                "$MEMHOG" --size 130 --rate 300 --go "$TEST_TMP/near.go"
        wait_for 30 sampled_near || diag "no logged sample at 120 MiB or more: $(tail -n 2 "$L" 2>/dev/null)"
        touch "$TEST_TMP/near.go"
        mg_wait
        ms=$(jget "$J" .shortest_interval_ms)
}
tight() { awk -v ms="$1" 'BEGIN { exit !(ms != "" && ms != "null" && ms + 0 <= 20) }'; }
shortest_near --max-memory 5000
check_eq "far from its limit (130 of 5000 MiB) the sampler keeps to 100ms (shortest_interval_ms)" 100 "$ms"
shortest_near --max-memory 150
check "near --max-memory (130 of 150 MiB), sampling tightens: shortest_interval_ms ${ms} (want <= 20)" tight "$ms"
shortest_near --max-process-memory 150
if check "near --max-process-memory, sampling tightens too: shortest_interval_ms ${ms} (want <= 20)" tight "$ms"; then
        :
else
        diag "policy_next_interval() looks only at max-memory headroom: with only --max-process-memory the" \
             "interval stays 100ms, so a process can cross its threshold and exit between two samples."
fi

# --- --dry-run --------------------------------------------------------------------------------------------------
rm -f "$J" "$TEST_TMP/dry.pid"
mg run --dry-run --max-memory 200 --json "$J" -- "$MEMHOG" --rate 1000 --size 300 --hold 0.2 --exit 0 --pidfile "$TEST_TMP/dry.pid"
check_rc "--dry-run: a job over its limit is never stopped and ends with its own exit code 0" 0
check_eq "... the verdict says it would have been killed" "would have been killed (dry run)" "$(jget "$J" .verdict)"
check_eq "... dry_run is true in the JSON" "true" "$(jget "$J" .dry_run)"
check_eq "... the job was not signalled (signal null)" "null" "$(jget "$J" .signal)"
peak_kib=$(jget "$J" .max_total_rss_kib)
check "... it ran to its full 300 MiB, past the limit (max_total_rss_kib ${peak_kib})" test "${peak_kib:-0}" -ge $((280 * 1024))
if grep -q "sent SIG" "$MG_ERR"; then
        not_ok "... memguard says it sent no signal"
        mg_diag
else
        ok "... memguard says it sent no signal"
fi

# --- --warn-at ---------------------------------------------------------------------------------------------------
# At 300 MB/s there are ~0.3s between the warning (150 MiB) and the kill threshold (240 MiB).
mg run --max-memory 300 --warn-at 0.5 -- "$MEMHOG" --rate 300 --size 3000
check_rc "--warn-at 0.5 with a job growing past its limit: stopped with 10" 10
warn_line=$(grep -n "warning:.*job uses" "$MG_ERR" | head -n1 | cut -d: -f1)
kill_line=$(grep -n "MEMORY THRESHOLD EXCEEDED" "$MG_ERR" | head -n1 | cut -d: -f1)
if [ -n "$warn_line" ] && [ -n "$kill_line" ] && [ "$warn_line" -lt "$kill_line" ]; then
        ok "... a warning is printed on stderr before the kill"
else
        not_ok "... a warning is printed on stderr before the kill"
        mg_diag
fi

check_no_cgroups_left
tap_done
