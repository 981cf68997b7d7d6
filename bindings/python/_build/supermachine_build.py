"""The PEP 517 build backend of bindings/python.

setuptools compiles supermachine/_native*.c with the flags of
``pkg-config --cflags --libs supermachine``; this module writes the wheel
(a zip with a .dist-info directory) itself, so that no `wheel` package is
needed: setuptools before 70.1 cannot write one without it, and a Python
that lacks it (pyenv's here) cannot fetch it without an index.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent.parent      # bindings/python
PKG = HERE / "supermachine"
NAME = "supermachine"
SUMMARY = "Run OCI images as hardware-isolated microVMs on Linux KVM"
# The package's files besides the extension; the C sources are not installed.
PACKAGE_DATA = ("py.typed", "_native.pyi")


def _version() -> str:
    m = re.search(r'^__version__ = "([^"]+)"', (PKG / "__init__.py").read_text(), re.M)
    if not m:
        raise RuntimeError("supermachine/__init__.py has no __version__")
    return m.group(1)


def _pkg_config() -> List[str]:
    """The flags of libsupermachine: installed, or where PKG_CONFIG_PATH
    says, or else in this checkout's build tree (build/, as `make` makes)."""
    def query(env: Dict[str, str]) -> Optional[List[str]]:
        try:
            p = subprocess.run(["pkg-config", "--cflags", "--libs", "supermachine"], env=env,
                               capture_output=True, text=True)
        except FileNotFoundError:
            raise RuntimeError("pkg-config is not installed (Debian: apt-get install pkg-config)")
        return shlex.split(p.stdout) if p.returncode == 0 else None

    env = dict(os.environ)
    flags = query(env)
    tree = HERE.parent.parent / "build" / "meson-uninstalled"
    if flags is None and tree.is_dir():
        env["PKG_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PKG_CONFIG_PATH")]))
        flags = query(env)
        if flags is not None:
            print(f"supermachine: using the library of the build tree {tree.parent}", file=sys.stderr)
    if flags is None:
        raise RuntimeError(
            "pkg-config cannot find libsupermachine: install it (make install), or point "
            "PKG_CONFIG_PATH at a build tree's meson-uninstalled directory "
            "(PKG_CONFIG_PATH=$PWD/build/meson-uninstalled pip install ...)")
    return flags


def _extension():  # -> setuptools.Extension
    from setuptools import Extension
    inc, libdirs, libs, other = [], [], [], []
    for f in _pkg_config():
        if f.startswith("-I"):
            inc.append(f[2:])
        elif f.startswith("-L"):
            libdirs.append(f[2:])
        elif f.startswith("-l"):
            libs.append(f[2:])
        else:
            other.append(f)
    sources = sorted(str(p.relative_to(HERE)) for p in PKG.glob("_native*.c"))
    # The library's own directory goes into the rpath: a build tree's is
    # found that way, and an installed one still by ld.so's usual paths.
    return Extension(f"{NAME}._native", sources=sources, include_dirs=inc, library_dirs=libdirs,
                     runtime_library_dirs=libdirs, libraries=libs, extra_compile_args=other,
                     extra_link_args=[])


def _tag() -> str:
    ver = f"{sys.version_info[0]}{sys.version_info[1]}"
    abi = f"cp{ver}{getattr(sys, 'abiflags', '')}"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"cp{ver}-{abi}-{plat}"


def _metadata() -> str:
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {_version()}\nSummary: {SUMMARY}\n"
            "License: Apache-2.0\nRequires-Python: >=3.8\n")


def _dist_info(dest: Path) -> Path:
    d = dest / f"{NAME}-{_version()}.dist-info"
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(_metadata())
    (d / "WHEEL").write_text(f"Wheel-Version: 1.0\nGenerator: supermachine_build\n"
                             f"Root-Is-Purelib: false\nTag: {_tag()}\n")
    (d / "top_level.txt").write_text(NAME + "\n")
    return d


def _compile(lib: Path, temp: Path) -> Path:
    """Builds the extension into lib; returns its path."""
    from setuptools import Distribution
    ext = _extension()
    dist = Distribution({"name": NAME, "ext_modules": [ext]})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(lib)
    cmd.build_temp = str(temp)
    cmd.inplace = False
    cwd = os.getcwd()
    os.chdir(HERE)   # the sources are named relative to it
    try:
        cmd.ensure_finalized()
        cmd.run()
    finally:
        os.chdir(cwd)
    return Path(cmd.get_ext_fullpath(ext.name))


def _record_line(root: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}"


# ---- PEP 517 hooks ----

def get_requires_for_build_wheel(config_settings=None) -> List[str]:
    return ["setuptools>=59"]


def get_requires_for_build_sdist(config_settings=None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings=None) -> str:
    return _dist_info(Path(metadata_directory)).name


def build_wheel(wheel_directory: str, config_settings=None,
                metadata_directory: Optional[str] = None) -> str:
    with tempfile.TemporaryDirectory(prefix="supermachine-wheel-") as tmp:
        root = Path(tmp) / "root"
        _compile(root, Path(tmp) / "temp")
        for p in PKG.glob("*.py"):
            shutil.copy2(p, root / NAME / p.name)
        for name in PACKAGE_DATA:
            shutil.copy2(PKG / name, root / NAME / name)
        info = _dist_info(root)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        record = [_record_line(root, p) for p in files]
        record.append(f"{info.name}/RECORD,,")
        (info / "RECORD").write_text("\n".join(record) + "\n")
        wheel = f"{NAME}-{_version()}-{_tag()}.whl"
        with zipfile.ZipFile(Path(wheel_directory) / wheel, "w", zipfile.ZIP_DEFLATED) as z:
            # The .dist-info directory last, as wheel readers expect.
            for p in sorted(root.rglob("*"), key=lambda p: (info in p.parents, str(p))):
                if p.is_file():
                    z.write(p, p.relative_to(root).as_posix())
    return wheel


def build_sdist(sdist_directory: str, config_settings=None) -> str:
    base = f"{NAME}-{_version()}"
    out = Path(sdist_directory) / f"{base}.tar.gz"
    with tarfile.open(out, "w:gz") as t:
        for p in sorted([HERE / "pyproject.toml", *(HERE / "_build").glob("*.py"),
                         *PKG.glob("*.py"), *PKG.glob("*.c"), *PKG.glob("*.h"),
                         *(PKG / n for n in PACKAGE_DATA)]):
            t.add(p, f"{base}/{p.relative_to(HERE).as_posix()}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return out.name
