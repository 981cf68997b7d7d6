#!/bin/busybox sh
# PID 1 of the emulated KVM host (tools/kvm-host). It loads the modules
# (kvm_amd among them, which makes /dev/kvm), builds the view the command
# runs in and powers off when the command ends:
#   /            the host machine's root, read-only over 9p, under a tmpfs
#                overlay (writes land in this host's RAM and vanish)
#   the caller's directory and any extra shares: the host's own, writable
#   /proc /sys /dev /dev/pts /dev/shm /run: fresh; /tmp stays the host's
#                under the overlay, so a checkout or file there is seen
#   the network: QEMU's user-mode NAT (10.0.2.15, DNS 10.0.2.3)
# The command's stdout and stderr go to two virtio serial ports the caller
# reads, a heartbeat to a third; its exit status goes into the control
# share (ctl), as does a sentence if this script itself fails.
/bin/busybox mkdir -p /bin /proc /sys /dev /mnt/ctl
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

p9() { mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2"; }

fail() {
    echo "kvm-host init: $*"
    [ -d /mnt/ctl/. ] && echo "$*" >/mnt/ctl/error
    poweroff -f
}

while read -r m; do
    insmod "/lib/modules/$m" || fail "cannot load the module $m"
done </lib/modules/order
p9 ctl /mnt/ctl cache=none || fail "cannot mount the control share"
grep -q loglevel=7 /proc/cmdline && cat /proc/kallsyms >/mnt/ctl/kallsyms  # debugging
ip link set lo up || fail "cannot bring the loopback interface up"
# QEMU's user-mode NAT has fixed addresses: us, its gateway, its DNS.
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
    ip route add default via 10.0.2.2 || fail "cannot set up the network"
[ -c /dev/kvm ] || fail "kvm_amd made no /dev/kvm: the emulated CPU lacks SVM"

new=/newroot
mkdir -p /mnt/host /mnt/upper $new
p9 hostroot /mnt/host ro,cache=loose || fail "cannot mount the host's root"
mount -t tmpfs -o mode=0755 upper /mnt/upper
mkdir -p /mnt/upper/u /mnt/upper/w
mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/upper/u,workdir=/mnt/upper/w \
    overlay $new || fail "cannot put an overlay over the host's root"

mount -t proc proc $new/proc
mount -t sysfs sys $new/sys
mount -t cgroup2 cgroup2 $new/sys/fs/cgroup
mount -t devtmpfs dev $new/dev
mkdir -p $new/dev/pts $new/dev/shm
mount -t devpts -o ptmxmode=0666,newinstance devpts $new/dev/pts
ln -sf pts/ptmx $new/dev/ptmx
mount -t tmpfs -o mode=1777 shm $new/dev/shm
mount -t tmpfs -o mode=0755 run $new/run
rm -f $new/etc/resolv.conf
echo "nameserver 10.0.2.3" >$new/etc/resolv.conf
mkdir -p $new/run/kvm-host
mount --bind /mnt/ctl $new/run/kvm-host

# Writable shares: "tag path" lines, the caller's directory first; after
# the fresh /run, so that a directory under it stays visible.
while read -r tag path; do
    mkdir -p "$new$path"
    p9 "$tag" "$new$path" cache=mmap || fail "cannot mount the share of $path"
done </mnt/ctl/shares

port() {
    for p in /sys/class/virtio-ports/*; do
        [ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${p##*/}"; return; }
    done
    fail "no virtio serial port named $1"
}
out=$(port out) || exit
err=$(port err) || exit
beat=$(port beat) || exit
# A sign of life for kvm-host, which ends a host that falls silent.
(while :; do echo; sleep 5; done) >"$beat" &
if [ -d /sys/class/virtio-ports ] && grep -qx shell /sys/class/virtio-ports/*/name; then
    sh=$(port shell)  # SM_KVM_HOST_DEBUG: shell.sock in kvm-host's directory
    (while :; do chroot $new /bin/sh -i <"$sh" >"$sh" 2>&1; sleep 1; done) &
fi

echo "kvm-host init: running the command"
chroot $new /usr/bin/env -i /bin/sh /run/kvm-host/run.sh <$new/dev/null >"$out" 2>"$err"
echo $? >/mnt/ctl/status
sync
poweroff -f
