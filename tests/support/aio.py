"""Async tests without an asyncio plugin: each one runs in a fresh event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def aio(fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run the async test *fn* in a fresh event loop; its fixtures and parameters pass through
    (``functools.wraps`` keeps the signature pytest reads)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(fn(*args, **kwargs))
    return run
