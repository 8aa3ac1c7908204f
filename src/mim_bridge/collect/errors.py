"""Collector errors (the distribution errors of :mod:`mim_bridge.erldist` pass through as they are).

    CollectError           (mim_bridge.errors.BridgeError)
    ├── NotMongooseIM      the node answers, but it is not a MongooseIM node (exit 5)
    ├── NodeNotReady       a MongooseIM node whose configuration cannot be read yet (starting,
    │                      overloaded): retryable, unlike NotMongooseIM (exit 3)
    └── NotAllowed         code asked for a remote call outside the read-only allowlist (a bug)
"""

from __future__ import annotations

from mim_bridge.errors import BridgeError, ExitCode, Unreachable

__all__ = ["CollectError", "NodeNotReady", "NotAllowed", "NotMongooseIM"]


class CollectError(BridgeError):
    """Root of the collector's own errors."""


class NotMongooseIM(CollectError):
    """The node lacks what every MongooseIM node has; the message names what was missing."""

    exit_status = ExitCode.NOT_MONGOOSEIM


class NodeNotReady(CollectError, Unreachable):
    """The node has MongooseIM's API but did not answer the configuration reads."""


class NotAllowed(CollectError):
    """A remote call outside the read-only allowlist was attempted and refused locally."""
