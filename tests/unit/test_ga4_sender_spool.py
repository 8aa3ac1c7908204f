"""What leaves from the spool, and what happens without one: the gate and GA4's limits at send
time, planted and huge spool files, an unusable spool, honest accounting, and the history record.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, Ga4Sender, tracking_destination
from mim_bridge.ga4.sender import describe_problems
from mim_bridge.ga4.spool import Spool
from mim_bridge.report import gate
from mim_bridge.vocab.events import Event
from mim_bridge.vocab.names import OSS_MODULES
from support.fake_ga import FakeGA

CID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"
MID = MONGOOSEIM_PRODUCTION.measurement_id
PRIVATE = tracking_destination("G-PRIVATE123", "private-secret")
REPORT = [Event("host_count", {"value": 2}), Event("cluster", {"uptime": "0000-00:05:01"})]


def sender_for(ga: FakeGA, spool: Path, **kw: Any) -> Ga4Sender:
    options: dict[str, Any] = {"attempt_timeout": 0.5, "total_retry_seconds": 3.0,
                               "initial_backoff": 0.01, "max_backoff": 0.05}
    options.update(kw)
    destinations = options.pop("destinations", [MONGOOSEIM_PRODUCTION])
    return Ga4Sender(ga.url, destinations, spool, gate=options.pop("gate", gate), **options)


def plant(spool: Path, body: dict[str, Any], *, events: int | None = None, seq: int = 1) -> Path:
    """A spool file as an attacker (or another program) would leave it."""
    spool.mkdir(parents=True, exist_ok=True)
    count = len(body.get("events", [])) if events is None else events
    path = spool / f"{seq:020d}-0000001-000001.{MID}.{count}.json"
    path.write_text(json.dumps({"format": 1, "measurement_id": MID, "body": body}))
    return path


def sent_text(ga: FakeGA) -> str:
    return " ".join(r.body for r in ga.requests)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"client_id": CID, "events": [{"name": "cluster", "params": {
            "uptime": "0000-00:05:01", "secret_host": "mim-1.corp.example.com"}}]},
         "anonymity gate"),
        ({"client_id": CID, "events": [{"name": "module_with_opt", "params": {
            "module": "mod_corp_example_com"}}]}, "anonymity gate"),
        ({"client_id": "mim-1.corp.example.com", "events": [{"name": "host_count", "params": {
            "value": 1}}]}, "client id"),
        ({"client_id": CID, "events": [{"name": "host_count", "params": {"value": i}}
                                       for i in range(26)]}, "one GA4 request"),
        ({"client_id": CID, "events": [{"name": "http_api", "params": {
            f"api_{i}": "enabled" for i in range(30)}}]}, "anonymity gate"),
    ],
    ids=["secret-param", "custom-module", "host-as-client-id", "26-events", "30-params"],
)
def test_a_spooled_batch_that_fails_the_gate_is_dropped_not_sent(
    ga: FakeGA, tmp_path: Path, caplog: pytest.LogCaptureFixture, body: dict[str, Any], why: str
) -> None:
    planted = plant(tmp_path, body)
    with caplog.at_level(logging.WARNING), sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, REPORT)
    assert "corp" not in sent_text(ga) and "mod_corp" not in sent_text(ga)
    assert [r.json["events"] for r in ga.delivered()] == [[e.to_json() for e in REPORT]]
    dropped = [o for o in report.outcomes if o.status == "dropped"]
    assert [(o.error, o.from_spool, o.attempts) for o in dropped] == [("failed_gate", True, 0)]
    assert why in caplog.text and not planted.exists()
    assert report.ok  # junk in the spool is no failed report


def test_a_spooled_batch_that_passes_is_sent_as_checked_not_as_stored(
    ga: FakeGA, tmp_path: Path
) -> None:
    body = {"client_id": CID, "events": [{"name": "host_count", "params": {"value": 7}}]}
    path = plant(tmp_path, body)
    path.write_text(path.read_text().replace('"body"', '"body"  ') + "\n\n")  # same JSON
    with sender_for(ga, tmp_path) as sender:
        assert sender.send(CID, []).ok
    (request,) = ga.delivered()
    assert request.body == json.dumps(body, separators=(",", ":"))


def test_a_huge_spool_file_is_dropped_unread(ga: FakeGA, tmp_path: Path) -> None:
    path = tmp_path / f"{1:020d}-0000001-000001.{MID}.1.json"
    with open(path, "wb") as f:
        f.truncate(5_000_000)  # sparse; over a spool file's size, under the spool's bound
    with sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, REPORT)
    assert [o.error for o in report.outcomes if o.status == "dropped"] == ["unreadable"]
    assert len(ga.requests) == 1 and not path.exists()


@st.composite
def reports(draw: st.DrawFn) -> list[Event]:
    """Events as a collector might hand them over, private names and oversize values included."""
    names = st.sampled_from(["host_count", "cluster", "module_with_opt", "http_api",
                             "xmpp_stanza_count", "tls_option", "custom_module_count", "acme"])
    values = st.integers(-(2**63), 2**63) | st.text(max_size=150)
    keys = st.sampled_from(["value", "module", "backend", "uptime", "version", "stanza_type",
                            "total", "increment", "mode", "api_http", "api_client", "x"])
    modules = st.sampled_from([*sorted(OSS_MODULES)[:20], "mod_private"])
    out = []
    for _ in range(draw(st.integers(0, 60))):
        name = draw(names)
        params = draw(st.dictionaries(keys, values, max_size=30))
        if name == "module_with_opt":
            params["module"] = draw(modules)
        out.append(Event(name, params))
    return out


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=reports())
def test_every_batch_the_sender_spools_passes_the_send_time_check_unchanged(
    tmp_path_factory: pytest.TempPathFactory, events: list[Event]
) -> None:
    """The check never drops the bridge's own batches: gate and limits are idempotent."""
    spool_dir = tmp_path_factory.mktemp("spool")
    sender = Ga4Sender("http://127.0.0.1:9/mp/collect", [MONGOOSEIM_PRODUCTION], spool_dir,
                       attempt_timeout=0.01, total_retry_seconds=0.01, gate=gate)
    prepared = sender._prepare(CID, events)
    spool = Spool(spool_dir)
    for batch in prepared.batches:
        entry, _ = spool.add(MID, batch)
        loaded = spool.load(entry)
        assert loaded is not None
        assert sender._release(loaded.client_id, loaded.events) == batch


def test_without_a_usable_spool_reports_are_sent_with_one_warning(
    ga: FakeGA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "spool").write_text("a file where the spool directory should be")
    with caplog.at_level(logging.INFO), sender_for(ga, tmp_path / "spool",
                                                   destinations=[MONGOOSEIM_PRODUCTION, PRIVATE],
                                                   total_retry_seconds=0.5) as sender:
        first = sender.send(CID, REPORT)
        second = sender.send(CID, REPORT)
        ga.fail_next(1000)
        lost = sender.send(CID, REPORT)
    assert first.ok and second.ok and first.delivered == 2 and first.spool_problem
    assert len(ga.delivered()) == 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING
                and "without a kept copy" in r.getMessage()]
    assert len(warnings) == 1
    assert [(o.status, o.error) for o in lost.outcomes] == [("dropped", "no_spool")] * 2
    assert "nothing was kept" in describe_problems([lost])
    assert "wait in the spool" not in describe_problems([lost])


def test_a_broken_lock_still_sends_this_report(ga: FakeGA, tmp_path: Path) -> None:
    (tmp_path / ".lock").mkdir()
    with sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, REPORT)
    assert report.ok and report.spool_problem and "cannot lock" in report.spool_problem
    assert len(ga.delivered()) == 1 and len(sender.spool) == 0


def test_a_rejected_batch_is_not_said_to_wait_in_the_spool(ga: FakeGA, tmp_path: Path) -> None:
    ga.reject_next(1, status=400)
    with sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, REPORT)
    assert report.pending == 0 and report.rejected == 1 and not report.ok
    text = describe_problems([report])
    assert text == "1 batch(es) rejected by GA4 (HTTP 400) and not resent"


def test_with_ga4_down_a_send_reads_one_spool_file_per_destination(
    ga: FakeGA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is in memory: files are read to be sent, not to be counted."""
    ga.fail_next(100_000)
    with sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION, PRIVATE],
                    total_retry_seconds=0.05, max_spool_batches=1000) as sender:
        for i in range(128):
            sender.send(CID, [Event("host_count", {"value": i})])
        assert len(sender.spool) == 256
        reads: list[str] = []
        real_load = Spool.load

        def counting_load(self: Spool, entry: Any) -> Any:
            reads.append(entry.name)
            return real_load(self, entry)

        monkeypatch.setattr(Spool, "load", counting_load)
        sender.total_retry_seconds = 1.0  # room for a loaded machine; reads must not grow with it
        report = sender.send(CID, [Event("host_count", {"value": 999})])
    oldest = sorted(p.name for p in tmp_path.glob("*.json"))[:2]
    assert 1 <= len(reads) <= 2 and reads == oldest[: len(reads)]
    assert [o.measurement_id for o in report.outcomes if o.attempts] == [
        MID, PRIVATE.measurement_id][: len(reads)]
    assert report.pending == 258


def test_the_spool_bound_is_reported_as_dropped(ga: FakeGA, tmp_path: Path) -> None:
    ga.fail_next(100_000)
    with sender_for(ga, tmp_path, max_spool_batches=2, total_retry_seconds=0.05) as sender:
        for i in range(2):
            sender.send(CID, [Event("host_count", {"value": i})])
        report = sender.send(CID, [Event("host_count", {"value": 2})])
    first = report.outcomes[0]
    assert (first.status, first.error, first.events) == ("dropped", "spool_full", 1)
    assert "spool_full" in describe_problems([report])


def test_the_history_record_per_destination(ga: FakeGA, tmp_path: Path) -> None:
    ga.fail_next(1, status=503)
    ga.reject_next(1, status=400)
    events = [Event("host_count", {"value": i}) for i in range(30)]  # 2 batches each
    with sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION, PRIVATE]) as sender:
        report = sender.send(CID, events)
    record = report.to_json()
    assert json.loads(json.dumps(record)) == record
    assert "private-secret" not in json.dumps(record) and "Rj6lop" not in json.dumps(record)
    prod, private = record["destinations"]
    assert prod == {
        "measurement_id": MID, "batches": 2, "events": 30, "requests": 3, "delivered": 1,
        "delivered_events": 5, "rejected": 1, "pending": 0, "dropped": 0, "dropped_events": 0,
        "answers": ["503", "400", "204"], "last_answer": "204",
    }
    assert private["measurement_id"] == "G-PRIVATE123" and private["answers"] == ["204", "204"]
    assert record["pending"] == 0 and record["spool_problem"] is None
    assert [b["status"] for b in record["batches"]] == [
        "rejected", "delivered", "delivered", "delivered"]
    assert record["batches"][0] == {
        "measurement_id": MID, "events": 25, "status": "rejected", "http_status": 400,
        "attempts": 2, "from_spool": False, "error": "rejected", "answers": ["503", "400"]}


def test_leftovers_of_a_killed_writer_go_at_the_next_send(ga: FakeGA, tmp_path: Path) -> None:
    leftover = tmp_path / f".{1:020d}-0000001-000001.{MID}.1.json.abcdef.tmp"
    leftover.write_text('{"format":1,')
    old = time.time() - 600
    os.utime(leftover, (old, old))
    with sender_for(ga, tmp_path) as sender:
        assert sender.send(CID, REPORT).ok
    assert not leftover.exists()
