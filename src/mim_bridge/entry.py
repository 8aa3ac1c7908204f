"""The console scripts' entry point: ``health`` and ``--version`` answer without loading the rest
of the bridge.

Container and Kubernetes probes run ``mim-metrics-bridge health`` every few seconds, and scripts
ask for ``--version``; importing the command line (asyncio, the distribution client, the option
table) would multiply their cost. Everything else goes to :func:`mim_bridge.app.cli.main`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> int:
    argv = sys.argv[1:]
    if argv in (["--version"], ["-V"]):
        from mim_bridge import __version__

        print(f"mongooseim-metrics-bridge {__version__}")
        return 0
    if argv[:1] == ["health"]:
        from mim_bridge.app.health.command import main as health
        return health(argv[1:])
    from mim_bridge.app.cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
