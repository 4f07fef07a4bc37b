#!/usr/bin/env bash
# Fuzz each target for FUZZ_SECONDS (default 30), starting from its committed corpus, in a libFuzzer
# build (./configure --enable-fuzz CC=clang). A finding is saved as fuzz/crash-NAME-* in the build
# tree, to replay with "fuzz/fuzz-NAME FILE" and to commit to fuzz/corpus/NAME once fixed.
# FUZZ_TARGETS="conf bus" picks some; FUZZ_RUNS=N stops each after N inputs instead of the time.
. "$top_srcdir/tests/integration/lib.sh"

secs=${FUZZ_SECONDS:-30}
# A leak libsystemd has and memguard cannot fix (the file says which) must not stop the bus fuzzer.
export LSAN_OPTIONS="suppressions=$top_srcdir/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
mapfile -t targets < <(if [ -n "${FUZZ_TARGETS:-}" ]; then printf '%s\n' $FUZZ_TARGETS; else grep -v '^#' "$top_srcdir/fuzz/targets"; fi)
tap_plan "${#targets[@]}"
for t in "${targets[@]}"; do
        bin=$top_builddir/fuzz/fuzz-$t
        # New inputs go to a scratch directory: the committed corpus stays as it is.
        work=$TEST_TMP/corpus-$t
        mkdir -p "$work"
        limit=(-max_total_time="$secs")
        [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
        dict=()
        [ -e "$top_srcdir/fuzz/$t.dict" ] && dict=(-dict="$top_srcdir/fuzz/$t.dict")
        log=$TEST_TMP/$t.log
        start=$(date +%s)
        "$bin" "${limit[@]}" "${dict[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$top_builddir/fuzz/crash-$t-" "$work" "$top_srcdir/fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
        took=$(($(date +%s) - start))
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
        if [ "$rc" = 0 ]; then
                ok "$t: ${execs:-?} executions in ${took}s, ${cov:-cov: ?}, 0 crashes"
        else
                not_ok "$t: exit $rc after ${execs:-?} executions in ${took}s"
                diag_file "$log" 60
        fi
done
tap_done
