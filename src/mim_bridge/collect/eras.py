"""Which MongooseIM release era a node runs, told from the modules its release contains.

MongooseIM's system-metrics report changed eleven times between 3.6.0 and 6.8.0
(``shared/reference/mim-as-it-runs.md`` §3). The bridge must know the era before it calls
anything MongooseIM-specific: on a release (interactive code mode) a call into a module the node
does not have makes the code server search the whole code path (~21,000-28,000 reductions on
OTP 25), and a call into a module that exists but is not loaded yet loads it.

So the era comes from two lists the node gives for the price of a BIF, neither of which needs an
atom the node may lack: the ``mongooseim`` application's ``modules`` key (every module the
release's ``.app`` file lists, loaded or not) and ``erlang:loaded()``. Each era is recognised by a
module that first appeared in it (checked with ``git ls-tree`` at every tag), never by the version
string, which may be a bare commit hash. The version is only compared, to warn when they disagree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from mim_bridge.vocab.forms import release_of

__all__ = ["ERAS", "Era", "detect", "era_of_version", "newer_than_known"]


@dataclass(frozen=True, slots=True)
class Era:
    """One span of releases whose collector behaves the same, and what that collector does."""

    name: str          # "3.6", "3.7", "4.0.1", "5.0", "5.1", "6.0", ..., "6.6"
    releases: str      # the releases it covers, for messages
    key: tuple[int, int, int]  # the first release of the era

    # -- what the era's API offers
    @property
    def config_api(self) -> str:
        """``ejabberd_config`` up to 5.0, ``mongoose_config`` from 5.1."""
        return "ejabberd_config" if self.key < (5, 1, 0) else "mongoose_config"

    @property
    def component_api(self) -> str:
        """The module whose ``lookup_component/2`` finds a node's external components."""
        return "mongoose_component" if self.key >= (6, 2, 0) else "ejabberd_router"

    @property
    def c2s_module(self) -> str:
        return "mongoose_c2s_listener" if self.key >= (6, 1, 0) else "ejabberd_c2s"

    # -- which report items the era's collector produces, and how
    @property
    def has_domains(self) -> bool:
        return self.key >= (5, 0, 0)

    @property
    def has_pools(self) -> bool:
        return self.key >= (3, 7, 0)

    @property
    def has_config_type(self) -> bool:
        return self.key >= (4, 0, 1)

    @property
    def sends_empty_items(self) -> bool:
        """6.1+ sends ``http_api``/``transport_mechanism`` with empty params; 3.6-6.0 nothing."""
        return self.key >= (6, 1, 0)

    @property
    def tls_rule(self) -> str:
        """``single`` (3.6-5.0: one struct for all c2s listeners), ``pairs`` (5.1-6.0: one per
        unique pair, sorted), ``pairs_reversed`` (6.1+: the same, prepended by a foldl)."""
        if self.key < (5, 1, 0):
            return "single"
        return "pairs" if self.key < (6, 1, 0) else "pairs_reversed"

    @property
    def service_sends_to_ga4(self) -> bool:
        """Whether the era's own system-metrics service reports to GA4 (6.1+); before, it sends
        to Universal Analytics, which has processed nothing since July 2023."""
        return self.key >= (6, 1, 0)

    @property
    def muc_online_backend(self) -> bool:
        """mod_muc reports ``online_backend`` from 6.2."""
        return self.key >= (6, 2, 0)

    @property
    def http_apis(self) -> frozenset[str]:
        """The collector's HTTP handler allow-list."""
        if self.key < (5, 1, 0):
            return _HTTP_36
        if self.key < (6, 0, 0):
            return _HTTP_51
        return _HTTP_60 if self.key < (6, 6, 0) else _HTTP_66

    @property
    def transport_handlers(self) -> frozenset[str]:
        return (frozenset({"mongoose_bosh_handler", "mongoose_websocket_handler"})
                if self.key >= (6, 6, 0) else frozenset({"mod_bosh", "mod_websockets"}))

    @property
    def stanzas(self) -> str:
        """Where the era's collector counts stanzas: ``none`` (3.6), ``exometer`` (3.7-6.2,
        ``[Prefix, xmppMessageSent]``), ``exometer_c2s`` (6.3, always), ``exometer_if_configured``
        (6.4-6.5: only with ``instrumentation.exometer``), ``instrumentation`` (6.6+:
        prometheus, else exometer, else none)."""
        if self.key < (3, 7, 0):
            return "none"
        if self.key < (6, 3, 0):
            return "exometer"
        if self.key < (6, 4, 0):
            return "exometer_c2s"
        return "exometer_if_configured" if self.key < (6, 6, 0) else "instrumentation"


_HTTP_36 = frozenset({
    "mongoose_api", "mongoose_client_api_rooms_messages", "mongoose_client_api_rooms_users",
    "mongoose_client_api_rooms_config", "mongoose_client_api_rooms",
    "mongoose_client_api_contacts", "mongoose_client_api_messages", "lasse_handler",
    "mongoose_api_admin", "mod_bosh", "mod_websockets", "mod_revproxy"})
_HTTP_51 = frozenset({"mongoose_api", "mongoose_client_api", "mongoose_api_admin",
                      "mongoose_api_client", "mongoose_domain_handler", "mod_bosh",
                      "mod_websockets"})
_HTTP_60 = frozenset({"mongoose_client_api", "mongoose_admin_api", "mod_bosh", "mod_websockets"})
_HTTP_66 = frozenset({"mongoose_bosh_handler", "mongoose_graphql_handler",
                      "mongoose_websocket_handler"})

ERAS: tuple[Era, ...] = (
    Era("3.6", "3.6.0-3.6.2", (3, 6, 0)),
    Era("3.7", "3.7.0-4.0.0", (3, 7, 0)),
    Era("4.0.1", "4.0.1-4.2.0", (4, 0, 1)),
    Era("5.0", "5.0.0-5.0.1", (5, 0, 0)),
    Era("5.1", "5.1.0-5.1.1", (5, 1, 0)),
    Era("6.0", "6.0.0", (6, 0, 0)),
    Era("6.1", "6.1.0", (6, 1, 0)),
    Era("6.2", "6.2.0-6.2.1", (6, 2, 0)),
    Era("6.3", "6.3.0-6.3.3", (6, 3, 0)),
    Era("6.4", "6.4.0-6.5.0", (6, 4, 0)),
    Era("6.6", "6.6.0-6.8.0", (6, 6, 0)),
)
_BY_NAME = {e.name: e for e in ERAS}

# A module that first appears in the era (git ls-tree at every tag 3.6.0-6.8.0), newest first.
_MARKERS: tuple[tuple[str, str], ...] = (
    ("6.6", "service_bosh"),
    ("6.4", "mongoose_instrument_xmpp"),
    ("6.3", "mongoose_instrument"),
    ("6.2", "mongoose_component"),
    ("6.1", "mongoose_c2s"),
    ("6.0", "mongoose_graphql"),
    ("5.1", "mongoose_config"),
    ("5.0", "mongoose_domain_core"),
    ("4.0.1", "mongoose_config_spec"),  # 4.1.0+; 4.0.1 itself: see below
)


def detect(release: Collection[str], loaded: Collection[str]) -> Era | None:
    """The era of a node whose release lists *release* and which has loaded *loaded*.

    None when neither MongooseIM configuration API is there (not MongooseIM, or not yet booted).
    A module counts as present when the release lists it or it is loaded (a release trimmed by
    hand still has what it runs).
    """
    def has(m: str) -> bool:
        return m in release or m in loaded

    if not (has("mongoose_config") or has("ejabberd_config")):
        return None
    for name, marker in _MARKERS:
        if has(marker):
            return _BY_NAME[name]
    # ejabberd_config without mongoose_config_spec: 3.6.0-4.0.1
    if has("mongoose_logs") and not has("mod_http_notification"):
        return _BY_NAME["4.0.1"]  # 4.0.1 dropped mod_http_notification
    return _BY_NAME["3.7"] if has("mongoose_hooks") else _BY_NAME["3.6"]


def era_of_version(version: str | None) -> Era | None:
    """The era a ``X.Y.Z...`` version string belongs to; None if it does not parse."""
    v = release_of(version)
    if v is None:
        return None
    found = None
    for era in ERAS:
        if v >= era.key:
            found = era
    return found


def newer_than_known(version: str | None) -> bool:
    """A release after 6.8, whose report this bridge can only assume unchanged."""
    v = release_of(version)
    return v is not None and v[:2] > (6, 8)
