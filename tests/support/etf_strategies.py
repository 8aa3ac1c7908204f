"""Hypothesis strategies for Python values that stand for Erlang terms.

* :data:`identity_terms` - values that ``etf.decode(etf.encode(x))`` returns *identically*
  (same types: no ``''``, ``None``, non-Latin-1 ``str``, ``ListKey`` outside map keys, ...).
* :data:`terms` - anything the encoder accepts; compare through ``etf_cases.erl_canon`` (two
  Python values for one Erlang term, e.g. ``'ab'`` and ``[97, 98]``, compare equal there).
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
    Pid,
    Port,
    Reference,
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

# Map keys must be hashable: tuples, and lists as ListKey.
identity_keys = st.recursive(
    st.one_of(atoms, st.booleans(), ints, floats, binaries, latin1_strings, pids),
    lambda inner: st.one_of(st.tuples(inner, inner),
                            st.lists(inner, min_size=1, max_size=3).map(ListKey)),
    max_leaves=4)


def _unique_in_erlang(d: dict[Any, Any]) -> bool:
    """No two keys that are one Erlang term ('ab' and ListKey([97, 98]), None and undefined)."""
    return len({erl_canon(k) for k in d}) == len(d)


def _improper(elements: list[Any], tail: Any) -> ImproperList:
    return ImproperList(tuple(elements), tail)


_improper_tails = st.one_of(atoms, ints, floats, binaries, pids)


def _containers(inner: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=6).map(tuple),
        st.dictionaries(keys, inner, max_size=5).filter(_unique_in_erlang),
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
