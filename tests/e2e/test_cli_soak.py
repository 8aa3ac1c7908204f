"""A bounded soak: 300 reports at a 50 ms period against a stand-in, with GA4 failing half the
time, and ticks every second. Memory, descriptors and asyncio tasks stay flat; once GA4 is back
every report is delivered (none lost); the node's atom table does not grow with the reports.

Deselect with ``-m 'not soak'``; CI runs it. The measured numbers are printed (``-s``) and
kept as user properties in the JUnit report.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import launcher
from conftest import PRIMARY, Bridge, standin, wait_until
from mim_bridge.erldist import Atom, connect
from support.fake_ga import FakeGA

CYCLES = 300
PHASE = 0.5  # seconds of GA4 failing, then of GA4 working, in turn


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match
    return int(match[1])


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def status(bridge: Bridge) -> dict[str, Any]:
    return json.loads((bridge.state_dir / "status.json").read_text())


def attempts(bridge: Bridge) -> int:
    try:
        return sum(status(bridge)["reports"].values())
    except (OSError, ValueError):
        return 0


def asyncio_tasks(base: str) -> int:
    import urllib.request
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    match = re.search(r"^mim_bridge_asyncio_tasks (\S+)$", text, re.MULTILINE)
    assert match
    return int(float(match[1]))


class AtomCounter:
    """Reads the node's atom count from one fixed hidden node name, so that reading it adds
    at most that one name to the table (at the first read)."""

    def __init__(self, node: launcher.StandIn) -> None:
        self.node = node
        self.name = launcher.unique_name("soakprobe")

    def __call__(self) -> int:
        async def read() -> int:
            conn = await connect(self.node.name, self.node.cookie, name=self.name,
                                 epmd_port=self.node.epmd_port, timeout=10)
            try:
                return int(await conn.rpc("erlang", "system_info", [Atom("atom_count")]))
            finally:
                await conn.close()
        return asyncio.run(read())


@pytest.mark.soak
@pytest.mark.timeout(180)
def test_soak(bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA,
              record_property: Any) -> None:
    with standin(epmd, extra=["-kernel", "net_ticktime", "4"]) as node:
        atoms = AtomCounter(node)
        atoms_before = atoms()
        proc = bridge.start("--node", node.name, "--initial-report", "0", "--periodic-report",
                            "50ms", "--net-ticktime", "4s", "--report", "true",
                            "--http-listen", "127.0.0.1:0", "-v")
        wait_until(lambda: (bridge.state_dir / "status.json").exists()
                   and status(bridge).get("http_listen"), what="the status file")
        base = f"http://{status(bridge)['http_listen']}"

        flaky = threading.Event()
        stop = threading.Event()

        def alternate() -> None:  # GA4 fails for PHASE seconds, then works for PHASE seconds
            while not stop.wait(PHASE):
                if flaky.is_set():
                    ga.clear_faults()
                    flaky.clear()
                else:
                    ga.fail_next(10 ** 6, status=503)
                    flaky.set()

        toggler = threading.Thread(target=alternate, daemon=True)
        toggler.start()
        try:
            wait_until(lambda: attempts(bridge) >= CYCLES // 5, timeout=60, what="warm-up")
            warm = (rss_kib(proc.pid), fds(proc.pid), asyncio_tasks(base))
            atoms_warm = atoms()
            samples = []
            started = time.monotonic()
            while attempts(bridge) < CYCLES:
                assert time.monotonic() - started < 90, "the reports stopped"
                time.sleep(0.5)
                samples.append((rss_kib(proc.pid), fds(proc.pid), asyncio_tasks(base)))
        finally:
            stop.set()
            toggler.join(5)
            ga.clear_faults()
        # GA4 is back: the spool drains with the next reports
        wait_until(lambda: status(bridge)["spool_batches"] == 0
                   and status(bridge)["reports"]["sent"] > 0
                   and not list((bridge.state_dir / "spool").glob("*.json")),
                   timeout=30, what="the spool to drain")
        atoms_after = atoms()
        final = status(bridge)
        assert bridge.stop(proc) == 0
    log = bridge.log(proc)

    reports = final["reports"]
    handed_over = reports["sent"] + reports["spooled"]
    delivered = len(ga.delivered(PRIMARY))
    failed = sum(1 for r in ga.requests if r.outcome == "fail")
    growth_kib = max(s[0] for s in samples) - warm[0]
    numbers = {
        "attempts": sum(reports.values()), "reports": reports, "delivered": delivered,
        "ga_failed_requests": failed, "duplicates": delivered - handed_over,
        "rss_warm_kib": warm[0], "rss_max_kib": max(s[0] for s in samples),
        "fds_warm": warm[1], "fds_max": max(s[1] for s in samples),
        "tasks_warm": warm[2], "tasks_max": max(s[2] for s in samples),
        "atoms_before": atoms_before, "atoms_warm": atoms_warm, "atoms_after": atoms_after,
    }
    print("soak:", json.dumps(numbers))
    for key, value in numbers.items():
        record_property(key, value)

    assert "Traceback" not in log and "unexpected error" not in log
    assert "spool full" not in log  # nothing was dropped
    assert failed >= 20, "GA4 should have failed about half the time"
    assert reports["spooled"] > 0 and reports["not_collected"] == 0
    assert reports["internal_error"] == 0
    # every report GA4 was handed reached it (a 2xx is the only way out of the spool)
    assert delivered >= handed_over
    # flat: memory, descriptors, tasks after warm-up
    assert growth_kib < 4 * 1024, f"RSS grew by {growth_kib} KiB after warm-up"
    assert max(s[1] for s in samples) <= warm[1] + 3
    assert max(s[2] for s in samples) <= warm[2] + 2 and samples[-1][2] <= warm[2] + 1
    # the reports add no atom to the node (the names of the bridge and of the probe were
    # added before the warm-up reading)
    assert atoms_after == atoms_warm
