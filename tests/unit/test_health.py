"""Health: the status file, its judgement, the ``health`` command and the HTTP endpoint.

The endpoint is served by the real :class:`HealthServer` on a loopback port; clients are raw
sockets, so slow, oversized and abandoned requests are what they look like on the wire.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mim_bridge.app.health import command
from mim_bridge.app.health.http import MAX_CLIENTS, REQUEST_TIMEOUT, HealthServer
from mim_bridge.app.health.monitor import Monitor
from mim_bridge.app.health.status import FILENAME, assess, read_status
from support.aio import aio


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def monitor(tmp_path: Path | None = None, clock: Clock | None = None) -> Monitor:
    return Monitor(tmp_path / FILENAME if tmp_path else None, 300.0, 10800.0, 100.0,
                   clock=clock or Clock())


# --------------------------------------------------------------------------- the judgement

def test_a_new_service_is_live_but_not_ready() -> None:
    m = monitor()
    m.changed()
    v = m.verdict()
    assert (v.live, v.ready) == (True, False) and v.reason.startswith("starting")


def test_ready_after_a_first_look_until_the_report_is_overdue() -> None:
    clock = Clock()
    m = monitor(clock=clock)
    m.running()
    m.first_look(2)
    m.next_report_in(300)
    assert m.verdict().ready
    clock.t += 300 + 101  # the report is due, and its grace is spent: the loop is stuck
    m.changed()  # a heartbeat: alive, but the schedule is not kept
    v = m.verdict()
    assert (v.live, v.ready) == (True, False) and "not kept" in v.reason


def test_not_ready_when_no_node_answered_and_ready_again_after() -> None:
    m = monitor()
    m.running()
    m.unreachable("unreachable", "cannot reach EPMD at mim-1.example.com:4369")
    v = m.verdict()
    assert not v.ready and "(unreachable," in v.reason
    assert "example.com" not in v.reason  # reasons are served over HTTP: no host names
    m.reached(1, 0.1)
    m.report("sent")
    assert m.verdict().ready
    assert m.reports["sent"] == 1 and m.reports["not_collected"] == 1


def test_disabled_is_ready_idle_and_stopping_is_not() -> None:
    m = monitor()
    m.disabled("DO_NOT_TRACK=1")
    v = m.verdict()
    assert (v.live, v.ready) == (True, True) and "disabled by DO_NOT_TRACK=1" in v.reason
    m.stopping()
    assert (m.verdict().live, m.verdict().ready) == (True, False)


def test_a_stale_heartbeat_is_not_live() -> None:
    clock = Clock()
    m = monitor(clock=clock)
    m.running()
    m.first_look(1)
    clock.t += 3 * m.heartbeat_seconds + 6
    v = assess(m.document(), clock.t)
    assert not v.live and "no heartbeat for 36s" in v.reason


@pytest.mark.parametrize("doc", [{}, {"format": 2}, {"format": 1}, {"format": 1, "pid": "x"},
                                 {"format": 1, "updated_at": "soon", "pid": 1, "state": "x"}])
def test_odd_documents_are_not_live(doc: dict[str, Any]) -> None:
    assert not assess(doc, 0.0).live


# --------------------------------------------------------------------------- the status file

def test_the_status_file_is_replaced_atomically_and_removed_at_exit(tmp_path: Path) -> None:
    m = monitor(tmp_path / "state")
    m.running()
    path = tmp_path / "state" / FILENAME
    assert read_status(path)["state"] == "running"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    m.first_look(3)
    doc = read_status(path)
    assert doc["nodes_reached"] == 3 and doc["pid"] == os.getpid()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    m.remove()
    assert not path.exists()


def test_an_unwritable_status_file_is_logged_once_and_ignored(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "state").write_text("a file where the directory should be")
    m = monitor(tmp_path / "state")
    for _ in range(3):
        m.running()
    assert caplog.text.count("cannot write the status file") == 1


# --------------------------------------------------------------------------- `health`

def health(state: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = command.main([*args, "--state-dir", str(state)], out, environ={})
    return code, out.getvalue()


def test_health_without_a_running_bridge(tmp_path: Path) -> None:
    code, out = health(tmp_path)
    assert code == 1 and out.startswith("not live: no status file")


def test_health_ready_live_and_json(tmp_path: Path) -> None:
    m = monitor(tmp_path, clock=time.time)  # type: ignore[arg-type]
    m.changed()
    assert health(tmp_path)[0] == 1  # starting: not ready
    assert health(tmp_path, "--live") == (0, ("live: starting: the first look at the cluster is "
                                          "under way\n"))
    m.first_look(1)
    m.running()
    m.next_report_in(60)
    code, out = health(tmp_path)
    assert code == 0 and out.startswith("ready: last attempt: first look")
    code, out = health(tmp_path, "--json")
    assert code == 0 and json.loads(out)["state"] == "running"


def test_health_shows_the_local_error_message(tmp_path: Path) -> None:
    m = monitor(tmp_path, clock=time.time)  # type: ignore[arg-type]
    m.running()
    m.unreachable("auth", "the node refused the cookie")
    code, out = health(tmp_path)
    assert code == 1 and out.startswith("not ready: no node could be read")
    assert out.rstrip().endswith("[the node refused the cookie]")


def test_health_of_a_dead_process(tmp_path: Path) -> None:
    m = monitor(tmp_path, clock=time.time)  # type: ignore[arg-type]
    m.disabled("DO_NOT_TRACK=1")
    doc = read_status(tmp_path / FILENAME)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    doc["pid"] = int(dead.stdout)
    (tmp_path / FILENAME).write_text(json.dumps(doc))
    code, out = health(tmp_path, "--live")
    assert code == 1 and "is not running" in out


@pytest.mark.parametrize("args", [["--bogus"], ["--state-dir"], ["extra"]])
def test_health_usage_errors(tmp_path: Path, args: list[str],
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(args, io.StringIO(), environ={}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mim-metrics-bridge health: error: ")


def test_health_finds_the_state_directory_like_the_service(tmp_path: Path) -> None:
    toml = tmp_path / "bridge.toml"
    toml.write_text(f'[bridge]\nstate_dir = "{tmp_path / "from-toml"}"\n')
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "xdg")}
    assert command.state_dir(None, None, env) == tmp_path / "xdg" / "mim-metrics-bridge"
    assert command.state_dir(None, str(toml), env) == tmp_path / "from-toml"
    assert command.state_dir(None, None, {**env, "BRIDGE_CONFIG": str(toml)}) == \
        tmp_path / "from-toml"
    assert command.state_dir(None, str(toml), {**env, "BRIDGE_STATE_DIR": "/e"}) == Path("/e")
    assert command.state_dir("/f", str(toml), {**env, "BRIDGE_STATE_DIR": "/e"}) == Path("/f")


def test_health_imports_almost_nothing(tmp_path: Path) -> None:
    """The probe's cost is a Python start-up: no asyncio, no distribution client, no sender."""
    code = ("import sys; from mim_bridge.entry import main; sys.argv = ['x', 'health', "
            f"'--state-dir', {str(tmp_path)!r}]; main(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('asyncio', 'mim_bridge', 'prometheus_client', 'requests', 'tomllib', "
            "'argparse', 'logging', 'dataclasses')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.strip().splitlines()[-1].replace("'", '"')) == sorted([
        "mim_bridge", "mim_bridge.entry", "mim_bridge.app", "mim_bridge.app.health",
        "mim_bridge.app.health.command", "mim_bridge.app.health.status", "mim_bridge.util",
        "mim_bridge.util.localfiles"])


# --------------------------------------------------------------------------- the HTTP endpoint

async def started(m: Monitor) -> tuple[HealthServer, str, int]:
    server = HealthServer(m, "127.0.0.1", 0)
    address = await server.start()
    host, port = address.rsplit(":", 1)
    return server, host, int(port)


async def request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


@aio
async def test_endpoints_answer_from_the_monitor() -> None:
    m = monitor(clock=time.time)  # type: ignore[arg-type]
    m.changed()
    server, _, port = await started(m)
    try:
        assert (await request(port, get("/healthz")))[0] == 200
        status, _, body = await request(port, get("/readyz"))
        assert status == 503 and body.startswith(b"not ready: starting")
        m.first_look(1)
        m.running()
        m.next_report_in(10)
        m.reached(1, 0.25)
        m.report("sent", send_seconds=0.5, spool_batches=0, connections=1)
        status, headers, body = await request(port, get("/readyz?verbose"))
        assert status == 200 and body.startswith(b"ready: last attempt: sent")
        assert headers["Connection"] == "close"
        status, headers, body = await request(port, get("/metrics"))
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(body.decode()) for s in f.samples}
        assert samples[("mim_bridge_reports_total", (("result", "sent"),))] == 1
        assert samples[("mim_bridge_reports_total", (("result", "internal_error"),))] == 0
        assert samples[("mim_bridge_ready", ())] == 1
        assert samples[("mim_bridge_reporting_enabled", ())] == 1
        assert samples[("mim_bridge_collection_duration_seconds_sum", ())] == 0.25
        assert samples[("mim_bridge_send_duration_seconds_count", ())] == 1
        assert samples[("mim_bridge_node_reachable", ())] == 1
        assert samples[("mim_bridge_connections_open", ())] == 1
        assert ("process_resident_memory_bytes", ()) in samples
        assert ("mim_bridge_last_success_timestamp_seconds", ()) in samples
        assert (await request(port, get("/nope")))[0] == 404
        assert (await request(port, get("/metrics", "POST")))[0] == 405
        status, _, body = await request(port, get("/healthz", "HEAD"))
        assert status == 200 and body == b""
        assert (await request(port, b"garbage\r\n\r\n"))[0] == 400
        m.disabled("report = false (--report)")
        status, _, body = await request(port, get("/readyz"))
        assert status == 200 and b"disabled by report = false" in body
        _, _, body = await request(port, get("/metrics"))
        assert b"mim_bridge_reporting_enabled 0.0" in body
    finally:
        await server.close()


@aio
async def test_slow_and_hostile_clients_cost_a_bounded_amount() -> None:
    m = monitor(clock=time.time)  # type: ignore[arg-type]
    m.running()
    server, _, port = await started(m)
    loop = asyncio.get_running_loop()
    try:
        # MAX_CLIENTS clients that connect and send nothing (slowloris): the loop keeps running
        # and the slots are freed at the request deadline.
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(MAX_CLIENTS)]
        await asyncio.sleep(0.1)
        ticks = 0
        started_at = loop.time()
        while loop.time() - started_at < 0.3:
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 10  # the event loop was never blocked
        # one more is refused at once (closed, not queued)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
        # the idle ones are hung up on at the deadline, and the endpoint answers again
        for r, w in idle:
            assert await asyncio.wait_for(r.read(), REQUEST_TIMEOUT + 3) == b""
            w.close()
        assert (await request(port, get("/healthz")))[0] == 200
        # a request head over 8 KiB is not read to its end
        big = b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(big)
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            data = await asyncio.wait_for(reader.read(), 5)
            assert data == b""
            raise ConnectionResetError
        writer.close()
        # a client that never reads a big answer does not hold the server up either
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1)
        writer.write(get("/metrics"))
        assert (await request(port, get("/healthz")))[0] == 200
        writer.close()
    finally:
        await server.close()
