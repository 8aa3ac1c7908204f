"""Whole pages: the last report (``show``) and what a dry run would send (``--format table``),
each also as a JSON document (``--format json``).

``show`` reads the report file, which holds only events (MongooseIM's format). When the report
went out, under which client id, to which GA4 properties and what GA4 answered come from the
transparency log, whose entries carry a fingerprint of the report they describe; a report with
no entry there (written by MongooseIM itself, or before the log was kept) says so.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mim_bridge.app.view.blocks import answer, gate_nodes, node_block
from mim_bridge.app.view.terminal import Cell, Style, columns
from mim_bridge.vocab.events import Event

__all__ = ["Outgoing", "dry_run_document", "dry_run_page", "show_document", "show_page",
           "utc_text"]

_SOURCES = {"cluster": "the cluster's id, read from the node",
            "state_file": "the bridge's own, kept in the state directory",
            "new": "the bridge's own, new, now kept in the state directory"}


@dataclass(frozen=True)
class Outgoing:
    """What a dry run would send: per node its events and the request bodies they make."""

    client_id: str
    client_id_source: str
    endpoint: str
    destinations: Sequence[str]
    report_file: Path
    nodes: Sequence[tuple[Sequence[Event], Sequence[bytes]]]


def utc_text(when: datetime.datetime | str | None) -> str:
    """A time as ``2026-05-01 12:00:04 UTC``; a history entry's text is shown as it is."""
    if isinstance(when, datetime.datetime):
        return when.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(when, str):
        return when.replace("T", " ").replace("Z", " UTC")
    return "unknown"


def _nodes(nodes: Sequence[Sequence[Event]], style: Style) -> list[str]:
    lines: list[str] = []
    for i, events in enumerate(nodes, 1):
        lines += ["", *node_block(i, len(nodes), events, style)]
    return lines


def _title(text: str, style: Style) -> str:
    return style(text, "bold")


def show_page(report_file: Path, written: datetime.datetime | None,
              nodes: Sequence[Sequence[Event]], sent: Mapping[str, Any] | None,
              not_sent_why: str, style: Style) -> str:
    """The last report: where it is, when it went where (from the log), then every node."""
    nodes = gate_nodes(nodes)
    events = sum(len(n) for n in nodes)
    rows: list[list[Cell | str]] = [
        ["report file", str(report_file)],
        ["written", utc_text(written)],
        ["nodes", f"{len(nodes)} ({events} events)"],
    ]
    if sent is None:
        rows.append(["sent", Cell(not_sent_why, "dim")])
    else:
        rows.append(["client id", str(sent.get("client_id", "unknown"))])
        requests = sent.get("requests", "?")
        rows.append(["sent", f"{utc_text(sent.get('time'))}, {requests} request(s) in all"])
        rows += _destination_rows(sent)
    lines = [_title("MongooseIM system metrics: the last report", style),
             *columns(rows, style, indent=2), *_nodes(nodes, style)]
    return "\n".join(lines) + "\n"


def _destination_rows(entry: Mapping[str, Any]) -> list[list[Cell | str]]:
    destinations = entry.get("destinations")
    if not isinstance(destinations, dict):
        return []
    rows: list[list[Cell | str]] = []
    for mid, dest in destinations.items():
        text, colour = answer(dest if isinstance(dest, dict) else {})
        rows.append([str(mid), Cell(text, colour)])
    return rows


def show_document(report_file: Path, written: datetime.datetime | None,
                  nodes: Sequence[Sequence[Event]], sent: Mapping[str, Any] | None) -> str:
    doc = {
        "report_file": str(report_file),
        "written": None if written is None else utc_text(written),
        "nodes": [{"node": i, "events": [e.to_json() for e in events]}
                  for i, events in enumerate(gate_nodes(nodes), 1)],
        "sent": sent,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def dry_run_page(out: Outgoing, style: Style) -> str:
    """What would be sent: the client id, the destinations, the requests, then every node."""
    nodes = gate_nodes([events for events, _ in out.nodes])
    per_destination = sum(len(bodies) for _, bodies in out.nodes)
    events = sum(len(e) for e in nodes)
    rows: list[list[Cell | str]] = [
        ["client id",
         f"{out.client_id} ({_SOURCES.get(out.client_id_source, out.client_id_source)})"],
        ["destinations", ", ".join(out.destinations)],
        ["endpoint", out.endpoint],
        ["requests", (f"{per_destination} per destination, {events} events from "
                      f"{len(out.nodes)} node(s)")],
        ["report file", Cell(f"{out.report_file} (a dry run does not write it)")],
    ]
    lines = [_title("MongooseIM system metrics: what would be sent (dry run: nothing is sent)",
                    style),
             *columns(rows, style, indent=2), *_nodes(nodes, style)]
    return "\n".join(lines) + "\n"


def dry_run_document(out: Outgoing) -> str:
    """Per node, the events and the exact request bodies (each goes to every destination)."""
    nodes: list[dict[str, Any]] = []
    doc = {
        "dry_run": True,
        "client_id": out.client_id,
        "client_id_source": out.client_id_source,
        "endpoint": out.endpoint,
        "destinations": list(out.destinations),
        "report_file": str(out.report_file),
        "nodes": nodes,
    }
    gated = gate_nodes([events for events, _ in out.nodes])
    for i, (events, (_, bodies)) in enumerate(zip(gated, out.nodes, strict=True), 1):
        nodes.append({"node": i, "events": [e.to_json() for e in events],
                             "requests": [json.loads(b) for b in bodies]})
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
