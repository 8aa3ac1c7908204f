"""The options: one table (:data:`OPTIONS`) of every setting with its parser, default and help,
and the parsers that turn raw strings or TOML values into typed values.

The command line, the ``BRIDGE_*`` environment, the TOML layers and ``docs/cli.md`` are all built
from the table, so an option exists everywhere or nowhere. A parser raises ValueError with a
message saying what to write; :mod:`.loading` adds where the value came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY, MIN_REPLY_MEMORY, describe_size
from mim_bridge.errors import UsageError
from mim_bridge.report import DEFAULT_REPORT_FILENAME
from mim_bridge.vocab.durations import parse_duration
from mim_bridge.vocab.sizes import parse_size

__all__ = ["BY_NAME", "DEFAULT_HISTORY_SIZE", "MAX_HISTORY_SIZE", "MIN_HISTORY_SIZE", "OPTIONS",
           "SERVICE_SECTION", "TRUE_WORDS", "ConfigError", "Mode", "Option", "parse_bool",
           "parse_listen", "parse_url"]

Mode = Literal["service", "once", "dry_run", "validate", "check"]
SERVICE_SECTION = "service_mongoose_system_metrics"
DEFAULT_HISTORY_SIZE = 1024 ** 2
MIN_HISTORY_SIZE = 16 * 1024
MAX_HISTORY_SIZE = 64 * 1024 ** 2  # a file of a quarter of it is still read whole


class ConfigError(UsageError):
    """A flag, environment variable or file value the bridge cannot use (exit status 2)."""


# ---------------------------------------------------------------------------------- value parsers

TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected true or false")


def _history_size(raw: object) -> int:
    size = parse_size(raw)
    if not MIN_HISTORY_SIZE <= size <= MAX_HISTORY_SIZE:
        raise ValueError(f"must be between {MIN_HISTORY_SIZE // 1024}k and "
                         f"{MAX_HISTORY_SIZE // 1024 ** 2}M")
    return size


def _nodes(raw: object) -> tuple[str, ...]:
    from mim_bridge.erldist import NodeNameError
    from mim_bridge.erldist.nodename import parse as parse_node_name

    items = raw if isinstance(raw, list) else str(raw).split(",")
    nodes = tuple(dict.fromkeys(str(n).strip() for n in items if str(n).strip()))
    if not nodes:
        raise ValueError("no node name given; expected name@host, e.g. mongooseim@localhost")
    for n in nodes:
        try:
            parse_node_name(n)
        except NodeNameError as e:
            raise ValueError(str(e)) from None
    return nodes


def _text(raw: object) -> str:
    if isinstance(raw, (dict, list, bool)):
        raise ValueError("expected a string")
    text = str(raw).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _path(raw: object) -> Path:
    return Path(_text(raw)).expanduser()


def _port(raw: object) -> int:
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise ValueError("expected a port number") from None
    if not 0 < port < 65536:
        raise ValueError("expected a port number between 1 and 65535")
    return port


def _one_of(*choices: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        text = _text(raw).lower()
        if text not in choices:
            raise ValueError(f"expected one of: {', '.join(choices)}")
        return text
    return parse


def _seconds(raw: object) -> float:
    value = parse_duration(raw, bare_unit=1.0)
    if value <= 0:
        raise ValueError("must be longer than zero")
    return value


def _memory(raw: object) -> int:
    value = parse_size(raw)
    if value < MIN_REPLY_MEMORY:
        raise ValueError(f"must be at least {describe_size(MIN_REPLY_MEMORY)}")
    return value


def _period(raw: object) -> float:
    value = parse_duration(raw)
    if value <= 0:
        raise ValueError("must be longer than zero")
    return value


def parse_url(raw: object) -> str:
    """An http(s) URL without credentials, query or fragment (the GA4 endpoint override)."""
    text = _text(raw)
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises for a port that is not a number in range
    except ValueError as e:
        raise ValueError(f"is not a valid URL ({e}); use e.g. "
                         "https://www.google-analytics.com/mp/collect") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("is not an http(s) URL with a host; use e.g. "
                         "https://www.google-analytics.com/mp/collect")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment; measurement_id and api_secret "
                         "are added by the bridge")
    if port == 0:
        raise ValueError("port 0 cannot be connected to")
    return text


def parse_listen(raw: object) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``; an empty host means every interface; port 0 picks one)."""
    text = _text(raw)
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9795 or 0.0.0.0:9795")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("write an IPv6 address in brackets, e.g. [::1]:9795")
    if any(c.isspace() or c in "[]/@" for c in host):
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9795 or 0.0.0.0:9795")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError("expected a port number between 0 and 65535 after the colon")
    return host, int(port_text)


def _count(low: int, high: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, bool):
            raise ValueError("expected a whole number")
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return value
    return parse


# ---------------------------------------------------------------------------------- the options

@dataclass(frozen=True)
class Option:
    """One setting: its parser, default and help text (the CLI and docs/cli.md use them)."""

    name: str
    parse: Callable[[object], Any]
    default: Any
    help: str
    service_key: str | None = None  # the name in [services.service_mongoose_system_metrics]

    @property
    def env(self) -> str:
        return "BRIDGE_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option("node", _nodes, None, "MongooseIM node(s) to read, name@host; repeat, or "
           "comma-separate in BRIDGE_NODE (the first reachable one is used, the others are "
           "failovers)"),
    Option("cookie", _text, None, "the Erlang cookie (visible in the process list: prefer "
           "--cookie-file or BRIDGE_COOKIE)"),
    Option("cookie_file", _path, None, "file holding the Erlang cookie "
           "(default: ~/.erlang.cookie, like erl)"),
    Option("sname", _text, None, "the bridge's own short node name (NAME or NAME@HOST); "
           "default: the installation's stable name, mim_metrics_bridge_<hex> (kept in the "
           "state directory), in the style of the target's name"),
    Option("name", _text, None, "the bridge's own long node name (NAME or NAME@HOST.DOMAIN)"),
    Option("initial_report", parse_duration, 300.0, "delay before the first report: "
           "milliseconds like MongooseIM, or a duration (200ms, 30s, 5m)",
           "initial_report"),
    Option("periodic_report", _period, 10800.0, "interval between reports: milliseconds "
           "like MongooseIM, or a duration (5m, 3h)", "periodic_report"),
    Option("report", parse_bool, None, "true: report silently; false: collect and send nothing "
           "(the service says so once and idles until stopped; --once exits 0); unset: log the "
           "transparency notice, then report", "report"),
    Option("tracking_id", _text, None, "a private GA4 measurement id (G-...) that receives every "
           "report too; needs --tracking-secret", "tracking_id"),
    Option("tracking_secret", _text, None, "the Measurement Protocol API secret of "
           "--tracking-id"),
    Option("ga_url", parse_url, None, "the GA4 collect endpoint "
           "(default https://www.google-analytics.com/mp/collect)"),
    Option("report_file", _path, None, "where the last report is written "
           f"(default ./{DEFAULT_REPORT_FILENAME})"),
    Option("state_dir", _path, None, "client id, stanza totals, unsent reports and the "
           "transparency log (default "
           "$XDG_STATE_HOME/mim-metrics-bridge or ~/.local/state/mim-metrics-bridge)"),
    Option("tls", parse_bool, False, "use TLS distribution (-proto_dist inet_tls); implied by "
           "any --tls-* file option"),
    Option("tls_certfile", _path, None, "the bridge's TLS distribution certificate (PEM)"),
    Option("tls_keyfile", _path, None, "its private key (PEM; default: in the certificate file)"),
    Option("tls_cafile", _path, None, "CA certificate(s) that signed the nodes' certificates"),
    Option("tls_verify", parse_bool, True, "verify the nodes' certificates against the CA"),
    Option("tls_server_name", _text, None, "check the nodes' certificates against this host name"),
    Option("epmd_port", _port, None, "EPMD port on the nodes' hosts (default: $ERL_EPMD_PORT, "
           "else 4369)"),
    Option("allow_double_report", parse_bool, False, "report nodes whose own in-VM "
           "system-metrics service already sends to GA4"),
    Option("discover", parse_bool, True, "also report the other members of the node's cluster"),
    Option("node_concurrency", _count(1, 256), 8, "read at most this many cluster members at "
           "once (connections being opened and reports being collected)"),
    Option("connect_timeout", _seconds, 5.0, "limit for EPMD lookup and handshake (seconds, or "
           "a duration)"),
    Option("call_timeout", _seconds, 10.0, "limit for each remote call (seconds, or a duration)"),
    Option("net_ticktime", _seconds, 60.0, "declare a silent node dead after this long, like "
           "Erlang's net_ticktime (seconds, or a duration)"),
    Option("send_timeout", _seconds, 60.0, "time budget of one delivery to GA4 incl. retries; "
           "capped at half of periodic_report (seconds, or a duration)"),
    Option("shutdown_timeout", _seconds, 5.0, "on SIGTERM/SIGINT, how long the current step may "
           "still run (seconds, or a duration)"),
    Option("log_format", _one_of("text", "json"), "text", "log line format"),
    Option("history", parse_bool, True, "keep the transparency log: every report sent (when, "
           "where, what GA4 answered) in history.jsonl in the state directory"),
    Option("history_size", _history_size, DEFAULT_HISTORY_SIZE, "disk space of the "
           "transparency log, in 4 files that rotate (262144, 256k, 1M; 16k to 64M)"),
    Option("http_listen", parse_listen, None, "serve /healthz, /readyz and /metrics (Prometheus) "
           "on HOST:PORT; never contacts the cluster or GA4 (default: off)"),
    Option("max_reply_memory", _memory, DEFAULT_MAX_REPLY_MEMORY, "memory one node's "
           "connection may hold for replies in flight, fragments and inflated terms; a reply "
           "beyond it fails (16MiB, 1GiB, or bytes)"),
)
BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}


