#!/usr/bin/env bash
# A stopped (or hung) memguardd must not hold its clients. The verbs give up after a few seconds and
# name the socket (exit 3); memguard run --socket fails (1) without starting the job; memguard run with
# no daemon option guards the job itself and says why.
. "$(dirname "$0")/lib.sh"

require_memguardd
require_binaries

D=$TEST_TMP
SOCK=$D/mg.sock
# No system bus for this test: neither the daemon nor the client may find the host's.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/no-bus
mgd_config "$D/etc/memguard.conf" "$SOCK" "$D/state" </dev/null
mgd_start "$D/etc/memguard.conf" "$SOCK" "$D/daemon.log" || skip_all "memguardd did not come up: $(mgd_why)"
# A stopped daemon answers nothing: it goes on again before lib_cleanup stops it.
trap 'kill -CONT "$MGD_PID" 2>/dev/null; lib_cleanup' EXIT
kill -STOP "$MGD_PID"

# A ceiling against a hang of the test, not a timed assertion: the client gives up by itself after
# 5 s; without that bound each call waited sd-bus's 25 s.
HANG=20
STUCK="memguardd at $SOCK does not answer"

expect "a stopped daemon: status exits 3 and names the socket" 3 "$STUCK" \
        timeout -k 2 "$HANG" "$MEMGUARD" status --socket "$SOCK"
expect "a stopped daemon: kill 1 exits 3 and names the socket" 3 "$STUCK" \
        timeout -k 2 "$HANG" "$MEMGUARD" kill 1 --socket "$SOCK"
expect "a stopped daemon: run --socket exits 1, names the socket, and the job never starts" 1 "$STUCK" \
        sh -c 'timeout -k 2 "$0" "$1" run --socket "$2" -- touch "$3"; rc=$?; [ ! -e "$3" ] && exit $rc' \
        "$HANG" "$MEMGUARD" "$SOCK" "$D/ran-socket"

# The daemon chosen by default: its default socket path, in a mount namespace of this test's own where
# a tmpfs on /run holds a link to the stopped daemon's socket.
if ! unshare -m true 2>/dev/null; then
        skip "a stopped daemon chosen by default: run guards the job itself" "unshare -m is not possible here"
        skip "... and says why" "unshare -m is not possible here"
else
        timeout -k 2 "$HANG" unshare -m sh -c 'mount -t tmpfs mg-run /run && mkdir /run/memguard &&
                ln -s "$0" /run/memguard/memguardd.sock && exec "$1" run -- touch "$2"' \
                "$SOCK" "$MEMGUARD" "$D/ran-default" >"$D/default.out" 2>"$D/default.err"
        rc=$?
        check "a stopped daemon chosen by default: run guards the job itself (exit 0, the job ran)" \
                sh -c '[ "$0" = 0 ] && [ -e "$1" ]' "$rc" "$D/ran-default" || { diag "exit code $rc"; diag_file "$D/default.err"; }
        check "... and says why" grep -q "memguardd at /run/memguard/memguardd.sock does not answer.*guarding the job in this process" \
                "$D/default.err" || diag_file "$D/default.err"
fi

kill -CONT "$MGD_PID"
expect "the daemon, running again, answers" 0 "No running jobs" timeout -k 2 "$HANG" "$MEMGUARD" status --socket "$SOCK"
tap_done
