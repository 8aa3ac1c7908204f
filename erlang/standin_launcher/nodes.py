"""Generic Erlang VMs for tests: free ports and unique node names, EPMD's name list, a private
:class:`Epmd`, and :class:`ErlNode` (one ``erl`` child process with a name and a cookie).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from .runtimes import Runtime, runtimes


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

    def start(self) -> Epmd:
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

    def __enter__(self) -> Epmd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ErlNode:
    """One real Erlang VM started as a child process with a distribution name and cookie.

    *name* is ``short@host`` (``-sname``) or ``name@dotted.host`` (``-name``). *extra* is passed to
    ``erl`` verbatim (``-kernel net_ticktime 4``, ``-proto_dist inet_tls``, ...). *eval* runs at
    start.
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

    def _spawn(self, out: int | IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(), env=self.env(), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 30.0) -> ErlNode:
        if self.log:
            # The VM gets its own copy of the descriptor; ours can close once it is spawned.
            with open(self.log, "ab") as out:
                self.proc = self._spawn(out)
        else:
            self.proc = self._spawn(subprocess.DEVNULL)
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

    def __enter__(self) -> ErlNode:
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
