"""Stanza totals of the previous report, per node, kept in memory and in the state directory.

MongooseIM reports each stanza type's ``total`` and its ``increment`` since the service's previous
report. Its previous totals live only in the service process, so when the *node* restarts the
counters and the memory start again together and the increment is the whole (new) total. The
bridge lives outside the node, so it keeps the totals in ``stanza_totals.json`` in the state
directory: a restart of the *bridge* does not turn the next increment into the whole total.
A restart of the *node* is recognised (its uptime went down, or a counter did) and its previous
totals are then dropped, which gives exactly what MongooseIM itself would report.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .events import Event
from .report.atomic_file import write_atomically

__all__ = ["NodeTotals", "StanzaState", "uptime_seconds"]

log = logging.getLogger(__name__)

FILENAME = "stanza_totals.json"
_FORMAT = 1
_UPTIME = re.compile(r"^(\d+)-(\d\d):(\d\d):(\d\d)$")


def uptime_seconds(events: Iterable[Event]) -> int | None:
    """The node's uptime from its ``cluster`` event (``DDDD-HH:MM:SS``)."""
    for e in events:
        if e.name == "cluster":
            m = _UPTIME.match(str(e.params.get("uptime", "")))
            if m:
                d, h, mi, s = map(int, m.groups())
                return ((d * 24 + h) * 60 + mi) * 60 + s
    return None


@dataclass(frozen=True)
class NodeTotals:
    totals: Mapping[str, int]
    uptime: int | None


class StanzaState:
    """Previous totals by node, read from *path*; saved there only with *save* (dry runs don't)."""

    def __init__(self, path: Path, *, save: bool = True) -> None:
        self.path = path
        self.save = save
        self._nodes: dict[str, NodeTotals] = self._load()

    def previous(self) -> dict[str, dict[str, int]]:
        """What :func:`mim_bridge.collect.collect_cluster` takes as ``previous``."""
        return {node: dict(t.totals) for node, t in self._nodes.items()}

    def restarted(self, node: str, totals: Mapping[str, int] | None, uptime: int | None) -> bool:
        """True if *node* restarted since its previous report (its counters started over)."""
        before = self._nodes.get(node)
        if before is None or totals is None:
            return False
        if uptime is not None and before.uptime is not None and uptime < before.uptime:
            return True
        return any(totals.get(t, 0) < n for t, n in before.totals.items())

    def update(self, reports: Mapping[str, NodeTotals]) -> None:
        """Remember the totals just reported and save them (atomically) if persistent."""
        self._nodes.update(reports)
        if not self.save:
            return
        doc = {"format": _FORMAT, "nodes": {
            node: {"totals": dict(t.totals), "uptime": t.uptime}
            for node, t in sorted(self._nodes.items())}}
        try:
            write_atomically(self.path, (json.dumps(doc, indent=1) + "\n").encode(), mode=0o600)
        except OSError as e:
            log.warning("cannot save stanza totals to %s (%s); the next increments after a "
                        "bridge restart will be whole totals", self.path, e.strerror or e)

    def _load(self) -> dict[str, NodeTotals]:
        try:
            doc: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable %s (%s)", self.path, e)
            return {}
        out: dict[str, NodeTotals] = {}
        try:
            if doc.get("format") != _FORMAT:
                raise ValueError("unknown format")
            for node, entry in doc["nodes"].items():
                totals = {str(k): int(v) for k, v in entry["totals"].items()}
                uptime = entry.get("uptime")
                out[str(node)] = NodeTotals(totals, int(uptime) if uptime is not None else None)
        except (AttributeError, KeyError, TypeError, ValueError):
            log.warning("ignoring %s: not a stanza totals file of this bridge", self.path)
            return {}
        return out
