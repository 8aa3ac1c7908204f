"""The sender against the local fake GA4 server: real HTTP, real failures, real spool."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from mim_bridge.ga4 import (
    MONGOOSEIM_PRODUCTION,
    Destination,
    Ga4Sender,
    SpoolError,
    tracking_destination,
)
from mim_bridge.ga4.spool import Spool
from mim_bridge.report import gate
from mim_bridge.vocab.events import Event
from support.fake_ga import FakeGA

CID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"
PRIVATE = tracking_destination("G-PRIVATE123", "private-secret")
REPORT = [
    Event("host_count", {"value": 1}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_vcard"}),
    Event("cluster", {"uptime": "0000-00:05:01", "version": "6.2.1", "component": 0}),
    Event("http_api", {}),
]


def sender_for(ga: FakeGA, spool: Path, **kw: Any) -> Ga4Sender:
    options: dict[str, Any] = {
        "attempt_timeout": 0.5,
        "total_retry_seconds": 5.0,
        "initial_backoff": 0.01,
        "max_backoff": 0.05,
    }
    options.update(kw)
    destinations: list[Destination] = options.pop("destinations", [MONGOOSEIM_PRODUCTION, PRIVATE])
    return Ga4Sender(ga.url, destinations, spool, gate=options.pop("gate", gate), **options)


def stanzas(n: int, start: int = 0) -> list[Event]:
    return [
        Event("xmpp_stanza_count", {"stanza_type": "xmppMessageSent", "total": i, "increment": 1})
        for i in range(start, start + n)
    ]


def test_exact_request_to_each_destination(ga: FakeGA, tmp_path: Path) -> None:
    with sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, REPORT)
    assert report.ok
    expected = {
        "client_id": CID,
        "events": [
            {"name": "host_count", "params": {"value": 1}},
            {"name": "module_with_opt", "params": {"backend": "mnesia", "module": "mod_vcard"}},
            {
                "name": "cluster",
                "params": {"uptime": "0000-00:05:01", "version": "6.2.1", "component": 0},
            },
            {"name": "http_api", "params": {}},
        ],
    }
    first, second = ga.delivered()
    assert first.body == json.dumps(expected, separators=(",", ":"))
    assert second.body == first.body
    assert first.query == {"api_secret": "Rj6lopOLQZ2HPLj50QtYeQ", "measurement_id": "G-B4S18X6KY5"}
    assert second.query == {"api_secret": "private-secret", "measurement_id": "G-PRIVATE123"}
    assert first.headers["Content-Type"] == "application/json"
    assert first.method == "POST" and first.path == "/mp/collect"


@pytest.mark.parametrize(("count", "requests_each"), [(0, 0), (1, 1), (25, 1), (26, 2), (100, 4)])
def test_batching_and_identical_events_for_both_destinations(
    ga: FakeGA, tmp_path: Path, count: int, requests_each: int
) -> None:
    events = stanzas(count)
    with sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, events)
    assert report.ok
    prod = ga.delivered("G-B4S18X6KY5")
    private = ga.delivered("G-PRIVATE123")
    assert len(prod) == len(private) == requests_each
    assert all(len(r.json["events"]) <= 25 for r in prod + private)
    assert ga.events("G-B4S18X6KY5") == ga.events("G-PRIVATE123") == [e.to_json() for e in events]
    assert [r.body for r in prod] == [r.body for r in private]
    assert {r.json["client_id"] for r in prod + private} <= {CID}


@pytest.mark.parametrize(
    "inject",
    [
        lambda ga: ga.fail_next(3, status=503),
        lambda ga: ga.fail_next(1, status=500),
        lambda ga: ga.rate_limit_next(2, retry_after="0.1"),
        lambda ga: ga.stall_next(1, seconds=2.0),
        lambda ga: ga.close_next(2),
    ],
    ids=["5xx-x3", "500", "429", "stall", "close"],
)
def test_every_failure_mode_ends_in_delivery(ga: FakeGA, tmp_path: Path, inject: Any) -> None:
    inject(ga)
    with sender_for(ga, tmp_path, attempt_timeout=0.3) as sender:
        report = sender.send(CID, REPORT)
    assert report.ok, report
    assert len(ga.delivered("G-B4S18X6KY5")) == len(ga.delivered("G-PRIVATE123")) == 1
    assert len(sender.spool) == 0


def test_retry_after_delays_the_next_attempt(ga: FakeGA, tmp_path: Path) -> None:
    ga.rate_limit_next(1, retry_after="0.4")
    with sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION]) as sender:
        assert sender.send(CID, REPORT).ok
    limited, delivered = ga.requests
    assert limited.status == 429
    assert delivered.time - limited.time >= 0.4


@pytest.mark.parametrize(
    "inject",
    [
        lambda ga: ga.fail_next(1000, status=503),
        lambda ga: ga.rate_limit_next(1000, retry_after="0.05"),
        lambda ga: ga.close_next(1000),
        lambda ga: ga.rate_limit_next(1000, retry_after="3600"),
    ],
    ids=["5xx", "429", "close", "retry-after-too-long"],
)
def test_persistent_failure_spools_then_delivers_before_the_next_report(
    ga: FakeGA, tmp_path: Path, inject: Any
) -> None:
    inject(ga)
    with sender_for(ga, tmp_path, attempt_timeout=0.2, total_retry_seconds=0.6) as sender:
        started = time.monotonic()
        first = sender.send(CID, stanzas(30))
        assert time.monotonic() - started < 0.6 + 0.5  # bounded, whatever the server does
        assert first.pending == 4 and not first.ok  # 2 batches x 2 destinations
        assert ga.delivered() == []
        ga.reset()  # the network is back
        second = sender.send(CID, stanzas(3, start=100))
    assert second.ok and second.pending == 0
    assert [o.from_spool for o in second.outcomes] == [True] * 4 + [False] * 2
    for mid in ("G-B4S18X6KY5", "G-PRIVATE123"):
        totals = [e["params"]["total"] for e in ga.events(mid)]
        assert totals == [*range(30), 100, 101, 102]  # old report first, nothing twice


def test_a_batch_gets_at_most_two_unanswered_sends(
    ga: FakeGA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing answer may hide a processed request: at most one duplicate per batch."""
    ga.hostile_next("silent", 1000)
    options = {"attempt_timeout": 0.2, "total_retry_seconds": 2.0,
               "destinations": [MONGOOSEIM_PRODUCTION]}
    with caplog.at_level(logging.WARNING), sender_for(ga, tmp_path, **options) as sender:
        first = sender.send(CID, stanzas(3))
    assert [(o.status, o.error, o.answers) for o in first.outcomes] == [
        ("dropped", "unconfirmed", ("timeout", "timeout"))
    ]
    assert len(ga.requests) == 2 and first.pending == 0
    assert "sent 2 times without an answer" in caplog.text


def test_the_unanswered_count_survives_a_restart(ga: FakeGA, tmp_path: Path) -> None:
    options = {"attempt_timeout": 0.2, "destinations": [MONGOOSEIM_PRODUCTION]}
    ga.hostile_next("silent", 1)
    ga.fail_next(1000, status=503)
    with sender_for(ga, tmp_path, total_retry_seconds=0.5, **options) as sender:
        assert sender.send(CID, stanzas(3)).pending == 1  # one unanswered send, then 503s
    ga.reset()
    ga.hostile_next("silent", 1)
    with sender_for(ga, tmp_path, total_retry_seconds=2.0, **options) as restarted:
        report = restarted.send(CID, [])
    assert [(o.status, o.error) for o in report.outcomes] == [("dropped", "unconfirmed")]
    assert len(ga.requests) == 1  # its second unanswered send was its last


def test_a_rejected_batch_is_logged_and_not_resent(
    ga: FakeGA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ga.reject_next(1, status=400)
    with caplog.at_level(logging.ERROR), sender_for(ga, tmp_path) as sender:
        report = sender.send(CID, REPORT)
        assert report.rejected == 1 and report.delivered == 1 and report.pending == 0
        assert sender.send(CID, []).outcomes == ()
    assert len([r for r in ga.requests if r.outcome == "reject"]) == 1
    assert "rejected a batch" in caplog.text and "HTTP 400" in caplog.text


class Crash(BaseException):
    """Stands for the process dying (SIGKILL, power loss) at an exact point."""


def test_a_crash_after_sending_resends_at_most_that_one_batch(
    ga: FakeGA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_remove = Spool.remove
    removed: list[int] = []

    def crash_on_second_removal(self: Spool, item: Any) -> None:
        if len(removed) == 1:
            raise Crash  # the batch was delivered, its spool file is still there
        removed.append(1)
        real_remove(self, item)

    monkeypatch.setattr(Spool, "remove", crash_on_second_removal)
    sender = sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION])
    with pytest.raises(Crash):
        sender.send(CID, stanzas(75))  # 3 batches
    monkeypatch.undo()
    assert len(ga.delivered()) == 2
    restarted = sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION])
    assert restarted.send(CID, []).ok  # the next send drains the spool
    totals = [e["params"]["total"] for e in ga.events()]
    assert sorted(set(totals)) == list(range(75))  # nothing lost
    assert len(totals) == 75 + 25  # exactly one batch sent twice


def test_a_crash_before_sending_loses_nothing(
    ga: FakeGA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash

    sender = sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION])
    monkeypatch.setattr(sender, "_deliver", crash)
    with pytest.raises(Crash):
        sender.send(CID, stanzas(30))
    monkeypatch.undo()
    assert ga.requests == []
    assert sender_for(ga, tmp_path, destinations=[MONGOOSEIM_PRODUCTION]).send(CID, []).ok
    assert [e["params"]["total"] for e in ga.events()] == list(range(30))


def test_validation_mode_uses_the_debug_endpoint_only(ga: FakeGA, tmp_path: Path) -> None:
    with sender_for(ga, tmp_path) as sender:
        messages = sender.validate(CID, stanzas(30))
    assert messages == []
    assert [r.path for r in ga.requests] == ["/debug/mp/collect"] * 2
    assert all(r.outcome == "validated" for r in ga.requests)
    assert ga.delivered() == []


def test_validation_reports_our_own_fixes(ga: FakeGA, tmp_path: Path) -> None:
    long_params = {f"api_{i}": "enabled" for i in range(30)}
    with sender_for(ga, tmp_path, gate=lambda events: events) as sender:  # the limits alone
        messages = sender.validate(CID, [Event("http_api", long_params), Event("error", {})])
    codes = [(m.validation_code, m.field_path) for m in messages]
    assert codes == [
        ("FIXED_BEFORE_SENDING", "events[0]"),
        ("FIXED_BEFORE_SENDING", "events[1]"),
    ]


def test_the_sender_never_logs_api_secrets(
    ga: FakeGA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ga.fail_next(2, status=503)
    ga.close_next(1)
    ga.reject_next(1)
    caplog.set_level(logging.DEBUG, logger="mim_bridge")
    with sender_for(ga, tmp_path) as sender:
        sender.send(CID, REPORT)
    mine = [r.getMessage() for r in caplog.records if r.name.startswith("mim_bridge")]
    assert mine
    assert not any("private-secret" in m or "Rj6lop" in m for m in mine)


def test_the_default_gate_keeps_private_names_off_the_wire(ga: FakeGA, tmp_path: Path) -> None:
    with sender_for(ga, tmp_path) as sender:
        sender.send(CID, [Event("module_with_opt", {"module": "mod_acme"}), Event("acme", {})])
    bodies = " ".join(r.body for r in ga.requests)
    assert "acme" not in bodies
    assert ga.events("G-B4S18X6KY5") == [{"name": "custom_module_count", "params": {"value": 1}}]


def test_without_a_usable_spool_the_report_is_still_sent(
    ga: FakeGA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self: Spool, measurement_id: str, batch: Any) -> None:
        raise SpoolError("cannot write to the spool directory: No space left on device")

    monkeypatch.setattr(Spool, "add", disk_full)
    with sender_for(ga, tmp_path, total_retry_seconds=0.3) as sender:
        report = sender.send(CID, REPORT)
        assert report.delivered == 2 and report.ok
        ga.fail_next(1000)
        lost = sender.send(CID, REPORT)
    assert [o.status for o in lost.outcomes] == ["dropped", "dropped"]
