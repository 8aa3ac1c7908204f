"""Real Erlang VMs for the erldist tests: an ETF port program and private distribution nodes.

Everything here is built on ``erlang/launcher.py`` (``runtimes``, ``Epmd``, ``ErlNode``,
``unique_name``, ``erlc``). Every VM gets a private EPMD and a unique name, so tests can run in
parallel (pytest-xdist) and never touch a developer's own nodes; every helper stops what it started.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import launcher

ERL_SRC = Path(__file__).resolve().parent / "erl"


def node_name(prefix: str, *, long: bool = False) -> str:
    """A fresh node name: ``<prefix>_<random>@localhost`` (``-sname``), ``@127.0.0.1`` if *long*."""
    return f"{launcher.unique_name(prefix)}@{'127.0.0.1' if long else 'localhost'}"


def runtime_ids() -> list[str]:
    """Releases to parametrize live tests over ("25", "28")."""
    return sorted(launcher.runtimes())


def compile_erl(out_dir: Path, *names: str) -> Path:
    """Compile ``tests/support/erl/<name>.erl`` with Debian's erlc into *out_dir*."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = [str(ERL_SRC / f"{n}.erl") for n in names]
    subprocess.run([launcher.erlc(), "-o", str(out_dir), *sources], check=True,
                   capture_output=True, text=True, timeout=120)
    return out_dir


# ------------------------------------------------------------------------------ ETF port program

class EtfPortError(RuntimeError):
    """The Erlang side raised (e.g. binary_to_term refused our bytes)."""


@dataclass(frozen=True)
class VmInfo:
    release: str
    node: str
    creation: int
    otp_version: str


class EtfPort:
    """A VM running ``etf_echo`` as a port program on two pipes (see etf_echo.erl).

    Without *sname* the VM is not distributed (node ``nonode@nohost``, creation 0). With *sname*
    (``name@localhost``) it starts distribution against the EPMD on *epmd_port*, so pids, ports
    and references carry a real node name and creation.
    """

    def __init__(self, runtime: launcher.Runtime, ebin: Path, *, sname: str | None = None,
                 epmd_port: int | None = None) -> None:
        self.runtime = runtime
        self.ebin = ebin
        self.sname = sname
        self.epmd_port = epmd_port
        self.proc: subprocess.Popen[bytes] | None = None
        self._to_vm: int | None = None
        self._from_vm: int | None = None

    def start(self) -> Self:
        vm_in, to_vm = os.pipe()
        from_vm, vm_out = os.pipe()
        cmd = [self.runtime.erl, "-noshell", "-noinput", "-pa", str(self.ebin)]
        env = {**os.environ, **self.runtime.env}
        if self.sname:
            cmd += ["-sname", self.sname, "-setcookie", uuid.uuid4().hex]
        if self.epmd_port:
            env["ERL_EPMD_PORT"] = str(self.epmd_port)
        cmd += ["-s", "etf_echo", "start", str(vm_in), str(vm_out)]
        try:
            self.proc = subprocess.Popen(cmd, env=env, pass_fds=(vm_in, vm_out),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(vm_in)
            os.close(vm_out)
        self._to_vm, self._from_vm = to_vm, from_vm
        return self

    def close(self) -> None:
        for fd in (self._to_vm, self._from_vm):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_vm = self._from_vm = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, 9)
                self.proc.wait()
            self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol -------------------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        assert self._from_vm is not None
        buf = bytearray()
        while len(buf) < n:
            chunk = os.read(self._from_vm, n - len(buf))
            if not chunk:
                raise EOFError(f"etf_echo VM ({self.runtime.release}) exited")
            buf += chunk
        return bytes(buf)

    def request(self, op: bytes, data: bytes = b"", options: str = "") -> bytes:
        assert self._to_vm is not None, "EtfPort not started"
        opts = options.encode()
        payload = op + struct.pack(">H", len(opts)) + opts + data
        frame = struct.pack(">I", len(payload)) + payload
        view = memoryview(frame)
        while view:
            view = view[os.write(self._to_vm, view):]
        (size,) = struct.unpack(">I", self._read_exact(4))
        reply = self._read_exact(size)
        if reply[:1] == b"x":
            raise EtfPortError(reply[1:].decode("utf-8", "replace"))
        return reply[1:]

    def echo(self, etf: bytes, options: str = "") -> bytes:
        """``term_to_binary(binary_to_term(etf), options)``."""
        return self.request(b"e", etf, options)

    def eval(self, source: str, options: str = "") -> bytes:
        """``term_to_binary(<source evaluated>, options)``."""
        return self.request(b"v", source.encode("utf-8"), options)

    def equal(self, a: bytes, b: bytes) -> bool:
        """``binary_to_term(a) =:= binary_to_term(b)``."""
        return self.request(b"q", struct.pack(">I", len(a)) + a + b) == b"\x01"

    def info(self) -> VmInfo:
        release, node, creation, version = self.request(b"i").decode().split()
        return VmInfo(release, node, int(creation), version)


# ------------------------------------------------------------------------------ distribution nodes

@dataclass
class LiveNode:
    """A running distribution node with its own EPMD."""

    name: str
    cookie: str
    release: str
    epmd: launcher.Epmd
    vm: launcher.ErlNode

    @property
    def epmd_port(self) -> int:
        return self.epmd.port

    def kill(self) -> None:
        """SIGKILL the VM (not a clean shutdown)."""
        self.vm.stop()


@contextlib.contextmanager
def private_node(release: str, *, long: bool = False, extra: Sequence[str] = (),
                 prefix: str = "srv", code_paths: Sequence[Path] = (),
                 log: Path | None = None) -> Iterator[LiveNode]:
    """Start an EPMD on a free port and one node registered in it; stop both afterwards.

    Short names are ``<unique>@localhost`` (``-sname``), long names ``<unique>@127.0.0.1``.
    """
    runtime = launcher.runtimes()[release]
    name = node_name(prefix, long=long)
    cookie = uuid.uuid4().hex
    epmd = launcher.Epmd(runtime).start()
    try:
        vm = launcher.ErlNode(name, cookie, runtime=runtime, epmd_port=epmd.port,
                              extra=extra, code_paths=code_paths, log=log)
        try:
            vm.start()
            yield LiveNode(name, cookie, release, epmd, vm)
        finally:
            vm.stop()
    finally:
        epmd.stop()
