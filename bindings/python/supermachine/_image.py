"""Images ready to run: :class:`Image`."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from . import _native
from ._config import StrPath

if TYPE_CHECKING:
    import sys

    from ._config import VmConfig
    from ._pool import Pool
    from ._vm import Vm

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

PULL_POLICIES = {"missing": 0, "always": 1, "never": 2}


@dataclass(frozen=True)
class ImageLayer:
    """One layer of an image, as stored (compressed)."""

    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class ImageInfo:
    """What the store knows about an image: its name and digests, and the
    config that says what runs in it. Fields the image does not set are
    None (lists) or "" (names)."""

    name: str
    digest: str
    config_digest: str
    index_digest: str = ""
    media_type: str = ""
    os: str = ""
    architecture: str = ""
    variant: str = ""
    created: str = ""
    stored: int = 0
    bytes: int = 0
    layers: List[ImageLayer] = field(default_factory=list)
    entrypoint: Optional[List[str]] = None
    cmd: Optional[List[str]] = None
    env: Optional[List[str]] = None
    working_dir: Optional[str] = None
    user: Optional[str] = None
    exposed_ports: Optional[List[str]] = None
    stop_signal: Optional[str] = None
    labels: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "ImageInfo":
        d = dict(d)
        d["layers"] = [ImageLayer(*t) for t in d["layers"]]
        return cls(**d)


@dataclass(frozen=True)
class PullProgress:
    """A pull's progress (sizes of compressed layers)."""

    name: str
    layers: int
    layers_done: int
    bytes: int
    bytes_done: int
    finished: bool


class Image:
    """An image in the store with its root filesystem built: what VMs
    start from.

    :meth:`open` pulls it first when the store lacks it;
    :meth:`from_snapshot` makes a snapshot directory one. Close it with
    :meth:`close` or a ``with`` block; a pool built on it keeps it open
    until the pool is closed.
    """

    def __init__(self, native: _native.Image) -> None:
        self._img = native

    @classmethod
    def open(cls, reference: str, *, pull: str = "missing", platform: Optional[str] = None,
             insecure_registries: Sequence[str] = (), username: Optional[str] = None,
             password: Optional[str] = None, mirrors: Sequence[str] = (),
             progress: Optional[Callable[[PullProgress], None]] = None,
             building: Optional[Callable[[str], None]] = None) -> "Image":
        """Open ``reference`` ("alpine", "alpine:3.20",
        "registry:5000/team/app@sha256:...", normalised as Docker does).

        ``pull`` is ``"missing"`` (pull when the store lacks it),
        ``"always"`` (refresh the tag first) or ``"never"`` (the store's
        only: :class:`supermachine.NotFoundError` if it has none).
        ``platform`` picks from a multi-platform index ("linux/arm64";
        default linux/amd64). Registries in ``insecure_registries``
        ("host:port") may be reached over plain HTTP, as loopback ones
        always may. Credentials default to Docker's config file.
        ``mirrors`` stand in for Docker Hub. ``progress`` hears of the
        pull a few times a second, ``building`` once before a root
        filesystem is built; both are called from the opening thread.
        """
        if pull not in PULL_POLICIES:
            raise ValueError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
        for what, v in (("insecure_registries", insecure_registries), ("mirrors", mirrors)):
            if isinstance(v, (str, bytes)):
                raise TypeError(f"{what} takes a list of strings, not one string")
        opts: Dict[str, Any] = {
            "platform": platform, "username": username, "password": password,
            "insecure_registries": list(insecure_registries) or None,
            "mirrors": list(mirrors) or None, "building": building,
        }
        if progress is not None:
            opts["progress"] = lambda *a: progress(PullProgress(*a))
        return cls(_native.image_open(reference, PULL_POLICIES[pull], opts))

    @classmethod
    def from_snapshot(cls, dir: StrPath) -> "Image":
        """A snapshot directory (:meth:`Vm.snapshot`'s, or a bake's) as an
        image: every VM started from it resumes the snapshot. The image it
        was taken of must be in the store."""
        return cls(_native.image_from_snapshot(os.fspath(dir)))

    def _native(self) -> _native.Image:
        return self._img

    @functools.cached_property
    def info(self) -> Optional[ImageInfo]:
        """The image's name, digests and config; None for a snapshot of
        a VM that had no image."""
        d = self._img.info()
        return None if d is None else ImageInfo._from_native(d)

    @property
    def name(self) -> str:
        """The normalised name ("docker.io/library/alpine:3.20"), or ""."""
        return self.info.name if self.info else ""

    @property
    def digest(self) -> str:
        """The manifest's digest ("sha256:..."), or "" for a snapshot of a
        VM without an image."""
        return self.info.digest if self.info else ""

    @property
    def rootfs(self) -> Optional[str]:
        """The read-only root filesystem image (an ext4 file); None for an
        image from a snapshot."""
        return self._img.rootfs()

    def start(self, **config: "Unpack[VmConfig]") -> "Vm":
        """Start a VM of this image; see :class:`VmConfig` for the keywords
        (memory_mib, cpus, network, ports, ...)."""
        from ._vm import Vm
        return Vm.start(self, **config)

    def pool(self, **kwargs: Any) -> "Pool":
        """A :class:`Pool` of VMs of this image (its keywords)."""
        from ._pool import Pool
        return Pool(self, **kwargs)

    def close(self) -> None:
        """Close the image (at once, or when the last pool using it is closed)."""
        self._img.close()

    def __enter__(self) -> "Image":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<supermachine.Image {self.name or self.digest[:19] or '(snapshot)'}>"
