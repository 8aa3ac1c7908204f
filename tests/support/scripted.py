"""A scripted Erlang node for unit tests of one layer (the collector, ``--check``).

It answers the bridge's ``rex`` requests from a table ``(module, function) -> answer`` (a value,
an exception to raise, or a callable of the argument tuple), and evaluates the batches the
bridge sends the way the node would: ``lists:map/zipwith/zipwith3`` with an export fun,
``erlang:apply/2`` and ``rpc:call/4`` to the node itself (which turns an exception into
``{badrpc, Reason}``). With *loaded*, a call into a module outside it fails the test: on a real
release it would load that module, or search the whole code path for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mim_bridge.erldist import Atom as A
from mim_bridge.erldist import BadRpc, Export

UNDEF = BadRpc("undef", (A("EXIT"), (A("undef"), [])))
BATCHERS = {("lists", "map"), ("lists", "zipwith"), ("lists", "zipwith3")}


class NotLoadedCall(AssertionError):
    """The bridge called into a module the scripted node has not loaded."""


class ScriptedConnection:
    """Stands in for :class:`mim_bridge.erldist.Connection` (``send_call`` / ``wait_reply``).

    ``requests`` holds what went over the wire; ``sent`` every read the node ran, batches
    unpacked (``(module, function, args)``).
    """

    closed = False

    def __init__(self, peer: str, table: dict[tuple[str, str], Any],
                 loaded: set[str] | None = None, *, own_name: str = "bridge@localhost") -> None:
        self.peer_name = peer
        self.node_name = own_name
        self.table = table
        self.loaded = loaded
        self.sent: list[tuple[str, str, tuple[Any, ...]]] = []
        self.requests: list[tuple[str, str, tuple[Any, ...]]] = []

    def evaluate(self, m: str, f: str, args: tuple[Any, ...]) -> Any:
        """Run one call as the node would, raising what the node would raise."""
        if (m, f) in BATCHERS and args and isinstance(args[0], Export):
            fun = args[0]
            return [self.evaluate(fun.module.name, fun.function.name, tuple(xs))
                    for xs in zip(*args[1:], strict=True)]  # unequal lists fail, as in Erlang
        if (m, f) == ("erlang", "apply") and len(args) == 2 and isinstance(args[0], Export):
            return self.evaluate(args[0].module.name, args[0].function.name, tuple(args[1]))
        if (m, f) == ("rpc", "call") and len(args) == 4:
            try:
                return self.evaluate(args[1].name, args[2].name, tuple(args[3]))
            except BadRpc as e:
                return (A("badrpc"), e.reason)
        if self.loaded is not None and m not in self.loaded:
            raise NotLoadedCall(f"{m}:{f}/{len(args)}")
        self.sent.append((m, f, args))
        handler = self.table.get((m, f), UNDEF)
        result = handler(args) if callable(handler) else handler
        if isinstance(result, Exception):
            raise result
        return result

    def send_call(self, m: Any, f: Any, args: Any) -> asyncio.Future[Any]:
        m, f, args = str(m), str(f), tuple(args)
        self.requests.append((m, f, args))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            fut.set_result(self.evaluate(m, f, args))
        except NotLoadedCall:
            raise
        except Exception as e:
            fut.set_exception(e)
        return fut

    async def wait_reply(self, fut: Any, *a: Any) -> Any:
        return await fut

    async def close(self) -> None:
        pass
