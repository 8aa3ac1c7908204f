"""Live tests of the MongooseIM stand-in (``erlang/``).

Every profile is started on OTP 25 and OTP 28 and read from a real hidden Erlang probe node
(``erl -hidden``), the way an external observer sees it: the MongooseIM functions of its API
generation return the documented shapes, other generations' functions are absent, and the in-VM
baseline report equals the hand-written ``tests/data/expected/<profile>.json``. Plus: clusters,
traffic between two collections, the benchmark yardstick and the detached CLI.

One node and one probe batch per (profile, OTP) pair, shared by the tests of that pair; every
node and EPMD is private to the test module and stopped at the end (pytest-xdist safe).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import launcher
import pytest

pytestmark = pytest.mark.live

if not launcher.runtimes() or not shutil.which("erlc"):
    pytest.skip("needs Erlang/OTP with erlc", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "data" / "expected"
OTPS = [o for o in ("25", "28") if o in launcher.runtimes()]
COOKIE = "standin-test-cookie"
STANZA_TYPES = ["xmppMessageSent", "xmppMessageReceived", "xmppIqSent", "xmppIqReceived",
                "xmppPresenceSent", "xmppPresenceReceived"]

# API generation of each profile (what mim_standin:info() must report).
API = {"small": (6, 2), "large": (6, 3), "custom": (6, 2), "v4_2": (4, 0), "v5_1": (5, 1),
       "v6_1": (6, 1), "v6_4": (6, 4), "v6_6": (6, 6), "v6_8": (6, 6), "not_mim": None}
VERSION = {"small": "6.2.1", "large": "6.3.3", "custom": "6.2.1", "v4_2": "4.2.0",
           "v5_1": "5.1.0", "v6_1": "6.1.0", "v6_4": "6.4.0", "v6_6": "6.6.0", "v6_8": "6.8.0"}
CLUSTER_ID = {"small": "5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1",
              "large": "1a26e000-6333-4c63-b633-5ec2e7421a26",
              "custom": "c0570e11-5ec2-4e7a-b0a1-acme00000001",
              "v4_2": "3c1256d1-c6ba-45e9-b990-5ec2e7420042",
              "v5_1": "69fc3600-22d6-4e8e-8947-5ec2e7420051",
              "v6_1": "0b61a0f2-6a1b-4a61-9e61-5ec2e7420061",
              "v6_4": "ephemeral-8c1d3f7e-64a4-4b64-9c64-5ec2e7420064",
              "v6_6": "ephemeral-6d6e6f70-66a6-4b66-8c66-5ec2e7420066",
              "v6_8": "ephemeral-68686868-68a6-4b68-8c68-5ec2e7420068"}
SERVICE_RUNNING = {"small": True, "large": True, "custom": False, "v4_2": True, "v5_1": False,
                   "v6_1": True, "v6_4": True, "v6_6": True, "v6_8": True, "not_mim": False}
FIRST_HOST = {"small": "secret-host-7.example.net", "large": "secret-host-1.example.net",
              "custom": "secret-host-acme.example.net", "v4_2": "secret-host-42.example.com",
              "v5_1": "secret-host-51.example.org", "v6_1": "secret-host-61.example.net",
              "v6_4": "secret-host-64.example.net", "v6_6": "secret-host-66.example.net",
              "v6_8": "secret-host-68.example.net"}


def _mim(p: str) -> bool:
    return API[p] is not None


def _at_least(p: str, api: tuple[int, int]) -> bool:
    return API[p] is not None and API[p] >= api  # type: ignore[operator]


# (module, function, arity, present?) for each profile: what capability probes must find.
CAPABILITIES: list[tuple[str, str, int, object]] = [
    ("mongoose_config", "get_opt", 1, lambda p: _at_least(p, (5, 1))),
    ("mongoose_config", "get_opts", 0, lambda p: _at_least(p, (6, 2))),
    ("mongoose_config", "get_config_path", 0, lambda p: _at_least(p, (5, 1))),
    ("ejabberd_config", "get_global_option", 1, lambda p: API[p] == (4, 0)),
    ("ejabberd_config", "get_config_path", 0, lambda p: API[p] == (4, 0)),
    ("gen_mod", "loaded_modules", 1, _mim),
    ("gen_mod", "opts_for_module", 2, lambda p: API[p] == (4, 0)),
    ("gen_mod", "get_module_opts", 2, _mim),
    ("mongoose_module_metrics", "opts_for_module", 3, _mim),
    ("mongoose_domain_core", "domains_count", 0, lambda p: _at_least(p, (5, 1))),
    ("mongoose_router", "get_all_domains", 0, lambda p: _at_least(p, (5, 1))),
    ("ejabberd_router", "dirty_get_all_domains", 0, lambda p: API[p] == (4, 0)),
    ("ejabberd_router", "dirty_get_all_components", 1,
     lambda p: _at_least(p, (5, 1)) and not _at_least(p, (6, 2))),
    ("ejabberd_router", "lookup_component", 2, lambda p: _mim(p) and not _at_least(p, (6, 2))),
    ("mongoose_component", "lookup_component", 2, lambda p: _at_least(p, (6, 2))),
    ("mongoose_component", "dirty_get_all_components", 1, lambda p: _at_least(p, (6, 2))),
    ("mongoose_c2s_listener", "module_info", 0, lambda p: _at_least(p, (6, 1))),
    ("mongoose_instrument", "module_info", 0, lambda p: _at_least(p, (6, 3))),
    ("mongoose_instrument_prometheus", "module_info", 0, lambda p: _at_least(p, (6, 3))),
    ("prometheus_counter", "values", 2, lambda p: _at_least(p, (6, 3))),
    ("mongoose_system_metrics_collector", "collect", 1, lambda p: _mim(p) and not _at_least(p, (6, 4))),
    ("mongoose_system_metrics_collector", "collect", 2, lambda p: _at_least(p, (6, 4))),
    ("mongoose_system_metrics_collector", "collect", 0, lambda p: False),
    ("service_mongoose_system_metrics", "module_info", 0, _mim),
    ("mongoose_cluster_id", "get_cached_cluster_id", 0, _mim),
    ("mongoose_cluster_id", "get_backend_cluster_id", 0, _mim),
    ("mongoose_cluster", "all_cluster_nodes", 0, _mim),
    ("mongoose_service", "is_loaded", 1, _mim),
    ("exometer", "get_values", 1, _mim),
    ("mongoose_system_metrics_file", "location", 0, _mim),
]


def _calls(profile: str, node: str) -> list[tuple[str, ...]]:
    """Everything the tests read from one node, as one probe batch."""
    calls: list[tuple[str, ...]] = [
        ("info", "mim_standin", "info", "[]"),
        ("vsn", "application", "get_key", "[mongooseim, vsn]"),
        ("apps", "application", "which_applications", "[]"),
        ("service", "erlang", "whereis", "[service_mongoose_system_metrics]"),
        ("nodes", "erlang", "nodes", "[]"),
        ("hidden", "erlang", "nodes", "[hidden]"),
    ]
    for mod, fun, arity, _ in CAPABILITIES:
        calls.append((f"load:{mod}", "code", "ensure_loaded", f"[{mod}]"))
        calls.append((f"exp:{mod}:{fun}/{arity}", "erlang", "function_exported",
                      f"[{mod}, {fun}, {arity}]"))
    if not _mim(profile):
        return calls
    host = FIRST_HOST[profile]
    calls += [
        ("report", "mim_standin_baseline", "report_json", "[]", "s"),
        ("cluster_id", "mongoose_cluster_id", "get_cached_cluster_id", "[]"),
        ("backend_cluster_id", "mongoose_cluster_id", "get_backend_cluster_id", "[]"),
        ("all_cluster_nodes", "mongoose_cluster", "all_cluster_nodes", "[]"),
        ("attrs:gen_mod", "mod_ping", "module_info", "[attributes]"),
        ("location", "mongoose_system_metrics_file", "location", "[]"),
        ("measure", "mim_standin_baseline", "measure", "[3]"),
    ]
    if API[profile] == (4, 0):
        calls += [
            ("hosts", "ejabberd_config", "get_global_option", "[hosts]"),
            ("listen", "ejabberd_config", "get_local_option_or_default", "[listen, []]"),
            ("pools", "ejabberd_config", "get_local_option_or_default", "[outgoing_pools, []]"),
            ("config_path", "ejabberd_config", "get_config_path", "[]"),
            ("module_opts", "gen_mod", "opts_for_module", f'[<<"{host}">>, mod_roster]'),
            ("collect", "mongoose_system_metrics_collector", "collect", "[[]]"),
            ("domains_route", "ejabberd_router", "dirty_get_all_domains", "[]"),
        ]
    else:
        calls += [
            ("hosts", "mongoose_config", "get_opt", "[hosts]"),
            ("host_types", "mongoose_config", "get_opt", "[host_types]"),
            ("listen", "mongoose_config", "get_opt", "[listen]"),
            ("pools", "mongoose_config", "get_opt", "[outgoing_pools]"),
            ("config_path", "mongoose_config", "get_config_path", "[]"),
            ("module_opts", "gen_mod", "get_module_opts", f'[<<"{host}">>, mod_roster]'),
            ("domains_count", "mongoose_domain_core", "domains_count", "[]"),
            ("lookup_instrumentation", "mongoose_config", "lookup_opt", "[instrumentation]"),
            ("services", "mongoose_config", "get_opt", "[services]"),
            ("is_loaded", "mongoose_service", "is_loaded", "[service_mongoose_system_metrics]"),
            ("missing_key", "mongoose_config", "get_opt", "[no_such_key_in_standin]"),
        ]
        if _at_least(profile, (6, 4)):
            calls.append(("collect", "mongoose_system_metrics_collector", "collect",
                          "[[], default]", "j"))
        elif _at_least(profile, (6, 1)):
            calls.append(("collect", "mongoose_system_metrics_collector", "collect", "[[]]", "j"))
        else:
            calls.append(("collect", "mongoose_system_metrics_collector", "collect", "[[]]"))
    calls.append(("mods", "gen_mod", "loaded_modules", f'[<<"{host}">>]'))
    return calls


@pytest.fixture(scope="module")
def epmd() -> Iterator[launcher.Epmd]:
    launcher.build()
    with launcher.Epmd() as e:
        yield e


class Node:
    def __init__(self, profile: str, otp: str, standin: launcher.StandIn, r: dict[str, str]):
        self.profile, self.otp, self.standin, self.r = profile, otp, standin, r


@pytest.fixture(scope="module",
                params=[(p, o) for p in launcher.profiles() for o in OTPS],
                ids=lambda po: f"{po[0]}-otp{po[1]}")
def node(request: pytest.FixtureRequest, epmd: launcher.Epmd) -> Iterator[Node]:
    profile, otp = request.param
    with launcher.StandIn(profile, cookie=COOKIE, otp=otp, epmd_port=epmd.port) as s:
        r = s.probe(_calls(profile, s.name))
        yield Node(profile, otp, s, r)


def _normalise(report: list[dict[str, object]]) -> list[dict[str, object]]:
    for ev in report:
        if ev["name"] == "cluster":
            params = ev["params"]
            assert isinstance(params, dict)
            assert re.fullmatch(r"\d{4}-\d\d:\d\d:\d\d", str(params["uptime"])), params
            params["uptime"] = "<uptime>"
    return report


def _node_names(printed: str) -> list[str]:
    """Node names from a printed list of atoms (quoted or not)."""
    return re.findall(r"'?([\w.-]+@[\w.-]+)'?", printed)


def _expected(profile: str) -> list[dict[str, object]]:
    return json.loads((EXPECTED / f"{profile}.json").read_text())


# ---------------------------------------------------------------------------------------------
# Every profile on every runtime


def test_node_identity(node: Node) -> None:
    r = node.r
    assert f'otp_release => "{node.otp}"' in r["info"]
    assert f'profile => "{node.profile}"' in r["info"]
    assert "{badrpc" not in r["nodes"] and r["nodes"] == "[]"  # the probe is hidden
    assert "probe_" in r["hidden"]
    if _mim(node.profile):
        api = API[node.profile]
        assert f"api => {{{api[0]},{api[1]}}}" in r["info"]
        vsn = VERSION[node.profile]
        assert r["vsn"] == f'{{ok,"{vsn}"}}'
        assert f'{{mongooseim,"MongooseIM","{vsn}"}}' in r["apps"]
    else:
        assert r["vsn"] == "undefined"
        assert "mongooseim" not in r["apps"]
    running = SERVICE_RUNNING[node.profile]
    assert r["service"].startswith("<") == running, r["service"]


def test_capabilities_match_generation(node: Node) -> None:
    wrong = []
    for mod, fun, arity, present in CAPABILITIES:
        want = present(node.profile)  # type: ignore[operator]
        loaded = node.r[f"load:{mod}"] == f"{{module,{mod}}}"
        exported = node.r[f"exp:{mod}:{fun}/{arity}"] == "true"
        if exported != want or (want and not loaded):
            wrong.append((mod, fun, arity, node.r[f"load:{mod}"], exported, want))
    assert not wrong, wrong


def test_baseline_equals_expected_report(node: Node) -> None:
    if not _mim(node.profile):
        pytest.skip("not a MongooseIM node: no report")
    got = _normalise(json.loads(node.r["report"]))
    assert got == _expected(node.profile)


def test_own_collector_agrees_with_baseline(node: Node) -> None:
    if not _mim(node.profile):
        pytest.skip("not a MongooseIM node")
    collect = node.r["collect"]
    expected = _expected(node.profile)
    if _at_least(node.profile, (6, 1)):  # GA4 era: the same events
        assert _normalise(json.loads(collect)) == expected
    else:  # UA era structs, as observed on real 4.2.0 / 5.1.0 nodes
        assert collect.startswith("[#{key => count,report_name => hosts,value => 1}")
        assert "#{key => none,report_name => mod_disco,value => none}" in collect
        assert "report_name => cluster,value => toml}" in collect
        n_stanzas = len(re.findall(r"report_name => xmpp\w+(Sent|Received)", collect))
        assert n_stanzas == 6


def test_cluster_id_and_config_path(node: Node) -> None:
    if not _mim(node.profile):
        pytest.skip("not a MongooseIM node")
    cid = CLUSTER_ID[node.profile]
    assert node.r["cluster_id"] == f'{{ok,<<"{cid}">>}}'
    if _at_least(node.profile, (6, 4)):
        assert node.r["backend_cluster_id"] == "{error,no_value_in_backend}"
    else:
        assert node.r["backend_cluster_id"] == f'{{ok,<<"{cid}">>}}'
    assert _node_names(node.r["all_cluster_nodes"]) == [node.standin.name]
    assert re.fullmatch(r'"/opt/secret-install-[\w-]+/etc/mongooseim\.toml"', node.r["config_path"])
    assert node.r["location"] == '"/system_metrics_report.json"'


def test_config_shapes(node: Node) -> None:
    p, r = node.profile, node.r
    if not _mim(p):
        pytest.skip("not a MongooseIM node")
    host = FIRST_HOST[p]
    assert r["hosts"].startswith(f'[<<"{host}">>')
    assert re.search(r"\bmod_\w+\b", r["mods"]) and "{badrpc" not in r["mods"]
    assert "{badrpc" not in r["pools"]
    if API[p] == (4, 0):
        # tuples {{Port, IP, Proto}, Module, Opts}; proplist module opts; pools as 5-tuples
        assert r["listen"].startswith("[{{5252,{192,0,2,42},tcp},ejabberd_c2s,[")
        assert r["module_opts"] == "[{backend,rdbms}]"
        assert r["pools"].startswith("[{rdbms,global,default,")
        assert r["domains_route"] == f'[<<"{host}">>]'
        return
    assert r["listen"].startswith("[#{") and "module => " in r["listen"]
    assert r["module_opts"].startswith("#{") and "backend => " in r["module_opts"]
    assert r["missing_key"].startswith("{badrpc,{'EXIT',{")
    assert r["domains_count"].isdigit()
    assert r["is_loaded"] == ("false" if p == "v5_1" else "true")
    c2s = "ejabberd_c2s" if API[p] == (5, 1) else "mongoose_c2s_listener"
    assert f"module => {c2s}" in r["listen"]
    if p in ("small", "custom", "v5_1", "v6_1"):
        # 6.2.1 and older have no `instrumentation' key (observed on the real 6.2.1 node)
        assert r["lookup_instrumentation"] == "{error,not_found}"
    else:
        assert r["lookup_instrumentation"].startswith("{ok,#{")
    if p == "small":
        assert "module => fast_tls" in r["listen"]
    if _at_least(p, (6, 4)):
        assert "module => fast_tls" not in r["listen"] and "module => just_tls" not in r["listen"]


def test_behaviour_attributes(node: Node) -> None:
    if not _mim(node.profile):
        pytest.skip("not a MongooseIM node")
    # mod_ping is gen_mod only on every generation: counted as custom, never reported by name
    assert "{behaviour,[gen_mod]}" in node.r["attrs:gen_mod"]
    assert "mongoose_module_metrics" not in node.r["attrs:gen_mod"]


def test_measure_returns_median_micros_and_reductions(node: Node) -> None:
    if not _mim(node.profile):
        pytest.skip("not a MongooseIM node")
    m = re.fullmatch(r"\{(\d+),(\d+)\}", node.r["measure"])
    assert m, node.r["measure"]
    assert int(m.group(1)) > 0 and int(m.group(2)) > 0


# ---------------------------------------------------------------------------------------------
# Raw metric shapes and traffic, one node per naming scheme


STANZA_SHAPES = {
    # profile: (call, regex the raw result must match)
    "small": (("exometer", "get_values", "[['_', xmppMessageSent]]"),
              r'\[\{\[<<"secret-host-7\.example\.net">>,xmppMessageSent\],\[\{count,\d+\},\{one,\d+\}\]\}\]'),
    "large": (("exometer", "get_values", "[['_', c2s_element_in, message_count]]"),
              r'\[(\{\[<<"secret[\w.-]+">>,c2s_element_in,message_count\],\[\{count,\d+\},\{one,\d+\}\]\},?){10}\]'),
    "v6_4": (("exometer", "get_values", "[['_', xmpp_element_in, '_', message_count]]"),
             r'\[(\{\[<<"secret[\w.-]+">>,xmpp_element_in,(c2s|component|s2s),message_count\],\[\{count,\d+\},\{one,\d+\}\]\},?){6}\]'),
    "v6_6": (("prometheus_counter", "values", '[default, "xmpp_element_in_message_count"]'),
             r'\[(\{\[\{connection_type,(c2s|s2s|component)\},\{host_type,<<"secret-host-66\.example\.net">>\}\],\d+\},?){3}\]'),
    "custom": (("exometer", "get_values", "[['_', xmppIqSent]]"),
               r"\[\{\[global,xmppIqSent\],\[\{count,42\},\{one,0\}\]\}\]"),
}


def _prev_literal(report: list[dict[str, object]]) -> str:
    events = [ev for ev in report if ev["name"] == "xmpp_stanza_count"]
    items = []
    for ev in events:
        params = ev["params"]
        assert isinstance(params, dict)
        items.append(f"#{{name => xmpp_stanza_count, params => #{{stanza_type => "
                     f"{params['stanza_type']}, total => {params['total']}, "
                     f"increment => {params['increment']}}}}}")
    return "[[" + ", ".join(items) + "]]"


@pytest.mark.parametrize("profile", sorted(STANZA_SHAPES))
def test_traffic_between_two_collections(profile: str, epmd: launcher.Epmd) -> None:
    (mod, fun, args), shape = STANZA_SHAPES[profile]
    with launcher.StandIn(profile, cookie=COOKIE, otp=OTPS[-1], epmd_port=epmd.port) as s:
        first = s.probe([("raw", mod, fun, args),
                         ("report", "mim_standin_baseline", "report_json", "[]", "s")])
        assert re.fullmatch(shape, first["raw"]), first["raw"]
        report1 = json.loads(first["report"])
        totals1 = {e["params"]["stanza_type"]: e["params"]["total"]
                   for e in report1 if e["name"] == "xmpp_stanza_count"}
        assert list(totals1) == STANZA_TYPES
        second = s.probe([("add1", "mim_standin", "add_stanzas", "[xmppMessageSent, 3]"),
                          ("add2", "mim_standin", "add_stanzas", "[all, 1]"),
                          ("report", "mim_standin_baseline", "report_json",
                           _prev_literal(report1), "s")])
        assert second["add1"] == second["add2"] == "ok"
        report2 = json.loads(second["report"])
    got = {e["params"]["stanza_type"]: (e["params"]["total"], e["params"]["increment"])
           for e in report2 if e["name"] == "xmpp_stanza_count"}
    want = {t: (totals1[t] + (4 if t == "xmppMessageSent" else 1),
                4 if t == "xmppMessageSent" else 1) for t in STANZA_TYPES}
    assert got == want


# ---------------------------------------------------------------------------------------------
# Clusters


def test_cluster_of_three(epmd: launcher.Epmd) -> None:
    otps = [OTPS[0], OTPS[-1], OTPS[0]]
    with launcher.StandInCluster(["small", "small", "custom"], cookie=COOKIE, otp=otps,
                                 epmd_port=epmd.port) as c:
        results = {n.name: n.probe([
            ("nodes", "erlang", "nodes", "[]"),
            ("cid", "mongoose_cluster_id", "get_cached_cluster_id", "[]"),
            ("members", "mongoose_cluster", "all_cluster_nodes", "[]"),
            ("report", "mim_standin_baseline", "report_json", "[]", "s"),
        ]) for n in c.nodes}
    names = c.names
    for name, r in results.items():
        others = sorted(set(names) - {name})
        assert sorted(_node_names(r["nodes"])) == others, r["nodes"]
        assert r["cid"] == f'{{ok,<<"{CLUSTER_ID["small"]}">>}}'  # the first node's id
        members = _node_names(r["members"])
        assert members[0] == name and sorted(members) == sorted(names)
        cluster = next(e for e in json.loads(r["report"]) if e["name"] == "cluster")
        assert cluster["params"]["node_number"] == 3
    # the small nodes still report exactly the expected report, apart from the node count
    expected = _expected("small")
    next(e for e in expected if e["name"] == "cluster")["params"]["node_number"] = 3  # type: ignore[index]
    assert _normalise(json.loads(results[names[0]]["report"])) == expected


# ---------------------------------------------------------------------------------------------
# Launcher


def test_detached_cli_start_and_stop(epmd: launcher.Epmd, tmp_path: Path) -> None:
    name = f"{launcher.unique_name('demo')}@localhost"
    base = [sys.executable, str(ROOT / "erlang" / "launcher.py")]
    common = ["--name", name, "--cookie", COOKIE, "--epmd-port", str(epmd.port),
              "--state-dir", str(tmp_path)]
    started = subprocess.run([*base, "start", *common, "--profile", "v6_6", "--otp", OTPS[-1]],
                             capture_output=True, text=True, timeout=60, check=False)
    try:
        assert started.returncode == 0, started.stderr
        assert "started " + name in started.stdout
        record = json.loads((tmp_path / f"{name}.json").read_text())
        assert name.split("@")[0] in launcher.epmd_names(epmd.port)  # outlived the command
        r = launcher.probe(name, COOKIE, [("vsn", "application", "get_key", "[mongooseim, vsn]")],
                           epmd_port=epmd.port)
        assert r["vsn"] == '{ok,"6.6.0"}'
        again = subprocess.run([*base, "start", *common], capture_output=True, text=True,
                               timeout=60, check=False)
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        stopped = subprocess.run([*base, "stop", *common], capture_output=True, text=True,
                                 timeout=60, check=False)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    deadline = time.monotonic() + 10
    while name.split("@")[0] in launcher.epmd_names(epmd.port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert name.split("@")[0] not in launcher.epmd_names(epmd.port)
    assert not os.path.exists(f"/proc/{record['pid']}") or not launcher._alive(int(record["pid"]))
    assert not (tmp_path / f"{name}.json").exists()


def test_boot_failure_is_reported_with_the_log(epmd: launcher.Epmd, tmp_path: Path) -> None:
    bad = tmp_path / "broken.profile"
    bad.write_text('{api, "6.2"}.\n{version, "6.2.1"}.\n'
                   '{config, #{hosts => [<<"h">>]}}.\n'
                   '{modules, [{<<"h">>, [#{mod_does_not_exist => #{}}]}]}.\n')
    with pytest.raises(RuntimeError, match="module_not_on_code_path"):
        launcher.StandIn(bad, cookie=COOKIE, epmd_port=epmd.port).start(timeout=20)
