"""Reading the operator's small local files (configuration, cookie) without hanging or bloating.

A path given on the command line may name anything: a FIFO (``open`` would wait for a writer for
ever), ``/dev/zero`` (an endless read), a directory, or a huge file. :func:`read_bounded` opens
without blocking, accepts only a regular file, refuses one larger than the caller's limit before
reading it, and never reads more than that limit plus one byte (a file growing meanwhile is
still refused). Standard library only: the ``health`` command imports this module too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

__all__ = ["MAX_CONFIG_FILE", "STATE_DIR_NAME", "FileMissing", "FileRefused", "default_state_dir",
           "file_kind", "read_bounded"]

STATE_DIR_NAME = "mim-metrics-bridge"
# A mongooseim.toml is a few KiB; a file far larger is not a configuration file.
MAX_CONFIG_FILE = 1 << 20


class FileRefused(ValueError):
    """The file cannot be used; the message says why in words (no errno codes)."""


class FileMissing(FileRefused):
    """The file does not exist."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bounded(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """The content of the regular file *path* (at most *limit* bytes) and its status.

    Raises :class:`FileRefused` for a missing, unreadable, non-regular or too large file.
    """
    try:
        # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileMissing("it does not exist") from None
    except PermissionError:
        raise FileRefused("permission denied") from None
    except OSError as e:
        raise FileRefused(e.strerror or str(e)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"it is {file_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise FileRefused(f"it is {st.st_size} bytes long, more than the {limit} bytes "
                              "such a file may have")
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as e:
        raise FileRefused(e.strerror or str(e)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileRefused(f"it grew past the {limit} bytes such a file may have while it was "
                          "read")
    return data, st


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/mim-metrics-bridge``, else ``~/.local/state/mim-metrics-bridge``."""
    xdg = environ.get("XDG_STATE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / STATE_DIR_NAME
