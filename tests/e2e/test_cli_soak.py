"""A bounded soak: 30 s of 1 s reports and 1 s ticks; memory, sockets, tasks and threads stay flat.

Deselect with ``-m 'not soak'``; CI runs it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import launcher
import pytest

from conftest import PRIMARY, Bridge, standin, wait_until
from support.fake_ga import FakeGA

SOAK_SECONDS = 30.0


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match
    return int(match[1])


def sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


@pytest.mark.soak
@pytest.mark.timeout(120)
def test_soak(bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    # The node ticks every second as well (net_ticktime 4 = a tick per second of silence).
    with standin(epmd, extra=["-kernel", "net_ticktime", "4"]) as node:
        proc = bridge.start("--node", node.name, "--initial-report", "0", "--periodic-report",
                            "1s", "--net-ticktime", "4s", "--report", "true", "-v")
        started = time.monotonic()
        wait_until(lambda: len(ga.delivered()) >= 5, what="the first reports")
        time.sleep(max(0.0, 10 - (time.monotonic() - started)))
        warm = (rss_kib(proc.pid), sockets(proc.pid))
        samples = []
        while time.monotonic() - started < SOAK_SECONDS:
            time.sleep(2)
            samples.append((rss_kib(proc.pid), sockets(proc.pid)))
        assert bridge.stop(proc) == 0
    log = bridge.log(proc)
    resources = [tuple(map(int, m)) for m in re.findall(
        r"resources: (\d+) open connection\(s\), (\d+) task\(s\), (\d+) thread\(s\)", log)]
    reports = len(ga.delivered(PRIMARY))
    assert reports >= SOAK_SECONDS - 5  # one a second, none stacked or lost
    assert "Traceback" not in log and "could not collect" not in log
    # one connection, the same tasks and threads at the end as after warm-up
    assert {r[0] for r in resources} == {1}
    assert resources[-1][1:] == resources[len(resources) // 3][1:]
    assert max(r[2] for r in resources) <= 3
    growth = max(s[0] for s in samples) - warm[0]
    assert growth < 4 * 1024, f"RSS grew by {growth} KiB after warm-up"
    assert max(s[1] for s in samples) <= warm[1]
