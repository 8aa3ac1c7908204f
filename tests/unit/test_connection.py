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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from mim_bridge.erldist import (
    Atom,
    CallTimeout,
    ConnectionLost,
    DecodeError,
    NameInUse,
    Pid,
    Reference,
    ReplyTooLarge,
    connect,
    etf,
)
from mim_bridge.erldist.connection import Connection, _Receiver
from mim_bridge.erldist.handshake import Peer
from mim_bridge.erldist.messages import REG_SEND, SEND, Channel, Message
from mim_bridge.erldist.nodename import parse
from support import fake_node

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
    receiver = _Receiver()
    transport, _ = await asyncio.get_running_loop().create_connection(lambda: receiver, sock=ours)
    transport.pause_reading()  # as connect() leaves it after the handshake
    conn = Connection(receiver, own=parse("bridge@localhost"),
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


# --------------------------------------------------------------------------- memory budget

def test_replies_stay_charged_until_no_call_is_in_flight() -> None:
    async def body(conn: Connection, node: Node) -> None:
        calls = [asyncio.ensure_future(conn.rpc("m", "f", [i])) for i in range(3)]
        r0, r1, r2 = await node.calls(3)
        await node.send(node.reply(conn, r0, b"a" * 10_000) + node.reply(conn, r1, b"b" * 10_000))
        assert await calls[0] == b"a" * 10_000 and await calls[1] == b"b" * 10_000
        held = conn.budget.used
        assert held > 20_000  # the wave is not over: its replies are still counted
        await node.send(node.reply(conn, r2, 1))
        assert await calls[2] == 1
        await asyncio.sleep(0)  # the last future's done-callbacks
        assert conn.pending_calls == 0 and conn.budget.used == 0

    run(body)


def test_a_reply_nobody_waits_for_is_released_at_once() -> None:
    async def body(conn: Connection, node: Node) -> None:
        call = asyncio.ensure_future(conn.rpc("m", "f", [], timeout=0.01))
        [ref] = await node.calls(1)
        with pytest.raises(CallTimeout):
            await call
        await node.send(node.reply(conn, ref, b"late" * 1000))
        later = asyncio.ensure_future(conn.rpc("m", "g", []))
        [ref2] = await node.calls(1)
        await node.send(node.reply(conn, ref2, 2))
        assert await later == 2
        await asyncio.sleep(0)
        assert conn.budget.used == 0

    run(body)


# --------------------------------------------------------------------------- against a fake node

def test_a_zip_bomb_fails_its_call_and_the_connection_goes_on() -> None:
    bombs = {"bomb"}

    def responder(pid: Pid, ref: Reference, module: str, function: str,
                  args: list[Any]) -> Iterator[bytes]:
        yield fake_node.zip_bomb(pid, ref) if function in bombs else fake_node.reply(
            pid, ref, Atom("fine"))

    async def main(node: fake_node.FakeNode) -> None:
        conn = await connect(node.name, node.cookie, epmd_port=node.epmd_port)
        try:
            results = await asyncio.gather(conn.rpc("m", "bomb", []), conn.rpc("m", "ok", []),
                                           return_exceptions=True)
            assert isinstance(results[0], ReplyTooLarge) and results[1] == Atom("fine")
            assert "memory budget" in str(results[0])
            assert await conn.rpc("m", "again", []) == Atom("fine")
            assert not conn.closed
        finally:
            await conn.close()

    with fake_node.FakeNode(responder=responder) as node:
        asyncio.run(main(node))


def test_status_alive_is_answered_false_unless_the_name_is_ours() -> None:
    async def main(node: fake_node.FakeNode) -> None:
        with pytest.raises(NameInUse, match="already has a connection from a node named "
                           "bridge_x@localhost"):
            await connect(node.name, node.cookie, epmd_port=node.epmd_port, name="bridge_x")
        conn = await connect(node.name, node.cookie, epmd_port=node.epmd_port,
                             name="bridge_x", replace_alive=True)
        await conn.close()

    with fake_node.FakeNode(status="alive") as node:
        asyncio.run(main(node))
        assert node.alive_answers == ["false", "true"]
        assert node.names == ["bridge_x@localhost"] * 2
