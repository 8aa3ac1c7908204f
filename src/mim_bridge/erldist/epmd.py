"""EPMD: find the distribution port of a node (PORT_PLEASE2_REQ / PORT2_RESP).

The request and response codecs are pure; :func:`lookup` is the only function that touches a socket.
The EPMD port is 4369 unless ``ERL_EPMD_PORT`` says otherwise, exactly as for ``erl``.
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass

from mim_bridge.erldist.errors import ConnectTimeout, DecodeError, EpmdUnreachable, NodeNotFound

__all__ = ["DEFAULT_PORT", "PORT2_RESP", "PORT_PLEASE2_REQ", "NodeInfo", "default_port", "lookup",
           "parse_port2_response", "port_please2_request"]

PORT_PLEASE2_REQ = 122
PORT2_RESP = 119
DEFAULT_PORT = 4369


def default_port() -> int:
    """EPMD port from ``ERL_EPMD_PORT`` (as ``erl`` reads it), else 4369."""
    try:
        return int(os.environ.get("ERL_EPMD_PORT", DEFAULT_PORT))
    except ValueError:
        return DEFAULT_PORT


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What EPMD knows about a registered node."""

    port: int
    hidden: bool
    protocol: int  # 0 = tcp/ip-v4
    highest_version: int
    lowest_version: int
    name: str
    extra: bytes


def port_please2_request(alive: str) -> bytes:
    """The complete request, 2-byte length prefix included."""
    name = alive.encode("utf-8")
    return struct.pack(">HB", len(name) + 1, PORT_PLEASE2_REQ) + name


def parse_port2_response(data: bytes) -> NodeInfo | None:
    """Parse a whole PORT2_RESP; ``None`` when EPMD does not know the name."""
    if len(data) < 2 or data[0] != PORT2_RESP:
        raise DecodeError("EPMD sent something other than PORT2_RESP")
    if data[1] != 0:
        return None
    try:
        port, ntype, proto, high, low, nlen = struct.unpack_from(">HBBHHH", data, 2)
        name = data[12:12 + nlen]
        (elen,) = struct.unpack_from(">H", data, 12 + nlen)
        extra = data[14 + nlen:14 + nlen + elen]
    except struct.error as e:
        raise DecodeError("truncated PORT2_RESP from EPMD") from e
    if len(name) != nlen or len(extra) != elen:
        raise DecodeError("truncated PORT2_RESP from EPMD")
    return NodeInfo(port, ntype == 72, proto, high, low, name.decode("utf-8", "replace"), extra)


async def lookup(alive: str, host: str, port: int | None = None,
                 timeout: float = 5.0) -> NodeInfo:
    """Ask the EPMD on *host* for node *alive*; raise a typed error if that fails."""
    port = default_port() if port is None else port
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as e:
                raise EpmdUnreachable(
                    f"cannot reach EPMD at {host}:{port} ({e.strerror or e}): is the node's host "
                    f"right, is epmd running there, and is port {port} open?") from e
            try:
                writer.write(port_please2_request(alive))
                data = b""
                while len(data) < 65536:  # EPMD closes the connection after its answer
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError as e:
                raise EpmdUnreachable(
                    f"EPMD at {host}:{port} dropped the connection ({e.strerror or e})") from e
            finally:
                writer.close()
    except TimeoutError as e:
        raise ConnectTimeout(f"EPMD at {host}:{port} did not answer within {timeout:g} s") from e
    if not data:
        raise EpmdUnreachable(f"EPMD at {host}:{port} closed the connection without answering")
    info = parse_port2_response(data)
    if info is None:
        raise NodeNotFound(
            f"node '{alive}' is not registered in EPMD on {host}:{port}: is it running, "
            f"and is the name before '@' right?")
    return info
