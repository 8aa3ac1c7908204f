"""Pure payload layer: exact bodies, batches of at most 25, and GA4's limits fixed up front."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mim_bridge.ga4 import split_batches
from mim_bridge.ga4.limits import (
    MAX_BODY_BYTES,
    RESERVED_EVENT_NAMES,
    RESERVED_PARAM_NAMES,
    enforce_limits,
    safe_name,
)
from mim_bridge.vocab.events import Event
from support.fake_ga import validation_messages

CID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"


def stanza_events(n: int) -> list[Event]:
    return [
        Event("xmpp_stanza_count", {"stanza_type": "xmppIqSent", "total": i, "increment": 1})
        for i in range(n)
    ]


def test_body_is_mongooseims_json_byte_for_byte() -> None:
    events = [
        Event("host_count", {"value": 1}),
        Event(
            "cluster",
            {
                "uptime": "0000-00:05:01",
                "version": "6.2.1",
                "component": 0,
                "node_number": 1,
                "config_type": "toml",
            },
        ),
        Event("http_api", {}),
    ]
    (batch,) = split_batches("6c5b-uuid", events).batches
    assert batch.body == (
        b'{"client_id":"6c5b-uuid","events":[{"name":"host_count","params":{"value":1}},'
        b'{"name":"cluster","params":{"uptime":"0000-00:05:01","version":"6.2.1","component":0,'
        b'"node_number":1,"config_type":"toml"}},{"name":"http_api","params":{}}]}'
    )


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, []), (1, [1]), (25, [25]), (26, [25, 1]), (100, [25, 25, 25, 25]), (51, [25, 25, 1])],
)
def test_batches_hold_at_most_25_events_in_order(count: int, sizes: list[int]) -> None:
    events = stanza_events(count)
    prepared = split_batches(CID, events)
    assert [len(b.events) for b in prepared.batches] == sizes
    assert [e for b in prepared.batches for e in b.events] == events
    for batch in prepared.batches:
        assert json.loads(batch.body) == {
            "client_id": CID,
            "events": [e.to_json() for e in batch.events],
        }
    assert prepared.fixes == ()


def test_valid_names_are_untouched() -> None:
    assert safe_name("module_with_opt", RESERVED_EVENT_NAMES) == "module_with_opt"
    assert safe_name("a" * 40, RESERVED_EVENT_NAMES) == "a" * 40


@pytest.mark.parametrize(
    ("name", "reserved", "fixed"),
    [
        ("a" * 41, RESERVED_EVENT_NAMES, "a" * 40),
        ("error", RESERVED_EVENT_NAMES, "x_error"),
        ("Session_Start", RESERVED_EVENT_NAMES, "x_Session_Start"),
        ("my-event.v2", RESERVED_EVENT_NAMES, "my_event_v2"),
        ("2fast", RESERVED_EVENT_NAMES, "x_2fast"),
        ("_internal", RESERVED_EVENT_NAMES, "x__internal"),
        ("ga_thing", RESERVED_PARAM_NAMES, "x_ga_thing"),
        ("session_id", RESERVED_PARAM_NAMES, "x_session_id"),
        ("", RESERVED_PARAM_NAMES, "x_"),
    ],
)
def test_invalid_names_get_a_deterministic_safe_spelling(
    name: str, reserved: frozenset[str], fixed: str
) -> None:
    assert safe_name(name, reserved) == fixed
    assert safe_name(fixed, reserved) == fixed


def test_long_values_are_cut_on_their_url_encoded_length() -> None:
    events, fixes = enforce_limits(
        [Event("cluster", {"version": "v" * 150, "uptime": "é" * 30, "node_number": 10**20})]
    )
    (event,) = events
    assert event.params["version"] == "v" * 100
    assert event.params["uptime"] == "é" * 16  # %C3%A9 is 6 characters
    assert event.params["node_number"] == 10**20
    assert [f.change for f in fixes] == [
        "param version value cut to 100 characters",
        "param uptime value cut to 100 characters",
    ]


def test_renamed_params_that_collide_get_suffixes() -> None:
    (event,), _ = enforce_limits([Event("e", {"a-b": 1, "a.b": 2, "a_b": 3})])
    assert dict(event.params) == {"a_b": 1, "a_b_2": 2, "a_b_3": 3}


def test_events_with_too_many_params_are_split_keeping_their_anchor() -> None:
    params: dict[str, str | int] = {"module": "mod_event_pusher"}
    params.update({f"k{i:02d}": i for i in range(30)})
    events, fixes = enforce_limits([Event("module_with_opt", params)])
    assert [len(e.params) for e in events] == [25, 7]
    assert all(e.params["module"] == "mod_event_pusher" for e in events)
    merged = {k: v for e in events for k, v in e.params.items()}
    assert merged == params
    assert fixes[0].change == "31 params split into 2 events (GA4 takes at most 25 per event)"

    plain, _ = enforce_limits([Event("http_api", {f"api{i}": "enabled" for i in range(60)})])
    assert [len(e.params) for e in plain] == [25, 25, 10]


def test_bodies_stay_under_130kb() -> None:
    fat = [Event("e", {f"p{j:02d}": "v" * 100 for j in range(25)}) for _ in range(25)]
    prepared = split_batches("c" * 80_000, fat)
    assert len(prepared.batches) > 1
    assert all(len(b.body) < MAX_BODY_BYTES for b in prepared.batches)
    assert [e for b in prepared.batches for e in b.events] == fat


def test_fixes_never_quote_values() -> None:
    _, fixes = enforce_limits([Event("error", {"session_id": "secret.example.com" * 10})])
    assert fixes
    assert all("example" not in str(f) for f in fixes)


names = st.text(min_size=0, max_size=60)
values = st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=300))
events_strategy = st.lists(
    st.builds(Event, names, st.dictionaries(names, values, max_size=40)), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(events_strategy)
def test_whatever_goes_in_the_validation_rules_pass(events: list[Event]) -> None:
    prepared = split_batches(CID, events)
    for batch in prepared.batches:
        assert len(batch.events) <= 25
        assert validation_messages(batch.body.decode(), json.loads(batch.body)) == []
    # Nothing is silently lost: every param survives, possibly renamed or cut.
    assert sum(len(e.params) for b in prepared.batches for e in b.events) >= sum(
        len(e.params) for e in events
    )
