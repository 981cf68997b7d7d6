"""supermachine: run OCI images as hardware-isolated microVMs on Linux KVM.

The Python face of libsupermachine (``include/supermachine.h``)::

    import supermachine

    with supermachine.Image.open("alpine:3.20") as image:   # pulls on first use
        with image.start(memory_mib=256) as vm:             # resumes a baked snapshot
            r = vm.exec(["sh", "-c", "echo hi; exit 3"])
            print(r.exit_code, r.stdout)                     # 3 b'hi\\n'

Every call that waits (open, start, exec, files, snapshot, acquire, stop)
releases the GIL, so threads run VMs and commands side by side. Failures
raise :class:`Error`, an ``OSError`` whose ``errno`` is the library's and
whose message is its sentence (subclasses by errno, e.g.
:class:`NotFoundError`, which is also a ``FileNotFoundError``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import (BusyError, Error, ExistsError, InvalidArgumentError, KVMUnavailableError,
                      NotFoundError, NotRunningError, PermissionDeniedError, PortRefusedError,
                      TimedOutError)
from . import _native
from ._config import VmConfig
from ._exec import ExecResult, ExecStream
from ._image import Image, ImageInfo, ImageLayer, PullProgress
from ._pool import Pool, PoolStats
from ._vm import FileStat, Vm

if TYPE_CHECKING:
    import sys

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = [
    "Image", "ImageInfo", "ImageLayer", "PullProgress", "Vm", "VmConfig", "ExecResult",
    "ExecStream", "FileStat", "Pool", "PoolStats", "KvmStatus", "start", "kvm_check",
    "Error", "NotFoundError", "ExistsError", "PermissionDeniedError", "InvalidArgumentError",
    "TimedOutError", "PortRefusedError", "NotRunningError", "BusyError", "KVMUnavailableError",
]

__version__ = "0.2.0"
#: The library's API version this package was built against.
api_version = (_native.VERSION_MAJOR, _native.VERSION_MINOR)


def start(**config: "Unpack[VmConfig]") -> Vm:
    """Start a VM without an image: its root is ``root_dir``, or the
    library's built-in initramfs. See :class:`VmConfig` for the keywords."""
    return Vm.start(None, **config)


_KVM_KINDS = {0: "none", 1: "hardware", 2: "nested", 3: "pvm"}


@dataclass(frozen=True)
class KvmStatus:
    """Whether VMs can start here: ``kind`` is "hardware", "nested",
    "pvm" or "none"; when "none", ``errno`` and ``detail`` say why."""

    kind: str
    errno: int
    api_version: int
    detail: str

    @property
    def usable(self) -> bool:
        return self.errno == 0


def kvm_check() -> KvmStatus:
    """Open the KVM device, check what supermachine needs and close it:
    cheap, to refuse at once rather than after a pull."""
    kind, err, api, detail = _native.kvm_check()
    return KvmStatus(_KVM_KINDS.get(kind, "none"), err, api, detail)
