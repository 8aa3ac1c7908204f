"""Start and stop a detached MongooseIM stand-in, list the profiles and runtimes, build.

    python erlang/launcher.py start --name mim@localhost --cookie demo --profile small [--otp 28]
    python erlang/launcher.py stop  --name mim@localhost --cookie demo
    python erlang/launcher.py profiles | runtimes | build
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .build import build
from .detached import STATE_DIR, start_detached, stop_detached
from .runtimes import runtimes
from .standin import profiles


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("action", choices=["start", "stop", "runtimes", "profiles", "build"])
    ap.add_argument("--name", default="mongooseim@localhost")
    ap.add_argument("--cookie", default="demo")
    ap.add_argument("--profile", default="small")
    ap.add_argument("--otp", default=None, help="25 or 28 (default: the first available)")
    ap.add_argument("--epmd-port", type=int, default=int(os.environ.get("ERL_EPMD_PORT", "4369")))
    ap.add_argument("--state-dir", type=Path, default=STATE_DIR)
    args = ap.parse_args(argv)
    try:
        if args.action == "runtimes":
            for rel, rt in runtimes().items():
                print(rel, rt.erl)
        elif args.action == "profiles":
            print("\n".join(profiles()))
        elif args.action == "build":
            print(build())
        elif args.action == "start":
            rec = start_detached(args.name, args.cookie, args.profile, otp=args.otp,
                                 epmd_port=args.epmd_port, state_dir=args.state_dir)
            print(f"started {rec['name']} (profile {rec['profile']}, OTP {rec['otp']}, "
                  f"pid {rec['pid']}, epmd port {rec['epmd_port']}); log: {rec['log']}")
        elif args.action == "stop":
            if stop_detached(args.name, args.cookie, epmd_port=args.epmd_port,
                             state_dir=args.state_dir):
                print(f"stopped {args.name}")
            else:
                print(f"{args.name} was not running")
    except (RuntimeError, ValueError) as e:
        print(f"launcher: {e}", file=sys.stderr)
        return 1
    return 0
