#!/usr/bin/env bash
# memguardd at scale: N idle jobs (one process each, in [watch]ed cgroups) supervised at the daemon's
# 1 s interval; memguardd's own CPU (utime+stime over a window) and RSS. Appends its table to the
# benchmark report. Needs root and a cgroup memory controller. Usage: daemon-scale.sh [REPORT]
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
MEMGUARDD=$top_builddir/daemon/memguardd
MEMGUARD=$top_builddir/client/memguard
out=${1:-}
counts=${BENCH_SCALE_COUNTS:-"100 1000"}
window=${BENCH_SCALE_WINDOW:-20}

say() { echo "daemon-scale: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root"; exit 0; }

mnt_v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
mnt_v1=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) print $5; break } }' /proc/self/mountinfo | head -n1)
own_v2=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
own_v1=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
if [ -n "$mnt_v2" ] && grep -qw memory "$mnt_v2${own_v2%/}/cgroup.controllers" 2>/dev/null; then
        mount=$mnt_v2 own=${own_v2%/}
else
        mount=$mnt_v1 own=${own_v1%/}
fi
[ -n "$mount" ] || { say "no cgroup memory controller"; exit 0; }

work=$(mktemp -d)
base=$mount$own/mgscale-$$
pids=()
cleanup() {
        [ -n "${dpid:-}" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
        for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
        wait 2>/dev/null
        for d in "$base"/*/; do rmdir "$d" 2>/dev/null; done
        rmdir "$base" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$base" || exit 0
[ -e "$base/cgroup.subtree_control" ] && echo +memory >"$base/cgroup.subtree_control" 2>/dev/null

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rows=()
for n in $counts; do
        for i in $(seq "${#pids[@]}" $((n - 1))); do
                mkdir -p "$base/job-$i"
                sh -c 'echo $$ >"$0/cgroup.procs" && exec sleep 3600' "$base/job-$i" &
                pids+=($!)
        done
        cat >"$work/memguard.conf" <<EOC
[daemon]
socket = $work/sock
state-dir = $work/state
interval = 1s
[profile scale]
max-memory = 1G
[watch scale]
cgroup = $own/mgscale-$$/job-*
profile = scale
EOC
        rm -rf "$work/state"
        "$MEMGUARDD" --log-target stderr -f "$work/memguard.conf" </dev/null 2>"$work/daemon.log" &
        dpid=$!
        for _ in $(seq 600); do
                have=$("$MEMGUARD" status --socket "$work/sock" --json 2>/dev/null | jq length 2>/dev/null)
                [ "${have:-0}" -ge "$n" ] && break
                sleep 0.1
        done
        sleep 2  # past the adoption burst
        t0=$(ticks "$dpid")
        sleep "$window"
        t1=$(ticks "$dpid")
        hz=$(getconf CLK_TCK)
        cpu=$(awk -v a="$t0" -v b="$t1" -v w="$window" -v hz="$hz" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / w }')
        rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$dpid/status")
        say "$n jobs (seen ${have:-0}): ${cpu}% of one core, ${rss} MiB RSS"
        rows+=("| $n | ${have:-0} | $cpu | $rss |")
        kill -TERM "$dpid"; wait "$dpid" 2>/dev/null; dpid=
done

report() {
        echo
        echo "## memguardd at scale"
        echo
        echo "\`bench/daemon-scale.sh\` (run by \`make bench\`): N idle jobs, each one \`sleep\` in its own cgroup"
        echo "found by a [watch] section, under a profile with max-memory = 1G, at the daemon's default 1 s"
        echo "interval; memguardd's CPU (utime + stime over ${window} s after every job was adopted) and VmRSS."
        echo "The goal for 1,000 jobs: under 1 % of one core and under 16 MiB."
        echo
        echo "| jobs | supervised | CPU (% of one core) | RSS (MiB) |"
        echo "|---|---|---|---|"
        printf '%s\n' "${rows[@]}"
}
if [ -n "$out" ]; then report >>"$out"; else report; fi
