"""VMs started ahead of time: :class:`Pool`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from . import _native
from ._config import _ms, vm_config
from ._vm import Vm

if TYPE_CHECKING:
    import sys

    from ._config import VmConfig
    from ._image import Image

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack


@dataclass(frozen=True)
class PoolStats:
    """A pool's VMs now (idle, acquired, starting, stopping; acquires
    waiting) and its counts since it was made."""

    idle: int
    acquired: int
    starting: int
    stopping: int
    waiting: int
    started: int
    acquisitions: int
    discarded: int
    expired: int
    failed_starts: int
    timeouts: int


class Pool:
    """VMs of one image started ahead of time, so that :meth:`acquire`
    hands one out at once.

    ``min`` VMs are kept started and idle, ``max`` (default: ``min``, at
    least 1) counts every VM, idle, acquired or starting. An idle VM above
    ``min`` is stopped after ``idle_timeout`` seconds (default: never);
    :meth:`acquire` waits up to ``acquire_timeout`` seconds (default: for
    ever) and then raises :class:`supermachine.TimedOutError`. The other
    keywords are :class:`VmConfig`'s, for every VM (no ports, name or
    upper_disk: a pool's VMs run side by side).

    A VM given back (``with pool.acquire() as vm:``, or ``vm.stop()``) is
    never reused: it is stopped in the background and a fresh one started
    in its place. :meth:`close` stops every VM, acquired ones too.
    """

    def __init__(self, image: "Image", *, min: int = 1, max: int = 0,
                 idle_timeout: Optional[float] = None, acquire_timeout: Optional[float] = None,
                 max_parallel_starts: int = 0, **vm: "Unpack[VmConfig]") -> None:
        cfg = {
            "min": min, "max": max, "max_parallel_starts": max_parallel_starts,
            "idle_timeout_ms": _ms(idle_timeout, "idle_timeout"),
            "acquire_timeout_ms": _ms(acquire_timeout, "acquire_timeout"),
            "vm": vm_config(**vm),
        }
        self._pool = _native.pool_new(image._native(), cfg)

    def acquire(self) -> Vm:
        """An idle VM, at once if there is one; else one started or given
        back within ``acquire_timeout``. Use it as a context manager to
        give it back at the end of the block."""
        return Vm(self._pool.acquire())

    def stats(self) -> PoolStats:
        """The counts now and since the pool was made."""
        return PoolStats(**self._pool.stats())

    def close(self) -> None:
        """Stop every VM, acquired ones included (calls in flight on them
        end with an error), and free the pool. Closing twice is harmless."""
        self._pool.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
