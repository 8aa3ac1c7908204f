"""The GA4 sender façade: spool first, then batches of at most 25, retried within a time budget.

Theory of operation. :meth:`Ga4Sender.send` runs in three steps:

1. The events pass the anonymity gate and GA4's limits (:mod:`.payload`); fixes are logged.
2. Every batch is written to the spool once per destination (MongooseIM sends every event to
   every tracking id) *before* anything is sent: a crash from here on loses nothing.
3. The spool is drained oldest first, so batches left over from an earlier report go out before
   the new ones. Each batch is retried with tenacity (exponential backoff with jitter, honouring
   ``Retry-After``) on connection errors, timeouts, 429 and 5xx; it is removed from the spool
   after a 2xx, or after another 4xx (GA4 asks not to resend those; the batch is logged).

What leaves is checked at send time. A batch read back from the spool is only what is on the
disk, so before it leaves its client id must be a UUID and its events must pass the anonymity
gate and GA4's limits *unchanged*, as this bridge's own batches do; one that would be changed is
dropped with a warning (counted as ``failed_gate``), never sent. Its body is encoded afresh from
the checked events, never sent as stored.

Time. The whole call is bounded by ``total_retry_seconds``: every HTTP exchange ends by
``min(attempt_timeout, what is left)`` whatever the peer does (see :mod:`.transport`), no backoff
sleeps past the budget, and once a destination has used up its retries the rest of its batches
wait in the spool for the next call, unread.

Without a spool. If the spool cannot be written (disk full, read-only directory, a file where it
should be), the batches are still sent, without a kept copy, after one warning; a batch that is
then not delivered is lost and reported as ``dropped`` (``no_spool``). Batches already in a
spool the bridge cannot change are left for later: one delivered but not removable would be sent
again at every report.

Duplicates. GA4 has no idempotency key, so a request that was written whole and got no answer
(a timeout) may have been processed. Such a batch is sent again, but a batch gets at most
:data:`MAX_UNCONFIRMED_SENDS` unanswered sends (counted in its spool file, across restarts);
after that it is dropped with a warning rather than risk a further copy. GA4 thus receives a
batch at most twice: one duplicate at most, after a timeout it had processed. The one other
duplicate is a crash between a 2xx and the spool removal, which re-sends that batch once.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from mim_bridge import __version__
from mim_bridge.ga4.destinations import Destination, collect_url, debug_endpoint, resolve_endpoint
from mim_bridge.ga4.errors import (
    DeliveryError,
    RejectedError,
    RetryableDeliveryError,
    SpoolError,
    TrackingIdError,
)
from mim_bridge.ga4.limits import LimitFix
from mim_bridge.ga4.payload import Batch, Batches, split_batches
from mim_bridge.ga4.spool import DEFAULT_MAX_BATCHES, DEFAULT_MAX_BYTES, Spool, SpoolEntry
from mim_bridge.ga4.transport import (
    Answer,
    BoundedTransport,
    HttpPoster,
    PosterTransport,
    Transport,
    post_once,
)
from mim_bridge.ga4.validation import ValidationMessage, from_fixes, parse_validation_response
from mim_bridge.util.atomic_file import StateFileProblem, loads_json
from mim_bridge.vocab.events import Event
from mim_bridge.vocab.forms import valid_cluster_id

__all__ = [
    "MAX_UNCONFIRMED_SENDS",
    "BatchOutcome",
    "DeliveryReport",
    "DestinationResult",
    "Ga4Sender",
    "describe_problems",
]

log = logging.getLogger(__name__)

Gate = Callable[[Sequence[Event]], Sequence[Event]]
"""What may leave the machine: the caller's anonymity gate (mim_bridge.report.gate), applied
to every batch at send time, fresh or spooled."""
MIN_ATTEMPT_SECONDS = 0.05
"""No attempt starts with less time than this left in the budget."""
MAX_UNCONFIRMED_SENDS = 2
"""Sends of one batch that may end without an answer; GA4 then holds at most two copies."""

Status = Literal["delivered", "rejected", "pending", "dropped"]
_NOT_A_LOSS = frozenset({"unreadable", "failed_gate", "not_configured"})


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one batch for one destination during a :meth:`Ga4Sender.send`.

    ``status``: ``delivered`` (GA4 answered 2xx), ``rejected`` (another 4xx, or a redirect: not
    resent), ``pending`` (kept in the spool for the next call) or ``dropped`` (gone unsent).
    ``http_status``: GA4's last HTTP status, if it answered. ``attempts``: HTTP requests made.
    ``error``: why it is not delivered, one word: the last attempt's error kind (see
    :mod:`.errors`), ``skipped`` (its destination already failed in this call), or, for a
    dropped batch, ``not_configured``, ``failed_gate``, ``unreadable``, ``unconfirmed``,
    ``spool_full`` or ``no_spool``. ``answers``: each attempt's answer in order, an HTTP status
    (``"204"``, ``"503"``) or an error kind (``"timeout"``).
    """

    measurement_id: str
    events: int
    status: Status
    http_status: int | None
    attempts: int
    from_spool: bool
    error: str | None = None
    answers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["answers"] = list(self.answers)
        return out


@dataclass(frozen=True)
class DestinationResult:
    """One destination's share of a send: batches and events by status, requests, answers."""

    measurement_id: str
    batches: int
    events: int
    requests: int
    delivered: int
    delivered_events: int
    rejected: int
    pending: int
    dropped: int
    dropped_events: int
    answers: tuple[str, ...]
    """Every HTTP attempt's answer, in order: a status (``"204"``) or an error kind."""

    @property
    def last_answer(self) -> str | None:
        return self.answers[-1] if self.answers else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["answers"] = list(self.answers)
        out["last_answer"] = self.last_answer
        return out


@dataclass(frozen=True)
class DeliveryReport:
    """The result of one send: per-batch outcomes, limit fixes, and what is still spooled.

    ``pending``: batches left in the spool after the call (all destinations, older reports
    included). ``spool_problem``: why the spool could not be used, when batches were sent
    without a kept copy.
    """

    outcomes: tuple[BatchOutcome, ...]
    fixes: tuple[LimitFix, ...]
    pending: int
    elapsed: float
    spool_problem: str | None = None

    @property
    def delivered(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "delivered")

    @property
    def rejected(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "rejected")

    @property
    def dropped(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "dropped")

    @property
    def ok(self) -> bool:
        """Everything GA4 was given was accepted and nothing waits in the spool.

        Spool files dropped as junk (``unreadable``, ``failed_gate``) or for a destination no
        longer configured were no report of this configuration: they do not count.
        """
        return self.pending == 0 and all(
            o.status == "delivered" or (o.status == "dropped" and o.error in _NOT_A_LOSS)
            for o in self.outcomes
        )

    def destinations(self) -> tuple[DestinationResult, ...]:
        """The outcomes summed up per destination, in the order they first appear."""
        order: dict[str, list[BatchOutcome]] = {}
        for o in self.outcomes:
            order.setdefault(o.measurement_id, []).append(o)
        return tuple(_summed(mid, outs) for mid, outs in order.items())

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON record of the send (for a history); never carries an api secret."""
        return {
            "elapsed": round(self.elapsed, 3),
            "pending": self.pending,
            "spool_problem": self.spool_problem,
            "limit_fixes": len(self.fixes),
            "destinations": [d.to_json() for d in self.destinations()],
            "batches": [o.to_json() for o in self.outcomes],
        }


def _summed(mid: str, outs: Sequence[BatchOutcome]) -> DestinationResult:
    def count(status: Status) -> int:
        return sum(1 for o in outs if o.status == status)

    def events(status: Status) -> int:
        return sum(o.events for o in outs if o.status == status)

    return DestinationResult(
        measurement_id=mid,
        batches=len(outs),
        events=sum(o.events for o in outs),
        requests=sum(o.attempts for o in outs),
        delivered=count("delivered"),
        delivered_events=events("delivered"),
        rejected=count("rejected"),
        pending=count("pending"),
        dropped=count("dropped"),
        dropped_events=events("dropped"),
        answers=tuple(a for o in outs for a in o.answers),
    )


def describe_problems(reports: Iterable[DeliveryReport]) -> str:
    """What went wrong in these sends, as one plain phrase; empty if nothing did."""
    reports = list(reports)
    outcomes = [o for r in reports for o in r.outcomes]
    parts: list[str] = []
    rejected = [o for o in outcomes if o.status == "rejected"]
    if rejected:
        answers = sorted({f"HTTP {o.http_status}" if o.http_status else str(o.error)
                          for o in rejected})
        parts.append(f"{len(rejected)} batch(es) rejected by GA4 ({', '.join(answers)}) "
                     "and not resent")
    dropped = [o for o in outcomes if o.status == "dropped"]
    if dropped:
        reasons = sorted({str(o.error) for o in dropped})
        parts.append(f"{len(dropped)} batch(es) dropped unsent ({', '.join(reasons)})")
    pending = reports[-1].pending if reports else 0
    if pending:
        parts.append(f"{pending} batch(es) wait in the spool for the next report")
    problem = next((r.spool_problem for r in reports if r.spool_problem), None)
    if problem:
        parts.append("the spool could not be used, so nothing was kept")
    return "; ".join(parts)


@dataclass
class _Call:
    """What one :meth:`Ga4Sender.send` knows while it runs."""

    deadline: float
    gave_up: set[str] = field(default_factory=set)  # destinations out of retries in this call
    outcomes: list[BatchOutcome] = field(default_factory=list)
    spool_problem: str | None = None


@dataclass
class _Tries:
    """One batch's HTTP attempts, kept up to date while tenacity runs them."""

    unconfirmed: int
    limit: int | None = MAX_UNCONFIRMED_SENDS  # None: duplicates do not matter (validation)
    attempts: int = 0
    answers: list[str] = field(default_factory=list)


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
        max_spool_bytes: int = DEFAULT_MAX_BYTES,
        session: HttpPoster | requests.Session | None = None,
        transport: Transport | None = None,
        gate: Gate,
        stop: threading.Event | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not destinations:
            raise TrackingIdError("no GA4 destination configured")
        if attempt_timeout <= 0 or total_retry_seconds <= 0:
            raise ValueError("attempt_timeout and total_retry_seconds must be positive")
        self.endpoint = resolve_endpoint(endpoint)
        self.destinations = tuple(destinations)
        self.spool = Spool(spool_dir, max_spool_batches, max_spool_bytes)
        self.attempt_timeout = attempt_timeout
        self.total_retry_seconds = total_retry_seconds
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._own_transport = transport is None and session is None
        if transport is not None:
            self._transport: Transport = transport
        elif session is None:
            self._transport = BoundedTransport(_default_session())
        elif isinstance(session, requests.Session):
            self._transport = BoundedTransport(session)
        else:
            self._transport = PosterTransport(session)
        self._gate = gate
        # Set when the bridge stops: no new attempt starts (what is left stays in the spool)
        # and a backoff sleep ends at once.
        self.stop = stop or threading.Event()
        self._sleep: Callable[[float], object] = sleep or self.stop.wait
        self._clock = clock
        self._spool_told: str | None = None  # the spool problem already warned about

    # -- public API ---------------------------------------------------------------------------

    def send(self, client_id: str, events: Sequence[Event]) -> DeliveryReport:
        """Spool the report for every destination, then deliver the spool oldest first."""
        if valid_cluster_id(client_id) is None:
            raise ValueError("the client id to send is not a UUID")
        started = self._clock()
        call = _Call(started + self.total_retry_seconds)
        prepared = self._prepare(client_id, events)
        fresh: dict[str, tuple[SpoolEntry, str, Batch]] = {}
        unspooled: list[tuple[Destination, Batch]] = []
        for batch in prepared.batches:
            for dest in self.destinations:
                if call.spool_problem is None:
                    try:
                        entry, evicted = self.spool.add(dest.measurement_id, batch)
                    except SpoolError as exc:
                        call.spool_problem = str(exc)
                    else:
                        fresh[entry.name] = (entry, dest.measurement_id, batch)
                        call.outcomes.extend(_evicted(e) for e in evicted)
                        continue
                unspooled.append((dest, batch))
        self._drain(call, fresh)
        for dest, batch in unspooled:
            outcome, _ = self._attempt(call, dest, batch, 0, from_spool=False)
            if outcome.status == "pending":
                log.error("GA4 %s: lost a batch of %d events (not delivered, and the spool "
                          "cannot keep it)", dest.measurement_id, outcome.events)
                outcome = replace(outcome, status="dropped", error="no_spool")
            call.outcomes.append(outcome)
        call.outcomes.extend(_dropped_junk(e) for e in self.spool.take_junk())
        self._tell_spool_problem(call.spool_problem)
        pending = len(self.spool)
        if pending:
            log.warning("GA4: %d batch(es) wait in the spool for the next report", pending)
        return DeliveryReport(tuple(call.outcomes), prepared.fixes, pending,
                              self._clock() - started, call.spool_problem)

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
            answer = self._deliver(url, batch.body, deadline, "validation",
                                   _Tries(0, limit=None), want_body=True)
            try:
                payload = loads_json(answer.body)
            except StateFileProblem:
                payload = None
            messages.extend(parse_validation_response(payload, index))
        return messages

    def close(self) -> None:
        if self._own_transport:
            self._transport.close()

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

    def _prepare(self, client_id: str, events: Sequence[Event]) -> Batches:
        safe = self._gate(events)
        prepared = split_batches(client_id, safe)
        for fix in prepared.fixes:
            log.warning("GA4 limits: %s", fix)
        return prepared

    def _release(self, client_id: str, events: tuple[Event, ...]) -> Batch | str:
        """The batch to send for spooled events, or why they may not leave.

        They may leave only as they are: the gate and the limits must not change them, and they
        must fit one request. The body is encoded afresh from the checked events.
        """
        if valid_cluster_id(client_id) is None:
            return "its client id is not a UUID"
        gated = tuple(self._gate(events))
        if gated != events:
            return "the anonymity gate would change it"
        prepared = split_batches(client_id, gated)
        if prepared.fixes:
            return "it breaks GA4's limits"
        if len(prepared.batches) != 1:
            return "it is empty" if not events else "it does not fit one GA4 request"
        return prepared.batches[0]

    def _drain(self, call: _Call, fresh: dict[str, tuple[SpoolEntry, str, Batch]]) -> None:
        """Send what the spool holds, oldest first; only this call's batches if it is stuck."""
        with contextlib.ExitStack() as stack:
            try:
                owned = stack.enter_context(self.spool.exclusive())
            except SpoolError as exc:
                call.spool_problem = call.spool_problem or str(exc)
                for entry, mid, batch in fresh.values():
                    self._send_entry(call, entry, (mid, batch))
                return
            if not owned:
                log.info("GA4 spool is being sent by another bridge process; batches wait there")
                return
            writable = self.spool.writable()
            for entry in self.spool.entries():
                mine = fresh.get(entry.name)
                if mine is not None:
                    self._send_entry(call, entry, (mine[1], mine[2]))
                elif writable:
                    self._send_entry(call, entry, None)

    def _send_entry(
        self, call: _Call, entry: SpoolEntry, mine: tuple[str, Batch] | None
    ) -> None:
        """Send one spool entry: this call's own batch (``mine``), or one read from disk."""
        mid = mine[0] if mine is not None else entry.measurement_id
        count = entry.events or 0
        if mid is not None:  # known from the name: decide without reading the file
            if self._destination(mid) is None:
                self._drop_unconfigured(call, entry, mid, count)
                return
            if (skip := self._cannot_try(call, mid)) is not None:
                call.outcomes.append(BatchOutcome(mid, count, "pending", None, 0, mine is None,
                                                  skip))
                return
        unconfirmed = 0
        if mine is not None:
            mid, batch = mine
        else:
            loaded = self.spool.load(entry)
            if loaded is None:
                call.outcomes.append(BatchOutcome(mid or "", count, "dropped", None, 0, True,
                                                  "unreadable"))
                return
            mid, unconfirmed = loaded.measurement_id, loaded.unconfirmed
            count = len(loaded.events)
            released = self._release(loaded.client_id, loaded.events)
            if isinstance(released, str):
                log.warning("GA4 %s: dropped a spooled batch of %d events: %s; it was not "
                            "sent", mid, count, released)
                self.spool.remove(entry)
                call.outcomes.append(BatchOutcome(mid, count, "dropped", None, 0, True,
                                                  "failed_gate"))
                return
            batch = released
        dest = self._destination(mid)
        if dest is None:
            self._drop_unconfigured(call, entry, mid, count)
            return
        outcome, tries = self._attempt(call, dest, batch, unconfirmed, from_spool=mine is None)
        if outcome.status == "pending":
            if tries.unconfirmed > unconfirmed:
                self.spool.mark_unconfirmed(entry, mid, batch, tries.unconfirmed)
        else:
            self.spool.remove(entry)
        call.outcomes.append(outcome)

    def _drop_unconfigured(self, call: _Call, entry: SpoolEntry, mid: str, count: int) -> None:
        log.warning("GA4: dropped a spooled batch for %s, which is no longer configured", mid)
        self.spool.remove(entry)
        call.outcomes.append(BatchOutcome(mid, count, "dropped", None, 0, True, "not_configured"))

    def _destination(self, mid: str) -> Destination | None:
        return next((d for d in self.destinations if d.measurement_id == mid), None)

    def _cannot_try(self, call: _Call, mid: str) -> str | None:
        if mid in call.gave_up:
            return "skipped"
        if self.stop.is_set():
            return "stopping"
        if call.deadline - self._clock() < MIN_ATTEMPT_SECONDS:
            return "budget"
        return None

    def _attempt(
        self, call: _Call, dest: Destination, batch: Batch, unconfirmed: int, *, from_spool: bool
    ) -> tuple[BatchOutcome, _Tries]:
        """Deliver one batch to one destination; the caller decides what to do with its file."""
        mid = dest.measurement_id
        count = len(batch.events)
        tries = _Tries(unconfirmed)
        skip = self._cannot_try(call, mid)
        if skip is not None:
            return BatchOutcome(mid, count, "pending", None, 0, from_spool, skip), tries
        try:
            answer = self._deliver(collect_url(self.endpoint, dest), batch.body, call.deadline,
                                   mid, tries)
        except RejectedError as exc:
            log.error("GA4 %s rejected a batch of %d events (%s); not resending it",
                      mid, count, exc)
            outcome = BatchOutcome(mid, count, "rejected", exc.status, tries.attempts,
                                   from_spool, exc.kind, tuple(tries.answers))
            return outcome, tries
        except DeliveryError as exc:
            if exc.kind == "unconfirmed":
                log.warning("GA4 %s: a batch of %d events was sent %d times without an answer; "
                            "GA4 may have it, so it is not sent again", mid, count,
                            tries.unconfirmed)
                outcome = BatchOutcome(mid, count, "dropped", None, tries.attempts, from_spool,
                                       "unconfirmed", tuple(tries.answers))
                return outcome, tries
            call.gave_up.add(mid)
            log.warning("GA4 %s unreachable (%s); the batch stays in the spool", mid, exc)
            outcome = BatchOutcome(mid, count, "pending", exc.status, tries.attempts,
                                   from_spool, exc.kind, tuple(tries.answers))
            return outcome, tries
        outcome = BatchOutcome(mid, count, "delivered", answer.status, tries.attempts,
                               from_spool, None, tuple(tries.answers))
        return outcome, tries

    def _deliver(
        self,
        url: str,
        body: bytes,
        deadline: float,
        label: str,
        tries: _Tries,
        *,
        want_body: bool = False,
    ) -> Answer:
        """POST with retries until a 2xx, a non-retryable error, or the end of the budget."""

        def attempt() -> Answer:
            remaining = deadline - self._clock()
            if self.stop.is_set():
                raise DeliveryError("the bridge is stopping", kind="budget")
            if remaining < MIN_ATTEMPT_SECONDS:
                raise DeliveryError("time budget used up", kind="budget")
            tries.attempts += 1
            try:
                answer = post_once(self._transport, url, body,
                                   min(self.attempt_timeout, remaining), want_body=want_body)
            except DeliveryError as exc:
                tries.answers.append(str(exc.status) if exc.status else exc.kind)
                if exc.unconfirmed:
                    tries.unconfirmed += 1
                    if tries.limit is not None and tries.unconfirmed >= tries.limit:
                        raise DeliveryError(f"{exc}, again", kind="unconfirmed") from exc
                raise
            tries.answers.append(str(answer.status))
            return answer

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
            sleep=self._wait,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except DeliveryError as exc:
            exc.attempts = tries.attempts
            raise

    def _wait(self, seconds: float) -> None:
        """A backoff pause, which the stop event ends early."""
        self._sleep(seconds)

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
        if room <= 0 or floor > room or self.stop.is_set():
            return True, 0.0
        delay = max(random.uniform(high / 2, high), retry_after or 0.0)
        return False, min(delay, room)

    def _tell_spool_problem(self, problem: str | None) -> None:
        """One warning when the spool becomes unusable (and when the reason changes)."""
        if problem is None:
            if self._spool_told is not None:
                log.info("GA4: the spool %s is usable again", self.spool.directory)
            self._spool_told = None
            return
        level = logging.INFO if problem == self._spool_told else logging.WARNING
        log.log(level, "GA4: %s; reports are sent without a kept copy (what GA4 does not "
                "take is lost) until it is fixed", problem)
        self._spool_told = problem


def _dropped_junk(entry: SpoolEntry) -> BatchOutcome:
    return BatchOutcome(entry.measurement_id or "", entry.events or 0, "dropped", None, 0, True,
                        "unreadable")


def _evicted(entry: SpoolEntry) -> BatchOutcome:
    return BatchOutcome(entry.measurement_id or "", entry.events or 0, "dropped", None, 0, True,
                        "spool_full")


def _default_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"mongooseim-metrics-bridge/{__version__}"
    return session
