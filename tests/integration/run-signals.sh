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

# --- the grace holds when the main process is a wrapper -------------------------------------------------
# sh -c "checkpointer & wait": on SIGTERM sh dies at once and the checkpointer, its child, takes 2 s to
# save (ignoring further SIGTERMs meanwhile, as a checkpointing job would). The grace (30 s) runs from
# that first SIGTERM for every process of the job: sh's exit must not bring a second SIGTERM or an early
# SIGKILL, so the checkpoint is written.
C=$TEST_TMP/checkpoint
rm -f "$F" "$R" "$C"
export C
mg_bg run --grace 30s -- sh -c 'sh -c '"'"'trap "trap \"\" TERM; echo got-TERM >>\"\$F\"; sleep 2; echo saved >\"\$C\"; exit 0" TERM; touch "$R"; while :; do sleep 1 & wait; done'"'"' & wait'
if [ -n "$MG_PID" ] && wait_for 10 test -e "$R"; then
        kill -TERM "$MG_PID"
else
        diag "the job did not start"
        [ -n "$MG_PID" ] && kill -KILL "$MG_PID" 2>/dev/null
fi
mg_wait
check "wrapper main process exits on SIGTERM: its child's checkpoint is written within the grace" \
        grep -qx saved "$C" || mg_diag 25
check_eq "... memguard sent SIGTERM once, no second one when the wrapper exited" "1" \
        "$(grep -c "sent SIGTERM" "$MG_ERR" 2>/dev/null)" || mg_diag 25
if grep -q "sent SIGKILL" "$MG_ERR"; then
        not_ok "... and no SIGKILL: the job ended within its grace"
        mg_diag 25
else
        ok "... and no SIGKILL: the job ended within its grace"
fi
# policy_exit_code(): an interrupted job's own status: sh died of SIGTERM.
check_rc "... memguard exits with the wrapper's code 143" 143 || mg_diag 25

# --- leftovers of a job that exited on its own get the whole grace too --------------------------------
# The main process exits 0 at once and leaves a SIGTERM-ignoring process behind: SIGTERM now, SIGKILL
# not before the grace (3 s here; before, a fixed 1 s), and the job's own exit code. The main process
# notes the time just before it exits: a lower bound that a busy machine can only make longer.
rm -f "$P" "$TEST_TMP/root-exit"
mg_bg run --grace 3s -- sh -c '"$0" --ignore-term --size 10 --hold 60 --pidfile "$1" & while [ ! -s "$1" ]; do sleep 0.05; done; date +%s%3N >"$2"; exit 0' \
        "$MEMHOG" "$P" "$TEST_TMP/root-exit"
mg_wait
elapsed=$(($(now_ms) - $(cat "$TEST_TMP/root-exit" 2>/dev/null || now_ms)))
check_rc "main process exits 0 leaving a SIGTERM-ignoring child: memguard exits 0" 0 || mg_diag 25
check "... the leftover got SIGKILL only after the grace: ${elapsed}ms >= 3s after the main process exited" \
        test "$elapsed" -ge 3000 || mg_diag 25
check "... memguard said it ended what the main process left" grep -q "ending what it left running" "$MG_ERR" || mg_diag 25
check "... and sent SIGKILL" grep -q "sent SIGKILL" "$MG_ERR" || mg_diag 25
hog=$(head -n1 "$P" 2>/dev/null)
if [ -n "$hog" ] && wait_for 5 pid_gone "$hog"; then
        ok "... and the leftover is gone"
else
        not_ok "... and the leftover is gone"
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
