#!/usr/bin/env bash
# The RPM for RHEL-like batch hosts: rpmbuild -bb of the spec the release tarball carries succeeds,
# and the RPM ships the files the Debian package ships (tests/package/files), the configuration
# marked %config(noreplace), with systemd scriptlets. rpm here is Debian's: it lacks
# systemd-rpm-macros, which tests/package/rpm-macros stands in for, and an rpm database of build
# dependencies (--nodeps; configure checks the real ones).
. "$(dirname "$0")/lib-package.sh"

command -v rpmbuild >/dev/null || skip_all "rpmbuild not found (apt-get install rpm)"
tap_plan 4

top=$TEST_TMP/rpmbuild
mkdir -p "$top/SOURCES"
if pkg_dist && cp "$PKG_TARBALL" "$top/SOURCES/"; then
        # The suite ran already (make check): --nocheck. No debuginfo: Debian's rpm has no
        # find-debuginfo setup for it.
        rpmbuild -bb --nodeps --nocheck --load "$top_srcdir/tests/package/rpm-macros" \
                --define "_topdir $top" --define 'debug_package %{nil}' \
                "$PKG_SRC/memguard.spec" >"$TEST_TMP/rpmbuild.log" 2>&1
        rc=$?
else
        rc=dist
fi
RPM=$(find "$top/RPMS" -name "memguard-$PKG_VERSION-*.rpm" 2>/dev/null | head -n1)
if [ "$rc" = 0 ] && [ -f "$RPM" ]; then
        ok "rpmbuild -bb memguard.spec: $(basename "$RPM")"
else
        not_ok "rpmbuild -bb memguard.spec (exit $rc)"
        diag_file "$TEST_TMP/rpmbuild.log" 40
        echo "Bail out! no RPM to test"
        exit 0
fi

# The files, directories left out (rpm -qlv: the mode comes first).
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$RPM" 2>/dev/null | awk '$1 !~ /^d/ { print $2 }' |
        pkg_normalize >"$TEST_TMP/rpm.files"
pkg_check_files "the RPM ships exactly the files of tests/package/files" "$TEST_TMP/rpm.files"

check_eq "the configuration files are %config(noreplace)" \
        "/etc/memguard/conf.d/10-hpc-batch.conf.example /etc/memguard/conf.d/20-ci-runners.conf.example /etc/memguard/memguard.conf " \
        "$(rpm -qp --qf '[%{FILEFLAGS:fflags}|%{FILENAMES}\n]' "$RPM" 2>/dev/null |
                awk -F'|' '$1 ~ /c/ && $1 ~ /n/ { print $2 }' | LC_ALL=C sort | tr '\n' ' ')"

scripts=$(rpm -qp --scripts "$RPM" 2>/dev/null)
missing=
for want in 'preset memguardd.service memguardd.socket' 'disable --now memguardd.service memguardd.socket' \
            'try-restart memguardd.service memguardd.socket' 'systemd-tmpfiles --create memguard.conf'; do
        grep -qF "$want" <<<"$scripts" || missing="$missing '$want'"
done
check "the scriptlets enable the units on install, stop them on removal, restart them on upgrade, run tmpfiles" \
        test -z "$missing" || diag "missing:$missing" "$scripts"

tap_done
