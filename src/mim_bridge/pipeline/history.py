"""The transparency log: every report the bridge sent, or tried to, kept in the state directory.

MongooseIM keeps only its last report (the report file). The bridge also keeps a bounded history,
``history.jsonl`` in the state directory, one JSON object per report: when, how many nodes, which
GA4 properties (measurement ids, never api secrets), how many events and requests, what GA4
answered, and the stanza totals with their increments. ``mim-metrics-bridge history`` shows it;
``--no-history`` (``history = false``) turns it off.

Theory of operation.

* **Line-oriented.** A torn or corrupted line is detectable and the other lines survive it:
  readers skip it and say so; the next append drops it with a warning (a file with nothing
  readable left becomes a fresh one).
* **Atomic.** Every append rewrites the current file through a temporary file and a rename, as
  the report file is written: a crash leaves the old file or the new one, never half a line. The
  file is small (a quarter of ``history_size``) and reports come hours apart, so this is cheap.
* **Bounded.** When an entry would take the current file past a quarter of ``history_size``, it
  becomes ``history.jsonl.1`` (``.1`` becomes ``.2``, ``.2`` becomes ``.3``, the old ``.3`` goes),
  each step an atomic rename; the entry starts a new file. Four files, at most ``history_size``
  in all (a single entry larger than a quarter still gets its own file).
* **Nothing private.** An entry is built from events that passed the anonymity gate (gated again
  here, as the report file does), the sender's validated measurement ids, the client id that is
  sent anyway, counts, and GA4's HTTP status codes. Node names are not kept: nodes are counted.
* Two bridge processes on one state directory (the service and a ``--once``) append in turn,
  under a lock file with a deadline.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mim_bridge.ga4.payload import split_batches
from mim_bridge.report.anonymise import anonymise
from mim_bridge.util.atomic_file import write_atomically
from mim_bridge.util.filelock import lock_within
from mim_bridge.vocab.events import Event

if TYPE_CHECKING:
    from mim_bridge.config import Config
    from mim_bridge.ga4.sender import DeliveryReport

__all__ = ["FILENAME", "History", "HistoryRead", "build_entry", "record", "report_digest"]

log = logging.getLogger(__name__)

FILENAME = "history.jsonl"
FORMAT = 1
ROTATED = 3
"""Older files kept besides the current one: ``history.jsonl.1`` … ``history.jsonl.3``."""
LOCK_NAME = ".history.lock"
LOCK_TIMEOUT = 5.0
MAX_FILE_READ = 16 * 1024 * 1024
"""Bytes read from the end of one file at most (a file the bridge wrote is far smaller)."""
OUTCOMES = ("delivered", "rejected", "pending", "dropped")
"""A batch's fate in the sender, counted per destination (see ``BatchOutcome.status``)."""
DIR_MODE = 0o700
FILE_MODE = 0o600


def report_digest(events: Iterable[Event]) -> str:
    """A fingerprint of a report's events, so that ``show`` can find when that report was sent."""
    text = json.dumps([e.to_json() for e in events], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def build_entry(client_id: str, reports: Sequence[tuple[str, Sequence[Event]]],
                deliveries: Mapping[str, DeliveryReport], destinations: Sequence[str],
                now: datetime.datetime) -> dict[str, Any]:
    """One history entry for a report whose *deliveries* (by node) are known.

    *reports* are the report's nodes and events in sending order (the report file holds all of
    them); the counts cover the nodes that were handed to the sender.
    """
    gated = [(node, anonymise(events).events) for node, events in reports]
    sent = [events for node, events in gated if node in deliveries]
    stanzas: dict[str, dict[str, int]] = {}
    for events in sent:
        for e in events:
            kind = e.params.get("stanza_type")
            if e.name != "xmpp_stanza_count" or not isinstance(kind, str):
                continue
            slot = stanzas.setdefault(kind, {})
            for key in ("total", "increment"):
                value = e.params.get(key)
                if isinstance(value, int):
                    slot[key] = slot.get(key, 0) + value
    entry: dict[str, Any] = {
        "format": FORMAT,
        "time": now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "report": report_digest(e for _, events in gated for e in events),
        "client_id": client_id,
        "nodes": len(sent),
        "events": sum(len(events) for events in sent),
        "requests": len(destinations) * sum(len(split_batches(client_id, events).batches)
                                            for events in sent),
        "destinations": _answers(deliveries.values(), destinations),
        "resent": sum(1 for d in deliveries.values() for o in d.outcomes
                      if o.from_spool and o.status == "delivered"),
        "waiting": max((d.pending for d in deliveries.values()), default=0),
        "stanzas": stanzas,
    }
    if len(sent) < len(reports):
        entry["unsent_nodes"] = len(reports) - len(sent)
    return entry


def _answers(deliveries: Iterable[DeliveryReport], destinations: Sequence[str]
             ) -> dict[str, dict[str, Any]]:
    """Per measurement id: this report's batches by outcome, and the HTTP statuses GA4 gave.

    The adapter to the sender's result type: it reads only each batch outcome's destination,
    status, HTTP status and whether it came from the spool (a batch of an earlier report).
    """
    counts: dict[str, dict[str, int]] = {mid: dict.fromkeys(OUTCOMES, 0) for mid in destinations}
    statuses: dict[str, set[int]] = {mid: set() for mid in destinations}
    errors: dict[str, set[str]] = {mid: set() for mid in destinations}
    for delivery in deliveries:
        for o in delivery.outcomes:
            if o.from_spool:
                continue
            counts.setdefault(o.measurement_id, dict.fromkeys(OUTCOMES, 0))[o.status] += 1
            if o.http_status is not None:
                statuses.setdefault(o.measurement_id, set()).add(o.http_status)
            # the error kinds of attempts GA4 did not answer (timeout, connection, ...)
            errors.setdefault(o.measurement_id, set()).update(
                a for a in o.answers if not a.isdigit())
    return {mid: {**c, "http": sorted(statuses.get(mid, ())),
                  "errors": sorted(errors.get(mid, ()))} for mid, c in counts.items()}


def record(config: Config, client_id: str, reports: Sequence[tuple[str, Sequence[Event]]],
           deliveries: Mapping[str, DeliveryReport], destinations: Sequence[str]) -> None:
    """Append a report the sender was given to the log. Never raises: the log is a record of
    the reports, and a full disk or a bug in it must not stop one from being sent."""
    if not config.history or not deliveries:
        return
    try:
        entry = build_entry(client_id, reports, deliveries, destinations,
                            datetime.datetime.now(datetime.UTC))
        History(config.state_dir, config.history_size).append(entry)
    except Exception as e:  # see the docstring
        log.warning("cannot add the report to the transparency log %s (%s: %s)",
                    config.state_dir / FILENAME, type(e).__name__, e,
                    exc_info=log.isEnabledFor(logging.DEBUG))


@dataclass(frozen=True)
class HistoryRead:
    """What the log holds, oldest entry first, and how much of it could not be read."""

    entries: list[dict[str, Any]]
    files: list[Path]
    unreadable: int


class History:
    """The log in *directory*, at most *size* bytes in four files."""

    def __init__(self, directory: Path, size: int, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.directory = directory
        self.path = directory / FILENAME
        self.file_limit = max(size // (ROTATED + 1), 1)
        self.lock_timeout = lock_timeout

    def files(self) -> list[Path]:
        """The log's files that exist, oldest first."""
        names = [self._rotated(k) for k in range(ROTATED, 0, -1)] + [self.path]
        return [p for p in names if p.is_file()]

    def append(self, entry: Mapping[str, Any]) -> None:
        """Add *entry* as one line; rotate first if it would not fit. Raises ``OSError``."""
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=True) + "\n"
        self._ensure_directory()
        with self._locked():
            kept, unreadable = _read_lines(self.path, MAX_FILE_READ)
            data = "".join(kept)
            if unreadable:
                log.warning("the transparency log %s had %d unreadable line(s) (truncated or "
                            "corrupted); dropped them%s", self.path, unreadable,
                            "" if kept else " and started a fresh file")
                write_atomically(self.path, data.encode("ascii"), mode=FILE_MODE)
            if kept and len(data) + len(line) > self.file_limit:
                self._rotate()
                data = ""
            write_atomically(self.path, (data + line).encode("ascii"), mode=FILE_MODE)

    def read(self) -> HistoryRead:
        """Every readable entry, oldest first (missing files are simply empty)."""
        entries: list[dict[str, Any]] = []
        unreadable = 0
        files = self.files()
        for path in files:
            lines, bad = _read_lines(path, MAX_FILE_READ)
            unreadable += bad
            entries.extend(json.loads(line) for line in lines)
        return HistoryRead(entries, files, unreadable)

    def _rotated(self, k: int) -> Path:
        return self.path.with_name(f"{FILENAME}.{k}")

    def _rotate(self) -> None:
        for k in range(ROTATED, 1, -1):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self._rotated(k - 1), self._rotated(k))
        os.replace(self.path, self._rotated(1))

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            # Only a directory we create is ours to lock down (as for the client id).
            self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.chmod(self.directory, DIR_MODE)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            if not lock_within(fd, self.lock_timeout):
                raise TimeoutError(f"another process holds {LOCK_NAME}")
            yield
        finally:
            os.close(fd)  # releases the lock


def _read_lines(path: Path, limit: int) -> tuple[list[str], int]:
    """The valid entry lines of *path* (at most its last *limit* bytes), and the invalid count."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            raw = f.read(limit)
    except FileNotFoundError:
        return [], 0
    chunks = raw.split(b"\n")
    if size > limit:
        chunks = chunks[1:]  # the first one was cut by the limit, not by a writer
    kept: list[str] = []
    unreadable = 0
    for chunk in chunks[:-1]:  # every complete line
        if chunk.strip():
            if _valid(chunk):
                kept.append(chunk.decode("ascii") + "\n")
            else:
                unreadable += 1
    if chunks[-1].strip():
        unreadable += 1  # no newline at the end: torn
    return kept, unreadable


def _valid(chunk: bytes) -> bool:
    try:
        chunk.decode("ascii")
        obj = json.loads(chunk)
    except ValueError:
        return False
    return isinstance(obj, dict) and isinstance(obj.get("time"), str)
