"""Destinations: MongooseIM's properties by default, a private one on request, no UA ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from mim_bridge.config import load
from mim_bridge.ga4 import (
    DEFAULT_ENDPOINT,
    MONGOOSEIM_CI,
    MONGOOSEIM_PRODUCTION,
    Destination,
    EndpointError,
    TrackingIdError,
    debug_endpoint,
    default_destination,
    destinations_for,
    resolve_endpoint,
    tracking_destination,
)
from mim_bridge.ga4.destinations import collect_url


def test_default_is_mongooseims_production_property() -> None:
    assert default_destination() == Destination("G-B4S18X6KY5", "Rj6lopOLQZ2HPLj50QtYeQ")
    assert default_destination(ci=False) is MONGOOSEIM_PRODUCTION


def test_ci_true_selects_mongooseims_ci_property() -> None:
    assert default_destination(ci=True) == Destination("G-VB91V60SKT", "LFxdCgDsSa-OAPtBnLDqpQ")
    assert default_destination(ci=True) is MONGOOSEIM_CI


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("TRUE", False), ("1", False)])
def test_ci_is_exactly_the_string_true_as_for_mongooseim(value: str, ci: bool,
                                                        tmp_path: Path) -> None:
    config = load({"node": ["mim@localhost"], "cookie": "c"}, {"CI": value,
                                                               "HOME": str(tmp_path)})
    assert config.ci is ci
    assert config.destinations == [MONGOOSEIM_CI if ci else MONGOOSEIM_PRODUCTION]


def test_private_tracking_id_is_added_after_the_default() -> None:
    dests = destinations_for(("G-ABCDEF1234", "s3cr3t"))
    assert [d.measurement_id for d in dests] == ["G-B4S18X6KY5", "G-ABCDEF1234"]
    assert destinations_for(None) == [MONGOOSEIM_PRODUCTION]
    # Configuring the default property as "private" does not double-send.
    assert destinations_for(("G-B4S18X6KY5", "x")) == [MONGOOSEIM_PRODUCTION]


@pytest.mark.parametrize("ua", ["UA-151671255-2", "ua-1234-1", "UA-EXTRA-TRACKING-ID"])
def test_universal_analytics_ids_are_refused_with_an_explanation(ua: str) -> None:
    with pytest.raises(TrackingIdError) as info:
        tracking_destination(ua, "secret")
    message = str(info.value)
    assert "Universal Analytics no longer works" in message
    assert "G-" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("mid", "secret", "match"),
    [
        ("G-", "s", "not a GA4 measurement id"),
        ("12345", "s", "not a GA4 measurement id"),
        ("G-abc def", "s", "not a GA4 measurement id"),
        ("G-ABCD1234", "", "no api secret"),
        ("G-ABCD1234", "has space", "spaces or unusual"),
    ],
)
def test_malformed_tracking_ids_are_refused(mid: str, secret: str, match: str) -> None:
    with pytest.raises(TrackingIdError, match=match):
        tracking_destination(mid, secret)


def test_the_secret_never_shows_in_repr() -> None:
    assert "Rj6lop" not in repr(MONGOOSEIM_PRODUCTION)


def test_endpoint_resolution_order() -> None:
    """ga4 reads no environment: BRIDGE_GA_URL reaches it through the configuration."""
    assert resolve_endpoint("http://127.0.0.1:1/mp/collect") == "http://127.0.0.1:1/mp/collect"
    assert (
        resolve_endpoint(None)
        == DEFAULT_ENDPOINT
        == "https://www.google-analytics.com/mp/collect"
    )


@pytest.mark.parametrize(
    "bad", ["ftp://x/mp/collect", "not a url", "http:///mp", "http://h/mp/collect?a=1"]
)
def test_bad_endpoints_are_refused(bad: str) -> None:
    with pytest.raises(EndpointError):
        resolve_endpoint(bad)


@pytest.mark.parametrize(
    ("endpoint", "debug"),
    [
        (DEFAULT_ENDPOINT, "https://www.google-analytics.com/debug/mp/collect"),
        (
            "https://region1.google-analytics.com/mp/collect",
            "https://region1.google-analytics.com/debug/mp/collect",
        ),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/debug/mp/collect"),
        ("http://proxy.local/ga/mp/collect/", "http://proxy.local/ga/debug/mp/collect"),
    ],
)
def test_debug_endpoint_is_on_the_same_base(endpoint: str, debug: str) -> None:
    assert debug_endpoint(endpoint) == debug


def test_collect_url_has_mongooseims_query() -> None:
    url = collect_url("http://127.0.0.1:1/mp/collect", Destination("G-ABCD1234", "a/b+c"))
    assert url == "http://127.0.0.1:1/mp/collect?api_secret=a%2Fb%2Bc&measurement_id=G-ABCD1234"
    assert collect_url("http://h/mp/collect", MONGOOSEIM_PRODUCTION) == (
        "http://h/mp/collect?api_secret=Rj6lopOLQZ2HPLj50QtYeQ&measurement_id=G-B4S18X6KY5"
    )
