#!/usr/bin/env python3
"""kvm_test.py TEST [ARGS...]: the one door of every test that needs a
working /dev/kvm (meson suite 'kvm').

Runs TEST when this machine can create a KVM VM. Otherwise the test is
skipped (exit 77) with the reason: the probe's own, or the one `make check`
puts in SM_KVM_SKIP_REASON when the emulated KVM host (tools/kvm-host),
where it would have run these tests, cannot start either."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "tools"))
from kvm_host import probe  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: kvm_test.py TEST [ARGS...]")
ok, why = probe.check()
if not ok:
    print("skipped:", os.environ.get("SM_KVM_SKIP_REASON") or why, flush=True)
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
