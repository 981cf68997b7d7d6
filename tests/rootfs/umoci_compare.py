#!/usr/bin/env python3
"""Builds a three-layer OCI image by hand (whiteouts, an opaque directory,
hard links across layers, a file replaced by a directory and the reverse,
setuid/setgid bits, a capability xattr, devices, a symlinked parent), unpacks
it with `umoci unpack` and compares that tree with the ext4 image that
supermachine builds from the same layer blobs. Then checks that zstd and
uncompressed copies of the layers give the very same image tree.

Needs root (umoci keeps ownership and makes device nodes only as root).
Environment: MKROOTFS, EXT4_MANIFEST (built helpers)."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manifest  # noqa: E402

CAP_NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")
T0 = 1700000000


class Layer:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.t = T0

    def add(self, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0,
            link="", pax=None, dev=(0, 0)):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.linkname = kind, mode, uid, gid, link
        self.t += 1
        ti.mtime = self.t
        ti.size = len(data) if kind == tarfile.REGTYPE else 0
        ti.devmajor, ti.devminor = dev
        if pax:
            ti.pax_headers = pax
        self.tar.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    def dir(self, name, mode=0o755, uid=0, gid=0):
        self.add(name, tarfile.DIRTYPE, mode=mode, uid=uid, gid=gid)

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def layer1():
    l = Layer()
    l.dir("./")
    for d in ("bin/", "etc/", "usr/", "usr/bin/", "data/", "dev/", "home/"):
        l.dir(d)
    l.add("bin/busybox", data=b"\x7fELF busybox" * 500, mode=0o755)
    l.add("bin/sh", tarfile.SYMTYPE, link="busybox")
    l.add("bin/su", data=b"su binary", mode=0o4755)
    l.add("bin/ping", data=b"ping binary", mode=0o755,
          pax={"SCHILY.xattr.security.capability": CAP_NET_RAW.decode("latin-1")})
    l.add("usr/bin/passwd", data=b"passwd", mode=0o6755, gid=42)
    l.add("usr/bin/far", tarfile.SYMTYPE, link="../../" + "x" * 90 + "/target")
    l.add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n")
    l.add("etc/shadow", data=b"root:*:19000::::::\n", mode=0o640, gid=42)
    l.add("etc/gone", data=b"to be whited out")
    l.dir("etc/gonedir/")
    l.add("etc/gonedir/a", data=b"a")
    l.dir("opq/")
    l.add("opq/old1", data=b"old1")
    l.dir("opq/oldsub/")
    l.add("opq/oldsub/old2", data=b"old2")
    l.add("repl", data=b"a file that becomes a directory")
    l.add("repl2", data=b"another, replaced with an explicit whiteout")
    l.dir("repldir/")
    l.add("repldir/x", data=b"x")
    l.add("data/orig", data=b"original contents")
    l.dir("tmp/", mode=0o1777)
    l.dir("srv/", mode=0o2775, gid=50)
    l.dir("home/u/", mode=0o700, uid=1000, gid=1000)
    l.add("home/u/.profile", data=b"export PS1='$ '\n", uid=1000, gid=1000)
    l.add("dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
    l.add("dev/sda", tarfile.BLKTYPE, mode=0o660, gid=6, dev=(8, 0))
    l.add("dev/initctl", tarfile.FIFOTYPE, mode=0o600)
    return l.bytes()


def layer2():
    l = Layer()
    l.dir("etc/")
    l.add("etc/.wh.gone")
    l.add("etc/.wh.gonedir")
    l.add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n")
    l.dir("opq/")
    l.add("opq/.wh..wh..opq")
    l.add("opq/new", data=b"new in layer 2")
    l.dir("repl/", mode=0o750)
    l.add("repl/inside", data=b"inside the new directory")
    l.add(".wh.repl2")
    l.dir("repl2/")
    l.add("repldir", data=b"a directory that became a file")
    l.dir("data/")
    l.add("data/hl", tarfile.LNKTYPE, link="data/orig")
    l.dir("bin/")
    l.add("bin/ping6", tarfile.LNKTYPE, link="bin/ping")
    l.add("bin/su", data=b"su, patched", mode=0o4750, gid=10)
    l.add("etclink", tarfile.SYMTYPE, link="/etc")
    return l.bytes()


def layer3():
    l = Layer()
    l.dir("data/")
    l.add("data/orig", data=b"replaced: data/hl keeps the original")
    l.add("etclink/motd", data=b"written through a symlinked parent\n")
    l.dir("usr/bin/")
    l.add("usr/bin/newgrp", data=b"newgrp", mode=0o2755, gid=42)
    return l.bytes()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def write_blob(layout, data):
    d = sha(data)
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def write_layout(layout, gz_layers, diff_ids):
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest_doc = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": write_blob(layout, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": write_blob(layout, g), "size": len(g)} for g in gz_layers],
    }).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": write_blob(layout, manifest_doc), "size": len(manifest_doc),
        "annotations": {"org.opencontainers.image.ref.name": "test"}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)


def run(*args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("FAIL: %s exited %d:\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r.stdout


def build(work, name, blobs):
    paths = []
    for i, b in enumerate(blobs):
        p = os.path.join(work, "%s-%d" % (name, i))
        with open(p, "wb") as f:
            f.write(b)
        paths.append("%s=%s" % (p, sha(b)))
    image = os.path.join(work, name + ".ext4")
    run(os.environ["MKROOTFS"], image, *paths)
    fsck = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    if fsck.returncode != 0:
        sys.exit("FAIL: e2fsck -fn %s:\n%s%s" % (image, fsck.stdout, fsck.stderr))
    return run(os.environ["EXT4_MANIFEST"], image).splitlines()


def compare(want, got, what):
    if want == got:
        print("ok: %s (%d paths)" % (what, len(want)))
        return True
    import difflib
    print("FAIL: %s differs (- umoci / + supermachine):" % what)
    print("\n".join(difflib.unified_diff(want, got, lineterm="", n=0)))
    return False


def main():
    if os.geteuid() != 0:
        print("skip: needs root so that umoci keeps owners and makes device nodes")
        return 77
    if not shutil.which("umoci"):
        print("skip: umoci is not installed")
        return 77
    tars = [layer1(), layer2(), layer3()]
    gz = [gzip.compress(t, mtime=0) for t in tars]
    with tempfile.TemporaryDirectory(prefix="sm-rootfs-") as work:
        layout = os.path.join(work, "layout")
        write_layout(layout, gz, [sha(t) for t in tars])
        bundle = os.path.join(work, "bundle")
        run("umoci", "unpack", "--image", layout + ":test", bundle)
        want = manifest.manifest(os.path.join(bundle, "rootfs"))
        ok = compare(want, build(work, "gzip", gz), "gzip layers against umoci unpack")
        zst = [run_zstd(t) for t in tars]
        ok &= compare(want, build(work, "zstd", zst), "zstd layers")
        # Uncompressed blobs, which a registry might list as tar+gzip.
        ok &= compare(want, build(work, "plain", tars), "uncompressed layers")
    return 0 if ok else 1


def run_zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


if __name__ == "__main__":
    sys.exit(main())
