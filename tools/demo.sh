#!/bin/sh
# make demo: boot the built-in guest and show that the command ran under its
# own kernel, not the host's.
set -eu
build=${1:-build}
echo "host kernel:  $(uname -sr)"
echo "booting a microVM (2 vCPUs, 128 MiB) with supermachine..."
exec "$build/supermachine" boot --cpus 2 --timing -- sh -c '
    echo "guest kernel: $(uname -sr) (PID 1: $(cat /proc/1/comm), $(nproc) CPUs)"
    echo "guest memory: $(grep MemTotal /proc/meminfo | tr -s " ")"'
