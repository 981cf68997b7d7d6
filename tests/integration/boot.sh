#!/bin/bash
# Integration tests of `supermachine boot`: real KVM, the real guest kernel
# and initramfs. Usage: boot.sh CASE (the SM environment variable names the
# supermachine binary). Exit 0 pass, 1 fail, 77 skip. The cases that boot a
# guest run through tests/kvm_test.py (meson.build), which skips them where
# no KVM can run them.
set -u
SM=${SM:?SM must name the supermachine binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$work/out"; echo "--- stderr"; cat "$work/err"; exit 1; }

# Run supermachine; leaves stdout/stderr in files and the status in $rc.
sm() { timeout "${SM_TIMEOUT:-600}" "$SM" "$@" >"$work/out" 2>"$work/err"; rc=$?; }
expect_rc() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"; }
expect_line() { grep -qxF -- "$1" "$work/out" || fail "no line '$1' on stdout"; }
# An error is one line on stderr that names the problem.
expect_error() {
    [ "$(wc -l <"$work/err")" -eq 1 ] || fail "expected a one-line error"
    grep -qF -- "$1" "$work/err" || fail "error does not say '$1'"
}
need_root() { [ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }; }

case "${1:?case}" in
echo_1cpu)
    sm boot -- echo hello from the guest
    expect_rc 0
    expect_line "hello from the guest"
    ;;
exit_status)
    sm boot -- sh -c 'echo before; exit 7'
    expect_rc 7
    expect_line before
    ;;
two_cpus)
    sm boot --cpus 2 -- sh -c 'nproc; grep -c ^processor /proc/cpuinfo'
    expect_rc 0
    [ "$(grep -cx 2 "$work/out")" -eq 2 ] || fail "guest does not see 2 CPUs"
    ;;
killed_by_signal)
    sm boot -- sh -c 'kill -TERM $$'
    expect_rc 143
    ;;
command_not_found)
    sm boot -- /no/such/program
    expect_rc 127
    grep -qF "cannot run '/no/such/program'" "$work/out" || fail "no message about the missing program"
    ;;
guest_panic)
    # An init that exits at once makes the kernel panic ("Attempted to kill init").
    sm boot --cmdline rdinit=/bin/false -- true
    expect_rc 125
    grep -q "guest kernel panicked" "$work/err" || fail "panic not reported"
    grep -q "Kernel panic" "$work/err" || fail "panic report lacks the console lines"
    ;;
guest_power_off)
    # No ACPI: power off must still end the VM (through the reset line),
    # not leave it halted forever.
    SM_TIMEOUT=200 sm boot -- poweroff -f
    expect_rc 125
    grep -q "powered off or rebooted before the command finished" "$work/err" ||
        fail "power off not reported"
    ;;
missing_kernel)
    sm boot --kernel "$work/nope" -- true
    expect_rc 125
    expect_error "cannot open kernel '$work/nope': No such file or directory"
    ;;
garbage_kernel)
    head -c 65536 /dev/urandom >"$work/vmlinux"
    sm boot --kernel "$work/vmlinux" -- true
    expect_rc 125
    expect_error "is not a usable vmlinux"
    ;;
too_little_memory)
    sm boot --memory 8 -- true
    expect_rc 125
    expect_error "guest memory of 8 MiB is too small"
    ;;
bad_cpu_count)
    sm boot --cpus 0 -- true
    expect_rc 125
    grep -qF -- "--cpus wants a number" "$work/err" || fail "no usage error"
    ;;
no_kvm_device)
    need_root
    # A private mount namespace with an empty /dev: as on a host without KVM.
    unshare -m sh -c 'mount -t tmpfs tmpfs /dev && exec "$0" boot -- true' "$SM" \
        >"$work/out" 2>"$work/err"
    rc=$?
    expect_rc 125
    expect_error "/dev/kvm does not exist"
    ;;
kvm_permission_denied)
    need_root
    # A root-only /dev/kvm in a private /dev, opened by an unprivileged user
    # (with a kernel and initramfs that user can read: root's cache is not).
    chmod 755 "$work"
    cp "$(dirname "$SM")/guest/vmlinux" "$(dirname "$SM")/guest/initramfs.cpio" "$work/"
    chmod 644 "$work/vmlinux" "$work/initramfs.cpio"
    unshare -m sh -c 'mount -t tmpfs tmpfs /dev && mknod -m 600 /dev/kvm c 10 232 &&
        mknod -m 666 /dev/null c 1 3 &&
        exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" boot \
            --kernel "$1/vmlinux" --initrd "$1/initramfs.cpio" -- true' "$SM" "$work" \
        >"$work/out" 2>"$work/err"
    rc=$?
    expect_rc 125
    expect_error "no permission to open /dev/kvm"
    ;;
*)
    echo "unknown case $1"
    exit 1
    ;;
esac
echo "ok: $1"
