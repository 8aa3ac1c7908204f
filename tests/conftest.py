"""Session-wide safety net and shared fixtures.

* Non-loopback sockets are blocked in-process (pytest-socket, see ``addopts`` in pyproject), and
  ``BRIDGE_GA_URL`` points every subprocess at a dead loopback port: a test that forgets to point
  the bridge at its fake GA4 server fails loudly instead of reaching Google.
* ``erlang/launcher.py`` is importable as ``launcher``, ``tests/support`` as ``support``.
* ``ga``: a fake GA4 server on a free loopback port, one per test (tests/support/fake_ga.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "erlang"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.fake_ga import FakeGA

# Port 9 (discard) on loopback: nothing listens there, so a forgotten override fails at once.
os.environ.setdefault("BRIDGE_GA_URL", "http://127.0.0.1:9/mp/collect")
os.environ.pop("DO_NOT_TRACK", None)


@pytest.fixture
def ga() -> Iterator[FakeGA]:
    with FakeGA() as fake:
        yield fake
