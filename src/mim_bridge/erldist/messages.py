"""Post-handshake traffic as a pure state machine: frames, ticks, headers, fragments, controls.

Theory of operation: after the handshake every frame is a 4-byte length plus payload; length 0 is
a tick. A payload is either

* ``112`` (pass-through) + control term + optional message term, or
* ``131, 68`` normal distribution header (atom cache refs) + control + optional message, or
* ``131, 69`` first fragment (sequence id, fragment count, atom cache refs, first bytes), then
  ``131, 70`` continuations down to fragment id 1; the joined bytes are control + message.

:class:`Channel` turns received bytes into :class:`Tick` and :class:`Message` events and turns
outgoing control/message terms into bytes. It never touches a socket. Everything read from the
peer is bounded: frame size, number of open fragment sequences and their total size, and above
all the connection's :class:`~.budget.MemoryBudget`, charged here where the bytes are parsed
(frames while they are decoded, unfinished fragment sequences, inflated and decoded terms). A
decoded :class:`Message` stays charged (``Message.cost``) until its owner calls
:meth:`Channel.release`.

Errors: a frame that breaks the protocol (framing, distribution header, atom cache refs, control
term, trailing bytes) raises :class:`DecodeError` and the connection is beyond repair; so does a
single frame too large for the budget. A message term that does not decode (say, a reply nested
deeper than the decoder allows, or one too large for the budget) only spoils that one message:
the frame is consumed whole either way, so the channel carries on and returns the message with a
:class:`BadPayload` as its payload. A fragment sequence that outgrows the budget is dropped at
once (its message is returned with a :class:`BadPayload` holding :class:`ReplyTooLarge`) and
its remaining fragments are skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Final

from mim_bridge.erldist import etf
from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY, MemoryBudget, describe_size
from mim_bridge.erldist.errors import DecodeError, ReplyTooLarge
from mim_bridge.erldist.terms import Atom, Reference

__all__ = ["ALIAS_SEND", "ALIAS_SEND_TT", "BIG_FRAME", "CONTROL_MEMORY", "DEFAULT_MAX_FRAME",
           "DEFAULT_MAX_MESSAGE", "DEFAULT_MAX_SEQUENCES", "DEMONITOR_P", "DIST_FRAG_CONT",
           "DIST_FRAG_HEADER", "DIST_HEADER", "EXIT", "EXIT2", "EXIT2_TT", "EXIT_TT",
           "GROUP_LEADER", "LINK", "MONITOR_P", "MONITOR_P_EXIT", "NODE_LINK", "NO_PAYLOAD",
           "PASS_THROUGH", "PAYLOAD_EXIT", "PAYLOAD_EXIT2", "PAYLOAD_EXIT2_TT", "PAYLOAD_EXIT_TT",
           "PAYLOAD_MONITOR_P_EXIT", "REG_SEND", "REG_SEND_TT", "SEND", "SEND_SENDER",
           "SEND_SENDER_TT", "SEND_TT", "SPAWN_REPLY", "SPAWN_REPLY_TT", "SPAWN_REQUEST",
           "SPAWN_REQUEST_TT", "TICK", "TICK_FRAME", "UNLINK", "UNLINK_ID", "UNLINK_ID_ACK",
           "WITH_PAYLOAD", "BadPayload", "Channel", "Message", "Tick", "held"]

PASS_THROUGH = 112
DIST_HEADER = 68
DIST_FRAG_HEADER = 69
DIST_FRAG_CONT = 70

# Control message operations (erl_dist_protocol, "Protocol between Connected Nodes").
LINK = 1
SEND = 2
EXIT = 3
UNLINK = 4
NODE_LINK = 5
REG_SEND = 6
GROUP_LEADER = 7
EXIT2 = 8
SEND_TT = 12
EXIT_TT = 13
REG_SEND_TT = 16
EXIT2_TT = 18
MONITOR_P = 19
DEMONITOR_P = 20
MONITOR_P_EXIT = 21
SEND_SENDER = 22
SEND_SENDER_TT = 23
PAYLOAD_EXIT = 24
PAYLOAD_EXIT_TT = 25
PAYLOAD_EXIT2 = 26
PAYLOAD_EXIT2_TT = 27
PAYLOAD_MONITOR_P_EXIT = 28
SPAWN_REQUEST = 29
SPAWN_REQUEST_TT = 30
SPAWN_REPLY = 31
SPAWN_REPLY_TT = 32
ALIAS_SEND = 33
ALIAS_SEND_TT = 34
UNLINK_ID = 35
UNLINK_ID_ACK = 36

# Operations whose control term is followed by a message (or a reason/argument) term.
WITH_PAYLOAD: Final = frozenset({
    SEND, REG_SEND, SEND_TT, REG_SEND_TT, SEND_SENDER, SEND_SENDER_TT, PAYLOAD_EXIT,
    PAYLOAD_EXIT_TT, PAYLOAD_EXIT2, PAYLOAD_EXIT2_TT, PAYLOAD_MONITOR_P_EXIT, SPAWN_REQUEST,
    SPAWN_REQUEST_TT, ALIAS_SEND, ALIAS_SEND_TT})

TICK_FRAME: Final = b"\0\0\0\0"
NO_PAYLOAD: Final = object()

DEFAULT_MAX_FRAME = 64 * 1024 * 1024
DEFAULT_MAX_MESSAGE = 256 * 1024 * 1024
DEFAULT_MAX_SEQUENCES = 64
BIG_FRAME = 64 * 1024  # frames this large are charged to the budget before they arrive
CONTROL_MEMORY = 64 * 1024  # what decoding a dropped sequence's control term may cost


@dataclass(frozen=True, slots=True)
class Tick:
    """The peer's keep-alive."""


@dataclass(frozen=True, slots=True)
class BadPayload:
    """Stands for a message term that did not decode.

    ``ref``: when the term starts as ``{Ref, ...}`` (every ``rex`` reply does), that reference,
    so the call it answers can be failed; else None. ``error`` says what was wrong (it carries
    neither the bytes nor a traceback).
    """

    ref: Reference | None
    error: DecodeError


@dataclass(frozen=True, slots=True)
class Message:
    """One control message; ``payload`` is the message term, NO_PAYLOAD, or a BadPayload.

    ``cost``: the estimated bytes of its decoded terms, held in the channel's budget until
    :meth:`Channel.release`.
    """

    control: tuple[Any, ...]
    payload: Any
    cost: int = field(default=0, compare=False)

    @property
    def op(self) -> int:
        return int(self.control[0])

    @property
    def recipient(self) -> Any:
        """The pid/name/alias the message is for, for the operations that have one."""
        op, n = self.op, len(self.control)
        if op in (SEND, SEND_TT, SEND_SENDER, SEND_SENDER_TT, ALIAS_SEND, ALIAS_SEND_TT) and n > 2:
            return self.control[2]
        if op in (REG_SEND, REG_SEND_TT) and n > 3:
            return self.control[3]
        return None  # also for a malformed (too short) control tuple


TICK: Final = Tick()


class _Sequence:
    """An unfinished fragment sequence: ``size`` bytes in ``parts``, ``charge`` of them held in
    the budget. A dropped sequence (it outgrew the budget) keeps no bytes, only its place."""

    __slots__ = ("cache", "charge", "dropped", "next_id", "parts", "size")

    def __init__(self, cache: list[Atom], first: bytes, count: int) -> None:
        self.cache = cache
        self.parts = [first]
        self.size = len(first)
        self.charge = 0
        self.next_id = count - 1
        self.dropped = False


def held(n: int) -> int:
    """What *n* bytes of received data cost once copied into a bytes object: the bytes, the
    object header, and a quarter for the allocator (on a flood of 64 KiB fragments dropped and
    refilled, a bridge's resident memory grew by 0.85 of its budget with this, 0.95 with an
    eighth)."""
    return n + (n >> 2) + 64


class Channel:
    """Bytes in, events out; terms in, bytes out. One per connection."""

    def __init__(self, *, atom_cache_header: bool = True, max_frame: int = DEFAULT_MAX_FRAME,
                 max_message: int = DEFAULT_MAX_MESSAGE,
                 max_sequences: int = DEFAULT_MAX_SEQUENCES,
                 budget: MemoryBudget | None = None) -> None:
        self.atom_cache_header = atom_cache_header
        self.max_frame = max_frame
        self.max_message = max_message
        self.max_sequences = max_sequences
        self.budget = budget if budget is not None else MemoryBudget(DEFAULT_MAX_REPLY_MEMORY)
        self._buf = bytearray()
        self._pos = 0
        self._frame_charge = 0  # budget held for the frame in the buffer (it and its copy)
        self._cache: list[Atom | None] = [None] * 2048
        self._sequences: dict[int, _Sequence] = {}

    # ------------------------------------------------------------------ receiving
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Take bytes from the socket (copied: *data* may be a view of a reused buffer)."""
        self._buf += data

    def release(self, cost: int) -> None:
        """Return a delivered message's :attr:`Message.cost` to the budget."""
        self.budget.release(cost)

    def next_event(self) -> Tick | Message | None:
        """The next complete event, or None when more bytes are needed."""
        while True:
            buf = self._buf
            pos = self._pos
            if len(buf) - pos < 4:
                self._compact()
                return None
            size = int.from_bytes(buf[pos:pos + 4], "big")
            if size > self.max_frame:
                raise DecodeError(f"frame of {size} bytes exceeds the {self.max_frame} limit")
            if size >= BIG_FRAME and not self._frame_charge:
                # It will sit in the buffer, then be copied out: hold room for both now,
                # before its bytes arrive (a frame that cannot fit closes the connection).
                self.budget.charge(2 * held(size), f"a frame of {describe_size(size)}")
                self._frame_charge = 2 * held(size)
            if len(buf) - pos - 4 < size:
                self._compact()
                return None
            start = pos + 4
            self._pos = start + size
            if size == 0:
                return TICK
            charge, self._frame_charge = self._frame_charge, 0
            continuation = (size > 18 and buf[start] == etf.VERSION
                            and buf[start + 1] == DIST_FRAG_CONT)
            try:
                # One copy out of the buffer (slicing a bytearray would make two); of a
                # continuation, its header and its data apart: the data is all that is kept.
                with memoryview(buf) as view:
                    frame = bytes(view[start:start + (18 if continuation else size)])
                    part = bytes(view[start + 18:start + size]) if continuation else b""
                if charge:
                    self._compact()  # the buffer lets go of the frame: only the copy is left
                event = self._continuation(frame, part) if continuation else self._frame(frame)
                del frame, part
            finally:
                self.budget.release(charge)
            if event is not None:
                return event

    def _compact(self) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0

    def _frame(self, frame: bytes) -> Message | None:
        kind = frame[0]
        if kind == PASS_THROUGH:
            return self._message(frame, 1, None)
        if kind != etf.VERSION or len(frame) < 2:
            raise DecodeError(f"unknown distribution frame type {kind}")
        kind = frame[1]
        if kind == DIST_HEADER:
            cache, pos = self._atom_cache_refs(frame, 2)
            return self._message(frame, pos, cache)
        if kind == DIST_FRAG_HEADER:
            seq, count = self._seq_ids(frame)
            if count == 0:
                raise DecodeError("fragment sequence of zero fragments")
            cache, pos = self._atom_cache_refs(frame, 18)
            if seq in self._sequences:
                raise DecodeError(f"fragment sequence {seq} started twice")
            if len(self._sequences) >= self.max_sequences:
                raise DecodeError("too many interleaved fragment sequences")
            if count == 1:
                return self._message(frame, pos, cache)
            new = self._sequences[seq] = _Sequence(cache, frame[pos:], count)
            return None if self._hold(new, held(new.size)) else self._drop(new, held(new.size))
        if kind == DIST_FRAG_CONT:
            return self._continuation(frame[:18], frame[18:])
        raise DecodeError(f"unknown distribution header type {kind}")

    def _continuation(self, header: bytes, part: bytes) -> Message | None:
        """A FRAG_CONT frame: its 18-byte *header* and the fragment's data, *part*."""
        seq, frag = self._seq_ids(header)
        s = self._sequences.get(seq)
        if s is None or frag != s.next_id:
            raise DecodeError(f"out-of-order fragment {frag} of sequence {seq}")
        s.next_id -= 1
        if frag == 1:
            del self._sequences[seq]
        if s.dropped:
            return None
        if s.size + len(part) > self.max_message:
            raise DecodeError(f"fragmented message exceeds the {self.max_message} limit")
        s.parts.append(part)
        s.size += len(part)
        if frag > 1:
            return None if self._hold(s, held(len(part))) else self._drop(s, held(len(part)))
        # The last fragment: the parts are joined into one copy of the message, then
        # dropped; at the peak both are held.
        joined_cost = held(s.size)
        if not self._hold(s, held(len(part)) + joined_cost):
            return self._drop(s, held(len(part)) + joined_cost)
        joined = b"".join(s.parts)
        s.parts = []
        self.budget.release(s.charge - joined_cost)
        try:
            return self._message(joined, 0, s.cache)
        finally:
            self.budget.release(joined_cost)

    def _hold(self, s: _Sequence, cost: int) -> bool:
        """Charge *cost* more for sequence *s*, if it fits."""
        if cost > self.budget.available:
            return False
        self.budget.charge(cost, "a fragment")
        s.charge += cost
        return True

    def _drop(self, s: _Sequence, cost: int) -> Message | None:
        """Give up sequence *s*, for which *cost* more did not fit: free its bytes and skip
        the rest of it (see :meth:`_failed` for what is returned)."""
        error = self.budget.exceeded(
            f"a fragmented message ({describe_size(s.size)} so far)", cost)
        self.budget.release(s.charge)
        head = s.parts[0]
        s.dropped, s.parts, s.size, s.charge = True, [], 0, 0
        return self._failed(s, head, error)

    def _failed(self, s: _Sequence, head: bytes, error: ReplyTooLarge) -> Message | None:
        """The message of a dropped sequence with :class:`ReplyTooLarge` as payload, if its
        first bytes say which message it is (else nothing)."""
        try:
            control, pos = etf.decode_at(head, 0, cache=s.cache, versioned=False,
                                         max_memory=CONTROL_MEMORY)
        except DecodeError:
            return None
        if not isinstance(control, tuple) or not control or type(control[0]) is not int:
            return None
        ref = etf.reply_ref(head, pos, cache=s.cache, versioned=False)
        return Message(control, BadPayload(ref, error))

    @staticmethod
    def _seq_ids(frame: bytes) -> tuple[int, int]:
        if len(frame) < 18:
            raise DecodeError("truncated fragment header")
        seq, frag = struct.unpack_from(">QQ", frame, 2)
        return int(seq), int(frag)

    def _atom_cache_refs(self, frame: bytes, pos: int) -> tuple[list[Atom], int]:
        """Parse NumberOfAtomCacheRefs, Flags and AtomCacheRefs; update the connection cache."""
        try:
            n = frame[pos]
            pos += 1
            if n == 0:
                return [], pos
            flag_bytes = n // 2 + 1
            flags = frame[pos:pos + flag_bytes]
            if len(flags) != flag_bytes:
                raise DecodeError("truncated atom cache flags")
            pos += flag_bytes
            long_atoms = bool(self._nibble(flags, n) & 1)
            refs: list[Atom] = []
            for i in range(n):
                nib = self._nibble(flags, i)
                segment = nib & 7
                internal = frame[pos]
                pos += 1
                slot = segment * 256 + internal
                if nib & 8:
                    if long_atoms:
                        length = int.from_bytes(frame[pos:pos + 2], "big")
                        pos += 2
                    else:
                        length = frame[pos]
                        pos += 1
                    text = frame[pos:pos + length]
                    if len(text) != length:
                        raise DecodeError("truncated atom in cache header")
                    pos += length
                    atom = Atom(text.decode("utf-8"))
                    self._cache[slot] = atom
                else:
                    cached = self._cache[slot]
                    if cached is None:
                        raise DecodeError(f"reference to empty atom cache slot {slot}")
                    atom = cached
                refs.append(atom)
            return refs, pos
        except IndexError as e:
            raise DecodeError("truncated distribution header") from e
        except UnicodeDecodeError as e:
            raise DecodeError("atom in cache header is not UTF-8") from e

    @staticmethod
    def _nibble(flags: bytes, i: int) -> int:
        b = flags[i // 2]
        return (b >> 4) if i % 2 else (b & 0x0F)

    def _message(self, data: bytes, pos: int, cache: list[Atom] | None) -> Message:
        # After a distribution header the terms carry no version byte; after 'p' they do.
        versioned = cache is None
        budget = self.budget
        control, pos, cost = etf.decode_costed(data, pos, cache=cache, versioned=versioned,
                                               max_memory=budget.available)
        if not isinstance(control, tuple) or not control or type(control[0]) is not int:
            raise DecodeError("control message is not a tuple starting with an integer")
        payload: Any = NO_PAYLOAD
        if control[0] in WITH_PAYLOAD:
            try:
                payload, pos, more = etf.decode_costed(
                    data, pos, cache=cache, versioned=versioned,
                    max_memory=budget.available - cost)
                cost += more
            except DecodeError as e:
                # A fresh error: e's traceback and cause would keep the whole frame alive.
                error = (budget.exceeded("a reply") if isinstance(e, ReplyTooLarge) else
                         DecodeError(f"message payload does not decode: {e}"))
                ref = etf.reply_ref(data, pos, cache=cache, versioned=versioned)
                budget.charge(cost, "a control message")
                return Message(control, BadPayload(ref, error), cost)
        if pos != len(data):
            raise DecodeError(f"{len(data) - pos} trailing bytes after distribution message")
        budget.charge(cost, "a message")
        return Message(control, payload, cost)

    # ------------------------------------------------------------------ sending
    def encode(self, control: tuple[Any, ...], payload: Any = NO_PAYLOAD) -> bytes:
        """One complete frame carrying *control* (and *payload*, if given)."""
        out = bytearray(b"\0\0\0\0")
        versioned = not self.atom_cache_header
        if self.atom_cache_header:
            out += bytes((etf.VERSION, DIST_HEADER, 0))  # a header that references no atoms
        else:
            out.append(PASS_THROUGH)
        etf.encode_into(control, out, versioned)
        if payload is not NO_PAYLOAD:
            etf.encode_into(payload, out, versioned)
        struct.pack_into(">I", out, 0, len(out) - 4)
        return bytes(out)
