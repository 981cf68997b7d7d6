"""The binding without VMs: the package, its errors, images from a
loopback registry, and `pip install` of the package with setuptools."""
import errno
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import supermachine
from conftest import SRC


def test_versions():
    assert supermachine.api_version == (0, 2)
    if os.environ.get("SM_VERSION"):
        assert supermachine.__version__ == os.environ["SM_VERSION"], \
            "supermachine.__version__ differs from meson.build's project version"


def test_errors_are_oserrors_by_errno():
    e = supermachine._errors._from_code(errno.ENOENT, "no such thing")
    assert isinstance(e, supermachine.NotFoundError)
    assert isinstance(e, FileNotFoundError) and isinstance(e, OSError)
    assert (e.errno, e.strerror, str(e)) == (errno.ENOENT, "no such thing", "no such thing")
    assert isinstance(supermachine._errors._from_code(errno.EINVAL, "x"), ValueError)
    assert isinstance(supermachine._errors._from_code(errno.ETIMEDOUT, "x"), TimeoutError)
    assert isinstance(supermachine._errors._from_code(errno.ESRCH, "x"), ProcessLookupError)
    assert isinstance(supermachine._errors._from_code(1001, "x"),
                      supermachine.KVMUnavailableError)
    assert type(supermachine._errors._from_code(errno.EIO, "x")) is supermachine.Error


def test_missing_image_carries_errno_and_sentence():
    with pytest.raises(supermachine.NotFoundError) as ei:
        supermachine.Image.open("pytest/absent:1", pull="never")
    assert ei.value.errno == errno.ENOENT
    assert "no image 'pytest/absent:1' in the store" in str(ei.value)


def test_bad_reference_is_einval():
    with pytest.raises(supermachine.InvalidArgumentError) as ei:
        supermachine.Image.open("Not A Reference!")
    assert ei.value.errno == errno.EINVAL
    assert "invalid image reference 'Not A Reference!'" in ei.value.strerror


def test_not_a_snapshot(tmp_path):
    with pytest.raises(supermachine.NotFoundError) as ei:
        supermachine.Image.from_snapshot(tmp_path)
    assert f"{tmp_path} is not a snapshot" in str(ei.value)
    # A sentence with bytes that are not UTF-8 (here a path's) still
    # raises the library's error, those bytes escaped.
    odd = os.path.join(os.fsencode(tmp_path), b"\xff")
    os.mkdir(odd)
    with pytest.raises(supermachine.NotFoundError) as ei:
        supermachine.Image.from_snapshot(os.fsdecode(odd))
    assert f"{tmp_path}/\\xff is not a snapshot" in str(ei.value)


def test_bad_arguments_refused_before_the_library():
    with pytest.raises(ValueError, match="network must be one of"):
        supermachine.start(network="bridge")
    with pytest.raises(ValueError, match="is not \\[IP:\\]HOST:GUEST"):
        supermachine.start(ports=["80"])
    with pytest.raises(TypeError):
        supermachine.start(memory=128)   # memory_mib
    with pytest.raises(ValueError, match="pull must be one of"):
        supermachine.Image.open("alpine", pull="sometimes")


def test_no_kvm_says_why():
    st = supermachine.kvm_check()
    if st.usable:
        pytest.skip("KVM works here")
    with pytest.raises(supermachine.KVMUnavailableError) as ei:
        supermachine.start()
    assert ei.value.errno in (1001, 1002)
    assert st.detail in str(ei.value)


def test_image_from_registry(registry):
    ref = f"{registry}/pytest/busybox:plain"
    with supermachine.Image.open(ref) as img:
        info = img.info
        assert img.name == ref and info.name == ref
        assert img.digest.startswith("sha256:") and len(img.digest) == 71
        assert info.cmd == ["sh"] and "IMAGE_VAR=from-image" in info.env
        assert len(info.layers) == 1 and info.layers[0].size > 0
        assert img.rootfs and os.path.exists(img.rootfs)
        assert repr(img) == f"<supermachine.Image {ref}>"
    # Closed: calls refuse, closing again does nothing.
    with pytest.raises(supermachine.Error) as ei:
        img.rootfs
    assert ei.value.errno == errno.EBADF and "closed" in str(ei.value)
    img.close()
    with pytest.raises(supermachine.Error):
        img.start()
    # Stored now: opened without the registry.
    with supermachine.Image.open(ref, pull="never") as again:
        assert again.digest == info.digest


def test_missing_tag_in_registry(registry):
    with pytest.raises(supermachine.NotFoundError) as ei:
        supermachine.Image.open(f"{registry}/pytest/busybox:absent")
    assert f"tag 'absent' not found in {registry}/pytest/busybox" in str(ei.value)


def test_pull_progress_and_building(registry):
    seen, built = [], []
    ref = f"{registry}/pytest/busybox:plain"
    supermachine.Image.open(ref, pull="always", progress=seen.append,
                            building=built.append).close()
    assert seen and seen[-1].finished and seen[-1].name == ref


class _FakeExec:
    """What ExecStream drives (_native.Exec) without a VM: wait() hands
    the sink `first`, waits for `go`, hands it `rest` (`gap` seconds
    before each chunk), and ends."""

    def __init__(self, first, rest, gap=0.0):
        self.first, self.rest, self.gap, self.go = first, rest, gap, threading.Event()

    def wait(self, sink):
        for chunk in self.first:
            sink(1, chunk)
        self.go.wait(60)
        for chunk in self.rest:
            time.sleep(self.gap)
            sink(1, chunk)
        return (0, 0, 0, b"", b"", 0, 0)


def test_stream_wait_timed_out_keeps_the_output():
    fake = _FakeExec([b"early\n"], [b"late\n"])
    s = supermachine.ExecStream(fake)
    with pytest.raises(TimeoutError):
        s.wait(timeout=0.5)
    fake.go.set()
    assert s.wait().stdout == b"early\nlate\n"


def test_stream_wait_timeout_is_for_the_whole_wait():
    """Output every 0.1 s for 3 s: wait(timeout=0.5) gives up after about
    0.5 s, not once a gap of 0.5 s comes."""
    fake = _FakeExec([], [b"tick\n"] * 30, gap=0.1)
    fake.go.set()
    s = supermachine.ExecStream(fake)
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        s.wait(timeout=0.5)
    assert time.monotonic() - t < 2
    assert s.wait().stdout == b"tick\n" * 30


class _UnkillableExec:
    """A command that writes until its sink refuses, SIGKILL or not."""

    def wait(self, sink):
        while True:
            sink(1, b"more\n")
            time.sleep(0.01)

    def signal(self, signo):
        pass


def test_stream_closed_on_a_command_that_outlives_the_kill_ends():
    """close() gives up on it (ECANCELED through the sink), and what
    follows ends at once: iterating yields nothing, wait() raises
    ECANCELED instead of waiting for an end that never comes."""
    s = supermachine.ExecStream(_UnkillableExec())
    s._KILL_WAIT = 0.3  # noqa
    s.close()
    assert not s.running
    assert list(s) == []
    with pytest.raises(supermachine.Error) as ei:
        s.wait(timeout=5)
    assert ei.value.errno == errno.ECANCELED


def _pythons():
    """This Python, and the python3 on PATH when it is another one (both
    must install the package)."""
    found = {os.path.realpath(sys.executable): sys.executable}
    other = shutil.which("python3")
    if other:
        real = subprocess.run([other, "-c", "import sys; print(sys.executable)"],
                              capture_output=True, text=True).stdout.strip()
        if real:
            found.setdefault(os.path.realpath(real), real)
    return list(found.values())


@pytest.mark.parametrize("python", _pythons())
def test_pip_install(python, tmp_path):
    """`pip install --no-build-isolation bindings/python` with setuptools
    and pkg-config, from a copy of the package (pip builds in the tree)."""
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip(f"{python} has no pip (apt-get install python3-pip)")
    src = tmp_path / "src"
    shutil.copytree(SRC / "bindings" / "python", src,
                    ignore=shutil.ignore_patterns("tests", "meson.build", "__pycache__"))
    build = os.environ.get("SM_BUILD_ROOT") or str(SRC / "build")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(build, "meson-uninstalled"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    p = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--target", str(tmp_path / "site"), str(src)],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    installed = sorted(f.name for f in (tmp_path / "site" / "supermachine").iterdir())
    assert "py.typed" in installed and "_native.pyi" in installed
    assert any(n.startswith("_native.") and n.endswith(".so") for n in installed)
    assert not any(n.endswith(".c") for n in installed)
    check = textwrap.dedent("""
        import errno, supermachine
        assert supermachine.__file__.startswith(%r), supermachine.__file__
        try:
            supermachine.Image.open("pytest/absent:1", pull="never")
        except FileNotFoundError as e:
            assert e.errno == errno.ENOENT and "no image" in str(e), e
            print("ok")
    """ % str(tmp_path / "site"))
    env["PYTHONPATH"] = str(tmp_path / "site")
    p = subprocess.run([python, "-c", check], capture_output=True, text=True, env=env)
    assert p.stdout.strip() == "ok", p.stdout + p.stderr
