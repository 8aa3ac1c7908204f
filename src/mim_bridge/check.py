"""``bridge --check``: a step-by-step diagnosis, also the container's HEALTHCHECK.

Each step prints one line, ``ok``/``warn``/``FAIL``, and stops at the first failure of a node
(later steps depend on earlier ones). Nothing is sent and no report file is written; the GA4
endpoint is only probed with a TCP connection. The exit status is 0 when at least one node can
be read (which is what the health of a bridge with failover nodes means), otherwise the status
of the failure (3 unreachable, 4 cookie, 5 not MongooseIM, 7 TLS).

Step 4 calls ``erlang:nodes(hidden)``, outside the collector's read-only allowlist. It is as
read-only as ``erlang:nodes()``, and it is the only way to prove the bridge is hidden; it is made
here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
from typing import TextIO
from urllib.parse import urlsplit

from .collect import CollectError, NotMongooseIM
from .config import Config
from .cycle import Reporter, sends_to_ga4
from .erldist import Atom, Connection, ErldistError, NodeNotFound, epmd
from .erldist.nodename import host_for_connect
from .erldist.nodename import parse as parse_node_name
from .exit_codes import ExitCode, for_error
from .ga4 import Ga4Error, resolve_endpoint
from .ga4.spool import Spool
from .nodes import NodePool
from .report import ReportError
from .service import build_pool
from .state import FILENAME as STATE_FILENAME
from .state import StanzaState

__all__ = ["run_check"]

log = logging.getLogger(__name__)


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, status: str, step: str, detail: str) -> None:
        self.out.write(f"{status:<4} {step}: {detail}\n")
        self.out.flush()


async def run_check(config: Config, out: TextIO = sys.stdout) -> int:
    say = _Printer(out)
    say("ok", "configuration", f"{len(config.nodes)} node(s), cookie from "
        f"{config.cookie_source}, report file {config.report_file}, state {config.state_dir}")
    pool = build_pool(config)
    try:
        readable: list[str] = []
        worst: ExitCode | None = None
        for node in config.nodes:
            code = await _check_node(config, pool, node, say)
            if code is None:
                readable.append(node)
            elif worst is None:
                worst = code
        if not readable:
            assert worst is not None
            return int(worst)
        status = await _check_report(config, pool, readable, say)
    finally:
        await pool.close()
    _check_spool(config, say)
    await _check_endpoint(config, say)
    return status


async def _check_node(config: Config, pool: NodePool, node: str, say: _Printer
                      ) -> ExitCode | None:
    """EPMD, registration, handshake and cookie, hidden status; None if all passed."""
    target = parse_node_name(node)
    host = host_for_connect(target)
    port = config.epmd_port or epmd.default_port()
    try:
        info = await epmd.lookup(target.alive, host, port, config.connect_timeout)
    except NodeNotFound as e:
        say("ok", "EPMD", f"{host}:{port} answers")
        say("FAIL", f"{node} registered", str(e))
        return for_error(e)
    except ErldistError as e:
        say("FAIL", "EPMD", str(e))
        return for_error(e)
    say("ok", "EPMD", f"{host}:{port} answers")
    say("ok", f"{node} registered", f"distribution port {info.port}, protocol versions "
        f"{info.lowest_version}-{info.highest_version}")
    try:
        conn = await pool.get(node)
    except (ErldistError, OSError) as e:
        say("FAIL", f"{node} handshake and cookie", str(e))
        return for_error(e)
    say("ok", f"{node} handshake and cookie", f"accepted; the bridge is {conn.node_name}"
        + (" over TLS" if config.tls else ""))
    await _check_hidden(conn, say)
    return None


async def _check_hidden(conn: Connection, say: _Printer) -> None:
    step = f"{conn.peer_name} sees the bridge as hidden"
    try:
        hidden = await conn.rpc("erlang", "nodes", [Atom("hidden")], timeout=5.0)
        visible = await conn.rpc("erlang", "nodes", [], timeout=5.0)
    except ErldistError as e:
        say("warn", step, f"could not ask: {e}")
        return
    me = Atom(conn.node_name)
    if me in hidden and me not in visible:
        say("ok", step, "in nodes(hidden), not in nodes()")
    else:
        say("FAIL", step, "the bridge appears in nodes(): it would count as a cluster member")


async def _check_report(config: Config, pool: NodePool, nodes: list[str], say: _Printer) -> int:
    """Collect the way a report would; print versions, services, consent and the report."""
    reporter = Reporter(dataclasses.replace(config, nodes=tuple(nodes)), pool,
                        StanzaState(config.state_dir / STATE_FILENAME, save=False))
    try:
        prepared = await reporter.prepare()
    except (ErldistError, CollectError, ReportError, OSError) as e:
        say("FAIL", "MongooseIM", str(e))
        return int(for_error(e))
    for r in prepared.collected:
        say("ok", f"{r.node} MongooseIM", f"version {r.version or 'unknown'}, API generation "
            f"{r.generation}, {len(r.members)} other cluster member(s)")
        s = r.service
        state = ("not configured" if not s.configured else
                 f"configured, {'running' if s.running else 'not running'}, report = "
                 f"{'unset' if s.report is None else str(s.report).lower()}")
        if r.node in prepared.not_reported:
            verdict = f"not reported by the bridge: {prepared.not_reported[r.node]}"
        elif s.running and not sends_to_ga4(r.version):
            verdict = "its service sends to Universal Analytics (dead): the bridge reports it"
        else:
            verdict = "the bridge reports it"
        say("ok", f"{r.node} in-VM system-metrics service", f"{state}; {verdict}")
    for node, why in prepared.not_reported.items():
        if node not in {r.node for r in prepared.collected}:
            say("warn", f"{node}", f"not read: {why}")
    disabled = config.disabled_by
    say("ok" if disabled is None else "warn", "reporting",
        f"disabled by {disabled}: the service sends nothing" if disabled else
        ("enabled (report unset: the transparency notice is logged at start)"
         if config.report is None else "enabled (report = true)"))
    say("ok", "report", f"{len(prepared.events)} events from {len(prepared.reports)} node(s), "
        f"client id {prepared.client_id.value} ({prepared.client_id.source})")
    if config.verbosity > 0:
        say("ok", "report events", json.dumps([e.to_json() for e in prepared.events]))
    return 0


def _check_spool(config: Config, say: _Printer) -> None:
    directory = config.state_dir / "spool"
    if not directory.is_dir():
        say("ok", "spool", "empty")
        return
    try:
        pending = len(Spool(directory))
    except Ga4Error as e:
        say("warn", "spool", str(e))
        return
    say("ok" if pending == 0 else "warn", "spool",
        "empty" if pending == 0 else f"{pending} unsent batch(es) wait in {directory}")


async def _check_endpoint(config: Config, say: _Printer) -> None:
    """Can a TCP connection to the GA4 endpoint be opened? Nothing is sent."""
    try:
        endpoint = resolve_endpoint(config.ga_url)
    except Ga4Error as e:
        say("FAIL", "GA4 endpoint", str(e))
        return
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(min(5.0, config.connect_timeout)):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as e:
        say("warn", "GA4 endpoint", f"cannot connect to {host}:{port} ({e or 'timeout'}); "
            "reports wait in the spool until it is reachable")
        return
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    say("ok", "GA4 endpoint", f"{host}:{port} accepts connections (nothing was sent)")
