#!/usr/bin/env bash
# memguardd --check-config, as an administrator runs it: golden files. Each good file prints its
# effective configuration exactly as its .out says and exits 0; each bad file prints exactly the errors
# its .err lists (every one, with file:line) and exits 1; the shipped configuration is valid, and what
# --check-config prints of it is itself a valid configuration that prints the same again.
. "$(dirname "$0")/lib.sh"

[ -x "$MEMGUARDD" ] || skip_all "memguardd is not built ($MEMGUARDD)"
FIX=$top_srcdir/tests/fixtures/conf

goods=(good-empty good-full)
bads=(bad-syntax bad-values bad-references bad-socket)
tap_plan $((2 * ${#goods[@]} + 2 * ${#bads[@]} + 4))

# Sizes in percent are of the host's RAM: the golden files were made with 8 GiB, which a small fake
# root (only its /proc/meminfo is read) provides.
mkdir -p "$TEST_TMP/root/proc"
printf 'MemTotal:       8388608 kB\nMemAvailable:   8388608 kB\n' >"$TEST_TMP/root/proc/meminfo"
# The fixtures name their files relative to their directory: run from there, as the unit test does.
cd "$FIX" || exit 0
for g in "${goods[@]}"; do
        "$MEMGUARDD" --check-config --sysroot "$TEST_TMP/root" -f "$g.conf" >"$TEST_TMP/$g.out" 2>"$TEST_TMP/$g.err"
        rc=$?
        check_eq "$g.conf: --check-config exits 0" 0 "$rc" || diag_file "$TEST_TMP/$g.err"
        if diff -u "$g.out" "$TEST_TMP/$g.out" >"$TEST_TMP/diff" 2>&1; then
                ok "$g.conf: the effective configuration is exactly $g.out"
        else
                not_ok "$g.conf: the effective configuration is exactly $g.out"; diag_file "$TEST_TMP/diff" 40
        fi
done
for b in "${bads[@]}"; do
        "$MEMGUARDD" --check-config --sysroot "$TEST_TMP/root" -f "$b.conf" >"$TEST_TMP/$b.out" 2>"$TEST_TMP/$b.err"
        rc=$?
        check_eq "$b.conf: --check-config exits 1" 1 "$rc"
        # The errors, then one summary line.
        grep -v '^memguardd: configuration has [0-9]* errors\?$' "$TEST_TMP/$b.err" >"$TEST_TMP/$b.errors"
        if diff -u "$b.err" "$TEST_TMP/$b.errors" >"$TEST_TMP/diff" 2>&1 && [ ! -s "$TEST_TMP/$b.out" ]; then
                ok "$b.conf: every error exactly as $b.err lists it, nothing on stdout"
        else
                not_ok "$b.conf: every error exactly as $b.err lists it, nothing on stdout"; diag_file "$TEST_TMP/diff" 40
        fi
done

cd "$top_srcdir" || exit 0
"$MEMGUARDD" --check-config -f conf/memguard.conf >"$TEST_TMP/shipped.out" 2>"$TEST_TMP/shipped.err"
check_eq "the shipped memguard.conf and its conf.d examples are valid" 0 "$?" || diag_file "$TEST_TMP/shipped.err"
check "... and it says so" grep -qx "memguardd: configuration OK" "$TEST_TMP/shipped.err"
# What was printed loads again (from a directory without conf.d) and prints the same.
mkdir -p "$TEST_TMP/again"
cp "$TEST_TMP/shipped.out" "$TEST_TMP/again/memguard.conf"
"$MEMGUARDD" --check-config -f "$TEST_TMP/again/memguard.conf" >"$TEST_TMP/again.out" 2>"$TEST_TMP/again.err"
check_eq "the printed effective configuration is itself valid" 0 "$?" || diag_file "$TEST_TMP/again.err"
# Only the provenance comments ("# from FILE:LINE", "# built in") may differ.
if diff <(grep -v '^#' "$TEST_TMP/shipped.out") <(grep -v '^#' "$TEST_TMP/again.out") >"$TEST_TMP/diff"; then
        ok "and it prints the same configuration again"
else
        not_ok "and it prints the same configuration again"; diag_file "$TEST_TMP/diff" 40
fi
tap_done
