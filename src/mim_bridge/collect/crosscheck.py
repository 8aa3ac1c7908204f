"""Compare the bridge's report with the one MongooseIM's own collector builds (diagnostics only).

The bridge never collects through ``mongoose_system_metrics_collector`` — that would run the
whole collection inside the server, and its arity and output change across versions — but where
the node has it, ``--check`` and the stand-in fidelity tests ask it once and compare. Both sides
are reduced to comparable items: GA4-era ``#{name, params}`` maps (6.1+) are compared as events;
UA-era ``#{report_name, key, value}`` structs (3.6-6.0) as triples, with the bridge's events
translated to that form. Uptime and stanza increments are left out (they differ by design:
the node's collector is given no previous report). Differences are described by event name and
param key only, never by value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..erldist import Atom
from ..events import Event
from . import items
from .readonly import Call, Failed, ReadOnlyNode

_COLLECTOR = "mongoose_system_metrics_collector"
_CLUSTER_UA = {"uptime": "uptime", "node_number": "number_of_nodes", "version": "mim_version",
               "component": "number_of_components", "config_type": "config_type"}


@dataclass
class CrossCheck:
    available: bool
    matches: bool = False
    only_bridge: list[str] = field(default_factory=list)
    only_node: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.available:
            return "the node has no mongoose_system_metrics_collector to compare with"
        if self.matches:
            return "the bridge's report matches MongooseIM's own collector"
        return ("the bridge's report differs from MongooseIM's own collector: "
                f"only in the bridge: {', '.join(self.only_bridge) or '-'}; "
                f"only in the node's: {', '.join(self.only_node) or '-'}")


def _ga4_items(events: Iterable[Event]) -> Counter[str]:
    out: Counter[str] = Counter()
    for e in events:
        params = {k: v for k, v in e.params.items()
                  if not (e.name == "cluster" and k == "uptime") and k != "increment"}
        out[f"{e.name}{sorted(params.items())!r}"] += 1
    return out


def _ua_items(events: Iterable[Event]) -> Counter[str]:
    """The bridge's events in the UA-era shape (report_name, key, value)."""
    out: Counter[str] = Counter()

    def add(name: str, key: Any, value: Any) -> None:
        out[repr((name, str(key), str(value)))] += 1

    for e in events:
        p = e.params
        if e.name in ("host_count", "domain_count", "custom_module_count"):
            add({"host_count": "hosts", "domain_count": "domains",
                 "custom_module_count": "custom_modules"}[e.name], "count", p["value"])
        elif e.name == "module_with_opt":
            opts = [(k, v) for k, v in p.items() if k != "module"] or [("none", "none")]
            for k, v in opts:
                add(str(p["module"]), k, v)
        elif e.name == "cluster":
            for k, ua in _CLUSTER_UA.items():
                if k in p and k != "uptime":
                    add("cluster", ua, p[k])
        elif e.name in ("http_api", "transport_mechanism"):
            for k, v in p.items():
                add(e.name, k, v)
        elif e.name == "tls_option":
            add("tls_option", p["mode"], p["module"])
        elif e.name == "outgoing_pool":
            add("outgoing_pools", "type", p["value"])
        elif e.name == "xmpp_stanza_count":
            add(str(p["stanza_type"]), p["total"], "-")
    return out


def _node_items(reply: Any) -> tuple[Counter[str], bool] | None:
    """The node collector's output as comparable items, and whether it is GA4-era."""
    if not isinstance(reply, list):
        return None
    ga4 = [x for x in reply if isinstance(x, dict) and Atom("name") in x]
    if ga4:
        events = [Event(items.text(x[Atom("name")]),
                        {items.text(k): items.param(v)
                         for k, v in x.get(Atom("params"), {}).items()}) for x in ga4]
        return _ga4_items(events), True
    out: Counter[str] = Counter()
    for x in reply:
        if isinstance(x, dict) and Atom("report_name") in x:
            name = items.text(x[Atom("report_name")])
            key, value = x.get(Atom("key")), x.get(Atom("value"))
            if name == "cluster" and key == Atom("uptime"):
                continue
            if name.startswith("xmpp"):  # stanza structs: {Type, Total, Increment}
                value = "-"
            out[repr((name, items.text(key) if not isinstance(key, int) else str(key),
                      str(items.param(value)) if value != "-" else "-"))] += 1
    return out, False


async def cross_check(ro: ReadOnlyNode, events: Sequence[Event],
                      stanza_backend: Any = Atom("exometer")) -> CrossCheck:
    """Ask the node's own collector once and compare with *events* (the bridge's report)."""
    probe = await ro.wave({
        f"collect/{n}": Call("erlang", "function_exported", (Atom(_COLLECTOR), Atom("collect"), n))
        for n in (1, 2)})
    if probe["collect/1"] is True:
        reply = await ro.call(Call(_COLLECTOR, "collect", ([],)))
    elif probe["collect/2"] is True:
        reply = await ro.call(Call(_COLLECTOR, "collect", ([], stanza_backend)))
    else:
        return CrossCheck(available=False)
    node = _node_items(reply) if not isinstance(reply, Failed) else None
    if node is None:
        return CrossCheck(available=False)
    theirs, ga4 = node
    ours = _ga4_items(events) if ga4 else _ua_items(events)
    only_bridge = sorted((ours - theirs).elements())
    only_node = sorted((theirs - ours).elements())
    return CrossCheck(True, not only_bridge and not only_node,
                      [_describe(x) for x in only_bridge], [_describe(x) for x in only_node])


def _describe(item: str) -> str:
    """An item reduced to its event/report name (values may be private)."""
    return item.split("[", 1)[0].split(",", 1)[0].strip("('\"")
