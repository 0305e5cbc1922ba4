#!/bin/sh
# /init of the QEMU test guests (tests/numa-guest/run.sh and tests/pmu-guest/run.sh pack it,
# with their own guest's script as /init.guest): mount /dev, /proc, /sys, /tmp and
# /dev/shm, send everything to the console, then run /init.guest in this shell.  The guest's
# script powers the guest off.
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
. /init.guest
