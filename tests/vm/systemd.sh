#!/bin/bash
# SPDX-License-Identifier: MIT
# VM tier 2: a real systemd host. Boots systemd as PID 1 from an initramfs built from this machine's
# own systemd, journald and dbus-daemon (and the libraries ldd names), plus memguard as
# "make install DESTDIR=..." installs it, so the shipped unit, D-Bus policy and catalog are what is
# tested. The test unit memguard-vmtest.service runs tests/vm/guest-systemd.sh after multi-user.target
# and powers the guest off. TAP out; see tests/vm/README.
#   run alone:  make check TESTS=tests/vm/systemd.sh     or, from the build tree: tests/vm/systemd.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-vm.sh"

vm_locate
vm_require_host
MEMHOG=${MEMGUARD_VM_MEMHOG:-$top_builddir/tests/helpers/memhog}
[ -x "$top_builddir/client/memguard" ] || vm_die_skip "$top_builddir/client/memguard is not built (run make first)"
[ -x "$MEMHOG" ] || vm_die_skip "$MEMHOG is not built (make tests/helpers/memhog, or make check)"
JQ=$(command -v jq) || vm_die_skip "jq not found: the guest reads JSON with it (apt-get install jq)"

# This machine's systemd and D-Bus: the guest's userspace is exactly what is installed here.
SYSTEMD=
for d in /usr/lib/systemd /lib/systemd; do
        [ -x "$d/systemd" ] && SYSTEMD=$d && break
done
[ -n "$SYSTEMD" ] || vm_die_skip "no systemd on this machine (apt-get install systemd)"
SYSTEMD_BINS=
for b in systemctl journalctl busctl systemd-cat systemd-run systemd-cgls systemd-tmpfiles; do
        p=$(command -v "$b") || vm_die_skip "$b not found (apt-get install systemd)"
        SYSTEMD_BINS="$SYSTEMD_BINS $p"
done
for f in "$SYSTEMD"/systemd-journald "$SYSTEMD"/systemd-shutdown; do
        [ -x "$f" ] || vm_die_skip "$f not found (apt-get install systemd)"
done
DBUS_DAEMON=$(command -v dbus-daemon) || vm_die_skip "dbus-daemon not found (apt-get install dbus-daemon)"
DBUS_SEND=$(command -v dbus-send) || vm_die_skip "dbus-send not found (apt-get install dbus-bin)"
DBUS_CONF=
for f in /usr/share/dbus-1/system.conf /etc/dbus-1/system.conf; do
        [ -f "$f" ] && DBUS_CONF=$f && break
done
[ -n "$DBUS_CONF" ] || vm_die_skip "no D-Bus system bus configuration (apt-get install dbus-system-bus-common)"
UNITDIR=$SYSTEMD/system
for u in dbus.service dbus.socket systemd-journald.service systemd-journald.socket; do
        [ -f "$UNITDIR/$u" ] || vm_die_skip "$UNITDIR/$u not found (apt-get install systemd dbus)"
done

vm_workdir systemd

# memguard as it ships: make install into a staging directory (its own log; a failure is a test
# failure, not a skip), or with MEMGUARD_VM_DEB=FILE the files of that Debian package, so the guest
# tests the package's unit, configuration and binaries (tests/package/deb.sh does this).
if [ -n "${MEMGUARD_VM_DEB:-}" ]; then
        install_what="dpkg-deb -x $MEMGUARD_VM_DEB"
        command -v dpkg-deb >/dev/null || vm_die_skip "MEMGUARD_VM_DEB is set and dpkg-deb is not installed"
        dpkg-deb -x "$MEMGUARD_VM_DEB" "$VM_TMP/inst" >"$VM_TMP/install.log" 2>&1
else
        install_what="make install DESTDIR=..."
        (
                unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
                ${MAKE:-make} -C "$top_builddir" install DESTDIR="$VM_TMP/inst" >"$VM_TMP/install.log" 2>&1
        )
fi || {
        echo "not ok 1 - $install_what of memguard"
        sed 's/^/#   /' "$VM_TMP/install.log" | tail -n 40
        echo "1..1"
        exit 0
}

vm_root_skeleton
vm_copy_elf "$SYSTEMD"/systemd "$SYSTEMD"/systemd-journald "$SYSTEMD"/systemd-shutdown $SYSTEMD_BINS \
        "$DBUS_DAEMON" "$DBUS_SEND" "$JQ"
[ -x "$SYSTEMD"/systemd-cgroups-agent ] && vm_copy_elf "$SYSTEMD"/systemd-cgroups-agent
# No init, halt or poweroff from busybox: those are systemd's.
vm_install_busybox "init halt poweroff reboot linuxrc"
ln -sfn "$SYSTEMD"/systemd "$VM_ROOT"/init
ln -sfn "$SYSTEMD"/systemd "$VM_ROOT"/usr/sbin/init
for c in halt poweroff reboot; do
        ln -sfn "$(command -v systemctl)" "$VM_ROOT/usr/sbin/$c"
done

# Units: only what a boot to multi-user.target with journald and the system bus needs.
mkdir -p "$VM_ROOT$UNITDIR" "$VM_ROOT"/etc/systemd/system
for u in default.target multi-user.target basic.target sysinit.target sockets.target timers.target \
         paths.target slices.target local-fs.target local-fs-pre.target swap.target \
         shutdown.target umount.target final.target poweroff.target reboot.target halt.target \
         exit.target emergency.target rescue.target system.slice -.slice \
         systemd-poweroff.service systemd-reboot.service systemd-halt.service systemd-exit.service \
         systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
         dbus.service dbus.socket; do
        [ -e "$UNITDIR/$u" ] && cp -L "$UNITDIR/$u" "$VM_ROOT$UNITDIR/$u"
done
ln -sfn multi-user.target "$VM_ROOT$UNITDIR"/default.target
mkdir -p "$VM_ROOT$UNITDIR"/sockets.target.wants "$VM_ROOT$UNITDIR"/multi-user.target.wants \
        "$VM_ROOT$UNITDIR"/sysinit.target.wants
ln -sfn ../dbus.socket "$VM_ROOT$UNITDIR"/sockets.target.wants/dbus.socket
ln -sfn ../systemd-journald.socket "$VM_ROOT$UNITDIR"/sockets.target.wants/systemd-journald.socket
ln -sfn ../systemd-journald-dev-log.socket "$VM_ROOT$UNITDIR"/sockets.target.wants/systemd-journald-dev-log.socket
ln -sfn ../systemd-journald.service "$VM_ROOT$UNITDIR"/sysinit.target.wants/systemd-journald.service
ln -sfn ../dbus.service "$VM_ROOT$UNITDIR"/multi-user.target.wants/dbus.service
cp "$VM_SRCDIR"/memguard-vmtest.service "$VM_ROOT"/etc/systemd/system/
mkdir -p "$VM_ROOT"/etc/systemd/system/multi-user.target.wants
ln -sfn ../memguard-vmtest.service "$VM_ROOT"/etc/systemd/system/multi-user.target.wants/memguard-vmtest.service
mkdir -p "$VM_ROOT"/etc/systemd/system.conf.d
printf '[Manager]\nDefaultTimeoutStopSec=10s\nShowStatus=yes\n' >"$VM_ROOT"/etc/systemd/system.conf.d/50-memguard-vmtest.conf

# The rest of a minimal system: identity, users, the D-Bus system bus configuration.
for f in /usr/lib/os-release /etc/os-release; do
        [ -f "$f" ] && { cp -L "$f" "$VM_ROOT"/usr/lib/os-release; break; }
done
ln -sfn ../usr/lib/os-release "$VM_ROOT"/etc/os-release
echo 6d656d6775617264766d746965723200 >"$VM_ROOT"/etc/machine-id
echo memguard-vm >"$VM_ROOT"/etc/hostname
cat >"$VM_ROOT"/etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$VM_ROOT"/etc/group <<'GROUP'
root:x:0:
messagebus:x:101:
systemd-journal:x:102:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$VM_ROOT"/etc/nsswitch.conf
mkdir -p "$VM_ROOT"/usr/share/dbus-1/system.d "$VM_ROOT"/etc/dbus-1/system.d "$VM_ROOT"/var/lib/dbus
cp -L "$DBUS_CONF" "$VM_ROOT$DBUS_CONF"
[ -f /usr/share/dbus-1/system.d/org.freedesktop.systemd1.conf ] &&
        cp -L /usr/share/dbus-1/system.d/org.freedesktop.systemd1.conf "$VM_ROOT"/usr/share/dbus-1/system.d/
mkdir -p "$VM_ROOT"/var/log "$VM_ROOT"/var/lib/systemd

# memguard: the staged install, as is, then its programs' libraries. Units, D-Bus policies and
# catalogs installed outside the directories systemd, dbus-daemon and journalctl read (a
# --prefix other than /usr, as in distcheck) are linked into /etc, and the guest says so.
mkdir -p "$VM_ROOT"/mg
: >"$VM_ROOT"/mg/relinked
(cd "$VM_TMP/inst" && find . ! -type d | sed 's/^\.//' | LC_ALL=C sort) >"$VM_ROOT"/mg/installed
# File by file, so that /lib/... of the staging tree lands in usr/lib through the guest's symlink.
while read -r f; do
        mkdir -p "$VM_ROOT$(dirname "$f")"
        cp -a "$VM_TMP/inst$f" "$VM_ROOT$f"
done <"$VM_ROOT"/mg/installed
while read -r f; do
        case "$f" in
        */lib/systemd/system/*.service | */lib/systemd/system/*.socket | */lib/systemd/system/*.timer | \
        */lib/systemd/system/*.path)
                case "$f" in /lib/systemd/system/* | /usr/lib/systemd/system/* | /etc/systemd/system/* | \
                        /usr/local/lib/systemd/system/*) ;; *)
                        ln -sfn "$f" "$VM_ROOT/etc/systemd/system/$(basename "$f")"
                        echo "$f -> /etc/systemd/system/" >>"$VM_ROOT"/mg/relinked ;;
                esac ;;
        */dbus-1/system.d/*.conf)
                case "$f" in /usr/share/dbus-1/system.d/* | /etc/dbus-1/system.d/*) ;; *)
                        ln -sfn "$f" "$VM_ROOT/etc/dbus-1/system.d/$(basename "$f")"
                        echo "$f -> /etc/dbus-1/system.d/" >>"$VM_ROOT"/mg/relinked ;;
                esac ;;
        */catalog/*.catalog)
                case "$f" in /usr/lib/systemd/catalog/* | /lib/systemd/catalog/* | /etc/systemd/catalog/* | \
                        /usr/local/lib/systemd/catalog/*) ;; *)
                        mkdir -p "$VM_ROOT"/etc/systemd/catalog
                        ln -sfn "$f" "$VM_ROOT/etc/systemd/catalog/$(basename "$f")"
                        echo "$f -> /etc/systemd/catalog/" >>"$VM_ROOT"/mg/relinked ;;
                esac ;;
        esac
        if [ -x "$VM_TMP/inst$f" ] && head -c4 "$VM_TMP/inst$f" | grep -q ELF; then
                vm_copy_libs "$VM_TMP/inst$f"
        fi
done <"$VM_ROOT"/mg/installed
# MEMGUARD_VM_DEB_UPGRADE=FILE: a newer package, whose files the guest puts in place of the installed
# ones before it restarts memguardd with a job running (what dpkg -i and the postinst's restart do;
# the guest has no dpkg). tests/package/deb.sh passes one.
if [ -n "${MEMGUARD_VM_DEB_UPGRADE:-}" ]; then
        if ! dpkg-deb -x "$MEMGUARD_VM_DEB_UPGRADE" "$VM_ROOT"/mg/upgrade >"$VM_TMP/upgrade.log" 2>&1 ||
                ! dpkg-deb -f "$MEMGUARD_VM_DEB_UPGRADE" Version >"$VM_ROOT"/mg/upgrade-version 2>>"$VM_TMP/upgrade.log"; then
                echo "not ok 1 - dpkg-deb -x $MEMGUARD_VM_DEB_UPGRADE (the upgrade)"
                sed 's/^/#   /' "$VM_TMP/upgrade.log" | tail -n 20
                echo "1..1"
                exit 0
        fi
fi
# memguardd reads its configuration from a compiled-in path; when make install put memguard.conf
# elsewhere (a --sysconfdir it does not follow), the guest's t_installed fails saying so, and the
# installed directory is linked there so that the daemon tests still test the daemon.
# The installed memguardd says where it reads: the one staged (a package's is not the build tree's).
daemon=$(grep -m1 '/sbin/memguardd$' "$VM_ROOT"/mg/installed)
# The shipped unit has PrivateTmp=yes: a memguardd installed under /tmp or /var/tmp (a distcheck of a
# tree kept there) is hidden from its own service, which then cannot exec it.
case "$daemon" in
/tmp/* | /var/tmp/*)
        vm_die_skip "memguard is installed under ${daemon%%/sbin/*}, which the unit's PrivateTmp hides from memguardd.service (build from a tree outside /tmp and /var/tmp)" ;;
esac
if [ -n "$daemon" ] && [ -x "$VM_TMP/inst$daemon" ]; then
        daemon=$VM_TMP/inst$daemon
else
        daemon=$top_builddir/daemon/memguardd
fi
if [ -x "$daemon" ]; then
        want=$("$daemon" --help 2>&1 | sed -n 's/.*(default \(\/[^)]*\.conf\)).*/\1/p' | head -n 1)
        have=$(grep -m1 '/memguard\.conf$' "$VM_ROOT"/mg/installed)
        if [ -n "$want" ] && [ -n "$have" ] && [ "$want" != "$have" ] && [ ! -e "$VM_ROOT$want" ]; then
                mkdir -p "$VM_ROOT$(dirname "$(dirname "$want")")"
                ln -sfn "$(dirname "$have")" "$VM_ROOT$(dirname "$want")"
                echo "$have $want" >"$VM_ROOT"/mg/config-mismatch
        fi
fi
# Where make install put memguard (the guest's PATH gets it first).
dirname "$(grep -m1 '/bin/memguard$' "$VM_ROOT"/mg/installed || echo /usr/local/bin/memguard)" >"$VM_ROOT"/mg/bindir
[ -x "$top_builddir/daemon/memguardd" ] && echo built >"$VM_ROOT"/mg/daemon-built

vm_install_built "$MEMHOG" /mg/bin/memhog
vm_install_guest_scripts "$VM_SRCDIR"/guest-systemd.sh "$VM_SRCDIR"/guest-systemd-run.sh
chmod 755 "$VM_ROOT"/mg/tests/*.sh
vm_build_initramfs

# A ceiling for a hung guest, far above what an idle host needs (see cgroup2.sh).
vm_boot systemd 900 "console=ttyS0 panic=-1 oops=panic quiet loglevel=3 mitigations=off systemd.show_status=1"
vm_report
exit 0
