"""One bridge per state directory: an exclusive ``flock`` held for the life of the process.

Why: two bridges sharing a state directory would race on its files (stanza totals, spool, client
id), and two bridges reporting one cluster count it twice. And the bridge's node name is derived
from its state directory (:mod:`mim_bridge.app.nodes`), so the lock is also what proves that a
connection the node still holds under that name can only be this installation's own dead
predecessor.

Who takes it: every mode that writes state (the service, ``--once``) with :meth:`StateLock.acquire`;
the read-only modes (``--dry-run``, ``--validate``, ``--check``) never take it, they only look at
it with :func:`held_by_other` (``--check`` beside a running service uses a second node name).

The lock is ``STATE_DIR/bridge.lock``; its holder writes its PID into it, so that a refused bridge
can say who holds it. The file is never deleted (deleting lock files races with new holders); the
kernel releases the lock when the process ends, however it ends. A probe holds a shared lock for
an instant, so :meth:`StateLock.acquire` retries for a moment before it gives up.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from mim_bridge.errors import AlreadyRunning, LocalFilesError
from mim_bridge.util.filelock import lock_within

__all__ = ["LOCK_FILENAME", "StateDirBusy", "StateDirError", "StateLock", "held_by_other"]

LOCK_FILENAME = "bridge.lock"
ACQUIRE_WAIT = 1.0  # outlasts any probe (an instant), far below a human's patience
_RETRY_STEP = 0.02


class StateDirError(LocalFilesError):
    """The state directory cannot be created, or its lock file cannot be written (status 8)."""


class StateDirBusy(AlreadyRunning):
    """Another process holds the state directory's lock (its own exit status).

    ``pid`` is the holder's PID when its lock file says so, else None.
    """

    def __init__(self, message: str, directory: Path, pid: int | None) -> None:
        super().__init__(message)
        self.directory = directory
        self.pid = pid


class StateLock:
    """The held lock of one state directory; release it with :meth:`release` (or ``with``)."""

    def __init__(self, directory: Path, fd: int) -> None:
        self.directory = directory
        self.path = directory / LOCK_FILENAME
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path, *, wait: float = ACQUIRE_WAIT) -> StateLock:
        """Create *directory* if needed and lock it; raise :class:`StateDirBusy` if another
        process holds it (after *wait* seconds), :class:`StateDirError` if it cannot be used."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StateDirError(
                f"the state directory {directory} cannot be created: {e.strerror or e}; "
                "choose another with --state-dir") from e
        path = directory / LOCK_FILENAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise StateDirError(
                f"the state directory {directory} cannot be written ({path}: "
                f"{e.strerror or e}); make it writable by the bridge's user, or choose another "
                "with --state-dir") from e
        try:
            if not lock_within(fd, wait, _RETRY_STEP):
                raise _busy(directory, fd)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException as e:
            os.close(fd)
            if isinstance(e, OSError) and not isinstance(e, BlockingIOError):
                raise StateDirError(
                    f"the state directory {directory} cannot be locked ({path}: "
                    f"{e.strerror or e}); choose another with --state-dir") from e
            raise
        return cls(directory, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _busy(directory: Path, fd: int) -> StateDirBusy:
    pid: int | None = None
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
    who = f"another bridge (PID {pid})" if pid else "another bridge"
    return StateDirBusy(
        f"{who} is already using the state directory {directory}; stop it, or give this one "
        "its own --state-dir (two bridges on one cluster would report it twice)", directory, pid)


def held_by_other(directory: Path) -> bool:
    """Does another process hold *directory*'s lock now? Never creates anything.

    Holds a shared lock for an instant to find out (see :meth:`StateLock.acquire`).
    """
    try:
        fd = os.open(directory / LOCK_FILENAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file: nobody ever locked it (or we cannot tell)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as e:
        return e.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)
    return False
