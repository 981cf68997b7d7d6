#!/usr/bin/env python3
"""The demo image of `make demo`, built from Debian's busybox-static
package as installed on this machine (no network needed): an OCI image
layout tagged supermachine/demo:latest whose Cmd shows where it runs.

mkdemoimage.py DIR
"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

DEMO = b"""#!/bin/sh
# What the demo prints: this process runs under its own kernel.
echo "guest kernel:  $(uname -sr)"
echo "host kernel:   ${HOST_KERNEL:-?}"
echo "PID 1:         $(cat /proc/1/comm) (the microVM's init, not the host's)"
echo "CPUs, memory:  $(nproc), $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2-)"
echo "hostname:      $(hostname)"
echo "network:       $(ip -4 -o addr show eth0 2>/dev/null | tr -s ' ' | cut -d' ' -f4 || echo none)"
"""


def busybox_path():
    files = subprocess.run(["dpkg", "-L", "busybox-static"], capture_output=True, text=True,
                           check=True).stdout.split()
    return next(f for f in files if f.endswith("/busybox") and os.path.isfile(f))


def layer():
    buf = io.BytesIO()
    bb = busybox_path()
    applets = subprocess.run([bb, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, kind, data=b"", mode=0o755):
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, mode
                t.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data, 0o777
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), mode
                t.addfile(ti, io.BytesIO(data))
        for d in ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "usr/local", "usr/local/bin",
                  "etc", "root", "tmp", "proc", "sys", "dev"]:
            add(d, "dir", mode=0o1777 if d == "tmp" else 0o755)
        add("bin/busybox", "file", open(bb, "rb").read())
        for a in sorted(set(applets) - {"bin/busybox"}):
            add(a, "sym", "/bin/busybox")
        add("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
        add("etc/group", "file", b"root:x:0:\n", 0o644)
        add("usr/local/bin/demo", "file", DEMO)
    return gzip.compress(buf.getvalue(), mtime=0), hashlib.sha256(buf.getvalue()).hexdigest()


def main(out):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        return "sha256:" + d, len(data)

    blob, diff = layer()
    ldigest, lsize = put(blob)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "created": "2023-11-14T22:13:20Z",
                         "config": {"Cmd": ["/usr/local/bin/demo"],
                                    "Env": ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}).encode()
    cdigest, csize = put(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cdigest, "size": csize},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": ldigest, "size": lsize}]}).encode()
    mdigest, msize = put(manifest)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
            "size": msize, "annotations": {
                "org.opencontainers.image.ref.name": "latest",
                "io.containerd.image.name": "supermachine/demo:latest"}}]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


if __name__ == "__main__":
    main(sys.argv[1])
