"""The bridge's node name on a real node: one atom for all runs, one bridge per state directory,
a quick restart, a second process under the same name, and other bridges on the cluster.

The node's own view is read with ``launcher.probe`` from a real hidden Erlang node; each probe is
itself a new node name (a new atom), which the atom count test measures and subtracts.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import launcher
from conftest import PRIMARY, Bridge, standin, wait_until
from mim_bridge.errors import ExitCode
from support.fake_ga import FakeGA

SERVICE = ("--report", "true", "--initial-report", "1h", "--periodic-report", "2h")


@pytest.fixture(scope="module")
def node(epmd: launcher.Epmd) -> Iterator[launcher.StandIn]:
    # Its in-VM service has reported once, as on any node running it for more than its
    # initial_report: the atoms reading modules' attributes creates exist already (see
    # tests/live/test_collector.py for a node where nothing has run yet).
    with standin(epmd, overrides={"service_reported": "true"}) as n:
        yield n


def observe(node: launcher.StandIn) -> tuple[int, list[str], list[str]]:
    """The node's atom count, its loaded modules and its hidden nodes, as it sees them."""
    r = node.probe([("atoms", "erlang", "system_info", "[atom_count]"),
                    ("loaded", "code", "all_loaded", "[]"),
                    ("hidden", "erlang", "nodes", "[hidden]")])
    modules = sorted(re.findall(r"\{'?([A-Za-z0-9_$@.]+)'?,", r["loaded"]))
    return int(r["atoms"]), modules, re.findall(r"[\w.-]+@[\w.-]+", r["hidden"])


def hidden(node: launcher.StandIn) -> list[str]:
    return observe(node)[2]


def started(bridge: Bridge, *args: str) -> subprocess.Popen[str]:
    """A service that has connected (its first look at the cluster is done)."""
    proc = bridge.start(*args)
    def looked() -> bool:
        try:
            status = json.loads((bridge.state_dir / "status.json").read_text())
        except (OSError, ValueError):
            return False
        return (status.get("last_attempt") or {}).get("result") == "first look"

    wait_until(lambda: looked() or proc.poll() is not None, timeout=30,
               what="the service's first look")
    assert proc.poll() is None, bridge.log(proc)
    return proc


def own_name(bridge: Bridge) -> str:
    return (bridge.state_dir / "node_name").read_text().strip()


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("mim-metrics-bridge: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# ------------------------------------------------------------------------- atoms


def test_a_hundred_runs_cost_the_node_at_most_one_atom(bridge: Bridge, node: launcher.StandIn,
                                                        ga: FakeGA) -> None:
    before_probe = observe(node)
    atoms0, loaded0, _ = observe(node)
    per_probe = atoms0 - before_probe[0]  # the probe's own name, and whatever else it costs
    args = ("--node", node.name, "--call-timeout", "2s", "--connect-timeout", "2s")

    def run(i: int) -> tuple[str, int, str]:
        mode = ("--once", "--report", "true") if i % 2 == 0 else ("--check",)
        r = bridge.run(*args, *mode, timeout=60)
        return mode[0], r.returncode, r.stderr + r.stdout

    # In sequence: a --check during a --once would use the second name (by design), and two
    # runs of one mode at once would refuse each other.
    results = [run(i) for i in range(100)]
    failed = [(mode, code, out[-300:]) for mode, code, out in results if code != 0]
    assert not failed, failed[:3]
    assert len(ga.delivered(PRIMARY)) == 50
    atoms1, loaded1, _ = observe(node)
    assert atoms1 - atoms0 - per_probe <= 1, (
        f"{atoms1 - atoms0 - per_probe} new atoms on the node after 50 --once and 50 --check")
    assert loaded1 == loaded0  # nothing loaded into the node
    assert own_name(bridge).startswith("mim_metrics_bridge_")


# ------------------------------------------------------------------------- one bridge per state dir


def test_a_second_bridge_on_the_state_dir_is_refused_and_check_runs_beside(
        bridge: Bridge, node: launcher.StandIn) -> None:
    service = started(bridge, "--node", node.name, *SERVICE)
    name = f"{own_name(bridge)}@localhost"
    assert name in hidden(node)
    second = bridge.run("--node", node.name, "--once", "--report", "true")
    assert second.returncode == ExitCode.ALREADY_RUNNING == 9
    line = one_line(second.stderr)
    assert str(bridge.state_dir) in line and f"PID {service.pid}" in line
    check = bridge.run("--node", node.name, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"the bridge is {own_name(bridge)}_check@localhost" in check.stdout
    assert "other bridges" not in check.stdout  # the service is us, not another bridge
    assert name in hidden(node)  # neither kicked the service's connection
    assert bridge.stop(service) == 0
    assert "lost" not in bridge.log(service)


def test_an_unusable_state_dir_is_status_8(bridge: Bridge, node: launcher.StandIn) -> None:
    blocker = bridge.tmp / "file"
    blocker.write_text("")
    r = bridge.run("--node", node.name, "--once", "--report", "true",
                   BRIDGE_STATE_DIR=str(blocker / "state"))
    assert r.returncode == ExitCode.LOCAL_FILES == 8
    assert "state directory" in one_line(r.stderr)


# ------------------------------------------------------------------------- the same name twice


SQUATTER = textwrap.dedent("""
    import asyncio, sys
    from mim_bridge.erldist import connect

    async def main():
        conn = await connect(sys.argv[1], "standin", name=sys.argv[2])
        print("connected", flush=True)
        while not conn.closed:
            await asyncio.sleep(0.05)
        print("dropped", flush=True)

    asyncio.run(main())
""")


class Squatter:
    """Another process connected to the node under a given name (e.g. our dead predecessor's
    connection, which the node still believes alive)."""

    def __init__(self, bridge: Bridge, node: launcher.StandIn, name: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SQUATTER, node.name, name],
                                     env=bridge.env, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == "connected\n"

    def dropped(self, timeout: float = 10) -> bool:
        assert self.proc.stdout is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return self.proc.stdout.read() == "dropped\n"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def test_the_owner_replaces_a_connection_under_its_name_and_others_are_refused(
        bridge: Bridge, node: launcher.StandIn, ga: FakeGA) -> None:
    bridge.state_dir.mkdir(parents=True)
    (bridge.state_dir / "node_name").write_text("mim_metrics_bridge_0123456789\n")
    ours = "mim_metrics_bridge_0123456789@localhost"
    squatter = Squatter(bridge, node, "mim_metrics_bridge_0123456789")
    try:
        # --check does not hold the state directory: it cannot know the old connection is
        # dead, so it is refused and the squatter keeps its connection
        check = bridge.run("--node", node.name, "--check")
        assert check.returncode == ExitCode.ALREADY_RUNNING
        assert f"already has a connection from a node named {ours}" in check.stdout
        assert not squatter.dropped(timeout=0.5)
        # --once holds it: the old connection can only be a dead predecessor's; it replaces it
        once = bridge.run("--node", node.name, "--once", "--report", "true")
        assert once.returncode == 0, once.stderr
        assert squatter.dropped()
        assert len(ga.delivered(PRIMARY)) == 1
    finally:
        squatter.close()


def test_two_processes_with_one_name_do_not_fight(bridge: Bridge, node: launcher.StandIn,
                                                  tmp_path: Path) -> None:
    first = started(bridge, "--node", node.name, "--sname", "metrics_twin", *SERVICE)
    assert "metrics_twin@localhost" in hidden(node)
    second = bridge.run("--node", node.name, "--once", "--report", "true", "--sname",
                        "metrics_twin", BRIDGE_STATE_DIR=str(tmp_path / "other-state"))
    assert second.returncode == ExitCode.ALREADY_RUNNING
    line = one_line(second.stderr)
    assert "already has a connection from a node named metrics_twin@localhost" in line
    assert "metrics_twin@localhost" in hidden(node)  # the first one keeps its connection
    assert bridge.stop(first) == 0
    assert "lost" not in bridge.log(first)


def test_a_quick_restart_after_kill_9_connects(bridge: Bridge, node: launcher.StandIn,
                                               ga: FakeGA) -> None:
    fast = ("--node", node.name, "--report", "true", "--initial-report", "0",
            "--periodic-report", "1h")
    first = bridge.start(*fast)
    wait_until(lambda: len(ga.delivered(PRIMARY)) == 1, timeout=30, what="the first report")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = bridge.start(*fast)  # at once
    wait_until(lambda: len(ga.delivered(PRIMARY)) == 2 or second.poll() is not None,
               timeout=30, what="the restarted bridge's report")
    assert second.poll() is None, bridge.log(second)
    assert f"{own_name(bridge)}@localhost" in hidden(node)
    assert bridge.stop(second) == 0
    assert "error" not in bridge.log(second).lower()


# ------------------------------------------------------------------------- other bridges


def test_another_bridge_on_the_cluster_is_one_warning(bridge: Bridge, node: launcher.StandIn,
                                                      ga: FakeGA) -> None:
    other = Squatter(bridge, node, "mim_metrics_bridge_aaaaaaaaaa")
    try:
        once = bridge.run("--node", node.name, "--once", "--report", "true")
        check = bridge.run("--node", node.name, "--check")
    finally:
        other.close()
    assert once.returncode == 0, once.stderr
    warnings = [line for line in once.stderr.splitlines() if "another bridge" in line]
    assert len(warnings) == 1
    assert "mim_metrics_bridge_aaaaaaaaaa@localhost" in warnings[0]
    assert "twice" in warnings[0] and "WARNING" in warnings[0]
    assert "mim_metrics_bridge_aaaaaaaaaa@localhost also connected" in check.stdout
