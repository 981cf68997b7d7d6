"""Fixtures of the Python binding's tests.

Each pytest run has a private store and runtime directory (set before the
library reads them). Images come from a loopback registry, Debian's
docker-registry, holding the busybox image of tests/run/mkrunimage.py,
started and pushed to by tests/run/loopback_registry.py (over the
registry's HTTP API, not skopeo: see there why). Without docker-registry
the tests that need an image skip.
"""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

SRC = Path(os.environ.get("SM_SOURCE_ROOT") or Path(__file__).resolve().parents[3])
sys.path.insert(0, str(SRC / "tests" / "run"))

_WORK = tempfile.mkdtemp(prefix="sm-python-test-")
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
os.environ["SUPERMACHINE_DATA_DIR"] = os.path.join(_WORK, "store")
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_WORK, "run")
os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)

import supermachine  # noqa: E402  (after the environment above)


@pytest.fixture(scope="session")
def work() -> Path:
    return Path(_WORK)


@pytest.fixture(scope="session")
def registry(work):
    """A loopback registry holding <reg>/pytest/busybox:plain; its
    "host:port"."""
    if not shutil.which("docker-registry"):
        pytest.skip("docker-registry is not installed (make deps installs it)")
    import loopback_registry
    import mkrunimage
    layout = work / "layout"
    mkrunimage.main(str(layout))
    try:
        proc, reg = loopback_registry.start(str(work))
    except RuntimeError as e:
        pytest.fail(str(e))
    try:
        loopback_registry.push(str(layout), "plain", reg, "pytest/busybox")
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
