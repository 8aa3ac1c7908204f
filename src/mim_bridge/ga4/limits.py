"""GA4 Measurement Protocol limits, enforced before sending (pure; no I/O).

GA4 answers 2xx to anything and silently drops what breaks its limits, so a report that would
break one is fixed here, deterministically, and each fix is returned so the caller can log it:

* an event or param name that is too long, has characters other than letters, digits and ``_``,
  does not start with a letter, or is reserved gets a safe spelling (``x_`` prefix, ``_`` for
  bad characters, cut at 40 characters; clashes get ``_2``, ``_3``…);
* a string value longer than 100 characters (counted URL-encoded, as GA4 counts) is cut;
* an event with more than 25 params is split into several events of the same name, each
  repeating the event's identifying param (``module``, ``stanza_type``) if it has one.

Limits per request (25 events, body under 130 kB) are applied by :mod:`.payload`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from mim_bridge.vocab.events import Event, ParamValue

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENTS_PER_REQUEST",
    "MAX_NAME_LENGTH",
    "MAX_PARAMS_PER_EVENT",
    "MAX_PARAM_VALUE_LENGTH",
    "LimitFix",
    "enforce_limits",
    "safe_name",
]

MAX_EVENTS_PER_REQUEST = 25
MAX_PARAMS_PER_EVENT = 25
MAX_NAME_LENGTH = 40
MAX_PARAM_VALUE_LENGTH = 100
MAX_BODY_BYTES = 130_000
"""GA4 wants the POST body "less than 130 kB"; a body must stay strictly below this."""

RESERVED_EVENT_NAMES = frozenset(
    """
    app_remove app_store_refund app_store_subscription_cancel app_store_subscription_renew
    click error file_download first_open first_visit form_start form_submit in_app_purchase
    page_view scroll session_start user_engagement view_complete video_progress video_start
    view_search_results
    """.split()  # noqa: SIM905 - a word list reads better than 20 quoted strings
)
RESERVED_PARAM_NAMES = frozenset({"engagement_time_msec", "gclid", "session_id", "session_number"})
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
ANCHOR_PARAMS = ("module", "stanza_type")
"""Params that say what an event is about; repeated in every part when an event is split."""

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BAD_CHARS_RE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class LimitFix:
    """One deterministic change made to keep GA4 from dropping data; never carries a value."""

    event_index: int
    event_name: str
    change: str

    def __str__(self) -> str:
        return f"event #{self.event_index} ({self.event_name}): {self.change}"


def safe_name(name: str, reserved: frozenset[str]) -> str:
    """A GA4-valid spelling of ``name``; valid names come back unchanged."""
    if _is_valid_name(name, reserved):
        return name
    cleaned = _BAD_CHARS_RE.sub("_", name)
    lowered = cleaned.lower()
    if not cleaned[:1].isalpha() or lowered in reserved or lowered.startswith(RESERVED_PREFIXES):
        cleaned = "x_" + cleaned
    # Cutting cannot create a reserved name: they are all shorter than the limit.
    return cleaned[:MAX_NAME_LENGTH]


def _is_valid_name(name: str, reserved: frozenset[str]) -> bool:
    lowered = name.lower()
    return (
        len(name) <= MAX_NAME_LENGTH
        and _NAME_RE.fullmatch(name) is not None
        and lowered not in reserved
        and not lowered.startswith(RESERVED_PREFIXES)
    )


def encoded_length(value: str) -> int:
    """Length as GA4 counts it: on the URL-encoded form."""
    return len(quote(value, safe=""))


def truncate_value(value: str) -> str:
    if encoded_length(value) <= MAX_PARAM_VALUE_LENGTH:
        return value
    out: list[str] = []
    used = 0
    for char in value:
        size = encoded_length(char)
        if used + size > MAX_PARAM_VALUE_LENGTH:
            break
        out.append(char)
        used += size
    return "".join(out)


def enforce_limits(events: Sequence[Event]) -> tuple[list[Event], list[LimitFix]]:
    """Events GA4 will accept as they are, and the list of fixes that made them so."""
    fixed: list[Event] = []
    fixes: list[LimitFix] = []
    for index, event in enumerate(events):
        name = safe_name(event.name, RESERVED_EVENT_NAMES)
        if name != event.name:
            fixes.append(LimitFix(index, name, "event name renamed to meet GA4 naming rules"))
        params = _fix_params(index, name, event.params, fixes)
        parts = _split(params)
        if len(parts) > 1:
            fixes.append(
                LimitFix(
                    index,
                    name,
                    f"{len(params)} params split into {len(parts)} events "
                    f"(GA4 takes at most {MAX_PARAMS_PER_EVENT} per event)",
                )
            )
        fixed.extend(Event(name, part) for part in parts)
    return fixed, fixes


def _fix_params(
    index: int, event_name: str, params: Mapping[str, ParamValue], fixes: list[LimitFix]
) -> dict[str, ParamValue]:
    out: dict[str, ParamValue] = {}
    for key, value in params.items():
        new_key = safe_name(str(key), RESERVED_PARAM_NAMES)
        if new_key != key:
            fixes.append(LimitFix(index, event_name, f"param {new_key} renamed to meet GA4 rules"))
        new_key = _unique(new_key, out)
        if isinstance(value, str):
            cut = truncate_value(value)
            if cut != value:
                fixes.append(
                    LimitFix(
                        index,
                        event_name,
                        f"param {new_key} value cut to {MAX_PARAM_VALUE_LENGTH} characters",
                    )
                )
            value = cut
        out[new_key] = value
    return out


def _unique(key: str, taken: dict[str, ParamValue]) -> str:
    if key not in taken:
        return key
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = key[: MAX_NAME_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _split(params: dict[str, ParamValue]) -> list[dict[str, ParamValue]]:
    if len(params) <= MAX_PARAMS_PER_EVENT:
        return [params]
    anchors = {k: params[k] for k in ANCHOR_PARAMS if k in params}
    rest = [(k, v) for k, v in params.items() if k not in anchors]
    room = MAX_PARAMS_PER_EVENT - len(anchors)
    return [{**anchors, **dict(rest[i : i + room])} for i in range(0, len(rest), room)]
