"""When reports are due: a fixed grid on the monotonic clock, like MongooseIM's timers.

Report *k* is due at ``start + initial_report + k * periodic_report``. The grid never moves: a
slow or failed report does not push the next one later (no drift), and the slots it overran are
skipped rather than run back to back (no stacking). Pure arithmetic, so the service's timing is
tested without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Schedule"]


@dataclass(frozen=True)
class Schedule:
    start: float
    initial: float
    period: float

    def __post_init__(self) -> None:
        if self.period <= 0 or self.initial < 0:
            raise ValueError("periodic_report must be positive and initial_report not negative")

    def due(self, index: int) -> float:
        """When report *index* (0 = the initial report) is due."""
        return self.start + self.initial + index * self.period

    def next_index(self, last: int, now: float) -> int:
        """The report after *last* that can still start on time at *now* (or later).

        ``last + 1`` unless report *last* ran past later slots; those are skipped.
        """
        following = last + 1
        if self.due(following) >= now:
            return following
        return max(following, math.ceil((now - self.start - self.initial) / self.period))
