"""``bridge`` / ``mim-metrics-bridge``: the command line, logging, and errors as exit statuses.

Every failure ends as one line on stderr saying what is wrong and what to do, and a documented
exit status (:mod:`mim_bridge.errors`); a traceback only with ``-v``. The flags are generated
from :data:`mim_bridge.config.OPTIONS`, the same table the environment and TOML layers use.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

from mim_bridge import __version__
from mim_bridge.config import OPTIONS, Config, ConfigError, Mode, Option, load
from mim_bridge.errors import ExitCode
from mim_bridge.vocab.durations import format_duration
from mim_bridge.vocab.sizes import format_size

# asyncio and the error table (which imports every layer) are imported where they are used, so
# that --help, --version and the commands that only read local files (show, history) start fast.

__all__ = ["RedactingFormatter", "build_parser", "main", "setup_logging"]

log = logging.getLogger("mim_bridge")

EXAMPLES = """\
examples:
  mim-metrics-bridge --node mongooseim@mim-1.example.com --cookie-file /etc/mongooseim/cookie
  mim-metrics-bridge --node mim@host1 --node mim@host2 --config /etc/mongooseim/mongooseim.toml
  BRIDGE_COOKIE=secret mim-metrics-bridge --node mongooseim@localhost --once --dry-run
  mim-metrics-bridge --node mongooseim@localhost --check           # diagnose step by step
  mim-metrics-bridge --node mongooseim@localhost --check --no-ga   # ... without contacting Google
  mim-metrics-bridge --node mongooseim@localhost --http-listen 127.0.0.1:9795
                                                  # serve /healthz /readyz /metrics
  mim-metrics-bridge --node mongooseim@localhost --once --validate  # ask GA4's validation server
  mim-metrics-bridge health          # is the running service healthy? (exit status)
  mim-metrics-bridge show            # the last report as a readable page
  mim-metrics-bridge history --last 10   # the transparency log: what was sent, GA4's answers

Every option is also an environment variable BRIDGE_<OPTION> (BRIDGE_NODE is comma-separated)
and a key of a [bridge] table in the --config TOML file, which may be MongooseIM's own
mongooseim.toml; its [services.service_mongoose_system_metrics] section is read too.
Precedence: flags > environment > file > defaults. DO_NOT_TRACK=1 disables reporting.

The service never exits on its own: with reporting disabled it says why and idles, and a
failed report waits for the next one; SIGTERM/SIGINT stop it with status 0.

exit statuses: 0 ok or reporting disabled, 1 unexpected error (or --check: the bridge is not
hidden), 2 bad usage or configuration, 3 node/EPMD unreachable, 4 cookie or handshake refused,
5 not a MongooseIM node, 6 GA4 did not take the report (--once, --validate), 7 TLS problem,
8 report file or state directory not writable, 9 another bridge uses this state directory
or node name, 130 a one-shot run was interrupted.

Every option, file, environment variable and exit status: docs/cli.md, in the source
distribution and linked from README.md (the project description on PyPI).
"""

PROG = "mim-metrics-bridge"
LOCAL_COMMANDS = ("show", "history")  # read the bridge's own files: see mim_bridge.app.view
DRY_RUN_FORMATS = ("jsonl", "json", "table")
_SIZES = {"max_reply_memory", "history_size"}
_BOOL_FLAGS = {"tls": "--tls", "allow_double_report": "--allow-double-report"}
_METAVARS = {"node": "NAME@HOST", "initial_report": "DURATION", "periodic_report": "DURATION",
             "report": "true|false", "tls_verify": "true|false", "epmd_port": "PORT",
             "log_format": "text|json", "tracking_id": "G-XXXXXXXXXX", "tracking_secret": "SECRET",
             "ga_url": "URL", "http_listen": "HOST:PORT", "node_concurrency": "N",
             "max_reply_memory": "SIZE"}
_GROUPS = {"node": "nodes", "cookie": "nodes", "cookie_file": "nodes", "sname": "nodes",
           "name": "nodes", "epmd_port": "nodes", "discover": "nodes",
           "node_concurrency": "nodes",
           "initial_report": "reporting", "periodic_report": "reporting", "report": "reporting",
           "tracking_id": "reporting", "tracking_secret": "reporting", "ga_url": "reporting",
           "allow_double_report": "reporting", "report_file": "files", "state_dir": "files",
           "log_format": "output", "history": "files", "history_size": "files",
           "max_reply_memory": "nodes"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, not usage + message
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _with_default(opt: Option) -> str:
    """The option's help, ending with its default in the form one would write it."""
    if opt.default is None or "default" in opt.help:
        return opt.help
    if isinstance(opt.default, bool):
        shown = "true" if opt.default else "false"
    elif opt.name in _SIZES:
        shown = format_size(opt.default)
    elif isinstance(opt.default, float):
        shown = format_duration(opt.default)
    else:
        shown = str(opt.default)
    return f"{opt.help} (default: {shown})"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Report a MongooseIM cluster's anonymous system metrics to Google Analytics 4, "
                    "reading them from outside as a hidden Erlang node with read-only calls.",
        argument_default=argparse.SUPPRESS)
    groups = {name: parser.add_argument_group(title) for name, title in (
        ("nodes", "nodes and distribution"), ("reporting", "reporting (MongooseIM's options)"),
        ("files", "files"), ("tls", "TLS distribution"), ("timeouts", "timeouts"),
        ("output", "output"))}
    for opt in OPTIONS:
        group = groups[_GROUPS.get(opt.name, "tls" if opt.name.startswith("tls")
                                   else "timeouts" if opt.name.endswith(("timeout", "ticktime"))
                                   else "output")]
        if opt.name == "node":
            group.add_argument("--node", dest="node", action="append", metavar="NAME@HOST",
                               help=opt.help)
        elif opt.name in _BOOL_FLAGS:
            group.add_argument(_BOOL_FLAGS[opt.name], dest=opt.name, action="store_const",
                               const="true", help=opt.help)
        elif opt.name == "discover":
            group.add_argument("--no-discover", dest="discover", action="store_const",
                               const="false", help="report only the given nodes, not the other "
                               "members of their cluster")
        elif opt.name == "history":
            group.add_argument("--no-history", dest="history", action="store_const",
                               const="false", help="keep no transparency log (history.jsonl "
                               "in the state directory) of the reports sent")
        else:
            group.add_argument(opt.flag, dest=opt.name,
                               metavar=_METAVARS.get(opt.name, opt.name.split("_")[-1].upper()),
                               help=_with_default(opt))
    groups["files"].add_argument("--config", dest="config", metavar="FILE",
                                 help="TOML file: a [bridge] table, or MongooseIM's own "
                                 "mongooseim.toml (env BRIDGE_CONFIG)")
    modes = parser.add_argument_group("modes (default: run as a service)")
    modes.add_argument("--once", action="store_true",
                       help="report once now and exit (status 6 if GA4 did not take it)")
    modes.add_argument("--dry-run", action="store_true",
                       help="collect once and print the exact JSON that would be sent; send "
                       "nothing (implies --once)")
    modes.add_argument("--format", choices=DRY_RUN_FORMATS, metavar="jsonl|json|table",
                       help="--dry-run output: the request bodies one per line (jsonl, the "
                       "default), a pretty JSON document per node (json), or a readable page "
                       "(table)")
    modes.add_argument("--validate", action="store_true",
                       help="send once to GA4's validation server and print its messages")
    modes.add_argument("--check", action="store_true",
                       help="diagnose step by step (EPMD, cookie, hidden node, version, "
                       "service, report, MongooseIM's own collector, and last a TCP "
                       "connection to the GA4 endpoint, i.e. Google); exit 0 when a node is "
                       "readable and the bridge hidden")
    modes.add_argument("--no-ga", action="store_true",
                       help="with --check: skip the last step, contact nothing but the nodes")
    out = groups["output"]
    out.add_argument("-v", "--verbose", action="count", default=0,
                     help="more detail; tracebacks on errors (-vv: also library logs)")
    out.add_argument("-q", "--quiet", action="count", default=0,
                     help="warnings and errors only (-qq: errors only)")
    out.add_argument("-V", "--version", action="version", version=f"mongooseim-metrics-bridge "
                     f"{__version__}")
    return parser


# ------------------------------------------------------------------------------------ logging

class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and structured extras."""

    _EXTRAS = ("what", "report_filename", "exit_status")

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self._EXTRAS:
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """Another formatter's output with GA4 api secrets replaced by ``REDACTED``.

    A Measurement Protocol URL carries its secret in the query (``api_secret=…``); a library that
    logs a URL, or a traceback that quotes one, must not put it in the logs. The configured
    secrets are also redacted wherever they appear, as they are and URL-encoded.
    """

    _QUERY = re.compile(r"(api_secret(?:=|%3D))[^&\s'\"\\]+", re.IGNORECASE)
    MIN_LITERAL = 6  # a shorter secret would redact ordinary words; the query rule still applies

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        forms = {f for s in secrets if len(s) >= self.MIN_LITERAL
                 for f in (s, quote(s, safe=""), quote_plus(s), json.dumps(s)[1:-1])}
        self.secrets = sorted(forms, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))

    def redact(self, text: str) -> str:
        text = self._QUERY.sub(r"\1REDACTED", text)
        for secret in self.secrets:
            text = text.replace(secret, "REDACTED")
        return text


# Libraries whose debug logs carry request URLs, hence the api secret: never below INFO.
QUIET_LIBRARIES = ("urllib3", "requests")


def setup_logging(log_format: str, verbosity: int, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter() if log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    handler.setFormatter(RedactingFormatter(inner, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    levels = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO}
    root.setLevel(levels.get(max(verbosity, -2), logging.DEBUG))
    # Library chatter only at -vv; HTTP libraries' debug lines (request URLs) never.
    logging.getLogger("asyncio").setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO if verbosity >= 2 else logging.WARNING)


# ------------------------------------------------------------------------------------ main

async def _dispatch(config: Config) -> int:
    # Each run mode is imported when chosen: --help, and the other modes, start without it.
    if config.mode == "check":
        from mim_bridge.app.check import run_check
        return await run_check(config)
    if config.mode == "service":
        from mim_bridge.app.service import run_service
        return await run_service(config)
    from mim_bridge.app import oneshot
    runners = {"once": oneshot.run_once, "dry_run": oneshot.run_dry_run,
               "validate": oneshot.run_validate}
    return await runners[config.mode](config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (see :mod:`mim_bridge.errors`)."""
    if argv is None:
        argv = sys.argv[1:]
    if list(argv[:1]) == ["health"]:
        from mim_bridge.app.health.command import main as health
        return health(argv[1:])
    prog = PROG
    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] in LOCAL_COMMANDS:
        from mim_bridge.app.view.commands import run_local_command
        return run_local_command(prog, words[0], words[1:])
    parser = build_parser(prog)
    args = vars(parser.parse_args(argv))
    verbosity = args.pop("verbose", 0) - args.pop("quiet", 0)
    modes: dict[str, Mode] = {"dry_run": "dry_run", "validate": "validate", "check": "check"}
    chosen = [modes[m] for m in modes if args.pop(m, False)]
    if len(chosen) > 1:
        parser.error(" and ".join("--" + m.replace("_", "-") for m in chosen)
                     + " cannot be combined")
    once = args.pop("once", False)
    no_ga = args.pop("no_ga", False)
    if no_ga and chosen != ["check"]:
        parser.error("--no-ga only goes with --check")
    mode: Mode = chosen[0] if chosen else "once" if once else "service"
    dry_run_format = args.pop("format", None)
    if dry_run_format is not None and mode != "dry_run":
        parser.error("--format applies to --dry-run (and to the show and history commands)")
    config_file = args.pop("config", None)
    try:
        config = load(args, mode=mode, verbosity=verbosity, config_file=config_file)
    except ConfigError as e:
        sys.stderr.write(f"{prog}: error: {e}\n")
        return ExitCode.USAGE
    if dry_run_format is not None:
        config = dataclasses.replace(config, dry_run_format=dry_run_format)
    if no_ga:
        config = dataclasses.replace(config, check_ga=False)
    setup_logging(config.log_format, verbosity,
                  secrets=[d.api_secret for d in config.destinations])
    for level, note in config.notes:
        log.log(level, "%s", note)
    if config.mode != "service" and len(config.nodes) == 1:
        # The final error line says it already; no failover to announce.
        logging.getLogger("mim_bridge.collect.cluster").addFilter(_without_seed_failures)
    if config.sources.get("cookie") == "--cookie" and config.cookie_source == "--cookie":
        log.warning("the cookie given with --cookie is visible to other users in the process "
                    "list; prefer --cookie-file or the BRIDGE_COOKIE environment variable")
    import asyncio

    from mim_bridge.errors import exit_status
    try:
        return asyncio.run(_dispatch(config))
    except KeyboardInterrupt:
        return _fail(prog, config, "interrupted", ExitCode.INTERRUPTED)
    except Exception as e:  # every error ends as one line and an exit status
        code = exit_status(e)
        if code is ExitCode.INTERNAL:
            if verbosity > 0:
                log.exception("unexpected error")
            return _fail(prog, config, f"unexpected error: {type(e).__name__}: {e}; run again "
                         "with -v for the traceback, and please report it", code)
        if verbosity > 0:
            log.debug("traceback of the error below", exc_info=e)
        return _fail(prog, config, str(e), code)


def _without_seed_failures(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("cannot collect from")


def _fail(prog: str, config: Config, message: str, code: ExitCode) -> int:
    if config.log_format == "json":
        log.error("%s", message, extra={"what": "exit", "exit_status": int(code)})
    else:
        sys.stderr.write(f"{prog}: error: {message}\n")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
