"""The long-running bridge: startup checks, the report schedule, signals, bounded shutdown.

Lifecycle (after uvicorn's ``Server``)::

    startup   health (status file, --http-listen) → one summary line → consent → files
              writable → GA4 sender → connections → a first look at the cluster
    main loop wait for the next slot of the schedule (or the stop flag) → one report → repeat
    shutdown  on SIGTERM/SIGINT: the current step gets ``shutdown_timeout`` to finish, then it is
              cancelled; connections are closed; exit 0. A second signal stops at once.

The first look at startup collects without sending, so that a wrong cookie, a non-MongooseIM
node or a node's own ``report = false`` are reported within seconds instead of after
``initial_report``. Errors that retrying cannot fix stop the bridge at startup; an unreachable
node does not (it may still be starting): the reports retry it, failing over to the other
``--node``\\ s. A report whose collection failed is retried with backoff (1 s doubling up to
60 s) until it succeeds or the next slot of the schedule comes; retries never run into that slot.

Nothing a report throws ends the service: an unexpected error (a bug, an odd reply) is logged as
one line (with its traceback at ``-v``), counted, and the next slot runs. With reporting
disabled (``report = false``, ``DO_NOT_TRACK=1``, or every node's own ``report = false``) the
service says why once and idles until stopped, its health endpoints still answering: an exit
would only be turned into a restart loop by ``restart: unless-stopped`` or Kubernetes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import signal
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from mim_bridge import __version__
from mim_bridge.app.health.monitor import Monitor
from mim_bridge.app.health.status import FAILURE_KINDS
from mim_bridge.app.health.status import FILENAME as STATUS_FILENAME
from mim_bridge.app.wiring import capture_signals, sending
from mim_bridge.config import Config, ConfigError
from mim_bridge.errors import exit_status, is_expected, retry_can_help
from mim_bridge.ga4 import resolve_endpoint
from mim_bridge.pipeline import consent
from mim_bridge.pipeline.reporter import OutgoingReport, Reporter
from mim_bridge.pipeline.schedule import Schedule
from mim_bridge.pipeline.totals import FILENAME as STATE_FILENAME
from mim_bridge.pipeline.totals import StanzaState
from mim_bridge.report import ReportFileError
from mim_bridge.vocab.durations import format_duration

if TYPE_CHECKING:
    from mim_bridge.ga4 import DeliveryReport, Ga4Sender

__all__ = ["Clock", "Service", "run_service"]

log = logging.getLogger(__name__)

RETRY_START = 1.0
RETRY_MAX = 60.0


class Clock(Protocol):
    """Monotonic time and interruptible waiting (a fake one makes schedule tests instant)."""

    def now(self) -> float: ...

    async def sleep_until(self, deadline: float, stop: asyncio.Event) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float, stop: asyncio.Event) -> None:
        if math.isinf(deadline):
            await stop.wait()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, deadline - time.monotonic()))


def error_kind(error: BaseException) -> str:
    """The closed category of a collection error, for metrics and probes (no host names)."""
    kind = exit_status(error).name.lower()
    return kind if kind in FAILURE_KINDS else "internal"


def new_monitor(config: Config, *, status_file: bool = True) -> Monitor:
    """The monitor of a service with *config*; it may be late by the longest a report can
    legitimately take (collection timeouts, the send budget) before it counts as not ready."""
    grace = config.connect_timeout + 4 * config.call_timeout + config.send_budget + 30.0
    return Monitor(config.state_dir / STATUS_FILENAME if status_file else None,
                   config.initial_report, config.periodic_report, grace)


class Service:
    """The report loop. :meth:`run` returns the exit status."""

    def __init__(self, config: Config, reporter: Reporter, sender: Ga4Sender,
                 clock: Clock | None = None, monitor: Monitor | None = None) -> None:
        self.config = config
        self.reporter = reporter
        self.sender = sender
        self.clock = clock or MonotonicClock()
        self.monitor = monitor or new_monitor(config, status_file=False)
        self.stop = asyncio.Event()
        self.exit_status = 0
        self.reports = 0  # cycles run (for logs and tests)
        self.idle_reason: str | None = None  # set when no node may be reported

    def request_stop(self) -> None:
        self.stop.set()
        self.sender.stop.set()  # what it has not sent yet stays in the spool
        self.monitor.stopping()

    async def go_idle(self, reason: str, message: str) -> None:
        """Send nothing from now on: say why once, let go of the cluster, wait for a signal."""
        log.info("%s", message)
        self.idle_reason = reason
        self.monitor.disabled(reason)
        await self.reporter.pool.close()

    async def run(self) -> int:
        cfg = self.config
        schedule = Schedule(self.clock.now(), cfg.initial_report, cfg.periodic_report)
        if self.idle_reason is None:
            self.monitor.running()
        index = 0
        while self.idle_reason is None:
            self._due(schedule.due(index))
            await self.clock.sleep_until(schedule.due(index), self.stop)
            if self.stop.is_set():
                break
            await self._report_with_retries(index, schedule.due(index + 1))
            if self.stop.is_set() or self.idle_reason is not None:
                break
            following = schedule.next_index(index, self.clock.now())
            if following > index + 1:
                log.warning("report %d took longer than periodic_report (%s): skipping %d "
                            "slot(s) to keep the schedule", index + 1,
                            format_duration(cfg.periodic_report), following - index - 1)
            index = following
            log.debug("next report at %s", self._wall(schedule.due(index)))
        if self.idle_reason is not None:
            await self.clock.sleep_until(math.inf, self.stop)
        return self.exit_status

    def _due(self, deadline: float) -> None:
        self.monitor.next_report_in(deadline - self.clock.now())

    async def _report_with_retries(self, index: int, next_slot: float) -> None:
        """Report *index*; if it could not be collected, retry with backoff until it can, or
        until the next slot would come first (that slot's report then takes over). Retries
        never start after the next slot, so they neither stack nor shift the schedule."""
        delay, attempt = RETRY_START, 0
        while not await self.cycle(index, attempt):
            if self.stop.is_set():
                return
            retry_at = self.clock.now() + delay
            if retry_at >= next_slot:
                log.info("report %d: the next report retries (%s)", index + 1,
                         self._wall(next_slot))
                return
            log.info("report %d: retrying in %s", index + 1, format_duration(delay))
            await self.clock.sleep_until(retry_at, self.stop)
            if self.stop.is_set():
                return
            delay, attempt = min(delay * 2, RETRY_MAX), attempt + 1

    async def cycle(self, index: int, attempt: int = 0) -> bool:
        """One report attempt; False if the cluster could not be collected (worth retrying).

        Every failure is logged (a failed retry at INFO, so that a long outage does not flood
        the warnings); one after the collection (the report file, GA4) is not retried: the
        report is sent anyway, or waits in the spool for the next one. Whatever else goes
        wrong is logged as one line (the traceback at ``-v``) and counted, and the next slot
        runs: nothing a report throws ends the service.
        """
        self.reports += 1
        try:
            return await self._cycle(index + 1, attempt)
        except Exception as e:
            summary_line = f"{type(e).__name__}: {e}"
            log.error("report %d: unexpected error: %s; the next report runs as scheduled "
                      "(please report this%s)", index + 1, summary_line,
                      "" if self.config.verbosity > 0 else "; -v shows the traceback",
                      exc_info=e if self.config.verbosity > 0 else None)
            self.monitor.internal_error(summary_line)
            return True

    async def _cycle(self, number: int, attempt: int) -> bool:
        monitor = self.monitor
        started = time.monotonic()
        try:
            prepared = await self.reporter.collect()
        except Exception as e:
            if not is_expected(e):
                raise
            # A wrong cookie or a foreign node does not heal within seconds, and every retry
            # would log a rejected connection on the node: those wait for the next slot.
            retry = retry_can_help(e)
            log.log(logging.WARNING if attempt == 0 or not retry else logging.INFO,
                    "report %d: could not collect (%s)", number, e)
            monitor.unreachable(error_kind(e), str(e))
            return not retry
        monitor.reached(len(prepared.collected), time.monotonic() - started)
        if prepared.all_opted_out:
            monitor.report("nothing_to_report", not_reported=len(prepared.not_reported))
            await self.go_idle("report = false on every node", consent.all_nodes_opted_out())
            return True
        if not prepared.reports:
            log.info("report %d: no node to report (%s)", number,
                     "; ".join(f"{n}: {why}" for n, why in prepared.not_reported.items()))
            monitor.report("nothing_to_report", not_reported=len(prepared.not_reported),
                           connections=self.reporter.pool.open_count)
            return True
        try:
            self.reporter.write_file(prepared)
        except ReportFileError as e:
            log.error("report %d: %s; sending anyway", number, e)
        sending = time.monotonic()
        deliveries = await self.reporter.send(self.sender, prepared, self.sender.stop)
        send_seconds = time.monotonic() - sending
        self.reporter.commit(prepared, deliveries)
        log.info("%s", summary(number, prepared, deliveries))
        log.debug("resources: %d open connection(s), %d task(s), %d thread(s)",
                  self.reporter.pool.open_count, len(asyncio.all_tasks()),
                  threading.active_count())
        monitor.report("sent" if delivered(prepared, deliveries) else "spooled",
                       not_reported=len(prepared.not_reported), send_seconds=send_seconds,
                       spool_batches=len(self.sender.spool),
                       connections=self.reporter.pool.open_count)
        return True

    @staticmethod
    def _wall(deadline: float) -> str:
        at = datetime.datetime.now().astimezone() + datetime.timedelta(
            seconds=deadline - time.monotonic())
        return at.isoformat(timespec="seconds")


def delivered(prepared: OutgoingReport, deliveries: dict[str, DeliveryReport]) -> bool:
    """Whether GA4 took every node's report."""
    return all(d.ok for d in deliveries.values()) and len(deliveries) == len(prepared.reports)


def summary(number: int, prepared: OutgoingReport, deliveries: dict[str, DeliveryReport]) -> str:
    events = sum(len(e) for _, e in prepared.reports)
    from mim_bridge.ga4.sender import describe_problems  # loaded by now: a report was just sent

    problems = describe_problems(deliveries.values()) or "stopped before every node was sent"
    state = "sent" if delivered(prepared, deliveries) else f"not all delivered ({problems})"
    skipped = f"; not reported: {', '.join(prepared.not_reported)}" if prepared.not_reported \
        else ""
    return (f"report {number}: {state}: {events} events from {len(prepared.reports)} node(s), "
            f"client id {prepared.client_id.value} ({prepared.client_id.source}){skipped}")


def startup_summary(config: Config, health: str | None) -> str:
    """One line saying what the service is about to do: measurement ids, never secrets."""
    members = (f" and the other members of their cluster (at most {config.node_concurrency} "
               "at once)" if config.discover else " only")
    if config.disabled_by is not None:
        plan = f"reporting disabled by {config.disabled_by}"
    else:
        endpoint = resolve_endpoint(config.ga_url)
        plan = (f"first report in {format_duration(config.initial_report)}, then every "
                f"{format_duration(config.periodic_report)}, to GA4 "
                f"{', '.join(d.measurement_id for d in config.destinations)} at {endpoint}")
    probes = f"http://{health} (/healthz /readyz /metrics)" if health else \
        "no HTTP endpoint (--http-listen)"
    return (f"mim-metrics-bridge {__version__} starting: nodes {', '.join(config.nodes)}"
            f"{members}; {plan}; report file {config.report_file}; state directory "
            f"{config.state_dir}; health: status file, {probes}")


@contextlib.asynccontextmanager
async def health_services(config: Config, monitor: Monitor) -> AsyncIterator[str | None]:
    """The status file's heartbeat and, with ``--http-listen``, the HTTP endpoint (yields its
    address). Neither ever contacts the cluster or GA4."""
    server = None
    address = None
    if config.http_listen is not None:
        from mim_bridge.app.health.http import HealthServer  # prometheus_client only when asked for

        host, port = config.http_listen
        server = HealthServer(monitor, host, port)
        try:
            address = await server.start()
        except OSError as e:
            raise ConfigError(f"cannot listen on {host or '*'}:{port} (--http-listen): "
                              f"{e.strerror or e}; choose another address or port") from None
        monitor.http_listen = address
    heartbeat = asyncio.ensure_future(monitor.heartbeat())
    try:
        yield address
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        if server is not None:
            await server.close()
        monitor.remove()


async def run_service(config: Config) -> int:
    """The service mode of the command line; returns the exit status."""
    monitor = new_monitor(config)
    async with health_services(config, monitor) as health:
        log.info("%s", startup_summary(config, health))
        if config.disabled_by is not None:
            log.info("%s", consent.disabled(config.disabled_by, idle=True))
            monitor.disabled(config.disabled_by)
            return await _idle_until_stopped(monitor)
        async with sending(config) as run:
            if run is None:
                return 0
            reporter = Reporter(config, run.pool,
                                StanzaState(config.state_dir / STATE_FILENAME))
            service = Service(config, reporter, run.sender, monitor=monitor)
            return await _supervise(service, _startup(service))


async def _idle_until_stopped(monitor: Monitor) -> int:
    stop = asyncio.Event()

    def first(signum: int) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        monitor.stopping()
        stop.set()

    with capture_signals(first, first):
        await stop.wait()
    return 0


async def _startup(service: Service) -> int:
    """A first look at the cluster, then the loop."""
    monitor = service.monitor
    try:
        prepared = await service.reporter.collect(discover=False)
    except Exception as e:
        monitor.unreachable(error_kind(e), str(e), counted=False)
        if is_expected(e) and not retry_can_help(e):
            raise  # a wrong cookie, TLS, not MongooseIM: the configuration must change
        if is_expected(e):
            log.warning("cannot read any node yet (%s); the reports will retry", e)
        else:
            log.error("the first look at the cluster failed with an unexpected error: %s: %s; "
                      "the reports will retry (please report this%s)", type(e).__name__, e,
                      "" if service.config.verbosity > 0 else "; -v shows the traceback",
                      exc_info=e if service.config.verbosity > 0 else None)
    else:
        monitor.first_look(len(prepared.collected))
        if prepared.all_opted_out:
            await service.go_idle("report = false on every node", consent.all_nodes_opted_out())
    return await service.run()


async def _supervise(service: Service, main_coro: Coroutine[Any, Any, int]) -> int:
    main = asyncio.ensure_future(main_coro)
    timeout = service.config.shutdown_timeout

    def first(signum: int) -> None:
        log.info("received %s: stopping (at most %s)", signal.Signals(signum).name,
                 format_duration(timeout))
        service.request_stop()

    def second(signum: int) -> None:
        log.warning("received %s again: stopping now", signal.Signals(signum).name)
        main.cancel()

    with capture_signals(first, second):
        stopping = asyncio.ensure_future(service.stop.wait())
        try:
            await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not main.done():
                done, _ = await asyncio.wait({main}, timeout=timeout)
                if not done:
                    log.warning("the current step did not finish within %s; abandoning it",
                                format_duration(timeout))
                    main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
        finally:
            stopping.cancel()
    if main.cancelled():
        return 0
    return main.result()
