"""The status file and the judgement of liveness and readiness, shared by every probe.

The service rewrites ``STATE_DIR/status.json`` atomically at every heartbeat and after every
report attempt. ``mim-metrics-bridge health`` reads it; the HTTP endpoint judges the same
document in memory. Both call :func:`assess`, so a container health check, a Kubernetes probe
and a human get the same answer. Standard library only (``health`` must start fast).

Live: the process runs and its event loop ticks (the heartbeat is recent). Ready: live, and the
report schedule is kept (the current report is not overdue) and the last attempt to read the
cluster reached a node; also ready while reporting is disabled on purpose (idle is the correct
state then). Reasons are worded from closed vocabularies (no host names), so they can be served
over HTTP.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from mim_bridge.util.localfiles import FileMissing, FileRefused, read_bounded

__all__ = ["FAILURE_KINDS", "FILENAME", "FORMAT", "MAX_STATUS_FILE", "RESULTS", "StatusError",
           "Verdict", "assess", "read_status", "stale_after"]

FILENAME = "status.json"
FORMAT = 1
MAX_STATUS_FILE = 64 * 1024
# Outcomes of one report attempt (the ``result`` label of mim_bridge_reports_total).
RESULTS = ("sent", "spooled", "not_collected", "nothing_to_report", "internal_error")
# Why no node could be read (the ``kind`` label of mim_bridge_collect_failures_total).
FAILURE_KINDS = ("unreachable", "auth", "tls", "not_mongooseim", "local_files", "internal")


class StatusError(Exception):
    """No usable status file: the bridge is not running there, or never wrote one."""


class Verdict:
    """Live, ready, and why (a plain class: ``dataclasses`` would double ``health``'s imports)."""

    __slots__ = ("live", "ready", "reason")

    def __init__(self, live: bool, ready: bool, reason: str) -> None:
        self.live = live
        self.ready = ready
        self.reason = reason

    def __repr__(self) -> str:
        return f"Verdict(live={self.live}, ready={self.ready}, reason={self.reason!r})"


def stale_after(doc: dict[str, Any]) -> float:
    """How old the heartbeat may be before the service counts as stuck."""
    return 3 * float(doc.get("heartbeat_seconds", 10.0)) + 5.0


def _ago(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


def assess(doc: dict[str, Any], now: float | None = None, *, check_pid: bool = False
           ) -> Verdict:
    """Judge a status document. *check_pid*: also require its process to exist (a reader in
    the same PID namespace; the service itself does not need to ask)."""
    now = time.time() if now is None else now
    try:
        return _assess(doc, now, check_pid)
    except (KeyError, TypeError, ValueError):
        return Verdict(False, False, "the status file is not in the expected format")


def _assess(doc: dict[str, Any], now: float, check_pid: bool) -> Verdict:
    if doc.get("format") != FORMAT:
        return Verdict(False, False, f"unknown status file format {doc.get('format')!r}")
    if check_pid and not _process_exists(int(doc["pid"])):
        return Verdict(False, False, f"the bridge (process {int(doc['pid'])}) is not running")
    silent = now - float(doc["updated_at"])
    if silent > stale_after(doc):
        return Verdict(False, False, f"no heartbeat for {_ago(silent)}: the bridge is stuck or "
                       "gone")
    state = doc["state"]
    if state == "stopping":
        return Verdict(True, False, "stopping")
    if state == "disabled":
        return Verdict(True, True, f"reporting is disabled by {doc.get('disabled_by')}; the "
                       "bridge idles")
    if state == "starting":
        return Verdict(True, False, "starting: the first look at the cluster is under way")
    last = doc.get("last_attempt") or {}
    if doc.get("node_reachable") is False:
        return Verdict(True, False, f"no node could be read at the last attempt "
                       f"({last.get('error_kind') or 'unknown error'}, "
                       f"{_ago(now - float(last['at']))} ago)")
    due = doc.get("next_report_at")
    if due is not None and now > float(due) + float(doc["grace_seconds"]):
        return Verdict(True, False, f"the report due {_ago(now - float(due))} ago has not "
                       "finished: the schedule is not kept")
    result = last.get("result", "first look")
    when = f", {_ago(now - float(last['at']))} ago" if "at" in last else ""
    return Verdict(True, True, f"last attempt: {result}{when}")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def read_status(path: Path) -> dict[str, Any]:
    """The status document at *path*; :class:`StatusError` (one line) if there is none."""
    try:
        data, _ = read_bounded(path, MAX_STATUS_FILE)
    except FileMissing:
        raise StatusError(f"no status file {path}: the bridge service is not running with this "
                          "state directory (or has not started yet)") from None
    except FileRefused as e:
        raise StatusError(f"cannot read the status file {path}: {e}") from None
    try:
        doc = json.loads(data)
    except ValueError:
        raise StatusError(f"the status file {path} is not JSON") from None
    if not isinstance(doc, dict):
        raise StatusError(f"the status file {path} is not a JSON object")
    return doc
