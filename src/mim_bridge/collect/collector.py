"""Collect one node's report in pipelined waves of read-only calls, without touching code.

A MongooseIM release runs in interactive code mode, where a call into a module the node does not
have costs a search of the whole code path (~21,000-28,000 reductions on OTP 25) and a call into
a module that exists but is not loaded yet loads it. So the collector never guesses:

* **identify** (once per connection): ``erlang:loaded()``, the ``mongooseim`` application's
  module list and the VM facts. The era (:mod:`.eras`) follows from which modules the release
  has; what may be called follows from which modules are loaded. Nothing MongooseIM-specific is
  called yet, and nothing sent names an atom the node may lack.
* **configuration**: the era's own configuration API (``mongoose_config`` from 5.1,
  ``ejabberd_config`` before; the 3.6-5.0 module table read whole with ``ets:select/2``), the
  cluster id, domain and component lists. On a connection already identified, this wave also
  carries the VM facts and a fresh ``erlang:loaded()``.
* **dependent reads**: each configured module's behaviours and whether it exports
  ``config_metrics/1`` (whose answer is computed from the options: module_metrics), component
  lookups and the era's stanza counters.

Each wave travels as one request (readonly.ReadOnlyNode.wave).

So a report costs three round trips on a new connection and two on a reused one, on every era.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mim_bridge.collect import items, module_metrics, stanzas
from mim_bridge.collect.config_api import API, SERVICE, ServiceOptions, ok_value
from mim_bridge.collect.eras import Era, detect, era_of_version, newer_than_known
from mim_bridge.collect.errors import NodeNotReady, NotMongooseIM
from mim_bridge.collect.readonly import Call, Failed, ReadOnlyNode
from mim_bridge.erldist import Atom, Connection, Export, Pid
from mim_bridge.vocab.events import Event
from mim_bridge.vocab.forms import safe_version
from mim_bridge.vocab.names import METRICS_MODULES

__all__ = ["ALWAYS_LOADED", "IDENTIFY", "Collector", "InVmService", "NodeReport"]

log = logging.getLogger(__name__)

_A = Atom

# OTP modules every VM has loaded before anyone connects (preloaded, or kernel/stdlib at boot).
ALWAYS_LOADED = frozenset({"erlang", "application", "ets", "lists"})

IDENTIFY: dict[str, Call] = {
    "loaded": Call("erlang", "loaded"),
    "release": Call("application", "get_key", (_A("mongooseim"), _A("modules"))),
    "apps": Call("application", "which_applications"),
    "wall_clock": Call("erlang", "statistics", (_A("wall_clock"),)),
    "nodes": Call("erlang", "nodes"),
}


@dataclass(frozen=True)
class InVmService:
    """MongooseIM's own system-metrics service on this node."""

    configured: bool
    running: bool
    report: bool | None  # the ``report`` option: None when unset


@dataclass
class NodeReport:
    node: str
    client_id: str | None
    version: str | None
    era: Era
    events: list[Event]
    stanza_totals: dict[str, int] | None
    members: list[str]
    service: InVmService
    waves: int
    calls: int
    warnings: list[str] = field(default_factory=list)
    loaded: frozenset[str] = frozenset()  # the node's loaded modules (for --check)
    stanza_source: str = "none"  # where the stanza counts came from (stanzas.source)

    @property
    def generation(self) -> str:
        """The configuration API generation, as ``--check`` names it."""
        return "5.1+" if self.era.config_api == "mongoose_config" else "3.6-5.0"


@dataclass
class _Identity:
    """What the identify wave learned; valid for the life of one connection."""

    era: Era
    loaded: frozenset[str]


# Identities by connection: a reconnect (the node restarted, maybe upgraded) identifies again.
_IDENTITIES: weakref.WeakKeyDictionary[Any, _Identity] = weakref.WeakKeyDictionary()


def _modules_of(call: Call) -> list[str]:
    """The modules a call runs code of: its own, and a batched export fun's."""
    mods = [call.module]
    if call.args and isinstance(call.args[0], Export):
        mods.append(call.args[0].module.name)
    return mods


def _service(options: ServiceOptions, pid: Any) -> InVmService:
    configured, report = options
    return InVmService(configured=configured, running=isinstance(pid, Pid), report=report)


def _ok(v: Any) -> bool:
    return not isinstance(v, Failed)


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _names(v: Any) -> frozenset[str]:
    return frozenset(a.name for a in _list(v) if isinstance(a, Atom))


def _version(apps: Any) -> str | None:
    for app in _list(apps):
        if isinstance(app, tuple) and len(app) == 3 and app[0] == _A("mongooseim"):
            return items.text(app[2])
    return None


def _release(reply: Any) -> frozenset[str] | None:
    """``{ok, Modules}`` of ``application:get_key/2``; None when the app is not loaded."""
    if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == _A("ok"):
        return _names(reply[1])
    return None


class Collector:
    """Reads one node. ``previous`` maps stanza type to the total of this node's last report."""

    def __init__(self, conn: Connection, call_timeout: float = 10.0) -> None:
        self.conn = conn
        self.ro = ReadOnlyNode(conn, call_timeout)

    async def collect(self, previous: Mapping[str, int] | None = None) -> NodeReport:
        ro = self.ro
        known = _IDENTITIES.get(self.conn)
        first: dict[str, Any] = {}
        if known is None:
            first = await ro.wave(IDENTIFY)
            era = self._identify(first)
            loaded = _names(first["loaded"])
        else:
            era, loaded = known.era, known.loaded
        config_calls = self._config_calls(era)
        if known is not None:
            config_calls.update(IDENTIFY)
            del config_calls["release"]
        r = {**first, **await self._gated_wave(config_calls, loaded)}
        if known is not None and _ok(r["loaded"]):
            loaded = _names(r["loaded"])
        _IDENTITIES[self.conn] = _Identity(era, loaded)

        warnings: list[str] = []
        version = _version(r["apps"])
        if version is None:
            warnings.append("the 'mongooseim' application is not running on the node "
                            "(starting or stopping?): the version is left out")
        else:
            claimed = era_of_version(version)
            if newer_than_known(version):
                warnings.append(f"MongooseIM {safe_version(version)} is newer than the releases "
                                f"this bridge knows (3.6-6.8); reporting as {era.releases}")
            elif claimed is not None and claimed != era:
                warnings.append(f"the node says MongooseIM {safe_version(version)} but its "
                                f"modules are those of {era.releases}; reporting as {era.name}")
        self._require(r, era)

        host_types, loaded_by_ht, opts_by_ht = self._modules(r, era)
        union = sorted({m for mods in loaded_by_ht.values() for m in mods})
        inspectable = [m for m in union if m in loaded]
        if len(inspectable) < len(union):
            warnings.append(f"{len(union) - len(inspectable)} configured module(s) are not "
                            "loaded on the node; they are left out")
        instrumentation = self._instrumentation(r, era)
        stanza_source = stanzas.source(era.stanzas, instrumentation)
        dependent = self._dependent_calls(r, era, inspectable, loaded, stanza_source)
        r2 = await self._gated_wave(dependent, loaded) if dependent else {}
        behaviours, exported = await self._module_info(inspectable, r2.get("attributes"),
                                                       r2.get("exported"))
        metrics = [m for m in inspectable if "mongoose_module_metrics" in behaviours[m]]
        config_metrics = self._config_metrics(era, host_types, metrics, exported, opts_by_ht,
                                               warnings)
        totals = self._stanza_totals(r2, stanza_source, warnings)
        data = items.NodeData(
            era=era, host_types=[items.text(ht) for ht in host_types],
            domain_count=items.count(r.get("domains")) if era.has_domains else None,
            loaded={items.text(ht): mods for ht, mods in loaded_by_ht.items()},
            behaviours=behaviours, config_metrics=config_metrics,
            uptime_ms=self._uptime(r["wall_clock"], warnings), version=version,
            components=await self._components(r2, dependent.get("components"), warnings),
            node_number=len(_list(r["nodes"])) + 1,
            config_path=items.text(r["config_path"])
            if era.has_config_type and _ok(r.get("config_path")) else None,
            listeners=items.listeners(r["listen"]),
            pools=API[era.config_api].pools(r.get("pools")) if era.has_pools else None,
            stanza_totals=totals, warnings=warnings)
        cid = ok_value(r["cluster_id"])
        client_id = items.text(cid) if isinstance(cid, (bytes, str)) else None
        for w in warnings:
            log.warning("%s: %s", ro.node, w)
        return NodeReport(
            node=ro.node, client_id=client_id, version=version, era=era,
            events=items.events(data, previous), stanza_totals=totals,
            members=[items.text(n) for n in _list(r["nodes"]) if isinstance(n, Atom)],
            service=_service(API[era.config_api].service(r.get("services")),
                             r.get("service_pid")),
            waves=ro.waves, calls=ro.calls, warnings=warnings,
            loaded=loaded, stanza_source=stanza_source)

    async def _gated_wave(self, calls: Mapping[str, Call], loaded: frozenset[str]
                          ) -> dict[str, Any]:
        """One wave, minus the calls into a module the node has not loaded: such a call would
        load it (or, if it does not exist, search the code path). They come back Failed."""
        send: dict[str, Call] = {}
        out: dict[str, Any] = {}
        for key, call in calls.items():
            missing = [m for m in _modules_of(call) if m not in loaded and m not in ALWAYS_LOADED]
            if missing:
                out[key] = Failed(None, f"{missing[0]} is not loaded on {self.ro.node}")
            else:
                send[key] = call
        if send:
            out.update(await self.ro.wave(send))
        return out

    # ------------------------------------------------------------------ identify

    def _identify(self, r: Mapping[str, Any]) -> Era:
        node = self.ro.node
        essential = [k for k in ("loaded", "release", "apps") if isinstance(r[k], Failed)]
        if essential:
            raise NodeNotReady(f"{node} did not answer {', '.join(essential)} "
                               f"({r[essential[0]].message})")
        loaded = _names(r["loaded"])
        release = _release(r["release"])
        era = detect(release or frozenset(), loaded)
        if era is not None:
            return era
        if release is None and _version(r["apps"]) is None:
            raise NotMongooseIM(
                f"{node} is not a MongooseIM node: it has no 'mongooseim' application and "
                "neither mongoose_config nor ejabberd_config")
        # The application is there but its configuration module is not loaded yet.
        raise NodeNotReady(f"{node} has the 'mongooseim' application but not its configuration "
                           "yet; is MongooseIM still starting?")

    # ------------------------------------------------------------------ configuration

    def _config_calls(self, era: Era) -> dict[str, Call]:
        """The era's configuration reads, the cluster id, the in-VM service, the domains."""
        calls = {
            "cluster_id": Call("mongoose_cluster_id", "get_cached_cluster_id"),
            "service_pid": Call("erlang", "whereis", (_A(SERVICE),)),
            **API[era.config_api].calls(era),
        }
        if era.has_domains:
            calls["domains"] = Call("mongoose_domain_core", "domains_count")
        return calls

    def _require(self, r: Mapping[str, Any], era: Era) -> None:
        """Without these the report would be wrong rather than incomplete."""
        essential = ["nodes", "hosts", "modules", "listen"]
        if era.has_domains and era.config_api == "mongoose_config":
            essential.append("host_types")
        missing = [k for k in essential if isinstance(r.get(k), Failed)]
        if missing:
            raise NodeNotReady(f"{self.ro.node} did not answer the {', '.join(missing)} "
                               f"read(s) ({r[missing[0]].message}); is MongooseIM still "
                               "starting?")
        bad = [k for k in ("hosts", "nodes") if not isinstance(r.get(k), list)]
        bad += [k for k in ("hosts", "host_types") if not all(
            isinstance(ht, (bytes, str)) for ht in _list(r.get(k)))]
        if bad:
            raise NodeNotReady(f"{self.ro.node} gave a malformed {bad[0]} reply")

    def _modules(self, r: Mapping[str, Any], era: Era
                 ) -> tuple[list[Any], dict[Any, list[str]], dict[Any, Any]]:
        """Host types (raw terms, in config order), their modules, and their options."""
        hts: list[Any] = _list(r["hosts"]) + _list(r.get("host_types"))
        loaded, opts = API[era.config_api].modules(r["modules"], hts, self.ro.node)
        return hts, loaded, opts

    @staticmethod
    def _instrumentation(r: Mapping[str, Any], era: Era) -> dict[Any, Any] | None:
        instr = ok_value(r.get("instrumentation"))
        return instr if isinstance(instr, dict) else None

    # ------------------------------------------------------------------ dependent reads

    def _dependent_calls(self, r: Mapping[str, Any], era: Era, modules: list[str],
                         loaded: frozenset[str], stanza_source: str) -> dict[str, Call]:
        """Everything that depends on the configuration, each kind batched into one call."""
        mods = [_A(m) for m in modules]
        n = len(mods)
        calls: dict[str, Call] = {}
        if mods:
            calls["attributes"] = Call("lists", "zipwith", (
                Export(_A("erlang"), _A("get_module_info"), 2), mods, [_A("attributes")] * n))
            calls["exported"] = Call("lists", "zipwith3", (
                Export(_A("erlang"), _A("function_exported"), 3), mods,
                [_A("config_metrics")] * n, [1] * n))
        domains = _list(r.get("router_domains")) + (
            _list(r.get("components")) if era.config_api == "mongoose_config" else [])
        lookup = era.component_api
        if domains and lookup in loaded:
            calls["components"] = Call("lists", "zipwith", (
                Export(_A(lookup), _A("lookup_component"), 2), domains,
                [_A(self.ro.node)] * len(domains)))
        if stanza_source == "prometheus" and "prometheus_counter" in loaded:
            calls["stanzas"] = stanzas.prometheus_call()
        elif stanza_source in stanzas.SCHEMES and "exometer" in loaded:
            calls["stanzas"] = stanzas.exometer_call(stanza_source)
        return calls

    @staticmethod
    def _config_metrics(era: Era, hts: list[Any], metrics: list[str],
                        exported: Mapping[str, bool], opts_by_ht: Mapping[Any, Any],
                        warnings: list[str]) -> dict[tuple[str, str], Any]:
        """``config_metrics/1`` of every metrics module for every host type (None: it has none),
        computed from the options read in the configuration wave (module_metrics): the tables
        there cover every module of every release 3.6.0-6.8.0 (checked against MongooseIM's
        source). A module they do not cover is reported without options, never called."""
        out: dict[tuple[str, str], Any] = {}
        names = [items.text(ht) for ht in hts]
        before_51 = era.config_api == "ejabberd_config"
        for m in metrics:
            if not exported.get(m):
                continue
            if not module_metrics.knows(m, before_51=before_51):
                if m in METRICS_MODULES:
                    warnings.append(f"{m} reports options this bridge does not know; it is "
                                    "reported without them")
                continue
            for ht, name in zip(hts, names, strict=True):
                mods = opts_by_ht.get(ht)
                opts = mods.get(_A(m)) if isinstance(mods, dict) else None
                out[(name, m)] = module_metrics.config_metrics_before_51(m, opts) \
                    if before_51 else module_metrics.config_metrics(
                        m, opts, since_62=era.muc_online_backend)
        return out

    async def _module_info(self, modules: list[str], attributes: Any, exported: Any
                           ) -> tuple[dict[str, set[str]], dict[str, bool]]:
        """Behaviours per module and whether it exports config_metrics/1, from the batched
        reads; one read per module instead if a module could not be inspected (which fails
        the whole batch, e.g. a module purged meanwhile)."""
        n = len(modules)
        if n and not (isinstance(attributes, list) and len(attributes) == n
                      and isinstance(exported, list) and len(exported) == n):
            singles: dict[str, Call] = {}
            for m in modules:
                singles[f"a/{m}"] = Call("erlang", "get_module_info", (_A(m), _A("attributes")))
                singles[f"e/{m}"] = Call("erlang", "function_exported",
                                         (_A(m), _A("config_metrics"), 1))
            r = await self.ro.wave(singles)
            attributes = [r[f"a/{m}"] for m in modules]
            exported = [r[f"e/{m}"] for m in modules]
        return ({m: items.behaviours(a) for m, a in zip(modules, _list(attributes), strict=False)},
                {m: e is True for m, e in zip(modules, _list(exported), strict=False)})

    async def _components(self, r2: Mapping[str, Any], batch: Call | None,
                          warnings: list[str]) -> int:
        """External components registered on this node; one lookup per domain if the batched
        lookup failed (one bad domain fails the whole batch)."""
        if batch is None:
            return 0
        reply = r2.get("components")
        if isinstance(reply, list):
            return sum(len(_list(c)) for c in reply)
        fun, domains, nodes = batch.args
        r = await self.ro.wave({f"c/{i}": Call(fun.module.name, fun.function.name, (d, n))
                                for i, (d, n) in enumerate(zip(domains, nodes, strict=True))})
        failed = [v for v in r.values() if isinstance(v, Failed)]
        if failed:
            warnings.append(f"{len(failed)} of {len(r)} component lookups failed; they are "
                            "not counted")
        return sum(len(_list(v)) for v in r.values())

    @staticmethod
    def _stanza_totals(r2: Mapping[str, Any], source: str,
                       warnings: list[str]) -> dict[str, int] | None:
        if source == "none":
            return None
        if "stanzas" not in r2:
            return dict(stanzas.ZEROS)  # the counter module is not loaded: nothing counted
        reply = r2["stanzas"]
        totals = (stanzas.sum_prometheus(reply) if source == "prometheus"
                  else stanzas.sum_exometer(reply))
        if totals is None:
            why = reply.message if isinstance(reply, Failed) else "an unexpected reply"
            warnings.append(f"the stanza counters could not be read ({why}): no stanza counts "
                            "in this report")
        return totals

    @staticmethod
    def _uptime(reply: Any, warnings: list[str]) -> int | None:
        if isinstance(reply, tuple) and len(reply) == 2:
            ms = items.count(reply[0])
            if ms is not None:
                return ms
        warnings.append("the node's uptime could not be read: it is left out")
        return None
