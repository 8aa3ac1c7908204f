"""Report items as pure functions: terms read from the node in, GA4-era events out.

One function per item of MongooseIM's report (``mongoose_system_metrics_collector``), in its
order, each following the rules of the node's era (:class:`~.eras.Era`): which items exist, the
HTTP allow-list, the TLS and transport rules, whether empty items are sent. The events are named
as MongooseIM 6.1+ names them, whatever the era: that is what GA4 dashboards expect. UA-era
reports (3.6-6.0) are translated item by item (``hosts/count`` -> ``host_count``, per-option
module structs -> one ``module_with_opt`` with the options folded as 6.1 folds them, the
``cluster`` structs -> one ``cluster`` event, ...).

Node data is untrusted: every reader checks the type and range of what it is given and treats
anything else as a failed read of that item (left out, with a warning), never as a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mim_bridge.collect.eras import Era
from mim_bridge.erldist import Atom, ImproperList
from mim_bridge.vocab.events import Event, ParamValue
from mim_bridge.vocab.forms import format_uptime
from mim_bridge.vocab.names import STANZA_TYPES

__all__ = ["COWBOY", "TLS_MODES", "Listener", "NodeData", "api_handlers", "behaviours",
           "cluster_params", "config_type", "count", "custom_module_count", "events", "flatten",
           "listeners", "metrics_modules", "module_params", "param", "proplist", "stanza_events",
           "text", "tls_options", "transports"]

COWBOY = "ejabberd_cowboy"
TLS_MODES = ("starttls", "starttls_required", "tls")  # the order 3.6-5.0 looks for them
_MAX_TEXT = 1024  # longer texts are no known name: cut, the anonymity gate drops them anyway
_MAX_INT = 2**63 - 1


def text(term: Any) -> str:
    """An atom, binary or charlist as ``str`` (bounded; never raises)."""
    if isinstance(term, Atom):
        return term.name[:_MAX_TEXT]
    if isinstance(term, bytes):
        return term[:_MAX_TEXT * 4].decode("utf-8", "replace")[:_MAX_TEXT]
    if isinstance(term, str):
        return term[:_MAX_TEXT]
    if isinstance(term, bool):
        return "true" if term else "false"
    if isinstance(term, list) and all(isinstance(c, int) for c in term):
        return "".join(chr(c) if 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF else "\ufffd"
                       for c in term[:_MAX_TEXT])
    if isinstance(term, int):
        return str(term) if -_MAX_INT <= term <= _MAX_INT else "other"
    return type(term).__name__


def param(term: Any) -> ParamValue:
    """A term as a GA4 param value (ints stay ints, everything else becomes text)."""
    if isinstance(term, int) and not isinstance(term, bool) and -_MAX_INT <= term <= _MAX_INT:
        return term
    return text(term)


def count(term: Any) -> int | None:
    """A non-negative integer that fits GA4's integers, or None."""
    if isinstance(term, int) and not isinstance(term, bool) and 0 <= term <= _MAX_INT:
        return term
    return None


def proplist(term: Any) -> list[tuple[Any, Any]]:
    """Key/value pairs of a proplist (bare atoms count as ``{Atom, true}``) or a map."""
    if isinstance(term, dict):
        return list(term.items())
    out: list[tuple[Any, Any]] = []
    if isinstance(term, list):
        for item in term:
            if isinstance(item, tuple) and len(item) == 2:
                out.append(item)
            elif isinstance(item, Atom):
                out.append((item, True))
    return out


def flatten(term: Any, _depth: int = 0) -> list[Any]:
    """``lists:flatten/1``: nested lists spliced, tuples left whole."""
    if _depth > 64:
        return []
    if isinstance(term, list):
        return [x for item in term for x in flatten(item, _depth + 1)]
    if isinstance(term, ImproperList):
        return flatten(list(term.elements), _depth + 1)
    return [term]


# ------------------------------------------------------------------------------- listeners

@dataclass(frozen=True)
class Listener:
    """A listener, normalised from the 5.1+ map or 3.6-5.0's ``{{Port, IP, Proto}, Mod, Opts}``."""

    module: str
    proto: str
    handlers: tuple[str, ...] = ()  # HTTP handler modules, in config order
    tls: tuple[str, str] | None = None  # 5.1+: (mode, module) when the tls map has both
    options: tuple[Any, ...] = ()  # 3.6-5.0: the flattened option list


def listeners(raw: Any) -> list[Listener]:
    out: list[Listener] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            out.append(_listener_from_map(item))
        elif isinstance(item, tuple) and len(item) == 3:
            out.append(_listener_from_tuple(item))
    return out


def _listener_from_map(m: dict[Any, Any]) -> Listener:
    handlers = m.get(Atom("handlers"))
    names = tuple(text(h[Atom("module")]) for h in handlers
                  if isinstance(h, dict) and Atom("module") in h) \
        if isinstance(handlers, list) else ()
    tls = m.get(Atom("tls"))
    pair = None
    if isinstance(tls, dict) and Atom("mode") in tls and Atom("module") in tls:
        pair = (text(tls[Atom("mode")]), text(tls[Atom("module")]))
    return Listener(text(m.get(Atom("module"), "")), text(m.get(Atom("proto"), "")), names,
                    pair)


def _listener_from_tuple(t: tuple[Any, ...]) -> Listener:
    addr, module, opts = t
    proto = text(addr[2]) if isinstance(addr, tuple) and len(addr) >= 3 else "tcp"
    flat = tuple(flatten(opts))
    # element(3, Entry) of every {modules, Entries} option (MongooseIM 3.6-5.0 get_api/0)
    entries = flatten([item[1] for item in flat if isinstance(item, tuple) and len(item) == 2
                       and item[0] == Atom("modules")])
    handlers = tuple(text(e[2]) for e in entries if isinstance(e, tuple) and len(e) >= 3)
    return Listener(text(module), proto, handlers, None, flat)


# ------------------------------------------------------------------------------- node data

@dataclass
class NodeData:
    """Everything read from one node, already checked and normalised."""

    era: Era
    host_types: list[str]
    domain_count: int | None
    loaded: dict[str, list[str]]                 # host type -> its configured modules
    behaviours: dict[str, set[str]]              # module -> behaviours (keyfind semantics)
    config_metrics: dict[tuple[str, str], Any]   # (host type, module) -> config_metrics/1 reply
    uptime_ms: int | None
    version: str | None
    components: int | None
    node_number: int | None
    config_path: str | None
    listeners: list[Listener]
    pools: list[str] | None                      # None: the pools could not be read
    stanza_totals: dict[str, int] | None         # None: the node counts no stanzas
    warnings: list[str] = field(default_factory=list)


def config_type(path: str | None) -> str:
    """``filename:extension/1`` of the config path, as MongooseIM maps it."""
    if path is None:
        return "unknown_config_type"
    base = path.rsplit("/", 1)[-1]
    ext = base[base.rfind("."):] if "." in base.lstrip(".") else ""
    return {".toml": "toml", ".cfg": "cfg"}.get(ext, "unknown_config_type")


def behaviours(attributes: Any) -> set[str]:
    """The behaviours MongooseIM's ``filter_behaviour_implementations/2`` would see.

    MongooseIM looks each behaviour up with ``lists:keyfind([B], 2, Attributes)``: the FIRST
    attribute whose value is ``[B]`` counts, and only if it is ``behaviour``/``behavior``.
    """
    out: set[str] = set()
    firsts: dict[str, bool] = {}
    for item in attributes if isinstance(attributes, list) else []:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], list)
                and len(item[1]) == 1 and isinstance(item[1][0], Atom)):
            continue
        name = item[1][0].name
        if name not in firsts:
            firsts[name] = item[0] in (Atom("behaviour"), Atom("behavior"))
    out.update(name for name, is_behaviour in firsts.items() if is_behaviour)
    return out


def metrics_modules(d: NodeData) -> list[str]:
    union = sorted({m for mods in d.loaded.values() for m in mods})
    return [m for m in union if "mongoose_module_metrics" in d.behaviours.get(m, set())]


def custom_module_count(d: NodeData) -> int:
    union = {m for mods in d.loaded.values() for m in mods}
    return sum(1 for m in union if "gen_mod" in d.behaviours.get(m, set())
               and "mongoose_module_metrics" not in d.behaviours.get(m, set()))


def module_params(module: str, reply: Any) -> dict[str, ParamValue]:
    """Fold ``config_metrics/1``'s ``[{Key, Value}]`` into one map as 6.1+ does: ``{none, _}``
    pairs dropped, a later key replacing an earlier one."""
    params: dict[str, ParamValue] = {"module": module}
    pairs = [reply] if isinstance(reply, tuple) else reply if isinstance(reply, list) else []
    for pair in pairs:
        if isinstance(pair, tuple) and len(pair) == 2:
            key, value = pair
            if key == Atom("none"):
                continue
            params[text(key)] = param(value)
    return params


# ------------------------------------------------------------------------------- the report

def events(d: NodeData, previous_totals: Mapping[str, int] | None) -> list[Event]:
    """The report of one node, in MongooseIM's order, with the items of the node's era."""
    era = d.era
    out = [Event("host_count", {"value": len(d.host_types)})]
    if era.has_domains and d.domain_count is not None:
        out.append(Event("domain_count", {"value": d.domain_count}))
    mods = metrics_modules(d)
    for ht in d.host_types:
        for m in mods:
            out.append(Event("module_with_opt", module_params(m, d.config_metrics.get((ht, m)))))
    out.append(Event("custom_module_count", {"value": custom_module_count(d)}))
    out.append(Event("cluster", cluster_params(d)))
    apis = {h: "enabled" for h in api_handlers(d.listeners, era)}
    if apis or era.sends_empty_items:
        out.append(Event("http_api", dict(apis)))
    found = transports(d.listeners, era)
    if found or era.sends_empty_items:
        out.append(Event("transport_mechanism", found))
    out.extend(Event("tls_option", {"mode": mode, "module": mod})
               for mode, mod in tls_options(d.listeners, era))
    if era.has_pools and d.pools is not None:
        out.extend(Event("outgoing_pool", {"value": p}) for p in d.pools)
    if d.stanza_totals is not None:
        out.extend(stanza_events(d.stanza_totals, previous_totals))
    return out


def cluster_params(d: NodeData) -> dict[str, ParamValue]:
    """6.1+ merges uptime, version, components, node count and config type into one event."""
    params: dict[str, ParamValue] = {}
    if d.uptime_ms is not None:
        params["uptime"] = format_uptime(d.uptime_ms)
    if d.version is not None:
        params["version"] = d.version
    if d.components is not None:
        params["component"] = d.components
    if d.node_number is not None:
        params["node_number"] = d.node_number
    if d.era.has_config_type:
        params["config_type"] = config_type(d.config_path)
    return params


def api_handlers(ls: Sequence[Listener], era: Era) -> list[str]:
    allowed = era.http_apis
    return sorted({h for lst in ls if lst.module == COWBOY for h in lst.handlers
                   if h in allowed})


def transports(ls: Sequence[Listener], era: Era) -> dict[str, ParamValue]:
    found: set[str] = set()
    cowboy = [lst for lst in ls if lst.module == COWBOY]
    if era.config_api == "ejabberd_config":
        # 3.6-5.0: proplists:get_value(modules, Opts) of all cowboy options flattened together
        # is the FIRST {modules, _} entry only; tcp if any c2s listener has options.
        first = _first_modules_entry(cowboy)
        found.update(h for h in era.transport_handlers if h in first)
        if _c2s_options(ls, era):
            found.add("tcp")
    else:
        found.update(h for lst in cowboy for h in lst.handlers if h in era.transport_handlers)
        if any(lst.module == era.c2s_module and lst.proto == "tcp" for lst in ls):
            found.add("tcp")
    return {t: "enabled" for t in sorted(found)}


def _first_modules_entry(cowboy: Sequence[Listener]) -> set[str]:
    for lst in cowboy:
        for item in lst.options:
            if isinstance(item, tuple) and len(item) == 2 and item[0] == Atom("modules"):
                entries = item[1] if isinstance(item[1], list) else []
                return {text(e[2]) for e in entries if isinstance(e, tuple) and len(e) >= 3}
    return set()


def _c2s_options(ls: Sequence[Listener], era: Era) -> list[Any]:
    return [o for lst in ls if lst.module == era.c2s_module for o in lst.options]


def tls_options(ls: Sequence[Listener], era: Era) -> list[tuple[str, str]]:
    """The ``tls_option`` pairs, in the order the era's collector emits them."""
    if era.tls_rule == "single":
        opts = _c2s_options(ls, era)
        if not opts:
            return []  # no c2s listener with options: MongooseIM sends no tls_option
        mode = next((m for m in TLS_MODES if Atom(m) in opts), None)
        if mode is None:
            return [("none", "none")]
        just = (Atom("tls_module"), Atom("just_tls")) in opts
        return [(mode, "just_tls" if just else "fast_tls")]
    pairs = sorted({lst.tls for lst in ls if lst.module == era.c2s_module and lst.tls})
    return list(reversed(pairs)) if era.tls_rule == "pairs_reversed" else pairs


def stanza_events(totals: Mapping[str, int],
                  previous: Mapping[str, int] | None) -> Iterable[Event]:
    """Totals and the increment since the previous report (never clamped, as MongooseIM)."""
    for t in STANZA_TYPES:
        total = totals.get(t, 0)
        prev = previous.get(t) if previous else None
        yield Event("xmpp_stanza_count", {"stanza_type": t, "total": total,
                                          "increment": total - prev if prev is not None
                                          else total})
