"""The stanza totals state file: whatever is found there is one warning and a fresh start.

Any bytes, any JSON, NaN/Infinity, 10**4000, nesting 200,000 deep, a 300 MB file, a directory or a
FIFO: loading never raises (the unfixed loader crash-looped on OverflowError/RecursionError), and
the next save replaces the file.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.pipeline.totals import FILENAME, NodeTotals, StanzaState, _parse
from mim_bridge.util.atomic_file import StateFileProblem, loads_json, read_bounded

NODE = "mongooseim@localhost"
GOOD = {"format": 1, "nodes": {NODE: {"totals": {"xmppMessageSent": 5}, "uptime": 300}}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=25,
)
# Documents shaped like ours, with anything at every place a value goes.
near_misses = st.fixed_dictionaries({
    "format": st.sampled_from([1, 1.0, "1", 2, None, True]),
    "nodes": st.dictionaries(st.text(max_size=10), st.fixed_dictionaries(
        {"totals": st.dictionaries(st.text(max_size=10), json_values, max_size=3)
         | json_values, "uptime": json_values}) | json_values, max_size=3) | json_values,
})


def load(path: Path) -> StanzaState:
    return StanzaState(path)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=3000)
       | json_values.map(lambda v: json.dumps(v).encode())
       | near_misses.map(lambda v: json.dumps(v).encode()))
def test_any_content_loads_without_an_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(content)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        state = load(path)
    if "starting afresh" not in caplog.text:  # no warning: then it was a valid totals file
        assert state.previous() == {n: dict(t.totals) for n, t in _parse(loads_json(content))
                                    .items()}
    for node, totals in state.previous().items():  # whatever was kept is well typed
        assert isinstance(node, str)
        assert all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                   for v in totals.values())


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": 1, "nodes": {"n": {"totals": {"x": Infinity}}}}',
        b'{"format": 1, "nodes": {"n": {"totals": {"x": NaN}}}}',
        b'{"format": 1, "nodes": {"n": {"totals": {"x": 1e999}}}}',
        b'{"format": 1, "nodes": {"n": {"totals": {"x": ' + b"9" * 5000 + b"}}}}",
        b'{"format": 1, "nodes": {"n": {"totals": {"x": ' + b"9" * 100 + b"}}}}",
        b'{"format": 1, "nodes": {"n": {"totals": {"x": 5}, "uptime": -1}}}',
        b'{"format": 1, "nodes": {"n": {"totals": {"x": true}}}}',
        b'{"format": 1, "nodes": {"n": {"totals": [1, 2]}}}',
        b"[" * 200_000,
        b"\x00\xff" * 100,
        b"",
    ],
    ids=["infinity", "nan", "1e999", "5000-digits", "100-digits", "negative", "bool", "list",
         "deep", "binary", "empty"],
)
def test_bad_content_is_a_warning_and_a_fresh_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        state = load(path)
    assert state.previous() == {}
    assert "starting afresh" in caplog.text
    state.update({NODE: NodeTotals({"xmppMessageSent": 7}, 10)})
    assert load(path).previous() == {NODE: {"xmppMessageSent": 7}}  # replaced by the next save


def test_a_huge_file_is_not_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / FILENAME
    with open(path, "wb") as f:
        f.truncate(300_000_000)
    with caplog.at_level(logging.WARNING):
        assert load(path).previous() == {}
    assert "larger than" in caplog.text


def test_a_directory_or_fifo_in_place_of_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / FILENAME).mkdir()
    os.mkfifo(tmp_path / FILENAME)  # opening it for reading would block for ever
    with caplog.at_level(logging.WARNING):
        assert load(tmp_path / FILENAME).previous() == {}
        state = load(tmp_path / "dir" / FILENAME)
        state.update({NODE: NodeTotals({"x": 1}, None)})  # cannot replace a directory: a warning
    assert caplog.text.count("not a regular file") == 2
    assert "cannot save stanza totals" in caplog.text


def test_a_good_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_text(json.dumps(GOOD))
    state = load(path)
    assert state.previous() == {NODE: {"xmppMessageSent": 5}}
    assert state.restarted(NODE, {"xmppMessageSent": 6}, 200)  # uptime went down


def test_loading_a_huge_file_takes_no_memory(tmp_path: Path) -> None:
    """In a subprocess, to measure its peak memory (the unfixed loader read the file whole)."""
    path = tmp_path / FILENAME
    with open(path, "wb") as f:
        f.truncate(300_000_000)
    script = textwrap.dedent(f"""
        import re
        from pathlib import Path
        from mim_bridge.pipeline.totals import StanzaState
        assert StanzaState(Path({str(path)!r})).previous() == {{}}
        # VmHWM: this process's own peak (ru_maxrss would include the forking parent's)
        print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    assert int(out.stdout) < 100  # MiB; reading it would take 300


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"NaN", "holds NaN"), (b"-Infinity", "holds -Infinity"), (b"[" * 100_000, "nested"),
     (b"\xff", "not valid JSON"), (b"1" * 5000, "not valid JSON")],
)
def test_strict_json_names_the_problem(data: bytes, problem: str) -> None:
    with pytest.raises(StateFileProblem, match=problem):
        loads_json(data)


def test_read_bounded_checks_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    assert read_bounded(path, 11) == b"x" * 11
    with pytest.raises(StateFileProblem, match="larger than 10 bytes"):
        read_bounded(path, 10)
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "missing", 10)
    with pytest.raises(StateFileProblem, match="not a regular file"):
        read_bounded(tmp_path, 10)
