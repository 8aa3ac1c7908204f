"""Compiling the stand-in: the hand-written layers under ``erlang/src`` (some with ``-D`` variants),
the ``mod_*`` modules rendered from the catalog ``erlang/modules.json``, ``releases.eterm`` and the
filler directories that pad a node's code path. Debian's ``erlc`` compiles; OTP 28 loads OTP 25
beams.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .literals import erl_string

ERLANG_DIR = Path(__file__).resolve().parent.parent
SRC_DIR = ERLANG_DIR / "src"
CATALOG = ERLANG_DIR / "modules.json"
BUILD_DIR = Path(os.environ.get("MIM_STANDIN_EBIN", ERLANG_DIR / "_build" / "ebin"))


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
                ("    PushBackend = atom_to_list(proplists:get_value(backend, PushOptions,"
                 " mnesia)),"),
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
