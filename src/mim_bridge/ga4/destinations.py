"""Where reports go: GA4 properties (measurement id + api secret) and the collect endpoint.

By default every report goes where MongooseIM 6.1+ sends its own: MongooseIM's production GA4
property, or its CI property when ``CI=true`` (MongooseIM checks that variable on the node; the
bridge checks its own environment). An optional private ``tracking_id`` receives every event too.
Universal Analytics ids (``UA-…``) are refused: Google stopped processing them in July 2023.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from mim_bridge.ga4.errors import EndpointError, TrackingIdError

__all__ = [
    "DEFAULT_ENDPOINT",
    "MONGOOSEIM_CI",
    "MONGOOSEIM_PRODUCTION",
    "Destination",
    "collect_url",
    "debug_endpoint",
    "default_destination",
    "destinations_for",
    "is_measurement_id",
    "resolve_endpoint",
    "tracking_destination",
]

DEFAULT_ENDPOINT = "https://www.google-analytics.com/mp/collect"
"""Environment override of the collect endpoint (the test suites point it at a fake server)."""

_MEASUREMENT_ID_RE = re.compile(r"^G-[A-Z0-9]{4,20}$")
_SECRET_RE = re.compile(r"^[!-~]{1,200}$")  # printable ASCII, no spaces

_UA_MESSAGE = (
    "tracking id {id} is a Universal Analytics id, and Universal Analytics no longer works "
    "(Google stopped processing it in July 2023); create a GA4 property and use its G-… "
    "measurement id with a Measurement Protocol API secret"
)


@dataclass(frozen=True)
class Destination:
    """One GA4 web stream: its measurement id and a Measurement Protocol API secret."""

    measurement_id: str
    api_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        mid = self.measurement_id
        if mid.upper().startswith("UA-"):
            raise TrackingIdError(_UA_MESSAGE.format(id=_shorten(mid)))
        if not _MEASUREMENT_ID_RE.fullmatch(mid):
            raise TrackingIdError(
                f"tracking id {_shorten(mid)!r} is not a GA4 measurement id; "
                "expected G- followed by letters and digits, e.g. G-ABC123XYZ9"
            )
        if not self.api_secret:
            raise TrackingIdError(
                f"tracking id {mid} has no api secret; create one under GA4 Admin > Data streams "
                "> Measurement Protocol API secrets"
            )
        if not _SECRET_RE.fullmatch(self.api_secret):
            raise TrackingIdError(
                f"the api secret of tracking id {mid} contains spaces or unusual characters; "
                "copy it again from GA4"
            )


MONGOOSEIM_PRODUCTION = Destination("G-B4S18X6KY5", "Rj6lopOLQZ2HPLj50QtYeQ")
MONGOOSEIM_CI = Destination("G-VB91V60SKT", "LFxdCgDsSa-OAPtBnLDqpQ")


def is_measurement_id(value: object) -> bool:
    """Whether *value* is a GA4 measurement id (safe in a file name, and in a log line)."""
    return isinstance(value, str) and _MEASUREMENT_ID_RE.fullmatch(value) is not None


def default_destination(ci: bool = False) -> Destination:
    """MongooseIM's own property; its CI property when *ci* (``CI=true``, like MongooseIM)."""
    return MONGOOSEIM_CI if ci else MONGOOSEIM_PRODUCTION


def tracking_destination(measurement_id: str, api_secret: str) -> Destination:
    """Validate a user's ``tracking_id.id`` / ``tracking_id.secret`` pair."""
    return Destination(measurement_id.strip(), api_secret.strip())


def destinations_for(
    tracking_id: tuple[str, str] | Destination | None = None, *, ci: bool = False
) -> list[Destination]:
    """``[default]`` or ``[default, private]``, like MongooseIM's ``tracking_ids/1``."""
    out = [default_destination(ci)]
    if tracking_id is not None:
        private = (
            tracking_id
            if isinstance(tracking_id, Destination)
            else tracking_destination(*tracking_id)
        )
        if private.measurement_id not in {d.measurement_id for d in out}:
            out.append(private)
    return out


def resolve_endpoint(override: str | None = None) -> str:
    """The collect endpoint: the configured override (``--ga-url``, ``BRIDGE_GA_URL``), else
    Google's; checked to be an http(s) URL without a query."""
    endpoint = override or DEFAULT_ENDPOINT
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise EndpointError(
            f"the GA4 endpoint {endpoint!r} is not an http(s) URL; use e.g. {DEFAULT_ENDPOINT}"
        )
    if parts.query or parts.fragment:
        raise EndpointError(
            f"the GA4 endpoint {endpoint!r} must not carry a query or fragment; "
            "measurement_id and api_secret are added by the bridge"
        )
    return endpoint


def debug_endpoint(endpoint: str) -> str:
    """The validation server on the same base: ``…/mp/collect`` becomes ``…/debug/mp/collect``."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    base = path.removesuffix("/mp/collect")
    return urlunsplit((parts.scheme, parts.netloc, base + "/debug/mp/collect", "", ""))


def collect_url(endpoint: str, destination: Destination) -> str:
    """The request URL, with the query parameters in MongooseIM's order."""
    query = urlencode(
        [("api_secret", destination.api_secret), ("measurement_id", destination.measurement_id)]
    )
    return f"{endpoint}?{query}"


def _shorten(value: str) -> str:
    return value if len(value) <= 24 else value[:21] + "..."
