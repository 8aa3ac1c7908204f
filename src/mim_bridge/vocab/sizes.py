"""Sizes as people write them: ``262144``, ``256k``, ``1M``, ``16MiB``, ``1.5G``.

Units are powers of 1024, whichever spelling (``16M``, ``16MB`` and ``16MiB`` are all 16 MiB), as
disk and memory limits are usually meant.
"""

from __future__ import annotations

import re

__all__ = ["format_size", "parse_size"]

_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_HELP = "expected a size such as 262144, 256k, 16M or 16MiB"


def parse_size(raw: object) -> int:
    """Bytes; raises ValueError (the option parsers' contract) saying what to write."""
    if isinstance(raw, bool):
        raise ValueError(_HELP)
    m = _SIZE.fullmatch(str(raw).strip().replace("_", ""))
    if m is None:
        raise ValueError(_HELP)
    return int(float(m[1]) * _UNITS[(m[2] or "")[:1].lower()])


def format_size(size: int) -> str:
    """The shortest of ``512``, ``256KiB``, ``16MiB``, ``1GiB`` that says *size* exactly."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)
