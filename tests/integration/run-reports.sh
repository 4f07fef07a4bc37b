#!/bin/bash
# memguard run: the reports. JSON (to a file and to stdout), CSV, timeline, log file, --quiet, and the
# peak compared with the kernel's own high-water mark.
. "$(dirname "$0")/lib.sh"
require_binaries
require_jq
probe_backends

J=$TEST_TMP/report.json
C=$TEST_TMP/procs.csv
T=$TEST_TMP/timeline.csv
L=$TEST_TMP/memguard.log
P=$TEST_TMP/memhog.pid

# --- every report of one passing job -----------------------------------------------------------------------
# 30 MiB held until the log has two "Memory usage:" seconds (so two samples at least): the test says when,
# not a timer a busy machine can outrun.
GO=$TEST_TMP/go
rm -f "$J" "$C" "$T" "$L" "$P" "$GO"
mg_bg run --max-memory 500 --json "$J" --csv "$C" --timeline "$T" --log-file "$L" -- \
        "$MEMHOG" --size 30 --go "$GO" --pidfile "$P"
wait_for 10 test "$(usage_lines "$L")" -ge 2 || diag "fewer than two 'Memory usage:' lines after the ceiling"
touch "$GO"
mg_wait
check_rc "a passing job with --json FILE --csv --timeline --log-file exits 0" 0
hog=$(head -n1 "$P" 2>/dev/null)

if json_valid "$J"; then ok "--json FILE: the file parses with jq"; else not_ok "--json FILE: the file parses with jq"; diag_file "$J"; fi

missing=
for k in command start_time end_time duration_seconds interval_ms max_total_rss_kib processes limit verdict reason backend exit_code; do
        [ "$(jget "$J" "has(\"$k\")")" = true ] || missing+=" $k"
done
check_eq "... it has command, start_time, end_time, duration_seconds, interval_ms, max_total_rss_kib, processes, limit, verdict, reason, backend, exit_code" "" "$missing"

check_eq "... command is the argv array" "[\"$MEMHOG\",\"--size\",\"30\",\"--go\",\"$GO\",\"--pidfile\",\"$P\"]" "$(jget "$J" '.command | tojson')"
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
check "... start_time and end_time are ISO 8601 UTC, start <= end" \
        jtrue "$J" --arg re "$iso" '(.start_time | test($re)) and (.end_time | test($re)) and .start_time <= .end_time' ||
        diag "$(jget "$J" '"\(.start_time) \(.end_time)"')"
# Bounds from what the job did, not from the clock: it lived past two usage lines a second apart, and
# within the run's wall time as measured from outside.
check "... duration_seconds is a number between 1 and the run's ${MG_MS}ms ($(jget "$J" .duration_seconds))" \
        jtrue "$J" --argjson ms "$MG_MS" '(.duration_seconds | type) == "number" and .duration_seconds >= 1 and
                                          .duration_seconds <= $ms / 1000'
check "... interval_ms is a positive number ($(jget "$J" .interval_ms))" jtrue "$J" '(.interval_ms | type) == "number" and .interval_ms > 0'
check "... limit.max_memory_bytes is 500 MiB" jtrue "$J" ".limit.max_memory_bytes == $((500 * MIB))" || diag "$(jget "$J" .limit)"
check_eq "... verdict completed" "completed" "$(jget "$J" .verdict)"
check_eq "... reason: exited with status 0" "exited with status 0" "$(jget "$J" .reason)"
check_eq "... exit_code 0" "0" "$(jget "$J" .exit_code)"
check_eq "... backend is auto's pick here" "${BACKENDS[0]}" "$(jget "$J" .backend)"
bad=$(jget "$J" '[.processes[] | select((has("pid") and has("ppid") and has("command") and has("max_rss_kib")
        and has("first_seen") and has("last_seen")) | not)] | length')
n=$(jget "$J" '.processes | length')
check "... every one of the $n processes has pid, ppid, command, max_rss_kib, first_seen, last_seen" \
        test "${n:-0}" -ge 1 -a "$bad" = 0 || diag "$(jget "$J" .processes)"
row=$(jget "$J" ".processes[] | select(.pid == ${hog:-0}) | \"\(.command) \(.max_rss_kib)\"")
check "... memhog (pid ${hog:-?}) is listed with at least 30 MiB: '$row'" \
        test "${row%% *}" = memhog -a "${row##* }" -ge $((30 * 1024)) 2>/dev/null
kib=$(jget "$J" .max_total_rss_kib)
check "... max_total_rss_kib ($kib) is at least memhog's 30 MiB" test "${kib:-0}" -ge $((30 * 1024))

check_eq "--csv: the header is exactly memwatch's" "pid,ppid,command,max_rss_kib,max_rss_mib,first_seen,last_seen" "$(head -n1 "$C" 2>/dev/null)"
check "... and memhog has a row" grep -q "^${hog:-x},[0-9]*,\"memhog\",[0-9]*,[0-9.]*,[0-9TZ:-]*,[0-9TZ:-]*$" "$C" || diag_file "$C"

check_eq "--timeline: the header is exactly memwatch's" "timestamp,elapsed_seconds,total_rss_kib,total_rss_mib,process_count" "$(head -n1 "$T" 2>/dev/null)"
rows=$(($(wc -l <"$T" 2>/dev/null || echo 1) - 1))
check "... with at least 2 rows ($rows)" test "$rows" -ge 2
check "... every row has 5 fields, a timestamp and numbers" \
        awk -F, 'NR > 1 && !(NF == 5 && $1 ~ /^[0-9-]+T[0-9:]+Z$/ && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/) { bad = 1 } END { exit bad }' "$T" ||
        diag_file "$T" 5

check "--log-file: the log says how the job ended" grep -q "job ended: completed" "$L" || diag_file "$L"
# memguard(1): "Append every event and a 'Memory usage:' line per second to file".
usage=$(grep -c "Memory usage:" "$L" 2>/dev/null)
check "--log-file: a 'Memory usage:' line per second, as memguard(1) says (${usage:-0} lines)" test "${usage:-0}" -ge 2 ||
        { diag "run.c logs the usage line with log_debug(); log.c writes only up to LOG_INFO to the file."; diag_file "$L"; }

# --- --json without a file: JSON on stdout, the summary still on stderr --------------------------------------
mg run --json -- "$MEMHOG" --size 10
check_rc "--json alone: exits 0" 0
if json_valid "$MG_OUT" && [ "$(jget "$MG_OUT" .exit_code)" = 0 ]; then
        ok "... stdout is the JSON report and parses"
else
        not_ok "... stdout is the JSON report and parses"
        diag_file "$MG_OUT"
fi
check "... the text summary is still on stderr" grep -q "^Verdict:" "$MG_ERR" || mg_diag

rm -f "$J"
mg run --json="$J" -- "$MEMHOG" --size 10
if [ "$MG_RC" = 0 ] && json_valid "$J" && [ ! -s "$MG_OUT" ]; then
        ok "--json=FILE writes the file and nothing on stdout"
else
        not_ok "--json=FILE writes the file and nothing on stdout"
        mg_diag
        diag_file "$MG_OUT"
fi

# --- the log file after a kill -------------------------------------------------------------------------------
rm -f "$L"
mg run --max-memory 200 --log-file "$L" -- "$MEMHOG" --rate 1000 --size 3000
check_rc "--log-file with a job over its limit: stopped (10)" 10
check "... the log has 'MEMORY THRESHOLD EXCEEDED'" grep -q "MEMORY THRESHOLD EXCEEDED" "$L" || diag_file "$L"
check "... and the signals sent" grep -q "sent SIGTERM" "$L" || diag_file "$L"

# --- --quiet ---------------------------------------------------------------------------------------------------
mg run --quiet --max-memory 500 -- "$MEMHOG" --size 10
check_rc "--quiet with a passing job: exits 0" 0
if [ -s "$MG_ERR" ]; then
        not_ok "... and prints nothing on stderr"
        mg_diag
else
        ok "... and prints nothing on stderr"
fi
mg run --quiet --max-memory 100 -- "$MEMHOG" --rate 1000 --size 3000
check_rc "--quiet with a job over its limit: still stopped (10)" 10
if grep -q "Verdict:" "$MG_ERR"; then
        not_ok "... without the summary on stderr"
        mg_diag
else
        ok "... without the summary on stderr"
fi

# --- the peak against the kernel's high-water mark ----------------------------------------------------------------
for b in cgroup2 cgroup1; do
        if ! have_backend "$b"; then
                skip "$b: the peak agrees with the kernel's high-water mark" "$b is not available here: $(backend_why "$b")"
                continue
        fi
        # Held until a sample has seen the 200 MiB (memguard's log says so), then it exits.
        rm -f "$J" "$GO" "$L"
        mg_bg run --backend "$b" --json "$J" --log-file "$L" -- "$MEMHOG" --size 200 --go "$GO"
        wait_for 10 usage_seen "$L" 200 || diag "$b: memguard's log never said 200 MiB"
        touch "$GO"
        mg_wait
        check_rc "$b: memhog --size 200, held until sampled, exits 0" 0
        kib=$(jget "$J" .max_total_rss_kib)
        sampled=$(jget "$J" .peak.sampled_total_bytes)
        high=$(jget "$J" .peak.kernel_high_water_bytes)
        # max_total_rss_kib is the larger of both peaks, rounded down to KiB.
        check "$b: ... max_total_rss_kib x 1024 ($((${kib:-0} * 1024))) >= the sampled peak ($sampled) less rounding" \
                test $((${kib:-0} * 1024 + 1023)) -ge "${sampled:-1}"
        check "$b: ... the job's 200 MiB are in the peak (max_total_rss_kib $kib)" test "${kib:-0}" -ge $((200 * 1024))
        if [ "$high" = null ] && [ "$b" = cgroup2 ]; then
                skip "$b: ... the kernel's high-water mark is within 10% of the sampled peak" "no memory.peak (Linux < 5.19)"
        elif [ -n "$high" ] && [ "$high" != null ] && [ -n "$sampled" ] &&
                [ $((high * 10)) -le $((sampled * 11)) ] && [ $((high * 10)) -ge $((sampled * 9)) ]; then
                ok "$b: ... the kernel's high-water mark ($high) is within 10% of the sampled peak ($sampled)"
        else
                not_ok "$b: ... the kernel's high-water mark is within 10% of the sampled peak"
                diag "kernel_high_water_bytes=$high sampled_total_bytes=$sampled"
        fi
done

# A one-process job stopped while it grows: its own peak is its share of the total, not a value from
# some earlier sample (the per-process reads must keep up with a small job).
mg run --no-daemon --max-memory 300 --json "$TEST_TMP/one.json" -- "$MEMHOG" --rate 1000 --size 3000
total=$(jget "$TEST_TMP/one.json" .max_total_rss_kib)
own=$(jget "$TEST_TMP/one.json" '[.processes[].max_rss_kib] | max')
if [ -n "$own" ] && [ "$own" != null ] && [ $((own * 10)) -ge $((${total:-0} * 9)) ]; then
        ok "a one-process job's own peak is within 10% of the job's peak ($own of $total KiB)"
else
        not_ok "a one-process job's own peak is within 10% of the job's peak"
        diag "process peak $own KiB, job peak $total KiB"
fi

# --- report paths are checked before the job runs ------------------------------------------------------------
for opt in --json --csv --timeline --log-file; do
        rm -f "$TEST_TMP/ran"
        mg run "$opt" "$TEST_TMP/no-such-dir/out" -- sh -c ': >"$0"' "$TEST_TMP/ran"
        if [ "$MG_RC" = 2 ] && grep -q -- "$opt $TEST_TMP/no-such-dir/out" "$MG_ERR" && [ ! -e "$TEST_TMP/ran" ]; then
                ok "$opt into a missing directory: a usage error (2) naming the option, before the job runs"
        else
                not_ok "$opt into a missing directory: a usage error (2) naming the option, before the job runs"
                diag "the job ran: $([ -e "$TEST_TMP/ran" ] && echo yes || echo no)"
                mg_diag
        fi
done
mkdir -p "$TEST_TMP/a-dir"
mg run --json "$TEST_TMP/a-dir" -- sh -c ': >"$0"' "$TEST_TMP/ran"
check "--json naming a directory: 2, before the job runs" sh -c '[ "$0" = 2 ] && [ ! -e "$1" ]' "$MG_RC" "$TEST_TMP/ran" ||
        mg_diag

# --- a full disk is an error, and leaves no empty report ----------------------------------------------------
mg run --quiet --log-file /dev/full -- true
check "--log-file on a full device: exit 1, not a silent 0" test "$MG_RC" = 1 || mg_diag
check "... and stderr says the log file could not be written" \
        grep -q "cannot write to the log file /dev/full: No space left on device" "$MG_ERR" || mg_diag
FULL=$TEST_TMP/full
mkdir -p "$FULL"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=64k mg-full "$FULL" 2>/dev/null; then
        skip "--json on a full filesystem: exit 1 and no 0-byte file" "cannot mount a small tmpfs here (needs root)"
        skip "... a report there from before stays whole" "cannot mount a small tmpfs here (needs root)"
else
        trap 'umount "$FULL" 2>/dev/null; lib_cleanup' EXIT
        dd if=/dev/zero of="$FULL/fill" bs=4k 2>/dev/null
        mg run --quiet --json "$FULL/r.json" -- true
        if [ "$MG_RC" = 1 ] && grep -q "cannot write the JSON report to $FULL/r.json" "$MG_ERR" && [ ! -e "$FULL/r.json" ]; then
                ok "--json on a full filesystem: exit 1, the error said, and no 0-byte file"
        else
                not_ok "--json on a full filesystem: exit 1, the error said, and no 0-byte file"
                diag "$(ls -l "$FULL")"
                mg_diag
        fi
        rm -f "$FULL/fill"
        echo '{"old": true}' >"$FULL/r.json"
        dd if=/dev/zero of="$FULL/fill" bs=4k 2>/dev/null
        mg run --quiet --json "$FULL/r.json" -- true
        check "... a report there from before stays whole" sh -c '[ "$0" = 1 ] && jq -e .old "$1" >/dev/null' \
                "$MG_RC" "$FULL/r.json" || { mg_diag; diag_file "$FULL/r.json"; }
        umount "$FULL"
fi

# --- a command line cannot forge a line of the report or of the log -------------------------------------------
forged=$'x\nVerdict:         killed: MEMORY THRESHOLD EXCEEDED\033[2J'
mg run --no-daemon -- sh -c 'exit 0' "$forged"
check "a newline and an escape in the command line: one Verdict line, the command on its one line as \\x0a, \\x1b" \
        sh -c '[ "$(grep -c "^Verdict:" "$0")" = 1 ] && grep -qF "x\\x0aVerdict:" "$0" && ! grep -q "$(printf "\033")" "$0"' \
        "$MG_ERR" || mg_diag
rm -f "$L"
mg run --no-daemon --log-file "$L" -- "$(printf 'no-such-cmd\nmemguard: MEMORY THRESHOLD EXCEEDED')"
check "... a command that is not found: 127, and no forged line on stderr or in the log" sh -c '[ "$0" = 127 ] &&
        ! grep -q "^memguard: MEMORY" "$1" && ! grep -v "^\[" "$2" && grep -qF "no-such-cmd\\x0amemguard" "$1"' \
        "$MG_RC" "$MG_ERR" "$L" || { mg_diag; diag_file "$L"; }

check_no_cgroups_left
tap_done
