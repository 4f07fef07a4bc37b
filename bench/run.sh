#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench: how far past its threshold a job allocating at 1 GB/s gets, and how fast the SIGTERM
# comes, for each memguard backend this host has and for two baselines (the ps-polling wrapper, a
# memwatch-style /proc sampler); then what one memguard sample costs in CPU, per job and per process.
# Writes docs/benchmarks.md (the whole file). Not part of make check, which never asserts on time.
#
# Environment (the make rule passes the first two):
#   top_srcdir, top_builddir   source and build trees (default: .)
#   BENCH_OUTPUT               where to write (default: $top_srcdir/docs/benchmarks.md)
#   BENCH_REPS                 repetitions of each overshoot and rate configuration (default 5)
#   BENCH_COST_REPS            repetitions of each CPU-cost configuration (default 5)
#   BENCH_CALLGRIND=0          skip the callgrind instruction counts
if [ -z "${BASH_VERSION:-}" ]; then
        exec bash "$0" "$@"
fi
set -u
export LC_ALL=C

top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
top_builddir=$(cd "${top_builddir:-.}" && pwd)
out=${BENCH_OUTPUT:-$top_srcdir/docs/benchmarks.md}
reps=${BENCH_REPS:-5}
cost_reps=${BENCH_COST_REPS:-5}

memguard=$top_builddir/client/memguard
memhog=$top_builddir/tests/helpers/memhog
fastalloc=$top_builddir/bench/fastalloc
sampler=$top_builddir/bench/baseline-sampler
wrapper=$top_srcdir/bench/baseline-ps-wrapper.sh

max_mb=500                      # --max-memory of every run
thr_kib=$((max_mb * 1024 * 8 / 10))   # the default kill threshold, 0.8 x 500 MiB = 400 MiB
rate=1000                       # MB/s asked of the job
job_mb=4000                     # large enough that no guard catches the job after it stopped by itself
avail_mb=$(awk '/^MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo)
if [ "${avail_mb:-0}" -lt $((2 * job_mb)) ]; then
        job_mb=$((avail_mb / 2))  # the baselines let the job run far past the limit: keep the host alive
fi
# Start delays, one per repetition: they move the moment the job crosses the threshold across the
# baselines' polling periods (2 s, 500 ms) and memguard's (10-100 ms), instead of always one phase.
delays=(0 0.437 0.874 1.311 1.748 0.219 0.656 1.093 1.530 1.967)

for f in "$memguard" "$memhog" "$fastalloc" "$sampler"; do
        if [ ! -x "$f" ]; then
                echo "bench: $f is missing: run it as 'make bench'" >&2
                exit 1
        fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/memguard-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

say() { echo "bench: $*" >&2; }

# ---- the host ------------------------------------------------------------------------------------
cgroup_layout() {
        local v1 v2 ctl
        v1=$(awk '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++)
                if (o[i] ~ /^(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids|net_cls|net_prio|hugetlb|perf_event|rdma|misc)$/ ||
                    o[i] ~ /^name=/) printf "%s%s", (c++ ? "," : ""), o[i] }' /proc/self/mounts)
        v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
        if [ -n "$v2" ]; then
                ctl=$(cat "$v2/cgroup.controllers" 2>/dev/null)
                ctl=${ctl:-none}
        fi
        if [ -n "$v1" ] && [ -n "$v2" ]; then
                echo "hybrid: cgroup v1 hierarchies ($v1); cgroup2 at $v2 with controllers: ${ctl// /,}"
        elif [ -n "$v2" ]; then
                echo "unified: cgroup2 at $v2 with controllers: ${ctl// /,}"
        elif [ -n "$v1" ]; then
                echo "legacy: cgroup v1 only ($v1)"
        else
                echo "no cgroup file systems mounted"
        fi
}

host_date=$(date -u '+%Y-%m-%d %H:%M UTC')
host_cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
host_nproc=$(nproc)
host_mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
host_swap=$(awk '/^SwapTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
host_kernel="$(uname -sr) $(uname -m)"
host_cgroups=$(cgroup_layout)
host_thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)
host_procs() { local d n=0; for d in /proc/[0-9]*; do n=$((n + 1)); done; echo "$n"; }
host_user=$(id -un)
source_rev=unknown
if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        source_rev=$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null)
        if [ -n "$(git --no-optional-locks -C "$top_srcdir" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                source_rev="$source_rev with uncommitted changes"
        fi
fi

# Which backends work here, and memguard's own words when one does not.
declare -A backend_ok backend_why
for b in cgroup2 cgroup1 procfs; do
        if "$memguard" run --backend "$b" --max-memory "$max_mb" -q -- true 2>"$work/why"; then
                backend_ok[$b]=1
        else
                backend_ok[$b]=0
                backend_why[$b]=$(sed -e 's/^memguard: error: //' -e 's/^memguard: //' "$work/why" | head -n 1)
                [ -n "${backend_why[$b]}" ] || backend_why[$b]="memguard run --backend $b failed"
        fi
done
say "backends: cgroup2=${backend_ok[cgroup2]} cgroup1=${backend_ok[cgroup1]} procfs=${backend_ok[procfs]}"

# ---- 1. allocation rate of the test jobs -------------------------------------------------------
# Wall time of 1000 MB at --rate 1000, nothing guarding: what the page-fault path of this host allows.
now_s() { echo "$EPOCHREALTIME"; }
rate_reps=$reps
: >"$work/rates"
# One unmeasured run first, so neither job pays for the host's first touch of fresh memory alone.
"$fastalloc" --log "$work/warm.log" --rate 100000 --size 1000 --hold 0 >/dev/null 2>&1
for _ in $(seq "$rate_reps"); do
        t0=$(now_s); "$memhog" --rate "$rate" --size 1000; t1=$(now_s)
        echo "memhog $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 1000 / (b - a) }')" >>"$work/rates"
        t0=$(now_s); "$fastalloc" --log "$work/rate.log" --rate "$rate" --size 1000 --hold 0; t1=$(now_s)
        echo "fastalloc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 1000 / (b - a) }')" >>"$work/rates"
        t0=$(now_s); "$fastalloc" --log "$work/rate.log" --rate "$rate" --size 1000 --hold 0 --thp; t1=$(now_s)
        echo "fastalloc-thp $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 1000 / (b - a) }')" >>"$work/rates"
done
say "allocation rates measured"

# ---- 2. overshoot and reaction time --------------------------------------------------------------
configs=()
[ "${backend_ok[cgroup1]}" = 1 ] && configs+=(memguard-cgroup1)
[ "${backend_ok[cgroup2]}" = 1 ] && configs+=(memguard-cgroup2)
[ "${backend_ok[procfs]}" = 1 ] && configs+=(memguard-procfs)
configs+=(ps-wrapper sampler)

run_config() {  # config delay log json -> exit status
        local c=$1 d=$2 log=$3 json=$4
        local job=("$fastalloc" --log "$log" --rate "$rate" --size "$job_mb" --hold 10 --delay "$d")
        case $c in
        memguard-*)
                timeout -k 5 60 "$memguard" run --backend "${c#memguard-}" --max-memory "$max_mb" --grace 2s -q \
                        --json "$json" -- "${job[@]}" ;;
        ps-wrapper)
                timeout -k 5 60 bash "$wrapper" --max-memory "$max_mb" --check-interval 2 --kill-threshold 0.8 \
                        --grace 2 -- "${job[@]}" 2>/dev/null ;;
        sampler)
                timeout -k 5 60 "$sampler" --max-memory "$max_mb" --interval-ms 500 --kill-threshold 0.8 \
                        --grace 2 -- "${job[@]}" 2>/dev/null ;;
        esac
}

# From the job's log: rate (MiB/s, start to the threshold), reaction (ms, the first chunk at or above
# the threshold to SIGTERM's arrival), stop (ms, SIGTERM to the last chunk), peak RSS (MiB), and how
# the job ended. "-" where there is nothing to measure.
parse_log() {
        awk -v thr="$thr_kib" '
                $1 == "start" { t0 = $2; r0 = $3 }
                $1 == "c" || $1 == "done" || $1 == "stop" { if ($3 > peak) peak = $3; last = $2 }
                $1 == "c" && $3 >= thr && !tc { tc = $2; rc = $3 }
                $1 == "term" { tt = $2 }
                $1 == "stop" { ts = $2 }
                END {
                        rate = tc ? sprintf("%.0f", (rc - r0) / 1024 / ((tc - t0) / 1e9)) : "-"
                        react = (tc && tt) ? sprintf("%.1f", (tt - tc) / 1e6) : "-"
                        stop = (tt && ts) ? sprintf("%.1f", (ts - tt) / 1e6) : "-"
                        how = tt ? "SIGTERM" : "SIGKILL"
                        printf "%s %s %s %.1f %s\n", rate, react, stop, peak / 1024, how
                }' "$1"
}

json_num() {  # file key -> the first numeric value of "key", or -
        local v
        v=$(sed -n "s/.*\"$2\": \([0-9][0-9.]*\).*/\1/p" "$1" 2>/dev/null | head -n 1)
        echo "${v:--}"
}

: >"$work/runs"
for rep in $(seq "$reps"); do
        d=${delays[$(((rep - 1) % ${#delays[@]}))]}
        for c in "${configs[@]}"; do
                rm -f "$work/a.log" "$work/j.json"
                run_config "$c" "$d" "$work/a.log" "$work/j.json" >/dev/null
                rc=$?
                read -r r_rate r_react r_stop r_peak r_how < <(parse_log "$work/a.log")
                hw=$(json_num "$work/j.json" kernel_high_water_bytes)
                [ "$hw" = - ] || hw=$(awk -v b="$hw" 'BEGIN { printf "%.1f", b / 1048576 }')
                mx=$(json_num "$work/j.json" max_total_rss_kib)
                [ "$mx" = - ] || mx=$(awk -v k="$mx" 'BEGIN { printf "%.1f", k / 1024 }')
                oom=$(json_num "$work/j.json" oom_kills)
                echo "$c $rep $d $r_rate $r_react $r_stop $r_peak $rc $r_how $hw $mx $oom" >>"$work/runs"
                say "$c #$rep: rate $r_rate MB/s, reaction $r_react ms, peak $r_peak MB, exit $rc ($r_how)"
                sleep 0.5  # let the host take back the memory before the next run
        done
done

# ---- 3. CPU cost of one sample -------------------------------------------------------------------
# The job: bash with N idle sleeps. After 0.3 s it reads its parent's (the guard's) CPU time from
# /proc/PPID/schedstat (ns), again 1 s later, and writes both with the wall clock; the guard's
# samples in that window come from its sampling period. Processes in the job during the window:
# bash, the N sleeps, and the sleep that times the window: N + 2. At the end it writes its own CPU
# time and its children's (bash's times), which the wrapper's measure subtracts.
# shellcheck disable=SC2016 # expanded by the job's bash, not here
cost_job='n=$1 out=$2
for ((i = 0; i < n; i++)); do sleep 5 & done
sleep 0.3
read -r a _ </proc/$PPID/schedstat; t1=$EPOCHREALTIME
sleep 1
read -r b _ </proc/$PPID/schedstat; t2=$EPOCHREALTIME
echo "$a $b $t1 $t2" >"$out"
kill $(jobs -p) 2>/dev/null
wait
times >"$out.times"'

# CPU seconds in the output of bash's times: the sum of both lines (self, children) or of one.
times_sum() {  # file [line]
        awk -v l="${2:-0}" '(l == 0 || NR == l) { for (i = 1; i <= NF; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } }
                END { printf "%.6f\n", s }' "$1"
}

cost_configs=()
[ "${backend_ok[cgroup1]}" = 1 ] && cost_configs+=(memguard-cgroup1)
[ "${backend_ok[cgroup2]}" = 1 ] && cost_configs+=(memguard-cgroup2)
[ "${backend_ok[procfs]}" = 1 ] && cost_configs+=(memguard-procfs)
cost_configs+=(sampler ps-wrapper)
host_procs_at_cost=$(host_procs)

: >"$work/cost"
for rep in $(seq "$cost_reps"); do
        for n in 1 10 100; do
                for c in "${cost_configs[@]}"; do
                        rm -f "$work/c.out" "$work/c.out.times" "$work/c.csv" "$work/c.rep" "$work/c.log"
                        times >"$work/times0"
                        t0=$(now_s)
                        case $c in
                        memguard-*)
                                timeout -k 5 60 "$memguard" run --backend "${c#memguard-}" --check-interval 10ms -q \
                                        --timeline "$work/c.csv" -- bash -c "$cost_job" _ "$n" "$work/c.out" ;;
                        sampler)
                                timeout -k 5 60 "$sampler" --interval-ms 10 --report "$work/c.rep" \
                                        -- bash -c "$cost_job" _ "$n" "$work/c.out" ;;
                        ps-wrapper)
                                timeout -k 5 60 bash "$wrapper" --max-memory 100000 --check-interval 0.2 \
                                        --log-file "$work/c.log" -- bash -c "$cost_job" _ "$n" "$work/c.out" ;;
                        esac >/dev/null 2>&1
                        t1=$(now_s)
                        times >"$work/times1"
                        [ -s "$work/c.out" ] || { say "$c n=$n: no measurement"; continue; }
                        read -r ca cb w1 w2 <"$work/c.out"
                        case $c in
                        memguard-*)
                                # period: the median gap between samples; processes: the median count.
                                period=$(awk -F, 'NR > 2 { print $2 - p } { p = $2 }' "$work/c.csv" | sort -g |
                                         awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
                                procs=$(awk -F, 'NR > 1 { print $5 }' "$work/c.csv" | sort -n |
                                        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
                                cpu_ns=$((cb - ca)) ;;
                        sampler)
                                samples=$(awk '$1 == "samples" { print $2 }' "$work/c.rep")
                                period=$(awk -v a="$t0" -v b="$t1" -v s="$samples" 'BEGIN { print (b - a) / s }')
                                procs=$((n + 2))
                                cpu_ns=$((cb - ca)) ;;
                        ps-wrapper)
                                # A check forks ps (and subshells) per process, and they finish inside
                                # nested command substitutions, so a 1 s window cuts checks in pieces.
                                # Instead: everything the run cost (this script's reaped children: timeout,
                                # the wrapper and all it forked, the job), minus the job's own, over the
                                # checks the wrapper logged.
                                checks=$(grep -c 'Memory usage' "$work/c.log")
                                period=$(awk -v a="$t0" -v b="$t1" -v s="$checks" 'BEGIN { print (b - a) / s }')
                                procs=$((n + 2))
                                cpu_ns=$(awk -v a="$(times_sum "$work/times0" 2)" -v b="$(times_sum "$work/times1" 2)" \
                                        -v j="$(times_sum "$work/c.out.times")" -v k="$checks" \
                                        'BEGIN { printf "%.0f", (b - a - j) * 1e9 / k }')
                                w1=0 w2=$period ;;  # cpu_ns is already per check: a window of one period
                        esac
                        per=$(awk -v c="$cpu_ns" -v w1="$w1" -v w2="$w2" -v p="$period" \
                                'BEGIN { printf "%.1f", c / 1000 / ((w2 - w1) / p) }')
                        echo "$c $n $procs $per $period" >>"$work/cost"
                        say "$c n=$n (#$rep): $per us per sample, $procs processes, period ${period}s"
                done
        done
done

# ---- 4. callgrind: instructions per sample -------------------------------------------------------
# User-space instructions inside job_sample (and what it calls) per sample: repeatable where the CPU
# time is not. The kernel's share (building the /proc and cgroup file text) is not counted.
: >"$work/cg"
if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1 &&
   nm "$memguard" 2>/dev/null | grep -qw job_sample; then
        for c in "${cost_configs[@]}"; do
                case $c in memguard-*) ;; *) continue ;; esac
                for n in 1 10 100; do
                        for rep in 1 2; do
                                rm -f "$work/cg.out" "$work/cg.json"
                                # shellcheck disable=SC2016 # the job's bash expands $1
                                timeout -k 5 120 valgrind --tool=callgrind --toggle-collect=job_sample \
                                        --callgrind-out-file="$work/cg.out" "$memguard" run --backend "${c#memguard-}" \
                                        --check-interval 10ms -q --json "$work/cg.json" \
                                        -- bash -c 'for ((i = 0; i < $1; i++)); do sleep 1.5 & done; wait' _ "$n" \
                                        >/dev/null 2>&1
                                ir=$(awk '$1 == "totals:" || $1 == "summary:" { print $2; exit }' "$work/cg.out" 2>/dev/null)
                                s=$(json_num "$work/cg.json" samples)
                                if [ -z "$ir" ] || [ "$s" = - ]; then
                                        continue
                                fi
                                echo "$c $n $((n + 1)) $((ir / s)) $s" >>"$work/cg"
                                say "callgrind $c n=$n: $((ir / s)) instructions per sample ($s samples)"
                        done
                done
        done
fi
elapsed=$(($(date +%s) - started))

# ---- the report ----------------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -g | tail -n 1 | grep . || echo -; }
col() {  # config column -> the column's numeric values for config
        awk -v c="$1" -v k="$2" '$1 == c && $k != "-" { print $k }' "$work/runs"
}
medmax() {  # config column [offset] -> "median / max", minus offset
        local off=${3:-0} vals
        vals=$(col "$1" "$2" | awk -v o="$off" '{ printf "%.1f\n", $1 - o }')
        [ -n "$vals" ] || { echo "-"; return; }
        echo "$(echo "$vals" | median) / $(echo "$vals" | maximum)"
}

label() {
        case $1 in
        memguard-cgroup1) echo "memguard, cgroup1 backend (adaptive 10-100 ms)" ;;
        memguard-cgroup2) echo "memguard, cgroup2 backend (adaptive 10-100 ms)" ;;
        memguard-procfs) echo "memguard, procfs backend (adaptive 10-100 ms)" ;;
        ps-wrapper) echo "ps-polling wrapper (2 s)" ;;
        sampler) echo "memwatch-style sampler (500 ms)" ;;
        esac
}

ended() {  # how the runs of config ended: "5 x SIGTERM, exit 10"
        awk -v c="$1" '$1 == c { n[$9 ", exit " $8]++ } END { for (k in n) printf "%s%d x %s", (i++ ? "; " : ""), n[k], k }' "$work/runs"
}

fit() {  # file config -> "a b" of per-sample = a + b x processes (least squares on every run)
        awk -v c="$2" '$1 == c { n++; x = $3; y = $4; sx += x; sy += y; sxx += x * x; sxy += x * y }
                END { if (n < 2 || n * sxx == sx * sx) { print "- -"; exit }
                      b = (n * sxy - sx * sy) / (n * sxx - sx * sx); a = (sy - b * sx) / n
                      printf "%.1f %.2f\n", a, b }' "$1"
}

cost_cell() {  # file config N -> median of column 4 for N
        awk -v c="$2" -v n="$3" '$1 == c && $2 == n { print $4 }' "$1" | median
}

{
        echo "# Benchmarks"
        echo
        echo "Produced by \`make bench\` (bench/run.sh) on $host_date, in ${elapsed}s. Every number below comes"
        echo "from that run; rerun \`make bench\` to regenerate this whole file."
        echo
        echo "## Machine"
        echo
        echo "- CPU: $host_nproc x ${host_cpu:-unknown}"
        echo "- memory: $host_mem, swap $host_swap; transparent huge pages: $host_thp"
        echo "- kernel: $host_kernel"
        echo "- cgroups: $host_cgroups"
        echo "- processes on the host during the cost runs: $host_procs_at_cost"
        echo "- run as: $host_user; memguard source: $source_rev"
        echo
        echo "## Method"
        echo
        echo "**Job.** \`bench/fastalloc --rate $rate --size $job_mb\`: it reserves $job_mb MiB and faults"
        echo "it in 1 MiB at a time (4 KiB pages) with MADV_POPULATE_WRITE, never faster than $rate MiB/s; a"
        echo "slow stretch is not made up by a burst. After every chunk it logs the CLOCK_MONOTONIC time and"
        echo "its RSS (/proc/self/statm). A thread blocked in sigwaitinfo logs the moment SIGTERM arrives; the"
        echo "allocating thread then finishes the chunk in flight, logs the RSS, and exits 143."
        echo "tests/helpers/memhog cannot tell when SIGTERM arrived, and it makes up for slow stretches with"
        echo "bursts above --rate; its achieved rate is under \"Allocation rate\". Page-fault speed (on a VM"
        echo "above all) varies from run to run, so every run's achieved rate is reported next to its result."
        echo "MB means MiB throughout, as memguard counts."
        echo
        echo "**Runs.** Every guard gets \`--max-memory $max_mb\`, kill threshold 0.8 (400 MiB), grace 2 s:"
        echo
        echo "- memguard: \`memguard run --backend B --max-memory $max_mb --grace 2s --json F -- JOB\`, default"
        echo "  adaptive interval (100 ms with headroom, down to 10 ms near the threshold)."
        echo "- ps-polling wrapper: \`bench/baseline-ps-wrapper.sh --max-memory $max_mb --check-interval 2"
        echo "  --kill-threshold 0.8 -- JOB\`: every 2 s, \`ps -o rss=\` per process of the tree (found with"
        echo "  \`ps -o pid= --ppid\`), SIGTERM to the tree at the threshold."
        echo "- memwatch-style sampler: \`bench/baseline-sampler --max-memory $max_mb --interval-ms 500 -- JOB\`"
        echo "  (C): every 500 ms reads every /proc/*/stat for the ppid, builds the tree, sums statm RSS."
        echo
        echo "Each configuration ran $reps times, interleaved; repetition i delays the job's start by"
        echo "${delays[*]:0:$reps} s, so the crossing falls at different phases of each guard's polling."
        echo "The guards are not told about the delay. Before the runs, one unmeasured 1000 MB allocation warms the"
        echo "host up."
        echo
        echo "**Measures** (from the job's log):"
        echo
        echo "- *rate*: MiB/s the job actually achieved from its start to the threshold."
        echo "- *reaction*: threshold crossed -> SIGTERM received: from the end of the first 1 MiB chunk that"
        echo "  took the job's RSS to >= 400 MiB to SIGTERM's arrival. Resolution: one chunk (~1 ms at 1 GB/s);"
        echo "  slightly negative when the guard saw the crossing during that chunk's fault-in."
        echo "- *peak*: the job's RSS when it stopped growing (SIGTERM plus the chunk in flight)."
        echo "- *vs limit*: peak - $max_mb MiB, the overshoot (negative: stopped that far below the limit)."
        echo "- *vs threshold*: peak - 400 MiB."
        echo "- *at 1 GB/s*: reaction x 1 GB/s, the MiB past the threshold a job truly growing at 1 GB/s would"
        echo "  reach (the measured peaks depend on this host's page-fault speed, the reaction mostly does not)."
        echo "- memguard's own view of the peak: JSON \`max_total_rss_kib\` and, for cgroup backends,"
        echo "  \`peak.kernel_high_water_bytes\` (memory.max_usage_in_bytes: charged memory, page tables included)."
        echo
        echo "## Overshoot and reaction time"
        echo
        echo "Median / max of $reps runs, job at --rate $rate, --max-memory $max_mb, threshold 400 MiB."
        echo
        echo "| guard | rate achieved (MB/s) | reaction (ms) | peak (MB) | vs limit 500 (MB) | vs threshold 400 (MB) | at 1 GB/s: past threshold (MB) | how the runs ended |"
        echo "|---|---|---|---|---|---|---|---|"
        for c in memguard-cgroup2 memguard-cgroup1 memguard-procfs ps-wrapper sampler; do
                b=${c#memguard-}
                case $c in
                memguard-*)
                        if [ "${backend_ok[$b]}" != 1 ]; then
                                echo "| $(label "$c") | not available on this host: ${backend_why[$b]//|/\\|} | | | | | | |"
                                continue
                        fi ;;
                esac
                at1g=$(col "$c" 5 | awk '{ printf "%.1f\n", $1 }')
                at1g=$( [ -n "$at1g" ] && echo "$(echo "$at1g" | median) / $(echo "$at1g" | maximum)" || echo -)
                echo "| $(label "$c") | $(medmax "$c" 4) | $(medmax "$c" 5) | $(medmax "$c" 7) |" \
                        "$(medmax "$c" 7 "$max_mb") | $(medmax "$c" 7 400) | $at1g | $(ended "$c") |"
        done
        echo
        echo "*at 1 GB/s* is numerically the reaction in ms read as MB (1 ms at 1 GB/s = ~1 MB)."
        echo
        if grep -q '^memguard' "$work/runs"; then
                echo "memguard's own report of the same runs (median / max):"
                echo
                echo "| backend | JSON max_total_rss_kib (MB) | JSON kernel_high_water_bytes (MB) | kernel OOM kills |"
                echo "|---|---|---|---|"
                for c in memguard-cgroup2 memguard-cgroup1 memguard-procfs; do
                        grep -q "^$c " "$work/runs" || continue
                        oom=$(col "$c" 12 | awk '{ s += $1 } END { print s + 0 }')
                        echo "| ${c#memguard-} | $(medmax "$c" 11) | $(medmax "$c" 10) | $oom in $reps runs |"
                done
                echo
        fi
        echo "Every run:"
        echo
        echo "| guard | # | start delay (s) | rate (MB/s) | reaction (ms) | SIGTERM -> stopped (ms) | peak (MB) | exit | ended by | JSON high-water (MB) | JSON max_total_rss (MB) |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|"
        awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$work/runs"
        echo
        echo "## Allocation rate"
        echo
        echo "1000 MB at \`--rate $rate\`, nothing guarding, $rate_reps runs each, wall clock from start to exit:"
        echo
        echo "| job | MB/s (median) | MB/s (each run) |"
        echo "|---|---|---|"
        for j in memhog fastalloc fastalloc-thp; do
                case $j in
                memhog) l="tests/helpers/memhog --rate $rate (memset, 4 KiB pages, catches up in bursts)" ;;
                fastalloc) l="bench/fastalloc --rate $rate (MADV_POPULATE_WRITE per 1 MiB, 4 KiB pages; the job above)" ;;
                fastalloc-thp) l="bench/fastalloc --rate $rate --thp (the same on MADV_HUGEPAGE 2 MiB pages)" ;;
                esac
                echo "| $l | $(awk -v j="$j" '$1 == j { print $2 }' "$work/rates" | median) |" \
                        "$(awk -v j="$j" '$1 == j { printf "%s%s", (n++ ? ", " : ""), $2 }' "$work/rates") |"
        done
        echo
        echo "## CPU cost of a sample"
        echo
        echo "The job is bash with N idle \`sleep\`s (N + 2 processes while measuring: bash, the sleeps, the"
        echo "sleep timing the window). memguard samples with \`--check-interval 10ms\` and the sampler with"
        echo "\`--interval-ms 10\`; the job reads its parent's (the guard's) CPU time twice, 1 s apart, from"
        echo "/proc/PPID/schedstat (ns), and the samples in that window are 1 s / the guard's actual period"
        echo "(memguard: the median gap in its \`--timeline\`; the sampler: its wall time / its samples). The"
        echo "wrapper runs with \`--check-interval 0.2\` (ps cannot keep up with 10 ms) and its cost is all"
        echo "the CPU of the run, the ps and subshells it forks included (bash's \`times\` around it), minus"
        echo "the job's own, over the checks it logged. Median of $cost_reps runs, microseconds of CPU per"
        echo "sample. memguard's procfs backend and the sampler read every /proc/PID/stat on the host each"
        echo "sample: $host_procs_at_cost processes here."
        echo
        echo "| guard | N=1 (us) | N=10 (us) | N=100 (us) | per job sample (us, fit) | per process (us, fit) |"
        echo "|---|---|---|---|---|---|"
        for c in "${cost_configs[@]}"; do
                read -r fa fb < <(fit "$work/cost" "$c")
                case $c in
                memguard-*) l="memguard ${c#memguard-}" ;;
                sampler) l="memwatch-style sampler" ;;
                ps-wrapper) l="ps-polling wrapper (ps forks included)" ;;
                esac
                echo "| $l | $(cost_cell "$work/cost" "$c" 1) | $(cost_cell "$work/cost" "$c" 10) |" \
                        "$(cost_cell "$work/cost" "$c" 100) | $fa | $fb |"
        done
        echo
        echo "The fit is a least-squares line, CPU per sample = a + b x processes, over every run; *a* is"
        echo "the cost of sampling a job at all, *b* what each of its processes adds."
        echo
        if [ -s "$work/cg" ]; then
                echo "### Instructions per sample (callgrind)"
                echo
                echo "\`valgrind --tool=callgrind --toggle-collect=job_sample memguard run --check-interval 10ms ...\`"
                echo "on the same idle jobs (N + 1 processes: bash and the sleeps), two runs each: user-space"
                echo "instructions inside job_sample per sample (the kernel's side of each read is not counted)."
                echo
                echo "| backend | N=1 | N=10 | N=100 | per process (fit) |"
                echo "|---|---|---|---|---|"
                for c in "${cost_configs[@]}"; do
                        grep -q "^$c " "$work/cg" || continue
                        cells=
                        for n in 1 10 100; do
                                cells="$cells | $(awk -v c="$c" -v n="$n" '$1 == c && $2 == n { printf "%s%s", (k++ ? ", " : ""), $4 }' "$work/cg")"
                        done
                        read -r fa fb < <(fit "$work/cg" "$c")
                        echo "| ${c#memguard-}$cells | $fb |"
                done
                echo
        fi
} >"$work/report.md"

if ! cp "$work/report.md" "$out" 2>/dev/null; then
        out=$top_builddir/docs/benchmarks.md
        mkdir -p "$top_builddir/docs" && cp "$work/report.md" "$out" || exit 1
fi
say "wrote $out in ${elapsed}s"
