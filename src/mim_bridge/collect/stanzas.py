"""Where each MongooseIM era keeps its XMPP stanza counters, and how its collector sums them.

(mim-internals §4, mim-as-it-runs §3)

* 3.7-6.2: exometer spirals ``[HostPrefix, xmppMessageSent]``, read with the prefix pattern
  ``['_', xmppMessageSent]``;
* 6.3: ``['_', c2s_element_in, message_count]``, always read (totals 0 without entries);
* 6.4-6.5: ``['_', xmpp_element_in, '_', message_count]``, read only when
  ``instrumentation.exometer`` is configured; otherwise the report has no stanza events;
* 6.6+: prometheus counters ``xmpp_element_in_message_count`` (summed over their labels) when
  ``instrumentation.prometheus`` is configured, else exometer as 6.4, else no stanza events.

Only the era's own names are ever sent: an atom the node does not know would be created there
and never collected. Reads are only made when the counter module is loaded on the node (calling
it would load it); a counter module that is not loaded has no counters, so the totals are 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mim_bridge.collect.readonly import Call
from mim_bridge.erldist import Atom, Export
from mim_bridge.vocab.names import STANZA_TYPES

__all__ = ["SCHEMES", "ZEROS", "exometer_call", "prometheus_call", "source", "sum_exometer",
           "sum_prometheus"]

_ANY = Atom("_")
# stanza type -> (direction, kind)
_PARTS: dict[str, tuple[str, str]] = {
    "xmppMessageSent": ("in", "message"),
    "xmppMessageReceived": ("out", "message"),
    "xmppIqSent": ("in", "iq"),
    "xmppIqReceived": ("out", "iq"),
    "xmppPresenceSent": ("in", "presence"),
    "xmppPresenceReceived": ("out", "presence"),
}
SCHEMES = ("v37", "v63", "v64")


def _pattern(scheme: str, stanza_type: str) -> list[Atom]:
    direction, kind = _PARTS[stanza_type]
    if scheme == "v37":
        return [_ANY, Atom(stanza_type)]
    if scheme == "v63":
        return [_ANY, Atom(f"c2s_element_{direction}"), Atom(f"{kind}_count")]
    return [_ANY, Atom(f"xmpp_element_{direction}"), _ANY, Atom(f"{kind}_count")]


def exometer_call(scheme: str) -> Call:
    """The six patterns of one scheme in one read: ``lists:map(fun exometer:get_values/1, Ps)``."""
    patterns = [_pattern(scheme, t) for t in STANZA_TYPES]
    return Call("lists", "map", (Export(Atom("exometer"), Atom("get_values"), 1), patterns))


def prometheus_call() -> Call:
    names = []
    for t in STANZA_TYPES:
        direction, kind = _PARTS[t]
        names.append(f"xmpp_element_{direction}_{kind}_count")  # charlists, as prometheus wants
    return Call("lists", "zipwith", (Export(Atom("prometheus_counter"), Atom("values"), 2),
                                     [Atom("default")] * len(names), names))


def sum_exometer(reply: Any) -> dict[str, int] | None:
    """Totals from the batched exometer read; None if it is not the shape exometer returns.

    Each entry is ``{Name, [{count, C}, {one, O}]}``; MongooseIM's fold sums ``C``.
    """
    if not (isinstance(reply, list) and len(reply) == len(STANZA_TYPES)):
        return None
    totals: dict[str, int] = {}
    for t, entries in zip(STANZA_TYPES, reply, strict=True):
        if not isinstance(entries, list):
            return None
        total = 0
        for entry in entries:
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], list):
                for dp in entry[1]:
                    if isinstance(dp, tuple) and len(dp) == 2 and dp[0] == Atom("count") \
                            and isinstance(dp[1], int) and not isinstance(dp[1], bool):
                        total += dp[1]
        totals[t] = total
    return totals


def sum_prometheus(reply: Any) -> dict[str, int] | None:
    """Sum ``[{Labels, Count}]`` per stanza type; None if it is not that shape."""
    if not (isinstance(reply, list) and len(reply) == len(STANZA_TYPES)):
        return None
    totals: dict[str, int] = {}
    for t, entries in zip(STANZA_TYPES, reply, strict=True):
        if not isinstance(entries, list):
            return None
        totals[t] = int(sum(e[1] for e in entries if isinstance(e, tuple) and len(e) == 2
                            and isinstance(e[1], (int, float)) and not isinstance(e[1], bool)
                            and abs(e[1]) < 2**63))
    return totals


def source(stanzas_rule: str, instrumentation: Mapping[Any, Any] | None) -> str:
    """What the era's collector reads: ``none``, ``v37``, ``v63``, ``v64`` or ``prometheus``.

    *instrumentation* is the node's ``instrumentation`` config map (None when it has none).
    """
    instr = instrumentation or {}
    if stanzas_rule == "exometer":
        return "v37"
    if stanzas_rule == "exometer_c2s":
        return "v63"
    if stanzas_rule == "exometer_if_configured":
        return "v64" if Atom("exometer") in instr else "none"
    if stanzas_rule == "instrumentation":
        if Atom("prometheus") in instr:
            return "prometheus"
        return "v64" if Atom("exometer") in instr else "none"
    return "none"


ZEROS: Mapping[str, int] = {t: 0 for t in STANZA_TYPES}
