"""External Term Format: pure encode/decode with bounded cost on untrusted input.

Why our own codec: it is small, the distribution layer needs decode-at-offset and atom-cache
references (which standalone codecs lack), and decoding must be safe against hostile bytes:

* every length is checked against the bytes actually present *before* anything is allocated, so
  a 4-byte length field can never make us reserve gigabytes;
* nesting depth is limited (``max_depth``) so deep terms raise :class:`DecodeError`, not
  ``RecursionError``;
* compressed terms are inflated with an output cap (``max_size``), checked before inflating;
* with *max_memory*, the decoder also counts what the decoded term will cost in Python objects
  (about what ``sys.getsizeof`` says of each, plus its slot in the container) and the inflated
  bytes, and stops with :class:`ReplyTooLarge` when the sum would pass the limit. A wire byte can
  cost 64 bytes of Python (``[]`` is one byte, a new list object), so the wire size alone bounds
  nothing; :mod:`.messages` gives each message what is left of its connection's budget.

See :mod:`.terms` for the Python <-> Erlang type mapping.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from mim_bridge.erldist.errors import DecodeError, EncodeError, ReplyTooLarge
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

__all__ = ["ATOM_CACHE_REF", "ATOM_EXT", "ATOM_UTF8_EXT", "BINARY_EXT", "BIT_BINARY_EXT",
           "COMPRESSED", "COST_ATOM", "COST_BYTES", "COST_LIST", "COST_MAP", "COST_MAP_ITEM",
           "COST_NODE_OBJ", "COST_NUMBER", "COST_STR", "COST_TUPLE", "DEFAULT_MAX_DEPTH",
           "DEFAULT_MAX_SIZE", "EXPORT_EXT", "FLOAT_EXT", "FUN_EXT", "INTEGER_EXT", "LARGE_BIG_EXT",
           "LARGE_TUPLE_EXT", "LIST_EXT", "LOCAL_EXT", "MAP_EXT", "NEWER_REFERENCE_EXT",
           "NEW_FLOAT_EXT", "NEW_FUN_EXT", "NEW_PID_EXT", "NEW_PORT_EXT", "NEW_REFERENCE_EXT",
           "NIL_EXT", "PID_EXT", "PORT_EXT", "REFERENCE_EXT", "SMALL_ATOM_EXT",
           "SMALL_ATOM_UTF8_EXT", "SMALL_BIG_EXT", "SMALL_INTEGER_EXT", "SMALL_TUPLE_EXT",
           "STRING_EXT", "UNLIMITED", "V4_PORT_EXT", "VERSION", "decode", "decode_at",
           "decode_costed", "encode", "encode_into", "reply_ref"]

VERSION = 131

NEW_FLOAT_EXT = 70
BIT_BINARY_EXT = 77
COMPRESSED = 80
ATOM_CACHE_REF = 82
NEW_PID_EXT = 88
NEW_PORT_EXT = 89
NEWER_REFERENCE_EXT = 90
SMALL_INTEGER_EXT = 97
INTEGER_EXT = 98
FLOAT_EXT = 99
ATOM_EXT = 100
REFERENCE_EXT = 101
PORT_EXT = 102
PID_EXT = 103
SMALL_TUPLE_EXT = 104
LARGE_TUPLE_EXT = 105
NIL_EXT = 106
STRING_EXT = 107
LIST_EXT = 108
BINARY_EXT = 109
SMALL_BIG_EXT = 110
LARGE_BIG_EXT = 111
NEW_FUN_EXT = 112
EXPORT_EXT = 113
NEW_REFERENCE_EXT = 114
SMALL_ATOM_EXT = 115
MAP_EXT = 116
FUN_EXT = 117
ATOM_UTF8_EXT = 118
SMALL_ATOM_UTF8_EXT = 119
V4_PORT_EXT = 120
LOCAL_EXT = 121

DEFAULT_MAX_DEPTH = 256
DEFAULT_MAX_SIZE = 256 * 1024 * 1024  # inflated size cap for compressed terms
UNLIMITED = 1 << 62  # max_memory when none is given

# Estimated cost in bytes of one decoded object (64-bit CPython, sys.getsizeof rounded up) and of
# each slot that refers to it from its container. Small ints, cached atoms and () are shared.
_PTR = 8
COST_TUPLE = 40
COST_LIST = 64         # 56 + room for the growth of a list built by appending
COST_MAP = 64
COST_MAP_ITEM = 56     # hash table entry + index, at the worst fill before a resize
COST_BYTES = 33
COST_STR = 49
COST_ATOM = 120        # an Atom and its name str
COST_NUMBER = 32       # int outside the small-int cache, float
COST_NODE_OBJ = 96     # pid, port, reference, export, fun, bit-binary, improper list

_TRUE = Atom("true")
_FALSE = Atom("false")
_UNDEFINED = Atom("undefined")

_ATOMS: dict[bytes, Any] = {}  # small-atom bytes -> decoded atom (bounded, see term())
_ATOMS_MAX = 20_000       # entries; process-wide and fed by the network, so small:
_ATOMS_MAX_LEN = 64       # at most 20,000 x ~250 bytes = ~5 MB

_u16 = struct.Struct(">H").unpack_from
_u32 = struct.Struct(">I").unpack_from
_i32 = struct.Struct(">i").unpack_from
_u64 = struct.Struct(">Q").unpack_from
_f64 = struct.Struct(">d").unpack_from


class _Decoder:
    __slots__ = ("cache", "data", "end", "left", "limit", "max_depth", "max_size", "pos")

    def __init__(self, data: bytes, pos: int, cache: Sequence[Atom] | None,
                 max_depth: int, max_size: int, left: int = UNLIMITED) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data)
        self.cache = cache
        self.max_depth = max_depth
        self.max_size = max_size
        self.left = left    # memory this term may still cost (see the module docstring)
        self.limit = left

    def over(self) -> ReplyTooLarge:
        return ReplyTooLarge(f"the term needs more than the {self.limit} bytes of memory it may "
                             f"use (at offset {self.pos})")

    def charge(self, n: int) -> None:
        """Count *n* bytes of decoded objects against the memory this term may use."""
        self.left -= n
        if self.left < 0:
            raise self.over()

    def need(self, n: int) -> int:
        """Reserve *n* bytes at the cursor; return the old position."""
        p = self.pos
        if n < 0 or p + n > self.end:
            raise DecodeError(f"truncated term: need {n} bytes at offset {p}, "
                              f"have {self.end - p}")
        self.pos = p + n
        return p

    def atom(self, depth: int) -> Atom:
        t = self.term(depth)
        if not isinstance(t, Atom):
            if t is True or t is False:
                return _TRUE if t else _FALSE
            raise DecodeError(f"expected an atom at offset {self.pos}")
        return t

    def small_int(self, depth: int) -> int:
        t = self.term(depth)
        if type(t) is not int:
            raise DecodeError(f"expected an integer at offset {self.pos}")
        return t

    def pid(self, depth: int) -> Pid:
        t = self.term(depth)
        if not isinstance(t, Pid):
            raise DecodeError(f"expected a pid at offset {self.pos}")
        return t

    def exact_map(self, first: dict[Any, Any], key: Any, value: Any, i: int, n: int,
                  depth: int) -> dict[Any, Any]:
        """Finish a map of *n* pairs whose key *i* is equal in Python to an earlier one (``1``,
        ``1.0``, ``true``): *first* maps the keys before it to their values, *key*/*value* is
        pair *i*. Every key is put in exact form (see :mod:`.terms`); a clash then is a
        duplicate key, which ``binary_to_term`` refuses too."""
        if len(first) < i:  # an atom key was repeated before
            raise DecodeError(f"map with a duplicate key before offset {self.pos}")
        out = {exact_key(k): v for k, v in first.items()}
        # (if the clash was only that earlier repeat, *first* holds *key*: a duplicate below)
        for j in range(i, n):
            if j > i:
                key = self.term(depth)
                value = self.term(depth)
            size = len(out)
            out[exact_key(as_key(key))] = value
            if len(out) == size:
                raise DecodeError(f"map with a duplicate key before offset {self.pos}")
        return out

    def make_atom(self, raw: bytes, utf8: bool) -> Any:
        self.left -= COST_ATOM + len(raw)
        if self.left < 0:
            raise self.over()
        try:
            name = raw.decode("utf-8") if utf8 else raw.decode("latin-1")
        except UnicodeDecodeError as e:
            raise DecodeError("atom text is not valid UTF-8") from e
        if name == "true":
            return True
        if name == "false":
            return False
        return Atom(name)

    def term(self, depth: int = 0) -> Any:
        if depth > self.max_depth:
            raise DecodeError(f"term nested deeper than {self.max_depth} levels")
        data = self.data
        p = self.pos
        if p + 1 < self.end:
            # Fast paths for what every RPC reply is made of; bounds were just checked.
            tag, arg = data[p], data[p + 1]
            if tag == SMALL_INTEGER_EXT:
                self.pos = p + 2
                return arg
            if tag == SMALL_TUPLE_EXT:
                self.pos = p + 2
                if arg > self.end - self.pos:
                    raise DecodeError(f"tuple arity {arg} exceeds the remaining input")
                self.left -= COST_TUPLE + _PTR * arg
                if self.left < 0:
                    raise self.over()
                d = depth + 1
                return tuple([self.term(d) for _ in range(arg)])
            if tag == ATOM_CACHE_REF and self.cache is not None and arg < len(self.cache):
                self.pos = p + 2
                a = self.cache[arg]
                name = a.name
                return True if name == "true" else False if name == "false" else a
            if tag == SMALL_ATOM_UTF8_EXT and p + 2 + arg <= self.end:
                self.pos = p + 2 + arg
                raw = data[p + 2:p + 2 + arg]
                cached = _ATOMS.get(raw)
                if cached is None:
                    cached = self.make_atom(raw, True)
                    if len(_ATOMS) < _ATOMS_MAX and arg <= _ATOMS_MAX_LEN:
                        _ATOMS[bytes(raw)] = cached
                return cached
        tag = data[self.need(1)]
        if tag == SMALL_INTEGER_EXT:
            return data[self.need(1)]
        if tag == INTEGER_EXT:
            self.charge(COST_NUMBER)
            return _i32(data, self.need(4))[0]
        if tag in (SMALL_ATOM_UTF8_EXT, SMALL_ATOM_EXT):
            n = data[self.need(1)]
            p = self.need(n)
            return self.make_atom(data[p:p + n], tag == SMALL_ATOM_UTF8_EXT)
        if tag in (ATOM_UTF8_EXT, ATOM_EXT):
            n = _u16(data, self.need(2))[0]
            p = self.need(n)
            return self.make_atom(data[p:p + n], tag == ATOM_UTF8_EXT)
        if tag == BINARY_EXT:
            n = _u32(data, self.need(4))[0]
            p = self.need(n)
            self.charge(COST_BYTES + n)
            return bytes(data[p:p + n])
        if tag in (SMALL_TUPLE_EXT, LARGE_TUPLE_EXT):
            n = data[self.need(1)] if tag == SMALL_TUPLE_EXT else _u32(data, self.need(4))[0]
            if n > self.end - self.pos:  # each element takes at least one byte
                raise DecodeError(f"tuple arity {n} exceeds the remaining input")
            self.charge(COST_TUPLE + _PTR * n)
            d = depth + 1
            return tuple([self.term(d) for _ in range(n)])
        if tag == NIL_EXT:
            self.charge(COST_LIST)
            return []
        if tag == STRING_EXT:
            n = _u16(data, self.need(2))[0]
            p = self.need(n)
            self.charge(COST_STR + n)
            return data[p:p + n].decode("latin-1")
        if tag == LIST_EXT:
            n = _u32(data, self.need(4))[0]
            if n + 1 > self.end - self.pos:
                raise DecodeError(f"list length {n} exceeds the remaining input")
            self.charge(COST_LIST + _PTR * n + _PTR * (n >> 3))
            d = depth + 1
            items = [self.term(d) for _ in range(n)]
            if self.pos < self.end and data[self.pos] == NIL_EXT:  # proper: no [] to build
                self.pos += 1
                return items
            tail = self.term(d)
            if tail == [] and type(tail) is list:
                return items
            self.charge(COST_NODE_OBJ + COST_TUPLE + _PTR * n)
            return ImproperList(tuple(items), tail)
        if tag == MAP_EXT:
            n = _u32(data, self.need(4))[0]
            if 2 * n > self.end - self.pos:
                raise DecodeError(f"map size {n} exceeds the remaining input")
            self.charge(COST_MAP + COST_MAP_ITEM * n)
            d = depth + 1
            out: dict[Any, Any] = {}
            add = out.setdefault
            for i in range(n):
                k = self.term(d)
                if type(k) is Atom:  # equal only to itself: a repeat is a duplicate key
                    out[k] = self.term(d)
                else:
                    v = self.term(d)
                    add(as_key(k), v)
                    if len(out) <= i:  # equal in Python to an earlier key: see terms.py
                        return self.exact_map(out, k, v, i, n, d)
            if len(out) != n:
                raise DecodeError(f"map with a duplicate key before offset {self.pos}")
            return out
        if tag == NEW_FLOAT_EXT:
            self.charge(COST_NUMBER)
            return _f64(data, self.need(8))[0]
        if tag == FLOAT_EXT:
            self.charge(COST_NUMBER)
            p = self.need(31)
            try:
                return float(data[p:p + 31].split(b"\0", 1)[0])
            except ValueError as e:
                raise DecodeError("malformed FLOAT_EXT") from e
        if tag in (SMALL_BIG_EXT, LARGE_BIG_EXT):
            n = data[self.need(1)] if tag == SMALL_BIG_EXT else _u32(data, self.need(4))[0]
            sign = data[self.need(1)]
            p = self.need(n)
            self.charge(COST_NUMBER + n)
            v = int.from_bytes(data[p:p + n], "little")
            return -v if sign else v
        if tag == BIT_BINARY_EXT:
            n = _u32(data, self.need(4))[0]
            bits = data[self.need(1)]
            p = self.need(n)
            self.charge(COST_NODE_OBJ + COST_BYTES + n)
            if n == 0 or not 1 <= bits <= 8:
                if n == 0 and bits == 0:
                    return b""
                raise DecodeError(f"bit-binary with {bits} bits in last byte")
            if bits == 8:
                return bytes(data[p:p + n])
            # only the high `bits` bits of the last byte count (binary_to_term drops the rest)
            last = data[p + n - 1] & (0xFF00 >> bits) & 0xFF
            return BitBinary(bytes(data[p:p + n - 1]) + bytes((last,)), bits)
        if tag in (NEW_PID_EXT, PID_EXT):
            self.charge(COST_NODE_OBJ)
            node = self.atom(depth + 1)
            p = self.need(12 if tag == NEW_PID_EXT else 9)
            ident, serial = _u32(data, p)[0], _u32(data, p + 4)[0]
            creation = _u32(data, p + 8)[0] if tag == NEW_PID_EXT else data[p + 8]
            return Pid(node, ident, serial, creation)
        if tag in (NEW_PORT_EXT, PORT_EXT, V4_PORT_EXT):
            self.charge(COST_NODE_OBJ)
            node = self.atom(depth + 1)
            if tag == V4_PORT_EXT:
                p = self.need(12)
                return Port(node, _u64(data, p)[0], _u32(data, p + 8)[0])
            p = self.need(8 if tag == NEW_PORT_EXT else 5)
            creation = _u32(data, p + 4)[0] if tag == NEW_PORT_EXT else data[p + 4]
            return Port(node, _u32(data, p)[0], creation)
        if tag in (NEWER_REFERENCE_EXT, NEW_REFERENCE_EXT):
            n = _u16(data, self.need(2))[0]
            if n > 5:
                raise DecodeError(f"reference with {n} id words")
            self.charge(COST_NODE_OBJ + COST_TUPLE + _PTR * n)
            node = self.atom(depth + 1)
            if tag == NEWER_REFERENCE_EXT:
                creation = _u32(data, self.need(4))[0]
            else:
                creation = data[self.need(1)]
            p = self.need(4 * n)
            ids = struct.unpack_from(f">{n}I", data, p)
            return Reference(node, creation, ids)
        if tag == REFERENCE_EXT:
            self.charge(COST_NODE_OBJ + COST_TUPLE + _PTR)
            node = self.atom(depth + 1)
            p = self.need(5)
            return Reference(node, data[p + 4], (_u32(data, p)[0],))
        if tag == EXPORT_EXT:
            self.charge(COST_NODE_OBJ)
            return Export(self.atom(depth + 1), self.atom(depth + 1), self.small_int(depth + 1))
        if tag == NEW_FUN_EXT:
            start = self.pos - 1
            size = _u32(data, self.need(4))[0]
            if size < 5:
                raise DecodeError("NEW_FUN_EXT size too small")
            self.need(1 + 16 + 4 + 4)  # arity, uniq, index, numfree
            module = self.atom(depth + 1)
            self.pos = start + 1  # the Size field covers the whole fun: skip it exactly
            self.need(size)
            self.charge(COST_NODE_OBJ + COST_BYTES + size)
            return Fun(module, bytes(data[start:start + 1 + size]))
        if tag == FUN_EXT:
            start = self.pos - 1
            numfree = _u32(data, self.need(4))[0]
            d = depth + 1
            self.pid(d)
            module = self.atom(d)
            self.small_int(d)
            self.small_int(d)
            if numfree > self.end - self.pos:
                raise DecodeError("FUN_EXT free variable count exceeds the remaining input")
            for _ in range(numfree):
                self.term(d)
            self.charge(COST_NODE_OBJ + COST_BYTES + self.pos - start)
            return Fun(module, bytes(data[start:self.pos]))
        if tag == ATOM_CACHE_REF:
            idx = data[self.need(1)]
            if self.cache is None or idx >= len(self.cache):
                raise DecodeError(f"unknown atom cache reference {idx}")
            a = self.cache[idx]
            name = a.name
            return True if name == "true" else False if name == "false" else a
        if tag == LOCAL_EXT:
            raise DecodeError("LOCAL_EXT terms are node-local and cannot be decoded")
        if tag == COMPRESSED:
            raise DecodeError("compressed term inside a term")
        raise DecodeError(f"unknown term tag {tag} at offset {self.pos - 1}")


def _inflate(data: bytes, pos: int, max_size: int, max_memory: int = UNLIMITED
             ) -> tuple[bytes, int]:
    """Inflate a COMPRESSED term body starting after its tag; return (term bytes, end).

    The claimed size is checked against *max_size* and *max_memory* before anything is
    allocated, and zlib is never allowed to produce more than that claim.
    """
    if pos + 4 > len(data):
        raise DecodeError("truncated compressed term")
    size = _u32(data, pos)[0]
    if size > max_size:
        raise DecodeError(f"compressed term would inflate to {size} bytes (limit {max_size})")
    if COST_BYTES + size > max_memory:
        raise ReplyTooLarge(f"compressed term would inflate to {size} bytes, more than the "
                            f"{max_memory} bytes of memory it may use")
    if size == 0:  # no term is empty; and max_length=0 would mean "inflate without limit"
        raise DecodeError("compressed term claims an uncompressed size of 0")
    d = zlib.decompressobj()
    try:
        out = d.decompress(data[pos + 4:], size)
    except zlib.error as e:
        raise DecodeError(f"corrupt compressed term: {e}") from e
    if len(out) != size or d.unconsumed_tail:
        raise DecodeError("compressed term size does not match its header")
    return out, len(data) - len(d.unused_data)


def decode_at(data: bytes, pos: int = 0, *, cache: Sequence[Atom] | None = None,
              versioned: bool = True, max_depth: int = DEFAULT_MAX_DEPTH,
              max_size: int = DEFAULT_MAX_SIZE, max_memory: int | None = None
              ) -> tuple[Any, int]:
    """Decode one term at *pos*; return ``(term, next_pos)``.

    *versioned*: the term starts with the version byte 131 (terms that follow a distribution
    header do not). *cache* resolves ``ATOM_CACHE_REF`` entries from such a header.
    *max_memory*: the most the decoded term (and a compressed term's inflated bytes) may cost,
    in estimated bytes; :class:`ReplyTooLarge` beyond it.
    """
    term, end, _cost = decode_costed(data, pos, cache=cache, versioned=versioned,
                                     max_depth=max_depth, max_size=max_size,
                                     max_memory=max_memory)
    return term, end


def decode_costed(data: bytes, pos: int = 0, *, cache: Sequence[Atom] | None = None,
                  versioned: bool = True, max_depth: int = DEFAULT_MAX_DEPTH,
                  max_size: int = DEFAULT_MAX_SIZE, max_memory: int | None = None
                  ) -> tuple[Any, int, int]:
    """:func:`decode_at`, also returning the estimated memory cost of the decoded term."""
    left = UNLIMITED if max_memory is None else max_memory
    if not versioned:
        dec = _Decoder(data, pos, cache, max_depth, max_size, left)
        return dec.term(), dec.pos, left - dec.left
    if pos >= len(data) or data[pos] != VERSION:
        raise DecodeError(f"missing ETF version byte 131 at offset {pos}")
    if pos + 1 < len(data) and data[pos + 1] == COMPRESSED:
        inner, end = _inflate(data, pos + 2, max_size, left)
        inflated = COST_BYTES + len(inner)
        dec = _Decoder(inner, 0, cache, max_depth, max_size, left - inflated)
        term = dec.term()
        if dec.pos != len(inner):
            raise DecodeError("trailing bytes inside compressed term")
        # the inflated bytes are garbage once decoded: only the term stays
        return term, end, left - inflated - dec.left
    dec = _Decoder(data, pos + 1, cache, max_depth, max_size, left)
    term = dec.term()
    return term, dec.pos, left - dec.left


def reply_ref(data: bytes, pos: int = 0, *, cache: Sequence[Atom] | None = None,
              versioned: bool = True) -> Reference | None:
    """The ``Ref`` of a ``{Ref, _}`` term at *pos*, reading no further than ``Ref``; else None.

    For naming the call an undecodable reply was meant for: the rest of the term is not
    looked at, and no input makes this raise (a compressed term is inflated only as far as the
    first 2 KiB, enough for any reference).
    """
    try:
        if versioned:
            if data[pos] != VERSION:
                return None
            pos += 1
            if data[pos] == COMPRESSED:
                data = zlib.decompressobj().decompress(memoryview(data)[pos + 5:], 2048)
                pos = 0
        if data[pos] != SMALL_TUPLE_EXT or data[pos + 1] != 2 or data[pos + 2] not in (
                NEWER_REFERENCE_EXT, NEW_REFERENCE_EXT, REFERENCE_EXT):
            return None
        ref = _Decoder(data, pos + 2, cache, 2, 0).term()
    except (DecodeError, IndexError, zlib.error):
        return None
    return ref if type(ref) is Reference else None


def decode(data: bytes, **kw: Any) -> Any:
    """Decode exactly one versioned term; trailing bytes are an error."""
    term, end = decode_at(data, 0, **kw)
    if end != len(data):
        raise DecodeError(f"{len(data) - end} trailing bytes after term")
    return term


# --------------------------------------------------------------------------------------- encode

def _enc_atom(name: str, out: bytearray) -> None:
    try:
        b = name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise EncodeError(f"atom {name[:20]!r} is not valid Unicode text") from e
    if len(b) < 256:
        out += bytes((SMALL_ATOM_UTF8_EXT, len(b)))
    elif len(name) <= 255:
        out += struct.pack(">BH", ATOM_UTF8_EXT, len(b))
    else:
        raise EncodeError(f"atom longer than 255 characters: {name[:20]!r}...")
    out += b


def _enc_int(v: int, out: bytearray) -> None:
    if 0 <= v < 256:
        out += bytes((SMALL_INTEGER_EXT, v))
    elif -(1 << 31) <= v < (1 << 31):
        out += struct.pack(">Bi", INTEGER_EXT, v)
    else:
        mag = -v if v < 0 else v
        digits = mag.to_bytes((mag.bit_length() + 7) // 8, "little")
        if len(digits) < 256:
            out += bytes((SMALL_BIG_EXT, len(digits), 1 if v < 0 else 0))
        else:
            out += struct.pack(">BIB", LARGE_BIG_EXT, len(digits), 1 if v < 0 else 0)
        out += digits


def _enc(t: Any, out: bytearray, depth: int) -> None:
    if depth > DEFAULT_MAX_DEPTH:  # also keeps us clear of Python's recursion limit
        raise EncodeError(f"term nested deeper than {DEFAULT_MAX_DEPTH} levels")
    tt = type(t)
    if tt is Atom:
        _enc_atom(t.name, out)
    elif tt is bool:
        _enc_atom("true" if t else "false", out)
    elif tt is int:
        _enc_int(t, out)
    elif tt is bytes or tt is bytearray or tt is memoryview:
        b = bytes(t)
        out += struct.pack(">BI", BINARY_EXT, len(b))
        out += b
    elif tt is str:
        if len(t) == 0:
            out.append(NIL_EXT)
        elif len(t) <= 0xFFFF and all(ord(c) < 256 for c in t):
            out += struct.pack(">BH", STRING_EXT, len(t))
            out += t.encode("latin-1")
        else:
            out += struct.pack(">BI", LIST_EXT, len(t))
            for c in t:
                _enc_int(ord(c), out)
            out.append(NIL_EXT)
    elif tt is tuple:
        n = len(t)
        if n < 256:
            out += bytes((SMALL_TUPLE_EXT, n))
        else:
            out += struct.pack(">BI", LARGE_TUPLE_EXT, n)
        for x in t:
            _enc(x, out, depth + 1)
    elif tt is list or tt is ListKey:
        if not t:
            out.append(NIL_EXT)
        else:
            out += struct.pack(">BI", LIST_EXT, len(t))
            for x in t:
                _enc(x, out, depth + 1)
            out.append(NIL_EXT)
    elif tt is dict or tt is MapKey:
        out += struct.pack(">BI", MAP_EXT, len(t))
        for k, v in t.items():
            _enc(k, out, depth + 1)
            _enc(v, out, depth + 1)
    elif tt is float:
        if not math.isfinite(t):
            raise EncodeError(f"Erlang has no float {t!r}")
        out += struct.pack(">Bd", NEW_FLOAT_EXT, t)
    elif tt is FloatKey:
        _enc(float(t.value), out, depth)
    elif t is None:
        _enc_atom("undefined", out)
    elif tt is ImproperList:
        if not t.elements:
            raise EncodeError("an improper list needs at least one element")
        out += struct.pack(">BI", LIST_EXT, len(t.elements))
        for x in t.elements:
            _enc(x, out, depth + 1)
        _enc(t.tail, out, depth + 1)
    elif tt is BitBinary:
        if not 1 <= t.bits <= 8 or not t.data:
            raise EncodeError("BitBinary needs data and 1..8 bits in the last byte")
        out += struct.pack(">BIB", BIT_BINARY_EXT, len(t.data), t.bits)
        out += t.data[:-1]
        out.append(t.data[-1] & (0xFF00 >> t.bits) & 0xFF)
    elif tt is Pid:
        out.append(NEW_PID_EXT)
        _enc_atom(t.node.name, out)
        out += struct.pack(">III", t.id, t.serial, t.creation)
    elif tt is Port:
        if t.id >= 1 << 32:
            out.append(V4_PORT_EXT)
            _enc_atom(t.node.name, out)
            out += struct.pack(">QI", t.id, t.creation)
        else:
            out.append(NEW_PORT_EXT)
            _enc_atom(t.node.name, out)
            out += struct.pack(">II", t.id, t.creation)
    elif tt is Reference:
        if not 1 <= len(t.ids) <= 5:
            raise EncodeError(f"a reference has 1 to 5 id words, not {len(t.ids)}")
        out += struct.pack(">BH", NEWER_REFERENCE_EXT, len(t.ids))
        _enc_atom(t.node.name, out)
        out += struct.pack(f">I{len(t.ids)}I", t.creation, *t.ids)
    elif tt is Fun:
        out += t.raw
    elif tt is Export:
        if not 0 <= t.arity <= 255:
            raise EncodeError(f"export arity {t.arity} is not in 0..255")
        out.append(EXPORT_EXT)
        _enc_atom(t.module.name, out)
        _enc_atom(t.function.name, out)
        _enc_int(t.arity, out)
    elif isinstance(t, (tuple, list, dict, str, int, bytes)):
        # subclasses (e.g. NamedTuple, IntEnum): encode as their base type
        base: Any = next(b for b in (tuple, list, dict, str, int, bytes) if isinstance(t, b))
        _enc(base(t), out, depth)
    else:
        raise EncodeError(f"cannot encode {tt.__name__} as an Erlang term")


def encode(term: Any) -> bytes:
    """Encode *term* as a versioned external term (``131, ...``)."""
    out = bytearray()
    encode_into(term, out)
    return bytes(out)


def encode_into(term: Any, out: bytearray, versioned: bool = True) -> None:
    """Append the encoding of *term* to *out* (avoids copies when framing).

    On :class:`EncodeError` *out* is left as it was.
    """
    start = len(out)
    if versioned:
        out.append(VERSION)
    try:
        _enc(term, out, 0)
    except (struct.error, OverflowError) as e:  # pid/port/ref fields out of range
        del out[start:]
        raise EncodeError(f"value out of range for its Erlang encoding: {e}") from e
    except EncodeError:
        del out[start:]
        raise
