"""``mim-metrics-bridge health``: is the running bridge alive and ready? For exec probes.

It reads the status file the service keeps in its state directory and judges it
(:func:`.status.assess`); it never contacts the cluster or GA4, and imports only the standard
library's basics, so a probe every few seconds costs a Python start-up and nothing more.

Exit status 0 healthy, 1 not healthy (the one line on stdout says why), 2 bad usage. Docker
treats any status other than 0 and 1 as an error of the check itself, so there are no others.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from mim_bridge.app.health.status import FILENAME, StatusError, assess, read_status
from mim_bridge.util.localfiles import MAX_CONFIG_FILE, FileRefused, default_state_dir, read_bounded

__all__ = ["USAGE", "main", "state_dir"]

USAGE = """\
usage: mim-metrics-bridge health [--live | --ready] [--json] [--state-dir DIR] [--config FILE]

Judge the running bridge from the status file it keeps in its state directory (status.json);
never contacts the cluster or Google Analytics. Exit status 0 when healthy, 1 when not (the
line printed says why), 2 on bad usage.

  --ready          alive, the report schedule kept and the last attempt reached a node, or
                   reporting disabled on purpose (the default)
  --live           only alive: the process runs and its loop ticks
  --json           print the status document instead of one line
  --state-dir DIR  the bridge's state directory (else BRIDGE_STATE_DIR, else state_dir in the
                   [bridge] table of --config/BRIDGE_CONFIG, else the default)
"""


class _Usage(Exception):
    pass


def state_dir(flag: str | None, config: str | None, environ: Mapping[str, str]) -> Path:
    """The state directory by the service's precedence: flag, environment, TOML, default."""
    if flag:
        return Path(flag).expanduser()
    if environ.get("BRIDGE_STATE_DIR", "").strip():
        return Path(environ["BRIDGE_STATE_DIR"].strip()).expanduser()
    file = config or environ.get("BRIDGE_CONFIG", "").strip()
    if file:
        import tomllib  # only when a configuration file is named

        try:
            data, _ = read_bounded(Path(file).expanduser(), MAX_CONFIG_FILE)
            table = tomllib.loads(data.decode("utf-8")).get("bridge", {})
        except (FileRefused, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as e:
            raise _Usage(f"cannot read the state directory from {file}: {e}") from None
        value = table.get("state_dir") if isinstance(table, dict) else None
        if isinstance(value, str) and value.strip():
            return Path(value.strip()).expanduser()
    return default_state_dir(environ)


def _parse(argv: Sequence[str]) -> tuple[str, bool, str | None, str | None]:
    mode, as_json, flag, config = "ready", False, None, None
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, inline = arg.partition("=")
        if arg in ("-h", "--help"):
            return "help", as_json, flag, config
        if arg in ("--live", "--ready"):
            mode = arg[2:]
        elif arg == "--json":
            as_json = True
        elif name in ("--state-dir", "--config"):
            value = inline if eq else (args.pop(0) if args else "")
            if not value:
                raise _Usage(f"{name} needs a value")
            flag, config = (value, config) if name == "--state-dir" else (flag, value)
        else:
            raise _Usage(f"unrecognized argument {arg!r}")
    return mode, as_json, flag, config


def main(argv: Sequence[str], out: TextIO | None = None,
         environ: Mapping[str, str] | None = None) -> int:
    out = out or sys.stdout
    env = os.environ if environ is None else environ
    try:
        mode, as_json, flag, config = _parse(argv)
        path = state_dir(flag, config, env) / FILENAME
    except _Usage as e:
        sys.stderr.write(f"mim-metrics-bridge health: error: {e}; see --help\n")
        return 2
    if mode == "help":
        out.write(USAGE)
        return 0
    try:
        doc = read_status(path)
    except StatusError as e:
        out.write(f"not live: {e}\n")
        return 1
    if as_json:
        out.write(json.dumps(doc, indent=1) + "\n")
    verdict = assess(doc, check_pid=True)
    good = verdict.live if mode == "live" else verdict.ready
    if not as_json:
        word = ("live" if good else "not live") if mode == "live" else (
            "ready" if good else "not live" if not verdict.live else "not ready")
        detail = (doc.get("last_attempt") or {}).get("error") if not good else None
        out.write(f"{word}: {verdict.reason}" + (f" [{detail}]" if detail else "") + "\n")
    return 0 if good else 1
