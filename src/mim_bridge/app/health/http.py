"""``/healthz``, ``/readyz`` and ``/metrics`` on ``--http-listen``, inside the service's event loop.

Serving from the loop itself is the liveness test: a blocked loop answers nothing, and the probe
times out. Nothing here contacts the cluster or GA4; every answer is built from the
:class:`~.monitor.Monitor` in memory. A client gets one request per connection, must send its
request head (at most 8 KiB) within :data:`REQUEST_TIMEOUT` seconds and read the answer within
the same time, and at most :data:`MAX_CLIENTS` connections are served at once (more are closed
at once), so a slow or hostile client costs a bounded amount and never holds up the reports.

``/metrics`` is the Prometheus text format, rendered by ``prometheus_client`` (imported only
when the endpoint is on) from a collector that reads the monitor at scrape time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from mim_bridge import __version__
from mim_bridge.app.health.monitor import Monitor
from mim_bridge.app.health.status import FAILURE_KINDS, RESULTS

__all__ = ["MAX_CLIENTS", "MAX_REQUEST_HEAD", "REQUEST_TIMEOUT", "HealthServer",
           "metrics_registry"]

log = logging.getLogger(__name__)

# The classic text format every Prometheus server reads (the bridge's names are all legacy-safe);
# newer prometheus_client releases label their output 1.0.0, which older servers may refuse.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_CLIENTS = 8
MAX_REQUEST_HEAD = 8192
REQUEST_TIMEOUT = 5.0


class _BridgeCollector(Collector):
    """Every ``mim_bridge_*`` metric, read from the monitor when Prometheus scrapes."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        m = self.monitor
        verdict = m.verdict()
        info = GaugeMetricFamily("mim_bridge_build_info", "The bridge's version.",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield _gauge("mim_bridge_live", "1 when the report loop runs (as /healthz).",
                     verdict.live)
        yield _gauge("mim_bridge_ready", "1 when the schedule is kept and the last attempt "
                     "reached a node, or reporting is disabled (as /readyz).", verdict.ready)
        yield _gauge("mim_bridge_reporting_enabled", "0 when report = false, DO_NOT_TRACK or "
                     "every node's own report = false disable reporting.",
                     m.state != "disabled")
        reports = CounterMetricFamily("mim_bridge_reports", "Report attempts by result.",
                                      labels=["result"])
        for result in RESULTS:
            reports.add_metric([result], m.reports.get(result, 0))
        yield reports
        failures = CounterMetricFamily("mim_bridge_collect_failures", "Attempts that could "
                                       "not read any node, by kind of error.", labels=["kind"])
        for kind in FAILURE_KINDS:
            failures.add_metric([kind], m.failures.get(kind, 0))
        yield failures
        for name, doc, value in (
            ("mim_bridge_last_attempt_timestamp_seconds", ("When the cluster was last read (or "
             "tried), Unix time."), (m.last_attempt or {}).get("at")),
            ("mim_bridge_last_success_timestamp_seconds", ("When a report was last collected "
             "and handed to GA4 (sent or spooled), Unix time."), m.last_success_at),
            ("mim_bridge_next_report_timestamp_seconds", ("When the next report is due, Unix "
             "time."), m.next_report_at),
        ):
            if value is not None:
                yield _gauge(name, doc, value)
        yield _summary("mim_bridge_collection_duration_seconds", "Time to read the cluster, "
                       "per report.", m.collection.count, m.collection.total)
        yield _summary("mim_bridge_send_duration_seconds", "Time to hand a report to GA4 "
                       "(retries and spool included), per report.", m.sending.count,
                       m.sending.total)
        yield _gauge("mim_bridge_spool_batches", "Batches GA4 has not taken yet, waiting in "
                     "the spool.", m.spool_batches)
        yield _gauge("mim_bridge_nodes_reached", "Cluster members read at the last report.",
                     m.nodes_reached)
        yield _gauge("mim_bridge_nodes_not_reported", "Members not reported at the last report "
                     "(unreadable, opted out, or reported by their own service).",
                     m.nodes_not_reported)
        yield _gauge("mim_bridge_node_reachable", "1 when the last attempt read a node.",
                     m.node_reachable is True)
        yield _gauge("mim_bridge_connections_open", "Open distribution connections after the "
                     "last report.", m.connections_open)
        yield _gauge("mim_bridge_asyncio_tasks", "Tasks of the event loop (flat in a healthy "
                     "bridge).", len(asyncio.all_tasks()))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))


def _summary(name: str, doc: str, count: int, total: float) -> SummaryMetricFamily:
    return SummaryMetricFamily(name, doc, count_value=count, sum_value=total)


def metrics_registry(monitor: Monitor) -> CollectorRegistry:
    """The bridge's metrics and the process's (memory, descriptors, CPU), nothing global."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    registry.register(_BridgeCollector(monitor))
    return registry


class HealthServer:
    """The endpoint; :meth:`start` returns the address it listens on (port 0 picks one)."""

    def __init__(self, monitor: Monitor, host: str, port: int) -> None:
        self.monitor = monitor
        self.host = host
        self.port = port
        self.registry = metrics_registry(monitor)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[Any]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(
            self._accept, self.host or None, self.port, limit=MAX_REQUEST_HEAD,
            reuse_address=True)
        host, port = self._server.sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._clients) >= MAX_CLIENTS or task is None:
            writer.transport.abort()
            return
        self._clients.add(task)
        closed = False
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                await self._serve(reader, writer)
                writer.close()  # flushes what is left of the answer, within the deadline
                await writer.wait_closed()
                closed = True
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass  # the client was too slow, too big or went away: just hang up
        except Exception:
            log.exception("health endpoint: unexpected error answering a request")
        finally:
            self._clients.discard(task)
            if not closed:
                writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            await _answer(writer, 400, b"bad request\n")
            return
        method, target = parts[0], parts[1].split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            await _answer(writer, 405, b"only GET and HEAD\n", {"Allow": "GET, HEAD"})
            return
        body, status, content_type = self._route(target)
        await _answer(writer, status, body, {"Content-Type": content_type},
                      head_only=method == "HEAD")

    def _route(self, target: str) -> tuple[bytes, int, str]:
        text = "text/plain; charset=utf-8"
        if target == "/metrics":
            return generate_latest(self.registry), 200, CONTENT_TYPE
        if target in ("/healthz", "/readyz"):
            verdict = self.monitor.verdict()
            good = verdict.live if target == "/healthz" else verdict.ready
            word = ("ok" if good else "not live") if target == "/healthz" else (
                "ready" if good else "not ready")
            return f"{word}: {verdict.reason}\n".encode(), 200 if good else 503, text
        return b"not found: try /healthz, /readyz or /metrics\n", 404, text


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes,
                  headers: dict[str, str] | None = None, *, head_only: bool = False) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Length: {len(body)}",
             "Connection: close", "Cache-Control: no-store",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if not head_only:
        writer.write(body)
    await writer.drain()
