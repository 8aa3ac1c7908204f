"""``config_metrics/1`` of MongooseIM 5.1+ modules, computed from their options.

From 5.1 on, every implementation is ``mongoose_module_metrics:opts_for_module(HT, ?MODULE, Keys)``:
read each key from the module's options map, or ``[{none, none}]`` for the whole module when a key
is missing (mim-internals §2.2). The options of every module on every host type arrive in wave 1
(``gen_mod:loaded_modules_with_opts/0``), so the bridge computes the same answer here instead of
making hosts x modules calls into the server — the difference between two waves and a few
hundred RPCs (and their reductions) on a large node. A module that exports ``config_metrics/1``
but is not in this table is asked remotely, so an unknown module is never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..erldist import Atom

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
EVENT_PUSHER = "mod_event_pusher"


def knows(module: str) -> bool:
    return module in KEYS or module == EVENT_PUSHER


def _key_order(k: Any) -> tuple[int, str]:
    # Erlang term order for the atom keys config maps have: by name.
    return (0, k.name) if isinstance(k, Atom) else (1, repr(k))


def config_metrics(module: str, opts: Mapping[Any, Any] | None, *,
                   since_62: bool = True) -> list[tuple[Any, Any]]:
    """What ``module:config_metrics(HostType)`` returns, given its options on that host type.

    *since_62*: the node has the 6.2 API (``mongoose_component``); mod_muc reports its
    ``online_backend`` only from 6.2 on.
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
