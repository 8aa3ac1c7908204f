"""The bridge's node name (stable per installation, a second one beside a running bridge) and the
state directory's lock (one bridge per state directory)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mim_bridge.app import identity as nodes
from mim_bridge.app.identity import Identity, bridge_alive_name, identity_for, is_other_bridge
from mim_bridge.app.statelock import (
    LOCK_FILENAME,
    StateDirBusy,
    StateDirError,
    StateLock,
    held_by_other,
)
from mim_bridge.erldist import nodename
from mim_bridge.errors import ExitCode, exit_status

# --------------------------------------------------------------------------- the name


def test_the_name_is_written_once_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = bridge_alive_name(state)
    assert first.startswith("mim_metrics_bridge_") and len(first) == len("mim_metrics_bridge_") + 10
    nodename.parse(f"{first}@localhost")  # a valid alive name
    assert (state / "node_name").read_text() == first + "\n"
    assert {bridge_alive_name(state) for _ in range(5)} == {first}
    assert not [p for p in state.iterdir() if p.name != "node_name"]  # no temporary left


def test_two_installations_get_different_names(tmp_path: Path) -> None:
    assert bridge_alive_name(tmp_path / "a") != bridge_alive_name(tmp_path / "b")


def test_concurrent_first_runs_agree_on_one_name(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    barrier = threading.Barrier(8)

    def name(_: int) -> str:
        barrier.wait()
        return bridge_alive_name(state)

    with ThreadPoolExecutor(8) as pool:
        names = set(pool.map(name, range(8)))
    assert names == {(state / "node_name").read_text().strip()}


def test_an_unwritable_state_dir_gives_a_stable_derived_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    state = tmp_path / "file" / "state"  # cannot be created: its parent is a file
    monkeypatch.setattr(socket, "gethostname", lambda: "box-1")
    derived = bridge_alive_name(state)
    assert derived == bridge_alive_name(state) and derived.startswith("mim_metrics_bridge_")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    assert bridge_alive_name(tmp_path / "link" / "state") == derived  # the resolved path counts
    monkeypatch.setattr(socket, "gethostname", lambda: "box-2")
    assert bridge_alive_name(state) != derived  # and the host


def test_a_corrupt_name_file_is_not_used(tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "node_name").write_text("not a name; rm -rf /\n")
    with caplog.at_level(logging.WARNING):
        name = bridge_alive_name(tmp_path)
    assert name.startswith("mim_metrics_bridge_") and "rm" not in name
    assert "does not hold a bridge node name" in caplog.text


def test_writers_own_the_installation_name(tmp_path: Path) -> None:
    with StateLock.acquire(tmp_path) as lock:
        me = identity_for(None, tmp_path, lock)
        assert me == Identity(bridge_alive_name(tmp_path), owned=True)
        # a name given with --sname/--name cannot be proved ours: never replace a connection
        assert identity_for("metrics", tmp_path, lock) == Identity("metrics", owned=False)


def test_readers_use_the_same_name_unless_a_bridge_holds_the_state_dir(tmp_path: Path) -> None:
    base = bridge_alive_name(tmp_path)
    assert identity_for(None, tmp_path, None) == Identity(base, owned=False)
    with StateLock.acquire(tmp_path):
        assert identity_for(None, tmp_path, None) == Identity(base + "_check", owned=False)
        assert identity_for("m@box", tmp_path, None) == Identity("m_check@box", owned=False)
    assert identity_for(None, tmp_path, None) == Identity(base, owned=False)


def test_the_second_name_stays_a_valid_alive_name() -> None:
    long_alive = "a" * 255
    second = nodes.second_name(long_alive + "@host")
    assert second.endswith("_check@host")
    nodename.parse(second)


@pytest.mark.parametrize(("node", "other"), [
    ("mim_metrics_bridge_0123456789@box", True),
    ("mim_metrics_bridge_0123456789@other-box", True),  # a copy of our state dir elsewhere
    ("mim_bridge_0123456789ab@box", True),               # an old bridge (random names)
    ("mim_metrics_bridge_aaaaaaaaaa@box", False),        # ourselves
    ("mim_metrics_bridge_0123456789_check@box", False),  # a --check, comes and goes
    ("mim_metrics_bridge_aaaaaaaaaa_check@box", False),
    ("probe_1234@box", False),
    ("mim_metrics_bridge_xyz@box", False),
    ("mongooseim@box", False),
])
def test_other_bridges(node: str, other: bool) -> None:
    assert is_other_bridge(node, "mim_metrics_bridge_aaaaaaaaaa@box") is other
    # seen from a --check beside our own service, that service is not another bridge either
    assert is_other_bridge(node, "mim_metrics_bridge_aaaaaaaaaa_check@box") is other


# --------------------------------------------------------------------------- the lock

def test_the_lock_holds_our_pid_and_refuses_a_second_holder(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    with StateLock.acquire(state) as lock:
        assert lock.held and (state / LOCK_FILENAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(StateDirBusy) as info:
            StateLock.acquire(state, wait=0.1)
        assert info.value.pid == os.getpid() and info.value.directory == state
        message = str(info.value)
        assert f"PID {os.getpid()}" in message and str(state) in message
        assert "\n" not in message and "--state-dir" in message
        assert exit_status(info.value) is ExitCode.ALREADY_RUNNING
    assert not lock.held
    StateLock.acquire(state).release()  # free again


def test_held_by_other_only_looks(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert not held_by_other(state) and not state.exists()
    state.mkdir()
    assert not held_by_other(state) and not list(state.iterdir())
    with StateLock.acquire(state):
        assert held_by_other(state)
        assert held_by_other(state)  # looking does not take it
    assert not held_by_other(state)


def test_a_probe_does_not_make_a_starting_bridge_fail(tmp_path: Path) -> None:
    import fcntl

    StateLock.acquire(tmp_path).release()
    fd = os.open(tmp_path / LOCK_FILENAME, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)  # a probe, caught in the act
    threading.Timer(0.2, os.close, [fd]).start()
    StateLock.acquire(tmp_path).release()  # waits for the probe to let go


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); "
            "from mim_bridge.app.statelock import StateLock; from pathlib import Path; "
            "StateLock.acquire(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)")
    src = str(Path(nodes.__file__).parent.parent)
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), src],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        with pytest.raises(StateDirBusy, match=f"PID {proc.pid}"):
            StateLock.acquire(tmp_path, wait=0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 5
        while held_by_other(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        StateLock.acquire(tmp_path).release()
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.parametrize("make", ["under a file", "lock is a directory"])
def test_an_unusable_state_dir_is_a_local_files_error(tmp_path: Path, make: str) -> None:
    if make == "under a file":
        (tmp_path / "f").write_text("")
        state = tmp_path / "f" / "state"
    else:
        state = tmp_path
        (state / LOCK_FILENAME).mkdir()
    with pytest.raises(StateDirError, match=f"state directory {state}") as info:
        StateLock.acquire(state)
    assert exit_status(info.value) is ExitCode.LOCAL_FILES
