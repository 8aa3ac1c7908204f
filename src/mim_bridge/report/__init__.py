"""Report layer: the anonymity gate, the report file and the client id.

Every event that leaves the bridge (in a GA4 request or the report file) passes through
:func:`anonymise` first; see :mod:`mim_bridge.vocab.names` for the names that may appear. Logs do not pass
through it: they must not carry event values at all, and show a MongooseIM version only through
:func:`safe_version`.
"""

from mim_bridge.report.anonymise import KNOWN_EVENTS, AnonymisedReport, anonymise, safe_version
from mim_bridge.report.client_id import (
    DEFAULT_STATE_FILENAME,
    ClientId,
    load_or_create_client_id,
    resolve_client_id,
    valid_cluster_id,
)
from mim_bridge.report.errors import ClientIdError, ReportError, ReportFileError
from mim_bridge.report.report_file import (
    DEFAULT_REPORT_FILENAME,
    read_report,
    write_report,
)

__all__ = [
    "DEFAULT_REPORT_FILENAME",
    "DEFAULT_STATE_FILENAME",
    "KNOWN_EVENTS",
    "AnonymisedReport",
    "ClientId",
    "ClientIdError",
    "ReportError",
    "ReportFileError",
    "anonymise",
    "load_or_create_client_id",
    "read_report",
    "resolve_client_id",
    "safe_version",
    "valid_cluster_id",
    "write_report",
]
