"""Commands in a VM: the arguments of :meth:`Vm.exec`, its result, and
:class:`ExecStream`, a command whose output is read while it runs."""
from __future__ import annotations

import errno
import math
import os
import queue
import signal as _signal
import threading
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

from ._errors import _from_code

if TYPE_CHECKING:
    from . import _native

Env = Union[Mapping[str, str], Sequence[str]]
Stdin = Union[bytes, bytearray, memoryview, str, int, IO[Any], None]
StreamName = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class ExecResult:
    """How a command ended, and its output.

    ``exit_code`` is shell-style: the command's status, or 128+N when
    signal N ended it (then ``signal`` is N, else 0). ``timed_out`` says
    the ``timeout`` killed it. ``stdout`` and ``stderr`` are the bytes it
    wrote (for an :class:`ExecStream`: those not already read by iterating
    it); ``output_truncated`` says more than ``max_output`` came.
    """

    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    signal: int = 0
    output_truncated: bool = False
    peak_rss_kib: int = 0

    @property
    def ok(self) -> bool:
        """Exited with 0 within its time."""
        return self.exit_code == 0 and not self.timed_out

    @classmethod
    def _from_native(cls, t: Tuple[int, int, int, bytes, bytes, int, int],
                     stdout: Optional[bytes] = None, stderr: Optional[bytes] = None) -> "ExecResult":
        status, sig, timed_out, out, err, truncated, rss = t
        return cls(exit_code=status, stdout=out if stdout is None else stdout,
                   stderr=err if stderr is None else stderr, timed_out=bool(timed_out),
                   signal=sig, output_truncated=bool(truncated), peak_rss_kib=rss)


def exec_args(argv: Sequence[str], *, env: Optional[Env] = None, cwd: Optional[str] = None,
              user: Union[str, int, None] = None, tty: bool = False,
              timeout: Optional[float] = None, stdin: Stdin = None,
              max_output: Optional[int] = None, open_stdin: bool = False) -> Dict[str, Any]:
    """The dict _native's exec calls take, from :meth:`Vm.exec`'s keywords."""
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv is a list of strings (['sh', '-c', line] for a shell line)")
    d: Dict[str, Any] = {"argv": [os.fspath(a) for a in argv], "cwd": cwd, "tty": tty}
    if env is not None:
        if isinstance(env, Mapping):
            d["env"] = [f"{k}={v}" for k, v in env.items()]
        elif isinstance(env, (str, bytes)):
            raise TypeError("env is a dict, or a list of 'NAME=value' strings")
        else:
            d["env"] = list(env)
    if user is not None:
        d["user"] = str(user)
    if timeout is not None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        d["timeout_ms"] = max(1, math.ceil(timeout * 1000))
    if max_output is not None:
        d["max_output"] = max_output
    if isinstance(stdin, str):
        d["stdin"] = stdin.encode()
    elif isinstance(stdin, (bytes, bytearray, memoryview)):
        d["stdin"] = stdin
    elif stdin is not None:
        d["stdin_fd"] = stdin   # an fd, or an object with fileno(): read to its end
    d["stdin_stream"] = open_stdin
    return d


class _Cancelled(Exception):
    """Raised in the sink to end the command when the stream is closed."""


_END = object()


class ExecStream:
    """A running command whose output comes as it is written.

    Iterate it for ``(stream, data)`` pairs, ``stream`` being ``"stdout"``
    or ``"stderr"`` and ``data`` bytes, in the order the guest sent them;
    the iteration ends with the command. Then :meth:`wait` (or
    :attr:`result`, :attr:`exit_code`) gives how it ended. Use it as a
    context manager, or iterate it to the end: a stream left behind keeps
    its command running. Output waits for the reader (a bounded queue), so
    a command that writes faster than it is read is slowed, not buffered
    without end.

    A thread of its own runs ``sm_exec_wait`` without the GIL; ``signal``,
    ``write_stdin``, ``close_stdin`` and ``resize`` may be called from any
    thread meanwhile.
    """

    _QUEUE = 64   # chunks held for the reader
    _KILL_WAIT = 10.0   # seconds close() waits for a killed command to end

    def __init__(self, native: "_native.Exec") -> None:
        self._h = native
        self._q: "queue.Queue[Any]" = queue.Queue(self._QUEUE)
        self._cancelled = threading.Event()
        self._ended = False
        self._result: Optional[ExecResult] = None
        self._raw: Optional[Tuple[int, int, int, bytes, bytes, int, int]] = None
        # Output taken off the queue by wait(), for the result: kept here
        # so that a wait that times out loses none of it.
        self._out: List[bytes] = []
        self._err: List[bytes] = []
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="supermachine-exec", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._cancelled.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def _sink(self, fd: int, data: bytes) -> None:
        if not self._put(("stdout" if fd == 1 else "stderr", data)):
            raise _Cancelled()

    def _run(self) -> None:
        try:
            self._raw = self._h.wait(self._sink)
        except BaseException as e:  # handed to the reader's thread
            self._error = e
        self._put(_END)

    def __iter__(self) -> Iterator[Tuple[StreamName, bytes]]:
        return self

    def __next__(self) -> Tuple[StreamName, bytes]:
        if self._ended:
            raise StopIteration
        item = self._q.get()
        if item is _END:
            self._ended = True
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def wait(self, timeout: Optional[float] = None) -> ExecResult:
        """Wait for the end; output not read by iterating goes into the
        result. Raises :class:`supermachine.Error` if the command could
        not be run to its end, ``TimeoutError`` if ``timeout`` seconds
        pass first (the command goes on)."""
        if self._result is None:
            # One deadline for the whole wait, not a timeout per chunk: a
            # command that writes now and then must not stretch it.
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._ended:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    item = self._q.get(timeout=left)
                except queue.Empty:
                    raise TimeoutError(f"the command did not end within {timeout} s") from None
                if item is _END:
                    self._ended = True
                else:
                    (self._out if item[0] == "stdout" else self._err).append(item[1])
            self._thread.join()
            if isinstance(self._error, _Cancelled):
                raise _from_code(errno.ECANCELED, "the stream was closed before the command ended")
            if self._error is not None:
                raise self._error
            assert self._raw is not None
            self._result = ExecResult._from_native(self._raw, b"".join(self._out),
                                                   b"".join(self._err))
        return self._result

    @property
    def result(self) -> ExecResult:
        """:meth:`wait`'s result."""
        return self.wait()

    @property
    def exit_code(self) -> int:
        """The exit code, once the command has ended (waits for it)."""
        return self.wait().exit_code

    @property
    def running(self) -> bool:
        """Whether the command has not ended yet."""
        return self._thread.is_alive()

    def signal(self, signo: int) -> None:
        """Send a signal to the command (its process group)."""
        self._h.signal(int(signo))

    def write_stdin(self, data: Union[bytes, str]) -> None:
        """Feed the command's stdin (started with ``open_stdin=True``)."""
        self._h.write_stdin(data.encode() if isinstance(data, str) else data)

    def close_stdin(self) -> None:
        """End the command's stdin: it reads end-of-file."""
        self._h.close_stdin()

    def resize(self, rows: int, cols: int) -> None:
        """Resize the command's terminal (``tty=True``)."""
        self._h.resize(rows, cols)

    def close(self) -> None:
        """Kill the command if it still runs (SIGKILL to its process
        group) and wait for its end, discarding output not yet read;
        :meth:`wait` then gives how it ended."""
        if self._thread.is_alive():
            try:
                self._h.signal(_signal.SIGKILL)
            except OSError:
                pass   # it ended meanwhile
            # Output it writes while dying must not block it on the queue.
            deadline = time.monotonic() + self._KILL_WAIT
            while self._thread.is_alive() and time.monotonic() < deadline:
                self._discard(0.1)
            # Still running (its output kept open elsewhere?): the next
            # chunk ends the wait with ECANCELED.
            self._cancelled.set()
            self._thread.join()
        # What is left in the queue was discarded: iterating ends here,
        # and wait() reports how the command ended (ECANCELED if given up).
        self._ended = True

    def _discard(self, timeout: float) -> None:
        try:
            if self._q.get(timeout=timeout) is _END:
                self._ended = True
        except queue.Empty:
            pass

    def __enter__(self) -> "ExecStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
