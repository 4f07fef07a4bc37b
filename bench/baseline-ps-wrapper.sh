#!/bin/bash
# SPDX-License-Identifier: MIT
# Baseline 1 for `make bench`: the ps-polling shell wrapper memguard replaces, rewritten from its
# description. It starts the command, and every --check-interval seconds sums the RSS of the command
# and its descendants with ps (ps -o rss= per pid; the descendants by walking ps --ppid); at
# kill-threshold x max-memory it sends SIGTERM to every process of the tree, SIGKILL to what is left
# after --grace, and exits 10.
#
#   baseline-ps-wrapper.sh --max-memory MB [--check-interval SEC] [--kill-threshold RATIO]
#                          [--grace SEC] [--log-file FILE] -- COMMAND [ARGS...]
set -u

max_mb=
interval=2
ratio=0.8
grace=10
log_file=/dev/null

while [ $# -gt 0 ]; do
        case $1 in
        --max-memory) max_mb=$2; shift 2 ;;
        --check-interval) interval=$2; shift 2 ;;
        --kill-threshold) ratio=$2; shift 2 ;;
        --grace) grace=$2; shift 2 ;;
        --log-file) log_file=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "usage: $0 --max-memory MB [--check-interval SEC] [--kill-threshold RATIO] [--grace SEC] [--log-file FILE] -- COMMAND..." >&2; exit 2 ;;
        esac
done
if [ -z "$max_mb" ] || [ $# -eq 0 ]; then
        echo "$0: --max-memory and a command are required" >&2
        exit 2
fi

log() { echo "$(date '+%F %T') $*" >>"$log_file"; }

# The pid and all its descendants, parents first.
tree() {
        local child
        echo "$1"
        for child in $(ps -o pid= --ppid "$1"); do
                tree "$child"
        done
}

tree_rss_kib() {
        local pid rss total=0
        for pid in $(tree "$1"); do
                rss=$(ps -o rss= -p "$pid") || continue
                total=$((total + ${rss:-0}))
        done
        echo "$total"
}

threshold_kib=$(awk -v m="$max_mb" -v r="$ratio" 'BEGIN { printf "%d", m * r * 1024 }')

"$@" &
main=$!
log "started $* as $main"

while kill -0 "$main" 2>/dev/null; do
        total=$(tree_rss_kib "$main")
        log "Memory usage: $((total / 1024)) MB"
        # shellcheck disable=SC2086 # $pids below is a list of pids, one word each
        if [ "$total" -ge "$threshold_kib" ]; then
                log "MEMORY THRESHOLD EXCEEDED: $((total / 1024)) MB >= $((threshold_kib / 1024)) MB"
                echo "$0: MEMORY THRESHOLD EXCEEDED: $((total / 1024)) MB" >&2
                pids=$(tree "$main")
                kill -TERM $pids 2>/dev/null
                waited=0
                while kill -0 $pids 2>/dev/null && [ "$(awk -v w="$waited" -v g="$grace" 'BEGIN { print (w < g) }')" = 1 ]; do
                        sleep 0.1
                        waited=$(awk -v w="$waited" 'BEGIN { print w + 0.1 }')
                done
                kill -KILL $pids 2>/dev/null
                wait "$main" 2>/dev/null
                exit 10
        fi
        sleep "$interval"
done
wait "$main"
