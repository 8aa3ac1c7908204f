"""``config_metrics/1`` of MongooseIM's modules, computed from their options instead of called.

Calling ``M:config_metrics(HostType)`` on the node would run MongooseIM code the bridge does not
need to run, and can load modules the node has not loaded yet (``mongoose_module_metrics``, and
before 5.1 ``sets`` and ``pa`` through mod_event_pusher): a side effect on a production node. Its
answer follows from the module's options, which the configuration wave reads anyway, so the
bridge computes the same answer here (MongooseIM's source at every tag, mim-internals §2.2):

* **5.1+**: ``mongoose_module_metrics:opts_for_module(HT, ?MODULE, Keys)`` reads each key from
  the options map, or gives ``[{none, none}]`` for the whole module when a key is missing;
  mod_event_pusher gives one ``{backend, K}`` per key of its options (``maps:keys/1`` order).
* **3.6-5.0**: each key is ``proplists:get_value(Key, Opts, Default)`` with a caller-supplied
  default (``[]`` options where the module is not loaded on that host); mod_event_pusher gives
  ``{backend, B}`` per configured backend, plus ``{backend, push_<db>}`` for push.

A module that exports ``config_metrics/1`` but is not in these tables is asked remotely (only if
that cannot load code), so an unknown module is never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mim_bridge.erldist import Atom

__all__ = ["DEFAULTS_BEFORE_51", "EVENT_PUSHER", "KEYS", "config_metrics",
           "config_metrics_before_51", "get_value", "knows"]

_NONE: list[tuple[Atom, Atom]] = [(Atom("none"), Atom("none"))]

# module -> the option keys its config_metrics/1 reads (MongooseIM 5.1-6.8)
KEYS: dict[str, tuple[str, ...]] = {
    **{m: ("backend",) for m in (
        "mod_auth_token", "mod_bosh", "mod_event_pusher_push", "mod_http_upload", "mod_inbox",
        "mod_last", "mod_mam", "mod_mam_meta", "mod_muc_light", "mod_offline", "mod_privacy",
        "mod_private", "mod_pubsub", "mod_pubsub_old", "mod_roster", "mod_vcard")},
    "mod_muc": ("backend", "online_backend"),
    "mod_push_service_mongoosepush": ("api_version",),
}
# module -> (key, default) pairs its config_metrics/1 reads (MongooseIM 3.6.0-5.0.1, the same at
# every tag of the era); the api_version default is the charlist "v3".
DEFAULTS_BEFORE_51: dict[str, tuple[tuple[str, Any], ...]] = {
    **{m: (("backend", Atom("mnesia")),) for m in (
        "mod_bosh", "mod_keystore", "mod_last", "mod_muc", "mod_muc_light", "mod_offline",
        "mod_privacy", "mod_private", "mod_pubsub", "mod_roster", "mod_vcard")},
    **{m: (("backend", Atom("rdbms")),) for m in (
        "mod_auth_token", "mod_inbox", "mod_mam", "mod_mam_meta")},
    "mod_http_upload": (("backend", Atom("s3")),),
    "mod_push_service_mongoosepush": (("api_version", "v3"),),
}
EVENT_PUSHER = "mod_event_pusher"


def knows(module: str, *, before_51: bool) -> bool:
    table = DEFAULTS_BEFORE_51 if before_51 else KEYS
    return module in table or module == EVENT_PUSHER


def _key_order(k: Any) -> tuple[int, str]:
    # Erlang term order for the atom keys config maps have: by name.
    return (0, k.name) if isinstance(k, Atom) else (1, repr(k))


def config_metrics(module: str, opts: Mapping[Any, Any] | None, *,
                   since_62: bool = True) -> list[tuple[Any, Any]]:
    """What a 5.1+ ``module:config_metrics(HostType)`` returns, given its options map there.

    *since_62*: mod_muc reports its ``online_backend`` only from 6.2 on.
    """
    opts = opts if isinstance(opts, dict) else {}
    if module == EVENT_PUSHER:
        keys = sorted(opts, key=_key_order)  # maps:keys/1
        return [(Atom("backend"), k) for k in keys] or list(_NONE)
    wanted = KEYS[module]
    if module == "mod_muc" and not since_62:
        wanted = ("backend",)
    try:
        return [(Atom(k), opts[Atom(k)]) for k in wanted]
    except KeyError:
        return list(_NONE)


_MISSING = object()


def get_value(key: Atom, plist: Any, default: Any) -> Any:
    """``proplists:get_value/3``: the first entry about *key* decides, even a malformed one."""
    for p in plist if isinstance(plist, list) else []:
        if p == key:
            return True
        if isinstance(p, tuple) and p and p[0] == key:
            return p[1] if len(p) == 2 else default
    return default


def config_metrics_before_51(module: str, opts: Any) -> Any:
    """What a 3.6-5.0 ``module:config_metrics(Host)`` returns, given its option proplist on that
    host (``[]`` where the module is not loaded)."""
    opts = opts if isinstance(opts, list) else []
    if module == EVENT_PUSHER:
        backends = get_value(Atom("backends"), opts, _MISSING)
        if not isinstance(backends, list):
            return list(_NONE)  # proplists:get_keys(none) crashes: caught
        out: list[tuple[Atom, Any]] = []
        seen: set[Any] = set()
        for entry in backends:  # proplists:get_keys/1, in configuration order
            name = entry if isinstance(entry, Atom) else entry[0] \
                if isinstance(entry, tuple) and entry else None
            if not isinstance(name, Atom) or name in seen:
                continue
            seen.add(name)
            out.append((Atom("backend"), name))
            if name == Atom("push"):
                push = get_value(Atom("push"), backends, None)
                if not isinstance(push, list):
                    return list(_NONE)  # proplists:get_value(backend, undefined, _) crashes
                db = get_value(Atom("backend"), push, Atom("mnesia"))
                if not isinstance(db, Atom):
                    return list(_NONE)  # atom_to_list/1 of something else crashes: caught
                out.append((Atom("backend"), Atom(f"push_{db.name}")))
        return out
    return [(Atom(k), get_value(Atom(k), opts, default))
            for k, default in DEFAULTS_BEFORE_51[module]]
