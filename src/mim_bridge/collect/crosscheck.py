"""Compare the bridge's report with the one MongooseIM's own collector builds (diagnostics only).

The bridge never collects through ``mongoose_system_metrics_collector`` - that would run the
whole collection inside the server - but ``--check`` and the fidelity tests ask it once and
compare, where the node has already loaded it (its in-VM service has reported): calling it on a
node that has not would load it. Each era's collector is called as that era's service calls it:
``collect()`` (3.6), ``collect(Prev)`` (3.7-6.3), ``collect(Prev, ExometerEnabled)`` (6.4-6.5),
``collect(Prev, prometheus | exometer | none)`` (6.6+), with an empty previous report.

GA4-era output (6.1+) is compared event by event. UA-era structs ``#{report_name, key, value}``
(3.6-6.0) are compared as ``(report_name, key, value)`` triples, the bridge's events spread out
the same way; module options are compared as sets, because a GA4 event keeps only the last value
of a repeated option key (6.1 folds them so) where a UA report had one struct per value. Uptime
and stanza increments are left out. Differences are described by name only, never by value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mim_bridge.collect import items
from mim_bridge.collect.eras import Era
from mim_bridge.collect.readonly import Call, Failed, ReadOnlyNode
from mim_bridge.erldist import Atom
from mim_bridge.vocab.events import Event

__all__ = ["COLLECTOR", "CrossCheck", "Item", "collect_call", "compare", "cross_check"]

COLLECTOR = "mongoose_system_metrics_collector"
_CLUSTER_UA = {"node_number": "number_of_nodes", "version": "mim_version",
               "component": "number_of_components", "config_type": "config_type"}
_COUNTS = {"host_count": "hosts", "domain_count": "domains",
           "custom_module_count": "custom_modules"}


@dataclass
class CrossCheck:
    available: bool
    matches: bool = False
    only_bridge: list[str] = field(default_factory=list)
    only_node: list[str] = field(default_factory=list)
    why_unavailable: str = "the node has no mongoose_system_metrics_collector to compare with"

    def summary(self) -> str:
        if not self.available:
            return self.why_unavailable
        if self.matches:
            return "the bridge's report matches MongooseIM's own collector"
        return ("the bridge's report differs from MongooseIM's own collector: "
                f"only in the bridge: {', '.join(self.only_bridge) or '-'}; "
                f"only in the node's: {', '.join(self.only_node) or '-'}")


def collect_call(era: Era, stanza_source: str) -> Call:
    """How the era's service calls its collector (with no previous report)."""
    if era.key < (3, 7, 0):
        return Call(COLLECTOR, "collect")
    if era.key < (6, 4, 0):
        return Call(COLLECTOR, "collect", ([],))
    if era.key < (6, 6, 0):
        return Call(COLLECTOR, "collect", ([], stanza_source == "v64"))
    backend = {"prometheus": "prometheus", "v64": "exometer"}.get(stanza_source, "none")
    return Call(COLLECTOR, "collect", ([], Atom(backend)))


Item = tuple[str, ...]  # (event or report name, then what identifies it); [0] is public


def _ga4_items(events: Iterable[Event]) -> Counter[Item]:
    out: Counter[Item] = Counter()
    for e in events:
        params = sorted((k, str(v)) for k, v in e.params.items()
                        if not (e.name == "cluster" and k == "uptime") and k != "increment")
        out[(e.name, *(f"{k}={v}" for k, v in params))] += 1
    return out


def _ua_items(events: Iterable[Event]) -> tuple[Counter[Item], dict[Item, set[str]]]:
    """The bridge's events as UA-era triples, and module options as (module, key) -> values."""
    out: Counter[Item] = Counter()
    modules: dict[Item, set[str]] = {}
    for e in events:
        p = e.params
        if e.name in _COUNTS:
            out[(_COUNTS[e.name], "count", str(p.get("value")))] += 1
        elif e.name == "module_with_opt":
            opts = [(k, v) for k, v in p.items() if k != "module"] or [("none", "none")]
            for k, v in opts:
                modules.setdefault(("module_with_opt", str(p.get("module")), k),
                                   set()).add(str(v))
        elif e.name == "cluster":
            for k, ua in _CLUSTER_UA.items():
                if k in p:
                    out[("cluster", ua, str(p[k]))] += 1
        elif e.name in ("http_api", "transport_mechanism"):
            for k, v in p.items():
                out[(e.name, k, str(v))] += 1
        elif e.name == "tls_option":
            out[("tls_option", str(p.get("mode")), str(p.get("module")))] += 1
        elif e.name == "outgoing_pool":
            out[("outgoing_pools", "type", str(p.get("value")))] += 1
        elif e.name == "xmpp_stanza_count":
            out[(str(p.get("stanza_type")), str(p.get("total")), "-")] += 1
    return out, modules


_UA_NAMES = {"hosts", "domains", "custom_modules", "cluster", "http_api", "transport_mechanism",
             "tls_option", "outgoing_pools"}


def _node_ua(reply: list[Any]) -> tuple[Counter[Item], dict[Item, set[str]]]:
    out: Counter[Item] = Counter()
    modules: dict[Item, set[str]] = {}
    for x in reply:
        if not (isinstance(x, dict) and Atom("report_name") in x):
            continue
        name = items.text(x[Atom("report_name")])
        key, value = x.get(Atom("key")), x.get(Atom("value"))
        if name == "cluster" and key == Atom("uptime"):
            continue
        k = str(items.param(key))
        if name.startswith("xmpp"):  # stanza structs: {Type, Total, Increment}
            out[(name, k, "-")] += 1
        elif name in _UA_NAMES:
            out[(name, k, str(items.param(value)))] += 1
        else:  # Module / OptKey / OptValue
            modules.setdefault(("module_with_opt", name, k), set()).add(str(items.param(value)))
    return out, modules


def compare(reply: Any, events: Sequence[Event]) -> CrossCheck:
    """Compare the node collector's *reply* with the bridge's *events* (pure)."""
    if not isinstance(reply, list):
        return CrossCheck(available=False, why_unavailable="MongooseIM's own collector did "
                          "not give a report")
    ga4 = [x for x in reply if isinstance(x, dict) and Atom("name") in x]
    if ga4 or not reply:
        theirs = _ga4_items(Event(items.text(x[Atom("name")]),
                                  {items.text(k): items.param(v)
                                   for k, v in _dict(x.get(Atom("params"))).items()})
                            for x in ga4)
        ours = _ga4_items(events)
        return _result(list((ours - theirs).elements()), list((theirs - ours).elements()))
    theirs_ua, their_modules = _node_ua(reply)
    ours_ua, our_modules = _ua_items(events)
    only_b = list((ours_ua - theirs_ua).elements())
    only_n = list((theirs_ua - ours_ua).elements())
    # Module options: the same (module, key) pairs, each of our values among theirs.
    only_b += [mk for mk in our_modules
               if mk not in their_modules or not our_modules[mk] <= their_modules[mk]]
    only_n += [mk for mk in their_modules if mk not in our_modules]
    return _result(only_b, only_n)


def _dict(v: Any) -> dict[Any, Any]:
    return v if isinstance(v, dict) else {}


def _result(only_bridge: list[Item], only_node: list[Item]) -> CrossCheck:
    return CrossCheck(True, not only_bridge and not only_node,
                      sorted(x[0] for x in only_bridge), sorted(x[0] for x in only_node))


async def cross_check(ro: ReadOnlyNode, events: Sequence[Event], era: Era,
                      stanza_source: str, loaded: frozenset[str]) -> CrossCheck:
    """Ask the node's own collector once, if it is loaded, and compare with *events*."""
    if COLLECTOR not in loaded:
        return CrossCheck(available=False, why_unavailable=(
            "MongooseIM's own collector has not run on this node (its in-VM service has not "
            "reported), so there is nothing to compare with; calling it would load it"))
    reply = await ro.call(collect_call(era, stanza_source))
    if isinstance(reply, Failed):
        return CrossCheck(available=False, why_unavailable="MongooseIM's own collector failed: "
                          + reply.message)
    return compare(reply, events)
