"""``system_metrics_report.json``: the last report, for the operator to read.

The content is what MongooseIM's ``mongoose_system_metrics_file:save/1`` writes: a pretty JSON
list of ``{"name": ..., "params": {...}}`` (the raw events, not the GA4 request body). Events pass
the anonymity gate again here, so nothing private can reach the file even if a caller forgot it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from mim_bridge.events import Event
from mim_bridge.report.anonymise import anonymise
from mim_bridge.report.atomic_file import write_atomically
from mim_bridge.report.errors import ReportFileError

__all__ = ["DEFAULT_REPORT_FILENAME", "read_report", "render_report", "write_report"]

DEFAULT_REPORT_FILENAME = "system_metrics_report.json"


def render_report(events: Iterable[Event]) -> str:
    """The exact text of the report file (also what ``--dry-run`` can print)."""
    return _to_text(anonymise(events).events)


def write_report(path: Path, events: Iterable[Event]) -> tuple[Event, ...]:
    """Atomically replace ``path`` with the anonymised report; returns the events written.

    The parent directory is created if missing. Raises :class:`ReportFileError` with a one-line
    message if the file cannot be written; the previous report then stays intact.
    """
    safe = anonymise(events).events
    try:
        write_atomically(path, _to_text(safe).encode("utf-8"))
    except OSError as exc:
        raise ReportFileError(
            f"cannot write the report file {path}: {exc.strerror or exc}; "
            "choose a writable location for it"
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


def _to_text(events: Iterable[Event]) -> str:
    return json.dumps([e.to_json() for e in events], indent=2) + "\n"
