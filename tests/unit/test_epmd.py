"""EPMD PORT_PLEASE2_REQ / PORT2_RESP codecs, and lookup() against a scripted fake EPMD."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import launcher
from mim_bridge.erldist import (
    ConnectTimeout,
    DecodeError,
    EpmdUnreachable,
    NodeNotFound,
    epmd,
)
from mim_bridge.erldist.epmd import NodeInfo


def port2_resp(port: int = 4370, *, ntype: int = 77, proto: int = 0, high: int = 6, low: int = 5,
               name: bytes = b"mim", extra: bytes = b"") -> bytes:
    return (struct.pack(">BBHBBHHH", 119, 0, port, ntype, proto, high, low, len(name)) + name
            + struct.pack(">H", len(extra)) + extra)


# --------------------------------------------------------------------------- request

@pytest.mark.parametrize(("alive", "want"), [
    ("mim", "00047a6d696d"),                       # Length:16 = 1 + 3, 122, Name
    ("mongooseim", "000b7a6d6f6e676f6f7365696d"),
    ("zażółć", "000b7a7a61c5bcc3b3c582c487"),       # UTF-8, length in bytes
])
def test_port_please2_request(alive: str, want: str) -> None:
    assert epmd.port_please2_request(alive).hex() == want


# --------------------------------------------------------------------------- response

RESPONSES = [
    ("normal node", port2_resp(),
     NodeInfo(4370, False, 0, 6, 5, "mim", b"")),
    ("hidden node with extra", port2_resp(40000, ntype=72, name=b"h", extra=b"\x01\x02"),
     NodeInfo(40000, True, 0, 6, 5, "h", b"\x01\x02")),
    ("version 5 only", port2_resp(high=5, low=5), NodeInfo(4370, False, 0, 5, 5, "mim", b"")),
    ("unknown name", bytes([119, 1]), None),
    ("unknown name, any error code", bytes([119, 2]), None),
]


@pytest.mark.parametrize(("data", "want"), [pytest.param(d, w, id=i) for i, d, w in RESPONSES])
def test_parse_port2_response(data: bytes, want: NodeInfo | None) -> None:
    assert epmd.parse_port2_response(data) == want


BAD_RESPONSES = [
    ("empty", b""),
    ("one byte", b"w"),
    ("not PORT2_RESP", bytes([120, 0]) + port2_resp()[2:]),
    ("ALIVE2_RESP", bytes([121, 0, 0, 1])),
    ("truncated fixed part", port2_resp()[:8]),
    ("truncated name", port2_resp(name=b"mongooseim")[:15]),
    ("missing extra length", port2_resp()[:-2]),
    ("truncated extra", port2_resp(extra=b"abcdef")[:-2]),
]


@pytest.mark.parametrize("data", [pytest.param(d, id=i) for i, d in BAD_RESPONSES])
def test_malformed_responses(data: bytes) -> None:
    with pytest.raises(DecodeError):
        epmd.parse_port2_response(data)


@settings(max_examples=500, deadline=None, database=None)
@given(st.binary(max_size=64))
def test_random_responses_only_raise_decode_error(data: bytes) -> None:
    for candidate in (data, b"w" + data, b"w\x00" + data):
        try:
            info = epmd.parse_port2_response(candidate)
        except DecodeError:
            continue
        assert info is None or isinstance(info, NodeInfo)


@pytest.mark.parametrize(("env", "want"), [(None, 4369), ("4400", 4400), ("junk", 4369)])
def test_default_port_follows_erl_epmd_port(monkeypatch: pytest.MonkeyPatch, env: str | None,
                                            want: int) -> None:
    if env is None:
        monkeypatch.delenv("ERL_EPMD_PORT", raising=False)
    else:
        monkeypatch.setenv("ERL_EPMD_PORT", env)
    assert epmd.default_port() == want


# --------------------------------------------------------------------------- lookup()

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def with_fake_epmd(handler: Handler, body: Callable[[int], Awaitable[Any]]) -> Any:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await body(port)
    finally:
        server.close()
        await server.wait_closed()


def answering(*chunks: bytes, requests: list[bytes] | None = None) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = struct.unpack(">H", await reader.readexactly(2))[0]
        req = await reader.readexactly(size)
        if requests is not None:
            requests.append(req)
        for c in chunks:
            writer.write(c)
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.close()
    return handle


def test_lookup_sends_port_please2_and_parses_a_chunked_answer() -> None:
    requests: list[bytes] = []
    resp = port2_resp(45678, name=b"mim")

    async def body(port: int) -> NodeInfo:
        return await epmd.lookup("mim", "127.0.0.1", port, timeout=5)

    info = asyncio.run(with_fake_epmd(answering(resp[:3], resp[3:9], resp[9:], requests=requests),
                                      body))
    assert requests == [b"zmim"]
    assert info.port == 45678 and info.name == "mim"


def test_lookup_of_an_unknown_name_is_node_not_found() -> None:
    async def body(port: int) -> None:
        with pytest.raises(NodeNotFound, match="'ghost' is not registered"):
            await epmd.lookup("ghost", "127.0.0.1", port, timeout=5)

    asyncio.run(with_fake_epmd(answering(bytes([119, 1])), body))


def test_lookup_when_epmd_closes_without_answer() -> None:
    async def body(port: int) -> None:
        with pytest.raises(EpmdUnreachable, match="without answering"):
            await epmd.lookup("mim", "127.0.0.1", port, timeout=5)

    asyncio.run(with_fake_epmd(answering(), body))


def test_lookup_when_epmd_resets_the_connection() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(6)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST instead of FIN

    async def body(port: int) -> None:
        with pytest.raises(EpmdUnreachable):
            await epmd.lookup("mim", "127.0.0.1", port, timeout=5)

    asyncio.run(with_fake_epmd(reset, body))


def test_lookup_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.sleep(30)
        finally:
            writer.close()

    async def body(port: int) -> None:
        with pytest.raises(ConnectTimeout, match=r"did not answer within 0\.2 s"):
            await epmd.lookup("mim", "127.0.0.1", port, timeout=0.2)

    asyncio.run(with_fake_epmd(silent, body))


def test_lookup_on_a_closed_port_is_epmd_unreachable() -> None:
    port = launcher.free_port()  # a port that was free a moment ago and has no listener

    async def body() -> None:
        with pytest.raises(EpmdUnreachable, match=f"127.0.0.1:{port}"):
            await epmd.lookup("mim", "127.0.0.1", port, timeout=5)

    asyncio.run(body())


def test_lookup_of_garbage_is_a_decode_error() -> None:
    async def body(port: int) -> None:
        with pytest.raises(DecodeError):
            await epmd.lookup("mim", "127.0.0.1", port, timeout=5)

    asyncio.run(with_fake_epmd(answering(b"HTTP/1.1 400 Bad Request\r\n\r\n"), body))
