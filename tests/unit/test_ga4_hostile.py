"""Hostile GA4 peers on loopback: whatever the peer does, a send ends within its budget.

The fake trickles one byte a second (the attacker's pace), never answers, floods headers, sends
huge bodies or redirect loops. Bounds are generous: they prove that a send ends, not that it is
fast (the unfixed sender ran past 200 s against the same peer).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, DeliveryError, Ga4Sender
from mim_bridge.ga4.transport import ABORT_GRACE, BoundedTransport, post_once
from mim_bridge.report import gate
from mim_bridge.vocab.events import Event
from support.fake_ga import FakeGA

CID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"
EVENTS = [Event("host_count", {"value": 1})]
BUDGET = 4.0
ATTEMPT = 2.0  # longer than the peer's pause between bytes: a per-read timeout never fires
ENDS_WITHIN = BUDGET + ABORT_GRACE + 5.0  # generous: "it ends", not "it is fast"


def sender_for(url: str, spool: Path, **kw: float) -> Ga4Sender:
    options = {"attempt_timeout": ATTEMPT, "total_retry_seconds": BUDGET, "initial_backoff": 0.05,
               "max_backoff": 0.1, **kw}
    return Ga4Sender(url, [MONGOOSEIM_PRODUCTION], spool, gate=gate,
                     **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "arg", "statuses"),
    [
        ("trickle-headers", 1.0, {"pending", "dropped"}),
        ("silent", None, {"pending", "dropped"}),
        ("trickle-body", 1.0, {"delivered"}),  # the 200 is complete; its body does not matter
        ("huge-body", 50_000_000, {"delivered"}),
        ("flood-headers", None, {"pending"}),
        ("redirect", None, {"rejected"}),
    ],
)
def test_a_send_ends_within_its_budget_whatever_the_peer_does(
    ga: FakeGA, tmp_path: Path, kind: str, arg: float | None, statuses: set[str]
) -> None:
    ga.hostile_next(kind, 1000, arg)
    with sender_for(ga.url, tmp_path) as sender:
        started = time.monotonic()
        report = sender.send(CID, EVENTS)
        took = time.monotonic() - started
    assert took < ENDS_WITHIN
    (outcome,) = report.outcomes
    assert outcome.status in statuses, outcome
    if outcome.status == "pending":  # kept: it goes out once GA4 behaves
        ga.reset()
        with sender_for(ga.url, tmp_path) as again:
            assert again.send(CID, []).ok
        assert ga.events() == [e.to_json() for e in EVENTS]
    assert len(ga.requests) <= 1 + 20  # retries, bounded too


def test_a_trickling_peer_never_keeps_a_thread(ga: FakeGA, tmp_path: Path) -> None:
    ga.hostile_next("trickle-headers", 1000, 0.5)
    with sender_for(ga.url, tmp_path, total_retry_seconds=2.0) as sender:
        sender.send(CID, EVENTS)
    assert [t for t in threading.enumerate() if t.name == "ga4-http"] == []


def test_validation_against_a_trickled_answer_fails_in_time(ga: FakeGA, tmp_path: Path) -> None:
    ga.hostile_next("trickle-body", 1000, 1.0)
    with sender_for(ga.url, tmp_path) as sender:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            sender.validate(CID, EVENTS)
    assert time.monotonic() - started < ENDS_WITHIN
    assert info.value.kind in {"timeout", "budget"}


def test_a_huge_validation_answer_is_not_read_whole(ga: FakeGA, tmp_path: Path) -> None:
    """In a subprocess, to measure its peak memory: a 300 MB answer is cut at 1 MiB."""
    ga.hostile_next("huge-body", 1000, 300_000_000)
    script = textwrap.dedent(f"""
        import re, sys
        from pathlib import Path
        from mim_bridge.vocab.events import Event
        from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, DeliveryError, Ga4Sender
        from mim_bridge.report import gate
        sender = Ga4Sender({ga.url!r}, [MONGOOSEIM_PRODUCTION], Path({str(tmp_path)!r}),
                           attempt_timeout=10, total_retry_seconds=20, gate=gate)
        try:
            sender.validate({CID!r}, [Event("host_count", {{"value": 1}})])
        except DeliveryError as e:
            print(e.kind)
        # VmHWM: this process's own peak (ru_maxrss would include the forking parent's)
        print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out[0] == "too_large"
    assert int(out[1]) < 120  # MiB; reading the answer whole would take over 300


@pytest.fixture
def tls_trickler() -> Iterator[int]:
    """A TCP peer that answers a TLS ClientHello one byte a second, for ever."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        record = b"\x16\x03\x03\x40\x00" + b"\x02" * 16384
        with conn:
            for i in range(len(record)):
                if stop.wait(1.0):
                    break
                try:
                    conn.send(record[i : i + 1])
                except OSError:
                    break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    server.close()
    thread.join(5)


def test_a_trickled_tls_handshake_is_cut_at_the_deadline(tls_trickler: int) -> None:
    transport = BoundedTransport()
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        post_once(transport, f"https://127.0.0.1:{tls_trickler}/mp/collect", b"{}", 2.0)
    assert time.monotonic() - started < 2.0 + ABORT_GRACE + 3.0
    assert info.value.kind == "timeout"
    transport.close()
