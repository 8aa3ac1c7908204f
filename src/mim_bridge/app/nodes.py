"""The bridge's distribution connections: one per node, reused across reports, redialled with backoff.

The collector asks for a node by name (:meth:`NodePool.get`); the pool hands out the open
connection, or dials a new one when there is none or it died (the node restarted, the network
dropped, ``net_ticktime`` expired). A node that failed is not dialled again before its backoff
expires (exponential with jitter, capped so that every report still retries it); until then
:meth:`get` fails at once with the last error, so the collector moves on to the next ``--node``
without waiting for a timeout. Every connection uses the same hidden node name, as one Erlang
node would: the cluster sees one bridge, not one per connection.

The bridge's node name (:class:`Identity`). Every distinct node name that ever connects becomes a
permanent atom on the node (atoms are never collected), so the name is stable per installation:
``mim_metrics_bridge_<10 hex>``, kept in ``STATE_DIR/node_name`` (random when first written, so
that two installations never share a name even with the same path and host name; derived from
the resolved state directory and the host name when the file cannot be written). The modes that
write state hold the state directory's lock (:mod:`mim_bridge.app.statelock`) and use that name;
so does a read-only mode (``--check``, ``--dry-run``, ``--validate``) when nobody holds the lock,
and it uses the second stable name ``<name>_check`` when a bridge holds it (runs beside the
service without kicking its connection). A node that still holds a connection under our name
(handshake status ``alive``) gets ``true`` (replace it) only from the holder of the lock with the
name derived from its state directory: only its own dead predecessor can have used that name.
Anyone else answers ``false`` and fails with :class:`~mim_bridge.erldist.NameInUse`.
``--sname``/``--name`` override the name, and then nobody can prove the name is theirs.

Two bridges on one cluster report it twice: after each new connection of a sending mode the pool
reads the node's ``nodes(hidden)`` and warns once about every other bridge-like name there.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mim_bridge.app import statelock
from mim_bridge.collect import Call, ReadOnlyNode
from mim_bridge.erldist import Atom, ConnectError, Connection, ErldistError, TlsOptions, connect
from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY

__all__ = ["BRIDGE_PREFIX", "CHECK_SUFFIX", "NODE_NAME_FILE", "Dialer", "Identity", "NodePool",
           "bridge_alive_name", "identity_for", "is_other_bridge", "second_name"]

log = logging.getLogger(__name__)

BACKOFF_START = 0.5
BRIDGE_PREFIX = "mim_metrics_bridge_"
CHECK_SUFFIX = "_check"
NODE_NAME_FILE = "node_name"
_OWN_NAME = re.compile(r"^mim_metrics_bridge_[0-9a-f]{10}$")
# Our names, and those of bridge versions that picked a random name per run.
_BRIDGE_LIKE = re.compile(r"^(mim_metrics_bridge_[0-9a-f]{10}|mim_bridge_[0-9a-f]{12})@")


@dataclass(frozen=True, slots=True)
class Identity:
    """The bridge's node name for one run (``alive`` or ``alive@host``), and whether this
    process owns it: then a connection the node still holds under it is a dead predecessor's,
    and the handshake replaces it (status ``alive`` answered ``true``)."""

    name: str
    owned: bool


def bridge_alive_name(state_dir: Path) -> str:
    """This installation's stable alive name, from ``STATE_DIR/node_name``.

    A missing file is written (atomically, first writer wins, no lock needed); when the file
    cannot be read or written, the name is derived from the resolved state directory and the
    host name instead, which is stable too.
    """
    path = state_dir / NODE_NAME_FILE
    try:
        name = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        name = _create_name(path)
    except (OSError, UnicodeDecodeError) as e:
        log.debug("cannot read %s (%s); using the derived node name", path, e)
        name = ""
    if _OWN_NAME.match(name):
        return name
    if name:
        log.warning("%s does not hold a bridge node name; using one derived from the state "
                    "directory (delete the file to get a new one)", path)
    return _derived_name(state_dir)


def _create_name(path: Path) -> str:
    name = BRIDGE_PREFIX + secrets.token_hex(5)
    tmp = path.with_name(f".{NODE_NAME_FILE}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(name + "\n", encoding="ascii")
        try:
            os.link(tmp, path)  # fails if another process wrote it first: then theirs counts
        except FileExistsError:
            name = path.read_text(encoding="ascii").strip()
        finally:
            tmp.unlink()
    except OSError as e:
        log.debug("cannot write %s (%s); using the derived node name", path, e)
        return ""
    return name


def _derived_name(state_dir: Path) -> str:
    seed = f"{state_dir.resolve()}\0{socket.gethostname()}".encode()
    return BRIDGE_PREFIX + hashlib.sha256(seed).hexdigest()[:10]


def second_name(name: str) -> str:
    """The other stable name, for a read-only run beside a bridge that holds the lock."""
    alive, at, host = name.partition("@")
    return alive[:255 - len(CHECK_SUFFIX)] + CHECK_SUFFIX + at + host


def identity_for(own_name: str | None, state_dir: Path,
                 lock: statelock.StateLock | None) -> Identity:
    """The node name of this run: *lock* is the state directory's lock if this run holds it
    (the sending modes), None for the read-only ones. *own_name*: ``--sname``/``--name``."""
    if lock is not None and lock.held:
        if own_name:
            return Identity(own_name, owned=False)
        return Identity(bridge_alive_name(state_dir), owned=True)
    name = own_name or bridge_alive_name(state_dir)
    if statelock.held_by_other(state_dir):
        name = second_name(name)
    return Identity(name, owned=False)


def is_other_bridge(node: str, ours: str) -> bool:
    """Is *node* (from ``nodes(hidden)``) a bridge other than this installation (and not a
    ``--check``, which comes and goes)? *ours*: our full node name (perhaps the second one)."""
    alive, _, host = node.partition("@")
    our_alive, _, our_host = ours.partition("@")
    if alive.endswith(CHECK_SUFFIX):
        return False
    if host == our_host and alive == our_alive.removesuffix(CHECK_SUFFIX):
        return False  # ourselves, or the service beside which this --check runs
    return _BRIDGE_LIKE.match(node) is not None


class Dialer(Protocol):
    def __call__(self, node: str) -> Awaitable[Connection]: ...


@dataclass
class _Failure:
    attempts: int
    retry_at: float
    error: BaseException


class NodePool:
    """Open connections by node name, with per-node backoff after failed dials."""

    def __init__(self, dial: Dialer, *, max_backoff: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dial = dial
        self._max_backoff = max(max_backoff, BACKOFF_START)
        self._clock = clock
        self._conns: dict[str, Connection] = {}
        self._failures: dict[str, _Failure] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def for_erlang(cls, cookie: str, *, identity: Identity, tls: TlsOptions | None,
                   epmd_port: int | None, connect_timeout: float, net_ticktime: float,
                   max_backoff: float, max_reply_memory: int = DEFAULT_MAX_REPLY_MEMORY,
                   warn_other_bridges: bool = False, call_timeout: float = 10.0) -> NodePool:
        """A pool that dials real nodes with :func:`mim_bridge.erldist.connect`.

        *warn_other_bridges*: after each new connection, look for other bridges connected to
        the node (the sending modes; see the module docstring).
        """
        warned: set[str] = set()

        async def dial(node: str) -> Connection:
            # Erlang sends ticks every net_ticktime/4 and gives up after net_ticktime.
            conn = await connect(node, cookie, timeout=connect_timeout, name=identity.name,
                                 tls=tls, epmd_port=epmd_port, tick_interval=net_ticktime / 4,
                                 net_ticktime=net_ticktime, replace_alive=identity.owned,
                                 max_reply_memory=max_reply_memory)
            if warn_other_bridges:
                await _warn_about_other_bridges(conn, warned, min(call_timeout, 5.0))
            return conn

        return cls(dial, max_backoff=max_backoff)

    @property
    def open_count(self) -> int:
        return sum(1 for c in self._conns.values() if not c.closed)

    async def get(self, node: str) -> Connection:
        """The open connection to *node*, dialling it if needed (raises the dial's error)."""
        conn = self._conns.get(node)
        if conn is not None and not conn.closed:
            return conn
        lock = self._locks.setdefault(node, asyncio.Lock())
        async with lock:
            conn = self._conns.get(node)
            if conn is not None:
                if not conn.closed:
                    return conn
                del self._conns[node]
                log.warning("connection to %s was lost; reconnecting", node)
                await conn.close()
            failure = self._failures.get(node)
            if failure is not None and self._clock() < failure.retry_at:
                raise failure.error.with_traceback(None)
            try:
                conn = await self._dial(node)
            except (ConnectError, OSError) as e:
                self._record_failure(node, failure, e)
                raise
            if failure is not None:
                log.info("reconnected to %s", node)
            self._failures.pop(node, None)
            self._conns[node] = conn
            return conn

    def order(self, seeds: Sequence[str]) -> list[str]:
        """*seeds* with the ones likely to answer first: connected, then due, then backing off."""
        now = self._clock()

        def rank(node: str) -> tuple[int, float]:
            conn = self._conns.get(node)
            if conn is not None and not conn.closed:
                return 0, 0.0
            failure = self._failures.get(node)
            if failure is None or failure.retry_at <= now:
                return 1, 0.0
            return 2, failure.retry_at

        return sorted(seeds, key=rank)

    async def keep_only(self, nodes: Iterable[str]) -> None:
        """Close connections to nodes that are no longer seeds nor cluster members."""
        keep = set(nodes)
        for node in [n for n in self._conns if n not in keep]:
            log.info("%s is no longer in the cluster; closing its connection", node)
            await self._conns.pop(node).close()
        for node in [n for n in self._failures if n not in keep]:
            del self._failures[node]
        for node in [n for n in self._locks if n not in keep and not self._locks[n].locked()]:
            del self._locks[node]

    async def close(self) -> None:
        conns, self._conns = self._conns, {}
        await asyncio.gather(*(c.close() for c in conns.values()), return_exceptions=True)

    def _record_failure(self, node: str, previous: _Failure | None, error: BaseException) -> None:
        attempts = previous.attempts + 1 if previous else 1
        high = min(self._max_backoff, BACKOFF_START * 2 ** (attempts - 1))
        delay = random.uniform(high / 2, high)
        self._failures[node] = _Failure(attempts, self._clock() + delay, error)
        if previous is None:
            log.debug("cannot connect to %s: %s", node, error)


async def _warn_about_other_bridges(conn: Connection, warned: set[str], timeout: float) -> None:
    """Log once per name every other bridge in the node's ``nodes(hidden)``; never fails.

    The call goes through the collector's read-only allowlist (``erlang:nodes/1`` is on it).
    """
    try:
        hidden = await ReadOnlyNode(conn, timeout).call(
            Call("erlang", "nodes", (Atom("hidden"),)))
    except (TimeoutError, ErldistError, OSError) as e:
        log.debug("cannot list the hidden nodes of %s: %s", conn.peer_name, e)
        return
    if not isinstance(hidden, list):
        log.debug("cannot list the hidden nodes of %s: %s", conn.peer_name, hidden)
        return
    for node in hidden:
        name = str(node)
        if isinstance(node, Atom) and name not in warned and is_other_bridge(
                name, conn.node_name):
            warned.add(name)
            log.warning("another bridge, %s, is connected to %s: two bridges report the same "
                        "cluster twice (double counting in GA4); check that only one "
                        "mim-metrics-bridge runs for this cluster, or that the other one is "
                        "an old instance that will go away", name, conn.peer_name)
