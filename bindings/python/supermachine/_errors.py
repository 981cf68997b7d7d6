"""The exceptions of supermachine: one class, :class:`Error`, for every
failure the library reports, with subclasses by errno that are also the
matching built-in exceptions (a missing image is both
``supermachine.NotFoundError`` and ``FileNotFoundError``)."""
from __future__ import annotations

import builtins
import errno as _errno
from typing import Dict, Type

__all__ = [
    "Error", "NotFoundError", "ExistsError", "PermissionDeniedError", "InvalidArgumentError",
    "TimedOutError", "PortRefusedError", "NotRunningError", "BusyError",
    "KVMUnavailableError",
]

ENOKVM = 1001    # SM_ENOKVM: no usable KVM
EKVMPERM = 1002  # SM_EKVMPERM: /dev/kvm exists, but this user may not open it


class Error(OSError):
    """A failure of libsupermachine.

    ``errno`` is the error number the call returned (positive: ENOENT,
    EINVAL, ..., or 1001/1002 for the KVM errors, beyond errno's range),
    and ``strerror`` the library's sentence (``sm_last_error()``), which
    says what failed and what to do; ``str(error)`` is that sentence.
    """

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class NotFoundError(Error, builtins.FileNotFoundError):
    """ENOENT: no such image, file, VM or snapshot."""


class ExistsError(Error, builtins.FileExistsError):
    """EEXIST: the name or directory is taken."""


class PermissionDeniedError(Error, builtins.PermissionError):
    """EACCES or EPERM."""


class InvalidArgumentError(Error, ValueError):
    """EINVAL (also E2BIG): the library refused an argument."""


class TimedOutError(Error, builtins.TimeoutError):
    """ETIMEDOUT: a start, an acquire or a wait ran out of time."""


class PortRefusedError(Error, builtins.ConnectionRefusedError):
    """ECONNREFUSED: nothing listens on that port of the guest."""


class NotRunningError(Error, builtins.ProcessLookupError):
    """ESRCH: the VM is stopped, or the command has ended."""


class BusyError(Error):
    """EBUSY: the VM is paused, or the thing is in use."""


class KVMUnavailableError(Error):
    """No usable KVM here (errno 1001), or no permission to use it (1002)."""


_BY_ERRNO: Dict[int, Type[Error]] = {
    _errno.ENOENT: NotFoundError,
    _errno.EEXIST: ExistsError,
    _errno.EACCES: PermissionDeniedError,
    _errno.EPERM: PermissionDeniedError,
    _errno.EINVAL: InvalidArgumentError,
    _errno.E2BIG: InvalidArgumentError,
    _errno.ETIMEDOUT: TimedOutError,
    _errno.ECONNREFUSED: PortRefusedError,
    _errno.ESRCH: NotRunningError,
    _errno.EBUSY: BusyError,
    ENOKVM: KVMUnavailableError,
    EKVMPERM: KVMUnavailableError,
}


def _from_code(err: int, sentence: str) -> Error:
    """The exception for a failure with errno ``err`` (called by _native)."""
    return _BY_ERRNO.get(err, Error)(err, sentence)
