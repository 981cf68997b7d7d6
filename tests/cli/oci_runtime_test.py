#!/usr/bin/env python3
"""supermachine-oci where no VM starts: the refusals an engine's user
meets (bad bundles, unknown containers and commands), `features`,
`--version`, `delete --force` of what a killed create left, and the
--log a shim reads. Containers that run are tests/oci-runtime/'s.

oci_runtime_test.py CASE
"""
import json, os, shutil, subprocess, sys, tempfile

OCI = os.environ["SM_OCI"]


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def oci(root, *args, log=None):
    cmd = [OCI, "--root", root]
    if log:
        cmd += ["--log", log, "--log-format", "json"]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def bundle(tmp, config=None, rootfs=True):
    b = tempfile.mkdtemp(dir=tmp, prefix="bundle-")
    if rootfs:
        os.mkdir(os.path.join(b, "rootfs"))
    if config is not None:
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
    return b


def config(**over):
    c = {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
         "process": {"args": ["sh", "-c", "true"], "cwd": "/", "env": ["PATH=/bin"]},
         "hostname": "t"}
    c.update(over)
    return c


def refused(tmp, b, words, cid="c1"):
    """create exits 1 with a sentence naming the problem, on stderr and in
    the JSON log, and leaves nothing under --root."""
    root = os.path.join(tmp, "root")
    log = os.path.join(tmp, "log.json")
    rc, out, err = oci(root, "create", "--bundle", b, cid, log=log)
    check(rc == 1, f"create of a bad bundle exits 1 (got {rc})", err)
    check(all(w in err for w in words), f"the error names {words}", err)
    with open(log) as f:
        last = json.loads(f.read().splitlines()[-1])
    check(last["level"] == "error" and all(w in last["msg"] for w in words),
          "the log's last line is the error, as containerd's shim reads it", last)
    left = [n for n in os.listdir(root) if not n.startswith(".")]
    check(left == [], "a refused create leaves no container behind", left)
    os.unlink(log)


def case_bad_bundles():
    tmp = tempfile.mkdtemp(prefix="sm-oci-test-")
    refused(tmp, bundle(tmp), ["config.json", "No such file"])
    refused(tmp, bundle(tmp, config(), rootfs=False), ["root.path", "No such file"])
    refused(tmp, bundle(tmp, config(ociVersion="9.0.0")), ["ociVersion 9.0.0", "1.x"])
    refused(tmp, bundle(tmp, {"root": {"path": "rootfs"}}), ["ociVersion is missing"])
    bad = config()
    bad["process"]["args"] = []
    refused(tmp, bundle(tmp, bad), ["process.args", "empty"])
    bad["process"]["args"] = ["sh", 3]
    refused(tmp, bundle(tmp, bad), ["process.args[1]", "string"])
    bad = config()
    del bad["process"]["cwd"]
    refused(tmp, bundle(tmp, bad), ["process.cwd"])
    refused(tmp, bundle(tmp, config(mounts=[{"destination": "/x", "type": "ext4",
                                             "source": "/dev/sda1"}])),
            ["mounts[0]", "ext4", "/x"])
    refused(tmp, bundle(tmp, config(mounts=[{"destination": "/x", "type": "bind",
                                             "source": "/nonexistent", "options": ["rbind"]}])),
            ["mounts[0]", "/nonexistent"])
    term = config()
    term["process"]["terminal"] = True
    refused(tmp, bundle(tmp, term), ["terminal", "--console-socket"])
    refused(tmp, bundle(tmp, config()), ["invalid container id"], cid="../x")
    with open(os.path.join(bundle(tmp, config()), "config.json"), "w") as f:
        f.write("{not json")
    shutil.rmtree(tmp)


def case_unknown():
    root = tempfile.mkdtemp(prefix="sm-oci-test-")
    for args, words in [(["state", "nope"], "container nope does not exist"),
                        (["start", "nope"], "container nope does not exist"),
                        (["kill", "nope", "KILL"], "container nope does not exist"),
                        (["delete", "nope"], "container nope does not exist"),
                        (["exec", "nope", "true"], "container nope does not exist"),
                        (["frob"], "unknown command 'frob'"),
                        (["--frob", "list"], "unknown global option --frob")]:
        rc, _, err = oci(root, *args)
        check(rc == 1 and words in err, f"{args} exits 1 saying '{words}'", rc, err)
    rc, _, err = oci(root, "delete", "--force", "nope")
    check(rc == 0, "delete --force of a missing container succeeds, as runc's", err)
    rc, out, _ = oci(root, "list", "--format", "json")
    check(rc == 0 and json.loads(out) == [], "list of no containers is []", out)
    shutil.rmtree(root)


def case_features_version():
    rc, out, _ = oci("/nonexistent-root", "features")
    f = json.loads(out)
    check(rc == 0 and f["ociVersionMin"].startswith("1.") and "poststop" in f["hooks"],
          "features is the spec's JSON", out)
    check(not os.path.exists("/nonexistent-root"), "features creates no state directory")
    rc, out, _ = oci("/tmp", "--version")
    check(rc == 0 and out.startswith("supermachine-oci version ") and "spec: 1." in out,
          "--version", out)


def case_half_created():
    """A create killed before its state was written leaves a directory
    (and perhaps a keeper's pid); delete --force clears it."""
    root = tempfile.mkdtemp(prefix="sm-oci-test-")
    os.makedirs(os.path.join(root, "half"))
    with open(os.path.join(root, "half", "keeper.pid"), "w") as f:
        f.write("1")  # init, not ours: must not be killed or trusted
    rc, _, err = oci(root, "delete", "--force", "half")
    check(rc == 0, "delete --force of a half-created container", err)
    check(not os.path.exists(os.path.join(root, "half")), "its directory is gone")
    shutil.rmtree(root)


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit(f"usage: oci_runtime_test.py {{{'|'.join(CASES)}}}")
    CASES[sys.argv[1]]()
