"""A running VM: :class:`Vm`."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from . import _native
from ._config import StrPath, vm_config
from ._exec import Env, ExecResult, ExecStream, Stdin, exec_args

if TYPE_CHECKING:
    import sys

    from ._config import VmConfig
    from ._image import Image

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack


@dataclass(frozen=True)
class FileStat:
    """A guest file's attributes (:meth:`Vm.stat`)."""

    mode: int
    uid: int
    gid: int
    size: int
    mtime: int


class Vm:
    """A microVM, running until :meth:`stop` (or the end of a ``with``
    block, or its last reference).

    Start one with :meth:`Image.start`, :func:`supermachine.start` or
    :meth:`Pool.acquire`. Every method may be called from many threads at
    once: calls run with the GIL released, so 32 threads exec'ing in one
    VM run side by side. Failures raise :class:`supermachine.Error`; calls
    on a stopped VM raise :class:`supermachine.NotRunningError` (ESRCH).
    """

    def __init__(self, native: _native.Vm) -> None:
        self._vm = native

    @classmethod
    def start(cls, image: Optional["Image"] = None, **config: "Unpack[VmConfig]") -> "Vm":
        """Start a VM of ``image`` (see :class:`VmConfig` for the keywords).

        Without an image, the VM's root is ``root_dir``, or else the
        library's built-in initramfs (sm-init and a static busybox).
        The first VM of an image and config boots and bakes a snapshot;
        later ones resume it (milliseconds on real KVM).
        """
        native_image = image._native() if image is not None else None
        return cls(_native.vm_start(native_image, vm_config(**config)))

    # ---- what it is ----

    @property
    def id(self) -> str:
        """The VM's id: 64 hex digits (the first 12 name it in ``supermachine ps``)."""
        return self._vm.id()

    @property
    def dir(self) -> str:
        """The VM's runtime directory (console.log, worker.log)."""
        return self._vm.dir()

    @property
    def restored(self) -> bool:
        """Whether it was resumed from a snapshot rather than booted."""
        return self._vm.restored()

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called (a pool's VM: given back)."""
        return self._vm.stopped()

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "running"
        return f"<supermachine.Vm {self.id[:12]} {state}>"

    # ---- commands ----

    def exec(self, argv: Sequence[str], *, env: Optional[Env] = None, cwd: Optional[str] = None,
             user: Union[str, int, None] = None, tty: bool = False,
             timeout: Optional[float] = None, stdin: Stdin = None,
             max_output: Optional[int] = None) -> ExecResult:
        """Run a command to its end and return its exit code and output.

        ``argv`` is searched in the guest's PATH. ``env`` (a dict, or
        ``"NAME=value"`` strings) is added to PATH, HOSTNAME, HOME and the
        image's Env, replacing those it names. ``cwd`` defaults to /,
        ``user`` ("name", "uid", "name:group" or "uid:gid", looked up in
        the guest's /etc/passwd) to root. ``tty`` runs it on a
        pseudo-terminal (stderr then joins stdout). After ``timeout``
        seconds its process group is killed and the result says
        ``timed_out``. ``stdin`` is bytes (or str, sent as UTF-8), or a
        file (an object with ``fileno()``, or an fd) read to its end;
        default: /dev/null. Output is kept up to ``max_output`` bytes a
        stream (default 64 MiB).

        A command that runs and fails is a result with a non-zero
        ``exit_code``, not an exception; :class:`supermachine.Error` means
        it could not be run (no such VM, the agent gone, a bad argument).
        """
        args = exec_args(argv, env=env, cwd=cwd, user=user, tty=tty, timeout=timeout,
                         stdin=stdin, max_output=max_output)
        return ExecResult._from_native(self._vm.exec(args))

    def exec_stream(self, argv: Sequence[str], *, env: Optional[Env] = None,
                    cwd: Optional[str] = None, user: Union[str, int, None] = None,
                    tty: bool = False, timeout: Optional[float] = None, stdin: Stdin = None,
                    open_stdin: bool = False) -> ExecStream:
        """Start a command and return an :class:`ExecStream` that yields
        its output as it comes::

            with vm.exec_stream(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 1; done"]) as s:
                for stream, data in s:
                    print(stream, data)
                print(s.exit_code)

        The keywords are :meth:`exec`'s; with ``open_stdin`` the command's
        stdin stays open for :meth:`ExecStream.write_stdin` until
        :meth:`ExecStream.close_stdin`.
        """
        args = exec_args(argv, env=env, cwd=cwd, user=user, tty=tty, timeout=timeout,
                         stdin=stdin, open_stdin=open_stdin)
        return ExecStream(self._vm.exec_start(args))

    # ---- files ----

    def write_file(self, path: str, data: Union[bytes, bytearray, memoryview, str], *,
                   mode: int = 0o644, mkdirs: bool = False) -> None:
        """Write ``data`` (str: as UTF-8) to the guest file ``path``,
        replacing it; ``mkdirs`` creates missing parent directories."""
        if isinstance(data, str):
            data = data.encode()
        self._vm.write_file(path, data, mode, _native.FILE_MKDIRS if mkdirs else 0)

    def read_file(self, path: str, *, max_size: int = 0) -> bytes:
        """The bytes of the guest file ``path`` (a directory: its entries'
        names, one a line); at most ``max_size`` bytes (0: 1 GiB).
        A missing file raises :class:`supermachine.NotFoundError`."""
        return self._vm.read_file(path, max_size)

    def stat(self, path: str) -> FileStat:
        """The attributes of the guest file ``path``."""
        mode, uid, gid, size, mtime = self._vm.stat(path)
        return FileStat(mode, uid, gid, size, mtime)

    # ---- network ----

    def connect(self, port: int, *, timeout: Optional[float] = None) -> socket.socket:
        """A socket connected to TCP ``port`` of the guest's loopback,
        carried over vsock by the agent (so it works with any network
        setting). :class:`supermachine.PortRefusedError` when nothing
        listens there. The socket is the caller's to close."""
        fd = self._vm.connect(port)
        s = socket.socket(fileno=fd)
        s.settimeout(timeout)
        return s

    def expose_tcp(self, guest_port: int, *, host_ip: Optional[str] = None,
                   host_port: int = 0) -> int:
        """Listen on ``host_ip:host_port`` (default 127.0.0.1, any free
        port) and forward each connection to ``guest_port``, until the VM
        stops or :meth:`unexpose_tcp`. Returns the host port."""
        return self._vm.expose_tcp(guest_port, host_ip, host_port)

    def unexpose_tcp(self, host_port: int) -> None:
        """Stop listening on ``host_port`` (as :meth:`expose_tcp` returned
        it) and close the connections forwarded through it.
:class:`supermachine.NotFoundError` when nothing is exposed
        there."""
        self._vm.unexpose_tcp(host_port)

    # ---- snapshots and the end ----

    def snapshot(self, dir: StrPath, *, diff: bool = False) -> None:
        """Snapshot the running VM into ``dir`` (which must not exist); it
        runs on after a short pause. ``diff`` writes only the memory
        changed since this VM was resumed from its snapshot, which becomes
        the new one's parent. Start VMs of it with
        :meth:`Image.from_snapshot`."""
        self._vm.snapshot(os.fspath(dir), diff)

    def stop(self) -> None:
        """Stop the VM and free it (a pool's VM: give it back, and the
        pool stops it). Calls still running in other threads end with an
        error first. Stopping twice is harmless."""
        self._vm.stop()

    def __enter__(self) -> "Vm":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
