"""Post-handshake framing (messages.Channel): ticks, pass-through, distribution headers with atom
cache references, fragments, and what happens with hostile frames."""

from __future__ import annotations

import functools
import re
import struct
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.erldist import DecodeError, LocalError, ReplyTooLarge, etf
from mim_bridge.erldist.budget import MemoryBudget
from mim_bridge.erldist.messages import (
    NO_PAYLOAD,
    REG_SEND,
    SEND,
    TICK,
    TICK_FRAME,
    UNLINK_ID,
    UNLINK_ID_ACK,
    BadPayload,
    Channel,
    Message,
    Tick,
    held,
)
from mim_bridge.erldist.terms import Atom, Pid, Reference
from support.fake_node import frame
from support.fake_node import unversioned as term

NODE = Atom("mim@localhost")
PID = Pid(NODE, 85, 0, 2)
REF = Reference(Atom("bridge@localhost"), 7, (1, 2, 3))


def cref(index: int) -> bytes:
    """ATOM_CACHE_REF to entry *index* of the message's header."""
    return bytes((82, index))


def header(refs: list[tuple[int, int, str | None]], *, long_atoms: bool = False,
           fragment: tuple[int, int] | None = None) -> bytes:
    """A distribution header, written from the erl_ext_dist spec (independently of the code).

    *refs*: (SegmentIndex, InternalSegmentIndex, AtomText or None for an already cached atom).
    *fragment*: (SequenceId, FragmentId) for a starting fragment header (131, 69).
    """
    out = bytearray((131, 68 if fragment is None else 69))
    if fragment is not None:
        out += struct.pack(">QQ", *fragment)
    out.append(len(refs))
    if not refs:
        return bytes(out)
    nibbles = [(8 if text is not None else 0) | seg for seg, _, text in refs]
    nibbles.append(1 if long_atoms else 0)  # the LongAtoms half byte follows the ref flags
    flags = bytearray(len(refs) // 2 + 1)
    for i, nib in enumerate(nibbles):
        flags[i // 2] |= nib << (4 * (i % 2))
    out += flags
    for _seg, internal, text in refs:
        out.append(internal)
        if text is not None:
            raw = text.encode()
            out += struct.pack(">H", len(raw)) if long_atoms else bytes((len(raw),))
            out += raw
    return bytes(out)


def cont(seq: int, frag: int, data: bytes) -> bytes:
    return frame(struct.pack(">BBQQ", 131, 70, seq, frag) + data)


def events(ch: Channel, data: bytes = b"") -> list[Tick | Message]:
    ch.receive_data(data)
    out: list[Tick | Message] = []
    while (ev := ch.next_event()) is not None:
        out.append(ev)
    return out


# --------------------------------------------------------------------------- ticks and framing

def test_ticks() -> None:
    ch = Channel()
    assert events(ch, TICK_FRAME * 3) == [TICK, TICK, TICK]
    assert events(ch) == []
    assert TICK_FRAME == b"\0\0\0\0"


def test_partial_frames_wait_for_more_bytes() -> None:
    ch = Channel()
    data = frame(b"p" + etf.encode((SEND, Atom(""), PID)) + etf.encode("hi")) + TICK_FRAME
    got: list[Any] = []
    for i in range(len(data)):
        got += events(ch, data[i:i + 1])
    assert got == [Message((SEND, Atom(""), PID), "hi"), TICK]


def test_pass_through_message() -> None:
    ch = Channel()
    payload = b"p" + etf.encode((REG_SEND, PID, Atom(""), Atom("rex"))) + etf.encode([1, 2.5])
    [msg] = events(ch, frame(payload))
    assert msg == Message((REG_SEND, PID, Atom(""), Atom("rex")), [1, 2.5])
    assert (msg.op, msg.recipient) == (REG_SEND, Atom("rex"))


def test_header_without_atom_refs() -> None:
    ch = Channel()
    [msg] = events(ch, frame(header([]) + term((SEND, Atom(""), PID)) + term(b"x")))
    assert msg == Message((SEND, Atom(""), PID), b"x")
    assert msg.recipient == PID


def test_control_message_without_payload() -> None:
    ch = Channel()
    [msg] = events(ch, frame(header([]) + term((UNLINK_ID, 7, PID, PID))))
    assert msg.payload is NO_PAYLOAD and msg.recipient is None


def test_atom_cache_entries_persist_across_messages() -> None:
    ch = Channel()
    # message 1 defines slot (3, 17) = 'rex' and (0, 200) = 'mim@localhost'
    refs1 = [(3, 17, "rex"), (0, 200, "mim@localhost")]
    ctl1 = b"h\x04" + term(REG_SEND) + b"X" + cref(1) + struct.pack(">III", 85, 0, 2) \
        + term(Atom("")) + cref(0)
    [m1] = events(ch, frame(header(refs1) + ctl1 + term("hello")))
    assert m1 == Message((REG_SEND, PID, Atom(""), Atom("rex")), "hello")
    # message 2 only refers to the cached slots, in another order
    refs2 = [(0, 200, None), (3, 17, None)]
    ctl2 = b"h\x03" + term(SEND) + cref(1) + b"X" + cref(0) + struct.pack(">III", 85, 0, 2)
    [m2] = events(ch, frame(header(refs2) + ctl2 + term((cref_atom := Atom("x"),))))
    assert m2 == Message((SEND, Atom("rex"), PID), (cref_atom,))


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_long_atoms_flag(count: int) -> None:
    """LongAtoms sits in the low half of the byte after the flags (even count) or in the high half
    of the last flag byte (odd count); lengths are then 2 bytes."""
    ch = Channel()
    names = [("é" * 100) + str(i) for i in range(count)]  # 201+ bytes each
    refs = [(i % 8, i, n) for i, n in enumerate(names)]
    ctl = b"h" + bytes((count + 1,)) + term(UNLINK_ID_ACK) + b"".join(cref(i) for i in range(count))
    [msg] = events(ch, frame(header(refs, long_atoms=True) + ctl))
    assert msg.control == (UNLINK_ID_ACK, *map(Atom, names))


def test_cached_true_and_false_are_booleans() -> None:
    ch = Channel()
    [msg] = events(ch, frame(header([(0, 1, "true"), (0, 2, "false")])
                            + b"h\x03" + term(UNLINK_ID_ACK) + cref(0) + cref(1)))
    assert msg.control == (UNLINK_ID_ACK, True, False)


# --------------------------------------------------------------------------- the spec's example

# erl_ext_dist, "Distribution Header for fragmented messages": {call, <0.245.2>,
# {set_get_state, <<0:1024>>}} sent to 'reg' in fragments of 128 bytes. The two cached atoms it
# refers to (segment 4 / index 10 and segment 0 / index 5) are the node names, set up earlier.
DOC_FIRST = bytes([
    131, 69, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 2,
    5, 4, 137, 9, 10, 5, 236, 3, 114, 101, 103, 9, 4, 99, 97, 108, 108,
    238, 13, 115, 101, 116, 95, 103, 101, 116, 95, 115, 116, 97, 116, 101,
    104, 4, 97, 6, 103, 82, 0, 0, 0, 0, 85, 0, 0, 0, 0, 2, 82, 1, 82, 2,
    104, 3, 82, 3, 103, 82, 0, 0, 0, 0, 245, 0, 0, 0, 2, 2,
    104, 2, 82, 4, 109, 0, 0, 0, 128]) + bytes(103)
DOC_CONT = bytes([131, 70, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 1]) + bytes(25)
DOC_SEQ = 0x000002A800000553


def doc_channel() -> Channel:
    """A channel whose cache holds the two node names the example refers to."""
    ch = Channel()
    setup = header([(4, 10, "a@host"), (0, 5, "b@host")]) \
        + b"h\x03" + term(UNLINK_ID_ACK) + cref(0) + cref(1)
    [msg] = events(ch, frame(setup))
    assert msg.control == (UNLINK_ID_ACK, Atom("a@host"), Atom("b@host"))
    return ch


DOC_MESSAGE = Message(
    (REG_SEND, Pid(Atom("a@host"), 85, 0, 2), Atom("b@host"), Atom("reg")),
    (Atom("call"), Pid(Atom("a@host"), 245, 2, 2), (Atom("set_get_state"), bytes(128))))


def test_fragmented_example_from_the_erl_ext_dist_doc() -> None:
    ch = doc_channel()
    assert events(ch, frame(DOC_FIRST)) == []
    assert events(ch, frame(DOC_CONT)) == [DOC_MESSAGE]


def test_fragments_interleave_with_ticks_and_other_sequences() -> None:
    ch = doc_channel()
    body = term((SEND, Atom(""), PID)) + term(list(range(300)))
    other = [frame(header([], fragment=(7, 3)) + body[:10]), cont(7, 2, body[10:100]),
             cont(7, 1, body[100:])]
    stream = [other[0], frame(DOC_FIRST), TICK_FRAME, other[1], frame(DOC_CONT), other[2]]
    assert events(ch, b"".join(stream)) == [
        TICK, DOC_MESSAGE, Message((SEND, Atom(""), PID), list(range(300)))]


def test_single_fragment_sequence() -> None:
    ch = Channel()
    [msg] = events(ch, frame(header([], fragment=(1, 1)) + term((SEND, Atom(""), PID)) + term(1)))
    assert msg.payload == 1


def test_many_small_fragments() -> None:
    ch = Channel()
    body = term((SEND, Atom(""), PID)) + term(b"z" * 5000)
    parts = [body[i:i + 7] for i in range(0, len(body), 7)]
    n = len(parts)
    stream = frame(header([], fragment=(99, n)) + parts[0]) + b"".join(
        cont(99, n - i, p) for i, p in enumerate(parts[1:], start=1))
    assert events(ch, stream) == [Message((SEND, Atom(""), PID), b"z" * 5000)]


FRAGMENT_ERRORS = [
    ("out of order", [frame(struct.pack(">BBQQ", 131, 69, DOC_SEQ, 3) + DOC_FIRST[18:]),
                      cont(DOC_SEQ, 1, b"")], "out-of-order fragment 1"),
    ("continuation of an unknown sequence", [cont(5, 1, b"x")], "out-of-order"),
    ("too many fragments", [frame(DOC_FIRST), frame(DOC_CONT), frame(DOC_CONT)], "out-of-order"),
    ("fragment id 0", [frame(DOC_FIRST), cont(DOC_SEQ, 0, b"")], "out-of-order fragment 0"),
    ("sequence started twice", [frame(DOC_FIRST), frame(DOC_FIRST)], "started twice"),
    ("zero fragments", [frame(header([], fragment=(1, 0)) + term((SEND, Atom(""), PID)))],
     "zero fragments"),
    ("truncated fragment header", [frame(bytes([131, 69, 0, 0]))], "truncated"),
    ("truncated continuation header", [frame(DOC_FIRST), frame(DOC_CONT[:10])], "truncated"),
]


@pytest.mark.parametrize(("frames", "match"),
                         [pytest.param(f, m, id=i) for i, f, m in FRAGMENT_ERRORS])
def test_fragment_errors(frames: list[bytes], match: str) -> None:
    ch = doc_channel()
    with pytest.raises(DecodeError, match=match):
        for f in frames:
            events(ch, f)


def test_fragmented_message_size_limit() -> None:
    ch = Channel(max_message=1000)
    events(ch, frame(header([], fragment=(1, 100)) + term((SEND, Atom(""), PID))))
    with pytest.raises(DecodeError, match="exceeds the 1000 limit"):
        for i in range(99, 0, -1):
            events(ch, cont(1, i, bytes(100)))


def test_open_sequence_limit() -> None:
    ch = Channel(max_sequences=3)
    for seq in range(3):
        events(ch, frame(header([], fragment=(seq, 2)) + b"x"))
    with pytest.raises(DecodeError, match="too many"):
        events(ch, frame(header([], fragment=(3, 2)) + b"x"))


# --------------------------------------------------------------------------- other errors

FRAME_ERRORS = [
    ("unknown frame type", frame(b"\x01abc")),
    ("version byte alone", frame(b"\x83")),
    ("unknown header type", frame(b"\x83\x47\x00")),
    ("control is not a tuple", frame(header([]) + term([1]))),
    ("control is an empty tuple", frame(header([]) + term(()))),
    ("control op is not an integer", frame(header([]) + term((Atom("send"), 1)))),
    ("trailing bytes", frame(header([]) + term((UNLINK_ID, 1, PID, PID)) + b"\x61\x01")),
    ("pass-through without version bytes", frame(b"p" + term((SEND, Atom(""), PID)) + term(1))),
    ("empty cache slot", frame(header([(2, 2, None)]) + term((UNLINK_ID_ACK,)))),
    ("truncated cache flags", frame(b"\x83\x44\x05\x88")),
    ("truncated cache atom", frame(header([(0, 1, "abcdef")])[:-3])),
    ("cache atom not UTF-8", frame(b"\x83\x44\x01\x08\x01\x02\xc3\x28" + term((5,)))),
    ("atom cache ref beyond the header", frame(header([(0, 1, "a")]) + b"h\x01" + cref(1))),
    ("garbage control, good payload", frame(header([]) + b"h\x03\x61\x02\x07" + term(1))),
    ("control nested too deep", frame(header([]) + b"h\x01" * 300 + b"j")),
    ("trailing bytes after a payload",
     frame(header([]) + term((SEND, Atom(""), PID)) + term(1) + b"\x61\x01")),
]


@pytest.mark.parametrize("data", [pytest.param(d, id=i) for i, d in FRAME_ERRORS])
def test_frame_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        events(Channel(), data)


# --------------------------------------------------------------------------- undecodable payloads

GARBAGE = b"\x07\x07\x07"  # tag 7 is no term
DEEP = b"l\x00\x00\x00\x01" * 300 + b"j" + b"j" * 300  # nested deeper than the decoder allows
REPLY = (SEND, Atom(""), PID)


def reply_with(body: bytes) -> bytes:
    """{REF, <body>} as an unversioned term, REF's node through atom cache ref 0."""
    ref = b"Z\x00\x03" + cref(0) + struct.pack(">IIII", 7, 1, 2, 3)
    return b"h\x02" + ref + body


BAD_PAYLOADS: list[tuple[str, bytes, Reference | None]] = [
    ("rex reply with garbage", frame(header([(0, 3, "bridge@localhost")]) + term(REPLY)
                                     + reply_with(GARBAGE)), REF),
    ("rex reply nested too deep", frame(header([(0, 3, "bridge@localhost")]) + term(REPLY)
                                        + reply_with(DEEP)), REF),
    ("rex reply truncated", frame(header([(0, 3, "bridge@localhost")]) + term(REPLY)
                                  + reply_with(b"m\x00\x00\x10\x00ab")), REF),
    ("pass-through rex reply",
     frame(b"p" + etf.encode(REPLY) + b"\x83h\x02" + etf.encode(REF)[1:] + GARBAGE), REF),
    ("compressed pass-through rex reply",
     frame(b"p" + etf.encode(REPLY) + b"\x83P" + struct.pack(">I", 200)
           + zlib.compress(b"h\x02" + etf.encode(REF)[1:] + GARBAGE)), REF),
    ("garbage", frame(header([]) + term(REPLY) + GARBAGE), None),
    ("missing payload", frame(header([]) + term(REPLY)), None),
    ("a 2-tuple not starting with a reference", frame(header([]) + term(REPLY) + b"h\x02"
                                                      + term(Atom("ok")) + GARBAGE), None),
    ("a 3-tuple starting with a reference", frame(header([]) + term(REPLY) + b"h\x03"
                                                  + term(REF) + GARBAGE), None),
    ("a reference that does not decode", frame(header([]) + term(REPLY) + b"h\x02Z\x00\x09"
                                               + term(NODE) + bytes(40)), None),
]


@pytest.mark.parametrize(("data", "ref"), [pytest.param(d, r, id=i) for i, d, r in BAD_PAYLOADS])
def test_undecodable_payload_spoils_only_its_message(data: bytes, ref: Reference | None) -> None:
    ch = Channel()
    after = frame(header([]) + term(REPLY) + term((REF, Atom("ok"))))
    [bad, tick, good] = events(ch, data + TICK_FRAME + after)
    assert bad.control == REPLY
    assert type(bad.payload) is BadPayload and bad.payload.ref == ref
    error = bad.payload.error
    assert type(error) is DecodeError and str(error).startswith("message payload does not decode")
    # neither a traceback nor a cause: they would keep the frame's bytes alive
    assert error.__traceback__ is None and error.__cause__ is None
    assert (tick, good) == (TICK, Message(REPLY, (REF, Atom("ok"))))


def test_undecodable_payload_of_a_fragmented_message() -> None:
    ch = Channel()
    body = term(REPLY) + b"h\x02" + term(REF) + b"l\x00\x00\x00\x02" + term(b"x" * 300) + GARBAGE
    stream = frame(header([], fragment=(5, 3)) + body[:40]) + cont(5, 2, body[40:200]) \
        + cont(5, 1, body[200:]) + frame(header([]) + term(REPLY) + term(1))
    [bad, good] = events(ch, stream)
    assert bad.payload.ref == REF and good == Message(REPLY, 1)
    assert not ch._sequences


def test_bad_payload_in_a_message_without_a_reference() -> None:
    ch = Channel()
    [msg] = events(ch, frame(b"p" + etf.encode((REG_SEND, PID, Atom(""), Atom("net_kernel")))
                             + b"\x83" + GARBAGE))
    assert msg.recipient == Atom("net_kernel")
    assert msg.payload == BadPayload(None, msg.payload.error)


def test_reply_ref() -> None:
    data = etf.encode((REF, [1, 2]))
    assert etf.reply_ref(data) == REF
    assert etf.reply_ref(data[:12]) is None  # truncated inside the reference
    assert etf.reply_ref(b"\x83" + data) is None
    assert etf.reply_ref(etf.encode((REF,))) is None
    assert etf.reply_ref(etf.encode((1, REF))) is None
    assert etf.reply_ref(b"") is None
    assert etf.reply_ref(b"xx" + data[1:], 2, versioned=False) == REF
    cached = b"h\x02Z\x00\x03" + cref(1) + struct.pack(">IIII", 7, 1, 2, 3)
    assert etf.reply_ref(cached, cache=[NODE, Atom("bridge@localhost")], versioned=False) == REF
    assert etf.reply_ref(cached, cache=[NODE], versioned=False) is None
    compressed = b"\x83P" + struct.pack(">I", 10**6) + zlib.compress(data[1:] + bytes(10**6))
    assert etf.reply_ref(compressed) == REF
    assert etf.reply_ref(b"\x83P\x00\x00\x00\x10not zlib") is None
    assert etf.reply_ref(b"\x83P\x00") is None


def test_reply_ref_costs_little_on_hostile_input() -> None:
    """It reads a reference and nothing else: not a huge first element, not a whole inflated
    term (inflating the payload is the decoder's business, bounded by its max_size)."""
    huge = struct.pack(">I", 2**20)
    hostile = [
        b"\x83h\x02m" + huge + bytes(2**20),
        b"\x83h\x02l" + huge + b"a\x01" * 2**19 + b"j",
        b"\x83h\x02" + b"h\xff" * 2**19,
        b"\x83h\x02Z\xff\xff" + term(NODE) + bytes(2**20),
        b"\x83P" + struct.pack(">I", 2**28) + zlib.compress(bytes(2**24)),  # 16 MiB of zeros
    ]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for data in hostile:
            assert etf.reply_ref(data) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"peak {peak / 1024:.0f} KiB"


def test_oversized_frame_is_refused_before_its_bytes_arrive() -> None:
    ch = Channel(max_frame=1 << 20)
    with pytest.raises(DecodeError, match="exceeds"):
        events(ch, struct.pack(">I", (1 << 20) + 1))


# --------------------------------------------------------------------------- sending

def test_encode_with_distribution_header() -> None:
    ch = Channel(atom_cache_header=True)
    data = ch.encode((REG_SEND, PID, Atom(""), Atom("rex")), ("req", 1))
    assert data[4:7] == bytes((131, 68, 0))  # header that references no atoms
    assert data[7] == 104  # first term without version byte
    assert struct.unpack(">I", data[:4])[0] == len(data) - 4
    assert events(Channel(), data) == [Message((REG_SEND, PID, Atom(""), Atom("rex")), ("req", 1))]


def test_encode_pass_through() -> None:
    ch = Channel(atom_cache_header=False)
    data = ch.encode((UNLINK_ID_ACK, 3, PID, PID))
    assert data[4:6] == bytes((112, 131))
    assert events(Channel(), data) == [Message((UNLINK_ID_ACK, 3, PID, PID), NO_PAYLOAD)]


@pytest.mark.parametrize(("control", "recipient"), [
    ((SEND, Atom(""), PID), PID),
    ((REG_SEND, PID, Atom(""), Atom("net_kernel")), Atom("net_kernel")),
    ((22, PID, PID), PID),              # SEND_SENDER
    ((33, PID, Atom("alias")), Atom("alias")),  # ALIAS_SEND
    ((19, PID, Atom("p"), 1), None),    # MONITOR_P
    ((REG_SEND, PID), None),            # malformed: too short (was an IndexError)
    ((SEND,), None),
])
def test_message_recipient(control: tuple[Any, ...], recipient: Any) -> None:
    assert Message(control, None).recipient == recipient


# --------------------------------------------------------------------------- hostile input

FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def drain(ch: Channel, chunks: list[bytes]) -> None:
    """Only DecodeError may escape."""
    try:
        for c in chunks:
            events(ch, c)
    except DecodeError:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=60).map(frame), max_size=6))
def test_random_frames_only_raise_decode_error(frames: list[bytes]) -> None:
    drain(Channel(), frames)


VALID_STREAM = [
    TICK_FRAME,
    frame(b"p" + etf.encode((REG_SEND, PID, Atom(""), Atom("rex"))) + etf.encode([1, "a"])),
    frame(header([(4, 10, "a@host"), (0, 5, "b@host")]) + b"h\x03" + term(UNLINK_ID_ACK)
          + cref(0) + cref(1)),
    frame(DOC_FIRST),
    TICK_FRAME,
    frame(DOC_CONT),
]


@FUZZ
@given(st.integers(0, 10_000), st.integers(1, 255), st.integers(0, 10_000), st.booleans())
def test_mutated_streams_only_raise_decode_error(pos: int, xor: int, cut: int,
                                                 huge: bool) -> None:
    data = bytearray(b"".join(VALID_STREAM))
    i = pos % len(data)
    if huge:
        data[i:i + 4] = b"\xff\xff\xff\xff"
    else:
        data[i] ^= xor
    del data[len(data) - cut % len(data):]
    drain(Channel(), [bytes(data)])


def test_hostile_claims_cost_little_memory() -> None:
    hostile = [
        b"\xff\xff\xff\xff",                                          # 4 GiB frame
        frame(header([], fragment=(1, 2**64 - 1)) + b"x"),            # 2^64 fragments
        frame(b"\x83\x44" + b"\xff" + b"\x88" * 128),                 # 255 refs, no data
        frame(header([]) + b"\x6d\xff\xff\xff\xff"),                  # 4 GiB binary
        frame(b"p\x83P\xff\xff\xff\xff" + bytes(20)),                 # 4 GiB compressed
    ]
    tracemalloc.start()
    try:
        for data in hostile:
            drain(Channel(), [data])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


# --------------------------------------------------------------------------- memory budget

MiB = 1 << 20


def budgeted(limit: int = 2 * MiB) -> Channel:
    return Channel(budget=MemoryBudget(limit))


def rex_reply_body(value_bytes: bytes) -> bytes:
    """Unversioned ``{REF, <value>}`` with *value_bytes* already encoded."""
    return b"h\x02" + term(REF) + value_bytes


@functools.cache
def zip_bomb(size: int = 200 * MiB) -> bytes:
    """A pass-through rex reply whose compressed term inflates to a *size*-byte binary."""
    z = zlib.compressobj(9)
    out = [z.compress(rex_reply_body(b"m" + struct.pack(">I", size)))]
    chunk = bytes(MiB)
    for start in range(0, size, MiB):
        out.append(z.compress(chunk[:size - start]))
    out.append(z.flush())
    inner_size = 2 + len(term(REF)) + 5 + size
    return frame(b"p" + etf.encode(REPLY) + b"\x83P" + struct.pack(">I", inner_size)
                 + b"".join(out))


def test_a_message_stays_charged_until_released() -> None:
    ch = budgeted()
    [msg] = events(ch, frame(header([]) + term(REPLY) + term((REF, [b"x" * 1000] * 10))))
    assert msg.payload == (REF, [b"x" * 1000] * 10)
    assert 10_000 < msg.cost == ch.budget.used < 20_000
    ch.release(msg.cost)
    assert ch.budget.used == 0


def test_zip_bombs_fail_their_calls_before_inflating() -> None:
    bomb = zip_bomb()
    assert len(bomb) < 300_000  # ~204 KB on the wire, 200 MB inflated
    ch = budgeted(16 * MiB)
    tracemalloc.start()
    try:
        got = events(ch, bomb * 8 + frame(header([]) + term(REPLY) + term((REF, 1))))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB  # the eight frames themselves, nothing inflated
    *bad, good = got
    assert len(bad) == 8 and good.payload == (REF, 1)
    for msg in bad:
        assert msg.payload.ref == REF  # so the call it answers fails, not the connection
        error = msg.payload.error
        assert type(error) is ReplyTooLarge and "memory budget" in str(error)
        assert "16 MiB" in str(error) and "max_reply_memory" in str(error)


def test_a_compressed_term_is_inflated_only_within_what_is_left() -> None:
    fits = zip_bomb(800 * 1024)  # inflated, then decoded: 1.6 MiB of the 2 MiB
    ch = budgeted()
    [ok] = events(ch, fits)
    assert ok.payload[1] == bytes(800 * 1024) and ch.budget.used == ok.cost
    [bad] = events(ch, fits)  # the first one is still held: the second no longer fits
    assert type(bad.payload.error) is ReplyTooLarge
    ch.release(ok.cost)
    [again] = events(ch, fits)
    assert again.payload == ok.payload


def test_decoded_size_counts_not_just_wire_bytes() -> None:
    # 200,000 empty lists: 200 KB on the wire, ~13 MB of Python list objects
    nils = b"l" + struct.pack(">I", 200_000) + b"j" * 200_001
    ch = budgeted(4 * MiB)
    tracemalloc.start()
    try:
        [msg] = events(ch, frame(header([]) + term(REPLY) + rex_reply_body(nils)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert type(msg.payload.error) is ReplyTooLarge and msg.payload.ref == REF
    assert peak < 6 * MiB
    assert ch.budget.used == msg.cost < 1000  # only the control term is held


def fragmented_reply(seq: int, value: bytes, pieces: int) -> list[bytes]:
    """The frames of a fragmented rex reply ``{REF, value}`` in *pieces* fragments."""
    body = term(REPLY) + rex_reply_body(term(value))
    step = -(-len(body) // pieces)
    parts = [body[i * step:(i + 1) * step] for i in range(pieces)]
    return [frame(header([], fragment=(seq, pieces)) + parts[0])] + [
        cont(seq, pieces - i, part) for i, part in enumerate(parts[1:], 1)]


def test_a_fragmented_reply_over_the_budget_fails_its_call_and_is_skipped() -> None:
    ch = budgeted()
    frames = fragmented_reply(9, bytes(6 * MiB), 96)  # ~64 KiB fragments, like OTP's
    got: list[Tick | Message] = []
    failed_at = None
    for i, f in enumerate(frames):
        got += events(ch, f)
        assert ch.budget.used <= 2 * MiB
        if got and failed_at is None:
            failed_at = i
    assert failed_at is not None and failed_at < 32  # as soon as it did not fit, not at its end
    [bad] = got
    assert bad.control == REPLY and bad.payload.ref == REF
    assert type(bad.payload.error) is ReplyTooLarge
    assert re.fullmatch(r"a fragmented message \(1\.\d MiB so far\) needs 80\.1 KiB, but only "
                        r"[\d.]+ KiB of the connection's 2 MiB memory budget are free "
                        r"\(max_reply_memory\)", str(bad.payload.error))
    assert ch.budget.used == 0 and not ch._sequences
    # the connection goes on
    [good] = events(ch, b"".join(fragmented_reply(10, b"y" * 100_000, 3)))
    assert good.payload == (REF, b"y" * 100_000)


def test_a_fragmented_reply_within_the_budget_decodes() -> None:
    ch = budgeted()
    [msg] = events(ch, b"".join(fragmented_reply(3, b"z" * 600_000, 10)))
    assert msg.payload == (REF, b"z" * 600_000) and ch.budget.used == msg.cost


def test_a_fragment_flood_is_held_to_the_budget() -> None:
    ch = budgeted(4 * MiB)
    chunk = bytes(64 * 1024)
    tracemalloc.start()
    try:
        dropped = 0
        for seq in range(64):  # 64 sequences that never end, each of up to 1 GiB
            first = frame(header([], fragment=(seq, 2**14)) + term(REPLY)
                          + rex_reply_body(b"m" + struct.pack(">I", 2**30)))
            dropped += len(events(ch, first))
            for frag in range(2**14 - 1, 2**14 - 4, -1):
                dropped += len(events(ch, cont(seq, frag, chunk)))
                assert ch.budget.used <= 4 * MiB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * MiB
    assert dropped >= 64 - 4 * MiB // (3 * len(chunk))  # the ones that did not fit failed


def test_a_single_frame_larger_than_the_budget_closes_before_it_arrives() -> None:
    ch = budgeted()
    with pytest.raises(ReplyTooLarge, match=r"a frame of 2 MiB needs 5\.0 MiB, but only 2 MiB"):
        events(ch, struct.pack(">I", 2 * MiB) + b"p")


def test_a_big_frame_is_charged_while_decoded_then_only_its_term() -> None:
    ch = budgeted()
    data = frame(header([]) + term(REPLY) + term((REF, b"b" * 200_000)))
    ch.receive_data(data[:1000])
    assert ch.next_event() is None and ch.budget.used == 2 * held(len(data) - 4)
    [msg] = events(ch, data[1000:])
    assert ch.budget.used == msg.cost < len(data) + 1000


def test_the_budget_has_a_floor() -> None:
    with pytest.raises(LocalError, match="at least 2 MiB"):
        MemoryBudget(1000)
