"""State files: written so readers see the old content or the new one, read back with bounds.

The data goes to a temporary file in the same directory, is flushed and fsynced, and is then
renamed over the target (``os.replace`` is atomic on POSIX within one file system). A process
killed mid-write leaves at most a ``.<name>.*.tmp`` file behind, which a later write removes once
it is old enough that no live writer can own it.

Reading is the other half: a state file is whatever is on the disk, not what we wrote. Anyone who
can write the state directory (or a full disk, or a kill) can leave a directory, a FIFO, a
300 MB file or JSON nested 200,000 deep there. :func:`read_bounded` checks the kind and the size
before reading a byte, and :func:`loads_json` turns every way JSON can go wrong (NaN, Infinity,
deep nesting, 5000-digit numbers) into one :class:`StateFileProblem`, so a loader catches one
exception and starts afresh instead of crash-looping.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "StateFileProblem",
    "create_exclusively",
    "loads_json",
    "read_bounded",
    "remove_stale_temps",
    "temp_files_for",
    "write_atomically",
]

STALE_TEMP_SECONDS = 3600.0


class StateFileProblem(ValueError):
    """A state file whose kind, size or content is not what the bridge writes; one line."""


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file *path*, if it holds at most *max_bytes*.

    Raises :class:`FileNotFoundError` if there is nothing there, :class:`PermissionError` if it
    may not be read, and :class:`StateFileProblem` for a directory, FIFO, device or socket (never
    opened for reading in a way that could block), or a file over the limit (never read).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except (FileNotFoundError, PermissionError):
        raise
    except OSError as exc:  # ENXIO (a socket), ELOOP, EISDIR on some systems...
        raise StateFileProblem(f"cannot be opened ({exc.strerror or exc})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StateFileProblem("is not a regular file")
        if info.st_size > max_bytes:
            raise StateFileProblem(f"is larger than {max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:  # the file may grow between fstat and read
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise StateFileProblem(f"is larger than {max_bytes} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _refuse_constant(name: str) -> Any:
    raise StateFileProblem(f"holds {name}, which is not JSON")


def loads_json(data: bytes) -> Any:
    """Parse *data* as strict JSON (UTF-8, no NaN/Infinity); any failure is StateFileProblem."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except StateFileProblem:
        raise
    except RecursionError as exc:
        raise StateFileProblem("is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many int digits
        raise StateFileProblem("is not valid JSON") from exc


def remove_stale_temps(directory: Path, max_age: float, prefix: str = ".") -> int:
    """Remove ``<prefix>*.tmp`` files older than *max_age* seconds from *directory*; how many.

    A writer's temporary file lives for milliseconds, so an old one is a leftover of a writer
    that was killed; nothing else would ever remove it.
    """
    cutoff = time.time() - max_age
    removed = 0
    try:
        candidates = [e for e in os.scandir(directory)
                      if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return 0
    for entry in candidates:
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed


def temp_files_for(path: Path) -> list[Path]:
    """Temporary files a (possibly crashed) writer of ``path`` may have left behind."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def write_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o644,
    dir_mode: int | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically, creating the parent directory if needed.

    ``mode`` is applied to the file before it becomes visible; ``dir_mode``, when given, is the
    mode of a directory this call creates (an existing directory is left as it is).
    Raises ``OSError`` on failure; the previous content of ``path`` is then left untouched.
    """
    _ensure_directory(path.parent, dir_mode)
    _remove_stale_temps(path)
    tmp = _durable_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)


def create_exclusively(path: Path, data: bytes, *, mode: int = 0o644,
                       dir_mode: int | None = None) -> bool:
    """Create ``path`` with ``data``, complete or not at all, unless it exists already.

    Returns False (changing nothing) when another process created it first: the first writer
    wins without a lock (a durable temp file hard-linked into place). Raises ``OSError``.
    """
    _ensure_directory(path.parent, dir_mode)
    tmp = _durable_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _fsync_directory(path.parent)
    return True


def _durable_temp(path: Path, data: bytes, mode: int) -> Path:
    """A temp file next to ``path`` holding ``data``, with ``mode``, flushed to the disk."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _ensure_directory(directory: Path, dir_mode: int | None) -> None:
    if directory.is_dir():
        return
    if dir_mode is None:
        directory.mkdir(parents=True, exist_ok=True)
        return
    directory.mkdir(mode=dir_mode, parents=True, exist_ok=True)
    os.chmod(directory, dir_mode)  # mkdir's mode is filtered by the umask


def _remove_stale_temps(path: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for tmp in temp_files_for(path):
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
