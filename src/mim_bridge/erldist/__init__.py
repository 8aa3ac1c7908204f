"""A hidden Erlang distribution node in pure Python: connect, call ``rex``, close.

    from mim_bridge.erldist import connect, Atom
    conn = await connect("mongooseim@localhost", cookie="secret", timeout=5.0)
    version = await conn.rpc("application", "get_key", [Atom("mongooseim"), Atom("vsn")])
    await conn.close()

Usable on its own: it knows nothing about MongooseIM. Term mapping: see :mod:`.terms`.
"""

from typing import TYPE_CHECKING, Any

from mim_bridge.erldist.errors import (
    BadRpc,
    CallError,
    CallTimeout,
    ConnectError,
    ConnectionLost,
    ConnectionRefused,
    ConnectTimeout,
    CookieMismatch,
    DecodeError,
    EncodeError,
    EpmdUnreachable,
    ErldistError,
    HandshakeRefused,
    LocalError,
    NameInUse,
    NodeNameError,
    NodeNotFound,
    RemoteException,
    RemoteProtocolError,
    ReplyTooLarge,
    TlsError,
)
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
)

if TYPE_CHECKING:
    from mim_bridge.erldist.connection import Connection, TlsOptions, connect, read_cookie

_CONNECTION = frozenset({"Connection", "TlsOptions", "connect", "read_cookie"})


def __getattr__(name: str) -> Any:
    """The asyncio layer is imported on first use: the pure parts (terms, errors, the byte
    codecs) are used by commands that never connect, and asyncio costs ~50 ms to import."""
    if name in _CONNECTION:
        from mim_bridge.erldist import connection
        return getattr(connection, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Atom",
    "BadRpc",
    "BitBinary",
    "CallError",
    "CallTimeout",
    "ConnectError",
    "ConnectTimeout",
    "Connection",
    "ConnectionLost",
    "ConnectionRefused",
    "CookieMismatch",
    "DecodeError",
    "EncodeError",
    "EpmdUnreachable",
    "ErldistError",
    "Export",
    "FloatKey",
    "Fun",
    "HandshakeRefused",
    "ImproperList",
    "ListKey",
    "LocalError",
    "MapKey",
    "NameInUse",
    "NodeNameError",
    "NodeNotFound",
    "Pid",
    "Port",
    "Reference",
    "RemoteException",
    "RemoteProtocolError",
    "ReplyTooLarge",
    "TlsError",
    "TlsOptions",
    "as_key",
    "connect",
    "read_cookie",
]
