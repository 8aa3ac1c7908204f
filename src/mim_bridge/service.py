"""The long-running bridge: startup checks, the report schedule, signals, bounded shutdown.

Lifecycle (after uvicorn's ``Server``)::

    startup   consent → files writable → GA4 sender → connections → a first look at the cluster
    main loop wait for the next slot of the schedule (or the stop flag) → one report → repeat
    shutdown  on SIGTERM/SIGINT: the current step gets ``shutdown_timeout`` to finish, then it is
              cancelled; connections are closed; exit 0. A second signal stops at once.

The first look at startup collects without sending, so that a wrong cookie, a non-MongooseIM
node or a node's own ``report = false`` are reported within seconds instead of after
``initial_report``. Errors that retrying cannot fix stop the bridge; an unreachable node does not
(it may still be starting): the reports retry it, failing over to the other ``--node``\\ s. A
report whose collection failed is retried with backoff (1 s doubling up to 60 s) until it
succeeds or the next slot of the schedule comes; retries never run into that slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import consent
from .collect import CollectError, NodeNotReady, NotMongooseIM
from .config import Config
from .cycle import Prepared, Reporter
from .erldist import (
    ConnectError,
    CookieMismatch,
    ErldistError,
    HandshakeRefused,
    TlsError,
)
from .nodes import NodePool, identity_for
from .report import ReportError, ReportFileError
from .schedule import Schedule
from .state import FILENAME as STATE_FILENAME
from .state import StanzaState
from .statelock import StateLock

if TYPE_CHECKING:
    from .ga4 import DeliveryReport, Ga4Sender

__all__ = ["Clock", "Service", "StopAwareTime", "build_pool", "build_sender", "capture_signals",
           "check_report_file", "format_duration", "reporting_allowed", "run_service"]

log = logging.getLogger(__name__)

# Errors after which retrying cannot help: the configuration must change.
FATAL = (CookieMismatch, HandshakeRefused, TlsError, NotMongooseIM)
# Errors of one report's collection, retried with backoff until the next report is due.
RETRYABLE = (ErldistError, CollectError, OSError, ReportError)
RETRY_START = 1.0
RETRY_MAX = 60.0


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def reporting_allowed(config: Config, *, notice: bool = True) -> bool:
    """Log the consent situation: False (and why) when reporting is disabled.

    With *notice*, an unset ``report`` logs the transparency notice, as MongooseIM does when its
    service starts; modes that report nothing (``--validate``) pass False.
    """
    reason = config.disabled_by
    if reason is not None:
        log.info("%s", consent.disabled(reason))
        return False
    if config.report is None and notice:
        log.warning("%s", consent.transparency_notice(config.report_file),
                    extra={"what": "report_transparency",
                           "report_filename": str(config.report_file)})
    return True


def check_report_file(path: Path) -> None:
    """Fail at startup, not at the first report, if the report file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportFileError(f"cannot create the directory of the report file {path}: "
                              f"{e.strerror or e}; choose another place with --report-file") from e
    if path.is_dir():
        raise ReportFileError(f"the report file {path} is a directory; give a file name with "
                              "--report-file")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ReportFileError(f"cannot write the report file {path}: permission denied; "
                              "choose another place with --report-file")


class StopAwareTime:
    """Clock and sleep for the (threaded) GA4 sender that end its retries once we stop.

    After the stop flag is set, time appears to jump far ahead, so the sender sees its budget
    spent and leaves the remaining batches in the spool; sleeps end early.
    """

    def __init__(self) -> None:
        self.stopping = threading.Event()

    def clock(self) -> float:
        return time.monotonic() + (1e9 if self.stopping.is_set() else 0.0)

    def sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)


def build_sender(config: Config, time_source: StopAwareTime | None = None) -> Ga4Sender:
    """The GA4 sender, its retries bounded by :attr:`Config.send_budget`."""
    from .ga4 import Ga4Sender  # lazily: requests/tenacity are only needed to send

    budget = config.send_budget
    ts = time_source or StopAwareTime()
    return Ga4Sender(config.ga_url, config.destinations, config.state_dir / "spool",
                     attempt_timeout=min(10.0, budget), total_retry_seconds=budget,
                     initial_backoff=min(1.0, budget / 4), clock=ts.clock, sleep=ts.sleep)


def sending_setup(config: Config) -> tuple[StopAwareTime, Ga4Sender, NodePool, StateLock] | None:
    """What the sending modes (service, ``--once``) need, after the consent notice, the state
    directory's lock (one bridge per state directory, held until :meth:`StateLock.release`)
    and the report-file check; None when reporting is disabled."""
    if not reporting_allowed(config):
        return None
    lock = StateLock.acquire(config.state_dir)
    try:
        check_report_file(config.report_file)
        time_source = StopAwareTime()
        return time_source, build_sender(config, time_source), build_pool(config, lock), lock
    except BaseException:
        lock.release()
        raise


def build_pool(config: Config, lock: StateLock | None = None) -> NodePool:
    """The connections under this run's node name; *lock*: the state directory's lock, held
    by the sending modes (they also look out for other bridges on the cluster)."""
    return NodePool.for_erlang(
        config.cookie, identity=identity_for(config.own_name, config.state_dir, lock),
        tls=config.tls, epmd_port=config.epmd_port,
        connect_timeout=config.connect_timeout, net_ticktime=config.net_ticktime,
        max_backoff=min(60.0, config.periodic_report),
        max_reply_memory=config.max_reply_memory, warn_other_bridges=lock is not None,
        call_timeout=config.call_timeout)


class Clock(Protocol):
    """Monotonic time and interruptible waiting (a fake one makes schedule tests instant)."""

    def now(self) -> float: ...

    async def sleep_until(self, deadline: float, stop: asyncio.Event) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, deadline - time.monotonic()))


class Service:
    """The report loop. :meth:`run` returns the exit status."""

    def __init__(self, config: Config, reporter: Reporter, sender: Ga4Sender,
                 time_source: StopAwareTime, clock: Clock | None = None) -> None:
        self.config = config
        self.reporter = reporter
        self.sender = sender
        self.time_source = time_source
        self.clock = clock or MonotonicClock()
        self.stop = asyncio.Event()
        self.exit_status = 0
        self.reports = 0  # cycles run (for logs and tests)

    def request_stop(self) -> None:
        self.stop.set()
        self.time_source.stopping.set()

    async def run(self) -> int:
        cfg = self.config
        schedule = Schedule(self.clock.now(), cfg.initial_report, cfg.periodic_report)
        log.info("reporting every %s; first report in %s (%s)",
                 format_duration(cfg.periodic_report), format_duration(cfg.initial_report),
                 self._wall(schedule.due(0)))
        index = 0
        while True:
            await self.clock.sleep_until(schedule.due(index), self.stop)
            if self.stop.is_set():
                break
            await self._report_with_retries(index, schedule.due(index + 1))
            if self.stop.is_set():
                break
            following = schedule.next_index(index, self.clock.now())
            if following > index + 1:
                log.warning("report %d took longer than periodic_report (%s): skipping %d "
                            "slot(s) to keep the schedule", index + 1,
                            format_duration(cfg.periodic_report), following - index - 1)
            index = following
            log.debug("next report at %s", self._wall(schedule.due(index)))
        return self.exit_status

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
        report is sent anyway, or waits in the spool for the next one.
        """
        self.reports += 1
        number = index + 1
        try:
            prepared = await self.reporter.prepare()
        except FATAL as e:
            # A wrong cookie or a foreign node does not heal within seconds, and every retry
            # would log a rejected connection on the node: wait for the next slot instead.
            log.warning("report %d: could not collect (%s)", number, e)
            return True
        except RETRYABLE as e:
            log.log(logging.WARNING if attempt == 0 else logging.INFO,
                    "report %d: could not collect (%s)", number, e)
            return False
        if prepared.all_opted_out:
            log.info("no node may be reported; the bridge exits")
            self.request_stop()
            return True
        if not prepared.reports:
            log.info("report %d: no node to report (%s)", number,
                     "; ".join(f"{n}: {why}" for n, why in prepared.not_reported.items()))
            return True
        try:
            self.reporter.write_file(prepared)
        except ReportFileError as e:
            log.error("report %d: %s; sending anyway", number, e)
        deliveries = await self.reporter.send(self.sender, prepared, self.time_source.stopping)
        self.reporter.commit(prepared, deliveries)
        log.info("%s", summary(number, prepared, deliveries))
        log.debug("resources: %d open connection(s), %d task(s), %d thread(s)",
                  self.reporter.pool.open_count, len(asyncio.all_tasks()),
                  threading.active_count())
        return True

    @staticmethod
    def _wall(deadline: float) -> str:
        at = datetime.datetime.now().astimezone() + datetime.timedelta(
            seconds=deadline - time.monotonic())
        return at.isoformat(timespec="seconds")


def summary(number: int, prepared: Prepared, deliveries: dict[str, DeliveryReport]) -> str:
    events = sum(len(e) for _, e in prepared.reports)
    pending = max((d.pending for d in deliveries.values()), default=0)
    delivered = all(d.ok for d in deliveries.values()) and len(deliveries) == len(
        prepared.reports)
    state = "sent" if delivered else f"not all delivered ({pending} batch(es) wait in the spool)"
    skipped = f"; not reported: {', '.join(prepared.not_reported)}" if prepared.not_reported \
        else ""
    return (f"report {number}: {state}: {events} events from {len(prepared.reports)} node(s), "
            f"client id {prepared.client_id.value} ({prepared.client_id.source}){skipped}")


@contextlib.contextmanager
def capture_signals(on_first: Callable[[int], None],
                    on_second: Callable[[int], None]) -> Iterator[None]:
    """SIGTERM/SIGINT call *on_first*, any later one *on_second*; handlers restored after."""
    loop = asyncio.get_running_loop()
    seen = 0

    def handle(signum: int) -> None:
        nonlocal seen
        seen += 1
        (on_first if seen == 1 else on_second)(signum)

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, handle, sig)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def run_service(config: Config) -> int:
    """The service mode of the command line; returns the exit status."""
    setup = sending_setup(config)
    if setup is None:
        return 0
    time_source, sender, pool, lock = setup
    reporter = Reporter(config, pool, StanzaState(config.state_dir / STATE_FILENAME))
    service = Service(config, reporter, sender, time_source)
    try:
        return await _supervise(service, _startup(service))
    finally:
        await pool.close()
        sender.close()
        lock.release()


async def _startup(service: Service) -> int:
    """A first look at the cluster, then the loop."""
    try:
        prepared = await service.reporter.prepare(discover=False)
    except FATAL:
        raise
    except (ConnectError, ErldistError, NodeNotReady, OSError) as e:
        log.warning("cannot read any node yet (%s); the reports will retry", e)
    else:
        if prepared.all_opted_out:
            log.info("no node may be reported; the bridge exits")
            return 0
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
