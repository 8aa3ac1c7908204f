"""Messages from GA4's validation server (``/debug/mp/collect``) and from our own limit fixes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mim_bridge.ga4.limits import LimitFix

__all__ = ["FIXED_BEFORE_SENDING", "ValidationMessage", "from_fixes", "parse_validation_response"]

FIXED_BEFORE_SENDING = "FIXED_BEFORE_SENDING"
"""Our code for a limit the bridge fixed itself, so GA4 never sees the problem."""


@dataclass(frozen=True)
class ValidationMessage:
    """One finding: GA4's ``fieldPath``/``description``/``validationCode``, per batch."""

    field_path: str
    description: str
    validation_code: str
    batch_index: int | None = None

    def __str__(self) -> str:
        where = "" if self.batch_index is None else f"batch {self.batch_index}: "
        path = f"{self.field_path}: " if self.field_path else ""
        return f"{where}{self.validation_code}: {path}{self.description}"


def parse_validation_response(payload: Any, batch_index: int) -> list[ValidationMessage]:
    """Read ``{"validationMessages": [...]}``; anything else becomes one explanatory message."""
    if not isinstance(payload, dict) or not isinstance(payload.get("validationMessages"), list):
        return [
            ValidationMessage(
                "",
                "the validation server's answer was not the expected JSON",
                "UNPARSEABLE",
                batch_index,
            )
        ]
    out: list[ValidationMessage] = []
    for item in payload["validationMessages"]:
        if not isinstance(item, dict):
            continue
        out.append(
            ValidationMessage(
                str(item.get("fieldPath", "")),
                str(item.get("description", "")),
                str(item.get("validationCode", "")),
                batch_index,
            )
        )
    return out


def from_fixes(fixes: Iterable[LimitFix]) -> list[ValidationMessage]:
    return [
        ValidationMessage(f"events[{f.event_index}]", f.change, FIXED_BEFORE_SENDING) for f in fixes
    ]
