"""The names that may leave the machine: known open-source MongooseIM vocabulary, and nothing else.

MongooseIM only reports names that belong to its open-source code base (see the privacy policy:
"We only report the names of known modules and APIs that are part of opensource"). The lists below
were taken from the MongooseIM repository across every release that has system metrics, 3.6.0
through 6.8.0 (``git grep 'behaviou?r(mongoose_module_metrics|gen_mod)' <tag> -- src``, the
collectors' API allow-lists, ``mongoose_wpool:pool_type()``, the backend modules that exist next
to each module). Anything not listed here is treated as private by :mod:`.anonymise`: counted or
replaced by a neutral token, never passed through. Adding a name is a deliberate, reviewed act.
"""

from __future__ import annotations

__all__ = ["ALL_NAMES", "BACKENDS", "CONFIG_TYPES", "GEN_MOD_ONLY_MODULES", "HTTP_APIS",
           "METRICS_MODULES", "MODULE_OPTION_KEYS", "NEUTRAL_TOKEN", "OSS_MODULES", "POOL_TYPES",
           "STANZA_TYPES", "TLS_MODES", "TLS_MODULES", "TRANSPORTS"]

# Modules that implement the ``mongoose_module_metrics`` behaviour in some release 3.6.0-6.8.0.
# These are the modules MongooseIM itself reports in ``module_with_opt`` events.
METRICS_MODULES: frozenset[str] = frozenset(
    (
        "mod_adhoc",
        "mod_amp",
        "mod_auth_token",
        "mod_blocking",
        "mod_bosh",
        "mod_broadcast",
        "mod_caps",
        "mod_carboncopy",
        "mod_commands",
        "mod_csi",
        "mod_disco",
        "mod_event_pusher",
        "mod_event_pusher_hook_translator",
        "mod_event_pusher_http",
        "mod_event_pusher_push",
        "mod_event_pusher_rabbit",
        "mod_global_distrib",
        "mod_global_distrib_bounce",
        "mod_global_distrib_disco",
        "mod_global_distrib_hosts_refresher",
        "mod_global_distrib_mapping",
        "mod_global_distrib_receiver",
        "mod_global_distrib_sender",
        "mod_http_notification",
        "mod_http_upload",
        "mod_inbox",
        "mod_jingle_sip",
        "mod_keystore",
        "mod_last",
        "mod_mam",
        "mod_mam_cache_user",
        "mod_mam_cassandra_arch",
        "mod_mam_elasticsearch_arch",
        "mod_mam_meta",
        "mod_mam_muc_rdbms_arch",
        "mod_mam_pm",
        "mod_mam_rdbms_arch",
        "mod_mam_rdbms_async_pool_writer",
        "mod_mam_riak_timed_arch_yz",
        "mod_muc",
        "mod_muc_commands",
        "mod_muc_light",
        "mod_muc_light_commands",
        "mod_muc_log",
        "mod_offline",
        "mod_offline_chatmarkers",
        "mod_offline_stub",
        "mod_ping",
        "mod_privacy",
        "mod_private",
        "mod_pubsub",
        "mod_pubsub_old",
        "mod_push_service_mongoosepush",
        "mod_register",
        "mod_revproxy",
        "mod_roster",
        "mod_shared_roster_ldap",
        "mod_sic",
        "mod_stream_management",
        "mod_time",
        "mod_vcard",
        "mod_version",
        "service_translations",
    )
)

# Open-source ``gen_mod`` modules without the metrics behaviour (MongooseIM counts them as
# "custom"). They are public names, so a collector that reports one by name leaks nothing.
GEN_MOD_ONLY_MODULES: frozenset[str] = frozenset(
    (
        "mod_aws_sns",
        "mod_bind2",
        "mod_blocklist",
        "mod_cache_users",
        "mod_domain_isolation",
        "mod_dynamic_domains_test",
        "mod_event_pusher_sns",
        "mod_extdisco",
        "mod_external_filter",
        "mod_fast_auth_token",
        "mod_global_distrib_utils",
        "mod_inbox_commands",
        "mod_mam_cassandra_prefs",
        "mod_mam_mnesia_prefs",
        "mod_mam_muc",
        "mod_mam_muc_cassandra_arch",
        "mod_mam_muc_elasticsearch_arch",
        "mod_mam_muc_rdbms_arch_async",
        "mod_mam_rdbms_arch_async",
        "mod_mam_rdbms_prefs",
        "mod_mam_rdbms_user",
        "mod_muc_light_cache",
        "mod_presence",
        "mod_sasl2",
        "mod_smart_markers",
        "mod_stanzaid",
    )
)

OSS_MODULES: frozenset[str] = METRICS_MODULES | GEN_MOD_ONLY_MODULES

# Values of the ``backend`` / ``online_backend`` options: the suffixes of the backend modules
# that ship with MongooseIM (``mod_vcard_ldap`` -> ``ldap``), the event pusher sub-backends,
# and the 3.x ``push_<db>`` forms.
BACKENDS: frozenset[str] = frozenset(
    (
        "mnesia",
        "rdbms",
        "rdbms_async",
        "cets",
        "riak",
        "cassandra",
        "elasticsearch",
        "ldap",
        "redis",
        "s3",
        "mysql",
        "odbc",
        "file",
        "push",
        "http",
        "sns",
        "rabbit",
        "push_mnesia",
        "push_rdbms",
        "push_cets",
    )
)

# Option keys that ``config_metrics/1`` of an open-source module reports.
MODULE_OPTION_KEYS: frozenset[str] = frozenset({"backend", "online_backend", "api_version"})

# Handler modules each collector generation allows in ``http_api`` (3.6-5.0, 5.1, 6.0-6.5, 6.6+).
HTTP_APIS: frozenset[str] = frozenset(
    (
        "mongoose_api",
        "mongoose_client_api_rooms_messages",
        "mongoose_client_api_rooms_users",
        "mongoose_client_api_rooms_config",
        "mongoose_client_api_rooms",
        "mongoose_client_api_contacts",
        "mongoose_client_api_messages",
        "lasse_handler",
        "mongoose_api_admin",
        "mod_bosh",
        "mod_websockets",
        "mod_revproxy",
        "mongoose_client_api",
        "mongoose_api_client",
        "mongoose_domain_handler",
        "mongoose_admin_api",
        "mongoose_bosh_handler",
        "mongoose_graphql_handler",
        "mongoose_websocket_handler",
    )
)

TRANSPORTS: frozenset[str] = frozenset(
    {"tcp", "mod_bosh", "mod_websockets", "mongoose_bosh_handler", "mongoose_websocket_handler"}
)

# ``none`` is what MongooseIM 3.6-5.0 sends for both when its c2s listeners have no TLS mode.
TLS_MODES: frozenset[str] = frozenset({"tls", "starttls", "starttls_required", "none"})
TLS_MODULES: frozenset[str] = frozenset({"fast_tls", "just_tls", "none"})

# ``mongoose_wpool:pool_type()`` across 3.7-6.8.
POOL_TYPES: frozenset[str] = frozenset(
    {"redis", "riak", "http", "rdbms", "cassandra", "elastic", "generic", "rabbit", "ldap"}
)

# In the order MongooseIM reports them.
STANZA_TYPES: tuple[str, ...] = (
    "xmppMessageSent",
    "xmppMessageReceived",
    "xmppIqSent",
    "xmppIqReceived",
    "xmppPresenceSent",
    "xmppPresenceReceived",
)

CONFIG_TYPES: frozenset[str] = frozenset({"toml", "cfg", "unknown_config_type"})

# What a rejected free-form value becomes when the param itself is worth keeping.
NEUTRAL_TOKEN = "other"

ALL_NAMES: frozenset[str] = (
    OSS_MODULES
    | BACKENDS
    | MODULE_OPTION_KEYS
    | HTTP_APIS
    | TRANSPORTS
    | TLS_MODES
    | TLS_MODULES
    | POOL_TYPES
    | frozenset(STANZA_TYPES)
    | CONFIG_TYPES
)
"""Every name this module allows; handy for tests and for ``--dry-run`` explanations."""
