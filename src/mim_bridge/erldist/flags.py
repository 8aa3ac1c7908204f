"""Distribution capability flags (``dist.hrl``) and the set this client advertises.

We advertise exactly what we implement: the OTP 25 mandatory set (plus its digest bit 26), the two
flags OTP 26 made mandatory (``V4_NC``, ``UNLINK_ID``), fragments (we reassemble them) and the
distribution header with atom cache refs (we decode it). ``PUBLISHED`` is left unset, which is
what makes the connection hidden: the bridge shows up only in ``nodes(hidden)``.
"""

from __future__ import annotations

__all__ = ["ALIAS", "ATOM_CACHE", "BIG_CREATION", "BIG_SEQTRACE_LABELS", "BIT_BINARIES",
           "CLIENT_FLAGS", "DIST_HDR_ATOM_CACHE", "DIST_MONITOR", "DIST_MONITOR_NAME",
           "EXIT_PAYLOAD", "EXPORT_PTR_TAG", "EXTENDED_PIDS_PORTS", "EXTENDED_REFERENCES",
           "FRAGMENTS", "FUN_TAGS", "HANDSHAKE_23", "HIDDEN_ATOM_CACHE", "MANDATORY_25",
           "MANDATORY_25_DIGEST", "MAP_TAG", "NAME_ME", "NEW_FLOATS", "NEW_FUN_TAGS", "PUBLISHED",
           "REQUIRED_FROM_PEER", "SEND_SENDER", "SMALL_ATOM_TAGS", "SPAWN", "UNICODE_IO",
           "UNLINK_ID", "UTF8_ATOMS", "V4_NC", "describe"]

PUBLISHED = 0x01
ATOM_CACHE = 0x02
EXTENDED_REFERENCES = 0x04
DIST_MONITOR = 0x08
FUN_TAGS = 0x10
DIST_MONITOR_NAME = 0x20
HIDDEN_ATOM_CACHE = 0x40
NEW_FUN_TAGS = 0x80
EXTENDED_PIDS_PORTS = 0x100
EXPORT_PTR_TAG = 0x200
BIT_BINARIES = 0x400
NEW_FLOATS = 0x800
UNICODE_IO = 0x1000
DIST_HDR_ATOM_CACHE = 0x2000
SMALL_ATOM_TAGS = 0x4000
UTF8_ATOMS = 0x10000
MAP_TAG = 0x20000
BIG_CREATION = 0x40000
SEND_SENDER = 0x80000
BIG_SEQTRACE_LABELS = 0x100000
EXIT_PAYLOAD = 0x400000
FRAGMENTS = 0x800000
HANDSHAKE_23 = 0x1000000
UNLINK_ID = 0x2000000
MANDATORY_25_DIGEST = 0x4000000
SPAWN = 1 << 32
NAME_ME = 1 << 33
V4_NC = 1 << 34
ALIAS = 1 << 35

MANDATORY_25 = (EXTENDED_REFERENCES | FUN_TAGS | EXTENDED_PIDS_PORTS | UTF8_ATOMS | NEW_FUN_TAGS
                | BIG_CREATION | NEW_FLOATS | MAP_TAG | EXPORT_PTR_TAG | BIT_BINARIES
                | HANDSHAKE_23)

CLIENT_FLAGS = (MANDATORY_25 | MANDATORY_25_DIGEST | UNLINK_ID | V4_NC | DIST_MONITOR
                | DIST_MONITOR_NAME | SMALL_ATOM_TAGS | EXIT_PAYLOAD | SEND_SENDER
                | FRAGMENTS | DIST_HDR_ATOM_CACHE | UNICODE_IO)

# What the peer must offer for our encoder/decoder to be understood (an OTP 23+ node has all).
REQUIRED_FROM_PEER = (EXTENDED_REFERENCES | EXTENDED_PIDS_PORTS | UTF8_ATOMS | NEW_FLOATS
                      | MAP_TAG | BIG_CREATION | BIT_BINARIES)

_NAMES = {v: k for k, v in globals().items() if k.isupper() and isinstance(v, int)
          and v & (v - 1) == 0}


def describe(flags: int) -> str:
    """Human-readable list of flag names, for error messages."""
    names = [name for bit, name in sorted(_NAMES.items()) if flags & bit]
    return ", ".join(names) or "none"
