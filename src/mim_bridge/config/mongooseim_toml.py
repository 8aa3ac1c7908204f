"""The TOML file: a ``[bridge]`` table, and MongooseIM's own
``[services.service_mongoose_system_metrics]`` section read with MongooseIM's names and meanings
(``initial_report``/``periodic_report`` in milliseconds, ``report`` a boolean,
``tracking_id = {id, secret}``), so the bridge can be pointed at ``mongooseim.toml`` itself.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mim_bridge.config.options import (
    BY_NAME,
    SERVICE_SECTION,
    ConfigError,
)
from mim_bridge.util.localfiles import (
    MAX_CONFIG_FILE,
    FileMissing,
    FileRefused,
    read_bounded,
)

__all__ = ["toml_layers"]

# ---------------------------------------------------------------------------------- the TOML file

log = logging.getLogger(__name__)


def toml_layers(path: Path) -> list[tuple[dict[str, object], Callable[[str], str]]]:
    """``[bridge]`` first, then MongooseIM's service section (in MongooseIM's units)."""
    try:
        data, _ = read_bounded(path, MAX_CONFIG_FILE)
    except FileMissing:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except FileRefused as e:
        raise ConfigError(f"cannot read configuration file {path}: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"configuration file {path} is not UTF-8 text (byte "
                          f"0x{data[e.start]:02x} at offset {e.start}); TOML files are UTF-8"
                          ) from None
    import tomllib  # only when a file is named: the command line starts without it

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"configuration file {path} is not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"configuration file {path} nests arrays or tables too deeply to be "
                          "a configuration file") from None
    name = path.name
    bridge = doc.get("bridge", {})
    if not isinstance(bridge, dict):
        raise ConfigError(f"{name}: 'bridge' must be a table ([bridge])")
    services = doc.get("services", {})
    service = services.get(SERVICE_SECTION, {}) if isinstance(services, dict) else {}
    if not isinstance(service, dict):
        raise ConfigError(f"{name}: [services.{SERVICE_SECTION}] must be a table")
    return [
        (_bridge_table(bridge, name), lambda n: f"{name} [bridge] {n}"),
        (_service_table(service, name), lambda n: f"{name} [services.{SERVICE_SECTION}] "
         f"{BY_NAME[n].service_key or n}"),
    ]


def _bridge_table(table: Mapping[str, Any], name: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if key == "tracking_id" and isinstance(value, dict):
            out.update(_tracking_table(value, f"{name} [bridge] tracking_id"))
        elif key in BY_NAME:
            out[key] = value
        else:
            close = difflib.get_close_matches(key, BY_NAME, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{name} [bridge]: unknown option {key!r}{hint}")
    return out


def _service_table(table: Mapping[str, Any], name: str) -> dict[str, object]:
    where = f"{name} [services.{SERVICE_SECTION}]"
    out: dict[str, object] = {}
    for key, value in table.items():
        if key in ("initial_report", "periodic_report"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where} {key}={value!r}: MongooseIM expects a non-negative "
                                  "integer of milliseconds")
            out[key] = value
        elif key == "report":
            if not isinstance(value, bool):
                raise ConfigError(f"{where} report={value!r}: expected true or false")
            out[key] = value
        elif key == "tracking_id":
            if isinstance(value, dict):
                out.update(_tracking_table(value, f"{where} tracking_id"))
            elif isinstance(value, str) and value.strip().upper().startswith("UA-"):
                # MongooseIM 5.1-6.0 configs carry a Universal Analytics id, which is dead:
                # refusing to start over the node's own file would help nobody.
                log.warning(
                    "%s: tracking_id %s is a Universal Analytics id, which Google no longer "
                    "processes; ignored (set a GA4 tracking id in [bridge] or with "
                    "--tracking-id/--tracking-secret)", where, value.strip())
            else:
                raise ConfigError(f"{where} tracking_id: expected a table with id and secret "
                                  "(MongooseIM 6.1+ format)")
        else:
            raise ConfigError(f"{where}: unknown option {key!r} (MongooseIM knows "
                              "initial_report, periodic_report, report and tracking_id)")
    return out


def _tracking_table(value: Mapping[str, Any], where: str) -> dict[str, object]:
    unknown = set(value) - {"id", "secret"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {min(unknown)!r}; expected id and secret")
    if "id" not in value or "secret" not in value:
        raise ConfigError(f"{where}: needs both id and secret")
    return {"tracking_id": value["id"], "tracking_secret": value["secret"]}

