"""Python types for the Erlang terms that have no natural Python counterpart.

Mapping used by :mod:`.etf` (both ways unless noted):

==================  =========================================================
Erlang              Python
==================  =========================================================
atom                :class:`Atom` (``true``/``false`` are ``bool``)
integer (any size)  ``int``
float               ``float``
binary              ``bytes``
bit-binary          :class:`BitBinary`
string (charlist)   ``str`` (a list of Latin-1 codes arrives as ``str``;
                    a ``str`` with code points >= 256 is sent as a list of ints)
[] / proper list    ``list``
improper list       :class:`ImproperList`
tuple               ``tuple``
map                 ``dict`` (list keys arrive as :class:`ListKey`)
pid / port / ref    :class:`Pid` / :class:`Port` / :class:`Reference`
fun / export        :class:`Fun` (opaque, re-encodable) / :class:`Export`
``None``            sent as the atom ``undefined`` (decoded as ``Atom("undefined")``)
==================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Atom:
    """An Erlang atom. Distinct from ``str`` so that atoms and charlists never compare equal."""

    __slots__ = ("name",)
    _interned: dict[str, "Atom"] = {}

    name: str

    def __new__(cls, name: str) -> "Atom":
        atom = cls._interned.get(name)
        if atom is None:
            atom = object.__new__(cls)
            object.__setattr__(atom, "name", name)
            if len(cls._interned) < 100_000:  # bounded: atoms from the network are untrusted
                cls._interned[name] = atom
        return atom

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Atom is immutable")

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Atom) and other.name == self.name)

    def __hash__(self) -> int:
        return hash((Atom, self.name))

    def __repr__(self) -> str:
        return f"Atom({self.name!r})"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[Any, ...]:
        return (Atom, (self.name,))


class ListKey(tuple):  # type: ignore[type-arg]
    """A list used as a map key (Python lists are unhashable); encodes back as a list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ListKey({list(self)!r})"


@dataclass(frozen=True, slots=True)
class ImproperList:
    """``[e1, e2 | tail]`` where tail is not ``[]``."""

    elements: tuple[Any, ...]
    tail: Any


@dataclass(frozen=True, slots=True)
class BitBinary:
    """A bitstring whose last byte holds only ``bits`` (1..8) significant high bits."""

    data: bytes
    bits: int


@dataclass(frozen=True, slots=True)
class Pid:
    node: Atom
    id: int
    serial: int
    creation: int


@dataclass(frozen=True, slots=True)
class Port:
    node: Atom
    id: int
    creation: int


@dataclass(frozen=True, slots=True)
class Reference:
    node: Atom
    creation: int
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Fun:
    """A fun, kept as its exact encoding: the bridge never calls funs, it only passes them on."""

    module: Atom
    raw: bytes  # the complete external encoding, tag byte included


@dataclass(frozen=True, slots=True)
class Export:
    """``fun Module:Function/Arity``."""

    module: Atom
    function: Atom
    arity: int
