"""Where each MongooseIM generation keeps its XMPP stanza counters, and how to sum them.

Three exometer naming schemes and one prometheus scheme exist (mim-internals §4):

* up to 6.2: ``[HostPrefix, xmppMessageSent]`` spirals;
* 6.3: ``[HostPrefix, c2s_element_in, message_count]``;
* 6.4+: ``[HostPrefix, xmpp_element_in, ConnectionType, message_count]``;
* 6.6+ with prometheus: counter ``xmpp_element_in_message_count`` labelled per host type.

Rather than trusting a version string, the collector asks for every exometer scheme in the same
wave and keeps the first that has entries (:func:`pick_exometer`); prometheus is used when the
node's ``instrumentation`` config enables it, as MongooseIM 6.6+ does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..erldist import Atom, Export
from ..report.allowlist import STANZA_TYPES
from .readonly import Call, Failed

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
SCHEMES = ("v36", "v63", "v64")


def exometer_patterns() -> dict[str, list[Atom]]:
    """``exometer:get_values/1`` prefix patterns of all three schemes, keyed ``scheme/type``."""
    calls: dict[str, list[Atom]] = {}
    for t in STANZA_TYPES:
        direction, kind = _PARTS[t]
        patterns = {
            "v36": [_ANY, Atom(t)],
            "v63": [_ANY, Atom(f"c2s_element_{direction}"), Atom(f"{kind}_count")],
            "v64": [_ANY, Atom(f"xmpp_element_{direction}"), _ANY, Atom(f"{kind}_count")],
        }
        for scheme, pattern in patterns.items():
            calls[f"{scheme}/{t}"] = pattern
    return calls


def exometer_call() -> Call:
    """Every pattern in one read: ``lists:map(fun exometer:get_values/1, Patterns)``."""
    patterns = list(exometer_patterns().values())
    return Call("lists", "map", (Export(Atom("exometer"), Atom("get_values"), 1), patterns))


def prometheus_call() -> Call:
    names = []
    for t in STANZA_TYPES:
        direction, kind = _PARTS[t]
        names.append(f"xmpp_element_{direction}_{kind}_count")  # charlists, as prometheus wants
    return Call("lists", "zipwith", (Export(Atom("prometheus_counter"), Atom("values"), 2),
                                     [Atom("default")] * len(names), names))


def split_exometer(reply: Any) -> dict[str, Any]:
    """The batched reply keyed like :func:`exometer_patterns`; all Failed if the batch failed."""
    keys = list(exometer_patterns())
    if isinstance(reply, list) and len(reply) == len(keys):
        return dict(zip(keys, reply))
    return {k: reply if isinstance(reply, Failed) else Failed(None, "no reply") for k in keys}


def split_prometheus(reply: Any) -> dict[str, Any]:
    keys = [f"prom/{t}" for t in STANZA_TYPES]
    if isinstance(reply, list) and len(reply) == len(keys):
        return dict(zip(keys, reply))
    return {k: Failed(None, "no reply") for k in keys}


def _sum_exometer(reply: Any) -> int | None:
    """Sum ``count`` over ``[{Name, [{count, C}, {one, O}]}]``; None if not that shape."""
    if not isinstance(reply, list):
        return None
    total = 0
    for entry in reply:
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], list):
            for dp in entry[1]:
                if isinstance(dp, tuple) and len(dp) == 2 and dp[0] == Atom("count") \
                        and isinstance(dp[1], int):
                    total += dp[1]
    return total


def pick_exometer(results: Mapping[str, Any], preferred: tuple[str, ...] = SCHEMES
                  ) -> dict[str, int] | None:
    """Totals from the first scheme whose patterns matched any entry; None if there is none."""
    absent = all(isinstance(results.get(f"{s}/{t}"), Failed) for s in SCHEMES
                 for t in STANZA_TYPES)
    if absent:
        return None
    for scheme in preferred:
        replies = [results.get(f"{scheme}/{t}") for t in STANZA_TYPES]
        if any(isinstance(r, list) and r for r in replies):
            return {t: _sum_exometer(r) or 0 for t, r in zip(STANZA_TYPES, replies)}
    # exometer runs but holds no stanza counters: the node does not count stanzas (6.4+ without
    # instrumentation.exometer), and MongooseIM then reports none either.
    return None


def sum_prometheus(results: Mapping[str, Any]) -> dict[str, int] | None:
    """Sum ``[{Labels, Count}]`` per stanza type; None if prometheus did not answer."""
    totals: dict[str, int] = {}
    for t in STANZA_TYPES:
        reply = results.get(f"prom/{t}")
        if isinstance(reply, Failed) or not isinstance(reply, list):
            return None
        counts = [entry[1] for entry in reply if isinstance(entry, tuple) and len(entry) == 2
                  and isinstance(entry[1], (int, float))]
        totals[t] = int(sum(counts))
    return totals
