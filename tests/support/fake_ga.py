"""A local fake of GA4's Measurement Protocol endpoints, for tests and the docker compose stack.

It listens on 127.0.0.1 (a free port by default), records every request, answers ``/mp/collect``
with 204 like GA4, answers ``/debug/mp/collect`` with plausible ``validationMessages``, and can be
told to misbehave for the next requests, in order:

* ``fail``        answer with a 5xx (default 500)
* ``rate-limit``  answer 429 with ``Retry-After`` (default "1")
* ``stall``       wait before answering (default 5 s), so a client's timeout fires
* ``close``       read the request, then close the connection without an answer
* ``reject``      answer with a 4xx (default 400)

and, for the hostile cases (a peer or proxy that never lets a request end):

* ``silent``           read the request, then neither answer nor close (until the fake stops)
* ``trickle-headers``  send a 204's status line and headers one byte every ARG s (default 1),
                       for ever: the headers never end
* ``trickle-body``     send a 200 with ``Content-Length: 1000000`` at once, then one body byte
                       every ARG s (default 1)
* ``huge-body``        send a 200 with a body of ARG bytes (default 100 MB) as fast as it can
* ``flood-headers``    send a status line, then header lines as fast as it can, for ever
* ``redirect``         answer 307 pointing at the same URL (a redirect loop)

The hostile kinds close the connection when they are done; their records have status None when
no complete status line and headers were sent.

In-process::

    with FakeGA() as ga:
        ga.fail_next(2, status=503)
        ...  # point the sender at ga.url
        ga.delivered()          # requests answered 2xx on /mp/collect
        ga.events("G-XXXX")     # their events, flattened, for one measurement id

As a process (stdlib only, so it runs anywhere)::

    python tests/support/fake_ga.py --port 0 --record requests.jsonl \
        --fault fail:2:503 --fault rate-limit:1:2 --port-file port.txt

It prints ``fake-ga listening on http://127.0.0.1:PORT`` once ready, appends one JSON line per
request to the record file, and has a control API: ``GET /_fake/requests`` (all records as JSON),
``POST /_fake/faults`` with ``{"kind": "fail", "count": 2, "arg": 503}``, ``POST /_fake/reset``.
Read a record file with :func:`read_records`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

COLLECT_PATH = "/mp/collect"
DEBUG_PATH = "/debug/mp/collect"
HOSTILE_KINDS = (
    "silent", "trickle-headers", "trickle-body", "huge-body", "flood-headers", "redirect"
)
FAULT_KINDS = ("fail", "rate-limit", "stall", "close", "reject", *HOSTILE_KINDS)
_DEFAULT_ARG: dict[str, Any] = {
    "fail": 500,
    "rate-limit": "1",
    "stall": 5.0,
    "close": None,
    "reject": 400,
    "silent": None,
    "trickle-headers": 1.0,
    "trickle-body": 1.0,
    "huge-body": 100_000_000,
    "flood-headers": None,
    "redirect": None,
}


@dataclass
class RecordedRequest:
    """One request as the fake saw it, and what it did with it."""

    seq: int
    time: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    json: Any
    outcome: str  # ok | validated | fail | rate-limit | stall | close | reject | not-found
    status: int | None  # None when the connection was closed without an answer

    @property
    def measurement_id(self) -> str | None:
        return self.query.get("measurement_id")

    @property
    def api_secret(self) -> str | None:
        return self.query.get("api_secret")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Fault:
    kind: str
    remaining: int
    arg: Any = None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    records: list[RecordedRequest] = field(default_factory=list)
    faults: deque[_Fault] = field(default_factory=deque)
    stop: threading.Event = field(default_factory=threading.Event)
    record_file: Any = None


class FakeGA:
    """The fake server in a background thread; a context manager."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, record_path: Path | None = None
    ) -> None:
        self._state = _State()
        if record_path is not None:
            self._state.record_file = open(record_path, "a", encoding="utf-8")  # noqa: SIM115
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._host = host
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """The collect endpoint, to use as the sender's endpoint override."""
        return self.base_url + COLLECT_PATH

    @property
    def debug_url(self) -> str:
        return self.base_url + DEBUG_PATH

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.02)  # short, so stop() returns at once

    def stop(self) -> None:
        self._state.stop.set()  # wakes stalled handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._state.record_file is not None:
            self._state.record_file.close()
            self._state.record_file = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- behaviour -------------------------------------------------------------------------------

    def add_fault(self, kind: str, count: int = 1, arg: Any = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        with self._state.lock:
            self._state.faults.append(
                _Fault(kind, count, _DEFAULT_ARG[kind] if arg is None else arg)
            )

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        self.add_fault("fail", count, status)

    def rate_limit_next(self, count: int = 1, retry_after: str | float = "1") -> None:
        self.add_fault("rate-limit", count, str(retry_after))

    def stall_next(self, count: int = 1, seconds: float = 5.0) -> None:
        self.add_fault("stall", count, seconds)

    def close_next(self, count: int = 1) -> None:
        self.add_fault("close", count)

    def reject_next(self, count: int = 1, status: int = 400) -> None:
        self.add_fault("reject", count, status)

    def hostile_next(self, kind: str, count: int = 1, arg: Any = None) -> None:
        """One of :data:`HOSTILE_KINDS` for the next ``count`` requests."""
        if kind not in HOSTILE_KINDS:
            raise ValueError(f"not a hostile fault: {kind!r}")
        self.add_fault(kind, count, arg)
    def clear_faults(self) -> None:
        """Behave normally again (the queued faults are dropped; the records are kept)."""
        with self._state.lock:
            self._state.faults.clear()

    def reset(self) -> None:
        with self._state.lock:
            self._state.faults.clear()
            self._state.records.clear()

    # -- what was received -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.records)

    def delivered(self, measurement_id: str | None = None) -> list[RecordedRequest]:
        """Requests to /mp/collect answered with a 2xx, in arrival order."""
        return [
            r
            for r in self.requests
            if r.path == COLLECT_PATH
            and r.outcome == "ok"
            and (measurement_id is None or r.measurement_id == measurement_id)
        ]

    def events(self, measurement_id: str | None = None) -> list[dict[str, Any]]:
        """The events of every delivered request, flattened in order."""
        return [e for r in self.delivered(measurement_id) for e in (r.json or {}).get("events", [])]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Poll until ``predicate(self)`` is true (for out-of-thread senders)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self):
                return True
            time.sleep(0.01)
        return bool(predicate(self))


def read_records(path: Path) -> list[RecordedRequest]:
    """Records from a ``--record`` JSONL file."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(RecordedRequest(**json.loads(line)))
    return out


# -- the request handler ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests assert on logs, and the records say everything

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_fake/requests":
            with self.state.lock:
                payload = [r.to_json() for r in self.state.records]
            self._answer(200, json.dumps(payload).encode())
        elif parts.path == "/_fake/health":
            self._answer(200, b'{"ok":true}')
        else:
            self._answer(404, b"")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path.startswith("/_fake/"):
            self._control(parts.path, raw)
            return
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        fault = self._take_fault() if parts.path in (COLLECT_PATH, DEBUG_PATH) else None
        if fault is not None and fault.kind in HOSTILE_KINDS:
            status = {"trickle-body": 200, "huge-body": 200, "redirect": 307}.get(fault.kind)
            self._record(parts, raw, parsed, fault.kind, status)
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client gave up, which is the point
                self._hostile(fault)
            return
        answer: tuple[str, int | None, bytes, dict[str, str]]
        if parts.path not in (COLLECT_PATH, DEBUG_PATH):
            answer = ("not-found", 404, b"", {})
        elif fault is None:
            answer = self._normal(parts.path, text, parsed)
        else:
            answer = self._faulty(fault)
        outcome, status, body, headers = answer
        self._record(parts, raw, parsed, outcome, status)
        if status is None:
            self._drop_connection()
            return
        self._answer(status, body, headers)

    # -- helpers ------------------------------------------------------------------------------

    def _normal(
        self, path: str, text: str, parsed: Any
    ) -> tuple[str, int | None, bytes, dict[str, str]]:
        if path == DEBUG_PATH:
            messages = validation_messages(text, parsed)
            body = json.dumps({"validationMessages": messages}).encode()
            return "validated", 200, body, {"Content-Type": "application/json"}
        return "ok", 204, b"", {}

    def _faulty(self, fault: _Fault) -> tuple[str, int | None, bytes, dict[str, str]]:
        if fault.kind == "fail":
            return "fail", int(fault.arg), b"", {}
        if fault.kind == "reject":
            return "reject", int(fault.arg), b"", {}
        if fault.kind == "rate-limit":
            return "rate-limit", 429, b"", {"Retry-After": str(fault.arg)}
        if fault.kind == "stall":
            self.state.stop.wait(float(fault.arg))
            return "stall", 204, b"", {}
        return "close", None, b"", {}

    def _hostile(self, fault: _Fault) -> None:
        stop = self.state.stop
        if fault.kind == "silent":
            stop.wait()
        elif fault.kind == "trickle-headers":
            head = b"HTTP/1.1 204 No Content\r\nX-Trickle: "
            for i in range(1 << 30):
                if stop.wait(float(fault.arg)):
                    break
                self._send_raw(head[i : i + 1] if i < len(head) else b"a")
        elif fault.kind == "trickle-body":
            self._send_raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000000\r\n\r\n")
            while not stop.wait(float(fault.arg)):
                self._send_raw(b" ")
        elif fault.kind == "huge-body":
            size = int(fault.arg)
            self._send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            block = b"\0" * 65536
            while size > 0 and not stop.is_set():
                self._send_raw(block[:size])
                size -= len(block)
        elif fault.kind == "flood-headers":
            self._send_raw(b"HTTP/1.1 204 No Content\r\n")
            line = b"X-Flood: " + b"f" * 100 + b"\r\n"
            while not stop.is_set():
                self._send_raw(line * 100)
        elif fault.kind == "redirect":
            self._send_raw(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\n"
                           b"Content-Length: 0\r\n\r\n" % self.path.encode())

    def _send_raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _take_fault(self) -> _Fault | None:
        with self.state.lock:
            if not self.state.faults:
                return None
            fault = self.state.faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.state.faults.popleft()
            return _Fault(fault.kind, 1, fault.arg)

    def _record(
        self, parts: Any, raw: bytes, parsed: Any, outcome: str, status: int | None
    ) -> None:
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        keep = ("Content-Type", "User-Agent", "Content-Length")
        headers = {k: self.headers[k] for k in keep if self.headers.get(k) is not None}
        with self.state.lock:
            record = RecordedRequest(
                seq=len(self.state.records) + 1,
                time=time.time(),
                method=self.command,
                path=parts.path,
                query=query,
                headers=headers,
                body=raw.decode("utf-8", errors="replace"),
                json=parsed,
                outcome=outcome,
                status=status,
            )
            self.state.records.append(record)
            if self.state.record_file is not None:
                self.state.record_file.write(json.dumps(record.to_json()) + "\n")
                self.state.record_file.flush()

    def _control(self, path: str, raw: bytes) -> None:
        try:
            command = json.loads(raw or b"{}")
        except ValueError:
            self._answer(400, b'{"error":"body must be JSON"}')
            return
        if path == "/_fake/reset":
            with self.state.lock:
                self.state.faults.clear()
                self.state.records.clear()
            self._answer(200, b'{"ok":true}')
        elif path == "/_fake/faults" and command.get("kind") in FAULT_KINDS:
            kind = command["kind"]
            arg = command.get("arg")
            fault = _Fault(
                kind, int(command.get("count", 1)), _DEFAULT_ARG[kind] if arg is None else arg
            )
            with self.state.lock:
                self.state.faults.append(fault)
            self._answer(200, b'{"ok":true}')
        else:
            self._answer(400, b'{"error":"unknown control request"}')

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 204:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and status != 204:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (e.g. after a stall)

    def _drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# -- GA4 validation rules (a plausible subset of the real validation server) -----------------------

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED_EVENTS = frozenset(
    [
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_renew",
        "click",
        "error",
        "file_download",
        "first_open",
        "first_visit",
        "form_start",
        "form_submit",
        "in_app_purchase",
        "page_view",
        "scroll",
        "session_start",
        "user_engagement",
        "view_complete",
        "video_progress",
        "video_start",
        "view_search_results",
    ]
)
_RESERVED_PARAMS = frozenset({"engagement_time_msec", "gclid", "session_id", "session_number"})
_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")


def _msg(path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": path, "description": description, "validationCode": code}


def validation_messages(text: str, parsed: Any) -> list[dict[str, str]]:
    """What GA4's /debug/mp/collect would say about a body (the subset the bridge can break)."""
    if not isinstance(parsed, dict):
        return [_msg("", "Unable to parse Measurement Protocol JSON payload.", "VALUE_INVALID")]
    out: list[dict[str, str]] = []
    if len(text.encode()) >= 130_000:
        out.append(_msg("", "Post body exceeds the 130kB limit.", "VALUE_OUT_OF_BOUNDS"))
    if not parsed.get("client_id"):
        out.append(_msg("client_id", "Measurement requires a client_id.", "VALUE_REQUIRED"))
    events = parsed.get("events")
    if not isinstance(events, list) or not events:
        out.append(_msg("events", "Measurement requires at least one event.", "VALUE_REQUIRED"))
        return out
    if len(events) > 25:
        out.append(
            _msg("events", "A request can have a maximum of 25 events.", "EXCEEDED_MAX_ENTITIES")
        )
    for i, event in enumerate(events):
        out.extend(_event_messages(i, event))
    return out


def _event_messages(i: int, event: Any) -> list[dict[str, str]]:
    if not isinstance(event, dict):
        return [_msg("events", f"Event at index: [{i}] is not an object.", "VALUE_INVALID")]
    out: list[dict[str, str]] = []
    name = event.get("name")
    if not isinstance(name, str) or not name:
        out.append(_msg("events", f"Event at index: [{i}] requires a name.", "VALUE_REQUIRED"))
    elif len(name) > 40:
        out.append(
            _msg(
                "events",
                f"Event at index: [{i}] has name [{name}] which exceeds the max length of 40.",
                "VALUE_OUT_OF_BOUNDS",
            )
        )
    elif not _NAME_RE.fullmatch(name):
        out.append(
            _msg(
                "events",
                f"Event at index: [{i}] has invalid name [{name}]. Names must start with an "
                "alphabetic character.",
                "NAME_INVALID",
            )
        )
    elif name.lower() in _RESERVED_EVENTS or name.lower().startswith(_RESERVED_PREFIXES):
        out.append(
            _msg("events", f"Event at index: [{i}] has reserved name [{name}].", "NAME_RESERVED")
        )
    params = event.get("params", {})
    if not isinstance(params, dict):
        return [*out, _msg(f"events[{i}].params", "Params must be an object.", "VALUE_INVALID")]
    if len(params) > 25:
        out.append(
            _msg(
                f"events[{i}].params",
                f"Event at index: [{i}] has more than 25 params.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for key, value in params.items():
        where = f"events[{i}].params"
        if len(key) > 40 or not _NAME_RE.fullmatch(key):
            out.append(_msg(where, f"Param [{key}] has an invalid name.", "NAME_INVALID"))
        elif key.lower() in _RESERVED_PARAMS or key.lower().startswith(_RESERVED_PREFIXES):
            out.append(_msg(where, f"Param [{key}] has a reserved name.", "NAME_RESERVED"))
        if isinstance(value, str) and len(value) > 100:
            out.append(
                _msg(
                    where,
                    f"Value of param [{key}] exceeds the max length of 100.",
                    "VALUE_OUT_OF_BOUNDS",
                )
            )
    return out


# -- standalone process ----------------------------------------------------------------------------


def _parse_fault(spec: str) -> tuple[str, int, Any]:
    """``KIND[:COUNT[:ARG]]``, e.g. ``fail:2:503``, ``rate-limit:1:2``, ``stall:1:5``."""
    kind, _, rest = spec.partition(":")
    count_text, _, arg_text = rest.partition(":")
    if kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}")
    arg: Any = None
    if arg_text:
        if kind in ("stall", "trickle-headers", "trickle-body"):
            arg = float(arg_text)
        elif kind == "rate-limit":
            arg = arg_text
        else:
            arg = int(arg_text)
    return kind, int(count_text or 1), arg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake GA4 Measurement Protocol server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--record", type=Path, help="append one JSON line per request here")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once ready")
    parser.add_argument(
        "--fault",
        action="append",
        type=_parse_fault,
        default=[],
        metavar="KIND[:COUNT[:ARG]]",
        help=f"misbehave for the next requests, in order; KIND is one of {', '.join(FAULT_KINDS)}",
    )
    args = parser.parse_args(argv)
    fake = FakeGA(args.host, args.port, args.record)
    for kind, count, arg in args.fault:
        fake.add_fault(kind, count, arg)

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=fake._server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.port_file is not None:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(f"{fake.port}\n")
        tmp.replace(args.port_file)
    print(f"fake-ga listening on http://{args.host}:{fake.port}", flush=True)
    try:
        fake.serve_forever()
    finally:
        fake._state.stop.set()
        fake._server.server_close()
        if fake._state.record_file is not None:
            fake._state.record_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
