"""The command line in-process: parsing, one-line errors, exit statuses, consent, log formats."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from mim_bridge.app import cli
from mim_bridge.collect import NotMongooseIM
from mim_bridge.config import ConfigError
from mim_bridge.erldist import (
    ConnectionLost,
    CookieMismatch,
    EpmdUnreachable,
    HandshakeRefused,
    NodeNameError,
    NodeNotFound,
    TlsError,
)
from mim_bridge.errors import ExitCode, Interrupted, SendFailed, exit_status
from mim_bridge.ga4 import SpoolError, TrackingIdError
from mim_bridge.report import ClientIdError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for var in ("BRIDGE_NODE", "BRIDGE_COOKIE", "BRIDGE_REPORT", "DO_NOT_TRACK", "BRIDGE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path
    logging.getLogger().handlers.clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_until_sigterm(capsys: pytest.CaptureFixture[str], status_file: Path, *argv: str
                      ) -> tuple[int, str, str]:
    """Run the service in-process; once its status file says it idles (its signal handlers are
    in place by then), send this process SIGTERM."""
    done = threading.Event()

    def stop_when_idle() -> None:
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            try:
                if json.loads(status_file.read_text())["state"] == "disabled":
                    time.sleep(0.2)
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.02)

    thread = threading.Thread(target=stop_when_idle, daemon=True)
    thread.start()
    try:
        return run(capsys, *argv)
    finally:
        done.set()
        thread.join(5)


def test_help_has_examples_and_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert "--once --dry-run" in out and "exit statuses" in out and "BRIDGE_" in out
    for flag in ("--initial-report", "--periodic-report", "--tracking-id", "--tls-cafile",
                 "--check", "--validate", "--log-format", "--state-dir", "--epmd-port"):
        assert flag in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("mongooseim-metrics-bridge ")


@pytest.mark.parametrize(("argv", "message"), [
    (["--node", "mim@localhost", "--cookie", "c", "--periodic-report", "5x"],
     "--periodic-report='5x'"),
    (["--cookie", "c"], "no MongooseIM node given"),
    (["--node", "mim", "--cookie", "c"], "not of the form name@host"),
    (["--node", "mim@localhost", "--cookie", "c", "--dry-run", "--check"],
     "--dry-run and --check cannot be combined"),
    (["--node", "mim@localhost", "--cookie", "c", "--bogus"], "unrecognized arguments"),
    (["--node", "mim@localhost", "--cookie-file", "/no/such/cookie"],
     "cannot read the cookie file"),
])
def test_usage_errors_are_one_line_with_status_2(capsys: pytest.CaptureFixture[str],
                                                 argv: list[str], message: str) -> None:
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's own errors
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1 and err.startswith("mim-metrics-bridge: error: ") and message in err
    assert "Traceback" not in err


def test_report_false_says_so_once_and_the_service_idles_until_sigterm(
        capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, out, err = run_until_sigterm(capsys, home / "state" / "status.json", "--node",
                                       "mim@localhost", "--cookie", "c", "--report", "false",
                                       "--state-dir", str(home / "state"))
    assert code == 0 and out == ""
    assert err.count("reporting is disabled by report = false (--report)") == 1
    assert "the service idles until it is stopped" in err and "received SIGTERM" in err
    assert "MongooseIM docs" not in err
    # it kept no status file behind: `health` says at once that it is not running
    assert not list(home.rglob("status.json"))


def test_report_false_once_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--report", "false",
                       "--once")
    assert code == 0
    assert err.count("reporting is disabled by report = false (--report)") == 1
    assert "the bridge exits" in err


def test_do_not_track(capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--once")
    assert code == 0 and "disabled by DO_NOT_TRACK=1" in err


def test_cookie_on_the_command_line_is_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--report", "false",
                    "--once")
    assert "visible to other users in the process list" in err
    assert "--cookie-file" in err


def test_json_log_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--report", "false",
                       "--log-format", "json", "--once")
    records = [json.loads(line) for line in err.splitlines()]
    assert code == 0
    assert {r["level"] for r in records} <= {"info", "warning"}
    assert any("reporting is disabled" in r["message"] for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)


def test_transparency_notice_carries_structured_fields() -> None:
    record = logging.LogRecord("mim_bridge.app.service", logging.WARNING, __file__, 1,
                               "notice - MongooseIM docs -", None, None)
    record.what = "report_transparency"
    record.report_filename = "/tmp/system_metrics_report.json"
    doc = json.loads(cli.JsonFormatter().format(record))
    assert doc["what"] == "report_transparency"
    assert doc["report_filename"].endswith("system_metrics_report.json")


@pytest.mark.parametrize(("error", "code"), [
    (ConfigError("x"), ExitCode.USAGE),
    (NodeNameError("x"), ExitCode.USAGE),
    (TrackingIdError("x"), ExitCode.USAGE),
    (EpmdUnreachable("x"), ExitCode.UNREACHABLE),
    (NodeNotFound("x"), ExitCode.UNREACHABLE),
    (ConnectionLost("x"), ExitCode.UNREACHABLE),
    (CookieMismatch("x"), ExitCode.AUTH),
    (HandshakeRefused("x"), ExitCode.AUTH),
    (NotMongooseIM("x"), ExitCode.NOT_MONGOOSEIM),
    (SendFailed("x"), ExitCode.SEND_FAILED),
    (TlsError("x"), ExitCode.TLS),
    (ClientIdError("x"), ExitCode.LOCAL_FILES),
    (SpoolError("x"), ExitCode.LOCAL_FILES),
    (Interrupted("x"), ExitCode.INTERRUPTED),
    (KeyError("x"), ExitCode.INTERNAL),
])
def test_errors_map_to_documented_statuses(error: BaseException, code: ExitCode) -> None:
    assert exit_status(error) is code


def test_docs_list_every_exit_status() -> None:
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", DOCS.read_text(), re.MULTILINE)
    assert [(int(n), name) for n, name in rows] == [(c.value, c.name) for c in ExitCode]


def test_docs_list_every_option() -> None:
    from mim_bridge.config import OPTIONS
    text = DOCS.read_text()
    for opt in OPTIONS:
        assert f"`{opt.env}`" in text or f"`{opt.env}=" in text, opt.env
        assert f"`{opt.name}`" in text or f"`{opt.name}." in text, opt.name


def test_unexpected_errors_are_one_line_without_traceback(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(config: object) -> int:
        raise KeyError("surprise")

    monkeypatch.setattr(cli, "_dispatch", boom)
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--report", "true")
    assert code == ExitCode.INTERNAL
    assert "unexpected error: KeyError" in err and "-v" in err and "Traceback" not in err
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--report", "true",
                       "-v")
    assert "Traceback" in err


@pytest.mark.parametrize("problem", ["disk full", "a directory"])
def test_once_with_an_unwritable_report_file_exits_8_naming_the_file(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        problem: str) -> None:
    import errno
    import os

    from mim_bridge.pipeline.reporter import OutgoingReport, Reporter
    from mim_bridge.report import ClientId
    from mim_bridge.util import atomic_file
    from mim_bridge.vocab.events import Event

    async def prepared(self: Reporter, **kw: object) -> OutgoingReport:
        if problem == "a directory":  # became one after the startup check
            report_file.mkdir()
        else:
            def full(src: object, dst: object) -> None:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            monkeypatch.setattr(atomic_file.os, "replace", full)
        return OutgoingReport(ClientId("5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1", "new"),
                        [("mim@localhost", (Event("host_count", {"value": 1}),))], {})

    report_file = tmp_path / "out" / "report.json"
    monkeypatch.setattr(Reporter, "collect", prepared)
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--once",
                       "--report", "true", "--report-file", str(report_file))
    assert code == ExitCode.LOCAL_FILES
    line = err.splitlines()[-1]
    assert line.startswith("mim-metrics-bridge: error: cannot write the report file ")
    assert str(report_file) in line and "--report-file" in line and "please report" not in err


def test_a_report_file_that_is_a_directory_is_refused_at_startup(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--once",
                       "--report", "true", "--report-file", str(tmp_path / "reports"))
    assert code == ExitCode.LOCAL_FILES
    assert err.splitlines()[-1] == (
        f"mim-metrics-bridge: error: the report file {tmp_path / 'reports'} is "
        "a directory; give a file name with --report-file")


def test_report_file_errors_are_local_file_errors() -> None:
    from mim_bridge.report import ReportFileError
    assert exit_status(ReportFileError("x")) is ExitCode.LOCAL_FILES


SECRET = "Sup3rSecretApiKey_42"


def test_no_log_line_carries_the_tracking_secret_at_the_highest_verbosity(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mim_bridge.pipeline.reporter import OutgoingReport, Reporter
    from mim_bridge.report import ClientId
    from mim_bridge.vocab.events import Event
    from support.fake_ga import FakeGA

    async def prepared(self: Reporter, **kw: object) -> OutgoingReport:
        return OutgoingReport(ClientId("5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1", "new"),
                        [("mim@localhost", (Event("host_count", {"value": 1}),))], {})

    monkeypatch.setattr(Reporter, "collect", prepared)
    with FakeGA() as ga:
        ga.fail_next(1, status=503)  # a retry, logged
        code, _, err = run(capsys, "--node", "mim@localhost", "--cookie", "c", "--once",
                           "--report", "true", "-vvv", "--ga-url", ga.url, "--send-timeout",
                           "2s", "--tracking-id", "G-PRIVATE123", "--tracking-secret", SECRET)
        assert code == 0, err
        assert [r.api_secret for r in ga.delivered("G-PRIVATE123")] == [SECRET]
    assert "attempt 1 failed" in err and "DEBUG" in err  # the verbose logs are there...
    assert SECRET not in err  # ...without the secret
    assert logging.getLogger("urllib3").getEffectiveLevel() >= logging.INFO
    assert logging.getLogger("requests").getEffectiveLevel() >= logging.INFO


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_urls_and_tracebacks_are_redacted(capsys: pytest.CaptureFixture[str],
                                          log_format: str) -> None:
    from urllib.parse import quote

    odd = "s3cr&t=\"x/y"  # printable ASCII, as GA4 allows
    cli.setup_logging(log_format, 3, secrets=[SECRET, odd])
    url = f"/mp/collect?measurement_id=G-PRIVATE123&api_secret={SECRET}"
    logging.getLogger("mim_bridge.test").warning('"POST %s HTTP/1.1" 204 0', url)
    logging.getLogger("mim_bridge.test").warning("odd %s", f"?api_secret={quote(odd, safe='')}")
    logging.getLogger("mim_bridge.test").warning("raw %s", odd)
    try:
        raise ConnectionError(f"Max retries exceeded with url: {url}")
    except ConnectionError:
        logging.getLogger("mim_bridge.test").exception("failed")
    err = capsys.readouterr().err
    assert "api_secret=REDACTED" in err and "measurement_id=G-PRIVATE123" in err
    for form in (SECRET, odd, quote(odd, safe=""), odd.replace('"', '\\"')):
        assert form not in err, form
    assert "Traceback" in err or '"exception"' in err


def test_the_exit_status_table_is_read_off_the_error_classes() -> None:
    """docs/cli.md's exit statuses are the classes' (and erldist's, mapped once)."""
    from mim_bridge.erldist import (
        CookieMismatch,
        HandshakeRefused,
        NameInUse,
        NodeNameError,
        TlsError,
    )
    from mim_bridge.errors import retry_can_help
    cases = [(NodeNameError("x"), 2, False), (TlsError("x"), 7, False),
             (CookieMismatch("x"), 4, False), (HandshakeRefused("x"), 4, False),
             (NameInUse("x"), 9, True), (ConnectionRefusedError(), 3, True),
             (RuntimeError("bug"), 1, False)]
    for error, status, retry in cases:
        assert (exit_status(error), retry_can_help(error)) == (status, retry), error
    cli_md = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    documented = {int(m) for m in re.findall(r"^\| (\d+) \| `[A-Z_]+` \|", cli_md, re.M)}
    assert documented == {int(c) for c in ExitCode}
