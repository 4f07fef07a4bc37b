# SPDX-License-Identifier: MIT
# Tier 2, inside the VM: a systemd host. systemd is PID 1, this machine's journald and dbus-daemon
# run, memguard is installed as "make install" installs it. Run by memguard-vmtest.service after
# multi-user.target; stdout is TAP (ttyS1), stderr goes to the journal and the console.
MG_RUN_TIMEOUT=40
. ./guest-lib.sh

DAEMON_SKIP="memguardd not built yet (issue 4)"
[ -f /mg/daemon-built ] && DAEMON_SKIP=

# --- the host ------------------------------------------------------------------------------------
t_pid1() {
        expect_eq "/proc/1/comm" "$(cat /proc/1/comm)" systemd
        expect_eq "multi-user.target" "$(systemctl is-active multi-user.target)" active
        failed=$(systemctl list-units --state=failed --no-legend --plain 2>&1)
        [ -z "$failed" ] || fail "failed units: $failed"
        expect_match "cgroup2 mount (systemd's unified hierarchy)" "$(grep ' /sys/fs/cgroup ' /proc/mounts)" '^cgroup2 '
        expect_match "controllers systemd got from the kernel" "$(cat /sys/fs/cgroup/cgroup.controllers)" '(^| )memory( |$)'
        expect_match "this test's cgroup" "$(sed -n 's/^0:://p' /proc/self/cgroup)" '^/system.slice/memguard-vmtest.service'
        ts=$(systemctl show -P ActiveEnterTimestampMonotonic multi-user.target)
        note "systemd $(systemctl show -P Version); multi-user.target reached $(awk -v u="$ts" 'BEGIN { printf "%.1f", u / 1e6 }')s after boot"
}

t_journald() {
        expect_eq "systemd-journald.service" "$(systemctl is-active systemd-journald.service)" active
        probe="memguard-vm-probe-$$-$(cat /proc/sys/kernel/random/uuid)"
        echo "$probe" | systemd-cat -t mg-probe -p notice
        wait_until 30 sh -c 'journalctl -q --no-pager -t mg-probe -o cat 2>/dev/null | grep -qF "$0"' "$probe"
        got=$(journalctl -q --no-pager -t mg-probe -o cat 2>/dev/null | grep -F "$probe")
        expect_eq "message sent with systemd-cat, read back with journalctl" "$got" "$probe"
        j=$(journalctl -q --no-pager -t mg-probe -o json -n 1 2>/dev/null)
        expect_eq "its SYSLOG_IDENTIFIER" "$(echo "$j" | jq -r .SYSLOG_IDENTIFIER)" mg-probe
        expect_eq "its PRIORITY" "$(echo "$j" | jq -r .PRIORITY)" 5
        expect_eq "its _TRANSPORT (trusted field)" "$(echo "$j" | jq -r ._TRANSPORT)" stdout
        # This unit's own output (fd 3 here) is in the journal too, under the unit's name.
        echo "memguard-vm-stderr-$probe" >&3
        wait_until 30 sh -c 'journalctl -q --no-pager -u memguard-vmtest.service -o cat | grep -qF "$0"' \
                "memguard-vm-stderr-$probe"
        expect_match "this unit's stderr in journalctl -u" \
                "$(journalctl -q --no-pager -u memguard-vmtest.service -o cat | grep -F "memguard-vm-stderr-$probe")" "$probe"
}

t_dbus() {
        expect_eq "dbus.service" "$(systemctl is-active dbus.service)" active
        id=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId 2>&1)
        expect_match "the bus daemon answers GetId" "$id" '^s "[0-9a-f]{32}"$'
        names=$(busctl --system list --no-legend --no-pager 2>&1 | awk '{ print $1 }')
        expect_match "busctl list names systemd" "$names" '^org\.freedesktop\.systemd1$'
        v=$(busctl --system get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
                org.freedesktop.systemd1.Manager Version 2>&1)
        expect_match "systemd answers on the bus (Manager.Version)" "$v" "^s \"$(systemctl show -P Version | sed 's/[.+]/./g')"
        r=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.ListNames 2>&1)
        expect_match "dbus-send ListNames" "$r" 'org\.freedesktop\.DBus'
        note "bus id ${id#s }"
}

# --- what "make install DESTDIR=..." ships, as systemd, dbus-daemon and journalctl see it ---------
UNITS=$(grep -E '/systemd/system/[^/]+\.(service|socket|timer|path)$' /mg/installed)
POLICIES=$(grep -E '/dbus-1/system\.d/[^/]+\.conf$' /mg/installed)
CATALOGS=$(grep -E '/catalog/[^/]+\.catalog$' /mg/installed)
TMPFILES=$(grep -E '/tmpfiles\.d/[^/]+$' /mg/installed)

# With --prefix=/usr every shipped file must be where its reader looks: only there are the system's
# own directories make install's defaults. Under any other prefix (/usr/local, distcheck's) make
# install keeps every file inside the prefix, systemd.sh links them into /etc and that is only noted.
real_prefix() {
        case "$(cat /mg/bindir)" in /usr/bin) return 0 ;; esac
        return 1
}

t_installed_client() {
        expect_match "memguard on PATH is the installed one" "$(command -v memguard)" "^$(cat /mg/bindir)/memguard$"
        expect_eq "memguard --version" "$(memguard --version 2>&1 | head -n1 | cut -d' ' -f1)" memguard
        [ -s /mg/relinked ] &&
                note "installed outside the directories systemd/dbus-daemon/journalctl read, linked into /etc: $(cat /mg/relinked | tr '\n' ' ')"
        note "make install shipped $(wc -l </mg/installed) files: $(xargs -n1 basename </mg/installed | tr '\n' ' ')"
}

t_installed_unit() {
        [ -n "$UNITS" ] || { skip "make install ships no systemd unit"; return; }
        for u in $UNITS; do
                n=$(basename "$u")
                expect_eq "unit $n LoadState" "$(systemctl show -P LoadState "$n")" loaded
                expect_eq "unit $n FragmentPath" "$(systemctl show -P FragmentPath "$n")" "$u"
                x=$(systemctl show -P ExecStart "$n" | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
                [ -z "$x" ] || [ -x "$x" ] || fail "unit $n: ExecStart $x is not installed"
        done
}

t_installed_config() {
        [ -n "$DAEMON_SKIP" ] && { skip "$DAEMON_SKIP"; return; }
        if [ -f /mg/config-mismatch ]; then
                read -r have want </mg/config-mismatch
                if real_prefix; then
                        fail "make install put the configuration at $have but memguardd reads $want by default (its default path does not follow --sysconfdir); linked there for the daemon tests"
                else
                        note "configuration installed at $have, memguardd reads $want: linked there (prefix $(dirname "$(cat /mg/bindir)"))"
                fi
        fi
        c=$(memguardd --check-config 2>&1)
        expect_eq "memguardd --check-config exit code" "$?" 0
        context "memguardd --check-config: $(echo "$c" | head -n 20)"
}

t_installed_dbus_policy() {
        [ -n "$POLICIES" ] || { skip "make install ships no D-Bus policy"; return; }
        if grep -q '/dbus-1/system\.d/' /mg/relinked && real_prefix; then
                fail "make install put the D-Bus policy at $(grep '/dbus-1/system\.d/' /mg/relinked | cut -d' ' -f1 | tr '\n' ' ')where dbus-daemon does not read policies (it reads /usr/share/dbus-1/system.d and /etc/dbus-1/system.d): memguardd would not get its bus name; linked into /etc/dbus-1/system.d for the other tests"
        fi
        for p in $POLICIES; do
                # dbus-daemon read it at start; a reload re-reads it and logs a broken policy.
                r=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig 2>&1) ||
                        fail "ReloadConfig with $p installed: $r"
                sleep 0.2
                bad=$(journalctl -q --no-pager -u dbus.service -o cat | grep -i -E "$(basename "$p").*(error|fail)|(error|fail).*$(basename "$p")")
                [ -z "$bad" ] || fail "dbus-daemon complains about $p: $bad"
        done
}

t_installed_catalog() {
        [ -n "$CATALOGS" ] || { skip "make install ships no journal catalog"; return; }
        journalctl --update-catalog >"$MG_W/catalog.out" 2>&1 || fail "journalctl --update-catalog: $(cat "$MG_W/catalog.out")"
        list=$(journalctl --list-catalog --no-pager 2>/dev/null)
        n=0
        for c in $CATALOGS; do
                for id in $(grep -E '^-- [0-9a-f]{32}' "$c" | awk '{ print $2 }'); do
                        n=$((n + 1))
                        echo "$list" | grep -q "^$id" || fail "catalog entry $id of $c is not in journalctl --list-catalog"
                done
        done
        expect_num "catalog entries" "$n" '>' 0
        note "$n catalog entries known to journalctl"
}

t_installed_tmpfiles() {
        [ -n "$TMPFILES" ] || { skip "make install ships no tmpfiles.d file"; return; }
        for f in $TMPFILES; do
                case "$f" in
                *.conf) ;;
                *) fail "$f: systemd-tmpfiles reads only *.conf files in tmpfiles.d, so this one is ignored at boot" ;;
                esac
                systemd-tmpfiles --create "$f" >"$MG_W/tmpfiles.out" 2>&1 || fail "systemd-tmpfiles --create $f: $(cat "$MG_W/tmpfiles.out")"
                for d in $(awk '$1 == "d" { print $2 ":" $3 }' "$f"); do
                        expect_eq "$(basename "$f"): mode of ${d%%:*}" "$(stat -c %a "${d%%:*}" 2>&1)" "$(echo "${d#*:}" | sed 's/^0*//')"
                done
        done
}

# --- memguard run under systemd ------------------------------------------------------------------
# This unit's cgroup holds processes (this script), so the cgroup2 backend cannot enable the memory
# controller below it and memguard falls back as it would in any non-delegated service; the report
# says which backend it used and why.
t_run_small() {
        mg_run small --max-memory 128 -- memhog --rate 100 --size 16 --hold 0.5 --exit 0
        expect_eq "exit code" "$RC" 0
        expect_eq "json verdict" "$(js small .verdict)" completed
        expect_eq "json exit_code" "$(js small .exit_code)" 0
        expect_num "json peak.sampled_total_bytes" "$(js small .peak.sampled_total_bytes)" '>=' $((16 * MIB))
        note "backend $(js small .backend)$(n=$(js small .note); [ -n "$n" ] && [ "$n" != null ] && echo ": $n")"
}

t_run_over() {
        mg_run over --max-memory 64 --grace 2s -- memhog --rate 200 --size 200 --hold 30
        expect_eq "exit code" "$RC" 10
        expect_match "json verdict" "$(js over .verdict)" '^(killed|oom-killed)$'
        expect_eq "json exit_code" "$(js over .exit_code)" 10
        expect_num "seconds until memguard returned (job holds for 30s)" "$ELAPSED" '<' 20
        note "backend $(js over .backend), stopped after ${ELAPSED}s: $(js over .reason)"
}

# --- memguardd (issue 4) -------------------------------------------------------------------------
# The shipped memguardd.service, started by systemd: the daemon owns the job cgroups in its delegated
# subtree, so "memguard run" handed to it gets the cgroup2 backend even here.
ID_STARTED=7339d3bba7c7446ca0c3e8f0472c53a0
ID_SUPERVISED=dfd41587938b4b199c42df82a34a7340
ID_READOPTED=ac23c488e10b446e9ad636a130a500dd
ID_THRESHOLD=b59470accdf64bc2bc17bb8fce340c8d
ID_SIGTERM=4f2a10ff068344db92d9a6dfedd0345c
ID_ENDED=004df36ceef54204ba3c50c7c9c01c11
ID_RELOADED=b996c43ad552471cb47d026b365d18b0

daemon_context() {
        context "systemctl status memguardd.service:"
        context "$(systemctl status --no-pager -n 0 memguardd.service 2>&1 | head -n 12)"
        context "journalctl -u memguardd.service (last 25):"
        context "$(journalctl -q --no-pager -u memguardd.service -n 25 -o short-monotonic 2>&1)"
}

# journal_entries MESSAGE_ID: memguardd.service's records with that id, one JSON object a line.
journal_entries() {
        journalctl -q --no-pager -u memguardd.service -o json "MESSAGE_ID=$1" 2>/dev/null
}

# wait_journal SECONDS MESSAGE_ID [JQ-CONDITION]: until such a record exists.
wait_journal() {
        _until=$(awk -v s="$1" '{ print $1 + s }' /proc/uptime)
        while :; do
                [ -n "$(journal_entries "$2" | jq -c "select(${3:-true})" 2>/dev/null | head -n 1)" ] && return 0
                awk -v u="$_until" '{ exit !($1 > u) }' /proc/uptime && return 1
                sleep 0.2
        done
}

t_daemon_starts() {
        [ -n "$DAEMON_SKIP" ] && { skip "$DAEMON_SKIP"; return; }
        systemctl start memguardd.service || fail "systemctl start memguardd.service failed"
        expect_eq "memguardd.service" "$(systemctl is-active memguardd.service)" active
        pid=$(systemctl show -P MainPID memguardd.service)
        expect_match "memguardd's cgroup (in its delegated unit)" "$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>&1)" \
                '^/system\.slice/memguardd\.service(/|$)'
        s=$(memguard status 2>&1)
        expect_eq "memguard status exit code" "$?" 0
        context "memguard status: $s"
        wait_journal 30 $ID_STARTED || fail "no 'memguardd started' record (MESSAGE_ID=$ID_STARTED) in the journal"
        backend=$(journal_entries $ID_STARTED | tail -n 1 | jq -r .MEMGUARD_BACKEND)
        expect_eq "the started record's MEMGUARD_BACKEND" "$backend" cgroup2
        if grep -qE '/dbus-1/system\.d/' /mg/installed; then
                expect_match "memguardd owns its name on the system bus" \
                        "$(busctl --system list --no-legend --no-pager 2>&1 | awk '{ print $1 }')" '^org\.memguard\.Manager1$'
        else
                note "no D-Bus policy was installed: memguardd is reached through its socket only"
        fi
        note "memguardd pid $pid, backend $backend"
        daemon_context
}

# A job handed to memguardd: exit 10, the daemon's report with the cgroup2 backend, and its records in
# the journal with MESSAGE_ID and the MEMGUARD_* fields, explained by the shipped catalog.
t_daemon_journal() {
        [ -n "$DAEMON_SKIP" ] && { skip "$DAEMON_SKIP"; return; }
        [ "$(systemctl is-active memguardd.service)" = active ] || { fail "memguardd.service is not active"; daemon_context; return; }
        mg_run djob --max-memory 64 --grace 1s -- memhog --rate 200 --size 200 --hold 15
        expect_eq "exit code" "$RC" 10
        expect_eq "json verdict" "$(js djob .verdict)" killed
        expect_eq "json backend (memguardd's job cgroup)" "$(js djob .backend)" cgroup2
        expect_eq "json limit.max_memory_bytes" "$(js djob .limit.max_memory_bytes)" $((64 * MIB))
        wait_journal 30 $ID_ENDED || fail "no 'job ended' record (MESSAGE_ID=$ID_ENDED)"
        for id in $ID_SUPERVISED $ID_THRESHOLD $ID_SIGTERM $ID_ENDED; do
                e=$(journal_entries $id | tail -n 1)
                if [ -z "$e" ]; then
                        fail "no journal record of memguardd.service with MESSAGE_ID=$id"
                        continue
                fi
                job=$(echo "$e" | jq -r .MEMGUARD_JOB)
                expect_match "MEMGUARD_JOB of the $id record" "$job" '^[0-9]+$'
        done
        e=$(journal_entries $ID_THRESHOLD | tail -n 1)
        expect_eq "the threshold record's MEMGUARD_LIMIT_BYTES" "$(echo "$e" | jq -r .MEMGUARD_LIMIT_BYTES)" $((64 * MIB))
        expect_match "the threshold record's MEMGUARD_CGROUP" "$(echo "$e" | jq -r .MEMGUARD_CGROUP)" '^/memguard/job-[0-9]+$'
        # The catalog: journalctl -x adds its Subject to the record.
        journalctl --update-catalog >/dev/null 2>&1
        x=$(journalctl -q --no-pager -x -u memguardd.service "MESSAGE_ID=$ID_THRESHOLD" -n 1 2>&1)
        expect_match "journalctl -x explains the threshold record with the catalog" "$x" 'Subject: memguard job [0-9]+ crossed its kill threshold'
        note "job $(echo "$e" | jq -r .MEMGUARD_JOB) in $(echo "$e" | jq -r .MEMGUARD_CGROUP): $(js djob .reason)"
        daemon_context
}

t_daemon_reload() {
        [ -n "$DAEMON_SKIP" ] && { skip "$DAEMON_SKIP"; return; }
        [ "$(systemctl is-active memguardd.service)" = active ] || { fail "memguardd.service is not active"; daemon_context; return; }
        pid=$(systemctl show -P MainPID memguardd.service)
        n0=$(journal_entries $ID_RELOADED | wc -l)
        systemctl reload memguardd.service || fail "systemctl reload memguardd.service failed"
        wait_journal 30 $ID_RELOADED || true
        expect_num "'configuration reloaded' records (MESSAGE_ID=$ID_RELOADED)" "$(journal_entries $ID_RELOADED | wc -l)" '>' "$n0"
        expect_eq "memguardd.service after reload" "$(systemctl is-active memguardd.service)" active
        expect_eq "MainPID after reload (the same process)" "$(systemctl show -P MainPID memguardd.service)" "$pid"
        memguard status >/dev/null 2>&1 || fail "memguard status fails after the reload"
        daemon_context
}

# systemctl restart memguardd (KillMode=process): the job lives on, the new daemon takes it up again
# from its record, and the client still returns the job's own exit code.
t_daemon_restart_keeps_job() {
        [ -n "$DAEMON_SKIP" ] && { skip "$DAEMON_SKIP"; return; }
        [ "$(systemctl is-active memguardd.service)" = active ] || { fail "memguardd.service is not active"; daemon_context; return; }
        # The job holds until the restarted daemon has it again (keep.go), however long a restart takes.
        mg_start keep --max-memory 128 -- memhog --rate 50 --size 10 --go "$MG_W/keep.go" --exit 3 --pidfile "$MG_W/keep.pids"
        wait_file "$MG_W/keep.pids" 20 keep || fail "the job did not start"
        hog=$(head -n 1 "$MG_W/keep.pids" 2>/dev/null)
        if [ -z "$hog" ]; then
                mg_wait keep
                daemon_context
                return
        fi
        # The daemon has the job before it restarts.
        wait_until 30 sh -c 'memguard status --json 2>/dev/null | grep -q keep.pids' ||
                context "the job is not in memguard status before the restart"
        context "memguard status before the restart: $(memguard status 2>&1 | tr '\n' ' ')"
        n0=$(journal_entries $ID_READOPTED | wc -l)
        pid0=$(systemctl show -P MainPID memguardd.service)
        # An upgrade (tests/package/deb.sh): the newer package's files replace the installed ones,
        # as dpkg unpacks them (each a new file renamed over the old, so the running daemon keeps its
        # own), then the postinst's daemon-reload and restart.
        if [ -d /mg/upgrade ]; then
                context "upgrading to $(cat /mg/upgrade-version 2>/dev/null)"
                exe0=$(stat -L -c %i /proc/"$pid0"/exe 2>/dev/null)
                (cd /mg/upgrade && find . ! -type d) | while read -r f; do
                        f=${f#.}
                        mkdir -p "$(dirname "$f")"
                        cp -a "/mg/upgrade$f" "$f.new" && mv -f "$f.new" "$f"
                done
                systemctl daemon-reload || fail "systemctl daemon-reload failed"
        fi
        systemctl restart memguardd.service || fail "systemctl restart memguardd.service failed"
        expect_eq "memguardd.service after restart" "$(systemctl is-active memguardd.service)" active
        [ "$(systemctl show -P MainPID memguardd.service)" != "$pid0" ] || fail "MainPID did not change: no restart"
        pid_gone "$hog" && fail "the job's process $hog did not survive the restart"
        if [ -d /mg/upgrade ]; then
                pid1=$(systemctl show -P MainPID memguardd.service)
                exe1=$(stat -L -c %i /proc/"$pid1"/exe 2>/dev/null)
                if [ -n "$exe1" ] && [ "$exe1" != "$exe0" ]; then
                        note "upgraded to $(cat /mg/upgrade-version 2>/dev/null): memguardd ran from inode $exe0, then $exe1"
                else
                        fail "the restarted memguardd does not run the upgraded file (inode $exe0, then $exe1)"
                fi
        fi
        wait_journal 30 $ID_READOPTED || true
        expect_num "'supervised again after a restart' records (MESSAGE_ID=$ID_READOPTED)" \
                "$(journal_entries $ID_READOPTED | wc -l)" '>' "$n0"
        touch "$MG_W/keep.go"
        mg_wait keep
        expect_eq "the client returns the job's own exit code after the restart" "$RC" 3
        daemon_context
}

t pid1 "systemd is PID 1 and reached multi-user.target with no failed units"
t journald "journald works: systemd-cat to journalctl, trusted fields, a unit's stderr"
t dbus "the system bus answers (dbus-daemon, busctl, dbus-send) and systemd is on it"
t installed_client "make install DESTDIR=...: the installed memguard is the one on PATH"
t installed_unit "the shipped systemd unit loads, its ExecStart is installed"
t installed_config "the shipped configuration is where memguardd reads it, and valid"
t installed_dbus_policy "the shipped D-Bus policy is accepted by dbus-daemon"
t installed_catalog "the shipped journal catalog is known to journalctl"
t installed_tmpfiles "the shipped tmpfiles.d file is read by systemd-tmpfiles and creates its directories"
t run_small "memguard run under systemd: a small job completes with exit 0"
t run_over "memguard run under systemd: an over-limit job is stopped with exit 10"
t daemon_starts "memguardd.service starts (the shipped unit), memguard status answers"
t daemon_journal "a job over its limit handed to memguardd: exit 10, cgroup2, journal records with MESSAGE_ID and MEMGUARD_JOB, catalog"
t daemon_reload "systemctl reload memguardd keeps the daemon running"
t daemon_restart_keeps_job "systemctl restart memguardd keeps a running job (after an upgrade's files, with a newer package)"
finish
