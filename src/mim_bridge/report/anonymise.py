"""The anonymity gate: every event passes through :func:`anonymise` before it is written or sent.

Theory of operation. Each known event name has a table of the params it may carry and a check per
param. A check returns the value to keep (possibly a neutral replacement) or ``None`` to drop the
param. Anything the tables do not know is private by default:

* an event whose name is not one of MongooseIM's is dropped;
* a ``module_with_opt`` event for a module that is not open source is dropped and the module is
  counted into ``custom_module_count`` instead (MongooseIM itself would have named it);
* a param key that is not expected is dropped; a string value that is not on the relevant
  allowlist or of the expected shape becomes a neutral token (``other``, ``unknown``,
  ``unknown_config_type``) or is dropped; a version keeps only its ``X.Y.Z`` unless the rest is
  ``git describe`` or release-candidate output; an integer param must be an integer.

The gate's own debug logs name only allowlisted event names and param keys, never a value or an
unknown key. Other logs never carry event values; a version shown there goes through
:func:`safe_version`. The module is pure: no I/O besides debug logs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from mim_bridge.vocab import names
from mim_bridge.vocab.events import Event, ParamValue
from mim_bridge.vocab.forms import API_VERSION_RE, UPTIME_RE, safe_version

__all__ = ["KNOWN_EVENTS", "AnonymisedReport", "anonymise", "gate"]

log = logging.getLogger(__name__)


Check = Callable[[ParamValue], ParamValue | None]


def _count(value: ParamValue) -> ParamValue | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None


def _signed(value: ParamValue) -> ParamValue | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return value if ok else None


def _one_of(allowed: Iterable[str], fallback: str | None) -> Check:
    allowed_set = frozenset(allowed)

    def check(value: ParamValue) -> ParamValue | None:
        return value if isinstance(value, str) and value in allowed_set else fallback

    return check


def _shaped(pattern: re.Pattern[str], fallback: str | None) -> Check:
    def check(value: ParamValue) -> ParamValue | None:
        return value if isinstance(value, str) and pattern.fullmatch(value) else fallback

    return check


def _version(value: ParamValue) -> ParamValue | None:
    """Keep a known version shape; else keep only its X.Y.Z; else ``unknown``."""
    return safe_version(value)


def _enabled(value: ParamValue) -> ParamValue | None:
    return value if value == "enabled" else None


@dataclass(frozen=True)
class _Rule:
    """What one event may carry: fixed param keys, or keys drawn from an allowlist (http_api)."""

    params: Mapping[str, Check]
    required: frozenset[str] = frozenset()
    key_allowlist: frozenset[str] | None = None
    key_value_check: Check = _enabled


_RULES: dict[str, _Rule] = {
    "host_count": _Rule({"value": _count}, required=frozenset({"value"})),
    "domain_count": _Rule({"value": _count}, required=frozenset({"value"})),
    "custom_module_count": _Rule({"value": _count}),
    "module_with_opt": _Rule(
        {
            "module": _one_of(names.OSS_MODULES, None),
            "backend": _one_of(names.BACKENDS, names.NEUTRAL_TOKEN),
            "online_backend": _one_of(names.BACKENDS, names.NEUTRAL_TOKEN),
            "api_version": _shaped(API_VERSION_RE, names.NEUTRAL_TOKEN),
        },
        required=frozenset({"module"}),
    ),
    "cluster": _Rule(
        {
            "uptime": _shaped(UPTIME_RE, None),
            "version": _version,
            "component": _count,
            "node_number": _count,
            "config_type": _one_of(names.CONFIG_TYPES, "unknown_config_type"),
        }
    ),
    "http_api": _Rule({}, key_allowlist=names.HTTP_APIS),
    "transport_mechanism": _Rule({}, key_allowlist=names.TRANSPORTS),
    "tls_option": _Rule(
        {
            "mode": _one_of(names.TLS_MODES, names.NEUTRAL_TOKEN),
            "module": _one_of(names.TLS_MODULES, names.NEUTRAL_TOKEN),
        }
    ),
    "outgoing_pool": _Rule(
        {"value": _one_of(names.POOL_TYPES, names.NEUTRAL_TOKEN)}, required=frozenset({"value"})
    ),
    "xmpp_stanza_count": _Rule(
        {
            "stanza_type": _one_of(names.STANZA_TYPES, None),
            "total": _count,
            "increment": _signed,
        },
        required=frozenset({"stanza_type"}),
    ),
}

KNOWN_EVENTS: frozenset[str] = frozenset(_RULES)
"""Event names MongooseIM's GA4-era collector emits; no other name leaves the machine."""


@dataclass(frozen=True)
class AnonymisedReport:
    """The events that may leave the machine, plus counts of what the gate removed."""

    events: tuple[Event, ...]
    dropped_events: int = 0
    dropped_params: int = 0
    replaced_values: int = 0
    custom_modules: int = 0
    """Distinct non-open-source modules folded into ``custom_module_count``."""


@dataclass
class _Tally:
    dropped_events: int = 0
    dropped_params: int = 0
    replaced_values: int = 0


def gate(events: Iterable[Event]) -> tuple[Event, ...]:
    """The anonymity gate as the GA4 sender applies it to every batch at send time."""
    return anonymise(events).events


def anonymise(events: Iterable[Event]) -> AnonymisedReport:
    """Return only what the allowlists permit; unknown modules become a custom-module count."""
    tally = _Tally()
    kept: list[Event] = []
    custom: set[str] = set()
    for event in events:
        rule = _RULES.get(event.name) if isinstance(event.name, str) else None
        if rule is None:
            tally.dropped_events += 1
            log.debug("report: dropped an event with an unrecognised name")
            continue
        if event.name == "module_with_opt":
            module = event.params.get("module")
            if module not in names.OSS_MODULES:
                tally.dropped_events += 1
                if isinstance(module, str):
                    custom.add(module)
                log.debug("report: module_with_opt for a non-open-source module counted as custom")
                continue
        params = _filter_params(event.name, event.params, rule, tally)
        if not rule.required <= params.keys():
            tally.dropped_events += 1
            log.debug("report: dropped %s: a required param was missing or not allowed", event.name)
            continue
        kept.append(Event(event.name, params))
    merged = _fold_custom_modules(kept, len(custom))
    return AnonymisedReport(
        events=tuple(merged),
        dropped_events=tally.dropped_events,
        dropped_params=tally.dropped_params,
        replaced_values=tally.replaced_values,
        custom_modules=len(custom),
    )


def _filter_params(
    name: str, params: Mapping[str, ParamValue], rule: _Rule, tally: _Tally
) -> dict[str, ParamValue]:
    out: dict[str, ParamValue] = {}
    for key, value in params.items():
        if rule.key_allowlist is not None:
            if isinstance(key, str) and key in rule.key_allowlist:
                checked = rule.key_value_check(value)
                if checked is not None:
                    out[key] = checked
                    continue
            tally.dropped_params += 1
            log.debug("report: dropped a param of %s whose key or value is not allowed", name)
            continue
        check = rule.params.get(key) if isinstance(key, str) else None
        if check is None:
            tally.dropped_params += 1
            log.debug("report: dropped a param with an unrecognised key from %s", name)
            continue
        checked = check(value)
        if checked is None:
            tally.dropped_params += 1
            log.debug("report: dropped %s.%s: value not allowed", name, key)
        else:
            if checked is not value and checked != value:
                tally.replaced_values += 1
                log.debug("report: replaced %s.%s with a neutral value", name, key)
            out[key] = checked
    return out


def _fold_custom_modules(events: list[Event], extra: int) -> list[Event]:
    """Add ``extra`` to the first ``custom_module_count``; create one if the report has none."""
    out: list[Event] = []
    folded = False
    for event in events:
        if event.name != "custom_module_count":
            out.append(event)
            continue
        if folded:
            continue  # MongooseIM emits exactly one; a second would double-count in dashboards
        base = event.params.get("value", 0)
        out.append(Event("custom_module_count", {"value": int(base) + extra}))
        folded = True
    if not folded and extra:
        at = max(
            (i + 1 for i, e in enumerate(out) if e.name == "module_with_opt"), default=len(out)
        )
        out.insert(at, Event("custom_module_count", {"value": extra}))
    return out
