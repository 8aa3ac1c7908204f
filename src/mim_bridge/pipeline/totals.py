"""Stanza totals of the previous report, per node, kept in memory and in the state directory.

MongooseIM reports each stanza type's ``total`` and its ``increment`` since the service's previous
report. Its previous totals live only in the service process, so when the *node* restarts the
counters and the memory start again together and the increment is the whole (new) total. The
bridge lives outside the node, so it keeps the totals in ``stanza_totals.json`` in the state
directory: a restart of the *bridge* does not turn the next increment into the whole total.
A restart of the *node* is recognised (its uptime went down, or a counter did) and its previous
totals are then dropped, which gives exactly what MongooseIM itself would report.

Whatever is found in the file (another program's JSON, NaN, a counter of 10**4000, nesting 200,000
deep, a directory, a FIFO, a 300 MB file) is one warning and a fresh start: the first report after
it then sends whole totals as increments, as after a node restart, and the next save replaces it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mim_bridge.util.atomic_file import StateFileProblem, loads_json, read_bounded, write_atomically
from mim_bridge.vocab import forms
from mim_bridge.vocab.events import Event

__all__ = ["FILENAME", "NodeTotals", "StanzaState", "uptime_seconds"]

log = logging.getLogger(__name__)

FILENAME = "stanza_totals.json"
MAX_FILE_BYTES = 1 << 20
"""About 5,000 nodes' totals; a larger file is not ours and is never read."""
MAX_COUNTER = (1 << 64) - 1
"""MongooseIM's counters are 64-bit at most; anything larger is not a counter."""
_FORMAT = 1


def uptime_seconds(events: Iterable[Event]) -> int | None:
    """The node's uptime from its ``cluster`` event (``DDDD-HH:MM:SS``)."""
    for e in events:
        if e.name == "cluster":
            return forms.uptime_seconds(e.params.get("uptime"))
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
            doc: Any = loads_json(read_bounded(self.path, MAX_FILE_BYTES))
        except FileNotFoundError:
            return {}
        except StateFileProblem as e:
            return self._fresh_start(f"it {e}")
        except OSError as e:
            return self._fresh_start(f"it cannot be read ({e.strerror or e})")
        try:
            return _parse(doc)
        except ValueError as e:
            return self._fresh_start(f"not a stanza totals file of this bridge ({e})")

    def _fresh_start(self, why: str) -> dict[str, NodeTotals]:
        log.warning("ignoring %s: %s; starting afresh (the next increments are whole totals)",
                    self.path, why)
        return {}


def _counter(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNTER:
        raise ValueError("a total or an uptime is not a counter")
    return value


def _parse(doc: Any) -> dict[str, NodeTotals]:
    """The totals in *doc*, checked type by type; ValueError for anything else."""
    nodes = doc.get("nodes") if isinstance(doc, dict) and doc.get("format") == _FORMAT else None
    if not isinstance(nodes, dict):
        raise ValueError("unknown format")
    out: dict[str, NodeTotals] = {}
    for node, entry in nodes.items():
        totals = entry.get("totals") if isinstance(entry, dict) else None
        if not isinstance(totals, dict):
            raise ValueError("a node without totals")
        uptime = entry.get("uptime")
        out[str(node)] = NodeTotals({str(k): _counter(v) for k, v in totals.items()},
                                    None if uptime is None else _counter(uptime))
    return out
