#!/usr/bin/env python3
"""Build a small test image as an OCI image layout, from the host's static
busybox: layer 1 holds /bin/busybox and a few links, layer 2 a file naming
the platform. Everything is deterministic, so digests repeat across runs.

mkimage.py DIR TAG [--platform OS/ARCH[/VARIANT]]... [--compress gzip|zstd|none|fakegzip]
                   [--docker] [--random-layer-mib N]
Several --platform options make a multi-platform index (tagged TAG); one
makes a plain manifest. --docker writes Docker v2 media types (manifest list,
schema 2 manifests) instead of OCI ones, in skopeo's dir: layout since its
oci: transport takes only OCI types. fakegzip stores uncompressed tars
labelled as gzip, as some real tools do. --random-layer-mib adds a third layer
holding /random, N MiB that do not compress (deterministic, like the rest),
to fill a small disk. Prints the top-level digest.
"""
import argparse, gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile

MT = {
    "oci": dict(index="application/vnd.oci.image.index.v1+json",
                manifest="application/vnd.oci.image.manifest.v1+json",
                config="application/vnd.oci.image.config.v1+json",
                gzip="application/vnd.oci.image.layer.v1.tar+gzip",
                zstd="application/vnd.oci.image.layer.v1.tar+zstd",
                none="application/vnd.oci.image.layer.v1.tar"),
    "docker": dict(index="application/vnd.docker.distribution.manifest.list.v2+json",
                   manifest="application/vnd.docker.distribution.manifest.v2+json",
                   config="application/vnd.docker.container.image.v1+json",
                   gzip="application/vnd.docker.image.rootfs.diff.tar.gzip",
                   zstd="application/vnd.docker.image.rootfs.diff.tar.zstd",
                   none="application/vnd.docker.image.rootfs.diff.tar"),
}


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put(out, data):
    d = sha(data)
    where = out if DIR_LAYOUT else os.path.join(out, "blobs", "sha256")
    with open(os.path.join(where, d[7:]), "wb") as f:
        f.write(data)
    return d


DIR_LAYOUT = False   # skopeo's dir: layout instead of an OCI layout


def tar_of(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.uid = ti.gid = 0
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data, 0o777
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o755
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, check=True,
                              stdout=subprocess.PIPE).stdout
    return data   # none, and fakegzip: labelled gzip, stored plain


def random_bytes(mib):
    return hashlib.shake_256(b"supermachine test layer").digest(mib << 20)


def layers(platform, random_mib):
    busybox = open(shutil.which("busybox"), "rb").read()
    base = [("bin", "dir", None), ("bin/busybox", "file", busybox),
            ("bin/sh", "sym", "busybox"), ("bin/echo", "sym", "busybox"),
            ("bin/cat", "sym", "busybox"), ("etc", "dir", None)]
    top = [("etc", "dir", None),
           ("etc/platform", "file", (platform + "\n").encode())]
    extra = [tar_of([("random", "file", random_bytes(random_mib))])] if random_mib else []
    return [tar_of(base), tar_of(top)] + extra


def image(out, platform, how, mt, random_mib):
    os_, arch, *variant = platform.split("/")
    descs, diff_ids = [], []
    for raw in layers(platform, random_mib):
        blob = compress(raw, how)
        diff_ids.append(sha(raw))
        descs.append({"mediaType": mt["gzip" if how == "fakegzip" else how],
                      "digest": put(out, blob), "size": len(blob)})
    cfg = {"architecture": arch, "os": os_, "created": "2024-01-01T00:00:00Z",
           "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin", "GREETING=hello"],
                      "WorkingDir": "/", "Labels": {"test": "supermachine"},
                      "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGTERM"},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if variant:
        cfg["variant"] = variant[0]
    cfg_bytes = json.dumps(cfg, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": mt["manifest"],
                "config": {"mediaType": mt["config"], "digest": put(out, cfg_bytes),
                           "size": len(cfg_bytes)},
                "layers": descs}
    data = json.dumps(manifest, sort_keys=True).encode()
    if DIR_LAYOUT:
        with open(os.path.join(out, sha(data)[7:] + ".manifest.json"), "wb") as f:
            f.write(data)
    plat = {"os": os_, "architecture": arch}
    if variant:
        plat["variant"] = variant[0]
    return {"mediaType": mt["manifest"], "digest": put(out, data), "size": len(data),
            "platform": plat}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tag")
    ap.add_argument("--platform", action="append")
    ap.add_argument("--compress", default="gzip",
                    choices=["gzip", "zstd", "none", "fakegzip"])
    ap.add_argument("--docker", action="store_true")
    ap.add_argument("--random-layer-mib", type=int, default=0)
    a = ap.parse_args()
    mt = MT["docker" if a.docker else "oci"]
    global DIR_LAYOUT
    DIR_LAYOUT = a.docker
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    if DIR_LAYOUT:
        with open(os.path.join(a.dir, "version"), "w") as f:
            f.write("Directory Transport Version: 1.1\n")
    images = [image(a.dir, p, a.compress, mt, a.random_layer_mib) for p in (a.platform or ["linux/amd64"])]
    if len(images) == 1:
        top = dict(images[0])
        del top["platform"]
    else:
        data = json.dumps({"schemaVersion": 2, "mediaType": mt["index"],
                           "manifests": images}, sort_keys=True).encode()
        top = {"mediaType": mt["index"], "digest": put(a.dir, data), "size": len(data)}
    if DIR_LAYOUT:
        top_bytes = open(os.path.join(a.dir, top["digest"][7:]), "rb").read() \
            if len(images) > 1 else open(os.path.join(a.dir, top["digest"][7:] + ".manifest.json"), "rb").read()
        with open(os.path.join(a.dir, "manifest.json"), "wb") as f:
            f.write(top_bytes)
        print(top["digest"])
        return 0
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    with open(os.path.join(a.dir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    print(top["digest"])


if __name__ == "__main__":
    sys.exit(main())
