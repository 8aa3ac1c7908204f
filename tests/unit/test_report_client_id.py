"""Client id: the cluster's id when valid, else one stable UUID kept in a private state file."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.report import (
    ClientIdError,
    load_or_create_client_id,
    resolve_client_id,
)
from mim_bridge.vocab.forms import valid_cluster_id

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


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=6000))
def test_any_content_gives_a_uuid_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    state = tmp_path_factory.mktemp("state") / "client_id"
    state.write_bytes(content)
    client = load_or_create_client_id(state)
    assert str(uuid.UUID(client.value)) == client.value
    assert client.source in ("state_file", "new")
    assert load_or_create_client_id(state).value == client.value  # and it is kept


def test_a_huge_state_file_is_replaced_without_being_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "client_id"
    with open(state, "wb") as f:
        f.truncate(300_000_000)
    script = textwrap.dedent(f"""
        import re
        from pathlib import Path
        from mim_bridge.report import load_or_create_client_id
        print(load_or_create_client_id(Path({str(state)!r})).source)
        # VmHWM: this process's own peak (ru_maxrss would include the forking parent's)
        print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    source, rss_mib = out.stdout.split()
    assert source == "new" and int(rss_mib) < 100  # the unfixed reader peaked at 633 MiB
    assert "larger than 4096 bytes" in out.stderr
    assert state.stat().st_size == 37


def test_a_fifo_or_an_empty_directory_is_replaced(tmp_path: Path) -> None:
    fifo, empty = tmp_path / "a" / "client_id", tmp_path / "b" / "client_id"
    fifo.parent.mkdir()
    os.mkfifo(fifo)  # opening it for reading would block for ever
    empty.mkdir(parents=True)
    for path in (fifo, empty):
        client = load_or_create_client_id(path)
        assert client.source == "new" and path.read_text() == client.value + "\n"


def test_a_directory_that_cannot_go_gives_a_temporary_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "client_id"
    state.mkdir()
    (state / "keep").write_text("someone's file")
    with caplog.at_level(logging.WARNING):
        client = load_or_create_client_id(state)
    assert client.source == "temporary" and str(uuid.UUID(client.value)) == client.value
    assert (state / "keep").exists() and "temporary client id" in caplog.text


def test_temp_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    old = tmp_path / ".client_id.abc123.tmp"
    new = tmp_path / ".client_id.def456.tmp"
    other = tmp_path / ".stanza_totals.json.x.tmp"
    load_or_create_client_id(tmp_path / "client_id")  # the id exists: cleaning is not creating
    for path in (old, new, other):
        path.write_text("half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    os.utime(other, (time.time() - 3600, time.time() - 3600))
    load_or_create_client_id(tmp_path / "client_id")
    assert not old.exists() and new.exists() and other.exists()
