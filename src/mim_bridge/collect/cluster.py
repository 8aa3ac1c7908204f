"""Collect every node of a cluster, starting from whichever given node answers first.

MongooseIM runs its reporter on every node, each sending its own report (its own uptime, modules
and counters) under the cluster-wide client id. The bridge does the same from outside: it reads
the first reachable node, learns the other members from that node's ``nodes()``, and reads them
too, concurrently. ``get_connection`` is supplied by the caller, who owns connection reuse and
reconnects; this module only decides whom to ask.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from mim_bridge.collect.collector import Collector, NodeReport
from mim_bridge.erldist import Connection
from mim_bridge.errors import is_expected

__all__ = ["EXAMPLES", "ClusterReport", "GetConnection", "collect_cluster"]

log = logging.getLogger(__name__)

GetConnection = Callable[[str], Awaitable[Connection]]


@dataclass
class ClusterReport:
    client_id: str | None
    nodes: list[NodeReport]
    skipped: dict[str, str] = field(default_factory=dict)  # node -> why it was not read


async def _collect(get_connection: GetConnection, node: str,
                   previous: Mapping[str, Mapping[str, int]], call_timeout: float) -> NodeReport:
    conn = await get_connection(node)
    # Totals are keyed by the name the node gives itself, which --node may spell differently.
    prev = previous.get(conn.peer_name, previous.get(node))
    return await Collector(conn, call_timeout).collect(prev)


async def collect_cluster(get_connection: GetConnection, seeds: Sequence[str],
                          previous: Mapping[str, Mapping[str, int]] | None = None, *,
                          discover: bool = True, call_timeout: float = 10.0,
                          concurrency: int = 8) -> ClusterReport:
    """Read the first reachable seed, then (with *discover*) every other cluster member.

    Errors of the seeds propagate (the last one) when none answers; a discovered member that
    cannot be read is skipped with its reason, so one sick node does not silence the others.
    At most *concurrency* members are being connected to and read at any moment: a cluster of
    thousands must not open thousands of sockets at once. Failures are logged as one summary.
    """
    previous = previous or {}
    first: NodeReport | None = None
    error: BaseException | None = None
    for seed in seeds:
        try:
            first = await _collect(get_connection, seed, previous, call_timeout)
            break
        except Exception as e:
            if not is_expected(e):
                raise
            log.warning("cannot collect from %s: %s", seed, e)
            error = e
    if first is None:
        assert error is not None
        raise error
    reports = [first]
    skipped: dict[str, str] = {}
    others = [n for n in dict.fromkeys(first.members if discover else seeds) if n != first.node]
    if others:
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(node: str) -> NodeReport:
            async with gate:
                return await _collect(get_connection, node, previous, call_timeout)

        results = await asyncio.gather(*(one(n) for n in others), return_exceptions=True)
        failures: dict[str, list[str]] = {}
        for node, res in zip(others, results, strict=True):
            if isinstance(res, NodeReport):
                reports.append(res)
            elif isinstance(res, Exception) and is_expected(res):
                skipped[node] = str(res)
                failures.setdefault(type(res).__name__, []).append(node)
                log.debug("skipping cluster member %s: %s", node, res)
            else:
                raise res
        if failures:
            log.warning("%s", _skipped_summary(failures, skipped, len(others)))
    ids = {r.client_id for r in reports if r.client_id}
    if len(ids) > 1:
        log.warning("cluster members report %d different cluster ids; using %s's", len(ids),
                    first.node)
    return ClusterReport(first.client_id or next(iter(ids), None), reports, skipped)


EXAMPLES = 3


def _skipped_summary(failures: Mapping[str, list[str]], reasons: Mapping[str, str],
                     members: int) -> str:
    """One line for every member that could not be read, grouped by kind of error."""
    count = sum(len(nodes) for nodes in failures.values())
    parts = []
    for kind, nodes in sorted(failures.items(), key=lambda kv: len(kv[1]), reverse=True):
        also = nodes[1:EXAMPLES]
        more = len(nodes) - 1 - len(also)
        tail = (f"; also {', '.join(also)}" if also else "") + (
            f" and {more} more" if more else "")
        parts.append(f"{len(nodes)} {kind} ({nodes[0]}: {reasons[nodes[0]]}{tail})")
    return (f"skipping {count} of {members} other cluster member(s) that could not be read: "
            + "; ".join(parts) + " (-v lists each)")
