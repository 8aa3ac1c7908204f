"""The on-disk spool: ordered, bounded, crash-safe, private."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from mim_bridge.events import Event
from mim_bridge.ga4 import SpoolError, prepare
from mim_bridge.ga4.payload import Batch
from mim_bridge.ga4.spool import Spool


def batch(n: int) -> Batch:
    (b,) = prepare("cid", [Event("host_count", {"value": n})]).batches
    return b


def test_batches_come_back_oldest_first_with_identical_bodies(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for i in range(5):
        spool.add("G-ABCD1234" if i % 2 else "G-B4S18X6KY5", batch(i))
    pending = spool.pending()
    assert [p.batch for p in pending] == [batch(i) for i in range(5)]
    assert [p.measurement_id for p in pending] == ["G-B4S18X6KY5", "G-ABCD1234"] * 2 + [
        "G-B4S18X6KY5"
    ]
    spool.remove(pending[0])
    spool.remove(pending[0])  # removing twice is harmless
    assert len(spool) == 4


def test_the_spool_directory_and_files_are_private(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "deep" / "spool")
    item = spool.add("G-ABCD1234", batch(1))
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(item.path.stat().st_mode) == 0o600
    assert "api_secret" not in item.path.read_text()


def test_the_bound_drops_the_oldest_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, max_batches=3)
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            spool.add("G-ABCD1234", batch(i))
    assert [p.batch for p in spool.pending()] == [batch(2), batch(3), batch(4)]
    assert "dropped the 1 oldest" in caplog.text


def test_unreadable_files_are_removed_and_temp_files_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    spool.add("G-ABCD1234", batch(1))
    (tmp_path / "00000000000000000000-bad.json").write_text("{half a batch")
    (tmp_path / ".00000000000000000001-x.json.abc.tmp").write_text("{half")
    with caplog.at_level(logging.WARNING):
        pending = spool.pending()
    assert [p.batch for p in pending] == [batch(1)]
    assert not (tmp_path / "00000000000000000000-bad.json").exists()
    assert "unreadable" in caplog.text


def test_only_one_process_holds_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with spool.exclusive() as first:
        assert first
        with Spool(tmp_path).exclusive() as second:
            assert not second
    with spool.exclusive() as again:
        assert again


def test_a_bad_bound_or_directory_is_a_spool_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError):
        Spool(tmp_path, max_batches=0)
    (tmp_path / "file").write_text("")
    with pytest.raises(SpoolError, match="cannot create the spool directory"):
        Spool(tmp_path / "file" / "spool")
