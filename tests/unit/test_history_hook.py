"""The service's reports land in the transparency log, with what GA4 answered.

The report loop of ``test_service`` (fake clock, fake collector, the real sender on a fake HTTP
session) with the log at its default place in the state directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path

import pytest
from test_service import CID, A, B, FakeSession, make, node_report

from mim_bridge.app.view.commands import run_local_command
from mim_bridge.config import Config, load
from mim_bridge.pipeline.history import FILENAME, History
from mim_bridge.report import read_report


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load({"node": [A], "cookie": "c", "initial_report": "5s", "periodic_report": "10s",
                 "state_dir": str(tmp_path / "state"), "report_file": str(tmp_path / "r.json"),
                 "report": "true"}, {"HOME": str(tmp_path)})


def log_of(config: Config) -> list[dict[str, object]]:
    return History(config.state_dir, config.history_size).read().entries


def test_every_report_of_the_service_is_logged(config: Config) -> None:
    script = [[node_report(A, total=5), node_report(B, total=1)],
              [node_report(A, total=9), node_report(B, total=4)]]
    service, _, session = make(config, script, horizon=1020)
    assert asyncio.run(service.run()) == 0
    entries = log_of(config)
    assert len(entries) == 2 == len(session.bodies) // 2
    last = entries[-1]
    assert last["client_id"] == CID and last["nodes"] == 2 and last["events"] == 6
    assert last["requests"] == 2
    assert last["destinations"] == {"G-B4S18X6KY5": {
        "delivered": 2, "rejected": 0, "pending": 0, "dropped": 0, "http": [204],
        "errors": []}}
    assert last["stanzas"] == {"xmppMessageSent": {"total": 13, "increment": 7}}
    # show finds the report file's report in the log
    out = io.StringIO()
    assert run_local_command("bridge", "show", [str(config.report_file), "--state-dir",
                                                str(config.state_dir)], out=out,
                             environ={}) == 0
    assert last["time"].replace("T", " ").replace("Z", " UTC") in out.getvalue()
    assert len(read_report(config.report_file)) == 6


def test_a_report_ga4_did_not_take_is_logged_as_waiting(config: Config) -> None:
    service, _, _ = make(config, [[node_report(A)]], horizon=1010,
                         session=FakeSession(down=True))
    asyncio.run(service.run())
    [entry] = log_of(config)
    assert entry["destinations"] == {"G-B4S18X6KY5": {
        "delivered": 0, "rejected": 0, "pending": 1, "dropped": 0, "http": [],
        "errors": ["connection"]}}
    assert entry["waiting"] == 1


def test_no_history_keeps_no_log(config: Config) -> None:
    service, _, session = make(dataclasses.replace(config, history=False), [[node_report(A)]],
                               horizon=1010)
    asyncio.run(service.run())
    assert session.bodies and not (config.state_dir / FILENAME).exists()
