"""MongooseIM knowledge: which read-only calls give each report item, for every API generation.

    report = await Collector(conn).collect(previous_totals)       # one node
    cluster = await collect_cluster(get_connection, ["mim@host"])  # every member

Knows nothing of Google Analytics; produces :class:`mim_bridge.events.Event` lists.
"""

from .cluster import ClusterReport, collect_cluster
from .collector import Collector, InVmService, NodeReport
from .crosscheck import CrossCheck, cross_check
from .errors import CollectError, NodeNotReady, NotAllowed, NotMongooseIM
from .readonly import ALLOWED, Call, ReadOnlyNode

__all__ = ["ALLOWED", "Call", "ClusterReport", "CollectError", "Collector", "CrossCheck", "InVmService",
           "NodeNotReady", "NodeReport", "NotAllowed", "NotMongooseIM", "ReadOnlyNode", "collect_cluster", "cross_check"]
