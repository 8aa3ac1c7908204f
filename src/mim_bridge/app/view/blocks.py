"""A report as a page for people: one block per node, one row per GA4 event name.

Rows are labelled with the GA4 event names and params exactly as they are sent (and as
MongooseIM's docs name them), so what the operator reads here is what the maintainers see in
GA4. Rendering is generic: each event name's events are shown by their shape, whatever params
they carry (a flag set such as ``http_api``, single values such as ``outgoing_pool``, one event's
params such as ``cluster``, or a table such as ``module_with_opt``); an event a node did not
report says ``not reported``. Identical rows are folded into one with a count
(``module_with_opt`` comes once per host type). The pages' own text is ASCII; sparklines fall
back to ASCII where the output cannot encode block characters.

Everything shown passes the anonymity gate first: a page can show no more than a request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mim_bridge.app.view.terminal import Cell, Style, columns
from mim_bridge.report import anonymise
from mim_bridge.vocab.events import Event, ParamValue

__all__ = ["ORDER", "answer", "gate_nodes", "headline", "human_uptime", "node_block",
           "split_nodes"]

ORDER = ("host_count", "domain_count", "module_with_opt", "custom_module_count", "cluster",
         "http_api", "transport_mechanism", "tls_option", "outgoing_pool", "xmpp_stanza_count")
"""The GA4 event names in the order MongooseIM's collector emits them for one node."""
ONCE_PER_NODE = frozenset({"host_count", "domain_count", "custom_module_count", "cluster",
                           "http_api", "transport_mechanism"})
_RANK = {name: i for i, name in enumerate(ORDER)}
_LABEL_WIDTH = max(len(n) for n in ORDER)
_UPTIME = re.compile(r"^(\d+)-(\d\d):(\d\d):(\d\d)$")
_COUNT_HEADER = {"module_with_opt": "host types"}


def split_nodes(events: Sequence[Event]) -> list[list[Event]]:
    """The nodes of a report file, which holds every node's events one after the other.

    Each node's events come in :data:`ORDER`; a node ends where the order starts over, or where
    an event that comes once per node comes again.
    """
    nodes: list[list[Event]] = []
    seen: set[str] = set()
    last = -1
    for e in events:
        rank = _RANK.get(e.name, len(ORDER))
        if nodes and (rank < last or (e.name in ONCE_PER_NODE and e.name in seen)):
            nodes.append([])
            seen = set()
        if not nodes:
            nodes.append([])
        nodes[-1].append(e)
        seen.add(e.name)
        last = rank
    return nodes


def gate_nodes(nodes: Sequence[Sequence[Event]]) -> list[tuple[Event, ...]]:
    """Each node's events through the anonymity gate, as the report file and requests are."""
    return [anonymise(events).events for events in nodes]


def human_uptime(uptime: object) -> str | None:
    """``0000-00:08:12`` as ``8 min``; None if it is not MongooseIM's ``DDDD-HH:MM:SS``."""
    m = _UPTIME.match(uptime) if isinstance(uptime, str) else None
    if m is None:
        return None
    days, hours, minutes, seconds = map(int, m.groups())
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def headline(events: Sequence[Event]) -> str:
    """The node in one line of words, from whatever of its events are there."""
    cluster = next((e.params for e in events if e.name == "cluster"), {})
    parts = []
    if "version" in cluster:
        parts.append(f"MongooseIM {cluster['version']}")
    up = human_uptime(cluster.get("uptime"))
    if up:
        parts.append(f"up {up}")
    n = cluster.get("node_number")
    if isinstance(n, int):
        parts.append(f"{n} node{'s' if n != 1 else ''} in the cluster")
    modules = {e.params.get("module") for e in events if e.name == "module_with_opt"}
    if modules:
        parts.append(f"{len(modules)} open-source module{'s' if len(modules) != 1 else ''}")
    custom = next((e.params.get("value") for e in events if e.name == "custom_module_count"),
                  None)
    if isinstance(custom, int):
        parts.append(f"{custom} custom module{'s' if custom != 1 else ''}")
    return ", ".join(parts) if parts else "no cluster event"


def node_block(number: int, total: int, events: Sequence[Event], style: Style) -> list[str]:
    """The lines of one node: a title, its headline, then one row (or table) per event name.

    The events pass the anonymity gate here, whoever gave them (a hand-edited report file too).
    """
    events = anonymise(events).events
    lines = [style(f"node {number} of {total}", "bold") + "  " + headline(events)]
    for name in ORDER:  # every name the gate lets out (a unit test keeps the two in step)
        group = [e for e in events if e.name == name]
        lines.extend(_section(name, group, style))
    return lines


def _section(name: str, group: Sequence[Event], style: Style) -> list[str]:
    label = style(name.ljust(_LABEL_WIDTH), "name")
    indent = " " * (2 + _LABEL_WIDTH + 2)
    if not group:
        return [f"  {label}  {style('not reported', 'dim')}"]
    params = [dict(e.params) for e in group]
    if all(all(v == "enabled" for v in p.values()) for p in params):
        keys = list(dict.fromkeys(k for p in params for k in p))
        return [f"  {label}  " + (", ".join(keys) if keys else style("none", "dim"))]
    if all(list(p) == ["value"] for p in params):
        counted = _fold([(p["value"],) for p in params])
        return [f"  {label}  " + ", ".join(
            str(row[0]) + (f" x{n}" if n > 1 else "") for row, n in counted)]
    if len(params) == 1:
        return [f"  {label}  " + "  ".join(f"{k}={v}" for k, v in params[0].items())]
    keys = list(dict.fromkeys(k for p in params for k in p))
    folded = _fold([tuple(p.get(k, "-") for k in keys) for p in params])
    repeated = any(n > 1 for _, n in folded)
    numeric = [all(isinstance(p.get(k), int) for p in params) for k in keys]
    header = [Cell(k, "dim", right=num) for k, num in zip(keys, numeric, strict=True)]
    if repeated:
        header.append(Cell(_COUNT_HEADER.get(name, "events"), "dim", right=True))
    rows: list[list[Cell | str]] = [list(header)]
    for row, n in folded:
        cells: list[Cell | str] = [Cell(str(v), right=isinstance(v, int)) for v in row]
        if repeated:
            cells.append(Cell(str(n), right=True))
        rows.append(cells)
    table = columns(rows, style)
    return [f"  {label}  {table[0]}", *(indent + line for line in table[1:])]


def _fold(rows: Sequence[tuple[ParamValue, ...]]) -> list[tuple[tuple[ParamValue, ...], int]]:
    """Identical rows once each, with how often they came; rows that share their first value
    (one module on several backends) next to each other, otherwise in first-seen order."""
    counts: dict[tuple[ParamValue, ...], int] = {}
    for row in rows:
        counts[row] = counts.get(row, 0) + 1
    first_seen = {row[0]: i for i, row in reversed(list(enumerate(counts)))}
    return sorted(counts.items(), key=lambda item: first_seen[item[0][0]])


def answer(dest: dict[str, Any]) -> tuple[str, str]:
    """What GA4 made of one destination's batches, in words, and the colour that fits."""
    parts = []
    for key, words in (("delivered", "delivered"), ("rejected", "rejected"),
                       ("pending", "waiting in the spool"), ("dropped", "dropped")):
        n = dest.get(key)
        if isinstance(n, int) and n:
            parts.append(f"{n} {words}")
    http = dest.get("http")
    statuses = ", ".join(str(s) for s in http) if isinstance(http, list) and http else None
    errors = dest.get("errors")
    failures = ", ".join(str(e) for e in errors) if isinstance(errors, list) and errors else None
    text = ", ".join(parts) or "nothing sent"
    said = [f"HTTP {statuses}"] if statuses else []
    said += [failures] if failures else []
    text += f" ({'; '.join(said)})" if said else " (no answer)" if parts else ""
    if any(dest.get(k) for k in ("rejected", "dropped")):
        return text, "bad"
    return text, "warn" if dest.get("pending") or not parts else "good"
