"""Nothing outside the read-only allowlist can reach the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mim_bridge.collect import ALLOWED, Call, NotAllowed, ReadOnlyNode
from mim_bridge.collect.collector import IDENTIFY, Collector
from mim_bridge.collect.eras import ERAS
from mim_bridge.collect.stanzas import exometer_call, prometheus_call
from mim_bridge.erldist import Atom, Export


class RecordingConnection:
    """A stand-in for erldist.Connection that records what would be sent (unit seam only)."""

    peer_name = "mim@localhost"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    def send_call(self, m: str, f: str, args: Any) -> asyncio.Future[Any]:
        self.sent.append((m, f, len(args)))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result("ok")
        return fut

    async def wait_reply(self, fut: Any, *a: Any) -> Any:
        return await fut


def _node() -> tuple[ReadOnlyNode, RecordingConnection]:
    conn = RecordingConnection()
    return ReadOnlyNode(conn), conn  # type: ignore[arg-type]


names = st.from_regex(r"^[a-z][a-z0-9_]{0,20}$", fullmatch=True)


@given(names, names, st.integers(min_value=0, max_value=6))
def test_anything_off_the_list_is_refused_before_sending(m: str, f: str, arity: int) -> None:
    node, conn = _node()
    call = Call(m, f, tuple(range(arity)))
    if (m, f, arity) in ALLOWED:
        return
    with pytest.raises(NotAllowed):
        asyncio.run(node.wave({"x": call}))
    assert conn.sent == []


@pytest.mark.parametrize("call", [
    Call("erlang", "halt", ()), Call("init", "stop", ()), Call("code", "load_binary", (1, 2, 3)),
    Call("mongoose_config", "set_opt", (1, 2)), Call("file", "write_file", (1, 2)),
    Call("os", "cmd", ("rm -rf /",)), Call("erlang", "apply", (1, 2)),
    Call("rpc", "call", (1, 2, 3, 4)), Call("mod_acme", "config_metrics", (b"h",)),
])
def test_writes_and_code_loading_are_refused(call: Call) -> None:
    node, conn = _node()
    with pytest.raises(NotAllowed):
        asyncio.run(node.wave({"x": call}))
    assert conn.sent == []


def test_no_module_code_is_ever_called() -> None:
    """config_metrics/1 answers are computed from the options: not even MongooseIM's own
    modules are called, let alone a custom one."""
    node, conn = _node()
    for m in ("mod_vcard", "mod_acme_secret"):
        with pytest.raises(NotAllowed):
            asyncio.run(node.wave({"a": Call(m, "config_metrics", (b"h",))}))
        with pytest.raises(NotAllowed):
            asyncio.run(node.wave({"a": Call("lists", "map", (
                Export(Atom(m), Atom("config_metrics"), 1), [b"h"]))}))
    assert conn.sent == []


def test_every_call_the_collector_plans_is_allowed() -> None:
    node, _ = _node()
    planned = [*IDENTIFY.values(), prometheus_call()]
    planned += [exometer_call(s) for s in ("v37", "v63", "v64")]
    for era in ERAS:
        planned += Collector(RecordingConnection())._config_calls(era).values()  # type: ignore[arg-type]
    for call in planned:
        node.check(call)


def test_module_table_reads_only_the_module_table_and_never_in_a_batch() -> None:
    node, conn = _node()
    with pytest.raises(NotAllowed):
        asyncio.run(node.wave({"x": Call("ets", "select", (Atom("passwd"), []))}))
    with pytest.raises(NotAllowed):
        asyncio.run(node.wave({"x": Call("lists", "zipwith", (
            Export(Atom("ets"), Atom("select"), 2), [Atom("passwd")], [[]]))}))
    assert conn.sent == []


def test_allowlist_holds_no_writer() -> None:
    writers = {"set_opt", "unset_opt", "load_binary", "purge", "delete", "halt", "stop",
               "write_file", "cmd", "apply", "spawn", "insert", "restart"}
    assert not {f for _, f, _ in ALLOWED} & writers
