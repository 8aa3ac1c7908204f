"""Live tests of the MongooseIM stand-in (``erlang/``): every profile, as a real release runs.

Each profile boots on OTP 25 (the runtime of MongooseIM 3.6-6.2 deployments, where a call into a
missing module searches the whole code path) and a representative subset on OTP 28 (OTP 26+
caches the code path). One real hidden Erlang probe node (``erl -hidden``) reads each stand-in
once, in an order that first looks (what is loaded, what a missing-module call costs) and only
then touches (reports, capability probes that load modules). The checks of one node run in one
test, so under pytest-xdist every node boots exactly once.

The expectations are hand-written from MongooseIM's source at each release tag (the rules are in
erlang/README.md): the era's capabilities, what a node of that release and configuration has
loaded after booting, and the report in ``tests/data/expected/<profile>.json``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import launcher

pytestmark = pytest.mark.live

if not launcher.runtimes() or not shutil.which("erlc"):
    pytest.skip("needs Erlang/OTP with erlc", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "data" / "expected"
COOKIE = "standin-test-cookie"
STANZA_TYPES = ["xmppMessageSent", "xmppMessageReceived", "xmppIqSent", "xmppIqReceived",
                "xmppPresenceSent", "xmppPresenceReceived"]
CUSTOM = set(json.loads((ROOT / "erlang" / "modules.json").read_text())["layers"]["custom"])


@dataclass(frozen=True)
class Profile:
    """What a profile's node must look like, written by hand from the profile and the rules."""

    version: str
    cluster_id: str
    first_host: str
    running: bool  # service_mongoose_system_metrics has a process
    reported: bool = False  # ... and has reported: its collector is loaded
    collect_arg: str = ""  # what the node's own service passes to collect/2 (6.4+)
    loaded: tuple[str, ...] = ()  # loaded after boot (besides the era's core)
    unloaded: tuple[str, ...] = ()  # on the code path, but not loaded after boot
    release: tuple[int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        m = re.match(r"(\d+)\.(\d+)\.(\d+)", self.version)
        assert m
        object.__setattr__(self, "release", tuple(int(x) for x in m.groups()))


def _p(version: str, cid: str, host: str, running: bool, **kw: Any) -> Profile:
    return Profile(version, cid, host, running, kw.pop("reported", running), **kw)


# Cluster ids and hosts of the profiles (erlang/profiles/*.profile).
C36, C37, C50 = ("36363636-3636-4636-8636-5ec2e7420036", "37373737-3737-4737-8737-5ec2e7420037",
                 "50505050-5050-4050-8050-5ec2e7420050")
C60, C63 = "60606060-6060-4060-8060-5ec2e7420060", "63636363-6363-4636-8636-5ec2e7420063"
C64, C66 = ("ephemeral-8c1d3f7e-64a4-4b64-9c64-5ec2e7420064",
            "ephemeral-6d6e6f70-66a6-4b66-8c66-5ec2e7420066")
H36, H63, H64, H66 = ("secret-host-36.example.com", "secret-host-63.example.net",
                      "secret-host-64.example.net", "secret-host-66.example.net")

PROFILES: dict[str, Profile] = {
    # 3.6: no config spec, so only configured mod_* are loaded; handlers of the HTTP listeners are.
    "v3_6": _p("3.6.2", C36, H36, True,
               loaded=("ejabberd_c2s", "ejabberd_cowboy", "ejabberd_s2s_in", "mod_websockets",
                       "mongoose_api_admin", "mod_bosh", "mod_mam_meta", "mongoose_module_metrics"),
               unloaded=("mod_muc", "mod_vcard", "mongoose_client_api", "mongoose_cluster")),
    "v3_6_no_c2s": _p("3.6.2", C36, H36, False,
                      loaded=("ejabberd_cowboy", "mod_bosh", "mod_websockets"),
                      unloaded=("ejabberd_c2s", "ejabberd_s2s_in", "mod_muc",
                                "mongoose_system_metrics_collector",
                                "mongoose_system_metrics_file", "mongoose_module_metrics")),
    "v3_7": _p("3.7.1", C37, "secret-host-37.example.com", True,
               loaded=("ejabberd_c2s", "mod_muc", "mongoose_client_api_messages",
                       "mongoose_system_metrics_file"),
               unloaded=("mod_adhoc", "mod_mam_meta", "ejabberd_s2s_in", "mongoose_client_api")),
    # 4.1+: the TOML config spec loads every configurable module, service and (5.1+) handler.
    "v4_2": _p("4.2.0", "3c1256d1-c6ba-45e9-b990-5ec2e7420042", "secret-host-42.example.com",
               True, loaded=("mod_muc", "mod_mam_meta", "mod_event_pusher_sns",
                             "service_admin_extra", "mongoose_api_admin",
                             "mongoose_system_metrics_file"),
               unloaded=("mongoose_client_api", "mod_mam_rdbms_arch", "ejabberd_s2s_in")),
    "v5_0": _p("5.0.1", C50, "secret-host-50.example.org", True,
               loaded=("mongoose_domain_core", "mongoose_domain_handler", "service_domain_db",
                       "mod_muc", "mod_cache_users"),
               unloaded=("mongoose_client_api", "mod_mam_rdbms_arch")),
    "v5_1": _p("5.1.0", "69fc3600-22d6-4e8e-8947-5ec2e7420051", "secret-host-51.example.org",
               False, loaded=("mongoose_router", "mongoose_api", "mongoose_domain_handler",
                              "mod_muc_light_cache", "ejabberd_c2s"),
               unloaded=("mongoose_system_metrics_collector", "mongoose_system_metrics_file",
                         "mongoose_module_metrics", "mod_mam_rdbms_arch", "ejabberd_service")),
    "v6_0": _p("6.0.0", C60, "secret-host-60.example.net", True,
               loaded=("mongoose_client_api", "mongoose_admin_api", "mongoose_graphql_handler",
                       "mod_websockets", "ejabberd_c2s", "ejabberd_service"),
               unloaded=("ejabberd_cowboy", "mod_mam_pm")),
    "v6_1": _p("6.1.0", "0b61a0f2-6a1b-4a61-9e61-5ec2e7420061", "secret-host-61.example.net",
               True, loaded=("mongoose_c2s_listener", "mongoose_system_metrics_file"),
               unloaded=("ejabberd_s2s_in", "mongoose_client_api_rooms")),
    "small": _p("6.2.1", "5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1", "secret-host-7.example.net", True,
                loaded=("mongoose_component", "mongoose_metrics", "exometer", "mod_bosh",
                        "mod_websockets", "mongoose_client_api", "mongoose_admin_api",
                        "mongoose_graphql_handler", "mod_mam", "mongoose_c2s_listener"),
                unloaded=("mod_mam_pm", "ejabberd_s2s_in", "ejabberd_service",
                          "mongoose_client_api_rooms")),
    "custom": _p("6.2.1", "c0570e11-5ec2-4e7a-b0a1-acme00000001", "secret-host-acme.example.net",
                 False,
                 loaded=("mod_acme_billing", "mod_acme_legacy_hook", "mod_zz_secret_audit_4471"),
                 unloaded=("mongoose_system_metrics_collector", "mongoose_system_metrics_file",
                           "mongoose_module_metrics", "ejabberd_cowboy")),
    "large": _p("6.3.3", "1a26e000-6333-4c63-b633-5ec2e7421a26", "secret-host-1.example.net", True,
                loaded=("exometer", "mongoose_instrument_prometheus", "mod_pubsub",
                        "mongoose_system_metrics_file"),
                unloaded=("prometheus_counter", "mongoose_client_api_rooms")),
    "v6_3": _p("6.3.3", C63, H63, True,
               loaded=("prometheus_counter", "exometer", "mongoose_instrument_exometer",
                       "mongoose_prometheus_handler"),
               unloaded=("mongoose_client_api_rooms", "mod_mam_pm")),
    "v6_3_both": _p("6.3.3", C63, H63, True, loaded=("prometheus_counter", "exometer")),
    "v6_3_none": _p("6.3.3", C63, H63, True, reported=False,
                    loaded=("mongoose_instrument", "mongoose_system_metrics_file"),
                    unloaded=("exometer", "prometheus_counter",
                              "mongoose_system_metrics_collector")),
    "v6_4": _p("6.4.0", C64, H64, True, collect_arg="false",
               loaded=("prometheus_counter", "mongoose_s2s_listener",
                       "mongoose_component_listener", "service_translations"),
               unloaded=("exometer", "mongoose_client_api_rooms")),
    "v6_4_exometer": _p("6.4.0", C64, H64, True, collect_arg="true",
                        loaded=("exometer",), unloaded=("prometheus_counter",)),
    "v6_4_both": _p("6.4.0", C64, H64, True, collect_arg="true",
                    loaded=("exometer", "prometheus_counter")),
    "v6_6": _p("6.6.0", C66, H66, True, collect_arg="prometheus",
               loaded=("mongoose_bosh_handler", "service_bosh", "prometheus_counter",
                       "mongoose_websocket_handler", "mod_caps"),
               unloaded=("exometer",)),
    "v6_6_ws": _p("6.6.0", C66, H66, True, collect_arg="prometheus",
                  loaded=("service_bosh", "exometer", "prometheus_counter"),
                  unloaded=("mongoose_bosh_handler",)),
    "v6_6_none": _p("6.6.0", C66, H66, True, collect_arg="none",
                    unloaded=("exometer", "prometheus_counter")),
    "v6_7": _p("6.7.0", "ephemeral-67676767-67a6-4b67-8c67-5ec2e7420067", H66, True,
               collect_arg="prometheus", loaded=("mod_caps", "mongoose_bosh_handler"),
               unloaded=("exometer",)),
    "v6_8": _p("6.8.0", "ephemeral-68686868-68a6-4b68-8c68-5ec2e7420068",
               "secret-host-68.example.net", True, collect_arg="exometer",
               loaded=("exometer", "mod_broadcast", "mod_pubsub_old", "mongoose_graphql_handler",
                       "mongoose_system_metrics_file"),
               unloaded=("prometheus_counter", "mongoose_bosh_handler")),
}
OTP28_SUBSET = ["v3_6", "v5_0", "small", "v6_4", "v6_8", "not_mim"]


def test_every_profile_is_covered() -> None:
    assert set(launcher.profiles()) == set(PROFILES) | {"not_mim"}
    assert {p.stem for p in EXPECTED.glob("*.json")} == set(PROFILES)


def _v(p: Profile, lo: tuple[int, int, int] = (0, 0, 0),
       hi: tuple[int, int, int] = (99, 0, 0)) -> bool:
    return lo <= p.release < hi


V51, V62 = (5, 1, 0), (6, 2, 0)
# (module, function, arity, present in the release?) -- from the -export lists at each tag.
CAPABILITIES: list[tuple[str, str, int, Callable[[Profile], bool]]] = [
    ("ejabberd_config", "get_global_option", 1, lambda p: _v(p, hi=V51)),
    ("ejabberd_config", "get_config_path", 0, lambda p: _v(p, (4, 0, 1), V51)),
    ("ejabberd_config", "get_global_option_or_default", 2, lambda p: _v(p, (5, 0, 0), V51)),
    ("mongoose_config", "get_opt", 1, lambda p: _v(p, V51)),
    ("mongoose_config", "get_opts", 0, lambda p: _v(p, V62)),
    ("mongoose_config", "get_config_path", 0, lambda p: _v(p, V51)),
    ("gen_mod", "loaded_modules", 1, lambda p: True),
    ("gen_mod", "loaded_modules", 0, lambda p: _v(p, (5, 0, 0))),
    ("gen_mod", "opts_for_module", 2, lambda p: _v(p, hi=(5, 0, 0))),
    ("gen_mod", "get_module_opts", 2, lambda p: True),
    ("mongoose_module_metrics", "opts_for_module", 3, lambda p: True),
    ("mongoose_domain_core", "domains_count", 0, lambda p: _v(p, (5, 0, 0))),
    ("mongoose_router", "get_all_domains", 0, lambda p: _v(p, V51)),
    ("ejabberd_router", "dirty_get_all_domains", 0, lambda p: _v(p, hi=V51)),
    ("ejabberd_router", "dirty_get_all_components", 1, lambda p: _v(p, V51, V62)),
    ("ejabberd_router", "lookup_component", 2, lambda p: _v(p, hi=V62)),
    ("ejabberd_router", "module_info", 0, lambda p: _v(p, hi=(6, 7, 0))),
    ("mongoose_component", "lookup_component", 2, lambda p: _v(p, V62)),
    ("mongoose_component", "dirty_get_all_components", 1, lambda p: _v(p, V62)),
    ("ejabberd_c2s", "module_info", 0, lambda p: _v(p, hi=(6, 1, 0))),
    ("mongoose_c2s_listener", "module_info", 0, lambda p: _v(p, (6, 1, 0))),
    ("mongoose_metrics", "module_info", 0, lambda p: _v(p, hi=(6, 3, 0))),
    ("mongoose_instrument", "module_info", 0, lambda p: _v(p, (6, 3, 0))),
    ("mongoose_instrument_prometheus", "module_info", 0, lambda p: _v(p, (6, 3, 0))),
    ("prometheus_counter", "values", 2, lambda p: _v(p, (6, 3, 0))),
    ("mongoose_system_metrics_collector", "collect", 0, lambda p: _v(p, hi=(3, 7, 0))),
    ("mongoose_system_metrics_collector", "collect", 1, lambda p: _v(p, (3, 7, 0), (6, 4, 0))),
    ("mongoose_system_metrics_collector", "collect", 2, lambda p: _v(p, (6, 4, 0))),
    ("service_mongoose_system_metrics", "verify_if_configured", 0, lambda p: True),
    ("mongoose_cluster_id", "get_cached_cluster_id", 0, lambda p: True),
    ("mongoose_cluster", "all_cluster_nodes", 0, lambda p: _v(p, V51)),
    ("mongoose_cluster", "join", 1, lambda p: True),
    ("mongoose_service", "is_loaded", 1, lambda p: True),
    ("exometer", "get_values", 1, lambda p: True),
    ("mongoose_system_metrics_file", "location", 0, lambda p: True),
    ("mod_bosh", "module_info", 0, lambda p: _v(p, hi=(6, 6, 0))),
    ("mongoose_bosh_handler", "module_info", 0, lambda p: _v(p, (6, 6, 0))),
    ("mod_jingle_sip", "module_info", 0, lambda p: _v(p, hi=(6, 7, 0))),
    ("mod_muc_log", "module_info", 0, lambda p: _v(p, hi=(6, 8, 0))),
    ("mod_pubsub_old", "module_info", 0, lambda p: _v(p, (6, 8, 0))),
    ("mod_broadcast", "module_info", 0, lambda p: _v(p, (6, 8, 0))),
]
# MongooseIM modules every release loads while it boots (ejabberd_app:start/2 or do_start/0).
CORE = ["gen_mod", "mongoose_service", "mongoose_cluster_id", "service_mongoose_system_metrics"]


def _core(p: Profile) -> list[str]:
    old = p.release < V51
    return CORE + (["ejabberd_config"] if old else ["mongoose_config", "mongoose_router"]) \
        + (["ejabberd_router"] if p.release < (6, 7, 0) else []) \
        + (["mongoose_component"] if p.release >= V62 else []) \
        + (["mongoose_metrics", "exometer"] if p.release < (6, 3, 0) else
           ["mongoose_instrument", "mongoose_instrument_exometer",
            "mongoose_instrument_prometheus", "mongoose_instrument_log"])


def _other_era_call(p: Profile) -> str:
    """A call into the API of another era: a module this release does not have."""
    return ("[ejabberd_config, get_global_option, [hosts]]" if p.release >= V51
            else "[mongoose_config, get_opt, [hosts]]")


def _calls(name: str, p: Profile | None) -> list[tuple[str, ...]]:
    """Everything read from one node, in order: first what needs an untouched node."""
    calls: list[tuple[str, ...]] = [
        ("info", "mim_standin", "info", "[]"),
        ("loaded", "erlang", "loaded", "[]"),
        ("boot", "mim_standin", "boot_modules", "[]"),
        ("app_modules", "application", "get_key", "[mongooseim, modules]"),
        ("vsn", "application", "get_key", "[mongooseim, vsn]"),
        ("apps", "application", "which_applications", "[]"),
        ("embedded", "init", "get_argument", "[embedded]"),
        ("service", "erlang", "whereis", "[service_mongoose_system_metrics]"),
        ("nodes", "erlang", "nodes", "[]"),
        ("hidden", "erlang", "nodes", "[hidden]"),
        ("cost:loaded", "mim_standin", "call_cost", "[erlang, phash2, [x]]"),
        ("cost:missing", "mim_standin", "call_cost", "[no_such_module_in_any_release, f, []]"),
    ]
    if p is None:
        return calls
    calls += [
        ("cost:other_era", "mim_standin", "call_cost", _other_era_call(p)),
        ("cost:no_function", "mim_standin", "call_cost", "[gen_mod, no_such_function, [x]]"),
        ("cost:core", "mim_standin", "call_cost", "[gen_mod, module_info, [module]]"),
        ("cost:dormant", "mim_standin", "call_cost", "[mongoose_cluster, module_info, [module]]"),
        ("verify", "service_mongoose_system_metrics", "verify_if_configured", "[]"),
        ("state", "sys", "get_state", "[service_mongoose_system_metrics]"),
        ("report", "mim_standin_baseline", "report_json", "[]", "s"),
        ("cluster_id", "mongoose_cluster_id", "get_cached_cluster_id", "[]"),
        ("location", "mongoose_system_metrics_file", "location", "[]"),
        ("measure", "mim_standin_baseline", "measure", "[3]"),
    ]
    if p.release < (3, 7, 0):
        calls.append(("collect", "mongoose_system_metrics_collector", "collect", "[]", "j"))
    elif p.release < (6, 4, 0):
        calls.append(("collect", "mongoose_system_metrics_collector", "collect", "[[]]", "j"))
    else:
        calls.append(("collect", "mongoose_system_metrics_collector", "collect",
                      f"[[], {p.collect_arg}]", "j"))
    host = f'<<"{p.first_host}">>'
    if p.release < V51:
        calls += [
            ("hosts", "ejabberd_config", "get_global_option", "[hosts]"),
            ("listen", "ejabberd_config", "get_local_option_or_default", "[listen, []]"),
            ("modules_table", "ets", "select",
             "[ejabberd_modules, [{{ejabberd_module, {'$1','$2'}, '_'}, [], [{{'$2','$1'}}]}]]"),
            ("module_opts", "gen_mod", "get_module_opts", f"[{host}, mod_roster]"),
        ]
    else:
        calls += [
            ("hosts", "mongoose_config", "get_opt", "[hosts]"),
            ("listen", "mongoose_config", "get_opt", "[listen]"),
            ("module_opts", "gen_mod", "get_module_opts", f"[{host}, mod_roster]"),
            ("instrumentation", "mongoose_config", "lookup_opt", "[instrumentation]"),
            ("missing_key", "mongoose_config", "get_opt", "[no_such_key_in_standin]"),
        ]
    if p.release >= (5, 0, 0):
        calls.append(("domains_count", "mongoose_domain_core", "domains_count", "[]"))
    calls.append(("attrs:mod_ping", "mod_ping", "module_info", "[attributes]"))
    # Last: capability probes load what they look at.
    for mod, fun, arity, _ in CAPABILITIES:
        calls.append((f"load:{mod}", "code", "ensure_loaded", f"[{mod}]"))
        calls.append((f"exp:{mod}:{fun}/{arity}", "erlang", "function_exported",
                      f"[{mod}, {fun}, {arity}]"))
    return calls


@pytest.fixture(scope="module")
def epmd() -> Iterator[launcher.Epmd]:
    launcher.build()
    with launcher.Epmd() as e:
        yield e


def _atoms(printed: str) -> set[str]:
    return set(re.findall(r"[a-z][a-z0-9_]*", printed))


def _uptime_free(report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for ev in report:
        if ev["name"] == "cluster":
            assert re.fullmatch(r"\d{4}-\d\d:\d\d:\d\d", str(ev["params"]["uptime"])), ev
            ev["params"]["uptime"] = "<uptime>"
    return report


def _expected(profile: str) -> list[dict[str, Any]]:
    return json.loads((EXPECTED / f"{profile}.json").read_text())  # type: ignore[no-any-return]


UA_CLUSTER = {"uptime": "uptime", "number_of_nodes": "node_number", "mim_version": "version",
              "number_of_components": "component", "config_type": "config_type"}


def ua_to_ga4(structs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The GA4 events of a UA-era report (erlang/README.md "Expected reports", call 1)."""
    def text(v: Any) -> Any:  # a charlist comes through JSON as a list of code points
        return "".join(map(chr, v)) if isinstance(v, list) else v

    head: list[dict[str, Any]] = []
    modules: list[dict[str, Any]] = []
    custom: list[dict[str, Any]] = []
    cluster: dict[str, Any] = {}
    apis: dict[str, str] = {}
    transports: dict[str, str] = {}
    tail: list[dict[str, Any]] = []
    previous_module = None  # a module's structs (one per option) come one after the other
    for s in structs:
        name, key, value = s["report_name"], s["key"], s["value"]
        module = None
        if name in ("hosts", "domains"):
            head.append({"name": {"hosts": "host_count", "domains": "domain_count"}[name],
                         "params": {"value": value}})
        elif name == "custom_modules":
            custom.append({"name": "custom_module_count", "params": {"value": value}})
        elif name == "cluster":
            cluster[UA_CLUSTER[key]] = value
        elif name == "http_api":
            apis[key] = value
        elif name == "transport_mechanism":
            transports[key] = value
        elif name == "tls_option":
            tail.append({"name": "tls_option", "params": {"mode": key, "module": value}})
        elif name == "outgoing_pools":
            tail.append({"name": "outgoing_pool", "params": {"value": value}})
        elif name in STANZA_TYPES:
            tail.append({"name": "xmpp_stanza_count", "params": {
                "stanza_type": name, "total": key, "increment": value}})
        else:
            module = name
            if previous_module != name:
                modules.append({"name": "module_with_opt", "params": {"module": name}})
            if key != "none":
                modules[-1]["params"][key] = text(value)
        previous_module = module
    order = {"tls_option": 0, "outgoing_pool": 1, "xmpp_stanza_count": 2}
    return (head + modules + custom + [{"name": "cluster", "params": cluster}]
            + ([{"name": "http_api", "params": apis}] if apis else [])
            + ([{"name": "transport_mechanism", "params": transports}] if transports else [])
            + sorted(tail, key=lambda e: order[e["name"]]))


def top_level_items(printed: str) -> list[str]:
    """The elements of a printed Erlang tuple or list, split at its own commas only."""
    items, depth, current, in_string = [], 0, "", False
    for ch in printed[1:-1]:
        if ch == '"':
            in_string = not in_string
        elif not in_string and ch in "{[(<":
            depth += 1
        elif not in_string and ch in "}])>":
            depth -= 1
        if ch == "," and depth == 0 and not in_string:
            items.append(current)
            current = ""
        else:
            current += ch
    return [*items, current]


class Checks:
    """Collects every failed check of one node, so one test reports them all."""

    def __init__(self, profile: str, otp: str, standin: launcher.StandIn, r: dict[str, str]):
        self.profile, self.otp, self.standin, self.r = profile, otp, standin, r
        self.failures: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(str(what))


@pytest.mark.parametrize("profile,otp", [(p, o) for p in launcher.profiles() for o in ("25", "28")
                                         if o in launcher.runtimes()
                                         and (o == "25" or p in OTP28_SUBSET)],
                         ids=lambda x: x if not x.isdigit() else f"otp{x}")
def test_profile_node(profile: str, otp: str, epmd: launcher.Epmd) -> None:
    p = PROFILES.get(profile)
    with launcher.StandIn(profile, cookie=COOKIE, otp=otp, epmd_port=epmd.port) as s:
        c = Checks(profile, otp, s, s.probe(_calls(s.name, p), timeout=120))
    _check_release_shape(c, p)
    _check_code_server(c, p)
    if p is not None:
        _check_identity(c, p)
        _check_boot_set(c, p)
        _check_capabilities(c, p)
        _check_reports(c, p)
        _check_config_shapes(c, p)
    assert not c.failures, f"{profile} on OTP {otp}:\n  " + "\n  ".join(c.failures)


def _check_release_shape(c: Checks, p: Profile | None) -> None:
    r = c.r
    c.check("code_mode => interactive" in r["info"], f"not interactive: {r['info']}")
    size = int(re.search(r"path_size => (\d+)", r["info"]).group(1))  # type: ignore[union-attr]
    c.check(85 <= size <= 90, f"code path of {size} entries, not a release's 85-90")
    c.check(f'otp_release => "{c.otp}"' in r["info"], r["info"])
    c.check(r["nodes"] == "[]" and "probe_" in r["hidden"], "the probe must be hidden")
    if p is None:  # a plain node: no release, nothing of MongooseIM
        c.check(r["vsn"] == "undefined" and "mongooseim" not in r["apps"], r["apps"])
        c.check(r["app_modules"] == "undefined" and r["embedded"] == "error", r["embedded"])
        c.check(not _atoms(r["loaded"]) & {"gen_mod", "mongoose_config", "ejabberd_config"},
                "MongooseIM modules on a plain node")
        return
    c.check(r["embedded"] == "{ok,[[]]}", f"no -embedded argument: {r['embedded']}")
    c.check(r["vsn"] == f'{{ok,"{p.version}"}}', r["vsn"])
    c.check(f'{{mongooseim,"MongooseIM","{p.version}"}}' in r["apps"], "mongooseim not running")


def _check_code_server(c: Checks, p: Profile | None) -> None:
    """A call into a missing module searches the code path (expensive on OTP 25), a call into a
    loaded module does not touch the code server, a missing function of a loaded module is a
    cheap undef, and a module of the release that nothing has used yet gets loaded by the call."""
    r = c.r

    def cost(label: str) -> tuple[str, int, str]:
        m = re.search(r"code_server_reductions => (\d+)", r[label])
        assert m, r[label]
        loaded = re.search(r"newly_loaded => (\[[^\]]*\])", r[label])
        return r[label], int(m.group(1)), loaded.group(1) if loaded else ""

    text, reds, _ = cost("cost:loaded")
    c.check(reds == 0 and "result => {ok," in text,
            f"loaded-module call touched the code server: {text}")
    misses = ["cost:missing"] + (["cost:other_era"] if p is not None else [])
    for label in misses:
        text, reds, newly = cost(label)
        c.check("result => {error,undef}" in text and newly == "[]", f"{label}: {text}")
        if c.otp == "25":  # no code path cache: every directory of the path is searched
            c.check(reds > 3000, f"{label}: only {reds} code server reductions: {text}")
    if p is None:
        return
    text, reds, _ = cost("cost:no_function")
    c.check("result => {error,undef}" in text and reds == 0, f"missing function: {text}")
    text, reds, _ = cost("cost:core")
    c.check(reds == 0 and "result => {ok,gen_mod}" in text, f"core module not loaded: {text}")
    text, reds, newly = cost("cost:dormant")
    c.check(newly == "[mongoose_cluster]" and reds > 0,
            f"mongoose_cluster was not loaded by its first call: {text}")


def _check_identity(c: Checks, p: Profile) -> None:
    r = c.r
    version = "{" + ",".join(map(str, p.release)) + "}"
    c.check(f"api => {version}" in r["info"], f"release {version}: {r['info']}")
    c.check(r["service"].startswith("<") == p.running, f"service process: {r['service']}")
    c.check(r["cluster_id"] == f'{{ok,<<"{p.cluster_id}">>}}', r["cluster_id"])
    c.check(r["location"] == '"/system_metrics_report.json"', r["location"])
    if p.running:
        state = top_level_items(r["state"])
        fields = 4 if p.release < (3, 7, 0) else 5 if p.release < V51 else \
            6 if p.release < (6, 4, 0) else 7
        c.check(state[0] == "system_metrics_state" and len(state) == fields
                and state[2:4] == ["none", "none"], f"state record of {p.version}: {r['state']}")
        if p.release >= (6, 4, 0):  # what the service decided about stanzas when it started
            c.check(state[4] == p.collect_arg, f"stanza choice {state[4]}, not {p.collect_arg}")
        if p.release >= (6, 1, 0):  # the GA4 property of a release build (or of CI)
            c.check('id => "G-B4S18X6KY5"' in r["state"] or 'id => "G-VB91V60SKT"' in r["state"],
                    r["state"])
    m = re.fullmatch(r"\{(\d+),(\d+)\}", r["measure"])
    c.check(m is not None and int(m.group(1)) > 0 and int(m.group(2)) > 0, r["measure"])


def _check_boot_set(c: Checks, p: Profile) -> None:
    r = c.r
    app_modules = _atoms(r["app_modules"]) - {"ok", "modules"}
    release = app_modules | CUSTOM | {"exometer", "prometheus_counter"}
    loaded = _atoms(r["loaded"]) & release
    boot = _atoms(r["boot"])
    c.check(loaded == boot, f"loaded beyond/short of the boot set: +{sorted(loaded - boot)} "
                            f"-{sorted(boot - loaded)}")
    want = (set(_core(p)) | set(p.loaded)
            | ({"mongoose_system_metrics_collector"} if p.reported else set()))
    c.check(want <= loaded, f"not loaded at boot: {sorted(want - loaded)}")
    dormant = set(p.unloaded) | {"mongoose_cluster", "mod_global_distrib_bounce"} \
        | ({"mongoose_system_metrics_collector"} if not p.reported else set())
    c.check(not dormant & loaded,
            f"loaded at boot, but nothing uses them: {sorted(dormant & loaded)}")
    c.check(dormant - {"exometer", "prometheus_counter"} <= app_modules,
            f"not in the release: {sorted(dormant - app_modules)}")
    # The mongooseim application lists the release's modules, loaded or not; never the operator's.
    c.check(len(app_modules) > 150 and not app_modules & CUSTOM, f"{len(app_modules)} app modules")


def _check_capabilities(c: Checks, p: Profile) -> None:
    release = _atoms(c.r["app_modules"]) | {"exometer"} \
        | ({"prometheus_counter"} if p.release >= (6, 3, 0) else set())
    for mod, fun, arity, present in CAPABILITIES:
        want = present(p)
        loaded = c.r[f"load:{mod}"] == f"{{module,{mod}}}"
        exported = c.r[f"exp:{mod}:{fun}/{arity}"] == "true"
        c.check(exported == want and loaded == (mod in release),
                f"{mod}:{fun}/{arity} present={want}: {c.r[f'load:{mod}']} exported={exported}")
    attrs = c.r["attrs:mod_ping"]
    # -behavior(gen_mod) from 3.7 to 6.5 (src/mod_ping.erl at each tag)
    spelling = "behavior" if (3, 7, 0) <= p.release < (6, 6, 0) else "behaviour"
    c.check(f"{{{spelling},[gen_mod]}}" in attrs, f"mod_ping: {attrs}")
    c.check(("mongoose_module_metrics" in attrs) == (p.release < (3, 7, 0)), f"mod_ping: {attrs}")


def _check_reports(c: Checks, p: Profile) -> None:
    expected = _expected(c.profile)
    got = _uptime_free(json.loads(c.r["report"]))
    c.check(got == expected, f"baseline report differs from {c.profile}.json:\n{json.dumps(got)}")
    native = json.loads(c.r["collect"])
    own = _uptime_free(native if p.release >= (6, 1, 0) else ua_to_ga4(native))
    c.check(own == expected, f"the node's own collector differs from {c.profile}.json:\n"
                             f"{json.dumps(native)}")
    if p.release < (6, 1, 0):
        c.check(all(set(s) == {"report_name", "key", "value"} for s in native), "not UA structs")


def _check_config_shapes(c: Checks, p: Profile) -> None:
    r = c.r
    c.check(r["hosts"].startswith(f'[<<"{p.first_host}">>'), r["hosts"])
    if p.release < V51:
        c.check(r["listen"].startswith("[{{"), r["listen"])
        c.check(r["module_opts"].startswith("[") and "#{" not in r["module_opts"], r["module_opts"])
        # {HostType, Module} pairs from the record {ejabberd_module, {Module, Host}, Opts}
        c.check(f'{{<<"{p.first_host}">>,mod_roster}}' in r["modules_table"], r["modules_table"])
    else:
        c.check(r["listen"].startswith("[#{") and "module => " in r["listen"], r["listen"])
        c.check(r["module_opts"].startswith("#{") and "backend => " in r["module_opts"],
                r["module_opts"])
        c.check(r["missing_key"].startswith("{badrpc,{'EXIT',{"), r["missing_key"])
        # `instrumentation' is a 6.3+ key, always present there
        c.check(r["instrumentation"].startswith("{ok,#{") == (p.release >= (6, 3, 0)),
                r["instrumentation"])
    if p.release >= (5, 0, 0):
        c.check(r["domains_count"].isdigit(), r["domains_count"])
    configured = c.profile != "v5_1"  # the only profile without the service in its config
    c.check(r["verify"] == ("ok" if configured else "ignore"), r["verify"])
    if p.release >= (6, 4, 0):
        c.check("module => fast_tls" not in r["listen"] and "module => just_tls" not in r["listen"],
                "6.4+ TLS maps have no module")
