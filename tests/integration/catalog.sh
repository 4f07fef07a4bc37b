#!/usr/bin/env bash
# The journal catalog as journalctl -x shows it: each entry's text, with the @FIELD@s filled in from
# the record memguardd really logged under that MESSAGE_ID, names no field the record lacks and gives
# sizes as people read them ("200 MiB"), not byte counts. A job is supervised, warned about, stopped
# at its threshold and ends; the daemon logs to stderr, fields in brackets.
. "$(dirname "$0")/lib.sh"

CATALOG=$top_srcdir/systemd/memguard.catalog
require_memguardd
require_binaries

D=$TEST_TMP
SOCK=$D/mg.sock
LOG=$D/daemon.log
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/no-bus
mkdir -p "$D/state"
mgd_config "$D/memguard.conf" "$SOCK" "$D/state" <<EOC

[profile default]
max-memory = 200M
warn-at = 0.3
grace = 1s
EOC
MGD_ARGS=(--log-target stderr)
mgd_start "$D/memguard.conf" "$SOCK" "$LOG" || { diag_file "$LOG"; skip_all "memguardd did not come up"; }

# A job that grows past its kill threshold (160 MiB): supervised, warned about at 60 MiB, stopped, ended.
timeout -k 5 60 "$MEMGUARD" run --socket "$SOCK" -- "$MEMHOG" --rate 100 --size 400 --hold 30 \
        </dev/null >"$D/run.out" 2>&1
RUN_RC=$?
check_eq "the job was stopped at its limit (exit 10)" 10 "$RUN_RC" || diag_file "$D/run.out"
wait_for 10 grep -q 'MESSAGE_ID=004df36ceef54204ba3c50c7c9c01c11' "$LOG" || diag "no 'ended' record"

# record_fields ID: the fields of the first record with MESSAGE_ID ID, one NAME=value a line.
record_fields() {
        grep -m1 -o "\[MESSAGE_ID=$1 .*\]$" "$LOG" | sed -E 's/^\[//; s/\]$//; s/ ([A-Z_][A-Z0-9_]*)=/\n\1=/g'
}
# catalog_entry ID: the catalog's Subject and text for ID.
catalog_entry() {
        awk -v id="-- $1" '$0 == id { on = 1; next } on && /^-- / { exit }
                           on && !/^(Defined-By|Support):/ { print }' "$CATALOG"
}
# render ID: the catalog entry for ID with each @FIELD@ replaced by the record's value; a field the
# record does not have stays @FIELD@.
render() {
        local text fields name value
        text=$(catalog_entry "$1")
        fields=$(record_fields "$1")
        for name in $(echo "$text" | grep -oE '@[A-Z_][A-Z0-9_]*@' | tr -d @ | sort -u); do
                value=$(echo "$fields" | sed -n "s/^$name=//p" | head -n1)
                [ -n "$value" ] && text=${text//@$name@/$value}
        done
        echo "$text"
}

declare -A WHAT=(
        [dfd41587938b4b199c42df82a34a7340]="supervised"
        [2270aab3af694c4ba4b538c50c83a0b6]="near its limit"
        [b59470accdf64bc2bc17bb8fce340c8d]="crossed its kill threshold"
        [004df36ceef54204ba3c50c7c9c01c11]="ended"
)
for id in dfd41587938b4b199c42df82a34a7340 2270aab3af694c4ba4b538c50c83a0b6 b59470accdf64bc2bc17bb8fce340c8d \
        004df36ceef54204ba3c50c7c9c01c11; do
        if ! grep -q "MESSAGE_ID=$id" "$LOG"; then
                not_ok "the daemon logged the '${WHAT[$id]}' record ($id)"
                continue
        fi
        text=$(render "$id")
        left=$(echo "$text" | grep -oE '@[A-Z_][A-Z0-9_]*@' | sort -u | tr '\n' ' ')
        check "'${WHAT[$id]}': every field its catalog text names is in the record" test -z "$left" ||
                diag "not in the record: $left" "$text"
        # No "bytes", and none of the record's byte counts (larger than any formatted number).
        counts=$(record_fields "$id" | sed -nE 's/^[A-Z_]+_BYTES=([0-9]{5,})$/\1/p' | sort -u | paste -sd '|')
        check "'${WHAT[$id]}': the text gives no byte count" \
                sh -c '! echo "$0" | grep -Eqw "bytes${1:+|$1}"' "$text" "$counts" || diag "$text"
done
check "supervised: 'with a limit of 200 MiB'" sh -c 'echo "$0" | tr "\n" " " | grep -q "with a limit of 200 MiB\."' \
        "$(render dfd41587938b4b199c42df82a34a7340)" || diag "$(render dfd41587938b4b199c42df82a34a7340)"
check "kill threshold: 'uses N MiB, past the kill threshold of its limit 200 MiB'" \
        sh -c 'echo "$0" | tr "\n" " " | grep -Eq "uses [0-9.]+ MiB, past the kill threshold of its limit 200 MiB "' \
        "$(render b59470accdf64bc2bc17bb8fce340c8d)" || diag "$(render b59470accdf64bc2bc17bb8fce340c8d)"
check "ended: 'Its peak was N MiB.'" sh -c 'echo "$0" | grep -Eq "Its peak was [0-9.]+ MiB\."' \
        "$(render 004df36ceef54204ba3c50c7c9c01c11)" || diag "$(render 004df36ceef54204ba3c50c7c9c01c11)"
check "the byte counts stay in the record for scripts (MEMGUARD_LIMIT_BYTES=209715200)" \
        sh -c 'echo "$0" | grep -qx MEMGUARD_LIMIT_BYTES=209715200' "$(record_fields b59470accdf64bc2bc17bb8fce340c8d)"
tap_done
