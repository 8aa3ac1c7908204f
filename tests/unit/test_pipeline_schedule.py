"""The report grid: no drift after slow reports, no stacking of missed ones."""

from __future__ import annotations

import pytest

from mim_bridge.pipeline.schedule import Schedule

S = Schedule(start=100.0, initial=5.0, period=10.0)


def test_slots() -> None:
    assert [S.due(k) for k in range(3)] == [105.0, 115.0, 125.0]


@pytest.mark.parametrize(("last", "now", "following"), [
    (0, 106.0, 1),    # on time: the next slot
    (0, 115.0, 1),    # finished exactly at the next slot: run it
    (0, 115.1, 2),    # overran slot 1: skip it, do not run late
    (0, 140.0, 4),    # overran three slots: the first slot still ahead
    (3, 141.0, 4),
    (5, 100.0, 6),    # never goes backwards
])
def test_next_index(last: int, now: float, following: int) -> None:
    assert S.next_index(last, now) == following
    assert S.due(following) >= min(now, S.due(last + 1))


@pytest.mark.parametrize(("initial", "period"), [(0.0, 0.0), (-1.0, 1.0)])
def test_invalid(initial: float, period: float) -> None:
    with pytest.raises(ValueError):
        Schedule(0.0, initial, period)
