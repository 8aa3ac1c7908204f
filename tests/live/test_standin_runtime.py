"""Live tests of the stand-in at run time: traffic between two collections, clusters, the atom
table under repeated connections, the embedded code mode on request, and the launcher's CLI.

Each test starts its own stand-in(s) on a private EPMD and stops them (pytest-xdist safe).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import launcher
from support import erlvm

pytestmark = pytest.mark.live

if not launcher.runtimes() or not shutil.which("erlc"):
    pytest.skip("needs Erlang/OTP with erlc", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "data" / "expected"
OTPS = [o for o in ("25", "28") if o in launcher.runtimes()]
COOKIE = "standin-runtime-cookie"
STANZA_TYPES = ["xmppMessageSent", "xmppMessageReceived", "xmppIqSent", "xmppIqReceived",
                "xmppPresenceSent", "xmppPresenceReceived"]


@pytest.fixture(scope="module")
def epmd() -> Iterator[launcher.Epmd]:
    launcher.build()
    with launcher.Epmd() as e:
        yield e


def _stanza_events(report: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {e["params"]["stanza_type"]: (e["params"]["total"], e["params"]["increment"])
            for e in report if e["name"] == "xmpp_stanza_count"}


def _prev_literal(report: list[dict[str, Any]]) -> str:
    items = [f"#{{name => xmpp_stanza_count, params => #{{stanza_type => {t}, total => {total}, "
             f"increment => {inc}}}}}" for t, (total, inc) in _stanza_events(report).items()]
    return "[[" + ", ".join(items) + "]]"


# profile: (raw read of the metric the node's own collector uses, the shape it must have)
STANZA_SHAPES = {
    "v3_7": (("exometer", "get_values", "[['_', xmppMessageSent]]"),
             r'\[\{\[<<"secret-host-37\.example\.com">>,xmppMessageSent\],\[\{count,\d+\},\{one,\d+\}\]\}\]'),
    "custom": (("exometer", "get_values", "[['_', xmppIqSent]]"),
               r"\[\{\[global,xmppIqSent\],\[\{count,42\},\{one,0\}\]\}\]"),
    "large": (("exometer", "get_values", "[['_', c2s_element_in, message_count]]"),
              r'\[(\{\[<<"secret[\w.-]+">>,c2s_element_in,message_count\],\[\{count,\d+\},\{one,\d+\}\]\},?){10}\]'),
    # c2s and s2s for both host types and `global', component `global' only
    "v6_4_exometer": (("exometer", "get_values", "[['_', xmpp_element_in, '_', message_count]]"),
                      (r'\[(\{\[(global|<<"secret[\w .-]+">>),xmpp_element_in,(c2s|s2s|component),'
                       r'message_count\],\[\{count,\d+\},\{one,\d+\}\]\},?){7}\]')),
    # label sets from start-up: c2s for the host type and for <<>> (no host type yet)
    "v6_6": (("prometheus_counter", "values", '[default, "xmpp_element_in_message_count"]'),
             (r'\[\{\[\{"connection_type",c2s\},\{"host_type",<<"secret-host-66\.example\.net">>\}\],\d+\},'
              r'\{\[\{"connection_type",c2s\},\{"host_type",<<>>\}\],\d+\}\]')),
}


@pytest.mark.parametrize("profile", sorted(STANZA_SHAPES))
def test_traffic_between_two_collections(profile: str, epmd: launcher.Epmd) -> None:
    (mod, fun, args), shape = STANZA_SHAPES[profile]
    with launcher.StandIn(profile, cookie=COOKIE, otp=OTPS[-1], epmd_port=epmd.port) as s:
        first = s.probe([("raw", mod, fun, args),
                         ("report", "mim_standin_baseline", "report_json", "[]", "s")])
        assert re.fullmatch(shape, first["raw"]), first["raw"]
        report1 = json.loads(first["report"])
        totals1 = {t: total for t, (total, _) in _stanza_events(report1).items()}
        assert list(totals1) == STANZA_TYPES
        second = s.probe([("add1", "mim_standin", "add_stanzas", "[xmppMessageSent, 3]"),
                          ("add2", "mim_standin", "add_stanzas", "[all, 1]"),
                          ("report", "mim_standin_baseline", "report_json",
                           _prev_literal(report1), "s")])
        assert second["add1"] == second["add2"] == "ok"
    got = _stanza_events(json.loads(second["report"]))
    want = {t: (totals1[t] + (4 if t == "xmppMessageSent" else 1),
                4 if t == "xmppMessageSent" else 1) for t in STANZA_TYPES}
    assert got == want


def test_traffic_the_release_does_not_count(epmd: launcher.Epmd) -> None:
    """6.3 reads only exometer: with prometheus-only instrumentation (6.3's shipped config) the
    traffic shows in prometheus, and the report keeps sending totals of 0. 6.4-6.5 as shipped
    (prometheus only) send no stanza event at all."""
    with launcher.StandIn("v6_3", cookie=COOKIE, otp=OTPS[-1], epmd_port=epmd.port) as s:
        r = s.probe([("add", "mim_standin", "add_stanzas", "[all, 5]"),
                     ("prom", "prometheus_counter", "values",
                      '[default, "c2s_element_in_message_count"]'),
                     ("report", "mim_standin_baseline", "report_json", "[]", "s")])
    assert r["add"] == "ok"
    assert sum(int(n) for n in re.findall(r"\],(\d+)\}", r["prom"])) == 63 + 5
    assert {total for total, _ in _stanza_events(json.loads(r["report"])).values()} == {0}
    with launcher.StandIn("v6_4", cookie=COOKIE, otp=OTPS[-1], epmd_port=epmd.port) as s:
        r = s.probe([("add", "mim_standin", "add_stanzas", "[all, 5]"),
                     ("report", "mim_standin_baseline", "report_json", "[]", "s")])
    assert _stanza_events(json.loads(r["report"])) == {}


def _node_names(printed: str) -> list[str]:
    return re.findall(r"'?([\w.-]+@[\w.-]+)'?", printed)


def test_cluster_of_three(epmd: launcher.Epmd) -> None:
    otps = [OTPS[0], OTPS[-1], OTPS[0]]
    with launcher.StandInCluster(["small", "small", "custom"], cookie=COOKIE, otp=otps,
                                 epmd_port=epmd.port) as c:
        results = {n.name: n.probe([
            ("cluster_loaded", "erlang", "module_loaded", "[mongoose_cluster]"),
            ("nodes", "erlang", "nodes", "[]"),
            ("cid", "mongoose_cluster_id", "get_cached_cluster_id", "[]"),
            ("members", "mongoose_cluster", "all_cluster_nodes", "[]"),
            ("report", "mim_standin_baseline", "report_json", "[]", "s"),
        ]) for n in c.nodes}
    names = c.names
    # `mongooseimctl join_cluster' runs mongoose_cluster on the joining nodes, not on the seed.
    assert [results[n]["cluster_loaded"] for n in names] == ["false", "true", "true"]
    for name, r in results.items():
        others = sorted(set(names) - {name})
        assert sorted(_node_names(r["nodes"])) == others, r["nodes"]
        assert r["cid"] == '{ok,<<"5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1">>}'  # the seed's id
        members = _node_names(r["members"])
        assert members[0] == name and sorted(members) == sorted(names)
        cluster = next(e for e in json.loads(r["report"]) if e["name"] == "cluster")
        assert cluster["params"]["node_number"] == 3
    expected = json.loads((EXPECTED / "small.json").read_text())
    next(e for e in expected if e["name"] == "cluster")["params"]["node_number"] = 3
    report = json.loads(results[names[0]]["report"])
    next(e for e in report if e["name"] == "cluster")["params"]["uptime"] = "<uptime>"
    assert report == expected


@pytest.mark.parametrize("otp", OTPS)
def test_each_distinct_node_name_adds_one_atom_and_the_stand_in_none(
        otp: str, epmd: launcher.Epmd) -> None:
    """A node name becomes a permanent atom when it first connects (VM behaviour); reconnecting
    under the same name, or the stand-in handling the calls, adds nothing."""
    tag = launcher.unique_name("a")
    with launcher.StandIn("v6_8", cookie=COOKIE, otp=otp, epmd_port=epmd.port) as s:
        counts = [int(s.probe([("report", "mim_standin_baseline", "report", "[]"),
                               ("n", "erlang", "system_info", "[atom_count]")],
                              name=f"{tag}_{suffix}")["n"])
                  for suffix in ("one", "one", "two", "two", "one", "three")]
    assert [b - a for a, b in itertools.pairwise(counts)] == [0, 1, 0, 0, 1]


def test_embedded_code_mode_on_request(epmd: launcher.Epmd) -> None:
    """The old behaviour on request: -mode embedded, every module of the release loaded at boot,
    and a missing module answers undef without any code-path search."""
    with launcher.StandIn("small", cookie=COOKIE, otp=OTPS[0], epmd_port=epmd.port,
                          code_mode="embedded") as s:
        r = s.probe([("mode", "code", "get_mode", "[]"),
                     ("dormant", "erlang", "module_loaded", "[mod_global_distrib_bounce]"),
                     ("miss", "mim_standin", "call_cost",
                      "[ejabberd_config, get_global_option, [hosts]]"),
                     ("report", "mim_standin_baseline", "report_json", "[]", "s")])
    assert r["mode"] == "embedded" and r["dormant"] == "true"
    assert "result => {error,undef}" in r["miss"]
    reds = int(re.search(r"code_server_reductions => (\d+)", r["miss"]).group(1))  # type: ignore[union-attr]
    assert reds < 1000, r["miss"]  # asked, but no directory searched (thousands on OTP 25)
    assert len(json.loads(r["report"])) == len(json.loads((EXPECTED / "small.json").read_text()))


def test_detached_cli_start_and_stop(epmd: launcher.Epmd, tmp_path: Path) -> None:
    name = erlvm.node_name("demo")
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
    assert (not os.path.exists(f"/proc/{record['pid']}")
            or not launcher.pid_alive(int(record["pid"])))
    assert not (tmp_path / f"{name}.json").exists()


def test_boot_failure_is_reported_with_the_log(epmd: launcher.Epmd, tmp_path: Path) -> None:
    bad = tmp_path / "broken.profile"
    bad.write_text('{version, "6.2.1"}.\n'
                   '{config, #{hosts => [<<"h">>]}}.\n'
                   '{modules, [{<<"h">>, [#{mod_does_not_exist => #{}}]}]}.\n')
    with pytest.raises(RuntimeError, match="module_not_on_code_path"):
        launcher.StandIn(bad, cookie=COOKIE, epmd_port=epmd.port).start(timeout=20)


def test_a_release_without_a_module_catalog_is_refused(epmd: launcher.Epmd,
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "unknown.profile"
    bad.write_text('{version, "4.1.0"}.\n')
    with pytest.raises(RuntimeError, match="no_module_catalog_for_release"):
        launcher.StandIn(bad, cookie=COOKIE, epmd_port=epmd.port).start(timeout=20)
