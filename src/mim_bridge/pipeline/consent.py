"""What the bridge tells the operator about reporting, worded after MongooseIM's own notices.

MongooseIM logs a warning with the phrase "MongooseIM docs" and the privacy-policy URL when the
service is configured without ``report`` (its tests grep for that phrase), says nothing with
``report = true`` and does nothing with ``report = false``. The bridge keeps the same three cases
and the same wording, and adds how to opt out of the bridge itself. Messages are single lines so
that log collectors keep them whole.
"""

from __future__ import annotations

from pathlib import Path

from mim_bridge.vocab.forms import safe_version

__all__ = [
    "GITHUB_URL",
    "PRIVACY_POLICY_URL",
    "all_nodes_opted_out",
    "disabled",
    "double_report",
    "node_opted_out",
    "transparency_notice",
    "ua_era_service",
]

PRIVACY_POLICY_URL = (
    "https://esl.github.io/MongooseDocs/latest/operation-and-maintenance/"
    "System-Metrics-Privacy-Policy/"
)
GITHUB_URL = "https://github.com/esl/MongooseIM"


def transparency_notice(report_file: Path) -> str:
    """The warning logged at start when ``report`` is not set (MongooseIM's text, one line)."""
    return (
        "We are gathering the MongooseIM system's metrics to analyse the trends and needs of our "
        "users, improve MongooseIM, and know where to focus our efforts. For more info on how to "
        "customise, read, enable, and disable these metrics visit: - MongooseIM docs - "
        f"{PRIVACY_POLICY_URL} - MongooseIM GitHub page - {GITHUB_URL} The last sent report is "
        f"also written to a file {report_file} . To stop reporting, set report = false (in "
        "[bridge] or [services.service_mongoose_system_metrics], --report false, "
        "BRIDGE_REPORT=false) or DO_NOT_TRACK=1; to report without this notice, set "
        "report = true."
    )


def disabled(reason: str, *, idle: bool = False) -> str:
    """*idle*: the service stays up (health endpoints answer) instead of exiting."""
    then = ("the service idles until it is stopped" if idle else "the bridge exits")
    return (f"system metrics reporting is disabled by {reason}: nothing is collected or sent; "
            f"{then}")


def all_nodes_opted_out() -> str:
    return ("every node has report = false in its [services.service_mongoose_system_metrics]: "
            "nothing is sent; the service idles until it is stopped (restart it after changing "
            "the nodes' configuration)")


def node_opted_out(node: str) -> str:
    return (f"{node} has report = false in its [services.service_mongoose_system_metrics]: the "
            "bridge honours the node's choice and does not report it")


def _version(version: str | None) -> str:
    """The version as it may be logged: its known shape only (a suffix may name a host)."""
    return safe_version(version) if version else "of unknown version"


def double_report(node: str, version: str | None) -> str:
    return (f"{node} (MongooseIM {_version(version)}) runs its own system-metrics "
            "service, which already reports to Google Analytics 4; the bridge does not report "
            "it twice. Pass --allow-double-report (BRIDGE_ALLOW_DOUBLE_REPORT=true) to report "
            "it anyway")


def ua_era_service(node: str, version: str | None) -> str:
    return (f"{node} (MongooseIM {_version(version)}) runs its own system-metrics service, but it "
            "sends to Universal Analytics, which Google no longer processes; the bridge reports "
            "in its place")
