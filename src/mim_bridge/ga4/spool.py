"""A bounded on-disk queue of batches not yet taken by GA4, indexed by file name.

Every batch is written here *before* it is sent and removed once GA4 answered it, so a crash at
any moment loses nothing. Files are written atomically (temp file + rename) and named

    <time ns, 20 digits>-<pid, 7>-<seq, 6>.<measurement id>.<event count>.json

so that sorting gives their age and the name alone says whom a batch is for and how big it is:
the index (what waits, for whom, how many bytes) comes from the directory listing and is kept in
memory, and a file is read only when its batch is about to be sent. With GA4 down, a report
therefore reads one spool file per destination, not all of them. The listing itself (names only)
is taken again at each drain, so batches another bridge process spooled in the same directory
are seen too. Files from before this naming (``<…>-<…>-<…>.json``) are read when their turn
comes.

Bounds: at most ``max_batches`` files and ``max_bytes`` bytes; adding beyond either drops the
oldest, with a warning. A file over :data:`MAX_FILE_BYTES` (a batch body is under 130 kB) is
no batch: it is removed, unread, when it is listed. Whatever a file holds is checked when it
is read (format, measurement id, client id, events of names and str/int params); anything else
is removed with a warning, and the sender re-applies the anonymity gate and GA4's limits before
anything leaves. Temporary files left by a killed writer are removed once they are a minute old.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mim_bridge.ga4.destinations import is_measurement_id
from mim_bridge.ga4.errors import SpoolError
from mim_bridge.ga4.limits import MAX_BODY_BYTES
from mim_bridge.ga4.payload import Batch
from mim_bridge.util.atomic_file import (
    loads_json,
    read_bounded,
    remove_stale_temps,
    write_atomically,
)
from mim_bridge.util.filelock import lock_within
from mim_bridge.vocab.events import Event

__all__ = [
    "DEFAULT_MAX_BATCHES",
    "DEFAULT_MAX_BYTES",
    "MAX_FILE_BYTES",
    "Spool",
    "SpoolEntry",
    "SpooledBatch",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCHES = 256
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
"""A few thousand ordinary batches (2-5 kB each), or 120 of the largest GA4 accepts."""
MAX_FILE_BYTES = 2 * MAX_BODY_BYTES
"""A spooled batch is its body (under 130 kB) and a few dozen bytes; a larger file is not ours."""
STALE_TEMP_SECONDS = 60.0
_FORMAT = 1
_LOCK_NAME = ".lock"
_NAME = re.compile(r"^(\d{20}-\d{7}-\d{6})(?:\.(G-[A-Z0-9]{4,20})\.(\d{1,6}))?\.json$")
_MAX_UNCONFIRMED = 1000
_MAX_INT = (1 << 64) - 1


@dataclass(frozen=True)
class SpoolEntry:
    """A spool file as the index knows it; ``measurement_id``/``events`` None for old names."""

    path: Path
    measurement_id: str | None
    events: int | None
    size: int

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class SpooledBatch:
    """A spool file's content, checked: one destination's batch, as it was spooled."""

    entry: SpoolEntry
    measurement_id: str
    client_id: str
    events: tuple[Event, ...]
    unconfirmed: int
    """Earlier sends of this batch that were written whole and never answered."""


class Spool:
    """The spool directory (created 0700 on first write) and its bounds."""

    def __init__(
        self,
        directory: Path,
        max_batches: int = DEFAULT_MAX_BATCHES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_batches < 1 or max_bytes < MAX_FILE_BYTES:
            raise SpoolError(
                f"the spool must hold at least one batch and {MAX_FILE_BYTES} bytes"
            )
        self.directory = directory
        self.max_batches = max_batches
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._seq = 0
        self._index: dict[str, SpoolEntry] = {}
        self._scanned = False
        self._unusable: set[str] = set()  # names that could be neither read nor removed
        self._junk: list[SpoolEntry] = []  # found too large to be a batch, and removed

    # -- writing ------------------------------------------------------------------------------

    def add(self, measurement_id: str, batch: Batch) -> tuple[SpoolEntry, list[SpoolEntry]]:
        """Persist ``batch`` for ``measurement_id``; return it and the oldest entries dropped to
        keep the bounds. Raises :class:`SpoolError` if it cannot be written."""
        if not is_measurement_id(measurement_id):
            raise ValueError("not a GA4 measurement id")
        with self._lock:
            self._ensure_directory()
            self._seq += 1
            stem = f"{time.time_ns():020d}-{os.getpid():07d}-{self._seq:06d}"
            path = self.directory / f"{stem}.{measurement_id}.{len(batch.events)}.json"
            data = _record(measurement_id, batch.body, 0)
            try:
                write_atomically(path, data, mode=0o600)
            except OSError as exc:
                raise SpoolError(
                    f"cannot write to the spool directory {self.directory}: "
                    f"{exc.strerror or exc}"
                ) from exc
            if not self._scanned:
                self._scan()
            entry = SpoolEntry(path, measurement_id, len(batch.events), len(data))
            self._index[entry.name] = entry
            return entry, self._enforce_bounds(keep=entry.name)

    def mark_unconfirmed(
        self, entry: SpoolEntry, measurement_id: str, batch: Batch, count: int
    ) -> None:
        """Record that ``count`` sends of this batch went unanswered (kept across restarts)."""
        try:
            write_atomically(entry.path, _record(measurement_id, batch.body, count), mode=0o600)
        except OSError as exc:
            log.warning("GA4 spool: cannot update %s (%s)", entry.name, exc.strerror or exc)

    def remove(self, entry: SpoolEntry) -> bool:
        """Remove a file; False if it stays (a read-only directory): it is then never offered
        again by this process, so a delivered batch is not sent twice."""
        with self._lock:
            return self._discard(entry)

    # -- reading ------------------------------------------------------------------------------

    def entries(self) -> list[SpoolEntry]:
        """What waits, oldest first (from the directory listing; no file is read)."""
        with self._lock:
            self._scan()
            return [self._index[n] for n in sorted(self._index)]

    def load(self, entry: SpoolEntry) -> SpooledBatch | None:
        """Read and check one file; a bad one is removed with a warning and gives None."""
        try:
            return _parse(entry, loads_json(read_bounded(entry.path, MAX_FILE_BYTES)))
        except FileNotFoundError:
            with self._lock:
                self._index.pop(entry.name, None)
            return None
        except (OSError, ValueError) as exc:  # StateFileProblem is a ValueError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            log.warning("GA4 spool: removed unusable file %s (%s)", entry.name, why)
            with self._lock:
                self._discard(entry)
            return None

    def take_junk(self) -> list[SpoolEntry]:
        """Files found too large to be a batch since the last call (already removed)."""
        with self._lock:
            junk, self._junk = self._junk, []
            return junk

    def __len__(self) -> int:
        """How many batches wait; counting alone (``--check``) changes nothing on the disk."""
        with self._lock:
            if not self._scanned:
                self._scan(tidy=False)
            return len(self._index)

    def writable(self) -> bool:
        """Whether files can be added and removed here (else kept batches are left alone)."""
        return os.access(self.directory, os.W_OK | os.X_OK)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """Hold the spool for one sender process; yields False if another process has it.

        Raises :class:`SpoolError` if the lock file cannot be opened at all.
        """
        try:
            self._ensure_directory()
            fd = os.open(self.directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                         0o600)
        except (OSError, SpoolError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise SpoolError(f"cannot lock the spool directory {self.directory}: {why}") from exc
        try:
            try:
                acquired = lock_within(fd, 0)
            except OSError as exc:
                raise SpoolError(
                    f"cannot lock the spool directory {self.directory}: {exc.strerror or exc}"
                ) from exc
            if not acquired:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # -- internals ----------------------------------------------------------------------------

    def _ensure_directory(self) -> None:
        try:
            if not self.directory.is_dir():
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.directory, 0o700)
        except OSError as exc:
            raise SpoolError(
                f"cannot create the spool directory {self.directory}: {exc.strerror or exc}"
            ) from exc

    def _scan(self, *, tidy: bool = True) -> None:
        """Refresh the index from the listing: new names are stat'ed once, gone ones dropped;
        with ``tidy``, leftover temporary files and files too large for a batch are removed."""
        self._scanned = tidy
        if tidy:
            remove_stale_temps(self.directory, STALE_TEMP_SECONDS)
        try:
            names = [e.name for e in os.scandir(self.directory)
                     if e.name.endswith(".json") and not e.name.startswith(".")]
        except OSError:
            names = []
        listed = set(names)
        for gone in set(self._index) - listed:
            del self._index[gone]
        for name in listed - set(self._index) - self._unusable:
            path = self.directory / name
            try:
                size = path.stat().st_size
            except OSError:
                continue
            match = _NAME.fullmatch(name)
            mid = match.group(2) if match else None
            events = int(match.group(3)) if match and match.group(3) else None
            entry = SpoolEntry(path, mid, events, size)
            if size > MAX_FILE_BYTES:  # never a batch: not read, not counted in the bounds
                if tidy:
                    log.warning("GA4 spool: removed %s: %d bytes, larger than any batch",
                                name, size)
                    if self._discard(entry):
                        self._junk.append(entry)
                continue
            self._index[name] = entry

    def _discard(self, entry: SpoolEntry) -> bool:
        """Drop an entry and its file (an empty directory too); False if it cannot go."""
        self._index.pop(entry.name, None)
        try:
            if entry.path.is_dir() and not entry.path.is_symlink():
                entry.path.rmdir()
            else:
                entry.path.unlink()
        except FileNotFoundError:
            return True
        except OSError as exc:
            if entry.name not in self._unusable:
                log.warning("GA4 spool: cannot remove %s (%s)", entry.name, exc.strerror or exc)
            self._unusable.add(entry.name)
            return False
        return True

    def _enforce_bounds(self, keep: str) -> list[SpoolEntry]:
        total = sum(e.size for e in self._index.values())
        dropped: list[SpoolEntry] = []
        for name in sorted(self._index):
            if len(self._index) <= self.max_batches and total <= self.max_bytes:
                break
            if name != keep:
                entry = self._index[name]
                total -= entry.size
                self._discard(entry)
                dropped.append(entry)
        if dropped:
            log.warning(
                "GA4 spool full (at most %d batches, %d bytes): dropped the %d oldest unsent "
                "batch(es)", self.max_batches, self.max_bytes, len(dropped)
            )
        return dropped


def _record(measurement_id: str, body: bytes, unconfirmed: int) -> bytes:
    extra = f',"unconfirmed":{unconfirmed}' if unconfirmed else ""
    head = f'{{"format":{_FORMAT},"measurement_id":"{measurement_id}"{extra},"body":'
    return head.encode("ascii") + body + b"}\n"


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(what)


def _parse(entry: SpoolEntry, record: Any) -> SpooledBatch:
    """The checked content of a spool file; ValueError for anything this bridge did not write."""
    _require(isinstance(record, dict) and record.get("format") == _FORMAT, "unknown format")
    mid = record.get("measurement_id")
    _require(isinstance(mid, str) and is_measurement_id(mid)
             and entry.measurement_id in (None, mid), "no valid measurement id")
    unconfirmed = record.get("unconfirmed", 0)
    _require(_is_int(unconfirmed) and 0 <= unconfirmed <= _MAX_UNCONFIRMED, "bad send count")
    body = record.get("body")
    _require(isinstance(body, dict) and isinstance(body.get("client_id"), str), "no client id")
    raw_events = body.get("events")
    _require(isinstance(raw_events, list), "no events")
    events = tuple(_event(e) for e in raw_events)
    _require(entry.events in (None, len(events)), "event count differs from the file name")
    return SpooledBatch(entry, mid, body["client_id"], events, unconfirmed)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _event(raw: Any) -> Event:
    _require(isinstance(raw, dict) and isinstance(raw.get("name"), str), "an event without a name")
    params = raw.get("params", {})
    _require(isinstance(params, dict), "event params are not an object")
    for value in params.values():
        _require(isinstance(value, str) or (_is_int(value) and -_MAX_INT <= value <= _MAX_INT),
                 "a param value that is neither text nor a 64-bit integer")
    return Event(raw["name"], dict(params))
