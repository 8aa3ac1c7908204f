"""Connection (the asyncio layer) over a socket pair, with the test playing the node.

Real nodes are in tests/live/test_erldist.py; here the node's side is written by hand, which lets
it send what no real node would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from mim_bridge.erldist import Atom, ConnectionLost, DecodeError, Reference, etf
from mim_bridge.erldist.connection import Connection
from mim_bridge.erldist.handshake import Peer
from mim_bridge.erldist.messages import REG_SEND, SEND, Channel, Message
from mim_bridge.erldist.nodename import parse

SECRET = b"SECRET-PAYLOAD-BYTES"


class Node:
    """The node's end of the socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.channel = Channel()  # decodes what the bridge sends
        self.sent_by_bridge: list[Any] = []

    async def calls(self, n: int) -> list[Reference]:
        """Read until *n* rex calls arrived; return their refs."""
        loop = asyncio.get_running_loop()
        refs: list[Reference] = []
        while len(refs) < n:
            while (ev := self.channel.next_event()) is not None:
                if isinstance(ev, Message) and ev.op == REG_SEND:
                    refs.append(ev.payload[1][1])  # {'$gen_call', {Pid, Ref}, Request}
            if len(refs) < n:
                self.channel.receive_data(await loop.sock_recv(self.sock, 65536))
        return refs

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    def reply(self, conn: Connection, ref: Reference, value: Any) -> bytes:
        return Channel().encode((SEND, Atom(""), conn.pid), (ref, value))

    def bad_reply(self, conn: Connection, ref: Reference) -> bytes:
        """{Ref, [<<SECRET>> | <tag 7, no term>]}."""
        body = bytearray(b"\x83\x44\x00")  # distribution header without atom cache refs
        etf.encode_into((SEND, Atom(""), conn.pid), body, versioned=False)
        body += b"h\x02"
        etf.encode_into(ref, body, versioned=False)
        body += b"l\x00\x00\x00\x01"
        etf.encode_into(SECRET, body, versioned=False)
        body += b"\x07"
        return struct.pack(">I", len(body)) + bytes(body)


Body = Callable[[Connection, Node], Awaitable[None]]


@contextlib.asynccontextmanager
async def connected() -> AsyncIterator[tuple[Connection, Node]]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=ours)
    conn = Connection(reader, writer, own=parse("bridge@localhost"),
                      peer=Peer("mim@localhost", 0, 1, 6), creation=7, channel=Channel(),
                      tick_interval=15.0, net_ticktime=60.0)
    try:
        yield conn, Node(theirs)
    finally:
        await conn.close()
        theirs.close()


def run(body: Body) -> None:
    async def main() -> None:
        async with connected() as (conn, node), asyncio.timeout(10):
            await body(conn, node)

    asyncio.run(main())


def test_an_undecodable_reply_fails_only_its_call(caplog: pytest.LogCaptureFixture) -> None:
    async def body(conn: Connection, node: Node) -> None:
        calls = [asyncio.ensure_future(conn.rpc("m", "f", [i])) for i in range(3)]
        r0, r1, r2 = await node.calls(3)
        with caplog.at_level(logging.WARNING, logger="mim_bridge.erldist"):
            await node.send(node.reply(conn, r0, Atom("first"))
                            + node.bad_reply(conn, r1)
                            + node.reply(conn, r2, Atom("third")))
            assert await calls[0] == Atom("first")
            with pytest.raises(DecodeError, match="does not decode: unknown term tag 7"):
                await calls[1]
            assert await calls[2] == Atom("third")
        assert not conn.closed and conn.pending_calls == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "failing that call" in warnings[0].getMessage()
        assert SECRET.decode() not in caplog.text and SECRET.hex() not in caplog.text
        # and the connection goes on
        later = asyncio.ensure_future(conn.rpc("m", "g", []))
        [r3] = await node.calls(1)
        await node.send(node.reply(conn, r3, [1, 2]))
        assert await later == [1, 2]

    run(body)


def test_an_undecodable_message_for_no_call_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    async def body(conn: Connection, node: Node) -> None:
        call = asyncio.ensure_future(conn.rpc("m", "f", []))
        [ref] = await node.calls(1)
        stranger = Reference(Atom("bridge@localhost"), 7, (999, 0, 0))
        with caplog.at_level(logging.WARNING, logger="mim_bridge.erldist"):
            await node.send(node.bad_reply(conn, stranger) + node.reply(conn, ref, 5))
            assert await call == 5
        assert "dropping a message (operation 2)" in caplog.text
        assert SECRET.decode() not in caplog.text
        assert not conn.closed

    run(body)


def test_a_frame_that_breaks_the_protocol_still_closes_the_connection() -> None:
    async def body(conn: Connection, node: Node) -> None:
        calls = [asyncio.ensure_future(conn.rpc("m", "f", [i])) for i in range(2)]
        await node.calls(2)
        bad_control = b"\x83\x44\x00" + b"h\x02\x07\x07"  # control term with tag 7
        await node.send(struct.pack(">I", len(bad_control)) + bad_control)
        for call in calls:
            with pytest.raises(ConnectionLost, match="unknown term tag 7"):
                await call
        assert conn.closed

    run(body)
