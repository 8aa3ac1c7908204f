"""The bridge as a subprocess against real stand-in nodes and the fake GA4 server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import launcher
import mim_bridge
from conftest import PRIMARY, PRIVATE, Bridge, standin, wait_until
from mim_bridge.report import read_report
from support import erlvm
from support.fake_ga import FakeGA

FAST = ("--initial-report", "200ms", "--periodic-report", "400ms")
PRIVATE_ID = ("--tracking-id", PRIVATE, "--tracking-secret", "test-secret")


def test_initial_and_periodic_reports_reach_both_tracking_ids(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    with standin(epmd) as node:
        started = time.monotonic()
        proc = bridge.start("--node", node.name, *FAST, *PRIVATE_ID)
        wait_until(lambda: len(ga.delivered(PRIVATE)) >= 3, what="three reports")
        first_after = ga.delivered(PRIMARY)[0].time - (time.time() - (time.monotonic() - started))
        assert bridge.stop(proc) == 0
    log = bridge.log(proc)
    assert first_after >= 0.2  # not before initial_report
    primary, private = ga.delivered(PRIMARY), ga.delivered(PRIVATE)
    assert abs(len(primary) - len(private)) <= 1
    assert primary[0].json == private[0].json  # the same report to both properties
    # the transparency notice, once, at warning level, naming the report file
    notices = [line for line in log.splitlines() if "MongooseIM docs" in line]
    assert len(notices) == 1 and "WARNING" in notices[0]
    assert str(bridge.report_file) in notices[0] and "System-Metrics-Privacy-Policy" in notices[0]
    # the report file is the last report sent
    last = ga.delivered(PRIMARY)[-1].json
    assert [e.to_json() for e in read_report(bridge.report_file)] == last["events"]
    assert last["client_id"] == "5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1"
    assert bridge.leftovers() == []


def test_report_true_is_silent_and_once_reports_now(bridge: Bridge, epmd: launcher.Epmd,
                                                    ga: FakeGA) -> None:
    with standin(epmd) as node:
        result = bridge.run("--node", node.name, "--once", "--report", "true")
    assert result.returncode == 0, result.stderr
    assert "MongooseIM docs" not in result.stderr
    assert len(ga.delivered(PRIMARY)) == 1
    names = [e["name"] for e in ga.events(PRIMARY)]
    assert names[0] == "host_count" and "cluster" in names and "xmpp_stanza_count" in names


def test_every_node_of_a_cluster_reports_one_client_id(bridge: Bridge, epmd: launcher.Epmd,
                                                       ga: FakeGA) -> None:
    with launcher.StandInCluster("v5_1", 3, "standin", epmd_port=epmd.port) as cluster:
        result = bridge.run("--node", cluster.names[0], "--once", "--report", "true")
    assert result.returncode == 0, result.stderr
    bodies = [r.json for r in ga.delivered(PRIMARY)]
    assert len(bodies) == 3
    assert {b["client_id"] for b in bodies} == {"69fc3600-22d6-4e8e-8947-5ec2e7420051"}
    node_numbers = [e["params"]["node_number"] for b in bodies for e in b["events"]
                    if e["name"] == "cluster"]
    assert node_numbers == [3, 3, 3]
    assert len(read_report(bridge.report_file)) == sum(len(b["events"]) for b in bodies)


def test_report_false_and_do_not_track_send_nothing(bridge: Bridge, epmd: launcher.Epmd,
                                                    ga: FakeGA) -> None:
    with standin(epmd) as node:
        for extra, env in ((("--report", "false"), {}), ((), {"DO_NOT_TRACK": "1"}),
                           ((), {"BRIDGE_REPORT": "false"})):
            proc = bridge.start("--node", node.name, *FAST, *extra, **env)
            wait_until(lambda p=proc: "reporting is disabled" in bridge.log(p),  # type: ignore[misc]
                       what="the opt-out notice")
            time.sleep(1.0)  # several report periods: the service idles, it does not exit
            assert proc.poll() is None
            assert bridge.stop(proc) == 0
            assert bridge.log(proc).count("reporting is disabled") == 1
            assert "the service idles until it is stopped" in bridge.log(proc)
        once = bridge.run("--node", node.name, "--once", DO_NOT_TRACK="1")
        assert once.returncode == 0
    assert ga.requests == []
    assert not bridge.report_file.exists()


def test_nodes_own_report_false_is_honoured(bridge: Bridge, epmd: launcher.Epmd,
                                            ga: FakeGA) -> None:
    with launcher.StandIn("custom", epmd_port=epmd.port) as node:  # report = false in its config
        proc = bridge.start("--node", node.name, *FAST)
        wait_until(lambda: "every node has report = false" in bridge.log(proc),
                   what="the idle notice")
        time.sleep(1.0)
        assert proc.poll() is None
        assert bridge.stop(proc) == 0
    assert "has report = false" in bridge.log(proc)
    assert ga.requests == []


def test_a_running_in_vm_service_is_not_doubled(bridge: Bridge, epmd: launcher.Epmd,
                                                ga: FakeGA) -> None:
    with launcher.StandIn("small", epmd_port=epmd.port) as node:  # its own service runs
        skipped = bridge.run("--node", node.name, "--once", "--report", "true")
        allowed = bridge.run("--node", node.name, "--once", "--report", "true",
                             "--allow-double-report")
    assert skipped.returncode == 0 and "--allow-double-report" in skipped.stderr
    assert allowed.returncode == 0
    assert len(ga.delivered(PRIMARY)) == 1  # only the allowed run sent


def test_options_from_mongooseim_toml(bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    toml = bridge.tmp / "mongooseim.toml"
    toml.write_text(f"""
[general]
  hosts = ["localhost"]

[services.service_mongoose_system_metrics]
  initial_report = 200
  periodic_report = 300
  report = true
  tracking_id.id = "{PRIVATE}"
  tracking_id.secret = "secret-from-toml"

[modules.mod_roster]
  backend = "mnesia"
""")
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, "--config", str(toml))
        wait_until(lambda: len(ga.delivered(PRIVATE)) >= 2, what="two reports")
        assert bridge.stop(proc) == 0
    assert "MongooseIM docs" not in bridge.log(proc)  # report = true: silent
    assert ga.delivered(PRIVATE)[0].api_secret == "secret-from-toml"
    assert "first report in 200ms, then every 300ms" in bridge.log(proc)


def test_reports_resume_after_the_node_restarts(bridge: Bridge, epmd: launcher.Epmd,
                                                ga: FakeGA) -> None:
    name = erlvm.node_name("restart")
    node = standin(epmd, name=name).start()
    try:
        proc = bridge.start("--node", name, *FAST, "--report", "true")
        wait_until(lambda: len(ga.delivered()) >= 2, what="reports before the restart")
        node.stop()
        time.sleep(1.0)
        before = len(ga.delivered())
        node = standin(epmd, name=name).start()
        wait_until(lambda: len(ga.delivered()) >= before + 2, timeout=20,
                   what="reports after the restart")
        assert bridge.stop(proc) == 0
    finally:
        node.stop()
    log = bridge.log(proc)
    assert "could not collect" in log  # the reports while it was down failed, then resumed
    uptimes = [e["params"]["uptime"] for e in ga.events() if e["name"] == "cluster"]
    assert uptimes[-1] <= uptimes[before - 1]  # the new node's uptime started over


def test_reports_made_while_ga_is_down_are_delivered_later(bridge: Bridge, epmd: launcher.Epmd,
                                                           ga: FakeGA) -> None:
    ga.fail_next(15, status=503)
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, *FAST, "--report", "true")
        wait_until(lambda: len(ga.delivered()) >= 3, timeout=30, what="delivery after outage")
        wait_until(lambda: not list((bridge.state_dir / "spool").glob("*.json")),
                   what="an empty spool")
        assert bridge.stop(proc) == 0
    log = bridge.log(proc)
    reports = len(re.findall(r"report \d+: ", log))
    assert "wait in the spool" in log  # some reports could not be sent at first
    assert len(ga.delivered()) >= reports  # ...and none was lost
    assert [r.outcome for r in ga.requests].count("fail") == 15


def test_sigterm_mid_cycle_exits_cleanly(bridge: Bridge, epmd: launcher.Epmd,
                                         ga: FakeGA) -> None:
    ga.stall_next(1, seconds=20)
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, "--initial-report", "0",
                            "--periodic-report", "20s", "--shutdown-timeout", "500ms",
                            "--report", "true")
        # the fake records a stalled request only once it answers: wait for the spooled batch
        wait_until(lambda: list((bridge.state_dir / "spool").glob("*.json")),
                   what="the report being sent")
        time.sleep(0.3)
        started = time.monotonic()
        assert bridge.stop(proc) == 0
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert "received SIGTERM" in bridge.log(proc)
    assert bridge.leftovers() == []
    assert list((bridge.state_dir / "spool").glob("*.json"))  # the unsent report is kept


def test_dry_run_prints_exactly_what_once_sends(bridge: Bridge, epmd: launcher.Epmd,
                                                ga: FakeGA) -> None:
    with standin(epmd) as node:
        dry = bridge.run("--node", node.name, "--once", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert ga.requests == [] and not bridge.report_file.exists()
        once = bridge.run("--node", node.name, "--once", "--report", "true")
    bodies = [json.loads(line) for line in dry.stdout.splitlines()]
    sent = ga.delivered(PRIMARY)[0].json
    for body in (bodies[0], sent):  # uptime differs between the two runs
        for e in body["events"]:
            e["params"].pop("uptime", None)
    assert once.returncode == 0 and bodies == [sent]


def test_check_and_validate(bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    # A node whose in-VM service has reported once, so MongooseIM's own collector is loaded.
    with standin(epmd, overrides={"service_reported": "true"}) as node:
        check = bridge.run("--node", node.name, "--check")
        validate = bridge.run("--node", node.name, "--validate")
    assert check.returncode == 0, check.stdout + check.stderr
    for step in ("EPMD", "registered", "handshake and cookie", "hidden", "MongooseIM",
                 "in-VM system-metrics service", "report", "GA4 endpoint"):
        assert re.search(rf"^ok +.*{step}", check.stdout, re.MULTILINE), step
    assert "version 6.2.1" in check.stdout
    # the stand-in has MongooseIM's own collector: the bridge's report agrees with it
    assert re.search(r"^ok +\S+ cross-check: the bridge's report matches MongooseIM's own",
                     check.stdout, re.MULTILINE), check.stdout
    assert validate.returncode == 0 and "no validation messages" in validate.stdout
    assert [r.path for r in ga.requests] == ["/debug/mp/collect"]


def test_check_never_loads_the_nodes_own_collector(bridge: Bridge, epmd: launcher.Epmd) -> None:
    with standin(epmd) as node:
        before = node.probe([("c", "erlang", "module_loaded",
                              "[mongoose_system_metrics_collector]")])
        check = bridge.run("--node", node.name, "--check")
        after = node.probe([("c", "erlang", "module_loaded",
                             "[mongoose_system_metrics_collector]")])
    assert before == after == {"c": "false"}
    assert re.search(r"^info +\S+ cross-check: MongooseIM's own collector has not run",
                     check.stdout, re.MULTILINE), check.stdout


def test_the_console_script_is_installed_and_no_bridge_alias() -> None:
    """Only ``mim-metrics-bridge``: a ``bridge`` script would shadow iproute2's /usr/sbin/bridge."""
    path = shutil.which("mim-metrics-bridge")
    assert path is not None
    for flag in ("--version", "-V"):
        result = subprocess.run([path, flag], capture_output=True, text=True, timeout=30,
                                check=False)
        assert result.returncode == 0
        assert result.stdout == f"mongooseim-metrics-bridge {mim_bridge.__version__}\n"
    ours = Path(path).parent / "bridge"
    assert not ours.exists(), f"{ours}: the package must not install a 'bridge' script"
