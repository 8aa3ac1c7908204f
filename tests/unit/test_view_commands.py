"""The ``show`` and ``history`` command lines, their options, errors and cold start."""

from __future__ import annotations

import datetime
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mim_bridge.app import cli
from mim_bridge.app.view.commands import run_local_command
from mim_bridge.config import ConfigError, load, load_local
from mim_bridge.ga4 import BatchOutcome, DeliveryReport
from mim_bridge.pipeline.history import FILENAME, History, build_entry
from mim_bridge.report import write_report
from mim_bridge.vocab.events import Event

CID = "69fc3600-22d6-4e8e-8947-5ec2e7420051"
MAIN = "G-B4S18X6KY5"
EVENTS = [Event("host_count", {"value": 1}),
          Event("cluster", {"uptime": "0000-00:08:12", "version": "5.1.0", "component": 0,
                            "node_number": 1, "config_type": "toml"}),
          Event("xmpp_stanza_count", {"stanza_type": "xmppMessageSent", "total": 17,
                                      "increment": 17})]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "BRIDGE_STATE_DIR": str(tmp_path / "state"),
            "BRIDGE_REPORT_FILE": str(tmp_path / "log" / "system_metrics_report.json")}


def run(command: str, *argv: str, env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = run_local_command("mim-metrics-bridge", command, list(argv), out=out, environ=env)
    return code, out.getvalue()


def sent(state: Path, events: list[Event], status: str = "delivered") -> dict[str, object]:
    entry = build_entry(CID, [("n", events)],
                        {"n": DeliveryReport((BatchOutcome(MAIN, 3, status, 204, 1, False),),
                                             (), 0, 0.1)},
                        [MAIN], datetime.datetime(2026, 5, 1, 12, tzinfo=datetime.UTC))
    History(state, 1024 * 1024).append(entry)
    return entry


def test_show_reads_the_configured_report_file_and_finds_it_in_the_log(
        env: dict[str, str], tmp_path: Path) -> None:
    write_report(Path(env["BRIDGE_REPORT_FILE"]), EVENTS)
    sent(tmp_path / "state", EVENTS)
    code, page = run("show", env=env)
    assert code == 0
    assert env["BRIDGE_REPORT_FILE"] in page and re.search(rf"client id +{CID}", page)
    assert "node 1 of 1  MongooseIM 5.1.0, up 8 min, 1 node in the cluster" in page
    code, doc = run("show", "--format", "json", env=env)
    assert json.loads(doc)["sent"]["client_id"] == CID


def test_show_takes_a_file_argument_or_option_and_says_when_the_log_has_no_record(
        env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.json"
    write_report(other, EVENTS)
    for argv in ([str(other)], ["--report-file", str(other)]):
        code, page = run("show", *argv, env=env)
        assert code == 0 and str(other) in page
        assert f"not in the transparency log {tmp_path / 'state' / FILENAME}" in page
    code, page = run("show", str(other), env={**env, "BRIDGE_HISTORY": "false"})
    assert "not recorded: the transparency log is off" in page


def test_show_follows_the_config_file(tmp_path: Path) -> None:
    report = tmp_path / "from-toml.json"
    write_report(report, EVENTS)
    toml = tmp_path / "bridge.toml"
    toml.write_text(f'[bridge]\nnode = "nonsense"\nreport_file = "{report}"\n'
                    f'state_dir = "{tmp_path / "s"}"\n')
    code, page = run("show", "--config", str(toml), env={"HOME": str(tmp_path)})
    assert code == 0 and str(report) in page  # and the node, not needed here, is not checked


def test_show_without_a_report_file_is_one_line_and_status_8(
        env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("show", env=env)
    assert code == 8
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "there is no report file" in err
    assert "initial_report" in err


def test_show_of_a_file_that_is_not_a_report(env: dict[str, str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run("show", str(bad), env=env)[0] == 8
    assert "is not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "argv", "message"), [
    ("show", ["--format", "yaml"], "invalid choice: 'yaml'"),
    ("history", ["--last", "0"], "must be 1 or more"),
    ("history", ["--last", "x"], "is not a number"),
    ("history", ["--frobnicate"], "unrecognized arguments"),
])
def test_usage_errors_are_one_line_with_status_2(
        command: str, argv: list[str], message: str, env: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(command, *argv, env=env)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_bad_setting_from_the_environment_is_status_2(
        env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("history", env={**env, "BRIDGE_HISTORY_SIZE": "1k"})[0] == 2
    assert "BRIDGE_HISTORY_SIZE='1k': must be between 16k and 64M" in capsys.readouterr().err


def test_history_pages_the_log(env: dict[str, str], tmp_path: Path) -> None:
    code, page = run("history", env=env)
    assert code == 0 and "no report recorded in" in page
    for _ in range(3):
        sent(tmp_path / "state", EVENTS)
    code, page = run("history", "--last", "2", env=env)
    assert code == 0 and "the last 2 of 3 reports" in page
    assert page.count(MAIN) == 2
    code, doc = run("history", "--format", "json", "--state-dir", str(tmp_path / "state"),
                    env={"HOME": str(tmp_path)})
    assert code == 0 and json.loads(doc)["reports"] == 3


def test_history_warns_about_unreadable_lines(env: dict[str, str], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    sent(tmp_path / "state", EVENTS)
    with (tmp_path / "state" / FILENAME).open("a") as f:
        f.write('{"format": 1, "ti')
    code, page = run("history", env=env)
    assert code == 0 and "1 report(s)" in page
    err = capsys.readouterr().err
    assert "warning: 1 unreadable line(s)" in err and err.count("\n") == 1


def test_the_main_command_routes_show_and_history(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NO_COLOR", raising=False)
    sent(tmp_path / "state", EVENTS)
    assert cli.main(["history"]) == 0
    assert "MongooseIM system metrics: the transparency log" in capsys.readouterr().out


def test_an_ascii_only_output_gets_ascii_pages(env: dict[str, str], tmp_path: Path) -> None:
    events = EVENTS + [Event("outgoing_pool", {"value": "rdbms"})] * 2
    write_report(Path(env["BRIDGE_REPORT_FILE"]), events)
    for _ in range(3):
        sent(tmp_path / "state", events)
    for command in ("show", "history"):
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding="ascii")
        assert run_local_command("bridge", command, [], out=out, environ=env) == 0
        assert raw.getvalue().decode("ascii")
    assert "rdbms x2" in run("show", env=env)[1]


def test_a_pipe_closed_early_ends_quietly(env: dict[str, str], tmp_path: Path) -> None:
    write_report(Path(env["BRIDGE_REPORT_FILE"]), EVENTS * 200)
    proc = subprocess.run(
        f"{sys.executable} -m mim_bridge show | head -1", shell=True, env={
            **env, "PYTHONPATH": ":".join(sys.path)}, capture_output=True, text=True,
        timeout=60, check=False)
    assert proc.stdout == "MongooseIM system metrics: the last report\n"
    assert proc.stderr == ""


COLD = """
import sys
from mim_bridge.app import cli
try:
    code = cli.main(sys.argv[1:])
except SystemExit as e:  # --version
    code = e.code
heavy = sorted(m for m in ("asyncio", "ssl", "mim_bridge.erldist.connection", "requests",
                           "tenacity", "mim_bridge.collect", "mim_bridge.app.service")
               if m in sys.modules)
print(code, heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["show"], ["history"], ["history", "--format", "json"],
                                  ["--version"]])
def test_the_local_commands_import_no_network_stack(
        argv: list[str], env: dict[str, str], tmp_path: Path) -> None:
    write_report(Path(env["BRIDGE_REPORT_FILE"]), EVENTS)
    proc = subprocess.run([sys.executable, "-c", COLD, *argv], capture_output=True, text=True,
                          env={**env, "PYTHONPATH": ":".join(sys.path)}, timeout=60,
                          check=False)
    assert proc.stderr.splitlines()[-1] == "0 []", proc.stderr


def test_load_local_needs_no_node_nor_cookie(tmp_path: Path) -> None:
    cfg = load_local({}, {"XDG_STATE_HOME": str(tmp_path / "xdg"),
                          "BRIDGE_NODE": "not a node name"}, cwd=tmp_path)
    assert cfg.report_file == tmp_path / "system_metrics_report.json"
    assert cfg.state_dir == tmp_path / "xdg" / "mim-metrics-bridge"
    assert cfg.history is True and cfg.history_size == 1024 * 1024
    cfg = load_local({"state_dir": "s"}, {"HOME": str(tmp_path), "XDG_STATE_HOME": "/x",
                                          "BRIDGE_HISTORY": "no",
                                          "BRIDGE_HISTORY_SIZE": "256k"}, cwd=tmp_path)
    assert cfg.state_dir == tmp_path / "s" and cfg.history is False
    assert cfg.history_size == 256 * 1024


@pytest.mark.parametrize(("raw", "size"), [("262144", 262144), ("256k", 262144),
                                           ("1M", 1048576), ("1MiB", 1048576),
                                           ("64m", 64 * 1048576), ("16_384", 16384)])
def test_history_size_takes_bytes_or_units(raw: str, size: int, tmp_path: Path) -> None:
    assert load_local({"history_size": raw}, {"HOME": str(tmp_path)}).history_size == size


@pytest.mark.parametrize("raw", ["15k", "65M", "1T", "-1", "lots", "1.5.0M"])
def test_history_size_out_of_bounds_or_malformed(raw: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--history-size="):
        load_local({"history_size": raw}, {"HOME": str(tmp_path)})


def test_no_history_and_the_dry_run_format_reach_the_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = vars(cli.build_parser().parse_args(["--node", "a@b", "--no-history", "--dry-run",
                                               "--format", "table"]))
    assert args["history"] == "false" and args["format"] == "table"
    cfg = load({"node": ["a@b"], "cookie": "c", "history": args["history"]},
               {"HOME": str(tmp_path)})
    assert cfg.history is False and cfg.dry_run_format == "jsonl"


def test_format_without_dry_run_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--node", "a@b", "--cookie", "c", "--once", "--format", "json"])
    assert exit_info.value.code == 2
    assert "--format applies to --dry-run" in capsys.readouterr().err
