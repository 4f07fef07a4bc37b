#!/usr/bin/env bash
# memguardd under load (make load; not in make check): JOBS jobs handed to one memguardd by
# "memguard run --socket", CLIENTS clients calling status, show and limit without pause for SECONDS,
# and a tenth of the jobs released one after another during that window to grow past their limit.
# Passes when every grower was stopped at its limit (exit 10, verdict killed, peak between the kill
# threshold and the limit), no other job was stopped, no call failed, and memguardd's RSS and open
# descriptors stayed bounded. Writes a Markdown report. Needs root (job cgroups) and jq.
# Usage: load.sh [REPORT]   (environment: LOAD_JOBS, LOAD_CLIENTS, LOAD_SECONDS)
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
MEMGUARDD=$top_builddir/daemon/memguardd
MEMGUARD=$top_builddir/client/memguard
MEMHOG=$top_builddir/tests/helpers/memhog
out=${1:-}
jobs_n=${LOAD_JOBS:-1000}
clients=${LOAD_CLIENTS:-50}
seconds=${LOAD_SECONDS:-60}
growers=$((jobs_n / 10))
idle=$((jobs_n - growers))
# Each grower: 64 MiB limit, kill threshold 80% (51.2 MiB), growing 4 MB/s toward 128 MB, so it
# crosses the threshold about 13 s after its release and would reach the limit 3 s later.
grow_limit_mib=64
grow_rate=4
# Bounds: memguardd's RSS may grow by this much from the start of the window to its end (a leak per
# call would show: the window makes thousands), and its descriptors (a fixed number per job, which the
# report gives) may grow during the window by one per client connection and a few, and must be back
# at or below their count before it when it is over (the growers' are gone then).
rss_growth_max_kib=$((8 * 1024))
fds_slack=16

say() { echo "load: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root: memguardd makes job cgroups"; exit 1; }
for b in "$MEMGUARDD" "$MEMGUARD" "$MEMHOG"; do [ -x "$b" ] || { say "$b is not built"; exit 1; }; done
command -v jq >/dev/null || { say "needs jq"; exit 1; }
# memguardd holds about ten descriptors per job (its cgroup files, a pidfd, the client's connection)
# and raises its soft limit to the hard one it inherits: that must do.
need_fds=$((jobs_n * 12 + 1024))
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$need_fds" ] ||
        { say "the hard limit on open files ($(ulimit -Hn)) is below the $need_fds memguardd needs here"; exit 1; }

# Job cgroups go below a parent of this run's own (--cgroup-parent), beneath ours: another memguardd
# on the host makes its job-N groups elsewhere, and whatever is left is ours to remove.
own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3; exit }' /proc/self/cgroup)
[ -n "$own" ] || own=$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
parent=${own%/}/mgload-$$
parent_dirs() {
        awk -v p="$parent" '{ for (i = 7; i <= NF; i++) if ($i == "-") {
                if ($(i + 1) == "cgroup2" || ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/)) print $5 p; break } }' \
                /proc/self/mountinfo
}

work=$(mktemp -d "${TMPDIR:-/tmp}/mg-load.XXXXXX")
SOCK=$work/sock
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/no-bus
dpid=
run_pids=()
cleanup() {
        local f p
        [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
        for p in "${client_pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
        # The jobs, by the pids they wrote: memguardd sees them end and removes their cgroups.
        for f in "$work"/pid/*; do [ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
        if [ -n "$dpid" ]; then
                for _ in $(seq 180); do
                        kill -0 "$dpid" 2>/dev/null || break
                        [ "$("$MEMGUARD" status --socket "$SOCK" --json 2>/dev/null | jq length 2>/dev/null)" = 0 ] && break
                        sleep 1
                done
                kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
        fi
        for p in "${run_pids[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done
        wait 2>/dev/null
        local d j
        for d in $(parent_dirs); do
                for j in "$d"/*/; do
                        [ -d "$j" ] || continue
                        for p in $(cat "$j/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
                        for _ in $(seq 20); do rmdir "$j" 2>/dev/null && break; sleep 0.1; done
                done
                rmdir "$d" 2>/dev/null
        done
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$work/state" "$work/pid" "$work/fifo" "$work/run" "$work/calls"

cat >"$work/memguard.conf" <<EOC
[daemon]
socket = $SOCK
state-dir = $work/state

[profile default]
max-memory = 1G
grace = 2s
EOC
"$MEMGUARDD" --log-target stderr --cgroup-parent "$parent" -f "$work/memguard.conf" </dev/null 2>"$work/daemon.log" &
dpid=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { say "memguardd did not come up"; tail -n 5 "$work/daemon.log" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$dpid/status"; }
fds() { ls "/proc/$dpid/fd" | wc -l; }
ticks() { awk '{ print $14 + $15 }' "/proc/$dpid/stat"; }
rss_idle=$(rss_kib) fds_idle=$(fds)
t_start=$(date +%s)

# --- the jobs ----------------------------------------------------------------------------------------
# Idle jobs: sleep, under the default profile (1G). Growers: wait on their own FIFO, then grow.
say "starting $jobs_n jobs ($growers growers)"
for i in $(seq 1 "$jobs_n"); do
        if [ "$i" -le "$growers" ]; then
                mkfifo "$work/fifo/$i"
                "$MEMGUARD" run --socket "$SOCK" -m "$grow_limit_mib" --json "$work/run/$i.json" -- \
                        sh -c 'echo $$ >"$0"; read -r _ <"$1"; exec "$2" --rate "$3" --size 128 --hold 60' \
                        "$work/pid/$i" "$work/fifo/$i" "$MEMHOG" "$grow_rate" </dev/null >"$work/run/$i.out" 2>&1 &
        else
                "$MEMGUARD" run --socket "$SOCK" --json "$work/run/$i.json" -- \
                        sh -c 'echo $$ >"$0"; exec sleep 3600' "$work/pid/$i" </dev/null >"$work/run/$i.out" 2>&1 &
        fi
        run_pids[i]=$!
        # Do not fork faster than the daemon takes jobs up.
        [ $((i % 50)) = 0 ] && while [ "$(ls "$work/pid" | wc -l)" -lt $((i - 25)) ]; do sleep 0.1; done
done
have=0
for _ in $(seq 600); do
        have=$("$MEMGUARD" status --socket "$SOCK" --json 2>/dev/null | jq length 2>/dev/null)
        [ "${have:-0}" -ge "$jobs_n" ] && break
        sleep 0.5
done
t_up=$(($(date +%s) - t_start))
[ "${have:-0}" -ge "$jobs_n" ] || { say "only ${have:-0} of $jobs_n jobs supervised"; exit 1; }
"$MEMGUARD" status --socket "$SOCK" --json >"$work/status.json"
# Job ids: the growers' and the idle ones', by the pid each wrote.
jq -r '.[] | "\(.id) \(.command)"' "$work/status.json" >"$work/ids"
grep -E "read -r _" "$work/ids" | awk '{ print $1 }' >"$work/grower-ids"
grep -E "exec sleep 3600" "$work/ids" | awk '{ print $1 }' >"$work/idle-ids"
say "$have jobs supervised after ${t_up}s; $(wc -l <"$work/grower-ids") growers, $(wc -l <"$work/idle-ids") idle"
rss_up=$(rss_kib) fds_up=$(fds)

# --- the window ----------------------------------------------------------------------------------------
# Samples: elapsed seconds, RSS (KiB), descriptors, every second.
(
        s=0
        while kill -0 "$dpid" 2>/dev/null; do
                echo "$s $(rss_kib) $(fds)"
                sleep 1
                s=$((s + 1))
        done
) >"$work/samples" &
sampler=$!

# client N: status, show of an idle job, or limit of an idle job to a size between 512 MiB and 1 GiB
# (never below what it uses, so no idle job is stopped by it), chosen at random, until the window
# ends; one line per call: verb, exit code, milliseconds.
mapfile -t IDLE <"$work/idle-ids"
client() {
        local end=$1 verb id rc t0 t1
        RANDOM=$2
        while [ "$(date +%s)" -lt "$end" ]; do
                id=${IDLE[RANDOM % ${#IDLE[@]}]}
                t0=$(date +%s%N)
                case $((RANDOM % 3)) in
                0) verb=status; "$MEMGUARD" status --socket "$SOCK" >/dev/null 2>>"$work/calls/$2.err" ;;
                1) verb=show; "$MEMGUARD" show "$id" --socket "$SOCK" >/dev/null 2>>"$work/calls/$2.err" ;;
                2) verb=limit; "$MEMGUARD" limit "$id" $((512 + RANDOM % 513))M --socket "$SOCK" >/dev/null 2>>"$work/calls/$2.err" ;;
                esac
                rc=$?
                t1=$(date +%s%N)
                echo "$verb $rc $(((t1 - t0) / 1000000))"
        done >"$work/calls/$2"
}
cpu0=$(ticks)
t_window=$(date +%s)
end=$((t_window + seconds))
client_pids=()
for c in $(seq 1 "$clients"); do
        client "$end" "$c" &
        client_pids+=($!)
done
# Release the growers evenly over the first 3/4 of the window, so each crosses its threshold in it.
mapfile -t GROW < <(seq 1 "$growers")
for g in "${GROW[@]}"; do
        at=$((t_window + (g - 1) * seconds * 3 / 4 / growers))
        while [ "$(date +%s)" -lt "$at" ]; do sleep 0.1; done
        echo go >"$work/fifo/$g" &
done
for p in "${client_pids[@]}"; do wait "$p"; done
client_pids=()
cpu1=$(ticks)
rss_end=$(rss_kib) fds_end=$(fds)
say "window over; waiting for the growers' reports"

# --- the verdicts -----------------------------------------------------------------------------------------
# A grower's run ends when memguardd stopped it; give the last ones their threshold time and grace.
for g in "${GROW[@]}"; do
        for _ in $(seq 600); do kill -0 "${run_pids[g]}" 2>/dev/null || break; sleep 0.1; done
done
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
stopped=0 missed=() bad_peak=()
threshold=$((grow_limit_mib * 1024 * 1024 * 8 / 10))
limit=$((grow_limit_mib * 1024 * 1024))
peak_min= peak_max=
for g in "${GROW[@]}"; do
        wait "${run_pids[g]}" 2>/dev/null
        rc=$?
        f=$work/run/$g.json
        if [ "$rc" = 10 ] && [ "$(jq -r .verdict "$f" 2>/dev/null)" = killed ]; then
                stopped=$((stopped + 1))
                p=$(jq -r '[.peak.working_set_bytes, .peak.kernel_high_water_bytes] | max' "$f")
                { [ "$p" -ge "$threshold" ] && [ "$p" -le "$limit" ]; } || bad_peak+=("$g:$p")
                [ -z "$peak_min" ] || [ "$p" -lt "$peak_min" ] && peak_min=$p
                [ -z "$peak_max" ] || [ "$p" -gt "$peak_max" ] && peak_max=$p
        else
                missed+=("$g(exit $rc)")
        fi
done
still=$("$MEMGUARD" status --socket "$SOCK" --json | jq length)
idle_running=$("$MEMGUARD" status --socket "$SOCK" --json | jq '[.[] | select(.command | test("exec sleep 3600"))] | length')

cat "$work"/calls/[0-9]* >"$work/all-calls"
calls=$(wc -l <"$work/all-calls")
failed=$(awk '$2 != 0' "$work/all-calls" | wc -l)
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR) print v[int((NR - 1) * p / 100) + 1]; else print "-" }'; }
verb_row() {
        local v=$1
        awk -v v="$v" '$1 == v { print $3 }' "$work/all-calls" >"$work/ms-$v"
        printf '| %s | %d | %d | %s | %s | %s |\n' "$v" "$(wc -l <"$work/ms-$v")" \
                "$(awk -v v="$v" '$1 == v && $2 != 0' "$work/all-calls" | wc -l)" \
                "$(pct 50 <"$work/ms-$v")" "$(pct 99 <"$work/ms-$v")" "$(sort -n "$work/ms-$v" | tail -n1)"
}
rss_max=$(awk 'max < $2 { max = $2 } END { print max }' "$work/samples")
fds_max=$(awk 'max < $3 { max = $3 } END { print max }' "$work/samples")
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v w="$seconds" -v hz="$hz" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / w }')
fds_bound=$((fds_up + clients + fds_slack))
fds_per_job=$(awk -v a="$fds_idle" -v b="$fds_up" -v n="$jobs_n" 'BEGIN { printf "%.1f", (b - a) / n }')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# verdict VAR CONDITION: VAR is "pass" when CONDITION (evaluated) holds, else a failure is counted.
fail=0
verdict() {
        if eval "$2"; then printf -v "$1" pass; else printf -v "$1" '**FAIL**'; fail=1; fi
}
verdict v_stopped '[ "$stopped" = "$growers" ]'
verdict v_peak '[ "${#bad_peak[@]}" = 0 ]'
verdict v_idle '[ "$idle_running" = "$idle" ]'
verdict v_calls '[ "$failed" = 0 ] && [ "$calls" -gt 0 ]'
verdict v_rss '[ $((rss_end - rss_up)) -le "$rss_growth_max_kib" ]'
verdict v_fds '[ "$fds_max" -le "$fds_bound" ] && [ "$fds_end" -le "$fds_up" ]'

[ "${#missed[@]}" = 0 ] || say "not stopped at their limit: ${missed[*]}"
[ "${#bad_peak[@]}" = 0 ] || say "peak outside [threshold, limit]: ${bad_peak[*]}"
[ "$failed" = 0 ] || { say "failed calls:"; cat "$work"/calls/*.err | sort | uniq -c | sort -rn | head -n 5 >&2; }

report() {
        echo "# memguardd under load"
        echo
        echo "Produced by \`make load\` (bench/load.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel"
        echo "$(uname -r), the $(jq -r .backend "$work/run/1.json" 2>/dev/null) backend; rerun \`make load\` to regenerate this file."
        echo
        echo "**Setup.** One memguardd on a private socket and state directory (profile default: max-memory 1G)."
        echo "$jobs_n jobs handed to it with \`memguard run --socket\`: $idle idle (\`sleep\`) and $growers growers"
        echo "(\`memhog --rate $grow_rate --size 128\` under \`-m $grow_limit_mib\`, kill threshold 80 %, each held at a FIFO"
        echo "until released). All $jobs_n were supervised ${t_up} s after the first was started. Then for ${seconds} s,"
        echo "$clients clients each called \`memguard status\`, \`show ID\` or \`limit ID SIZE\` (an idle job, 512 MiB to"
        echo "1 GiB) at random without pause, while the growers were released evenly over the first three"
        echo "quarters of the window. memguardd's VmRSS and open descriptors were sampled every second."
        echo
        echo "| check | result | |"
        echo "|---|---|---|"
        echo "| growers stopped at their limit (exit 10, verdict killed) | $stopped of $growers | $v_stopped |"
        echo "| growers' peak between the threshold ($(mib $((threshold / 1024))) MiB) and the limit ($grow_limit_mib MiB) | $(mib $((${peak_min:-0} / 1024)))–$(mib $((${peak_max:-0} / 1024))) MiB | $v_peak |"
        echo "| idle jobs still running, none stopped by mistake | $idle_running of $idle | $v_idle |"
        echo "| client calls, failed | $calls, $failed | $v_calls |"
        echo "| memguardd RSS: idle / $jobs_n jobs / window max / window end | $(mib "$rss_idle") / $(mib "$rss_up") / $(mib "$rss_max") / $(mib "$rss_end") MiB (bound: end ≤ start + $(mib "$rss_growth_max_kib")) | $v_rss |"
        echo "| memguardd descriptors: idle / $jobs_n jobs / window max / window end | $fds_idle / $fds_up / $fds_max / $fds_end ($fds_per_job per job; bound: max ≤ $fds_bound, end ≤ $fds_up) | $v_fds |"
        echo "| memguardd CPU during the window | ${cpu} % of one core | |"
        echo
        echo "Calls by verb (milliseconds, wall time of the whole \`memguard\` process, $clients at once on"
        echo "$(nproc) cores):"
        echo
        echo "| verb | calls | failed | p50 | p99 | max |"
        echo "|---|---|---|---|---|---|"
        verb_row status
        verb_row show
        verb_row limit
        echo
        echo "$still jobs were left when the window's reports were in (the idle ones); they were then ended."
}
if [ -n "$out" ]; then report >"$out"; say "wrote $out"; else report; fi
[ "$fail" = 0 ] && say "pass" || say "FAIL"
exit "$fail"
