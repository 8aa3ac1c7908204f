"""Regenerate erlang/modules.json from MongooseIM's source at each release tag.

The stand-in's generated code layers (one ``rel_<tag>`` layer per release below) are facts read
from MongooseIM's own source, not invented: for every ``mod_*`` module, every HTTP handler,
listener and service module the stand-in models, which behaviours it declares (and with which
spelling), which of ``start/2``, ``stop/1``, ``config_spec/0``, ``config_metrics/1`` it exports,
and what its ``config_metrics/1`` reports. Plus, per release, which of those modules the TOML
config spec loads while the node boots (``configurable_modules/0``, ``configurable_services/0``,
``configurable_handler_modules/0`` and the ``config_spec/0`` calls they make).

No MongooseIM code is copied: only names, arities, behaviour attributes and option keys.

    python erlang/tools/catalog.py [--mirror /work/.mirror/esl+MongooseIM/repo]

Needs a bare clone of github.com/esl/MongooseIM with its tags. Run it only to add a release;
the output is committed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "modules.json"
MIRROR = Path("/work/.mirror/esl+MongooseIM/repo")

# The releases the profiles run (one per era, plus the 6.5/6.7/6.8 module sets).
RELEASES = ["3.6.2", "3.7.1", "4.0.0", "4.2.0", "5.0.1", "5.1.0", "6.0.0", "6.1.0", "6.2.1",
            "6.3.3", "6.4.0", "6.5.0", "6.6.0", "6.7.0", "6.8.0"]

# Non-mod_* modules modelled as markers when the release has them: HTTP handlers (allow-listed
# by some era's collector or configurable), listener modules, metrics/instrumentation modules.
MARKERS = [
    "mongoose_api", "mongoose_api_admin", "mongoose_api_client", "mongoose_client_api",
    "mongoose_client_api_rooms", "mongoose_client_api_rooms_messages",
    "mongoose_client_api_rooms_users", "mongoose_client_api_rooms_config",
    "mongoose_client_api_contacts", "mongoose_client_api_messages", "mongoose_domain_handler",
    "mongoose_admin_api", "mongoose_graphql_handler", "mongoose_bosh_handler",
    "mongoose_websocket_handler", "mongoose_prometheus_handler",
    "ejabberd_c2s", "ejabberd_cowboy", "ejabberd_s2s_in", "ejabberd_service",
    "mongoose_c2s_listener", "mongoose_s2s_listener", "mongoose_component_listener",
    "mongoose_metrics", "mongoose_instrument", "mongoose_instrument_exometer",
    "mongoose_instrument_prometheus", "mongoose_instrument_log",
    "service_admin_extra",
]
# Hand-written in erlang/src (real behaviour), so never generated.
HAND_WRITTEN = {"service_mongoose_system_metrics"}
KEEP_EXPORTS = {"start/2", "stop/1", "config_spec/0", "config_metrics/1"}


def git(mirror: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(mirror), *args], check=True,
                          capture_output=True, text=True).stdout


def strip_comments(src: str) -> str:
    out = []
    for line in src.splitlines():
        in_str = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif ch == "%" and not in_str and (i == 0 or line[i - 1] != "$"):
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def function_body(src: str, name: str, arity_args: str = r"\([^)]*\)") -> str | None:
    m = re.search(rf"^{name}{arity_args}\s*->", src, re.MULTILINE)
    if not m:
        return None
    rest = src[m.start():]
    end = re.search(r"\.\s*\n(?=\S|\n|$)", rest)
    return rest[: end.end()] if end else rest


def metrics_spec(module: str, src: str) -> object:
    body = function_body(src, "config_metrics")
    if body is None:
        raise ValueError(f"{module}: exports config_metrics/1 but no body found")
    if "proplists:get_value(backends" in body:
        return "event_pusher_proplist"
    if "maps:keys(Opts)" in body:
        return "event_pusher_maps"
    m = re.search(r"opts_for_module\(\w+,\s*\?MODULE,\s*\[([\w,\s]*)\]\)", body)
    if m:
        return {"keys": [k.strip() for k in m.group(1).split(",") if k.strip()]}
    m = re.search(r"OptsToReport\s*=\s*\[(.*?)\]\s*,", body, re.DOTALL)
    if m and "opts_for_module" in body:
        pairs = []
        for key, value in re.findall(r"\{\s*(\w+)\s*,\s*([^}]+?)\s*\}", m.group(1)):
            if value.startswith("?"):
                d = re.search(rf"-define\({value[1:]}\s*,\s*(.+?)\)\.", src)
                if not d:
                    raise ValueError(f"{module}: unresolved macro {value}")
                value = d.group(1).strip()
            pairs.append([key, value])
        return {"defaults": pairs}
    raise ValueError(f"{module}: unrecognised config_metrics/1:\n{body}")


def module_facts(module: str, raw: str) -> dict[str, object]:
    src = strip_comments(raw)
    attrs = [f"{spelling}:{name}" for spelling, name in
             re.findall(r"^-(behaviour|behavior)\(\s*(\w+)\s*\)\.", src, re.MULTILINE)]
    exports: set[str] = set()
    for block in re.findall(r"^-export\(\[(.*?)\]\)\.", src, re.MULTILINE | re.DOTALL):
        exports.update(f"{n}/{a}" for n, a in re.findall(r"(\w+)\s*/\s*(\d+)", block))
    facts: dict[str, object] = {"attrs": attrs,
                                "exports": sorted(exports & KEEP_EXPORTS),
                                "metrics": None}
    if "config_metrics/1" in exports:
        facts["metrics"] = metrics_spec(module, src)
    return facts


def erl_list(src: str, fun: str) -> list[str]:
    body = function_body(strip_comments(src), fun, r"\(\)")
    if body is None:
        return []
    return re.findall(r"\b([a-z]\w*)\b", body.split("->", 1)[1])


def config_spec_loaded(mirror: Path, tag: str, paths: dict[str, str],
                       catalog: dict[str, dict[str, object]]) -> list[str]:
    """Modules whose config_spec/0 the TOML config spec calls while the node boots (4.1+)."""
    spec_path = paths.get("mongoose_config_spec")
    if spec_path is None:
        return []
    spec_src = git(mirror, "show", f"{tag}:{spec_path}")
    roots = erl_list(spec_src, "configurable_modules") + erl_list(spec_src, "configurable_services")
    if "mongoose_http_handler" in paths:
        roots += erl_list(git(mirror, "show", f"{tag}:{paths['mongoose_http_handler']}"),
                          "configurable_handler_modules")
    loaded: set[str] = set()
    todo = [m for m in roots if m in paths]
    while todo:
        m = todo.pop()
        if m in loaded:
            continue
        loaded.add(m)
        src = strip_comments(git(mirror, "show", f"{tag}:{paths[m]}"))
        called = set(re.findall(r"\b([a-z]\w*):config_spec\(\)", src))
        if re.search(r"\((backend_module|translate_backend)\(B\)\):config_spec\(\)", src):
            backends = erl_list(src, "all_backends")
            called |= {f"{m}_{b}" for b in backends}
        todo += [c for c in called if c in paths and c not in loaded]
    return sorted(x for x in loaded if x in catalog)


def release(mirror: Path, tag: str) -> tuple[dict[str, dict[str, object]], list[str]]:
    files = [p for p in git(mirror, "ls-tree", "-r", "--name-only", tag, "src").split()
             if p.endswith(".erl")]
    paths = {Path(p).stem: p for p in files}
    wanted = sorted(m for m in paths
                    if (m.startswith("mod_") or m in MARKERS) and m not in HAND_WRITTEN)
    catalog = {m: module_facts(m, git(mirror, "show", f"{tag}:{paths[m]}")) for m in wanted}
    services = erl_list(git(mirror, "show", f"{tag}:{paths['mongoose_config_spec']}"),
                        "configurable_services") if "mongoose_config_spec" in paths else []
    for s in services:
        if s in paths and s not in HAND_WRITTEN and s not in catalog:
            catalog[s] = module_facts(s, git(mirror, "show", f"{tag}:{paths[s]}"))
    catalog = dict(sorted(catalog.items()))
    return catalog, config_spec_loaded(mirror, tag, paths, catalog)


def release_modules(mirror: Path, tag: str) -> set[str]:
    """The modules of the release: every ``src/**/*.erl`` at the tag (rebar lists them all in
    the ``.app`` file's ``modules`` key)."""
    names = git(mirror, "ls-tree", "-r", "--name-only", tag, "src").split()
    return {Path(n).stem for n in names if n.endswith(".erl")}


def layer_name(tag: str) -> str:
    return "rel_" + tag.replace(".", "_")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, default=MIRROR)
    args = ap.parse_args()
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    releases: dict[str, object] = {}
    layers: dict[str, object] = {}
    previous: set[str] = set()
    for tag in RELEASES:
        catalog, loaded = release(args.mirror, tag)
        layers[layer_name(tag)] = catalog
        # Every module the release's mongooseim.app lists (its src/**/*.erl), as a difference
        # from the previous release: what application:get_key(mongooseim, modules) answers.
        modules = release_modules(args.mirror, tag)
        releases[tag] = {"layer": layer_name(tag), "config_spec_loaded": loaded,
                         "modules_added": sorted(modules - previous),
                         "modules_removed": sorted(previous - modules)}
        previous = modules
    layers["custom"] = old.get("layers", {}).get("custom", {})
    doc = old.get("_doc", [])
    write(OUT, {"_doc": doc, "releases": releases, "layers": layers})


def write(path: Path, data: dict[str, object]) -> None:
    """One module per line, so diffs between regenerations stay readable."""
    lines = ["{", f'  "_doc": {json.dumps(data["_doc"], indent=4)},', '  "releases": {']
    rel = data["releases"]
    assert isinstance(rel, dict)
    lines += [f"    {json.dumps(k)}: {json.dumps(v)}," for k, v in rel.items()]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  },", '  "layers": {']
    layers = data["layers"]
    assert isinstance(layers, dict)
    for i, (name, mods) in enumerate(layers.items()):
        lines.append(f"    {json.dumps(name)}: {{")
        entries = [f"      {json.dumps(m)}: {json.dumps(s)}," for m, s in mods.items()]
        if entries:
            entries[-1] = entries[-1].rstrip(",")
        lines += entries
        lines.append("    }" + ("," if i < len(layers) - 1 else ""))
    lines += ["  }", "}"]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
