"""Collector errors (the distribution errors of :mod:`mim_bridge.erldist` pass through as they are).

    CollectError
    ├── NotMongooseIM      the node answers, but it is not a MongooseIM node
    ├── NodeNotReady       a MongooseIM node whose configuration cannot be read yet (starting,
    │                      overloaded): worth retrying, unlike NotMongooseIM
    └── NotAllowed         code asked for a remote call outside the read-only allowlist
"""

from __future__ import annotations


class CollectError(Exception):
    """Root of the collector's own errors."""


class NotMongooseIM(CollectError):
    """The node lacks what every MongooseIM node has; the message names what was missing."""


class NodeNotReady(CollectError):
    """The node has MongooseIM's API but did not answer the configuration reads."""


class NotAllowed(CollectError):
    """A remote call outside the read-only allowlist was attempted and refused locally."""
