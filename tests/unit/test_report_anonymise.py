"""The anonymity gate: what passes, what is replaced, what is dropped or counted."""

from __future__ import annotations

import logging

import pytest

from mim_bridge.report import anonymise
from mim_bridge.report.anonymise import KNOWN_EVENTS
from mim_bridge.vocab import names as allowlist
from mim_bridge.vocab.events import Event

# MongooseIM 6.2.1's own collect output (shared/reference/observed-mim-6.2.1.txt).
MIM_621_REPORT = [
    Event("host_count", {"value": 1}),
    Event("domain_count", {"value": 1}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_bosh"}),
    Event("module_with_opt", {"module": "mod_disco"}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_last"}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_muc_light"}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_offline"}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_private"}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_roster"}),
    Event("module_with_opt", {"backend": "mnesia", "module": "mod_vcard"}),
    Event("custom_module_count", {"value": 2}),
    Event(
        "cluster",
        {
            "component": 0,
            "config_type": "toml",
            "node_number": 1,
            "uptime": "0000-00:00:51",
            "version": "6.2.1",
        },
    ),
    Event("http_api", {"mod_bosh": "enabled", "mod_websockets": "enabled"}),
    Event(
        "transport_mechanism",
        {"mod_bosh": "enabled", "mod_websockets": "enabled", "tcp": "enabled"},
    ),
    Event("tls_option", {"mode": "starttls", "module": "fast_tls"}),
    *(
        Event("xmpp_stanza_count", {"increment": 0, "stanza_type": t, "total": 0})
        for t in allowlist.STANZA_TYPES
    ),
]


def test_a_real_mongooseim_report_passes_unchanged() -> None:
    result = anonymise(MIM_621_REPORT)
    assert list(result.events) == MIM_621_REPORT
    assert (result.dropped_events, result.dropped_params, result.replaced_values) == (0, 0, 0)


def test_the_gate_is_idempotent() -> None:
    once = anonymise([*MIM_621_REPORT, Event("module_with_opt", {"module": "mod_acme"})]).events
    assert anonymise(once).events == once


def test_unknown_event_names_are_dropped() -> None:
    result = anonymise([Event("acme_internal", {"value": 1}), Event("host_count", {"value": 3})])
    assert result.events == (Event("host_count", {"value": 3}),)
    assert result.dropped_events == 1


def test_custom_modules_are_counted_not_named() -> None:
    events = [
        Event("module_with_opt", {"module": "mod_acme_billing", "backend": "rdbms"}),
        Event(
            "module_with_opt", {"module": "mod_acme_billing", "backend": "rdbms"}
        ),  # 2nd host type
        Event("module_with_opt", {"module": "mod_secret_sauce"}),
        Event("module_with_opt", {"module": "mod_vcard", "backend": "rdbms"}),
        Event("custom_module_count", {"value": 2}),
    ]
    result = anonymise(events)
    assert result.events == (
        Event("module_with_opt", {"module": "mod_vcard", "backend": "rdbms"}),
        Event("custom_module_count", {"value": 4}),
    )
    assert result.custom_modules == 2


def test_a_custom_module_count_is_created_after_the_modules_when_missing() -> None:
    result = anonymise(
        [
            Event("host_count", {"value": 1}),
            Event("module_with_opt", {"module": "mod_roster", "backend": "mnesia"}),
            Event("module_with_opt", {"module": "mod_private_thing"}),
            Event("cluster", {"node_number": 1}),
        ]
    )
    assert [e.name for e in result.events] == [
        "host_count",
        "module_with_opt",
        "custom_module_count",
        "cluster",
    ]
    assert result.events[2].params == {"value": 1}


def test_gen_mod_only_open_source_modules_may_be_named() -> None:
    event = Event("module_with_opt", {"module": "mod_presence"})
    assert anonymise([event]).events == (event,)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            Event("module_with_opt", {"module": "mod_vcard", "backend": "acme_ldap_cluster"}),
            Event("module_with_opt", {"module": "mod_vcard", "backend": "other"}),
        ),
        (
            Event(
                "module_with_opt",
                {"module": "mod_muc", "backend": "rdbms", "online_backend": "cets"},
            ),
            Event(
                "module_with_opt",
                {"module": "mod_muc", "backend": "rdbms", "online_backend": "cets"},
            ),
        ),
        (
            Event(
                "module_with_opt", {"module": "mod_push_service_mongoosepush", "api_version": "v3"}
            ),
            Event(
                "module_with_opt", {"module": "mod_push_service_mongoosepush", "api_version": "v3"}
            ),
        ),
        (
            Event(
                "module_with_opt",
                {
                    "module": "mod_push_service_mongoosepush",
                    "api_version": "https://push.example.com",
                },
            ),
            Event(
                "module_with_opt",
                {"module": "mod_push_service_mongoosepush", "api_version": "other"},
            ),
        ),
        (
            Event(
                "module_with_opt",
                {"module": "mod_mam", "db_pool": "acme_pool", "host": "x.example"},
            ),
            Event("module_with_opt", {"module": "mod_mam"}),
        ),
        (
            Event("cluster", {"version": "6.2.1-17-g0abc123", "uptime": "0003-07:15:09"}),
            Event("cluster", {"version": "6.2.1-17-g0abc123", "uptime": "0003-07:15:09"}),
        ),
        (
            Event("cluster", {"version": "6.3.0-rc1"}),
            Event("cluster", {"version": "6.3.0-rc1"}),
        ),
        (
            Event("cluster", {"version": "6.2.1-17-g0abc123-dirty"}),
            Event("cluster", {"version": "6.2.1-17-g0abc123-dirty"}),
        ),
        (
            Event("cluster", {"version": "6.2.1-acme-build.mim-1.corp.example"}),
            Event("cluster", {"version": "6.2.1"}),
        ),
        (
            Event("cluster", {"version": "0abc123"}),
            Event("cluster", {"version": "unknown"}),
        ),
        (
            Event(
                "cluster", {"version": "mim.example.com", "uptime": "since monday", "component": -1}
            ),
            Event("cluster", {"version": "unknown"}),
        ),
        (
            Event("cluster", {"config_type": "/etc/acme/mongooseim.yaml", "node_number": True}),
            Event("cluster", {"config_type": "unknown_config_type"}),
        ),
        (
            Event(
                "http_api", {"mongoose_graphql_handler": "enabled", "acme_admin_handler": "enabled"}
            ),
            Event("http_api", {"mongoose_graphql_handler": "enabled"}),
        ),
        (
            Event("transport_mechanism", {"tcp": "enabled", "mod_bosh": "yes please"}),
            Event("transport_mechanism", {"tcp": "enabled"}),
        ),
        (Event("http_api", {}), Event("http_api", {})),
        (
            Event("tls_option", {"mode": "acme_tls", "module": "/opt/acme/tls.so"}),
            Event("tls_option", {"mode": "other", "module": "other"}),
        ),
        (  # MongooseIM 3.6-5.0: c2s listeners without a TLS mode
            Event("tls_option", {"mode": "none", "module": "none"}),
            Event("tls_option", {"mode": "none", "module": "none"}),
        ),
        (
            Event("outgoing_pool", {"value": "acme_queue"}),
            Event("outgoing_pool", {"value": "other"}),
        ),
        (Event("outgoing_pool", {"value": "rdbms"}), Event("outgoing_pool", {"value": "rdbms"})),
        (
            Event("xmpp_stanza_count", {"stanza_type": "xmppIqSent", "total": 5, "increment": -2}),
            Event("xmpp_stanza_count", {"stanza_type": "xmppIqSent", "total": 5, "increment": -2}),
        ),
    ],
)
def test_values_off_the_allowlist_are_neutralised(event: Event, expected: Event) -> None:
    assert anonymise([event]).events == (expected,)


@pytest.mark.parametrize(
    "event",
    [
        Event("host_count", {"value": "three"}),
        Event("host_count", {}),
        Event("domain_count", {"value": -1}),
        Event("outgoing_pool", {}),
        Event("xmpp_stanza_count", {"stanza_type": "alice@example.com", "total": 1}),
        Event("module_with_opt", {"backend": "mnesia"}),
    ],
)
def test_events_missing_their_required_param_are_dropped(event: Event) -> None:
    result = anonymise([event])
    assert result.events == ()
    assert result.dropped_events == 1


def test_only_one_custom_module_count_survives() -> None:
    result = anonymise(
        [Event("custom_module_count", {"value": 1}), Event("custom_module_count", {"value": 1})]
    )
    assert result.events == (Event("custom_module_count", {"value": 1}),)


def test_logs_name_keys_of_known_events_never_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mim_bridge.report")
    anonymise(
        [
            Event("cluster", {"version": "xmpp.secret-corp.example"}),
            Event("http_api", {"secret_corp_api": "enabled"}),
            Event("secret_corp_event", {"value": 1}),
            Event("module_with_opt", {"module": "mod_secret_corp"}),
            Event("module_with_opt", {"module": "mod_vcard", "secret_corp_key": 1}),
        ]
    )
    text = caplog.text
    assert "cluster.version" in text
    assert "secret" not in text.lower()


def test_allowlists_are_plain_identifiers() -> None:
    for name in allowlist.ALL_NAMES:
        assert name.replace("_", "").isalnum(), name
    assert "module_with_opt" in KNOWN_EVENTS
    assert {"mod_vcard", "mod_pubsub_old", "mod_broadcast", "mod_mam_meta"} <= allowlist.OSS_MODULES


EXPECTED = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "expected"


@pytest.mark.parametrize("profile", sorted(p.stem for p in EXPECTED.glob("*.json")))
def test_the_gate_lets_every_eras_expected_report_through_unchanged(profile: str) -> None:
    """MongooseIM's own vocabulary of every era (3.6's tls_option none/none, 6.6's handler
    names, ...) is public; only custom modules are folded into the count (the custom profile)."""
    import json
    events = [Event.from_json(e) for e in json.loads((EXPECTED / f"{profile}.json").read_text())]
    events = [Event(e.name, {k: ("0000-00:00:00" if v == "<uptime>" else v)
                             for k, v in e.params.items()}) for e in events]
    assert anonymise(events).events == tuple(events)
