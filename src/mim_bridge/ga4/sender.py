"""The GA4 sender façade: spool first, then batches of at most 25, retried within a time budget.

Theory of operation. :meth:`Ga4Sender.send` runs in three steps:

1. The events pass the anonymity gate and GA4's limits (:mod:`.payload`); fixes are logged.
2. Every batch is written to the spool once per destination (MongooseIM sends every event to
   every tracking id) *before* anything is sent: a crash from here on loses nothing.
3. The spool is drained oldest first, so batches left over from an earlier report go out before
   the new ones. Each batch is retried with tenacity (exponential backoff with jitter, honouring
   ``Retry-After``) on connection errors, timeouts, 429 and 5xx; it is removed from the spool
   after a 2xx, or after another 4xx (GA4 asks not to resend those; the batch is logged).

If the spool cannot be written (disk full), the batches are still sent, without a kept copy.
The whole call is bounded by ``total_retry_seconds``: every attempt's timeout is cut to what is
left, no backoff sleeps past it, and once a destination has used up its retries the rest of its
batches wait in the spool for the next call. A crash between a 2xx and the spool removal re-sends
that one batch next time; nothing else is lost or sent twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from mim_bridge import __version__
from mim_bridge.events import Event
from mim_bridge.ga4.destinations import Destination, collect_url, debug_endpoint, resolve_endpoint
from mim_bridge.ga4.errors import (
    DeliveryError,
    RejectedError,
    RetryableDeliveryError,
    SpoolError,
    TrackingIdError,
)
from mim_bridge.ga4.limits import LimitFix
from mim_bridge.ga4.payload import Batch, PreparedReport, prepare
from mim_bridge.ga4.spool import DEFAULT_MAX_BATCHES, Spool
from mim_bridge.ga4.transport import HttpPoster, ResponseLike, post_once
from mim_bridge.ga4.validation import ValidationMessage, from_fixes, parse_validation_response
from mim_bridge.report.anonymise import anonymise

__all__ = ["BatchOutcome", "DeliveryReport", "Ga4Sender", "anonymity_gate"]

log = logging.getLogger(__name__)

Gate = Callable[[Sequence[Event]], Sequence[Event]]
MIN_ATTEMPT_SECONDS = 0.05
"""No attempt starts with less time than this left in the budget."""


def anonymity_gate(events: Sequence[Event]) -> Sequence[Event]:
    """The default gate: only allowlisted names leave the machine (see mim_bridge.report)."""
    return anonymise(events).events


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one batch for one destination during a :meth:`Ga4Sender.send`.

    ``delivered``: GA4 answered 2xx. ``rejected``: another 4xx; not resent. ``pending``: kept in
    the spool for the next call. ``dropped``: its destination is no longer configured, or it
    could neither be delivered nor spooled.
    """

    measurement_id: str
    events: int
    status: Literal["delivered", "rejected", "pending", "dropped"]
    http_status: int | None
    attempts: int
    from_spool: bool


@dataclass(frozen=True)
class DeliveryReport:
    """The result of one send: per-batch outcomes, limit fixes, and what is still spooled."""

    outcomes: tuple[BatchOutcome, ...]
    fixes: tuple[LimitFix, ...]
    pending: int
    elapsed: float

    @property
    def delivered(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "delivered")

    @property
    def rejected(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "rejected")

    @property
    def ok(self) -> bool:
        """Everything GA4 was given was accepted and nothing waits in the spool."""
        return self.pending == 0 and all(o.status == "delivered" for o in self.outcomes)


class Ga4Sender:
    """Sends reports to every destination; see the module docstring for the guarantees."""

    def __init__(
        self,
        endpoint: str | None,
        destinations: Sequence[Destination],
        spool_dir: Path,
        *,
        attempt_timeout: float = 10.0,
        total_retry_seconds: float = 60.0,
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_spool_batches: int = DEFAULT_MAX_BATCHES,
        session: HttpPoster | None = None,
        gate: Gate | None = anonymity_gate,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not destinations:
            raise TrackingIdError("no GA4 destination configured")
        if attempt_timeout <= 0 or total_retry_seconds <= 0:
            raise ValueError("attempt_timeout and total_retry_seconds must be positive")
        self.endpoint = resolve_endpoint(endpoint)
        self.destinations = tuple(destinations)
        self.spool = Spool(spool_dir, max_spool_batches)
        self.attempt_timeout = attempt_timeout
        self.total_retry_seconds = total_retry_seconds
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._own_session = session is None
        self._session: HttpPoster = session if session is not None else _default_session()
        self._gate = gate
        self._sleep = sleep
        self._clock = clock

    # -- public API ---------------------------------------------------------------------------

    def send(self, client_id: str, events: Sequence[Event]) -> DeliveryReport:
        """Spool the report for every destination, then deliver the spool oldest first."""
        started = self._clock()
        prepared = self._prepare(client_id, events)
        fresh: set[Path] = set()
        unspooled: list[tuple[str, Batch]] = []
        for batch in prepared.batches:
            for dest in self.destinations:
                try:
                    fresh.add(self.spool.add(dest.measurement_id, batch).path)
                except SpoolError as exc:
                    # Without a disk the batch can still be delivered now, just not kept.
                    log.error("GA4: %s; sending without keeping a copy", exc)
                    unspooled.append((dest.measurement_id, batch))
        return self._drain(started, prepared.fixes, fresh, unspooled)

    def validate(self, client_id: str, events: Sequence[Event]) -> list[ValidationMessage]:
        """Send the report to GA4's validation server instead; return its findings.

        The validation server checks neither the measurement id nor the secret, so one
        destination is enough. Our own limit fixes come first, as ``FIXED_BEFORE_SENDING``.
        Raises :class:`DeliveryError` if the server cannot be reached within the budget.
        """
        prepared = self._prepare(client_id, events)
        messages = from_fixes(prepared.fixes)
        deadline = self._clock() + self.total_retry_seconds
        url = collect_url(debug_endpoint(self.endpoint), self.destinations[0])
        for index, batch in enumerate(prepared.batches):
            response, _ = self._deliver(url, batch.body, deadline)
            try:
                payload = response.json()
            except ValueError:
                payload = None
            finally:
                response.close()
            messages.extend(parse_validation_response(payload, index))
        return messages

    def close(self) -> None:
        if self._own_session and isinstance(self._session, requests.Session):
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _prepare(self, client_id: str, events: Sequence[Event]) -> PreparedReport:
        safe = events if self._gate is None else self._gate(events)
        prepared = prepare(client_id, safe)
        for fix in prepared.fixes:
            log.warning("GA4 limits: %s", fix)
        return prepared

    def _drain(
        self,
        started: float,
        fixes: Sequence[LimitFix],
        fresh: set[Path],
        unspooled: Sequence[tuple[str, Batch]],
    ) -> DeliveryReport:
        deadline = started + self.total_retry_seconds
        gave_up: set[str] = set()  # destinations that used up their retries in this call
        outcomes: list[BatchOutcome] = []
        with self.spool.exclusive() as owned:
            if not owned:
                log.info("GA4 spool is being sent by another bridge process; batches wait there")
            for item in self.spool.pending() if owned else []:
                outcome = self._attempt(item.measurement_id, item.batch, deadline, gave_up)
                if outcome.status != "pending":
                    self.spool.remove(item)
                outcomes.append(replace(outcome, from_spool=item.path not in fresh))
        for mid, batch in unspooled:
            outcome = self._attempt(mid, batch, deadline, gave_up)
            if outcome.status == "pending":
                log.error("GA4: lost a batch of %d events for %s", len(batch.events), mid)
                outcome = replace(outcome, status="dropped")
            outcomes.append(outcome)
        pending = len(self.spool)
        if pending:
            log.warning("GA4: %d batch(es) wait in the spool for the next report", pending)
        return DeliveryReport(tuple(outcomes), tuple(fixes), pending, self._clock() - started)

    def _attempt(self, mid: str, batch: Batch, deadline: float, gave_up: set[str]) -> BatchOutcome:
        """Deliver one batch to one destination; the caller decides what to do with the file."""
        count = len(batch.events)
        dest = next((d for d in self.destinations if d.measurement_id == mid), None)
        if dest is None:
            log.warning("GA4: dropped a spooled batch for %s, which is no longer configured", mid)
            return BatchOutcome(mid, count, "dropped", None, 0, False)
        if mid in gave_up or deadline - self._clock() < MIN_ATTEMPT_SECONDS:
            return BatchOutcome(mid, count, "pending", None, 0, False)
        try:
            response, attempts = self._deliver(
                collect_url(self.endpoint, dest), batch.body, deadline, mid
            )
        except RejectedError as exc:
            log.error(
                "GA4 %s rejected a batch of %d events (%s); not resending it", mid, count, exc
            )
            return BatchOutcome(mid, count, "rejected", exc.status, exc.attempts, False)
        except DeliveryError as exc:
            gave_up.add(mid)
            log.warning("GA4 %s unreachable (%s); the batch stays in the spool", mid, exc)
            return BatchOutcome(mid, count, "pending", exc.status, exc.attempts, False)
        status = response.status_code
        response.close()
        return BatchOutcome(mid, count, "delivered", status, attempts, False)

    def _deliver(
        self, url: str, body: bytes, deadline: float, label: str = "validation"
    ) -> tuple[ResponseLike, int]:
        """POST with retries until a 2xx, a non-retryable error, or the end of the budget."""
        attempts = 0

        def attempt() -> ResponseLike:
            nonlocal attempts
            remaining = deadline - self._clock()
            if remaining < MIN_ATTEMPT_SECONDS:
                raise DeliveryError("time budget used up")
            attempts += 1
            return post_once(self._session, url, body, min(self.attempt_timeout, remaining))

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            sleep = state.next_action.sleep if state.next_action else 0.0
            log.info(
                "GA4 %s: attempt %d failed (%s); retrying in %.2f s",
                label,
                state.attempt_number,
                exc,
                sleep,
            )

        retrying = Retrying(
            retry=retry_if_exception_type(RetryableDeliveryError),
            wait=lambda state: self._backoff(state, deadline)[1],
            stop=lambda state: self._backoff(state, deadline)[0],
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt), attempts
        except DeliveryError as exc:
            exc.attempts = attempts
            raise

    def _backoff(self, state: RetryCallState, deadline: float) -> tuple[bool, float]:
        """(stop?, delay): exponential with equal jitter, at least ``Retry-After``, in budget.

        Stopping is decided on the delay's lower bound, so the answer does not depend on the
        jitter nor on whether tenacity asks ``stop`` before or after ``wait``.
        """
        high = min(self.max_backoff, self.initial_backoff * 2 ** (state.attempt_number - 1))
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, RetryableDeliveryError) else None
        floor = max(high / 2, retry_after or 0.0)
        room = deadline - self._clock() - MIN_ATTEMPT_SECONDS
        if room <= 0 or floor > room:
            return True, 0.0
        delay = max(random.uniform(high / 2, high), retry_after or 0.0)
        return False, min(delay, room)


def _default_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"mongooseim-metrics-bridge/{__version__}"
    return session
