#!/usr/bin/env bash
# memguardd's D-Bus interface on both transports: a private dbus-daemon started here with the shipped
# policy (systemd/org.memguard.Manager1.conf, and nothing else) and the peer-to-peer control socket.
# busctl introspects and calls it on each, the documented XML matches what the daemon serves, signals
# arrive on each. Two users created here (useradd) cannot see the details of, kill, freeze, thaw or
# change each other's jobs over either transport, root can, and a pidfd of another user's process is
# refused. Malformed calls (wrong signatures, 5000 arguments, bad limits, unknown ids, forged headers,
# garbage bytes) get errors while the daemon keeps serving everyone else.
. "$(dirname "$0")/lib.sh"

POLICY=$top_srcdir/systemd/org.memguard.Manager1.conf
DOC_XML=$top_srcdir/docs/org.memguard.Manager1.xml

require_memguardd "needs root: memguardd makes job cgroups, and the test creates users"
require_binaries
require_jq
for tool in dbus-daemon busctl useradd userdel setpriv stdbuf; do
        command -v "$tool" >/dev/null || skip_all "$tool is missing"
done
# python3-dbus and python3-gi are Debian's packages of the system python3, not of any other python.
PY=
for p in /usr/bin/python3 python3; do
        if "$p" -c 'import dbus, dbus.mainloop.glib, gi' 2>/dev/null; then
                PY=$(command -v "$p")
                break
        fi
done
[ -n "$PY" ] || skip_all "python3 with the dbus and gi modules (python3-dbus, python3-gi) is missing"

# --- a directory the test users can reach, with copies of the binaries -------------------------------
chmod 0755 "$TEST_TMP"
D=$TEST_TMP
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$D"; then
        D=$(mktemp -d /tmp/mg-bus.XXXXXX) || skip_all "cannot create a directory the test users can reach"
        CLEANUP_DIRS+=("$D")
        chmod 0755 "$D"
fi
BIN=$D/bin
OUT=$D/out
mkdir -p "$BIN" "$OUT" "$D/system.d" "$D/etc" "$D/state"
chmod 1777 "$OUT"
cp "$MEMGUARD" "$BIN/memguard" && cp "$MEMHOG" "$BIN/memhog" &&
        cp "$top_srcdir/tests/helpers/mgbus.py" "$BIN/mgbus.py" || skip_all "cannot copy the binaries to $BIN"
chmod 0755 "$BIN" "$BIN"/*
MG=$BIN/memguard
MGBUS=("$PY" "$BIN/mgbus.py")

# --- two users of our own ---------------------------------------------------------------------------
UA=mgtesta$$
UB=mgtestb$$
USERS_MADE=()
make_user() {
        useradd -M -N -s /usr/sbin/nologin "$1" >/dev/null 2>&1 || return 1
        USERS_MADE+=("$1")
}
PIDS_OF_USERS=()    # processes started as the test users, ended before the users are deleted

SOCK=$D/mg.sock
BUS=$D/bus
BUS_PID=
# The users' processes go first, so that mgd_stop sees their jobs end; the users go last.
bus_cleanup() {
        local p u
        for p in "${PIDS_OF_USERS[@]}"; do kill -KILL "$p" 2>/dev/null; done
        mgd_stop
        [ -n "$BUS_PID" ] && kill -TERM "$BUS_PID" 2>/dev/null
        for u in "${USERS_MADE[@]}"; do
                userdel "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
        done
        lib_cleanup
}
trap bus_cleanup EXIT

make_user "$UA" && make_user "$UB" || skip_all "cannot create test users with useradd"
UA_UID=$(id -u "$UA")
UB_UID=$(id -u "$UB")
AS_A=(setpriv --reuid="$UA_UID" --regid="$(id -g "$UA")" --clear-groups)
AS_B=(setpriv --reuid="$UB_UID" --regid="$(id -g "$UB")" --clear-groups)
"${AS_A[@]}" sh -c '"$0" --version' "$MG" >/dev/null 2>&1 || skip_all "user $UA cannot run $MG"

# --- the private system bus, with the shipped policy as the only service policy ----------------------
cp "$POLICY" "$D/system.d/" || skip_all "cannot copy $POLICY"
cat >"$D/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$BUS</listen>
  <auth>EXTERNAL</auth>
  <!-- As the system bus's own configuration: deny by default, services punch holes. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>$D/system.d</includedir>
</busconfig>
EOC
dbus-daemon --config-file="$D/bus.conf" --fork --print-pid=3 3>"$D/bus.pid" </dev/null >"$D/bus.log" 2>&1 ||
        skip_all "dbus-daemon does not start: $(head -n 2 "$D/bus.log" | tr '\n' ' ')"
BUS_PID=$(cat "$D/bus.pid")
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$BUS

mgd_config "$D/etc/memguard.conf" "$SOCK" "$D/state" <<EOC

[profile default]
max-memory = 300M
grace = 1s

[profile small]
max-memory = 200M
EOC
mgd_start "$D/etc/memguard.conf" "$SOCK" "$D/daemon.log" &&
        wait_for 10 grep -q "serving org.memguard.Manager1 on the system bus" "$D/daemon.log" ||
        skip_all "memguardd did not come up on the bus and the socket: $(mgd_why)"

# --- helpers -----------------------------------------------------------------------------------------
SOCKET_ADDR=--address=unix:path=$SOCK
# mcall TRANSPORT [busctl options] METHOD [SIGNATURE ARGS...]: busctl call on Manager1, TRANSPORT --system
# or $SOCKET_ADDR.
mcall() {
        local t=$1
        shift
        busctl --no-pager "$t" call org.memguard.Manager1 /org/memguard/Manager1 org.memguard.Manager1 "$@"
}
mshow_json() { "$MG" show "$1" --socket "$SOCK" --json 2>/dev/null; }
job_state() { mshow_json "$1" | jq -r .State; }
job_limit() { mshow_json "$1" | jq -r .LimitBytes; }
daemon_serves() { mgd_answers; }

declare -A JOB HOG RUN MGPID
MEMHOG_EXTRA=()
# job_start NAME WHO [RUN OPTIONS...]: "memguard run --socket" on a memhog holding 10 MiB (and
# MEMHOG_EXTRA), as WHO (root, a or b). Sets JOB[NAME] (the daemon's id), HOG[NAME] (the first allocating
# pid memhog writes), RUN[NAME] (for wait).
job_start() {
        local name=$1 who=$2 pre=()
        shift 2
        case $who in
        a) pre=("${AS_A[@]}") ;;
        b) pre=("${AS_B[@]}") ;;
        esac
        local pf=$OUT/$name.pid
        # The job holds until the test ends it: --hold and timeout(1) are ceilings, far beyond this script.
        timeout -k 5 900 sh -c 'echo $$ >"$0"; exec "$@"' "$OUT/$name.mgpid" "${pre[@]}" "$MG" run --socket "$SOCK" "$@" \
                -- "$BIN/memhog" --size 10 --hold 800 --pidfile "$pf" "${MEMHOG_EXTRA[@]}" </dev/null >"$OUT/$name.out" 2>&1 &
        RUN[$name]=$!
        CLEANUP_PIDS+=("$!")
        if ! wait_for 10 test -s "$pf"; then
                diag "job $name did not start"
                diag_file "$OUT/$name.out"
                return 1
        fi
        HOG[$name]=$(head -n 1 "$pf")
        MGPID[$name]=$(cat "$OUT/$name.mgpid")
        PIDS_OF_USERS+=("${HOG[$name]}" "${MGPID[$name]}")
        JOB[$name]=$("$MG" status --socket "$SOCK" --json | jq -r --arg p "$pf" '.[] | select((.command // "") | contains($p)) | .id')
        [ -n "${JOB[$name]}" ] || { diag "job $name is not in 'memguard status'"; return 1; }
}
# job_end NAME: waits for the memguard run of NAME; sets JOB_RC.
job_end() {
        wait "${RUN[$1]}"
        JOB_RC=$?
        forget_pid "${RUN[$1]}"
}

# --- 1-9: both transports answer, as documented -------------------------------------------------------
expect "memguardd owns org.memguard.Manager1 on the private system bus" 0 "^org\.memguard\.Manager1 +$MGD_PID " \
        busctl --no-pager --system list
busctl --no-pager --system introspect --xml-interface org.memguard.Manager1 /org/memguard/Manager1 >"$D/bus.xml" 2>&1
expect "busctl introspects it on the bus: the same members and signatures as docs/org.memguard.Manager1.xml" 0 \
        "members match" "${MGBUS[@]}" - compare-xml "$D/bus.xml" "$DOC_XML" org.memguard.Manager1
busctl --no-pager "$SOCKET_ADDR" introspect --xml-interface org.memguard.Manager1 /org/memguard/Manager1 \
        >"$D/socket.xml" 2>&1
expect "busctl introspects it on the socket (Hello answered): the same as documented" 0 "members match" \
        "${MGBUS[@]}" - compare-xml "$D/socket.xml" "$DOC_XML" org.memguard.Manager1
expect "busctl calls ListProfiles on the bus" 0 '"small" 209715200' mcall --system ListProfiles
expect "busctl calls ListProfiles on the socket" 0 '"small" 209715200' mcall "$SOCKET_ADDR" ListProfiles
expect "the shipped policy lets an unprivileged user call the daemon on the bus ($UA: ListJobs)" 0 '^a\(tsusssttto\)' \
        "${AS_A[@]}" busctl --no-pager --system call org.memguard.Manager1 /org/memguard/Manager1 \
        org.memguard.Manager1 ListJobs
expect "... and read its properties (Version)" 0 '^s "' \
        "${AS_A[@]}" busctl --no-pager --system get-property org.memguard.Manager1 /org/memguard/Manager1 \
        org.memguard.Manager1 Version
expect "... but not own its name (the policy gives it to root alone)" 1 "AccessDenied" \
        "${AS_A[@]}" "${MGBUS[@]}" system own org.memguard.Manager1
expect "... nor reach an interface the policy does not open (the bus itself rejects it)" 1 \
        "AccessDenied: Rejected send message.*interface=\"org\.example\.NotOpen\"" \
        "${AS_A[@]}" "${MGBUS[@]}" system call --interface org.example.NotOpen Anything
expect "root may send anything: the same call reaches the daemon (Unknown method)" 1 "Unknown method" \
        busctl --no-pager --system call org.memguard.Manager1 /org/memguard/Manager1 org.example.NotOpen Anything
if [ -S /run/memguard/memguardd.sock ]; then
        skip "with no option the client falls back to the system bus" "a memguardd serves the default socket on this host"
else
        expect "with no option the client finds no socket at the default path and falls back to the bus" 0 "small" \
                "$MG" profiles
fi

# --- signals, on the bus and on the socket ---------------------------------------------------------------
# Listening: root (busctl monitor on the bus, a peer on the socket), $UA on the bus (the job's owner;
# subscribed, and not), and $UB on the bus (subscribed) and on the socket (someone else: may learn that
# a job exists and ended, not what it runs, uses or why it was stopped).
LISTENERS=()
listen_bg() {  # listen_bg LOG PREFIX... : mgbus.py listen, in the background
        local log=$1
        shift
        "$@" timeout 330 "${MGBUS[@]}" "${LISTEN_ADDR}" listen 300 ${LISTEN_SUBSCRIBE:+--subscribe} >"$log" 2>&1 &
        LISTENERS+=("$!")
        CLEANUP_PIDS+=("$!")
}
# Listeners are ended once the signals are in; their timeouts are ceilings only.
timeout 330 stdbuf -oL busctl --no-pager --system monitor org.memguard.Manager1 >"$D/monitor.log" 2>&1 &
LISTENERS+=("$!")
CLEANUP_PIDS+=("$!")
LISTEN_ADDR=system LISTEN_SUBSCRIBE=1 listen_bg "$OUT/a-bus.log" "${AS_A[@]}"
LISTEN_ADDR=system LISTEN_SUBSCRIBE=1 listen_bg "$OUT/b-bus.log" "${AS_B[@]}"
LISTEN_ADDR=system listen_bg "$OUT/a-bus-unsubscribed.log" "${AS_A[@]}"
LISTEN_ADDR=socket:$SOCK listen_bg "$OUT/b-socket.log" "${AS_B[@]}"
LISTEN_ADDR=socket:$SOCK listen_bg "$D/root-socket.log"
# The monitor is in place once it sees our own calls.
monitor_ready() {
        busctl --system call org.memguard.Manager1 /org/memguard/Manager1 org.freedesktop.DBus.Peer Ping >/dev/null 2>&1
        grep -q "Member=Ping" "$D/monitor.log"
}
wait_for 10 monitor_ready || diag "busctl monitor shows nothing yet" "$(tail -n 3 "$D/monitor.log")"
for f in "$OUT/a-bus.log" "$OUT/b-bus.log" "$OUT/a-bus-unsubscribed.log" "$OUT/b-socket.log" "$D/root-socket.log"; do
        wait_for 10 grep -q listening "$f" || diag_file "$f"
done
# $UA's job past its threshold that ignores SIGTERM: warned, past the threshold, SIGKILLed after the grace,
# ended. It must stay far below the kernel's hard limit, which would OOM-kill it before the grace ends
# (and JobKilled would never come): the threshold is 30% of 200 MiB, the job stops growing at 75 MiB,
# and the ceiling leaves room for what a sanitizer build of memhog adds (shadow memory, its runtime).
"${AS_A[@]}" timeout -k 5 120 "$MG" run --socket "$SOCK" --max-memory 200 --kill-threshold 0.3 --warn-at 0.2 \
        --grace 300ms -- "$BIN/memhog" --rate 100 --size 75 --ignore-term --hold 100 --pidfile "$OUT/sigjob.pid" \
        >"$D/sigjob.out" 2>&1
sig_rc=$?
SIGJOB=$(sed -n 's/^JobStarted \([0-9]*\) .*/\1/p' "$D/root-socket.log" | tail -n 1)
check_eq "$UA's job over its kill threshold that ignores SIGTERM is stopped (exit 10)" 10 "$sig_rc" || diag_file "$D/sigjob.out"
all_signals() {  # all_signals FILE PREFIX
        local s
        for s in JobStarted JobWarning JobThresholdCrossed JobKilled JobEnded; do
                grep -q "$2$s" "$1" || return 1
        done
}
if wait_for 10 all_signals "$D/monitor.log" "Member="; then
        ok "busctl monitor on the bus sees JobStarted, JobWarning, JobThresholdCrossed, JobKilled and JobEnded"
else
        not_ok "busctl monitor on the bus sees JobStarted, JobWarning, JobThresholdCrossed, JobKilled and JobEnded"
        diag "$(grep -o 'Member=Job[A-Za-z]*' "$D/monitor.log" | sort | uniq -c)"
fi
if wait_for 10 all_signals "$OUT/a-bus.log" "^" && grep -q "^JobStarted $SIGJOB $UA $UA_UID$" "$OUT/a-bus.log"; then
        ok "$UA receives all five signals of their job on the bus under the shipped policy"
else
        not_ok "$UA receives all five signals of their job on the bus under the shipped policy"
        diag_file "$OUT/a-bus.log"
fi
if wait_for 10 all_signals "$D/root-socket.log" "^" && grep -q "^JobKilled $SIGJOB total-limit" "$D/root-socket.log" &&
        grep -q "^JobEnded $SIGJOB [0-9-]* total-limit" "$D/root-socket.log"; then
        ok "a peer on the socket receives all five, JobKilled and JobEnded saying total-limit"
else
        not_ok "a peer on the socket receives all five, JobKilled and JobEnded saying total-limit"
        diag_file "$D/root-socket.log"
fi
for f in "$OUT/b-bus.log" "$OUT/b-socket.log"; do
        # The job's last signal has reached this listener too: so has everything it was sent before.
        wait_for 10 grep -q "^JobEnded $SIGJOB " "$f" || diag "$(basename "$f"): no JobEnded $SIGJOB yet"
        if ! grep -q "sigjob\.pid" "$f"; then
                ok "$UB's listener ($(basename "$f" .log)) does not learn the command of $UA's job (ListJobs hides it too)"
        else
                not_ok "$UB's listener ($(basename "$f" .log)) does not learn the command of $UA's job (ListJobs hides it too)"
                diag "what $UB received:" "$(grep "^Job" "$f")"
        fi
        # memguard(1): a user sees the numbers of their own jobs only. JobStarted and JobEnded say what
        # ListJobs says to anyone; the other three carry $UA's job's memory, limit and why it was stopped.
        if grep -q "^JobStarted $SIGJOB $UA $UA_UID$" "$f" && grep -q "^JobEnded $SIGJOB -1 *$" "$f" &&
                ! grep -Eq "^Job(Warning|ThresholdCrossed|Killed) $SIGJOB " "$f"; then
                ok "... it hears that the job started and ended (no exit status, no verdict), not its warning, threshold or kill"
        else
                not_ok "... it hears that the job started and ended (no exit status, no verdict), not its warning, threshold or kill"
                diag "what $UB received:" "$(grep "^Job" "$f")"
        fi
done
# The job's owner on the bus without Subscribe: a broadcast would reach every user's listeners, so the
# daemon addresses its signals to subscribers only. (Its JobEnded reached the others a while ago.)
if ! grep -q "^Job[A-Za-z]* $SIGJOB " "$OUT/a-bus-unsubscribed.log"; then
        ok "$UA's listener on the bus that did not subscribe hears nothing of the job"
else
        not_ok "$UA's listener on the bus that did not subscribe hears nothing of the job"
        diag_file "$OUT/a-bus-unsubscribed.log"
fi
for p in "${LISTENERS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        forget_pid "$p"
done

# 'memguard run' over the system bus subscribes, so the owner's own client still hears what happens to
# the job there: the warning, the threshold and the SIGKILL after the grace, printed on stderr.
"${AS_A[@]}" timeout -k 5 120 "$MG" run --system --max-memory 200 --kill-threshold 0.3 --warn-at 0.2 \
        --grace 300ms -- "$BIN/memhog" --rate 100 --size 75 --ignore-term --hold 100 >"$D/sysjob.out" 2>&1
check_eq "$UA's 'memguard run --system' of the same job is stopped (exit 10)" 10 "$?" || diag_file "$D/sysjob.out"
if grep -q "job uses .* of its limit" "$D/sysjob.out" && grep -q "MEMORY THRESHOLD EXCEEDED" "$D/sysjob.out" &&
        grep -q "memguardd sent SIGKILL to the job (total-limit)" "$D/sysjob.out"; then
        ok "... and prints the warning, the threshold and the SIGKILL it heard on the bus"
else
        not_ok "... and prints the warning, the threshold and the SIGKILL it heard on the bus"
        diag_file "$D/sysjob.out"
fi

# --- user A and user B, over either transport -----------------------------------------------------------
job_start ja a || { diag "cannot start a job as $UA"; tap_done; }
job_start jb b || { diag "cannot start a job as $UB"; tap_done; }
JA=${JOB[ja]}
JB=${JOB[jb]}
"${AS_B[@]}" sleep 900 &
B_SLEEP=$!
PIDS_OF_USERS+=("$B_SLEEP")
CLEANUP_PIDS+=("$B_SLEEP")
check "root's 'memguard status --json' lists $UA's job $JA and $UB's job $JB with their uids" \
        jtrue <("$MG" status --socket "$SOCK" --json) --argjson a "$JA" --argjson b "$JB" --argjson ua "$UA_UID" \
        --argjson ub "$UB_UID" 'any(.[]; .id == $a and .uid == $ua) and any(.[]; .id == $b and .uid == $ub)'

BELONGS="job $JB belongs to $UB \(uid $UB_UID\), not to uid $UA_UID"
for t in socket system; do
        if [ $t = socket ]; then
                topt=(--socket "$SOCK") baddr=$SOCKET_ADDR maddr=socket:$SOCK
        else
                topt=(--system) baddr=--system maddr=system
        fi
        expect "[$t] $UA: 'memguard show $JB' ($UB's job) is refused, exit 1, saying whose it is" 1 "$BELONGS" \
                "${AS_A[@]}" "$MG" show "$JB" "${topt[@]}"
        expect "[$t] $UA: 'memguard kill $JB' is refused" 1 "$BELONGS" "${AS_A[@]}" "$MG" kill "$JB" "${topt[@]}"
        expect "[$t] $UA: 'memguard kill --now $JB' is refused" 1 "$BELONGS" "${AS_A[@]}" "$MG" kill --now "$JB" "${topt[@]}"
        expect "[$t] $UA: 'memguard freeze $JB' is refused" 1 "$BELONGS" "${AS_A[@]}" "$MG" freeze "$JB" "${topt[@]}"
        expect "[$t] $UA: 'memguard thaw $JB' is refused" 1 "$BELONGS" "${AS_A[@]}" "$MG" thaw "$JB" "${topt[@]}"
        expect "[$t] $UA: 'memguard limit $JB 5M' is refused" 1 "$BELONGS" "${AS_A[@]}" "$MG" limit "$JB" 5M "${topt[@]}"
        expect "[$t] $UA: GetReport of $JB is AccessDenied, saying whose it is" 1 "AccessDenied: $BELONGS" \
                "${AS_A[@]}" "${MGBUS[@]}" "$maddr" call GetReport ts "$JB" text
        expect "[$t] $UA: FinishJob of $JB is AccessDenied" 1 "AccessDenied: $BELONGS" \
                "${AS_A[@]}" "${MGBUS[@]}" "$maddr" call FinishJob ti "$JB" 0
        expect "[$t] $UA: $UB's job object does not exist for $UA (Job1.Command)" 1 "[Uu]nknown object" \
                "${AS_A[@]}" busctl --no-pager "$baddr" get-property org.memguard.Manager1 \
                "/org/memguard/Manager1/job/$JB" org.memguard.Job1 Command
        expect "[$t] $UA: reads the Command of their own job object" 0 "ja\.pid" \
                "${AS_A[@]}" busctl --no-pager "$baddr" get-property org.memguard.Manager1 \
                "/org/memguard/Manager1/job/$JA" org.memguard.Job1 Command
        "${AS_A[@]}" busctl --no-pager "$baddr" call org.memguard.Manager1 /org/memguard/Manager1 \
                org.freedesktop.DBus.ObjectManager GetManagedObjects >"$D/a-objects.txt" 2>&1
        if grep -q "/job/$JA\"" "$D/a-objects.txt" && ! grep -q "/job/$JB\"" "$D/a-objects.txt"; then
                ok "[$t] $UA: the ObjectManager lists $UA's job object and not $UB's"
        else
                not_ok "[$t] $UA: the ObjectManager lists $UA's job object and not $UB's"
                diag_file "$D/a-objects.txt" 5
        fi
        "${AS_A[@]}" "$MG" status "${topt[@]}" --json >"$D/a-status.json" 2>"$TEST_TMP/last.err"
        if jtrue "$D/a-status.json" --argjson a "$JA" --argjson b "$JB" \
                'any(.[]; .id == $b and .command == null and .current_bytes == null and .limit_bytes == null)
                 and any(.[]; .id == $a and (.command | contains("ja.pid")) and (.current_bytes | type) == "number")'; then
                ok "[$t] $UA: 'memguard status --json' lists $UB's job without its command or numbers, and its own with them"
        else
                not_ok "[$t] $UA: 'memguard status --json' lists $UB's job without its command or numbers, and its own with them"
                diag_file "$D/a-status.json" 30
                diag_file "$TEST_TMP/last.err"
        fi
        expect "[$t] $UA: the bus answer itself holds no trace of $UB's command" 0 "" \
                sh -c '! "$@" | grep -q jb.pid' - "${AS_A[@]}" busctl --no-pager "$baddr" call org.memguard.Manager1 \
                /org/memguard/Manager1 org.memguard.Manager1 ListJobs
        expect "[$t] $UA: cannot reload the configuration (root only)" 1 "only root may reload" \
                "${AS_A[@]}" "$MG" reload "${topt[@]}"
        expect "[$t] $UA: a pidfd of $UB's process is refused: only its owner may register it" 1 \
                "AccessDenied: process $B_SLEEP belongs to uid $UB_UID, not to uid $UA_UID" \
                "${AS_A[@]}" "${MGBUS[@]}" "$maddr" register "$B_SLEEP" -- stolen
        expect "[$t] $UA: a pidfd of $UB's job's process is refused the same way (nothing said of the job)" 1 \
                "AccessDenied: process ${HOG[jb]} belongs to uid $UB_UID, not to uid $UA_UID" \
                "${AS_A[@]}" "${MGBUS[@]}" "$maddr" register "${HOG[jb]}" -- stolen
        check_eq "[$t] after all that, $UB's job $JB is still running, not frozen, limit untouched" \
                "running 314572800" "$(job_state "$JB") $(job_limit "$JB")"
done
{ kill "$B_SLEEP" && wait "$B_SLEEP"; } 2>/dev/null
forget_pid "$B_SLEEP"
check "the forged registrations made no job" \
        jtrue <("$MG" status --socket "$SOCK" --json) 'all(.[]; .command != "stolen")'

# The owner may look and lower; raising or removing is root's.
expect "$UB: 'memguard show $JB' (their own) works" 0 "^Command: .*jb\.pid" "${AS_B[@]}" "$MG" show "$JB" --socket "$SOCK"
expect "$UB: 'memguard limit $JB 250M' (lower) works" 0 "" "${AS_B[@]}" "$MG" limit "$JB" 250M --system
check_eq "... the limit is 250 MiB" 262144000 "$(job_limit "$JB")"
expect "$UB: 'memguard limit $JB 280M' (higher) is refused: only root may raise it" 1 "only root may raise" \
        "${AS_B[@]}" "$MG" limit "$JB" 280M --socket "$SOCK"
expect "$UB: 'memguard limit $JB off' is refused: only root may remove it" 1 "only root may remove" \
        "${AS_B[@]}" "$MG" limit "$JB" off --system

# Root controls all.
expect "root: 'memguard show $JB' works on the bus" 0 "^User: +$UB" "$MG" show "$JB" --system
expect "root: 'memguard freeze $JB' on the bus" 0 "" "$MG" freeze "$JB" --system
check_eq "... the job is frozen" frozen "$(job_state "$JB")"
expect "root: 'memguard thaw $JB' on the socket" 0 "" "$MG" thaw "$JB" --socket "$SOCK"
check_eq "... the job runs again" running "$(job_state "$JB")"
expect "root: 'memguard limit $JB 400M' (raising) works" 0 "" "$MG" limit "$JB" 400M --system
check_eq "... the limit is 400 MiB" 419430400 "$(job_limit "$JB")"
expect "root: 'memguard kill $JB' on the bus" 0 "" "$MG" kill "$JB" --system
job_end jb
check_eq "... $UB's memguard run ends with 143 (SIGTERM from the daemon)" 143 "$JOB_RC" || diag_file "$OUT/jb.out"

# --- malformed calls: errors, and the daemon keeps serving ---------------------------------------------
S=("${MGBUS[@]}" "socket:$SOCK")
expect "GetJob with a string instead of a number: InvalidArgs" 1 "Invalid arguments 's'.*expecting 't'" \
        mcall "$SOCKET_ADDR" GetJob s "$JA"
expect "KillJob without its boolean: InvalidArgs" 1 "expecting 'tb'" mcall "$SOCKET_ADDR" KillJob t "$JA"
expect "ListJobs with an argument: InvalidArgs" 1 "expecting ''" mcall "$SOCKET_ADDR" ListJobs s extra
expect "the same on the bus: GetJob with a string" 1 "expecting 't'" mcall --system GetJob s x
expect "GetJob of an unknown id: NoSuchJob" 1 "no job 999999" mcall "$SOCKET_ADDR" GetJob t 999999
expect "GetJob of id 2^64-1: NoSuchJob" 1 "no job 18446744073709551615" mcall --system GetJob t 18446744073709551615
expect "KillJob of an unknown id: NoSuchJob" 1 "no running job 999999" mcall "$SOCKET_ADDR" KillJob tb 999999 true
expect "FreezeJob of id 0: NoSuchJob" 1 "no running job 0" mcall "$SOCKET_ADDR" FreezeJob t 0
expect "SetLimit of an unknown id: NoSuchJob" 1 "no running job 999999" mcall "$SOCKET_ADDR" SetLimit tt 999999 1
expect "KillJob of the ended job $JB: NoSuchJob (no running job)" 1 "no running job $JB" \
        mcall "$SOCKET_ADDR" KillJob tb "$JB" false
expect "GetReport in an unknown format: InvalidArgs" 1 "format must be" mcall "$SOCKET_ADDR" GetReport ts "$JA" xml
expect "SetLimit 0 by the owner: AccessDenied, only root may remove a limit" 1 "AccessDenied: only root may remove" \
        "${AS_A[@]}" "${MGBUS[@]}" "socket:$SOCK" call SetLimit tt "$JA" 0

sleep 900 &
VICTIM=$!
CLEANUP_PIDS+=("$VICTIM")
expect "RegisterJob with 5000 arguments: InvalidArgs (1 to 4096)" 1 "InvalidArgs: argv must have 1 to 4096" \
        "${S[@]}" register "$VICTIM" --argc 5000
expect "RegisterJob with 300 KiB of arguments: InvalidArgs" 1 "InvalidArgs: argv must have" \
        "${S[@]}" register "$VICTIM" --argc 300 --arg-size 1024
expect "RegisterJob with an empty argv: InvalidArgs" 1 "InvalidArgs: argv must have" \
        "${S[@]}" register "$VICTIM" --argc 0
expect "RegisterJob with an unknown limit: InvalidArgs naming it" 1 "InvalidArgs: unknown limit 'Bogus'" \
        "${S[@]}" register "$VICTIM" --limit Bogus=t:1
expect "RegisterJob with MaxMemory as a string: InvalidArgs, wrong type" 1 "limit 'MaxMemory' has the wrong type" \
        "${S[@]}" register "$VICTIM" --limit MaxMemory=s:8G
expect "RegisterJob with KillThreshold 5.0: InvalidArgs, a ratio" 1 "InvalidArgs: KillThreshold and WarnAt are ratios" \
        "${S[@]}" register "$VICTIM" --limit KillThreshold=d:5
expect "RegisterJob with LimitExitCode 0: InvalidArgs" 1 "InvalidArgs: LimitExitCode must be 1..255" \
        "${S[@]}" register "$VICTIM" --limit LimitExitCode=i:0
expect "RegisterJob with IntervalUSec 5: InvalidArgs" 1 "InvalidArgs: IntervalUSec must be at least 1000" \
        "${S[@]}" register "$VICTIM" --limit IntervalUSec=t:5
expect "RegisterJob of /dev/null instead of a pidfd: InvalidArgs" 1 "InvalidArgs: the file descriptor is not a pidfd" \
        "${S[@]}" register "$VICTIM" --fd devnull
expect "RegisterJob under an unknown profile: refused, naming it" 1 "no-such-profile" \
        "${S[@]}" register "$VICTIM" --profile no-such-profile
check "none of these made a job of the victim process" \
        jtrue <("$MG" status --socket "$SOCK" --json) --arg v "$VICTIM" 'all(.[]; (.command // "") | contains($v) | not)'
kill "$VICTIM" 2>/dev/null

# Forged headers and bytes that are not D-Bus.
for sender in ":1.1" "org.freedesktop.DBus" "org.memguard.Manager1"; do
        expect "on the socket, $UA's GetJob($JA) with a forged sender '$sender' is refused" 1 "cannot tell who is calling" \
                "${AS_A[@]}" "${MGBUS[@]}" "socket:$SOCK" forge-sender "$sender" "$JA"
done
expect "garbage bytes on the socket: the daemon drops that connection" 0 "sent" "${S[@]}" garbage
"${S[@]}" idle 300 >"$D/idle.log" 2>&1 &
IDLE_PID=$!
CLEANUP_PIDS+=("$IDLE_PID")
wait_for 5 grep -q connected "$D/idle.log"
expect "while a peer holds a connection without ever authenticating, others are served" 0 "^ *$JA " \
        timeout 60 "$MG" status --socket "$SOCK"
kill "$IDLE_PID" 2>/dev/null
GARBAGE_PIDS=()
for _ in 1 2 3 4 5 6 7 8; do
        timeout 60 "${S[@]}" garbage >/dev/null 2>&1 &
        GARBAGE_PIDS+=("$!")
done
wait "${GARBAGE_PIDS[@]}"
check "after all of it memguardd still runs and answers on the socket" daemon_serves || diag_file "$D/daemon.log"
expect "... and on the bus" 0 "\"running\"" mcall --system GetJob t "$JA"
check_eq "... and $UA's job $JA is still running" running "$(job_state "$JA")"

# The end of A's job, by its owner.
expect "$UA: 'memguard kill --now $JA' (their own) on the socket" 0 "" "${AS_A[@]}" "$MG" kill --now "$JA" --socket "$SOCK"
job_end ja
check_eq "... $UA's memguard run ends with 137 (SIGKILL)" 137 "$JOB_RC" || diag_file "$OUT/ja.out"
# A process already in a job is not registered a second time: that would move it out of its job's cgroup
# (out of its limit, or out of a scheduler's [watch]ed cgroup) into a new job. Its root process, or any
# other process of the job (here memhog's child, which does the allocating).
MEMHOG_EXTRA=(--children 1)
if job_start jc a; then
        jc_root=$(ps -o ppid= -p "${HOG[jc]}" | tr -d ' ')
        for which in "root process $jc_root" "child process ${HOG[jc]}"; do
                expect "$UA: registering the $which of their running job ${JOB[jc]} again is refused" 1 \
                        "job ${JOB[jc]}" "${AS_A[@]}" "${MGBUS[@]}" "socket:$SOCK" register "${which##* }" -- again
                again=$(cat "$TEST_TMP/last.out")
                [ -n "$again" ] && "$MG" kill --now "$again" --socket "$SOCK" >/dev/null 2>&1
        done
        "$MG" kill --now "${JOB[jc]}" --socket "$SOCK" >/dev/null 2>&1
        kill -KILL "${HOG[jc]}" "$jc_root" 2>/dev/null
        job_end jc
else
        not_ok "$UA: registering the root process of their running job again is refused"
        not_ok "$UA: registering a child process of their running job again is refused"
fi
MEMHOG_EXTRA=()

# More connections than the daemon has descriptors (systemd gives a service 1024; this one gets 256): one
# user holding them must not starve everyone else, nor make the daemon spin on accept(). Its own daemon,
# whose log is cut at 2000 lines: a spinning accept() writes hundreds of thousands a second.
FD_SOCK=$D/fd.sock
mkdir -p "$D/fd-state"
mgd_config "$D/fd.conf" "$FD_SOCK" "$D/fd-state" </dev/null
(
        ulimit -n 256 || exit 1
        echo "$BASHPID" >"$D/fd.pid"
        exec env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/no-bus" "$MEMGUARDD" -d -f "$D/fd.conf"
) </dev/null 2>&1 | { head -n 2000 >"$D/fd-daemon.log"; cat >/dev/null; } &
if wait_for 10 test -S "$FD_SOCK" && FD_PID=$(cat "$D/fd.pid"); then
        CLEANUP_PIDS+=("$FD_PID")
        # Bound is not listening yet: wait until it answers.
        wait_for 10 timeout 5 "$MG" status --socket "$FD_SOCK" >/dev/null 2>&1
        "${AS_A[@]}" timeout 330 "${MGBUS[@]}" "socket:$FD_SOCK" hold 400 300 >"$OUT/hold.log" 2>&1 &
        HOLD_PID=$!
        CLEANUP_PIDS+=("$HOLD_PID")
        if wait_for 10 grep -q "holding 400" "$OUT/hold.log"; then
                expect "while $UA holds 400 connections to a daemon with 256 descriptors, root is still answered" 0 \
                        "No running jobs" timeout 60 "$MG" status --socket "$FD_SOCK"
                n=$(grep -c "cannot accept" "$D/fd-daemon.log")
                check "... and memguardd does not spin on accept() ($n 'cannot accept' warnings)" test "$n" -lt 100
        else
                not_ok "while $UA holds 400 connections, root is still answered"
                not_ok "... and memguardd does not spin on accept()"
                diag_file "$OUT/hold.log"
        fi
        kill "$HOLD_PID" 2>/dev/null
        wait "$HOLD_PID" 2>/dev/null
        forget_pid "$HOLD_PID"
        expect "once they are gone, it answers again" 0 "No running jobs" timeout 60 "$MG" status --socket "$FD_SOCK"
        mgd_stop "$FD_PID"
else
        not_ok "a second memguardd with 256 descriptors comes up"
        diag_file "$D/fd-daemon.log"
fi
check "memguardd logged no crash, assertion or sanitizer report" sh -c '! grep -Eqi "assert|segfault|sanitizer|runtime error" "$0"' "$D/daemon.log"
tap_done
