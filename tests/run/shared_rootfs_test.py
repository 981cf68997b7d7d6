#!/usr/bin/env python3
"""Images that extend another share its root filesystem: a base, a child
whose layers extend the base's, and a grandchild extending the child are
pushed to a loopback registry (docker-registry) and pulled in that
order. The child's and grandchild's root filesystems on disk hold only
their own layers (a delta with a .parent link), and a VM of each sees what
docker would: the added file, not the deleted one, an opaque directory's
new contents only, and the base's files.

gc: `rmi` of the base keeps its root filesystem while the child's delta
builds on it; `rmi` of them all leaves nothing; gc removes a delta whose
base was deleted by hand.

shared_rootfs_test.py CASE   (CASE: chain, which boots VMs, or gc)
"""
import gzip, io, json, os, shutil, subprocess, sys, tarfile, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import loopback_registry  # noqa: E402
import mkrunimage as mk  # noqa: E402

SM = os.environ["SM"]


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            mk.add(t, *e)
    return gzip.compress(buf.getvalue(), mtime=0)


LAYERS = {
    "base": [("etc/removed", "file", b"in the base\n"), ("opq", "dir"),
             ("opq/old", "file", b"old\n"), ("keep", "dir"), ("keep/k", "file", b"kept\n")],
    "child": [("added", "file", b"from the child\n"), ("etc/.wh.removed", "file"),
              ("opq", "dir"), ("opq/.wh..wh..opq", "file"), ("opq/new", "file", b"new\n")],
    "grand": [("grand", "file", b"from the grandchild\n"), (".wh.added", "file")],
}


def write_layout(out):
    """One OCI layout, a tag per image: base = busybox + base layer, child =
    base + child layer, grand = child + grand layer."""
    os.makedirs(os.path.join(out, "blobs", "sha256"))
    blobs = [mk.base_layer()] + [layer(LAYERS[t]) for t in ("base", "child", "grand")]
    manifests = []
    for tag, n in (("base", 2), ("child", 3), ("grand", 4)):
        diff_ids = [mk.sha(gzip.decompress(b)) for b in blobs[:n]]
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "config": {"Cmd": ["sh"], "Env": ["PATH=/bin:/usr/bin"]},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": mk.put(out, config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": mk.put(out, b), "size": len(b)} for b in blobs[:n]]}).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": mk.put(out, manifest), "size": len(manifest),
                          "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


def sm(*args):
    p = subprocess.run([SM, *args], capture_output=True, text=True, timeout=1200)
    return p.returncode, p.stdout, p.stderr


def rootfs_of(store, top_layer_digest):
    """The image file whose .layers list ends with the given layer."""
    d = os.path.join(store, "rootfs")
    for name in os.listdir(d):
        if name.endswith(".layers"):
            lines = open(os.path.join(d, name)).read().split()
            if lines and lines[-1] == top_layer_digest:
                return os.path.join(d, name[:-7])
    check(False, "no root filesystem lists " + top_layer_digest, os.listdir(d))


def allocated(path):
    return os.stat(path).st_blocks * 512


def run_in(ref, script):
    rc, out, err = sm("run", "--rm", "--network", "none", ref, "sh", "-c", script)
    check(rc == 0, f"run {ref}: exit {rc}", out, err)
    return out


def pull_all(work, layout):
    """Pushes the three images and pulls them, base first: the registry's name."""
    try:
        reg_proc, reg = loopback_registry.start(work)
    except RuntimeError as e:
        check(False, str(e))
    try:
        for tag in ("base", "child", "grand"):
            loopback_registry.push(layout, tag, reg, "chain")
        for tag in ("base", "child", "grand"):
            rc, out, err = sm("pull", f"{reg}/chain:{tag}")
            check(rc == 0, f"pull {tag}", out, err)
    finally:
        reg_proc.kill()
        reg_proc.wait()
    return reg


def image_files(store, layout):
    """Each tag's root filesystem: <data>/rootfs/<key> (without .ext4)."""
    idx = json.load(open(os.path.join(layout, "index.json")))["manifests"]
    tops = {}
    for m, tag in zip(idx, ("base", "child", "grand")):
        man = json.load(open(os.path.join(layout, "blobs", "sha256", m["digest"][7:])))
        tops[tag] = rootfs_of(store, man["layers"][-1]["digest"])
    return tops


def case_gc(work):
    layout = os.path.join(work, "layout")
    write_layout(layout)
    reg = pull_all(work, layout)
    store = os.environ["SUPERMACHINE_DATA_DIR"]
    tops = image_files(store, layout)
    rootfs = os.path.join(store, "rootfs")
    rc, out, err = sm("rmi", f"{reg}/chain:base")
    check(rc == 0, "rmi base", out, err)
    check(os.path.exists(tops["base"] + ".ext4"), "rmi deleted the base the child builds on")
    rc, out, err = sm("rmi", f"{reg}/chain:child")
    check(rc == 0, "rmi child", out, err)
    for tag in ("base", "child"):
        check(os.path.exists(tops[tag] + ".ext4"), f"rmi deleted {tag}, which grand builds on")
    # A delta whose base is gone cannot be used: gc removes it.
    shutil.copy(tops["child"] + ".ext4", os.path.join(work, "child.ext4"))
    os.unlink(tops["child"] + ".ext4")
    rc, out, err = sm("gc")
    check(rc == 0, "gc", out, err)
    check(not os.path.exists(tops["grand"] + ".ext4"), "gc kept a delta whose base is gone",
          os.listdir(rootfs))
    check(not os.path.exists(tops["grand"] + ".parent"), "gc kept an orphan's .parent")
    rc, out, err = sm("rmi", f"{reg}/chain:grand")
    check(rc == 0, "rmi grand", out, err)
    check(os.listdir(rootfs) == [], "gc left root filesystems no image uses", os.listdir(rootfs))


def case_chain(work):
    layout = os.path.join(work, "layout")
    write_layout(layout)
    reg = pull_all(work, layout)
    store = os.environ["SUPERMACHINE_DATA_DIR"]
    tops = image_files(store, layout)
    for tag, parent in (("child", "base"), ("grand", "child")):
        link = tops[tag] + ".parent"
        check(os.path.exists(link), f"{tag}'s root filesystem is not a delta")
        check(open(link).read().strip() == os.path.basename(tops[parent]),
              f"{tag}'s root filesystem does not build on {parent}'s")
        size, whole = allocated(tops[tag] + ".ext4"), allocated(tops["base"] + ".ext4")
        print(f"{tag}: {size} bytes on disk, the base {whole}")
        check(size * 4 < whole, f"{tag}'s delta takes {size} bytes, the base {whole}")
    check(not os.path.exists(tops["base"] + ".parent"), "the base is a delta")
    out = run_in(f"{reg}/chain:child",
                 "cat /added; ls /etc/removed 2>/dev/null || echo removed-gone; "
                 "ls /opq; cat /keep/k; test -x /bin/busybox && echo base-seen")
    check(out == "from the child\nremoved-gone\nnew\nkept\nbase-seen\n", "the child's view", out)
    out = run_in(f"{reg}/chain:grand",
                 "cat /grand; ls /added 2>/dev/null || echo added-gone; "
                 "ls /etc/removed 2>/dev/null || echo removed-gone; ls /opq; cat /keep/k; "
                 "echo written >/added && cat /added")
    check(out == "from the grandchild\nadded-gone\nremoved-gone\nnew\nkept\nwritten\n",
          "the grandchild's view", out)
    # A writable layer on a disk (sm_upper) beside the grandchild's three.
    upper = os.path.join(work, "upper.ext4")
    for script, want in (("echo kept-on-disk >/etc/removed && ls /dev/vdd", "/dev/vdd\n"),
                         ("cat /etc/removed; cat /grand", "kept-on-disk\nfrom the grandchild\n")):
        rc, out, err = sm("run", "--rm", "--network", "none", "--disk", upper,
                          f"{reg}/chain:grand", "sh", "-c", script)
        check(rc == 0 and out == want, "the grandchild with --disk", rc, out, err)


def main():
    if not shutil.which("docker-registry"):
        print("skipped: docker-registry is not installed")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="sm-shared-rootfs-")
    os.environ["SUPERMACHINE_DATA_DIR"] = os.path.join(work, "store")
    os.environ["XDG_RUNTIME_DIR"] = os.path.join(work, "run")
    os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
    try:
        globals()["case_" + sys.argv[1]](work)
    finally:
        subprocess.run(["rm", "-rf", work])
    print("ok", sys.argv[1])


if __name__ == "__main__":
    main()
