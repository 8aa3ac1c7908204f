"""Each bad input ends as one line on stderr and its documented exit status, no traceback."""

from __future__ import annotations

import os
import socket
import time

import pytest

import launcher
from conftest import Bridge, standin
from mim_bridge.errors import ExitCode
from support.fake_ga import FakeGA


def one_line_error(stderr: str, *phrases: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mim-metrics-bridge: error: "), stderr
    for phrase in phrases:
        assert phrase in lines[0], stderr


@pytest.fixture(scope="module")
def node(epmd: launcher.Epmd) -> launcher.StandIn:
    with standin(epmd) as n:
        yield n


@pytest.mark.parametrize(("args", "status", "phrases"), [
    (["--node", "mongooseim"], ExitCode.USAGE, ["not of the form name@host"]),
    (["--node", "{node}", "--periodic-report", "3hours"], ExitCode.USAGE,
     ["--periodic-report='3hours'", "200ms, 30s, 5m"]),
    (["--node", "{node}", "--initial-report", "-5"], ExitCode.USAGE, ["--initial-report"]),
    (["--node", "nosuchnode@localhost"], ExitCode.UNREACHABLE,
     ["'nosuchnode' is not registered in EPMD"]),
    (["--node", "{node}", "--epmd-port", "{dead_port}"], ExitCode.UNREACHABLE,
     ["cannot reach EPMD", "is epmd running"]),
    (["--node", "{node}"], ExitCode.AUTH, ["cookie is wrong"]),
    (["--node", "{node}", "--cookie-file", "{tmp}/missing-cookie"], ExitCode.USAGE,
     ["cannot read the cookie file", "does not exist"]),
    (["--node", "{node}", "--config", "{tmp}/broken.toml"], ExitCode.USAGE,
     ["broken.toml is not valid TOML"]),
    (["--node", "{node}", "--tracking-id", "UA-12345-1", "--tracking-secret", "x"],
     ExitCode.USAGE, ["Universal Analytics"]),
])
def test_bad_input(bridge: Bridge, node: launcher.StandIn, ga: FakeGA, args: list[str],
                   status: ExitCode, phrases: list[str]) -> None:
    (bridge.tmp / "broken.toml").write_text("[bridge\nnode = ")
    env = {"BRIDGE_COOKIE": "not-the-cookie"} if status is ExitCode.AUTH else {}
    if "--cookie-file" in args:
        env["BRIDGE_COOKIE"] = ""
    values = {"node": node.name, "tmp": str(bridge.tmp), "dead_port": str(launcher.free_port())}
    result = bridge.run(*(a.format(**values) for a in args), "--once", "--report", "true", **env)
    assert result.returncode == status, result.stderr
    one_line_error(result.stderr, *phrases)
    assert ga.requests == []


def test_not_a_mongooseim_node(bridge: Bridge, epmd: launcher.Epmd) -> None:
    with launcher.StandIn("not_mim", epmd_port=epmd.port) as plain:
        once = bridge.run("--node", plain.name, "--once", "--report", "true")
        check = bridge.run("--node", plain.name, "--check")
    assert once.returncode == ExitCode.NOT_MONGOOSEIM
    one_line_error(once.stderr, "is not a MongooseIM node")
    assert check.returncode == ExitCode.NOT_MONGOOSEIM
    assert "FAIL MongooseIM" in check.stdout


def test_the_service_stops_at_once_on_a_wrong_cookie(bridge: Bridge,
                                                     node: launcher.StandIn) -> None:
    result = bridge.run("--node", node.name, "--report", "true", timeout=20,
                        BRIDGE_COOKIE="not-the-cookie")
    assert result.returncode == ExitCode.AUTH
    assert result.stderr.splitlines()[-1].startswith("mim-metrics-bridge: error: ")


def test_check_reports_the_failing_step(bridge: Bridge, node: launcher.StandIn) -> None:
    result = bridge.run("--node", node.name, "--check", BRIDGE_COOKIE="not-the-cookie")
    assert result.returncode == ExitCode.AUTH
    assert "ok   EPMD" in result.stdout
    assert "FAIL " in result.stdout and "handshake and cookie" in result.stdout
    missing = bridge.run("--node", "ghost@localhost", "--check")
    assert missing.returncode == ExitCode.UNREACHABLE
    assert "FAIL ghost@localhost registered" in missing.stdout


def test_json_errors(bridge: Bridge, node: launcher.StandIn) -> None:
    import json
    result = bridge.run("--node", "ghost@localhost", "--once", "--report", "true",
                        "--log-format", "json")
    assert result.returncode == ExitCode.UNREACHABLE
    last = json.loads(result.stderr.splitlines()[-1])
    assert last["what"] == "exit" and last["exit_status"] == 3 and last["level"] == "error"


def test_unwritable_report_file(bridge: Bridge, node: launcher.StandIn) -> None:
    blocker = bridge.tmp / "not-a-dir"
    blocker.write_text("")
    result = bridge.run("--node", node.name, "--once", "--report", "true",
                        "--report-file", str(blocker / "report.json"))
    assert result.returncode == ExitCode.LOCAL_FILES
    one_line_error(result.stderr, "report file", "--report-file")


@pytest.mark.parametrize(("args", "env", "phrases"), [
    (["--cookie-file", "{fifo}"], {"BRIDGE_COOKIE": ""}, ["FIFO", "not a regular file"]),
    (["--cookie-file", "/dev/zero"], {"BRIDGE_COOKIE": ""}, ["character device"]),
    (["--cookie-file", "{two_lines}"], {"BRIDGE_COOKIE": ""},
     ["line 2 is not empty", "Bad characters in cookie"]),
    (["--config", "/dev/zero"], {}, ["cannot read configuration file /dev/zero",
                                     "character device"]),
    (["--config", "{fifo}"], {}, ["FIFO"]),
    (["--config", "{latin1}"], {}, ["is not UTF-8 text (byte 0xe9"]),
    ([], {"BRIDGE_GA_URL": "http://[::1"}, ["BRIDGE_GA_URL='http://[::1'", "not a valid URL"]),
    (["--periodic-report", "99999999999999999999d"], {}, ["at most a year"]),
    (["--no-ga"], {}, ["--no-ga only goes with --check"]),
    (["--http-listen", "127.0.0.1:{busy_port}"], {}, ["cannot listen on 127.0.0.1:",
                                                      "--http-listen"]),
])
def test_input_gaps_end_the_service_with_one_line_and_status_2(
        bridge: Bridge, node: launcher.StandIn, ga: FakeGA, args: list[str],
        env: dict[str, str], phrases: list[str]) -> None:
    """Each of these used to be a traceback, a hang, or a crash later on (issue 10, item 7)."""
    fifo = bridge.tmp / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo, 0o600)
    (bridge.tmp / "two-lines").write_bytes(b"standin\nsecond line\n")
    (bridge.tmp / "two-lines").chmod(0o400)
    (bridge.tmp / "latin1.toml").write_bytes(b"[bridge]\nnode = \"caf\xe9@host\"\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        values = {"fifo": str(fifo), "two_lines": str(bridge.tmp / "two-lines"),
                  "latin1": str(bridge.tmp / "latin1.toml"),
                  "busy_port": str(busy.getsockname()[1])}
        started = time.monotonic()
        result = bridge.run("--node", node.name, "--report", "true",
                            *(a.format(**values) for a in args), timeout=30, **env)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert time.monotonic() - started < 30
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("mim-metrics-bridge: error: "), result.stderr
    assert all(p in last for p in phrases), result.stderr
    assert ga.requests == []
