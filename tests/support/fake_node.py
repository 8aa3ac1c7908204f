"""A fake Erlang node on loopback: its own EPMD and just enough of the distribution protocol.

It plays the node's side the way a hostile (or odd) peer could: the handshake with a chosen
status (``ok``, or ``alive`` to see what the bridge answers), then every ``rex`` call is answered
by a *responder* that returns raw frames, so a test decides exactly which bytes the bridge gets
(zip bombs, endless fragment sequences, huge decoded terms). Real nodes are in ``tests/live``.

    with FakeNode("cookie", responder=zip_bombs) as node:
        node.name, node.epmd_port      # give these to the bridge (ERL_EPMD_PORT)

Threads and blocking sockets, so that it serves a bridge running in a subprocess as well as a
test's own event loop. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Self

import launcher
from mim_bridge.erldist import etf
from mim_bridge.erldist import flags as F
from mim_bridge.erldist.handshake import digest
from mim_bridge.erldist.messages import REG_SEND, SEND, Channel, Message
from mim_bridge.erldist.terms import Atom, Pid, Reference

MiB = 1 << 20
NODE_FLAGS = F.MANDATORY_25 | F.MANDATORY_25_DIGEST | F.FRAGMENTS | F.UNLINK_ID | F.V4_NC \
    | F.HANDSHAKE_23 | F.DIST_HDR_ATOM_CACHE | F.PUBLISHED

# (the bridge's pid, the call's ref, module, function, args) -> frames to send back
Responder = Callable[[Pid, Reference, str, str, list[Any]], Iterator[bytes]]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("peer closed")
        out += chunk
    return bytes(out)


def _packet(sock: socket.socket) -> bytes:
    (n,) = struct.unpack(">H", _recv_exact(sock, 2))
    return _recv_exact(sock, n)


def _send_packet(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def unversioned(value: Any) -> bytes:
    """A term without the version byte, as it follows a distribution header."""
    out = bytearray()
    etf.encode_into(value, out, versioned=False)
    return bytes(out)


def reply(pid: Pid, ref: Reference, value: Any) -> bytes:
    """An ordinary rex reply ``{Ref, Value}``."""
    return Channel().encode((SEND, Atom(""), pid), (ref, value))


@functools.cache
def _zeros(size: int) -> tuple[bytes, int]:
    """Raw deflate of *size* zero bytes (final block) and their Adler-32 from 1: made once."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, adler, chunk = [], 1, bytes(MiB)
    for start in range(0, size, MiB):
        piece = chunk[:size - start]
        parts.append(z.compress(piece))
        adler = zlib.adler32(piece, adler)
    parts.append(z.flush())
    return b"".join(parts), adler


def _adler_combine(a: int, b: int, b_len: int) -> int:
    """Adler-32 of A + B from adler(A), adler(B) (zlib's adler32_combine)."""
    mod = 65521
    a1, a2 = a & 0xFFFF, a >> 16
    b1, b2 = b & 0xFFFF, b >> 16
    s1 = (a1 + b1 - 1) % mod
    s2 = (a2 + b2 + (b_len % mod) * (a1 - 1)) % mod
    return (s2 << 16) | s1


def zip_bomb(pid: Pid, ref: Reference, size: int = 200 * MiB) -> bytes:
    """``{Ref, <<0:Size/unit:8>>}`` as one compressed term: ~200 KB on the wire for 200 MB.

    A zlib stream of the term's head (full flush: no back-references across it) followed by
    the zeros' deflate, built once; only the head and the checksum differ per call.
    """
    head = b"h\x02" + unversioned(ref) + b"m" + struct.pack(">I", size)
    zh = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflate_head = zh.compress(head) + zh.flush(zlib.Z_FULL_FLUSH)
    zeros, zeros_adler = _zeros(size)
    adler = _adler_combine(zlib.adler32(head), zeros_adler, size)
    stream = b"\x78\xda" + deflate_head + zeros + struct.pack(">I", adler)
    return frame(b"p" + etf.encode((SEND, Atom(""), pid)) + b"\x83P"
                 + struct.pack(">I", len(head) + size) + stream)


def endless_fragments(pid: Pid, ref: Reference, seq: int, fragments: int,
                      chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A reply that announces 2**20 fragments of a 1 GiB binary and sends only *fragments*."""
    first = (struct.pack(">BBQQ", 131, 69, seq, 2**20) + b"\x00"
             + unversioned((SEND, Atom(""), pid))
             + b"h\x02" + unversioned(ref) + b"m" + struct.pack(">I", 2**30))
    yield frame(first)
    data = bytes(chunk)
    for i in range(fragments):
        yield frame(struct.pack(">BBQQ", 131, 70, seq, 2**20 - 1 - i) + data)


def list_bomb(pid: Pid, ref: Reference, n: int = 2_000_000) -> bytes:
    """``{Ref, [[], [], ...]}``: n bytes on the wire, ~64 n bytes as Python lists."""
    payload = b"h\x02" + unversioned(ref) + b"l" + struct.pack(">I", n) + b"j" * (n + 1)
    return frame(b"\x83\x44\x00" + unversioned((SEND, Atom(""), pid)) + payload)


class FakeNode:
    """The node ``fake_<hex>@localhost`` behind its own EPMD; see the module docstring.

    *status*: what the handshake answers to our ``send_name`` (``alive`` records the bridge's
    answer in :attr:`alive_answers`). *responder*: frames for each rex call (default: every call
    gets ``{badrpc, nope}``). :attr:`names` holds the node names that connected, in order.
    """

    def __init__(self, cookie: str = "fake", *, status: str = "ok",
                 responder: Responder | None = None) -> None:
        self.cookie = cookie
        self.status = status
        self.responder = responder or (lambda pid, ref, *_: iter([reply(pid, ref, (
            Atom("badrpc"), Atom("nope")))]))
        self.alive = launcher.unique_name("fake")
        self.name = f"{self.alive}@localhost"
        self.names: list[str] = []
        self.alive_answers: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self._epmd = self._listen()
        self._dist = self._listen()
        self.epmd_port = self._epmd.getsockname()[1]
        self.port = self._dist.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, args=(s, h), daemon=True)
                         for s, h in ((self._epmd, self._epmd_answer),
                                      (self._dist, self._connection))]

    @staticmethod
    def _listen() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.settimeout(0.2)
        return s

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)
        self._epmd.close()
        self._dist.close()

    def _serve(self, listener: socket.socket, handle: Callable[[socket.socket], None]) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._guarded, args=(conn, handle), daemon=True).start()

    @staticmethod
    def _guarded(conn: socket.socket, handle: Callable[[socket.socket], None]) -> None:
        try:
            conn.settimeout(30)
            handle(conn)
        except (OSError, ConnectionError):
            pass  # the bridge hung up: that is its right
        finally:
            conn.close()

    def _epmd_answer(self, conn: socket.socket) -> None:
        _packet(conn)  # PORT_PLEASE2_REQ: there is only one node here
        name = self.alive.encode()
        conn.sendall(struct.pack(">BBHBBHHH", 119, 0, self.port, 77, 0, 6, 6, len(name))
                     + name + b"\x00\x00")

    def _connection(self, conn: socket.socket) -> None:
        send_name = _packet(conn)
        (nlen,) = struct.unpack_from(">H", send_name, 13)
        self.names.append(send_name[15:15 + nlen].decode())
        _send_packet(conn, b"s" + self.status.encode())
        if self.status == "alive":
            answer = _packet(conn)[1:].decode()
            self.alive_answers.append(answer)
            if answer != "true":
                return
        elif self.status != "ok":
            return
        challenge = 0x1234567
        name = self.name.encode()
        _send_packet(conn, struct.pack(">cQIIH", b"N", NODE_FLAGS, challenge, 1, len(name))
                     + name)
        their = _packet(conn)
        if their[5:21] != digest(self.cookie, challenge):
            return
        _send_packet(conn, b"a" + digest(self.cookie, struct.unpack(">I", their[1:5])[0]))
        self._traffic(conn)

    def _traffic(self, conn: socket.socket) -> None:
        channel = Channel()
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            channel.receive_data(data)
            while (event := channel.next_event()) is not None:
                if isinstance(event, Message):
                    channel.release(event.cost)
                    if event.op == REG_SEND:
                        self._call(conn, event.payload)

    def _call(self, conn: socket.socket, request: Any) -> None:
        # {'$gen_call', {Pid, Ref}, {call, M, F, Args, user}}
        _, (pid, ref), (_, module, function, args, _) = request
        self.calls.append((module.name, function.name))
        for data in self.responder(pid, ref, module.name, function.name, args):
            conn.sendall(data)
