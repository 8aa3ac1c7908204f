"""Every way the distribution client can fail, as one exception tree.

    ErldistError
    ├── LocalError                 we (or our caller) misused the API
    │   ├── NodeNameError          "mongooseim@host" is malformed
    │   └── EncodeError            a Python value has no Erlang term form
    ├── ConnectError               could not establish a connection
    │   ├── EpmdUnreachable        nothing answers on the EPMD port of the host
    │   ├── NodeNotFound           EPMD answers, but the node is not registered
    │   ├── ConnectionRefused      the node's distribution port refused the connection
    │   ├── HandshakeRefused       the node said no (not allowed, simultaneous connect, ...)
    │   │   └── NameInUse          the node already has a live connection under our name
    │   ├── CookieMismatch         the node rejected our cookie digest (or we rejected its)
    │   ├── TlsError               TLS distribution failed (certificates, protocol)
    │   └── ConnectTimeout         no answer in time during EPMD lookup or handshake
    ├── RemoteProtocolError        the peer broke the protocol
    │   └── DecodeError            bytes that are not a valid term / frame (a reply that does
    │       │                      not decode fails only its call; a bad frame, the connection)
    │       └── ReplyTooLarge      what the node sent does not fit in the connection's
    │                              memory budget
    ├── ConnectionLost             an established connection closed or died
    └── CallError                  one RPC failed; the connection stays usable
        ├── CallTimeout            no reply within the call's timeout
        └── BadRpc                 the server answered {badrpc, Reason}
            └── RemoteException    ... because the called function raised

Messages are plain sentences an operator can act on; the original cause is chained.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BadRpc", "CallError", "CallTimeout", "ConnectError", "ConnectTimeout", "ConnectionLost",
           "ConnectionRefused", "CookieMismatch", "DecodeError", "EncodeError", "EpmdUnreachable",
           "ErldistError", "HandshakeRefused", "LocalError", "NameInUse", "NodeNameError",
           "NodeNotFound", "RemoteException", "RemoteProtocolError", "ReplyTooLarge", "TlsError"]


class ErldistError(Exception):
    """Root of every error raised by :mod:`mim_bridge.erldist`."""


class LocalError(ErldistError):
    """The caller asked for something the protocol cannot express."""


class NodeNameError(LocalError, ValueError):
    """A node name is not of the form ``name@host``."""


class EncodeError(LocalError, TypeError):
    """A Python value cannot be encoded as an Erlang term."""


class ConnectError(ErldistError):
    """The connection could not be established."""


class EpmdUnreachable(ConnectError):
    """No EPMD answers on the target host."""


class NodeNotFound(ConnectError):
    """EPMD does not know the node name."""


class ConnectionRefused(ConnectError):
    """The node's distribution port refused the TCP connection."""


class HandshakeRefused(ConnectError):
    """The node refused the handshake for a reason other than the cookie."""


class NameInUse(HandshakeRefused):
    """The node answered status ``alive`` and we did not replace its connection under our name.

    ``name`` is our node name as we sent it.
    """

    def __init__(self, message: str, name: str = "") -> None:
        super().__init__(message)
        self.name = name


class CookieMismatch(ConnectError):
    """The cookie digests did not match: the node and the bridge use different cookies."""


class TlsError(ConnectError):
    """TLS distribution could not be set up."""


class ConnectTimeout(ConnectError, TimeoutError):
    """EPMD lookup or handshake took longer than the connect timeout."""


class RemoteProtocolError(ErldistError):
    """The peer sent something the protocol does not allow."""


class DecodeError(RemoteProtocolError, ValueError):
    """Bytes that do not decode as a term or a frame (hostile, garbled or unsupported).

    Raised by a call whose reply did not decode (the connection stays usable), and the cause of
    the :class:`ConnectionLost` of a connection whose frames broke the protocol.
    """


class ReplyTooLarge(DecodeError):
    """What the node sent needs more memory than the connection's budget has left.

    A reply (or a compressed term's inflated size) over the budget fails its own call; a frame
    or fragment stream that cannot be held closes the connection or fails the reply it carries
    (see :mod:`.budget`).
    """


class ConnectionLost(ErldistError):
    """The connection closed; every pending call fails with this."""


class CallError(ErldistError):
    """One remote call failed."""


class CallTimeout(CallError, TimeoutError):
    """No reply within the call's timeout. The reply, if it ever comes, is discarded."""


class BadRpc(CallError):
    """The server's ``rex`` answered ``{badrpc, Reason}``; ``reason`` holds the decoded term."""

    def __init__(self, message: str, reason: Any = None) -> None:
        super().__init__(message)
        self.reason = reason


class RemoteException(BadRpc):
    """The called function raised: ``{badrpc, {'EXIT', {Reason, Stack}}}``."""
