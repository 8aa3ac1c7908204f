"""``mim-metrics-bridge show`` and ``mim-metrics-bridge history``: the bridge's own files, read.

Both only read local files, so they import neither asyncio, nor the distribution client, nor the
HTTP stack: they start in about the time Python itself needs. Their options come through the
same layers as every other command's (flags, ``BRIDGE_*``, the ``--config`` file, defaults), so
``--state-dir``/``--report-file`` or the service's environment find the service's files.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from mim_bridge.app.view.blocks import split_nodes
from mim_bridge.app.view.history_page import history_document, history_page
from mim_bridge.app.view.report_page import show_document, show_page
from mim_bridge.app.view.terminal import Style, bars_for, wants_colour
from mim_bridge.config import BY_NAME, LocalConfig, load_local
from mim_bridge.errors import ExitCode
from mim_bridge.pipeline.history import History, report_digest
from mim_bridge.report import ReportFileError, read_report

__all__ = ["run_local_command"]

DEFAULT_LAST = 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, as the main command does
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _parser(prog: str, command: str) -> argparse.ArgumentParser:
    if command == "show":
        parser = _Parser(prog=f"{prog} show", argument_default=argparse.SUPPRESS,
                         description="The last report as a readable page: one block per node, "
                         "one row per GA4 event, and when it was sent where (from the "
                         "transparency log).")
        parser.add_argument("report_file", nargs="?", metavar="REPORT_FILE",
                            help="the report to show (default: the configured report file)")
        parser.add_argument(BY_NAME["report_file"].flag, dest="report_file_option",
                            metavar="FILE", help=BY_NAME["report_file"].help)
    else:
        parser = _Parser(prog=f"{prog} history", argument_default=argparse.SUPPRESS,
                         description="The transparency log: every report sent, when, to which "
                         "GA4 properties, what GA4 answered, and the stanza counts' trend.")
        parser.add_argument("--last", type=_positive, default=DEFAULT_LAST, metavar="N",
                            help=f"the last N reports (default {DEFAULT_LAST})")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="a page (default; colour only on a terminal, and never with "
                        "NO_COLOR) or a JSON document")
    parser.add_argument(BY_NAME["state_dir"].flag, dest="state_dir", metavar="DIR",
                        help=BY_NAME["state_dir"].help)
    parser.add_argument("--config", dest="config", metavar="FILE",
                        help="the TOML file the bridge runs with (env BRIDGE_CONFIG)")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run_local_command(prog: str, command: str, argv: Sequence[str], *,
                      out: TextIO | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run ``show`` or ``history``; returns the exit status. Errors are one line on stderr."""
    out = sys.stdout if out is None else out
    env = os.environ if environ is None else environ
    args = vars(_parser(prog, command).parse_args(argv))
    flags = {k: args[k] for k in ("state_dir",) if k in args}
    if "report_file_option" in args:
        flags["report_file"] = args["report_file_option"]
    if "report_file" in args:
        flags["report_file"] = args["report_file"]
    try:
        cfg = load_local(flags, env, config_file=args.get("config"))
        style = Style(wants_colour(out, env))
        if command == "show":
            text = _show(cfg, args["format"], style)
        else:
            text = _history(cfg, args["format"], args["last"], style, bars_for(out), prog)
    except Exception as e:
        from mim_bridge.errors import exit_status
        code = exit_status(e)
        message = str(e) if code is not ExitCode.INTERNAL else (
            f"unexpected error: {type(e).__name__}: {e}; please report it")
        sys.stderr.write(f"{prog}: error: {message}\n")
        return int(code)
    return _write(out, text)


def _write(out: TextIO, text: str) -> int:
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # `show | head`: the reader has what it wanted. Point stdout at /dev/null so that the
        # interpreter's own flush at exit does not complain a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def _show(cfg: LocalConfig, fmt: str, style: Style) -> str:
    path = cfg.report_file
    try:
        events = read_report(path)
    except ReportFileError as e:
        if isinstance(e.__cause__, FileNotFoundError):
            raise ReportFileError(
                f"there is no report file {path}: the bridge writes it with each report, the "
                "first one after initial_report; give the file as REPORT_FILE, or the "
                "bridge's --report-file or --config") from None
        raise
    try:
        written: datetime.datetime | None = datetime.datetime.fromtimestamp(
            path.stat().st_mtime, datetime.UTC)
    except OSError:
        written = None
    nodes = split_nodes(events)
    history = History(cfg.state_dir, cfg.history_size)
    digest = report_digest(events)
    sent = next((e for e in reversed(history.read().entries) if e.get("report") == digest),
                None)
    if fmt == "json":
        return show_document(path, written, nodes, sent)
    why = (f"not in the transparency log {history.path} (written by MongooseIM itself, or "
           "before the log was kept)" if cfg.history or history.files()
           else "not recorded: the transparency log is off (history = false)")
    return show_page(path, written, nodes, sent, why, style)


def _history(cfg: LocalConfig, fmt: str, last: int, style: Style, bars: str, prog: str) -> str:
    history = History(cfg.state_dir, cfg.history_size)
    read = history.read()
    if read.unreadable:
        sys.stderr.write(f"{prog}: warning: {read.unreadable} unreadable line(s) in the "
                         f"transparency log {history.path} (truncated or corrupted) were "
                         "skipped; the next report rewrites the file without them\n")
    entries = read.entries[-last:]
    if fmt == "json":
        return history_document(entries, len(read.entries), read.files, read.unreadable)
    return history_page(entries, len(read.entries), read.files, history.path, cfg.history,
                        style, bars)
