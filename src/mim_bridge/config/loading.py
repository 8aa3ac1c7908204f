"""Loading: merge the layers (command line > ``BRIDGE_*`` > TOML file > defaults) into one
frozen :class:`Config`, reading the cookie file and checking the combinations one option alone
cannot (node-name style, tracking id and secret, TLS files).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mim_bridge.config.cookie import CookieFileError, default_paths, read_cookie_file
from mim_bridge.config.mongooseim_toml import toml_layers
from mim_bridge.config.options import (
    BY_NAME,
    DEFAULT_HISTORY_SIZE,
    OPTIONS,
    TRUE_WORDS,
    ConfigError,
    Mode,
    Option,
)
from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY
from mim_bridge.ga4 import Destination, TrackingIdError, destinations_for, tracking_destination
from mim_bridge.report import DEFAULT_REPORT_FILENAME
from mim_bridge.util.localfiles import (
    default_state_dir,
)

if TYPE_CHECKING:
    from mim_bridge.erldist import TlsOptions

__all__ = ["LOCAL_OPTIONS", "Config", "LocalConfig", "load", "load_local"]

log = logging.getLogger(__name__)

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
        do_not_track=env.get("DO_NOT_TRACK", "").strip().lower() in TRUE_WORDS,
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
        layers.extend(toml_layers(path))

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
    files = (values["tls_certfile"], values["tls_keyfile"], values["tls_cafile"])
    if not values["tls"] and not any(files):
        return None
    from mim_bridge.erldist import TlsOptions  # the connection module: --help stays fast
    for p in files:
        if p is not None and not p.is_file():
            raise ConfigError(f"TLS distribution file {p} does not exist or is not a file")
    certfile, keyfile, cafile = (str(p) if p else None for p in files)
    if keyfile and not certfile:
        raise ConfigError("--tls-keyfile needs --tls-certfile (the certificate of that key)")
    return TlsOptions(certfile=certfile, keyfile=keyfile, cafile=cafile,
                      verify=values["tls_verify"], server_hostname=values["tls_server_name"])


