# SPDX-License-Identifier: MIT
# Tier 1, inside the VM: the cgroup v2 memory backend of "memguard run" on a kernel that has the
# memory controller. PID 1 is busybox (guest-init.sh); memguard runs in the root cgroup and makes
# its job cgroup /sys/fs/cgroup/memguard-<pid>. Every run names --backend cgroup2, so a backend that
# fails cannot hide behind the procfs fallback. stdout is TAP (ttyS1).
MG_RUN_TIMEOUT=40
. ./guest-lib.sh

# --- the guest itself ------------------------------------------------------------------------------
t_env() {
        expect_match "cgroup2 mount" "$(grep ' /sys/fs/cgroup ' /proc/mounts)" '^cgroup2 /sys/fs/cgroup cgroup2 '
        expect_match "root cgroup.controllers" "$(cat /sys/fs/cgroup/cgroup.controllers)" '(^| )memory( |$)'
        expect_match "root cgroup.subtree_control" "$(cat /sys/fs/cgroup/cgroup.subtree_control)" '(^| )memory( |$)'
        mkdir /sys/fs/cgroup/mg-probe || fail "cannot create a cgroup"
        for f in memory.current memory.peak memory.events memory.max memory.high memory.stat \
                 memory.oom.group cgroup.kill cgroup.freeze cgroup.procs; do
                [ -e /sys/fs/cgroup/mg-probe/$f ] || fail "a child cgroup has no $f"
        done
        rmdir /sys/fs/cgroup/mg-probe
        command -v memguard >/dev/null || fail "memguard is not in the guest"
        command -v memhog >/dev/null || fail "memhog is not in the guest"
        command -v jq >/dev/null || fail "jq is not in the guest"
        note "kernel $(uname -r); memguard: $(memguard --version 2>&1 | head -n1)"
}

# --- item 2: the graceful ladder -------------------------------------------------------------------
# SIGTERM is enough: memhog dies of it at once, long before the grace (10 s) would run out.
# (Holds are short so that a broken backend that never stops anything fails in seconds, not minutes.)
t_ladder_term() {
        mg_run term --backend cgroup2 --max-memory 128 --kill-threshold 0.5 --grace 10s \
                -- memhog --rate 200 --size 100 --hold 15
        expect_eq "exit code (memguard stopped the job for its total limit)" "$RC" 10
        expect_eq "json backend" "$(js term .backend)" cgroup2
        expect_eq "json verdict" "$(js term .verdict)" killed
        expect_eq "json exit_code" "$(js term .exit_code)" 10
        expect_eq "json signal (the job's root died of SIGTERM)" "$(js term .signal)" 15
        expect_num "seconds until memguard returned (SIGTERM alone, grace 10s)" "$ELAPSED" '<' 7
        expect_num "json peak.sampled_total_bytes (crossed 0.5 x 128 MiB)" "$(js term .peak.sampled_total_bytes)" '>=' $((64 * MIB))
        expect_num "json peak.kernel_high_water_bytes" "$(js term .peak.kernel_high_water_bytes)" '<=' $((128 * MIB))
        expect_eq "json oom_kills" "$(js term .oom_kills)" 0
        note "stopped after ${ELAPSED}s at a sampled peak of $(mib "$(js term .peak.sampled_total_bytes)"): $(js term .reason)"
}

# The job ignores SIGTERM: memguard must SIGKILL it once the grace (2 s) is over, not before.
t_ladder_kill() {
        mg_run kill --backend cgroup2 --max-memory 128 --kill-threshold 0.5 --grace 2s \
                -- memhog --rate 200 --size 100 --hold 15 --ignore-term
        expect_eq "exit code" "$RC" 10
        expect_eq "json backend" "$(js kill .backend)" cgroup2
        expect_eq "json verdict" "$(js kill .verdict)" killed
        expect_eq "json signal (SIGKILL after the grace)" "$(js kill .signal)" 9
        expect_num "seconds until memguard returned (grace is 2s)" "$ELAPSED" '>=' 2
        expect_num "seconds until memguard returned (job holds for 15s)" "$ELAPSED" '<' 10
        expect_eq "json limit.grace_seconds" "$(js kill .limit.grace_seconds)" 2
        note "SIGKILLed after ${ELAPSED}s: $(js kill .reason)"
}

# --- item 2: memory.max is the kernel's ceiling ----------------------------------------------------
# Threshold 1.0: memguard's ladder cannot fire below the ceiling, so the job runs into memory.max.
# While it grows, read the job cgroup's memory.max and memory.current; afterwards no peak may exceed it.
t_memory_max() {
        mg_start max --backend cgroup2 --max-memory 64 --kill-threshold 1 --grace 2s \
                -- memhog --rate 40 --size 300 --pidfile "$MG_W/max.pids"
        wait_file "$MG_W/max.pids" 30 max || fail "memhog did not start (no pidfile)"
        pid=$(head -n1 "$MG_W/max.pids")
        cg=$(cgroup_dir_of "$pid")
        expect_match "the job's cgroup" "$cg" '/memguard-[0-9]+$'
        live_max=$(cat "$cg/memory.max" 2>/dev/null)
        live_high=0
        i=0
        while [ -d "$cg" ] && [ $i -lt 600 ]; do
                c=$(cat "$cg/memory.current" 2>/dev/null) || break
                [ -n "$c" ] && [ "$c" -gt "$live_high" ] && live_high=$c
                i=$((i + 1))
                sleep 0.05
        done
        mg_wait max
        expect_eq "memory.max of the job cgroup while it ran" "$live_max" $((64 * MIB))
        expect_num "memory.current seen while it ran" "$live_high" '<=' $((64 * MIB))
        expect_num "memory.current seen while it ran (it did push against the ceiling)" "$live_high" '>=' $((48 * MIB))
        expect_eq "exit code" "$RC" 10
        expect_eq "json limit.max_memory_bytes" "$(js max .limit.max_memory_bytes)" $((64 * MIB))
        expect_num "json peak.kernel_high_water_bytes" "$(js max .peak.kernel_high_water_bytes)" '<=' $((64 * MIB))
        expect_num "json peak.kernel_high_water_bytes (reached the ceiling)" "$(js max .peak.kernel_high_water_bytes)" '>=' $((60 * MIB))
        expect_num "json peak.sampled_total_bytes" "$(js max .peak.sampled_total_bytes)" '<=' $((64 * MIB))
        expect_num "json peak.sampled_total_bytes (memory.current sampled as it grew)" "$(js max .peak.sampled_total_bytes)" '>=' $((48 * MIB))
        expect_num "json max_total_rss_kib" "$(js max .max_total_rss_kib)" '<=' $((64 * 1024))
        note "memory.max $live_max; highest memory.current seen $(mib "$live_high"); kernel high-water $(mib "$(js max .peak.kernel_high_water_bytes)"); verdict $(js max .verdict)"
}

# --- item 2: an OOM kill by the kernel is a limit kill ---------------------------------------------
# A burst far faster than memguard samples (10 GB/s, samples every 2 s): the kernel's OOM killer at
# memory.max ends it, and memguard must report that from memory.events.
t_oom_kill() {
        mg_run oom --backend cgroup2 --max-memory 64 --kill-threshold 1 --check-interval 2s \
                -- memhog --rate 10000 --size 400 --hold 15
        expect_eq "exit code (a kernel OOM kill at the limit is a limit stop)" "$RC" 10
        expect_eq "json backend" "$(js oom .backend)" cgroup2
        expect_eq "json verdict" "$(js oom .verdict)" oom-killed
        expect_num "json oom_kills (memory.events oom_kill)" "$(js oom .oom_kills)" '>=' 1
        expect_eq "json signal (the OOM killer's SIGKILL)" "$(js oom .signal)" 9
        expect_match "json reason" "$(js oom .reason)" 'OOM'
        expect_num "json peak.kernel_high_water_bytes" "$(js oom .peak.kernel_high_water_bytes)" '<=' $((64 * MIB))
        # The burst came and went between two samples: only memory.peak saw it reach the ceiling.
        expect_num "json peak.kernel_high_water_bytes (memory.peak saw the burst reach the ceiling)" \
                "$(js oom .peak.kernel_high_water_bytes)" '>=' $((60 * MIB))
        expect_num "seconds until memguard returned (the job would hold for 15s)" "$ELAPSED" '<' 10
        note "after ${ELAPSED}s: $(js oom .reason)"
}

# --- item 2: cgroup.kill ends a forking tree -------------------------------------------------------
# Four children, then a double-forked grandchild that setsid()s away from its parent, all ignoring
# SIGTERM: after the grace every one of them must be gone when memguard returns.
t_kill_tree() {
        mg_run tree --backend cgroup2 --max-memory 128 --kill-threshold 0.5 --grace 1s \
                -- memhog --children 4 --rate 100 --size 20 --hold 15 --ignore-term --pidfile "$MG_W/tree.pids"
        expect_eq "children: exit code" "$RC" 10
        expect_eq "children: json verdict" "$(js tree .verdict)" killed
        expect_eq "children: json oom_kills" "$(js tree .oom_kills)" 0
        expect_eq "children: json signal (SIGKILL after the grace)" "$(js tree .signal)" 9
        expect_eq "children: pids written by memhog" "$(wc -l <"$MG_W/tree.pids" 2>/dev/null | tr -d ' ')" 4
        for p in $(cat "$MG_W/tree.pids" 2>/dev/null); do
                pid_gone "$p" || fail "children: process $p outlived memguard ($(cat /proc/$p/status 2>/dev/null | head -n3 | tr '\n' ' '))"
        done
        expect_num "children: json processes seen" "$(js tree .processes_count)" '>=' 5
        expect_num "children: seconds (grace 1s, hold 15s)" "$ELAPSED" '<' 10
        t_children=$ELAPSED

        mg_run dfork --backend cgroup2 --max-memory 128 --kill-threshold 0.5 --grace 1s \
                -- memhog --double-fork --rate 100 --size 100 --hold 15 --ignore-term --pidfile "$MG_W/dfork.pids"
        expect_eq "double fork: exit code" "$RC" 10
        expect_eq "double fork: json verdict" "$(js dfork .verdict)" killed
        expect_eq "double fork: json oom_kills" "$(js dfork .oom_kills)" 0
        p=$(head -n1 "$MG_W/dfork.pids" 2>/dev/null)
        [ -n "$p" ] || fail "double fork: memhog wrote no pid"
        [ -n "$p" ] && { pid_gone "$p" || fail "double fork: the setsid grandchild $p outlived memguard"; }
        expect_num "double fork: seconds (grace 1s, hold 15s)" "$ELAPSED" '<' 10
        t_dfork=$ELAPSED

        # A shell that forks sleepers as fast as it can and ignores SIGTERM: only cgroup.kill, which
        # takes the whole group at once, ends it reliably.
        # The ceiling is far above the threshold so that the sleepers' kernel memory cannot make the
        # kernel's OOM killer (memory.oom.group) end the job before memguard's SIGKILL does.
        mg_run forker --backend cgroup2 --max-memory 400 --kill-threshold 0.2 --grace 1s \
                -- sh -c 'trap "" TERM; memhog --rate 200 --size 100 --hold 15 --ignore-term & while :; do sleep 60 & done'
        expect_eq "fork loop: exit code" "$RC" 10
        expect_eq "fork loop: json verdict" "$(js forker .verdict)" killed
        expect_eq "fork loop: json oom_kills (memguard, not the kernel, ended it)" "$(js forker .oom_kills)" 0
        left=$(ps -o pid,args 2>/dev/null | grep -E 'sleep 60|memhog --rate 200' | grep -v -e grep -e timeout -e 'memguard run')
        [ -z "$left" ] || fail "fork loop: processes left: $(echo $left)"
        note "stopped after ${t_children}s, ${t_dfork}s, ${ELAPSED}s; $(js tree .processes_count), $(js dfork .processes_count), $(js forker .processes_count) processes seen"
}

# --- item 2: the reported peak is memory.peak ------------------------------------------------------
# A job that allocates 80 MiB and holds it: read the job cgroup's memory.peak while it holds (the
# group is gone afterwards), then compare the report's kernel_high_water_bytes with it.
t_peak() {
        # It holds until memguard has sampled the 80 MiB (its log says so) and memory.peak has been read.
        mg_start peak --backend cgroup2 --max-memory 256 --log-file "$MG_W/peak.log" -- memhog --rate 100 --size 80 \
                --go "$MG_W/peak.go" --exit 0 --pidfile "$MG_W/peak.pids"
        wait_file "$MG_W/peak.pids" 30 peak || fail "memhog did not start (no pidfile)"
        pid=$(head -n1 "$MG_W/peak.pids")
        cg=$(cgroup_dir_of "$pid")
        # Until the 80 MiB are in and a sample has seen them.
        wait_until 60 sh -c '[ "$(cat "$0/memory.current" 2>/dev/null || echo 0)" -ge "$1" ]' "$cg" $((80 * MIB)) ||
                context "memory.current did not reach 80 MiB"
        wait_until 60 awk 'match($0, /Memory usage: [0-9.]+ MiB/) && substr($0, RSTART + 14) + 0 >= 80 { f = 1 }
                           END { exit !f }' "$MG_W/peak.log" || context "memguard's log never said 80 MiB"
        live_peak=$(cat "$cg/memory.peak" 2>/dev/null)
        touch "$MG_W/peak.go"
        mg_wait peak
        json_peak=$(js peak .peak.kernel_high_water_bytes)
        sampled=$(js peak .peak.sampled_total_bytes)
        expect_eq "exit code" "$RC" 0
        expect_eq "json verdict" "$(js peak .verdict)" completed
        expect_num "memory.peak read while the job held its memory" "$live_peak" '>=' $((80 * MIB))
        expect_num "json peak.kernel_high_water_bytes vs memory.peak read live" "$json_peak" '>=' "$live_peak"
        expect_num "json peak.kernel_high_water_bytes vs memory.peak read live (+2%)" "$json_peak" '<=' \
                "$(awk -v p="$live_peak" 'BEGIN { printf "%d", p * 1.02 }')"
        expect_num "json peak.sampled_total_bytes <= kernel high-water" "$sampled" '<=' "$json_peak"
        expect_num "json peak.sampled_total_bytes (sampled while it held 80 MiB)" "$sampled" '>=' $((80 * MIB))
        expect_num "json max_total_rss_kib is the larger of the two" "$(js peak .max_total_rss_kib)" '==' $((json_peak / 1024))
        note "memory.peak live $(mib "$live_peak"), report $(mib "$json_peak"), sampled $(mib "$sampled")"

        # A spike between two samples (2 s apart): 100 MiB at 10 GB/s, then exit at once. No sample
        # sees it; the reported kernel high-water must still be memory.peak's 100 MiB.
        mg_run spike --backend cgroup2 --max-memory 256 --check-interval 2s -- memhog --rate 10000 --size 100 --exit 0
        expect_eq "spike: exit code" "$RC" 0
        expect_num "spike: json peak.kernel_high_water_bytes (memory.peak)" \
                "$(js spike .peak.kernel_high_water_bytes)" '>=' $((100 * MIB))
        expect_num "spike: json peak.kernel_high_water_bytes (memory.peak)" \
                "$(js spike .peak.kernel_high_water_bytes)" '<=' $((110 * MIB))
        expect_num "spike: json max_total_rss_kib (the larger of sampled and kernel)" \
                "$(js spike .max_total_rss_kib)" '>=' $((100 * 1024))
        note "spike: kernel high-water $(mib "$(js spike .peak.kernel_high_water_bytes)"), sampled $(mib "$(js spike .peak.sampled_total_bytes)") in $(js spike .samples) samples"
}

# --- item 2: a job under its limit -----------------------------------------------------------------
t_under_limit() {
        mg_run under --max-memory 128 -- memhog --rate 100 --size 16 --hold 0.5 --exit 7
        expect_eq "exit code (the job's own)" "$RC" 7
        expect_eq "json backend (auto picks cgroup2 here)" "$(js under .backend)" cgroup2
        expect_eq "json exit_code" "$(js under .exit_code)" 7
        expect_eq "json verdict" "$(js under .verdict)" failed
        expect_eq "json oom_kills" "$(js under .oom_kills)" 0
        expect_num "json peak.kernel_high_water_bytes" "$(js under .peak.kernel_high_water_bytes)" '>=' $((16 * MIB))
        expect_num "json peak.sampled_total_bytes (sampled while it held 16 MiB)" "$(js under .peak.sampled_total_bytes)" '>=' $((16 * MIB))
        left=$(mg_leftover_cgroups)
        [ -z "$left" ] || fail "cgroups left behind: $left"

        mg_run under0 --backend cgroup2 --max-memory 128 -- memhog --rate 100 --size 16 --exit 0
        expect_eq "exit 0 job: exit code" "$RC" 0
        expect_eq "exit 0 job: json verdict" "$(js under0 .verdict)" completed
        left=$(mg_leftover_cgroups)
        [ -z "$left" ] || fail "cgroups left behind: $left"
        [ -z "$(ls -d /sys/fs/cgroup/memguard-* 2>/dev/null)" ] || fail "memguard-* left in /sys/fs/cgroup"
        note "exit $RC; /sys/fs/cgroup now: $(ls /sys/fs/cgroup | grep -v '\.' | tr '\n' ' ')"
}

# --- memguardd on the real kernel: its notifications ------------------------------------------------
# A [watch]ed job under a profile sampled only every 30 s: the kernel's cgroup.events ("populated 0")
# must tell memguardd at once that the job's group emptied, long before its next sample.
t_daemon_events() {
        command -v memguardd >/dev/null || { fail "memguardd is not in the guest"; return; }
        d=$MG_W/daemon
        mkdir -p "$d" /sys/fs/cgroup/mgev
        echo +memory >/sys/fs/cgroup/mgev/cgroup.subtree_control 2>/dev/null
        printf '[daemon]\nsocket = %s/sock\nstate-dir = %s/state\n[profile slow]\nmax-memory = 256M\ninterval = 120s\n[watch ev]\ncgroup = /mgev/job-*\nprofile = slow\n' "$d" "$d" >"$d/memguard.conf"
        memguardd -d -f "$d/memguard.conf" </dev/null >"$d/log" 2>&1 &
        dpid=$!
        mkdir /sys/fs/cgroup/mgev/job-1
        # The job lives until memguardd has found it (then the test ends it), however long that takes.
        sh -c 'echo $$ >/sys/fs/cgroup/mgev/job-1/cgroup.procs && while [ ! -e "$0" ]; do sleep 0.05; done' "$d/go" &
        jpid=$!
        wait_until 60 grep -q 'found by \[watch ev\]' "$d/log" || fail "memguardd did not pick up /mgev/job-1"
        touch "$d/go"
        wait "$jpid"
        t0=$(now)
        # Not a timing: the next sample is 120s away, so a record well before it came from the
        # notification; the ceiling is half of that, far above what an emulated guest needs.
        wait_until 60 grep -q 'ended (by itself)' "$d/log"
        if grep -q 'ended (by itself)' "$d/log"; then
                expect_num "seconds from the job's exit to memguardd's record (the next sample was 120s away)" \
                        "$(elapsed_since "$t0")" '<' 60
        else
                fail "memguardd did not notice within 60s that the job ended (no cgroup.events notification?)"
        fi
        kill -TERM "$dpid"; wait "$dpid"
        context_file "memguardd log" "$d/log"
        rmdir /sys/fs/cgroup/mgev/job-1 /sys/fs/cgroup/mgev 2>/dev/null
        note "memguardd recorded the end $(elapsed_since "$t0")s after the job's exit"
}

t env "the guest has cgroup2 with the memory controller and memguard"
t ladder_term "a fast allocator over the kill threshold is stopped by SIGTERM, exit 10"
t ladder_kill "a job that ignores SIGTERM is SIGKILLed after --grace, exit 10"
t memory_max "memory.max holds the job at --max-memory, the peak never exceeds it"
t oom_kill "a kernel OOM kill at memory.max (memory.events oom_kill) is reported as a limit kill"
t kill_tree "cgroup.kill ends a forking tree (children, a double-forked grandchild, a fork loop)"
t peak "the reported peak agrees with the job cgroup's memory.peak"
t under_limit "a job under its limit exits with its own code and leaves no cgroup behind"
t daemon_events "memguardd hears from cgroup.events when a watched job's group empties, not at its next sample"
finish
