"""The pure report items against what real MongooseIM nodes returned (shared/reference/observed-*).

The raw terms below are transcribed from the observed RPC results of a real 6.2.1 node and a real
4.2.0 node; the expected events are those nodes' own collector output in GA4 form.
"""

from __future__ import annotations

from mim_bridge.collect import items
from mim_bridge.erldist import Atom as A
from mim_bridge.events import Event

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


def _data(listen: object, loaded: list[str], domain_count: int | None) -> items.NodeData:
    behaviours = {m: {"gen_mod", "mongoose_module_metrics"} for m in loaded}
    behaviours["mod_ping"] = {"gen_mod"}
    behaviours["mod_presence"] = {"gen_mod"}
    cm = {("localhost", m): [(A("backend"), A("mnesia"))] for m in WITH_BACKEND}
    cm[("localhost", "mod_disco")] = None  # no config_metrics/1 exported
    return items.NodeData(
        node="mongooseim@localhost", host_types=["localhost"], domain_count=domain_count,
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
    got = items.events(_data(LISTEN_420, loaded, None), None)
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
    assert items.uptime(0) == "0000-00:00:00"
    assert items.uptime((3 * 86400 + 7 * 3600 + 15 * 60 + 9) * 1000 + 999) == "0003-07:15:09"
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
    assert items.tls_options(ls) == [("tls", "just_tls"), ("starttls", "fast_tls")]
    # MongooseIM 6.4+ has no module key: no tls_option event, like MongooseIM itself
    assert items.tls_options(items.listeners([c2s("starttls", None)])) == []
