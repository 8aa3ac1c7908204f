"""MongooseIM knowledge: which read-only calls give each report item, for every API generation.

    report = await Collector(conn).collect(previous_totals)       # one node
    cluster = await collect_cluster(get_connection, ["mim@host"])  # every member

Knows nothing of Google Analytics; produces :class:`mim_bridge.vocab.events.Event` lists.
"""

from mim_bridge.collect.cluster import ClusterReport, collect_cluster
from mim_bridge.collect.collector import Collector, InVmService, NodeReport
from mim_bridge.collect.crosscheck import CrossCheck, cross_check
from mim_bridge.collect.errors import CollectError, NodeNotReady, NotAllowed, NotMongooseIM
from mim_bridge.collect.readonly import ALLOWED, Call, ReadOnlyNode

__all__ = ["ALLOWED", "Call", "ClusterReport", "CollectError", "Collector", "CrossCheck",
           "InVmService", "NodeNotReady", "NodeReport", "NotAllowed", "NotMongooseIM",
           "ReadOnlyNode", "collect_cluster", "cross_check"]
