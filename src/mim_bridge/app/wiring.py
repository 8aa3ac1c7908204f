"""What every run mode builds the same way: the connections, the GA4 sender, the consent
check, the state directory's lock, signal handling.

The run modes (:mod:`.service`, :mod:`.oneshot`, :mod:`.check`) each use a subset and never
import each other; everything they share is here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mim_bridge.app.identity import identity_for, warn_about_other_bridges
from mim_bridge.app.statelock import StateLock
from mim_bridge.config import Config
from mim_bridge.erldist import Connection, connect
from mim_bridge.erldist.pool import NodePool
from mim_bridge.errors import Interrupted
from mim_bridge.pipeline import consent
from mim_bridge.report import ReportFileError

if TYPE_CHECKING:
    from mim_bridge.ga4 import Ga4Sender

__all__ = ["Sending", "build_pool", "build_sender", "capture_signals", "check_report_file",
           "interruptible", "reporting_allowed", "sending"]

log = logging.getLogger(__name__)


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


def build_sender(config: Config, stop: threading.Event | None = None) -> Ga4Sender:
    """The GA4 sender, its retries bounded by :attr:`Config.send_budget`, gated by the
    anonymity gate; setting *stop* ends its retries (what is left stays in the spool)."""
    from mim_bridge.ga4 import Ga4Sender  # lazily: requests/tenacity are only needed to send
    from mim_bridge.report import gate

    budget = config.send_budget
    return Ga4Sender(config.ga_url, config.destinations, config.state_dir / "spool",
                     attempt_timeout=min(10.0, budget), total_retry_seconds=budget,
                     initial_backoff=min(1.0, budget / 4), gate=gate, stop=stop)


def build_pool(config: Config, lock: StateLock | None = None) -> NodePool:
    """The connections under this run's node name; *lock*: the state directory's lock, held
    by the sending modes (they also look out for other bridges on the cluster)."""
    identity = identity_for(config.own_name, config.state_dir, lock)
    warned: set[str] = set()

    async def dial(node: str) -> Connection:
        # Erlang sends ticks every net_ticktime/4 and gives up after net_ticktime.
        conn = await connect(node, config.cookie, timeout=config.connect_timeout,
                             name=identity.name, tls=config.tls, epmd_port=config.epmd_port,
                             tick_interval=config.net_ticktime / 4,
                             net_ticktime=config.net_ticktime, replace_alive=identity.owned,
                             max_reply_memory=config.max_reply_memory)
        if lock is not None:
            await warn_about_other_bridges(conn, warned, min(config.call_timeout, 5.0))
        return conn

    return NodePool(dial, max_backoff=min(60.0, config.periodic_report))


@dataclass
class Sending:
    """What the sending modes (service, ``--once``) hold while they run."""

    sender: Ga4Sender
    pool: NodePool
    lock: StateLock
    stop: threading.Event = field(default_factory=threading.Event)


@contextlib.asynccontextmanager
async def sending(config: Config) -> AsyncIterator[Sending | None]:
    """The consent notice, the state directory's lock (one bridge per state directory), the
    report-file check, then the sender and the connections; None when reporting is disabled.
    Everything is closed and the lock released on the way out, however it is left."""
    if not reporting_allowed(config):
        yield None
        return
    with StateLock.acquire(config.state_dir) as lock:
        check_report_file(config.report_file)
        stop = threading.Event()
        sender = build_sender(config, stop)
        pool = build_pool(config, lock)
        try:
            yield Sending(sender, pool, lock, stop)
        finally:
            stop.set()
            await pool.close()
            sender.close()


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


async def interruptible(coro: Coroutine[Any, Any, int], on_stop: Callable[[], None]) -> int:
    """Run a one-shot step; SIGINT/SIGTERM cancel it and raise :class:`Interrupted`."""
    task = asyncio.ensure_future(coro)

    def stop(signum: int) -> None:
        on_stop()
        task.cancel()

    with capture_signals(stop, stop):
        try:
            return await task
        except asyncio.CancelledError:
            raise Interrupted("interrupted before the report was finished") from None
