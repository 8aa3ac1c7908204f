"""Text for the terminal: aligned columns, colour only where it helps, sparklines.

Colour is used only when the output is a terminal, ``NO_COLOR`` is unset or empty
(https://no-color.org) and ``TERM`` is not ``dumb``; anything piped or redirected is plain text.
Widths are measured on the plain text, so escape codes never break the alignment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Cell", "Style", "bars_for", "columns", "sparkline", "wants_colour"]

_CODES = {"bold": "1", "dim": "2", "good": "32", "warn": "33", "bad": "31", "name": "36"}
BARS = "▁▂▃▄▅▆▇█"
ASCII_BARS = "_.-:=+*#"


def wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def bars_for(stream: TextIO) -> str:
    """Block characters if the stream can encode them (a UTF-8 locale), else ASCII."""
    try:
        BARS.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_BARS
    return BARS


@dataclass(frozen=True)
class Cell:
    """A piece of text and how to colour it (``bold``, ``dim``, ``good``, ``warn``, ``bad``,
    ``name``); ``right`` aligns it to the right of its column (numbers)."""

    text: str
    style: str | None = None
    right: bool = False


class Style:
    """Applies colours, or nothing when the output is plain text."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, style: str | None) -> str:
        if not self.colour or style is None or not text:
            return text
        return f"\x1b[{_CODES[style]}m{text}\x1b[0m"


def columns(rows: Sequence[Sequence[Cell | str]], style: Style, *, indent: int = 0,
            gap: int = 2) -> list[str]:
    """The rows as lines with aligned columns (the last column is not padded)."""
    cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    widths: list[int] = []
    for row in cells:
        for i, c in enumerate(row):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(c.text))
    lines = []
    for row in cells:
        parts = []
        for i, c in enumerate(row):
            last = i == len(row) - 1
            pad = widths[i] - len(c.text)
            text = style(c.text, c.style)
            if c.right:
                parts.append(" " * pad + text)
            else:
                parts.append(text if last else text + " " * pad)
        lines.append((" " * indent + (" " * gap).join(parts)).rstrip())
    return lines


def sparkline(values: Sequence[int | None], bars: str = BARS) -> str:
    """One character per value, from the lowest bar (zero or the minimum) to the highest;
    a space where there is no value."""
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    low, high = min(0, *present), max(present)
    top = len(bars) - 1
    return "".join(
        " " if v is None else bars[0 if high == low else round((v - low) * top / (high - low))]
        for v in values)
