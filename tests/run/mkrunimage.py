#!/usr/bin/env python3
"""Build the images the `run` tests start, as one OCI image layout with a
tag per variant, from the host's static busybox (every applet linked), so
that no network is needed and digests repeat across runs.

mkrunimage.py DIR

Tags (the image config each has is what the tests expect docker to do):
  plain    Cmd ["sh"]; Env PATH and IMAGE_VAR=from-image; no Entrypoint,
           WorkingDir or User
  ep       Entrypoint ["/bin/echo", "ep:"], Cmd ["default-arg"],
           WorkingDir /srv/app (exists), User app (uid 1000, gid 1000,
           also in group "extra" 2000)
  numeric  Cmd ["id"], User "1000:2000" (ids, no names)
  nowd     Cmd ["pwd"], WorkingDir /does/not/exist/yet
  web      Cmd ["httpd", "-f", "-p", "80", "-h", "/etc"], ExposedPorts 80/tcp:
           a server that serves /etc (/etc/hostname tells which VM answered)
"""
import gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
MTIME = 1700000000


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put(out, data):
    d = sha(data)
    with open(os.path.join(out, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def add(t, name, kind, data=b"", mode=None, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.mtime, ti.uid, ti.gid = MTIME, uid, gid
    if kind == "dir":
        ti.type, ti.mode = tarfile.DIRTYPE, mode or 0o755
        t.addfile(ti)
    elif kind == "sym":
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data, 0o777
        t.addfile(ti)
    else:
        ti.size, ti.mode = len(data), mode or 0o644
        t.addfile(ti, io.BytesIO(data))


def applets():
    out = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                         text=True).stdout.split()
    return sorted(set(a for a in out if a and a != "bin/busybox"))


def base_layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp",
                  "home", "srv", "srv/app", "var", "var/www", "proc", "sys", "dev"]:
            add(t, d, "dir", mode=0o1777 if d == "tmp" else 0o700 if d == "root" else None)
        add(t, "home/app", "dir", uid=1000, gid=1000)
        add(t, "bin/busybox", "file", open(BUSYBOX, "rb").read(), 0o755)
        for a in applets():
            add(t, a, "sym", "/bin/busybox")
        add(t, "etc/passwd", "file",
            b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
            b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        add(t, "etc/group", "file",
            b"root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n")
        add(t, "etc/hostname", "file", b"image-hostname\n")
        add(t, "var/www/index.html", "file", b"served-from-the-guest\n")
    return gzip.compress(buf.getvalue(), mtime=0)


VARIANTS = {
    "plain": dict(Cmd=["sh"]),
    "ep": dict(Entrypoint=["/bin/echo", "ep:"], Cmd=["default-arg"], WorkingDir="/srv/app",
               User="app"),
    "numeric": dict(Cmd=["id"], User="1000:2000"),
    "nowd": dict(Cmd=["pwd"], WorkingDir="/does/not/exist/yet"),
    "web": dict(Cmd=["httpd", "-f", "-p", "80", "-h", "/etc"], ExposedPorts={"80/tcp": {}}),
}


def history(extra):
    """What a Dockerfile build of the variant records: the layer's ADD,
    then one empty step per config key."""
    steps = [{"created": "2023-11-14T22:13:19Z",
              "created_by": "/bin/sh -c #(nop) ADD file:busybox-static in / "}]
    for key, value in sorted(extra.items()):
        steps.append({"created": "2023-11-14T22:13:20Z", "empty_layer": True,
                      "created_by": f"/bin/sh -c #(nop)  {key.upper()} {json.dumps(value)}"})
    return steps


def main(out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "blobs", "sha256"))
    layer = base_layer()
    diff_id = sha(gzip.decompress(layer))
    ldigest = put(out, layer)
    manifests = []
    for tag, extra in VARIANTS.items():
        cfg = dict(Env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "IMAGE_VAR=from-image"], **extra)
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": cfg,
                             "created": "2023-11-14T22:13:20Z", "history": history(extra),
                             "rootfs": {"type": "layers", "diff_ids": [diff_id]}},
                            sort_keys=True).encode()
        cdigest = put(out, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdigest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": ldigest, "size": len(layer)}]}, sort_keys=True).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": put(out, manifest), "size": len(manifest),
                          "annotations": {"org.opencontainers.image.ref.name": tag,
                                          "io.containerd.image.name": "localhost/runtest:" + tag}})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


if __name__ == "__main__":
    main(sys.argv[1])
