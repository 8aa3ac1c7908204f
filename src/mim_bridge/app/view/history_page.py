"""The transparency log as a page: one row per report and destination, then the stanza trend.

Entries are read defensively: a field that is missing or of an unexpected type (a hand-edited
line, an entry of a later format) is shown as ``?`` rather than failing the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mim_bridge.app.view.blocks import answer
from mim_bridge.app.view.report_page import utc_text
from mim_bridge.app.view.terminal import Cell, Style, columns, sparkline
from mim_bridge.vocab.names import STANZA_TYPES

__all__ = ["history_document", "history_page"]


def _count(entry: Mapping[str, Any], key: str) -> Cell:
    value = entry.get(key)
    return Cell(str(value) if isinstance(value, int) else "?", right=True)


def _notes(entry: Mapping[str, Any]) -> str:
    notes = []
    for key, words in (("resent", "earlier batch(es) sent from the spool"),
                       ("waiting", "batch(es) wait in the spool"),
                       ("unsent_nodes", "node(s) not sent (stopped)")):
        value = entry.get(key)
        if isinstance(value, int) and value:
            notes.append(f"{value} {words}")
    return "; ".join(notes)


def history_page(entries: Sequence[Mapping[str, Any]], total: int, files: Sequence[Path],
                 path: Path, enabled: bool, style: Style, bars: str) -> str:
    """*entries* are the last ones of *total*, oldest first."""
    older = len([f for f in files if f != path])
    where = f"{path}" + (f" (+{older} older file{'s' if older != 1 else ''})" if older else "")
    title = style("MongooseIM system metrics: the transparency log", "bold")
    off = "" if enabled else "; the log is off (history = false): nothing new is added"
    if not entries:
        return f"{title}\n  no report recorded in {where}{off}\n"
    shown = (f"{total} report(s)" if len(entries) == total
             else f"the last {len(entries)} of {total} reports (--last N for more)")
    lines = [title, f"  {where}: {shown}{off}", ""]
    rows: list[list[Cell | str]] = [[Cell(h, "dim", right=h in ("nodes", "events", "requests"))
                                     for h in ("time (UTC)", "nodes", "events", "requests",
                                               "destination", "GA4 answer")]]
    for entry in entries:
        first: list[Cell | str] = [utc_text(entry.get("time")).removesuffix(" UTC"),
                                   _count(entry, "nodes"), _count(entry, "events"),
                                   _count(entry, "requests")]
        destinations = entry.get("destinations")
        dests = list(destinations.items()) if isinstance(destinations, dict) else []
        if not dests:
            rows.append([*first, "-", Cell("no destination recorded", "dim")])
        for i, (mid, dest) in enumerate(dests):
            text, colour = answer(dest if isinstance(dest, dict) else {})
            lead = first if i == 0 else ["", "", "", ""]
            rows.append([*lead, str(mid), Cell(text, colour)])
        notes = _notes(entry)
        if notes:
            rows.append(["", "", "", "", "", Cell(notes, "dim")])
    lines += columns(rows, style, indent=2)
    clients = list(dict.fromkeys(str(e.get("client_id")) for e in entries
                                 if isinstance(e.get("client_id"), str)))
    if clients:
        lines += ["", f"  client id {', '.join(clients)}"]
    lines += _trend(entries, style, bars)
    return "\n".join(lines) + "\n"


def _trend(entries: Sequence[Mapping[str, Any]], style: Style, bars: str) -> list[str]:
    stanzas: list[dict[str, Any]] = [s if isinstance(s := e.get("stanzas"), dict) else {}
                                     for e in entries]
    seen = {t for s in stanzas for t in s}
    kinds = [t for t in STANZA_TYPES if t in seen] + sorted(seen - set(STANZA_TYPES))
    if not kinds:
        return ["", "  xmpp_stanza_count: " + style("not reported", "dim")]
    rows: list[list[Cell | str]] = [[Cell(h, "dim", right=h in ("last", "total"))
                                     for h in ("stanza_type", "increment per report", "last",
                                               "total")]]
    for kind in kinds:
        increments = [_int(s.get(kind), "increment") for s in stanzas]
        totals = [_int(s.get(kind), "total") for s in stanzas]
        last = next((v for v in reversed(increments) if v is not None), None)
        total = next((v for v in reversed(totals) if v is not None), None)
        rows.append([Cell(kind, "name"), sparkline(increments, bars),
                     Cell("-" if last is None else f"+{last}" if last >= 0 else str(last),
                          right=True),
                     Cell("-" if total is None else str(total), right=True)])
    return ["", "  xmpp_stanza_count, all nodes, oldest report first", "",
            *columns(rows, style, indent=2)]


def _int(slot: object, key: str) -> int | None:
    value = slot.get(key) if isinstance(slot, dict) else None
    return value if isinstance(value, int) else None


def history_document(entries: Sequence[Mapping[str, Any]], total: int, files: Sequence[Path],
                     unreadable: int) -> str:
    doc = {"files": [str(f) for f in files], "reports": total, "unreadable_lines": unreadable,
           "entries": list(entries)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
