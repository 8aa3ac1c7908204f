"""Readers for the deployment kit (docker/, docs/deployment/), shared by the tests in this folder.

Small, dependency-light parsers: compose variable interpolation, Dockerfile instructions, systemd
unit files, compose port strings, and the bridge's planned command line (the option names every
deployment file may use). No Docker engine, no network: :func:`compose_cli` only asks the local
``docker`` command line which compose it has.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = ROOT / "docker"
DOCS_DIR = ROOT / "docs" / "deployment"
COMPOSE_FILE = DOCKER_DIR / "compose.yml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
DOCKERIGNORE = DOCKER_DIR / "Dockerfile.dockerignore"
MIM_CONFIG = DOCKER_DIR / "mongooseim" / "mongooseim.toml"
COOKIE_WRAPPER = DOCKER_DIR / "mongooseim" / "start-with-cookie.sh"
SYSTEMD_UNIT = DOCS_DIR / "mim-metrics-bridge.service"
K8S_MANIFEST = DOCS_DIR / "kubernetes-sidecar.yaml"
K8S_DEPLOYMENT = DOCS_DIR / "kubernetes-deployment.yaml"
DEPLOY_README = DOCS_DIR / "README.md"

#: The console script every deployment runs (never `bridge`: iproute2 owns /usr/sbin/bridge).
CONSOLE_SCRIPT = "mim-metrics-bridge"

# The bridge's planned command line (the brief the kit was written against): options that take
# a value, and mode flags. Once mim_bridge.app.cli exists, its parser is the reference instead.
PLANNED_VALUE_OPTIONS = frozenset(
    {
        "--node",
        "--cookie",
        "--cookie-file",
        "--report-file",
        "--state-dir",
        "--ga-url",
        "--initial-report",
        "--periodic-report",
        "--report",
        "--tracking-id",
        "--tracking-secret",
        "--log-format",
    }
)
PLANNED_FLAG_OPTIONS = frozenset({"--once", "--dry-run", "--check"})
#: BRIDGE_<OPTION> for every planned option, plus BRIDGE_DISCOVER (the Kubernetes sidecar's).
PLANNED_ENV = frozenset(
    {"BRIDGE_" + o[2:].upper().replace("-", "_") for o in PLANNED_VALUE_OPTIONS}
    | {"BRIDGE_DISCOVER"}
)


@dataclass(frozen=True)
class CliTable:
    value_options: frozenset[str]
    flag_options: frozenset[str]
    env: frozenset[str]


def _real_cli() -> CliTable | None:
    """The option table of the bridge's own parser (mim_bridge.app.cli), when it is importable."""
    try:
        from mim_bridge.app.cli import build_parser
        from mim_bridge.config import OPTIONS
    except ImportError:
        return None
    values: set[str] = set()
    flags: set[str] = set()
    for action in build_parser()._actions:
        for option in action.option_strings:
            if option.startswith("--"):
                (flags if action.nargs == 0 else values).add(option)
    return CliTable(frozenset(values), frozenset(flags), frozenset(o.env for o in OPTIONS))


REAL_CLI = _real_cli()
_TABLE = REAL_CLI or CliTable(PLANNED_VALUE_OPTIONS, PLANNED_FLAG_OPTIONS, PLANNED_ENV)
VALUE_OPTIONS = _TABLE.value_options
FLAG_OPTIONS = _TABLE.flag_options
KNOWN_OPTIONS = VALUE_OPTIONS | FLAG_OPTIONS
KNOWN_ENV = _TABLE.env

DURATION = re.compile(r"^\d+(ms|s|m|h|d)?$")
NODE_NAME = re.compile(r"^[A-Za-z0-9_-]+@[A-Za-z0-9._$()-]+$")


def compose_cli(docker: str | None = None) -> list[str] | None:
    """The compose command line: ``docker compose`` (plugin) if *docker* (default: the one on
    PATH) has it, else the legacy ``docker-compose``, else None."""
    docker = docker or shutil.which("docker")
    if docker:
        try:
            probe = subprocess.run([docker, "compose", "version"], check=False,
                                   capture_output=True, text=True, timeout=20)
            if probe.returncode == 0:
                return [docker, "compose"]
        except subprocess.TimeoutExpired:
            pass
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def script_names() -> dict[str, str]:
    """[project.scripts] of pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        scripts: dict[str, str] = tomllib.load(f)["project"]["scripts"]
    return scripts


# ------------------------------------------------------------------------------------------------
# The bridge's command line
# ------------------------------------------------------------------------------------------------


def parse_bridge_args(args: list[str]) -> list[tuple[str, str | None]]:
    """Split a bridge argument vector into (option, value) pairs, validating names and values.

    Raises ValueError naming the first problem: an unknown option, a missing value, a stray
    positional argument or a malformed value.
    """
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--"):
            raise ValueError(f"unexpected positional argument {token!r}")
        name, eq, inline = token.partition("=")
        if name not in KNOWN_OPTIONS:
            raise ValueError(f"unknown option {name!r}")
        if name in FLAG_OPTIONS:
            if eq:
                raise ValueError(f"{name} takes no value")
            pairs.append((name, None))
            i += 1
            continue
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise ValueError(f"{name} needs a value")
            value = args[i + 1]
            i += 2
        check_option_value(name, value)
        pairs.append((name, value))
    return pairs


def check_option_value(name: str, value: str) -> None:
    """Validate one option value as the bridge will (durations, booleans, enums, node names)."""
    if "${" in value:  # left to the environment (systemd, compose): checked where it is defined
        return
    if name in ("--initial-report", "--periodic-report") and not DURATION.match(value):
        raise ValueError(f"{name} {value!r} is not a duration like 30s, 5m or 3h")
    if name == "--report" and value not in ("true", "false"):
        raise ValueError(f"--report must be true or false, not {value!r}")
    if name == "--log-format" and value not in ("text", "json"):
        raise ValueError(f"--log-format must be text or json, not {value!r}")
    if name == "--node":
        for node in value.split(","):  # BRIDGE_NODE takes a comma-separated list
            if not NODE_NAME.match(node.strip()):
                raise ValueError(f"--node {node!r} is not NAME@HOST")
    if name == "--discover" and value not in ("true", "false"):
        raise ValueError(f"--discover must be true or false, not {value!r}")
    if name == "--tracking-id" and not value.startswith("G-"):
        raise ValueError(f"--tracking-id {value!r} is not a GA4 measurement id (G-...)")
    if name == "--ga-url" and not re.match(r"^https?://", value):
        raise ValueError(f"--ga-url {value!r} is not an http(s) URL")


def env_option(name: str) -> str:
    """BRIDGE_GA_URL -> --ga-url."""
    return "--" + name[len("BRIDGE_") :].lower().replace("_", "-")


def check_bridge_env(env: dict[str, Any]) -> None:
    """BRIDGE_* variables must name known options and carry valid values."""
    for key, raw in env.items():
        if not key.startswith("BRIDGE_"):
            continue
        if key not in KNOWN_ENV:
            raise ValueError(f"unknown bridge variable {key}")
        if raw is None or str(raw) == "":
            continue
        check_option_value(env_option(key), str(raw))


# ------------------------------------------------------------------------------------------------
# The fake GA4 endpoint's record file (tests/support/fake_ga.py --record)
# ------------------------------------------------------------------------------------------------


def ga4_body(record: dict[str, Any]) -> dict[str, Any] | None:
    """The Measurement Protocol body of one recorded request to /mp/collect, else None."""
    path = record.get("path")
    if path is not None and urlsplit(str(path)).path != "/mp/collect":
        return None
    if record.get("method", "POST") != "POST":
        return None
    if isinstance(record.get("events"), list):
        return record
    for key in ("json", "body", "payload", "data"):
        value = record.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, dict) and isinstance(value.get("events"), list):
            return value
    return None


def ga4_posts(record_text: str) -> list[tuple[float | None, dict[str, Any]]]:
    """(time the fake received it, GA4 body) of every recorded POST to /mp/collect, in order."""
    out: list[tuple[float | None, dict[str, Any]]] = []
    for line in record_text.splitlines():
        if line.strip():
            record = json.loads(line)
            body = ga4_body(record)
            if body is not None:
                when = record.get("time")
                out.append((float(when) if isinstance(when, (int, float)) else None, body))
    return out


def ga4_bodies(record_text: str) -> list[dict[str, Any]]:
    """Every GA4 body in a JSONL record file, in order."""
    return [body for _, body in ga4_posts(record_text)]


# ------------------------------------------------------------------------------------------------
# Compose
# ------------------------------------------------------------------------------------------------

_VAR = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err} and $$, recursively."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group("name"), m.group("op"), m.group("arg") or ""
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        if op in (":?", "?"):
            if not current:
                raise ValueError(f"variable {name} is required: {arg}")
            return current
        return current or ""

    return _VAR.sub(repl, value)


@dataclass(frozen=True)
class PortBinding:
    host_ip: str | None
    host_port: str | None
    container_port: str


def parse_port(entry: Any) -> PortBinding:
    """A compose `ports:` entry, short ("127.0.0.1:8080:80/tcp") or long ({host_ip: ...}) syntax."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return PortBinding(
            entry.get("host_ip"),
            None if published is None else str(published),
            str(entry["target"]),
        )
    text = str(entry).split("/")[0]
    if text.startswith("["):  # [::1]:8080:80
        ip, _, rest = text[1:].partition("]:")
        host_port, _, container = rest.rpartition(":")
        return PortBinding(ip, host_port or None, container)
    parts = text.split(":")
    if len(parts) == 3:
        return PortBinding(parts[0], parts[1] or None, parts[2])
    if len(parts) == 2:
        return PortBinding(None, parts[0], parts[1])
    return PortBinding(None, None, parts[0])


def service_env(service: dict[str, Any]) -> dict[str, Any]:
    """`environment:` as a dict, whether written as a mapping or as a KEY=VALUE list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        out: dict[str, Any] = {}
        for item in env:
            key, _, val = str(item).partition("=")
            out[key] = val
        return out
    return dict(env)


def volume_entries(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each `volumes:` entry of a service (short or long syntax)."""
    out: list[tuple[str, str]] = []
    for item in service.get("volumes") or []:
        if isinstance(item, dict):
            out.append((str(item.get("source", "")), str(item["target"])))
        else:
            parts = str(item).split(":")
            if len(parts) == 1:
                out.append(("", parts[0]))
            else:
                out.append((parts[0], parts[1]))
    return out


def is_bind_source(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or source in (".", "..")


# ------------------------------------------------------------------------------------------------
# Dockerfile
# ------------------------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


def dockerfile_lines(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: comments dropped, backslash continuations joined."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):  # comment lines inside a continuation are skipped
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        keyword, _, args = buf.partition(" ")
        out.append((keyword.upper(), args.strip()))
        buf = ""
    if buf:
        keyword, _, args = buf.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def parse_dockerfile(text: str) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, args in dockerfile_lines(text):
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            for arg_name, arg_default in global_args.items():
                base = base.replace("${" + arg_name + "}", arg_default).replace(
                    "$" + arg_name, arg_default
                )
            stages.append(Stage(base=base, name=name))
        elif not stages:
            if keyword == "ARG":
                arg_name, _, default = args.partition("=")
                global_args[arg_name.strip()] = default.strip()
        else:
            stages[-1].instructions.append((keyword, args))
    return Dockerfile(global_args, stages)


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form ENTRYPOINT/CMD, or None for shell form."""
    args = args.strip()
    if not args.startswith("["):
        return None
    value = json.loads(args)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"not a JSON string array: {args}")
    return value


def parse_env_instruction(args: str) -> dict[str, str]:
    """ENV KEY=VALUE ... (or the legacy ENV KEY VALUE)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    out: dict[str, str] = {}
    for word in words:
        key, _, val = word.partition("=")
        out[key] = val
    return out


def split_healthcheck(args: str) -> tuple[dict[str, str], list[str] | None]:
    """HEALTHCHECK [--opt=v ...] CMD ... -> (options, command vector); (opts, None) for NONE."""
    words = args.split()
    opts: dict[str, str] = {}
    i = 0
    while i < len(words) and words[i].startswith("--"):
        key, _, val = words[i][2:].partition("=")
        opts[key] = val
        i += 1
    rest = " ".join(words[i:])
    if rest.upper() == "NONE":
        return opts, None
    if not rest.upper().startswith("CMD"):
        raise ValueError(f"HEALTHCHECK without CMD: {args}")
    cmd = rest[3:].strip()
    vector = exec_form(cmd)
    return opts, vector if vector is not None else ["/bin/sh", "-c", cmd]


# ------------------------------------------------------------------------------------------------
# systemd unit
# ------------------------------------------------------------------------------------------------


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """{section: [(key, value), ...]} keeping repeated keys in order; continuations joined."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line[0] in "#;"):
            continue
        if buf and line and line[0] in "#;":
            continue
        if line.endswith("\\"):
            buf += line[:-1].rstrip() + " "
            continue
        line = buf + line
        buf = ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        if current is None:
            raise ValueError(f"assignment outside a section: {line}")
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not KEY=VALUE: {line}")
        current.append((key.strip(), value.strip()))
    return sections


def unit_values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]
