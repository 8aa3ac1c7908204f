"""One report: collect the cluster, decide which nodes to report, gate, write the file, send.

The steps are separate methods because the command's modes use different subsets: the service
and ``--once`` run them all, ``--dry-run`` stops before writing, ``--validate`` sends to the
validation server instead, ``--check`` only collects. :class:`Reporter` keeps what must survive
from one report to the next: the previous stanza totals, and which notices were already given.

Which nodes are reported follows MongooseIM, where every node runs its own reporter:

* a node whose own configuration says ``report = false`` is not reported (its operator said no);
* a node whose own system-metrics service runs and sends to GA4 (MongooseIM 6.1+) is not
  reported twice unless ``allow_double_report``; a running 3.6-6.0 service sends to Universal
  Analytics, which is dead, so the bridge reports such a node in its place.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from mim_bridge.collect import ClusterReport, NodeReport, collect_cluster
from mim_bridge.config import Config
from mim_bridge.erldist.pool import NodePool
from mim_bridge.ga4 import split_batches
from mim_bridge.pipeline import consent, history
from mim_bridge.pipeline.totals import NodeTotals, StanzaState, uptime_seconds
from mim_bridge.report import (
    DEFAULT_STATE_FILENAME,
    ClientId,
    anonymise,
    resolve_client_id,
    write_report,
)
from mim_bridge.util.threads import in_thread
from mim_bridge.vocab.events import Event

if TYPE_CHECKING:
    from mim_bridge.ga4 import DeliveryReport, Ga4Sender

__all__ = ["Exclusion", "OutgoingReport", "Reporter", "request_bodies"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Collect = Callable[..., Awaitable[ClusterReport]]


class Exclusion(enum.Enum):
    """Why a node that was read is not reported (the value is what the logs say)."""

    OPTED_OUT = "report = false"
    OWN_SERVICE = "its own system-metrics service reports to GA4"


@dataclass
class OutgoingReport:
    """A collected cluster, anonymised and ready to be written and sent."""

    client_id: ClientId
    reports: list[tuple[str, tuple[Event, ...]]]  # (node, events) in sending order
    totals: dict[str, NodeTotals]
    not_reported: dict[str, str] = field(default_factory=dict)  # node -> why
    opted_out: list[str] = field(default_factory=list)
    collected: list[NodeReport] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [e for _, events in self.reports for e in events]

    @property
    def all_opted_out(self) -> bool:
        return bool(self.opted_out) and not self.reports and len(self.opted_out) == len(
            self.collected)


def request_bodies(prepared: OutgoingReport) -> list[bytes]:
    """The exact GA4 request bodies of the report (one per batch of at most 25 events)."""
    return [batch.body for _, events in prepared.reports
            for batch in split_batches(prepared.client_id.value, events).batches]


class Reporter:
    """The report pipeline, with the memory it needs between reports."""

    def __init__(self, config: Config, pool: NodePool, state: StanzaState, *,
                 collect: Collect = collect_cluster) -> None:
        self.config = config
        self.pool = pool
        self.state = state
        self._collect = collect
        self._told: set[tuple[str, str]] = set()  # notices given, so each is logged once

    async def collect(self, *, discover: bool | None = None) -> OutgoingReport:
        """Collect every reachable member and keep what may be reported.

        Raises the collector's errors when no ``--node`` can be read.
        """
        cfg = self.config
        cluster = await self._collect(
            self.pool.get, self.pool.order(cfg.nodes), self.state.previous(),
            discover=cfg.discover if discover is None else discover,
            call_timeout=cfg.call_timeout, concurrency=cfg.node_concurrency)
        await self.pool.keep_only([*cfg.nodes, *(m for r in cluster.nodes for m in r.members),
                                   *(r.node for r in cluster.nodes)])
        client_id = resolve_client_id(cluster.client_id, cfg.state_dir / DEFAULT_STATE_FILENAME)
        prepared = OutgoingReport(client_id, [], {}, dict(cluster.skipped), collected=cluster.nodes)
        for node in cluster.nodes:
            why = self._exclusion(node)
            if why is not None:
                prepared.not_reported[node.node] = why.value
                if why is Exclusion.OPTED_OUT:
                    prepared.opted_out.append(node.node)
                continue
            events = anonymise(node.events).events
            uptime = uptime_seconds(events)
            if self.state.restarted(node.node, node.stanza_totals, uptime):
                log.info("%s restarted since the previous report: stanza increments start "
                         "over from its new totals", node.node)
                events = tuple(_increment_is_total(e) for e in events)
            prepared.reports.append((node.node, events))
            if node.stanza_totals is not None:
                prepared.totals[node.node] = NodeTotals(dict(node.stanza_totals), uptime)
        return prepared

    def write_file(self, prepared: OutgoingReport) -> None:
        """Replace the report file atomically with every reported node's events.

        Raises :class:`~mim_bridge.report.ReportFileError` (one line, naming the file) if it
        cannot be written.
        """
        write_report(self.config.report_file, *(events for _, events in prepared.reports))

    async def send(self, sender: Ga4Sender, prepared: OutgoingReport,
                   stopping: threading.Event) -> dict[str, DeliveryReport]:
        """Deliver each node's events (spool first, oldest first) under the cluster's client id.

        Returns the delivery of every node handed to the sender; once *stopping* is set no
        further node is started (its totals are then not committed, so nothing is skipped).
        What was sent and what GA4 answered goes to the transparency log (:mod:`.history`).
        """
        client_id = prepared.client_id.value

        def work() -> dict[str, DeliveryReport]:
            out: dict[str, DeliveryReport] = {}
            for node, events in prepared.reports:
                if stopping.is_set():
                    break
                log.debug("sending %d events of %s", len(events), node)
                out[node] = sender.send(client_id, events)
            history.record(self.config, client_id, prepared.reports, out,
                           [d.measurement_id for d in sender.destinations])
            return out

        return await in_thread(work, "ga4-send")

    def commit(self, prepared: OutgoingReport, nodes: Iterable[str]) -> None:
        """These nodes' reports are written and spooled: their totals become the previous ones."""
        self.state.update({n: prepared.totals[n] for n in nodes if n in prepared.totals})

    def _exclusion(self, node: NodeReport) -> Exclusion | None:
        service = node.service
        if service.configured and service.report is False:
            self._tell_once("opted_out", node.node, consent.node_opted_out(node.node))
            return Exclusion.OPTED_OUT
        if service.running and node.era.service_sends_to_ga4:
            if not self.config.allow_double_report:
                self._tell_once("double", node.node,
                                consent.double_report(node.node, node.version))
                return Exclusion.OWN_SERVICE
        elif service.running:
            self._tell_once("ua", node.node, consent.ua_era_service(node.node, node.version),
                            logging.INFO)
        if self._told & {("double", node.node), ("opted_out", node.node)}:
            self._told -= {("double", node.node), ("opted_out", node.node)}
            log.info("reporting %s again: nothing else reports it now", node.node)
        return None

    def _tell_once(self, kind: str, node: str, message: str, level: int = logging.WARNING
                   ) -> None:
        if (kind, node) not in self._told:
            self._told.add((kind, node))
            log.log(level, "%s", message)


def _increment_is_total(event: Event) -> Event:
    if event.name != "xmpp_stanza_count" or "total" not in event.params:
        return event
    return Event(event.name, {**event.params, "increment": event.params["total"]})
