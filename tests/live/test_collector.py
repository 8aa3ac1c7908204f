"""The collector against real stand-in VMs of every MongooseIM era, as releases run them.

Expected reports are written by hand (tests/data/expected/<profile>.json, see erlang/README.md),
not produced by the code under test. Uptime varies, so it is checked for shape only. The
stand-ins run in interactive code mode with a release-sized code path, so a call into a module
the node lacks would make the code server search every directory (visible in
``mim_standin:code_server_reductions()`` on OTP 25) and a call into a module that is not loaded
yet would load it (visible in ``erlang:loaded()``): the collector must do neither.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import launcher
from mim_bridge.collect import Collector, NotMongooseIM, collect_cluster
from mim_bridge.collect.crosscheck import collect_call, compare
from mim_bridge.erldist import Atom, connect

pytestmark = pytest.mark.live

EXPECTED = Path(__file__).resolve().parent.parent / "data" / "expected"
PROFILES = sorted(p.stem for p in EXPECTED.glob("*.json"))
# OTP 28 caches the code path (a missing module is cheap there); a subset of eras runs on it.
OTP28_PROFILES = ["v3_6", "v5_0", "small", "v6_4", "v6_8"]
CASES = [(p, "25") for p in PROFILES] + [(p, "28") for p in OTP28_PROFILES
                                         if "28" in launcher.runtimes()]
COOKIE = "collector-test"


@pytest.fixture(scope="module")
def epmd() -> Iterator[launcher.Epmd]:
    with launcher.Epmd() as e:
        yield e


def _expected(profile: str) -> list[dict[str, Any]]:
    return json.loads((EXPECTED / f"{profile}.json").read_text())  # type: ignore[no-any-return]


def _normalise(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        params = dict(e["params"])
        if e["name"] == "cluster" and "uptime" in params:
            assert re.fullmatch(r"\d{4}-\d{2}:\d{2}:\d{2}", str(params["uptime"])) or \
                params["uptime"] == "<uptime>"
            params["uptime"] = "<uptime>"
        out.append({"name": e["name"], "params": params})
    return out


async def _loaded(conn: Any) -> set[str]:
    return {a.name for a in await conn.rpc("erlang", "loaded", [])}


async def _report_leaving_no_trace(node: str, port: int) -> tuple[Any, Any, dict[str, Any]]:
    """Collect twice on one connection (cold, then reused); measure what the node did."""
    conn = await connect(node, COOKIE, epmd_port=port)
    try:
        loaded0 = await _loaded(conn)
        code0 = await conn.rpc("mim_standin", "code_server_reductions", [])
        procs0 = await conn.rpc("erlang", "system_info", [Atom("process_count")])
        ets0 = len(await conn.rpc("ets", "all", []))
        cold = await Collector(conn).collect()
        warm = await Collector(conn).collect(cold.stanza_totals)
        await asyncio.sleep(0.05)  # rex's workers exit after replying
        trace = {
            "loaded": await _loaded(conn) - loaded0,
            "code_server": await conn.rpc("mim_standin", "code_server_reductions", []) - code0,
            "processes": await conn.rpc("erlang", "system_info", [Atom("process_count")])
            - procs0,
            "ets": len(await conn.rpc("ets", "all", [])) - ets0,
        }
        # MongooseIM's own collector of the era, called as its service calls it (this loads
        # it: a test may, the bridge may not).
        call = collect_call(cold.era, cold.stanza_source)
        trace["own"] = compare(await conn.rpc(call.module, call.function, list(call.args)),
                               cold.events)
        return cold, warm, trace
    finally:
        await conn.close()


@pytest.mark.parametrize("profile,otp", CASES)
def test_every_era_is_reported_exactly_and_leaves_no_trace(profile: str, otp: str,
                                                          epmd: launcher.Epmd) -> None:
    with launcher.StandIn(profile, cookie=COOKIE, otp=otp, epmd_port=epmd.port) as node:
        cold, warm, trace = asyncio.run(_report_leaving_no_trace(node.name, epmd.port))
    assert _normalise([e.to_json() for e in cold.events]) == _normalise(_expected(profile))
    assert cold.warnings == []
    # three round trips on a new connection, two on a reused one, whatever the era
    assert (cold.waves, warm.waves) == (3, 2)
    # nothing loaded, no code-path search (OTP 25 has no path cache), nothing left behind
    assert trace["loaded"] == set()
    if otp == "25":
        assert trace["code_server"] == 0
    assert trace["processes"] <= 0 and trace["ets"] <= 0
    # the same report as MongooseIM's own collector of that era
    assert trace["own"].matches, trace["own"].summary()


@pytest.mark.parametrize("otp", sorted(launcher.runtimes()))
def test_increments_follow_traffic_between_two_collections(otp: str,
                                                           epmd: launcher.Epmd) -> None:
    async def scenario(node: str) -> tuple[Any, Any]:
        conn = await connect(node, COOKIE, epmd_port=epmd.port)
        try:
            first = await Collector(conn).collect()
            await conn.rpc("mim_standin", "add_stanzas", [Atom("xmppMessageSent"), 5])
            await conn.rpc("mim_standin", "add_stanzas", [Atom("all"), 2])
            second = await Collector(conn).collect(first.stanza_totals)
            return first, second
        finally:
            await conn.close()

    with launcher.StandIn("small", cookie=COOKIE, otp=otp, epmd_port=epmd.port) as node:
        first, second = asyncio.run(scenario(node.name))
    before = {e.params["stanza_type"]: e.params for e in first.events
              if e.name == "xmpp_stanza_count"}
    after = {e.params["stanza_type"]: e.params for e in second.events
             if e.name == "xmpp_stanza_count"}
    assert after["xmppMessageSent"]["total"] == before["xmppMessageSent"]["total"] + 7
    assert after["xmppMessageSent"]["increment"] == 7
    assert after["xmppIqReceived"]["increment"] == 2


@pytest.mark.parametrize("otp", sorted(launcher.runtimes()))
def test_not_mongooseim_node_is_named_as_such(otp: str, epmd: launcher.Epmd) -> None:
    async def run(node: str) -> None:
        conn = await connect(node, COOKIE, epmd_port=epmd.port)
        try:
            await Collector(conn).collect()
        finally:
            await conn.close()

    with (launcher.StandIn("not_mim", cookie=COOKIE, otp=otp, epmd_port=epmd.port) as node,
          pytest.raises(NotMongooseIM, match="not a MongooseIM node")):
        asyncio.run(run(node.name))


def test_three_node_cluster_reports_every_node_under_one_client_id(
        epmd: launcher.Epmd) -> None:
    async def run(seed: str) -> Any:
        conns: dict[str, Any] = {}

        async def get(node: str) -> Any:
            if node not in conns:
                conns[node] = await connect(node, COOKIE, epmd_port=epmd.port)
            return conns[node]
        try:
            return await collect_cluster(get, [seed])
        finally:
            for c in conns.values():
                await c.close()

    otps = ["25", "28", "25"] if "28" in launcher.runtimes() else ["25"] * 3
    with launcher.StandInCluster("small", size=3, cookie=COOKIE, otp=otps,
                                 epmd_port=epmd.port) as cluster:
        names = [n.name for n in cluster.nodes]
        report = asyncio.run(run(names[0]))
    assert sorted(r.node for r in report.nodes) == sorted(names)
    assert report.client_id and {r.client_id for r in report.nodes} == {report.client_id}
    for r in report.nodes:
        cluster_event = next(e for e in r.events if e.name == "cluster")
        assert cluster_event.params["node_number"] == 3


async def _atoms(conn: Any) -> int:
    return int(await conn.rpc("erlang", "system_info", [Atom("atom_count")]))


@pytest.mark.parametrize("profile", ["small", "v4_2", "custom", "v6_8"])
def test_a_report_creates_no_atom_mongooseims_own_collector_does_not(
        profile: str, epmd: launcher.Epmd) -> None:
    """Reading a module's attributes decodes them, creating the atoms they name the first time
    anything reads them; MongooseIM's own collector reads the same ones on its first run. So on
    a node whose in-VM service has reported, a report costs no atom beyond the bridge's name;
    on one where nothing has run yet, the first report also creates some of the atoms the in-VM
    collector would (exactly those: they add up), and the next report none."""
    async def run(node: str, own_first: bool) -> tuple[int, int, int, int]:
        observer = await connect(node, COOKIE, epmd_port=epmd.port, name="observer_fixed")
        try:
            rel = await observer.rpc("application", "get_key",
                                     [Atom("mongooseim"), Atom("modules")])
            loaded = await observer.rpc("erlang", "loaded", [])
            from mim_bridge.collect.collector import _names, _release
            from mim_bridge.collect.eras import detect
            era = detect(_release(rel) or frozenset(), _names(loaded))
            assert era is not None
            call = collect_call(era, "v64" if profile == "v6_8" else "v37")  # v6_8: exometer

            async def own() -> int:
                a = await _atoms(observer)
                await observer.rpc(call.module, call.function, list(call.args))
                return await _atoms(observer) - a

            own_before = await own() if own_first else 0
            a0 = await _atoms(observer)
            bridge = await connect(node, COOKIE, epmd_port=epmd.port, name="bridge_fixed")
            try:
                await Collector(bridge).collect()
                a1 = await _atoms(observer)
                await Collector(bridge).collect()
            finally:
                await bridge.close()
            a2 = await _atoms(observer)
            own_after = 0 if own_first else await own()
            return own_before, a1 - a0, a2 - a1, own_after
        finally:
            await observer.close()

    fresh = {"service_running": "false"}  # its in-VM service has never reported
    with launcher.StandIn(profile, cookie=COOKIE, epmd_port=epmd.port,
                          overrides=fresh) as node:
        own_alone, first, again, _ = asyncio.run(run(node.name, own_first=True))
    assert (first, again) == (1, 0)  # the bridge's name, once
    with launcher.StandIn(profile, cookie=COOKIE, epmd_port=epmd.port,
                          overrides=fresh) as node:
        _, first, again, own_after = asyncio.run(run(node.name, own_first=False))
    assert again == 0
    assert first - 1 + own_after == own_alone  # the bridge's extra atoms are the collector's
