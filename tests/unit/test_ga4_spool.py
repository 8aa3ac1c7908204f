"""The on-disk spool: ordered, bounded (count and bytes), crash-safe, private, and indifferent to
whatever else is found in its directory."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.ga4 import SpoolError, split_batches
from mim_bridge.ga4.payload import Batch
from mim_bridge.ga4.spool import MAX_FILE_BYTES, Spool, SpoolEntry
from mim_bridge.vocab.events import Event

CID = "a4151bfa-b479-439e-85d2-b3729e33ccfa"
MID = "G-ABCD1234"


def batch(n: int, events: int = 1) -> Batch:
    (b,) = split_batches(CID, [Event("host_count", {"value": n})] * events).batches
    return b


def test_batches_come_back_oldest_first_with_identical_events(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for i in range(5):
        spool.add(MID if i % 2 else "G-B4S18X6KY5", batch(i))
    entries = spool.entries()
    assert [e.measurement_id for e in entries] == ["G-B4S18X6KY5", MID] * 2 + ["G-B4S18X6KY5"]
    loaded = [spool.load(e) for e in entries]
    assert [(x.client_id, x.events) for x in loaded if x] == [
        (CID, batch(i).events) for i in range(5)
    ]
    assert spool.remove(entries[0]) and spool.remove(entries[0])  # twice is harmless
    assert len(spool) == 4


def test_the_index_comes_from_the_names_alone(tmp_path: Path) -> None:
    """A file's destination and size are known without reading it (GA4 down: no re-reads)."""
    spool = Spool(tmp_path)
    entry, _ = spool.add(MID, batch(1, events=3))
    assert entry.name.endswith(f".{MID}.3.json")
    entry.path.write_bytes(b"junk")  # content that would be removed, were it read
    assert Spool(tmp_path).entries() == [SpoolEntry(entry.path, MID, 3, 4)]
    assert entry.path.exists()


def test_the_spool_directory_and_files_are_private(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "deep" / "spool")
    entry, _ = spool.add(MID, batch(1))
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert "api_secret" not in entry.path.read_text()


def test_the_count_bound_drops_the_oldest_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, max_batches=3)
    with caplog.at_level(logging.WARNING):
        dropped = [d for i in range(5) for d in spool.add(MID, batch(i))[1]]
    assert [spool.load(e).events for e in spool.entries()] == [  # type: ignore[union-attr]
        batch(i).events for i in (2, 3, 4)
    ]
    assert [d.events for d in dropped] == [1, 1]
    assert "dropped the 1 oldest" in caplog.text


def test_the_byte_bound_drops_the_oldest(tmp_path: Path) -> None:
    big = split_batches(CID, [Event("http_api", {f"api_{i}": "x" * 100 for i in range(25)})] * 25)
    (body,) = big.batches
    spool = Spool(tmp_path, max_batches=1000, max_bytes=MAX_FILE_BYTES)
    for _ in range(5):
        spool.add(MID, body)
    entries = spool.entries()
    assert sum(e.size for e in entries) <= MAX_FILE_BYTES
    assert 1 <= len(entries) < 5


def test_an_old_style_file_is_still_read(tmp_path: Path) -> None:
    """Spools written before the names carried the destination are not lost on upgrade."""
    body = json.loads(batch(7).body)
    name = "00000000000000000001-0000042-000001.json"
    (tmp_path / name).write_text(json.dumps({"format": 1, "measurement_id": MID, "body": body}))
    (entry,) = Spool(tmp_path).entries()
    assert entry.measurement_id is None
    loaded = Spool(tmp_path).load(entry)
    assert loaded is not None and loaded.measurement_id == MID
    assert loaded.events == batch(7).events


def test_unanswered_sends_are_counted_in_the_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    entry, _ = spool.add(MID, batch(1))
    spool.mark_unconfirmed(entry, MID, batch(1), 1)
    loaded = Spool(tmp_path).load(entry)
    assert loaded is not None and loaded.unconfirmed == 1 and loaded.events == batch(1).events


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2000) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20,
).map(lambda doc: json.dumps(doc).encode()), named=st.booleans())
def test_any_content_is_a_warning_never_an_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, named: bool
) -> None:
    name = f"{time.time_ns():020d}-0000001-000001" + (f".{MID}.1.json" if named else ".json")
    path = tmp_path / name
    path.write_bytes(content)
    spool = Spool(tmp_path)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        (entry,) = spool.entries()
        assert spool.load(entry) is None
    assert "removed unusable file" in caplog.text
    assert not path.exists()


HEAD = b'{"format":1,"measurement_id":"G-ABCD1234","body":{"client_id":"' + CID.encode()


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 200_000,
        HEAD + b'","events":[{"name":"x","params":{"v":NaN}}]}}',
        HEAD + b'","events":[{"name":"x","params":{"v":' + b"9" * 400 + b"}}]}}",
        HEAD + b'","events":[{"name":"x","params":{"v":1.5}}]}}',
        HEAD.replace(b"G-ABCD1234", b"G-OTHER99") + b'","events":[]}}',
        b"\xff\xfe\x00binary",
    ],
    ids=["deep", "nan", "huge-int", "float", "other-destination", "binary"],
)
def test_hostile_files_are_removed(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / f"{time.time_ns():020d}-0000001-000001.{MID}.1.json"
    path.write_bytes(content)
    spool = Spool(tmp_path)
    (entry,) = spool.entries()
    assert spool.load(entry) is None
    assert spool.entries() == []


def test_a_huge_file_is_never_read(tmp_path: Path) -> None:
    path = tmp_path / f"{time.time_ns():020d}-0000001-000001.{MID}.1.json"
    with open(path, "wb") as f:
        f.truncate(100_000_000)  # sparse: 100 MB that costs no disk
    spool = Spool(tmp_path)
    assert spool.entries() == [] and not path.exists()
    (junk,) = spool.take_junk()
    assert (junk.path, junk.size) == (path, 100_000_000)
    assert spool.take_junk() == []


def test_a_directory_or_fifo_in_place_of_a_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / f"00000000000000000001-0000001-000001.{MID}.1.json").mkdir()
    full = tmp_path / f"00000000000000000002-0000001-000001.{MID}.1.json"
    full.mkdir()
    (full / "x").write_text("")
    os.mkfifo(tmp_path / f"00000000000000000003-0000001-000001.{MID}.1.json")
    spool = Spool(tmp_path)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # later scans do not warn again about what cannot be removed
            for entry in spool.entries():
                assert spool.load(entry) is None
    assert [p.name for p in tmp_path.iterdir()] == [full.name]
    assert caplog.text.count("cannot remove") == 1


def test_leftover_temp_files_are_removed_once_old(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.add(MID, batch(1))
    old = tmp_path / ".00000000000000000001-0000001-000001.G-ABCD1234.1.json.x1.tmp"
    new = tmp_path / ".00000000000000000002-0000001-000001.G-ABCD1234.1.json.x2.tmp"
    old.write_text("{half")
    new.write_text("{half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert len(Spool(tmp_path).entries()) == 1
    assert not old.exists() and new.exists()  # a live writer's file is left alone


def test_only_one_process_holds_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with spool.exclusive() as first:
        assert first
        with Spool(tmp_path).exclusive() as second:
            assert not second
    with spool.exclusive() as again:
        assert again


def test_an_unusable_lock_or_directory_is_a_spool_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError):
        Spool(tmp_path, max_batches=0)
    (tmp_path / "file").write_text("")
    blocked = Spool(tmp_path / "file" / "spool")  # constructing it touches nothing
    with pytest.raises(SpoolError, match="cannot create the spool directory"):
        blocked.add(MID, batch(1))
    (tmp_path / "locked" / ".lock").mkdir(parents=True)
    with pytest.raises(SpoolError, match="cannot lock"), Spool(tmp_path / "locked").exclusive():
        pass


def test_counting_changes_nothing_on_the_disk(tmp_path: Path) -> None:
    """``--check`` counts the spool; only a sending bridge tidies it."""
    Spool(tmp_path).add(MID, batch(1))
    leftover = tmp_path / ".x.json.abc.tmp"
    leftover.write_text("{half")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    huge = tmp_path / f"{time.time_ns():020d}-0000001-000001.{MID}.1.json"
    with open(huge, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    assert len(Spool(tmp_path)) == 1
    assert leftover.exists() and huge.exists()
    assert len(Spool(tmp_path).entries()) == 1
    assert not leftover.exists() and not huge.exists()
