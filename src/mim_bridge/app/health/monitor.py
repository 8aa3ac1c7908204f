"""The service's view of itself: what happened to each report, and the status file for probes.

:class:`Monitor` is updated by the service at each step (it never asks the cluster or GA4
anything itself) and renders one status document (:mod:`.status`), which it writes to
``STATE_DIR/status.json`` after every change and at every heartbeat. The write is a temporary
file renamed over the old one, without fsync: the file is a live signal, rewritten every few
seconds, not data to keep; a reader sees the old document or the new one, never a torn one.
A status file that cannot be written is logged once and does not stop the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mim_bridge import __version__
from mim_bridge.app.health.status import FORMAT, RESULTS, Verdict, assess

__all__ = ["HEARTBEAT_SECONDS", "Monitor", "Timing"]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0


@dataclass
class Timing:
    """Count, sum and last value of one kind of duration (a Prometheus summary)."""

    count: int = 0
    total: float = 0.0
    last: float | None = None

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.last = seconds


@dataclass
class Monitor:
    """Counters and the last outcome of the report loop; :meth:`document` is the status."""

    status_path: Path | None
    initial_report: float
    periodic_report: float
    grace_seconds: float
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    clock: Callable[[], float] = time.time
    state: str = "starting"
    disabled_by: str | None = None
    started_at: float = field(default_factory=time.time)
    reports: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))
    failures: dict[str, int] = field(default_factory=dict)  # error kind -> attempts
    node_reachable: bool | None = None
    last_attempt: dict[str, Any] | None = None
    last_success_at: float | None = None
    next_report_at: float | None = None
    nodes_reached: int = 0
    nodes_not_reported: int = 0
    spool_batches: int = 0
    connections_open: int = 0
    collection: Timing = field(default_factory=Timing)
    sending: Timing = field(default_factory=Timing)
    http_listen: str | None = None
    updated_at: float = 0.0
    _write_failed: bool = False

    # ------------------------------------------------------------------ what the service reports

    def running(self) -> None:
        self.state = "running"
        self.changed()

    def disabled(self, reason: str) -> None:
        self.state, self.disabled_by, self.next_report_at = "disabled", reason, None
        self.changed()

    def stopping(self) -> None:
        self.state = "stopping"
        self.changed()

    def next_report_in(self, seconds: float) -> None:
        self.next_report_at = self.clock() + max(0.0, seconds)
        self.changed()

    def reached(self, nodes: int, seconds: float | None = None) -> None:
        """The cluster was read (*nodes* members); *seconds* when it was a report's collection."""
        self.node_reachable = True
        self.nodes_reached = nodes
        if seconds is not None:
            self.collection.add(seconds)

    def unreachable(self, kind: str, message: str, *, counted: bool = True) -> None:
        """No node could be read: *kind* is a closed category, *message* the error's line;
        not *counted* for the start-up look, which is not a report."""
        self.node_reachable = False
        if counted:
            self.failures[kind] = self.failures.get(kind, 0) + 1
            self.reports["not_collected"] += 1
        self.last_attempt = {"at": self.clock(), "result": "not_collected", "error_kind": kind,
                             "error": message}
        self.changed()

    def report(self, result: str, *, not_reported: int = 0, send_seconds: float | None = None,
               spool_batches: int | None = None, connections: int | None = None) -> None:
        """One report attempt ended with *result* (one of :data:`.status.RESULTS`)."""
        self.nodes_not_reported = not_reported
        if send_seconds is not None:
            self.sending.add(send_seconds)
        if spool_batches is not None:
            self.spool_batches = spool_batches
        if connections is not None:
            self.connections_open = connections
        if result in ("sent", "spooled"):
            self.last_success_at = self.clock()
        self._attempt(result, None, None)

    def internal_error(self, message: str) -> None:
        """A report ended with an unexpected error (a bug): the loop goes on."""
        self.failures["internal"] = self.failures.get("internal", 0) + 1
        self._attempt("internal_error", "internal", message)

    def first_look(self, nodes: int) -> None:
        """The start-up read reached the cluster (not a report: nothing is counted)."""
        self.reached(nodes)
        self.last_attempt = {"at": self.clock(), "result": "first look", "error_kind": None,
                             "error": None}
        self.changed()

    def _attempt(self, result: str, kind: str | None, message: str | None) -> None:
        self.reports[result] = self.reports.get(result, 0) + 1
        self.last_attempt = {"at": self.clock(), "result": result, "error_kind": kind,
                             "error": message}
        self.changed()

    # ------------------------------------------------------------------ the status document

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "pid": os.getpid(),
            "version": __version__,
            "state": self.state,
            "disabled_by": self.disabled_by,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "heartbeat_seconds": self.heartbeat_seconds,
            "initial_report_seconds": self.initial_report,
            "periodic_report_seconds": self.periodic_report,
            "next_report_at": self.next_report_at,
            "grace_seconds": self.grace_seconds,
            "node_reachable": self.node_reachable,
            "last_attempt": self.last_attempt,
            "last_success_at": self.last_success_at,
            "reports": dict(self.reports),
            "failures": dict(self.failures),
            "nodes_reached": self.nodes_reached,
            "nodes_not_reported": self.nodes_not_reported,
            "spool_batches": self.spool_batches,
            "connections_open": self.connections_open,
            "collection_seconds": {"count": self.collection.count, "sum": self.collection.total,
                                   "last": self.collection.last},
            "send_seconds": {"count": self.sending.count, "sum": self.sending.total,
                             "last": self.sending.last},
            "http_listen": self.http_listen,
        }

    def verdict(self) -> Verdict:
        return assess(self.document(), self.clock())

    def changed(self) -> None:
        """Stamp and write the status file (a heartbeat too)."""
        self.updated_at = self.clock()
        if self.status_path is None:
            return
        data = json.dumps(self.document(), indent=1).encode() + b"\n"
        tmp = self.status_path.with_name(f".{self.status_path.name}.{os.getpid()}.tmp")
        try:
            self.status_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, self.status_path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if not self._write_failed:
                self._write_failed = True
                log.warning("cannot write the status file %s (%s); `health` cannot see the "
                            "bridge, the service goes on", self.status_path, e.strerror or e)
            return
        if self._write_failed:
            self._write_failed = False
            log.info("the status file %s is written again", self.status_path)

    async def heartbeat(self) -> None:
        """Rewrite the status file every :attr:`heartbeat_seconds` (until cancelled): a fresh
        ``updated_at`` proves that the event loop still runs."""
        while True:
            self.changed()
            await asyncio.sleep(self.heartbeat_seconds)

    def remove(self) -> None:
        """At exit: no status file, so that ``health`` says "not running" at once."""
        if self.status_path is not None:
            with contextlib.suppress(OSError):
                self.status_path.unlink()
