"""Report items as pure functions: raw terms read from the node in, GA4-era events out.

One function per item of MongooseIM's report (``mongoose_system_metrics_collector``), in its
order. Each knows the shapes of every API generation (maps from 5.1 on; tuples and proplists
before), so the collector never branches on a version string. The events are named exactly as
MongooseIM 6.1+ names them, whatever the node's own era: that is what GA4 dashboards expect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..erldist import Atom, ImproperList
from ..events import Event, ParamValue
from ..report.allowlist import STANZA_TYPES

C2S_MODULES = frozenset({"ejabberd_c2s", "mongoose_c2s_listener"})
COWBOY = "ejabberd_cowboy"
# The HTTP handler allow-list of MongooseIM's collector, per API era (mim-internals §2.1 item 10).
HTTP_APIS: dict[str, frozenset[str]] = {
    "3.6-5.0": frozenset({
        "mongoose_api", "mongoose_client_api_rooms_messages", "mongoose_client_api_rooms_users",
        "mongoose_client_api_rooms_config", "mongoose_client_api_rooms",
        "mongoose_client_api_contacts", "mongoose_client_api_messages", "lasse_handler",
        "mongoose_api_admin", "mod_bosh", "mod_websockets", "mod_revproxy"}),
    # 5.1 and 6.0-6.5 together: their handler modules never exist on the same node.
    "5.1-6.5": frozenset({
        "mongoose_api", "mongoose_client_api", "mongoose_api_admin", "mongoose_api_client",
        "mongoose_domain_handler", "mongoose_admin_api", "mod_bosh", "mod_websockets"}),
    "6.6+": frozenset({"mongoose_bosh_handler", "mongoose_graphql_handler",
                       "mongoose_websocket_handler"}),
}
TRANSPORT_HANDLERS = frozenset({"mod_bosh", "mod_websockets", "mongoose_bosh_handler",
                                "mongoose_websocket_handler"})
TLS_MODES = ("starttls", "starttls_required", "tls")


def text(term: Any) -> str:
    """An atom, binary or charlist as ``str``."""
    if isinstance(term, Atom):
        return term.name
    if isinstance(term, bytes):
        return term.decode("utf-8", "replace")
    if isinstance(term, str):
        return term
    if isinstance(term, list) and all(isinstance(c, int) for c in term):
        return "".join(map(chr, term))
    if isinstance(term, bool):
        return "true" if term else "false"
    return str(term)


def param(term: Any) -> ParamValue:
    """A term as a GA4 param value (ints stay ints, everything else becomes text)."""
    if isinstance(term, int) and not isinstance(term, bool):
        return term
    return text(term)


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


def flatten(term: Any) -> list[Any]:
    if isinstance(term, list):
        return [x for item in term for x in flatten(item)]
    if isinstance(term, ImproperList):
        return flatten(list(term.elements))
    return [term]


@dataclass(frozen=True)
class Listener:
    """A listener, normalised from the 5.1+ map or the 3.x-5.0 ``{{Port, IP, Proto}, Mod, Opts}``."""

    module: str
    proto: str
    handlers: tuple[str, ...] = ()       # cowboy handler modules, in config order
    first_handlers: tuple[str, ...] = ()  # 3.x-5.0: the first ``modules`` entry only
    tls: tuple[str, str] | None = None    # (mode, module) as the collector of the era sees it

    @property
    def is_c2s(self) -> bool:
        return self.module in C2S_MODULES


def listeners(raw: Any) -> list[Listener]:
    out: list[Listener] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            out.append(_listener_from_map(item))
        elif isinstance(item, tuple) and len(item) == 3:
            out.append(_listener_from_tuple(item))
    return out


def _listener_from_map(m: dict[Any, Any]) -> Listener:
    module = text(m.get(Atom("module"), ""))
    proto = text(m.get(Atom("proto"), Atom("tcp")))
    handlers = tuple(text(h.get(Atom("module"), "")) for h in m.get(Atom("handlers"), [])
                     if isinstance(h, dict))
    tls = m.get(Atom("tls"))
    pair = None
    if isinstance(tls, dict) and Atom("mode") in tls and Atom("module") in tls:
        pair = (text(tls[Atom("mode")]), text(tls[Atom("module")]))
    return Listener(module, proto, handlers, handlers, pair)


def _listener_from_tuple(t: tuple[Any, ...]) -> Listener:
    addr, module, opts = t
    proto = text(addr[2]) if isinstance(addr, tuple) and len(addr) >= 3 else "tcp"
    flat = flatten(opts)
    entries = [v for k, v in proplist(opts) if k == Atom("modules")]
    handlers = tuple(text(e[2]) for lst in entries for e in lst
                     if isinstance(e, tuple) and len(e) >= 3)
    first = tuple(text(e[2]) for e in (entries[0] if entries else [])
                  if isinstance(e, tuple) and len(e) >= 3)
    pair = None
    if text(module) in C2S_MODULES:
        mode = next((m for m in TLS_MODES if Atom(m) in flat), None)
        just = (Atom("tls_module"), Atom("just_tls")) in flat
        pair = (mode or "none", "just_tls" if just else "fast_tls") if mode else None
    return Listener(text(module), proto, handlers, first, pair)


@dataclass
class NodeData:
    """Everything read from one node, already normalised to Python values."""

    node: str
    host_types: list[str]
    domain_count: int | None
    loaded: dict[str, list[str]]                 # host type -> loaded modules
    behaviours: dict[str, set[str]]              # module -> behaviours it declares
    config_metrics: dict[tuple[str, str], Any]   # (host type, module) -> raw reply (None: n/a)
    uptime_ms: int
    version: str | None
    components: int
    node_number: int
    config_path: str | None
    listeners: list[Listener]
    pools: list[str]
    stanza_totals: dict[str, int] | None         # None: the node counts no stanzas
    api_era: str = "5.1-6.5"                     # a key of HTTP_APIS
    warnings: list[str] = field(default_factory=list)


def uptime(ms: int) -> str:
    """``DDDD-HH:MM:SS`` as ``calendar:seconds_to_daystime/1`` plus MongooseIM's format."""
    secs = ms // 1000
    days, rem = divmod(secs, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"{days:04d}-{h:02d}:{m:02d}:{s:02d}"


def config_type(path: str | None) -> str:
    if path is None:
        return "unknown_config_type"
    ext = path.rsplit("/", 1)[-1]
    ext = ext[ext.rfind("."):] if "." in ext else ""
    return {".toml": "toml", ".cfg": "cfg"}.get(ext, "unknown_config_type")


def metrics_modules(d: NodeData) -> list[str]:
    union = sorted({m for mods in d.loaded.values() for m in mods})
    return [m for m in union if "mongoose_module_metrics" in d.behaviours.get(m, set())]


def custom_module_count(d: NodeData) -> int:
    union = {m for mods in d.loaded.values() for m in mods}
    return sum(1 for m in union if "gen_mod" in d.behaviours.get(m, set())
               and "mongoose_module_metrics" not in d.behaviours.get(m, set()))


def module_params(module: str, reply: Any) -> dict[str, ParamValue]:
    """Fold ``config_metrics/1``'s ``[{Key, Value}]`` into one map, dropping ``{none, none}``."""
    params: dict[str, ParamValue] = {"module": module}
    pairs = [reply] if isinstance(reply, tuple) else reply if isinstance(reply, list) else []
    for pair in pairs:
        if isinstance(pair, tuple) and len(pair) == 2:
            key, value = pair
            if key == Atom("none"):
                continue
            params[text(key)] = param(value)
    return params


def events(d: NodeData, previous_totals: Mapping[str, int] | None) -> list[Event]:
    """The report of one node, in MongooseIM's order."""
    out = [Event("host_count", {"value": len(d.host_types)})]
    if d.domain_count is not None:
        out.append(Event("domain_count", {"value": d.domain_count}))
    mods = metrics_modules(d)
    for ht in d.host_types:
        for m in mods:
            out.append(Event("module_with_opt", module_params(m, d.config_metrics.get((ht, m)))))
    out.append(Event("custom_module_count", {"value": custom_module_count(d)}))
    cluster: dict[str, ParamValue] = {"uptime": uptime(d.uptime_ms)}
    if d.version is not None:
        cluster["version"] = d.version
    cluster.update(component=d.components, node_number=d.node_number,
                   config_type=config_type(d.config_path))
    out.append(Event("cluster", cluster))
    out.append(Event("http_api", {h: "enabled" for h in api_handlers(d.listeners, d.api_era)}))
    out.append(Event("transport_mechanism", transports(d.listeners, d.api_era)))
    out.extend(Event("tls_option", {"mode": mode, "module": mod})
               for mode, mod in tls_options(d.listeners))
    out.extend(Event("outgoing_pool", {"value": p}) for p in d.pools)
    if d.stanza_totals is not None:
        out.extend(stanza_events(d.stanza_totals, previous_totals))
    return out


def api_handlers(ls: Sequence[Listener], era: str = "5.1-6.5") -> list[str]:
    allowed = HTTP_APIS[era]
    return sorted({h for lst in ls if lst.module == COWBOY for h in lst.handlers
                   if h in allowed})


def transports(ls: Sequence[Listener], era: str = "5.1-6.5") -> dict[str, ParamValue]:
    # MongooseIM 3.6-5.0 only looked at the first ``modules`` entry of the cowboy listeners.
    cowboy = [lst for lst in ls if lst.module == COWBOY]
    if era == "3.6-5.0":
        cowboy = cowboy[:1]
    found: dict[str, ParamValue] = {
        h: "enabled" for h in sorted({h for lst in cowboy
                                      for h in (lst.first_handlers if era == "3.6-5.0"
                                                else lst.handlers)
                                      if h in TRANSPORT_HANDLERS})}
    if any(lst.is_c2s and lst.proto == "tcp" for lst in ls):
        found["tcp"] = "enabled"
    return found


def tls_options(ls: Sequence[Listener]) -> list[tuple[str, str]]:
    """Unique (mode, module) pairs of c2s listeners, in the order MongooseIM emits them."""
    pairs = sorted({lst.tls for lst in ls if lst.is_c2s and lst.tls is not None})
    return list(reversed(pairs))  # lists:usort then a prepending foldl


def stanza_events(totals: Mapping[str, int],
                  previous: Mapping[str, int] | None) -> Iterable[Event]:
    for t in STANZA_TYPES:
        total = totals.get(t, 0)
        prev = previous.get(t) if previous else None
        yield Event("xmpp_stanza_count", {"stanza_type": t, "total": total,
                                          "increment": total - prev if prev is not None
                                          else total})
