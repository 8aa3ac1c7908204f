"""How each MongooseIM API generation keeps its configuration, and how to read it.

* **3.6-5.0** (:class:`EjabberdConfig`): ``ejabberd_config`` options in ets (``undefined`` when
  unset), listeners and pools as tuples and proplists, the configured modules in gen_mod's
  ``ejabberd_modules`` table (read whole with ``ets:select/2``: the match spec
  ``gen_mod:loaded_modules/1`` uses per host, for every host at once, with the options).
* **5.1+** (:class:`MongooseConfig`): ``mongoose_config`` options (persistent terms), listeners
  and pools as maps, every host type's modules and options from
  ``gen_mod:loaded_modules_with_opts/0``.

Each gives the configuration wave's calls for its era and reads their replies into the shapes
the report items use; the collector (:mod:`.collector`) never branches on the generation itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from mim_bridge.collect import items
from mim_bridge.collect.eras import Era
from mim_bridge.collect.errors import NodeNotReady
from mim_bridge.collect.readonly import Call, Failed
from mim_bridge.erldist import Atom

__all__ = ["API", "ConfigApi", "EjabberdConfig", "MongooseConfig", "ServiceOptions"]

SERVICE = "service_mongoose_system_metrics"
_A = Atom

# The options of MongooseIM's own system-metrics service on the node: None when it is not
# configured, else its ``report`` option (None when unset).
ServiceOptions = tuple[bool, bool | None]


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _report_option(opts: Any) -> bool | None:
    """``report`` of the service's options (3.x-5.0 ``no_report`` wins over ``report``)."""
    pairs = dict(items.proplist(opts))
    if pairs.get(_A("no_report")) is True:
        return False
    if _A("report") in pairs:
        return pairs[_A("report")] is True
    return None


class ConfigApi(Protocol):
    name: ClassVar[str]

    def calls(self, era: Era) -> dict[str, Call]: ...

    def modules(self, reply: Any, host_types: list[Any], node: str
                ) -> tuple[dict[Any, list[str]], dict[Any, Any]]: ...

    def pools(self, reply: Any) -> list[str] | None: ...

    def service(self, reply: Any) -> ServiceOptions: ...


class EjabberdConfig:
    """MongooseIM 3.6-5.0."""

    name: ClassVar[str] = "ejabberd_config"

    def calls(self, era: Era) -> dict[str, Call]:
        ec = self.name
        calls = {
            "hosts": Call(ec, "get_global_option", (_A("hosts"),)),
            "listen": Call(ec, "get_local_option", (_A("listen"),)),
            "services": Call(ec, "get_local_option", (_A("services"),)),
            "modules": Call("ets", "select", (_A("ejabberd_modules"), [(
                (_A("ejabberd_module"), (_A("$1"), _A("$2")), _A("$3")), [],
                [((_A("$2"), _A("$1"), _A("$3")),)])])),  # {Host, Module, Opts}
            "router_domains": Call("ejabberd_router", "dirty_get_all_domains"),
        }
        if era.has_domains:  # 5.0: hosts ++ host_types
            calls["host_types"] = Call(ec, "get_global_option_or_default",
                                       (_A("host_types"), []))
        if era.has_pools:
            calls["pools"] = Call(ec, "get_local_option_or_default", (_A("outgoing_pools"), []))
        if era.has_config_type:
            calls["config_path"] = Call(ec, "get_config_path")
        return calls

    def modules(self, reply: Any, host_types: list[Any], node: str
                ) -> tuple[dict[Any, list[str]], dict[Any, Any]]:
        if not isinstance(reply, list):
            raise NodeNotReady(f"{node} gave a malformed module list")
        loaded: dict[Any, list[str]] = {ht: [] for ht in host_types}
        opts: dict[Any, Any] = {}
        for row in reply:
            if isinstance(row, tuple) and len(row) == 3 and row[0] in loaded \
                    and isinstance(row[1], Atom):
                loaded[row[0]].append(row[1].name)
                opts.setdefault(row[0], {})[row[1]] = row[2]
        return loaded, opts

    def pools(self, reply: Any) -> list[str] | None:
        if isinstance(reply, Failed):
            return None
        return [items.text(p[0]) for p in _list(reply)  # {Type, Scope, Tag, Opts, ConnOpts}
                if isinstance(p, tuple) and len(p) == 5]

    def service(self, reply: Any) -> ServiceOptions:
        opts = dict(items.proplist(reply)).get(_A(SERVICE))
        if opts is None and _A(SERVICE) in _list(reply):  # a bare atom: no options
            opts = []
        return (False, None) if opts is None else (True, _report_option(opts))


class MongooseConfig:
    """MongooseIM 5.1-6.8."""

    name: ClassVar[str] = "mongoose_config"

    def calls(self, era: Era) -> dict[str, Call]:
        mc = self.name
        calls = {
            "hosts": Call(mc, "get_opt", (_A("hosts"),)),
            "host_types": Call(mc, "get_opt", (_A("host_types"),)),
            "listen": Call(mc, "get_opt", (_A("listen"),)),
            "pools": Call(mc, "get_opt", (_A("outgoing_pools"),)),
            "services": Call(mc, "lookup_opt", (_A("services"),)),
            "config_path": Call(mc, "get_config_path"),
            "modules": Call("gen_mod", "loaded_modules_with_opts"),
            "router_domains": Call("mongoose_router", "get_all_domains"),
            "components": Call(era.component_api, "dirty_get_all_components", (_A("all"),)),
        }
        if era.stanzas in ("exometer_if_configured", "instrumentation"):
            calls["instrumentation"] = Call(mc, "lookup_opt", (_A("instrumentation"),))
        return calls

    def modules(self, reply: Any, host_types: list[Any], node: str
                ) -> tuple[dict[Any, list[str]], dict[Any, Any]]:
        if not isinstance(reply, dict):
            raise NodeNotReady(f"{node} gave a malformed module list")
        loaded: dict[Any, list[str]] = {ht: [] for ht in host_types}
        opts: dict[Any, Any] = {}
        for ht, mods in reply.items():
            if ht in loaded and isinstance(mods, dict):
                loaded[ht] = sorted(m.name for m in mods if isinstance(m, Atom))
                opts[ht] = mods
        return loaded, opts

    def pools(self, reply: Any) -> list[str] | None:
        if isinstance(reply, Failed):
            return None
        return [items.text(p[_A("type")]) for p in _list(reply)
                if isinstance(p, dict) and _A("type") in p]

    def service(self, reply: Any) -> ServiceOptions:
        found = ok_value(reply)
        opts = found.get(_A(SERVICE)) if isinstance(found, dict) else None
        return (False, None) if opts is None else (True, _report_option(opts))


def ok_value(reply: Any) -> Any:
    """``V`` of ``{ok, V}`` (``mongoose_config:lookup_opt/1``), None otherwise."""
    if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == _A("ok"):
        return reply[1]
    return None


API: Mapping[str, ConfigApi] = {"ejabberd_config": EjabberdConfig(),
                                "mongoose_config": MongooseConfig()}
