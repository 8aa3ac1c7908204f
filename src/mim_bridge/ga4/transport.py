"""One HTTP attempt: POST a body, classify the outcome (the only module that talks HTTP).

The poster is anything with ``requests.Session.post``'s shape, so unit tests inject a fake one.
Error messages never include the URL: it carries the api secret.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Any, Protocol

import requests

from mim_bridge.ga4.errors import DeliveryError, RejectedError, RetryableDeliveryError

__all__ = ["HEADERS", "HttpPoster", "ResponseLike", "parse_retry_after", "post_once"]

HEADERS = {"Content-Type": "application/json"}


class ResponseLike(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...
    def close(self) -> None: ...


class HttpPoster(Protocol):
    def post(
        self,
        url: str,
        *,
        data: bytes,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
    ) -> ResponseLike: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def post_once(poster: HttpPoster, url: str, body: bytes, timeout: float) -> ResponseLike:
    """POST once; return a 2xx response, or raise a retryable or a rejected delivery error."""
    try:
        response = poster.post(url, data=body, headers=HEADERS, timeout=(timeout, timeout))
    except requests.Timeout as exc:
        raise RetryableDeliveryError(f"no answer within {timeout:.3g} s") from exc
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise RetryableDeliveryError(f"connection failed ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"request failed ({type(exc).__name__})") from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    response.close()
    if status == 429 or 500 <= status < 600:
        raise RetryableDeliveryError(f"HTTP {status}", status=status, retry_after=retry_after)
    raise RejectedError(f"HTTP {status}", status=status)
