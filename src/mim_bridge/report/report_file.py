"""``system_metrics_report.json``: the last report, for the operator to read.

The content is what MongooseIM's ``mongoose_system_metrics_file:save/1`` writes: a pretty JSON
list of ``{"name": ..., "params": {...}}`` (the raw events, not the GA4 request body). A cluster
report is the concatenation of every reported node's events, in sending order. Each node's events
pass the anonymity gate again here, on their own (the gate folds custom modules into one count
per report), so nothing private can reach the file even if a caller forgot it.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable
from pathlib import Path

from mim_bridge.report.anonymise import anonymise
from mim_bridge.report.errors import ReportFileError
from mim_bridge.util.atomic_file import write_atomically
from mim_bridge.vocab.events import Event

__all__ = ["DEFAULT_REPORT_FILENAME", "read_report", "write_report"]

DEFAULT_REPORT_FILENAME = "system_metrics_report.json"


def write_report(path: Path, *reports: Iterable[Event]) -> tuple[Event, ...]:
    """Atomically replace ``path`` with the anonymised reports; returns the events written.

    Each of *reports* is one node's events; the file holds them one after the other. The parent
    directory is created if missing. Raises :class:`ReportFileError` with a one-line message
    naming the file if it cannot be written (a directory, no space left, permission denied);
    the previous report then stays intact.
    """
    safe = tuple(e for events in reports for e in anonymise(events).events)
    text = json.dumps([e.to_json() for e in safe], indent=2) + "\n"
    try:
        write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        hint = "free some space or choose" if exc.errno == errno.ENOSPC else "choose"
        raise ReportFileError(
            f"cannot write the report file {path}: {exc.strerror or exc}; "
            f"{hint} another place with --report-file"
        ) from exc
    return safe


def read_report(path: Path) -> list[Event]:
    """Read a report file written by this bridge or by MongooseIM itself."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportFileError(f"cannot read the report file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ReportFileError(f"the report file {path} is not valid JSON") from exc
    if not isinstance(raw, list) or not all(isinstance(e, dict) and "name" in e for e in raw):
        raise ReportFileError(f"the report file {path} is not a list of {{name, params}} events")
    return [Event.from_json(e) for e in raw]
