#!/usr/bin/env bash
# The Debian package, as an administrator meets it: dpkg-buildpackage -b from the release tarball,
# lintian with no error, then on this machine dpkg -i (every file where the package says, the
# configuration valid, the units enabled, the directories of tmpfiles.d made), dpkg -r (only the
# conffiles and the job records stay) and dpkg -P (nothing stays); between them, an upgrade to a newer
# version with a job running keeps the job guarded and the administrator's configuration.
#
# It installs into the live system, so it runs as root, one at a time (a lock), only where no
# memguard is installed already, and purges what it installed even when it fails. No systemd runs
# here (PID 1 is not systemd): the maintainer scripts enable the units but start nothing, and the
# VM tier's systemd host runs the package's memguardd.
. "$(dirname "$0")/lib-package.sh"

[ "$(id -u)" = 0 ] || skip_all "dpkg -i needs root"
for c in dpkg-buildpackage dpkg-checkbuilddeps dh lintian flock; do
        command -v "$c" >/dev/null || skip_all "$c not found (apt-get install $(grep -v '^#' "$top_srcdir/tests/package/packages.txt" | tr '\n' ' '))"
done
# What dpkg -P removes must be ours alone.
if dpkg-query -W -f='${Status}' memguard 2>/dev/null | grep -q 'installed\|config-files\|unpacked'; then
        skip_all "a memguard package is installed on this machine: this test would replace it"
fi
for p in /etc/memguard /var/lib/memguard /run/memguard /usr/bin/memguard /usr/sbin/memguardd \
         /lib/systemd/system/memguardd.service /usr/lib/systemd/system/memguardd.service; do
        [ -e "$p" ] && skip_all "$p exists on this machine (a make install?): dpkg -P would remove what is not the package's"
done

tap_plan 16

exec 9>/tmp/memguard-package-test.lock
flock -w 1800 9 || { echo "Bail out! another package test holds /tmp/memguard-package-test.lock"; exit 0; }
INSTALLED=
purge_on_exit() {
        [ -n "$INSTALLED" ] && dpkg -P memguard >/dev/null 2>&1
        lib_cleanup
}
trap purge_on_exit EXIT

# 1. Build from the release tarball. The suite ran already (make check): nocheck. DEB_BUILD_PROFILES
# too, so the test-only build dependencies need not be installed.
if pkg_dist; then
        (cd "$PKG_SRC" && DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck \
                dpkg-buildpackage -b -us -uc) >"$TEST_TMP/build.log" 2>&1
        rc=$?
else
        rc=dist
fi
DEB=$(ls "$TEST_TMP"/memguard_*_*.deb 2>/dev/null | head -n1)
if [ "$rc" = 0 ] && [ -f "$DEB" ]; then
        ok "dpkg-buildpackage -b -us -uc from the release tarball: $(basename "$DEB")"
else
        not_ok "dpkg-buildpackage -b -us -uc from the release tarball (exit $rc)"
        diag_file "$TEST_TMP/build.log" 40
        echo "Bail out! no package to test"
        exit 0
fi

# 2. lintian: no error, and no warning but the one a package that is not uploaded to Debian has.
# lintian exits non-zero on an error tag and when it cannot check at all.
lintian --allow-root "$TEST_TMP"/memguard_*.changes >"$TEST_TMP/lintian.log" 2>&1
rc=$?
errors=$(grep '^E: ' "$TEST_TMP/lintian.log")
warnings=$(grep '^W: ' "$TEST_TMP/lintian.log" | grep -v ' initial-upload-closes-no-bugs')
if [ "$rc" = 0 ] && [ -z "$errors$warnings" ]; then
        ok "lintian: no error, no unexplained warning"
else
        not_ok "lintian: no error, no unexplained warning (exit $rc)"
        diag_file "$TEST_TMP/lintian.log" 30
fi
diag "lintian: $(grep -c '^[EWIP]: ' "$TEST_TMP/lintian.log") tags; info:" "$(grep '^I: ' "$TEST_TMP/lintian.log")"

# 3. What the package says it ships: the files of tests/package/files.
dpkg-deb --fsys-tarfile "$DEB" | tar -t | sed -e 's|^\./|/|' -e '/\/$/d' | pkg_normalize >"$TEST_TMP/deb.files"
pkg_check_files "the package ships exactly the files of tests/package/files" "$TEST_TMP/deb.files"

# The newer package an upgrade installs (4 and 8): this one at a higher version, its files unchanged
# (dpkg and the guest replace them all the same).
NEW_VERSION="$(dpkg-deb -f "$DEB" Version)+upgrade1"
rm -rf "$TEST_TMP/new"
dpkg-deb -R "$DEB" "$TEST_TMP/new" &&
        sed -i "s/^Version: .*/Version: $NEW_VERSION/" "$TEST_TMP/new/DEBIAN/control" &&
        dpkg-deb -b "$TEST_TMP/new" "$TEST_TMP/memguard-new.deb" >/dev/null 2>"$TEST_TMP/repack.err" ||
        diag_file "$TEST_TMP/repack.err"

# 4. The package on a systemd host: the VM tier's guest (tests/vm/systemd.sh) with the package's
# files where make install's would be: the package's unit starts memguardd, memguard status answers,
# a job handed to it is guarded, and an upgrade (the newer package's files in place, daemon-reload,
# restart of the service) keeps the running job. This machine's cores are shared: the guest gets a
# generous ceiling, it powers off as soon as it is done.
MEMGUARD_VM_TIMEOUT=${MEMGUARD_VM_TIMEOUT:-900} MEMGUARD_VM_DEB=$DEB MEMGUARD_VM_DEB_UPGRADE=$TEST_TMP/memguard-new.deb \
        "$top_srcdir/tests/vm/systemd.sh" >"$TEST_TMP/vm.tap" 2>"$TEST_TMP/vm.err"
if grep -q '^1\.\.0 # SKIP' "$TEST_TMP/vm.tap"; then
        skip "the package's memguardd on the VM tier's systemd host" "$(sed -n 's/^1\.\.0 # SKIP //p' "$TEST_TMP/vm.tap")"
elif ! grep -q '^not ok' "$TEST_TMP/vm.tap" && grep -q '^ok [0-9]* - daemon_starts' "$TEST_TMP/vm.tap" &&
        grep -q '^ok [0-9]* - daemon_restart_keeps_job' "$TEST_TMP/vm.tap" &&
        grep -q "^#   upgraded to $NEW_VERSION: memguardd ran from inode" "$TEST_TMP/vm.tap"; then
        ok "the package's memguardd on the VM tier's systemd host ($(grep -c '^ok' "$TEST_TMP/vm.tap") guest tests pass, the upgrade to $NEW_VERSION among them)"
else
        not_ok "the package's memguardd on the VM tier's systemd host"
        diag "$(grep -E '^(not ok|ok [0-9]* - daemon_|#   upgraded)' "$TEST_TMP/vm.tap")"
        diag_file "$TEST_TMP/vm.tap" 40
fi

# 5. dpkg -i: every path the package lists is on disk, every file with the package's checksum.
dpkg-deb --fsys-tarfile "$DEB" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' -e '/^$/d' >"$TEST_TMP/paths"
while read -r p; do [ -e "$p" ] && echo "$p"; done <"$TEST_TMP/paths" >"$TEST_TMP/there-before"
INSTALLED=yes
expect "dpkg -i installs it" 0 "" dpkg -i "$DEB"
dpkg -L memguard | grep -vx '/\.' >"$TEST_TMP/listed"
missing=$(while read -r p; do [ -e "$p" ] || echo "$p"; done <"$TEST_TMP/listed")
verify=$(dpkg --verify memguard 2>&1)
check "every path dpkg -L lists is there ($(wc -l <"$TEST_TMP/listed") paths) and dpkg --verify is content" \
        test -z "$missing$verify" || diag "missing: $missing" "dpkg --verify: $verify"

# 6. The configuration: conffiles, in the place memguardd reads, and valid.
conffiles=$(dpkg-query -W -f='${Conffiles}\n' memguard | awk 'NF { print $1 }' | LC_ALL=C sort | tr '\n' ' ')
check_eq "the configuration files are conffiles" \
        "/etc/memguard/conf.d/10-hpc-batch.conf.example /etc/memguard/conf.d/20-ci-runners.conf.example /etc/memguard/memguard.conf " \
        "$conffiles"
expect "memguardd --check-config passes on the installed configuration (/etc/memguard)" 0 "" \
        /usr/sbin/memguardd --check-config
grep -q '/etc/memguard/memguard.conf' <(/usr/sbin/memguardd --help 2>&1) ||
        diag "memguardd --help does not name /etc/memguard/memguard.conf: $(/usr/sbin/memguardd --help 2>&1 | grep -i conf)"

# 7. The maintainer scripts: the units enabled (nothing started: no systemd here), the directories of
# the tmpfiles.d entry made.
check "postinst enabled memguardd.service and memguardd.socket" \
        test -L /etc/systemd/system/multi-user.target.wants/memguardd.service -a \
             -L /etc/systemd/system/sockets.target.wants/memguardd.socket ||
        diag "$(ls -l /etc/systemd/system/*.wants/ 2>&1 | grep -i memguard)"
if command -v systemd-tmpfiles >/dev/null; then
        check "postinst created the tmpfiles.d directories (/var/lib/memguard/jobs mode 0700)" \
                test "$(stat -c %a /var/lib/memguard/jobs 2>/dev/null)" = 700
else
        skip "postinst created the tmpfiles.d directories" "no systemd-tmpfiles on this machine"
fi

# 8. dpkg -i of the newer package with a job running: the administrator's change to a conffile stays,
# and a job that the old daemon guarded is guarded by the new one. No systemd here: postinst's restart does
# nothing, so the test restarts memguardd itself, as the unit's restart on upgrade would (the VM tier
# shows that systemctl restart keeps a job); KillMode=process is why the job outlives the daemon.
echo "# the administrator's" >>/etc/memguard/memguard.conf
UP=$TEST_TMP/up
mkdir -p "$UP"
MEMGUARDD=/usr/sbin/memguardd mgd_start /etc/memguard/memguard.conf /run/memguard/memguardd.sock "$UP/daemon.log" ||
        diag "the installed memguardd did not start: $(mgd_why)"
# The job waits at 20 MiB until the test says go, then grows past its 200 MiB limit.
MEMGUARD=/usr/bin/memguard mg_bg run --socket /run/memguard/memguardd.sock --max-memory 200 --json "$UP/job.json" -- \
        "$MEMHOG" --rate 100 --size 400 --go "$UP/go" --pause-at 20 --hold 60 --pidfile "$UP/job.pid"
wait_for 10 grep -q "registered by uid 0" "$UP/daemon.log" || diag_file "$UP/daemon.log"
OLD_PID=$MGD_PID
MGD_PID=  # stopped with its job running, not after it
upgraded=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$TEST_TMP/memguard-new.deb" 2>&1)
rc=$?
mgd_stop "$OLD_PID"
old_lines=$(wc -l <"$UP/daemon.log")
MEMGUARDD=/usr/sbin/memguardd mgd_start /etc/memguard/memguard.conf /run/memguard/memguardd.sock "$UP/daemon.log" ||
        diag "the upgraded memguardd did not start: $(mgd_why)"
check "dpkg -i of version $NEW_VERSION upgrades it, keeping the administrator's conffile" \
        test "$rc" = 0 -a "$(dpkg-query -W -f='${Version}' memguard)" = "$NEW_VERSION" -a \
        "$(tail -n 1 /etc/memguard/memguard.conf)" = "# the administrator's" ||
        diag "dpkg: $upgraded" "version: $(dpkg-query -W -f='${Version}' memguard)"
touch "$UP/go"
mg_wait
if [ "$MG_RC" = 10 ] && tail -n +"$((old_lines + 1))" "$UP/daemon.log" | grep -q "supervised again"; then
        ok "the job the old daemon guarded is taken up and stopped at its limit by the upgraded one (exit 10)"
else
        not_ok "the job the old daemon guarded is taken up and stopped at its limit by the upgraded one (exit 10)"
        diag "exit code $MG_RC"
        diag_file "$UP/daemon.log" 30
        mg_diag
fi
mgd_stop
rm -f /run/memguard/memguardd.sock

# 9. dpkg -r: the programs go; the conffiles and the job records stay (a reinstall finds them).
mkdir -p /var/lib/memguard/jobs && echo '{}' >/var/lib/memguard/jobs/record-from-test
expect "dpkg -r removes it" 0 "" dpkg -r memguard
left=
while read -r p; do
        [ -d "$p" ] && continue
        case " $conffiles " in *" $p "*) continue ;; esac
        [ -e "$p" ] && left="$left $p"
done <"$TEST_TMP/listed"
check "dpkg -r leaves only the conffiles and the job records" \
        test -z "$left" -a -f /etc/memguard/memguard.conf -a -f /var/lib/memguard/jobs/record-from-test ||
        diag "left:$left" "conffile: $(ls -l /etc/memguard/memguard.conf 2>&1)" "records: $(ls /var/lib/memguard/jobs 2>&1)"

# 10. dpkg -P: nothing at all, but the directories that were there before (/usr/bin and the like).
expect "dpkg -P purges it" 0 "" dpkg -P memguard && INSTALLED=
left=$(while read -r p; do
        { [ -e "$p" ] || [ -L "$p" ]; } && ! grep -qxF "$p" "$TEST_TMP/there-before" && echo "$p"
done <"$TEST_TMP/paths")
for p in /etc/memguard /var/lib/memguard /run/memguard; do
        [ -e "$p" ] && left="$left $p"
done
left="$left $(find /etc/systemd /var/lib/systemd -name '*memguard*' 2>/dev/null | tr '\n' ' ')"
state=$(dpkg-query -W -f='${Status}' memguard 2>/dev/null)
check "dpkg -P leaves nothing behind" test -z "${left// /}" -a \( -z "$state" -o "$state" = "unknown ok not-installed" \) ||
        diag "left: $left" "dpkg status: '$state'"

tap_done
