"""Hostile and odd inputs: every one is a ConfigError (one line, exit 2), never a hang or a crash.

Cookie files follow OTP's ``auth`` module (see :mod:`mim_bridge.config.cookie`); the table below
is what ``erl`` 25 and 28 did with each file when it was its ``~/.erlang.cookie``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mim_bridge.config import ConfigError, load
from mim_bridge.config.cookie import CookieFileError, parse_cookie
from mim_bridge.config.options import parse_listen, parse_url
from mim_bridge.util.localfiles import MAX_CONFIG_FILE
from mim_bridge.vocab.durations import MAX_DURATION, parse_duration
from support.configs import NODE, cfg


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return {"HOME": str(home)}


def cookie_file(tmp_path: Path, data: bytes, mode: int = 0o400) -> Path:
    path = tmp_path / f"cookie{len(list(tmp_path.iterdir()))}"
    path.write_bytes(data)
    path.chmod(mode)
    return path


# --------------------------------------------------------------------------- cookie file content

# What erl 25 and 28 answered (erlang:get_cookie()) for each ~/.erlang.cookie.
ERL_ACCEPTS = [
    (b"ABC", "ABC"), (b"ABC\n", "ABC"), (b"ABC\r\n", "ABC"), (b"ABC  \n", "ABC  "),
    (b"  ABC", "  ABC"), (b"AB C", "AB C"), (b"ABC\n  \n\r\n", "ABC"), (b"   ", "   "),
]
ERL_REFUSES = [
    (b"ABC\nDEF\n", "line 2 is not empty"), (b"AB\tC", "byte 0x09 at offset 2"),
    (b"AB\xe9C", "byte 0xe9 at offset 2"), (b"", "holds no cookie"), (b"\n", "holds no cookie"),
    (b"\nABC", "cookie is on line 2"), (b"A" * 256, "at most 255 characters"),
]


@pytest.mark.parametrize(("data", "cookie"), ERL_ACCEPTS)
def test_cookie_files_erl_accepts_give_erls_cookie(env: dict[str, str], tmp_path: Path,
                                                   data: bytes, cookie: str) -> None:
    assert parse_cookie(data) == cookie
    assert cfg(env, {"cookie_file": str(cookie_file(tmp_path, data))}).cookie == cookie


@pytest.mark.parametrize(("data", "why"), ERL_REFUSES)
def test_cookie_files_erl_refuses_are_refused_saying_why(env: dict[str, str], tmp_path: Path,
                                                         data: bytes, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as e:
        cfg(env, {"cookie_file": str(cookie_file(tmp_path, data))})
    assert "\n" not in str(e.value) and "BRIDGE_COOKIE" in str(e.value)


@given(st.binary(max_size=300))
def test_any_cookie_bytes_give_a_printable_cookie_or_a_cookie_file_error(data: bytes) -> None:
    try:
        cookie = parse_cookie(data)
    except CookieFileError:
        return
    assert 0 < len(cookie) <= 255 and all(" " <= c <= "~" for c in cookie)
    assert data.startswith(cookie.encode()) and not data[len(cookie):].strip(b"\r\n ")


# --------------------------------------------------------------------------- cookie file kind/mode

def test_a_fifo_as_cookie_file_is_refused_at_once(env: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"FIFO .*not a regular file"):
        cfg(env, {"cookie_file": str(fifo)})
    assert time.monotonic() - started < 5  # it ends (no writer ever comes)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_as_cookie_file_is_refused_unread(env: dict[str, str], device: str) -> None:
    with pytest.raises(ConfigError, match="character device"):
        cfg(env, {"cookie_file": device})


def test_a_huge_cookie_file_is_refused_unread(env: dict[str, str], tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB that costs nothing
    with pytest.raises(ConfigError, match="bytes long, more than the 4096"):
        cfg(env, {"cookie_file": str(big)})


@pytest.mark.parametrize(("mode", "level", "text"), [
    (0o400, None, None), (0o600, None, None), (0o700, None, None),
    (0o440, logging.INFO, "readable by its group"),
    (0o444, logging.WARNING, "readable by every user"),
    (0o604, logging.WARNING, "readable by every user"),
    (0o620, logging.WARNING, "writable by other users"),
    (0o666, logging.WARNING, "readable by every user and writable by other users"),
])
def test_cookie_file_modes_erl_would_refuse_are_noted_not_refused(
        env: dict[str, str], tmp_path: Path, mode: int, level: int | None,
        text: str | None) -> None:
    c = cfg(env, {"cookie_file": str(cookie_file(tmp_path, b"c\n", mode))})
    assert c.cookie == "c"
    if level is None:
        assert c.notes == ()
    else:
        ((got_level, message),) = c.notes
        assert got_level == level and text in message and "c\n" not in message


def test_default_cookie_like_erl_home_first_then_xdg_config(env: dict[str, str],
                                                            tmp_path: Path) -> None:
    home = Path(env["HOME"])
    xdg = home / ".config" / "erlang"
    xdg.mkdir(parents=True)
    (xdg / ".erlang.cookie").write_text("xdgcookie")
    c = cfg(env)
    assert (c.cookie, c.cookie_source) == ("xdgcookie", str(xdg / ".erlang.cookie"))
    (home / ".erlang.cookie").write_text("homecookie")
    assert cfg(env).cookie == "homecookie"
    other = tmp_path / "xdg"
    (other / "erlang").mkdir(parents=True)
    (other / "erlang" / ".erlang.cookie").write_text("other")
    (home / ".erlang.cookie").unlink()
    assert cfg({**env, "XDG_CONFIG_HOME": str(other)}).cookie == "other"
    (other / "erlang" / ".erlang.cookie").unlink()
    (xdg / ".erlang.cookie").unlink()
    with pytest.raises(ConfigError, match=r"neither .*\.erlang\.cookie nor .*\.erlang\.cookie"):
        cfg({**env, "XDG_CONFIG_HOME": str(other)})


# --------------------------------------------------------------------------- the TOML file

def test_non_utf8_config_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_bytes(b"[bridge]\nnode = \"caf\xe9@host\"\n")
    with pytest.raises(ConfigError, match="not UTF-8 text \\(byte 0xe9 at offset 20\\)"):
        cfg(env, {"cookie": "c"}, config_file=str(toml))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_config_is_refused_unread(env: dict[str, str], device: str) -> None:
    with pytest.raises(ConfigError, match=f"cannot read configuration file {device}: it is a "
                       "character device"):
        cfg(env, {"cookie": "c"}, config_file=device)


def test_a_fifo_or_huge_file_as_config_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="FIFO"):
        cfg(env, {"cookie": "c"}, config_file=str(fifo))
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(MAX_CONFIG_FILE + 1)
    with pytest.raises(ConfigError, match="more than the 1048576 bytes"):
        cfg(env, {"cookie": "c"}, config_file=str(big))


def test_deeply_nested_toml_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    toml = tmp_path / "deep.toml"
    toml.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.toml"):
        cfg(env, {"cookie": "c"}, config_file=str(toml))


@settings(max_examples=150, deadline=None)
@given(st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: ("[bridge]\n" + t).encode("utf-8", "surrogatepass")),
    st.dictionaries(st.sampled_from(["node", "periodic_report", "initial_report", "report",
                                     "ga_url", "http_listen", "node_concurrency", "cookie_file",
                                     "tracking_id", "call_timeout", "bogus"]),
                    st.one_of(st.integers(), st.floats(), st.text(max_size=30), st.booleans(),
                              st.lists(st.integers(), max_size=3)), max_size=5)
    .map(lambda d: "[bridge]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in d.items()))
    .map(str.encode)))
def test_any_config_file_loads_or_is_a_config_error(tmp_path_factory: pytest.TempPathFactory,
                                                    data: bytes) -> None:
    path = tmp_path_factory.mktemp("toml") / "c.toml"
    path.write_bytes(data)
    try:
        c = load({"node": [NODE], "cookie": "c"}, {"HOME": "/nonexistent"},
                 config_file=str(path), cwd=Path("/srv"))
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    assert c.periodic_report <= MAX_DURATION and c.initial_report <= MAX_DURATION


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    return repr(value)


# --------------------------------------------------------------------------- durations

@pytest.mark.parametrize("text", ["99999999999999999999d", "366d", "1e300", "8761h",
                                  10 ** 400, "9" * 400, 31_536_000_001])
def test_durations_longer_than_a_year_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match=r"at most a year|finite"):
        parse_duration(text)


def test_a_year_is_accepted() -> None:
    assert parse_duration("365d") == MAX_DURATION == parse_duration(31_536_000_000)


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.booleans()))
def test_any_duration_is_a_bounded_number_or_a_value_error(raw: object) -> None:
    try:
        value = parse_duration(raw)
    except ValueError:
        return
    assert 0 <= value <= MAX_DURATION


def test_huge_periodic_report_in_mongooseim_toml_is_one_line(env: dict[str, str],
                                                             tmp_path: Path) -> None:
    toml = tmp_path / "mongooseim.toml"
    toml.write_text("[services.service_mongoose_system_metrics]\n"
                    "periodic_report = 9223372036854775807\n")
    with pytest.raises(ConfigError, match=r"periodic_report=.*at most a year"):
        cfg(env, {"cookie": "c"}, config_file=str(toml))


# --------------------------------------------------------------------------- URLs, addresses

@pytest.mark.parametrize(("url", "why"), [
    ("http://[::1", "not a valid URL"), ("http://host:99999/mp/collect", "not a valid URL"),
    ("http://host:port/x", "not a valid URL"), ("ftp://host/x", "http\\(s\\) URL"),
    ("http:///mp/collect", "http\\(s\\) URL"), ("http://u:p@host/x", "user name or password"),
    ("http://host/x?api_secret=1", "query or fragment"), ("http://ho st/x", "spaces"),
    ("http://host:0/x", "port 0"), ("mp/collect", "http\\(s\\) URL"),
])
def test_bad_ga_urls_are_config_errors(env: dict[str, str], url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=f"BRIDGE_GA_URL=.*{why}"):
        cfg({**env, "BRIDGE_GA_URL": url}, {"cookie": "c"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/mp/collect", "https://[::1]/mp/collect",
                                 "https://www.google-analytics.com/mp/collect"])
def test_good_ga_urls(url: str) -> None:
    assert parse_url(url) == url


@given(st.text(max_size=60))
def test_any_url_text_is_accepted_or_a_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_url("http://" + text)


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:9795", ("127.0.0.1", 9795)), ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("[::1]:80", ("::1", 80)), (":9795", ("", 9795)), ("localhost:1", ("localhost", 1)),
])
def test_listen_addresses(text: str, address: tuple[str, int]) -> None:
    assert parse_listen(text) == address


@pytest.mark.parametrize("text", ["9795", "::1:80", "host:", "host:65536", "host:-1",
                                  "[::1]:x", "a b:1", ""])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


@pytest.mark.parametrize("raw", ["0", "257", "x", "1.5", True])
def test_node_concurrency_bounds(env: dict[str, str], raw: object) -> None:
    with pytest.raises(ConfigError, match="--node-concurrency="):
        cfg(env, {"cookie": "c", "node_concurrency": raw})
