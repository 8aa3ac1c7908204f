"""The configuration tests' way to load: one node, relative paths resolved against /srv."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mim_bridge.config import Config, load

NODE = "mongooseim@localhost"


def cfg(env: Mapping[str, str], flags: Mapping[str, object] | None = None, **kw: Any) -> Config:
    """``load`` as the command line would call it with ``--node NODE`` and *flags*."""
    return load({"node": [NODE], **(flags or {})}, env, cwd=Path("/srv"), **kw)
