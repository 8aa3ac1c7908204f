"""Properties of the ETF codec (pure Python) and its behaviour on hostile bytes.

Round trips through a real VM are in tests/live/test_etf_roundtrip.py.
"""

from __future__ import annotations

import contextlib
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mim_bridge.erldist import DecodeError, etf
from support.etf_cases import canon, erl_canon, same
from support.etf_strategies import identity_terms, terms

PROPS = settings(max_examples=300, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- round trips

@PROPS
@given(identity_terms, st.binary(max_size=8), st.integers(0, 9))
def test_decode_encode_is_identity(value: Any, tail: bytes, level: int) -> None:
    data = etf.encode(value)
    assert data[0] == etf.VERSION
    assert same(value, etf.decode(data))
    # deterministic
    assert etf.encode(etf.decode(data)) == data
    # decode_at stops exactly at the end of the term, versioned or not
    assert etf.decode_at(data + tail, 0)[1] == len(data)
    out = bytearray(b"hdr")
    etf.encode_into(value, out, versioned=False)
    got, end = etf.decode_at(bytes(out) + tail, 3, versioned=False)
    assert end == len(out) and same(value, got)
    # the compressed form (131, 80, Size, zlib) decodes to the same value
    packed = b"\x83P" + struct.pack(">I", len(data) - 1) + zlib.compress(data[1:], level)
    assert same(value, etf.decode(packed))


@PROPS
@given(terms)
def test_any_encodable_value_decodes_to_the_same_erlang_term(value: Any) -> None:
    assert erl_canon(etf.decode(etf.encode(value))) == erl_canon(value)


# --------------------------------------------------------------------------- hostile input

def decodes_or_refuses(data: bytes, **kw: Any) -> None:
    """Only a value or DecodeError may come out; anything else fails the test."""
    with contextlib.suppress(DecodeError):
        etf.decode(data, **kw)


@FUZZ
@given(st.binary(max_size=200))
@example(b"")
@example(b"\x83")
@example(b"\x83P\x00\x00\x00\x00")
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    decodes_or_refuses(b"\x83" + data)
    decodes_or_refuses(data)


MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("huge"), st.integers(0, 10_000), st.sampled_from(
        [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x0000FFFF, 0x01000000, 0])),
)


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, arg in ops:
        i = pos % (len(buf) + 1)
        if op == "flip" and i < len(buf):
            buf[i] ^= arg
        elif op == "cut":
            del buf[i:]
        elif op == "insert":
            buf.insert(i, arg)
        elif op == "delete" and i < len(buf):
            del buf[i]
        elif op == "huge":
            buf[i:i + 4] = struct.pack(">I", arg)
    return bytes(buf)


@FUZZ
@given(terms, st.lists(MUTATIONS, min_size=1, max_size=4), st.booleans())
def test_mutated_encodings_only_raise_decode_error(value: Any, ops: list[tuple[str, int, int]],
                                                   compress: bool) -> None:
    data = etf.encode(value)
    if compress:
        data = b"\x83P" + struct.pack(">I", len(data) - 1) + zlib.compress(data[1:])
    decodes_or_refuses(mutate(data, ops))


def _bomb(claimed: int, real: int) -> bytes:
    return b"\x83P" + struct.pack(">I", claimed) + zlib.compress(b"\0" * real, 9)


HUGE = struct.pack(">I", 0xFFFFFFFF)

# Inputs whose length fields claim far more than is there (or inflate to far more than they are).
HOSTILE: list[tuple[str, bytes]] = [
    ("binary claims 4 GiB", b"\x83m" + HUGE + b"x"),
    ("list claims 4G elements", b"\x83l" + HUGE + b"j"),
    ("tuple claims 4G elements", b"\x83i" + HUGE + b"a\x01"),
    ("map claims 4G pairs", b"\x83t" + HUGE + b"a\x01a\x02"),
    ("big claims 4 GiB of digits", b"\x83o" + HUGE + b"\x00\x01"),
    ("bit-binary claims 4 GiB", b"\x83M" + HUGE + b"\x03\x00"),
    ("string claims 64 KiB", b"\x83k\xff\xff" + b"a"),
    ("atom claims 64 KiB", b"\x83v\xff\xff" + b"a"),
    ("fun claims 4 GiB", b"\x83p" + HUGE + bytes(40)),
    ("reference claims 65535 words", b"\x83Z\xff\xff" + b"w\x03a@b" + bytes(8)),
    ("compressed claims 4 GiB", _bomb(0xFFFFFFFF, 1000)),
    ("compressed claims 0 bytes: 100 MB zlib bomb", _bomb(0, 100_000_000)),
    ("compressed claims 255 MB, holds 10 bytes", _bomb(255 * 2**20, 10)),
    ("nested list lengths", b"\x83" + (b"l" + HUGE) * 1000 + b"j"),
]


def measure(fn: Callable[[], object]) -> tuple[int, float]:
    """(peak traced bytes, seconds) of fn()."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        t0 = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - t0
        return tracemalloc.get_traced_memory()[1], elapsed
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("data", [pytest.param(d, id=i) for i, d in HOSTILE])
def test_hostile_lengths_cost_little_memory_and_time(data: bytes) -> None:
    def run() -> None:
        with pytest.raises(DecodeError):
            etf.decode(data)

    peak, elapsed = measure(run)
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert elapsed < 5


NESTING = [
    ("tuples", b"h\x01", b"j"),
    ("lists", b"l\x00\x00\x00\x01", b"jj"),
    ("improper list tails", b"l\x00\x00\x00\x01a\x01", b"j"),
    ("map values", b"t\x00\x00\x00\x01a\x01", b"j"),
    ("map keys", b"t\x00\x00\x00\x01", b"j"),
    ("export module", b"q", b"w\x01m"),
]


@pytest.mark.parametrize(("prefix", "leaf"), [pytest.param(p, lf, id=i) for i, p, lf in NESTING])
def test_deep_nesting_is_a_decode_error_not_recursion_error(prefix: bytes, leaf: bytes) -> None:
    data = b"\x83" + prefix * 200_000 + leaf
    with pytest.raises(DecodeError, match="nested deeper"):
        etf.decode(data)
    inner = data[1:]
    compressed = b"\x83P" + struct.pack(">I", len(inner)) + zlib.compress(inner)
    with pytest.raises(DecodeError, match="nested deeper"):
        etf.decode(compressed)


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = etf.DEFAULT_MAX_DEPTH
    data = b"\x83" + b"l\x00\x00\x00\x01" * depth + b"j" + b"j" * depth
    value = etf.decode(data)
    for _ in range(depth):
        assert type(value) is list and len(value) == 1
        value = value[0]
    assert value == []


def test_canon_distinguishes_what_python_equality_conflates() -> None:
    # the comparison helpers the property tests rely on
    one, one_f, true = 1, 1.0, True
    assert one == one_f == true  # Python conflates them...
    assert len({canon(one), canon(one_f), canon(true)}) == 3  # ...the helpers do not
    assert canon(0.0) != canon(-0.0)
    assert canon("ab") != canon([97, 98]) and erl_canon("ab") == erl_canon([97, 98])
