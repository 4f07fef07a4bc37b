#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the tier 1 guest (busybox sh as PID 1): mount the API filesystems and cgroup2 with the
# memory controller enabled, run the tier's guest script with its TAP on ttyS1, power off.
# The script to run is named in /mg/tests/run (one line); mg.shell=1 on the kernel command line gives
# an interactive shell on the console after the tests.
export PATH=/mg/bin:/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin
export HOME=/root TMPDIR=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
exec 0</dev/console 1>/dev/console 2>&1

tap=/dev/ttyS1
stty -F $tap raw -echo 2>/dev/null

echo "mg-vm: $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print $2 / 1024 " MiB" }' /proc/meminfo), up $(cut -d' ' -f1 /proc/uptime)s"

mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup ||
        echo "mg-vm: cannot mount cgroup2 on /sys/fs/cgroup" >&2
echo +memory >/sys/fs/cgroup/cgroup.subtree_control ||
        echo "mg-vm: cannot enable +memory in /sys/fs/cgroup/cgroup.subtree_control" >&2

shell=0
for w in $(cat /proc/cmdline); do
        [ "$w" = mg.shell=1 ] && shell=1
done

script=$(cat /mg/tests/run)
(cd /mg/tests && sh "./$script") >$tap
rc=$?
echo "MG-VM-DONE $rc" >$tap
echo "mg-vm: tests finished (rc $rc) at $(cut -d' ' -f1 /proc/uptime)s"

if [ $shell = 1 ]; then
        echo "mg-vm: interactive shell; TAP is in the host's tap.log; exit the shell to power off"
        setsid cttyhack sh -l
fi
sync
poweroff -f
echo o >/proc/sysrq-trigger
sleep 10
