#!/bin/sh
# SPDX-License-Identifier: MIT
# ExecStart= of memguard-vmtest.service in the tier 2 guest: run guest-systemd.sh with its TAP on
# ttyS1 and its stderr in the journal and on the console, end with the line the host waits for.
# mg.shell=1 on the kernel command line: a shell on the console afterwards (exit it to power off).
export PATH="$(cat /mg/bindir 2>/dev/null || echo /usr/local/bin):/mg/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
export HOME=/root TMPDIR=/tmp
tap=/dev/ttyS1
stty -F $tap raw -echo 2>/dev/null
echo "mg-vm: tier 2 tests start at $(cut -d' ' -f1 /proc/uptime)s"
cd /mg/tests || exit 1
sh ./guest-systemd.sh >$tap
rc=$?
echo "MG-VM-DONE $rc" >$tap
echo "mg-vm: tests finished (rc $rc) at $(cut -d' ' -f1 /proc/uptime)s"
if grep -qw mg.shell=1 /proc/cmdline; then
        echo "mg-vm: interactive shell; TAP is in the host's tap.log; exit the shell to power off"
        setsid -c sh -l <>/dev/ttyS0 >&0 2>&0
fi
exit 0
