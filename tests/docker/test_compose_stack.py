"""docker/compose.yml end to end: a MongooseIM cluster, the bridge and the fake GA4 endpoint.

Runs only where a Docker engine answers and the base images are present (or may be pulled with
MIM_BRIDGE_DOCKER_PULL=1); otherwise it skips and says why. One test function on purpose: the stack
is expensive, and pytest-xdist would otherwise start one stack per worker.

    python -m pytest -m docker tests/docker -p no:xdist -s
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploykit import (
    COMPOSE_FILE,
    DOCKER_DIR,
    DOCKERFILE,
    compose_cli,
    ga4_posts,
    interpolate,
    parse_dockerfile,
)

import launcher

pytestmark = pytest.mark.docker

BRIDGE = "mim-metrics-bridge"
FAKE_GA = "fake-ga"
RECORD_FILE = "/data/requests.jsonl"
REPORT_FILE = "/var/lib/mim-metrics-bridge/system_metrics_report.json"
PERIODIC = 15  # seconds between reports in the test stack


def _run(argv: list[str], timeout: float, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout, **kw)


def _required_images() -> list[str]:
    """The images the stack pulls rather than builds: MongooseIM and the Python base."""
    compose = interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), {})
    images = {
        svc["image"]
        for svc in compose["services"].values()
        if "build" not in svc and "image" in svc
    }
    images |= {s.base for s in parse_dockerfile(DOCKERFILE.read_text()).stages}
    return sorted(images)


@dataclass
class Engine:
    docker: str
    compose: list[str]


@pytest.fixture(scope="module")
def engine() -> Engine:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on PATH")
    try:
        info = _run([docker, "info", "--format", "{{.ServerVersion}}"], 15)
    except subprocess.TimeoutExpired:
        pytest.skip("`docker info` did not answer within 15 s: no usable Docker engine")
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no output"])[0]
        pytest.skip(f"no Docker engine reachable (`docker info`: {reason})")
    compose = compose_cli(docker)
    if compose is None:
        pytest.skip(
            "a Docker engine is up, but neither `docker compose` nor `docker-compose` exists"
        )
    pull = os.environ.get("MIM_BRIDGE_DOCKER_PULL") == "1"
    for image in _required_images():
        if _run([docker, "image", "inspect", image], 30).returncode == 0:
            continue
        if not pull:
            pytest.skip(
                f"image {image} is not present locally: `docker pull {image}`, "
                "or set MIM_BRIDGE_DOCKER_PULL=1 to let the test pull it"
            )
        pulled = _run([docker, "pull", image], 900)
        if pulled.returncode != 0:
            pytest.skip(f"could not pull {image}: {pulled.stderr.strip()[-300:]}")
    return Engine(docker, compose)


class Stack:
    """One compose project with its own name, cookie and ports."""

    def __init__(self, engine: Engine, tmp: Path) -> None:
        self.engine = engine
        self.project = f"mimbridge-test-{os.getpid()}-{secrets.token_hex(3)}"
        cookie = tmp / "erlang_cookie"
        cookie.write_text(secrets.token_hex(20).upper() + "\n")
        cookie.chmod(0o644)  # bind-mounted secret: the bridge's uid 10001 must read it
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BRIDGE_", "MIM_", "FAKE_GA_", "STACK_"))
        }
        self.env.update(
            ERLANG_COOKIE_FILE=str(cookie),
            MIM_1_C2S_PORT=str(launcher.free_port()),
            MIM_2_C2S_PORT=str(launcher.free_port()),
            FAKE_GA_PORT=str(launcher.free_port()),
            STACK_INITIAL_REPORT="10s",
            STACK_PERIODIC_REPORT=f"{PERIODIC}s",
        )

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [*self.engine.compose, "-f", str(COMPOSE_FILE), "-p", self.project, *args]
        return _run(argv, timeout, cwd=DOCKER_DIR, env=self.env)

    def must(self, *args: str, timeout: float = 120) -> str:
        result = self.compose(*args, timeout=timeout)
        assert result.returncode == 0, f"compose {' '.join(args)} failed:\n{result.stderr[-3000:]}"
        return result.stdout

    def read(self, service: str, path: str) -> str | None:
        result = self.compose("exec", "-T", service, "cat", path, timeout=60)
        return result.stdout if result.returncode == 0 else None

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "150", timeout=60).stdout

    def container_state(self, service: str) -> tuple[int, str]:
        cid = self.must("ps", "-q", service).strip()
        out = _run(
            [self.engine.docker, "inspect", "-f", "{{.RestartCount}} {{.State.Status}}", cid], 30
        )
        count, status = out.stdout.split()
        return int(count), status


@pytest.fixture(scope="module")
def stack(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(engine, tmp_path_factory.mktemp("stack"))
    try:
        up = s.compose("up", "-d", "--build", timeout=1800)
        assert up.returncode == 0, f"compose up failed:\n{up.stderr[-4000:]}\n{s.logs()}"
        yield s
    finally:
        s.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300)


# ------------------------------------------------------------------------------------------------
# reading what the fake GA4 endpoint recorded
# ------------------------------------------------------------------------------------------------

Post = tuple[float | None, dict[str, Any]]


def _posts(stack: Stack) -> list[Post]:
    return ga4_posts(stack.read(FAKE_GA, RECORD_FILE) or "")


def _events(posts: list[Post]) -> list[dict[str, Any]]:
    return [e for _, body in posts for e in body["events"]]


def _names(posts: list[Post]) -> set[str]:
    return {e["name"] for e in _events(posts)}


def _clusters(posts: list[Post]) -> list[dict[str, Any]]:
    return [e["params"] for e in _events(posts) if e["name"] == "cluster"]


def _wait(stack: Stack, what: str, ready: Any, timeout: float) -> list[Post]:
    deadline = time.monotonic() + timeout
    while True:
        posts = _posts(stack)
        if ready(posts):
            return posts
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{stack.logs()}")
        time.sleep(3)


# ------------------------------------------------------------------------------------------------
# the test
# ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(2400)
def test_stack_reports_and_survives_a_node_restart(stack: Stack) -> None:
    mim_image = interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), {})["services"][
        "mongooseim-1"
    ]["image"]
    mim_version = mim_image.rpartition(":")[2]

    # 1. The first report arrives (initial report 10 s after the bridge starts).
    needed = {"cluster", "module_with_opt", "transport_mechanism"}
    posts = _wait(stack, "the first report", lambda p: needed <= _names(p), 240)
    events = _events(posts)

    cluster = _clusters(posts)[0]
    assert str(cluster["version"]).startswith(mim_version), cluster
    assert cluster["node_number"] == 2, (
        f"both nodes clustered, the hidden bridge not counted: {cluster}"
    )
    assert cluster["config_type"] == "toml"

    backends = {
        e["params"]["module"]: e["params"].get("backend")
        for e in events
        if e["name"] == "module_with_opt"
    }
    for module in ("mod_roster", "mod_vcard", "mod_offline", "mod_last", "mod_private"):
        assert backends.get(module) == "mnesia", f"{module}: {backends}"

    transports = next(e["params"] for e in events if e["name"] == "transport_mechanism")
    assert {"tcp", "mod_bosh", "mod_websockets"} <= set(transports), transports

    client_ids = {body.get("client_id") for _, body in posts}
    assert len(client_ids) == 1 and all(client_ids), client_ids
    for _, body in posts:
        raw = json.dumps(body)
        for name in ("mongooseim-1", "mongooseim-2", "localhost"):
            assert name not in raw, f"host/domain name {name!r} leaked into a GA4 request"
        assert len(body["events"]) <= 25

    report = stack.read(BRIDGE, REPORT_FILE)
    assert report is not None, f"no report file in the bridge container\n{stack.logs()}"
    json.loads(report)

    # 2. Restart the node the bridge names first; reports go on (at least two more report
    #    cycles), and the cluster is whole again.
    stack.must("restart", "mongooseim-1", timeout=300)
    restarted = time.time()  # the fake's record times come from the same (host) clock

    def recovered(posts: list[Post]) -> bool:
        after = [(t, b) for t, b in posts if t is not None and t > restarted]
        times = [t for t, b in after if any(e["name"] == "cluster" for e in b["events"])]
        clusters = _clusters(after)
        return (
            len(times) >= 2
            and max(times) - min(times) >= PERIODIC / 2
            and clusters[-1].get("node_number") == 2
        )

    posts = _wait(stack, "reports after restarting mongooseim-1", recovered, 20 * PERIODIC + 180)
    assert _clusters(posts)[-1]["version"] == cluster["version"]
    assert {body.get("client_id") for _, body in posts} == client_ids, "same cluster, same id"

    restarts, status = stack.container_state(BRIDGE)
    assert (restarts, status) == (0, "running"), "the bridge reconnects; it must not crash"
