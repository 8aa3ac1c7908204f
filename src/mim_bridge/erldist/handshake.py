"""The distribution handshake, initiator side, as a pure state machine over bytes.

Theory of operation (``erl_dist_protocol``, "Distribution Handshake")::

    A (us)                                        B (the MongooseIM node)
    send_name      'N' flags creation name  ->
                                            <-    's' status   ("ok", "nok", "alive", ...)
    (status "alive" only) 's' true|false    ->
                                            <-    'N' flags challenge creation name
    challenge_reply 'r' our_challenge digest ->   (B checks digest = md5(cookie ++ challenge))
                                            <-    'a' digest
                                                  (we check md5(cookie ++ our_challenge))

Version 6 (OTP 23+) is the default; version 5 (``'n'``, 32-bit flags) is used when EPMD says the
node speaks nothing newer. A node that receives a wrong digest closes the connection without a word,
so a close right after our challenge reply is reported as :class:`CookieMismatch`.

Status ``alive``: B still holds a connection from a node with our name. Either that is our own
dead predecessor whose TCP breakdown has not reached B yet (answer ``true``: B drops it and the
handshake goes on), or another live process uses our name (answer ``false``: B keeps it). Only the
caller can know which, so it decides up front with *replace_alive*: True only when it has proof
that no other live process can hold this name (the bridge: it holds the lock of the state
directory its name is derived from). Otherwise the handshake answers ``false`` and ends in state
:attr:`State.NAME_IN_USE` with :class:`NameInUse` in :attr:`ClientHandshake.failure`; the
answer must still be sent before the error is raised, so that B closes cleanly. Answering
``true`` blindly would make two processes under one name kick each other's connection in turn.

Frames are length-prefixed: 2 bytes over TCP, 4 bytes over TLS distribution (``packet_size``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from enum import Enum, auto

from mim_bridge.erldist import flags as F
from mim_bridge.erldist.errors import (
    ConnectError,
    CookieMismatch,
    DecodeError,
    HandshakeRefused,
    LocalError,
    NameInUse,
)

__all__ = ["AliveAnswer", "ClientHandshake", "Peer", "State", "digest"]


class State(Enum):
    SEND_NAME = auto()
    AWAIT_STATUS = auto()
    AWAIT_CHALLENGE = auto()
    AWAIT_ACK = auto()
    CONNECTED = auto()
    NAME_IN_USE = auto()  # terminal: status alive answered false; send the reply, then fail


class AliveAnswer(Enum):
    """What we answered to status ``alive`` (None on :attr:`ClientHandshake.alive` if B never
    asked)."""

    REPLACED = auto()  # 'true': B dropped its old connection under our name
    REFUSED = auto()   # 'false': B keeps it, we give up (State.NAME_IN_USE)


@dataclass(frozen=True, slots=True)
class Peer:
    """What the handshake learned about the other node."""

    name: str
    flags: int
    creation: int
    version: int


def digest(cookie: str, challenge: int) -> bytes:
    """MD5 of the cookie followed by the decimal text of the 32-bit challenge."""
    return hashlib.md5(cookie.encode("latin-1") + str(challenge).encode()).digest()


class ClientHandshake:
    """Drive one handshake: call :meth:`start`, then feed bytes to :meth:`receive`.

    :meth:`receive` returns bytes to send (possibly empty). When :attr:`state` is CONNECTED,
    :attr:`peer` is set and :attr:`rest` holds any bytes that arrived after the final ack. When
    it is NAME_IN_USE, send what :meth:`receive` returned and raise :attr:`failure`.
    *replace_alive*: the answer to status ``alive`` (see the module docstring).
    """

    def __init__(self, name: str, cookie: str, *, flags: int = F.CLIENT_FLAGS,
                 creation: int | None = None, version: int = 6, packet_size: int = 2,
                 replace_alive: bool = False) -> None:
        if version not in (5, 6):
            raise LocalError(f"distribution version must be 5 or 6, not {version}")
        self.name = name
        self.cookie = cookie
        self.flags = flags if version == 6 else flags & 0xFFFFFFFF & ~F.HANDSHAKE_23
        self.creation = creation if creation is not None else secrets.randbelow(0xFFFFFFF0) + 4
        self.version = version
        self.packet_size = packet_size
        self.replace_alive = replace_alive
        self.alive: AliveAnswer | None = None
        self.failure: NameInUse | None = None
        self.state = State.SEND_NAME
        self.peer: Peer | None = None
        self.rest = b""
        self._buf = bytearray()
        self._our_challenge = secrets.randbits(32)

    # -- framing ---------------------------------------------------------------------------
    def _frame(self, payload: bytes) -> bytes:
        fmt = ">H" if self.packet_size == 2 else ">I"
        return struct.pack(fmt, len(payload)) + payload

    def _next_packet(self) -> bytes | None:
        n = self.packet_size
        if len(self._buf) < n:
            return None
        size = int.from_bytes(self._buf[:n], "big")
        if size > 65536:
            raise DecodeError(f"handshake frame of {size} bytes")
        if len(self._buf) < n + size:
            return None
        pkt = bytes(self._buf[n:n + size])
        del self._buf[:n + size]
        return pkt

    # -- steps -----------------------------------------------------------------------------
    def start(self) -> bytes:
        """The send_name frame."""
        if self.state is not State.SEND_NAME:
            raise LocalError("the handshake was already started")
        name = self.name.encode("utf-8")
        if self.version == 6:
            payload = struct.pack(">cQIH", b"N", self.flags, self.creation, len(name)) + name
        else:
            payload = struct.pack(">cHI", b"n", 5, self.flags & 0xFFFFFFFF) + name
        self.state = State.AWAIT_STATUS
        return self._frame(payload)

    def receive(self, data: bytes | bytearray | memoryview) -> bytes:
        """Consume bytes from the peer (copied); return bytes to send back."""
        self._buf += data
        out = b""
        while self.state is not State.CONNECTED and self.state is not State.NAME_IN_USE:
            pkt = self._next_packet()
            if pkt is None:
                break
            out += self._handle(pkt)
        if self.state is State.CONNECTED:
            self.rest += bytes(self._buf)  # everything after the ack, however it was chunked
            self._buf.clear()
        return out

    def connection_closed(self) -> ConnectError:
        """The error to raise when the peer closes mid-handshake."""
        if self.failure is not None:
            return self.failure
        if self.state is State.AWAIT_ACK:
            return CookieMismatch(
                "the node closed the connection after our challenge reply: the cookie is wrong "
                "(check --cookie / --cookie-file against the node's cookie)")
        return HandshakeRefused(
            f"the node closed the connection during the handshake ({self.state.name.lower()}): "
            f"it may not accept hidden nodes, may require TLS distribution, or be shutting down")

    def _handle(self, pkt: bytes) -> bytes:
        if not pkt:
            raise DecodeError("empty handshake frame")
        tag = pkt[:1]
        if self.state is State.AWAIT_STATUS:
            if tag != b"s":
                raise DecodeError(f"expected status, got tag {tag!r}")
            return self._status(pkt[1:].decode("latin-1"))
        if self.state is State.AWAIT_CHALLENGE:
            return self._challenge(pkt)
        if self.state is State.AWAIT_ACK:
            if tag != b"a" or len(pkt) != 17:
                raise DecodeError(f"expected challenge ack, got tag {tag!r}")
            if not hmac.compare_digest(pkt[1:], digest(self.cookie, self._our_challenge)):
                raise CookieMismatch(
                    "the node answered our challenge with a wrong digest: it uses a different "
                    "cookie")
            self.state = State.CONNECTED
            return b""
        raise DecodeError(f"unexpected handshake frame in state {self.state.name}")

    def _status(self, status: str) -> bytes:
        if status in ("ok", "ok_simultaneous"):
            self.state = State.AWAIT_CHALLENGE
            return b""
        if status == "alive":
            return self._alive()
        if status == "not_allowed":
            raise HandshakeRefused(
                "the node does not allow connections from this node name (net_kernel:allow/1 "
                "or a TLS-only node)")
        if status == "nok":
            raise HandshakeRefused("the node refused the connection (simultaneous connect)")
        raise HandshakeRefused(f"the node refused the handshake with status {status!r}")

    def _alive(self) -> bytes:
        """B holds a connection under our name: replace it, or give up (module docstring)."""
        if self.replace_alive:
            self.alive = AliveAnswer.REPLACED
            self.state = State.AWAIT_CHALLENGE
            return self._frame(b"strue")
        self.alive = AliveAnswer.REFUSED
        self.state = State.NAME_IN_USE
        self.failure = NameInUse(
            f"the node already has a connection from a node named {self.name}: another "
            f"process uses this name (or the node has not yet noticed that its previous "
            f"user died, which takes at most its net_ticktime)", self.name)
        return self._frame(b"sfalse")

    def _challenge(self, pkt: bytes) -> bytes:
        tag = pkt[:1]
        try:
            if tag == b"N":
                pflags, challenge, creation, nlen = struct.unpack_from(">QIIH", pkt, 1)
                name = pkt[19:19 + nlen]
                version = 6
            elif tag == b"n":
                _vsn, pflags, challenge = struct.unpack_from(">HII", pkt, 1)
                name, creation, version = pkt[11:], 0, 5
            else:
                raise DecodeError(f"expected challenge, got tag {tag!r}")
        except struct.error as e:
            raise DecodeError("truncated challenge frame") from e
        missing = F.REQUIRED_FROM_PEER & ~pflags
        if missing and not (version == 6 and pflags & F.MANDATORY_25_DIGEST):
            raise HandshakeRefused(
                f"the node lacks required capabilities ({F.describe(missing)}): "
                f"it runs an Erlang/OTP release older than 23")
        self.peer = Peer(name.decode("utf-8", "replace"), pflags, creation, version)
        self.state = State.AWAIT_ACK
        reply = struct.pack(">cI", b"r", self._our_challenge) + digest(self.cookie, challenge)
        return self._frame(reply)
