"""One remote call from the shell: ``python -m mim_bridge.erldist NODE MODULE FUNCTION [ARG ...]``.

A debugging aid for operators (is the node reachable, is the cookie right, what does a function
return?) and the bridge's cold-start benchmark. Arguments: integers stay integers, ``"text"``
becomes a binary, anything else an atom. The cookie comes from ``--cookie``, ``BRIDGE_COOKIE``
or ``~/.erlang.cookie``. Its node name is fixed (``--name``, default ``mim_erldist_call``): every
new name would stay in the node's atom table for good. Two calls at once under one name: the
second is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from mim_bridge.erldist import Atom, ErldistError, connect


def _arg(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].encode()
    return Atom(text)


async def _call(ns: argparse.Namespace) -> Any:
    conn = await connect(ns.node, ns.cookie or os.environ.get("BRIDGE_COOKIE"),
                         timeout=ns.timeout, epmd_port=ns.epmd_port, name=ns.name)
    try:
        return await conn.rpc(ns.module, ns.function, [_arg(a) for a in ns.args],
                              timeout=ns.timeout)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mim_bridge.erldist", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("node")
    ap.add_argument("module")
    ap.add_argument("function")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--cookie")
    ap.add_argument("--epmd-port", type=int)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--name", default="mim_erldist_call",
                    help="our node name (NAME or NAME@HOST; default %(default)s)")
    ns = ap.parse_args(argv)
    try:
        print(repr(asyncio.run(_call(ns))))
    except ErldistError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
