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
map                 ``dict``; keys see *Map keys* below
pid / port / ref    :class:`Pid` / :class:`Port` / :class:`Reference`
fun / export        :class:`Fun` (opaque, re-encodable) / :class:`Export`
``None``            sent as the atom ``undefined`` (decoded as ``Atom("undefined")``)
==================  =========================================================

Map keys must be hashable and must not merge keys that Erlang keeps apart, so a decoded map's
keys differ from the table in two ways:

* containers are frozen: a list key arrives as :class:`ListKey`, a map key as :class:`MapKey`
  (both also inside tuple, list and map keys; :func:`as_key` does this to any value);
* *exact form*, only when needed: Python's ``1 == 1.0 == True`` and ``0.0 == -0.0`` would merge
  keys of one Erlang map (``#{1 => a, 1.0 => b, true => c}``, or ``{1}`` and ``{1.0}``). When two
  keys of a map are equal in Python, **every** key of that map is decoded in exact form
  (:func:`exact_key`): each float, at any depth, as :class:`FloatKey` (equal only to the same
  IEEE bits) and ``true``/``false`` as ``Atom("true")``/``Atom("false")``. Maps without such a
  clash keep plain ``float`` and ``bool`` keys. ``FloatKey`` encodes back as the float, so
  either form re-encodes to the original term. Keys still equal in exact form are true
  duplicates, which ``binary_to_term`` refuses too: :class:`~.errors.DecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import ItemsView, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["Atom", "BitBinary", "Export", "FloatKey", "Fun", "ImproperList", "ListKey", "MapKey",
           "Pid", "Port", "Reference", "as_key", "exact_key"]


class Atom:
    """An Erlang atom. Distinct from ``str`` so that atoms and charlists never compare equal."""

    __slots__ = ("name",)
    _interned: ClassVar[dict[str, Atom]] = {}

    name: str

    def __new__(cls, name: str) -> Atom:
        atom = cls._interned.get(name)
        if atom is None:
            atom = object.__new__(cls)
            object.__setattr__(atom, "name", name)
            # bounded (process-wide, fed by the network): at most ~20,000 x 200 bytes
            if len(cls._interned) < 20_000 and len(name) <= 64:
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
    """A list used as a map key (Python lists are unhashable); encodes back as a list.

    Equal only to another ``ListKey`` (``[1]`` and ``{1}`` are different Erlang keys).
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is ListKey and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((ListKey, tuple.__hash__(self)))

    def __repr__(self) -> str:
        return f"ListKey({list(self)!r})"


_pack_double = struct.Struct(">d").pack


@dataclass(frozen=True, slots=True, eq=False)
class FloatKey:
    """A float map key in exact form: equal only to a ``FloatKey`` with the same IEEE bits, so it
    never merges with ``1``/``True`` (for ``1.0``) or with the other zero. Encodes as the float."""

    value: float

    def __eq__(self, other: object) -> bool:
        return type(other) is FloatKey and (
            _pack_double(self.value) == _pack_double(other.value))

    def __hash__(self) -> int:
        return hash((FloatKey, _pack_double(self.value)))

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"FloatKey({self.value!r})"


class MapKey(Mapping[Any, Any]):
    """A map used as a map key (``#{#{a => 1} => x}``; dicts are unhashable); encodes as a map.

    A read-only mapping: ``MapKey({Atom("a"): [1]})``. Keys and values are frozen with
    :func:`as_key` (lists become :class:`ListKey`, maps ``MapKey``). Equal only to another
    ``MapKey`` with equal items.
    """

    __slots__ = ("_exact", "_hash", "_items")

    _items: dict[Any, Any]
    _hash: int | None
    _exact: bool  # already in exact form (see exact_key): no need to convert it again

    def __init__(self, items: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._set({as_key(k): as_key(v) for k, v in pairs}, False)

    @classmethod
    def _frozen(cls, items: dict[Any, Any], exact: bool) -> MapKey:
        """Wrap *items* (hashable keys and values) as they are, without copying."""
        mk = object.__new__(cls)
        mk._set(items, exact)
        return mk

    def _set(self, items: dict[Any, Any], exact: bool) -> None:
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "_hash", None)
        object.__setattr__(self, "_exact", exact)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("MapKey is immutable")

    def __getitem__(self, key: Any) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> ItemsView[Any, Any]:
        return self._items.items()

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is MapKey and self._items == other._items)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((MapKey, frozenset(self._items.items())))
            object.__setattr__(self, "_hash", h)
        return h

    def __repr__(self) -> str:
        return f"MapKey({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MapKey, (self._items,))


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


# ------------------------------------------------------------------------------ map keys

def as_key(value: Any) -> Any:
    """*value* made hashable for use as a map key: lists (at any depth) become :class:`ListKey`,
    dicts :class:`MapKey`; tuples and improper lists are rebuilt around converted elements."""
    t = type(value)
    if t is list:
        return ListKey([as_key(x) for x in value])
    if t is tuple:
        return tuple([as_key(x) for x in value])
    if t is dict:
        return MapKey._frozen({k: as_key(v) for k, v in value.items()}, False)
    if t is ImproperList:
        return ImproperList(tuple([as_key(x) for x in value.elements]), as_key(value.tail))
    if isinstance(value, (list, dict)):  # subclasses, as the encoder accepts them
        return as_key(list(value) if isinstance(value, list) else dict(value))
    return value


_TRUE = Atom("true")
_FALSE = Atom("false")


def exact_key(key: Any) -> Any:
    """The exact form of a map key made by :func:`as_key`: every float (at any depth) as
    :class:`FloatKey` and every boolean as ``Atom("true")``/``Atom("false")``, so that two exact
    keys are equal in Python only if they are the same Erlang term. Encodes to the same term."""
    t = type(key)
    if t is float:
        return FloatKey(key)
    if t is bool:
        return _TRUE if key else _FALSE
    if t is tuple:
        return tuple([exact_key(x) for x in key])
    if t is ListKey:
        return ListKey([exact_key(x) for x in key])
    if t is MapKey:
        if key._exact:
            return key
        return MapKey._frozen({exact_key(k): exact_key(v) for k, v in key._items.items()}, True)
    if t is ImproperList:
        return ImproperList(tuple([exact_key(x) for x in key.elements]), exact_key(key.tail))
    return key
