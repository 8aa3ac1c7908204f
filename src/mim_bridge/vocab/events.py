"""The one data type every layer shares: a report event, exactly as MongooseIM names it.

The collector produces these, the report layer anonymises and writes them, the GA4 sender ships
them. Values are only ``str`` or ``int`` because that is all MongooseIM's own GA4 events carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "ParamValue"]

ParamValue = str | int


@dataclass(frozen=True, slots=True)
class Event:
    """One GA4 event: ``{"name": name, "params": {...}}``."""

    name: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Event:
        return cls(str(obj["name"]), dict(obj.get("params", {})))
