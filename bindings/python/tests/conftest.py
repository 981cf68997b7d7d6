"""Fixtures of the Python binding's tests.

Each pytest run has a private store and runtime directory (set before the
library reads them). Images come from a loopback registry, Debian's
docker-registry, holding the busybox image of tests/run/mkrunimage.py,
pushed over the registry's HTTP API by push() below rather than by skopeo:
skopeo reads and writes one blob-info cache for the whole machine
(/var/lib/containers/cache), and in the emulated KVM host a copy of it
torn by a concurrent writer outside made skopeo panic. Without
docker-registry the tests that need an image skip.
"""
import atexit
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SRC = Path(os.environ.get("SM_SOURCE_ROOT") or Path(__file__).resolve().parents[3])
sys.path.insert(0, str(SRC / "tests" / "run"))

_WORK = tempfile.mkdtemp(prefix="sm-python-test-")
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
os.environ["SUPERMACHINE_DATA_DIR"] = os.path.join(_WORK, "store")
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_WORK, "run")
os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)

import supermachine  # noqa: E402  (after the environment above)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def work() -> Path:
    return Path(_WORK)


def push(layout: Path, tag: str, reg: str, repo: str) -> None:
    """Uploads the OCI layout's image `tag` to reg/repo:tag: each blob in
    one PUT (the monolithic upload), then the manifest."""
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    blob = lambda d: (layout / "blobs" / "sha256" / d[7:]).read_bytes()  # noqa: E731
    manifest = blob(desc["digest"])
    m = json.loads(manifest)
    conn = http.client.HTTPConnection(reg, timeout=60)

    def request(method, url, body=None, headers=None, want=(200, 201, 202)):
        conn.request(method, url, body, headers or {})
        r = conn.getresponse()
        r.read()
        assert r.status in want, f"{method} {url}: HTTP {r.status}"
        return r

    for d in [m["config"]] + m["layers"]:
        digest = d["digest"]
        assert "sha256:" + hashlib.sha256(blob(digest)).hexdigest() == digest
        loc = request("POST", f"/v2/{repo}/blobs/uploads/").getheader("Location")
        loc = urlsplit(loc)
        url = loc.path + "?" + (loc.query + "&" if loc.query else "") + f"digest={digest}"
        request("PUT", url, blob(digest), {"Content-Type": "application/octet-stream"})
    request("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
            {"Content-Type": m.get("mediaType", desc["mediaType"])})
    conn.close()


@pytest.fixture(scope="session")
def registry(work):
    """A loopback registry holding <reg>/pytest/busybox:plain; its
    "host:port"."""
    if not shutil.which("docker-registry"):
        pytest.skip("docker-registry is not installed (make deps installs it)")
    import mkrunimage
    layout = work / "layout"
    mkrunimage.main(str(layout))
    reg = f"127.0.0.1:{_free_port()}"
    cfg = work / "registry.yml"
    cfg.write_text("version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
                   f"storage: {{filesystem: {{rootdirectory: {work}/registry}}}}\n"
                   f"http: {{addr: {reg}, secret: test}}\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", int(reg.split(":")[1])), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("the registry did not start")
        push(layout, "plain", reg, "pytest/busybox")
        yield reg
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def image(registry):
    """The busybox image, pulled from the registry and opened."""
    with supermachine.Image.open(f"{registry}/pytest/busybox:plain") as img:
        yield img


@pytest.fixture(scope="session")
def kvm():
    """Skips a test that needs VMs where none can start."""
    st = supermachine.kvm_check()
    if not st.usable:
        pytest.skip(f"no usable KVM: {st.detail}")
    return st
