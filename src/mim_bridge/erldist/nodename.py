"""Node names: ``alive@host``, short (``mim@db1``) or long (``mim@db1.example.com``,
``mim@10.0.0.5``).

Erlang refuses a connection whose name style differs from its own (a ``-name`` node rejects short
names and vice versa), so the bridge's own name copies the style of the target's host part.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

from mim_bridge.erldist.errors import NodeNameError

__all__ = ["NodeName", "host_for_connect", "own_name", "parse"]

_ALIVE = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_HOST = re.compile(r"^[A-Za-z0-9_\-.:\[\]]{1,255}$")


@dataclass(frozen=True, slots=True)
class NodeName:
    alive: str
    host: str

    @property
    def long(self) -> bool:
        """True for ``-name`` style (a dot or an IPv6 colon in the host part)."""
        return "." in self.host or ":" in self.host

    def __str__(self) -> str:
        return f"{self.alive}@{self.host}"


def parse(name: str) -> NodeName:
    """Validate and split a node name; raise :class:`NodeNameError` with a hint."""
    alive, sep, host = name.partition("@")
    if not sep or not alive or not host:
        raise NodeNameError(
            f"node name {name!r} is not of the form name@host (e.g. mongooseim@localhost)")
    if not _ALIVE.match(alive):
        raise NodeNameError(
            f"node name {name!r}: the part before '@' may only hold letters, digits, '_' and '-'")
    if not _HOST.match(host) or "@" in host:
        raise NodeNameError(f"node name {name!r}: {host!r} is not a valid host name or address")
    return NodeName(alive, host)


def own_name(target: NodeName, alive: str | None = None) -> NodeName:
    """A name for the bridge whose short/long style matches *target*."""
    alive = alive or f"mim_bridge_{os.urandom(6).hex()}"
    if target.long:
        fqdn = socket.getfqdn()
        host = fqdn if "." in fqdn else "127.0.0.1"
    else:
        host = socket.gethostname().split(".", 1)[0] or "localhost"
        if target.host == "localhost":
            host = "localhost"
    return NodeName(alive, host)


def host_for_connect(target: NodeName) -> str:
    """The address to connect to (strip IPv6 brackets)."""
    return target.host.strip("[]")
