"""The transparency log: what an entry says, its bounds, its atomicity, and damaged files."""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from mim_bridge.config import Config, load
from mim_bridge.ga4 import BatchOutcome, DeliveryReport
from mim_bridge.pipeline import history
from mim_bridge.pipeline.history import FILENAME, History, build_entry, record, report_digest
from mim_bridge.report import read_report, write_report
from mim_bridge.util.atomic_file import temp_files_for
from mim_bridge.vocab.events import Event

CID = "69fc3600-22d6-4e8e-8947-5ec2e7420051"
MAIN, PRIVATE = "G-B4S18X6KY5", "G-PRIVATE0001"
NOW = datetime.datetime(2026, 5, 1, 12, 0, 4, tzinfo=datetime.UTC)


def node_events(sent: int = 17, total: int = 40, extra: int = 0) -> list[Event]:
    events = [Event("host_count", {"value": 1}),
              Event("cluster", {"uptime": "0000-00:08:00", "version": "5.1.0",
                                "component": 0, "node_number": 2, "config_type": "toml"}),
              Event("xmpp_stanza_count", {"stanza_type": "xmppMessageSent", "total": total,
                                          "increment": sent}),
              Event("xmpp_stanza_count", {"stanza_type": "xmppIqSent", "total": 3,
                                          "increment": 1})]
    events += [Event("module_with_opt", {"module": "mod_disco"})] * extra
    return events


def delivery(*outcomes: tuple[str, str, int | None, bool], pending: int = 0) -> DeliveryReport:
    return DeliveryReport(tuple(BatchOutcome(mid, 4, status, http, 1, spooled)
                                for mid, status, http, spooled in outcomes), (), pending, 0.01)


def entry(n: int = 0, size: int = 0) -> dict[str, Any]:
    """A plausible entry; *size* pads it (through a field readers ignore)."""
    return {"format": 1, "time": f"2026-05-01T00:00:{n % 60:02d}Z", "n": n, "pad": "x" * size}


def test_an_entry_says_when_where_how_much_and_what_ga4_answered() -> None:
    reports = [("mim1@secret-host", node_events(17, 40)), ("mim2@secret-host", node_events(3, 5))]
    deliveries = {
        "mim1@secret-host": delivery((MAIN, "delivered", 204, False),
                                     (PRIVATE, "delivered", 204, False),
                                     (MAIN, "delivered", 204, True)),  # an earlier report's
        "mim2@secret-host": delivery((MAIN, "pending", 503, False),
                                     (PRIVATE, "rejected", 400, False), pending=1),
    }
    e = build_entry(CID, reports, deliveries, [MAIN, PRIVATE], NOW)
    assert e == {
        "format": 1, "time": "2026-05-01T12:00:04Z", "report": e["report"],
        "client_id": CID, "nodes": 2, "events": 8, "requests": 4,
        "destinations": {
            MAIN: {"delivered": 1, "rejected": 0, "pending": 1, "dropped": 0,
                   "http": [204, 503], "errors": []},
            PRIVATE: {"delivered": 1, "rejected": 1, "pending": 0, "dropped": 0,
                      "http": [204, 400], "errors": []}},
        "resent": 1, "waiting": 1,
        "stanzas": {"xmppMessageSent": {"total": 45, "increment": 20},
                    "xmppIqSent": {"total": 6, "increment": 2}},
    }
    assert "secret" not in json.dumps(e)  # node names are counted, never kept


def test_requests_count_batches_of_25_for_every_destination() -> None:
    e = build_entry(CID, [("a", node_events(extra=30))],
                    {"a": delivery((MAIN, "delivered", 204, False))}, [MAIN, PRIVATE], NOW)
    assert e["events"] == 34 and e["requests"] == 4  # 2 batches x 2 destinations


def test_nodes_never_handed_to_the_sender_are_counted_apart() -> None:
    e = build_entry(CID, [("a", node_events()), ("b", node_events())],
                    {"a": delivery((MAIN, "delivered", 204, False))}, [MAIN], NOW)
    assert e["nodes"] == 1 and e["unsent_nodes"] == 1
    assert e["destinations"][MAIN]["http"] == [204]


def test_no_stanza_events_make_an_empty_stanza_record() -> None:
    e = build_entry(CID, [("a", [Event("host_count", {"value": 1})])],
                    {"a": delivery((MAIN, "pending", None, False))}, [MAIN], NOW)
    assert e["stanzas"] == {}
    assert e["destinations"][MAIN] == {"delivered": 0, "rejected": 0, "pending": 1,
                                       "dropped": 0, "http": [], "errors": []}


def test_the_digest_matches_the_report_file_written_from_the_same_events(tmp_path: Path) -> None:
    reports = [("a", [*node_events(), Event("module_with_opt", {"module": "mod_acme"})]),
               ("b", node_events(1, 2))]
    path = tmp_path / "r.json"
    write_report(path, *(events for _, events in reports))
    e = build_entry(CID, reports, {"a": delivery()}, [MAIN], NOW)
    assert e["report"] == report_digest(read_report(path))
    assert e["report"] != report_digest(node_events())


def test_appends_lines_and_reads_them_back_in_order(tmp_path: Path) -> None:
    h = History(tmp_path / "state", 1024 * 1024)
    for n in range(5):
        h.append(entry(n))
    read = h.read()
    assert [e["n"] for e in read.entries] == [0, 1, 2, 3, 4]
    assert read.unreadable == 0 and read.files == [h.path]
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert h.path.stat().st_mode & 0o777 == 0o600
    assert all(json.loads(line) for line in h.path.read_text().splitlines())


def test_a_soak_of_many_reports_stays_within_the_bounds(tmp_path: Path) -> None:
    size = 16 * 1024
    h = History(tmp_path, size)
    count = 2000
    for n in range(count):
        h.append(entry(n, size=n % 300))  # entries of 60 to 360 bytes
        if n % 250 == 0:
            assert sum(p.stat().st_size for p in h.files()) <= size
    files = h.files()
    assert [p.name for p in files] == [f"{FILENAME}.3", f"{FILENAME}.2", f"{FILENAME}.1",
                                       FILENAME]
    assert all(p.stat().st_size <= size // 4 for p in files)
    assert sum(p.stat().st_size for p in files) <= size
    numbers = [e["n"] for e in h.read().entries]
    assert numbers == list(range(numbers[0], count))  # the newest, contiguous, in order
    # and the space is used: the three older files are full but for less than one entry
    assert sum(p.stat().st_size for p in files[:3]) >= 3 * (size // 4 - 400)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in files] + [".history.lock"])  # no temp files left


def test_an_entry_larger_than_a_file_gets_a_file_of_its_own(tmp_path: Path) -> None:
    h = History(tmp_path, 4000)
    h.append(entry(0))
    h.append(entry(1, size=2000))
    h.append(entry(2))
    assert [e["n"] for e in h.read().entries] == [0, 1, 2]
    assert len(h.files()) == 3


@pytest.mark.parametrize("damage", [
    pytest.param(lambda text: text[:-25], id="truncated-last-line"),
    pytest.param(lambda text: text.replace("\n", "\n{not json\n", 1), id="garbage-line"),
    pytest.param(lambda text: text + "\x00\x00\x00\x00", id="zeros-at-the-end"),
])
def test_a_damaged_file_loses_only_the_damaged_lines(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Any) -> None:
    h = History(tmp_path, 1024 * 1024)
    for n in range(3):
        h.append(entry(n))
    h.path.write_text(damage(h.path.read_text()))
    read = h.read()
    assert read.unreadable == 1
    assert [e["n"] for e in read.entries][:2] == [0, 1]
    with caplog.at_level(logging.WARNING):
        h.append(entry(9))
    assert "1 unreadable line(s)" in caplog.text
    after = h.read()
    assert after.unreadable == 0 and after.entries[-1]["n"] == 9
    assert [e["n"] for e in after.entries][:2] == [0, 1]


def test_a_file_with_nothing_readable_becomes_a_fresh_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = History(tmp_path, 1024 * 1024)
    h.path.write_bytes(os.urandom(3000).replace(b"\n", b"") + b"\n[1, 2]\n{\"x\": 1}")
    assert h.read().entries == []
    with caplog.at_level(logging.WARNING):
        h.append(entry(1))
    assert "3 unreadable line(s)" in caplog.text and "started a fresh file" in caplog.text
    assert [json.loads(line)["n"] for line in h.path.read_text().splitlines()] == [1]


def test_a_huge_foreign_file_is_read_only_up_to_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "MAX_FILE_READ", 1000)
    h = History(tmp_path, 1024 * 1024)
    h.path.write_text("".join(json.dumps(entry(n)) + "\n" for n in range(100)))
    numbers = [e["n"] for e in h.read().entries]
    assert numbers[-1] == 99 and 5 < len(numbers) < 30


def test_a_crash_while_writing_leaves_the_previous_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = History(tmp_path, 1024 * 1024)
    h.append(entry(0))
    before = h.path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mim_bridge.util.atomic_file.os.replace", crash)
    with pytest.raises(OSError):
        h.append(entry(1))
    assert h.path.read_bytes() == before
    assert temp_files_for(h.path) == []


def test_two_writers_take_turns(tmp_path: Path) -> None:
    writers = [History(tmp_path, 1024 * 1024) for _ in range(4)]
    threads = [threading.Thread(target=lambda w=w, i=i: [w.append(entry(i * 100 + n))
                                                         for n in range(25)])
               for i, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e["n"] for e in History(tmp_path, 1).read().entries) == sorted(
        i * 100 + n for i in range(4) for n in range(25))


def test_a_held_lock_makes_the_append_give_up_after_its_deadline(tmp_path: Path) -> None:
    import fcntl

    h = History(tmp_path, 1024 * 1024, lock_timeout=0.05)
    h.append(entry(0))
    fd = os.open(tmp_path / ".history.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(TimeoutError):
            h.append(entry(1))
    finally:
        os.close(fd)
    assert len(h.read().entries) == 1


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load({"node": ["mim@localhost"], "cookie": "c", "state_dir": str(tmp_path / "state"),
                 "report_file": str(tmp_path / "r.json")}, {"HOME": str(tmp_path)})


def test_record_appends_one_entry_per_report(config: Config) -> None:
    for _ in range(2):
        record(config, CID, [("a", node_events())],
               {"a": delivery((MAIN, "delivered", 204, False))}, [MAIN])
    entries = History(config.state_dir, config.history_size).read().entries
    assert [e["destinations"][MAIN]["delivered"] for e in entries] == [1, 1]


def test_record_does_nothing_when_the_log_is_off_or_nothing_was_sent(
        config: Config, tmp_path: Path) -> None:
    import dataclasses

    off = dataclasses.replace(config, history=False)
    record(off, CID, [("a", node_events())], {"a": delivery()}, [MAIN])
    record(config, CID, [("a", node_events())], {}, [MAIN])
    assert not (config.state_dir / FILENAME).exists()


def test_record_never_raises_and_says_why(
        config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import dataclasses

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    cfg = dataclasses.replace(config, state_dir=blocked / "state")
    record(cfg, CID, [("a", node_events())], {"a": delivery()}, [MAIN])
    assert "cannot add the report to the transparency log" in caplog.text
