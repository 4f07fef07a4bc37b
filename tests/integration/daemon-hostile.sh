#!/usr/bin/env bash
# memguardd against what a hostile or unlucky host does to it: a job started inside a cgroup with a
# memory limit must not escape that limit by being handed to the daemon; a [watch] cgroup removed
# as soon as its processes exit (what schedulers do) ends its job, and the same path is watched again;
# a registered job whose cgroup is removed under it is said so once and guarded on through /proc; a
# state directory others could write is refused, records are never written through a planted symlink,
# and forged records naming cgroups that are not ours, or another user's processes, are refused; a
# client whose daemon is killed and restarted mid-job still reports the job's real outcome; without
# CAP_SYS_ADMIN (as the shipped unit runs it) a wiped state directory is recovered from the job groups;
# a job cannot hide from host-reserve behind a long sampling interval.
. "$(dirname "$0")/lib.sh"

require_memguardd
require_binaries
require_jq

# Test cgroups go beneath our own, in the hierarchy memguardd uses for memory.
if cg_v2_has_memory; then
        CG_ROOT=$CG_V2
        CG_MOUNT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n1)
        LIMIT_FILE=memory.max
elif [ -n "$CG_V1_MEM" ]; then
        CG_ROOT=$CG_V1_MEM
        CG_MOUNT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) print $5; break } }' /proc/self/mountinfo | head -n1)
        LIMIT_FILE=memory.limit_in_bytes
else
        skip_all "no cgroup memory controller on this host"
fi
BASE=$CG_ROOT/mgd-hostile-$$
BASE_PATH=${BASE#"$CG_MOUNT"}     # as /proc/PID/cgroup prints it
mkdir "$BASE" || skip_all "cannot create $BASE"
if [ -e "$BASE/cgroup.subtree_control" ]; then
        echo +memory >"$BASE/cgroup.subtree_control" 2>/dev/null
fi

D=$TEST_TMP
SOCK=$D/memguardd.sock
mkdir -p "$D/etc"
cat >"$D/etc/memguard.conf" <<EOC
[daemon]
socket = $SOCK
state-dir = $D/state

[profile default]
max-memory = 2G
grace = 1s

[profile small]
max-memory = 200M
kill-threshold = 0.8
grace = 1s

[watch sched]
cgroup = $BASE_PATH/sched/job_*
profile = small
EOC

DAEMON_LOG=$D/daemon.log
CONF=$D/etc/memguard.conf
# start_daemon [MEMGUARDD OPTIONS]: memguardd with $CONF (lib.sh's mgd_start: until it answers).
start_daemon() {
        MGD_ARGS=("$@")
        mgd_start "$CONF" "$SOCK" "$DAEMON_LOG"
        local rc=$?
        MGD_ARGS=()
        return $rc
}
stop_daemon() { mgd_stop; }
cleanup_cgroups() {
        local d p i
        for d in $(find "$BASE" -mindepth 1 -type d 2>/dev/null | sort -r) "$BASE"; do
                for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
                for i in $(seq 40); do rmdir "$d" 2>/dev/null && break; sleep 0.05; done
        done
}
CLEANUP_MOUNT=
trap 'stop_daemon; [ -n "$CLEANUP_MOUNT" ] && umount "$CLEANUP_MOUNT"; cleanup_cgroups; lib_cleanup' EXIT

# --- the state directory is trusted only when nobody else could write it ---------------------------
# refused_start DESCRIPTION REGEX STATE_DIR: memguardd does not start with that state directory.
refused_start() {
        expect "$1" 1 "$2" timeout 10 "$MEMGUARDD" -d -f "$D/etc/memguard.conf" --socket "$D/other.sock" --state-dir "$3"
}
mkdir -m 0777 "$D/state-open"
refused_start "a world-writable state directory is refused at start" "state directory .*/state-open is writable by others" \
        "$D/state-open"
mkdir -m 0755 "$D/state-theirs"
chown 65534 "$D/state-theirs"
refused_start "a state directory owned by another user is refused" "owned by uid 65534" "$D/state-theirs"
mkdir -m 0755 "$D/state-link" "$D/elsewhere"
ln -s "$D/elsewhere" "$D/state-link/jobs"
refused_start "a state directory whose jobs/ is a symlink is refused" "jobs: it is not a directory" "$D/state-link"
# The socket path: only a stale socket is replaced, never a file that is someone's.
echo 'root:x:0:0:root:/root:/bin/sh' >"$D/not-a-socket"
expect "memguardd refuses to replace a file that is not a socket at its socket path" 1 \
        "not-a-socket exists and is not a socket" \
        timeout 10 "$MEMGUARDD" -d -f "$D/etc/memguard.conf" --socket "$D/not-a-socket" --state-dir "$D/state-sock"
check_eq "... and leaves the file as it was" 'root:x:0:0:root:/root:/bin/sh' "$(cat "$D/not-a-socket")"
# Symlinks planted where records are written must not be written through.
mkdir -p "$D/state/jobs"
echo precious >"$D/victim"
for i in 1 2 3 4 5; do ln -s "$D/victim" "$D/state/jobs/.$i.json.tmp"; done

start_daemon || skip_all "memguardd did not come up: $(mgd_why)"

# --- a job never leaves the limits of the cgroup it was started in ---------------------------------
mkdir "$BASE/limited"
echo $((100 * MIB)) >"$BASE/limited/$LIMIT_FILE"
[ -e "$BASE/limited/memory.memsw.limit_in_bytes" ] && echo $((100 * MIB)) >"$BASE/limited/memory.memsw.limit_in_bytes"
# A shell in the limited cgroup runs memguard, which hands the job to the daemon.
MG_PREFIX=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$BASE/limited")
mg run --socket "$SOCK" --max-memory 1000 --json "$D/escape.json" -- "$MEMHOG" --rate 200 --size 300 --hold 1
MG_PREFIX=()
check "the job ran under memguardd (its report came from the daemon)" json_valid "$D/escape.json" || mg_diag
check "a job started in a 100 MiB cgroup does not reach 300 MiB through the daemon" \
        jtrue "$D/escape.json" '.peak.sampled_total_bytes < 300 * 1048576 and .exit_code != 0' ||
        { mg_diag; diag "$(jq -c '{verdict, exit_code, peak, limit}' "$D/escape.json" 2>&1)"; }
check "its ceiling is the 100 MiB of the cgroup it was started in, not the 1000 MiB asked" \
        jtrue "$D/escape.json" '.limit.max_memory_bytes == 104857600' || diag "$(jq -c .limit "$D/escape.json" 2>&1)"
check "the daemon says where the ceiling comes from" grep -q "memory ceiling is at most 100 MiB, as on .*/limited" \
        "$DAEMON_LOG" || diag_file "$DAEMON_LOG"

# --- an ended job keeps nothing of its process open ---------------------------------------------------
mg run --socket "$SOCK" -- true
pidfds() { ls -l "/proc/$MGD_PID/fd" 2>/dev/null | grep -c 'anon_inode:\[pidfd\]'; }
check_eq "after its jobs ended, memguardd holds no pidfd (their reports stay)" 0 "$(pidfds)"

# --- PID 1 is nobody's job; lowering a limit below use says why it cannot ---------------------------
PY=
for p in /usr/bin/python3 python3; do
        "$p" -c 'import dbus' 2>/dev/null && { PY=$(command -v "$p"); break; }
done
if [ -n "$PY" ]; then
        expect "root cannot register PID 1 as a job" 1 "process 1 is the init system, not a job" \
                "$PY" "$top_srcdir/tests/helpers/mgbus.py" "socket:$SOCK" register 1
else
        skip "root cannot register PID 1 as a job" "python3 with the dbus module (python3-dbus) is missing"
fi
rm -f "$D/busy.pid"
mg_bg run --socket "$SOCK" --max-memory 500 -- "$MEMHOG" --rate 200 --size 100 --hold 20 --pidfile "$D/busy.pid"
busy_rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$(head -1 "$D/busy.pid" 2>/dev/null)/status" 2>/dev/null; }
busy_full() { local v; v=$(busy_rss); [ -n "$v" ] && [ "$v" -ge $((95 * MIB)) ]; }
busy_id() { "$MEMGUARD" status --json --socket "$SOCK" 2>/dev/null | jq -r '.[] | select(.command | test("busy.pid")) | .id'; }
if wait_for 10 busy_full && [ -n "$(busy_id)" ] && ! grep -qw SwapTotal:.*[1-9] /proc/meminfo; then
        expect "lowering a job's limit below what it uses (no swap to reclaim into) says so plainly" 1 \
                "cannot lower the limit of job [0-9]+ to 10 MiB: it uses [0-9.]+ MiB" \
                "$MEMGUARD" limit --socket "$SOCK" "$(busy_id)" 10M
        check "... and the job keeps running under its old limit" pid_alive "$(head -1 "$D/busy.pid")"
else
        skip "lowering a job's limit below what it uses says so plainly" "the job did not come up, or the host has swap"
        skip "... and the job keeps running under its old limit" "as above"
fi
[ -s "$D/busy.pid" ] && kill -KILL "$(head -1 "$D/busy.pid")" 2>/dev/null
mg_wait

# --- a [watch] cgroup removed as soon as its processes exit ------------------------------------------
# in_cgroup DIR COMMAND...: run COMMAND in the cgroup DIR (made if missing), in the background; sets JOB_PID.
in_cgroup() {
        local dir=$1
        shift
        mkdir -p "$dir"
        sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$dir" "$@" &
        JOB_PID=$!
        CLEANUP_PIDS+=("$JOB_PID")
}
# ended_count CGROUP: how often the daemon logged the end of a job in CGROUP.
ended_count() { grep -c "ended (.*MEMGUARD_CGROUP=$1 " "$DAEMON_LOG"; }
rmdir_now() { rmdir "$1" 2>/dev/null; }
# ended_once CGROUP: the daemon logged the end of a job in CGROUP exactly once (a function, so that
# wait_for counts again on every try).
ended_once() { [ "$(ended_count "$1")" = 1 ]; }
SCHED=$BASE/sched
# The job lives until the daemon has found it (a file, not a clock), then exits.
in_cgroup "$SCHED/job_1" sh -c 'while [ ! -e "$0" ]; do sleep 0.05; done' "$D/sched-go"
if wait_for 10 grep -q "found by \[watch sched\] (cgroup $BASE_PATH/sched/job_1)" "$DAEMON_LOG"; then
        touch "$D/sched-go"
        wait "$JOB_PID"
        forget_pid "$JOB_PID"
        wait_for 5 rmdir_now "$SCHED/job_1"
        if wait_for 10 ended_once "$BASE_PATH/sched/job_1"; then
                ok "a [watch] job whose cgroup is removed right after its processes exit ends"
        else
                not_ok "a [watch] job whose cgroup is removed right after its processes exit ends"; diag_file "$DAEMON_LOG"
        fi
        in_cgroup "$SCHED/job_1" "$MEMHOG" --rate 30 --size 600 --hold 30
        wait "$JOB_PID"; rc=$?
        forget_pid "$JOB_PID"
        check_eq "a new job in the recreated cgroup is supervised again: stopped at its threshold (status 143)" \
                143 "$rc" || diag_file "$DAEMON_LOG"
else
        touch "$D/sched-go"
        not_ok "a [watch] job whose cgroup is removed right after its processes exit ends"; diag_file "$DAEMON_LOG"
        not_ok "a new job in the recreated cgroup is supervised again"
fi

# --- a registered job whose cgroup is removed under it --------------------------------------------------
# cg_of PID HIERARCHY: the cgroup of PID in the v1 memory hierarchy ("memory") or the v2 tree ("0").
cg_of() {
        awk -v h="$2" '{ i = index($0, ":"); r = substr($0, i + 1); j = index(r, ":"); c = substr(r, 1, j - 1);
                         if ((h == "0" && $0 ~ /^0::/) || (h != "0" && c ~ /(^|,)memory(,|$)/)) print substr(r, j + 1) }' \
                "/proc/$1/cgroup" | head -n1
}
V2_MOUNT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n1)
mkdir -p "$BASE/moved"
rm -f "$D/gone.pid"
mg_bg run --socket "$SOCK" --max-memory 200 --json "$D/gone.json" -- "$MEMHOG" --rate 20 --size 600 --hold 60 --pidfile "$D/gone.pid"
if wait_for 10 test -s "$D/gone.pid"; then
        hog=$(head -1 "$D/gone.pid")
        job_cg=$(cg_of "$hog" memory)
        [ "$CG_ROOT" = "$CG_V2" ] && job_cg=$(cg_of "$hog" 0)
        twin=
        [ "$CG_ROOT" != "$CG_V2" ] && [ -n "$V2_MOUNT" ] && twin=$V2_MOUNT$(cg_of "$hog" 0)
        # An operator (or a scheduler) moves the process out and removes the job's groups.
        echo "$hog" >"$BASE/moved/cgroup.procs"
        if [ -n "$twin" ] && [ "$twin" != "$V2_MOUNT/" ] && [ -d "$twin" ]; then
                echo "$hog" >"$CG_V2/cgroup.procs"
                wait_for 5 rmdir_now "$twin"
        fi
        wait_for 5 rmdir_now "$CG_MOUNT$job_cg"
        check "the job's cgroup $job_cg is removed under it" test ! -d "$CG_MOUNT$job_cg"
        mg_wait
        check_rc "the job is still stopped at its limit (exit 10)" 10
        check "the client gets the daemon's report (verdict killed)" jtrue "$D/gone.json" '.verdict == "killed"' ||
                diag "$(head -c 300 "$D/gone.json" 2>&1)"
        check_eq "the daemon says once that it guards the job through /proc now" 1 \
                "$(grep -c "was removed: guarding its processes through /proc" "$DAEMON_LOG")" || diag_file "$DAEMON_LOG"
        check_eq "and floods nothing (no failed signals, no repeated sampling errors)" 0 \
                "$(grep -c -e "could not send" -e "cannot read the job's memory" "$DAEMON_LOG")" || diag_file "$DAEMON_LOG"
else
        mg_wait
        for t in "the job's cgroup is removed under it" "the job is still stopped at its limit" "the client gets the daemon's report" \
                "the daemon says once that it guards the job through /proc now" "and floods nothing"; do
                not_ok "$t"
        done
        mg_diag
fi

check_eq "records were never written through a symlink planted in jobs/" precious "$(cat "$D/victim")"

# --- kill -9 of the daemon mid-job: the client waits for the restarted one's verdict ------------------
rm -f "$D/k9.pid"
mg_bg run --socket "$SOCK" --max-memory 200 --json "$D/k9.json" -- "$MEMHOG" --rate 20 --size 600 --hold 60 --pidfile "$D/k9.pid"
if wait_for 10 test -s "$D/k9.pid"; then
        mgd_kill
        start_daemon
        mg_wait
        check_rc "after kill -9 and a restart of memguardd, the client reports the job's stop at its limit (exit 10)" 10
        check "... with the restarted daemon's JSON report (verdict killed)" jtrue "$D/k9.json" '.verdict == "killed"' ||
                diag "$(head -c 300 "$D/k9.json" 2>&1)"
else
        mg_wait
        not_ok "after kill -9 and a restart of memguardd, the client reports the job's stop at its limit"
        not_ok "... with the restarted daemon's JSON report"; mg_diag
fi

# --- a wiped state directory, under the shipped unit's capabilities (no CAP_SYS_ADMIN) ----------------
if command -v capsh >/dev/null; then
        stop_daemon
        # capsh runs bash, which execs memguardd: the same pid.
        start_daemon_nosysadmin() {
                MGD_PREFIX=(capsh --drop=cap_sys_admin -- -c 'exec "$@"' sh)
                start_daemon
                local rc=$?
                MGD_PREFIX=()
                return $rc
        }
        rm -f "$SOCK"
        start_daemon_nosysadmin
        rm -f "$D/wipe.pid"
        mg_bg run --socket "$SOCK" --max-memory 200 --json "$D/wipe.json" -- "$MEMHOG" --rate 20 --size 600 --hold 60 \
                --pidfile "$D/wipe.pid"
        if wait_for 10 test -s "$D/wipe.pid" && wait_for 10 grep -q "registered by uid 0.*wipe.pid" "$DAEMON_LOG"; then
                mgd_kill
                rm -rf "$D/state"
                : >"$D/wipe-start.log"
                start_daemon_nosysadmin
                if wait_for 10 grep -q "taking it up from its cgroup" "$DAEMON_LOG"; then
                        ok "without CAP_SYS_ADMIN and with its state directory wiped, memguardd takes the job up from its cgroup"
                else
                        not_ok "without CAP_SYS_ADMIN and with its state directory wiped, memguardd takes the job up from its cgroup"
                        diag_file "$DAEMON_LOG"
                fi
                mg_wait
                check_rc "and the job is still stopped at its limit (exit 10)" 10 || diag_file "$DAEMON_LOG" 30
        else
                mg_wait
                not_ok "without CAP_SYS_ADMIN and with its state directory wiped, memguardd takes the job up"
                not_ok "and the job is still stopped at its limit"; mg_diag; diag_file "$DAEMON_LOG"
        fi
else
        skip "without CAP_SYS_ADMIN, a wiped state directory is recovered from the job's cgroup" "capsh is missing"
        skip "and the job is still stopped at its limit" "capsh is missing"
fi

# --- forged records are refused -------------------------------------------------------------------------
stop_daemon
PARENT_PATH=${CG_ROOT#"$CG_MOUNT"}
in_cgroup "$BASE/rootjob" sleep 60
ROOTJOB_PID=$JOB_PID
in_cgroup "$CG_ROOT/job-78" sleep 60
JOB78_PID=$JOB_PID
forge() {  # forge ID CGROUP UID
        printf '{"id":%s,"source":"registered","cgroup":"%s","uid":%s,"start_realtime_usec":1,"peak_bytes":0,"state_dir":"%s","limits":{"max_bytes":1048576}}\n' \
                "$1" "$2" "$3" "$D/state" >"$D/state/jobs/$1.json"
}
# Root's processes must be in their groups before the daemon looks: an empty group holds nobody's.
wait_for 10 grep -qx "$ROOTJOB_PID" "$BASE/rootjob/cgroup.procs"
wait_for 10 grep -qx "$JOB78_PID" "$CG_ROOT/job-78/cgroup.procs"
forge 77 "$BASE_PATH/rootjob" 65534
forge 78 "$PARENT_PATH/job-78" 65534
start_daemon
wait_for 10 grep -q "memguardd .* started" "$DAEMON_LOG"
check "a record naming a cgroup that is not a job group of ours is refused" \
        grep -q "job record 77 (cgroup $BASE_PATH/rootjob, uid 65534) refused: its cgroup is not a job group of ours" \
        "$DAEMON_LOG" || diag_file "$DAEMON_LOG"
check "a record giving a user a job group with root's processes in it is refused" \
        grep -q "job record 78 .* refused: its cgroup holds another user's processes" "$DAEMON_LOG" || diag_file "$DAEMON_LOG"
check "neither is supervised, and root's processes live on" \
        sh -c "! grep -q -e 'supervised again.*(cgroup $BASE_PATH/rootjob)' -e 'supervised again.*job-78)' '$DAEMON_LOG' &&
               kill -0 $ROOTJOB_PID && kill -0 $JOB78_PID" || diag_file "$DAEMON_LOG"
check "their limit was not set" sh -c "! grep -qx 1048576 '$BASE/rootjob/$LIMIT_FILE' && ! grep -qx 1048576 '$CG_ROOT/job-78/$LIMIT_FILE'"
kill -KILL "$JOB78_PID" 2>/dev/null
wait_for 5 rmdir_now "$CG_ROOT/job-78"

# --- host-reserve sees every job as it is now ---------------------------------------------------------
stop_daemon
cp "$D/etc/memguard.conf" "$D/etc/host.conf"
cat >>"$D/etc/host.conf" <<EOC

# An operator's profile that samples rarely.
[profile slow]
max-memory = 2G
interval = 1h

[rule slowhog]
command = *bighog*
profile = slow
EOC
cp "$MEMHOG" "$D/bighog"
cp "$MEMHOG" "$D/smallhog"
CONF=$D/etc/host.conf start_daemon
# current_of COMMAND_GLOB: the current bytes memguard status shows for the job running COMMAND_GLOB.
current_of() {
        "$MEMGUARD" status --json --socket "$SOCK" 2>/dev/null | jq -r --arg c "$1" '.[] | select(.command | test($c)) | .current_bytes'
}
over() { local v; v=$(current_of "$1"); [ -n "$v" ] && [ "$v" != null ] && [ "$v" -ge "$2" ]; }
# A user asking for a long interval is sampled at the daemon's interval all the same.
rm -f "$D/lazy.pid"
mg_bg run --socket "$SOCK" --check-interval 1000h -- "$D/smallhog" --rate 100 --size 100 --hold 3 --pidfile "$D/lazy.pid"
if wait_for 10 test -s "$D/lazy.pid" && wait_for 10 over smallhog $((90 * MIB)); then
        ok "a job asking for --check-interval 1000h is still sampled (status shows its 100 MiB)"
else
        not_ok "a job asking for --check-interval 1000h is still sampled (status shows its 100 MiB)"
        diag "status: $("$MEMGUARD" status --json --socket "$SOCK" 2>&1 | head -c 600)"
fi
mg_wait
rm -f "$D/small.pid"
mg_bg run --socket "$SOCK" -- "$D/smallhog" --rate 100 --size 100 --hold 40 --pidfile "$D/small.pid"
wait_for 10 over smallhog $((90 * MIB))
# bighog's profile samples it once an hour; once it holds 300 MiB beside smallhog's 100 MiB, the host
# runs short: host-reserve must stop bighog, the largest now, not smallhog, the largest at the last samples.
rm -f "$D/big.pid"
timeout -k 5 60 "$MEMGUARD" run --socket "$SOCK" --json "$D/big.json" -- "$D/bighog" --rate 300 --size 300 --hold 30 \
        --pidfile "$D/big.pid" </dev/null >"$D/big.out" 2>"$D/big.err" &
BIG_BG=$!
CLEANUP_PIDS+=("$BIG_BG")
big_rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$(head -1 "$D/big.pid" 2>/dev/null)/status" 2>/dev/null; }
big_full() { local v; v=$(big_rss); [ -n "$v" ] && [ "$v" -ge $((290 * MIB)) ]; }
if wait_for 10 test -s "$D/big.pid" && wait_for 10 big_full; then
        sed -i 's/^\[daemon\]$/[daemon]\nhost-reserve = 99%/' "$D/etc/host.conf"
        kill -HUP "$MGD_PID"
        wait "$BIG_BG"; rc=$?
        forget_pid "$BIG_BG"
        check_eq "host-reserve stops the job that is largest now, though its last sample was from its start (exit 10)" \
                10 "$rc" || { diag_file "$D/big.err"; diag "$(grep 'below its reserve' "$DAEMON_LOG" | cut -c1-200)"; }
        check "it was the first job host-reserve stopped" \
                sh -c "grep 'below its reserve' '$DAEMON_LOG' | head -n1 | grep -q bighog" ||
                diag "$(grep 'below its reserve' "$DAEMON_LOG" | cut -c1-200)"
else
        not_ok "host-reserve stops the job that is largest now"; not_ok "it was the first job host-reserve stopped"
        diag_file "$D/big.err"
fi
mg_wait

# --- a full state filesystem: the real error, once -------------------------------------------------------
stop_daemon
mkdir -p "$D/fullstate"
if mount -t tmpfs -o size=64k,mode=0755 tmpfs "$D/fullstate" 2>/dev/null; then
        CLEANUP_MOUNT=$D/fullstate
        mkdir -m 0700 "$D/fullstate/jobs"
        dd if=/dev/zero of="$D/fullstate/fill" bs=4k 2>/dev/null
        : >"$D/full.log"
        # The old socket goes before the daemon starts: removed after, it could be the new one.
        rm -f "$SOCK"
        MGD_ARGS=(--state-dir "$D/fullstate")
        mgd_start "$CONF" "$SOCK" "$D/full.log"
        MGD_ARGS=()
        mg run --socket "$SOCK" --max-memory 300 -- "$MEMHOG" --rate 100 --size 200
        check_rc "a job runs to its end with the state filesystem full" 0
        check_eq "the failure to save its record is logged once, with the real error" \
                "1 1" "$(grep -c 'cannot write its state' "$D/full.log") $(grep -c 'cannot write its state.*No space left on device' "$D/full.log")" ||
                diag_file "$D/full.log"
        stop_daemon
        umount "$D/fullstate"
        CLEANUP_MOUNT=
else
        skip "a job runs to its end with the state filesystem full" "cannot mount a tmpfs here"
        skip "the failure to save its record is logged once, with the real error" "cannot mount a tmpfs here"
fi

check_no_cgroups_left
tap_done
