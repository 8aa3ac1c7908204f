"""The MongooseIM stand-in: its profiles (``erlang/profiles``), :class:`StandIn` nodes and
:class:`StandInCluster` clusters, and :func:`probe`, RPCs from a real hidden node.

The nodes run in interactive code mode with a release-sized code path, as MongooseIM releases do.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Self

from .build import ERLANG_DIR, build, ebin
from .literals import erl_atom, erl_binary, erl_string
from .nodes import ErlNode, unique_name
from .runtimes import Runtime, runtime, runtimes

PROFILE_DIR = ERLANG_DIR / "profiles"


def profiles() -> list[str]:
    """Names of the stand-in profiles (``erlang/profiles/<name>.profile``)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.profile"))


def profile_path(profile: str | Path) -> Path:
    """A profile name (``small``) or a path to a ``.profile`` file."""
    p = Path(profile)
    if p.suffix == ".profile" and p.exists():
        return p.resolve()
    p = PROFILE_DIR / f"{profile}.profile"
    if not p.exists():
        raise ValueError(f"unknown stand-in profile {profile!r}; known: {', '.join(profiles())}")
    return p



_find_runtime = runtime  # for parameters named `runtime`

def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _BootNode(ErlNode):
    """An ErlNode whose distribution is started by ``mim_standin:boot/1`` once the node is set up.

    A MongooseIM stand-in runs in interactive code mode with ``-embedded`` as a plain argument,
    exactly as a release's start script starts the VM (``-embedded`` is not ``-mode embedded``).
    With *code_mode* ``"embedded"`` the VM really is in embedded mode, and the ``-eval`` first
    loads the stand-in's own modules (nothing is loaded on demand there).
    """

    def __init__(self, name: str, cookie: str, boot: str, code_mode: str, release: bool,
                 **kw: object) -> None:
        super().__init__(name, cookie, **kw)  # type: ignore[arg-type]
        self.boot = boot
        self.code_mode = code_mode
        self.release = release

    def command(self) -> list[str]:
        cmd = [self.runtime.erl, "-noshell", "-noinput", "-setcookie", self.cookie]
        if self.code_mode == "embedded":
            cmd += ["-mode", "embedded"]
        if self.release:
            cmd += ["-embedded"]
        for p in self.code_paths:
            cmd += ["-pa", str(p)]
        load = "".join(
            f"ok = code:ensure_modules_loaded([list_to_atom(filename:basename(F, \".beam\")) "
            f"|| F <- filelib:wildcard({erl_string(str(p))} ++ \"/*.beam\")]), "
            for p in self.code_paths) if self.code_mode == "embedded" else ""
        return cmd + self.extra + ["-eval", load + self.boot]


_PROFILE_KEY = re.compile(r"^\{(inherit|code_mode|api),\s*(\"[^\"]*\"|[a-z_]+)\}\.", re.MULTILINE)


def profile_keys(profile: str | Path) -> dict[str, str]:
    """``code_mode``, ``api`` and ``inherit`` of a profile, following ``{inherit, ...}``.

    The launcher needs them before the VM starts (the code mode is a command-line flag, and a
    plain ``erl`` node has no release start script); the node itself reads the whole profile.
    """
    path = profile_path(profile)
    keys: dict[str, str] = {}
    for _ in range(10):
        found = {k: v.strip('"') for k, v in _PROFILE_KEY.findall(path.read_text())}
        keys = {**found, **keys}
        if "inherit" not in found:
            break
        path = path.parent / f"{found['inherit']}.profile"
    keys.pop("inherit", None)
    return keys


class StandIn:
    """One MongooseIM stand-in node: a real OTP VM that looks like a MongooseIM node of a profile.

    ``start()`` compiles the stand-in if needed, starts the VM, and returns once the node is
    registered in the EPMD on *epmd_port* and fully set up (joined to *join* nodes, if any).
    *name* defaults to a unique ``mim_<hex>@localhost``. *otp* is "25" or "28" (or pass a
    :class:`Runtime` as *runtime*). *cluster_id* and
    *version* override the profile; *overrides* maps profile keys to Erlang source text, e.g.
    ``{"stanzas": "[{xmppMessageSent, 7}]"}``. The node runs in interactive code mode, as a
    MongooseIM release does; *code_mode* ``"embedded"`` (or ``{code_mode, embedded}`` in the
    profile) runs it in embedded mode with every module of its release loaded. See
    :func:`start_detached` for a VM that outlives this Python process.
    """

    def __init__(self, profile: str | Path = "small", name: str | None = None,
                 cookie: str = "standin", *, otp: str | None = None,
                 runtime: Runtime | None = None, epmd_port: int = 4369,
                 join: Sequence[str] = (), cluster_id: str | None = None,
                 version: str | None = None, overrides: dict[str, str] | None = None,
                 state_dir: Path | None = None, extra: Sequence[str] = (),
                 code_mode: str | None = None) -> None:
        self.profile = str(profile)
        self.profile_file = profile_path(profile)
        self.name = name or f"{unique_name('mim')}@localhost"
        if "@" not in self.name:
            self.name += "@localhost"
        self.cookie = cookie
        self.runtime = runtime if runtime is not None else _find_runtime(otp)
        self.epmd_port = epmd_port
        self.join = list(join)
        self.overrides = dict(overrides or {})
        if cluster_id is not None:
            self.overrides["cluster_id"] = erl_binary(cluster_id)
        if version is not None:
            self.overrides["version"] = erl_string(version)
        self.extra = list(extra)
        keys = profile_keys(self.profile_file)
        # Interactive, as MongooseIM releases run; embedded only on request (profile or here).
        self.code_mode = code_mode or keys.get("code_mode", "interactive")
        if self.code_mode not in ("interactive", "embedded"):
            raise ValueError(f"code_mode must be interactive or embedded, not {self.code_mode!r}")
        self.overrides["code_mode"] = self.code_mode
        self.release = keys.get("api") != "not_mim"
        self._own_state = state_dir is None
        self.state_dir = state_dir
        self.node: _BootNode | None = None

    @property
    def otp(self) -> str:
        return self.runtime.release

    @property
    def pid(self) -> int | None:
        return self.node.proc.pid if self.node and self.node.proc else None

    @property
    def log(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / f"{self.name}.log"

    @property
    def ready_file(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / f"{self.name}.ready"

    def boot_expr(self) -> str:
        overrides = ", ".join(f"{k} => {v}" for k, v in self.overrides.items())
        join = ", ".join(erl_atom(n) for n in self.join)
        return ("mim_standin:boot(#{"
                f"profile => {erl_string(str(self.profile_file))}, "
                f"profile_name => {erl_string(self.profile_file.stem)}, "
                f"name => {erl_atom(self.name)}, cookie => {erl_atom(self.cookie)}, "
                f"ready_file => {erl_string(str(self.ready_file))}, "
                f"join => [{join}], overrides => #{{{overrides}}}}}).")

    def start(self, timeout: float = 30.0) -> Self:
        build()
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="mim-standin-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        self.node = _BootNode(self.name, self.cookie, self.boot_expr(), self.code_mode,
                              self.release, runtime=self.runtime,
                              epmd_port=self.epmd_port, extra=self.extra,
                              code_paths=[ebin("common")], log=self.log)
        deadline = time.monotonic() + timeout
        try:
            self.node.start(timeout=timeout)
            while not self.ready_file.exists():
                if self.node.proc is None or self.node.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited during boot")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not finish booting in {timeout} s")
                time.sleep(0.02)
        except RuntimeError as e:
            log = _tail(self.log)
            self.stop()
            raise RuntimeError(f"stand-in {self.name} (profile {self.profile}, OTP {self.otp}) "
                               f"failed to start: {e}\n{log}") from None
        return self

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        if self._own_state and self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None

    def probe(self, calls: Sequence[Sequence[str]], **kw: object) -> dict[str, str]:
        """Run *calls* against this node from a fresh hidden node (see :func:`probe`)."""
        return probe(self.name, self.cookie, calls, epmd_port=self.epmd_port, **kw)  # type: ignore[arg-type]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StandIn({self.profile!r}, {self.name!r}, otp={self.otp!r})"


class StandInCluster:
    """2-3 (or more) stand-ins joined into one cluster: visible connections between all of them
    (``nodes()`` on each lists the others) and the first node's cluster id everywhere.

    *profiles* is one profile for every node or one per node; *otp* likewise.
    """

    def __init__(self, profiles: str | Sequence[str] = "small", size: int | None = None,
                 cookie: str = "standin", *, otp: str | Sequence[str | None] | None = None,
                 epmd_port: int = 4369, prefix: str = "mim", host: str = "localhost") -> None:
        names = [profiles] if isinstance(profiles, str) else list(profiles)
        n = size or (len(names) if not isinstance(profiles, str) else 2)
        if len(names) == 1:
            names = names * n
        otps = [otp] * n if otp is None or isinstance(otp, str) else list(otp)
        if len(names) != n or len(otps) != n:
            raise ValueError("profiles and otp must give one value, or one per node")
        tag = uuid.uuid4().hex[:8]
        self.nodes = [StandIn(p, f"{prefix}{i + 1}_{tag}@{host}", cookie, otp=o,
                              epmd_port=epmd_port,
                              join=[] if i == 0 else [f"{prefix}1_{tag}@{host}"])
                      for i, (p, o) in enumerate(zip(names, otps, strict=True))]

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def start(self, timeout: float = 30.0) -> Self:
        try:
            for node in self.nodes:  # in order: each one joins the first
                node.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def standin(profile: str = "small", **kw: object) -> Iterator[StandIn]:
    with StandIn(profile, **kw) as s:  # type: ignore[arg-type]
        yield s


@contextlib.contextmanager
def cluster(profiles: str | Sequence[str] = "small", size: int | None = None,
            **kw: object) -> Iterator[StandInCluster]:
    with StandInCluster(profiles, size, **kw) as c:  # type: ignore[arg-type]
        yield c


_PROBE = r"""
Out = %(out)s,
Target = %(target)s,
case net_kernel:connect_node(Target) of
    true -> ok;
    false -> file:write_file(Out, <<"!connect\tfalse\n">>), erlang:halt(2)
end,
{ok, Calls} = file:consult(%(calls)s),
Lines = [begin
             V = rpc:call(Target, M, F, A, %(call_timeout)d),
             Text = case Fmt of
                        s when is_binary(V); is_list(V) -> V;
                        j -> try mim_standin_json:encode(V)
                             catch _:_ -> io_lib:format("~0p", [V])
                             end;
                        _ -> io_lib:format("~0p", [V])
                    end,
             [Label, $\t, Text, $\n]
         end || {Label, M, F, A, Fmt} <- Calls],
ok = file:write_file(Out, unicode:characters_to_binary(Lines)),
erlang:halt(0).
"""


def probe(target: str, cookie: str, calls: Sequence[Sequence[str]], *, epmd_port: int = 4369,
          otp: str | None = "25", timeout: float = 60.0, call_timeout_ms: int = 10000,
          name: str | None = None) -> dict[str, str]:
    """RPCs from a real hidden Erlang node (``erl -hidden``), as an external observer would do.

    Each call is ``(label, module, function, args)`` or ``(label, module, function, args, fmt)``,
    with *args* an Erlang list literal as text (``'[<<"localhost">>]'``). Returns label -> the
    result printed with ``~0p`` (one line; fmt ``"p"``, the default), as the raw string/binary
    (fmt ``"s"``), or as JSON like the baseline report (fmt ``"j"``; maps, lists, atoms,
    binaries and integers only, else ``~0p``). A failed call shows as ``{badrpc,...}``.
    The probe node is named *name* (the part before ``@``), by default a fresh unique name: every
    distinct name that connects becomes a permanent atom on the target.
    """
    rt = runtime(otp) if otp in runtimes() else runtime(None)
    build()
    host = target.split("@", 1)[1]
    flag = "-name" if "." in host else "-sname"
    with tempfile.TemporaryDirectory(prefix="mim-probe-") as tmp:
        calls_file, out_file = Path(tmp) / "calls.eterm", Path(tmp) / "out.txt"
        terms = []
        for c in calls:
            label, mod, fun, args = c[0], c[1], c[2], c[3]
            fmt = c[4] if len(c) > 4 else "p"
            if "\t" in label or "\n" in label:
                raise ValueError(f"bad label {label!r}")
            terms.append(f"{{{erl_string(label)}, {erl_atom(mod)}, {erl_atom(fun)}, {args}, "
                         f"{erl_atom(fmt)}}}.\n")
        calls_file.write_text("".join(terms))
        expr = _PROBE % {"out": erl_string(str(out_file)), "target": erl_atom(target),
                         "calls": erl_string(str(calls_file)), "call_timeout": call_timeout_ms}
        cmd = [rt.erl, "-hidden", "-noshell", "-noinput", flag,
               f"{name or unique_name('probe')}@{host}", "-setcookie", cookie,
               "-pa", str(ebin("common")), "-eval", expr]
        env = {**os.environ, **rt.env, "ERL_EPMD_PORT": str(epmd_port)}
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        text = out_file.read_text() if out_file.exists() else ""
        if proc.returncode != 0 or not out_file.exists():
            raise RuntimeError(f"probe of {target} failed ({proc.returncode}): "
                               f"{text}{proc.stdout}{proc.stderr}")
    result: dict[str, str] = {}
    labels = {c[0] for c in calls}
    current: str | None = None
    for line in text.split("\n"):
        if "\t" in line and line.split("\t", 1)[0] in labels:
            current, value = line.split("\t", 1)
            result[current] = value
        elif current is not None and line:
            result[current] += "\n" + line  # a raw string result spanning lines
    return result
