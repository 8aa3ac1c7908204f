"""The bridge's node name (:class:`Identity`), and other bridges on the cluster.

Every connection uses the same hidden node name, as one Erlang node would: the cluster sees one
bridge, not one per connection. Every distinct node name that ever connects becomes a
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

import hashlib
import logging
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from mim_bridge.app import statelock
from mim_bridge.collect import Call, ReadOnlyNode
from mim_bridge.erldist import Atom, Connection, ErldistError
from mim_bridge.util.atomic_file import create_exclusively

__all__ = ["BRIDGE_PREFIX", "CHECK_SUFFIX", "NODE_NAME_FILE", "Identity", "bridge_alive_name",
           "identity_for", "is_other_bridge", "second_name", "warn_about_other_bridges"]

log = logging.getLogger(__name__)

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
    try:
        # the first writer wins: another process's name then counts
        if not create_exclusively(path, (name + "\n").encode("ascii")):
            name = path.read_text(encoding="ascii").strip()
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


async def warn_about_other_bridges(conn: Connection, warned: set[str], timeout: float) -> None:
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
