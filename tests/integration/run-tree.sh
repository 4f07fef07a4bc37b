#!/bin/bash
# memguard run: the whole process tree is the job, double-forked descendants included, and nothing of
# it outlives memguard, on every backend this host has.
. "$(dirname "$0")/lib.sh"
require_binaries
require_jq
probe_backends

J=$TEST_TMP/report.json
P=$TEST_TMP/pids

# check_cgroups_gone DESCRIPTION: the last run removed its job cgroups.
check_cgroups_gone() {
        if [ -z "$CG_V1_MEM$CG_V2" ]; then
                skip "$1" "no cgroup hierarchy visible here"
        elif [ -z "$MG_LEFT" ] && [ -n "$MG_PID" ]; then
                ok "$1"
        else
                not_ok "$1"
                diag "memguard pid ${MG_PID:-unknown}; left: $MG_LEFT"
        fi
}

for b in cgroup2 cgroup1 procfs; do
        if ! have_backend "$b"; then
                skip "$b: a double-forked grandchild is tracked and killed" "$b is not available here: $(backend_why "$b")"
                skip "$b: a background child left by the root is ended" "$b is not available here"
                continue
        fi

        # --- a double-forked grandchild (reparented, in a new session) is part of the job ---------------
        rm -f "$J" "$P"
        mg run --backend "$b" --max-memory 300 --json "$J" -- "$MEMHOG" --double-fork --size 400 --rate 1000 --pidfile "$P"
        check_rc "$b: a double-forked grandchild allocating 400 MiB with --max-memory 300 is stopped (10)" 10
        gc=$(head -n1 "$P" 2>/dev/null)
        if [ -n "$gc" ] && [ "$(jget "$J" "[.processes[].pid] | index($gc) != null")" = true ]; then
                ok "$b: ... the JSON processes list has the grandchild (pid $gc)"
        else
                not_ok "$b: ... the JSON processes list has the grandchild (pid ${gc:-?})"
                diag "processes: $(jget "$J" '[.processes[] | "\(.pid)/\(.ppid)/\(.command)"] | join(" ")')"
        fi
        check_eq "$b: ... verdict killed" "killed" "$(jget "$J" .verdict)"
        # No waiting: memguard has returned, the grandchild must be gone already (a zombie that init has
        # yet to reap is not alive, but is given a moment).
        if [ -n "$gc" ] && { pid_gone "$gc" || { grep -q '^[0-9]* ([^)]*) Z' "/proc/$gc/stat" 2>/dev/null && wait_for 2 pid_gone "$gc"; }; }; then
                ok "$b: ... after memguard returned, the grandchild no longer exists (kill -0 fails)"
        else
                not_ok "$b: ... after memguard returned, the grandchild no longer exists (kill -0 fails)"
                [ -n "$gc" ] && diag "$(ps -o pid,ppid,stat,cmd -p "$gc" 2>&1)" && kill -KILL "$gc" 2>/dev/null
        fi
        check_cgroups_gone "$b: ... and its job cgroups were removed"

        # --- the root exits at once, leaving a background child ----------------------------------------------
        rm -f "$P"
        mg run --backend "$b" -- sh -c 'sleep 120 & echo $! >"$0"; exit 0' "$P"
        check_rc "$b: a root that exits leaving 'sleep 120' behind: memguard returns 0" 0
        # Not a timing: memguard must not wait for the sleep, and timeout(1) ends any run at MG_TIMEOUT.
        check "$b: ... without waiting for the sleep to end (${MG_MS}ms)" test "$MG_MS" -lt 120000 -a -z "$MG_TIMED_OUT"
        s=$(cat "$P" 2>/dev/null)
        if [ -n "$s" ] && wait_for 2 pid_gone "$s"; then
                ok "$b: ... and the sleep is gone"
        else
                not_ok "$b: ... and the sleep is gone"
                [ -n "$s" ] && diag "$(ps -o pid,ppid,stat,cmd -p "$s" 2>&1)" && kill -KILL "$s" 2>/dev/null
        fi
        check "$b: ... memguard said it ended what the root left running" grep -q "ending what it left running" "$MG_ERR" ||
                mg_diag
        check_cgroups_gone "$b: ... and its job cgroups were removed"

        # --- an orphan: a subshell backgrounds a sleep and exits, then the root exits ----------------------
        rm -f "$P"
        mg run --backend "$b" -- sh -c '(sleep 120 & echo $! >"$0"); exit 0' "$P"
        check_rc "$b: a root leaving an orphaned (reparented) 'sleep 120': memguard returns 0" 0
        check "$b: ... without waiting for the sleep to end (${MG_MS}ms)" test "$MG_MS" -lt 120000 -a -z "$MG_TIMED_OUT"
        s=$(cat "$P" 2>/dev/null)
        if [ -n "$s" ] && wait_for 2 pid_gone "$s"; then
                ok "$b: ... and the orphan is gone"
        else
                not_ok "$b: ... and the orphan is gone"
                [ -n "$s" ] && diag "$(ps -o pid,ppid,stat,cmd -p "$s" 2>&1)" && kill -KILL "$s" 2>/dev/null
        fi
        check_cgroups_gone "$b: ... and its job cgroups were removed"
done

# --- a SIGKILLed memguard cannot remove its groups: the next run does, once they are empty ------------
if ! have_backend cgroup2 && ! have_backend cgroup1; then
        skip "a run removes the empty job cgroups a SIGKILLed run left behind" "no cgroup backend here"
else
        rm -f "$P"
        mg_bg run --no-daemon -- sh -c 'echo $$ >"$0"; exec sleep 60' "$P"
        killed=$MG_PID
        wait_for 5 test -s "$P"
        s=$(cat "$P" 2>/dev/null)
        kill -KILL "$killed" 2>/dev/null
        wait "$MG_BG"
        forget_pid "$MG_BG"
        left=$(cg_leftovers "$killed")
        check "a SIGKILLed memguard leaves its job cgroups behind (pid $killed)" test -n "$left"
        # Its job still runs in them: ending it is not the next run's business, so end it here.
        [ -n "$s" ] && kill -KILL "$s" 2>/dev/null
        for d in $left; do wait_for 5 sh -c '[ -z "$(cat "$0/cgroup.procs")" ]' "$d"; done
        mg run --no-daemon -- true
        check_rc "... the next run succeeds" 0
        left=$(cg_leftovers "$killed")
        if [ -z "$left" ]; then
                ok "... and has removed the killed run's empty job cgroups"
        else
                not_ok "... and has removed the killed run's empty job cgroups"
                diag "left: $left"
                CG_LEFT_ALL+="$left"$'\n'
                cg_reap "$killed"
        fi
fi

check_no_cgroups_left
tap_done
