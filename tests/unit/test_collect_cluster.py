"""A cluster of 5,000 members: at most ``node_concurrency`` of them are dialled at once, and the
ones that cannot be read are logged as one summary line, not a line each.

The collector is faked (this is the fan-out layer alone); the connections are real loopback
sockets to a listener that accepts and never answers, held for a moment like a handshake that
ends in a timeout, so the descriptors counted are real ones.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mim_bridge.collect import InVmService, NodeReport, cluster
from mim_bridge.collect.cluster import collect_cluster
from mim_bridge.collect.eras import ERAS
from mim_bridge.erldist import ConnectTimeout

MEMBERS = 5000
SEED = "mim0@localhost"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def report(node: str, members: list[str]) -> NodeReport:
    return NodeReport(node=node, client_id="cid", version="6.2.1", era=ERAS[-1], events=[],
                      stanza_totals=None, members=members,
                      service=InVmService(False, False, None), waves=1, calls=1)


class FakeConn:
    def __init__(self, node: str) -> None:
        self.peer_name = node


class FakeCollector:
    """Returns the seed's 5,000-member ``nodes()``; every other member reports itself."""

    def __init__(self, conn: FakeConn, call_timeout: float) -> None:
        self.conn = conn

    async def collect(self, previous: Any) -> NodeReport:
        node = self.conn.peer_name
        members = [f"mim{i}@localhost" for i in range(1, MEMBERS)] if node == SEED else []
        return report(node, members)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Accepts every connection and holds it until the client goes (like a node that stalls)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield srv
    stop.set()
    thread.join(5)
    srv.close()


def test_at_most_concurrency_members_are_dialled_at_once(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        listener: socket.socket) -> None:
    concurrency = 8
    monkeypatch.setattr(cluster, "Collector", FakeCollector)
    port = listener.getsockname()[1]
    in_flight = peak = 0
    peak_fds = baseline = open_fds()

    async def get_connection(node: str) -> Any:
        nonlocal in_flight, peak, peak_fds
        if node == SEED:
            return FakeConn(node)
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            peak_fds = max(peak_fds, open_fds())
            await asyncio.sleep(0.001)  # the handshake that never comes
            writer.transport.abort()
            if int(node[3:node.index("@")]) % 2:  # odd members cannot be read
                raise ConnectTimeout(f"{node} did not complete the handshake within 5 s")
            return FakeConn(node)
        finally:
            in_flight -= 1

    with caplog.at_level(logging.INFO, logger="mim_bridge.collect.cluster"):
        result = asyncio.run(collect_cluster(get_connection, [SEED], concurrency=concurrency))
    assert peak == concurrency
    # asyncio's own descriptors (selector, self-pipe) plus one socket per dial in flight
    assert peak_fds - baseline <= concurrency + 4
    assert len(result.nodes) == MEMBERS // 2 and len(result.skipped) == MEMBERS // 2
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines[:3]
    assert lines[0].startswith(f"skipping {MEMBERS // 2} of {MEMBERS - 1} other cluster "
                               "member(s) that could not be read: 2500 ConnectTimeout (mim1@")
    assert "and 2497 more" in lines[0] and len(lines[0]) < 400


@pytest.mark.parametrize("concurrency", [1, 3, 50])
def test_the_limit_holds_for_any_setting(monkeypatch: pytest.MonkeyPatch,
                                         concurrency: int) -> None:
    monkeypatch.setattr(cluster, "Collector", FakeCollector)
    in_flight = peak = 0

    async def get_connection(node: str) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return FakeConn(node)

    result = asyncio.run(collect_cluster(get_connection, [SEED], concurrency=concurrency))
    assert peak == concurrency and len(result.nodes) == MEMBERS


def test_the_default_is_eight() -> None:
    import inspect

    from mim_bridge.config import BY_NAME
    assert BY_NAME["node_concurrency"].default == 8
    assert inspect.signature(collect_cluster).parameters["concurrency"].default == 8
