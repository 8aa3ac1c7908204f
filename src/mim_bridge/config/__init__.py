"""Every setting of the bridge in one frozen :class:`Config`, and where each one came from.

Theory of operation. Each option has one name used everywhere: the flag ``--periodic-report``,
the environment variable ``BRIDGE_PERIODIC_REPORT``, the key ``periodic_report`` of a ``[bridge]``
table in the TOML file. Four layers are read and the first that sets an option wins::

    command line  >  BRIDGE_* environment  >  TOML file  >  defaults

The TOML file may be MongooseIM's own ``mongooseim.toml``: its
``[services.service_mongoose_system_metrics]`` section is read with MongooseIM's names and
meanings (``initial_report``/``periodic_report`` in milliseconds, ``report`` a boolean,
``tracking_id = {id, secret}``); a ``[bridge]`` table in the same file wins over that section.

Raw values are strings (flags, environment) or TOML values; each option's parser turns them into
typed values or raises :class:`ConfigError` naming the source, so a bad value is reported as
``BRIDGE_PERIODIC_REPORT='5x': ...`` and not as a traceback. Only :func:`load` touches the outside
world (the TOML file, the cookie file, the current directory).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from mim_bridge.config.cookie import CookieFileError, default_paths, read_cookie_file
from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY, MIN_REPLY_MEMORY, describe_size
from mim_bridge.ga4 import Destination, TrackingIdError, destinations_for, tracking_destination
from mim_bridge.util.localfiles import (
    MAX_CONFIG_FILE,
    STATE_DIR_NAME,
    FileMissing,
    FileRefused,
    default_state_dir,
    read_bounded,
)
from mim_bridge.errors import UsageError
from mim_bridge.report import DEFAULT_REPORT_FILENAME
from mim_bridge.vocab.durations import MAX_DURATION, parse_duration

if TYPE_CHECKING:
    from mim_bridge.erldist import TlsOptions

# The erldist imports are inside the functions that need them: importing the package starts
# asyncio (~50 ms), and the commands that only read local files (show, history) never need it.

__all__ = ["MAX_CONFIG_FILE", "MAX_DURATION", "OPTIONS", "STATE_DIR_NAME", "Config",
           "ConfigError", "LocalConfig", "Mode", "default_state_dir", "load", "load_local",
           "parse_bool", "parse_duration", "parse_listen", "parse_size", "parse_url"]

Mode = Literal["service", "once", "dry_run", "validate", "check"]
SERVICE_SECTION = "service_mongoose_system_metrics"
log = logging.getLogger(__name__)
DEFAULT_HISTORY_SIZE = 1024 ** 2
MIN_HISTORY_SIZE = 16 * 1024
MAX_HISTORY_SIZE = 64 * 1024 ** 2  # a file of a quarter of it is still read whole


class ConfigError(UsageError):
    """A flag, environment variable or file value the bridge cannot use (exit status 2)."""


# ---------------------------------------------------------------------------------- value parsers

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected true or false")


_SIZE = re.compile(r"^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$", re.IGNORECASE)


def parse_size(raw: object) -> int:
    """Bytes from ``262144``, ``256k``, ``1M``, ``1MiB`` (units are powers of 1024)."""
    if isinstance(raw, bool):
        raise ValueError("expected a size such as 262144, 256k or 1M")  # noqa: TRY004
    m = _SIZE.match(str(raw).strip().replace("_", ""))
    if m is None:
        raise ValueError("expected a size such as 262144, 256k or 1M")
    unit = (m[2] or "b")[0].lower()
    return int(m[1]) * {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit]


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
        raise ValueError("expected a string")  # noqa: TRY004 - the parsers' contract
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


_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _memory(raw: object) -> int:
    """Bytes from ``16MiB``, ``16M``, ``2048KiB``, ``1G`` or a bare number of bytes (binary units:
    ``16M`` and ``16MB`` are 16 MiB, as memory limits are usually meant)."""
    if isinstance(raw, bool):
        raise ValueError("expected a size such as 16MiB")  # noqa: TRY004 - parsers' contract
    m = _SIZE.fullmatch(str(raw).strip().replace("_", ""))
    if not m:
        raise ValueError("expected a size such as 16MiB, 2048KiB or a number of bytes")
    value = int(float(m[1]) * _SIZE_UNITS[(m[2] or "")[:1].lower()])
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
            raise ValueError("expected a whole number")  # noqa: TRY004 - the parsers' contract
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


# ---------------------------------------------------------------------------------- the result

@dataclass(frozen=True)
class Config:
    """The settings of one run; built by :func:`load`, never mutated."""

    nodes: tuple[str, ...]
    cookie: str = field(repr=False)
    cookie_source: str
    own_name: str | None
    own_name_style: Literal["short", "long"] | None
    initial_report: float
    periodic_report: float
    report: bool | None
    do_not_track: bool
    tracking_id: Destination | None
    ci: bool
    ga_url: str | None
    report_file: Path
    state_dir: Path
    tls: TlsOptions | None
    epmd_port: int | None
    allow_double_report: bool
    discover: bool
    connect_timeout: float
    call_timeout: float
    net_ticktime: float
    send_timeout: float
    shutdown_timeout: float
    mode: Mode = "service"
    log_format: str = "text"
    verbosity: int = 0
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    history: bool = True
    history_size: int = DEFAULT_HISTORY_SIZE
    dry_run_format: str = "jsonl"  # --format: jsonl (request bodies), json or table
    node_concurrency: int = 8
    http_listen: tuple[str, int] | None = None
    # --check: also open a TCP connection to the GA4 endpoint (--no-ga turns it off)
    check_ga: bool = True
    # (log level, message) found while loading, logged once logging is set up
    notes: tuple[tuple[int, str], ...] = ()
    max_reply_memory: int = DEFAULT_MAX_REPLY_MEMORY

    @property
    def destinations(self) -> list[Destination]:
        """MongooseIM's property (its CI one when CI=true), plus the private tracking id."""
        return destinations_for(self.tracking_id, ci=self.ci)

    @property
    def disabled_by(self) -> str | None:
        """Why reporting is off (``report = false`` or ``DO_NOT_TRACK``), or None."""
        if self.do_not_track:
            return "DO_NOT_TRACK=1"
        if self.report is False:
            return f"report = false ({self.sources.get('report', 'configuration')})"
        return None

    @property
    def send_budget(self) -> float:
        """Delivery time per report: never so long that it would hold up the next report."""
        return min(self.send_timeout, max(self.periodic_report / 2, 0.1))


# ---------------------------------------------------------------------------------- loading

def load(flags: Mapping[str, object], environ: Mapping[str, str] | None = None, *,
         mode: Mode = "service", verbosity: int = 0, config_file: str | None = None,
         cwd: Path | None = None) -> Config:
    """Merge the layers into a :class:`Config`; raise :class:`ConfigError` for any bad value.

    *flags* maps option names to the raw strings given on the command line (absent = not given).
    """
    env = dict(os.environ if environ is None else environ)
    cwd = cwd or Path.cwd()
    path, values, sources = _merge(flags, env, config_file, OPTIONS)
    if not values["node"]:
        raise ConfigError("no MongooseIM node given; pass --node NAME@HOST "
                          "(e.g. --node mongooseim@localhost) or set BRIDGE_NODE")
    own_name, style = _own_name(values, sources)
    cookie, cookie_source, notes = _cookie(values, sources, env)
    return Config(
        nodes=values["node"],
        cookie=cookie,
        cookie_source=cookie_source,
        own_name=own_name,
        own_name_style=style,
        initial_report=values["initial_report"],
        periodic_report=values["periodic_report"],
        report=values["report"],
        do_not_track=env.get("DO_NOT_TRACK", "").strip().lower() in _TRUE,
        tracking_id=_tracking(values, sources),
        ci=env.get("CI") == "true",
        ga_url=values["ga_url"],
        report_file=_absolute(values["report_file"] or Path(DEFAULT_REPORT_FILENAME), cwd),
        state_dir=_absolute(values["state_dir"] or default_state_dir(env), cwd),
        tls=_tls(values),
        epmd_port=values["epmd_port"],
        allow_double_report=values["allow_double_report"],
        discover=values["discover"],
        connect_timeout=values["connect_timeout"],
        call_timeout=values["call_timeout"],
        net_ticktime=values["net_ticktime"],
        send_timeout=values["send_timeout"],
        shutdown_timeout=values["shutdown_timeout"],
        mode=mode,
        log_format=values["log_format"],
        verbosity=verbosity,
        config_file=path,
        sources=sources,
        history=values["history"],
        history_size=values["history_size"],
        node_concurrency=values["node_concurrency"],
        http_listen=values["http_listen"],
        notes=notes,
        max_reply_memory=values["max_reply_memory"],
    )


def _merge(flags: Mapping[str, object], env: Mapping[str, str], config_file: str | None,
           options: tuple[Option, ...]) -> tuple[Path | None, dict[str, Any], dict[str, str]]:
    """The TOML file's path, and each of *options* parsed from the first layer that sets it."""
    path_text = config_file or env.get("BRIDGE_CONFIG", "").strip() or None
    path = Path(path_text).expanduser() if path_text else None
    layers: list[tuple[dict[str, object], Callable[[str], str]]] = [
        ({k: v for k, v in flags.items() if v is not None}, lambda n: BY_NAME[n].flag),
        ({o.name: env[o.env] for o in OPTIONS if env.get(o.env, "").strip()},
         lambda n: BY_NAME[n].env),
    ]
    if path is not None:
        layers.extend(_toml_layers(path))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for opt in options:
        for raw_values, describe in layers:
            if opt.name in raw_values:
                raw = raw_values[opt.name]
                source = describe(opt.name)
                try:
                    values[opt.name] = opt.parse(raw)
                except ValueError as e:
                    raise ConfigError(f"{source}={_show(raw)}: {e}") from None
                sources[opt.name] = source
                break
        else:
            values[opt.name] = opt.default
            sources[opt.name] = "default"
    return path, values, sources


@dataclass(frozen=True)
class LocalConfig:
    """The settings of the commands that only read the bridge's own files (show, history)."""

    report_file: Path
    state_dir: Path
    history: bool
    history_size: int


LOCAL_OPTIONS = ("report_file", "state_dir", "history", "history_size")


def load_local(flags: Mapping[str, object], environ: Mapping[str, str] | None = None, *,
               config_file: str | None = None, cwd: Path | None = None) -> LocalConfig:
    """Like :func:`load`, through the same layers, but only the file options: no node, no
    cookie and no connection settings are needed (nor checked) to read local files."""
    env = dict(os.environ if environ is None else environ)
    cwd = cwd or Path.cwd()
    _, values, _ = _merge(flags, env, config_file, tuple(BY_NAME[n] for n in LOCAL_OPTIONS))
    return LocalConfig(
        report_file=_absolute(values["report_file"] or Path(DEFAULT_REPORT_FILENAME), cwd),
        state_dir=_absolute(values["state_dir"] or default_state_dir(env), cwd),
        history=values["history"],
        history_size=values["history_size"],
    )


def _show(raw: object) -> str:
    if isinstance(raw, list):
        raw = ",".join(map(str, raw))
    text = repr(raw) if isinstance(raw, str) else str(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _absolute(p: Path, cwd: Path) -> Path:
    return p if p.is_absolute() else cwd / p


def _own_name(values: Mapping[str, Any], sources: Mapping[str, str]
              ) -> tuple[str | None, Literal["short", "long"] | None]:
    from mim_bridge.erldist import NodeNameError
    from mim_bridge.erldist.nodename import parse as parse_node_name

    sname, lname = values["sname"], values["name"]
    if sname and lname:
        raise ConfigError(f"both {sources['sname']} and {sources['name']} are set; the bridge "
                          "has one node name: keep one of them")
    if not (sname or lname):
        return None, None
    given: str = sname or lname
    style: Literal["short", "long"] = "short" if sname else "long"
    source = sources["sname" if sname else "name"]
    probe = given if "@" in given else given + ("@host" if sname else "@host.domain")
    try:
        parsed = parse_node_name(probe)
    except NodeNameError as e:
        raise ConfigError(f"{source}={given!r}: {e}") from None
    if "@" in given and parsed.long != (style == "long"):
        hint = "--name" if parsed.long else "--sname"
        raise ConfigError(f"{source}={given!r} is a {'long' if parsed.long else 'short'} name; "
                          f"use {hint} for it")
    targets_long = {parse_node_name(n).long for n in values["node"]}
    if targets_long != {style == "long"}:
        raise ConfigError(
            f"{source} gives the bridge a {style} name, but Erlang nodes only talk to nodes "
            f"of their own style and {values['node'][0]} uses "
            f"{'long' if parse_node_name(values['node'][0]).long else 'short'} names; "
            f"use {'--sname' if style == 'long' else '--name'} instead, or leave both unset")
    return given, style


def _cookie(values: Mapping[str, Any], sources: Mapping[str, str], env: Mapping[str, str]
            ) -> tuple[str, str, tuple[tuple[int, str], ...]]:
    """The cookie, a description of its source, and notes about its file; reads the file the
    way ``erl`` does (:mod:`mim_bridge.config.cookie`)."""
    flag_rank = {"flag": 0, "env": 1, "file": 2, "default": 3}

    def rank(name: str) -> int:
        src = sources[name]
        return flag_rank["flag" if src.startswith("--") else "env" if src.startswith("BRIDGE_")
                         else "default" if src == "default" else "file"]

    use_file = values["cookie_file"] is not None and (
        values["cookie"] is None or rank("cookie_file") < rank("cookie"))
    if values["cookie"] is not None and values["cookie_file"] is not None \
            and rank("cookie") == rank("cookie_file"):
        raise ConfigError(f"both {sources['cookie']} and {sources['cookie_file']} are set; "
                          "give the cookie one way only")
    if values["cookie"] is not None and not use_file:
        return values["cookie"], sources["cookie"], ()
    if use_file:
        path: Path = values["cookie_file"]
        source = f"{sources['cookie_file']} {path}"
    else:
        # Like erl: ~/.erlang.cookie, else $XDG_CONFIG_HOME/erlang/.erlang.cookie.
        candidates = default_paths(env)
        found = [p for p in candidates if os.path.lexists(p)]
        if not found:
            raise ConfigError(
                f"no Erlang cookie: neither {' nor '.join(map(str, candidates))} exists; pass "
                "--cookie-file with the node's cookie file (e.g. "
                "/var/lib/mongooseim/.erlang.cookie) or set BRIDGE_COOKIE")
        path = found[0]
        source = str(path)
    try:
        cookie_file = read_cookie_file(path)
    except CookieFileError as e:
        raise ConfigError(f"{e}; fix the file, or pass the cookie in BRIDGE_COOKIE") from None
    return cookie_file.cookie, source, cookie_file.notes


def _tracking(values: Mapping[str, Any], sources: Mapping[str, str]) -> Destination | None:
    tid, secret = values["tracking_id"], values["tracking_secret"]
    if tid is None and secret is None:
        return None
    if tid is None:
        raise ConfigError(f"{sources['tracking_secret']} is set but no tracking id; "
                          "add --tracking-id G-... (or BRIDGE_TRACKING_ID)")
    if secret is None:
        raise ConfigError(f"tracking id {tid} ({sources['tracking_id']}) has no api secret; add "
                          "--tracking-secret (or BRIDGE_TRACKING_SECRET); GA4 needs both")
    try:
        return tracking_destination(tid, secret)
    except TrackingIdError as e:
        raise ConfigError(f"{sources['tracking_id']}: {e}") from None


def _tls(values: Mapping[str, Any]) -> TlsOptions | None:
    from mim_bridge.erldist import TlsOptions

    files = (values["tls_certfile"], values["tls_keyfile"], values["tls_cafile"])
    if not values["tls"] and not any(files):
        return None
    for p in files:
        if p is not None and not p.is_file():
            raise ConfigError(f"TLS distribution file {p} does not exist or is not a file")
    certfile, keyfile, cafile = (str(p) if p else None for p in files)
    if keyfile and not certfile:
        raise ConfigError("--tls-keyfile needs --tls-certfile (the certificate of that key)")
    return TlsOptions(certfile=certfile, keyfile=keyfile, cafile=cafile,
                      verify=values["tls_verify"], server_hostname=values["tls_server_name"])


# ---------------------------------------------------------------------------------- the TOML file

def _toml_layers(path: Path) -> list[tuple[dict[str, object], Callable[[str], str]]]:
    """``[bridge]`` first, then MongooseIM's service section (in MongooseIM's units)."""
    try:
        data, _ = read_bounded(path, MAX_CONFIG_FILE)
    except FileMissing:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except FileRefused as e:
        raise ConfigError(f"cannot read configuration file {path}: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"configuration file {path} is not UTF-8 text (byte "
                          f"0x{data[e.start]:02x} at offset {e.start}); TOML files are UTF-8"
                          ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"configuration file {path} is not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"configuration file {path} nests arrays or tables too deeply to be "
                          "a configuration file") from None
    name = path.name
    bridge = doc.get("bridge", {})
    if not isinstance(bridge, dict):
        raise ConfigError(f"{name}: 'bridge' must be a table ([bridge])")
    services = doc.get("services", {})
    service = services.get(SERVICE_SECTION, {}) if isinstance(services, dict) else {}
    if not isinstance(service, dict):
        raise ConfigError(f"{name}: [services.{SERVICE_SECTION}] must be a table")
    return [
        (_bridge_table(bridge, name), lambda n: f"{name} [bridge] {n}"),
        (_service_table(service, name), lambda n: f"{name} [services.{SERVICE_SECTION}] "
         f"{BY_NAME[n].service_key or n}"),
    ]


def _bridge_table(table: Mapping[str, Any], name: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if key == "tracking_id" and isinstance(value, dict):
            out.update(_tracking_table(value, f"{name} [bridge] tracking_id"))
        elif key in BY_NAME:
            out[key] = value
        else:
            close = difflib.get_close_matches(key, BY_NAME, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{name} [bridge]: unknown option {key!r}{hint}")
    return out


def _service_table(table: Mapping[str, Any], name: str) -> dict[str, object]:
    where = f"{name} [services.{SERVICE_SECTION}]"
    out: dict[str, object] = {}
    for key, value in table.items():
        if key in ("initial_report", "periodic_report"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where} {key}={value!r}: MongooseIM expects a non-negative "
                                  "integer of milliseconds")
            out[key] = value
        elif key == "report":
            if not isinstance(value, bool):
                raise ConfigError(f"{where} report={value!r}: expected true or false")
            out[key] = value
        elif key == "tracking_id":
            if isinstance(value, dict):
                out.update(_tracking_table(value, f"{where} tracking_id"))
            elif isinstance(value, str) and value.strip().upper().startswith("UA-"):
                # MongooseIM 5.1-6.0 configs carry a Universal Analytics id, which is dead:
                # refusing to start over the node's own file would help nobody.
                log.warning(
                    "%s: tracking_id %s is a Universal Analytics id, which Google no longer "
                    "processes; ignored (set a GA4 tracking id in [bridge] or with "
                    "--tracking-id/--tracking-secret)", where, value.strip())
            else:
                raise ConfigError(f"{where} tracking_id: expected a table with id and secret "
                                  "(MongooseIM 6.1+ format)")
        else:
            raise ConfigError(f"{where}: unknown option {key!r} (MongooseIM knows "
                              "initial_report, periodic_report, report and tracking_id)")
    return out


def _tracking_table(value: Mapping[str, Any], where: str) -> dict[str, object]:
    unknown = set(value) - {"id", "secret"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {min(unknown)!r}; expected id and secret")
    if "id" not in value or "secret" not in value:
        raise ConfigError(f"{where}: needs both id and secret")
    return {"tracking_id": value["id"], "tracking_secret": value["secret"]}
