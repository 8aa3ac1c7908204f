"""Write a file so that readers see the old content or the new one, never a torn mix.

The data goes to a temporary file in the same directory, is flushed and fsynced, and is then
renamed over the target (``os.replace`` is atomic on POSIX within one file system). A process
killed mid-write leaves at most a ``.<name>.*.tmp`` file behind, which a later write removes once
it is old enough that no live writer can own it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

__all__ = ["temp_files_for", "write_atomically"]

STALE_TEMP_SECONDS = 3600.0


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
    directory = path.parent
    _ensure_directory(directory, dir_mode)
    _remove_stale_temps(path)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)


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
