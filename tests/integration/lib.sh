# Helpers for the integration scripts (bash, TAP). Source it from a script in this directory:
#     . "$(dirname "$0")/lib.sh"
# It finds the binaries, makes a private temporary directory, prints TAP, runs memguard under a hard
# timeout and checks that no job cgroup is left behind. Scripts exit 0: TAP decides.

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MEMGUARD=${MEMGUARD:-$top_builddir/client/memguard}
MEMHOG=${MEMHOG:-$top_builddir/tests/helpers/memhog}
# Hard upper bound for one memguard run, in seconds: a hung run fails, it does not hang the suite. Far
# above what any run needs on an idle machine (a few seconds), since a busy one must not fail a run.
MG_TIMEOUT=${MG_TIMEOUT:-150}
MIB=1048576

# --- TAP -------------------------------------------------------------------------------------------
TAP_N=0
TAP_PLANNED=

tap_plan() { TAP_PLANNED=$1; echo "1..$1"; }
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); echo "not ok $TAP_N - $*"; }
# skip DESCRIPTION REASON
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
# Diagnostics: each argument (and each line in it) as a "# " line.
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# diag_file FILE [MAX_LINES]
diag_file() {
        [ -e "$1" ] || { diag "($1: missing)"; return; }
        diag "--- $(basename "$1") (last ${2:-15} lines):"
        tail -n "${2:-15}" "$1" | sed 's/^/#   /'
}
# check DESCRIPTION COMMAND [ARGS...]: ok when the command succeeds. Returns its status so a caller
# can add diagnostics: check "x" test 1 = 2 || diag "why"
check() {
        local desc=$1
        shift
        if "$@"; then
                ok "$desc"
                return 0
        fi
        not_ok "$desc"
        return 1
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
        if [ "$2" = "$3" ]; then
                ok "$1"
                return 0
        fi
        not_ok "$1"
        diag "expected: '$2'" "actual:   '$3'"
        return 1
}
# The plan at the end, unless one was printed first. A script that dies early has no plan: an error.
tap_done() {
        [ -n "$TAP_PLANNED" ] || echo "1..$TAP_N"
        exit 0
}
# The whole script is skipped.
skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}

# --- the private temporary directory and cleanup -----------------------------------------------------
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mg-test.XXXXXX") || { echo "Bail out! cannot create a temporary directory"; exit 0; }
export TMPDIR=$TEST_TMP
CLEANUP_PIDS=()        # background processes of ours to end at exit
CLEANUP_DIRS=()        # more directories to remove at exit
MG_PIDS_SEEN=()        # every memguard we started, as PID:STARTTIME: their job cgroups must be gone

# pid_start PID: the start time of PID (field 22 of /proc/PID/stat), empty when there is no PID.
pid_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }

# ours_to_reap PID:STARTTIME: the memguard-PID groups can only be ours: that memguard still runs, or
# no process has its pid. pid_max may be 32768 and tests run side by side: by the end of a script the
# pid may be another test's memguard, whose job must not be killed with ours.
ours_to_reap() {
        local p=${1%%:*} st=${1#*:} now
        now=$(pid_start "$p")
        [ -z "$now" ] || { [ "$st" != "$1" ] && [ "$now" = "$st" ]; }
}

lib_cleanup() {
        local p d
        for p in "${CLEANUP_PIDS[@]}"; do
                kill -KILL "$p" 2>/dev/null
        done
        mgd_stop
        for p in "${MG_PIDS_SEEN[@]}"; do
                ours_to_reap "$p" && cg_reap "${p%%:*}" >/dev/null 2>&1
        done
        for d in "${CLEANUP_DIRS[@]}"; do
                rm -rf "$d"
        done
        rm -rf "$TEST_TMP"
}
trap lib_cleanup EXIT
trap 'exit 1' INT TERM HUP

now_ms() { date +%s%3N; }

# forget_pid PID: a background process of ours has been waited for; never signal its pid again.
forget_pid() {
        local p keep=()
        for p in "${CLEANUP_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
        CLEANUP_PIDS=("${keep[@]}")
}

# wait_for SECONDS COMMAND [ARGS...]: poll every 50ms until COMMAND succeeds; 1 when time runs out.
# SECONDS is what an idle machine needs; the ceiling is MG_WAIT_SCALE (default 5) times that, because
# CI shares its cores with other work and a condition that comes late must not fail a test. Waiting
# longer costs nothing when the condition holds: the poll returns as soon as it does.
MG_WAIT_SCALE=${MG_WAIT_SCALE:-5}
wait_for() {
        local deadline=$(($(now_ms) + ${1%.*} * 1000 * MG_WAIT_SCALE))
        shift
        while ! "$@"; do
                [ "$(now_ms)" -lt "$deadline" ] || return 1
                sleep 0.05
        done
        return 0
}

# --- memcheck (make check-valgrind) ------------------------------------------------------------------
# MEMGUARD_VALGRIND is the valgrind command line to run memguard's own programs under ("valgrind -q
# --error-exitcode=99 ..."); a script that supports it prefixes them with "${MG_VALGRIND[@]}" (empty
# otherwise). Everything is much slower under valgrind: the waits get longer ceilings.
MG_VALGRIND=()
if [ -n "${MEMGUARD_VALGRIND:-}" ]; then
        read -ra MG_VALGRIND <<<"$MEMGUARD_VALGRIND"
        command -v "${MG_VALGRIND[0]}" >/dev/null || skip_all "MEMGUARD_VALGRIND: ${MG_VALGRIND[0]} is not installed"
        MG_WAIT_SCALE=$((MG_WAIT_SCALE * 4))
fi

pid_alive() { kill -0 "$1" 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
# pid_exited PID: gone, or a zombie nobody has waited for yet (which kill -0 still finds).
pid_exited() {
        local stat
        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
        stat=${stat##*) }
        [ "${stat%% *}" = Z ]
}

# --- prerequisites -----------------------------------------------------------------------------------
require_binaries() {
        [ -x "$MEMGUARD" ] || skip_all "memguard is not built ($MEMGUARD)"
        [ -x "$MEMHOG" ] || skip_all "memhog is not built (make tests/helpers/memhog)"
        command -v timeout >/dev/null || skip_all "timeout(1) is missing"
}
require_jq() {
        command -v jq >/dev/null || skip_all "jq is missing"
}
# expect DESCRIPTION EXIT_CODE REGEX COMMAND...: ok when COMMAND exits EXIT_CODE and its stdout or stderr
# matches REGEX (grep -E; empty: anything). Its output stays in $TEST_TMP/last.out and last.err.
expect() {
        local desc=$1 want=$2 pattern=$3 rc
        shift 3
        "$@" >"$TEST_TMP/last.out" 2>"$TEST_TMP/last.err"
        rc=$?
        if [ "$rc" = "$want" ] && { [ -z "$pattern" ] || cat "$TEST_TMP/last.out" "$TEST_TMP/last.err" | grep -Eq -- "$pattern"; }; then
                ok "$desc"
                return 0
        fi
        not_ok "$desc"
        diag "exit code $rc, expected $want${pattern:+; expected output matching: $pattern}"
        diag_file "$TEST_TMP/last.err" 6
        diag_file "$TEST_TMP/last.out" 6
        return 1
}

# jget FILE FILTER: jq -r, empty output when the file is not JSON.
jget() { jq -r "$2" "$1" 2>/dev/null; }
json_valid() { jq -e . "$1" >/dev/null 2>&1; }
# jtrue FILE [JQ OPTIONS] FILTER: the filter is true for the file (jq -e, quietly).
jtrue() {
        local f=$1 text
        shift
        # jq -e passes on empty input: an empty report must not pass a check. Read it once, since FILE
        # may be a pipe (<(...)), whose size test says nothing.
        text=$(cat "$f" 2>/dev/null)
        [ -n "$text" ] && printf '%s\n' "$text" | jq -e "$@" >/dev/null 2>&1
}

# --- cgroups of this host ----------------------------------------------------------------------------
# memguard creates its job cgroups (memguard-PID) beneath the cgroup it runs in, which is ours.
# CG_V1_MEM: our directory in the v1 memory hierarchy; CG_V2: ours in the cgroup2 tree (either empty).
cg_init() {
        local v1mnt v2mnt v1path v2path
        v1mnt=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) print $5; break } }' /proc/self/mountinfo | head -n1)
        v2mnt=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n1)
        # hierarchy-ID:controllers:path, and the path may contain ':'.
        v1path=$(awk '{ i = index($0, ":"); r = substr($0, i + 1); j = index(r, ":"); c = substr(r, 1, j - 1);
                        if (c ~ /(^|,)memory(,|$)/) print substr(r, j + 1) }' /proc/self/cgroup | head -n1)
        v2path=$(awk '/^0::/ { print substr($0, 4) }' /proc/self/cgroup | head -n1)
        CG_V1_MEM=
        CG_V2=
        [ -n "$v1mnt" ] && [ -n "$v1path" ] && CG_V1_MEM=${v1mnt}${v1path%/}
        [ -n "$v2mnt" ] && [ -n "$v2path" ] && CG_V2=${v2mnt}${v2path%/}
}
cg_init

# Does our cgroup2 directory offer the memory controller to its children?
cg_v2_has_memory() {
        [ -n "$CG_V2" ] && grep -qw memory "$CG_V2/cgroup.controllers" 2>/dev/null
}

# cg_leftovers PID: the job cgroups of memguard PID that still exist, one a line.
cg_leftovers() {
        local d
        [ -n "$1" ] || return 0
        for d in ${CG_V1_MEM:+"$CG_V1_MEM/memguard-$1"} ${CG_V2:+"$CG_V2/memguard-$1"}; do
                [ -d "$d" ] && echo "$d"
        done
}

# cg_reap PID: end whatever is left in memguard PID's job cgroups and remove them (after a timeout).
cg_reap() {
        local d p i
        for d in $(cg_leftovers "$1"); do
                if [ -e "$d/cgroup.kill" ]; then
                        echo 1 >"$d/cgroup.kill"
                else
                        for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p"; done
                fi
                wait_for 2 rmdir "$d" 2>/dev/null
        done
}

# --- running memguard ---------------------------------------------------------------------------------
# mg_bg ARGS...: start "memguard ARGS..." in the background under timeout(1), stdin from /dev/null,
# stdout into $MG_OUT, stderr into $MG_ERR. MG_PREFIX (an array, e.g. setpriv ...) goes before
# memguard. Sets MG_BG (the timeout process) and, once it is known, MG_PID (memguard itself).
MG_PREFIX=()
mg_bg() {
        MG_OUT=$TEST_TMP/mg.out
        MG_ERR=$TEST_TMP/mg.err
        MG_PID=
        local pidfile=$TEST_TMP/mg.pid
        rm -f "$pidfile" "$MG_OUT" "$MG_ERR"
        MG_T0=$(now_ms)
        # sh writes its pid and execs memguard (through MG_PREFIX, which execs too): the same pid.
        timeout -v -k 5 "$MG_TIMEOUT" sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
                "${MG_PREFIX[@]}" "$MEMGUARD" "$@" </dev/null >"$MG_OUT" 2>"$MG_ERR" &
        MG_BG=$!
        CLEANUP_PIDS+=("$MG_BG")
        if wait_for 5 test -s "$pidfile"; then
                MG_PID=$(cat "$pidfile")
                MG_PIDS_SEEN+=("$MG_PID:$(pid_start "$MG_PID")")
        fi
}

# mg_wait: wait for the run mg_bg started. Sets MG_RC, MG_MS (wall time), MG_TIMED_OUT and
# MG_LEFT (job cgroups it left behind, which are then cleaned up).
mg_wait() {
        wait "$MG_BG"
        MG_RC=$?
        forget_pid "$MG_BG"
        MG_MS=$(($(now_ms) - MG_T0))
        MG_TIMED_OUT=
        if grep -q '^timeout: sending signal' "$MG_ERR" 2>/dev/null; then
                MG_TIMED_OUT=1
                diag "memguard did not end within ${MG_TIMEOUT}s and was killed by timeout(1)"
        fi
        MG_LEFT=$(cg_leftovers "$MG_PID")
        if [ -n "$MG_LEFT" ]; then
                CG_LEFT_ALL+="$MG_LEFT"$'\n'
                cg_reap "$MG_PID"
        fi
}

# usage_lines FILE: how many "Memory usage:" lines a --log-file has (one a second, each after a sample).
usage_lines() { grep -c 'Memory usage: ' "$1" 2>/dev/null; }
# usage_seen FILE MIB: a "Memory usage:" line of the --log-file says at least MIB: a sample has seen it.
usage_seen() {
        awk -v want="$2" 'match($0, /Memory usage: [0-9.]+ [KMGT]?i?B/) {
                split(substr($0, RSTART + 14, RLENGTH - 14), f, " ")
                m = f[1] / 1048576
                if (f[2] == "KiB") m = f[1] / 1024; else if (f[2] == "MiB") m = f[1]
                else if (f[2] == "GiB") m = f[1] * 1024; else if (f[2] == "TiB") m = f[1] * 1048576
                if (m >= want) found = 1
        } END { exit !found }' "$1" 2>/dev/null
}

# mg ARGS...: run memguard ARGS... to the end (see mg_bg and mg_wait).
mg() {
        mg_bg "$@"
        mg_wait
}

# mg_diag: what the last run said, for a failed test.
mg_diag() {
        diag "exit code $MG_RC after ${MG_MS}ms${MG_TIMED_OUT:+ (TIMED OUT)}"
        diag_file "$MG_ERR" "${1:-15}"
}

# check_rc DESCRIPTION EXPECTED: the last run's exit code.
check_rc() {
        if [ "$MG_RC" = "$2" ] && [ -z "$MG_TIMED_OUT" ]; then
                ok "$1"
                return 0
        fi
        not_ok "$1"
        diag "expected exit code $2"
        mg_diag
        return 1
}

# check_no_cgroups_left: one test for every run of this script together.
CG_LEFT_ALL=
check_no_cgroups_left() {
        if [ -z "$CG_V1_MEM$CG_V2" ]; then
                skip "no job cgroup left behind" "this host has no cgroup hierarchy we can see"
                return
        fi
        if [ -z "$CG_LEFT_ALL" ]; then
                ok "no memguard-PID cgroup left behind by any run (${#MG_PIDS_SEEN[@]} runs)"
        else
                not_ok "no memguard-PID cgroup left behind by any run"
                diag "left behind:" "$CG_LEFT_ALL"
        fi
}

# --- backends ------------------------------------------------------------------------------------------
# probe_backends: which backends work here, asked of memguard itself. Sets BACKENDS (those that work,
# in auto's order: cgroup2, cgroup1, procfs) and BACKEND_WHY_<name> (why one does not).
probe_backends() {
        local b err
        BACKENDS=()
        for b in cgroup2 cgroup1 procfs; do
                err=$(timeout -k 2 10 "$MEMGUARD" run --quiet --backend "$b" -- true 2>&1 >/dev/null)
                if [ $? -eq 0 ]; then
                        BACKENDS+=("$b")
                else
                        printf -v "BACKEND_WHY_$b" '%s' "$(printf '%s' "$err" | head -n1 | tr -d '#')"
                fi
        done
}
have_backend() {
        local b
        for b in "${BACKENDS[@]}"; do [ "$b" = "$1" ] && return 0; done
        return 1
}
backend_why() { local v="BACKEND_WHY_$1"; printf '%s' "${!v:-not probed}"; }

# --- memguardd ------------------------------------------------------------------------------------------
# One daemon a script, started and stopped here: on its own socket, state directory and configuration.
MEMGUARDD=${MEMGUARDD:-$top_builddir/daemon/memguardd}
MGD_PID=               # the daemon mgd_start started, until mgd_stop or mgd_kill
MGD_SOCK=
MGD_PREFIX=()          # goes before memguardd, e.g. a socket activator (which execs it: the same pid)
MGD_ARGS=()            # more options for memguardd, after -d -f CONF

# require_memguardd [WHY ROOT]: skip the script unless we are root and memguardd is built.
require_memguardd() {
        [ "$(id -u)" = 0 ] || skip_all "${1:-memguardd needs root to make job cgroups}"
        [ -x "$MEMGUARDD" ] || skip_all "memguardd is not built ($MEMGUARDD)"
}

# mgd_config FILE SOCKET STATE_DIR: a configuration whose [daemon] section starts with the socket and the
# state directory; the rest (more [daemon] keys, profiles, watches) comes from stdin.
mgd_config() {
        mkdir -p "$(dirname "$1")"
        { printf '[daemon]\nsocket = %s\nstate-dir = %s\n' "$2" "$3"; cat; } >"$1"
}

# mgd_answers: the daemon runs and answers a call on MGD_SOCK. Not the socket file alone: a daemon
# killed with -9 leaves its socket behind, and a socket is bound before it listens.
mgd_answers() {
        pid_alive "$MGD_PID" && ! pid_exited "$MGD_PID" && "$MEMGUARD" status --socket "$MGD_SOCK" >/dev/null 2>&1
}

# mgd_start CONF SOCKET LOG [READY COMMAND...]: start "memguardd -d -f CONF" in the background (stdout and
# stderr appended to LOG; variables assigned before mgd_start reach it) and wait until it is ready: until
# READY COMMAND succeeds, by default until it answers on SOCKET. Sets MGD_PID and MGD_SOCK. 1 when it is
# not ready within the ceiling (its log then says why: see mgd_why).
mgd_start() {
        local conf=$1 log=$3
        MGD_SOCK=$2
        shift 3
        [ $# -gt 0 ] || set -- mgd_answers
        "${MGD_PREFIX[@]}" "$MEMGUARDD" -d -f "$conf" "${MGD_ARGS[@]}" </dev/null >>"$log" 2>&1 &
        MGD_PID=$!
        MGD_LOG=$log
        wait_for 10 "$@"
}
# mgd_why: the end of the log of the daemon mgd_start started, on one line.
mgd_why() { tail -n 3 "$MGD_LOG" 2>/dev/null | tr '\n' ' '; }

# mgd_idle: the daemon has no job left (or cannot say: no jq).
mgd_idle() {
        command -v jq >/dev/null || return 0
        [ "$("$MEMGUARD" status --socket "$MGD_SOCK" --json 2>/dev/null | jq length 2>/dev/null)" = 0 ]
}

# mgd_stop [PID]: stop the daemon (MGD_PID, or another one's PID) with SIGTERM and wait until it is gone.
# Our own daemon first sees its jobs end and removes their groups: a daemon stopped with jobs keeps their
# groups for the next start. 1 when it did not end on SIGTERM within the ceiling; it is then killed.
mgd_stop() {
        local pid=${1:-$MGD_PID} rc=0
        [ -n "$pid" ] || return 0
        [ "$pid" = "$MGD_PID" ] && pid_alive "$pid" && wait_for 5 mgd_idle
        kill -TERM "$pid" 2>/dev/null
        if ! wait_for 10 pid_exited "$pid"; then
                diag "memguardd $pid did not end on SIGTERM: killed"
                kill -KILL "$pid" 2>/dev/null
                wait_for 10 pid_exited "$pid"
                rc=1
        fi
        wait "$pid" 2>/dev/null
        forget_pid "$pid"
        [ "$pid" = "$MGD_PID" ] && MGD_PID=
        return $rc
}

# mgd_kill: kill -9 of our daemon, as a crash; its jobs and their groups stay.
mgd_kill() {
        [ -n "$MGD_PID" ] || return 0
        kill -KILL "$MGD_PID" 2>/dev/null
        wait "$MGD_PID" 2>/dev/null
        MGD_PID=
}
