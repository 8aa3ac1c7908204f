"""The shapes of the free-form values MongooseIM reports: versions, uptimes, cluster ids.

A value of a known shape carries nothing private; anything else may (``git describe`` output can
end in a host name, a corrupted id can hold anything). The collector, the anonymity gate, the
GA4 sender and the state files all judge these values by the same patterns, kept here.
"""

from __future__ import annotations

import re

__all__ = ["API_VERSION_RE", "CLUSTER_ID_RE", "UNKNOWN_VERSION", "UPTIME_RE", "UUID_RE",
           "VERSION_PREFIX_RE", "VERSION_RE", "format_uptime", "release_of", "safe_version",
           "uptime_seconds", "valid_cluster_id"]

# MongooseIM's version is ``git describe`` output (``6.2.1``, ``6.2.1-17-g0abc123``) or a release
# candidate tag. A free-form suffix could name a company or a host, so only these shapes pass;
# any other suffix is cut off, keeping the leading X.Y.Z.
VERSION_RE = re.compile(
    r"^\d+\.\d+\.\d+(-\d+-g[0-9a-f]{4,40}|-?(rc|beta|alpha)\d{0,3})?(-dirty)?$")
VERSION_PREFIX_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
UNKNOWN_VERSION = "unknown"
UPTIME_RE = re.compile(r"^(\d{4})-(\d{2}):(\d{2}):(\d{2})$")
API_VERSION_RE = re.compile(r"^v\d{1,3}$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID_RE = re.compile(rf"^{_UUID}$")
# mongoose_cluster_id: a UUID, prefixed ``ephemeral-`` from 6.4 when it is not persisted.
CLUSTER_ID_RE = re.compile(rf"^(ephemeral-)?{_UUID}$")


def safe_version(value: object) -> str:
    """A MongooseIM version as it may be shown anywhere (logs included): a known shape, else
    only its X.Y.Z, else ``unknown``."""
    if not isinstance(value, str):
        return UNKNOWN_VERSION
    if VERSION_RE.fullmatch(value):
        return value
    prefix = VERSION_PREFIX_RE.match(value)
    return prefix.group(0) if prefix else UNKNOWN_VERSION


def release_of(version: str | None) -> tuple[int, int, int] | None:
    """``(X, Y, Z)`` of a version string, None if it does not start with one."""
    m = VERSION_PREFIX_RE.match(version or "")
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def format_uptime(ms: int) -> str:
    """``DDDD-HH:MM:SS``: ``calendar:seconds_to_daystime/1`` in MongooseIM's format."""
    days, rem = divmod(ms // 1000, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"{days:04d}-{h:02d}:{m:02d}:{s:02d}"


def uptime_seconds(text: object) -> int | None:
    """The inverse of :func:`format_uptime`, to the second; None for another shape."""
    m = UPTIME_RE.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    d, h, mi, s = map(int, m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def valid_cluster_id(raw: object) -> str | None:
    """The cluster id as text if it is well formed; ``None`` for anything else."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(raw, str) and CLUSTER_ID_RE.fullmatch(raw):
        return raw
    return None
