# SPDX-License-Identifier: MIT
# TAP helpers for the guest test scripts (busybox sh). Sourced by guest-cgroup2.sh and
# guest-systemd.sh inside the VM; their stdout is the TAP port (ttyS1), their stderr the console.
#
#   t NAME "description"     runs the function t_NAME in a subshell as one TAP test
#   fail MSG                 the current test fails, MSG is shown
#   skip REASON              the current test is a skip (call it, then return)
#   note MSG                 a diagnostic shown whether the test passes or not
#   context MSG / context_file LABEL FILE   shown only when the test fails
#   expect_eq WHAT GOT WANT, expect_num WHAT GOT OP WANT (OP: < <= == >= > !=), expect_match WHAT TEXT ERE
#   mg_run NAME ARGS...      memguard run --json ... ARGS; sets RC and ELAPSED (seconds), keeps output
#   mg_start NAME ARGS... / mg_wait NAME   the same in the background
#   js NAME JQ-FILTER        a field of run NAME's JSON report
#   finish                   prints the plan; call last
# Inside a test function stdout and stderr go to a file shown on failure; fd 3 is the console (and,
# under systemd, the journal).

MG_N=0
MG_W=/tmp/mg
mkdir -p "$MG_W"
MG_RUN_TIMEOUT=${MG_RUN_TIMEOUT:-90}
MIB=1048576

MG_ONLY=
for w in $(cat /proc/cmdline); do
        case "$w" in
        mg.only=*) MG_ONLY=$(echo "${w#mg.only=}" | base64 -d 2>/dev/null) ;;
        esac
done

now() { awk '{ print $1 }' /proc/uptime; }
elapsed_since() { awk -v t0="$1" '{ printf "%.2f", $1 - t0 }' /proc/uptime; }

note() { echo "$*" >>"$MG_W/note"; }
context() { echo "$*" >>"$MG_W/context"; }
context_file() {
        [ -f "$2" ] || return 0
        echo "$1:" >>"$MG_W/context"
        tail -n 25 "$2" | sed 's/^/    /' >>"$MG_W/context"
}
fail() {
        echo "FAIL: $*" >>"$MG_W/fail"
        return 0
}
skip() { echo "$*" >"$MG_W/skip"; }

expect_eq() {
        if [ "$2" != "$3" ]; then
                fail "$1: got '$2', want '$3'"
        fi
}
# Numbers, integer or decimal, compared by awk (no 32-bit overflow, no shell arithmetic on "null").
expect_num() {
        if ! awk -v a="$2" -v b="$4" -v op="$3" 'BEGIN {
                if (a !~ /^-?[0-9]+(\.[0-9]+)?$/ || b !~ /^-?[0-9]+(\.[0-9]+)?$/) exit 1
                a += 0; b += 0
                if (op == "<") exit !(a < b); if (op == "<=") exit !(a <= b)
                if (op == "==") exit !(a == b); if (op == ">=") exit !(a >= b)
                if (op == ">") exit !(a > b); if (op == "!=") exit !(a != b)
                exit 1 }'; then
                fail "$1: got '$2', want $3 $4"
        fi
}
expect_match() {
        if ! printf '%s\n' "$2" | grep -Eq -- "$3"; then
                fail "$1: '$2' does not match /$3/"
        fi
}
mib() { awk -v b="$1" 'BEGIN { if (b ~ /^[0-9]+$/) printf "%.1f MiB", b / 1048576; else printf "%s", b }'; }

# Every cgroup a memguard left behind anywhere in the tree.
mg_leftover_cgroups() {
        find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name 'memguard-[0-9]*' 2>/dev/null
}

t() {
        name=$1
        shift
        MG_N=$((MG_N + 1))
        if [ -n "$MG_ONLY" ] && ! echo "$name" | grep -Eq -- "$MG_ONLY"; then
                echo "ok $MG_N - $name: $* # SKIP not selected by MEMGUARD_VM_ONLY=$MG_ONLY"
                return 0
        fi
        rm -f "$MG_W/fail" "$MG_W/skip" "$MG_W/note" "$MG_W/context"
        echo "=== mg-vm: test $MG_N $name ===" >&2
        t0=$(now)
        (t_"$name") 3>&2 >"$MG_W/$name.stdout" 2>&1
        rc=$?
        took=$(elapsed_since "$t0")
        [ $rc -ne 0 ] && fail "the test function itself exited with $rc"
        if [ -n "${MG_CHECK_LEFTOVERS:-1}" ] && [ "${MG_CHECK_LEFTOVERS:-1}" != 0 ] && [ ! -f "$MG_W/skip" ]; then
                left=$(mg_leftover_cgroups)
                if [ -n "$left" ]; then
                        fail "cgroups left behind: $(echo $left)"
                        mg_reap_cgroups
                fi
        fi
        if [ -f "$MG_W/skip" ]; then
                echo "ok $MG_N - $name: $* # SKIP $(cat "$MG_W/skip")"
        elif [ -f "$MG_W/fail" ]; then
                echo "not ok $MG_N - $name: $*"
                sed 's/^/  /' "$MG_W/fail" | sed 's/^/#/'
                [ -f "$MG_W/note" ] && sed 's/^/#   /' "$MG_W/note"
                [ -f "$MG_W/context" ] && sed 's/^/#   /' "$MG_W/context"
                [ -s "$MG_W/$name.stdout" ] && tail -n 15 "$MG_W/$name.stdout" | sed 's/^/#   stdout: /'
        else
                echo "ok $MG_N - $name: $*"
                [ -f "$MG_W/note" ] && sed 's/^/#   /' "$MG_W/note"
        fi
        echo "#   ($name took ${took}s)"
        cat "$MG_W/fail" "$MG_W/note" >&2 2>/dev/null
        return 0
}

finish() {
        echo "1..$MG_N"
}

# mg_run NAME [memguard run options] -- COMMAND...
mg_run() {
        _n=$1
        shift
        rm -f "$MG_W/$_n".*
        echo "memguard run --json $MG_W/$_n.json $*" >"$MG_W/$_n.cmd"
        _t0=$(now)
        timeout -s KILL "$MG_RUN_TIMEOUT" memguard run --json "$MG_W/$_n.json" "$@" >"$MG_W/$_n.out" 2>"$MG_W/$_n.err"
        RC=$?
        ELAPSED=$(elapsed_since "$_t0")
        echo "$RC" >"$MG_W/$_n.rc"
        mg_check_timeout "$_n"
        mg_context "$_n"
        return 0
}

mg_start() {
        _n=$1
        shift
        rm -f "$MG_W/$_n".*
        echo "memguard run --json $MG_W/$_n.json $*" >"$MG_W/$_n.cmd"
        now >"$MG_W/$_n.t0"
        (
                timeout -s KILL "$MG_RUN_TIMEOUT" memguard run --json "$MG_W/$_n.json" "$@" >"$MG_W/$_n.out" 2>"$MG_W/$_n.err"
                echo $? >"$MG_W/$_n.rc"
        ) &
        MG_BG=$!
}

mg_wait() {
        wait "$MG_BG"
        RC=$(cat "$MG_W/$1.rc" 2>/dev/null || echo none)
        ELAPSED=$(elapsed_since "$(cat "$MG_W/$1.t0")")
        mg_check_timeout "$1"
        mg_context "$1"
}

# memguard that does not return is killed (SIGKILL, so a memguard stuck in its own SIGTERM handling
# cannot hang the guest): say so plainly.
mg_check_timeout() {
        if [ "$RC" = 137 ] && awk -v e="$ELAPSED" -v t="$MG_RUN_TIMEOUT" 'BEGIN { exit !(e >= t - 1) }'; then
                fail "run $1: memguard did not return within ${MG_RUN_TIMEOUT}s and was SIGKILLed"
        fi
}

# Ends and removes what a failed run left behind: thaw, kill, rmdir, deepest first.
mg_reap_cgroups() {
        for d in $(mg_leftover_cgroups | sort -r); do
                echo 0 >"$d/cgroup.freeze" 2>/dev/null
                echo 1 >"$d/cgroup.kill" 2>/dev/null
        done
        # A killed group empties when its last process is reaped: rmdir succeeds from then on.
        for d in $(mg_leftover_cgroups | sort -r); do
                wait_until 10 rmdir "$d" 2>/dev/null
        done
}

mg_context() {
        {
                echo "--- run $1: $(cat "$MG_W/$1.cmd")"
                echo "--- exit $RC after ${ELAPSED}s; stderr:"
                cat "$MG_W/$1.err"
        } >&3
        context "run $1: $(cat "$MG_W/$1.cmd")"
        context "  exit $RC after ${ELAPSED}s"
        context_file "  stderr" "$MG_W/$1.err"
        context_file "  stdout" "$MG_W/$1.out"
        if [ -f "$MG_W/$1.json" ]; then
                mg_flatten "$1"
                context "  json: $(grep -v '^processes_count' "$MG_W/$1.flat" | tr '\t\n' '= ' | cut -c1-1500)"
        else
                context "  (no JSON report written)"
        fi
}

# One jq run per report (jq starts slowly under TCG): every scalar as "path<TAB>value", nulls as
# "null", plus processes_count; js then looks fields up by path.
mg_flatten() {
        [ -f "$MG_W/$1.json" ] || return 0
        jq -r '(del(.processes, .groups, .command, .timeline)
                | paths(type != "object" and type != "array") as $p
                | "\($p | map(tostring) | join("."))\t\(getpath($p))"),
               "processes_count\t\(.processes | length)"' "$MG_W/$1.json" >"$MG_W/$1.flat" 2>"$MG_W/$1.jqerr" ||
                context_file "  jq failed on the JSON report" "$MG_W/$1.jqerr"
}

# js NAME .path.to.field   (a flat path, e.g. .peak.kernel_high_water_bytes or .processes_count)
js() {
        [ -f "$MG_W/$1.flat" ] || return 0
        awk -F '\t' -v k="${2#.}" '$1 == k { print substr($0, length(k) + 2); exit }' "$MG_W/$1.flat"
}

# Waits up to $2 seconds (default 20) for a file to exist and be non-empty; with $3, the name of a
# run started by mg_start, gives up as soon as that run has ended.
wait_file() {
        _i=0
        _max=$(((${2:-20}) * 20))
        while [ ! -s "$1" ]; do
                _i=$((_i + 1))
                [ $_i -gt $_max ] && return 1
                [ -n "${3:-}" ] && [ -f "$MG_W/$3.rc" ] && [ ! -s "$1" ] && return 1
                sleep 0.05
        done
        return 0
}

# wait_until SECONDS COMMAND [ARGS...]: polls every 50ms until COMMAND succeeds; 1 after SECONDS. The
# guest is emulated on a shared machine: callers give ceilings far above what an idle host needs.
wait_until() {
        _i=0
        _max=$(($1 * 20))
        shift
        while ! "$@"; do
                _i=$((_i + 1))
                [ $_i -gt $_max ] && return 1
                sleep 0.05
        done
        return 0
}

# The v2 cgroup directory of a pid, from /proc/PID/cgroup.
cgroup_dir_of() {
        _p=$(sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null)
        [ -n "$_p" ] || return 1
        echo "/sys/fs/cgroup$_p" | sed 's#/$##'
}

# Is the pid gone (no such process, or a zombie nobody reaped yet)?
pid_gone() {
        [ -d "/proc/$1" ] || return 0
        _s=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
        [ -z "$_s" ] || [ "$_s" = Z ] || [ "$_s" = X ]
}
