"""Collect one node's report in pipelined waves of read-only calls.

Wave 1 asks, all at once, for everything that depends on nothing: VM facts, the cluster id, and
the configuration as *every* MongooseIM generation stores it (``mongoose_config`` from 5.1,
``ejabberd_config`` before). Calls into the other generation's API come back ``undef``; which ones
answered *is* the capability detection, and costs no extra round trip.

Wave 2 asks for what depends on wave 1: each loaded module's behaviours, ``config_metrics/1``
of every known metrics module for every host type, component lookups and stanza counters.
MongooseIM 3.6-5.0 needs one more wave because its loaded modules are only listed per host.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..erldist import Atom, Connection, Export, Pid
from ..events import Event
from ..report.allowlist import METRICS_MODULES
from ..report.anonymise import safe_version
from . import items, module_metrics, stanzas
from .errors import NodeNotReady, NotMongooseIM
from .readonly import Call, Failed, ReadOnlyNode

log = logging.getLogger(__name__)

KNOWN_RANGE = ((3, 6), (6, 8))  # MongooseIM releases whose APIs this collector knows
SERVICE = "service_mongoose_system_metrics"
_A = Atom


def _opt(key: str) -> tuple[Atom]:
    return (_A(key),)


WAVE1: dict[str, Call] = {
    "wall_clock": Call("erlang", "statistics", _opt("wall_clock")),
    "nodes": Call("erlang", "nodes"),
    "apps": Call("application", "which_applications"),
    "cluster_id": Call("mongoose_cluster_id", "get_cached_cluster_id"),
    "domains": Call("mongoose_domain_core", "domains_count"),
    "service_pid": Call("erlang", "whereis", _opt(SERVICE)),
    # MongooseIM 6.6 renamed the BOSH/websocket handlers (and changed the HTTP API allow-list)
    # (a BIF, no code-path search: MongooseIM releases load all their code at boot)
    "handlers_66": Call("erlang", "module_loaded", _opt("mongoose_bosh_handler")),
    # MongooseIM 5.1+
    "hosts": Call("mongoose_config", "get_opt", _opt("hosts")),
    "host_types": Call("mongoose_config", "get_opt", _opt("host_types")),
    "listen": Call("mongoose_config", "get_opt", _opt("listen")),
    "pools": Call("mongoose_config", "get_opt", _opt("outgoing_pools")),
    "instrumentation": Call("mongoose_config", "lookup_opt", _opt("instrumentation")),
    "services": Call("mongoose_config", "lookup_opt", _opt("services")),
    "config_path": Call("mongoose_config", "get_config_path"),
    "modules": Call("gen_mod", "loaded_modules_with_opts"),
    "router_domains": Call("mongoose_router", "get_all_domains"),
    "components_62": Call("mongoose_component", "dirty_get_all_components", _opt("all")),
    "components_51": Call("ejabberd_router", "dirty_get_all_components", _opt("all")),
    # MongooseIM 3.6-5.0
    "ec_hosts": Call("ejabberd_config", "get_global_option", _opt("hosts")),
    "ec_host_types": Call("ejabberd_config", "get_global_option_or_default",
                          (_A("host_types"), [])),
    "ec_listen": Call("ejabberd_config", "get_local_option_or_default", (_A("listen"), [])),
    "ec_pools": Call("ejabberd_config", "get_local_option_or_default",
                     (_A("outgoing_pools"), [])),
    "ec_services": Call("ejabberd_config", "get_local_option_or_default", (_A("services"), [])),
    "ec_config_path": Call("ejabberd_config", "get_config_path"),
    "ec_domains": Call("ejabberd_router", "dirty_get_all_domains"),
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
    generation: str
    events: list[Event]
    stanza_totals: dict[str, int] | None
    members: list[str]
    service: InVmService
    waves: int
    calls: int
    warnings: list[str] = field(default_factory=list)


def _ok(v: Any) -> bool:
    return not isinstance(v, Failed)


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _version(apps: Any) -> str | None:
    for app in _list(apps):
        if isinstance(app, tuple) and len(app) == 3 and app[0] == _A("mongooseim"):
            return items.text(app[2])
    return None


def _known_version(version: str | None) -> bool:
    m = re.match(r"^(\d+)\.(\d+)", version or "")
    if not m:
        return False
    lo, hi = KNOWN_RANGE
    return lo <= (int(m[1]), int(m[2])) <= hi


def _behaviours(reply: Any) -> set[str]:
    out: set[str] = set()
    for key, value in items.proplist(reply):
        if key in (_A("behaviour"), _A("behavior")):
            out.update(items.text(v) for v in _list(value))
    return out


def _service(r: Mapping[str, Any], modern: bool) -> InVmService:
    running = isinstance(r.get("service_pid"), Pid)
    opts: Any = None
    if modern:
        svc = r.get("services")
        if isinstance(svc, tuple) and len(svc) == 2 and svc[0] == _A("ok") \
                and isinstance(svc[1], dict):
            opts = svc[1].get(_A(SERVICE))
    else:
        opts = dict(items.proplist(r.get("ec_services"))).get(_A(SERVICE))
        if opts is None and _A(SERVICE) in _list(r.get("ec_services")):
            opts = []
    if opts is None:
        return InVmService(False, running, None)
    pairs = dict(items.proplist(opts))
    report: bool | None = None
    if pairs.get(_A("no_report")) is True:
        report = False
    elif _A("report") in pairs:
        report = bool(pairs[_A("report")])
    return InVmService(True, running, report)


class Collector:
    """Reads one node. ``previous`` maps stanza type to the total of this node's last report."""

    def __init__(self, conn: Connection, call_timeout: float = 10.0) -> None:
        self.ro = ReadOnlyNode(conn, call_timeout)

    async def collect(self, previous: Mapping[str, int] | None = None) -> NodeReport:
        ro = self.ro
        r = await ro.wave(WAVE1)
        modern = _ok(r["hosts"])
        if not modern and not _ok(r["ec_hosts"]):
            hosts, ec_hosts = r["hosts"], r["ec_hosts"]
            if not (hosts.undefined and ec_hosts.undefined):
                # The API is there but did not answer: starting, stopping or overloaded.
                failed = ec_hosts if hosts.undefined else hosts
                raise NodeNotReady(f"{ro.node} did not answer the configuration read "
                                   f"({failed.message}); is MongooseIM still starting?")
            raise NotMongooseIM(
                f"{ro.node} is not a MongooseIM node: neither mongoose_config:get_opt/1 nor "
                f"ejabberd_config:get_global_option/1 exists there"
                + ("" if _version(r["apps"]) else ", and no 'mongooseim' application runs"))
        warnings: list[str] = []
        version = _version(r["apps"])
        if version is None:
            warnings.append("the 'mongooseim' application is not running on the node "
                            "(starting or stopping?): the version is left out")
        elif not _known_version(version):
            warnings.append(f"MongooseIM {safe_version(version)} is outside the releases this "
                            f"bridge knows (3.6-6.8); collecting by detected capabilities")
        # Without these the report would be wrong rather than incomplete (no modules, a
        # one-node cluster): better no report now and a retry.
        essential = ["nodes", "modules" if modern else "ec_hosts"]
        missing = [k for k in essential if isinstance(r[k], Failed)]
        if missing:
            raise NodeNotReady(f"{ro.node} did not answer {', '.join(missing)} "
                               f"({r[missing[0]].message})")
        hts_raw: list[Any]
        if modern:
            hts_raw = _list(r["hosts"]) + _list(r["host_types"])
            loaded = {items.text(ht): [items.text(m) for m in mods]
                      for ht, mods in (r["modules"] if isinstance(r["modules"], dict)
                                       else {}).items()}
            listen_raw, pools_raw, path_raw = r["listen"], r["pools"], r["config_path"]
        else:
            hts_raw = _list(r["ec_hosts"]) + _list(r["ec_host_types"])
            listen_raw, pools_raw, path_raw = r["ec_listen"], r["ec_pools"], r["ec_config_path"]
            lm = await ro.wave({f"lm/{i}": Call("gen_mod", "loaded_modules", (ht,))
                                for i, ht in enumerate(hts_raw)})
            failed = [v for v in lm.values() if isinstance(v, Failed)]
            if failed:
                raise NodeNotReady(f"{ro.node} did not list its modules ({failed[0].message})")
            loaded = {items.text(ht): [items.text(m) for m in _list(lm[f"lm/{i}"])]
                      for i, ht in enumerate(hts_raw)}
        host_types = [items.text(ht) for ht in hts_raw]
        for ht in host_types:
            loaded.setdefault(ht, [])

        union = sorted({m for mods in loaded.values() for m in mods})
        wave2, stanza_mode = self._wave2(r, modern, hts_raw, union)
        r2 = await ro.wave(wave2)
        behaviours, exported = await self._module_info(union, r2["attributes"], r2["exported"])
        metrics = [m for m in union if "mongoose_module_metrics" in behaviours.get(m, set())
                   and exported.get(m)]
        config_metrics: dict[tuple[str, str], Any] = {}
        opts_by_ht = r["modules"] if modern and isinstance(r["modules"], dict) else {}
        # Only MongooseIM's own modules are ever called; a custom module that declares the
        # metrics behaviour is dropped by the anonymity gate anyway.
        remote = [m for m in metrics if m in METRICS_MODULES
                  and not (modern and module_metrics.knows(m))]
        for m in metrics:
            if not (modern and module_metrics.knows(m)):
                continue
            for ht_raw, ht in zip(hts_raw, host_types):
                opts = opts_by_ht.get(ht_raw, {}).get(_A(m)) if isinstance(
                    opts_by_ht.get(ht_raw), dict) else None
                config_metrics[(ht, m)] = module_metrics.config_metrics(
                    m, opts, since_62=_ok(r["components_62"]))
        asked = {m: r2[f"cm/{m}"] for m in remote if f"cm/{m}" in r2}
        if len(asked) < len(remote):
            # Modules whose config_metrics/1 cannot be derived: ask each, for every host type.
            r3 = await ro.wave({m: self._config_metrics_call(m, hts_raw)
                                for m in remote if m not in asked})
            asked.update(r3)
        for m, replies in asked.items():
            replies = replies if isinstance(replies, list) else [None] * len(host_types)
            for ht, reply in zip(host_types, replies):
                config_metrics[(ht, m)] = reply
        components = await self._components(r2.get("components"), wave2.get("components"))
        if stanza_mode == "prometheus":
            totals = stanzas.sum_prometheus(stanzas.split_prometheus(r2["stanzas"]))
        else:
            prefer = ("v64", "v63", "v36") if stanza_mode == "instrumented" else stanzas.SCHEMES
            totals = stanzas.pick_exometer(stanzas.split_exometer(r2["stanzas"]), prefer)
        data = items.NodeData(
            node=ro.node, host_types=host_types,
            domain_count=r["domains"] if isinstance(r["domains"], int) else None,
            loaded=loaded, behaviours=behaviours, config_metrics=config_metrics,
            uptime_ms=int(r["wall_clock"][0]) if isinstance(r["wall_clock"], tuple) else 0,
            version=version, components=components,
            node_number=len(_list(r["nodes"])) + 1,
            config_path=items.text(path_raw) if _ok(path_raw) else None,
            listeners=items.listeners(listen_raw),
            pools=[items.text(p[0] if isinstance(p, tuple) else p.get(_A("type"), ""))
                   for p in _list(pools_raw) if isinstance(p, (tuple, dict))],
            stanza_totals=totals, warnings=warnings,
            api_era="3.6-5.0" if not modern else "6.6+" if r["handlers_66"] is True
            else "5.1-6.5")
        cid = r["cluster_id"]
        client_id = items.text(cid[1]) if isinstance(cid, tuple) and len(cid) == 2 \
            and cid[0] == _A("ok") else None
        for w in warnings:
            log.warning("%s: %s", ro.node, w)
        return NodeReport(
            node=ro.node, client_id=client_id, version=version,
            generation="5.1+" if modern else "3.6-5.0",
            events=items.events(data, previous), stanza_totals=totals,
            members=[items.text(n) for n in _list(r["nodes"])],
            service=_service(r, modern), waves=ro.waves, calls=ro.calls, warnings=warnings)

    def _wave2(self, r: Mapping[str, Any], modern: bool, hts_raw: list[Any],
               union: list[str]) -> tuple[dict[str, Call], str]:
        """Everything that depends on wave 1, each kind of read batched into one call."""
        mods = [_A(m) for m in union]
        n = len(mods)
        calls: dict[str, Call] = {
            # the attributes of every loaded module, and whether it has config_metrics/1
            "attributes": Call("lists", "zipwith", (
                Export(_A("erlang"), _A("get_module_info"), 2), mods, [_A("attributes")] * n)),
            "exported": Call("lists", "zipwith3", (
                Export(_A("erlang"), _A("function_exported"), 3), mods,
                [_A("config_metrics")] * n, [1] * n)),
        }
        if not modern:
            # 3.6-5.0 options carry caller-supplied defaults: ask the modules themselves, in
            # the same wave (a module without config_metrics/1 answers undef). Only
            # MongooseIM's own metrics modules are asked; a custom module is never called.
            for m in union:
                if m in METRICS_MODULES:
                    calls[f"cm/{m}"] = self._config_metrics_call(m, hts_raw)
        if modern:
            lookup = "mongoose_component" if _ok(r["components_62"]) else "ejabberd_router"
            domains = _list(r["router_domains"]) + _list(
                r["components_62"] if _ok(r["components_62"]) else r["components_51"])
        else:
            lookup, domains = "ejabberd_router", _list(r["ec_domains"])
        if domains:
            calls["components"] = Call("lists", "zipwith", (
                Export(_A(lookup), _A("lookup_component"), 2), domains,
                [_A(self.ro.node)] * len(domains)))
        instr = r.get("instrumentation")
        instr_map = instr[1] if isinstance(instr, tuple) and len(instr) == 2 \
            and instr[0] == _A("ok") and isinstance(instr[1], dict) else None
        if instr_map is not None and _A("prometheus") in instr_map:
            calls["stanzas"] = stanzas.prometheus_call()
            mode = "prometheus"
        else:
            calls["stanzas"] = stanzas.exometer_call()
            mode = "instrumented" if instr_map is not None else "legacy"
        return calls, mode

    async def _components(self, reply: Any, batch: Call | None) -> int:
        """External components registered on this node; one lookup per domain if the batched
        lookup failed (one bad domain fails the whole batch)."""
        if batch is None or isinstance(reply, list):
            return sum(len(_list(c)) for c in _list(reply))
        fun, domains, nodes = batch.args
        r = await self.ro.wave({f"c/{i}": Call(fun.module.name, fun.function.name, (d, n))
                                for i, (d, n) in enumerate(zip(domains, nodes))})
        failed = [v for v in r.values() if isinstance(v, Failed)]
        if failed:
            log.warning("%s: %d of %d component lookups failed; they are not counted", self.ro.node,
                        len(failed), len(r))
        return sum(len(_list(v)) for v in r.values())

    def _config_metrics_call(self, module: str, hts_raw: list[Any]) -> Call:
        self.ro.allow_config_metrics([module])
        return Call("lists", "map", (Export(_A(module), _A("config_metrics"), 1), hts_raw))

    async def _module_info(self, union: list[str], attributes: Any, exported: Any
                           ) -> tuple[dict[str, set[str]], dict[str, bool]]:
        """Behaviours per module and whether it exports config_metrics/1, from the batched
        reads; one read per module instead if a module could not be inspected (which fails
        the whole batch)."""
        n = len(union)
        if not (isinstance(attributes, list) and len(attributes) == n
                and isinstance(exported, list) and len(exported) == n):
            singles: dict[str, Call] = {}
            for m in union:
                singles[f"a/{m}"] = Call("erlang", "get_module_info", (_A(m), _A("attributes")))
                singles[f"e/{m}"] = Call("erlang", "function_exported",
                                         (_A(m), _A("config_metrics"), 1))
            r = await self.ro.wave(singles) if singles else {}
            attributes = [r[f"a/{m}"] for m in union]
            exported = [r[f"e/{m}"] for m in union]
        return ({m: _behaviours(a) for m, a in zip(union, attributes)},
                {m: e is True for m, e in zip(union, exported)})
