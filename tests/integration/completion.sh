#!/usr/bin/env bash
# Shell completion, as a user's TAB would run it. bash: the completion is sourced and its function
# called as bash calls it; the verbs must be memguard --help's, each verb's options its --help's, and
# job ids those of a real memguardd, from the daemon the command line names. zsh (when installed): the
# file parses, and a real interactive zsh completes verbs, options and job ids.
. "$(dirname "$0")/lib.sh"

BASH_COMP=$top_srcdir/completion/memguard
ZSH_COMP=$top_srcdir/completion/_memguard
require_binaries

D=$TEST_TMP
# The completion runs "memguard" as the user typed it: the one built here.
mkdir -p "$D/bin"
ln -s "$MEMGUARD" "$D/bin/memguard"
export PATH=$D/bin:$PATH
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/no-bus
# The ids are under test, not how fast a busy machine answers "memguard status" (3 s by default).
export MEMGUARD_COMPLETION_TIMEOUT=60
SOCK=$D/mg.sock
VERBS=$("$MEMGUARD" --help | awk '/^Verbs:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' | sort | tr '\n' ' ')

# bcomp LINE: what TAB at the end of LINE offers, sorted and unique, on one line. Words are split as
# bash splits them (COMP_WORDBREAKS has '='); a LINE ending in a space completes an empty word.
# Anything the completion prints on stderr goes to $D/comp.err.
bcomp() {
        bash --norc --noprofile -c '
                . "$1" || exit 1
                line=$2
                read -ra words <<<"${line//=/ = }"
                [[ $line == *" " ]] && words+=("")
                COMP_WORDS=("${words[@]}") COMP_CWORD=$((${#words[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
                [ "$(complete -p memguard)" = "complete -F _memguard memguard" ] || exit 1
                _memguard memguard "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}" || exit 1
                printf "%s\n" "${COMPREPLY[@]}"' - "$BASH_COMP" "$1" 2>>"$D/comp.err" | sed '/^$/d' | sort -u | tr '\n' ' '
}
# help_options VERB: the options "memguard VERB --help" lists at the start of a line, sorted.
help_options() {
        "$MEMGUARD" $1 --help | grep -oE '^ {2,}(-[a-zA-Z], )?--[a-z][a-z-]*' | tr ',' '\n' | tr -d ' ' |
                sed '/^$/d' | sort -u | tr '\n' ' '
}
filter() { tr ' ' '\n' | grep -E -- "$1" | sort -u | tr '\n' ' '; }

# --- bash: verbs and options ------------------------------------------------------------------------------
check "the bash completion parses" bash -n "$BASH_COMP"
check_eq "bash: 'memguard TAB' offers exactly the verbs of memguard --help" "$VERBS" "$(bcomp "memguard ")"
check_eq "bash: 'memguard s TAB': status and show" "show status " "$(bcomp "memguard s")"
check_eq "bash: 'memguard -TAB': memguard --help's options" "$(help_options "")" "$(bcomp "memguard -")"
for v in $VERBS; do
        want=$(help_options "$v")
        got=$(bcomp "memguard $v -" | filter '^--?[a-z]')
        check_eq "bash: 'memguard $v -TAB' offers exactly the options of memguard $v --help" "$want" "$got"
done
check_eq "bash: run --backend TAB: the four backends" "auto cgroup1 cgroup2 procfs " "$(bcomp "memguard run --backend ")"
check_eq "bash: run -m 4G --grace TAB: nothing (a duration)" "" "$(bcomp "memguard run -m 4G --grace ")"
touch "$D/report-a.json" "$D/report-b.json"
check_eq "bash: run --json=FILE completes files" "$D/report-a.json $D/report-b.json " "$(bcomp "memguard run --json=$D/report-")"
check_eq "bash: run --csv FILE completes files" "$D/report-a.json $D/report-b.json " "$(bcomp "memguard run --csv $D/rep")"
check "bash: run -m 4G -- COMMAND completes commands" sh -c 'echo " $1" | grep -q " memguard "' - "$(bcomp "memguard run -m 4G -- memgu")"
check "bash: run -q COMMAND (no --) completes commands" sh -c 'echo " $1" | grep -q " memguard "' - "$(bcomp "memguard run -q memgu")"
check_eq "bash: limit JOB TAB: off" "off " "$(bcomp "memguard limit 7 ")"
check_eq "bash: nothing after reload" "" "$(bcomp "memguard reload ")"

# --- bash: job ids --------------------------------------------------------------------------------------------
: >"$D/comp.err"
check_eq "bash: show TAB with no daemon answering: nothing" "" "$(bcomp "memguard show --socket $D/none.sock ")"
check "... and nothing on the terminal" test ! -s "$D/comp.err" || diag_file "$D/comp.err"

if [ "$(id -u)" != 0 ]; then
        skip "bash: job ids from a running memguardd" "memguardd needs root to make job cgroups"
elif [ ! -x "$MEMGUARDD" ]; then
        skip "bash: job ids from a running memguardd" "memguardd is not built"
else
        mkdir -p "$D/state"
        printf '[profile default]\nmax-memory = 300M\ngrace = 1s\n' | mgd_config "$D/etc/memguard.conf" "$SOCK" "$D/state"
        mgd_start "$D/etc/memguard.conf" "$SOCK" "$D/daemon.log" || diag_file "$D/daemon.log"
        # At exit the jobs are stopped by the daemon and the daemon by lib_cleanup, so nothing is left.
        completion_cleanup() {
                local id
                for id in $("$MEMGUARD" status --socket "$SOCK" 2>/dev/null | awk 'NR > 1 { print $1 }'); do
                        "$MEMGUARD" kill --now "$id" --socket "$SOCK" >/dev/null 2>&1
                done
                wait_for 5 sh -c '! "$0" status --socket "$1" 2>/dev/null | grep -q memhog' "$MEMGUARD" "$SOCK"
                # Their runs end with them (under timeout(1), so this wait is bounded).
                for id in "${RUNS[@]}"; do wait "$id" 2>/dev/null; forget_pid "$id"; done
                lib_cleanup
        }
        trap completion_cleanup EXIT
        RUNS=()
        for n in 1 2; do
                # Ended by the test at exit: --hold and timeout(1) are ceilings only.
                timeout -k 5 900 "$MEMGUARD" run --socket "$SOCK" -- "$MEMHOG" --size 1 --hold 800 --pidfile "$D/hog$n.pid" \
                        </dev/null >"$D/run$n.out" 2>&1 &
                CLEANUP_PIDS+=($!)
                RUNS+=($!)
        done
        two_jobs() { [ "$("$MEMGUARD" status --socket "$SOCK" 2>/dev/null | grep -c memhog)" = 2 ]; }
        wait_for 10 two_jobs || diag "the two jobs did not show up" "$("$MEMGUARD" status --socket "$SOCK" 2>&1)"
        IDS=$("$MEMGUARD" status --socket "$SOCK" | awk 'NR > 1 { print $1 }' | sort -u | tr '\n' ' ')
        check "two jobs for the completion to find" test "$(echo $IDS | wc -w)" = 2 || diag "ids: '$IDS'"
        : >"$D/comp.err"
        for v in show kill freeze thaw limit; do
                check_eq "bash: '$v --socket S TAB' offers the daemon's job ids" "$IDS" "$(bcomp "memguard $v --socket $SOCK ")"
        done
        FIRST=${IDS%% *}
        check_eq "bash: 'show --socket S ${FIRST:0:1}TAB' offers the ids starting so" \
                "$(echo "$IDS" | filter "^${FIRST:0:1}")" "$(bcomp "memguard show --socket $SOCK ${FIRST:0:1}")"
        check_eq "bash: 'kill --now --socket S TAB': the ids after an option" "$IDS" "$(bcomp "memguard kill --now --socket $SOCK ")"
        check_eq "bash: 'show --socket S $FIRST TAB': one job only, nothing more" "" "$(bcomp "memguard show --socket $SOCK $FIRST ")"
        check_eq "bash: status takes no job" "" "$(bcomp "memguard status --socket $SOCK ")"
        check "... and nothing on the terminal" test ! -s "$D/comp.err" || diag_file "$D/comp.err"
fi

# --- zsh --------------------------------------------------------------------------------------------------------
if ! command -v zsh >/dev/null; then
        skip "zsh: the completion parses" "zsh is not installed"
        skip "zsh: completes verbs, options and job ids" "zsh is not installed"
        tap_done
fi
check "zsh: the completion parses (zsh -n)" zsh -n "$ZSH_COMP"

# The matches an interactive zsh offers for TAB at the end of each line (tests/helpers/zcomp.zsh), one
# zsh for all: ZL holds the lines, zmatches N the Nth line's, sorted, on one line.
ZL=("memguard " "memguard kill --" "memguard run --backend=")
[ -n "${IDS:-}" ] && ZL+=("memguard show --socket $SOCK ")
mkdir -p "$D/zfunc"
cp "$ZSH_COMP" "$D/zfunc/_memguard"
timeout -k 2 120 zsh -f "$top_srcdir/tests/helpers/zcomp.zsh" "$D/zfunc" "$D/zm" "${ZL[@]}" >/dev/null 2>&1 ||
        diag "zsh did not complete every line"
zmatches() { sed '/^$/d' "$D/zm.$1" 2>/dev/null | sort -u | tr '\n' ' '; }
check_eq "zsh: 'memguard TAB' offers exactly the verbs of memguard --help" "$VERBS" "$(zmatches 1)"
check_eq "zsh: 'memguard kill --TAB': kill's long options" "$(help_options kill | filter '^--')" "$(zmatches 2 | filter '^--')"
check_eq "zsh: 'memguard run --backend=TAB': the four backends" "auto cgroup1 cgroup2 procfs " "$(zmatches 3)"
if [ -n "${IDS:-}" ]; then
        check_eq "zsh: 'memguard show --socket S TAB' offers the daemon's job ids" "$IDS" "$(zmatches 4)"
else
        skip "zsh: job ids from a running memguardd" "no daemon ran above"
fi
tap_done
