"""Errors of the GA4 sender, each with a plain one-line message.

    Ga4Error
    ├── TrackingIdError   a measurement id / api secret we refuse (UA-…, malformed, empty)
    ├── EndpointError     the endpoint override is not an http(s) URL
    ├── SpoolError        the spool directory cannot be used
    └── DeliveryError     GA4 did not take a request
        ├── RetryableDeliveryError   connection error, timeout, 429, 5xx: worth another try
        └── RejectedError            another 4xx: GA4 says the request itself is wrong

Delivery errors stay inside the sender: :meth:`Ga4Sender.send` reports outcomes, it does not raise
them, so a dead network never breaks the report schedule.

Every delivery error carries a ``kind``, a stable word for logs and the send history:
``timeout`` (no complete answer in time), ``connection`` (no connection, or it broke before an
answer), ``protocol`` (the answer is not HTTP we read), ``too_large`` (the answer body is over
its bound), ``rate_limited`` (429), ``server_error`` (5xx), ``rejected`` (another 4xx),
``redirect`` (3xx, never followed), ``budget`` (the send's time was used up), ``error`` (other).
``unconfirmed`` is True when the whole request was written and no answer came: GA4 may have
processed it.
"""

from __future__ import annotations

__all__ = [
    "DeliveryError",
    "EndpointError",
    "Ga4Error",
    "RejectedError",
    "RetryableDeliveryError",
    "SpoolError",
    "TrackingIdError",
]


from mim_bridge.errors import BridgeError, LocalFilesError, UsageError


class Ga4Error(BridgeError):
    """Root of the GA4 package's errors."""


class TrackingIdError(Ga4Error, UsageError):
    """A tracking id (measurement id + api secret) that cannot be used."""


class EndpointError(Ga4Error, UsageError):
    """The collect endpoint override is not usable."""


class SpoolError(Ga4Error, LocalFilesError):
    """The on-disk spool of unsent batches cannot be used."""


class DeliveryError(Ga4Error):
    """A request did not reach GA4 or was not accepted."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        kind: str = "error",
        unconfirmed: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.unconfirmed = unconfirmed
        self.attempts = 1  # HTTP attempts made before giving up; the sender sets it


class RetryableDeliveryError(DeliveryError):
    """A failure that may go away: transport error, timeout, 429 or 5xx."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str = "error",
        unconfirmed: bool = False,
    ) -> None:
        super().__init__(message, status=status, kind=kind, unconfirmed=unconfirmed)
        self.retry_after = retry_after


class RejectedError(DeliveryError):
    """A 4xx other than 429: resending the same request would fail the same way."""
