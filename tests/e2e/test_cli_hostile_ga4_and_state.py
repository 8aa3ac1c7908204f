"""The findings of issue 10 against the real command: a hostile GA4 endpoint on loopback, and
state files an attacker (or a crash) left in the state directory.

Each test reproduces one finding and shows the fixed behaviour: the run ends (generous bounds:
"it ends", not "it is fast"), with its documented exit status, within bounded memory, losing
nothing it could keep and sending nothing the gate would stop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import launcher
from conftest import Bridge, standin, wait_until
from mim_bridge.errors import ExitCode
from support.fake_ga import FakeGA

NO_CLUSTER_ID = {"cluster_id": "none"}  # the bridge then uses its own client id file
# Runs the command in-process and reports its own peak resident memory (VmHWM) at exit; a
# child's ru_maxrss would start from its forking parent's, the pytest worker.
MEASURE = """
import atexit, re, runpy, sys
def peak():
    hwm = re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]
    sys.stderr.write(f"peak-kib {hwm}\\n")
atexit.register(peak)
sys.argv = ["bridge", *sys.argv[1:]]
runpy.run_module("mim_bridge", run_name="__main__", alter_sys=True)
"""


def run_measured(bridge: Bridge, *args: str, prefix: tuple[str, ...] = (),
                 timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the bridge; return the result and its peak resident memory in MiB."""
    result = subprocess.run([*prefix, sys.executable, "-c", MEASURE, *args],
                            env=bridge.env, text=True, capture_output=True, timeout=timeout,
                            stdin=subprocess.DEVNULL, check=False)
    *lines, last = result.stderr.rstrip("\n").split("\n")
    assert last.startswith("peak-kib "), result.stderr
    result.stderr = "\n".join(lines) + "\n"
    return result, int(last.split()[1]) // 1024


def spool_files(bridge: Bridge) -> list[Path]:
    return sorted((bridge.state_dir / "spool").glob("*.json"))


def once(node: launcher.StandIn) -> tuple[str, ...]:
    return ("--node", node.name, "--once", "--report", "true")


# -- 1. a slow GA endpoint no longer hangs the bridge ----------------------------------------------


def test_once_against_a_trickling_endpoint_ends_and_keeps_the_report(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    ga.hostile_next("trickle-headers", 1000, 1.0)  # the attacker's peer, one byte a second
    with standin(epmd) as node:
        started = time.monotonic()
        result = bridge.run(*once(node), "--send-timeout", "5s", timeout=120)
        took = time.monotonic() - started
        assert result.returncode == ExitCode.SEND_FAILED, result.stderr
        assert took < 60  # the unfixed bridge was still running after 200 s
        assert "wait in the spool" in result.stderr.splitlines()[-1]
        kept = spool_files(bridge)
        assert kept
        ga.reset()  # GA4 behaves again: the kept report goes out first, nothing is lost
        again = bridge.run(*once(node))
    assert again.returncode == 0, again.stderr
    first, second = ga.delivered()
    assert first.json["events"][0]["name"] == second.json["events"][0]["name"] == "host_count"
    assert spool_files(bridge) == []


def test_the_service_keeps_reporting_against_a_trickling_endpoint(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    ga.hostile_next("trickle-headers", 100_000, 1.0)
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, "--initial-report", "200ms",
                            "--periodic-report", "2s", "--send-timeout", "1s",
                            "--report", "true")
        wait_until(lambda: len(re.findall(r"report \d+: not all delivered", bridge.log(proc)))
                   >= 3, timeout=60, what="three reports")  # the unfixed one finished none
        assert bridge.stop(proc) == 0
    assert proc.returncode == 0


# -- 4. a bad state file is a warning, never a crash loop ------------------------------------------


def test_hostile_state_files_are_warnings_and_a_fresh_start(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    state = bridge.state_dir
    spool = state / "spool"
    spool.mkdir(parents=True)
    (state / "stanza_totals.json").write_text(
        '{"format": 1, "nodes": {"x": {"totals": {"xmppMessageSent": Infinity}}}}')
    (spool / f"{1:020d}-0000001-000001.G-B4S18X6KY5.1.json").write_text("[" * 200_000)
    (spool / f"{2:020d}-0000001-000001.json").write_bytes(os.urandom(5000))
    with open(state / "client_id", "wb") as f:
        f.truncate(300_000_000)  # sparse: read whole, it took 633 MB
    leftover = spool / f".{3:020d}-0000001-000001.G-B4S18X6KY5.1.json.x.tmp"
    leftover.write_text('{"format":')
    os.utime(leftover, (time.time() - 600, time.time() - 600))
    with standin(epmd, overrides=NO_CLUSTER_ID) as node:
        result, rss_mib = run_measured(bridge, *once(node))
    assert result.returncode == 0, result.stderr
    assert rss_mib < 150
    for said in ("stanza_totals.json", "client_id", "removed unusable file"):
        assert said in result.stderr, said
    assert "Traceback" not in result.stderr
    (request,) = ga.delivered()
    assert request.json["client_id"] == (state / "client_id").read_text().strip()
    assert str(uuid.UUID(request.json["client_id"])) == request.json["client_id"]
    assert json.loads((state / "stanza_totals.json").read_text())["format"] == 1
    assert list(spool.iterdir()) == [spool / ".lock"]  # junk and leftovers gone, report sent


# -- 5. an unwritable spool sends without a kept copy ----------------------------------------------


def unprivileged() -> tuple[str, ...]:
    """A prefix that makes permission bits bind the bridge, as for any non-root service user."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permission bits would not bind")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


@pytest.mark.parametrize("how", ["read-only directory", "a file in its place"])
def test_an_unusable_spool_sends_the_report_without_a_kept_copy(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA, how: str) -> None:
    spool = bridge.state_dir / "spool"
    bridge.state_dir.mkdir(parents=True)
    prefix: tuple[str, ...] = ()
    if how == "read-only directory":
        spool.mkdir(mode=0o500)
        prefix = unprivileged()
    else:
        spool.write_text("not a directory")
    with standin(epmd) as node:
        result, _ = run_measured(bridge, *once(node), prefix=prefix)
    assert result.returncode == 0, result.stderr  # the unfixed bridge: exit 1, nothing sent
    assert len(ga.delivered()) == 1
    warnings = [line for line in result.stderr.splitlines() if "without a kept copy" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0]


# -- 6. a planted spool file passes the gate and the limits, or is not sent ------------------------


def test_planted_spool_files_never_reach_ga4(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    spool = bridge.state_dir / "spool"
    spool.mkdir(parents=True)
    body = {"client_id": "5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1", "events": [
        {"name": "cluster", "params": {"secret_host": "mim-1.corp.example.com"}}]}
    (spool / f"{1:020d}-0000001-000001.G-B4S18X6KY5.1.json").write_text(
        json.dumps({"format": 1, "measurement_id": "G-B4S18X6KY5", "body": body}))
    with open(spool / f"{2:020d}-0000001-000001.G-B4S18X6KY5.1.json", "wb") as f:
        f.truncate(100_000_000)
    with standin(epmd) as node:
        result = bridge.run(*once(node))
    assert result.returncode == 0, result.stderr
    assert "corp.example.com" not in " ".join(r.body for r in ga.requests)
    assert len(ga.requests) == 1  # the report itself; neither planted file
    assert "anonymity gate" in result.stderr and "larger than any batch" in result.stderr
    assert spool_files(bridge) == []


# -- 9. honest accounting --------------------------------------------------------------------------


def test_a_rejected_report_is_not_said_to_wait_in_the_spool(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    ga.reject_next(1, status=400)
    with standin(epmd) as node:
        result = bridge.run(*once(node))
    assert result.returncode == ExitCode.SEND_FAILED
    error = result.stderr.splitlines()[-1]
    assert error.startswith("mim-metrics-bridge: error: ")
    assert "rejected by GA4 (HTTP 400) and not resent" in error
    assert "wait in the spool" not in error and spool_files(bridge) == []
