"""Collector errors (the distribution errors of :mod:`mim_bridge.erldist` pass through as they are).

    CollectError
    ├── NotMongooseIM      the node answers, but it is not (or not yet) a MongooseIM node
    └── NotAllowed         code asked for a remote call outside the read-only allowlist
"""

from __future__ import annotations


class CollectError(Exception):
    """Root of the collector's own errors."""


class NotMongooseIM(CollectError):
    """The node lacks what every MongooseIM node has; the message names what was missing."""


class NotAllowed(CollectError):
    """A remote call outside the read-only allowlist was attempted and refused locally."""
