# Helpers for the package tests (bash, TAP): the source tarball they build from, and the file list
# every package must ship (tests/package/files). Source it from a script in this directory.
. "$(dirname "$0")/../integration/lib.sh"

PKG_FILES=$top_srcdir/tests/package/files

# pkg_dist: make dist in the build tree and unpack the tarball into $TEST_TMP, so the package is
# built from what a release ships, never from a working tree. Sets PKG_VERSION and PKG_SRC (the
# unpacked tree) and PKG_TARBALL (a copy in $TEST_TMP). Returns 1, with the log, when make dist fails.
pkg_dist() {
        PKG_VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
        [ -n "$PKG_VERSION" ] || { diag "no PACKAGE_VERSION in $top_builddir/Makefile"; return 1; }
        # Two package tests may run side by side in one build tree: one make dist at a time.
        (
                unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
                flock 9
                ${MAKE:-make} -C "$top_builddir" dist-gzip >"$TEST_TMP/dist.log" 2>&1 &&
                        cp "$top_builddir/memguard-$PKG_VERSION.tar.gz" "$TEST_TMP/"
        ) 9>"$top_builddir/.dist.lock" || { diag_file "$TEST_TMP/dist.log" 30; return 1; }
        PKG_TARBALL=$TEST_TMP/memguard-$PKG_VERSION.tar.gz
        tar -C "$TEST_TMP" -xzf "$PKG_TARBALL" || return 1
        PKG_SRC=$TEST_TMP/memguard-$PKG_VERSION
}

# pkg_expected: the required files of tests/package/files; pkg_optional: the "?" ones.
pkg_expected() { grep -v -e '^#' -e '^?' -e '^$' "$PKG_FILES" | LC_ALL=C sort; }
pkg_optional() { sed -n 's/^?//p' "$PKG_FILES" | LC_ALL=C sort; }

# pkg_normalize: a package's list of files (stdin) as tests/package/files names them: merged-/usr
# paths, without /usr/share/doc, /usr/share/licenses and debug data.
pkg_normalize() {
        sed -e 's|^/lib/|/usr/lib/|' -e 's|^/bin/|/usr/bin/|' -e 's|^/sbin/|/usr/sbin/|' |
                grep -v -e '^/usr/share/doc/' -e '^/usr/share/licenses/' -e '^/usr/lib/debug/' \
                        -e '^/usr/lib/\.build-id/' |
                LC_ALL=C sort -u
}

# pkg_check_files DESCRIPTION LISTFILE: ok when the normalized list holds every required file of
# tests/package/files, optional ones at will, and nothing else.
pkg_check_files() {
        local desc=$1 list=$2 missing extra
        missing=$(pkg_expected | LC_ALL=C comm -23 - "$list")
        extra=$(LC_ALL=C comm -13 <(pkg_expected) "$list" | LC_ALL=C comm -23 - <(pkg_optional))
        if [ -z "$missing$extra" ]; then
                ok "$desc"
                return 0
        fi
        not_ok "$desc"
        [ -n "$missing" ] && diag "missing from the package:" "$missing"
        [ -n "$extra" ] && diag "shipped but not in tests/package/files:" "$extra"
        return 1
}
