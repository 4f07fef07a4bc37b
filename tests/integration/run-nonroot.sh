#!/bin/bash
# memguard run as an unprivileged user: no cgroup of its own, so it falls back to procfs, says so, and
# still stops the job at its limit.
. "$(dirname "$0")/lib.sh"
require_binaries
require_jq

[ "$(id -u)" = 0 ] || skip_all "needs root to switch to an unprivileged user"
command -v setpriv >/dev/null || skip_all "setpriv(1) is missing"
NR_UID=65534
NR_GID=65534
MG_PREFIX=(setpriv --reuid="$NR_UID" --regid="$NR_GID" --clear-groups)
as_user() { "${MG_PREFIX[@]}" "$@"; }

# A directory the user can reach: our private one when its parents let it through, else one in /tmp.
chmod 0755 "$TEST_TMP"
D=$TEST_TMP/nonroot
mkdir -p "$D"
chmod 0755 "$D"
if ! as_user test -x "$D"; then
        D=$(mktemp -d /tmp/mg-nonroot.XXXXXX) || skip_all "cannot create a directory for the unprivileged user"
        CLEANUP_DIRS+=("$D")
        chmod 0755 "$D"
fi
mkdir -p "$D/out"
chmod 1777 "$D/out"

# The binaries must be runnable by the user; if the build tree is closed to it, copy them. Probe from a
# shell already running as the user: setpriv's own exec still has root's capabilities, and would reach
# a binary that memguard (as the user) then cannot exec.
runnable() { as_user sh -c '"$0" --version && "$1" --size 1' "$MEMGUARD" "$MEMHOG" >/dev/null 2>&1; }
if ! runnable; then
        mkdir -p "$D/bin"
        cp "$MEMGUARD" "$D/bin/memguard" && cp "$MEMHOG" "$D/bin/memhog" || skip_all "cannot copy the binaries"
        chmod 0755 "$D/bin" "$D/bin/memguard" "$D/bin/memhog"
        MEMGUARD=$D/bin/memguard
        MEMHOG=$D/bin/memhog
        diag "the build tree is not accessible to uid $NR_UID: running copies from $D/bin"
fi
runnable || skip_all "uid $NR_UID cannot run memguard and memhog here"
cd "$D" || skip_all "cannot enter $D"

J=$D/out/report.json
P=$D/out/memhog.pid
mg run --max-memory 300 --json "$J" -- "$MEMHOG" --rate 1000 --size 3000 --pidfile "$P"
check_rc "as uid $NR_UID: memhog --rate 1000 --size 3000 with --max-memory 300 is stopped with exit 10" 10
check "... memguard says on stderr that it falls back to procfs" grep -q "falling back to the procfs backend" "$MG_ERR" ||
        mg_diag
check_eq "... the JSON report says backend procfs" "procfs" "$(jget "$J" .backend)"
check_eq "... verdict killed" "killed" "$(jget "$J" .verdict)"
# Stopped, not finished: it never got to allocate all it asked for (a count, not a timing).
check "... before it allocated its 3000 MiB (peak $(jget "$J" .max_total_rss_kib) KiB)" \
        test "$(jget "$J" '.max_total_rss_kib // 3072000')" -lt $((3000 * 1024))
hog=$(head -n1 "$P" 2>/dev/null)
if [ -n "$hog" ] && wait_for 2 pid_gone "$hog"; then
        ok "... and the job is gone"
else
        not_ok "... and the job is gone"
        [ -n "$hog" ] && kill -KILL "$hog" 2>/dev/null
fi

# --quiet hides warnings, but not this one: without it a user believes the kernel holds the limit.
mg run --quiet --max-memory 300 -- true
check "as uid $NR_UID: --quiet still says the kernel does not enforce the limit" \
        grep -q "the kernel does not enforce the limit" "$MG_ERR" || mg_diag

# Asking for a cgroup backend explicitly is an error (1) that says why, not a silent fallback.
have_cgroup=
[ -n "$CG_V1_MEM" ] && have_cgroup=cgroup1
cg_v2_has_memory && have_cgroup=cgroup2
if [ -n "$have_cgroup" ]; then
        mg run --backend "$have_cgroup" -- true
        if [ "$MG_RC" = 1 ] && grep -q "cannot use the $have_cgroup backend" "$MG_ERR"; then
                ok "as uid $NR_UID: --backend $have_cgroup fails (1) and says why"
        else
                not_ok "as uid $NR_UID: --backend $have_cgroup fails (1) and says why"
                mg_diag
        fi
else
        skip "as uid $NR_UID: a forced cgroup backend fails" "no cgroup memory controller on this host"
fi

check_no_cgroups_left
tap_done
