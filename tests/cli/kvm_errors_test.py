#!/usr/bin/env python3
"""What `run` and `bake` say on a machine where VMs cannot start.

kvm_errors_test.py CASE

Each case builds the machine it needs in a private mount namespace (so it
needs root, and skips with exit 77 without): /dev/kvm absent, or present
but not this user's to open. Both must be refused before any pull (the
image named here lives on a registry that does not exist, so a pull would
fail with a network error instead), in one line, with exit status 125.
"""
import os, subprocess, sys

SM = os.environ["SM"]
NOWHERE = "127.0.0.1:9/nothing/here:1"   # port 9 (discard) is never a registry
UID = 61235


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def in_namespace(setup, argv, as_user=False):
    """Runs argv after `setup` (shell, in a private mount namespace), as
    uid UID when as_user."""
    drop = (f"setpriv --reuid={UID} --regid={UID} --groups={UID} --inh-caps=-all "
            "--bounding-set=-all " if as_user else "")
    script = ("set -e; mount --make-rprivate /; " + setup + '; exec ' + drop + '"$@"')
    env = dict(os.environ, HOME="/nonexistent", SUPERMACHINE_DATA_DIR="/nonexistent/data")
    p = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *argv], env=env,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def expect_refusal(rc, out, err, words):
    lines = err.strip().splitlines()
    check(rc == 125, f"exit status {rc}, wanted 125", err)
    check(len(lines) == 1, "one line on stderr", err)
    check(all(w in lines[0] for w in words), f"the line names the cause {words}", lines[0])
    check("registry" not in err and "9/nothing" not in err, "refused before any pull", err)


# A fresh /dev of the namespace's own: the machine's stays untouched.
FRESH_DEV = "mount -t tmpfs -o mode=755 tmpfs /dev; mknod -m 666 /dev/null c 1 3"


def case_no_kvm():
    for cmd in (["run", "--rm", NOWHERE, "true"], ["bake", NOWHERE]):
        rc, out, err = in_namespace(FRESH_DEV, [SM, *cmd])
        expect_refusal(rc, out, err, ["/dev/kvm does not exist"])


def case_kvm_no_permission():
    # As distributions set it up, in a group this user is not in...
    node = FRESH_DEV + "; mknod -m 660 /dev/kvm c 10 232; chown 0:61999 /dev/kvm"
    rc, out, err = in_namespace(node, [SM, "run", NOWHERE, "true"], as_user=True)
    expect_refusal(rc, out, err, ["no permission to open /dev/kvm", "group 61999",
                                  "usermod -aG 61999"])
    # ... and root's alone, as some minimal systems leave it.
    node = FRESH_DEV + "; mknod -m 600 /dev/kvm c 10 232"
    rc, out, err = in_namespace(node, [SM, "run", NOWHERE, "true"], as_user=True)
    expect_refusal(rc, out, err, ["no permission to open /dev/kvm", "only root may",
                                  "chmod 660 /dev/kvm"])


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: builds its machines in mount namespaces, which needs root")
        sys.exit(77)
    globals()["case_" + sys.argv[1]]()
