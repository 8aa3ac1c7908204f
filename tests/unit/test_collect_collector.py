"""Collector decisions that depend on how a node answers (unit seam: a scripted connection).

The live tests cover real stand-in VMs of every era; these pin down what a stand-in does not
produce easily: a node that is still starting, a node named differently from --node, a custom
module that declares the metrics behaviour, odd replies, and - on every era - that no call ever
goes to a module the node has not loaded (on a real release it would be loaded, or make the code
server search the whole code path).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.collect import (
    Call,
    Collector,
    NodeNotReady,
    NotMongooseIM,
    ReadOnlyNode,
    collect_cluster,
)
from mim_bridge.collect.eras import ERAS
from mim_bridge.erldist import Atom as A
from mim_bridge.erldist import BadRpc, CallTimeout, Export
from support.scripted import ScriptedConnection

OTP = ["erlang", "application", "ets", "lists", "rpc", "kernel", "code_server"]


VCARD_ATTRS = [(A("behaviour"), [A("gen_mod")]), (A("behaviour"), [A("mongoose_module_metrics")])]

# What each era's release has that the collector cares about (markers and APIs).
RELEASE: dict[str, list[str]] = {
    "3.6": ["ejabberd_config", "ejabberd_router", "gen_mod", "mongoose_cluster_id",
            "mod_http_notification"],
    "3.7": ["mongoose_hooks"], "4.0.1": ["mongoose_logs", "mongoose_config_spec"],
    "5.0": ["mongoose_domain_core"],
    "5.1": ["mongoose_config", "mongoose_router"], "6.0": ["mongoose_graphql"],
    "6.1": ["mongoose_c2s"], "6.2": ["mongoose_component"], "6.3": ["mongoose_instrument"],
    "6.4": ["mongoose_instrument_xmpp"], "6.6": ["service_bosh"],
}


def release_of(era: str) -> list[str]:
    names = [e.name for e in ERAS]
    mods: list[str] = []
    for name in names[:names.index(era) + 1]:
        mods += RELEASE[name]
    if era in ("4.0.1", "5.0") or names.index(era) >= names.index("5.1"):
        mods.remove("mod_http_notification")
    if names.index(era) >= names.index("5.1"):
        mods.remove("ejabberd_config")
    return [*mods, "mod_vcard", "service_mongoose_system_metrics"]


def scripted(era: str = "6.2", extra: dict[tuple[str, str], Any] | None = None, *,
             loaded_extra: tuple[str, ...] = ("exometer",), **overrides: Any
             ) -> tuple[dict[tuple[str, str], Any], set[str]]:
    """A minimal node of *era*: one host type with mod_vcard; returns (table, loaded modules)."""
    release = release_of(era)
    loaded = set(release) | set(OTP) | set(loaded_extra)
    loaded.discard("mod_http_notification")  # in the release, never used: not loaded
    modern = era not in ("3.6", "3.7", "4.0.1", "5.0")
    attrs = overrides.pop("attributes", {"mod_vcard": VCARD_ATTRS})
    exported = overrides.pop("exported", {"mod_vcard": True})
    t: dict[tuple[str, str], Any] = {
        ("erlang", "loaded"): [A(m) for m in sorted(loaded)],
        ("application", "get_key"): (A("ok"), [A(m) for m in release]),
        ("erlang", "statistics"): (1000, 0),
        ("erlang", "nodes"): [],
        ("erlang", "whereis"): A("undefined"),
        ("application", "which_applications"): [(A("mongooseim"), "MongooseIM", "x")],
        ("mongoose_cluster_id", "get_cached_cluster_id"): (A("ok"), b"id-1"),
        ("mongoose_domain_core", "domains_count"): 1,
        ("erlang", "get_module_info"): lambda a: attrs.get(a[0].name, []),
        ("erlang", "function_exported"): lambda a: exported.get(a[0].name, False),
        ("exometer", "get_values"): lambda a: [([A("localhost"), *a[0][1:]],
                                                [(A("count"), 2), (A("one"), 0)])],
    }
    if modern:
        modules = overrides.pop("modules", {b"localhost": {
            A("mod_vcard"): {A("backend"): A("rdbms")}}})
        get_opt = {"hosts": [b"localhost"], "host_types": [], "listen": [],
                   "outgoing_pools": []}
        t.update({
            ("mongoose_config", "get_opt"): lambda a: get_opt[a[0].name],
            ("mongoose_config", "lookup_opt"): overrides.pop(
                "lookup_opt", (A("error"), A("not_found"))),
            ("mongoose_config", "get_config_path"): "/etc/mongooseim.toml",
            ("gen_mod", "loaded_modules_with_opts"): modules,
            ("mongoose_router", "get_all_domains"): [],
            ("mongoose_component", "dirty_get_all_components"): [],
            ("ejabberd_router", "dirty_get_all_components"): [],
        })
    else:
        t.update({
            ("ejabberd_config", "get_global_option"): lambda a: [b"localhost"],
            ("ejabberd_config", "get_global_option_or_default"): lambda a: [],
            ("ejabberd_config", "get_local_option"): lambda a: [],
            ("ejabberd_config", "get_local_option_or_default"): lambda a: a[1],
            ("ejabberd_config", "get_config_path"): "/etc/mongooseim.toml",
            ("ets", "select"): [(b"localhost", A("mod_vcard"), [])],
            ("ejabberd_router", "dirty_get_all_domains"): [],
        })
    assert not overrides, overrides
    t.update(extra or {})
    return t, loaded


def connection(era: str = "6.2", extra: dict[tuple[str, str], Any] | None = None,
               peer: str = "mim@h", **kw: Any) -> ScriptedConnection:
    table, loaded = scripted(era, extra, **kw)
    return ScriptedConnection(peer, table, loaded)


def collect(conn: ScriptedConnection, previous: dict[str, int] | None = None) -> Any:
    return asyncio.run(Collector(conn).collect(previous))  # type: ignore[arg-type]


@pytest.mark.parametrize("era", [e.name for e in ERAS])
def test_every_era_is_recognised_and_only_loaded_modules_are_called(era: str) -> None:
    conn = connection(era)
    report = collect(conn)  # a call outside the node's loaded modules raises NotLoadedCall
    assert report.era.name == era
    mods = [e.params for e in report.events if e.name == "module_with_opt"]
    expected_backend = "rdbms" if report.generation == "5.1+" else "mnesia"
    assert mods == [{"module": "mod_vcard", "backend": expected_backend}]
    assert report.waves == 3
    names = {e.name for e in report.events}
    assert ("xmpp_stanza_count" in names) == (era not in ("3.6", "6.4", "6.6"))
    assert ("domain_count" in names) == (era not in ("3.6", "3.7", "4.0.1"))
    assert ("http_api" in names) == (era in ("6.1", "6.2", "6.3", "6.4", "6.6"))


def test_a_reused_connection_takes_two_waves() -> None:
    conn = connection("6.2")

    async def twice() -> tuple[int, int]:
        first = await Collector(conn).collect()  # type: ignore[arg-type]
        second = await Collector(conn).collect()  # type: ignore[arg-type]
        return first.waves, second.waves

    assert asyncio.run(twice()) == (3, 2)


def test_nothing_of_another_era_is_ever_sent() -> None:
    for era in ERAS:
        conn = connection(era.name)
        collect(conn)
        sent_modules = {m for m, _, _ in conn.sent}
        if era.config_api == "mongoose_config":
            assert "ejabberd_config" not in sent_modules
        else:
            assert not sent_modules & {"mongoose_config", "mongoose_router", "mongoose_component"}


def test_a_node_that_does_not_answer_its_config_is_not_ready_not_foreign() -> None:
    conn = connection("6.2", {("mongoose_config", "get_opt"): CallTimeout("timeout")})
    with pytest.raises(NodeNotReady, match="still starting"):
        collect(conn)


def test_a_starting_node_with_its_config_module_not_loaded_is_not_ready() -> None:
    table, loaded = scripted("6.2")
    loaded.discard("mongoose_config")
    table[("erlang", "loaded")] = [A(m) for m in sorted(loaded)]
    with pytest.raises(NodeNotReady):
        collect(ScriptedConnection("mim@h", table, loaded))


def test_a_node_without_either_config_api_is_not_mongooseim() -> None:
    conn = ScriptedConnection("x@h", {
        ("erlang", "nodes"): [], ("erlang", "loaded"): [A("lists")],
        ("application", "get_key"): A("undefined"), ("application", "which_applications"): [],
        ("erlang", "statistics"): (1, 0)})
    with pytest.raises(NotMongooseIM, match="not a MongooseIM node"):
        collect(conn)
    assert {m for m, _, _ in conn.sent} <= {"erlang", "application"}


def test_custom_module_with_metrics_behaviour_is_never_called() -> None:
    for era in ("4.0.1", "6.2"):
        modules = {b"localhost": {A("mod_vcard"): {A("backend"): A("rdbms")},
                                  A("mod_acme_secret"): {A("backend"): A("rdbms")}}}
        attrs = {m: VCARD_ATTRS for m in ("mod_vcard", "mod_acme_secret")}
        extra = {("ets", "select"): [(b"localhost", A("mod_vcard"), []),
                                     (b"localhost", A("mod_acme_secret"), [])]}
        kw: dict[str, Any] = {"attributes": attrs,
                              "exported": {"mod_vcard": True, "mod_acme_secret": True}}
        if era == "6.2":
            kw["modules"] = modules
        conn = connection(era, extra, loaded_extra=("exometer", "mod_acme_secret"), **kw)
        collect(conn)
        assert "mod_acme_secret" not in {m for m, _, _ in conn.sent}


def test_a_configured_module_that_is_not_loaded_is_left_out_not_loaded() -> None:
    modules = {b"localhost": {A("mod_vcard"): {A("backend"): A("rdbms")},
                              A("mod_roster"): {A("backend"): A("rdbms")}}}
    conn = connection("6.2", modules=modules)
    report = collect(conn)
    assert any("not loaded" in w for w in report.warnings)
    inspected = {a[0] for m, f, a in conn.sent if f == "get_module_info"}
    assert A("mod_vcard") in inspected and A("mod_roster") not in inspected


def test_without_exometer_loaded_counts_are_zero_and_nothing_is_asked() -> None:
    conn = connection("6.2", loaded_extra=())
    report = collect(conn)
    assert report.stanza_totals == {t: 0 for t in report.stanza_totals or {}}
    assert not [1 for m, f, a in conn.sent if m == "exometer"]


@pytest.mark.parametrize("era,instrumentation,expected", [
    ("6.3", None, "v63"),
    ("6.4", {}, "none"),
    ("6.4", {A("prometheus"): {}}, "none"),
    ("6.4", {A("exometer"): {}}, "v64"),
    ("6.6", {A("prometheus"): {}, A("exometer"): {}}, "prometheus"),
    ("6.6", {A("exometer"): {}}, "v64"),
    ("6.6", {A("log"): {}}, "none"),
])
def test_stanza_source_follows_the_era_and_instrumentation(
        era: str, instrumentation: dict[A, Any] | None, expected: str) -> None:
    lookup = (A("ok"), instrumentation) if instrumentation is not None \
        else (A("error"), A("not_found"))

    def lookup_opt(args: tuple[Any, ...]) -> Any:
        return lookup if args[0] == A("instrumentation") else (A("error"), A("not_found"))

    prom = {("prometheus_counter", "values"): lambda a: [
        ([("connection_type", A("c2s")), ("host_type", b"localhost")], 4)]}
    conn = connection(era, prom, loaded_extra=("exometer", "prometheus_counter"),
                      lookup_opt=lookup_opt)
    report = collect(conn)
    assert report.stanza_source == expected
    totals = report.stanza_totals
    if expected == "none":
        assert totals is None
    else:
        assert totals == {t: (4 if expected == "prometheus" else 2) for t in totals}
    if expected == "v63":
        pattern = next(a[0] for m, f, a in conn.sent if m == "exometer")
        assert pattern == [A("_"), A("c2s_element_in"), A("message_count")]


def test_previous_totals_are_found_under_the_nodes_own_name() -> None:
    """--node mongooseim@localhost may reach a node that calls itself mongooseim@mim-1."""
    conn = connection("6.2", peer="mongooseim@mim-1")

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

    t, loaded = scripted("6.2", {
        ("mongoose_router", "get_all_domains"): [b"a.example", b"bad.example"],
        ("mongoose_component", "lookup_component"): lookup})
    report = collect(ScriptedConnection("mim@h", t, loaded))
    cluster = next(e for e in report.events if e.name == "cluster")
    assert cluster.params["component"] == 1
    assert report.waves == 4


def test_a_wave_is_one_request_and_one_failure_fails_only_itself() -> None:
    conn = connection("6.2", {("mongoose_cluster_id", "get_cached_cluster_id"):
                              BadRpc("x", (A("EXIT"), (A("case_clause"), [])))})
    report = collect(conn)
    assert len(conn.requests) == report.waves == 3
    assert report.client_id is None and report.events


def test_a_batch_that_fails_whole_is_asked_again_call_by_call() -> None:
    conn = connection("6.2")
    original = conn.evaluate

    def flaky(m: str, f: str, args: tuple[Any, ...]) -> Any:
        if (m, f) == ("lists", "zipwith") and args[0] == Export(A("erlang"), A("apply"), 2):
            raise BadRpc("undecodable", None)
        return original(m, f, args)

    conn.evaluate = flaky  # type: ignore[method-assign]
    report = collect(conn)
    assert [e.params for e in report.events if e.name == "module_with_opt"] == [
        {"module": "mod_vcard", "backend": "rdbms"}]


def test_a_wave_shares_one_deadline_and_says_the_call_timeout() -> None:
    """20 calls that never answer fail together after one call timeout, not 20 of them, and the
    message names the timeout (not the 0 s left of the wave's deadline)."""

    class Silent(ScriptedConnection):
        def send_call(self, m: Any, f: Any, args: Any) -> asyncio.Future[Any]:
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
    assert len(out) == 20
    assert all(v.message == "erlang:nodes/0 on mim@h did not answer within 0.05 s"
               for v in out.values())


# Each reply of a 6.2 node replaced, one at a time, by an arbitrary term.
terms = st.recursive(
    st.one_of(st.integers(min_value=-(10**5000), max_value=10**5000), st.binary(max_size=8),
              st.text(max_size=6), st.builds(A, st.sampled_from(["ok", "x", "undefined"])),
              st.lists(st.integers(min_value=-3, max_value=0x110005), max_size=4),
              st.none()),
    lambda c: st.one_of(st.lists(c, max_size=3), st.tuples(c, c),
                        st.dictionaries(st.binary(max_size=3), c, max_size=2)),
    max_leaves=8)
CALLS = [("erlang", "statistics"), ("erlang", "nodes"), ("application", "which_applications"),
         ("mongoose_cluster_id", "get_cached_cluster_id"), ("mongoose_domain_core",
                                                             "domains_count"),
         ("mongoose_config", "get_opt"), ("mongoose_config", "get_config_path"),
         ("gen_mod", "loaded_modules_with_opts"), ("mongoose_router", "get_all_domains"),
         ("erlang", "get_module_info"), ("erlang", "function_exported"),
         ("exometer", "get_values")]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CALLS), terms)
def test_an_odd_reply_is_a_failed_read_never_a_crash(call: tuple[str, str], term: Any) -> None:
    """Issue 10: int(wall_clock[0]) of an atom or an empty tuple killed the service."""
    conn = connection("6.2", {call: lambda a: term})
    try:
        report = collect(conn)
    except NodeNotReady:
        return
    assert all(isinstance(v, (str, int)) for e in report.events for v in e.params.values())
