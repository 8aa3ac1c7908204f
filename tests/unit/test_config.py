"""Config: durations, the four layers and their precedence, mongooseim.toml, cookies, consent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mim_bridge.config import ConfigError, load, parse_bool
from mim_bridge.ga4 import MONGOOSEIM_CI, MONGOOSEIM_PRODUCTION
from mim_bridge.vocab.durations import parse_duration
from support.configs import NODE, cfg


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean environment whose home holds a cookie, like a node's user."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".erlang.cookie").write_text("homecookie\n")
    monkeypatch.setenv("HOME", str(home))
    return {"HOME": str(home)}


@pytest.mark.parametrize(("text", "seconds"), [
    ("200ms", 0.2), ("1.5s", 1.5), ("5m", 300), ("3h", 10800), ("1d", 86400), ("1h30m", 5400),
    ("300000", 300), ("300_000", 300), (300000, 300), ("0", 0), (" 5 m ", 300), (".5s", 0.5),
    ("2H", 7200),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5x", "", "-5m", "m", "5m junk", "junk5m", "nan", "inf", True,
                                  "-1", "5mm"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_bare_numbers_are_seconds_for_timeouts(env: dict[str, str]) -> None:
    c = cfg(env, {"connect_timeout": "3", "net_ticktime": "500ms"})
    assert (c.connect_timeout, c.net_ticktime) == (3.0, 0.5)


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), ("1", True),
                                             ("off", False), ("false", False), (False, False)])
def test_bools(text: object, value: bool) -> None:
    assert parse_bool(text) is value


def test_defaults(env: dict[str, str]) -> None:
    c = cfg(env)
    assert c.nodes == (NODE,)
    assert (c.initial_report, c.periodic_report) == (300, 10800)
    assert c.report is None and c.disabled_by is None
    assert c.report_file == Path("/srv/system_metrics_report.json")
    assert c.state_dir == Path(env["HOME"]) / ".local/state/mim-metrics-bridge"
    assert c.cookie == "homecookie" and c.cookie_source.endswith(".erlang.cookie")
    assert c.destinations == [MONGOOSEIM_PRODUCTION]
    assert c.tls is None and c.discover and not c.allow_double_report
    assert c.mode == "service" and c.log_format == "text"


def test_xdg_state_home(env: dict[str, str]) -> None:
    assert cfg({**env, "XDG_STATE_HOME": "/var/state"}).state_dir == Path(
        "/var/state/mim-metrics-bridge")


def test_precedence_flags_env_bridge_table_service_section(env: dict[str, str],
                                                           tmp_path: Path) -> None:
    toml = tmp_path / "mongooseim.toml"
    toml.write_text("""
[general]
  hosts = ["localhost"]

[services.service_mongoose_system_metrics]
  initial_report = 1_000
  periodic_report = 2_000
  report = true

[bridge]
  periodic_report = "3s"
  state_dir = "/from/file"
  report_file = "/from/file.json"
""")
    c = cfg({**env, "BRIDGE_STATE_DIR": "/from/env", "BRIDGE_REPORT_FILE": "/from/env.json"},
            {"report_file": "/from/flag.json"}, config_file=str(toml))
    assert c.initial_report == 1.0  # service section, in milliseconds
    assert c.periodic_report == 3.0  # [bridge] beats the service section
    assert c.report is True
    assert c.state_dir == Path("/from/env")  # environment beats the file
    assert c.report_file == Path("/from/flag.json")  # flag beats everything
    assert c.sources["report_file"] == "--report-file"
    assert c.sources["state_dir"] == "BRIDGE_STATE_DIR"
    assert "[services.service_mongoose_system_metrics]" in c.sources["initial_report"]


def test_config_file_from_environment(env: dict[str, str], tmp_path: Path) -> None:
    toml = tmp_path / "b.toml"
    toml.write_text('[bridge]\nnode = ["a@h1", "b@h2"]\ninitial_report = 0\n')
    c = load({}, {**env, "BRIDGE_CONFIG": str(toml)})
    assert c.nodes == ("a@h1", "b@h2") and c.initial_report == 0


def test_node_list_from_environment_is_comma_separated(env: dict[str, str]) -> None:
    c = load({}, {**env, "BRIDGE_NODE": "a@h1, b@h2,,a@h1"})
    assert c.nodes == ("a@h1", "b@h2")


def test_empty_environment_values_count_as_unset(env: dict[str, str]) -> None:
    assert cfg({**env, "BRIDGE_REPORT": "", "BRIDGE_PERIODIC_REPORT": " "}).report is None


def test_tracking_id_from_mongooseim_toml(env: dict[str, str], tmp_path: Path) -> None:
    toml = tmp_path / "mongooseim.toml"
    toml.write_text('[services.service_mongoose_system_metrics]\n'
                    '  tracking_id.id = "G-PRIVATE123"\n  tracking_id.secret = "s3cr3t"\n')
    c = cfg(env, config_file=str(toml))
    assert [d.measurement_id for d in c.destinations] == ["G-B4S18X6KY5", "G-PRIVATE123"]


def test_universal_analytics_id_in_an_old_mongooseim_toml_is_ignored(
        env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    toml = tmp_path / "mongooseim.toml"
    toml.write_text('[services.service_mongoose_system_metrics]\n'
                    '  tracking_id = "UA-123456-1"\n')
    with caplog.at_level(logging.WARNING):
        c = cfg(env, config_file=str(toml))
    assert c.tracking_id is None
    assert "Universal Analytics" in caplog.text


@pytest.mark.parametrize(("flags", "message"), [
    ({"tracking_id": "UA-1234-1", "tracking_secret": "x"}, "Universal Analytics"),
    ({"tracking_id": "G-ABCDEF1234"}, "no api secret"),
    ({"tracking_secret": "x"}, "no tracking id"),
    ({"periodic_report": "0"}, "longer than zero"),
    ({"periodic_report": "5x"}, "--periodic-report='5x'"),
    ({"report": "maybe"}, "expected true or false"),
    ({"epmd_port": "70000"}, "between 1 and 65535"),
    ({"log_format": "xml"}, "text, json"),
    ({"node": ["nohost"]}, "not of the form name@host"),
    ({"sname": "b", "name": "b"}, "one node name"),
    ({"name": "bridge"}, "use --sname instead"),
    ({"sname": "b@host.example.com"}, "use --name for it"),
    ({"cookie": "a", "cookie_file": "/x"}, "one way only"),
    ({"tls_certfile": "/no/such.pem"}, "does not exist"),
])
def test_bad_values_name_their_source(env: dict[str, str], flags: dict[str, object],
                                      message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        cfg(env, flags)


def test_no_node(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="--node NAME@HOST"):
        load({}, env)


@pytest.mark.parametrize(("content", "message"), [
    ("[bridge\nnode = 1", "not valid TOML"),
    ("[bridge]\nperiodic_reprot = 5", "did you mean 'periodic_report'"),
    ("[services.service_mongoose_system_metrics]\nperiodic_report = \"3h\"",
     "integer of milliseconds"),
    ("[services.service_mongoose_system_metrics]\nreport = 1", "expected true or false"),
    ("[services.service_mongoose_system_metrics]\ntracking_id.id = \"G-ABCDEF1234\"",
     "needs both id and secret"),
    ("bridge = 3", "must be a table"),
])
def test_broken_files(env: dict[str, str], tmp_path: Path, content: str, message: str) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(content)
    with pytest.raises(ConfigError, match=message):
        cfg(env, config_file=str(toml))


def test_missing_config_file(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        cfg(env, config_file=str(tmp_path / "nope.toml"))


def test_cookie_sources(env: dict[str, str], tmp_path: Path) -> None:
    cookie_file = tmp_path / "cookie"
    cookie_file.write_text("filecookie\n")
    assert cfg(env, {"cookie": "flag"}).cookie == "flag"
    assert cfg({**env, "BRIDGE_COOKIE": "envc"}).cookie == "envc"
    # a cookie file given as a flag beats a cookie in the environment: flags win
    c = cfg({**env, "BRIDGE_COOKIE": "envc"}, {"cookie_file": str(cookie_file)})
    assert c.cookie == "filecookie" and "--cookie-file" in c.cookie_source
    assert "filecookie" not in repr(c)


def test_missing_default_cookie(env: dict[str, str]) -> None:
    (Path(env["HOME"]) / ".erlang.cookie").unlink()
    with pytest.raises(ConfigError, match=r"no Erlang cookie.*--cookie-file"):
        cfg(env)


def test_unreadable_cookie_file(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the cookie file .*does not exist"):
        cfg(env, {"cookie_file": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="it is a directory"):
        cfg(env, {"cookie_file": str(tmp_path)})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="holds no cookie"):
        cfg(env, {"cookie_file": str(empty)})


def test_consent_sources(env: dict[str, str]) -> None:
    assert cfg({**env, "DO_NOT_TRACK": "1"}).disabled_by == "DO_NOT_TRACK=1"
    assert cfg({**env, "BRIDGE_REPORT": "false"}).disabled_by == \
        "report = false (BRIDGE_REPORT)"
    assert cfg({**env, "DO_NOT_TRACK": "0"}).disabled_by is None


def test_ci_selects_mongooseims_ci_property(env: dict[str, str]) -> None:
    assert cfg({**env, "CI": "true"}).destinations == [MONGOOSEIM_CI]
    assert cfg({**env, "CI": "1"}).destinations == [MONGOOSEIM_PRODUCTION]  # exactly "true"


def test_own_name_styles(env: dict[str, str]) -> None:
    assert cfg(env, {"sname": "bridge1"}).own_name == "bridge1"
    c = load({"node": ["mim@db1.example.com"], "name": "bridge1"}, env)
    assert (c.own_name, c.own_name_style) == ("bridge1", "long")


def test_tls_options(env: dict[str, str], tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    c = cfg(env, {"tls_certfile": str(cert), "tls_verify": "false"})
    assert c.tls is not None and c.tls.certfile == str(cert) and not c.tls.verify
    assert cfg(env, {"tls": "true"}).tls is not None


def test_send_budget_never_holds_up_the_next_report(env: dict[str, str]) -> None:
    assert cfg(env, {"periodic_report": "1s"}).send_budget == 0.5
    assert cfg(env).send_budget == 60


def test_max_reply_memory(env: dict[str, str], tmp_path: Path) -> None:
    assert cfg(env).max_reply_memory == 16 * 2**20
    assert cfg(env, {"max_reply_memory": "64MiB"}).max_reply_memory == 64 * 2**20
    assert cfg({**env, "BRIDGE_MAX_REPLY_MEMORY": "2048KiB"}).max_reply_memory == 2 * 2**20
    toml = tmp_path / "b.toml"
    toml.write_text('[bridge]\nmax_reply_memory = "1G"\n')
    assert cfg(env, config_file=str(toml)).max_reply_memory == 2**30
    toml.write_text("[bridge]\nmax_reply_memory = 33554432\n")
    assert cfg(env, config_file=str(toml)).max_reply_memory == 32 * 2**20


@pytest.mark.parametrize(("raw", "message"), [
    ("16 TB", "expected a size"), ("lots", "expected a size"), ("1000", "must be at least 2 MiB"),
    ("512KiB", "must be at least 2 MiB"),
])
def test_bad_max_reply_memory(env: dict[str, str], raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"--max-reply-memory='{raw}': {message}"):
        cfg(env, {"max_reply_memory": raw})
