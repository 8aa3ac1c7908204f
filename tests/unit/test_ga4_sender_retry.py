"""Retry policy on a scripted transport and a virtual clock: backoff, Retry-After, time budget."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, Ga4Sender, tracking_destination
from mim_bridge.ga4.transport import parse_retry_after
from mim_bridge.report import gate
from mim_bridge.vocab.events import Event

URL = "http://127.0.0.1:9/mp/collect"
EVENTS = [Event("host_count", {"value": 1})]
CID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Resp:
    def __init__(self, status: int, headers: Mapping[str, str] | None = None, body: Any = None):
        self.status_code = status
        self.headers = dict(headers or {})
        self._body = body

    @property
    def text(self) -> str:
        return json.dumps(self._body)

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no body")
        return self._body

    def close(self) -> None:
        pass


Step = Resp | BaseException | Callable[[float], Resp]


class Session:
    """Plays a script of responses/exceptions; records (url, body, timeout, time) per call."""

    def __init__(self, clock: Clock, script: list[Step]) -> None:
        self.clock = clock
        self.script = list(script)
        self.calls: list[tuple[str, bytes, tuple[float, float], float]] = []

    def post(
        self, url: str, *, data: bytes, headers: Mapping[str, str], timeout: tuple[float, float]
    ) -> Resp:
        self.calls.append((url, data, timeout, self.clock.now))
        assert headers == {"Content-Type": "application/json"}
        step = self.script.pop(0) if self.script else Resp(204)
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(timeout[1])
        return step


def stall(clock: Clock) -> Callable[[float], Resp]:
    """A peer that never accepts the connection: the attempt's whole timeout, nothing sent."""

    def run(timeout: float) -> Resp:
        clock.now += timeout
        raise requests.ConnectTimeout("connect timed out")

    return run


def unanswered(clock: Clock) -> Callable[[float], Resp]:
    """A peer that takes the request and never answers: GA4 may have processed it."""

    def run(timeout: float) -> Resp:
        clock.now += timeout
        raise requests.ReadTimeout("read timed out")

    return run


def make(
    tmp_path: Path, script: list[Step], *, budget: float = 60.0, timeout: float = 5.0, **kw: Any
) -> tuple[Ga4Sender, Session, Clock]:
    clock = Clock()
    session = Session(clock, script)
    sender = Ga4Sender(
        URL,
        kw.pop("destinations", [MONGOOSEIM_PRODUCTION]),
        tmp_path / "spool",
        attempt_timeout=timeout,
        total_retry_seconds=budget,
        initial_backoff=1.0,
        max_backoff=8.0,
        session=session,
        gate=gate,
        sleep=clock.sleep,
        clock=clock,
        **kw,
    )
    return sender, session, clock


@pytest.mark.parametrize(
    "failure",
    [
        Resp(500),
        Resp(502),
        Resp(503),
        Resp(429),
        requests.ConnectionError("refused"),
        requests.ConnectTimeout("connect timeout"),
        requests.exceptions.ChunkedEncodingError("broken"),
    ],
)
def test_transient_failures_are_retried(tmp_path: Path, failure: Step) -> None:
    sender, session, _ = make(tmp_path, [failure, failure, Resp(204)])
    report = sender.send(CID, EVENTS)
    assert report.ok and report.delivered == 1
    assert report.outcomes[0].attempts == 3
    assert len(session.calls) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_other_4xx_are_not_retried_and_are_logged(
    tmp_path: Path, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    sender, session, _ = make(tmp_path, [Resp(status)])
    with caplog.at_level(logging.ERROR):
        report = sender.send(CID, EVENTS)
    assert len(session.calls) == 1
    assert report.rejected == 1 and report.pending == 0 and not report.ok
    assert f"HTTP {status}" in caplog.text


def test_backoff_grows_exponentially_with_jitter(tmp_path: Path) -> None:
    sender, _, clock = make(tmp_path, [Resp(503)] * 5 + [Resp(204)])
    assert sender.send(CID, EVENTS).ok
    for n, slept in enumerate(clock.sleeps):
        high = min(8.0, 2.0**n)
        assert high / 2 <= slept <= high


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    sender, session, clock = make(tmp_path, [Resp(429, {"Retry-After": "7"}), Resp(204)])
    assert sender.send(CID, EVENTS).ok
    assert clock.sleeps[0] >= 7
    assert session.calls[1][3] - session.calls[0][3] >= 7


def test_retry_after_beyond_the_budget_spools_instead_of_waiting(tmp_path: Path) -> None:
    sender, session, clock = make(tmp_path, [Resp(429, {"Retry-After": "120"})], budget=30)
    report = sender.send(CID, EVENTS)
    assert len(session.calls) == 1
    assert clock.now < 30
    assert report.pending == 1 and report.outcomes[0].status == "pending"


def test_the_whole_send_stays_within_the_budget(tmp_path: Path) -> None:
    sender, session, clock = make(tmp_path, [], budget=12.0, timeout=5.0)
    session.script = [stall(clock)] * 100
    private = tracking_destination("G-PRIVATE123", "secret")
    sender.destinations = (MONGOOSEIM_PRODUCTION, private)
    events = [Event("host_count", {"value": i}) for i in range(60)]  # 3 batches x 2 destinations
    report = sender.send(CID, events)
    assert clock.now <= 12.0
    assert report.elapsed <= 12.0
    assert report.pending == 6
    # Every attempt's timeout was cut to what was left of the budget.
    for _, _, timeout, started in session.calls:
        assert started + timeout[0] <= 12.0 + 1e-9


def test_a_destination_that_used_its_retries_is_skipped_for_the_rest_of_the_call(
    tmp_path: Path,
) -> None:
    sender, session, _ = make(tmp_path, [], budget=20.0)
    private = tracking_destination("G-PRIVATE123", "secret")
    sender.destinations = (MONGOOSEIM_PRODUCTION, private)

    def by_destination(timeout: float) -> Resp:
        url = session.calls[-1][0]
        return Resp(503) if "G-B4S18X6KY5" in url else Resp(204)

    session.script = [by_destination] * 1000
    events = [Event("host_count", {"value": i}) for i in range(30)]  # 2 batches
    report = sender.send(CID, events)
    statuses = [(o.measurement_id, o.status) for o in report.outcomes]
    assert statuses == [
        ("G-B4S18X6KY5", "pending"),
        ("G-PRIVATE123", "delivered"),
        ("G-B4S18X6KY5", "pending"),
        ("G-PRIVATE123", "delivered"),
    ]
    assert report.outcomes[2].attempts == 0  # not tried again in this call


def test_nothing_to_send_makes_no_request(tmp_path: Path) -> None:
    sender, session, _ = make(tmp_path, [])
    report = sender.send(CID, [])
    assert session.calls == [] and report.ok and report.outcomes == ()


def test_validation_reads_the_debug_endpoint_messages(tmp_path: Path) -> None:
    message = {
        "fieldPath": "events",
        "description": "Event at index: [0] has invalid name [_x].",
        "validationCode": "NAME_INVALID",
    }
    sender, session, _ = make(tmp_path, [Resp(200, body={"validationMessages": [message]})])
    (found,) = sender.validate(CID, EVENTS)
    assert session.calls[0][0].startswith("http://127.0.0.1:9/debug/mp/collect?api_secret=")
    assert (found.field_path, found.validation_code, found.batch_index) == (
        "events",
        "NAME_INVALID",
        0,
    )
    assert str(found) == "batch 0: NAME_INVALID: events: Event at index: [0] has invalid name [_x]."
    assert len(sender.spool) == 0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("0.25", 0.25),
        ("-3", 0.0),
        ("soon", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("nan", None),
    ],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert parse_retry_after(header, now=now) == seconds


def test_an_unanswered_send_is_retried_once_more_at_most(tmp_path: Path) -> None:
    sender, session, clock = make(tmp_path, [])
    session.script = [unanswered(clock), unanswered(clock), Resp(204)]
    report = sender.send(CID, EVENTS)
    assert len(session.calls) == 2
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.error, outcome.answers) == (
        "dropped", "unconfirmed", ("timeout", "timeout"))
    assert report.pending == 0 and len(sender.spool) == 0


def test_answers_record_every_attempt(tmp_path: Path) -> None:
    sender, session, clock = make(tmp_path, [])
    session.script = [unanswered(clock), Resp(503), requests.ConnectionError("reset"), Resp(204)]
    (outcome,) = sender.send(CID, EVENTS).outcomes
    assert outcome.status == "delivered" and outcome.http_status == 204
    assert outcome.answers == ("timeout", "503", "connection", "204")
    assert outcome.attempts == 4
