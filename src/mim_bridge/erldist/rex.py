"""RPC through the node's ``rex`` server, as bytes: the request frames and the reply check.

Pure: :mod:`.connection` sends what :class:`RexRequests` builds and hands replies to
:func:`check_reply`. The request is the standard ``gen_server`` call::

    REG_SEND rex  {'$gen_call', {OurPid, Ref}, {call, M, F, Args, user}}
    SEND OurPid   {Ref, Reply}

``user`` as group leader keeps any I/O of the call on the server.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from mim_bridge.erldist import etf
from mim_bridge.erldist.errors import BadRpc, RemoteException
from mim_bridge.erldist.messages import REG_SEND, Channel
from mim_bridge.erldist.terms import Atom, Pid, Reference

__all__ = ["GEN_CALL", "RexRequests", "check_reply"]

REX = Atom("rex")
GEN_CALL = Atom("$gen_call")
_CALL = Atom("call")
_USER = Atom("user")
_BADRPC = Atom("badrpc")
_EXIT = Atom("EXIT")
_SMALL_TUPLE = bytes((etf.SMALL_TUPLE_EXT,))
_MF_CACHE_MAX = 4096  # (module, function) pairs kept encoded; callers choose the names


class RexRequests:
    """Builds call frames for one connection (its channel's framing, its own pid).

    Every frame starts with the same bytes (length aside: distribution header, REG_SEND control,
    ``'$gen_call'``, our pid) and ends with ``user``: they are encoded once, not once per call
    of a pipelined wave of thousands.
    """

    def __init__(self, channel: Channel, pid: Pid) -> None:
        head = bytearray(channel.encode((REG_SEND, pid, Atom(""), REX))[4:])
        if not channel.atom_cache_header:
            head.append(etf.VERSION)  # the message term of a pass-through frame is versioned
        head += _SMALL_TUPLE + b"\x03"
        etf.encode_into(GEN_CALL, head, versioned=False)
        head += _SMALL_TUPLE + b"\x02"
        etf.encode_into(pid, head, versioned=False)
        self._head = bytes(head)
        self._tail = etf.encode(_USER)[1:]
        self._mf: dict[tuple[Atom, Atom], bytes] = {}

    def frame(self, module: Atom, function: Atom, args: Sequence[Any], ref: Reference) -> bytes:
        """One complete frame: ``{'$gen_call', {Pid, Ref}, {call, M, F, Args, user}}`` to rex."""
        mf = self._mf.get((module, function))
        if mf is None:
            buf = bytearray(_SMALL_TUPLE + b"\x05")
            for atom in (_CALL, module, function):
                etf.encode_into(atom, buf, versioned=False)
            mf = bytes(buf)
            if len(self._mf) < _MF_CACHE_MAX:
                self._mf[(module, function)] = mf
        out = bytearray(b"\0\0\0\0")
        out += self._head
        etf.encode_into(ref, out, versioned=False)
        out += mf
        etf.encode_into(list(args), out, versioned=False)
        out += self._tail
        struct.pack_into(">I", out, 0, len(out) - 4)
        return bytes(out)


def check_reply(reply: Any, module: Any, function: Any, arity: int) -> Any:
    """Turn ``{badrpc, Reason}`` into :class:`BadRpc` / :class:`RemoteException`."""
    if type(reply) is tuple and len(reply) == 2 and reply[0] == _BADRPC:
        reason = reply[1]
        mfa = f"{module}:{function}/{arity}"
        if type(reason) is tuple and len(reason) == 2 and reason[0] == _EXIT:
            inner = reason[1]
            what = inner[0] if type(inner) is tuple and inner else inner
            raise RemoteException(f"{mfa} raised {_short(what)}", reason)
        raise BadRpc(f"{mfa} failed: {_short(reason)}", reason)
    return reply


def _short(term: Any, limit: int = 200) -> str:
    text = repr(term)
    return text if len(text) <= limit else text[:limit] + "..."
