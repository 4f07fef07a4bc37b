#!/bin/bash
# SPDX-License-Identifier: MIT
# VM tier 1: the cgroup v2 memory backend of "memguard run", for real, in a guest kernel that has the
# memory controller (this machine's cgroup2 tree has none). Boots Debian's cloud kernel under qemu
# (TCG) on an initramfs of busybox-static, the freshly built memguard and memhog and their libraries,
# jq, and tests/vm/guest-cgroup2.sh. TAP out; see tests/vm/README.
#   run alone:  make check TESTS=tests/vm/cgroup2.sh     or, from the build tree: tests/vm/cgroup2.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-vm.sh"

vm_locate
vm_require_host
MEMGUARD=${MEMGUARD_VM_MEMGUARD:-$top_builddir/client/memguard}
MEMHOG=${MEMGUARD_VM_MEMHOG:-$top_builddir/tests/helpers/memhog}
[ -x "$MEMGUARD" ] || vm_die_skip "$MEMGUARD is not built (run make first)"
[ -x "$MEMHOG" ] || vm_die_skip "$MEMHOG is not built (make tests/helpers/memhog, or make check)"
JQ=$(command -v jq) || vm_die_skip "jq not found: the guest reads memguard's JSON report with it (apt-get install jq)"

vm_workdir cgroup2
vm_root_skeleton
vm_install_built "$MEMGUARD" /mg/bin/memguard
vm_install_built "$MEMHOG" /mg/bin/memhog
MEMGUARDD=${MEMGUARD_VM_MEMGUARDD:-$top_builddir/daemon/memguardd}
[ -x "$MEMGUARDD" ] && vm_install_built "$MEMGUARDD" /mg/bin/memguardd
vm_copy_elf "$JQ"
vm_install_busybox
vm_install_guest_scripts "$VM_SRCDIR"/guest-cgroup2.sh
echo guest-cgroup2.sh >"$VM_ROOT"/mg/tests/run
cp "$VM_SRCDIR"/guest-init.sh "$VM_ROOT"/init
chmod 755 "$VM_ROOT"/init
vm_build_initramfs

# The whole guest run under emulation: a ceiling for a hung guest, far above what an idle host needs,
# since a busy one must not fail the tier.
vm_boot cgroup2 900 "console=ttyS0 panic=-1 oops=panic quiet loglevel=3 mitigations=off"
vm_report
exit 0
