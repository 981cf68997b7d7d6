"""How a VM is started: the keyword arguments of :meth:`Image.start`,
:func:`supermachine.start` and :class:`Pool`, checked and turned into the
dict that _native reads into an sm_vm_config."""
from __future__ import annotations

import math
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

StrPath = Union[str, "os.PathLike[str]"]

PortSpec = Union[str, Tuple[int, int]]
ShareSpec = Union[str, Tuple[StrPath, str], Tuple[StrPath, str, bool]]
DiskSpec = Union[StrPath, Tuple[StrPath, bool]]

NETWORKS = {"default": 0, "user": 1, "none": 2}


class VmConfig(TypedDict, total=False):
    """The keyword arguments that start a VM (all optional).

    memory_mib
        Guest RAM in MiB (default 128).
    cpus
        vCPUs (default 1).
    network
        ``"default"`` (user-mode NAT for a VM with an image, else none),
        ``"user"`` (NAT through libslirp: the guest is 10.0.2.15, the host
        10.0.2.2) or ``"none"`` (loopback only; :meth:`Vm.connect` and
        :meth:`Vm.expose_tcp` still reach the guest).
    ports
        Guest ports published on the host, each ``"[IP:]HOST:GUEST[/udp]"``
        as ``docker run -p`` takes it, or a ``(host_port, guest_port)``
        pair (on 127.0.0.1).
    hostname
        The guest's hostname (default: the first 12 hex digits of its id).
    name
        A unique name by which ``supermachine ps``, ``stop`` and ``logs``
        find the VM.
    shares
        Host files or directories shared with the guest over virtio-9p,
        each ``"HOST:GUEST[:ro]"`` or ``(host, guest[, read_only])``.
    tmpfs
        tmpfs mounts in the guest: ``"PATH[:OPTIONS]"`` strings, or a dict
        of path to options (None for noexec,nosuid,nodev).
    disks
        Raw disk images attached as /dev/vda, /dev/vdb, ...: paths, or
        ``(path, read_only)`` pairs.
    upper_disk
        A sparse ext4 file (created if missing) holding the root's writable
        layer, so that it outlives the VM (default: a tmpfs in guest RAM).
    read_only
        The image's root cannot be written (docker's ``--read-only``).
    cpu_quota
        CPU time the vCPUs may use together, in CPUs (1.5 = one and a half).
    start_timeout
        Seconds to wait for the guest's agent (default 120).
    no_snapshot
        Boot even when a baked snapshot of the image fits, and bake none.
    snapshot
        Resume this snapshot directory instead of booting (as
        :meth:`Image.from_snapshot` does).
    root_dir, root_read_only
        A host directory as the root filesystem instead of an image's.
    kernel, initrd, cmdline
        Another guest kernel or initramfs, and extra kernel command line.
    progress
        Called with ``"booting"`` or ``"baking"`` as long steps begin (from
        the starting thread).
    """

    memory_mib: int
    cpus: int
    network: str
    ports: Sequence[PortSpec]
    hostname: str
    name: str
    shares: Sequence[ShareSpec]
    tmpfs: Union[Sequence[str], Mapping[str, Optional[str]]]
    disks: Sequence[DiskSpec]
    upper_disk: StrPath
    read_only: bool
    cpu_quota: float
    start_timeout: float
    no_snapshot: bool
    snapshot: StrPath
    root_dir: StrPath
    root_read_only: bool
    kernel: StrPath
    initrd: StrPath
    cmdline: str
    progress: Callable[[str], None]


_PORT = re.compile(r"^(?:(?P<ip>[^:]+|\[[^\]]+\]):)?(?P<host>\d+):(?P<guest>\d+)(?:/(?P<proto>tcp|udp))?$")


def _port(p: PortSpec) -> Tuple[Optional[str], int, int, bool]:
    if isinstance(p, tuple):
        host, guest = p
        return (None, int(host), int(guest), False)
    m = _PORT.match(p)
    if not m:
        raise ValueError(f"port {p!r} is not [IP:]HOST:GUEST[/udp]")
    ip = m["ip"].strip("[]") if m["ip"] else None
    return (ip, int(m["host"]), int(m["guest"]), m["proto"] == "udp")


def _share(s: ShareSpec) -> Tuple[str, str, bool]:
    if isinstance(s, tuple):
        host, guest, *ro = s
        return (os.fspath(host), guest, bool(ro and ro[0]))
    parts = s.split(":")
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        return (parts[0], parts[1], parts[2] == "ro")
    if len(parts) == 2:
        return (parts[0], parts[1], False)
    raise ValueError(f"share {s!r} is not HOST:GUEST[:ro]")


def _tmpfs(t: Union[Sequence[str], Mapping[str, Optional[str]]]) -> List[Tuple[str, Optional[str]]]:
    if isinstance(t, Mapping):
        return [(path, opts) for path, opts in t.items()]
    out: List[Tuple[str, Optional[str]]] = []
    for spec in t:
        path, _, opts = spec.partition(":")
        out.append((path, opts or None))
    return out


def _disk(d: DiskSpec) -> Tuple[str, bool]:
    if isinstance(d, tuple):
        return (os.fspath(d[0]), bool(d[1]))
    return (os.fspath(d), False)


def _ms(seconds: Optional[float], what: str) -> int:
    if seconds is None:
        return 0
    if seconds < 0:
        raise ValueError(f"{what} must not be negative")
    return max(1, math.ceil(seconds * 1000)) if seconds > 0 else 0


def _path(p: Optional[StrPath]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def vm_config(
    *,
    memory_mib: int = 0,
    cpus: int = 0,
    network: str = "default",
    ports: Sequence[PortSpec] = (),
    hostname: Optional[str] = None,
    name: Optional[str] = None,
    shares: Sequence[ShareSpec] = (),
    tmpfs: Union[Sequence[str], Mapping[str, Optional[str]]] = (),
    disks: Sequence[DiskSpec] = (),
    upper_disk: Optional[StrPath] = None,
    read_only: bool = False,
    cpu_quota: Optional[float] = None,
    start_timeout: Optional[float] = None,
    no_snapshot: bool = False,
    snapshot: Optional[StrPath] = None,
    root_dir: Optional[StrPath] = None,
    root_read_only: bool = False,
    kernel: Optional[StrPath] = None,
    initrd: Optional[StrPath] = None,
    cmdline: Optional[str] = None,
    progress: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """The dict _native.vm_start takes, from :class:`VmConfig`'s keywords."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
    if isinstance(ports, (str, bytes)) or isinstance(shares, (str, bytes)):
        raise TypeError("ports and shares take a list of specs, not one string")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable")
    if cpu_quota is not None and cpu_quota < 0:
        raise ValueError("cpu_quota must not be negative")
    return {
        "memory_mib": memory_mib,
        "cpus": cpus,
        "network": NETWORKS[network],
        "ports": [_port(p) for p in ports],
        "hostname": hostname,
        "name": name,
        "shares": [_share(s) for s in shares],
        "tmpfs": _tmpfs(tmpfs),
        "disks": [_disk(d) for d in disks],
        "upper_disk": _path(upper_disk),
        "read_only": read_only,
        "cpu_quota_milli": 0 if cpu_quota is None else round(cpu_quota * 1000),
        "start_timeout_ms": _ms(start_timeout, "start_timeout"),
        "no_snapshot": no_snapshot,
        "snapshot": _path(snapshot),
        "root_dir": _path(root_dir),
        "root_read_only": root_read_only,
        "kernel": _path(kernel),
        "initrd": _path(initrd),
        "cmdline": cmdline,
        "progress": progress,
    }
