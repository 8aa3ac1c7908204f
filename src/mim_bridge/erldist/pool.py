"""Connections by node name: one per node, reused across reports, redialled with backoff.

The collector asks for a node by name (:meth:`NodePool.get`); the pool hands out the open
connection, or dials a new one when there is none or it died (the node restarted, the network
dropped, ``net_ticktime`` expired). A node that failed is not dialled again before its backoff
expires (exponential with jitter, capped so that every report still retries it); until then
:meth:`get` fails at once with the last error, so the caller moves on to the next node without
waiting for a timeout. How to dial (name, cookie, TLS) is the caller's :class:`Dialer`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mim_bridge.erldist.connection import Connection
from mim_bridge.erldist.errors import ConnectError

__all__ = ["Dialer", "NodePool"]

log = logging.getLogger(__name__)

BACKOFF_START = 0.5


class Dialer(Protocol):
    def __call__(self, node: str) -> Awaitable[Connection]: ...


@dataclass
class _Failure:
    attempts: int
    retry_at: float
    error: BaseException


class NodePool:
    """Open connections by node name, with per-node backoff after failed dials."""

    def __init__(self, dial: Dialer, *, max_backoff: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dial = dial
        self._max_backoff = max(max_backoff, BACKOFF_START)
        self._clock = clock
        self._conns: dict[str, Connection] = {}
        self._failures: dict[str, _Failure] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def open_count(self) -> int:
        return sum(1 for c in self._conns.values() if not c.closed)

    async def get(self, node: str) -> Connection:
        """The open connection to *node*, dialling it if needed (raises the dial's error)."""
        conn = self._conns.get(node)
        if conn is not None and not conn.closed:
            return conn
        lock = self._locks.setdefault(node, asyncio.Lock())
        async with lock:
            conn = self._conns.get(node)
            if conn is not None:
                if not conn.closed:
                    return conn
                del self._conns[node]
                log.warning("connection to %s was lost; reconnecting", node)
                await conn.close()
            failure = self._failures.get(node)
            if failure is not None and self._clock() < failure.retry_at:
                raise failure.error.with_traceback(None)
            try:
                conn = await self._dial(node)
            except (ConnectError, OSError) as e:
                self._record_failure(node, failure, e)
                raise
            if failure is not None:
                log.info("reconnected to %s", node)
            self._failures.pop(node, None)
            self._conns[node] = conn
            return conn

    def order(self, seeds: Sequence[str]) -> list[str]:
        """*seeds* with the ones likely to answer first: connected, then due, then backing off."""
        now = self._clock()

        def rank(node: str) -> tuple[int, float]:
            conn = self._conns.get(node)
            if conn is not None and not conn.closed:
                return 0, 0.0
            failure = self._failures.get(node)
            if failure is None or failure.retry_at <= now:
                return 1, 0.0
            return 2, failure.retry_at

        return sorted(seeds, key=rank)

    async def keep_only(self, nodes: Iterable[str]) -> None:
        """Close connections to nodes that are no longer seeds nor cluster members."""
        keep = set(nodes)
        for node in [n for n in self._conns if n not in keep]:
            log.info("%s is no longer in the cluster; closing its connection", node)
            await self._conns.pop(node).close()
        for node in [n for n in self._failures if n not in keep]:
            del self._failures[node]
        for node in [n for n in self._locks if n not in keep and not self._locks[n].locked()]:
            del self._locks[node]

    async def close(self) -> None:
        conns, self._conns = self._conns, {}
        await asyncio.gather(*(c.close() for c in conns.values()), return_exceptions=True)

    def _record_failure(self, node: str, previous: _Failure | None, error: BaseException) -> None:
        attempts = previous.attempts + 1 if previous else 1
        high = min(self._max_backoff, BACKOFF_START * 2 ** (attempts - 1))
        delay = random.uniform(high / 2, high)
        self._failures[node] = _Failure(attempts, self._clock() + delay, error)
        if previous is None:
            log.debug("cannot connect to %s: %s", node, error)
