"""The collector against real stand-in VMs: every profile, OTP 25 and OTP 28.

Expected reports are written by hand (tests/data/expected/<profile>.json, see erlang/README.md),
not produced by the code under test. Uptime varies, so it is checked for shape only.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import launcher
import pytest

from mim_bridge.collect import Collector, NotMongooseIM, collect_cluster
from mim_bridge.erldist import Atom, connect

pytestmark = pytest.mark.live

EXPECTED = Path(__file__).resolve().parent.parent / "data" / "expected"
PROFILES = sorted(p.stem for p in EXPECTED.glob("*.json"))
OTPS = sorted(launcher.runtimes())
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
        if e["name"] == "cluster":
            assert re.fullmatch(r"\d{4}-\d{2}:\d{2}:\d{2}", str(params["uptime"])) or \
                params["uptime"] == "<uptime>"
            params["uptime"] = "<uptime>"
        out.append({"name": e["name"], "params": params})
    return out


async def _collect(node: str, port: int, previous: dict[str, int] | None = None) -> Any:
    conn = await connect(node, COOKIE, epmd_port=port)
    try:
        return await Collector(conn).collect(previous)
    finally:
        await conn.close()


@pytest.mark.parametrize("otp", OTPS)
@pytest.mark.parametrize("profile", PROFILES)
def test_report_equals_hand_written_expectation(profile: str, otp: str,
                                                epmd: launcher.Epmd) -> None:
    with launcher.StandIn(profile, cookie=COOKIE, otp=otp, epmd_port=epmd.port) as node:
        report = asyncio.run(_collect(node.name, epmd.port))
    got = _normalise([e.to_json() for e in report.events])
    assert got == _normalise(_expected(profile))
    # Pipelining: two round-trip waves for 5.1+, three for 3.6-5.0 (modules listed per host).
    assert report.waves == (3 if report.generation == "3.6-5.0" else 2)


@pytest.mark.parametrize("otp", OTPS)
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


@pytest.mark.parametrize("otp", OTPS)
def test_not_mongooseim_node_is_named_as_such(otp: str, epmd: launcher.Epmd) -> None:
    with launcher.StandIn("not_mim", cookie=COOKIE, otp=otp, epmd_port=epmd.port) as node:
        with pytest.raises(NotMongooseIM, match="not a MongooseIM node"):
            asyncio.run(_collect(node.name, epmd.port))


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

    with launcher.StandInCluster("small", size=3, cookie=COOKIE, otp=["25", "28", "25"],
                                 epmd_port=epmd.port) as cluster:
        names = [n.name for n in cluster.nodes]
        report = asyncio.run(run(names[0]))
    assert sorted(r.node for r in report.nodes) == sorted(names)
    assert report.client_id and {r.client_id for r in report.nodes} == {report.client_id}
    for r in report.nodes:
        cluster_event = next(e for e in r.events if e.name == "cluster")
        assert cluster_event.params["node_number"] == 3


@pytest.mark.parametrize("profile", PROFILES)
def test_bridge_matches_the_nodes_own_collector(profile: str, epmd: launcher.Epmd) -> None:
    """Fidelity: where the node has mongoose_system_metrics_collector, both reports agree."""
    from mim_bridge.collect import ReadOnlyNode, cross_check

    async def run(node: str) -> Any:
        conn = await connect(node, COOKIE, epmd_port=epmd.port)
        try:
            report = await Collector(conn).collect()
            backend = Atom("prometheus") if profile == "v6_6" else Atom("exometer")
            return await cross_check(ReadOnlyNode(conn), report.events, backend)
        finally:
            await conn.close()

    with launcher.StandIn(profile, cookie=COOKIE, epmd_port=epmd.port) as node:
        result = asyncio.run(run(node.name))
    assert result.available
    assert result.matches, result.summary()
