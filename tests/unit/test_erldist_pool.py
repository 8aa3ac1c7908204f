"""The connection pool: reuse, reconnection, backoff that fails fast, failover order, pruning."""

from __future__ import annotations

from typing import Any

import pytest

from mim_bridge.erldist import CookieMismatch, NodeNotFound
from mim_bridge.erldist.pool import NodePool
from support.aio import aio


class FakeConn:
    def __init__(self, node: str) -> None:
        self.peer_name = node
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class Dialer:
    """Dials succeed unless the node is listed in *down*; every dial is recorded."""

    def __init__(self) -> None:
        self.down: dict[str, Exception] = {}
        self.dials: list[str] = []
        self.conns: list[FakeConn] = []

    async def __call__(self, node: str) -> Any:
        self.dials.append(node)
        if node in self.down:
            raise self.down[node]
        conn = FakeConn(node)
        self.conns.append(conn)
        return conn


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make() -> tuple[NodePool, Dialer, Clock]:
    dialer, clock = Dialer(), Clock()
    return NodePool(dialer, max_backoff=8.0, clock=clock), dialer, clock


@aio
async def test_open_connections_are_reused() -> None:
    pool, dialer, _ = make()
    assert await pool.get("a@h") is await pool.get("a@h")
    assert dialer.dials == ["a@h"] and pool.open_count == 1


@aio
async def test_a_lost_connection_is_redialled() -> None:
    pool, dialer, _ = make()
    first = await pool.get("a@h")
    first.closed = True
    second = await pool.get("a@h")
    assert second is not first and dialer.dials == ["a@h", "a@h"]


@aio
async def test_backoff_fails_fast_then_retries() -> None:
    pool, dialer, clock = make()
    dialer.down["a@h"] = NodeNotFound("node 'a' is not registered")
    for _ in range(2):
        with pytest.raises(NodeNotFound):
            await pool.get("a@h")
    assert dialer.dials == ["a@h"]  # the second get did not dial: backing off
    clock.t = 100.0
    del dialer.down["a@h"]
    await pool.get("a@h")
    assert dialer.dials == ["a@h", "a@h"]


@aio
async def test_backoff_grows_and_is_capped() -> None:
    pool, dialer, clock = make()
    dialer.down["a@h"] = CookieMismatch("wrong cookie")
    delays = []
    for _ in range(8):
        with pytest.raises(CookieMismatch):
            await pool.get("a@h")
        failure = pool._failures["a@h"]
        delays.append(failure.retry_at - clock.t)
        clock.t = failure.retry_at
    assert delays[0] <= 0.5 and max(delays) <= 8.0 and delays[-1] >= 4.0


@aio
async def test_order_puts_healthy_nodes_first() -> None:
    pool, dialer, _ = make()
    dialer.down["a@h"] = NodeNotFound("down")
    with pytest.raises(NodeNotFound):
        await pool.get("a@h")
    await pool.get("c@h")
    assert pool.order(["a@h", "b@h", "c@h"]) == ["c@h", "b@h", "a@h"]


@aio
async def test_keep_only_closes_departed_members() -> None:
    pool, _dialer, _ = make()
    a, b = await pool.get("a@h"), await pool.get("b@h")
    await pool.keep_only(["a@h"])
    assert not a.closed and b.closed and pool.open_count == 1
    await pool.close()
    assert a.closed and pool.open_count == 0
