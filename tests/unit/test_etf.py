"""ETF codec tables: encodings OTP no longer produces, exact encoder output, and every refusal.

Bytes produced by real OTP releases are in test_etf_vectors.py; random terms and hostile input
in test_etf_properties.py.
"""

from __future__ import annotations

import enum
import struct
import zlib
from typing import Any, NamedTuple

import pytest

from mim_bridge.erldist import DecodeError, EncodeError, etf
from mim_bridge.erldist.terms import (
    Atom,
    BitBinary,
    Export,
    FloatKey,
    Fun,
    ImproperList,
    ListKey,
    MapKey,
    Pid,
    Port,
    Reference,
    as_key,
    exact_key,
)
from support.etf_cases import canon, same


def b(*parts: int | bytes | str) -> bytes:
    """Concatenate ints (single bytes), bytes and str (Latin-1)."""
    out = bytearray()
    for p in parts:
        if isinstance(p, int):
            out.append(p)
        elif isinstance(p, str):
            out += p.encode("latin-1")
        else:
            out += p
    return bytes(out)


def u16(n: int) -> bytes:
    return struct.pack(">H", n)


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def atom(name: str) -> bytes:
    """SMALL_ATOM_UTF8_EXT."""
    raw = name.encode()
    return b(119, len(raw), raw)


NODE = Atom("a@b")

# --------------------------------------------------------------------------- decoding

DECODE_TABLE: list[tuple[str, bytes, Any]] = [
    # deprecated / legacy encodings that OTP 23+ no longer emits but must still be read
    ("ATOM_EXT", b(100, u16(2), "ok"), Atom("ok")),
    ("SMALL_ATOM_EXT latin-1", b(115, 4, "caf\xe9"), Atom("café")),
    ("ATOM_UTF8_EXT", b(118, u16(4), "ząb".encode()), Atom("ząb")),
    ("ATOM_EXT true is bool", b(100, u16(4), "true"), True),
    ("SMALL_ATOM_EXT false is bool", b(115, 5, "false"), False),
    ("PID_EXT", b(103, atom("a@b"), u32(5), u32(6), 3), Pid(NODE, 5, 6, 3)),
    ("NEW_PID_EXT", b(88, atom("a@b"), u32(5), u32(6), u32(0xDEADBEEF)),
     Pid(NODE, 5, 6, 0xDEADBEEF)),
    ("PORT_EXT", b(102, atom("a@b"), u32(7), 2), Port(NODE, 7, 2)),
    ("NEW_PORT_EXT", b(89, atom("a@b"), u32(7), u32(9)), Port(NODE, 7, 9)),
    ("V4_PORT_EXT", b(120, atom("a@b"), struct.pack(">Q", 1 << 40), u32(9)),
     Port(NODE, 1 << 40, 9)),
    ("REFERENCE_EXT", b(101, atom("a@b"), u32(77), 1), Reference(NODE, 1, (77,))),
    ("NEW_REFERENCE_EXT", b(114, u16(3), atom("a@b"), 2, u32(1), u32(2), u32(3)),
     Reference(NODE, 2, (1, 2, 3))),
    ("NEWER_REFERENCE_EXT", b(90, u16(2), atom("a@b"), u32(1 << 31), u32(1), u32(2)),
     Reference(NODE, 1 << 31, (1, 2))),
    ("FLOAT_EXT", b(99, b"-1.25000000000000000000e+02".ljust(31, b"\0")), -125.0),
    ("NEW_FLOAT_EXT", b(70, struct.pack(">d", 0.1)), 0.1),
    ("STRING_EXT empty", b(107, u16(0)), ""),
    ("STRING_EXT latin-1", b(107, u16(3), "\xff\x00a"), "\xff\x00a"),
    ("LIST_EXT of zero elements", b(108, u32(0), 106), []),
    ("LIST_EXT improper", b(108, u32(1), 97, 1, 97, 2), ImproperList((1,), 2)),
    ("BINARY_EXT", b(109, u32(2), "hi"), b"hi"),
    ("BIT_BINARY_EXT 8 bits is a binary", b(77, u32(2), 8, "hi"), b"hi"),
    ("BIT_BINARY_EXT empty", b(77, u32(0), 0), b""),
    ("BIT_BINARY_EXT 5 bits", b(77, u32(1), 5, 0xF8), BitBinary(b"\xf8", 5)),
    ("BIT_BINARY_EXT drops bits past the end", b(77, u32(2), 3, 0xFF, 0xFF),
     BitBinary(b"\xff\xe0", 3)),
    ("SMALL_BIG_EXT zero-length is 0", b(110, 0, 0), 0),
    ("SMALL_BIG_EXT negative", b(110, 2, 1, 0x01, 0x02), -0x0201),
    ("SMALL_BIG_EXT leading zero bytes", b(110, 3, 0, 5, 0, 0), 5),
    ("LARGE_BIG_EXT", b(111, u32(1), 0, 200), 200),
    ("LARGE_TUPLE_EXT", b(105, u32(2), 97, 1, 97, 2), (1, 2)),
    ("MAP_EXT list key", b(116, u32(1), 108, u32(1), atom("k"), 106, 97, 1),
     {ListKey([Atom("k")]): 1}),
    ("MAP_EXT improper-list key holding a list",  # unhashable before: TypeError escaped
     b(116, u32(1), 108, u32(1), 108, u32(1), atom("a"), 106, atom("b"), 97, 1),
     {ImproperList((ListKey([Atom("a")]),), Atom("b")): 1}),
    ("MAP_EXT tuple key holding a list", b(116, u32(1), 104, 1, 108, u32(1), 97, 1, 106, 106),
     {(ListKey([1]),): []}),
    ("MAP_EXT map key", b(116, u32(1), 116, u32(1), atom("a"), 108, u32(1), 97, 1, 106, 97, 2),
     {MapKey({Atom("a"): ListKey([1])}): 2}),
    ("MAP_EXT list and tuple keys stay apart", b(116, u32(2), 106, 97, 1, 104, 0, 97, 2),
     {ListKey([]): 1, (): 2}),
    # 1, 1.0 and true are equal in Python: the whole map in exact form
    ("MAP_EXT 1, 1.0 and true keys",
     b(116, u32(4), 97, 1, 97, 1, 70, struct.pack(">d", 1.0), 97, 2, atom("true"), 97, 3,
       70, struct.pack(">d", 2.5), 97, 4),
     {1: 1, FloatKey(1.0): 2, Atom("true"): 3, FloatKey(2.5): 4}),
    ("MAP_EXT 1.0 before true",
     b(116, u32(2), 70, struct.pack(">d", 1.0), 97, 1, atom("true"), 97, 2),
     {FloatKey(1.0): 1, Atom("true"): 2}),
    ("MAP_EXT 0.0 and -0.0 keys",
     b(116, u32(2), 70, struct.pack(">d", 0.0), 97, 1, 70, struct.pack(">d", -0.0), 97, 2),
     {FloatKey(0.0): 1, FloatKey(-0.0): 2}),
    ("MAP_EXT {1} and {1.0} keys",
     b(116, u32(2), 104, 1, 97, 1, 97, 1, 104, 1, 70, struct.pack(">d", 1.0), 97, 2),
     {(1,): 1, (FloatKey(1.0),): 2}),
    ("MAP_EXT #{a => 1} and #{a => 1.0} keys",
     b(116, u32(2), 116, u32(1), atom("a"), 97, 1, 97, 1,
       116, u32(1), atom("a"), 70, struct.pack(">d", 1.0), 97, 2),
     {MapKey({Atom("a"): 1}): 1, MapKey({Atom("a"): FloatKey(1.0)}): 2}),
    ("MAP_EXT without a clash keeps float and bool keys",
     b(116, u32(3), 70, struct.pack(">d", 1.5), 97, 1, atom("true"), 97, 2, 97, 2, 97, 3),
     {1.5: 1, True: 2, 2: 3}),
    ("EXPORT_EXT", b(113, atom("m"), atom("f"), 97, 3), Export(Atom("m"), Atom("f"), 3)),
]


@pytest.mark.parametrize(("data", "want"), [pytest.param(d, w, id=i) for i, d, w in DECODE_TABLE])
def test_decode_table(data: bytes, want: Any) -> None:
    got = etf.decode(b(131, data))
    assert same(want, got), f"{got!r}"


# A real fun from OTP 25 (etf_echo:sample_closure/1 with one free variable).
REAL_FUN = bytes.fromhex(
    "7000000060011808605051133487537f940cba791c8400000001000000016400086574665f6563686f6101"
    "6200c043025864000d6e6f6e6f6465406e6f686f7374000000090000000000000000680361016d00000001"
    "786c00000001640001616a")


def test_new_fun_ext_is_kept_opaque_and_reencoded_verbatim() -> None:
    fun = etf.decode(b(131, REAL_FUN))
    assert fun == Fun(Atom("etf_echo"), REAL_FUN)
    assert etf.encode(fun) == b(131, REAL_FUN)
    # inside a container the fun's Size field delimits it exactly
    assert etf.decode(b(131, 104, 2, REAL_FUN, 97, 7)) == (fun, 7)


def test_old_fun_ext_is_kept_opaque() -> None:
    pid = b(88, atom("a@b"), u32(1), u32(0), u32(1))
    raw = b(117, u32(1), pid, atom("mod"), 97, 0, 97, 5, 97, 42)  # one free variable: 42
    fun = etf.decode(b(131, raw, ))
    assert fun == Fun(Atom("mod"), raw)


def test_atom_cache_refs_resolve_through_the_cache() -> None:
    cache = [Atom("rex"), Atom("true")]
    data = b(104, 2, 82, 0, 82, 1)
    assert etf.decode_at(data, 0, cache=cache, versioned=False) == ((Atom("rex"), True), 6)


def test_decode_at_offsets_and_unversioned_terms() -> None:
    data = b(0xFF, 131, 97, 1, 131, 97, 2)
    assert etf.decode_at(data, 1) == (1, 4)
    assert etf.decode_at(data, 4) == (2, 7)
    assert etf.decode_at(b(97, 3, 97, 4), 2, versioned=False) == (4, 4)


def test_compressed_term_followed_by_more_bytes() -> None:
    inner = b(107, u16(5), "hello")
    comp = b(131, 80, u32(len(inner)), zlib.compress(inner))
    term, end = etf.decode_at(comp + b"tail", 0)
    assert (term, end) == ("hello", len(comp))


def _compressed(inner: bytes, size: int | None = None) -> bytes:
    return b(131, 80, u32(len(inner) if size is None else size), zlib.compress(inner))


DECODE_ERRORS: list[tuple[str, bytes]] = [
    ("empty input", b""),
    ("no version byte", b(97, 1)),
    ("version only", b(131)),
    ("unknown tag", b(131, 1)),
    ("trailing bytes", b(131, 97, 1, 0)),
    ("truncated INTEGER_EXT", b(131, 98, 0, 0)),
    ("truncated atom", b(131, 119, 5, "ab")),
    ("atom not UTF-8", b(131, 119, 2, 0xC3, 0x28)),
    ("truncated binary", b(131, 109, u32(10), "abc")),
    ("binary length beyond input", b(131, 109, u32(0xFFFFFFFF))),
    ("tuple arity beyond input", b(131, 105, u32(0xFFFFFFFF), 97, 1)),
    ("list length beyond input", b(131, 108, u32(0xFFFFFFFF), 106)),
    ("map size beyond input", b(131, 116, u32(0x7FFFFFFF), 97, 1, 97, 2)),
    ("string length beyond input", b(131, 107, u16(100), "a")),
    ("big length beyond input", b(131, 111, u32(0xFFFFFFFF), 0, 1)),
    ("truncated NEW_FLOAT_EXT", b(131, 70, 0, 0, 0)),
    ("FLOAT_EXT not a number", b(131, 99, b"one point five".ljust(31, b"\0"))),
    ("FLOAT_EXT truncated", b(131, 99, "1.5")),
    ("bit-binary with 0 bits", b(131, 77, u32(1), 0, 0xFF)),
    ("bit-binary with 9 bits", b(131, 77, u32(1), 9, 0xFF)),
    ("bit-binary empty with bits", b(131, 77, u32(0), 3)),
    ("pid node not an atom", b(131, 88, 97, 1, u32(1), u32(1), u32(1))),
    ("truncated pid", b(131, 88, atom("a@b"), u32(1))),
    ("reference with 6 id words", b(131, 90, u16(6), atom("a@b"), u32(1), u32(1) * 6)),
    ("reference ids truncated", b(131, 90, u16(3), atom("a@b"), u32(1), u32(1))),
    ("export arity not an integer", b(131, 113, atom("m"), atom("f"), atom("x"))),
    ("NEW_FUN_EXT size too small", b(131, 112, u32(2), 0, 0)),
    ("NEW_FUN_EXT size beyond input", b(131, 112, u32(1000), REAL_FUN[5:60])),
    ("FUN_EXT free variables beyond input",
     b(131, 117, u32(0xFFFFFF), 88, atom("a@b"), u32(1), u32(0), u32(1), atom("m"), 97, 0, 97, 0)),
    ("atom cache ref without a header", b(131, 82, 0)),
    ("LOCAL_EXT", b(131, 121, 0, 0, 0, 0)),
    ("compressed inside a term", b(131, 104, 1, 80, u32(1), 0)),
    ("map with a duplicate key", b(131, 116, u32(2), 97, 1, 97, 1, 97, 1, 97, 2)),
    ("map with a duplicate atom key", b(131, 116, u32(2), atom("a"), 97, 1, atom("a"), 97, 2)),
    ("map with a duplicate atom key, then another key",
     b(131, 116, u32(3), atom("a"), 97, 1, atom("a"), 97, 2, 97, 5, 97, 3)),
    ("map with a duplicate atom key, then a clash",
     b(131, 116, u32(4), atom("a"), 97, 1, atom("a"), 97, 2, 97, 1, 97, 3,
       70, struct.pack(">d", 1.0), 97, 4)),
    ("map with a duplicate true key in a clash",
     b(131, 116, u32(3), atom("true"), 97, 1, 97, 1, 97, 3, atom("true"), 97, 4)),
    ("map with a duplicate key after a clash",
     b(131, 116, u32(3), 97, 1, 97, 1, 70, struct.pack(">d", 1.0), 97, 2, 97, 1, 97, 3)),
    ("map with a duplicate map key",
     b(131, 116, u32(2), 116, u32(0), 97, 1, 116, u32(0), 97, 2)),
    ("compressed: corrupt zlib", b(131, 80, u32(10), "not zlib at all")),
    ("compressed: truncated header", b(131, 80, 0, 0)),
    ("compressed: smaller than claimed", _compressed(b(97, 1), size=5)),
    ("compressed: larger than claimed", _compressed(b(107, u16(5), "hello"), size=3)),
    ("compressed: trailing bytes inside", _compressed(b(97, 1, 97, 2))),
    ("compressed: claims 4 GiB", b(131, 80, u32(0xFFFFFFFF), zlib.compress(b"\0" * 100))),
    ("compressed: claims 0 bytes (was an unbounded inflate)",
     b(131, 80, u32(0), zlib.compress(b"\0" * 1_000_000))),
]


@pytest.mark.parametrize("data", [pytest.param(d, id=i) for i, d in DECODE_ERRORS])
def test_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        etf.decode(data)


@pytest.mark.parametrize("data", [pytest.param(d, id=i) for i, d in DECODE_ERRORS
                                  if "duplicate" in i])
def test_duplicate_map_keys_are_refused_like_binary_to_term_does(data: bytes) -> None:
    with pytest.raises(DecodeError, match="duplicate key"):
        etf.decode(data)


def test_max_size_limits_compressed_terms() -> None:
    data = _compressed(b(109, u32(1000), b"x" * 1000))
    assert etf.decode(data) == b"x" * 1000
    with pytest.raises(DecodeError, match="limit 100"):
        etf.decode(data, max_size=100)


def test_max_depth() -> None:
    nested = b(131, b(104, 1) * 10, 106)
    assert etf.decode(nested, max_depth=10) == (((((((((([],),),),),),),),),),)
    with pytest.raises(DecodeError, match="deeper"):
        etf.decode(nested, max_depth=9)


def test_decode_error_is_the_typed_error_tree() -> None:
    from mim_bridge.erldist import ErldistError, RemoteProtocolError

    with pytest.raises(DecodeError) as info:
        etf.decode(b"\x83\x01")
    assert isinstance(info.value, RemoteProtocolError)
    assert isinstance(info.value, ErldistError)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- encoding

class Color(enum.IntEnum):
    RED = 300


class Point(NamedTuple):
    x: int
    y: int


ENCODE_TABLE: list[tuple[str, Any, bytes]] = [
    ("None is undefined", None, b(119, 9, "undefined")),
    ("True", True, b(119, 4, "true")),
    ("False", False, b(119, 5, "false")),
    ("small int", 255, b(97, 255)),
    ("INTEGER_EXT", -1, b(98, 0xFF, 0xFF, 0xFF, 0xFF)),
    ("SMALL_BIG_EXT", 1 << 31, b(110, 4, 0, 0, 0, 0, 0x80)),
    ("SMALL_BIG_EXT negative", -(1 << 32), b(110, 5, 1, 0, 0, 0, 0, 1)),
    ("LARGE_BIG_EXT", 1 << 2040, b(111, u32(256), 0, bytes(255), 1)),
    ("float", 1.5, b(70, struct.pack(">d", 1.5))),
    ("-0.0 keeps its sign", -0.0, b(70, 0x80, bytes(7))),
    ("atom", Atom("ok"), b(119, 2, "ok")),
    ("atom 255 multibyte characters", Atom("ą" * 255), b(118, u16(510), ("ą" * 255).encode())),
    ("empty str is []", "", b(106)),
    ("latin-1 str is STRING_EXT", "café", b(107, u16(4), "caf\xe9")),
    ("unicode str is a list of codes", "aą", b(108, u32(2), 97, 97, 98, u32(0x105), 106)),
    ("long latin-1 str is a list", "a" * 65536, b(108, u32(65536), b"\x61\x61" * 65536, 106)),
    ("bytes", b"\x00\x01", b(109, u32(2), 0, 1)),
    ("bytearray", bytearray(b"ab"), b(109, u32(2), "ab")),
    ("memoryview", memoryview(b"ab"), b(109, u32(2), "ab")),
    ("tuple", (1, 2), b(104, 2, 97, 1, 97, 2)),
    ("large tuple", tuple([0] * 256), b(105, u32(256), b"\x61\x00" * 256)),
    ("empty list", [], b(106)),
    ("list", [Atom("a")], b(108, u32(1), 119, 1, "a", 106)),
    ("ListKey is a list", ListKey([1]), b(108, u32(1), 97, 1, 106)),
    ("FloatKey is a float", FloatKey(1.0), b(70, struct.pack(">d", 1.0))),
    ("FloatKey -0.0", FloatKey(-0.0), b(70, 0x80, bytes(7))),
    ("MapKey is a map", MapKey({Atom("k"): [1]}),
     b(116, u32(1), 119, 1, "k", 108, u32(1), 97, 1, 106)),
    ("map with exact keys", {1: 1, FloatKey(1.0): 2, Atom("true"): 3},
     b(116, u32(3), 97, 1, 97, 1, 70, struct.pack(">d", 1.0), 97, 2, 119, 4, "true", 97, 3)),
    ("dict", {Atom("k"): 1}, b(116, u32(1), 119, 1, "k", 97, 1)),
    ("improper list", ImproperList((1,), 2), b(108, u32(1), 97, 1, 97, 2)),
    ("bit-binary", BitBinary(b"\xe0", 3), b(77, u32(1), 3, 0xE0)),
    ("bit-binary without insignificant bits", BitBinary(b"\xff", 3), b(77, u32(1), 3, 0xE0)),
    ("pid", Pid(NODE, 1, 2, 3), b(88, atom("a@b"), u32(1), u32(2), u32(3))),
    ("port", Port(NODE, 7, 3), b(89, atom("a@b"), u32(7), u32(3))),
    ("port with a 64-bit id", Port(NODE, 1 << 40, 3),
     b(120, atom("a@b"), struct.pack(">Q", 1 << 40), u32(3))),
    ("reference", Reference(NODE, 3, (1, 2)), b(90, u16(2), atom("a@b"), u32(3), u32(1), u32(2))),
    ("export", Export(Atom("m"), Atom("f"), 2), b(113, 119, 1, "m", 119, 1, "f", 97, 2)),
    ("fun is passed through", Fun(Atom("m"), b"p-opaque"), b"p-opaque"),
    ("IntEnum is an int", Color.RED, b(98, u32(300))),
    ("NamedTuple is a tuple", Point(1, 2), b(104, 2, 97, 1, 97, 2)),
]


@pytest.mark.parametrize(("value", "want"), [pytest.param(v, w, id=i) for i, v, w in ENCODE_TABLE])
def test_encode_table(value: Any, want: bytes) -> None:
    assert etf.encode(value).hex() == b(131, want).hex()


ENCODE_ERRORS: list[tuple[str, Any]] = [
    ("object", object()),
    ("set", {1, 2}),
    ("complex", 1j),
    ("atom of 256 characters", Atom("a" * 256)),
    ("atom with a lone surrogate", Atom("\udc80")),
    ("NaN", float("nan")),
    ("infinity", float("-inf")),
    ("improper list without elements", ImproperList((), 1)),
    ("empty bit-binary", BitBinary(b"", 3)),
    ("bit-binary with 0 bits", BitBinary(b"a", 0)),
    ("bit-binary with 9 bits", BitBinary(b"a", 9)),
    ("pid id beyond 32 bits", Pid(NODE, 1 << 32, 0, 0)),
    ("negative pid serial", Pid(NODE, 1, -1, 0)),
    ("port id beyond 64 bits", Port(NODE, 1 << 64, 0)),
    ("reference without ids", Reference(NODE, 0, ())),
    ("reference with 6 ids", Reference(NODE, 0, (1, 2, 3, 4, 5, 6))),
    ("reference id beyond 32 bits", Reference(NODE, 0, (1 << 32,))),
    ("export arity 256", Export(Atom("m"), Atom("f"), 256)),
    ("nested set", [1, (2, {3})]),
    ("FloatKey NaN", {FloatKey(float("nan")): 1}),
]


@pytest.mark.parametrize("value", [pytest.param(v, id=i) for i, v in ENCODE_ERRORS])
def test_encode_errors(value: Any) -> None:
    with pytest.raises(EncodeError):
        etf.encode(value)


def test_encode_error_leaves_the_output_buffer_untouched() -> None:
    out = bytearray(b"prefix")
    with pytest.raises(EncodeError):
        etf.encode_into((1, [2, object()]), out)
    assert out == b"prefix"
    with pytest.raises(EncodeError):
        etf.encode_into(Pid(NODE, -1, 0, 0), out, versioned=False)
    assert out == b"prefix"


def test_deep_nesting_is_an_encode_error_not_recursion_error() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(EncodeError, match="nested"):
        etf.encode(deep)
    ok: Any = ()
    for _ in range(etf.DEFAULT_MAX_DEPTH):
        ok = (ok,)
    assert etf.decode(etf.encode(ok)) == ok


def test_encode_error_is_a_local_type_error() -> None:
    from mim_bridge.erldist import LocalError

    with pytest.raises(EncodeError) as info:
        etf.encode(object())
    assert isinstance(info.value, LocalError) and isinstance(info.value, TypeError)


# --------------------------------------------------------------------------- map keys

def test_key_wrappers_are_equal_only_to_their_own_kind() -> None:
    # both operand orders on purpose: tuple.__ne__ must defer to the wrapper
    assert ListKey([1]) != (1,) and (1,) != ListKey([1]) and ListKey([]) != ()  # noqa: SIM300
    assert ListKey([1]) == ListKey((1,)) and hash(ListKey([1])) == hash(ListKey((1,)))
    assert len({ListKey([1]), (1,), ListKey([]), ()}) == 4
    assert FloatKey(1.0) != 1.0 and FloatKey(1.0) != 1 and FloatKey(1.0) != True  # noqa: E712
    assert FloatKey(0.0) != FloatKey(-0.0) and FloatKey(2.5) == FloatKey(2.5)
    assert len({1, FloatKey(1.0), Atom("true"), FloatKey(0.0), FloatKey(-0.0)}) == 5
    assert float(FloatKey(2.5)) == 2.5 and repr(FloatKey(2.5)) == "FloatKey(2.5)"
    mk = MapKey({Atom("a"): [1, {Atom("b"): [2]}]})
    assert mk == MapKey({Atom("a"): ListKey([1, MapKey({Atom("b"): ListKey([2])})])})
    assert hash(mk) == hash(MapKey([(Atom("a"), [1, {Atom("b"): [2]}])]))
    assert mk != {Atom("a"): ListKey([1, MapKey({Atom("b"): ListKey([2])})])}  # not a dict
    assert dict(mk) == {Atom("a"): ListKey([1, MapKey({Atom("b"): ListKey([2])})])}
    assert mk[Atom("a")][0] == 1 and len(mk) == 1 and list(mk) == [Atom("a")]
    assert MapKey({1: 2}) == MapKey({1: 2.0})  # plain values compare as Python does...
    assert exact_key(MapKey({1: 2})) != exact_key(MapKey({1: 2.0}))  # ...exact forms do not
    with pytest.raises(AttributeError):
        mk._items = {}
    with pytest.raises(AttributeError):
        FloatKey(1.0).value = 2.0  # type: ignore[misc]


def test_as_key_and_exact_key() -> None:
    value: Any = ([1, {Atom("a"): [True]}], ImproperList(([2.5],), 1.0), {})
    key = as_key(value)
    assert same((ListKey([1, MapKey({Atom("a"): ListKey([True])})]),
                 ImproperList((ListKey([2.5]),), 1.0), MapKey({})), key)
    hash(key)
    exact = exact_key(key)
    assert same((ListKey([1, MapKey({Atom("a"): ListKey([Atom("true")])})]),
                 ImproperList((ListKey([FloatKey(2.5)]),), FloatKey(1.0)), MapKey({})), exact)
    assert exact_key(exact) == exact and exact_key(exact[0][1]) is exact[0][1]  # idempotent
    assert etf.decode(etf.encode(exact)) == etf.decode(etf.encode(value))  # same Erlang term


def test_user_map_with_exact_keys_round_trips_to_the_same_keys() -> None:
    value = {1: Atom("int"), FloatKey(1.0): Atom("float"), Atom("true"): Atom("bool"),
             (1,): 1, (FloatKey(1.0),): 2, MapKey({}): 3, ListKey([]): 4, (): 5}
    got = etf.decode(etf.encode(value))
    assert same(value, got)
    assert {canon(k) for k in got} == {canon(k) for k in value}


def test_a_clash_deep_inside_key_maps_costs_little(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each level #{Inner => x, 1 => a, 1.0 => b} clashes, so its keys go to exact form; that
    must not walk all deeper levels again (quadratic in the nesting depth: a hang)."""
    from mim_bridge.erldist import terms

    calls = 0
    original = terms.exact_key

    def counting(key: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(key)

    monkeypatch.setattr(terms, "exact_key", counting)  # the recursive calls go through this
    levels, width = 200, 20_000
    data = b(105, u32(width), b"a\x01" * width)  # a wide tuple at the bottom
    for _ in range(levels):
        data = b(116, u32(3), data, 97, 0, 97, 1, 97, 1, 70, struct.pack(">d", 1.0), 97, 2)
    got = etf.decode(b(131, data))
    for _ in range(levels):
        assert len(got) == 3
        got = next(k for k in got if type(k) is MapKey or type(k) is tuple)
    assert got == (1,) * width
    assert calls < 4 * width + 100 * levels, calls


def test_keys_nested_to_the_depth_limit_in_a_clashing_map() -> None:
    clash = b(97, 1, 97, 1, 70, struct.pack(">d", 1.0), 97, 2)
    for levels in (200, etf.DEFAULT_MAX_DEPTH - 1):
        key = b(108, u32(1)) * levels + b(97, 7) + b(106) * levels  # [[...[7]...]]
        got = etf.decode(b(131, 116, u32(3), key, 97, 0, clash))
        assert len(got) == 3 and FloatKey(1.0) in got
        inner = next(k for k in got if type(k) is ListKey)
        for _ in range(levels - 1):
            inner = inner[0]
        assert inner == ListKey([7])
