"""The bridge's errors: one root, and what each one means for the command and the service.

Every failure a user or the world can cause is a subclass of :class:`BridgeError` that says
what it means: the command's exit status (:class:`ExitCode`, a documented interface that
scripts and probes branch on) and whether retrying can help (an unreachable node may come back;
a wrong cookie will not). The service, ``--once``, ``--check`` and the exit status all read that
off the class; nothing else classifies errors. ::

    BridgeError                       1   a bug: run again with -v and report it
    ├── UsageError                    2   a value the bridge cannot use
    │   ├── config.ConfigError            flags, BRIDGE_* variables, the TOML file, the cookie
    │   ├── ga4.TrackingIdError           a tracking id (Universal Analytics ids included)
    │   └── ga4.EndpointError             the GA4 endpoint URL
    ├── Unreachable                   3   retryable: no node answers, or not yet
    │   └── collect.NodeNotReady          MongooseIM's API there, but not answering yet
    ├── collect.CollectError          1   (NotAllowed: a remote call off the allowlist, a bug)
    │   └── collect.NotMongooseIM     5   the node answers but is not MongooseIM
    ├── SendFailed                    6   GA4 did not take the report (--once, --validate)
    ├── LocalFilesError               8   the report file or the state directory
    │   ├── report.ReportError            ReportFileError, ClientIdError
    │   ├── ga4.SpoolError
    │   └── app.installation.StateDirError
    ├── AlreadyRunning                9   another bridge holds the state directory
    │   └── app.installation.StateDirBusy
    └── Interrupted                 130   SIGINT/SIGTERM ended a one-shot run

The subsystems' own roots (``collect.CollectError``, ``ga4.Ga4Error``, ``report.ReportError``)
derive from it too. The distribution client keeps its own tree, :class:`~mim_bridge.erldist.
ErldistError` (it is usable on its own), mapped here once (:data:`_ERLDIST`): a wrong cookie is
4, TLS 7, a name already in use 9, anything else on the way to a node 3. So is ``OSError`` below
it (a socket error: 3, retryable).
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

from mim_bridge.erldist.errors import (
    CookieMismatch,
    ErldistError,
    HandshakeRefused,
    NameInUse,
    NodeNameError,
    TlsError,
)

__all__ = ["AlreadyRunning", "BridgeError", "ExitCode", "Interrupted", "LocalFilesError",
           "SendFailed", "Unreachable", "UsageError", "exit_status", "is_expected",
           "retry_can_help"]


class ExitCode(IntEnum):
    """The exit statuses of the ``mim-metrics-bridge`` command (docs/cli.md, README)."""

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


class BridgeError(Exception):
    """Root of the bridge's own errors. Its message is one line, fit for the command line."""

    exit_status: ClassVar[ExitCode] = ExitCode.INTERNAL
    retryable: ClassVar[bool] = False  # can the same step succeed later, unchanged?


class UsageError(BridgeError, ValueError):
    """A value from the command line, the environment or a file that the bridge cannot use."""

    exit_status = ExitCode.USAGE


class Unreachable(BridgeError):
    """No node answers (yet); the service retries, ``--once`` exits 3."""

    exit_status = ExitCode.UNREACHABLE
    retryable = True


class SendFailed(BridgeError):
    """GA4 did not take the report, or its validation server found problems."""

    exit_status = ExitCode.SEND_FAILED


class LocalFilesError(BridgeError):
    """The report file or the state directory cannot be written (or read)."""

    exit_status = ExitCode.LOCAL_FILES
    retryable = True  # a full disk may be freed; the report is sent anyway


class AlreadyRunning(BridgeError):
    """Another bridge already uses this state directory (or our node name)."""

    exit_status = ExitCode.ALREADY_RUNNING


class Interrupted(BridgeError):
    """A one-shot run was stopped by SIGINT/SIGTERM before it finished."""

    exit_status = ExitCode.INTERRUPTED


# The distribution client's errors (its own tree), in the order they are matched.
_ERLDIST: tuple[tuple[type[ErldistError], ExitCode, bool], ...] = (
    (NodeNameError, ExitCode.USAGE, False),
    (TlsError, ExitCode.TLS, False),
    # (a refused handshake too:) a node still holding our dead predecessor's connection lets
    # it go within net_ticktime
    (NameInUse, ExitCode.ALREADY_RUNNING, True),
    (CookieMismatch, ExitCode.AUTH, False),
    (HandshakeRefused, ExitCode.AUTH, False),
    # EPMD, refused, timeouts, a lost connection, a garbled reply: the node or the network
    (ErldistError, ExitCode.UNREACHABLE, True),
)


def _classify(exc: BaseException) -> tuple[ExitCode, bool] | None:
    if isinstance(exc, BridgeError):
        return exc.exit_status, exc.retryable
    if isinstance(exc, ErldistError):
        for kind, status, retryable in _ERLDIST:
            if isinstance(exc, kind):
                return status, retryable
    if isinstance(exc, OSError):  # a socket error below the distribution client
        return ExitCode.UNREACHABLE, True
    return None


def exit_status(exc: BaseException) -> ExitCode:
    """The command's exit status for an error that ends it; INTERNAL for anything unforeseen."""
    found = _classify(exc)
    return found[0] if found else ExitCode.INTERNAL


def retry_can_help(exc: BaseException) -> bool:
    """Whether the same step may succeed later unchanged (the service then retries it)."""
    found = _classify(exc)
    return found[1] if found else False


def is_expected(exc: BaseException) -> bool:
    """An error of the world (a node, the network, files, input), not of the bridge's code."""
    found = _classify(exc)
    return found is not None and found[0] is not ExitCode.INTERNAL
