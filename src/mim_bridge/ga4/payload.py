"""GA4 request bodies, exactly as MongooseIM builds them, in batches GA4 accepts (pure).

A body is ``{"client_id": ..., "events": [{"name": ..., "params": {...}}, ...]}`` encoded as
compact JSON, like ``jiffy:encode/1`` in ``mongoose_system_metrics_sender``. No ``session_id``,
``engagement_time_msec`` or ``timestamp_micros`` is added, so existing dashboards see the same
events MongooseIM sends. Events are split into batches of at most 25, in order; a batch whose
body would reach 130 kB is halved until it fits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mim_bridge.ga4.limits import (
    MAX_BODY_BYTES,
    MAX_EVENTS_PER_REQUEST,
    LimitFix,
    enforce_limits,
)
from mim_bridge.vocab.events import Event

__all__ = ["Batch", "Batches", "build_body", "encode_body", "split_batches"]


@dataclass(frozen=True)
class Batch:
    """One request's worth of events and its exact body."""

    events: tuple[Event, ...]
    body: bytes


@dataclass(frozen=True)
class Batches:
    """A report ready to send: its batches and the limit fixes made on the way."""

    batches: tuple[Batch, ...]
    fixes: tuple[LimitFix, ...]

    @property
    def event_count(self) -> int:
        return sum(len(b.events) for b in self.batches)


def build_body(client_id: str, events: Sequence[Event]) -> dict[str, Any]:
    return {"client_id": client_id, "events": [e.to_json() for e in events]}


def encode_body(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def split_batches(client_id: str, events: Sequence[Event]) -> Batches:
    """Enforce GA4's limits and cut the events into request bodies; no events, no batches."""
    fixed, fixes = enforce_limits(events)
    batches: list[Batch] = []
    for start in range(0, len(fixed), MAX_EVENTS_PER_REQUEST):
        batches.extend(_fit(client_id, fixed[start : start + MAX_EVENTS_PER_REQUEST]))
    return Batches(tuple(batches), tuple(fixes))


def _fit(client_id: str, events: Sequence[Event]) -> list[Batch]:
    body = encode_body(build_body(client_id, events))
    if len(body) < MAX_BODY_BYTES or len(events) == 1:
        # One event cannot exceed the limit once its params are capped (25 x 140 bytes).
        return [Batch(tuple(events), body)]
    half = len(events) // 2
    return _fit(client_id, events[:half]) + _fit(client_id, events[half:])
