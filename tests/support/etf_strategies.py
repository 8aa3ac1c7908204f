"""Hypothesis strategies for Python values that stand for Erlang terms.

* :data:`identity_terms` - values that ``etf.decode(etf.encode(x))`` returns *identically*
  (same types: no ``''``, ``None``, non-Latin-1 ``str``, ``ListKey`` outside map keys, ...).
* :data:`terms` - anything the encoder accepts; compare through ``etf_cases.erl_canon`` (two
  Python values for one Erlang term, e.g. ``'ab'`` and ``[97, 98]``, compare equal there).

Maps are drawn as key/value pairs distinct in Erlang. When some keys are equal in Python
(``1``, ``1.0``, ``true``; ``{1}`` and ``{1.0}``) the dict holds every key in exact form
(``FloatKey``, ``Atom('true')``), as the decoder returns it; see ``mim_bridge.erldist.terms``.
Map keys include maps (``MapKey``) and a small pool of numbers and booleans so that such clashes
are frequent.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from mim_bridge.erldist.terms import (
    Atom,
    BitBinary,
    Export,
    ImproperList,
    ListKey,
    MapKey,
    Pid,
    Port,
    Reference,
    exact_key,
)
from support.etf_cases import erl_canon

U32 = st.integers(0, 2**32 - 1)

atom_names = st.text(st.characters(exclude_categories=("Cs",)), max_size=255).filter(
    lambda s: s not in ("true", "false"))
atoms = atom_names.map(Atom)
node_atoms = st.builds(lambda alive, host: Atom(f"{alive}@{host}"),
                       st.text("abcmxyz_019", min_size=1, max_size=12),
                       st.sampled_from(["localhost", "db1", "10.0.0.5", "mim-1.example.com"]))

ints = st.one_of(st.integers(-300, 300), st.integers(-(2**40), 2**40),
                 st.integers(-(2**2100), 2**2100))
floats = st.floats(allow_nan=False, allow_infinity=False)
binaries = st.binary(max_size=64)


@st.composite
def bit_binaries(draw: st.DrawFn) -> BitBinary:
    data = bytearray(draw(st.binary(min_size=1, max_size=16)))
    bits = draw(st.integers(1, 7))
    data[-1] &= (0xFF << (8 - bits)) & 0xFF  # Erlang keeps only the significant bits
    return BitBinary(bytes(data), bits)


latin1_strings = st.text(st.characters(max_codepoint=255), min_size=1, max_size=40)
any_strings = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)

pids = st.builds(Pid, node_atoms, U32, U32, U32)
ports = st.builds(Port, node_atoms, st.integers(0, 2**32 - 1) | st.integers(0, 2**64 - 1), U32)
references = st.builds(Reference, node_atoms, U32,
                       st.lists(U32, min_size=1, max_size=5).map(tuple))
exports = st.builds(Export, atoms, atoms, st.integers(0, 255))

identity_scalars = st.one_of(atoms, st.booleans(), ints, floats, binaries, bit_binaries(),
                             latin1_strings, pids, ports, references, exports)
scalars = st.one_of(identity_scalars, st.none(), any_strings,
                    st.binary(max_size=8).map(bytearray))

_ZERO, _MINUS_ZERO = ("float", bytes(8)), ("float", b"\x80" + bytes(7))


def _no_minus_zero(c: Any) -> Any:
    if c == _MINUS_ZERO:
        return _ZERO
    if isinstance(c, tuple):
        return tuple(_no_minus_zero(x) for x in c)
    if isinstance(c, frozenset):
        return frozenset(_no_minus_zero(x) for x in c)
    return c


def erl_key(k: Any) -> Any:
    """The Erlang term of a map key, with -0.0 counted as 0.0: no two keys of one map may share
    it ('ab' and ListKey([97, 98]) are one term; OTP 25 also refuses 0.0 and -0.0 together)."""
    return _no_minus_zero(erl_canon(k))


def _decoded_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """The first pair of each Erlang key, as the decoder returns the map: every key in exact
    form if any two clash in Python."""
    first: dict[Any, tuple[Any, Any]] = {}
    for k, v in pairs:
        first.setdefault(erl_key(k), (k, v))
    pairs = list(first.values())
    natural = dict(pairs)
    if len(natural) == len(pairs):
        return natural
    return {exact_key(k): v for k, v in pairs}


# Numbers and booleans that are equal in Python but not in Erlang.
clashing = st.sampled_from([0, 1, -1, 2, 0.0, -0.0, 1.0, -1.0, 2.0, True, False])
_clashing_keys = st.one_of(clashing, st.tuples(clashing),
                           st.lists(clashing, max_size=2).map(ListKey))


def maps(keys: st.SearchStrategy[Any], values: st.SearchStrategy[Any], min_size: int = 0,
         max_size: int = 5) -> st.SearchStrategy[dict[Any, Any]]:
    # (no unique_by/filter: their retries render the repr of these huge recursive strategies)
    return st.lists(st.tuples(keys, values), min_size=min_size,
                    max_size=max_size).map(_decoded_map)


# Map keys must be hashable: tuples, lists as ListKey, maps as MapKey.
identity_keys = st.recursive(
    st.one_of(atoms, st.booleans(), ints, floats, binaries, latin1_strings, pids),
    lambda inner: st.one_of(st.tuples(inner, inner), st.tuples(inner),
                            st.lists(inner, min_size=1, max_size=3).map(ListKey),
                            maps(st.one_of(inner, _clashing_keys), inner, max_size=3).map(MapKey)),
    max_leaves=4)


def _improper(elements: list[Any], tail: Any) -> ImproperList:
    return ImproperList(tuple(elements), tail)


_improper_tails = st.one_of(atoms, ints, floats, binaries, pids)


def _containers(inner: st.SearchStrategy[Any],
                keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=6).map(tuple),
        maps(keys, inner),
        maps(_clashing_keys, inner, min_size=2),
        st.builds(_improper, st.lists(inner, min_size=1, max_size=4), _improper_tails),
    )


identity_terms: st.SearchStrategy[Any] = st.recursive(
    identity_scalars, lambda inner: _containers(inner, identity_keys), max_leaves=25)

keys = st.one_of(identity_keys, st.none(), any_strings)

terms: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        _containers(inner, keys),
        st.lists(inner, max_size=3).map(ListKey),
        # an improper list whose tail is a list is just a longer (proper or improper) list
        st.builds(_improper, st.lists(inner, min_size=1, max_size=3),
                  st.lists(inner, max_size=3)),
    ),
    max_leaves=25)
