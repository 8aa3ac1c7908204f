"""``--check`` in-process: EPMD and the node are scripted, every step and exit status is real.

The seams are EPMD's answer, the distribution connection (a scripted one answering the calls
the check makes) and the collection (a prepared report): what ``--check`` prints and returns on
top of them is the real code.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from mim_bridge.app import check
from mim_bridge.collect import InVmService, NodeReport
from mim_bridge.collect.eras import ERAS
from mim_bridge.config import Config, load
from mim_bridge.erldist import Atom as A
from mim_bridge.erldist.epmd import NodeInfo
from mim_bridge.erldist.pool import NodePool
from mim_bridge.errors import ExitCode
from mim_bridge.pipeline.reporter import OutgoingReport, Reporter
from mim_bridge.report import ClientId
from mim_bridge.vocab.events import Event
from support.scripted import ScriptedConnection

NODE = "mim1@localhost"
BRIDGE = "mim_bridge_0123456789ab@localhost"
RAW_VERSION = "6.2.1-7-gabc1234-acme-corp.internal"  # a free-form suffix may name a host
EVENTS = (Event("host_count", {"value": 1}),
          Event("cluster", {"version": "6.2.1", "node_number": 1, "uptime": "0000-01:00:00"}))


def ga4_map(event: Event) -> dict[A, Any]:
    """An event as MongooseIM 6.1+'s collector returns it."""
    return {A("name"): A(event.name),
            A("params"): {A(k): v.encode() if isinstance(v, str) else v
                          for k, v in event.params.items()}}


def node_table(*, hidden: bool = True, collector: tuple[Event, ...] | None = EVENTS,
               prometheus: bool = True) -> dict[tuple[str, str], Any]:
    me = [A(BRIDGE)]
    instrumentation = {A("prometheus"): {}} if prometheus else {A("exometer"): {}}
    del instrumentation
    return {
        ("erlang", "nodes"): lambda args: me if args or not hidden else [],
        ("mongoose_system_metrics_collector", "collect"):
            lambda args: [ga4_map(e) for e in collector or []],
    }


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load({"node": [NODE], "cookie": "c", "state_dir": str(tmp_path / "state"),
                 "report_file": str(tmp_path / "r.json"), "report": "true",
                 "ga_url": "http://127.0.0.1:9/mp/collect"},
                {"HOME": str(tmp_path)}, mode="check")


def run(config: Config, monkeypatch: pytest.MonkeyPatch, table: dict[tuple[str, str], Any],
        reported: tuple[Event, ...] = EVENTS, *, collector_loaded: bool = True,
        stanza_source: str = "prometheus") -> tuple[int, str, ScriptedConnection]:
    conn = ScriptedConnection(NODE, table, own_name=BRIDGE)

    async def lookup(*args: Any) -> NodeInfo:
        return NodeInfo(port=4370, hidden=False, protocol=0, highest_version=6,
                        lowest_version=5, name="mim1", extra=b"")

    async def dial(node: str) -> Any:
        return conn

    async def prepared(self: Reporter, **kw: Any) -> OutgoingReport:
        report = NodeReport(node=NODE, client_id=None, version=RAW_VERSION, era=ERAS[-1],
                            events=list(reported), stanza_totals=None, members=[],
                            service=InVmService(False, False, None), waves=2, calls=10,
                            loaded=frozenset({"mongoose_system_metrics_collector"}
                                             if collector_loaded else ()),
                            stanza_source=stanza_source)
        return OutgoingReport(ClientId("5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1", "new"),
                        [(NODE, reported)], {}, collected=[report])

    def pool(config: Config) -> NodePool:
        return NodePool(dial)

    monkeypatch.setattr(check.epmd, "lookup", lookup)
    monkeypatch.setattr(check, "build_pool", pool)
    monkeypatch.setattr(Reporter, "collect", prepared)
    out = io.StringIO()
    code = asyncio.run(check.run_check(config, out))
    return code, out.getvalue(), conn


def line(output: str, step: str) -> str:
    return next(x for x in output.splitlines() if step in x)


def test_a_healthy_node_passes_and_matches_its_own_collector(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, conn = run(config, monkeypatch, node_table())
    assert code == 0, out
    assert line(out, "sees the bridge as hidden").startswith("ok ")
    compared = line(out, "cross-check: ")
    assert compared.startswith("ok ") and "matches" in compared
    # 6.6+ with prometheus counters: the collector is asked with the prometheus backend
    assert ("mongoose_system_metrics_collector", "collect", ([], A("prometheus"))) in conn.sent


def test_the_stanza_backend_is_exometer_unless_the_node_uses_prometheus(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, conn = run(config, monkeypatch, node_table(prometheus=False), stanza_source="v64")
    assert ("mongoose_system_metrics_collector", "collect", ([], A("exometer"))) in conn.sent


def test_every_call_of_the_check_is_on_the_read_only_allowlist(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from mim_bridge.collect import ALLOWED
    _, _, conn = run(config, monkeypatch, node_table())
    assert {(m, f, len(a)) for m, f, a in conn.sent} <= ALLOWED


def test_a_bridge_that_is_not_hidden_fails_the_check(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(config, monkeypatch, node_table(hidden=False))
    assert code == ExitCode.INTERNAL
    assert line(out, "sees the bridge as hidden").startswith("FAIL ")
    assert "appears in nodes()" in out
    assert "GA4 endpoint" in out  # the other steps still ran


def test_a_difference_from_the_nodes_own_collector_is_a_warning_only(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = (*EVENTS, Event("domain_count", {"value": 3}))
    code, out, _ = run(config, monkeypatch, node_table(collector=theirs))
    assert code == 0
    compared = line(out, "cross-check: ")
    assert compared.startswith("warn ") and "only in the node's: domain_count" in compared


def test_a_node_without_its_own_collector_is_informational(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, conn = run(config, monkeypatch, node_table(collector=None),
                          collector_loaded=False)
    assert code == 0
    compared = line(out, "cross-check: ")
    assert compared.startswith("info ") and "has not run on this node" in compared
    assert not [c for c in conn.sent if c[0] == "mongoose_system_metrics_collector"]


def test_the_raw_version_is_never_printed(config: Config,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(config, monkeypatch, node_table())
    assert "version 6.2.1," in line(out, f"{NODE} MongooseIM")
    assert "acme" not in out
