"""The fake GA4 server itself: recording, faults, validation messages, control API."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support.fake_ga import FakeGA, read_records, validation_messages


@pytest.fixture
def ga(tmp_path: Path) -> Iterator[FakeGA]:
    with FakeGA(record_path=tmp_path / "requests.jsonl") as fake:
        yield fake


def post(url: str, body: object) -> requests.Response:
    return requests.post(url, data=json.dumps(body), timeout=5)


def test_records_every_request_and_answers_like_ga4(ga: FakeGA, tmp_path: Path) -> None:
    ga.fail_next(1, status=502)
    body = {"client_id": "c", "events": [{"name": "host_count", "params": {"value": 1}}]}
    url = ga.url + "?api_secret=s&measurement_id=G-ABCD1234"
    assert post(url, body).status_code == 502
    assert post(url, body).status_code == 204
    assert post(ga.base_url + "/elsewhere", body).status_code == 404
    first, second, third = ga.requests
    assert (first.outcome, second.outcome, third.outcome) == ("fail", "ok", "not-found")
    assert (
        second.json == body and second.measurement_id == "G-ABCD1234" and second.api_secret == "s"
    )
    assert ga.delivered() == [second]
    assert ga.events("G-ABCD1234") == body["events"]
    assert [r.outcome for r in read_records(tmp_path / "requests.jsonl")] == [
        "fail",
        "ok",
        "not-found",
    ]


def test_rate_limit_sends_retry_after(ga: FakeGA) -> None:
    ga.rate_limit_next(1, retry_after="2")
    response = post(ga.url, {})
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"


def test_close_drops_the_connection(ga: FakeGA) -> None:
    ga.close_next()
    with pytest.raises(requests.ConnectionError):
        post(ga.url, {})
    assert ga.requests[0].outcome == "close" and ga.requests[0].status is None


def test_stall_outlasts_a_client_timeout(ga: FakeGA) -> None:
    ga.stall_next(1, seconds=2)
    with pytest.raises(requests.Timeout):
        requests.post(ga.url, data=b"{}", timeout=0.2)


def test_control_api(ga: FakeGA) -> None:
    assert post(ga.base_url + "/_fake/faults", {"kind": "reject", "count": 2, "arg": 403}).ok
    assert post(ga.url, {}).status_code == 403
    listed = requests.get(ga.base_url + "/_fake/requests", timeout=5).json()
    assert [r["outcome"] for r in listed] == ["reject"]
    assert post(ga.base_url + "/_fake/reset", {}).ok
    assert post(ga.url, {}).status_code == 204
    assert post(ga.base_url + "/_fake/faults", {"kind": "explode"}).status_code == 400


def test_debug_endpoint_answers_validation_messages(ga: FakeGA) -> None:
    bad = {"events": [{"name": "_badEventName", "params": {"session_id": "x" * 101}}]}
    answer = post(ga.debug_url, bad).json()
    codes = [m["validationCode"] for m in answer["validationMessages"]]
    assert codes == ["VALUE_REQUIRED", "NAME_INVALID", "NAME_RESERVED", "VALUE_OUT_OF_BOUNDS"]
    good = {"client_id": "c", "events": [{"name": "host_count", "params": {"value": 1}}]}
    assert post(ga.debug_url, good).json() == {"validationMessages": []}
    assert ga.delivered() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "VALUE_INVALID"),
        (json.dumps({"client_id": "c", "events": []}), "VALUE_REQUIRED"),
        (
            json.dumps({"client_id": "c", "events": [{"name": "a", "params": {}}] * 26}),
            "EXCEEDED_MAX_ENTITIES",
        ),
        (json.dumps({"client_id": "c", "events": [{"name": "page_view"}]}), "NAME_RESERVED"),
        (json.dumps({"client_id": "c", "events": [{"name": "a" * 41}]}), "VALUE_OUT_OF_BOUNDS"),
        (
            json.dumps(
                {
                    "client_id": "c",
                    "events": [{"name": "a", "params": {f"p{i}": 1 for i in range(26)}}],
                }
            ),
            "EXCEEDED_MAX_ENTITIES",
        ),
    ],
)
def test_validation_rules(body: str, code: str) -> None:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    assert code in [m["validationCode"] for m in validation_messages(body, parsed)]


def raw_exchange(ga: FakeGA, seconds: float, limit: int = 200_000) -> bytes:
    """POST with a bare socket and collect what the fake sends for ``seconds``."""
    with socket.create_connection(("127.0.0.1", ga.port), timeout=seconds) as sock:
        sock.sendall(b"POST /mp/collect?x=1 HTTP/1.1\r\nHost: f\r\nContent-Length: 2\r\n\r\n{}")
        received = b""
        end = time.monotonic() + seconds
        while len(received) < limit and (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    return received


def test_hostile_faults_misbehave_as_documented(ga: FakeGA) -> None:
    ga.hostile_next("trickle-headers", 1, 0.05)
    trickled = raw_exchange(ga, 1.0)
    assert trickled.startswith(b"HTTP/1.1 2") and b"\r\n\r\n" not in trickled
    assert 5 <= len(trickled) <= 40  # a byte every 50 ms
    ga.hostile_next("trickle-body", 1, 0.05)
    head, _, body = raw_exchange(ga, 1.0).partition(b"\r\n\r\n")
    assert b"Content-Length: 1000000" in head and 5 <= len(body) <= 40
    ga.hostile_next("huge-body", 1, 300_000)
    head, _, body = raw_exchange(ga, 5.0, limit=400_000).partition(b"\r\n\r\n")
    assert b"Content-Length: 300000" in head and len(body) == 300_000
    ga.hostile_next("flood-headers", 1)
    assert raw_exchange(ga, 5.0).count(b"\r\nX-Flood: ") > 100
    ga.hostile_next("redirect", 1)
    assert b"Location: /mp/collect?x=1\r\n" in raw_exchange(ga, 5.0)
    ga.hostile_next("silent", 1)
    assert raw_exchange(ga, 0.5) == b""
    assert [r.outcome for r in ga.requests] == [
        "trickle-headers", "trickle-body", "huge-body", "flood-headers", "redirect", "silent"]
    with pytest.raises(ValueError, match="not a hostile fault"):
        ga.hostile_next("fail")
