#!/usr/bin/env bash
# memguardd on this machine's kernel: readiness through sd_notify, a [watch] cgroup created after the
# start is picked up, a profile's kill threshold and grace applied to a real allocating job, the
# structured records (read back from stderr here; the VM tier reads them from journald), a reload with
# a broken file keeping the old profile, and kill -9 of the daemon mid-job with a restart that takes
# the job up again and still stops it at its limit.
. "$(dirname "$0")/lib.sh"

NOTIFY_LISTEN=$top_srcdir/tests/helpers/notify-listen.py

require_memguardd "memguardd needs root to supervise cgroups"
[ -x "$MEMHOG" ] || skip_all "memhog is not built"
command -v python3 >/dev/null || skip_all "python3 is needed to capture sd_notify"

# Where test job cgroups go: beneath our own, in the hierarchy memguardd uses for memory.
if cg_v2_has_memory; then
        CG_ROOT=$CG_V2
        CG_MOUNT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n1)
elif [ -n "$CG_V1_MEM" ]; then
        CG_ROOT=$CG_V1_MEM
        CG_MOUNT=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) print $5; break } }' /proc/self/mountinfo | head -n1)
else
        skip_all "no cgroup memory controller on this host"
fi
BASE=$CG_ROOT/mgd-test-$$
WATCH_PATH=${BASE#"$CG_MOUNT"}     # as /proc/PID/cgroup prints it
mkdir "$BASE" || skip_all "cannot create $BASE"
if [ -e "$BASE/cgroup.subtree_control" ] && ! grep -qw memory "$BASE/cgroup.subtree_control"; then
        echo +memory >"$BASE/cgroup.subtree_control" 2>/dev/null
fi

D=$TEST_TMP
SOCK=$D/memguardd.sock
mkdir -p "$D/etc/conf.d" "$D/state"
mgd_config "$D/etc/memguard.conf" "$SOCK" "$D/state" <<EOC
log-level = info

[profile small]
max-memory = 200M
kill-threshold = 0.8
warn-at = 0.5
grace = 1s
log-every = 1s
pre-kill-hook = env | grep ^MEMGUARD_ | sort > $D/hook-\$MEMGUARD_JOB.env

[watch test]
cgroup = $WATCH_PATH/job-*
profile = small
EOC

# Under make check-valgrind every memguardd of this script runs under memcheck, with a log per
# process that holds no error line (valgrind -q) unless it found something: the last test reads them.
VG=()
[ "${#MG_VALGRIND[@]}" -gt 0 ] && VG=("${MG_VALGRIND[@]}" --log-file="$D/valgrind-%p.log")
MGD_PREFIX=("${VG[@]}")

# start_daemon LOG: memguardd with a listener of its own for sd_notify (NOTIFY_SOCKET).
NOTIFY_PID=
start_daemon() {
        : >"$D/notify.log"
        python3 "$NOTIFY_LISTEN" "$D/notify.sock" "$D/notify.log" &
        NOTIFY_PID=$!
        CLEANUP_PIDS+=("$NOTIFY_PID")
        wait_for 5 grep -q listening "$D/notify.log"
        NOTIFY_SOCKET=$D/notify.sock mgd_start "$D/etc/memguard.conf" "$SOCK" "$1"
}
stop_notify() {
        [ -n "$NOTIFY_PID" ] && kill "$NOTIFY_PID" 2>/dev/null && wait "$NOTIFY_PID" 2>/dev/null
        forget_pid "$NOTIFY_PID"
        NOTIFY_PID=
}
# job_in NAME ARGS...: start memhog ARGS in the cgroup BASE/NAME; sets JOB_PID.
job_in() {
        local name=$1
        shift
        mkdir -p "$BASE/$name"
        sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$BASE/$name" "$MEMHOG" "$@" &
        JOB_PID=$!
        CLEANUP_PIDS+=("$JOB_PID")
}
cleanup_cgroups() {
        local d
        for d in "$BASE"/*/; do
                [ -d "$d" ] || continue
                for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
                wait_for 2 rmdir "$d" 2>/dev/null
        done
        rmdir "$BASE" 2>/dev/null
}
trap 'mgd_stop; stop_notify; cleanup_cgroups; lib_cleanup' EXIT
LOG=$D/daemon.log

tap_plan $((18 + (${#VG[@]} > 0)))

# 1-2: start and readiness.
start_daemon "$LOG"
if wait_for 10 grep -q 'READY=1' "$D/notify.log"; then
        ok "memguardd says READY=1 through sd_notify"
else
        not_ok "memguardd says READY=1 through sd_notify"
        diag_file "$D/notify.log"; diag_file "$LOG"
fi
check "READY=1 comes with a STATUS and MAINPID=$MGD_PID" grep -q "STATUS=supervising.*MAINPID=$MGD_PID" "$D/notify.log" \
        || diag_file "$D/notify.log"

# 3-8: a [watch] cgroup created after the start is picked up; its profile's threshold stops the job.
# Each job pauses at 20 MiB until the daemon has it: how soon a [watch] finds a group is no race here.
job_in job-1 --rate 30 --size 600 --hold 30 --pause-at 20 --go "$D/go-1"
if wait_for 10 grep -q "found by \[watch test\] (cgroup $WATCH_PATH/job-1)" "$LOG"; then
        ok "a cgroup created after the start is picked up by its [watch]"
else
        not_ok "a cgroup created after the start is picked up by its [watch]"; diag_file "$LOG"
fi
touch "$D/go-1"
wait "$JOB_PID"; rc=$?
forget_pid "$JOB_PID"
check_eq "the allocating job was stopped by SIGTERM (status 143)" 143 "$rc" || diag_file "$LOG"
check "the threshold record names 80% of 200 MiB with its MESSAGE_ID and fields" \
        grep -q 'MEMORY THRESHOLD EXCEEDED.*kill threshold 160 MiB (80% of 200 MiB).*MESSAGE_ID=b59470accdf64bc2bc17bb8fce340c8d.*MEMGUARD_PROFILE=small MEMGUARD_LIMIT_BYTES=209715200' "$LOG" \
        || diag_file "$LOG"
check "a warning came first, at warn-at (MESSAGE_ID 2270aab3...)" grep -q 'MESSAGE_ID=2270aab3af694c4ba4b538c50c83a0b6' "$LOG"
check "SIGTERM is recorded with the job's fields" \
        grep -q 'sent SIGTERM to 1 process of the job \[MESSAGE_ID=4f2a10ff068344db92d9a6dfedd0345c MEMGUARD_JOB=1 ' "$LOG" \
        || diag_file "$LOG"
if grep -q 'MESSAGE_ID=bc6e549bb06246e88e709d03d8655759' "$LOG" &&
        wait_for 5 grep -q 'ended (total-limit).*MESSAGE_ID=004df36ceef54204ba3c50c7c9c01c11' "$LOG"; then
        ok "log-every usage records and the job's end (as a total-limit stop) are recorded"
else
        not_ok "log-every usage records and the job's end (as a total-limit stop) are recorded"; diag_file "$LOG"
fi

wait_for 5 test -s "$D/hook-1.env"
check "the pre-kill hook ran with the job in its environment" \
        grep -qx "MEMGUARD_REASON=total-limit" "$D/hook-1.env" || diag_file "$D/hook-1.env"
check "the hook sees the ceiling that was crossed and the watched cgroup" \
        sh -c "grep -qx 'MEMGUARD_LIMIT_BYTES=209715200' '$D/hook-1.env' && grep -qx 'MEMGUARD_CGROUP=$WATCH_PATH/job-1' '$D/hook-1.env'" \
        || diag_file "$D/hook-1.env"

# 11-13: a reload with a broken file keeps the old profile and says file:line.
cp "$D/etc/memguard.conf" "$D/good.conf"
printf '[profile broken]\nmax-memory = bogus\n' >"$D/etc/conf.d/50-broken.conf"
kill -HUP "$MGD_PID"
if wait_for 10 grep -q "conf.d/50-broken.conf:2: .*max-memory" "$LOG"; then
        ok "a broken drop-in is reported with file:line on reload"
else
        not_ok "a broken drop-in is reported with file:line on reload"; diag_file "$LOG"
fi
check "the reload is refused as a whole (MESSAGE_ID 3c68f6ed...)" grep -q 'MESSAGE_ID=3c68f6ed414a4845aefd1bd80afb805f' "$LOG"
rm -f "$D/etc/conf.d/50-broken.conf"
job_in job-2 --rate 100 --size 600 --hold 30 --pause-at 20 --go "$D/go-2"
wait_for 10 grep -q "found by \[watch test\] (cgroup $WATCH_PATH/job-2)" "$LOG" || diag "job-2 was not picked up"
touch "$D/go-2"
wait "$JOB_PID"; rc=$?
forget_pid "$JOB_PID"
check_eq "after the refused reload the old profile still stops a job (status 143)" 143 "$rc" || diag_file "$LOG"

# 14-17: kill -9 of the daemon mid-job, a restart takes the job up again and still stops it.
# It stays at 20 MiB, far below the threshold, until the restarted daemon has it again.
job_in job-3 --rate 15 --size 600 --hold 60 --pause-at 20 --go "$D/go-3"
wait_for 10 grep -q "cgroup $WATCH_PATH/job-3" "$LOG"
wait_for 10 test -n "$(ls "$D/state/jobs/" 2>/dev/null)"
check "the job's record is in the state directory" test -n "$(ls "$D/state/jobs/"*.json 2>/dev/null)"
mgd_kill
stop_notify
check "the job survives kill -9 of memguardd" pid_alive "$JOB_PID"
LOG2=$D/daemon2.log
start_daemon "$LOG2"
if wait_for 10 grep -q "supervised again after a restart (cgroup $WATCH_PATH/job-3)" "$LOG2"; then
        ok "the restarted daemon takes the job up again from its record (MESSAGE_ID ac23c488...)"
else
        not_ok "the restarted daemon takes the job up again from its record"; diag_file "$LOG2"
fi
touch "$D/go-3"
wait "$JOB_PID"; rc=$?
forget_pid "$JOB_PID"
check_eq "the re-adopted job is still stopped at its limit (status 143)" 143 "$rc" || diag_file "$LOG2"

# 18: stopping the daemon leaves nothing supervised behind by mistake.
last_pid=$MGD_PID
mgd_stop
stopped=$?
check "memguardd stops on SIGTERM" eval '[ "$stopped" = 0 ] && pid_gone "$last_pid"'

# 19 (make check-valgrind): no memcheck error in any run, the one ended by kill -9 included.
if [ "${#VG[@]}" -gt 0 ]; then
        vg_logs=("$D"/valgrind-*.log)
        # Errors are "==PID== ..." lines; "--PID-- WARNING" lines (a syscall valgrind does not know) are not.
        if [ -e "${vg_logs[0]}" ] && ! grep -q '^==[0-9]*== ' "${vg_logs[@]}"; then
                ok "memcheck found no error in ${#vg_logs[@]} runs of memguardd"
        else
                not_ok "memcheck found no error in the runs of memguardd"
                for f in "${vg_logs[@]}"; do diag_file "$f" 60; done
        fi
fi
tap_done
