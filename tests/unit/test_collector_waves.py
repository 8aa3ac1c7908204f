"""Collector decisions that depend on how a node answers (unit seam: a scripted connection).

The live tests cover the happy paths on real stand-in VMs; these pin down the edge cases a real
cluster produces and a stand-in does not: a node that is still starting, a node named differently
from --node, a custom module that declares the metrics behaviour, exometer without counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from mim_bridge.collect import Collector, NodeNotReady, NotMongooseIM, collect_cluster
from mim_bridge.erldist import Atom as A
from mim_bridge.erldist import BadRpc, CallTimeout, Export

UNDEF = BadRpc("undef", (A("EXIT"), (A("undef"), [])))

Handler = Callable[[tuple[Any, ...]], Any]


class ScriptedConnection:
    """Answers ``send_call`` from a table of ``(module, function) -> handler(args)``."""

    def __init__(self, peer: str, table: dict[tuple[str, str], Any]) -> None:
        self.peer_name = peer
        self.table = table
        self.sent: list[tuple[str, str, tuple[Any, ...]]] = []

    def send_call(self, m: Any, f: Any, args: Any) -> asyncio.Future[Any]:
        m, f = str(m), str(f)
        self.sent.append((m, f, tuple(args)))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        handler = self.table.get((m, f), UNDEF)
        try:
            result = handler(tuple(args)) if callable(handler) else handler
            if isinstance(result, Exception):
                raise result
            fut.set_result(result)
        except Exception as e:  # noqa: BLE001 - the scripted node's answer
            fut.set_exception(e)
        return fut

    async def wait_reply(self, fut: Any, *a: Any) -> Any:
        return await fut


def _apply(table: dict[tuple[str, str], Any], fun: Export, *arg_lists: Any) -> Any:
    handler = table.get((fun.module.name, fun.function.name), UNDEF)
    if not callable(handler):
        if isinstance(handler, Exception):
            raise handler
        return [handler for _ in arg_lists[0]]
    return [handler(args) for args in zip(*arg_lists)]


def node_621(extra: dict[tuple[str, str], Any] | None = None,
             **overrides: Any) -> dict[tuple[str, str], Any]:
    """A minimal 6.2-style node: one host type, mod_vcard; *extra* replaces answers."""
    modules = overrides.pop("modules", {b"localhost": {A("mod_vcard"): {A("backend"): A("rdbms")}}})
    attrs = overrides.pop("attributes", {
        "mod_vcard": [(A("behaviour"), [A("gen_mod")]),
                      (A("behaviour"), [A("mongoose_module_metrics")])]})
    exported = overrides.pop("exported", {"mod_vcard": True})
    get_opt = {"hosts": [b"localhost"], "host_types": [], "listen": [], "outgoing_pools": []}
    t: dict[tuple[str, str], Any] = {
        ("erlang", "statistics"): (1000, 0),
        ("erlang", "nodes"): [],
        ("erlang", "whereis"): A("undefined"),
        ("erlang", "module_loaded"): False,
        ("application", "which_applications"): [(A("mongooseim"), "MongooseIM", "6.2.1")],
        ("mongoose_cluster_id", "get_cached_cluster_id"): (A("ok"), b"id-1"),
        ("mongoose_domain_core", "domains_count"): 1,
        ("mongoose_config", "get_opt"): lambda a: get_opt[a[0].name],
        ("mongoose_config", "lookup_opt"): (A("error"), A("not_found")),
        ("mongoose_config", "get_config_path"): "/etc/mongooseim.toml",
        ("gen_mod", "loaded_modules_with_opts"): modules,
        ("mongoose_router", "get_all_domains"): [],
        ("mongoose_component", "dirty_get_all_components"): [],
        ("erlang", "get_module_info"): lambda a: attrs.get(a[0].name, []),
        ("erlang", "function_exported"): lambda a: exported.get(a[0].name, False),
        ("exometer", "get_values"): lambda a: [([A("localhost"), a[0][1]],
                                                [(A("count"), 2), (A("one"), 0)])],
    }
    t.update(extra or {})
    t[("lists", "zipwith")] = lambda a: _apply(t, a[0], a[1], a[2])
    t[("lists", "zipwith3")] = lambda a: _apply(t, a[0], a[1], a[2], a[3])
    t[("lists", "map")] = lambda a: _apply(t, a[0], a[1])
    return t


def collect(conn: ScriptedConnection, previous: dict[str, int] | None = None) -> Any:
    return asyncio.run(Collector(conn).collect(previous))  # type: ignore[arg-type]


def test_scripted_node_gives_a_report() -> None:
    report = collect(ScriptedConnection("mim@h", node_621()))
    mods = [e.params for e in report.events if e.name == "module_with_opt"]
    assert mods == [{"module": "mod_vcard", "backend": "rdbms"}]
    assert report.waves == 2


def test_a_node_that_does_not_answer_its_config_is_not_ready_not_foreign() -> None:
    conn = ScriptedConnection("mim@h", node_621({
        ("mongoose_config", "get_opt"): CallTimeout("timeout")}))
    with pytest.raises(NodeNotReady, match="still starting"):
        collect(conn)


def test_a_node_without_either_config_api_is_not_mongooseim() -> None:
    conn = ScriptedConnection("x@h", {("erlang", "nodes"): []})
    with pytest.raises(NotMongooseIM, match="not a MongooseIM node"):
        collect(conn)


def test_custom_module_with_metrics_behaviour_is_never_called() -> None:
    modules = {b"localhost": {A("mod_vcard"): {A("backend"): A("rdbms")},
                              A("mod_acme_secret"): {A("backend"): A("rdbms")}}}
    attrs = {m: [(A("behaviour"), [A("gen_mod"), A("mongoose_module_metrics")])]
             for m in ("mod_vcard", "mod_acme_secret")}
    conn = ScriptedConnection("mim@h", node_621(
        modules=modules, attributes=attrs,
        exported={"mod_vcard": True, "mod_acme_secret": True}))
    collect(conn)
    called = {m for m, _, _ in conn.sent} | {
        a[0].module.name for m, f, a in conn.sent if m == "lists" and isinstance(a[0], Export)
        and a[0].function.name == "config_metrics"}
    assert "mod_acme_secret" not in called


def test_exometer_without_counters_means_no_stanza_events() -> None:
    conn = ScriptedConnection("mim@h", node_621({("exometer", "get_values"): lambda a: []}))
    report = collect(conn)
    assert report.stanza_totals is None
    assert not [e for e in report.events if e.name == "xmpp_stanza_count"]


def test_previous_totals_are_found_under_the_nodes_own_name() -> None:
    """--node mongooseim@localhost may reach a node that calls itself mongooseim@mim-1."""
    conn = ScriptedConnection("mongooseim@mim-1", node_621())

    async def get(_node: str) -> Any:
        return conn

    prev = {"mongooseim@mim-1": {"xmppMessageSent": 1}}
    report = asyncio.run(collect_cluster(get, ["mongooseim@localhost"], prev, discover=False))
    sent = next(e for e in report.nodes[0].events if e.name == "xmpp_stanza_count")
    assert sent.params == {"stanza_type": "xmppMessageSent", "total": 2, "increment": 1}


def test_failed_component_batch_falls_back_to_single_lookups() -> None:
    def lookup(args: tuple[Any, ...]) -> Any:
        if args[0] == b"bad.example":
            raise BadRpc("badarg", (A("EXIT"), (A("badarg"), [])))
        return [(A("external_component"), args[0])]

    t = node_621({("mongoose_router", "get_all_domains"): [b"a.example", b"bad.example"],
                  ("mongoose_component", "lookup_component"): lookup})
    t[("lists", "zipwith")] = lambda a: (
        _raise(BadRpc("batch", None)) if a[0].function.name == "lookup_component"
        else _apply(t, a[0], a[1], a[2]))
    report = collect(ScriptedConnection("mim@h", t))
    cluster = next(e for e in report.events if e.name == "cluster")
    assert cluster.params["component"] == 1
    assert report.waves == 3


def _raise(e: Exception) -> Any:
    raise e


def test_a_wave_shares_one_deadline_and_leaves_no_unread_errors() -> None:
    """20 calls that never answer fail together after one call timeout, not 20 of them."""
    from mim_bridge.collect import Call, ReadOnlyNode

    class Silent(ScriptedConnection):
        def send_call(self, m: Any, f: Any, args: Any) -> "asyncio.Future[Any]":
            return asyncio.get_running_loop().create_future()

        async def wait_reply(self, fut: Any, m: Any, f: Any, arity: int,
                             timeout: float) -> Any:
            try:
                return await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                raise CallTimeout(f"{m}:{f}/{arity}") from None

    async def run() -> dict[str, Any]:
        ro = ReadOnlyNode(Silent("mim@h", {}), call_timeout=0.05)  # type: ignore[arg-type]
        calls = {str(i): Call("erlang", "nodes") for i in range(20)}
        return await asyncio.wait_for(ro.wave(calls), 0.6)  # 20 x 0.05 s would be 1 s

    out = asyncio.run(run())
    assert len(out) == 20 and all(v.message.startswith("erlang:nodes") for v in out.values())
