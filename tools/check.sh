#!/bin/sh
# make check, after the unit (ASan) and fuzz runs: the build tree's tests,
# then the one summary line CI reads.
#
#   tools/check.sh BUILD ASAN_BUILD FUZZ_BUILD
#
# Tests that need KVM (meson suite 'kvm') run on this machine when its
# /dev/kvm works, else inside the emulated KVM host (tools/kvm-host), and
# only where neither can run them are they skipped, with the reason.
# SM_TEST_KVM=host|emulated forces one place (to try the emulated host on a
# machine with KVM); V=1 prints every test.
set -u
build=$1 asan=$2 fuzz=$3
tools=$(dirname "$0")
quiet=-q
[ -n "${V:-}" ] && quiet=

where=${SM_TEST_KVM:-}
if [ -z "$where" ]; then
    if why=$("$tools/kvm-probe"); then where=host; else where=emulated; fi
fi

# The VM tests' fixtures are built by host tests that come first (the
# Debian images of registry_debian_*), so that the emulated host, whose
# writes outside the build tree vanish, finds them in the cache.
# Suite oci-reference (the OCI runtime's cases against runc and crun) is
# only run by hand: see tests/oci-runtime/meson.build.
meson test -C "$build" --no-rebuild --no-suite kvm --no-suite oci-reference \
    --print-errorlogs $quiet

kvm_log=kvmlog
rm -f "$build/meson-logs/$kvm_log.json"
kvm_tests=$(meson test -C "$build" --no-rebuild --list --suite kvm 2>/dev/null | wc -l)
case $where in
host)
    echo "KVM: this machine ($("$tools/kvm-probe"))"
    meson test -C "$build" --no-rebuild --suite kvm --logbase $kvm_log --print-errorlogs $quiet
    ;;
emulated)
    if prep=$("$tools/kvm-host" --prepare 2>&1); then
        echo "KVM: emulated (QEMU TCG, nested SVM) — guest timings are not representative"
        # An hour and a quarter: a wedged host must end before CI's limit.
        "$tools/kvm-host" --timeout 4500 -- \
            meson test -C "$build" --no-rebuild --suite kvm --logbase $kvm_log \
            --print-errorlogs $quiet
    else
        reason="${why:-SM_TEST_KVM=emulated}, and the emulated KVM host cannot start: ${prep##*kvm-host: }"
        echo "KVM: none — $reason"
        SM_KVM_SKIP_REASON=$reason meson test -C "$build" --no-rebuild --suite kvm \
            --logbase $kvm_log $quiet
    fi
    ;;
*)
    echo "SM_TEST_KVM must be host or emulated, not '$where'" >&2
    exit 2
    ;;
esac

exec "$tools/test-summary.py" "$asan/meson-logs/testlog.json" "$fuzz/meson-logs/testlog.json" \
    "$build/meson-logs/testlog.json" "$build/meson-logs/$kvm_log.json=$kvm_tests"
