"""Google Analytics 4 Measurement Protocol sender: destinations, limits, batches, retries, spool.

Pure layer: :mod:`.destinations`, :mod:`.limits`, :mod:`.payload`, :mod:`.validation`.
I/O: :mod:`.transport` (one HTTP attempt), :mod:`.spool` (files), :mod:`.sender` (the façade).
"""

from typing import TYPE_CHECKING, Any

from mim_bridge.ga4.destinations import (
    DEFAULT_ENDPOINT,
    MONGOOSEIM_CI,
    MONGOOSEIM_PRODUCTION,
    Destination,
    debug_endpoint,
    default_destination,
    destinations_for,
    resolve_endpoint,
    tracking_destination,
)
from mim_bridge.ga4.errors import (
    DeliveryError,
    EndpointError,
    Ga4Error,
    RejectedError,
    RetryableDeliveryError,
    SpoolError,
    TrackingIdError,
)
from mim_bridge.ga4.limits import LimitFix
from mim_bridge.ga4.payload import Batch, Batches, build_body, encode_body, split_batches
from mim_bridge.ga4.validation import ValidationMessage

if TYPE_CHECKING:
    from mim_bridge.ga4.sender import (
        BatchOutcome,
        DeliveryReport,
        DestinationResult,
        Ga4Sender,
        describe_problems,
    )

_LAZY = {"BatchOutcome", "DeliveryReport", "DestinationResult", "Ga4Sender", "describe_problems"}

__all__ = [
    "DEFAULT_ENDPOINT",
    "MONGOOSEIM_CI",
    "MONGOOSEIM_PRODUCTION",
    "Batch",
    "BatchOutcome",
    "Batches",
    "DeliveryError",
    "DeliveryReport",
    "Destination",
    "DestinationResult",
    "EndpointError",
    "Ga4Error",
    "Ga4Sender",
    "LimitFix",
    "RejectedError",
    "RetryableDeliveryError",
    "SpoolError",
    "TrackingIdError",
    "ValidationMessage",
    "build_body",
    "debug_endpoint",
    "default_destination",
    "describe_problems",
    "destinations_for",
    "encode_body",
    "resolve_endpoint",
    "split_batches",
    "tracking_destination",
]


def __getattr__(name: str) -> Any:
    # The sender pulls in requests and tenacity (~65 ms): load it only when something is sent,
    # so `--dry-run` and `--check` start fast.
    if name in _LAZY:
        from mim_bridge.ga4 import sender

        return getattr(sender, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
