"""How much memory one connection may hold for what its peer sent: one number, one account.

Theory of operation. Per-term limits do not bound a connection: a 204 KB zlib bomb inflates to a
200 MB term, eight replies of a wave are eight such terms, and 64 fragment sequences may each be
open at once. So every connection has a :class:`MemoryBudget` (default
:data:`DEFAULT_MAX_REPLY_MEMORY`), and :class:`~.messages.Channel` charges to it, where the bytes
are parsed, everything the peer's bytes make us hold:

* the asyncio layer's read buffers, for the life of the connection (a fixed amount);
* the frame being decoded (the receive buffer and its copy), while it is decoded;
* the bytes of unfinished fragment sequences, until the sequence is complete;
* the inflated bytes of a compressed term, checked against what is left *before* inflating;
* the decoded message, in estimated Python object bytes (see :mod:`.etf`), until the asyncio
  layer releases it: when no call is in flight any more, i.e. at the end of a wave whose results
  the caller holds together.

What does not fit fails as narrowly as possible, with :class:`~.errors.ReplyTooLarge`: a reply
too large fails its own call; a fragment sequence that outgrows the budget is dropped and fails
the call it answers (its remaining fragments are skipped); only a single frame larger than the
budget, which no node that fragments its messages sends, closes the connection.
"""

from __future__ import annotations

from mim_bridge.erldist.errors import LocalError, ReplyTooLarge

__all__ = ["DEFAULT_MAX_REPLY_MEMORY", "MIN_REPLY_MEMORY", "MemoryBudget", "describe_size"]

# The bridge idles at ~35 MiB RSS (Python, the codec, requests for GA4); 16 MiB more for what a
# node sends keeps it under the shipped 64 MiB container limit, and is ~2,000 times the largest
# reply of the `large` stand-in profile (8 KB).
DEFAULT_MAX_REPLY_MEMORY = 16 * 1024 * 1024
MIN_REPLY_MEMORY = 2 * 1024 * 1024  # read buffers, a few 64 KiB fragments, their terms


def describe_size(n: int) -> str:
    """``16 MiB``, ``512 KiB``, ``100 bytes``: for messages."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


class MemoryBudget:
    """Bytes a connection may hold for its peer's data; :attr:`used` is what it holds now."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int = DEFAULT_MAX_REPLY_MEMORY) -> None:
        if limit < MIN_REPLY_MEMORY:
            raise LocalError(f"a connection's memory budget must be at least "
                             f"{describe_size(MIN_REPLY_MEMORY)}, not {describe_size(limit)}")
        self.limit = limit
        self.used = 0

    @property
    def available(self) -> int:
        return self.limit - self.used

    def charge(self, n: int, what: str) -> None:
        """Hold *n* more bytes for *what*, or raise :class:`ReplyTooLarge` if they do not fit."""
        if n > self.limit - self.used:
            raise self.exceeded(what, n)
        self.used += n

    def release(self, n: int) -> None:
        self.used -= n
        if self.used < 0:  # a bookkeeping bug must not open the budget wide
            raise LocalError(f"memory budget released {-self.used} bytes more than it held")

    def exceeded(self, what: str, n: int | None = None) -> ReplyTooLarge:
        need = f" needs {describe_size(n)}, but" if n is not None else " does not fit:"
        return ReplyTooLarge(
            f"{what}{need} only {describe_size(max(self.available, 0))} of the connection's "
            f"{describe_size(self.limit)} memory budget are free (max_reply_memory)")
