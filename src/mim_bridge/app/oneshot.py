"""The one-shot modes: ``--once`` (report now), ``--dry-run`` (print it), ``--validate``.

They share the service's pipeline (:class:`mim_bridge.pipeline.reporter.Reporter`) and differ
only in the last step. ``--dry-run`` prints on stdout exactly the request bodies ``--once``
would POST (JSON Lines, one body per line, identical for every tracking id) and writes nothing
but the client id;
``--format table|json`` prints the same report as a page or a document per node instead.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from typing import TextIO

from mim_bridge.app.wiring import (
    build_pool,
    build_sender,
    interruptible,
    reporting_allowed,
    sending,
)
from mim_bridge.config import Config
from mim_bridge.erldist.pool import NodePool
from mim_bridge.errors import SendFailed
from mim_bridge.ga4 import DeliveryError, resolve_endpoint, split_batches
from mim_bridge.pipeline.reporter import OutgoingReport, Reporter, request_bodies
from mim_bridge.pipeline.totals import FILENAME as STATE_FILENAME
from mim_bridge.pipeline.totals import StanzaState
from mim_bridge.util.threads import in_thread

__all__ = ["run_dry_run", "run_once", "run_validate"]

log = logging.getLogger(__name__)


async def _prepared(config: Config, pool: NodePool, *, persistent: bool) -> OutgoingReport | None:
    state = StanzaState(config.state_dir / STATE_FILENAME, save=persistent)
    reporter = Reporter(config, pool, state)
    prepared = await reporter.collect()
    if prepared.all_opted_out:
        log.info("no node may be reported; nothing to do")
        return None
    if not prepared.reports:
        log.info("no node to report: %s",
                 "; ".join(f"{n}: {why}" for n, why in prepared.not_reported.items()))
        return None
    return prepared


async def run_once(config: Config) -> int:
    """Collect, write the report file and send, now; exit 6 if GA4 did not take it all."""
    async with sending(config) as run:
        if run is None:
            return 0

        async def once() -> int:
            reporter = Reporter(config, run.pool, StanzaState(config.state_dir / STATE_FILENAME))
            prepared = await reporter.collect()
            if prepared.all_opted_out or not prepared.reports:
                log.info("nothing to report")
                return 0
            reporter.write_file(prepared)
            deliveries = await reporter.send(run.sender, prepared, run.stop)
            reporter.commit(prepared, deliveries)
            if not all(d.ok for d in deliveries.values()):
                from mim_bridge.ga4.sender import describe_problems

                raise SendFailed(
                    f"GA4 did not take the whole report ({describe_problems(deliveries.values())}"
                    f"; spool: {run.sender.spool.directory}); check the network route to the GA4 "
                    "endpoint, or run with -v for details")
            log.info("report sent: %d events from %d node(s), client id %s",
                     len(prepared.events), len(prepared.reports), prepared.client_id.value)
            return 0

        return await interruptible(once(), run.stop.set)


async def run_dry_run(config: Config, out: TextIO = sys.stdout) -> int:
    """Print the request bodies that would be sent; send and write nothing."""
    if config.disabled_by is not None:
        log.warning("reporting is disabled by %s: the service would send nothing; this is "
                    "what it would send if it were enabled", config.disabled_by)
    endpoint = resolve_endpoint(config.ga_url)
    pool = build_pool(config)

    async def dry() -> int:
        prepared = await _prepared(config, pool, persistent=False)
        if prepared is None:
            return 0
        bodies = request_bodies(prepared)
        if config.dry_run_format == "jsonl":
            out.writelines(body.decode("utf-8") + "\n" for body in bodies)
        else:
            out.write(_dry_run_view(config, prepared, endpoint, out))
        out.flush()
        log.info("dry run: %d request(s) of %d events from %d node(s) would go to %s for %s; "
                 "client id %s (%s); the report file would be %s", len(bodies),
                 len(prepared.events), len(prepared.reports), endpoint,
                 ", ".join(d.measurement_id for d in config.destinations),
                 prepared.client_id.value, prepared.client_id.source, config.report_file)
        return 0

    try:
        return await interruptible(dry(), lambda: None)
    finally:
        await pool.close()


def _dry_run_view(config: Config, prepared: OutgoingReport, endpoint: str, out: TextIO) -> str:
    """``--format table`` or ``json``: the same report, per node, for people."""
    # The pages load only when asked for: the default JSON Lines output needs none of them.
    from mim_bridge.app.view.report_page import Outgoing, dry_run_document, dry_run_page
    from mim_bridge.app.view.terminal import Style, wants_colour

    client_id = prepared.client_id.value
    outgoing = Outgoing(client_id, prepared.client_id.source, endpoint,
                        [d.measurement_id for d in config.destinations], config.report_file,
                        [(events, [b.body for b in split_batches(client_id, events).batches])
                         for _, events in prepared.reports])
    if config.dry_run_format == "json":
        return dry_run_document(outgoing)
    return dry_run_page(outgoing, Style(wants_colour(out, os.environ)))


async def run_validate(config: Config, out: TextIO = sys.stdout) -> int:
    """Send the report to GA4's validation server and print its findings (exit 6 if any)."""
    if not reporting_allowed(config, notice=False):
        return 0
    stop = threading.Event()
    sender = build_sender(config, stop)
    pool = build_pool(config)

    async def validate() -> int:
        prepared = await _prepared(config, pool, persistent=False)
        if prepared is None:
            return 0
        findings = 0
        for node, events in prepared.reports:
            try:
                messages = await in_thread(
                    functools.partial(sender.validate, prepared.client_id.value, events),
                    "ga4-validate")
            except DeliveryError as e:
                raise SendFailed(f"the GA4 validation server did not answer ({e}); check the "
                                 "network route to it") from e
            out.writelines(f"{node}: {m}\n" for m in messages)
            findings += len(messages)
            if not messages:
                out.write(f"{node}: {len(events)} events, no validation messages\n")
        out.flush()
        if findings:
            raise SendFailed(f"the GA4 validation server reported {findings} problem(s)")
        return 0

    try:
        return await interruptible(validate(), stop.set)
    finally:
        await pool.close()
        sender.close()
