#!/usr/bin/env bash
# Every committed fuzz input through its harness, one test per target: the corpora are regression
# tests in every build. The harness runs the files named and exits (a libFuzzer build does the same
# with files, not directories), so a crash or a broken promise fails the target and names its input.
# make check-valgrind runs the harnesses under memcheck (MEMGUARD_VALGRIND, tests/integration/lib.sh).
. "$top_srcdir/tests/integration/lib.sh"

mapfile -t targets < <(grep -v '^#' "$top_srcdir/fuzz/targets")
tap_plan "${#targets[@]}"
for t in "${targets[@]}"; do
        bin=$top_builddir/fuzz/fuzz-$t
        inputs=("$top_srcdir/fuzz/corpus/$t"/*)
        if [ ! -e "${inputs[0]}" ]; then
                not_ok "$t: no inputs in fuzz/corpus/$t"
                continue
        fi
        # Under make check-valgrind, memcheck's errors make the harness exit non-zero.
        if "${MG_VALGRIND[@]}" "$bin" "${inputs[@]}" >"$TEST_TMP/$t.log" 2>&1; then
                ok "$t: ${#inputs[@]} inputs"
        else
                not_ok "$t: ${#inputs[@]} inputs"
                grep '^Running:' "$TEST_TMP/$t.log" | tail -n 1 | sed 's/^/# crashed on /'
                diag_file "$TEST_TMP/$t.log" 40
        fi
done
tap_done
