"""Report layer: the anonymity gate, the report file and the client id.

Every event that leaves the bridge (in a GA4 request or the report file) passes through
:func:`anonymise` first (the GA4 sender applies :func:`gate` again at send time, to spooled
batches too); :mod:`mim_bridge.vocab.names` holds the names that may appear. Logs do not pass
through it: they must not carry event values at all, and show a MongooseIM version only through
:func:`mim_bridge.vocab.forms.safe_version`.
"""

from mim_bridge.report.anonymise import KNOWN_EVENTS, AnonymisedReport, anonymise, gate
from mim_bridge.report.client_id import (
    DEFAULT_STATE_FILENAME,
    ClientId,
    load_or_create_client_id,
    resolve_client_id,
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
    "gate",
    "load_or_create_client_id",
    "read_report",
    "resolve_client_id",
    "write_report",
]
