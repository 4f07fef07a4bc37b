#!/usr/bin/env bash
# memguardd.socket: the daemon takes its listening socket from the service manager (sd_listen_fds), as
# systemd's socket activation hands it over, and serves the interface on it.
. "$(dirname "$0")/lib.sh"

require_memguardd "memguardd needs root"
ACTIVATE=$(command -v systemd-socket-activate || true)
[ -n "$ACTIVATE" ] || skip_all "systemd-socket-activate is missing (package systemd)"

D=$TEST_TMP
SOCK=$D/activated.sock
CONF_SOCK=$D/never-bound.sock
mgd_config "$D/memguard.conf" "$CONF_SOCK" "$D/state" </dev/null
# --accept=no: one daemon gets the listening socket, as memguardd.socket does it. The activator listens,
# and at the first connection execs memguardd in its own process: MGD_PID is the daemon's. Ready is when
# it listens; the first call is the test's own.
MGD_PREFIX=("$ACTIVATE" -l "$SOCK")
mgd_start "$D/memguard.conf" "$SOCK" "$D/daemon.log" grep -q "^Listening on $SOCK " "$D/daemon.log"
tap_plan 4
"$MEMGUARD" status --socket "$SOCK" >"$D/status.out" 2>"$D/status.err"
check_eq "the first client's call starts memguardd on the handed-over socket and is answered" 0 "$?" \
        || { diag_file "$D/status.err"; diag_file "$D/daemon.log"; }
busctl --address="unix:path=$SOCK" get-property org.memguard.Manager1 /org/memguard/Manager1 \
        org.memguard.Manager1 Version >"$D/version.out" 2>&1
check "busctl reads Version on it" grep -q '^s "' "$D/version.out" || diag_file "$D/version.out"
check "memguardd did not bind its configured socket: it used the one it was given" test ! -e "$CONF_SOCK"
check "... and says it serves the socket it was passed" grep -q "serving org.memguard.Manager1 on the socket the service manager passed" "$D/daemon.log"
tap_done
