"""Node names: parsing, short/long style, and the bridge's own name."""

from __future__ import annotations

import socket

import pytest

from mim_bridge.erldist import NodeNameError, nodename
from mim_bridge.erldist.nodename import NodeName

VALID = [
    # name, alive, host, long
    ("mongooseim@localhost", "mongooseim", "localhost", False),
    ("mim@db1", "mim", "db1", False),
    ("mim_1-a@db-1", "mim_1-a", "db-1", False),
    ("mim@db1.example.com", "mim", "db1.example.com", True),
    ("mim@10.0.0.5", "mim", "10.0.0.5", True),
    ("mim@127.0.0.1", "mim", "127.0.0.1", True),
    ("mim@::1", "mim", "::1", True),
    ("mim@[fe80::1]", "mim", "[fe80::1]", True),
    ("MIM@HOST", "MIM", "HOST", False),
]


@pytest.mark.parametrize(("name", "alive", "host", "long"), VALID)
def test_parse_valid(name: str, alive: str, host: str, long: bool) -> None:
    n = nodename.parse(name)
    assert (n.alive, n.host, n.long) == (alive, host, long)
    assert str(n) == name


INVALID = [
    ("", "name@host"),
    ("mongooseim", "name@host"),
    ("@localhost", "name@host"),
    ("mim@", "name@host"),
    ("m i m@localhost", "before '@'"),
    ("mim!@localhost", "before '@'"),
    ("mim@local host", "not a valid host"),
    ("mim@a@b", "not a valid host"),
    ("mim@host/path", "not a valid host"),
    ("a" * 256 + "@localhost", "before '@'"),
    ("mim@" + "h" * 256, "not a valid host"),
]


@pytest.mark.parametrize(("name", "hint"), INVALID)
def test_parse_invalid(name: str, hint: str) -> None:
    with pytest.raises(NodeNameError, match=hint):
        nodename.parse(name)


def test_node_name_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        nodename.parse("nonsense")


def test_own_name_copies_short_style(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "box.example.com")
    own = nodename.own_name(nodename.parse("mim@db1"))
    assert own.host == "box" and not own.long
    assert own.alive.startswith("mim_bridge_")


def test_own_name_for_localhost_target_is_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "box")
    assert nodename.own_name(nodename.parse("mim@localhost")).host == "localhost"


@pytest.mark.parametrize(("fqdn", "host"), [
    ("box.example.com", "box.example.com"),
    ("box", "127.0.0.1"),  # no domain known: a dotted address keeps the long style
])
def test_own_name_copies_long_style(monkeypatch: pytest.MonkeyPatch, fqdn: str,
                                    host: str) -> None:
    monkeypatch.setattr(socket, "getfqdn", lambda *a: fqdn)
    own = nodename.own_name(nodename.parse("mim@10.0.0.5"))
    assert own.host == host and own.long


def test_own_name_with_explicit_alive_and_unique_default() -> None:
    target = nodename.parse("mim@localhost")
    assert nodename.own_name(target, "metrics").alive == "metrics"
    names = {nodename.own_name(target).alive for _ in range(50)}
    assert len(names) == 50
    for alive in names:
        nodename.parse(f"{alive}@localhost")  # always a valid name


@pytest.mark.parametrize(("host", "want"), [
    ("localhost", "localhost"), ("10.0.0.5", "10.0.0.5"), ("[fe80::1]", "fe80::1"),
    ("::1", "::1"),
])
def test_host_for_connect(host: str, want: str) -> None:
    assert nodename.host_for_connect(NodeName("mim", host)) == want
