"""Stand-ins that outlive the Python process (the README demo): start and stop them, with a pid
file per node in a state directory, and an EPMD daemon when none answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .literals import erl_atom
from .nodes import epmd_names
from .runtimes import Runtime, runtime
from .standin import StandIn, probe

# Where the pid files, ready files and logs of detached nodes go.
STATE_DIR = Path(os.environ.get("MIM_STANDIN_STATE",
                                Path(tempfile.gettempdir()) / f"mim-standin-{os.getuid()}"))


def _ensure_epmd(rt: Runtime, port: int) -> None:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return
    epmd = rt.tool("epmd") or shutil.which("epmd") or "epmd"
    subprocess.run([epmd, "-daemon", "-port", str(port), "-address", "127.0.0.1"],
                   env={**os.environ, **rt.env}, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port),
                                                                    timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"could not start epmd on port {port}")


def _pid_file(name: str, state_dir: Path) -> Path:
    return state_dir / f"{name}.json"


def pid_alive(pid: int) -> bool:
    """Whether *pid* exists and is not a zombie (its parent may never reap a detached VM)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_detached(name: str, cookie: str, profile: str = "small", *, otp: str | None = None,
                   epmd_port: int = 4369, state_dir: Path = STATE_DIR,
                   timeout: float = 30.0) -> dict[str, object]:
    """Start a stand-in that survives this process; its pid file goes to *state_dir*.

    Starts an EPMD daemon on *epmd_port* (loopback) if none answers there, as ``erl -sname``
    would. Returns the pid-file record.
    """
    name = name if "@" in name else f"{name}@localhost"
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = _pid_file(name, state_dir)
    if pid_file.exists():
        old = json.loads(pid_file.read_text())
        if pid_alive(int(old["pid"])) and name in _cmdline(int(old["pid"])):
            raise RuntimeError(f"{name} is already running (pid {old['pid']}); stop it first")
        pid_file.unlink()
    rt = runtime(otp)
    _ensure_epmd(rt, epmd_port)
    s = StandIn(profile, name, cookie, otp=rt.release, epmd_port=epmd_port, state_dir=state_dir)
    s.start(timeout)
    assert s.node is not None and s.node.proc is not None
    pid = s.node.proc.pid  # erl execs erlexec, which execs the VM: the same process
    s.node.proc.returncode = 0  # detached on purpose: no "still running" warning at exit
    record: dict[str, object] = {"name": name, "pid": pid, "profile": profile,
                                 "otp": rt.release, "epmd_port": epmd_port, "log": str(s.log)}
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, pid_file)
    return record


def stop_detached(name: str, cookie: str | None = None, *, epmd_port: int = 4369,
                  state_dir: Path = STATE_DIR, timeout: float = 10.0) -> bool:
    """Stop a stand-in started by :func:`start_detached`. False if it was not running.

    Without a pid file but with *cookie*, a stand-in reachable on *epmd_port* is asked to stop
    itself (``mim_standin:stop/0``); nodes that are not stand-ins are never touched.
    """
    name = name if "@" in name else f"{name}@localhost"
    pid_file = _pid_file(name, state_dir)
    if not pid_file.exists():
        if cookie is None or name.split("@", 1)[0] not in epmd_names(epmd_port):
            return False
        res = probe(name, cookie, [("stop", "mim_standin", "stop", "[]")], epmd_port=epmd_port)
        if res.get("stop") != "ok":
            raise RuntimeError(f"{name} is not a stand-in (or the cookie is wrong): {res}")
        deadline = time.monotonic() + timeout
        while name.split("@", 1)[0] in epmd_names(epmd_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        return True
    record = json.loads(pid_file.read_text())
    pid = int(record["pid"])
    running = pid_alive(pid) and f"name => {erl_atom(name)}" in _cmdline(pid)
    if running:
        os.kill(pid, signal.SIGTERM)  # the VM shuts down cleanly on SIGTERM
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    for leftover in (state_dir / f"{name}.ready",):
        leftover.unlink(missing_ok=True)
    return running
