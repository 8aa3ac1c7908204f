"""A bounded on-disk queue of request bodies not yet accepted by GA4.

Every batch is written here *before* it is sent and removed only after a 2xx, so a crash at any
moment loses nothing and re-sends at most the one batch that was in flight. Files are written
atomically (temp file + rename), named so that sorting them gives their age, and hold one body
for one destination (the measurement id; never the api secret). When the spool holds more than
``max_batches``, the oldest are dropped with a warning: an unreachable GA4 must not fill the disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mim_bridge.events import Event
from mim_bridge.ga4.errors import SpoolError
from mim_bridge.ga4.payload import Batch, encode_body
from mim_bridge.report.atomic_file import write_atomically

__all__ = ["DEFAULT_MAX_BATCHES", "Spool", "SpooledBatch"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCHES = 256
_FORMAT = 1
_LOCK_NAME = ".lock"


@dataclass(frozen=True)
class SpooledBatch:
    """A batch waiting on disk for one destination."""

    path: Path
    measurement_id: str
    batch: Batch


class Spool:
    """The spool directory (created 0700 if missing) and its bound."""

    def __init__(self, directory: Path, max_batches: int = DEFAULT_MAX_BATCHES) -> None:
        if max_batches < 1:
            raise SpoolError("the spool must hold at least one batch")
        self.directory = directory
        self.max_batches = max_batches
        self._seq = 0
        self._seq_lock = threading.Lock()
        try:
            if not directory.is_dir():
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(directory, 0o700)
        except OSError as exc:
            raise SpoolError(
                f"cannot create the spool directory {directory}: {exc.strerror or exc}; "
                "choose a writable state directory"
            ) from exc

    def add(self, measurement_id: str, batch: Batch) -> SpooledBatch:
        """Persist ``batch`` for ``measurement_id``, then enforce the bound (oldest go first)."""
        path = self.directory / self._next_name()
        record = {
            "format": _FORMAT,
            "measurement_id": measurement_id,
            "body": json.loads(batch.body),
        }
        try:
            write_atomically(path, json.dumps(record, indent=1).encode("utf-8"), mode=0o600)
        except OSError as exc:
            raise SpoolError(
                f"cannot write to the spool directory {self.directory}: {exc.strerror or exc}"
            ) from exc
        self._enforce_bound()
        return SpooledBatch(path, measurement_id, batch)

    def pending(self) -> list[SpooledBatch]:
        """Waiting batches, oldest first; unreadable files are removed with a warning."""
        out: list[SpooledBatch] = []
        for path in self._files():
            item = self._load(path)
            if item is not None:
                out.append(item)
        return out

    def remove(self, item: SpooledBatch) -> None:
        with contextlib.suppress(FileNotFoundError):
            item.path.unlink()

    def __len__(self) -> int:
        return len(self._files())

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """Hold the spool for one sender process; yields False if another process has it."""
        fd = os.open(self.directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _next_name(self) -> str:
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        return f"{time.time_ns():020d}-{os.getpid():07d}-{seq:06d}.json"

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.glob("*.json") if not p.name.startswith("."))
        except OSError:
            return []

    def _enforce_bound(self) -> None:
        files = self._files()
        excess = len(files) - self.max_batches
        if excess <= 0:
            return
        for path in files[:excess]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        log.warning(
            "GA4 spool full (%d batches): dropped the %d oldest unsent batch(es)",
            self.max_batches,
            excess,
        )

    def _load(self, path: Path) -> SpooledBatch | None:
        try:
            record: Any = json.loads(path.read_bytes())
            body = record["body"]
            events = tuple(Event.from_json(e) for e in body["events"])
            measurement_id = str(record["measurement_id"])
            if record.get("format") != _FORMAT or not isinstance(body["client_id"], str):
                raise ValueError("unknown spool format")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("GA4 spool: removed unreadable file %s", path.name)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return SpooledBatch(path, measurement_id, Batch(events, encode_body(body)))
