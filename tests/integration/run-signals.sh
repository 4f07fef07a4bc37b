#!/bin/bash
# memguard run: signals sent to memguard reach the job exactly once, the grace ends a job that ignores
# them, a terminal's Ctrl-C is not passed on a second time, and the report is printed in every case.
. "$(dirname "$0")/lib.sh"
require_binaries

F=$TEST_TMP/trap.log     # the job's trap appends a line per signal it gets
R=$TEST_TMP/ready        # the job touches it once its trap is set
export F R

# A job that traps SIG, notes each delivery, and keeps running a second after the first one so that a
# second delivery would be noted too; then exits with CODE.
trap_job() {  # trap_job SIG CODE
        printf 'trap "echo got-%s >>\\"\\$F\\"" %s; touch "$R"; while [ ! -s "$F" ]; do sleep 0.05; done; sleep 1; exit %s' \
                "$1" "$1" "$2"
}

# signal_case SIG CODE: kill -SIG memguard while trap_job SIG CODE runs.
signal_case() {
        local sig=$1 code=$2
        rm -f "$F" "$R"
        mg_bg run -- sh -c "$(trap_job "$sig" "$code")"
        if [ -z "$MG_PID" ] || ! wait_for 10 test -e "$R"; then
                diag "the job did not start"
                [ -n "$MG_PID" ] && kill -KILL "$MG_PID" 2>/dev/null
        else
                kill -"$sig" "$MG_PID"
        fi
        mg_wait
        local n
        n=$(grep -c "got-$sig" "$F" 2>/dev/null)
        check_eq "kill -$sig memguard: the job gets SIG$sig exactly once" "1" "${n:-0}" || mg_diag
        check_rc "... memguard exits with the job's own code $code" "$code"
        check "... and still prints its report (Verdict: on stderr)" grep -q "^Verdict:" "$MG_ERR" || mg_diag
        check "... the verdict is 'interrupted'" grep -q "^Verdict: *interrupted" "$MG_ERR" || mg_diag
}

signal_case TERM 143
signal_case INT 130
signal_case HUP 129

# --- a job that ignores SIGTERM is SIGKILLed after the grace -----------------------------------------
P=$TEST_TMP/memhog.pid
rm -f "$P"
mg_bg run --grace 1 -- "$MEMHOG" --ignore-term --size 10 --hold 60 --pidfile "$P"
if [ -n "$MG_PID" ] && wait_for 10 test -s "$P"; then
        t0=$(now_ms)
        kill -TERM "$MG_PID"
else
        diag "the job did not start"
        t0=$(now_ms)
fi
mg_wait
elapsed=$(($(now_ms) - t0))
# policy_exit_code(): an interrupted job's own status; it died of SIGKILL, so 128 + 9.
check_rc "--grace 1, job ignores SIGTERM: kill -TERM memguard ends it with SIGKILL, exit 137" 137
# Only the lower bound: a busy machine makes memguard late, never early, and the grace must hold.
check "... not before the grace: ${elapsed}ms >= 1s after kill -TERM" test "$elapsed" -ge 1000
check "... memguard said it sent SIGKILL" grep -q "sent SIGKILL" "$MG_ERR" || mg_diag
check "... the report is printed (Verdict: on stderr)" grep -q "^Verdict:" "$MG_ERR" || mg_diag
hog=$(head -n1 "$P" 2>/dev/null)
if [ -n "$hog" ] && wait_for 2 pid_gone "$hog"; then
        ok "... and the job is gone"
else
        not_ok "... and the job is gone"
        [ -n "$hog" ] && kill -KILL "$hog" 2>/dev/null
fi

# --- Ctrl-C on a real terminal ----------------------------------------------------------------------------
# memguard and the job share the terminal's foreground process group, so the kernel already delivers
# SIGINT to the job: memguard must not pass it on a second time. python3's pty module gives the run a
# terminal of its own and types ^C once the job's trap is set.
if ! command -v python3 >/dev/null; then
        skip "Ctrl-C on a terminal reaches the job once" "python3 is missing"
elif ! python3 -c 'import os; os.openpty()' 2>/dev/null; then
        skip "Ctrl-C on a terminal reaches the job once" "no pseudo-terminal can be opened here"
else
        cat >"$TEST_TMP/pty-ctrl-c.py" <<'EOF'
import os, pty, select, signal, sys, time
# pty-ctrl-c.py READY PIDFILE TIMEOUT -- ARGV...: run ARGV on a new terminal; type ^C once READY exists.
ready, pidfile, timeout, argv = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[5:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
with open(pidfile, "w") as f:
    f.write("%d\n" % pid)
deadline, sent, out, status = time.time() + timeout, False, b"", None
while status is None:
    if not sent and os.path.exists(ready):
        os.write(fd, b"\x03")
        sent = True
    if select.select([fd], [], [], 0.05)[0]:
        try:
            out += os.read(fd, 65536)
        except OSError:
            pass
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(st)
    elif time.time() > deadline:
        sys.stderr.write("timed out\n")
        os.kill(pid, signal.SIGKILL)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
try:
    while select.select([fd], [], [], 0.1)[0]:
        d = os.read(fd, 65536)
        if not d:
            break
        out += d
except OSError:
    pass
sys.stdout.buffer.write(out)
sys.exit(status if 0 <= status < 256 else 255)
EOF
        rm -f "$F" "$R"
        timeout -k 5 "$MG_TIMEOUT" python3 "$TEST_TMP/pty-ctrl-c.py" "$R" "$TEST_TMP/pty.pid" 15 -- \
                "$MEMGUARD" run -- sh -c "$(trap_job INT 130)" >"$TEST_TMP/pty.out" 2>"$TEST_TMP/pty.err" </dev/null
        rc=$?
        MG_PIDS_SEEN+=("$(cat "$TEST_TMP/pty.pid" 2>/dev/null)")
        n=$(grep -c "got-INT" "$F" 2>/dev/null)
        check_eq "Ctrl-C on memguard's terminal: the job's INT trap fires exactly once" "1" "${n:-0}" ||
                { diag "python3: $(cat "$TEST_TMP/pty.err")"; diag_file "$TEST_TMP/pty.out"; }
        check_eq "... memguard exits with the job's code 130" "130" "$rc" || diag_file "$TEST_TMP/pty.out"
        check "... and prints its report on the terminal" grep -q "Verdict:" "$TEST_TMP/pty.out" || diag_file "$TEST_TMP/pty.out"
        if grep -q "sent SIGINT" "$TEST_TMP/pty.out"; then
                not_ok "... memguard did not pass the terminal's SIGINT on"
                diag_file "$TEST_TMP/pty.out"
        else
                ok "... memguard did not pass the terminal's SIGINT on"
        fi
        left=$(cg_leftovers "$(cat "$TEST_TMP/pty.pid" 2>/dev/null)")
        [ -n "$left" ] && CG_LEFT_ALL+="$left"$'\n'
fi

check_no_cgroups_left
tap_done
