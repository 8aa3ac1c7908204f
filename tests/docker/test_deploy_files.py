"""The deployment kit, checked without a Docker engine: fast, no network, on every run.

docker/compose.yml (PyYAML structure always; `docker compose config` / `docker-compose config` too
when one is installed), docker/Dockerfile, the MongooseIM config and cookie wrapper of the stack,
the systemd unit (`systemd-analyze verify` when available) and the Kubernetes sidecar manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from deploykit import (
    COMPOSE_FILE,
    CONSOLE_SCRIPT,
    COOKIE_WRAPPER,
    DEPLOY_README,
    DOCKER_DIR,
    DOCKERFILE,
    DOCKERIGNORE,
    K8S_DEPLOYMENT,
    K8S_MANIFEST,
    KNOWN_ENV,
    MIM_CONFIG,
    PLANNED_ENV,
    PLANNED_FLAG_OPTIONS,
    PLANNED_VALUE_OPTIONS,
    REAL_CLI,
    ROOT,
    SYSTEMD_UNIT,
    check_bridge_env,
    compose_cli,
    env_option,
    exec_form,
    ga4_bodies,
    interpolate,
    is_bind_source,
    parse_bridge_args,
    parse_dockerfile,
    parse_env_instruction,
    parse_port,
    parse_unit,
    script_names,
    service_env,
    split_healthcheck,
    unit_values,
    volume_entries,
)

MIM_SERVICES = ("mongooseim-1", "mongooseim-2")
BRIDGE_SERVICE = "mim-metrics-bridge"
FAKE_GA_SERVICE = "fake-ga"
STATE_DIR = "/var/lib/mim-metrics-bridge"
COOKIE_SECRET_PATH = "/run/secrets/erlang_cookie"


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_raw() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    """The compose file with every ${VAR:-default} resolved to its default (empty environment)."""
    resolved: dict[str, Any] = interpolate(compose_raw, {})
    return resolved


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = compose["services"]
    return svcs


@pytest.fixture(scope="module")
def dockerfile():
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(SYSTEMD_UNIT.read_text())


@pytest.fixture(scope="module")
def k8s_docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(K8S_MANIFEST.read_text()) if d]


def _bridge_command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    assert isinstance(command, list), "write the bridge command as a YAML list (exec form)"
    return [str(c) for c in command]


def _nodes(pairs: list[tuple[str, str | None]]) -> list[str]:
    return [v for k, v in pairs if k == "--node" and v is not None]


# ------------------------------------------------------------------------------------------------
# the kit's own parsers
# ------------------------------------------------------------------------------------------------


def test_bridge_argument_checker_rejects_what_the_bridge_would() -> None:
    assert parse_bridge_args(["--node", "a@b", "--once", "--periodic-report=3h"]) == [
        ("--node", "a@b"),
        ("--once", None),
        ("--periodic-report", "3h"),
    ]
    for bad in (
        ["--nodes", "a@b"],
        ["--node"],
        ["--node", "--once"],
        ["positional"],
        ["--once=yes"],
        ["--periodic-report", "three hours"],
        ["--report", "yes"],
        ["--node", "no-at-sign"],
        ["--tracking-id", "UA-1234-1"],
    ):
        with pytest.raises(ValueError):
            parse_bridge_args(bad)
    with pytest.raises(ValueError):
        check_bridge_env({"BRIDGE_NODES": "a@b"})
    check_bridge_env({"BRIDGE_NODE": "a@b", "BRIDGE_COOKIE_FILE": "/x", "OTHER": "y"})


def test_planned_options_exist_in_the_real_cli() -> None:
    """The command line the kit was written against is the one mim_bridge.app.cli defines."""
    if REAL_CLI is None:
        pytest.skip("mim_bridge.app.cli is not importable: "
                    "checked against the planned options only")
    assert REAL_CLI.value_options >= PLANNED_VALUE_OPTIONS
    assert REAL_CLI.flag_options >= PLANNED_FLAG_OPTIONS
    assert REAL_CLI.env >= PLANNED_ENV


def test_interpolation_and_port_parsing() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET:-d}/${UNSET:-d}/${EMPTY:-d}/${EMPTY-d}/$$x", env) == "v/d/d//$x"
    with pytest.raises(ValueError):
        interpolate("${UNSET:?needed}", env)
    assert parse_port("127.0.0.1:15222:5222").host_ip == "127.0.0.1"
    assert parse_port("127.0.0.1::5222/tcp").host_port is None
    assert parse_port("8080:80").host_ip is None
    assert parse_port("80").host_ip is None
    assert parse_port("[::1]:80:8080").host_ip == "::1"
    assert parse_port({"target": 80, "published": 8080, "host_ip": "127.0.0.1"}).host_port == "8080"


# ------------------------------------------------------------------------------------------------
# docker/compose.yml
# ------------------------------------------------------------------------------------------------


def test_compose_names_the_expected_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {*MIM_SERVICES, BRIDGE_SERVICE, FAKE_GA_SERVICE}


def test_compose_references_resolve(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], dockerfile
) -> None:
    secrets = compose.get("secrets") or {}
    volumes = compose.get("volumes") or {}
    networks = compose.get("networks") or {}
    stage_names = {s.name for s in dockerfile.stages}
    problems: list[str] = []
    for name, svc in services.items():
        for secret in svc.get("secrets") or []:
            source = secret["source"] if isinstance(secret, dict) else secret
            if source not in secrets:
                problems.append(f"{name}: secret {source} is not defined")
        for source, target in volume_entries(svc):
            if not source:
                continue
            if is_bind_source(source):
                if not (DOCKER_DIR / source).resolve().exists():
                    problems.append(f"{name}: bind source {source} (for {target}) does not exist")
            elif source not in volumes:
                problems.append(f"{name}: volume {source} is not defined")
        svc_networks = svc.get("networks") or []
        for net in svc_networks if isinstance(svc_networks, list) else list(svc_networks):
            if net not in networks:
                problems.append(f"{name}: network {net} is not defined")
        depends = svc.get("depends_on") or []
        for dep in depends if isinstance(depends, list) else list(depends):
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
        build = svc.get("build")
        if build is not None:
            context = (DOCKER_DIR / build["context"]).resolve()
            if context != ROOT:
                problems.append(f"{name}: build context {context} is not the repository root")
            if not (context / build["dockerfile"]).is_file():
                problems.append(f"{name}: no Dockerfile {build['dockerfile']}")
            if build.get("target") not in stage_names:
                problems.append(f"{name}: build target {build.get('target')} not in the Dockerfile")
        if "image" not in svc and "build" not in svc:
            problems.append(f"{name}: neither image nor build")
    for secret_name, secret in secrets.items():
        if not (DOCKER_DIR / secret["file"]).resolve().is_file():
            problems.append(f"secret {secret_name}: file {secret['file']} does not exist")
    used_volumes = {
        src
        for svc in services.values()
        for src, _ in volume_entries(svc)
        if src and not is_bind_source(src)
    }
    problems += [f"volume {v} is defined but unused" for v in set(volumes) - used_volumes]
    assert not problems, "\n".join(problems)


def test_compose_publishes_ports_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    published = []
    for name, svc in services.items():
        assert "network_mode" not in svc, f"{name}: network_mode bypasses the port bindings"
        for entry in svc.get("ports") or []:
            binding = parse_port(entry)
            assert binding.host_ip == "127.0.0.1", (
                f"{name}: port {entry!r} is not bound to 127.0.0.1"
            )
            published.append(binding.host_port)
    assert published, "the stack should publish something on 127.0.0.1 (XMPP, fake GA4)"
    assert len(published) == len(set(published)), f"host ports collide: {published}"


def test_compose_mongooseim_cluster(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    images = {services[n]["image"] for n in MIM_SERVICES}
    assert len(images) == 1, f"both nodes must run the same image, got {images}"
    image = images.pop()
    repo, _, tag = image.rpartition(":")
    assert repo == "mongooseim/mongooseim", image
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"pin a release tag, not {tag!r}"

    ordinal = None
    for index, name in enumerate(MIM_SERVICES):
        svc = services[name]
        env = service_env(svc)
        assert str(env.get("JOIN_CLUSTER")).lower() in ("true", "1"), f"{name}: JOIN_CLUSTER"
        assert env.get("NODE_TYPE", "sname") == "sname"
        ordinal = int(env.get("MASTER_ORDINAL", 1))
        # The image's start.sh: the node whose hostname ends in -MASTER_ORDINAL is the primary,
        # the others join NODE_NAME@<prefix>-MASTER_ORDINAL. So the hostnames are consecutive.
        assert svc["hostname"] == f"{env.get('NODE_NAME', 'mongooseim')}-{ordinal + index}"
        assert name == svc["hostname"], "service name = hostname, so the nodes resolve each other"
        assert "erlang_cookie" in [s if isinstance(s, str) else s["source"] for s in svc["secrets"]]
        mounts = {t: s for s, t in volume_entries(svc)}
        assert (DOCKER_DIR / mounts["/member/mongooseim.toml"]).resolve() == MIM_CONFIG
        entrypoint = " ".join(svc["entrypoint"])
        wrapper_target = next(t for t, s in mounts.items() if s.endswith("start-with-cookie.sh"))
        assert wrapper_target in entrypoint, f"{name}: entrypoint must run the cookie wrapper"
        assert (DOCKER_DIR / mounts[wrapper_target]).resolve() == COOKIE_WRAPPER
        assert "/var/lib/mongooseim" in mounts, f"{name}: keep Mnesia on a named volume"
    assert ordinal is not None
    # mongooseim-2 joins mongooseim-1 at start-up: it must wait until that one is healthy.
    dep = services[MIM_SERVICES[1]]["depends_on"][MIM_SERVICES[0]]
    assert dep["condition"] == "service_healthy"
    assert "healthcheck" in services[MIM_SERVICES[0]]


def test_mongooseim_config_leaves_the_in_vm_reporter_out() -> None:
    with MIM_CONFIG.open("rb") as f:
        config = tomllib.load(f)
    # Absent section: the in-VM service does not run, and the bridge reports. (`report = false`
    # is an opt-out that the bridge honours by reporting nothing, so it must not be used here.)
    assert "service_mongoose_system_metrics" not in config.get("services", {})
    # What the end-to-end test expects to find in the report.
    modules = config["modules"]
    assert {m for m, opts in modules.items() if opts.get("backend") == "mnesia"} >= {
        "mod_roster",
        "mod_vcard",
    }
    handlers = {h for listener in config["listen"]["http"] for h in listener["handlers"]}
    assert {"mod_bosh", "mod_websockets"} <= handlers
    assert config["listen"]["c2s"], "a c2s listener gives the tcp transport"


def _effective_bridge_options(
    bridge: dict[str, Any], dockerfile
) -> tuple[dict[str, str | None], list[str]]:
    """Options as the bridge sees them: image ENV < service environment < command; and the nodes."""
    options: dict[str, str | None] = {}
    for args in dockerfile.stages[-1].all("ENV"):
        for key, value in parse_env_instruction(args).items():
            if key.startswith("BRIDGE_"):
                options[env_option(key)] = value
    for key, value in service_env(bridge).items():
        if key.startswith("BRIDGE_"):
            options[env_option(key)] = None if value is None else str(value)
    pairs = parse_bridge_args(_bridge_command(bridge))
    command_nodes = _nodes(pairs)
    options.update({k: v for k, v in pairs if k != "--node"})
    env_nodes = str(options.pop("--node", "") or "")
    nodes = command_nodes or [n.strip() for n in env_nodes.split(",") if n.strip()]
    return options, nodes


def test_compose_bridge_service(
    compose: dict[str, Any], services: dict[str, dict[str, Any]], dockerfile
) -> None:
    bridge = services[BRIDGE_SERVICE]
    assert bridge["build"]["target"] == dockerfile.stages[-1].name, (
        "the bridge is the default stage"
    )
    env = service_env(bridge)
    check_bridge_env(env)
    assert "BRIDGE_COOKIE" not in env, "no cookie in the environment of the stack"
    command = dict(parse_bridge_args(_bridge_command(bridge)))
    assert "--cookie" not in command, "the cookie comes from the secret file, never the command"
    assert "--once" not in command and "--dry-run" not in command, "the stack runs the service"
    assert "--report" not in command or command["--report"] != "false"

    options, nodes = _effective_bridge_options(bridge, dockerfile)
    expected_nodes = {
        f"{service_env(services[n]).get('NODE_NAME', 'mongooseim')}@{services[n]['hostname']}"
        for n in MIM_SERVICES
    }
    assert set(nodes) == expected_nodes, "the bridge must be pointed at both nodes"
    # The health check is a separate process: it sees the environment, not the command line.
    env_nodes = {n.strip() for n in str(env.get("BRIDGE_NODE", "")).split(",") if n.strip()}
    assert env_nodes == expected_nodes, "give the nodes as BRIDGE_NODE, so --check sees them"
    assert "BRIDGE_GA_URL" in env, "give the endpoint as BRIDGE_GA_URL, so --check sees it"

    ga = urlsplit(str(options["--ga-url"]))
    assert ga.hostname == FAKE_GA_SERVICE and ga.path == "/mp/collect"
    fake_ga_ports = {
        parse_port(p).container_port for p in services[FAKE_GA_SERVICE].get("ports", [])
    }
    assert str(ga.port) in fake_ga_ports, "--ga-url must name the fake endpoint's container port"

    # The cookie secret lands where the bridge looks for it.
    assert [s if isinstance(s, str) else s["source"] for s in bridge["secrets"]] == [
        "erlang_cookie"
    ]
    assert options["--cookie-file"] == COOKIE_SECRET_PATH

    # Report file and state on the named volume.
    mounts = {t: s for s, t in volume_entries(bridge)}
    assert STATE_DIR in mounts and not is_bind_source(mounts[STATE_DIR])
    assert str(options["--state-dir"]) == STATE_DIR
    assert str(options["--report-file"]).startswith(STATE_DIR + "/")

    # Isolation: only internal networks, so nothing can reach the real Google Analytics.
    networks = compose["networks"]
    bridge_networks = (
        bridge["networks"] if isinstance(bridge["networks"], list) else list(bridge["networks"])
    )
    assert bridge_networks and all(
        networks[n] and networks[n].get("internal") for n in bridge_networks
    )
    assert not bridge.get("ports"), "the bridge serves nothing"
    for svc in (*MIM_SERVICES, FAKE_GA_SERVICE):
        other = services[svc]["networks"]
        assert set(bridge_networks) & set(other if isinstance(other, list) else list(other)), svc
    for dep in (*MIM_SERVICES, FAKE_GA_SERVICE):
        assert dep in bridge["depends_on"]

    # Health: the image's HEALTHCHECK (checked below), unless overridden with another one that
    # does not touch the cluster or Google (never --check, a full collection and a probe of GA4).
    healthcheck = bridge.get("healthcheck")
    if healthcheck is not None:
        assert not healthcheck.get("disable"), "keep the bridge's health check"
        test = [str(t) for t in healthcheck["test"]]
        assert test[:3] == ["CMD", CONSOLE_SCRIPT, "health"] and "--check" not in test

    assert bridge.get("read_only") is True and "ALL" in bridge.get("cap_drop", [])


def _fake_ga_argv(dockerfile, stage_name: str) -> list[str]:
    stage = dockerfile.stage(stage_name)
    return (exec_form(stage.last("ENTRYPOINT") or "[]") or []) + (
        exec_form(stage.last("CMD") or "[]") or []
    )


def test_compose_fake_ga_service(services: dict[str, dict[str, Any]], dockerfile) -> None:
    fake = services[FAKE_GA_SERVICE]
    argv = _fake_ga_argv(dockerfile, fake["build"]["target"])
    assert "--record" in argv and "--port" in argv
    assert argv[argv.index("--host") + 1] == "0.0.0.0", "reachable from the other containers"
    record = argv[argv.index("--record") + 1]
    mounts = {t: s for s, t in volume_entries(fake)}
    assert any(record.startswith(t + "/") for t in mounts), "the record file must be on a volume"
    assert argv[argv.index("--port") + 1] in {parse_port(p).container_port for p in fake["ports"]}


def test_fake_ga_image_command_records_ga4_posts(
    services: dict[str, dict[str, Any]], dockerfile, tmp_path: Path
) -> None:
    """Run the fake-ga image's command here (loopback, temp record file) and read its record
    the way the end-to-end test does."""
    argv = _fake_ga_argv(dockerfile, services[FAKE_GA_SERVICE]["build"]["target"])
    script = next(a for a in argv if a.endswith("fake_ga.py"))
    record = tmp_path / "requests.jsonl"
    port_file = tmp_path / "port"
    local = {
        "python": sys.executable,
        script: str(ROOT / "tests" / "support" / "fake_ga.py"),
        "0.0.0.0": "127.0.0.1",
        argv[argv.index("--port") + 1]: "0",
        argv[argv.index("--record") + 1]: str(record),
    }
    command = [local.get(a, a) for a in argv] + ["--port-file", str(port_file)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            deadline = time.monotonic() + 20
            while not port_file.exists():
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the fake GA4 endpoint did not start"
                time.sleep(0.05)
            port = int(port_file.read_text())
            body = {"client_id": "c1", "events": [{"name": "host_count", "params": {"value": 1}}]}
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/mp/collect?measurement_id=G-TEST&api_secret=s",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status in (200, 204)
        finally:
            proc.terminate()
            proc.communicate(timeout=20)
    assert ga4_bodies(record.read_text()) == [body]


def test_compose_variables_have_safe_defaults(compose_raw: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}", text):
        assert m.group(2).startswith(":-"), (
            f"${{{m.group(1)}}} needs a default so the stack starts as is"
        )


def test_compose_config_resolves_with_the_compose_tool(tmp_path: Path) -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed (apt-get install "
            "docker-compose); the PyYAML structure checks above still ran"
        )
    cookie = tmp_path / "cookie"
    cookie.write_text("TESTCOOKIE\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BRIDGE_", "MIM_", "FAKE_GA_", "STACK_", "COMPOSE_", "DOCKER_"))
    }
    env["ERLANG_COOKIE_FILE"] = str(cookie)
    env["MIM_1_C2S_PORT"] = "25222"
    env["STACK_PERIODIC_REPORT"] = "15s"
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=DOCKER_DIR,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {*MIM_SERVICES, BRIDGE_SERVICE, FAKE_GA_SERVICE}
    assert resolved["secrets"]["erlang_cookie"]["file"] == str(cookie)
    ports = [parse_port(p) for svc in resolved["services"].values() for p in svc.get("ports") or []]
    assert ports and all(p.host_ip == "127.0.0.1" for p in ports), ports
    assert "25222" in {p.host_port for p in ports}, "variables must reach the port bindings"
    command = parse_bridge_args([str(c) for c in resolved["services"][BRIDGE_SERVICE]["command"]])
    assert ("--periodic-report", "15s") in command, "variables must reach the bridge's command"


# ------------------------------------------------------------------------------------------------
# docker/Dockerfile
# ------------------------------------------------------------------------------------------------


def test_dockerfile_entrypoint_is_the_installed_console_script(dockerfile) -> None:
    runtime = dockerfile.stages[-1]
    assert runtime.base.startswith("python:3.11-slim"), runtime.base
    entrypoint = exec_form(runtime.last("ENTRYPOINT") or "")
    assert entrypoint == [CONSOLE_SCRIPT], f"ENTRYPOINT must be exec form [{CONSOLE_SCRIPT!r}]"
    scripts = script_names()
    assert scripts.get(CONSOLE_SCRIPT) == "mim_bridge.entry:main", scripts
    # Installed into the virtualenv that is on PATH.
    env: dict[str, str] = {}
    for args in runtime.all("ENV"):
        env.update(parse_env_instruction(args))
    venv = next(p for p in env["PATH"].split(":") if p.endswith("/bin"))
    copied = [a for a in runtime.all("COPY") if a.startswith("--from=")]
    assert any(venv.rsplit("/bin", 1)[0] in a for a in copied), "the venv on PATH is copied in"
    assert runtime.last("CMD") is None, "no default arguments: the options come from BRIDGE_*"


def test_dockerfile_runs_as_non_root(dockerfile) -> None:
    final = [s for s in dockerfile.stages if s.last("ENTRYPOINT") is not None]
    assert dockerfile.stages[-1] in final
    for stage in final:
        user = stage.last("USER")
        assert user is not None, f"stage {stage.name}: no USER"
        name = user.split(":")[0]
        assert name not in ("root", "0"), f"stage {stage.name} runs as root"
        assert name.isdigit(), "numeric uid, so Kubernetes runAsNonRoot can verify it"
        # USER comes before the entry point.
        keys = [k for k, _ in stage.instructions]
        assert keys.index("USER") < keys.index("ENTRYPOINT")


def test_dockerfile_healthcheck_reads_the_status_file_not_the_cluster(dockerfile) -> None:
    """`health` judges the status file the service keeps; --check (a full collection plus a
    connection to Google every 30 s, ~30 MiB a probe) is for humans."""
    opts, command = split_healthcheck(dockerfile.stages[-1].last("HEALTHCHECK") or "")
    assert command is not None, "HEALTHCHECK NONE"
    assert command[:2] == [CONSOLE_SCRIPT, "health"] and "--check" not in command
    assert {"interval", "timeout", "start-period", "retries"} <= set(opts)
    env: dict[str, str] = {}
    for args in dockerfile.stages[-1].all("ENV"):
        env.update(parse_env_instruction(args))
    host, _, port = env["BRIDGE_HTTP_LISTEN"].rpartition(":")
    assert host == "0.0.0.0", "the endpoint is on in the image, for probes from outside"
    exposed = [p for args in dockerfile.stages[-1].all("EXPOSE") for p in args.split()]
    assert port in exposed


def test_dockerfile_cookie_state_and_env(dockerfile) -> None:
    runtime = dockerfile.stages[-1]
    env: dict[str, str] = {}
    for args in runtime.all("ENV"):
        env.update(parse_env_instruction(args))
    bridge_env = {k: v for k, v in env.items() if k.startswith("BRIDGE_")}
    check_bridge_env(bridge_env)
    assert set(bridge_env) <= KNOWN_ENV
    assert env["BRIDGE_COOKIE_FILE"] == COOKIE_SECRET_PATH
    assert "BRIDGE_COOKIE" not in env, "no cookie baked into the image"
    assert env["BRIDGE_STATE_DIR"] == STATE_DIR
    assert env["BRIDGE_REPORT_FILE"].startswith(STATE_DIR + "/")
    volumes = [v for args in runtime.all("VOLUME") for v in (exec_form(args) or args.split())]
    assert STATE_DIR in volumes


def test_dockerfile_copies_only_what_the_build_context_sends(dockerfile) -> None:
    allowed = [
        line[1:].rstrip("/*")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.startswith("!")
    ]
    for stage in dockerfile.stages:
        for args in stage.all("COPY"):
            words = [w for w in args.split() if not w.startswith("--")]
            if args.startswith("--from="):
                continue
            for source in words[:-1]:
                pattern = source.rstrip("/")
                assert any(pattern.startswith(a) for a in allowed), (
                    f"COPY {source}: excluded by {DOCKERIGNORE.name}"
                )
                if "*" not in source:
                    assert (ROOT / pattern).exists(), f"COPY {source}: not in the repository"


# ------------------------------------------------------------------------------------------------
# docker/mongooseim/start-with-cookie.sh
# ------------------------------------------------------------------------------------------------


def _run_wrapper(
    tmp_path: Path, cookie: str | None, vm_args: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    vm = tmp_path / "vm.args"
    vm.write_text(vm_args)
    cookie_file = tmp_path / "cookie"
    if cookie is not None:
        cookie_file.write_text(cookie)
    nxt = tmp_path / "next.sh"
    nxt.write_text('#!/bin/sh\necho "next $*"\n')
    nxt.chmod(nxt.stat().st_mode | stat.S_IXUSR)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ERLANG_COOKIE_FILE": str(cookie_file),
        "MIM_VM_ARGS": str(vm),
        "MIM_START": str(nxt),
    }
    result = subprocess.run(
        ["bash", str(COOKIE_WRAPPER), "--x"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    return result, vm.read_text()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_cookie_wrapper_rewrites_vm_args(tmp_path: Path) -> None:
    vm_args = (
        "-sname mongooseim@host\n\n## Cookie\n-setcookie ejabberd\n-env ERL_FULLSWEEP_AFTER 2\n"
    )
    cookie = r"A&b/c\d|e$f"
    result, written = _run_wrapper(tmp_path, cookie + "\n", vm_args)
    assert result.returncode == 0, result.stderr
    assert "next --x" in result.stdout, "hands over to the image's start script with the arguments"
    assert cookie not in result.stdout + result.stderr, "never prints the cookie"
    assert written == vm_args.replace("-setcookie ejabberd", f"-setcookie {cookie}")

    result, written = _run_wrapper(tmp_path, "SECRET", "-sname n@h\n")
    assert result.returncode == 0 and written == "-sname n@h\n-setcookie SECRET\n"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("cookie", [None, "", "\n", "two words\n"])
def test_cookie_wrapper_refuses_bad_cookies(tmp_path: Path, cookie: str | None) -> None:
    result, written = _run_wrapper(tmp_path, cookie, "-setcookie ejabberd\n")
    assert result.returncode == 78, result
    assert result.stderr.startswith("start-with-cookie: ") and result.stderr.count("\n") == 1
    assert written == "-setcookie ejabberd\n" and "next" not in result.stdout


# ------------------------------------------------------------------------------------------------
# docs/deployment/mim-metrics-bridge.service
# ------------------------------------------------------------------------------------------------


def _exec_start(unit: dict[str, list[tuple[str, str]]]) -> list[str]:
    (line,) = unit_values(unit, "Service", "ExecStart")
    return line.split()


def test_systemd_unit_required_keys(unit: dict[str, list[tuple[str, str]]]) -> None:
    def one(key: str) -> str:
        values = unit_values(unit, "Service", key)
        assert values, f"[Service] {key}= is missing"
        return values[-1]

    argv = _exec_start(unit)
    assert Path(argv[0]).name == CONSOLE_SCRIPT and argv[0].startswith("/")
    pairs = parse_bridge_args(argv[1:])
    options = dict(pairs)
    assert "--cookie" not in options

    credentials = [c.split(":", 1) for c in unit_values(unit, "Service", "LoadCredential")]
    if credentials:
        (name, source) = credentials[0]
        assert source.startswith("/")
        assert options["--cookie-file"] == f"%d/{name}", "read the cookie from the credential"
    else:
        assert options.get("--cookie-file", "").startswith("/")

    assert one("Restart") == "on-failure"
    prevent = {
        int(c) for v in unit_values(unit, "Service", "RestartPreventExitStatus") for c in v.split()
    }
    assert 3 not in prevent and 1 not in prevent, "unreachable node / crash: keep restarting"
    if REAL_CLI is not None:
        from mim_bridge.errors import ExitCode

        assert prevent <= {int(c) for c in ExitCode}, prevent
    assert re.fullmatch(r"\d+(ms|s|min)?", one("RestartSec"))
    dynamic = unit_values(unit, "Service", "DynamicUser")
    assert (dynamic and dynamic[-1] == "yes") or unit_values(unit, "Service", "User")
    assert one("ProtectSystem") == "strict"
    assert one("ProtectHome") in ("yes", "read-only", "tmpfs")
    assert one("NoNewPrivileges") == "yes"
    assert one("PrivateTmp") == "yes"
    state = one("StateDirectory")
    assert options["--state-dir"] == f"%S/{state}"
    assert options["--report-file"].startswith(f"%S/{state}/")
    assert one("RestrictAddressFamilies").split() == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert one("CapabilityBoundingSet") == ""
    assert unit_values(unit, "Install", "WantedBy") == ["multi-user.target"]
    for file in unit_values(unit, "Service", "EnvironmentFile"):
        assert file.startswith("-"), "an optional environment file must not block the start"
    for env_line in unit_values(unit, "Service", "Environment"):
        key, _, value = env_line.partition("=")
        check_bridge_env({key: value})
        assert key != "BRIDGE_COOKIE"


def _systemd_copy(tmp_path: Path) -> Path:
    """The unit with its ExecStart pointed at a stub of the same name, so verify can run here."""
    stub = tmp_path / "bin" / CONSOLE_SCRIPT
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    unit_copy = tmp_path / SYSTEMD_UNIT.name
    text = SYSTEMD_UNIT.read_text()
    original = re.search(r"^ExecStart=(\S+)", text, re.MULTILINE)
    assert original
    unit_copy.write_text(text.replace(original.group(1), str(stub)))
    return unit_copy


# systemd < 254 does not know the exponential restart backoff keys and ignores them.
_TOLERATED = re.compile(r"Unknown key '(RestartSteps|RestartMaxDelaySec)' in section \[Service\]")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    unit_copy = _systemd_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit_copy)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not _TOLERATED.search(line)
    ]
    assert result.returncode == 0 and not complaints, "\n".join(complaints) or result


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_analyze_security_exposure(tmp_path: Path) -> None:
    unit_copy = _systemd_copy(tmp_path)
    result = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=yes",
            "--threshold=25",
            "--no-pager",
            str(unit_copy),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("this systemd-analyze has no offline security review (systemd < 250)")
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert level, result.stdout[-2000:] + result.stderr
    assert float(level.group(1)) <= 2.5 and result.returncode == 0, level.group(0)


# ------------------------------------------------------------------------------------------------
# docs/deployment/kubernetes-sidecar.yaml
# ------------------------------------------------------------------------------------------------


def test_kubernetes_sidecar(k8s_docs: list[dict[str, Any]]) -> None:
    kinds = {d["kind"]: d for d in k8s_docs}
    sts = kinds["StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"mongooseim", CONSOLE_SCRIPT}
    bridge = containers[CONSOLE_SCRIPT]
    mim = containers["mongooseim"]

    # Node name from the pod's own hostname (downward API), cookie from a Secret file.
    env = {e["name"]: e for e in bridge["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    node = env["BRIDGE_NODE"]["value"]
    assert node.startswith("mongooseim@$(POD_NAME).") and sts["spec"]["serviceName"] in node
    check_bridge_env({k: e.get("value") for k, e in env.items() if "value" in e})
    assert "BRIDGE_COOKIE" not in env
    volumes = {v["name"]: v for v in pod["volumes"]}
    cookie_path = env["BRIDGE_COOKIE_FILE"]["value"]
    mount = next(m for m in bridge["volumeMounts"] if cookie_path.startswith(m["mountPath"] + "/"))
    secret = volumes[mount["name"]]["secret"]
    assert mount.get("readOnly") is True
    assert cookie_path.rsplit("/", 1)[1] in [
        i["path"] for i in secret.get("items", [])
    ] or not secret.get("items")
    # Both containers use the same secret; the bridge (uid 10001) can read it through fsGroup.
    assert any(m["name"] == mount["name"] for m in mim["volumeMounts"])
    assert pod["securityContext"]["fsGroup"] == bridge["securityContext"]["runAsGroup"]
    assert secret["defaultMode"] & 0o040

    assert bridge["resources"]["limits"]["memory"] == "64Mi"
    sc = bridge["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]
    ports = {p["name"]: p["containerPort"] for p in bridge["ports"]}
    listen = env["BRIDGE_HTTP_LISTEN"]["value"]
    for probe in ("livenessProbe", "startupProbe"):
        get = bridge[probe]["httpGet"]
        assert get["path"] == "/healthz" and str(ports[get["port"]]) == listen.rsplit(":", 1)[1]
    # A sidecar that is not ready takes MongooseIM's pod out of its Services: no readiness.
    assert "readinessProbe" not in bridge
    state = next(m for m in bridge["volumeMounts"] if m["mountPath"] == STATE_DIR)
    assert state["name"] in {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
    assert "args" not in bridge or "--cookie" not in bridge["args"]
    if "args" in bridge:
        parse_bridge_args(bridge["args"])

    # One bridge per pod: each reports its own node only.
    assert env["BRIDGE_DISCOVER"]["value"] == "false"

    # MongooseIM side: StatefulSet clustering conventions of the official image.
    mim_env = {e["name"]: e.get("value") for e in mim["env"]}
    assert mim_env["MASTER_ORDINAL"] == "0" and mim_env["NODE_TYPE"] == "name"
    assert mim["image"].startswith("mongooseim/mongooseim:")
    assert kinds["Service"]["spec"]["clusterIP"] == "None"
    assert kinds["Service"]["metadata"]["name"] == sts["spec"]["serviceName"]
    config = kinds["ConfigMap"]["data"]
    mim_config = tomllib.loads(config["mongooseim.toml"])
    assert "service_mongoose_system_metrics" not in mim_config.get("services", {}), (
        "no in-VM reporter (and no report = false, which the bridge honours as an opt-out)"
    )
    assert config["start-with-cookie.sh"] == COOKIE_WRAPPER.read_text(), (
        "the ConfigMap's copy of start-with-cookie.sh drifted from docker/mongooseim/"
    )
    assert "start-with-cookie.sh" in " ".join(mim["command"])


def test_kubernetes_manifest_matches_the_api_schema(k8s_docs: list[dict[str, Any]]) -> None:
    """Strict OpenAPI-schema validation, where the optional kubernetes-validate is installed."""
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate for the schema check"
    )
    for doc in k8s_docs:
        for version in ("1.27.0", kubernetes_validate.latest_version()):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{doc['kind']} {doc['metadata']['name']} (Kubernetes {version}): {e}")


# ------------------------------------------------------------------------------------------------
# docs/deployment/README.md and the real command line
# ------------------------------------------------------------------------------------------------


def test_deployment_readme_explains_the_kit() -> None:
    text = DEPLOY_README.read_text()
    for needle in (
        "iproute2",
        "/usr/sbin/bridge",
        SYSTEMD_UNIT.name,
        K8S_MANIFEST.name,
        K8S_DEPLOYMENT.name,
        "--check",
        "health",
        "/readyz",
        "service_mongoose_system_metrics",
        "BRIDGE_DISCOVER=false",
        "systemd-analyze verify",
    ):
        assert needle in text, f"docs/deployment/README.md should mention {needle}"


def _load_like_main(argv: list[str], environ: dict[str, str], cwd: Path) -> Any:
    """Parse *argv* with the bridge's own parser and load its Config the way cli.main does."""
    from mim_bridge.app.cli import build_parser
    from mim_bridge.config import ConfigError, load

    try:
        args = vars(build_parser("mim-metrics-bridge").parse_args(argv))
    except SystemExit as e:
        pytest.fail(f"the bridge rejects {argv}: exit status {e.code}")
    args.pop("verbose", None)
    args.pop("quiet", None)
    chosen = [m for m in ("dry_run", "validate", "check") if args.pop(m, False)]
    mode = chosen[0] if chosen else "once" if args.pop("once", False) else "service"
    args.pop("once", None)
    config_file = args.pop("config", None)
    try:
        return load(args, environ, mode=mode, config_file=config_file, cwd=cwd)
    except ConfigError as e:
        pytest.fail(f"the bridge refuses {argv} with {sorted(environ)}: {e}")


def _image_env(dockerfile) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in dockerfile.stages[-1].all("ENV"):
        env.update(
            {k: v for k, v in parse_env_instruction(args).items() if k.startswith("BRIDGE_")}
        )
    return env


@pytest.fixture
def real_cli() -> None:
    if REAL_CLI is None:
        pytest.skip("mim_bridge.app.cli is not written yet: "
                    "options checked against the planned list")


def test_compose_bridge_configuration_loads(
    real_cli: None, services: dict[str, dict[str, Any]], dockerfile, tmp_path: Path
) -> None:
    """The compose service and the image's health check, as the real bridge reads them."""
    cookie = tmp_path / "erlang_cookie"
    cookie.write_text("COOKIE\n")
    bridge = services[BRIDGE_SERVICE]
    environ = {**_image_env(dockerfile), **{k: str(v) for k, v in service_env(bridge).items()}}
    assert environ["BRIDGE_COOKIE_FILE"] == COOKIE_SECRET_PATH
    environ["BRIDGE_COOKIE_FILE"] = str(cookie)  # where the secret would be mounted

    service = _load_like_main(_bridge_command(bridge), environ, tmp_path)
    assert service.mode == "service"
    assert service.nodes == ("mongooseim@mongooseim-1", "mongooseim@mongooseim-2")
    assert service.cookie == "COOKIE"
    assert service.ga_url == "http://fake-ga:8080/mp/collect"
    assert str(service.report_file).startswith(STATE_DIR + "/")
    assert str(service.state_dir) == STATE_DIR
    assert (service.initial_report, service.periodic_report) == (30.0, 3 * 3600.0)
    assert service.report is None, "unset: the bridge logs its transparency notice, then reports"

    assert service.http_listen == ("0.0.0.0", 9795)
    # The health check is a separate process that sees only the environment: it must find the
    # status file in the state directory the service uses.
    from mim_bridge.app.health.command import state_dir

    _, health = split_healthcheck(dockerfile.stages[-1].last("HEALTHCHECK") or "")
    assert health == [CONSOLE_SCRIPT, "health"]
    assert state_dir(None, None, environ) == service.state_dir


def test_systemd_unit_configuration_loads(real_cli: None, unit, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "erlang_cookie").write_text("COOKIE\n")
    argv = [
        a.replace("%d", str(credentials)).replace("%S", str(tmp_path / "state"))
        for a in _exec_start(unit)[1:]
    ]
    environ = dict(line.split("=", 1) for line in unit_values(unit, "Service", "Environment"))
    config = _load_like_main(argv, environ, tmp_path)
    assert config.mode == "service" and config.nodes == ("mongooseim@localhost",)
    assert config.cookie == "COOKIE"
    assert config.state_dir == tmp_path / "state" / "mim-metrics-bridge"


def test_kubernetes_sidecar_configuration_loads(
    real_cli: None, k8s_docs: list[dict[str, Any]], tmp_path: Path
) -> None:
    sts = next(d for d in k8s_docs if d["kind"] == "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    bridge = next(c for c in pod["containers"] if c["name"] == CONSOLE_SCRIPT)
    downward = {"POD_NAME": "mongooseim-0", "POD_NAMESPACE": "chat"}
    environ: dict[str, str] = {}
    for e in bridge["env"]:
        if "value" in e:
            value = str(e["value"])
            for name, sub in downward.items():
                value = value.replace(f"$({name})", sub)
            environ[e["name"]] = value
    cookie = tmp_path / "erlang_cookie"
    cookie.write_text("COOKIE\n")
    environ["BRIDGE_COOKIE_FILE"] = str(cookie)
    service = _load_like_main([str(a) for a in bridge.get("args", [])], environ, tmp_path)
    assert service.nodes == ("mongooseim@mongooseim-0.mongooseim.chat.svc.cluster.local",)
    assert service.discover is False, "each sidecar reports its own node only"
    assert service.own_name is None, "the bridge picks a unique hidden long name itself"
    assert service.http_listen == ("0.0.0.0", 9795)


# ------------------------------------------------------------------------------------------------
# docs/deployment/kubernetes-deployment.yaml
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s_deployment_docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(K8S_DEPLOYMENT.read_text()) if d]


def test_kubernetes_deployment(k8s_deployment_docs: list[dict[str, Any]]) -> None:
    kinds = {d["kind"]: d for d in k8s_deployment_docs}
    deployment = kinds["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", (
        "exactly one bridge per cluster, never two during an update"
    )
    pod = spec["template"]["spec"]
    (bridge,) = pod["containers"]
    env = {e["name"]: e for e in bridge["env"]}
    check_bridge_env({k: e.get("value") for k, e in env.items() if "value" in e})
    assert "BRIDGE_COOKIE" not in env and env.get("BRIDGE_DISCOVER") is None
    ports = {p["name"]: p["containerPort"] for p in bridge["ports"]}
    port = env["BRIDGE_HTTP_LISTEN"]["value"].rsplit(":", 1)[1]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = bridge[probe]["httpGet"]
        assert get["path"] == path and str(ports[get["port"]]) == port
    assert bridge["resources"]["limits"]["memory"] == "64Mi"
    sc = bridge["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    state = next(m for m in bridge["volumeMounts"] if m["mountPath"] == STATE_DIR)
    volume = next(v for v in pod["volumes"] if v["name"] == state["name"])
    assert volume["persistentVolumeClaim"]["claimName"] == \
        kinds["PersistentVolumeClaim"]["metadata"]["name"]


def test_kubernetes_deployment_configuration_loads(
    real_cli: None, k8s_deployment_docs: list[dict[str, Any]], tmp_path: Path
) -> None:
    deployment = next(d for d in k8s_deployment_docs if d["kind"] == "Deployment")
    (bridge,) = deployment["spec"]["template"]["spec"]["containers"]
    environ = {
        e["name"]: str(e["value"]).replace("$(POD_NAMESPACE)", "chat")
        for e in bridge["env"]
        if "value" in e
    }
    cookie = tmp_path / "erlang_cookie"
    cookie.write_text("COOKIE\n")
    environ["BRIDGE_COOKIE_FILE"] = str(cookie)
    service = _load_like_main([], environ, tmp_path)
    assert service.nodes == tuple(
        f"mongooseim@mongooseim-{i}.mongooseim.chat.svc.cluster.local" for i in (0, 1)
    )
    assert service.discover is True and service.node_concurrency == 8
    assert service.http_listen == ("0.0.0.0", 9795)


def test_kubernetes_deployment_matches_the_api_schema(
    k8s_deployment_docs: list[dict[str, Any]],
) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate for the schema check"
    )
    for doc in k8s_deployment_docs:
        try:
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {e}")
