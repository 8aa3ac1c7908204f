"""Shared pieces of the end-to-end tests: the bridge as a subprocess, a private EPMD.

Every test gets its own EPMD-scoped stand-ins (one private EPMD per test module and xdist
worker), its own fake GA4 server (``ga``, from tests/conftest.py), state directory and report
file, and a HOME without a cookie, so tests run in parallel and leave nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import launcher
from support.fake_ga import FakeGA

PRIMARY = "G-B4S18X6KY5"  # MongooseIM's production property: the default destination
PRIVATE = "G-PRIVATE0001"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: a bounded long run (deselect with -m 'not soak')")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="module")
def epmd() -> Iterator[launcher.Epmd]:
    if not launcher.runtimes():
        pytest.skip("no Erlang runtime")
    with launcher.Epmd() as e:
        yield e


@dataclass
class Bridge:
    """Runs ``python -m mim_bridge`` with an isolated environment."""

    tmp: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def report_file(self) -> Path:
        return Path(self.env["BRIDGE_REPORT_FILE"])

    @property
    def state_dir(self) -> Path:
        return Path(self.env["BRIDGE_STATE_DIR"])

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mim_bridge", *args]

    def run(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), env={**self.env, **env}, text=True,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              check=False)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        log = open(self.tmp / f"bridge-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(self.command(*args), env={**self.env, **env}, text=True,
                                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        proc.log_path = log.name  # type: ignore[attr-defined]
        log.close()
        self.procs.append(proc)
        return proc

    @staticmethod
    def log(proc: subprocess.Popen[str]) -> str:
        return Path(proc.log_path).read_text()  # type: ignore[attr-defined]

    def stop(self, proc: subprocess.Popen[str], timeout: float = 15) -> int:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        finally:
            if proc.stdout:
                proc.stdout.close()
        return proc.returncode

    def leftovers(self) -> list[Path]:
        """Temporary files a writer may have left (there must be none)."""
        dirs = [self.report_file.parent, self.state_dir, self.state_dir / "spool"]
        return [p for d in dirs if d.is_dir() for p in d.iterdir() if p.name.endswith(".tmp")]

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()


@pytest.fixture
def bridge(tmp_path: Path, epmd: launcher.Epmd, ga: FakeGA) -> Iterator[Bridge]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BRIDGE_") and k not in ("DO_NOT_TRACK", "CI", "ERL_EPMD_PORT")}
    env.update(HOME=str(home), ERL_EPMD_PORT=str(epmd.port), BRIDGE_GA_URL=ga.url,
               BRIDGE_COOKIE="standin", BRIDGE_STATE_DIR=str(tmp_path / "state"),
               BRIDGE_REPORT_FILE=str(tmp_path / "report" / "system_metrics_report.json"),
               PYTHONUNBUFFERED="1")
    b = Bridge(tmp_path, env)
    yield b
    b.cleanup()


def standin(epmd: launcher.Epmd, profile: str = "small", **kw: Any) -> launcher.StandIn:
    """A stand-in whose own system-metrics service does not run, so the bridge reports it."""
    overrides = {"service_running": "false", **kw.pop("overrides", {})}
    return launcher.StandIn(profile, epmd_port=epmd.port, overrides=overrides, **kw)


def wait_until(predicate: Any, timeout: float = 15.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
