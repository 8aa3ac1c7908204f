"""Reading the operator's pages back in tests: node blocks, event rows, and the check that
every event of a node shows up in its block."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mim_bridge.app.view.blocks import ORDER
from mim_bridge.vocab.events import Event

ESC = "\x1b["


def blocks_of(page: str) -> list[str]:
    """The page's node blocks, in order."""
    parts = re.split(r"^(?=\x1b\[1mnode \d+ of \d+|node \d+ of \d+)", page, flags=re.MULTILINE)
    return parts[1:]


def section(block: str, name: str) -> str:
    """The lines of one event name's row (or table) in a node block."""
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^  {name}\b", line))
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^  \S", lines[i])),
               len(lines))
    return "\n".join(lines[start:end])


def assert_represented(block: str, events: Sequence[Event]) -> None:
    """Every event of the node shows up in its row: each param key and value; every event
    name the node did not report says so."""
    for e in events:
        text = section(block, e.name)
        assert "not reported" not in text, e
        for key, value in e.params.items():
            if value == "enabled":
                assert key in text, (e, key)
            else:
                assert str(value) in text, (e, key)
                assert key == "value" or key in text, (e, key)
    for name in ORDER:
        if not any(e.name == name for e in events):
            assert "not reported" in section(block, name), name
