"""The pure report items against what real MongooseIM nodes returned (shared/reference/observed-*),
and the rules of each release era (shared/reference/mim-as-it-runs.md §3).

The raw terms below are transcribed from the observed RPC results of a real 6.2.1 node and a real
4.2.0 node; the expected events are those nodes' own collector output in GA4 form.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mim_bridge.collect import items
from mim_bridge.collect.eras import ERAS, Era
from mim_bridge.erldist import Atom as A
from mim_bridge.erldist import ImproperList
from mim_bridge.vocab.events import Event

ERA = {e.name: e for e in ERAS}

STANZAS0 = {t: 0 for t in ("xmppMessageSent", "xmppMessageReceived", "xmppIqSent",
                           "xmppIqReceived", "xmppPresenceSent", "xmppPresenceReceived")}

# mongoose_config:get_opt(listen) on the real 6.2.1 node (irrelevant keys left out).
LISTEN_621 = [
    {A("module"): A("mongoose_c2s_listener"), A("port"): 5222, A("proto"): A("tcp"),
     A("ip_address"): "127.0.0.1", A("ip_tuple"): (127, 0, 0, 1),
     A("tls"): {A("certfile"): "/opt/mongooseim/priv/ssl/fake_server.pem",
                A("mode"): A("starttls"), A("module"): A("fast_tls")}},
    {A("module"): A("ejabberd_cowboy"), A("port"): 5280, A("proto"): A("tcp"),
     A("handlers"): [{A("host"): A("_"), A("module"): A("mod_bosh"), A("path"): "/http-bind"},
                     {A("host"): A("_"), A("module"): A("mod_websockets"),
                      A("path"): "/ws-xmpp"}]},
]

# ejabberd_config:get_local_option(listen) on the real 4.2.0 node.
LISTEN_420 = [
    ((5252, (127, 0, 0, 1), A("tcp")), A("ejabberd_c2s"),
     [(A("access"), A("c2s")), (A("max_stanza_size"), 65536), (A("shaper"), A("c2s_shaper")),
      (A("certfile"), "/opt/mongooseim/priv/ssl/fake_server.pem"), A("starttls")]),
    ((5310, (127, 0, 0, 1), A("tcp")), A("ejabberd_cowboy"),
     [(A("modules"), [("_", "/http-bind", A("mod_bosh"), []),
                      ("_", "/ws-xmpp", A("mod_websockets"), [])]),
      (A("transport_options"), [(A("max_connections"), 1024), (A("num_acceptors"), 10)])]),
]

LOADED = ["mod_bosh", "mod_disco", "mod_last", "mod_muc_light", "mod_offline", "mod_ping",
          "mod_presence", "mod_private", "mod_roster", "mod_vcard"]
WITH_BACKEND = {"mod_bosh", "mod_last", "mod_muc_light", "mod_offline", "mod_private",
                "mod_roster", "mod_vcard"}


def _data(listen: object, loaded: list[str], domain_count: int | None,
          era: Era = ERA["6.2"]) -> items.NodeData:
    behaviours = {m: {"gen_mod", "mongoose_module_metrics"} for m in loaded}
    behaviours["mod_ping"] = {"gen_mod"}
    behaviours["mod_presence"] = {"gen_mod"}
    cm = {("localhost", m): [(A("backend"), A("mnesia"))] for m in WITH_BACKEND}
    cm[("localhost", "mod_disco")] = None  # no config_metrics/1 exported
    return items.NodeData(
        era=era, host_types=["localhost"], domain_count=domain_count,
        loaded={"localhost": loaded}, behaviours=behaviours, config_metrics=cm,
        uptime_ms=51283, version="6.2.1", components=0, node_number=1,
        config_path="/opt/mongooseim/etc/mongooseim.toml",
        listeners=items.listeners(listen), pools=[], stanza_totals=dict(STANZAS0))


def _expected(custom: int, domain_count: int | None) -> list[Event]:
    ev = [Event("host_count", {"value": 1})]
    if domain_count is not None:
        ev.append(Event("domain_count", {"value": domain_count}))
    for m in sorted(WITH_BACKEND | {"mod_disco"}):
        ev.append(Event("module_with_opt", {"module": m, "backend": "mnesia"}
                        if m in WITH_BACKEND else {"module": m}))
    ev += [
        Event("custom_module_count", {"value": custom}),
        Event("cluster", {"uptime": "0000-00:00:51", "version": "6.2.1", "component": 0,
                          "node_number": 1, "config_type": "toml"}),
        Event("http_api", {"mod_bosh": "enabled", "mod_websockets": "enabled"}),
        Event("transport_mechanism", {"mod_bosh": "enabled", "mod_websockets": "enabled",
                                      "tcp": "enabled"}),
        Event("tls_option", {"mode": "starttls", "module": "fast_tls"}),
    ]
    ev += [Event("xmpp_stanza_count", {"stanza_type": t, "total": 0, "increment": 0})
           for t in STANZAS0]
    return ev


def test_real_621_node_report_is_reproduced() -> None:
    got = items.events(_data(LISTEN_621, LOADED, 1), None)
    assert got == _expected(custom=2, domain_count=1)


def test_real_420_node_shapes_give_the_same_events() -> None:
    loaded = [m for m in LOADED if m != "mod_presence"]
    got = items.events(_data(LISTEN_420, loaded, None, ERA["4.0.1"]), None)
    assert got == _expected(custom=1, domain_count=None)


def test_module_repeated_per_host_type_and_none_pairs_dropped() -> None:
    d = _data(LISTEN_621, ["mod_vcard"], 2)
    d.host_types = ["a", "b"]
    d.loaded = {"a": ["mod_vcard"], "b": []}
    d.config_metrics = {("a", "mod_vcard"): [(A("backend"), A("rdbms"))],
                        ("b", "mod_vcard"): [(A("none"), A("none"))]}
    mods = [e for e in items.events(d, None) if e.name == "module_with_opt"]
    assert mods == [Event("module_with_opt", {"module": "mod_vcard", "backend": "rdbms"}),
                    Event("module_with_opt", {"module": "mod_vcard"})]


def test_event_pusher_fold_keeps_last_backend_and_binary_values_become_text() -> None:
    assert items.module_params("mod_event_pusher", [(A("backend"), A("push")),
                                                    (A("backend"), A("sns"))]) == {
        "module": "mod_event_pusher", "backend": "sns"}
    assert items.module_params("mod_push_service_mongoosepush", [(A("api_version"), b"v3")]) \
        == {"module": "mod_push_service_mongoosepush", "api_version": "v3"}
    # before 5.1 the failure value is a bare tuple
    assert items.module_params("mod_x", (A("none"), A("none"))) == {"module": "mod_x"}


def test_increments_against_previous_totals() -> None:
    totals = dict(STANZAS0, xmppMessageSent=7, xmppIqSent=3)
    prev = dict(STANZAS0, xmppMessageSent=5)
    ev = {e.params["stanza_type"]: e.params for e in items.stanza_events(totals, prev)}
    assert ev["xmppMessageSent"] == {"stanza_type": "xmppMessageSent", "total": 7,
                                     "increment": 2}
    assert ev["xmppIqSent"]["increment"] == 3  # 3 - 0
    first = {e.params["stanza_type"]: e.params for e in items.stanza_events(totals, None)}
    assert first["xmppIqSent"]["increment"] == 3


def test_uptime_and_config_type_formats() -> None:
    from mim_bridge.vocab.forms import format_uptime, uptime_seconds
    assert format_uptime(0) == "0000-00:00:00"
    assert format_uptime((3 * 86400 + 7 * 3600 + 15 * 60 + 9) * 1000 + 999) == "0003-07:15:09"
    assert uptime_seconds("0003-07:15:09") == 3 * 86400 + 7 * 3600 + 15 * 60 + 9
    assert items.config_type("/etc/mongooseim.toml") == "toml"
    assert items.config_type("/etc/mongooseim.cfg") == "cfg"
    assert items.config_type("/etc/mongooseim") == "unknown_config_type"
    assert items.config_type(None) == "unknown_config_type"


def test_tls_pairs_are_unique_and_reversed_and_absent_without_module() -> None:
    def c2s(mode: str, module: str | None) -> dict[A, object]:
        tls = {A("mode"): A(mode)}
        if module:
            tls[A("module")] = A(module)
        return {A("module"): A("mongoose_c2s_listener"), A("proto"): A("tcp"), A("tls"): tls}

    ls = items.listeners([c2s("starttls", "fast_tls"), c2s("tls", "just_tls"),
                          c2s("starttls", "fast_tls")])
    assert items.tls_options(ls, ERA["6.1"]) == [("tls", "just_tls"), ("starttls", "fast_tls")]
    # MongooseIM 6.4+ has no module key: no tls_option event, like MongooseIM itself
    assert items.tls_options(items.listeners([c2s("starttls", None)]), ERA["6.4"]) == []


# ---------------------------------------------------------------------------- era rules

def _tuple_c2s(*opts: object, port: int = 5222) -> tuple[object, ...]:
    return ((port, (127, 0, 0, 1), A("tcp")), A("ejabberd_c2s"), list(opts))


def _cowboy(*handlers: str) -> tuple[object, ...]:
    return ((5280, (127, 0, 0, 1), A("tcp")), A("ejabberd_cowboy"),
            [(A("modules"), [("_", "/p", A(h), []) for h in handlers])])


@pytest.mark.parametrize("era", ["3.6", "3.7", "4.0.1", "5.0"])
def test_before_51_one_tls_struct_for_all_c2s_listeners(era: str) -> None:
    """The first of starttls, starttls_required, tls in all c2s options; just_tls if any listener
    says so; none/none when no mode is found; nothing without a c2s listener with options."""
    e = ERA[era]
    two = items.listeners([_tuple_c2s(A("tls"), port=1),
                           _tuple_c2s(A("starttls"), (A("tls_module"), A("just_tls")), port=2)])
    assert items.tls_options(two, e) == [("starttls", "just_tls")]
    plain = items.listeners([_tuple_c2s((A("access"), A("c2s")))])
    assert items.tls_options(plain, e) == [("none", "none")]
    assert items.tls_options(items.listeners([_tuple_c2s()]), e) == []
    assert items.tls_options([], e) == []


def test_51_to_60_tls_pairs_sorted_not_reversed() -> None:
    def c2s(mode: str, module: str) -> dict[A, object]:
        return {A("module"): A("ejabberd_c2s"), A("proto"): A("tcp"),
                A("tls"): {A("mode"): A(mode), A("module"): A(module)}}
    ls = items.listeners([c2s("starttls", "fast_tls"), c2s("tls", "just_tls")])
    assert items.tls_options(ls, ERA["5.1"]) == [("starttls", "fast_tls"), ("tls", "just_tls")]


@pytest.mark.parametrize("era,sent", [("3.6", False), ("5.1", False), ("6.0", False),
                                      ("6.1", True), ("6.6", True)])
def test_empty_http_api_and_transport_are_sent_from_61_only(era: str, sent: bool) -> None:
    d = _data([], [], 1, ERA[era])
    names = [e.name for e in items.events(d, None)]
    assert ("http_api" in names) is sent and ("transport_mechanism" in names) is sent


def test_36_has_no_pools_stanzas_or_config_type_and_37_no_config_type() -> None:
    d = _data(LISTEN_420, LOADED, None, ERA["3.6"])
    d.pools, d.stanza_totals = ["rdbms"], None
    ev = items.events(d, None)
    assert not [e for e in ev if e.name in ("outgoing_pool", "xmpp_stanza_count")]
    assert "config_type" not in next(e for e in ev if e.name == "cluster").params
    d.era = ERA["3.7"]
    ev = items.events(d, None)
    assert [e.params for e in ev if e.name == "outgoing_pool"] == [{"value": "rdbms"}]
    assert "config_type" not in next(e for e in ev if e.name == "cluster").params
    d.era = ERA["4.0.1"]
    assert next(e for e in items.events(d, None) if e.name == "cluster").params["config_type"] \
        == "toml"


def test_before_51_transport_reads_the_first_modules_entry_only() -> None:
    ls = items.listeners([_cowboy("mod_bosh"), _cowboy("mod_websockets", "mongoose_api_admin"),
                          _tuple_c2s(A("starttls"))])
    assert items.transports(ls, ERA["4.0.1"]) == {"mod_bosh": "enabled", "tcp": "enabled"}
    assert items.api_handlers(ls, ERA["4.0.1"]) == ["mod_bosh", "mod_websockets",
                                                      "mongoose_api_admin"]


@pytest.mark.parametrize("era,expected", [
    ("5.1", ["mod_bosh", "mongoose_client_api"]),
    ("6.0", ["mod_bosh", "mongoose_client_api"]),
    ("6.6", ["mongoose_graphql_handler", "mongoose_websocket_handler"]),
])
def test_http_allow_list_per_era(era: str, expected: list[str]) -> None:
    handlers = ["mod_bosh", "mongoose_client_api", "mongoose_graphql_handler",
                "mongoose_websocket_handler", "mongoose_domain_handler_x"]
    ls = items.listeners([{A("module"): A("ejabberd_cowboy"), A("proto"): A("tcp"),
                           A("handlers"): [{A("module"): A(h)} for h in handlers]}])
    assert items.api_handlers(ls, ERA[era]) == expected


def test_behaviours_follow_keyfind_semantics() -> None:
    attrs = [(A("vsn"), [1]), (A("ignore_xref"), [A("gen_mod")]),
             (A("behaviour"), [A("gen_mod")]), (A("behavior"), [A("mongoose_module_metrics")])]
    # MongooseIM's keyfind([gen_mod], 2, Attrs) finds ignore_xref first: not a gen_mod
    assert items.behaviours(attrs) == {"mongoose_module_metrics"}
    assert items.behaviours("garbage") == set()


odd_terms = st.recursive(
    st.one_of(st.integers(min_value=-(10**5000), max_value=10**5000), st.binary(max_size=20),
              st.text(max_size=10), st.builds(A, st.text(max_size=8)), st.booleans(),
              st.floats(allow_nan=True),
              st.lists(st.integers(min_value=-5, max_value=2**40), max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.tuples(children, children),
        st.tuples(children, children, children),
        st.dictionaries(st.builds(A, st.sampled_from(
            ["module", "tls", "mode", "handlers", "proto", "type"])), children, max_size=4),
        st.builds(ImproperList, st.tuples(children), children)),
    max_leaves=12)


@given(odd_terms)
def test_readers_never_raise_on_odd_terms(term: object) -> None:
    """Issue 10: chr() of a code point > 0x10FFFF, str() of a 5,000-digit integer, ... were
    crashes. Every reader takes any term."""
    items.text(term)
    items.param(term)
    items.count(term)
    items.proplist(term)
    items.flatten(term)
    items.behaviours(term)
    items.module_params("mod_x", term)
    for era in ERAS:
        for ls in (items.listeners(term), items.listeners([term, term])):
            items.tls_options(ls, era)
            items.transports(ls, era)
            items.api_handlers(ls, era)


def test_text_bounds() -> None:
    assert items.text([0x110000, 65]) == "\ufffdA"
    assert items.text(10**5000) == "other"
    assert items.param(10**30) == "other"
    assert items.count(-1) is None and items.count(True) is None


def test_every_event_of_every_era_has_only_str_or_int_params() -> None:
    for era in ERAS:
        for e in items.events(_data(LISTEN_621, LOADED, 1, era), {"xmppMessageSent": 3}):
            assert all(isinstance(v, (str, int)) for v in e.params.values())


# ---------------------------------------------------------------------------- config_metrics

def test_before_51_config_metrics_follow_proplists_get_value() -> None:
    from mim_bridge.collect import module_metrics as mm
    assert mm.config_metrics_before_51("mod_vcard", []) == [(A("backend"), A("mnesia"))]
    assert mm.config_metrics_before_51("mod_vcard", [(A("backend"), A("ldap"))]) == [
        (A("backend"), A("ldap"))]
    # the first entry about the key decides, even a malformed one (then the default)
    assert mm.config_metrics_before_51("mod_vcard", [(A("backend"), 1, 2),
                                                      (A("backend"), A("ldap"))]) == [
        (A("backend"), A("mnesia"))]
    assert mm.config_metrics_before_51("mod_push_service_mongoosepush", None) == [
        (A("api_version"), "v3")]


def test_before_51_event_pusher_backends() -> None:
    from mim_bridge.collect import module_metrics as mm
    opts = [(A("backends"), [(A("push"), [(A("backend"), A("rdbms"))]), (A("sns"), [])])]
    assert mm.config_metrics_before_51("mod_event_pusher", opts) == [
        (A("backend"), A("push")), (A("backend"), A("push_rdbms")), (A("backend"), A("sns"))]
    assert mm.config_metrics_before_51("mod_event_pusher", []) == [(A("none"), A("none"))]
    assert items.module_params("mod_event_pusher", mm.config_metrics_before_51(
        "mod_event_pusher", [(A("backends"), [(A("push"), [])])])) == {
        "module": "mod_event_pusher", "backend": "push_mnesia"}
