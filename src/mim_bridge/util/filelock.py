"""An exclusive ``flock`` taken within a deadline: the state-directory lock, the transparency
log and the spool all wait for another process this way (the spool without waiting)."""

from __future__ import annotations

import fcntl
import time

__all__ = ["lock_within"]


def lock_within(fd: int, wait: float, step: float = 0.01) -> bool:
    """Lock *fd* exclusively, retrying every *step* seconds for at most *wait*; False when
    another process still holds it then. Other OS errors propagate."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(step)
