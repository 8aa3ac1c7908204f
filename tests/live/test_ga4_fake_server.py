"""The fake GA4 server as a separate process, the way end-to-end tests and docker compose run it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, Ga4Sender
from mim_bridge.report import gate
from mim_bridge.vocab.events import Event
from support.fake_ga import read_records

FAKE_GA = Path(__file__).resolve().parent.parent / "support" / "fake_ga.py"


@pytest.fixture
def fake_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    record = tmp_path / "requests.jsonl"
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(FAKE_GA),
            "--port",
            "0",
            "--record",
            str(record),
            "--port-file",
            str(port_file),
            "--fault",
            "fail:1:503",
            "--fault",
            "rate-limit:1:0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("fake-ga listening on http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1]
        assert base.endswith(":" + port_file.read_text().strip())
        yield proc, base, record
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_standalone_fake_records_to_jsonl_and_stops_on_sigterm(
    fake_process: tuple[subprocess.Popen[str], str, Path], tmp_path: Path
) -> None:
    proc, base, record = fake_process
    sender = Ga4Sender(
        base + "/mp/collect",
        [MONGOOSEIM_PRODUCTION],
        tmp_path / "spool",
        attempt_timeout=1.0,
        total_retry_seconds=5.0,
        initial_backoff=0.01,
        max_backoff=0.05,
        gate=gate,
    )
    with sender:
        report = sender.send(
            "c0ffee00-0000-4000-8000-000000000000", [Event("host_count", {"value": 4})]
        )
    assert report.ok
    assert [r.outcome for r in read_records(record)] == ["fail", "rate-limit", "ok"]
    listed = requests.get(base + "/_fake/requests", timeout=5).json()
    assert listed[-1]["json"]["events"] == [{"name": "host_count", "params": {"value": 4}}]
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.returncode == 0


def test_standalone_fake_takes_hostile_faults(tmp_path: Path) -> None:
    record = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(FAKE_GA), "--port", "0", "--record", str(record),
         "--fault", "silent:1", "--fault", "redirect:1"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        sender = Ga4Sender(base + "/mp/collect", [MONGOOSEIM_PRODUCTION], tmp_path / "spool",
                           attempt_timeout=1.0, total_retry_seconds=5.0, initial_backoff=0.01,
                           max_backoff=0.05, gate=gate)
        with sender:
            started = time.monotonic()
            report = sender.send("c0ffee00-0000-4000-8000-000000000000",
                                 [Event("host_count", {"value": 4})])
        assert time.monotonic() - started < 15
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.answers) == ("rejected", ("timeout", "307"))
    assert [r.outcome for r in read_records(record)] == ["silent", "redirect"]
