"""A registry on loopback for the tests that pull: Debian's docker-registry
serving a directory of the test's own on a free port of 127.0.0.1, and
push(), which uploads a tag of an OCI image layout to it.

push() speaks the registry's HTTP API itself rather than running skopeo:
skopeo reads and writes one blob-info cache for the whole machine
(/var/lib/containers/cache), and in the emulated KVM host a copy of it
torn by a concurrent writer outside made skopeo panic ('invalid freelist
page').
"""
import hashlib
import http.client
import json
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(work):
    """Starts docker-registry storing under work/registry; returns its
    process and "127.0.0.1:port" once it accepts connections. Raises
    RuntimeError (the process killed) if it never does."""
    port = free_port()
    reg = f"127.0.0.1:{port}"
    cfg = os.path.join(work, "registry.yml")
    with open(cfg, "w") as f:
        f.write("version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
                f"storage: {{filesystem: {{rootdirectory: {work}/registry}}}}\n"
                f"http: {{addr: {reg}, secret: test}}\n")
    proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, reg
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("the registry did not start")


def push(layout, tag, reg, repo):
    """Uploads the OCI layout's image `tag` to reg/repo:tag: each blob in
    one PUT (the monolithic upload), then the manifest."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    desc = next(m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)

    def blob(digest):
        with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "rb") as f:
            return f.read()

    manifest = blob(desc["digest"])
    m = json.loads(manifest)
    conn = http.client.HTTPConnection(reg, timeout=60)

    def request(method, url, body=None, headers=None, want=(200, 201, 202)):
        conn.request(method, url, body, headers or {})
        r = conn.getresponse()
        r.read()
        if r.status not in want:
            raise RuntimeError(f"{method} {url}: HTTP {r.status}")
        return r

    try:
        for d in [m["config"]] + m["layers"]:
            digest = d["digest"]
            data = blob(digest)
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                raise RuntimeError(f"blob {digest} of {layout} does not match its digest")
            loc = urlsplit(request("POST", f"/v2/{repo}/blobs/uploads/").getheader("Location"))
            url = loc.path + "?" + (loc.query + "&" if loc.query else "") + f"digest={digest}"
            request("PUT", url, data, {"Content-Type": "application/octet-stream"})
        request("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                {"Content-Type": m.get("mediaType", desc["mediaType"])})
    finally:
        conn.close()
