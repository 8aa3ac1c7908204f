"""The GA4 ``client_id``: the cluster's own id when the node has one, else a local stable UUID.

MongooseIM sends ``mongoose_cluster_id:get_cached_cluster_id()`` so every node of a cluster reports
under one id. The bridge does the same when the node returns a well-formed id (a UUID, with the
``ephemeral-`` prefix MongooseIM 6.4+ adds without a persistent RDBMS). Anything else (an error,
an older node, a malformed value) falls back to a random UUID created once and kept in a state
file (0600, in a 0700 directory when the bridge creates it), so it survives restarts.

A state file that holds anything but a UUID (junk, a 300 MB file, a FIFO, a directory) is replaced
with a warning; it is never read beyond a few bytes. Only a directory that is not empty cannot be
replaced: the run then uses a temporary id and says so, rather than stopping the bridge.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mim_bridge.report.errors import ClientIdError
from mim_bridge.util.atomic_file import (
    StateFileProblem,
    create_exclusively,
    read_bounded,
    remove_stale_temps,
)
from mim_bridge.vocab.forms import UUID_RE, valid_cluster_id

__all__ = [
    "DEFAULT_STATE_FILENAME",
    "ClientId",
    "load_or_create_client_id",
    "resolve_client_id",
]

log = logging.getLogger(__name__)

DEFAULT_STATE_FILENAME = "client_id"
_STATE_RE = UUID_RE
FILE_MODE = 0o600
DIR_MODE = 0o700
MAX_FILE_BYTES = 4096
"""A UUID and a newline take 37 bytes; a larger file is not ours and is never read whole."""
STALE_TEMP_SECONDS = 60.0


@dataclass(frozen=True)
class ClientId:
    """The id to send, and where it came from (for an honest ``--dry-run``)."""

    value: str
    source: Literal["cluster", "state_file", "new", "temporary"]
    """``temporary``: the state file could not be replaced; this id lasts for this run only."""


def resolve_client_id(cluster_id: object, state_file: Path) -> ClientId:
    """Prefer the node's cluster id; otherwise the state file's UUID (created on first use)."""
    valid = valid_cluster_id(cluster_id)
    if valid is not None:
        return ClientId(valid, "cluster")
    if cluster_id is not None:
        log.info("the node's cluster id is not a UUID; using the bridge's own client id")
    return load_or_create_client_id(state_file)


def _new_uuid() -> str:
    import uuid  # only when a client id is created: uuid imports platform, ~3 ms at start

    return str(uuid.uuid4())


def load_or_create_client_id(state_file: Path) -> ClientId:
    """Read the UUID kept in ``state_file``, creating it (race-free) if it does not exist."""
    remove_stale_temps(state_file.parent, STALE_TEMP_SECONDS, f".{state_file.name}.")
    existing = _read(state_file)
    if existing is not None:
        _tighten(state_file)
        return ClientId(existing, "state_file")
    if state_file.is_dir() and not _remove_empty_directory(state_file):
        log.warning("the client id state file %s is a directory that is not empty; using a "
                    "temporary client id for this run (remove the directory to keep one)",
                    state_file)
        return ClientId(_new_uuid(), "temporary")
    new = _new_uuid()
    try:
        won = _create_exclusively(state_file, new)
    except OSError as exc:
        raise ClientIdError(
            f"cannot write the client id state file {state_file}: {exc.strerror or exc}; "
            "choose a writable state directory"
        ) from exc
    if won:
        return ClientId(new, "new")
    # Another process created it between our read and our link: use its id.
    other = _read(state_file)
    if other is None:
        raise ClientIdError(f"the client id state file {state_file} is unreadable; remove it")
    return ClientId(other, "state_file")


def _read(state_file: Path) -> str | None:
    """The UUID in the state file; None (after removing what is there) if it holds none."""
    try:
        raw = read_bounded(state_file, MAX_FILE_BYTES)
    except FileNotFoundError:
        return None
    except StateFileProblem as exc:
        log.warning("the client id state file %s %s; replacing it", state_file, exc)
        _remove_non_directory(state_file)
        return None
    except OSError as exc:
        raise ClientIdError(
            f"cannot read the client id state file {state_file}: {exc.strerror or exc}"
        ) from exc
    text = raw.decode("ascii", errors="replace").strip()
    if _STATE_RE.fullmatch(text):
        return text.lower()
    log.warning("the client id state file %s holds no UUID; replacing it", state_file)
    _remove_non_directory(state_file)
    return None


def _remove_non_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        if not path.is_dir() or path.is_symlink():
            path.unlink()


def _remove_empty_directory(path: Path) -> bool:
    try:
        path.rmdir()
    except OSError:
        return False
    return True


def _create_exclusively(state_file: Path, value: str) -> bool:
    """Create the state file with ``value`` (0600; a directory we create, 0700); False if it
    exists. Only a directory we create is ours to lock down (never chmod someone's home)."""
    return create_exclusively(state_file, (value + "\n").encode("ascii"), mode=FILE_MODE,
                              dir_mode=DIR_MODE)


def _tighten(state_file: Path) -> None:
    """Restore 0600 if someone loosened it; the id is not secret, but it is ours alone."""
    with contextlib.suppress(OSError):
        if (state_file.stat().st_mode & 0o777) != FILE_MODE:
            os.chmod(state_file, FILE_MODE)
