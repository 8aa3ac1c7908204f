"""Durations as people write them (``200ms``, ``5m``, ``1h30m``, MongooseIM's milliseconds) and
as the bridge says them back in its logs: one module, so that the two stay each other's inverse.
"""

from __future__ import annotations

import math
import re

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]

# Longer durations are typing mistakes, and far longer ones overflow the clocks that use them.
MAX_DURATION = 365 * 86400.0
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)", re.IGNORECASE)
_HELP = ("use a number with a unit (200ms, 30s, 5m, 3h, 1d, 1h30m) or milliseconds like "
         "MongooseIM (300000)")


def parse_duration(raw: object, *, bare_unit: float = 0.001) -> float:
    """Seconds from ``"200ms"``, ``"5m"``, ``"1h30m"``, or a bare number in *bare_unit* seconds.

    MongooseIM's ``initial_report``/``periodic_report`` are integers in milliseconds, hence the
    default *bare_unit*; units make sub-second test periods and readable configs possible.
    Raises ValueError (the option parsers' contract) with a message saying what to write.
    """
    if isinstance(raw, bool):
        raise ValueError(_HELP)
    if isinstance(raw, (int, float)):
        try:
            value = float(raw) * bare_unit
        except OverflowError:  # an integer beyond any float
            raise ValueError("must be at most a year (365d)") from None
    else:
        text = str(raw).strip().replace("_", "")
        try:
            value = float(text) * bare_unit
        except ValueError:
            pos, value = 0, 0.0
            for m in _PART.finditer(text):
                if m.start() != pos and text[pos:m.start()].strip():
                    break
                value += float(m[1]) * _UNITS[m[2].lower()]
                pos = m.end()
            if not text or pos != len(text) or text[:1] == "-":
                raise ValueError(_HELP) from None
    if math.isnan(value) or value < 0 or math.isinf(value):
        raise ValueError("must be a finite duration of zero or more")
    if value > MAX_DURATION:
        raise ValueError("must be at most a year (365d)")
    return value


def format_duration(seconds: float) -> str:
    """The shortest of ``200ms``, ``5m``, ``3h``, ``1d`` that says *seconds* exactly."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
