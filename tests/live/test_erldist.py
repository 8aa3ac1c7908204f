"""The distribution client against real OTP 25 and OTP 28 nodes (each with a private EPMD).

A node per release is shared by the tests of this module that leave it as they found it; tests
that need special flags or kill the node start their own.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import launcher
from mim_bridge.erldist import (
    Atom,
    BadRpc,
    CallTimeout,
    Connection,
    ConnectionLost,
    CookieMismatch,
    DecodeError,
    EncodeError,
    EpmdUnreachable,
    FloatKey,
    ListKey,
    MapKey,
    NodeNotFound,
    Pid,
    Reference,
    RemoteException,
    ReplyTooLarge,
    connect,
)
from mim_bridge.erldist.connection import READ_BUFFERS
from support import erlvm
from support.erlvm import LiveNode

pytestmark = pytest.mark.live

RELEASES = erlvm.runtime_ids()
release_param = pytest.mark.parametrize("release", RELEASES, ids=lambda r: f"otp{r}")


@pytest.fixture(scope="module", params=RELEASES, ids=lambda r: f"otp{r}")
def server(request: pytest.FixtureRequest) -> Iterator[LiveNode]:
    with erlvm.private_node(request.param) as node:
        yield node


async def open_conn(node: LiveNode, **kw: Any) -> Connection:
    kw.setdefault("timeout", 10.0)
    return await connect(node.name, cookie=node.cookie, epmd_port=node.epmd_port, **kw)


def with_conn(node: LiveNode, body: Callable[[Connection], Awaitable[Any]], **kw: Any) -> Any:
    """Connect, run body(conn), close - in a fresh event loop."""
    async def main() -> Any:
        conn = await open_conn(node, **kw)
        try:
            return await body(conn)
        finally:
            await conn.close()
    return asyncio.run(main())


# --------------------------------------------------------------------------- connect + rpc

ECHO_VALUES = [
    42, -(1 << 100), 2.5, Atom("ok"), True, b"bin", "text", [1, Atom("a"), [2.0]],
    (Atom("tuple"), {Atom("k"): [b"v"], "s": (1, 2)}), Atom("zażółć"), [],
]


def test_handshake_and_rpc(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        assert conn.peer_name == server.name
        assert await conn.rpc("erlang", "node", []) == Atom(server.name)
        assert await conn.rpc("erlang", "system_info", [Atom("otp_release")]) == server.release
        assert await conn.rpc("lists", "reverse", [[1, 2, 3]]) == "\x03\x02\x01"
        for value in ECHO_VALUES:  # lists:nth(1, [X]) hands X back unchanged
            assert await conn.rpc(Atom("lists"), Atom("nth"), [1, [value]]) == value
        # pids/refs as the node encodes them on the wire (atom cache refs in the header)
        pid = await conn.rpc("erlang", "whereis", [Atom("rex")])
        assert isinstance(pid, Pid) and pid.node == Atom(server.name)
        ref = await conn.rpc("erlang", "make_ref", [])
        assert isinstance(ref, Reference) and ref.node == Atom(server.name)
        assert not conn.closed and conn.pending_calls == 0

    with_conn(server, body)


def test_bridge_is_a_hidden_node(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        me = Atom(conn.node_name)
        assert me in await conn.rpc("erlang", "nodes", [Atom("hidden")])
        assert me not in await conn.rpc("erlang", "nodes", [])
        assert await conn.rpc("erlang", "nodes", []) == []

    with_conn(server, body)


def test_explicit_own_name(server: LiveNode) -> None:
    alive = launcher.unique_name("bridge")

    async def body(conn: Connection) -> None:
        assert conn.node_name == f"{alive}@localhost"
        assert Atom(conn.node_name) in await conn.rpc("erlang", "nodes", [Atom("hidden")])

    with_conn(server, body, name=alive)


def test_server_can_ping_the_bridge(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        # the rex worker on the server calls net_kernel on our node over this connection
        assert await conn.rpc("net_adm", "ping", [Atom(conn.node_name)]) == Atom("pong")

    with_conn(server, body)


def test_wrong_cookie_fails_fast(server: LiveNode) -> None:
    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(CookieMismatch):
            await connect(server.name, cookie="not-" + server.cookie,
                          epmd_port=server.epmd_port, timeout=30)
        assert time.monotonic() - t0 < 5  # refused, not timed out

    asyncio.run(main())
    with_conn(server, lambda conn: conn.rpc("erlang", "node", []))  # node unharmed


def test_unknown_node(server: LiveNode) -> None:
    async def main() -> None:
        with pytest.raises(NodeNotFound, match="ghost"):
            await connect("ghost@localhost", cookie=server.cookie, epmd_port=server.epmd_port)

    asyncio.run(main())


def test_stopped_epmd() -> None:
    epmd = launcher.Epmd().start()
    epmd.stop()

    async def main() -> None:
        with pytest.raises(EpmdUnreachable):
            await connect("mim@localhost", cookie="c", epmd_port=epmd.port, timeout=10)

    asyncio.run(main())


# --------------------------------------------------------------------------- calls

def test_multi_megabyte_reply_arrives_intact(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        frames: collections.Counter[bytes] = collections.Counter()
        channel = conn._channel
        original = channel._continuation

        def counting(header: bytes, part: bytes) -> Any:
            frames[header[:2]] += 1
            return original(header, part)

        channel._continuation = counting  # type: ignore[method-assign]
        chunk = bytes(range(256)) * 64  # 16 KiB
        blob = await conn.rpc("binary", "copy", [chunk, 6 * 64], timeout=60)
        assert blob == chunk * 6 * 64  # 6 MiB
        assert frames[bytes((131, 70))] > 0, f"expected a fragmented reply, got {frames}"
        # 400,000 Python ints and their list: ~16 MiB, more than the default budget
        numbers = await conn.rpc("lists", "seq", [1, 400_000], timeout=60)
        assert numbers == list(range(1, 400_001))

    with_conn(server, body, max_reply_memory=64 * 2**20)


def test_a_reply_over_the_budget_fails_its_call_and_the_connection_goes_on(
        server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        with pytest.raises(ReplyTooLarge, match="memory budget"):
            await conn.rpc("lists", "seq", [1, 400_000], timeout=60)
        with pytest.raises(ReplyTooLarge, match="fragmented message"):
            await conn.rpc("binary", "copy", [bytes(2**20), 20], timeout=60)  # 20 MiB
        assert await conn.rpc("lists", "seq", [1000, 1002]) == [1000, 1001, 1002]
        async with asyncio.timeout(30):  # the rest of the 20 MiB may still be on its way
            while conn.budget.used != READ_BUFFERS:  # then nothing else is held
                await asyncio.sleep(0.05)
        assert not conn.closed and conn.pending_calls == 0

    with_conn(server, body)


def test_a_thousand_concurrent_calls(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        results = await asyncio.gather(
            *(conn.rpc("erlang", "integer_to_binary", [i]) for i in range(1000)))
        assert results == [str(i).encode() for i in range(1000)]
        assert conn.pending_calls == 0

    with_conn(server, body)


def test_badrpc_and_exceptions(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        with pytest.raises(RemoteException, match="boom") as err:
            await conn.rpc("erlang", "error", [Atom("boom")])
        assert err.value.reason[0] == Atom("EXIT")
        assert err.value.reason[1][0] == Atom("boom")

        with pytest.raises(RemoteException, match="undef"):
            await conn.rpc("no_such_module", "f", [1])

        with pytest.raises(RemoteException, match="bye"):
            await conn.rpc("erlang", "exit", [Atom("bye")])

        # a function that returns {badrpc, _} itself (thrown values are returned as-is)
        with pytest.raises(BadRpc) as bad:
            await conn.rpc("erlang", "throw", [(Atom("badrpc"), Atom("nope"))])
        assert type(bad.value) is BadRpc and bad.value.reason == Atom("nope")

        assert await conn.rpc("erlang", "node", []) == Atom(server.name)  # still usable

    with_conn(server, body)


def test_unencodable_argument_fails_only_that_call(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        for bad in (object(), float("nan"), Pid(Atom("x@y"), -1, 0, 0)):
            with pytest.raises(EncodeError):
                await conn.rpc("lists", "nth", [1, [bad]])
        assert conn.pending_calls == 0
        assert await conn.rpc("erlang", "node", []) == Atom(server.name)

    with_conn(server, body)


def test_undecodable_reply_fails_only_that_call(server: LiveNode) -> None:
    """The node sends a reply nested deeper than our decoder allows (256 levels): that call
    fails with DecodeError; calls in flight around it and the connection carry on."""
    depth = 300
    deep = b"\x83" + b"l\x00\x00\x00\x01" * depth + b"j" + b"j" * depth  # [[[...]]]

    async def body(conn: Connection) -> None:
        slow = asyncio.ensure_future(conn.rpc("timer", "sleep", [300]))
        before = asyncio.ensure_future(conn.rpc("erlang", "node", []))
        with pytest.raises(DecodeError, match="nested deeper than 256"):
            await conn.rpc("erlang", "binary_to_term", [deep])
        assert await before == Atom(server.name)
        assert await slow == Atom("ok")
        assert not conn.closed and conn.pending_calls == 0
        assert await conn.rpc("erlang", "length", [[1, 2]]) == 2

    with_conn(server, body)


def test_map_keys_python_cannot_hold_as_they_are(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        map_key = MapKey({Atom("a"): [Atom("b")]})
        pairs = [(map_key, Atom("map")), (1, Atom("int")),
                 (1.0, Atom("float")), (True, Atom("bool")), ((1,), 1), ((1.0,), 2),
                 ([], 3), ((), 4)]
        got = await conn.rpc("maps", "from_list", [pairs])
        assert got == {MapKey({Atom("a"): ListKey([Atom("b")])}): Atom("map"), 1: Atom("int"),
                       FloatKey(1.0): Atom("float"), Atom("true"): Atom("bool"),
                       (1,): 1, (FloatKey(1.0),): 2, ListKey([]): 3, (): 4}
        assert await conn.rpc("maps", "size", [got]) == 8
        assert await conn.rpc(Atom("lists"), Atom("nth"), [1, [got]]) == got
        assert await conn.rpc("maps", "get", [map_key, got]) == Atom("map")
        assert await conn.rpc("maps", "get", [FloatKey(1.0), got]) == Atom("float")

    with_conn(server, body)


def test_call_timeout_keeps_the_connection_usable(server: LiveNode) -> None:
    async def body(conn: Connection) -> None:
        with pytest.raises(CallTimeout, match="timer:sleep/1"):
            await conn.rpc("timer", "sleep", [1500], timeout=0.3)
        assert await conn.rpc("erlang", "node", []) == Atom(server.name)
        assert conn.pending_calls == 0
        await asyncio.sleep(1.5)  # the late reply arrives and is dropped
        assert await conn.rpc("erlang", "node", []) == Atom(server.name)
        assert not conn.closed

    with_conn(server, body)


def test_close_fails_pending_calls(server: LiveNode) -> None:
    async def main() -> None:
        conn = await open_conn(server)
        call = asyncio.ensure_future(conn.rpc("timer", "sleep", [10_000], timeout=30))
        await asyncio.sleep(0.2)
        await conn.close()
        with pytest.raises(ConnectionLost):
            await call
        assert conn.closed
        with pytest.raises(ConnectionLost):
            await conn.rpc("erlang", "node", [])

    asyncio.run(main())


# --------------------------------------------------------------------------- own nodes

@release_param
def test_long_names(release: str) -> None:
    with erlvm.private_node(release, long=True) as node:
        async def body(conn: Connection) -> None:
            assert "." in conn.node_name.split("@")[1]  # our name copies the long style
            assert await conn.rpc("erlang", "node", []) == Atom(node.name)
            assert Atom(conn.node_name) in await conn.rpc("erlang", "nodes", [Atom("hidden")])

        with_conn(node, body)


@release_param
def test_idle_connection_survives_a_short_net_ticktime(release: str) -> None:
    """net_ticktime 4: the node ticks every second and drops a peer it has not heard from for
    ~4 s. Our own tick_interval stays at its default (15 s): answering the node's ticks is what
    keeps the connection."""
    with erlvm.private_node(release, extra=["-kernel", "net_ticktime", "4"]) as node:
        async def body(conn: Connection) -> None:
            assert await conn.rpc("net_kernel", "get_net_ticktime", []) == 4
            await asyncio.sleep(12)  # three net_ticktime periods without a call
            assert not conn.closed
            assert await conn.rpc("erlang", "node", []) == Atom(node.name)
            assert Atom(conn.node_name) in await conn.rpc("erlang", "nodes", [Atom("hidden")])

        with_conn(node, body)


@release_param
def test_killed_server_fails_pending_calls_promptly(release: str) -> None:
    with erlvm.private_node(release) as node:
        async def body(conn: Connection) -> None:
            calls = [asyncio.ensure_future(conn.rpc("timer", "sleep", [30_000], timeout=60))
                     for _ in range(3)]
            await asyncio.sleep(0.5)
            assert conn.pending_calls == 3
            t0 = time.monotonic()
            await asyncio.to_thread(node.kill)  # SIGKILL the VM mid-call
            for call in calls:
                with pytest.raises(ConnectionLost):
                    await call
            assert time.monotonic() - t0 < 5
            assert conn.closed
            with pytest.raises(ConnectionLost):
                await conn.rpc("erlang", "node", [])

        with_conn(node, body)
