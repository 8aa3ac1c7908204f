"""One HTTP exchange with GA4, bounded in time and memory (the only module that talks HTTP).

Why a deadline of our own: ``requests``' timeout bounds each socket read, not a response, so a
peer (or a proxy) that trickles one byte a second keeps a request alive for ever. Here the whole
exchange (connect, TLS handshake, request, status line, headers, body) ends by its deadline,
whatever the peer does:

* the exchange runs in a worker thread, and every socket it opens or reuses is registered with the
  exchange's :class:`_Watch` (through connection classes mounted on the ``requests`` session);
* at the deadline the caller shuts those sockets down, which wakes a blocked read at once, and
  the worker ends with an error the caller reports as ``timeout``; should the worker still not end
  (a transport we do not watch, e.g. a SOCKS proxy), the caller returns anyway and leaves it;
* the answer body is read raw (never decompressed) and only up to a bound; ``http.client``
  already bounds the status line, each header line (64 KiB) and the number of headers (100).
  Redirects are never followed.

:class:`PosterTransport` adapts anything with ``requests.Session.post``'s shape (unit tests'
scripted fakes); it has no deadline of its own. Error messages never include the URL: it carries
the api secret.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import logging
import math
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

from mim_bridge.ga4.errors import DeliveryError, RejectedError, RetryableDeliveryError

__all__ = [
    "HEADERS",
    "MAX_COLLECT_ANSWER",
    "MAX_VALIDATION_ANSWER",
    "Answer",
    "BoundedTransport",
    "HttpPoster",
    "PosterTransport",
    "ResponseLike",
    "Transport",
    "parse_retry_after",
    "post_once",
]

log = logging.getLogger(__name__)

HEADERS = {"Content-Type": "application/json"}
MAX_COLLECT_ANSWER = 64 * 1024
"""GA4 answers ``/mp/collect`` with an empty 204; more than this is not read (the status stands)."""
MAX_VALIDATION_ANSWER = 1024 * 1024
"""The validation server's JSON for 25 events x 25 params is ~150 kB; a larger answer fails."""
ABORT_GRACE = 2.0
"""After the deadline, how long the caller waits for the aborted worker before leaving it."""


@dataclass(frozen=True)
class Answer:
    """What the peer said: its status and, when it fit the bound and the time, its body.

    ``body_problem`` is None for a complete body, else ``too_large`` or ``timeout`` or
    ``connection`` (the body is then cut short; the status still stands).
    """

    status: int
    retry_after: float | None = None
    body: bytes = b""
    body_problem: str | None = None


class Transport(Protocol):
    """Sends one request and returns the peer's :class:`Answer` within ``timeout`` seconds.

    Raises :class:`RetryableDeliveryError` (``timeout``, ``connection``, ``protocol``) when
    there is no answer, :class:`DeliveryError` (``error``) when the request cannot be made.
    """

    def exchange(self, url: str, body: bytes, timeout: float, max_answer: int) -> Answer: ...

    def close(self) -> None: ...


# -- classification --------------------------------------------------------------------------------


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
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def post_once(
    transport: Transport, url: str, body: bytes, timeout: float, *, want_body: bool = False
) -> Answer:
    """POST once; return a 2xx answer, or raise a retryable or a rejected delivery error.

    With ``want_body`` (the validation server) a 2xx whose body is cut short is an error too.
    """
    limit = MAX_VALIDATION_ANSWER if want_body else MAX_COLLECT_ANSWER
    answer = transport.exchange(url, body, timeout, limit)
    status = answer.status
    if 200 <= status < 300:
        if want_body and answer.body_problem == "too_large":
            raise DeliveryError(f"the answer is larger than {limit} bytes", kind="too_large")
        if want_body and answer.body_problem is not None:
            raise RetryableDeliveryError(
                f"the answer was cut short ({answer.body_problem})", kind=answer.body_problem
            )
        return answer
    if status == 429:
        raise RetryableDeliveryError(
            "HTTP 429", status=status, retry_after=answer.retry_after, kind="rate_limited"
        )
    if 500 <= status < 600:
        raise RetryableDeliveryError(
            f"HTTP {status}", status=status, retry_after=answer.retry_after, kind="server_error"
        )
    if 300 <= status < 400:
        raise RejectedError(f"HTTP {status} (redirects are not followed)", status=status,
                            kind="redirect")
    raise RejectedError(f"HTTP {status}", status=status, kind="rejected")


def _timeout(seconds: float, unconfirmed: bool) -> RetryableDeliveryError:
    return RetryableDeliveryError(
        f"no complete answer within {seconds:.3g} s", kind="timeout", unconfirmed=unconfirmed
    )


def _caused_by_protocol(exc: BaseException) -> bool:
    """Did the peer answer something that is not HTTP (as opposed to closing the connection)?"""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, http.client.RemoteDisconnected | http.client.IncompleteRead):
            return False
        if isinstance(e, http.client.HTTPException):
            return True
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return False


def _failure(exc: BaseException, seconds: float, unconfirmed: bool) -> DeliveryError:
    """The delivery error for a request that got no answer (the deadline had not passed)."""
    if isinstance(exc, requests.ConnectTimeout):
        return _timeout(seconds, False)
    if isinstance(exc, requests.Timeout):
        return _timeout(seconds, unconfirmed)
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        if _caused_by_protocol(exc):
            return RetryableDeliveryError("the answer is not valid HTTP", kind="protocol")
        return RetryableDeliveryError(
            f"connection failed ({type(exc).__name__})", kind="connection"
        )
    if isinstance(exc, http.client.HTTPException | urllib3.exceptions.ProtocolError):
        return RetryableDeliveryError("the answer is not valid HTTP", kind="protocol")
    if isinstance(exc, OSError):
        return RetryableDeliveryError(f"connection failed ({type(exc).__name__})",
                                      kind="connection")
    return DeliveryError(f"request failed ({type(exc).__name__})")


# -- the deadline ----------------------------------------------------------------------------------


_local = threading.local()


class _Watch:
    """One exchange: the sockets to shut down at its deadline, and how far it got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.done = threading.Event()
        self.expired = False
        self.sent = False  # the whole request was written
        self._answered = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)

    def answered(self) -> bool:
        """Mark the status line and headers complete; False if the deadline came first."""
        with self._lock:
            if not self.expired:
                self._answered = True
            return self._answered


def _shutdown(sock: socket.socket) -> None:
    # The plain socket method even on an SSLSocket: it acts on the connection, under TLS too.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _current() -> _Watch | None:
    watch: _Watch | None = getattr(_local, "watch", None)
    return watch


def _watch_socket(sock: socket.socket | None) -> None:
    watch = _current()
    if watch is not None and sock is not None:
        watch.add(sock)


def _request_written() -> None:
    watch = _current()
    if watch is not None:
        watch.sent = True


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)  # a kept-alive connection is watched again by each exchange
        super().request(*args, **kwargs)
        _request_written()


class _WatchedHTTPSConnection(HTTPSConnection):
    _handshake_handle: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if _current() is not None:
            # TLS wrapping detaches this socket object; a duplicate descriptor of the same
            # connection lets the watch cut a trickled handshake too.
            self._handshake_handle = sock.dup()
            _watch_socket(self._handshake_handle)
        return sock

    def connect(self) -> None:
        try:
            super().connect()
        finally:
            handle, self._handshake_handle = self._handshake_handle, None
            if handle is not None:
                handle.close()
        _watch_socket(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)
        super().request(*args, **kwargs)
        _request_written()


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPConnectionPool,
    "https": _WatchedHTTPSConnectionPool,
}


class _WatchedAdapter(HTTPAdapter):
    """``requests``' adapter with connections the exchange's watch can cut (proxies too)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> ProxyManager:
        manager: ProxyManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # A SOCKS manager has connection classes of its own; only the stock ones are swapped.
        if isinstance(manager, PoolManager) and manager.pool_classes_by_scheme is (
            urllib3.poolmanager.pool_classes_by_scheme
        ):
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


class BoundedTransport:
    """The real transport: a ``requests`` session whose every exchange ends by its deadline."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session if session is not None else requests.Session()
        adapter = _WatchedAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def exchange(self, url: str, body: bytes, timeout: float, max_answer: int) -> Answer:
        watch = _Watch()
        result: list[Answer | BaseException] = []

        def work() -> None:
            _local.watch = watch
            try:
                result.append(self._exchange(url, body, timeout, max_answer, watch))
            except BaseException as exc:
                result.append(exc)
            finally:
                _local.watch = None
                watch.done.set()

        threading.Thread(target=work, name="ga4-http", daemon=True).start()
        if not watch.done.wait(timeout):
            watch.expire()
            if not watch.done.wait(ABORT_GRACE):
                log.warning("GA4: a request could not be aborted at its deadline; leaving it")
                raise _timeout(timeout, watch.sent)
        outcome = result[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _exchange(
        self, url: str, body: bytes, timeout: float, max_answer: int, watch: _Watch
    ) -> Answer:
        try:
            response = self.session.post(
                url,
                data=body,
                headers={**HEADERS, "Accept-Encoding": "identity"},
                timeout=(timeout, timeout),
                stream=True,
                allow_redirects=False,
            )
        except Exception as exc:  # every failure becomes a delivery error
            if watch.expired:
                raise _timeout(timeout, watch.sent) from exc
            raise _failure(exc, timeout, watch.sent) from exc
        try:
            if not watch.answered():  # the headers may have been cut by the deadline
                raise _timeout(timeout, watch.sent)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            data, problem = _read_answer(response, max_answer, watch)
            return Answer(response.status_code, retry_after, data, problem)
        finally:
            response.close()

    def close(self) -> None:
        self.session.close()


def _read_answer(
    response: requests.Response, limit: int, watch: _Watch
) -> tuple[bytes, str | None]:
    """The body, raw, up to ``limit`` bytes; and why it is incomplete, if it is."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = response.raw.read(min(65536, limit + 1 - size), decode_content=False)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except Exception:
        return b"".join(chunks), "timeout" if watch.expired else "connection"
    data = b"".join(chunks)
    if size > limit:
        return data[:limit], "too_large"
    if watch.expired:  # EOF from our own shutdown, not the end of the body
        return data, "timeout"
    return data, None


# -- scripted posters (unit tests) -----------------------------------------------------------------


class ResponseLike(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
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


class PosterTransport:
    """Adapts a ``requests.Session``-shaped poster; bounded only by what the poster does."""

    def __init__(self, poster: HttpPoster) -> None:
        self.poster = poster

    def exchange(self, url: str, body: bytes, timeout: float, max_answer: int) -> Answer:
        try:
            response = self.poster.post(url, data=body, headers=HEADERS, timeout=(timeout, timeout))
        except requests.RequestException as exc:
            # A read timeout comes after the request was written: GA4 may have it.
            raise _failure(exc, timeout, isinstance(exc, requests.ReadTimeout)) from exc
        try:
            data = response.text.encode("utf-8")
            problem = "too_large" if len(data) > max_answer else None
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return Answer(response.status_code, retry_after, data[:max_answer], problem)
        finally:
            response.close()

    def close(self) -> None:
        """Nothing to release: the poster belongs to whoever passed it in."""
