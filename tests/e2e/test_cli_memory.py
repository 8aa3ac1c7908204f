"""The bridge's resident memory under a hostile node, and on the `large` profile.

A fake node on loopback (``support.fake_node``) answers every call of a real bridge subprocess
with an attack; the bridge's peak RSS must stay within its memory budget above what the same run
costs against a harmless node, and under the 64 MiB limit of the shipped container. Before the
budget: 8 zip bombs peaked at 1.4-1.8 GB, a list bomb at 450 MB.

The peak is the bridge process's own ``VmHWM`` (``support.peak``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

import launcher
from conftest import Bridge, standin
from mim_bridge.erldist import Atom, Pid, Reference
from mim_bridge.erldist.budget import DEFAULT_MAX_REPLY_MEMORY
from mim_bridge.errors import ExitCode
from support import fake_node
from support.peak import run_with_peak

MiB = 1 << 20
CONTAINER_LIMIT = 64 * MiB  # docker/compose.yml and the Kubernetes example
ARGS = ("--once", "--report", "true", "--call-timeout", "5s", "--no-discover")


def harmless(pid: Pid, ref: Reference, *_: Any) -> Iterator[bytes]:
    yield fake_node.reply(pid, ref, (Atom("badrpc"), Atom("nope")))


def zip_bombs(pid: Pid, ref: Reference, *_: Any) -> Iterator[bytes]:
    yield fake_node.zip_bomb(pid, ref)  # 200 MB each, for every call of every wave


def list_bombs(pid: Pid, ref: Reference, *_: Any) -> Iterator[bytes]:
    yield fake_node.list_bomb(pid, ref)  # 2 MB of [] on the wire, 128 MB as Python lists


def fragment_flood() -> fake_node.Responder:
    """64 fragment sequences that never end, 4 MiB of each sent, on the first calls."""
    sequences = itertools.count(1)

    def respond(pid: Pid, ref: Reference, *_: Any) -> Iterator[bytes]:
        for seq in sequences:
            if seq > 64:
                break
            yield from fake_node.endless_fragments(pid, ref, seq, 64)
        yield from harmless(pid, ref)

    return respond


def measured(args: list[str], env: dict[str, str]) -> tuple[int, int, str]:
    """Run the bridge to its end; its exit status, peak RSS in bytes, and stderr."""
    run = run_with_peak(args, env)
    return run.code, run.peak, run.stderr


def peak_rss(bridge: Bridge, responder: fake_node.Responder) -> tuple[int, int, str]:
    """:func:`measured` against a fake node that answers with *responder*."""
    with fake_node.FakeNode("standin", responder=responder) as node:
        env = {**bridge.env, "ERL_EPMD_PORT": str(node.epmd_port)}
        return measured(["--node", node.name, *ARGS], env)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> int:
    tmp = tmp_path_factory.mktemp("baseline")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(HOME=str(tmp), BRIDGE_STATE_DIR=str(tmp / "state"),
               BRIDGE_REPORT_FILE=str(tmp / "report.json"), BRIDGE_COOKIE="standin")
    _, rss, _ = peak_rss(Bridge(tmp, env), harmless)
    return rss


@pytest.mark.parametrize("attack", ["zip bombs", "fragment flood", "list bombs"])
def test_a_hostile_node_cannot_push_the_bridge_past_its_budget(bridge: Bridge, baseline: int,
                                                              attack: str) -> None:
    responder = {"zip bombs": zip_bombs, "list bombs": list_bombs,
                 "fragment flood": fragment_flood()}[attack]
    code, rss, stderr = peak_rss(bridge, responder)
    growth = rss - baseline
    assert growth <= DEFAULT_MAX_REPLY_MEMORY, (
        f"{attack}: peak RSS {rss / MiB:.1f} MiB, {growth / MiB:.1f} MiB above the harmless "
        f"run's {baseline / MiB:.1f} MiB")
    assert rss < CONTAINER_LIMIT
    # it failed the way a node that is not readable fails: one line, a documented status
    assert code == ExitCode.UNREACHABLE, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines()
              if line.startswith("mim-metrics-bridge: error:")]
    assert len(errors) == 1


def test_the_large_profile_fits_the_container(bridge: Bridge, epmd: launcher.Epmd) -> None:
    with standin(epmd, "large") as node:
        code, rss, stderr = measured(["--node", node.name, "--once", "--report", "true"],
                                     bridge.env)
    assert code == 0, stderr
    assert rss < CONTAINER_LIMIT - DEFAULT_MAX_REPLY_MEMORY, (
        f"peak RSS {rss / MiB:.1f} MiB leaves no room for a reply budget")
