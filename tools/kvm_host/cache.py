"""The emulated host's kernel and initramfs, made once and cached like the
guest kernel: $XDG_CACHE_HOME/supermachine/kvm-host/<key>/, keyed by the
kernel package's name and version, the busybox binary and this tool's own
files, so a change to any of them makes a new entry. Entries are built in
a temporary directory and renamed into place under a lock: a kill at any
point leaves either no entry or a whole one."""
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
import time

from . import initramfs, kernel

HERE = os.path.dirname(os.path.abspath(__file__))


def root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "supermachine", "kvm-host")


def _key(package):
    h = hashlib.sha256(package.encode() + b"\0")
    for name in ("init.sh", "initramfs.py", "kernel.py", "cache.py"):
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    with open(initramfs.busybox(), "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:32]


def _say(msg):
    if sys.stderr.isatty():
        print(f"kvm-host: {msg}", file=sys.stderr, flush=True)


def _build(top, final, package_hint):
    tmp = tempfile.mkdtemp(prefix=".build-", dir=top)
    try:
        _say(f"fetching Debian's kernel ({package_hint}) for the emulated KVM host, once")
        package, modules = kernel.fetch(tmp)
        initramfs.write(os.path.join(tmp, "initramfs.cpio"), os.path.join(tmp, "modules"),
                        modules)
        shutil.rmtree(os.path.join(tmp, "modules"))
        with open(os.path.join(tmp, "package"), "w") as f:
            f.write(package + "\n")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _prune(top, keep, days=14):
    """Entries of other versions unused for `days`, and builds a kill left."""
    old = time.time() - days * 86400
    for name in os.listdir(top):
        path = os.path.join(top, name)
        if name.startswith(".build-"):
            shutil.rmtree(path, ignore_errors=True)
        elif name != keep and not name.startswith("."):
            try:
                if os.stat(os.path.join(path, "package")).st_mtime < old:
                    shutil.rmtree(path, ignore_errors=True)
            except FileNotFoundError:
                shutil.rmtree(path, ignore_errors=True)


def prepare():
    """The directory holding vmlinuz and initramfs.cpio, made if missing."""
    name, version = kernel.resolve()
    package = f"{name}={version}"
    top = root()
    os.makedirs(top, exist_ok=True)
    key = _key(package)
    final = os.path.join(top, key)
    stamp = os.path.join(final, "package")
    if not os.path.exists(stamp):
        with open(os.path.join(top, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(stamp):
                _prune(top, key)
                _build(top, final, package)
    os.utime(stamp)  # in use: _prune keeps it
    return final
