"""Blocking work (an HTTP request, a disk write) off the event loop, in a thread that cannot
hold the process up."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["in_thread"]

T = TypeVar("T")


async def in_thread(fn: Callable[[], T], name: str) -> T:
    """Run blocking *fn* in a daemon thread: an HTTP request that outlives a bounded shutdown
    must not keep the process alive (the default executor's threads would)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = fn()
        except BaseException as e:
            settle = functools.partial(_fail, fut, e)
        else:
            settle = functools.partial(_succeed, fut, result)
        with contextlib.suppress(RuntimeError):  # the loop is gone: the process is shutting down
            loop.call_soon_threadsafe(settle)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await fut


def _succeed(fut: asyncio.Future[T], result: T) -> None:
    if not fut.done():
        fut.set_result(result)


def _fail(fut: asyncio.Future[T], error: BaseException) -> None:
    if not fut.done():
        fut.set_exception(error)
