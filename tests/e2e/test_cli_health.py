"""Health of a running bridge (real stand-in, fake GA4): the endpoint, ``health``, opting out.

Probes must never touch the cluster or Google: while they run, the fake GA4 server and the
node see only the reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import launcher
from conftest import PRIMARY, Bridge, standin, wait_until
from support.fake_ga import FakeGA

FAST = ("--initial-report", "200ms", "--periodic-report", "500ms")
LISTEN = ("--http-listen", "127.0.0.1:0")


def status(bridge: Bridge) -> dict[str, object]:
    return json.loads((bridge.state_dir / "status.json").read_text())


def endpoint(bridge: Bridge) -> str:
    wait_until(lambda: (bridge.state_dir / "status.json").exists()
               and status(bridge).get("http_listen") is not None, what="the status file")
    return f"http://{status(bridge)['http_listen']}"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metrics(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    _, text = get(base + "/metrics")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def health(bridge: Bridge, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mim_bridge.entry", "health", *args],
                          env=bridge.env, capture_output=True, text=True, timeout=30,
                          check=False)


def test_endpoint_and_health_follow_the_node(bridge: Bridge, epmd: launcher.Epmd,
                                             ga: FakeGA) -> None:
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, *FAST, *LISTEN, "--report", "true")
        base = endpoint(bridge)
        wait_until(lambda: len(ga.delivered(PRIMARY)) >= 2, what="two reports")
        # GA4 has the second report a moment before the bridge has counted GA4's answer.
        wait_until(lambda: metrics(base).get(
            ("mim_bridge_reports_total", (("result", "sent"),)), 0) >= 2,
            what="the bridge counting two reports sent")
        assert get(base + "/healthz")[0] == 200
        code, body = get(base + "/readyz")
        assert code == 200 and body.startswith("ready: last attempt: sent"), body
        m = metrics(base)
        assert m[("mim_bridge_reports_total", (("result", "sent"),))] >= 2
        assert m[("mim_bridge_nodes_reached", ())] == 1
        assert m[("mim_bridge_node_reachable", ())] == 1
        assert m[("mim_bridge_connections_open", ())] == 1
        assert m[("mim_bridge_spool_batches", ())] == 0
        assert m[("mim_bridge_reporting_enabled", ())] == 1
        assert m[("mim_bridge_collection_duration_seconds_count", ())] >= 2
        assert ("mim_bridge_last_success_timestamp_seconds", ()) in m
        probe = health(bridge)
        assert probe.returncode == 0 and probe.stdout.startswith("ready: "), probe
        before = len(ga.requests)
        for _ in range(20):  # probes add no traffic of their own
            get(base + "/readyz")
            get(base + "/metrics")
        assert len(ga.requests) - before <= 2  # only the reports of the meantime
        node.stop()
        wait_until(lambda: health(bridge).returncode == 1, what="not ready", timeout=20)
        code, body = get(base + "/readyz")
        assert code == 503 and body.startswith("not ready: no node could be read"), body
        assert node.name not in body  # no host names over HTTP
        assert get(base + "/healthz")[0] == 200  # alive all the same: it retries
        assert health(bridge, "--live").returncode == 0
        assert bridge.stop(proc) == 0
    log = bridge.log(proc)
    assert "starting: nodes " in log and f"health: status file, {base[7:]}" in log.replace(
        "http://", "")
    assert not (bridge.state_dir / "status.json").exists()
    assert health(bridge).returncode == 1


@pytest.mark.parametrize(("args", "env", "reason"), [
    (("--report", "false"), {}, "report = false (--report)"),
    ((), {"DO_NOT_TRACK": "1"}, "DO_NOT_TRACK=1"),
])
def test_opting_out_keeps_the_service_up_and_says_so(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA, args: tuple[str, ...],
        env: dict[str, str], reason: str) -> None:
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, *FAST, *LISTEN, *args, **env)
        base = endpoint(bridge)
        time.sleep(1.5)  # three report periods
        assert proc.poll() is None
        code, body = get(base + "/readyz")
        assert code == 200 and f"reporting is disabled by {reason}" in body
        m = metrics(base)
        assert m[("mim_bridge_reporting_enabled", ())] == 0
        assert m[("mim_bridge_reports_total", (("result", "sent"),))] == 0
        probe = health(bridge)
        assert probe.returncode == 0 and "disabled" in probe.stdout
        assert bridge.stop(proc) == 0
    assert ga.requests == []
    log = bridge.log(proc)
    assert log.count("reporting is disabled") == 1 and "idles until it is stopped" in log


def test_check_says_it_contacts_google_unless_told_not_to(bridge: Bridge,
                                                          epmd: launcher.Epmd) -> None:
    with standin(epmd) as node:
        full = bridge.run("--node", node.name, "--check")
        quiet = bridge.run("--node", node.name, "--check", "--no-ga")
    assert full.returncode == quiet.returncode == 0
    assert "--no-ga skips this step" in full.stdout.splitlines()[-1]
    assert quiet.stdout.splitlines()[-1] == "info GA4 endpoint: not contacted (--no-ga)"


def test_health_reads_a_state_dir_given_on_the_command_line(bridge: Bridge,
                                                            tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    result = health(bridge, "--state-dir", str(other))
    assert result.returncode == 1 and f"no status file {other}/status.json" in result.stdout
