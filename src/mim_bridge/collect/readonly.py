"""The only door to the server: read-only calls from an allowlist, sent in batched waves.

Every remote call the collector makes passes through :class:`ReadOnlyNode`. A call whose
``module:function/arity`` is not in :data:`ALLOWED` raises :class:`NotAllowed` before anything
reaches the wire. Nothing here can load code into the node, write to it or change its state, and
no module's own code is ever run (``config_metrics/1`` answers are computed from the options).

A *wave* is one round trip however many calls it holds: the calls travel as ONE request to the
node's ``rex`` server, ``lists:zipwith(fun erlang:apply/2, [fun M:F/A | fun rpc:call/4, ...],
[Args | [Node, M, F, Args], ...])``. Each ``rex`` request costs the node a process and ~165
reductions (measured on OTP 25), more than most of the reads themselves. A read that can raise
runs under ``rpc:call/4`` to the node itself, which on OTP 23+ runs it in that same process under
a ``catch``, so one failing read (``{badrpc, _}``) fails only itself; reads that cannot raise
(:data:`NEVER_RAISE`) run bare. Per-call failures are returned as :class:`Failed` values,
not raised: a missing function is information, not an error. If the batch as a whole fails
(e.g. a reply that does not decode), its calls are asked again one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mim_bridge.collect.errors import NotAllowed
from mim_bridge.erldist import Atom, BadRpc, CallError, CallTimeout, Connection, DecodeError, Export

__all__ = ["ALLOWED", "ARG_RULES", "BATCHERS", "NEVER_RAISE", "Call", "Failed", "ReadOnlyNode"]

# (module, function, arity) of every read-only function the collector may call.
ALLOWED: frozenset[tuple[str, str, int]] = frozenset({
    # VM facts, and what the release contains and has loaded (era detection without calling
    # into a module the node may lack)
    ("erlang", "statistics", 1),
    ("erlang", "nodes", 0),
    ("erlang", "nodes", 1),  # --check: is the bridge hidden?
    ("erlang", "whereis", 1),
    ("erlang", "loaded", 0),
    ("erlang", "function_exported", 3),
    ("erlang", "get_module_info", 2),
    ("application", "which_applications", 0),
    ("application", "get_key", 2),
    # MongooseIM 5.1+ configuration
    ("mongoose_config", "get_opt", 1),
    ("mongoose_config", "lookup_opt", 1),
    ("mongoose_config", "get_config_path", 0),
    ("gen_mod", "loaded_modules_with_opts", 0),
    # MongooseIM 3.6-5.0 configuration; gen_mod's module table is read whole with the match
    # spec gen_mod:loaded_modules/1 uses per host (see ARG_RULES)
    ("ejabberd_config", "get_global_option", 1),
    ("ejabberd_config", "get_local_option", 1),
    ("ejabberd_config", "get_local_option_or_default", 2),
    ("ejabberd_config", "get_global_option_or_default", 2),
    ("ejabberd_config", "get_config_path", 0),
    ("ets", "select", 2),
    # cluster id, domains, components
    ("mongoose_cluster_id", "get_cached_cluster_id", 0),
    ("mongoose_domain_core", "domains_count", 0),
    ("mongoose_router", "get_all_domains", 0),
    ("mongoose_component", "dirty_get_all_components", 1),
    ("mongoose_component", "lookup_component", 2),
    ("ejabberd_router", "dirty_get_all_components", 1),
    ("ejabberd_router", "dirty_get_all_domains", 0),
    ("ejabberd_router", "lookup_component", 2),
    # stanza counters
    ("exometer", "get_values", 1),
    ("prometheus_counter", "values", 2),
    # cross-check only (diagnostics): MongooseIM's own collector, which is itself read-only,
    # called only when the node has already loaded it
    ("mongoose_system_metrics_collector", "collect", 0),
    ("mongoose_system_metrics_collector", "collect", 1),
    ("mongoose_system_metrics_collector", "collect", 2),
})

# Reads that answer every input with a value (errors included), never an exception, on the nodes
# they are made on: in a batch they run bare; every other read runs under rpc:call/4's catch.
NEVER_RAISE: frozenset[tuple[str, str, int]] = frozenset({
    ("erlang", "statistics", 1), ("erlang", "nodes", 0), ("erlang", "nodes", 1),
    ("erlang", "whereis", 1), ("erlang", "loaded", 0), ("erlang", "function_exported", 3),
    ("application", "which_applications", 0), ("application", "get_key", 2),
    ("mongoose_config", "lookup_opt", 1), ("mongoose_config", "get_config_path", 0),
    ("gen_mod", "loaded_modules_with_opts", 0), ("mongoose_domain_core", "domains_count", 0),
    ("ejabberd_config", "get_global_option", 1), ("ejabberd_config", "get_local_option", 1),
    ("ejabberd_config", "get_local_option_or_default", 2),
    ("ejabberd_config", "get_global_option_or_default", 2),
    ("ejabberd_config", "get_config_path", 0),
})

# Calls that are allowed only with these arguments.
ARG_RULES: dict[tuple[str, str, int], Callable[[tuple[Any, ...]], bool]] = {
    ("ets", "select", 2): lambda args: args[0] == Atom("ejabberd_modules"),
}

# Batched reads: ``lists:map(fun M:F/1, Xs)``, ``lists:zipwith(fun M:F/2, Xs, Ys)`` (and
# zipwith3) apply one allowed function to many arguments inside one call. Only an export fun
# (``fun M:F/A``) whose M:F/A is itself allowed may be passed; never a closure.
BATCHERS: dict[tuple[str, str, int], int] = {
    ("lists", "map", 2): 1, ("lists", "zipwith", 3): 2, ("lists", "zipwith3", 4): 3}


_APPLY = Export(Atom("erlang"), Atom("apply"), 2)
_RPC_CALL = Export(Atom("rpc"), Atom("call"), 4)
_BADRPC, _EXIT = Atom("badrpc"), Atom("EXIT")


def _result(reply: Any, call: Call) -> Any:
    """One element of a batch's reply: the value, or Failed for ``{badrpc, Reason}``."""
    if type(reply) is tuple and len(reply) == 2 and reply[0] == _BADRPC:
        reason = reply[1]
        inner = reason[1] if type(reason) is tuple and len(reason) == 2 \
            and reason[0] == _EXIT else reason
        what = inner[0] if type(inner) is tuple and inner else inner
        text = repr(what)
        return Failed(reason, f"{call} failed: {text[:200]}")
    return reply


@dataclass(frozen=True, slots=True)
class Call:
    module: str
    function: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.module}:{self.function}/{len(self.args)}"


@dataclass(frozen=True, slots=True)
class Failed:
    """A call that came back as ``{badrpc, Reason}`` (or timed out)."""

    reason: Any
    message: str
    timed_out: bool = False

    @property
    def undefined(self) -> bool:
        """True when the function does not exist on the node (``undef``)."""
        r = self.reason
        if type(r) is tuple and len(r) == 2 and r[0] == Atom("EXIT"):
            inner = r[1]
            return bool((type(inner) is tuple and inner and inner[0] == Atom("undef"))
                        or inner == Atom("undef"))
        return False


@dataclass
class ReadOnlyNode:
    """A connection restricted to the allowlist, with wave accounting for the benchmarks."""

    conn: Connection
    call_timeout: float = 10.0
    waves: int = 0
    calls: int = 0

    @property
    def node(self) -> str:
        return self.conn.peer_name

    def check(self, call: Call) -> None:
        key = (call.module, call.function, len(call.args))
        if self._allowed(key):
            rule = ARG_RULES.get(key)
            if rule is None or rule(call.args):
                return
            raise NotAllowed(f"{call} is on the read-only allowlist only for its own table")
        arity = BATCHERS.get(key)
        fun = call.args[0] if call.args else None
        if arity is not None and isinstance(fun, Export) and fun.arity == arity:
            inner = (fun.module.name, fun.function.name, fun.arity)
            if self._allowed(inner) and inner not in ARG_RULES:  # no argument checks inside
                return
        raise NotAllowed(f"{call} is not on the bridge's read-only allowlist")

    @staticmethod
    def _allowed(key: tuple[str, str, int]) -> bool:
        return key in ALLOWED

    async def wave(self, calls: Mapping[str, Call]) -> dict[str, Any]:
        """Send every call as one batch and return every reply: one round trip."""
        for call in calls.values():
            self.check(call)
        self.waves += 1
        self.calls += len(calls)
        if len(calls) < 2:
            return await self._each(calls)
        keys = list(calls)
        node = Atom(self.node)
        funs: list[Export] = []
        arg_lists: list[list[Any]] = []
        for c in calls.values():
            if (c.module, c.function, len(c.args)) in NEVER_RAISE:
                funs.append(Export(Atom(c.module), Atom(c.function), len(c.args)))
                arg_lists.append(list(c.args))
            else:
                funs.append(_RPC_CALL)
                arg_lists.append([node, Atom(c.module), Atom(c.function), list(c.args)])
        batch = Call("lists", "zipwith", (_APPLY, funs, arg_lists))
        [reply] = (await self._each({"batch": batch})).values()
        if not (isinstance(reply, list) and len(reply) == len(keys)):
            if isinstance(reply, Failed) and reply.timed_out:
                return {k: self._timeout(calls[k]) for k in keys}
            return await self._each(calls)  # one undecodable reply fails only its own call
        return {k: _result(r, calls[k]) for k, r in zip(keys, reply, strict=True)}

    def _timeout(self, call: Call) -> Failed:
        return Failed(None, f"{call} on {self.node} did not answer within "
                            f"{self.call_timeout:g} s", timed_out=True)

    async def _each(self, calls: Mapping[str, Call]) -> dict[str, Any]:
        """One rex request per call, sharing one deadline."""
        futures = {key: self.conn.send_call(c.module, c.function, c.args)
                   for key, c in calls.items()}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout  # one deadline for the whole wave
        out: dict[str, Any] = {}
        try:
            for key, fut in futures.items():
                c = calls[key]
                try:
                    out[key] = await self.conn.wait_reply(
                        fut, c.module, c.function, len(c.args), max(deadline - loop.time(), 0))
                except BadRpc as e:
                    out[key] = Failed(e.reason, str(e))
                except CallTimeout:
                    out[key] = self._timeout(c)
                except (CallError, DecodeError) as e:  # a reply that did not decode
                    out[key] = Failed(None, str(e))
        finally:
            # If the connection dropped, the other futures hold the same error: mark them read.
            for fut in futures.values():
                if fut.done() and not fut.cancelled():
                    fut.exception()
                elif not fut.done():
                    fut.cancel()
        return out

    async def call(self, call: Call) -> Any:
        return (await self.wave({"_": call}))["_"]

