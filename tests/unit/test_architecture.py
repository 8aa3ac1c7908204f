"""The layout is the architecture: imports point down the layers, run modes stand alone, and
what one package takes from another is that package's declared public API.

Layers, bottom up. A package imports only from itself and from lower layers, so packages of one
layer (collect, report and ga4, say) know nothing of each other:

    erldist, vocab, util      distribution client; shared vocabulary; file and thread helpers
    errors                    the error root every run mode maps to an exit status
    collect, report, ga4      read the node; shape and anonymise the report; send it
    config                    options, files and environment
    pipeline                  one reporting cycle, built from the three above
    app                       run modes and their command line
    entry                     the console script
    __main__                  ``python -m mim_bridge``
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "mim_bridge"

LAYERS: list[set[str]] = [
    {"erldist", "vocab", "util"},
    {"errors"},
    {"collect", "report", "ga4"},
    {"config"},
    {"pipeline"},
    {"app"},
    {"entry"},
    {"__main__"},
]
LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}

# Inside app: the run modes share wiring, identity and the state lock, and may show things with
# view and health; they never import each other or the command line.
MODES = {"service", "oneshot", "check"}
SHARED = {"wiring", "identity", "statelock"}
PRESENTATION = {"view", "health"}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(("mim_bridge", *parts)), path


def imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """Every absolute ``mim_bridge`` import in *path*, at any depth (lazy ones count too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            if node.module and node.module.split(".")[0] == "mim_bridge":
                yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mim_bridge":
                    yield alias.name, [], node.lineno


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


ALL_MODULES = list(modules())


def test_every_package_is_in_a_layer() -> None:
    packages = {package(m) for m, _ in ALL_MODULES} - {""}
    assert packages == set(LAYER_OF)


@pytest.mark.parametrize(("module", "path"), ALL_MODULES, ids=[m for m, _ in ALL_MODULES])
def test_imports_point_down_the_layers(module: str, path: Path) -> None:
    own = package(module)
    for target, _, line in imports(path):
        dep = package(target)
        if dep in ("", own):  # the root holds only __version__
            continue
        assert LAYER_OF[dep] < LAYER_OF.get(own, len(LAYERS)), \
            f"{path.name}:{line}: {own} (layer {LAYER_OF[own]}) imports {target} " \
            f"(layer {LAYER_OF[dep]})"


def test_the_root_package_imports_nothing() -> None:
    assert list(imports(SRC / "__init__.py")) == []


def _app_part(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "app" else None


@pytest.mark.parametrize(("module", "path"),
                         [(m, p) for m, p in ALL_MODULES if _app_part(m)],
                         ids=[m for m, _ in ALL_MODULES if _app_part(m)])
def test_run_modes_stand_alone(module: str, path: Path) -> None:
    me = _app_part(module)
    for target, names, line in imports(path):
        dep = _app_part(target) if target != "mim_bridge.app" else None
        deps = {dep} if dep else (set(names) if target == "mim_bridge.app" else set())
        for d in deps - {me}:
            where = f"{path.name}:{line}: app.{me} imports app.{d}"
            assert d != "cli", where
            if me in MODES:
                assert d in SHARED | PRESENTATION, where
            elif me in SHARED:
                assert d in SHARED, where
            elif me in PRESENTATION:
                raise AssertionError(where)


@pytest.mark.parametrize(("module", "path"), ALL_MODULES, ids=[m for m, _ in ALL_MODULES])
def test_modules_declare_their_public_names(module: str, path: Path) -> None:
    if module.endswith("__main__"):
        return  # runs the program when imported
    mod = importlib.import_module(module)
    public = getattr(mod, "__all__", None)
    assert isinstance(public, list), f"{module} has no __all__"
    assert public == sorted(set(public), key=public.index), f"{module}: __all__ repeats a name"
    for name in public:
        assert hasattr(mod, name), f"{module}.__all__ names {name}, which it does not have"


@pytest.mark.parametrize(("module", "path"), ALL_MODULES, ids=[m for m, _ in ALL_MODULES])
def test_packages_take_only_public_names_from_each_other(module: str, path: Path) -> None:
    own = package(module)
    for target, names, line in imports(path):
        if package(target) in ("", own):
            continue
        public = importlib.import_module(target).__all__
        for name in names:
            assert name in public or importlib.util.find_spec(f"{target}.{name}") is not None, \
                f"{path.name}:{line}: {name} is not in {target}.__all__"
