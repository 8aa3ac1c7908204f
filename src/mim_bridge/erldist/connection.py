"""The asyncio layer: sockets, the reader task, ticks, and pipelined RPC calls.

Everything protocol-shaped is delegated to the pure modules (:mod:`.epmd`, :mod:`.handshake`,
:mod:`.messages`, :mod:`.etf`); this module only moves bytes and keeps time.

A reply that does not decode fails only its own call, with :class:`DecodeError`; a frame that
breaks the protocol closes the connection (see :mod:`.messages`).

RPC uses the server's ``rex`` gen_server (frames built by :mod:`.rex`). rex runs every call in
its own process, so any number of calls can be in flight; replies are matched by the unique
``Ref``.

Memory: the channel charges what the node sends to the connection's budget
(:mod:`.budget`, *max_reply_memory*); this layer returns a reply's share when no call is in
flight any more, so the replies of one pipelined wave are counted together. Bytes are received
into one fixed buffer (:class:`_Receiver`, a buffered protocol) and handed to the sans-I/O layer
from there: no allocation per read, which on a flood of fragments kept the process's resident
memory a third above what it actually held (glibc could not reuse the holes left by 256 KiB
read buffers between long-lived fragments).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from mim_bridge.erldist import epmd, nodename
from mim_bridge.erldist import flags as F
from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY, MemoryBudget
from mim_bridge.erldist.errors import (
    CallTimeout,
    ConnectError,
    ConnectionLost,
    ConnectionRefused,
    ConnectTimeout,
    DecodeError,
    ErldistError,
    HandshakeRefused,
    LocalError,
    TlsError,
)
from mim_bridge.erldist.handshake import ClientHandshake, Peer, State
from mim_bridge.erldist.messages import (
    NO_PAYLOAD,
    REG_SEND,
    SEND,
    TICK,
    TICK_FRAME,
    UNLINK_ID,
    UNLINK_ID_ACK,
    BadPayload,
    Channel,
    Message,
)
from mim_bridge.erldist.rex import GEN_CALL, RexRequests, check_reply
from mim_bridge.erldist.terms import Atom, Pid, Reference

log = logging.getLogger(__name__)

_NET_KERNEL = Atom("net_kernel")
# The receive buffer, and what the read side holds outside the channel's own accounting (the
# buffer, and the channel's unparsed tail below a frame's size): charged for the connection's life.
READ_CHUNK = 256 * 1024
READ_BUFFERS = 2 * READ_CHUNK


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """Client side of ``-proto_dist inet_tls``: our certificate and key, and the CA that signed
    the node's."""

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    verify: bool = True
    server_hostname: str | None = None  # check the node's certificate against this name

    def context(self) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
            # Erlang distribution certificates are usually issued for node host names that do
            # not match what we dial; the CA check still applies unless verify is off.
            ctx.check_hostname = bool(self.server_hostname) and self.verify
            if not self.verify:
                ctx.verify_mode = ssl.CERT_NONE
            if self.certfile:
                ctx.load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as e:
            raise TlsError(f"cannot load TLS distribution files: {e}") from e
        return ctx


def read_cookie(path: str | os.PathLike[str] | None = None) -> str:
    """The cookie from *path* or ``~/.erlang.cookie`` (first line, surrounding space stripped)."""
    p = Path(path) if path else Path.home() / ".erlang.cookie"
    try:
        return p.read_text(encoding="latin-1").strip()
    except OSError as e:
        raise LocalError(f"cannot read the cookie file {p}: {e.strerror or e}") from e


class _Receiver(asyncio.BufferedProtocol):
    """The socket's side: received bytes go into one fixed buffer and are handed on as a
    view of it (consumers copy what they keep); end of stream and errors are reported once."""

    def __init__(self) -> None:
        self._view = memoryview(bytearray(READ_CHUNK))
        self.transport: asyncio.Transport | None = None
        self.on_data: Callable[[memoryview], None] = _ignore_data
        self.on_lost: Callable[[BaseException | None], None] = _ignore_lost
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.on_data(self._view[:nbytes])

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self.on_lost(exc)


def _ignore_data(data: memoryview) -> None:
    pass


def _ignore_lost(exc: BaseException | None) -> None:
    pass


class Connection:
    """A hidden connection to one Erlang node. Create it with :func:`connect`.

    *receiver* must be reading-paused with the bytes received after the handshake already in
    *channel*; the connection takes over from there.
    """

    def __init__(self, receiver: _Receiver, *, own: nodename.NodeName, peer: Peer,
                 creation: int, channel: Channel, tick_interval: float,
                 net_ticktime: float) -> None:
        assert receiver.transport is not None
        self._receiver = receiver
        self._transport = receiver.transport
        self.node_name = str(own)
        self.peer = peer
        self._channel = channel
        self._node_atom = Atom(self.node_name)
        self._creation = creation
        self.pid = Pid(self._node_atom, 1, 0, creation)
        self._ref_counter = itertools.count(1)
        self._pending: dict[Reference, asyncio.Future[Any]] = {}
        self._closed: ErldistError | None = None
        self._tick_interval = tick_interval
        self._net_ticktime = net_ticktime
        self._last_recv = time.monotonic()
        self._last_send = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self._wbuf: list[bytes] = []
        self._flush_pending = False
        self._rex = RexRequests(channel, self.pid)
        self._held = 0  # budget held by delivered replies until no call is in flight
        receiver.on_data = self._data_received
        receiver.on_lost = self._connection_lost
        self._tick_task = asyncio.create_task(self._tick_loop(), name="erldist-ticker")
        if receiver.lost.done():
            self._connection_lost(None)
        else:
            self._loop.call_soon(self._data_received, memoryview(b""))  # the handshake's rest
            self._transport.resume_reading()

    @property
    def transport(self) -> asyncio.Transport:
        """The socket's transport (``get_extra_info("ssl_object")`` over TLS)."""
        return self._transport

    # ------------------------------------------------------------------ public API
    @property
    def peer_name(self) -> str:
        return self.peer.name

    @property
    def closed(self) -> bool:
        return self._closed is not None

    @property
    def pending_calls(self) -> int:
        return len(self._pending)

    @property
    def budget(self) -> MemoryBudget:
        """The connection's memory budget (what the node's replies may hold)."""
        return self._channel.budget

    def new_ref(self) -> Reference:
        n = next(self._ref_counter)
        return Reference(self._node_atom, self._creation,
                         (n & 0x3FFFF, (n >> 18) & 0xFFFFFFFF, n >> 50))

    async def rpc(self, module: str | Atom, function: str | Atom, args: Sequence[Any] = (),
                  timeout: float | None = 10.0) -> Any:
        """Call ``module:function(*args)`` on the node and return its decoded result.

        Raises :class:`BadRpc` / :class:`RemoteException` for ``{badrpc, Reason}``,
        :class:`CallTimeout` after *timeout* seconds, :class:`ConnectionLost` if the link dies.
        """
        fut = self.send_call(module, function, args)
        return await self.wait_reply(fut, module, function, len(args), timeout)

    def send_call(self, module: str | Atom, function: str | Atom,
                  args: Sequence[Any] = ()) -> asyncio.Future[Any]:
        """Put one call on the wire now and return the future of its raw reply.

        Lets a caller send a whole wave of calls before awaiting any of them.
        """
        if self._closed is not None:
            raise ConnectionLost(str(self._closed))
        m = module if isinstance(module, Atom) else Atom(module)
        f = function if isinstance(function, Atom) else Atom(function)
        ref = self.new_ref()
        frame = self._call_frame(m, f, args, ref)
        fut: asyncio.Future[Any] = self._loop.create_future()
        fut.add_done_callback(functools.partial(self._forget, ref))
        self._pending[ref] = fut
        self._write(frame)
        return fut

    def _forget(self, ref: Reference, _fut: asyncio.Future[Any]) -> None:
        self._pending.pop(ref, None)
        if not self._pending and self._held:
            self._channel.release(self._held)
            self._held = 0

    def _call_frame(self, m: Atom, f: Atom, args: Sequence[Any], ref: Reference) -> bytes:
        return self._rex.frame(m, f, args, ref)

    async def wait_reply(self, fut: asyncio.Future[Any], module: Any, function: Any,
                         arity: int, timeout: float | None) -> Any:
        """Await a future from :meth:`send_call` and turn ``{badrpc, _}`` into errors."""
        if timeout is None:
            reply = await fut
        else:
            timer = self._loop.call_later(timeout, _expire, fut)
            try:
                reply = await fut
            except _Expired:
                raise CallTimeout(
                    f"{module}:{function}/{arity} on {self.peer.name} did not answer within "
                    f"{timeout:g} s") from None
            finally:
                timer.cancel()
        return check_reply(reply, module, function, arity)

    async def close(self) -> None:
        """Close the connection; pending calls fail with :class:`ConnectionLost`."""
        self._shutdown(ConnectionLost("connection closed by the bridge"))
        self._tick_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._tick_task
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self._receiver.lost

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ internals
    def _write(self, data: bytes) -> None:
        # An idle connection sends at once (low latency for a lone call); frames that follow
        # in the same loop iteration are coalesced into one send() (a wave of 1,000 calls is
        # two syscalls, not 1,000).
        if self._flush_pending:
            self._wbuf.append(data)
            return
        self._flush_pending = True
        self._loop.call_soon(self._flush)
        self._send_now(data)

    def _flush(self) -> None:
        self._flush_pending = False
        if self._wbuf:
            data, self._wbuf = b"".join(self._wbuf), []
            self._send_now(data)

    def _send_now(self, data: bytes) -> None:
        if self._closed is None:
            self._transport.write(data)
            self._last_send = time.monotonic()

    def _shutdown(self, error: ErldistError) -> None:
        if self._closed is not None:
            return
        self._closed = error
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(ConnectionLost(str(error)))
        self._receiver.on_data = _ignore_data
        with contextlib.suppress(Exception):
            self._transport.close()

    def _data_received(self, data: memoryview) -> None:
        """Bytes from the node: decode and dispatch every complete event now."""
        if self._closed is not None:
            return
        self._last_recv = time.monotonic()
        channel = self._channel
        try:
            channel.receive_data(data)
            while (event := channel.next_event()) is not None:
                if event is TICK:
                    # The node ticks only after a quarter of *its* net_ticktime without
                    # sending, and drops us after a whole one without hearing from us:
                    # answering every tick keeps us alive whatever its net_ticktime (our
                    # tick_interval may be longer). Nodes never answer ticks: no ping-pong.
                    self._write(TICK_FRAME)
                else:
                    assert isinstance(event, Message)
                    self._dispatch(event)
        except ErldistError as e:
            if isinstance(e, DecodeError):
                log.error("closing connection to %s: %s", self.peer.name, e)
            self._shutdown(ConnectionLost(f"connection to {self.peer.name} dropped: {e}"))
        except Exception as e:  # a bug here must not leave pending calls waiting forever
            log.exception("erldist reader for %s failed", self.peer.name)
            self._shutdown(ConnectionLost(f"connection to {self.peer.name} failed: {e!r}"))

    def _connection_lost(self, exc: BaseException | None) -> None:
        if exc is None:
            self._shutdown(ConnectionLost(f"{self.peer.name} closed the connection"))
        else:
            self._shutdown(ConnectionLost(f"connection to {self.peer.name} failed: {exc}"))

    def _dispatch(self, msg: Message) -> None:
        payload = msg.payload
        if type(payload) is BadPayload:
            self._bad_payload(msg, payload)
            return
        if (payload is not NO_PAYLOAD and type(payload) is tuple and len(payload) == 2
                and type(payload[0]) is Reference):
            fut = self._pending.get(payload[0])
            if fut is not None and not fut.done():
                self._held += msg.cost
                fut.set_result(payload[1])
                return
        self._channel.release(msg.cost)
        op = msg.op
        if op == UNLINK_ID and len(msg.control) == 4:
            _, ident, sender, to = msg.control
            self._write(self._channel.encode((UNLINK_ID_ACK, ident, to, sender)))
        elif op == REG_SEND and msg.recipient == _NET_KERNEL:
            self._answer_net_kernel(payload)
        else:
            log.debug("ignoring control message %s from %s", op, self.peer.name)

    def _bad_payload(self, msg: Message, bad: BadPayload) -> None:
        """A message whose term did not decode: fail the call it answers, if any; carry on."""
        self._channel.release(msg.cost)
        fut = self._pending.get(bad.ref) if bad.ref is not None else None
        if fut is not None and not fut.done():
            log.warning("a reply from %s does not decode, failing that call: %s",
                        self.peer.name, bad.error)
            fut.set_exception(bad.error)
        else:
            log.warning("dropping a message (operation %s) from %s: %s", msg.op, self.peer.name,
                        bad.error)

    def _answer_net_kernel(self, payload: Any) -> None:
        # net_adm:ping/1 asks net_kernel {is_auth, Node}; answering 'yes' keeps pings working.
        if (type(payload) is tuple and len(payload) == 3 and payload[0] == GEN_CALL
                and type(payload[1]) is tuple and len(payload[1]) == 2):
            from_pid, tag = payload[1]
            if isinstance(from_pid, Pid):
                self._write(self._channel.encode((SEND, Atom(""), from_pid),
                                                 (tag, Atom("yes"))))

    async def _tick_loop(self) -> None:
        interval = self._tick_interval
        while True:
            await asyncio.sleep(min(interval, 1.0))
            now = time.monotonic()
            if now - self._last_recv > self._net_ticktime:
                self._shutdown(ConnectionLost(
                    f"{self.peer.name} sent nothing for {self._net_ticktime:g} s (net_ticktime)"))
                return
            if now - self._last_send >= interval:
                try:
                    self._write(TICK_FRAME)
                except (OSError, RuntimeError) as e:
                    self._shutdown(ConnectionLost(f"cannot send tick: {e}"))
                    return


class _Expired(Exception):
    """Internal: a call's timer fired before its reply arrived."""


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(_Expired())


async def connect(node: str, cookie: str | None = None, *, timeout: float = 5.0,
                  name: str | None = None, tls: TlsOptions | None = None,
                  epmd_port: int | None = None, tick_interval: float = 15.0,
                  net_ticktime: float = 60.0, version: int | None = None,
                  replace_alive: bool = False,
                  max_reply_memory: int = DEFAULT_MAX_REPLY_MEMORY) -> Connection:
    """Open a hidden distribution connection to *node* (``name@host``).

    *cookie* defaults to ``~/.erlang.cookie``. *name* is the bridge's own node name (or just its
    part before ``@``); by default a unique name in the target's short/long style, which, like
    every node name that connects, stays in the node's atom table for good: give a stable one
    to anything that connects often. *tls* enables
    TLS distribution. Ticks go out every *tick_interval* s of silence; the connection is declared
    dead after *net_ticktime* s without a byte from the node.

    *replace_alive*: if the node still holds a connection under our name, replace it (True:
    the caller knows no other live process can use this name) or fail with
    :class:`NameInUse` (False). *max_reply_memory*: the connection's memory budget in bytes
    (:mod:`.budget`).
    """
    target = nodename.parse(node)
    own = nodename.parse(name) if name and "@" in name else nodename.own_name(target, name)
    if cookie is None:
        cookie = read_cookie()
    budget = MemoryBudget(max_reply_memory)
    budget.charge(READ_BUFFERS, "the connection's read buffers")
    host = nodename.host_for_connect(target)
    deadline = time.monotonic() + timeout
    info = await epmd.lookup(target.alive, host, epmd_port, timeout)
    dist_version = version or (6 if info.highest_version >= 6 else 5)
    remaining = max(deadline - time.monotonic(), 0.01)
    ssl_ctx = tls.context() if tls else None
    loop = asyncio.get_running_loop()
    receiver = _Receiver()
    hs = ClientHandshake(str(own), cookie, version=dist_version, packet_size=4 if tls else 2,
                         replace_alive=replace_alive)
    try:
        async with asyncio.timeout(remaining):
            try:
                await loop.create_connection(
                    lambda: receiver, host, info.port, ssl=ssl_ctx,
                    server_hostname=(tls.server_hostname or host) if tls else None)
            except ssl.SSLError as e:
                raise TlsError(f"TLS distribution handshake with {node} failed: "
                               f"{e.reason or e}") from e
            except ConnectionRefusedError as e:
                raise ConnectionRefused(
                    f"{node} refused the connection on port {info.port}: the node may be "
                    f"restarting or a firewall blocks its distribution port") from e
            except OSError as e:
                raise ConnectionRefused(
                    f"cannot connect to {node} on {host}:{info.port}: {e.strerror or e}") from e
            transport = receiver.transport
            assert transport is not None
            try:
                await _handshake(hs, receiver, transport, node)
            except BaseException:
                transport.close()
                raise
    except TimeoutError as e:
        raise ConnectTimeout(
            f"no complete handshake with {node} within {timeout:g} s") from e
    peer = hs.peer
    if peer is None:  # CONNECTED always has a peer; a typed error rather than an assert
        transport.close()
        raise HandshakeRefused(f"the handshake with {node} ended without the node's name")
    channel = Channel(atom_cache_header=bool(peer.flags & F.DIST_HDR_ATOM_CACHE), budget=budget)
    channel.receive_data(hs.rest)
    return Connection(receiver, own=own, peer=peer, creation=hs.creation, channel=channel,
                      tick_interval=tick_interval, net_ticktime=net_ticktime)


async def _handshake(hs: ClientHandshake, receiver: _Receiver, transport: asyncio.Transport,
                     node: str) -> None:
    """Drive *hs* over *transport* until CONNECTED (then reading is paused) or its error."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_data(data: memoryview) -> None:
        if done.done():
            return
        try:
            out = hs.receive(data)
        except ErldistError as e:
            done.set_exception(e)
            return
        if out:
            transport.write(out)
        if hs.failure is not None:
            done.set_exception(hs.failure)  # our 'false' is written first: a clean close
        elif hs.state is State.CONNECTED:
            transport.pause_reading()  # until the Connection takes over
            done.set_result(None)

    def on_lost(exc: BaseException | None) -> None:
        if done.done():
            return
        if isinstance(exc, ssl.SSLError):
            # TLS 1.3: the node checks our certificate after the TLS handshake and its
            # alert arrives here, not in create_connection
            done.set_exception(TlsError(f"TLS distribution with {node} failed: "
                                        f"{exc.reason or exc}"))
        else:
            done.set_exception(hs.connection_closed())

    receiver.on_data, receiver.on_lost = on_data, on_lost
    transport.write(hs.start())
    try:
        await done
    finally:
        receiver.on_data, receiver.on_lost = _ignore_data, _ignore_lost


__all__ = ["ConnectError", "Connection", "TlsOptions", "check_reply", "connect", "read_cookie"]
