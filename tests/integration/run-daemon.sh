#!/usr/bin/env bash
# memguard run with a memguardd to hand the job to: the same exit codes and report as without it, the
# daemon's profile applied, and a client killed mid-run leaving its job guarded by the daemon.
. "$(dirname "$0")/lib.sh"

require_memguardd
require_binaries
require_jq

D=$TEST_TMP
SOCK=$D/memguardd.sock
CONF=$D/etc/memguard.conf
mgd_config "$CONF" "$SOCK" "$D/state" <<EOC

[profile default]
max-memory = 300M
grace = 1s
EOC
mgd_start "$CONF" "$SOCK" "$D/daemon.log" || skip_all "memguardd did not come up: $(mgd_why)"

tap_plan 20

# 1-6: the same exit codes with the daemon as without it.
for spec in "0|true" "7|sh -c 'exit 7'" "137|sh -c 'kill -9 \$\$'" "143|sh -c 'kill -TERM \$\$'"; do
        want=${spec%%|*}
        cmd=${spec#*|}
        mg run --socket "$SOCK" -- sh -c "$cmd"
        d=$MG_RC
        mg run --no-daemon -- sh -c "$cmd"
        e=$MG_RC
        if [ "$d" = "$want" ] && [ "$e" = "$want" ]; then
                ok "exit code $want for '$cmd', with and without the daemon"
        else
                not_ok "exit code $want for '$cmd', with and without the daemon"
                diag "with the daemon: $d, without: $e"
        fi
done
mg run --socket "$SOCK" -- no-such-command-$$
check_rc "a command that does not exist gives 127 through the daemon too" 127
check "... and says 'command not found'" grep -q "command not found" "$MG_ERR"

# 7-10: a job over its limit is stopped by the daemon: exit 10, the daemon's report.
mg run --socket "$SOCK" --max-memory 200 --json "$D/j.json" --csv "$D/p.csv" --timeline "$D/t.csv" -- \
        "$MEMHOG" --rate 1000 --size 3000
check_rc "an allocator over --max-memory is stopped with exit 10 by the daemon" 10
check_eq "the JSON report comes from the daemon with the verdict 'killed'" "killed" "$(jget "$D/j.json" .verdict)"
check "it names the limit the client asked for (200 MiB)" jtrue "$D/j.json" '.limit.max_memory_bytes == 209715200'
check "CSV and timeline come too, with memwatch's headers" \
        sh -c "head -1 '$D/p.csv' | grep -qx 'pid,ppid,command,max_rss_kib,max_rss_mib,first_seen,last_seen' &&
               head -1 '$D/t.csv' | grep -qx 'timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count'"

# 11: the profile's limit applies when the client asks for none.
mg run --socket "$SOCK" --json "$D/p.json" -- "$MEMHOG" --rate 1000 --size 3000
check "without --max-memory the profile's 300M applies (exit 10, limit 300 MiB)" \
        sh -c "[ $MG_RC = 10 ] && jq -e '.limit.max_memory_bytes == 314572800' '$D/p.json' >/dev/null" || mg_diag

# 12-14: the client dies mid-run; the daemon still stops the job at its limit.
# The job pauses at 20 MiB, far below its threshold, until its client is gone.
mg_bg run --socket "$SOCK" --max-memory 200 -- "$MEMHOG" --rate 20 --size 600 --hold 30 --pidfile "$D/hog.pid" \
        --pause-at 20 --go "$D/go-hog"
if wait_for 10 test -s "$D/hog.pid"; then
        hog=$(head -1 "$D/hog.pid")
        kill -KILL "$MG_PID"
        mg_wait
        check "the job outlives its killed client" pid_alive "$hog"
        touch "$D/go-hog"
        if wait_for 30 pid_gone "$hog"; then
                ok "memguardd still stops it at its limit"
        else
                not_ok "memguardd still stops it at its limit"; kill -KILL "$hog"; diag_file "$D/daemon.log"
        fi
        check "the daemon recorded the threshold for it" grep -q "MEMORY THRESHOLD EXCEEDED.*80% of 200 MiB" "$D/daemon.log"
else
        not_ok "the job outlives its killed client"; not_ok "memguardd still stops it at its limit"
        not_ok "the daemon recorded the threshold for it"; mg_wait; mg_diag
fi

# 15: --dry-run stays in process even with a daemon there.
mg run --dry-run --json "$D/dry.json" -- true
check_eq "--dry-run guards in process (procfs or cgroup backend, no daemon job)" "true" "$(jget "$D/dry.json" .dry_run)"
# 16-18: the state directory is lost with the daemon: the record on the job's cgroup brings it back.
# Paused at 20 MiB until the daemon has been killed, has lost its state and has taken the job up again.
mg_bg run --socket "$SOCK" --max-memory 200 -- "$MEMHOG" --rate 10 --size 600 --hold 60 --pidfile "$D/lost.pid" \
        --pause-at 20 --go "$D/go-lost"
if wait_for 10 test -s "$D/lost.pid"; then
        lost=$(head -1 "$D/lost.pid")
        kill -KILL "$MG_PID"
        mg_wait
        mgd_kill
        rm -rf "$D/state"
        mgd_start "$CONF" "$SOCK" "$D/daemon3.log"
        if wait_for 10 grep -q "taking it up from its cgroup" "$D/daemon3.log"; then
                ok "with its state directory gone, the restarted daemon takes the job up from its cgroup's record"
        else
                not_ok "with its state directory gone, the restarted daemon takes the job up from its cgroup's record"
                diag_file "$D/daemon3.log"
        fi
        check "the job is still running" pid_alive "$lost"
        touch "$D/go-lost"
        if wait_for 60 pid_gone "$lost"; then
                ok "and it is still stopped at its limit"
        else
                not_ok "and it is still stopped at its limit"; kill -KILL "$lost"; diag_file "$D/daemon3.log"
        fi
else
        not_ok "with its state directory gone, the restarted daemon takes the job up from its cgroup's record"
        not_ok "the job is still running"; not_ok "and it is still stopped at its limit"; mg_wait; mg_diag
fi

# 19-20: host-reserve: a host short of memory has its largest job stopped.
mgd_stop
sed -i 's/^\[daemon\]$/[daemon]\nhost-reserve = 99%/' "$CONF"
mgd_start "$CONF" "$SOCK" "$D/daemon2.log" || diag "memguardd did not come up: $(mgd_why)"
# The job holds until the reserve stops it: --hold is a ceiling only.
mg run --socket "$SOCK" --json "$D/host.json" -- "$MEMHOG" --size 20 --hold 120
check_rc "with host-reserve above what the host has, the largest job is stopped (exit 10)" 10
check "the report says it was the host reserve" jtrue "$D/host.json" '.reason | test("host-reserve")' \
        || diag "$(jget "$D/host.json" .reason)"
tap_done
