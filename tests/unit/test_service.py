"""The report loop on a fake clock, with a fake collector and a GA4 sender on a fake HTTP session.

The fakes sit at layer boundaries only: the collector (what the cluster returns), the clock, and
the sender's HTTP session. Everything between them (reporter, anonymity gate, report file, spool,
stanza state) is the real code.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from mim_bridge.app.service import Service, _startup, _supervise
from mim_bridge.collect import ClusterReport, InVmService, NodeReport
from mim_bridge.collect.eras import ERAS, era_of_version
from mim_bridge.config import Config, load
from mim_bridge.erldist import ConnectionLost, CookieMismatch
from mim_bridge.erldist.pool import NodePool
from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, Ga4Sender
from mim_bridge.pipeline.reporter import Reporter
from mim_bridge.pipeline.totals import FILENAME, StanzaState
from mim_bridge.report import gate, read_report
from mim_bridge.vocab.durations import format_duration
from mim_bridge.vocab.events import Event
from support.aio import aio

CID = "5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1"
A, B = "mim1@localhost", "mim2@localhost"


def node_report(node: str, *, total: int = 0, uptime: str = "0000-01:00:00",
                version: str = "6.2.1", service: InVmService | None = None,
                members: list[str] | None = None) -> NodeReport:
    events = [
        Event("host_count", {"value": 1}),
        Event("cluster", {"uptime": uptime, "version": version, "component": 0,
                          "node_number": 1, "config_type": "toml"}),
        Event("xmpp_stanza_count", {"stanza_type": "xmppMessageSent", "total": total,
                                    "increment": total}),
    ]
    return NodeReport(node=node, client_id=CID, version=version,
                      era=era_of_version(version) or ERAS[-1],
                      events=events, stanza_totals={"xmppMessageSent": total},
                      members=members or [], service=service or InVmService(False, False, None),
                      waves=2, calls=10)


class FakeClock:
    """Virtual monotonic time; waiting jumps ahead; past *horizon* the service is stopped."""

    def __init__(self, horizon: float) -> None:
        self.t = 1000.0
        self.horizon = horizon

    def now(self) -> float:
        return self.t

    async def sleep_until(self, deadline: float, stop: asyncio.Event) -> None:
        if deadline > self.horizon:
            stop.set()
            return
        self.t = max(self.t, deadline)
        await asyncio.sleep(0)


@dataclass
class FakeCollector:
    """Returns scripted cluster reports (or raises) and records when and with what it ran."""

    clock: FakeClock
    script: list[Any]
    calls: list[tuple[float, dict[str, dict[str, int]]]] = field(default_factory=list)
    duration: dict[int, float] = field(default_factory=dict)  # call index -> virtual seconds

    async def __call__(self, get_connection: Any, seeds: list[str],
                       previous: Mapping[str, Mapping[str, int]], *, discover: bool,
                       call_timeout: float, concurrency: int) -> ClusterReport:
        index = len(self.calls)
        self.calls.append((self.clock.t, {k: dict(v) for k, v in previous.items()}))
        self.clock.t += self.duration.get(index, 0.0)
        item = self.script[min(index, len(self.script) - 1)]
        if isinstance(item, BaseException):
            raise item
        return ClusterReport(CID, [_with_increments(r, previous.get(r.node)) for r in item])


def _with_increments(report: NodeReport, previous: Mapping[str, int] | None) -> NodeReport:
    """What the real collector does with ``previous``: increment = total - previous total."""
    events = []
    for e in report.events:
        if e.name == "xmpp_stanza_count" and previous:
            p = dict(e.params)
            p["increment"] = int(p["total"]) - previous.get(str(p["stanza_type"]), 0)
            e = Event(e.name, p)
        events.append(e)
    return replace(report, events=events)


@dataclass
class Resp:
    status_code: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def json(self) -> Any:
        return {}

    def close(self) -> None:
        pass


@dataclass
class FakeSession:
    """GA4 as seen by the sender: records bodies; raises while *down*."""

    down: bool = False
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post(self, url: str, *, data: bytes, headers: Mapping[str, str],
             timeout: tuple[float, float]) -> Resp:
        if self.down:
            raise requests.ConnectionError("down")
        self.bodies.append((url, json.loads(data)))
        return Resp()

    def events(self) -> list[dict[str, Any]]:
        return [e for _, b in self.bodies for e in b["events"]]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("HOME", str(tmp_path))
    return load({"node": [A], "cookie": "c", "initial_report": "5s", "periodic_report": "10s",
                 "state_dir": str(tmp_path / "state"), "report_file": str(tmp_path / "r.json"),
                 "report": "true"}, {"HOME": str(tmp_path)})


def make(config: Config, script: list[Any], horizon: float = 1040.0,
         session: FakeSession | None = None) -> tuple[Service, FakeCollector, FakeSession]:
    clock = FakeClock(horizon)
    collector = FakeCollector(clock, script)
    session = session or FakeSession()
    sender = Ga4Sender("http://127.0.0.1:9/mp/collect", config.destinations,
                       config.state_dir / "spool", total_retry_seconds=0.2,
                       initial_backoff=0.01, session=session, gate=gate)
    reporter = Reporter(config, NodePool(_no_dial), StanzaState(config.state_dir / FILENAME),
                        collect=collector)
    return Service(config, reporter, sender, clock), collector, session


async def _no_dial(node: str) -> Any:
    raise AssertionError("the fake collector never dials")


def times(collector: FakeCollector) -> list[float]:
    return [t for t, _ in collector.calls]


@aio
async def test_reports_follow_the_grid(config: Config) -> None:
    service, collector, session = make(config, [[node_report(A)]])
    assert await service.run() == 0
    assert times(collector) == [1005, 1015, 1025, 1035]
    assert len(session.bodies) == 4
    assert {b["client_id"] for _, b in session.bodies} == {CID}


@aio
async def test_a_slow_report_skips_slots_but_never_shifts_the_grid(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    service, collector, _ = make(config, [[node_report(A)]], horizon=1070)
    collector.duration[1] = 25.0  # report 2 runs from 1015 to 1040
    await service.run()
    assert times(collector) == [1005, 1015, 1045, 1055, 1065]
    assert "skipping 2 slot(s)" in caplog.text


@aio
async def test_a_failed_collection_is_retried_with_backoff_not_at_the_next_slot(
        config: Config) -> None:
    script = [[node_report(A, total=5)], ConnectionLost("gone"), ConnectionLost("still gone"),
              [node_report(A, total=9)], [node_report(A, total=12)]]
    service, collector, session = make(config, script, horizon=1030)
    await service.run()
    # report 2 fails at 1015, is retried 1 s then 2 s later; report 3 keeps its slot
    assert times(collector) == [1005, 1015, 1016, 1018, 1025]
    # the failed attempts changed nothing: the retry increments from the first one's totals
    assert collector.calls[3][1] == {A: {"xmppMessageSent": 5}}
    stanza = [e for e in session.events() if e["name"] == "xmpp_stanza_count"]
    assert [e["params"]["increment"] for e in stanza] == [5, 4, 3]


@aio
async def test_retries_end_before_the_next_slot_and_never_shift_the_grid(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    script = [[node_report(A)], ConnectionLost("gone")]
    service, collector, session = make(config, script, horizon=1040)
    with caplog.at_level(logging.INFO):
        await service.run()
    # slots at 1015, 1025, 1035 (never moved); 1 s, 2 s, 4 s retries, none at or past a slot
    assert times(collector) == [1005, 1015, 1016, 1018, 1022, 1025, 1026, 1028, 1032, 1035,
                                1036, 1038]
    assert len(session.bodies) == 1
    assert "retrying in 4s" in caplog.text and "the next report retries" in caplog.text
    assert "skipping" not in caplog.text
    failed = [r for r in caplog.records if "could not collect" in r.getMessage()]
    assert len(failed) == 11  # every attempt is logged, but a warning once per report only
    assert [r.levelno for r in failed].count(logging.WARNING) == 3


@aio
async def test_a_cookie_error_waits_for_the_next_slot_instead_of_retrying(
        config: Config) -> None:
    script = [[node_report(A)], CookieMismatch("wrong cookie"), [node_report(A)]]
    service, collector, _ = make(config, script, horizon=1030)
    await service.run()
    # each retry would be one more rejected handshake logged on the node
    assert times(collector) == [1005, 1015, 1025]


@aio
async def test_backoff_is_capped_at_a_minute(config: Config) -> None:
    config = replace(config, periodic_report=600.0)
    service, collector, _ = make(config, [[node_report(A)], ConnectionLost("gone")],
                                 horizon=1005 + 2 * 600 + 0.5)
    await service.run()
    at = times(collector)
    assert at[:2] == [1005, 1605] and at[-1] == 2205  # the slots, on time
    retries = [t for t in at if 1605 < t < 2205]
    gaps = [b - a for a, b in itertools.pairwise([1605, *retries])]
    assert gaps[:7] == [1, 2, 4, 8, 16, 32, 60] and set(gaps[6:]) == {60}
    assert retries[-1] + 60 >= 2205  # the last retry that still fit before the next slot


@aio
async def test_an_unwritable_report_file_is_logged_and_the_report_still_sent(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    config.report_file.mkdir()
    service, collector, session = make(config, [[node_report(A)]], horizon=1010)
    await service.run()
    assert len(collector.calls) == 1  # not a collection failure: not retried
    assert len(session.bodies) == 1
    assert f"cannot write the report file {config.report_file}" in caplog.text
    assert "sending anyway" in caplog.text


@aio
async def test_previous_totals_survive_a_bridge_restart(config: Config) -> None:
    service, collector, _ = make(config, [[node_report(A, total=7)]], horizon=1010)
    await service.run()
    saved = json.loads((config.state_dir / FILENAME).read_text())
    assert saved["nodes"][A]["totals"] == {"xmppMessageSent": 7}
    service, collector, _ = make(config, [[node_report(A, total=8)]], horizon=1010)
    await service.run()
    assert collector.calls[0][1] == {A: {"xmppMessageSent": 7}}


@aio
async def test_a_node_restart_starts_increments_over(config: Config) -> None:
    script = [[node_report(A, total=10, uptime="0000-02:00:00")],
              [node_report(A, total=3, uptime="0000-00:00:30")]]
    service, _, session = make(config, script, horizon=1020)
    await service.run()
    stanza = [e["params"] for e in session.events() if e["name"] == "xmpp_stanza_count"]
    assert [(p["total"], p["increment"]) for p in stanza] == [(10, 10), (3, 3)]


@aio
async def test_report_file_holds_every_node_and_matches_what_was_sent(config: Config) -> None:
    service, _, session = make(config, [[node_report(A, total=1), node_report(B, total=2)]],
                               horizon=1010)
    await service.run()
    written = [e.to_json() for e in read_report(config.report_file)]
    assert written == session.events()
    assert len(session.bodies) == 2  # one request per node, like one reporter per node
    assert all(MONGOOSEIM_PRODUCTION.measurement_id in url for url, _ in session.bodies)


@aio
async def test_nodes_own_report_false_is_honoured(config: Config,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    opted_out = node_report(A, service=InVmService(True, False, False))
    service, collector, session = make(config, [[opted_out]])
    assert await service.run() == 0
    assert len(collector.calls) == 1 and session.bodies == []
    assert "report = false" in caplog.text
    assert not config.report_file.exists()


@pytest.mark.parametrize(("version", "allow", "reported"), [
    ("6.2.1", False, False), ("6.2.1", True, True), ("5.1.0", False, True),
    ("6.1.0", False, False), ("4.2.0", False, True),
])
@aio
async def test_no_double_report_of_a_node_whose_own_service_sends_to_ga4(
        config: Config, caplog: pytest.LogCaptureFixture, version: str, allow: bool,
        reported: bool) -> None:
    config = replace(config, allow_double_report=allow)
    running = node_report(A, version=version, service=InVmService(True, True, None))
    service, collector, session = make(config, [[running]], horizon=1020)
    with caplog.at_level(logging.INFO):
        await service.run()
    assert len(collector.calls) == 2
    assert bool(session.bodies) is reported
    if not reported:
        assert caplog.text.count("--allow-double-report") == 1  # said once, not every report


def test_ga4_era_detection() -> None:
    assert all(era_of_version(v).service_sends_to_ga4  # type: ignore[union-attr]
               for v in ("6.1.0", "6.8.0-12-gabc"))
    assert not any(era_of_version(v).service_sends_to_ga4  # type: ignore[union-attr]
                   for v in ("6.0.0", "3.7.1"))


@aio
async def test_ga4_down_keeps_reports_in_the_spool_until_it_is_back(config: Config) -> None:
    session = FakeSession(down=True)
    script = [[node_report(A, total=1)], [node_report(A, total=2)], [node_report(A, total=3)]]
    service, _, _ = make(config, script, horizon=1020, session=session)
    await service.run()
    assert session.bodies == [] and len(list((config.state_dir / "spool").glob("*.json"))) == 2
    session.down = False
    service, _, _ = make(config, script[2:], horizon=1010, session=session)
    await service.run()
    totals = [e["params"]["total"] for e in session.events() if e["name"] == "xmpp_stanza_count"]
    assert totals == [1, 2, 3]  # oldest first, none lost


@aio
async def test_stop_interrupts_the_wait(config: Config) -> None:
    from mim_bridge.app.service import MonotonicClock
    service, _, _ = make(config, [[node_report(A)]])
    service.clock = MonotonicClock()
    asyncio.get_running_loop().call_later(0.05, service.request_stop)
    assert await asyncio.wait_for(service.run(), 2) == 0


@aio
async def test_sigterm_abandons_a_stuck_step_within_the_shutdown_timeout(
        config: Config, tmp_path: Path) -> None:
    from mim_bridge.app.service import MonotonicClock
    config = replace(config, initial_report=0.0, shutdown_timeout=0.2)
    service, _collector, _ = make(config, [[node_report(A)]])
    service.clock = MonotonicClock()
    hang = asyncio.Event()

    async def stuck(*args: Any, **kw: Any) -> ClusterReport:
        await hang.wait()
        raise AssertionError("never released")

    service.reporter._collect = stuck
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
    started = loop.time()
    assert await asyncio.wait_for(_supervise(service, service.run()), 3) == 0
    assert loop.time() - started < 1.5
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


@aio
async def test_startup_stops_on_errors_retrying_cannot_fix(config: Config) -> None:
    service, _, _ = make(config, [CookieMismatch("wrong cookie")])
    with pytest.raises(CookieMismatch):
        await _startup(service)


@aio
async def test_startup_keeps_running_when_the_node_is_not_up_yet(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    service, _collector, session = make(config, [ConnectionLost("not yet"), [node_report(A)]],
                                       horizon=1010)
    assert await _startup(service) == 0
    assert "the reports will retry" in caplog.text
    assert len(session.bodies) == 1


@pytest.mark.parametrize(("seconds", "text"), [(0.2, "200ms"), (300, "5m"), (10800, "3h"),
                                               (90, "90s"), (86400, "1d")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("version", "shown"), [("6.2.1-7-gabc1234-acme.corp", "6.2.1"),
                                                ("4.2.0-secret-host", "4.2.0"),
                                                ("acme-build", "unknown")])
@aio
async def test_logs_show_only_a_safe_version(config: Config, caplog: pytest.LogCaptureFixture,
                                             version: str, shown: str) -> None:
    running = node_report(A, version=version, service=InVmService(True, True, None))
    service, _, _ = make(config, [[running]], horizon=1010)
    with caplog.at_level(logging.DEBUG):
        await service.run()
    assert f"(MongooseIM {shown})" in caplog.text
    assert "acme" not in caplog.text and "secret" not in caplog.text


# ------------------------------------------------------------------ nothing kills the service

class OddReply(Exception):
    """Stands for anything a collector or a library may throw that nobody foresaw."""


@pytest.mark.parametrize("error", [OddReply("a well-formed but odd reply"), KeyError("x"),
                                   TypeError("'NoneType' object is not subscriptable"),
                                   MemoryError()])
@aio
async def test_an_unexpected_error_is_one_line_counted_and_the_next_slot_runs(
        config: Config, caplog: pytest.LogCaptureFixture, error: BaseException) -> None:
    script = [[node_report(A, total=1)], error, [node_report(A, total=3)]]
    service, collector, session = make(config, script, horizon=1030)
    assert await service.run() == 0
    assert times(collector) == [1005, 1015, 1025]  # no retry storm: the next slot, on time
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert errors[0].getMessage().startswith(f"report 2: unexpected error: {type(error).__name__}")
    assert "-v shows the traceback" in errors[0].getMessage()
    reports = service.monitor.reports
    assert reports["internal_error"] == 1
    # both other reports went to the sender (sent, or spooled if a loaded machine ate the
    # sender's 0.2 s budget)
    assert reports["sent"] + reports["spooled"] == 2 and len(session.bodies) <= 2


@aio
async def test_with_v_the_unexpected_error_carries_its_traceback(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    config = replace(config, verbosity=1)
    service, _, _ = make(config, [OddReply("odd"), [node_report(A)]], horizon=1020)
    await service.run()
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.exc_info is not None and error.exc_info[0] is OddReply


@aio
async def test_an_error_while_sending_does_not_end_the_loop(config: Config) -> None:
    service, collector, _ = make(config, [[node_report(A)]], horizon=1030)
    real_send = service.reporter.send
    calls = 0

    async def flaky(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the sender blew up")
        return await real_send(*args, **kw)

    service.reporter.send = flaky  # type: ignore[method-assign]
    assert await service.run() == 0
    assert len(collector.calls) == 3 and service.monitor.reports["internal_error"] == 1


@aio
async def test_startup_survives_an_unexpected_error_of_the_first_look(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    service, _, session = make(config, [OddReply("odd"), [node_report(A)]], horizon=1010)
    assert await _startup(service) == 0
    assert "the first look at the cluster failed with an unexpected error: OddReply" in \
        caplog.text
    assert len(session.bodies) == 1


# ------------------------------------------------------------------ opting out keeps it up

@aio
async def test_every_node_opted_out_idles_instead_of_exiting(
        config: Config, caplog: pytest.LogCaptureFixture) -> None:
    from mim_bridge.app.service import MonotonicClock
    opted_out = node_report(A, service=InVmService(True, False, False))
    service, collector, session = make(config, [[opted_out]])
    service.clock = MonotonicClock()
    config_fast = replace(config, initial_report=0.0)
    service.config = config_fast
    caplog.set_level(logging.INFO)
    task = asyncio.ensure_future(service.run())
    await asyncio.sleep(0.3)
    assert not task.done()  # idle, not gone: no restart loop under a supervisor
    assert service.monitor.state == "disabled"
    assert service.monitor.verdict().ready
    assert "every node has report = false" in caplog.text
    assert len(collector.calls) == 1 and session.bodies == []
    service.request_stop()
    assert await asyncio.wait_for(task, 2) == 0


@aio
async def test_the_monitor_follows_the_reports(config: Config) -> None:
    script = [[node_report(A)], ConnectionLost("gone"), [node_report(A), node_report(B)]]
    service, _, _ = make(config, script, horizon=1020)
    await service.run()
    m = service.monitor
    assert m.reports["sent"] + m.reports["spooled"] == 2 and m.reports["not_collected"] == 1
    assert m.failures == {"unreachable": 1}
    assert m.nodes_reached == 2 and m.node_reachable is True
    assert m.collection.count == 2 and m.sending.count == 2


@pytest.mark.parametrize(("error", "kind"), [
    (ConnectionLost("gone"), "unreachable"), (ConnectionResetError(104, "reset"), "unreachable"),
    (CookieMismatch("wrong"), "auth"), (OddReply("odd"), "internal"),
])
def test_error_kinds_are_a_closed_set(error: BaseException, kind: str) -> None:
    from mim_bridge.app.health.status import FAILURE_KINDS
    from mim_bridge.app.service import error_kind
    assert error_kind(error) == kind and kind in FAILURE_KINDS
