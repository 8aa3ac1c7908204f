"""ETF test vectors: Erlang source, expected Python value, and the bytes real OTP releases produce.

``CASES`` is the table. ``python tests/support/etf_cases.py`` evaluates every ``erlang`` source in a
real VM of each available OTP release (``term_to_binary(Value, Options)``, see etf_echo.erl) and
writes ``tests/data/etf_vectors.json``; the unit tests decode that file without Erlang, and
tests/live/test_etf_roundtrip.py regenerates the bytes (on a *distributed* VM, so pids, ports and
references carry a real node name and creation) and checks they still decode to the same values.

The ``python`` column is a Python expression evaluated with :func:`namespace`: the erldist term
types, ``NODE``/``CREATION`` (the generating VM's node atom and creation), matchers ``AnyFun`` and
``AnyRef`` for values whose exact bits are not predictable, and ``DecodeError`` when decoding must
fail (``"raises DecodeError"``).
"""

from __future__ import annotations

import json
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mim_bridge.erldist import errors
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
)

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "etf_vectors.json"
# The classes a decoded term can be besides Python's own int, float, bool, str, bytes, list,
# tuple and dict: the names the case table's Python expressions use.
TERM_TYPES: tuple[type, ...] = (Atom, BitBinary, Export, FloatKey, Fun, ImproperList, ListKey,
                                MapKey, Pid, Port, Reference)
RAISES = "raises "


@dataclass(frozen=True)
class Case:
    name: str
    erlang: str        # an Erlang expression
    python: str        # the value etf.decode must return (Python expression), or "raises X"
    options: str = ""  # term_to_binary/2 options, Erlang syntax
    min_otp: int = 0   # skip on older releases (option or type not available)


# A remote node's pid/port/reference as OTP re-encodes it after binary_to_term: creation 0x12345678.
_OTHER = '119,10,"other@host"'

CASES: list[Case] = [
    # integers: SMALL_INTEGER_EXT, INTEGER_EXT, SMALL_BIG_EXT, LARGE_BIG_EXT, both signs
    Case("int_zero", "0", "0"),
    Case("int_255", "255", "255"),
    Case("int_256", "256", "256"),
    Case("int_minus_one", "-1", "-1"),
    Case("int_i32_min", "-2147483648", "-2147483648"),
    Case("int_i32_max", "2147483647", "2147483647"),
    Case("big_2p31", "2147483648", "2147483648"),
    Case("big_minus_2p31_minus_1", "-2147483649", "-2147483649"),
    Case("big_2p64", "18446744073709551616", "18446744073709551616"),
    Case("big_minus_2p64", "-18446744073709551616", "-18446744073709551616"),
    Case("big_255_bytes", "(1 bsl 2040) - 1", "(1 << 2040) - 1"),
    Case("large_big_256_bytes", "1 bsl 2040", "1 << 2040"),
    Case("large_big_negative", "-(1 bsl 4000) - 12345", "-(1 << 4000) - 12345"),
    # floats: NEW_FLOAT_EXT, and FLOAT_EXT (31-byte text) with minor_version 0
    Case("float_pi", "3.141592653589793", "3.141592653589793"),
    Case("float_negative_tiny", "-2.5e-300", "-2.5e-300"),
    Case("float_max", "1.7976931348623157e308", "1.7976931348623157e308"),
    Case("float_denormal_min", "5.0e-324", "5e-324"),
    Case("float_zero", "0.0", "0.0"),
    Case("float_negative_zero", "-0.0", "-0.0"),
    Case("float_ext_text", "1.5", "1.5", "[{minor_version, 0}]"),
    Case("float_ext_text_negative", "-1.0e-10", "-1e-10", "[{minor_version, 0}]"),
    # atoms: Latin-1 ATOM_EXT (OTP 25 default), UTF-8 (OTP 26+ default), booleans, long atoms
    Case("atom", "ok", "Atom('ok')"),
    Case("atom_empty", "''", "Atom('')"),
    Case("atom_true", "true", "True"),
    Case("atom_false", "false", "False"),
    Case("atom_undefined", "undefined", "Atom('undefined')"),
    Case("atom_quoted", "'hello World!'", "Atom('hello World!')"),
    Case("atom_latin1", "'café'", "Atom('café')"),
    Case("atom_latin1_minor_1", "'café'", "Atom('café')", "[{minor_version, 1}]"),
    Case("atom_utf8_minor_2", "'café'", "Atom('café')", "[{minor_version, 2}]"),
    Case("atom_unicode", "'zażółć'", "Atom('zażółć')"),
    Case("atom_emoji", "'🙂 ok'", "Atom('🙂 ok')"),
    Case("atom_255_latin1", "list_to_atom(lists:duplicate(255, $a))", "Atom('a' * 255)"),
    Case("atom_255_unicode", "list_to_atom(lists:duplicate(255, 16#105))", "Atom('ą' * 255)"),
    # binaries and bit-binaries
    Case("binary_empty", "<<>>", "b''"),
    Case("binary", "<<1, 2, 3>>", "b'\\x01\\x02\\x03'"),
    Case("binary_utf8", "<<\"héllo\"/utf8>>", "'héllo'.encode()"),
    Case("binary_400", "binary:copy(<<\"ab\">>, 200)", "b'ab' * 200"),
    Case("bits_3", "<<1:3>>", "BitBinary(b'\\x20', 3)"),
    Case("bits_1", "<<1:1>>", "BitBinary(b'\\x80', 1)"),
    Case("bits_7", "<<127:7>>", "BitBinary(b'\\xfe', 7)"),
    Case("bits_tail", "<<1, 2, 3:4>>", "BitBinary(b'\\x01\\x02\\x30', 4)"),
    # tuples
    Case("tuple_empty", "{}", "()"),
    Case("tuple", "{1, ok, \"s\"}", "(1, Atom('ok'), 's')"),
    Case("tuple_nested", "{{{}}, {[]}}", "(((),), ([],))"),
    Case("tuple_large", "list_to_tuple(lists:seq(1, 300))", "tuple(range(1, 301))"),
    # lists and strings (a list of bytes is a STRING_EXT and arrives as str)
    Case("nil", "[]", "[]"),
    Case("string", "\"hello\"", "'hello'"),
    Case("string_bytes", "[1, 2, 3]", "'\\x01\\x02\\x03'"),
    Case("string_latin1", "\"café\"", "'café'"),
    Case("string_unicode", "\"zażółć\"", "[ord(c) for c in 'zażółć']"),
    Case("list_mixed", "[1, ok, 2.5, <<>>, \"\"]", "[1, Atom('ok'), 2.5, b'', []]"),
    Case("list_ints", "lists:seq(250, 260)", "list(range(250, 261))"),
    Case("list_nested", "[[], [[]], [a]]", "[[], [[]], [Atom('a')]]"),
    Case("improper", "[1 | 2]", "ImproperList((1,), 2)"),
    Case("improper_atoms", "[a, b | c]", "ImproperList((Atom('a'), Atom('b')), Atom('c'))"),
    Case("improper_binary_tail", "[\"x\" | <<2>>]", "ImproperList(('x',), b'\\x02')"),
    # maps: small (sorted) and large (> 32 keys, hash order), list keys, nesting
    Case("map_empty", "#{}", "{}"),
    Case("map_small", "#{a => 1, b => <<\"x\">>, 3 => [c]}",
         "{Atom('a'): 1, Atom('b'): b'x', 3: [Atom('c')]}"),
    Case("map_keys", "#{[a, b] => list_key, \"str\" => string_key, {t, [1]} => tuple_key}",
         "{ListKey([Atom('a'), Atom('b')]): Atom('list_key'), 'str': Atom('string_key'), "
         "(Atom('t'), '\\x01'): Atom('tuple_key')}"),
    Case("map_nested", "#{a => #{b => #{}}}", "{Atom('a'): {Atom('b'): {}}}"),
    Case("map_map_keys", "#{#{a => 1} => one, #{} => empty, #{#{b => [c]} => 2} => nested}",
         "{MapKey({Atom('a'): 1}): Atom('one'), MapKey({}): Atom('empty'), "
         "MapKey({MapKey({Atom('b'): [Atom('c')]}): 2}): Atom('nested')}"),
    # keys equal in Python but not in Erlang: the whole map in exact form (see terms.py)
    Case("map_number_keys", "#{1 => int, 1.0 => float, true => atom, 2.5 => other}",
         "{1: Atom('int'), FloatKey(1.0): Atom('float'), Atom('true'): Atom('atom'), "
         "FloatKey(2.5): Atom('other')}"),
    Case("map_number_keys_no_clash", "#{1.5 => a, true => b, 2 => c}",
         "{1.5: Atom('a'), True: Atom('b'), 2: Atom('c')}"),
    Case("map_zero_keys", "#{0.0 => pos, -0.0 => neg}",
         "{FloatKey(0.0): Atom('pos'), FloatKey(-0.0): Atom('neg')}", min_otp=27),
    Case("map_nested_number_keys", "#{{1} => a, {1.0} => b, [x, 2] => c, [x, 2.0] => d}",
         "{(1,): Atom('a'), (FloatKey(1.0),): Atom('b'), ListKey([Atom('x'), 2]): Atom('c'), "
         "ListKey([Atom('x'), FloatKey(2.0)]): Atom('d')}"),
    Case("map_list_and_tuple_keys", "#{[a] => l, {a} => t, [] => nil, {} => e}",
         "{ListKey([Atom('a')]): Atom('l'), (Atom('a'),): Atom('t'), ListKey([]): Atom('nil'), "
         "(): Atom('e')}"),
    Case("map_33", "maps:from_list([{I, I * I} || I <- lists:seq(1, 33)])",
         "{i: i * i for i in range(1, 34)}"),
    Case("map_large_binary_keys",
         "maps:from_list([{integer_to_binary(I), I} || I <- lists:seq(1, 40)])",
         "{str(i).encode(): i for i in range(1, 41)}"),
    Case("map_large_deterministic", "maps:from_list([{I, I} || I <- lists:seq(1, 40)])",
         "{i: i for i in range(1, 41)}", "[deterministic]", min_otp=26),
    # pids, ports, references of the generating node (NODE, CREATION) and of a remote node
    Case("pid", "list_to_pid(\"<0.42.7>\")", "Pid(NODE, 42, 7, CREATION)"),
    Case("port", "list_to_port(\"#Port<0.5>\")", "Port(NODE, 5, CREATION)"),
    Case("ref", "list_to_ref(\"#Ref<0.1.2.3>\")", "Reference(NODE, CREATION, (3, 2, 1))"),
    Case("ref_make_ref", "make_ref()", "AnyRef(NODE, CREATION)"),
    Case("ref_alias", "alias()", "AnyRef(NODE, CREATION)"),
    Case("pid_remote", f"binary_to_term(<<131,88,{_OTHER},0,0,0,42,0,0,0,7,18,52,86,120>>)",
         "Pid(Atom('other@host'), 42, 7, 0x12345678)"),
    Case("port_remote", f"binary_to_term(<<131,89,{_OTHER},0,0,0,9,18,52,86,120>>)",
         "Port(Atom('other@host'), 9, 0x12345678)"),
    Case("port_remote_v4",
         f"binary_to_term(<<131,120,{_OTHER},0,0,0,1,0,0,0,2,18,52,86,120>>)",
         "Port(Atom('other@host'), (1 << 32) | 2, 0x12345678)"),
    Case("ref_remote",
         f"binary_to_term(<<131,90,0,3,{_OTHER},18,52,86,120,0,0,0,1,0,0,0,2,0,0,0,3>>)",
         "Reference(Atom('other@host'), 0x12345678, (1, 2, 3))"),
    Case("ref_remote_5_words",
         f"binary_to_term(<<131,90,0,5,{_OTHER},18,52,86,120,0,0,0,1,0,0,0,2,0,0,0,3,"
         "0,0,0,4,0,0,0,5>>)",
         "Reference(Atom('other@host'), 0x12345678, (1, 2, 3, 4, 5))"),
    Case("pid_in_tuple", "{self_like, list_to_pid(\"<0.1.0>\"), [list_to_port(\"#Port<0.2>\")]}",
         "(Atom('self_like'), Pid(NODE, 1, 0, CREATION), [Port(NODE, 2, CREATION)])"),
    # funs (opaque Fun values) and exports
    Case("export", "fun lists:map/2", "Export(Atom('lists'), Atom('map'), 2)"),
    Case("export_unicode", "fun 'zażółć':'ąę'/0", "Export(Atom('zażółć'), Atom('ąę'), 0)"),
    Case("fun", "etf_echo:sample_fun()", "AnyFun('etf_echo')"),
    Case("fun_closure", "etf_echo:sample_closure({1, <<\"x\">>, [a]})", "AnyFun('etf_echo')"),
    Case("funs_in_list", "[fun erlang:node/0, etf_echo:sample_fun()]",
         "[Export(Atom('erlang'), Atom('node'), 0), AnyFun('etf_echo')]"),
    # compressed terms (131, 80, Size, zlib)
    Case("compressed_list", "lists:seq(1, 1000)", "list(range(1, 1001))", "[compressed]"),
    Case("compressed_binary", "binary:copy(<<\"abc\">>, 10000)", "b'abc' * 10000",
         "[compressed]"),
    Case("compressed_level_9", "#{a => lists:duplicate(100, ok)}",
         "{Atom('a'): [Atom('ok')] * 100}", "[{compressed, 9}]"),
    Case("compressed_not_smaller", "ok", "Atom('ok')", "[compressed]"),
    # a mix of everything
    Case("nested_mix", "{ok, [#{<<\"k\">> => [1.5, true, undefined]}], {error, <<>>}, -7}",
         "(Atom('ok'), [{b'k': [1.5, True, Atom('undefined')]}], (Atom('error'), b''), -7)"),
    # LOCAL_EXT is node-local by design: refused
    Case("local_ext", "{a, 1}", "raises DecodeError", "[local]", min_otp=26),
]


# ------------------------------------------------------------------------------ matchers

class AnyFun:
    """Matches a :class:`Fun` of module *module* (the encoding itself is opaque)."""

    def __init__(self, module: str) -> None:
        self.module = Atom(module)

    def matches(self, value: Any) -> bool:
        return type(value) is Fun and value.module == self.module and value.raw[:1] == b"p"

    def __repr__(self) -> str:
        return f"AnyFun({self.module.name!r})"


class AnyRef:
    """Matches a :class:`Reference` of *node*/*creation* with any ids."""

    def __init__(self, node: Atom, creation: int) -> None:
        self.node, self.creation = node, creation

    def matches(self, value: Any) -> bool:
        return (type(value) is Reference and value.node == self.node
                and value.creation == self.creation and 1 <= len(value.ids) <= 5)

    def __repr__(self) -> str:
        return f"AnyRef({self.node!r}, {self.creation})"


MATCHERS = (AnyFun, AnyRef)


def namespace(node: str, creation: int) -> dict[str, Any]:
    return {
        **{t.__name__: t for t in TERM_TYPES}, "AnyFun": AnyFun, "AnyRef": AnyRef,
        "NODE": Atom(node), "CREATION": creation, "__builtins__": {
            "range": range, "tuple": tuple, "list": list, "ord": ord, "str": str,
        },
    }


def expected(case_python: str, node: str, creation: int) -> Any:
    """The expected Python value of a vector (matchers included)."""
    return eval(case_python, namespace(node, creation))


def expected_error(case_python: str) -> type[Exception] | None:
    if not case_python.startswith(RAISES):
        return None
    cls = getattr(errors, case_python[len(RAISES):])
    assert issubclass(cls, Exception)
    return cls


def has_matcher(value: Any) -> bool:
    if isinstance(value, MATCHERS):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_matcher(v) for v in value)
    if isinstance(value, (dict, MapKey)):
        return any(has_matcher(v) for v in value.values())
    return False


# ------------------------------------------------------------------------------ comparison

def canon(value: Any) -> Any:
    """A hashable, type-tagged form of a decoded value: ``canon(a) == canon(b)`` iff a and b are
    the same Python value *including types* (``1`` vs ``1.0`` vs ``True``, ``0.0`` vs ``-0.0``,
    ``'abc'`` vs ``[97, 98, 99]``, ``ListKey`` vs ``tuple``, ``FloatKey`` vs ``float`` all
    differ)."""
    t = type(value)
    if t is float:
        return ("float", struct.pack(">d", value))
    if t is FloatKey:
        return ("FloatKey", struct.pack(">d", value.value))
    if t in (int, bool, str, bytes, Atom, BitBinary, Pid, Port, Reference, Export, Fun):
        return (t.__name__, value)
    if t in (list, tuple, ListKey):
        return (t.__name__, tuple(canon(v) for v in value))
    if t is ImproperList:
        return ("ImproperList", canon(value.elements), canon(value.tail))
    if t in (dict, MapKey):
        return (t.__name__, frozenset((canon(k), canon(v)) for k, v in value.items()))
    raise TypeError(f"canon: unexpected {t.__name__}")


def same(want: Any, got: Any) -> bool:
    """Strict structural equality; *want* may contain matchers (AnyFun, AnyRef)."""
    if isinstance(want, MATCHERS):
        return want.matches(got)
    if not has_matcher(want):
        return canon(want) == canon(got)
    if type(want) is not type(got):
        return False
    if isinstance(want, (list, tuple)):
        return len(want) == len(got) and all(same(w, g) for w, g in zip(want, got, strict=True))
    if isinstance(want, dict):
        gk = {canon(k): v for k, v in got.items()}
        return (len(want) == len(got)
                and all(canon(k) in gk and same(v, gk[canon(k)]) for k, v in want.items()))
    return False


def erl_canon(value: Any) -> Any:
    """The Erlang term a Python value stands for, as a hashable tagged tree.

    Equal for values that encode to the same Erlang term (and so survive a trip through Erlang
    as each other): ``'ab'`` and ``[97, 98]``, ``''`` and ``[]``, ``None`` and
    ``Atom('undefined')``, ``True`` and ``Atom('true')``, ``ListKey`` and list, ``MapKey`` and
    dict, ``FloatKey`` and float, ``bytes`` and a
    whole-byte ``BitBinary``, an ``ImproperList`` whose tail is a list and the flat list.
    """
    t = type(value)
    if value is None:
        return ("atom", "undefined")
    if t is bool:
        return ("atom", "true" if value else "false")
    if t is Atom:
        return ("atom", value.name)
    if t is int:
        return ("int", value)
    if t is float:
        return ("float", struct.pack(">d", value))
    if t is FloatKey:
        return erl_canon(value.value)
    if t in (bytes, bytearray):
        return ("bits", bytes(value), 8)
    if t is BitBinary:  # only the high `bits` bits of the last byte are part of the term
        last = value.data[-1] & (0xFF00 >> value.bits) & 0xFF
        return ("bits", value.data[:-1] + bytes((last,)), value.bits)
    if t is str:
        return erl_canon([ord(c) for c in value])
    if t in (list, ListKey):
        return ("list", tuple(erl_canon(v) for v in value), ("nil",))
    if t is ImproperList:
        head = tuple(erl_canon(v) for v in value.elements)
        tail = erl_canon(value.tail)
        if tail[0] == "list":  # [a | [b | c]] is [a, b | c]
            return ("list", head + tail[1], tail[2])
        if tail == ("list", (), ("nil",)):
            return ("list", head, ("nil",))
        return ("list", head, tail)
    if t is tuple:
        return ("tuple", tuple(erl_canon(v) for v in value))
    if t in (dict, MapKey):
        return ("map", frozenset((erl_canon(k), erl_canon(v)) for k, v in value.items()))
    if t in (Pid, Port, Reference, Export, Fun):
        return (t.__name__, value)
    raise TypeError(f"erl_canon: unexpected {t.__name__}")


def float_equal(a: float, b: float) -> bool:
    return struct.pack(">d", a) == struct.pack(">d", b) or (math.isnan(a) and math.isnan(b))


# ------------------------------------------------------------------------------ generation

def generate_release(port: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Encode every case in one VM (an ``erlvm.EtfPort``): (release info, hex per case name)."""
    info = port.info()
    hexes = {case.name: port.eval(case.erlang, case.options).hex()
             for case in CASES if int(info.release) >= case.min_otp}
    meta = {"otp_version": info.otp_version, "node": info.node, "creation": info.creation}
    return meta, hexes


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def main() -> int:
    """Regenerate tests/data/etf_vectors.json with every local OTP release (non-distributed VMs,
    so the file is reproducible: node ``nonode@nohost``, creation 0)."""
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "erlang"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import launcher
    from support import erlvm

    releases: dict[str, Any] = {}
    hexes: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ebin = erlvm.compile_erl(Path(tmp), "etf_echo")
        for rel in erlvm.runtime_ids():
            with erlvm.EtfPort(launcher.runtimes()[rel], ebin) as port:
                releases[rel], hexes[rel] = generate_release(port)
    out = {
        "about": "term_to_binary/2 output of real OTP releases for the CASES table in "
                 "tests/support/etf_cases.py; regenerate with: python tests/support/etf_cases.py",
        "releases": releases,
        "vectors": [{"name": c.name, "erlang": c.erlang, "options": c.options,
                     "python": c.python,
                     "hex": {rel: h[c.name] for rel, h in hexes.items() if c.name in h}}
                    for c in CASES],
    }
    DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} vectors x {len(releases)} releases to {DATA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
