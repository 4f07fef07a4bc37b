#!/usr/bin/env bash
# The client's verbs against a running memguardd on its control socket: status, show, kill, freeze,
# thaw, limit, reload and profiles, their tables and their --json parsed back, --help for each, and the
# exit codes memguard(1) documents: 0; 1 when the daemon refused or failed (its message printed); 2 for
# a usage error; 3 when no daemon answered (saying what was tried).
. "$(dirname "$0")/lib.sh"

require_memguardd
require_binaries
require_jq

D=$TEST_TMP
SOCK=$D/mg.sock
# No system bus for this test: neither the daemon nor the client may find the host's.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/no-bus
VERBS="status show kill freeze thaw limit reload profiles"
# At the end the jobs' processes go first, so that mgd_stop sees their jobs end.
client_cleanup() {
        local p
        for p in "${HOGS[@]}"; do kill -KILL "$p" 2>/dev/null; done
        lib_cleanup
}
trap client_cleanup EXIT
HOGS=()

mg_() { "$MEMGUARD" "$@" --socket "$SOCK"; }
# args_for VERB: a valid argument list for the verb.
args_for() {
        case $1 in
        show | kill | freeze | thaw) echo 1 ;;
        limit) echo 1 1G ;;
        esac
}

# --- 1-12: --help, and the verbs in memguard --help ------------------------------------------------------
for v in $VERBS; do
        expect "memguard $v --help: exit 0, its usage and exit codes on stdout" 0 "^Usage: memguard $v" \
                sh -c '"$0" "$1" --help && "$0" "$1" --help | tr "\n" " " |
                       grep -q "Exit status: 0.*; 1 when .*; 2 for a usage error; 3 when no daemon answered"' \
                "$MEMGUARD" "$v"
done
expect "memguard --help lists every verb" 0 "" \
        sh -c 'out=$("$0" --help) || exit 1; for v in $1; do echo "$out" | grep -Eq "^  $v +[a-z]" || exit 1; done' \
        "$MEMGUARD" "$VERBS"
expect "an unknown verb is a usage error (2)" 2 "unknown verb 'frobnicate'" "$MEMGUARD" frobnicate

# --- usage errors (2), decided before any daemon is asked ------------------------------------------------
expect "show without JOB: 2, missing argument" 2 "missing argument .*usage: memguard show JOB" "$MEMGUARD" show
expect "show abc: 2, invalid job id" 2 "invalid job id 'abc'" "$MEMGUARD" show abc
expect "show 0: 2" 2 "invalid job id '0'" "$MEMGUARD" show 0
expect "show -1: 2" 2 "invalid job id '-1'" "$MEMGUARD" show -- -1
expect "show with an id beyond 64 bits: 2" 2 "invalid job id" "$MEMGUARD" show 99999999999999999999999
expect "show ' 7' (a space): 2" 2 "invalid job id" "$MEMGUARD" show " 7"
expect "kill 1 2: 2, unexpected argument" 2 "unexpected argument '2'" "$MEMGUARD" kill 1 2
expect "limit 1 without SIZE: 2" 2 "missing argument .*memguard limit JOB SIZE" "$MEMGUARD" limit 1
expect "limit 1 12Q: 2, invalid size" 2 "invalid size '12Q'" "$MEMGUARD" limit 1 12Q
expect "limit 1 0: 2 (a limit of nothing is a typo; 'off' removes it)" 2 "invalid size '0'" "$MEMGUARD" limit 1 0
expect "limit 1 -5G: 2" 2 "invalid size '-5G'" "$MEMGUARD" limit 1 -- -5G
expect "limit 1 101%: 2, out of range" 2 "invalid size '101%': out of range" "$MEMGUARD" limit 1 101%
expect "limit 1 99999999T: 2, out of range" 2 "invalid size '99999999T': out of range" "$MEMGUARD" limit 1 99999999T
expect "status --bogus: 2, unknown option" 2 "unknown option '--bogus'" "$MEMGUARD" status --bogus
expect "freeze 1 --now (kill's option): 2" 2 "unknown option '--now'" "$MEMGUARD" freeze 1 --now
expect "reload --json: 2" 2 "unknown option '--json'" "$MEMGUARD" reload --json
expect "status extra: 2" 2 "unexpected argument 'extra'" "$MEMGUARD" status extra
expect "--socket without a path: 2" 2 "needs a path" "$MEMGUARD" status --socket
expect "--socket and --system together: 2" 2 "exclude each other" "$MEMGUARD" status --socket "$SOCK" --system

# --- no daemon (3), saying what was tried ------------------------------------------------------------------
for v in $VERBS; do
        # shellcheck disable=SC2046
        expect "no daemon: memguard $v --socket PATH exits 3 and names the socket" 3 "$D/none\.sock" \
                "$MEMGUARD" "$v" $(args_for "$v") --socket "$D/none.sock"
done
expect "no daemon: memguard status --system exits 3 and says the system bus" 3 "system bus" "$MEMGUARD" status --system
expect "no daemon: memguard run --socket PATH exits 1 naming the socket, and the job does not run" 1 "$D/none\.sock" \
        sh -c '"$0" run --socket "$1" -- touch "$2"; rc=$?; [ ! -e "$2" ] && exit $rc' "$MEMGUARD" "$D/none.sock" "$D/ran"
if [ -e /run/memguard/memguardd.sock ]; then
        skip "no daemon: with no option, both places are named" "this host has /run/memguard/memguardd.sock"
else
        expect "no daemon: with no option, exit 3 naming the default socket and the system bus" 3 \
                "/run/memguard/memguardd\.sock.*system bus" "$MEMGUARD" status
fi
"$MEMGUARD" status --json --socket "$D/none.sock" >"$D/none.json" 2>/dev/null
check "no daemon: status --json writes nothing on stdout" test ! -s "$D/none.json"

# --- the daemon ----------------------------------------------------------------------------------------------
mkdir -p "$D/etc/conf.d" "$D/state"
mgd_config "$D/etc/memguard.conf" "$SOCK" "$D/state" <<EOC

[profile default]
max-memory = 300M
grace = 1s

[profile small]
max-memory = 200M
warn-at = 0.5
grace = 2s
EOC
mgd_start "$D/etc/memguard.conf" "$SOCK" "$D/daemon.log" || skip_all "memguardd did not come up: $(mgd_why)"

expect "status with no jobs: 0, 'No running jobs.'" 0 "^No running jobs\.$" mg_ status
expect "status --json with no jobs: an empty array" 0 "" \
        sh -c '[ "$("$@" | jq -c .)" = "[]" ]' - "$MEMGUARD" status --json --socket "$SOCK"
expect "profiles: a table, the default marked" 0 "^\* default +300 MiB +off +80% +off +1s +kill$" mg_ profiles
check "... with small: 200 MiB, warn at 50%, grace 2s" grep -Eq "^  small +200 MiB +off +80% +50% +2s +kill$" "$TEST_TMP/last.out" ||
        diag_file "$TEST_TMP/last.out"
mg_ profiles --json >"$D/profiles.json"
check "profiles --json parses: default and small, with bytes, ratios, grace and action" jtrue "$D/profiles.json" '
        length == 2 and
        (.[] | select(.name == "default") | .default == true and .max_memory_bytes == 314572800 and .action == "kill") and
        (.[] | select(.name == "small") | .default == false and .max_memory_bytes == 209715200 and
                .max_process_memory_bytes == 0 and .kill_threshold == 0.8 and .warn_at == 0.5 and .grace_usec == 2000000)' ||
        diag_file "$D/profiles.json" 30

# job_start NAME [RUN OPTIONS...] -- [MEMHOG OPTIONS]: memguard run --socket in the background; sets J (the
# daemon's id), HOG (memhog's pid) and RUN (for wait).
# The jobs here run until the test ends them: their --hold 800 and timeout(1) are ceilings only.
job_start() {
        local name=$1 opts=()
        shift
        while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
        shift
        local pf=$D/$name.pid
        timeout -k 5 900 "$MEMGUARD" run --socket "$SOCK" "${opts[@]}" -- "$MEMHOG" "$@" --pidfile "$pf" \
                </dev/null >"$D/$name.out" 2>&1 &
        RUN=$!
        CLEANUP_PIDS+=("$RUN")
        J="" HOG=""
        wait_for 10 test -s "$pf" || { diag "job $name did not start"; diag_file "$D/$name.out"; return 1; }
        HOG=$(head -n 1 "$pf")
        HOGS+=("$HOG")
        J=$(mg_ status --json | jq -r --arg p "$pf" '.[] | select(.command | contains($p)) | .id')
        [ -n "$J" ] || { diag "job $name is not listed"; return 1; }
}
# run_end: waits for the last job_start's memguard run; sets RUN_RC.
run_end() {
        wait "$RUN"
        RUN_RC=$?
        forget_pid "$RUN"
}
json_of() { mg_ show "$1" --json 2>/dev/null; }
current_at_least() { [ "$(json_of "$1" | jq -r .CurrentBytes)" -ge "$2" ] 2>/dev/null; }

if ! job_start j1 --max-memory 100 -- --size 20 --hold 800; then
        not_ok "a job for the verbs to work on"
        tap_done
fi
J1=$J
wait_for 10 current_at_least "$J1" $((15 * MIB)) || diag "job $J1 never showed 15 MiB: $(json_of "$J1" | jq -c .)"

# status
expect "status: a table with a header" 0 "^ID +USER +STATE +CURRENT +PEAK +LIMIT +PROFILE +COMMAND$" mg_ status
check "... and the job's row: id, root, running, sizes, its limit of 100 MiB, profile, command" \
        grep -Eq "^ *$J1 +root +running +[0-9.]+ MiB +[0-9.]+ MiB +100 MiB +default +.*memhog --size 20 --hold 800 --pidfile $D/j1\.pid$" \
        "$TEST_TMP/last.out" || diag_file "$TEST_TMP/last.out"
mg_ status --json >"$D/status.json"
check "status --json parses: one object per job with exactly the documented keys" jtrue "$D/status.json" '
        length == 1 and (.[0] | keys) == (["command", "current_bytes", "id", "limit_bytes", "path", "peak_bytes",
                                           "profile", "state", "uid", "user"] | sort)' || diag_file "$D/status.json" 20
check "... and the values: id, user, uid, state, profile, command, bytes, limit and object path" \
        jtrue "$D/status.json" --argjson id "$J1" --arg pf "$D/j1.pid" '.[0] |
        .id == $id and .user == "root" and .uid == 0 and .state == "running" and .profile == "default" and
        (.command | endswith($pf)) and .current_bytes >= 15728640 and .peak_bytes >= .current_bytes and
        .limit_bytes == 104857600 and .path == "/org/memguard/Manager1/job/\($id)"' || diag_file "$D/status.json" 20

# show
expect "show $J1: aligned Key: value lines" 0 "^Id: +$J1$" mg_ show "$J1"
check "... State, User, Profile, the limit formatted, the command" sh -c '
        grep -Eq "^State: +running$" "$0" && grep -Eq "^User: +root$" "$0" && grep -Eq "^Profile: +default$" "$0" &&
        grep -Eq "^Limit: +100 MiB$" "$0" && grep -Eq "^Current: +[0-9.]+ MiB$" "$0" &&
        grep -Eq "^Grace: +1s$" "$0" && grep -Eq "^Kill threshold: +80%$" "$0" &&
        grep -Eq "^Command: +.*memhog --size 20" "$0"' "$TEST_TMP/last.out" || diag_file "$TEST_TMP/last.out" 30
check "... labels for people, not the daemon's key names (GraceUSec, LimitBytes)" sh -c '
        ! grep -Eq "^[A-Za-z]+(USec|Bytes):" "$0" && grep -Eq "^Process limit: +none$" "$0" &&
        grep -Eq "^Start time: " "$0"' "$TEST_TMP/last.out" || diag_file "$TEST_TMP/last.out" 30
check "... the values line up in one column" sh -c '[ "$(sed -n "/^[A-Z][A-Za-z ]*: /{s/^\([A-Za-z ]*: *\).*/\1/;p}" "$0" |
        awk "{ print length }" | sort -u | wc -l)" = 1 ]' "$TEST_TMP/last.out" || diag_file "$TEST_TMP/last.out" 30
check "... then the last samples as a table" sh -c 'grep -Eq "^Last [0-9]+ of [0-9]+ samples:$" "$0" &&
        grep -Eq "^ +ELAPSED +WORKING SET +PROCESSES$" "$0" && grep -Eq "^ +[0-9.]+m?s +[0-9.]+ MiB +1$" "$0"' \
        "$TEST_TMP/last.out" || diag_file "$TEST_TMP/last.out" 30
mg_ show "$J1" --json >"$D/show.json"
check "show --json parses: GetJob's keys, sizes in bytes, the samples as objects" jtrue "$D/show.json" --argjson id "$J1" '
        .Id == $id and .User == "root" and .Uid == 0 and .State == "running" and .Profile == "default" and
        .LimitBytes == 104857600 and .CurrentBytes >= 15728640 and .PeakBytes >= .CurrentBytes and
        .KillThreshold == 0.8 and .GraceUSec == 1000000 and .Source == "registered" and .Pid > 0 and
        (.LastSamples | length) >= 1 and .Samples >= (.LastSamples | length) and
        (.LastSamples[-1] | (keys == ["elapsed_usec", "processes", "working_set_bytes"]) and .processes == 1 and
                .working_set_bytes >= 15728640)' || diag_file "$D/show.json" 40
expect "show takes the job's object path too" 0 "^Id: +$J1$" mg_ show "/org/memguard/Manager1/job/$J1"
expect "show 999999: 1, the daemon's message" 1 "no job 999999" mg_ show 999999

# limit
expect "limit $J1 150 (a plain number is MiB): 0" 0 "" mg_ limit "$J1" 150
check_eq "... LimitBytes is 150 MiB" 157286400 "$(json_of "$J1" | jq .LimitBytes)"
expect "limit $J1 1G: 0" 0 "" mg_ limit "$J1" 1G
check_eq "... status --json says 1 GiB" 1073741824 "$(mg_ status --json | jq ".[] | select(.id == $J1) | .limit_bytes")"
expect "limit $J1 off (root): 0" 0 "" mg_ limit "$J1" off
check_eq "... no limit: LimitBytes 0, and 'none' in the table" "0 none" \
        "$(json_of "$J1" | jq .LimitBytes) $(mg_ status | awk -v id="$J1" '$1 == id { print $8 }')"
expect "limit $J1 50% (of this host's RAM): 0" 0 "" mg_ limit "$J1" 50%
ram=$(awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo)
check "... LimitBytes is half of MemTotal ($ram bytes)" \
        jtrue <(json_of "$J1") --argjson ram "$ram" '.LimitBytes > $ram * 0.49 and .LimitBytes < $ram * 0.51'
mg_ limit "$J1" 100M >/dev/null 2>&1

# freeze, thaw (the cgroup freezer, or SIGSTOP and SIGCONT on the procfs backend)
expect "freeze $J1: 0" 0 "" mg_ freeze "$J1"
check_eq "... status says frozen" frozen "$(mg_ status --json | jq -r ".[] | select(.id == $J1) | .state")"
expect "thaw $J1: 0" 0 "" mg_ thaw "$J1"
check_eq "... status says running" running "$(mg_ status --json | jq -r ".[] | select(.id == $J1) | .state")"

# a burst of clients at once
for i in $(seq 20); do mg_ status --json >"$D/burst.$i" 2>&1 & done
wait_for 10 sh -c 'for f in "$0"/burst.*; do jq -e "length == 1" "$f" >/dev/null 2>&1 || exit 1; done' "$D"
check "20 clients at once all get the job list" sh -c 'for f in "$0"/burst.*; do jq -e "length == 1" "$f" >/dev/null || exit 1; done' "$D"

# kill
expect "kill $J1: 0" 0 "" mg_ kill "$J1"
run_end
check_eq "... the job's memguard run exits 143 (SIGTERM)" 143 "$RUN_RC" || diag_file "$D/j1.out"
expect "status no longer lists it" 0 "" sh -c '[ "$("$@" | jq length)" = 0 ]' - "$MEMGUARD" status --json --socket "$SOCK"
expect "show $J1 still answers for the ended job: State ended" 0 "^State: +ended$" mg_ show "$J1"
expect "kill $J1 again: 1, no running job" 1 "no running job $J1" mg_ kill "$J1"
expect "freeze $J1 (ended): 1" 1 "no running job $J1" mg_ freeze "$J1"
expect "thaw $J1 (ended): 1" 1 "no running job $J1" mg_ thaw "$J1"
expect "limit $J1 1G (ended): 1" 1 "no running job $J1" mg_ limit "$J1" 1G

if job_start j2 -- --size 10 --hold 800 --ignore-term; then
        expect "kill --now $J (a job that ignores SIGTERM): 0" 0 "" mg_ kill --now "$J"
        run_end
        check_eq "... its memguard run exits 137 (SIGKILL, no grace)" 137 "$RUN_RC" || diag_file "$D/j2.out"
else
        not_ok "kill --now on a job that ignores SIGTERM"
        not_ok "... its memguard run exits 137"
fi

# A command line with a newline and an escape sequence in it stays on its one row, escaped.
pf=$D/evil.pid
timeout -k 5 900 "$MEMGUARD" run --socket "$SOCK" -- sh -c 'exec "$0" --size 5 --hold 800 --pidfile "$1"' "$MEMHOG" "$pf" \
        "$(printf 'x\n 99  root  running  fake\033[2J')" </dev/null >"$D/evil.out" 2>&1 &
RUN=$!
CLEANUP_PIDS+=("$RUN")
if wait_for 10 test -s "$pf"; then
        HOGS+=("$(head -n 1 "$pf")")
        JE=$(mg_ status --json | jq -r --arg p "$pf" '.[] | select(.command | contains($p)) | .id')
        mg_ status >"$D/evil.txt"
        if [ "$(wc -l <"$D/evil.txt")" = 2 ] && ! grep -q $'\033' "$D/evil.txt" && grep -qF 'x\x0a 99  root' "$D/evil.txt"; then
                ok "status: a command with a newline and an escape sequence stays on its row, as \\x0a and \\x1b"
        else
                not_ok "status: a command with a newline and an escape sequence stays on its row, as \\x0a and \\x1b"
                diag_file "$D/evil.txt"
        fi
        mg_ show "$JE" >"$D/evil-show.txt"
        check "show: the same command on its one Command line" sh -c '! grep -q "$(printf "\033")" "$0" &&
                [ "$(grep -c "^ 99" "$0")" = 0 ] && grep -qF "\\x1b[2J" "$0"' "$D/evil-show.txt" || diag_file "$D/evil-show.txt" 30
        check "status --json keeps it as it is (JSON escapes it)" \
                jtrue <(mg_ status --json) --arg c $'x\n 99  root  running  fake\033[2J' 'any(.[]; .command | endswith($c))'
        mg_ kill --now "$JE" >/dev/null 2>&1
else
        not_ok "a job with a hostile command line"
        diag_file "$D/evil.out"
fi
run_end

# reload
expect "reload: 0, says so" 0 "configuration reloaded" mg_ reload
printf '[profile broken]\nmax-memory = lots\nbogus-key = 1\n' >"$D/etc/conf.d/50-broken.conf"
expect "reload with a broken drop-in: 1" 1 "" mg_ reload
check "... every error on stderr with file:line" sh -c 'grep -q "conf.d/50-broken.conf:2: .*max-memory" "$0" &&
        grep -q "conf.d/50-broken.conf:3: .*bogus-key" "$0" && grep -q "2 errors" "$0"' "$TEST_TMP/last.err" ||
        diag_file "$TEST_TMP/last.err"
check "... nothing on stdout" test ! -s "$TEST_TMP/last.out"
check "... and the running configuration stays (no profile 'broken')" \
        jtrue <(mg_ profiles --json) 'map(.name) == ["default", "small"]'
printf '[profile extra]\nmax-memory = 1G\n' >"$D/etc/conf.d/50-broken.conf"
expect "reload after the fix: 0" 0 "" mg_ reload
check "... the new profile is listed" jtrue <(mg_ profiles --json) \
        'any(.[]; .name == "extra" and .max_memory_bytes == 1073741824)'

# A limit asked for at registration (below the profile's) or set later is the job's own: a reload keeps it
# (a reload must not raise a limit its owner lowered).
if job_start j3 --max-memory 100 -- --size 10 --hold 800; then
        J3=$J
        check_eq "a job registered asking for 100 MiB under the 300M profile gets 100 MiB" 104857600 \
                "$(json_of "$J3" | jq .LimitBytes)"
        mg_ reload >/dev/null 2>&1
        check_eq "... and keeps it across a reload that changed nothing about its profile" 104857600 \
                "$(json_of "$J3" | jq .LimitBytes)"
        mg_ limit "$J3" 80M >/dev/null 2>&1
        mg_ reload >/dev/null 2>&1
        check_eq "... and a limit lowered later with 'memguard limit $J3 80M' survives a reload too" 83886080 \
                "$(json_of "$J3" | jq .LimitBytes)"
        mg_ kill --now "$J3" >/dev/null 2>&1
        run_end
else
        not_ok "a job registered asking for 100 MiB gets 100 MiB"
        not_ok "... and keeps it across a reload"
        not_ok "... and a limit lowered later survives a reload too"
fi

# Only root reloads; the message comes through.
if command -v setpriv >/dev/null; then
        chmod 0755 "$D"
        if setpriv --reuid=65534 --regid=65534 --clear-groups "$MEMGUARD" --version >/dev/null 2>&1; then
                expect "reload as uid 65534: 1, only root may" 1 "only root may reload" \
                        setpriv --reuid=65534 --regid=65534 --clear-groups "$MEMGUARD" reload --socket "$SOCK"
        else
                skip "reload as uid 65534: 1, only root may" "uid 65534 cannot run $MEMGUARD here"
        fi
else
        skip "reload as uid 65534: 1, only root may" "setpriv(1) is missing"
fi

check "memguardd still runs" pid_alive "$MGD_PID"
tap_done
