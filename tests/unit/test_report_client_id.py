"""Client id: the cluster's id when valid, else one stable UUID kept in a private state file."""

from __future__ import annotations

import os
import stat
import threading
import uuid
from pathlib import Path

import pytest

from mim_bridge.report import (
    ClientIdError,
    load_or_create_client_id,
    resolve_client_id,
    valid_cluster_id,
)

CLUSTER_ID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"


@pytest.mark.parametrize(
    "raw",
    [
        CLUSTER_ID,
        CLUSTER_ID.encode(),
        "ephemeral-" + CLUSTER_ID,
        CLUSTER_ID.upper(),
    ],
)
def test_well_formed_cluster_ids_are_used_as_they_are(raw: str | bytes, tmp_path: Path) -> None:
    state = tmp_path / "state" / "client_id"
    client = resolve_client_id(raw, state)
    assert client.source == "cluster"
    assert client.value == (raw.decode() if isinstance(raw, bytes) else raw)
    assert not state.exists()


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "mim-1.example.com",
        "ephemeral-",
        CLUSTER_ID + "\n",
        "ephemeral-" + CLUSTER_ID + "-x",
        b"\xff\xfe",
        ("error", "no_client_id"),
        42,
    ],
)
def test_anything_else_falls_back_to_the_state_file(raw: object, tmp_path: Path) -> None:
    assert valid_cluster_id(raw) is None
    client = resolve_client_id(raw, tmp_path / "client_id")
    assert client.source == "new"
    assert str(uuid.UUID(client.value)) == client.value


def test_the_state_file_id_is_stable_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "var" / "lib" / "bridge" / "client_id"
    first = load_or_create_client_id(state)
    second = load_or_create_client_id(state)
    assert first.source == "new"
    assert second.source == "state_file"
    assert first.value == second.value
    assert state.read_text() == first.value + "\n"


def test_state_file_and_directory_are_private(tmp_path: Path) -> None:
    state = tmp_path / "private" / "client_id"
    old_umask = os.umask(0o000)
    try:
        load_or_create_client_id(state)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700


def test_loosened_permissions_are_tightened_but_existing_dirs_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "client_id"
    load_or_create_client_id(state)
    os.chmod(state, 0o644)
    mode_before = stat.S_IMODE(tmp_path.stat().st_mode)
    load_or_create_client_id(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == mode_before


def test_a_corrupt_state_file_is_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "client_id"
    state.write_text("mim-1.example.com\n")
    client = load_or_create_client_id(state)
    assert client.source == "new"
    assert "example.com" not in caplog.text
    assert load_or_create_client_id(state).value == client.value


def test_concurrent_first_starts_agree_on_one_id(tmp_path: Path) -> None:
    state = tmp_path / "client_id"
    results: list[str] = []
    lock = threading.Lock()

    def start() -> None:
        value = load_or_create_client_id(state).value
        with lock:
            results.append(value)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1


def test_an_unwritable_state_directory_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ClientIdError) as info:
        load_or_create_client_id(blocker / "client_id")
    assert "\n" not in str(info.value)
