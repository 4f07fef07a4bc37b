# SPDX-License-Identifier: MIT
# The VM tier's host side, sourced by tests/vm/cgroup2.sh and tests/vm/systemd.sh (see tests/vm/README).
#
# It assembles an initramfs (busybox-static, the freshly built memguard binaries and the libraries ldd
# names for them, the guest test scripts; for tier 2 also this machine's systemd, journald and
# dbus-daemon), boots Debian's cloud kernel on it under qemu-system-x86_64 with software emulation
# (TCG), and turns what the guest reports into TAP for automake's tap-driver.sh.
#
# Two serial ports: ttyS0 is the guest's console (kernel, systemd, stderr of the tests), ttyS1 carries
# nothing but the guest's TAP, so kernel messages (an OOM report, say) can never split a TAP line. The
# guest ends with a line "MG-VM-DONE <rc>" on ttyS1 and powers off; a guest that does not power off in
# time is killed and reported as hung, one that stops without that line as panicked or crashed.
#
# Environment (all optional):
#   MEMGUARD_VM_KERNEL    the kernel image (default: newest /boot/vmlinuz-*-cloud-amd64, else another
#                         /boot/vmlinuz-* whose config has the memory controller and a serial console)
#   MEMGUARD_VM_QEMU      the qemu binary (default: qemu-system-x86_64)
#   MEMGUARD_VM_ACCEL     qemu -accel value (default: tcg; "kvm" where /dev/kvm works, for speed)
#   MEMGUARD_VM_TIMEOUT   hard limit in seconds for one boot (default: per tier)
#   MEMGUARD_VM_MEM       guest memory in MiB (default 1024);  MEMGUARD_VM_SMP  vCPUs (default 2)
#   MEMGUARD_VM_ONLY      extended regex: run only the guest tests whose names match (others skip)
#   MEMGUARD_VM_KEEP=1    keep the work directory (initramfs, serial logs) and say where it is
#   MEMGUARD_VM_SHELL=1   interactive: the console is on this terminal, the tests run, then a shell
#                         (exit it to power off); no timeout
#   MEMGUARD_VM_VERBOSE=1 copy the whole guest console to stderr (the test's .log) even on success
#   MEMGUARD_VM_APPEND    extra kernel command line words
#   MEMGUARD_SKIP_VM      a reason: skip the whole tier with it

set -u

vm_die_skip() {
        echo "1..0 # SKIP $*"
        exit 0
}

vm_diag() {
        printf '%s\n' "$@" | sed 's/^/# /'
}

# Where things are. top_srcdir/top_builddir come from the Makefile (absolute); run by hand from a
# build tree they default to the source tree of this script and the current directory.
vm_locate() {
        VM_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
        : "${top_srcdir:=$(cd "$VM_SRCDIR/../.." && pwd)}"
        if [ -z "${top_builddir:-}" ]; then
                if [ -x "$PWD/client/memguard" ]; then
                        top_builddir=$PWD
                else
                        top_builddir=$top_srcdir
                fi
        fi
        top_srcdir=$(cd "$top_srcdir" 2>/dev/null && pwd) || vm_die_skip "top_srcdir is not a directory"
        top_builddir=$(cd "$top_builddir" 2>/dev/null && pwd) || vm_die_skip "top_builddir is not a directory"
        export top_srcdir top_builddir
}

# A private work directory, removed on exit unless MEMGUARD_VM_KEEP=1.
vm_workdir() {
        VM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/memguard-vm-$1.XXXXXX") || vm_die_skip "mktemp -d failed"
        VM_ROOT=$VM_TMP/root
        mkdir -p "$VM_ROOT"
        trap vm_cleanup EXIT
        trap 'exit 130' INT TERM
}

vm_cleanup() {
        if [ -n "${VM_QEMU_PID:-}" ]; then
                kill "$VM_QEMU_PID" 2>/dev/null
        fi
        if [ "${MEMGUARD_VM_KEEP:-0}" = 1 ]; then
                echo "# kept the work directory $VM_TMP (initramfs.cpio, console.log, tap.log)" >&2
        else
                rm -rf "$VM_TMP"
        fi
}

vm_kernel_ok() {
        # A kernel the guest can use: readable, with the v2 memory controller and an 8250 console
        # built in (we load no modules). Without a config file next to it, trust the name.
        local k=$1 cfg
        [ -f "$k" ] || return 1
        cfg=/boot/config-${k#*/vmlinuz-}
        [ -r "$cfg" ] || return 0
        grep -q '^CONFIG_MEMCG=y' "$cfg" && grep -q '^CONFIG_SERIAL_8250_CONSOLE=y' "$cfg" &&
                grep -q '^CONFIG_BLK_DEV_INITRD=y' "$cfg"
}

# Finds qemu, the kernel, busybox and cpio, or skips the whole script saying what is missing.
# MEMGUARD_SKIP_VM="reason" skips the tier on purpose (CI's sanitizer and distcheck passes).
vm_require_host() {
        [ -n "${MEMGUARD_SKIP_VM:-}" ] && vm_die_skip "MEMGUARD_SKIP_VM: $MEMGUARD_SKIP_VM"
        VM_QEMU=${MEMGUARD_VM_QEMU:-qemu-system-x86_64}
        command -v "$VM_QEMU" >/dev/null 2>&1 ||
                vm_die_skip "$VM_QEMU not found (apt-get install qemu-system-x86; see tests/vm/packages.txt)"
        command -v timeout >/dev/null 2>&1 || vm_die_skip "timeout(1) not found (coreutils)"
        if [ -n "${MEMGUARD_VM_KERNEL:-}" ]; then
                VM_KERNEL=$MEMGUARD_VM_KERNEL
                [ -f "$VM_KERNEL" ] || vm_die_skip "MEMGUARD_VM_KERNEL=$VM_KERNEL does not exist"
        else
                VM_KERNEL=
                local k
                for k in $(ls -1v /boot/vmlinuz-*-cloud-amd64 2>/dev/null | tac) \
                         $(ls -1v /boot/vmlinuz-* 2>/dev/null | grep -v cloud-amd64 | tac); do
                        if vm_kernel_ok "$k"; then
                                VM_KERNEL=$k
                                break
                        fi
                done
                [ -n "$VM_KERNEL" ] ||
                        vm_die_skip "no guest kernel: no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64) or other /boot/vmlinuz-* with CONFIG_MEMCG=y and CONFIG_SERIAL_8250_CONSOLE=y; or set MEMGUARD_VM_KERNEL"
        fi
        [ -r "$VM_KERNEL" ] ||
                vm_die_skip "$VM_KERNEL is not readable by $(id -un) (Debian installs kernels mode 0600): run as root, or copy it and set MEMGUARD_VM_KERNEL"
        VM_BUSYBOX=
        local b
        for b in /bin/busybox /usr/bin/busybox; do
                if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then  # static: ldd fails
                        VM_BUSYBOX=$b
                        break
                fi
        done
        [ -n "$VM_BUSYBOX" ] || vm_die_skip "no static busybox (apt-get install busybox-static)"
        if command -v cpio >/dev/null 2>&1; then
                VM_CPIO="cpio"
        else
                VM_CPIO="$VM_BUSYBOX cpio"
                echo | $VM_CPIO -o -H newc >/dev/null 2>&1 || vm_die_skip "no cpio that can create archives (apt-get install cpio)"
        fi
        command -v ldd >/dev/null 2>&1 || vm_die_skip "ldd not found (libc-bin)"
        VM_ACCEL=${MEMGUARD_VM_ACCEL:-tcg}
}

# Lays out a merged-/usr root like this machine's (bin, sbin, lib, lib64 as symlinks into usr when
# they are here), so library paths from ldd and RUNPATHs resolve the same in the guest.
vm_root_skeleton() {
        local d
        mkdir -p "$VM_ROOT"/usr/bin "$VM_ROOT"/usr/sbin "$VM_ROOT"/usr/lib "$VM_ROOT"/usr/lib64 \
                "$VM_ROOT"/proc "$VM_ROOT"/sys "$VM_ROOT"/dev "$VM_ROOT"/run "$VM_ROOT"/tmp \
                "$VM_ROOT"/etc "$VM_ROOT"/var/tmp "$VM_ROOT"/root "$VM_ROOT"/mnt
        chmod 1777 "$VM_ROOT"/tmp "$VM_ROOT"/var/tmp
        for d in bin sbin lib lib64; do
                if [ -L "/$d" ]; then
                        ln -sfn "$(readlink "/$d")" "$VM_ROOT/$d"
                else
                        mkdir -p "$VM_ROOT/$d"
                fi
        done
        echo "root:x:0:0:root:/root:/bin/sh" >"$VM_ROOT"/etc/passwd
        echo "root:x:0:" >"$VM_ROOT"/etc/group
}

# Copies a file to the same path under the root, following symlinks (the guest gets real files).
vm_copy_file() {
        local src=$1 dst=${2:-$1}
        mkdir -p "$VM_ROOT$(dirname "$dst")"
        [ -e "$VM_ROOT$dst" ] && return 0
        cp -L "$src" "$VM_ROOT$dst"
}

# Copies the libraries ldd names for an ELF file (and the dynamic loader) to their paths.
vm_copy_libs() {
        local lib
        while read -r lib; do
                [ -n "$lib" ] && vm_copy_file "$lib"
        done < <(ldd "$1" 2>/dev/null | sed -n -e 's/.*=> \(\/[^ ]*\) (0x.*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p')
}

# Copies ELF files to their own paths, with their libraries.
vm_copy_elf() {
        local f
        for f in "$@"; do
                vm_copy_file "$f" || return 1
                vm_copy_libs "$f"
        done
}

# Copies a built program to a given guest path, with its libraries.
vm_install_built() {
        mkdir -p "$VM_ROOT$(dirname "$2")"
        cp -L "$1" "$VM_ROOT$2"
        vm_copy_libs "$1"
}

# busybox and symlinks for its applets, except those named in $1 (space separated) and except where
# a real program is already in place.
vm_install_busybox() {
        local skip=" ${1:-} " a
        cp "$VM_BUSYBOX" "$VM_ROOT"/usr/bin/busybox
        for a in $("$VM_BUSYBOX" --list); do
                case "$skip" in *" $a "*) continue ;; esac
                [ "$a" = busybox ] && continue
                [ -e "$VM_ROOT/usr/bin/$a" ] || [ -e "$VM_ROOT/usr/sbin/$a" ] || ln -s busybox "$VM_ROOT/usr/bin/$a"
        done
}

# The guest's test material: the common TAP helpers and the tier's guest script, under /mg.
vm_install_guest_scripts() {
        mkdir -p "$VM_ROOT"/mg/bin "$VM_ROOT"/mg/tests
        cp "$VM_SRCDIR"/guest-lib.sh "$@" "$VM_ROOT"/mg/tests/
}

vm_build_initramfs() {
        (cd "$VM_ROOT" && find . -mindepth 1 | LC_ALL=C sort | $VM_CPIO -o -H newc -R 0:0 --quiet) \
                >"$VM_TMP"/initramfs.cpio 2>"$VM_TMP"/cpio.err ||
                (cd "$VM_ROOT" && find . -mindepth 1 | LC_ALL=C sort | $VM_CPIO -o -H newc) \
                >"$VM_TMP"/initramfs.cpio 2>"$VM_TMP"/cpio.err || {
                echo "Bail out! cannot build the initramfs: $(cat "$VM_TMP"/cpio.err)"
                exit 1
        }
}

vm_now() {
        date +%s.%N
}

# Boots the initramfs. $1: a name for messages, $2: the default timeout (seconds), $3: kernel
# command line words. Leaves $VM_TMP/console.log and $VM_TMP/tap.log and sets VM_QEMU_RC and
# VM_ELAPSED (seconds, one decimal).
vm_boot() {
        local name=$1 limit=${MEMGUARD_VM_TIMEOUT:-$2} append=$3 t0 t1
        append="$append ${MEMGUARD_VM_APPEND:-}"
        [ -n "${MEMGUARD_VM_ONLY:-}" ] && append="$append mg.only=$(printf %s "$MEMGUARD_VM_ONLY" | base64 -w0)"
        local qemu=("$VM_QEMU" -nodefaults -no-user-config -accel "$VM_ACCEL" -cpu max
                -smp "${MEMGUARD_VM_SMP:-2}" -m "${MEMGUARD_VM_MEM:-1024}" -display none -no-reboot
                -kernel "$VM_KERNEL" -initrd "$VM_TMP"/initramfs.cpio)
        : >"$VM_TMP"/tap.log
        : >"$VM_TMP"/console.log
        t0=$(vm_now)
        if [ "${MEMGUARD_VM_SHELL:-0}" = 1 ]; then
                echo "# $name: interactive; the console is this terminal, TAP goes to $VM_TMP/tap.log" >&2
                "${qemu[@]}" -append "$append mg.shell=1" -serial mon:stdio -serial file:"$VM_TMP"/tap.log \
                        </dev/tty >/dev/tty 2>&1
                VM_QEMU_RC=$?
        else
                timeout -k 5 "$limit" "${qemu[@]}" -append "$append" -monitor none \
                        -serial file:"$VM_TMP"/console.log -serial file:"$VM_TMP"/tap.log \
                        </dev/null >"$VM_TMP"/qemu.out 2>&1 &
                VM_QEMU_PID=$!
                wait "$VM_QEMU_PID"
                VM_QEMU_RC=$?
                VM_QEMU_PID=
        fi
        t1=$(vm_now)
        VM_ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
        VM_LIMIT=$limit
        VM_NAME=$name
}

vm_console_tail() {
        tr -d '\r' <"$VM_TMP"/console.log | tail -n "${1:-40}" | sed 's/^/#   /'
}

# Prints the guest's TAP renumbered and closed by a test of its own for the boot as a whole (booted,
# finished, powered off in time), then the plan. Returns 0 when every test passed.
vm_report() {
        local n=0 fail=0 guest_plan= done_rc= line desc status
        local tap
        tap=$(tr -d '\r' <"$VM_TMP"/tap.log)
        while IFS= read -r line; do
                case "$line" in
                "ok "* | "not ok "*)
                        n=$((n + 1))
                        if [[ $line == "not ok "* ]]; then
                                status="not ok"
                                desc=${line#not ok }
                        else
                                status="ok"
                                desc=${line#ok }
                        fi
                        desc=$(printf '%s' "$desc" | sed -E 's/^[0-9]+ ?//')
                        if [ "$status" = "not ok" ] && [[ $desc != *"# TODO"* ]]; then
                                fail=$((fail + 1))
                        fi
                        echo "$status $n $desc"
                        ;;
                "1.."*) guest_plan=${line#1..} ;;
                "MG-VM-DONE"*) done_rc=${line#MG-VM-DONE} ;;
                "#"*) echo "$line" ;;
                "Bail out!"*) echo "# guest: $line" ;;
                "") ;;
                *) echo "# guest: $line" ;;
                esac
        done <<<"$tap"

        local verdict= running
        running=$(tr -d '\r' <"$VM_TMP"/console.log | grep -a '=== mg-vm: test ' | tail -n 1 |
                sed 's/.*=== mg-vm: test \([0-9]* [^ ]*\) ===.*/\1/')
        [ -n "$running" ] && running=", during guest test $running" || running=", before any test began"
        n=$((n + 1))
        if [ "${guest_plan%% *}" = 0 ] && [ -n "$done_rc" ]; then
                # The guest skipped everything, saying why.
                echo "1..0 # SKIP guest: ${guest_plan#0 # SKIP }"
                return 0
        fi
        if grep -aq 'Kernel panic' "$VM_TMP"/console.log; then
                verdict="guest kernel panicked after ${VM_ELAPSED}s$running"
        elif [ "$VM_QEMU_RC" = 124 ] || [ "$VM_QEMU_RC" = 137 ]; then
                verdict="guest hung: no poweroff within the ${VM_LIMIT}s timeout (MEMGUARD_VM_TIMEOUT)$running"
        elif [ -z "$done_rc" ]; then
                verdict="guest stopped without finishing its tests (qemu exit $VM_QEMU_RC after ${VM_ELAPSED}s$running)"
        elif [ "$VM_QEMU_RC" != 0 ]; then
                verdict="qemu failed with exit $VM_QEMU_RC"
        elif [ -n "$guest_plan" ] && [ "${guest_plan%% *}" != $((n - 1)) ]; then
                verdict="guest planned ${guest_plan%% *} tests but reported $((n - 1))"
        fi
        if [ -z "$verdict" ]; then
                echo "ok $n - $VM_NAME: guest booted, ran its tests and powered off in ${VM_ELAPSED}s ($(basename "$VM_KERNEL"), accel $VM_ACCEL)"
        else
                fail=$((fail + 1))
                echo "not ok $n - $VM_NAME: $verdict"
                echo "#   last console lines:"
                vm_console_tail 40
                [ -s "$VM_TMP"/qemu.out ] && sed 's/^/#   qemu: /' "$VM_TMP"/qemu.out
        fi
        echo "1..$n"
        if [ "$fail" -gt 0 ] || [ "${MEMGUARD_VM_VERBOSE:-0}" = 1 ]; then
                {
                        echo "===== $VM_NAME: guest console (ttyS0) ====="
                        tr -d '\r' <"$VM_TMP"/console.log
                        echo "===== end of guest console ====="
                } >&2
        fi
        [ "$fail" -eq 0 ]
}
