"""Exit statuses of the ``bridge`` command, and which error maps to which, in one place.

Scripts and container health checks branch on these numbers, so they are part of the interface:
``docs/cli.md`` documents the same table and a unit test keeps the two in step.

======  =================  ==============================================================
status  name               meaning
======  =================  ==============================================================
0       OK                 done; also: reporting is disabled (``report = false``,
                           ``DO_NOT_TRACK=1``, or the node's own ``report = false``)
1       INTERNAL           an unexpected error (a bug: run again with ``-v`` and report it);
                           also ``--check`` when a node sees the bridge as a cluster member
2       USAGE              bad command line, environment variable or configuration file
3       UNREACHABLE        no node could be reached (EPMD down, node not registered,
                           connection refused or lost, timeout)
4       AUTH               the node refused the bridge (wrong cookie, handshake refused)
5       NOT_MONGOOSEIM     the node answers but is not a MongooseIM node
6       SEND_FAILED        ``--once``/``--validate``: GA4 did not take the report (it stays
                           in the spool), or the validation server found problems
7       TLS                TLS distribution failed (certificates, keys, CA, protocol)
8       LOCAL_FILES        the report file or the state directory cannot be written
                           (``show``: the report file cannot be read)
9       ALREADY_RUNNING    another bridge holds the state directory, or is connected to the
                           node under the same node name
130     INTERRUPTED        a one-shot run (``--once``, ``--dry-run``, ...) was interrupted
======  =================  ==============================================================
"""

from __future__ import annotations

import functools
from enum import IntEnum

__all__ = ["ExitCode", "for_error"]


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    UNREACHABLE = 3
    AUTH = 4
    NOT_MONGOOSEIM = 5
    SEND_FAILED = 6
    TLS = 7
    LOCAL_FILES = 8
    ALREADY_RUNNING = 9
    INTERRUPTED = 130


@functools.cache
def _by_type() -> tuple[tuple[type[BaseException], ExitCode], ...]:
    """First match wins, so subclasses come before their bases.

    Imported on first use: the error types pull in asyncio and the distribution client, which
    the commands that only read local files (``show``, ``history``, ``--version``) never need.
    """
    from mim_bridge.collect import NodeNotReady, NotMongooseIM
    from mim_bridge.config import ConfigError
    from mim_bridge.erldist import (
        ConnectError,
        CookieMismatch,
        ErldistError,
        HandshakeRefused,
        NameInUse,
        NodeNameError,
        TlsError,
    )
    from mim_bridge.ga4 import EndpointError, SpoolError, TrackingIdError
    from mim_bridge.app.oneshot import Interrupted, SendFailed
    from mim_bridge.report import ReportError
    from mim_bridge.app.statelock import StateDirBusy, StateDirError

    return (
        (ConfigError, ExitCode.USAGE),
        (NodeNameError, ExitCode.USAGE),
        (TrackingIdError, ExitCode.USAGE),
        (EndpointError, ExitCode.USAGE),
        (TlsError, ExitCode.TLS),
        (NameInUse, ExitCode.ALREADY_RUNNING),
        (StateDirBusy, ExitCode.ALREADY_RUNNING),
        (StateDirError, ExitCode.LOCAL_FILES),
        (CookieMismatch, ExitCode.AUTH),
        (HandshakeRefused, ExitCode.AUTH),
        (ConnectError, ExitCode.UNREACHABLE),
        (NotMongooseIM, ExitCode.NOT_MONGOOSEIM),
        (NodeNotReady, ExitCode.UNREACHABLE),
        (ReportError, ExitCode.LOCAL_FILES),
        (SendFailed, ExitCode.SEND_FAILED),
        (Interrupted, ExitCode.INTERRUPTED),
        (SpoolError, ExitCode.LOCAL_FILES),
        (ErldistError, ExitCode.UNREACHABLE),  # ConnectionLost, CallTimeout, protocol errors
    )


def for_error(exc: BaseException) -> ExitCode:
    """The exit status for an error that ends the run; INTERNAL for anything unforeseen."""
    for kind, code in _by_type():
        if isinstance(exc, kind):
            return code
    return ExitCode.INTERNAL
