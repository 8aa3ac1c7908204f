"""system_metrics_report.json: pretty, anonymised, and never half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mim_bridge.report import (
    DEFAULT_REPORT_FILENAME,
    ReportFileError,
    read_report,
    write_report,
)
from mim_bridge.util import atomic_file
from mim_bridge.util.atomic_file import temp_files_for
from mim_bridge.vocab.events import Event

OLD = [Event("host_count", {"value": 1})]
NEW = [
    Event("host_count", {"value": 2}),
    Event("cluster", {"version": "6.8.0", "node_number": 3}),
    Event("http_api", {}),
]


def test_writes_pretty_json_list_like_mongooseim(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_REPORT_FILENAME
    write_report(path, NEW)
    text = path.read_text()
    assert json.loads(text) == [
        {"name": "host_count", "params": {"value": 2}},
        {"name": "cluster", "params": {"version": "6.8.0", "node_number": 3}},
        {"name": "http_api", "params": {}},
    ]
    assert text.startswith('[\n  {\n    "name": "host_count",')
    assert text.endswith("]\n")
    assert read_report(path) == NEW


def test_creates_missing_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "report.json"
    write_report(path, OLD)
    assert read_report(path) == OLD


def test_anonymises_what_it_writes(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    written = write_report(path, [Event("module_with_opt", {"module": "mod_acme"})])
    assert written == (Event("custom_module_count", {"value": 1}),)
    assert "acme" not in path.read_text()


def test_failure_before_rename_keeps_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.json"
    write_report(path, OLD)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_file.os, "replace", broken_replace)
    with pytest.raises(ReportFileError, match=r"cannot write the report file .*No space left"):
        write_report(path, NEW)
    monkeypatch.undo()
    assert read_report(path) == OLD
    assert temp_files_for(path) == []


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from mim_bridge.vocab.events import Event
    from mim_bridge.report import write_report

    def stall(fd):  # the data is in the temp file, the rename has not happened yet
        print("mid-write", flush=True)
        time.sleep(60)

    os.fsync = stall
    write_report(Path(sys.argv[1]), [Event("host_count", {"value": 99})] * 2000)
    """
)


def test_a_writer_killed_mid_write_leaves_the_old_report(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_report(path, OLD)
    src = Path(__file__).resolve().parents[2] / "src"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "mid-write"
        assert len(temp_files_for(path)) == 1  # the new content exists, but only aside
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert read_report(path) == OLD
    leftover = temp_files_for(path)
    assert len(leftover) == 1
    # A later write replaces the report and clears temp files old enough to be orphans.
    old = time.time() - 2 * atomic_file.STALE_TEMP_SECONDS
    os.utime(leftover[0], (old, old))
    write_report(path, NEW)
    assert read_report(path) == NEW
    assert temp_files_for(path) == []


def test_a_cluster_report_is_every_nodes_events_in_order_each_gated_on_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.json"
    node_a = [Event("host_count", {"value": 1}), Event("module_with_opt", {"module": "mod_acme"}),
              Event("custom_module_count", {"value": 1})]
    node_b = [Event("host_count", {"value": 2}), Event("custom_module_count", {"value": 3})]
    written = write_report(path, node_a, node_b)
    expected = [Event("host_count", {"value": 1}), Event("custom_module_count", {"value": 2}),
                Event("host_count", {"value": 2}), Event("custom_module_count", {"value": 3})]
    assert list(written) == expected  # one count per node, not folded across nodes
    assert read_report(path) == expected


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EISDIR"])
def test_a_full_disk_or_a_directory_is_a_one_line_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_name: str
) -> None:
    import errno

    path = tmp_path / "r.json"
    if errno_name == "EISDIR":
        path.mkdir()
    else:
        def full(src: object, dst: object) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(atomic_file.os, "replace", full)
    with pytest.raises(ReportFileError) as info:
        write_report(path, OLD)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "--report-file" in message
    assert os.strerror(getattr(errno, errno_name)) in message
    assert temp_files_for(path) == []


def test_unwritable_location_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportFileError) as info:
        write_report(blocker / "r.json", OLD)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", ["not json", '{"name": "x"}', "[1, 2]"])
def test_reading_a_bad_file_is_a_report_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ReportFileError):
        read_report(path)


def test_reads_mongooseims_own_file(tmp_path: Path) -> None:
    path = tmp_path / "system_metrics_report.json"
    path.write_text('[{"name":"host_count","params":{"value":1}},{"name":"http_api","params":{}}]')
    assert read_report(path) == [Event("host_count", {"value": 1}), Event("http_api", {})]
