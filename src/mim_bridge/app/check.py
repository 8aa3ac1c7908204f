"""``bridge --check``: a step-by-step diagnosis for a human (probes use ``health`` instead).

Each step prints one line, ``ok``/``info``/``warn``/``FAIL``, and stops at the first failure of a
node (later steps depend on earlier ones). Nothing is sent and no report file is written; the GA4
endpoint, Google's unless ``--ga-url`` says otherwise, is only probed with a TCP connection,
and not at all with ``--no-ga``. The exit status is 0 when at least one node can
be read (which is what the health of a bridge with failover nodes means), otherwise the status
of the failure (3 unreachable, 4 cookie, 5 not MongooseIM, 7 TLS). A bridge that a node counts
as a cluster member (it is not hidden) is a bug of the bridge: status 1 even if nodes can be read.

Every remote call goes through the collector's read-only allowlist
(:class:`mim_bridge.collect.ReadOnlyNode`): ``erlang:nodes/0,1`` to prove the bridge is hidden,
and, where the node has one, MongooseIM's own collector, whose report is compared with the
bridge's (a diagnostic: a difference is a warning, not a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from typing import TextIO
from urllib.parse import urlsplit

from mim_bridge.app.identity import is_other_bridge
from mim_bridge.app.wiring import build_pool
from mim_bridge.collect import Call, CollectError, NodeReport, ReadOnlyNode, cross_check
from mim_bridge.config import Config
from mim_bridge.erldist import Atom, Connection, ErldistError, NodeNotFound, epmd
from mim_bridge.erldist.nodename import host_for_connect
from mim_bridge.erldist.nodename import parse as parse_node_name
from mim_bridge.erldist.pool import NodePool
from mim_bridge.errors import ExitCode, exit_status, is_expected
from mim_bridge.ga4 import Ga4Error, resolve_endpoint
from mim_bridge.ga4.spool import Spool
from mim_bridge.pipeline.reporter import Reporter
from mim_bridge.pipeline.totals import FILENAME as STATE_FILENAME
from mim_bridge.pipeline.totals import StanzaState
from mim_bridge.report import anonymise
from mim_bridge.vocab.events import Event
from mim_bridge.vocab.forms import safe_version

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
    problems: list[ExitCode] = []  # failed steps of nodes that could still be read
    try:
        readable: list[str] = []
        worst: ExitCode | None = None
        for node in config.nodes:
            code = await _check_node(config, pool, node, say, problems)
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
    if config.check_ga:
        await _check_endpoint(config, say)
    else:
        say("info", "GA4 endpoint", "not contacted (--no-ga)")
    return status or (int(problems[0]) if problems else 0)


async def _check_node(config: Config, pool: NodePool, node: str, say: _Printer,
                      problems: list[ExitCode]) -> ExitCode | None:
    """EPMD, registration, handshake and cookie, hidden status; None if the node can be read.

    A failed step after the handshake (the bridge is not hidden) is added to *problems*.
    """
    target = parse_node_name(node)
    host = host_for_connect(target)
    port = config.epmd_port or epmd.default_port()
    try:
        info = await epmd.lookup(target.alive, host, port, config.connect_timeout)
    except NodeNotFound as e:
        say("ok", "EPMD", f"{host}:{port} answers")
        say("FAIL", f"{node} registered", str(e))
        return exit_status(e)
    except ErldistError as e:
        say("FAIL", "EPMD", str(e))
        return exit_status(e)
    say("ok", "EPMD", f"{host}:{port} answers")
    say("ok", f"{node} registered", f"distribution port {info.port}, protocol versions "
        f"{info.lowest_version}-{info.highest_version}")
    try:
        conn = await pool.get(node)
    except (ErldistError, OSError) as e:
        say("FAIL", f"{node} handshake and cookie", str(e))
        return exit_status(e)
    say("ok", f"{node} handshake and cookie", f"accepted; the bridge is {conn.node_name}"
        + (" over TLS" if config.tls else ""))
    code = await _check_hidden(conn, say)
    if code is not None:
        problems.append(code)
    return None


async def _check_hidden(conn: Connection, say: _Printer) -> ExitCode | None:
    """Is the bridge in the node's ``nodes(hidden)`` and not in ``nodes()``? INTERNAL if not."""
    step = f"{conn.peer_name} sees the bridge as hidden"
    ro = ReadOnlyNode(conn, 5.0)
    try:
        found = await ro.wave({"hidden": Call("erlang", "nodes", (Atom("hidden"),)),
                               "visible": Call("erlang", "nodes", ())})
    except (ErldistError, CollectError) as e:
        say("warn", step, f"could not ask: {e}")
        return None
    hidden, visible = found["hidden"], found["visible"]
    if not isinstance(hidden, list) or not isinstance(visible, list):
        bad = hidden if not isinstance(hidden, list) else visible
        say("warn", step, f"could not ask: {getattr(bad, 'message', bad)}")
        return None
    me = Atom(conn.node_name)
    if me in visible:
        say("FAIL", step, "the bridge appears in nodes(): it would count as a cluster member; "
            "this is a bug of the bridge, please report it")
        return ExitCode.INTERNAL
    if me in hidden:
        say("ok", step, "in nodes(hidden), not in nodes()")
    else:
        say("warn", step, "in neither nodes(hidden) nor nodes(): the connection may have dropped")
    others = sorted(str(n) for n in hidden if isinstance(n, Atom)
                    and is_other_bridge(str(n), conn.node_name))
    if others:
        say("warn", f"{conn.peer_name} other bridges", f"{', '.join(others)} also connected: "
            "two bridges report the cluster twice; keep only one (a bridge's own name is in "
            "its state directory's node_name file)")
    return None


async def _check_report(config: Config, pool: NodePool, nodes: list[str], say: _Printer) -> int:
    """Collect the way a report would; print versions, services, consent and the report."""
    reporter = Reporter(dataclasses.replace(config, nodes=tuple(nodes)), pool,
                        StanzaState(config.state_dir / STATE_FILENAME, save=False))
    try:
        prepared = await reporter.collect()
    except Exception as e:
        if not is_expected(e):
            raise
        say("FAIL", "MongooseIM", str(e))
        return int(exit_status(e))
    for r in prepared.collected:
        version = safe_version(r.version) if r.version else "unknown"
        say("ok", f"{r.node} MongooseIM", f"version {version}, API generation "
            f"{r.generation}, {len(r.members)} other cluster member(s)")
        s = r.service
        state = ("not configured" if not s.configured else
                 f"configured, {'running' if s.running else 'not running'}, report = "
                 f"{'unset' if s.report is None else str(s.report).lower()}")
        if r.node in prepared.not_reported:
            verdict = f"not reported by the bridge: {prepared.not_reported[r.node]}"
        elif s.running and not r.era.service_sends_to_ga4:
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
    reported = dict(prepared.reports)
    for r in prepared.collected:
        events = reported.get(r.node) or anonymise(r.events).events
        await _compare_with_own_collector(config, pool, r, events, say)
    return 0


async def _compare_with_own_collector(config: Config, pool: NodePool, report: NodeReport,
                                      events: Sequence[Event], say: _Printer) -> None:
    """Compare the bridge's report of a node with MongooseIM's own collector (read-only).

    Informational: a node without that collector, or a difference, never fails the check.
    """
    step = f"{report.node} cross-check"
    try:
        ro = ReadOnlyNode(await pool.get(report.node), config.call_timeout)
        result = await cross_check(ro, events, report.era, report.stanza_source, report.loaded)
    except Exception as e:
        if not is_expected(e):
            raise
        say("warn", step, f"could not compare: {e}")
        return
    status = "warn" if result.available and not result.matches else \
        "ok" if result.available else "info"
    say(status, step, result.summary())


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
            "reports wait in the spool until it is reachable (--no-ga skips this step)")
        return
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    say("ok", "GA4 endpoint", f"{host}:{port} accepts connections (a TCP connection was "
        "opened and closed, nothing was sent; --no-ga skips this step)")
