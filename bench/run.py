"""Benchmarks of the MISSION targets, each beside its yardstick, medians over several runs.

    python bench/run.py                 # all sections, prints a table
    python bench/run.py --write docs/benchmarks.md --runs 7

Sections (target in brackets):
  rpc       sequential latency and pipelined rate: bridge vs an Erlang hidden node doing rpc:call
            [pipelined rate >= 1/2 of Erlang's]
  cold      one process, cold start to first RPC result: bridge vs erl_call vs erl -hidden
            [well under erl -hidden]
  rss       resident memory of an idle connected bridge client [< 40 MiB]
  memory    peak RSS of a whole one-shot run: large profile, zip bombs, fragment flood [< 64 MiB]
  collect   one report of the large stand-in profile: wall time and server reductions beside
            MongooseIM's own in-VM collector, round-trip waves [<= 3x time, <= 3 waves]
  eras      per era profile (interactive code mode, as releases run): server reductions and
            wall time per report beside the era's own in-VM collector, code-server work
            [reductions <= 1x, goal 0.5x; code server flat]
  cluster   one report of a 1-, 3- and 10-node cluster [10 nodes <= 2x one node]
  atoms     atoms added to the node by 100 --once and 100 --check runs [0 after the first]
  once      `mim-metrics-bridge --once --dry-run` cold start vs erl -hidden [<= 0.5x]
  version   `mim-metrics-bridge --version` [< 0.06 s]
Nothing here is asserted by the test-suite: speed is measured, behaviour is tested.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mim_bridge.erldist import Atom, connect

# erlang/ and tests/ are loose trees, not installed packages: put them on the path first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "erlang"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import launcher as L
from support.peak import run_with_peak

ROOT = Path(__file__).resolve().parent.parent

COOKIE = "benchcookie"
PY = sys.executable


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def erl_eval(rt: L.Runtime, epmd_port: int, code: str, hidden: bool = True) -> str:
    """Run Erlang code in a fresh (hidden) node and return what it prints."""
    cmd = [rt.erl, "-noshell", "-sname", L.unique_name("bench"), "-setcookie", COOKIE]
    if hidden:
        cmd.insert(1, "-hidden")
    cmd += ["-eval", code + ", halt()."]
    env = {**os.environ, **rt.env, "ERL_EPMD_PORT": str(epmd_port)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if out.returncode:
        raise RuntimeError(out.stderr or out.stdout)
    return out.stdout.strip()


def timed_process(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    dt = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"{cmd[0]} failed: {res.stderr.strip()[:300]}")
    return dt


# ------------------------------------------------------------------------------------ rpc
async def bridge_rpc(node: str, epmd_port: int, n_seq: int, n_par: int) -> tuple[float, float]:
    conn = await connect(node, COOKIE, epmd_port=epmd_port)
    try:
        for _ in range(200):  # warm up
            await conn.rpc("erlang", "abs", [-1])
        t0 = time.perf_counter()
        for _ in range(n_seq):
            await conn.rpc("erlang", "abs", [-1])
        seq_us = (time.perf_counter() - t0) / n_seq * 1e6
        t0 = time.perf_counter()
        res = await asyncio.gather(*(conn.rpc("erlang", "abs", [-i]) for i in range(n_par)))
        rate = n_par / (time.perf_counter() - t0)
        assert res == list(range(n_par))
        return seq_us, rate
    finally:
        await conn.close()


def erlang_rpc(rt: L.Runtime, node: str, epmd_port: int, n_seq: int, n_par: int,
               rex: bool) -> tuple[float, float]:
    call = (f"gen_server:call({{rex, '{node}'}}, {{call, erlang, abs, [-1], user}})" if rex
            else f"rpc:call('{node}', erlang, abs, [-1])")
    code = f"""
        true = net_kernel:connect_node('{node}'),
        Call = fun() -> {call} end,
        [Call() || _ <- lists:seq(1, 200)],
        T0 = erlang:monotonic_time(microsecond),
        [Call() || _ <- lists:seq(1, {n_seq})],
        T1 = erlang:monotonic_time(microsecond),
        Self = self(),
        [spawn(fun() -> Self ! {{done, Call()}} end) || _ <- lists:seq(1, {n_par})],
        [receive {{done, 1}} -> ok end || _ <- lists:seq(1, {n_par})],
        T2 = erlang:monotonic_time(microsecond),
        io:format("~p ~p~n", [(T1 - T0) / {n_seq}, {n_par} * 1000000 / (T2 - T1)])"""
    seq, rate = erl_eval(rt, epmd_port, code).split()[-2:]
    return float(seq), float(rate)


def section_rpc(runs: int, rt: L.Runtime, node: str, port: int) -> list[dict[str, Any]]:
    n_seq, n_par = 2000, 5000
    b = [asyncio.run(bridge_rpc(node, port, n_seq, n_par)) for _ in range(runs)]
    e = [erlang_rpc(rt, node, port, n_seq, n_par, rex=False) for _ in range(runs)]
    x = [erlang_rpc(rt, node, port, n_seq, n_par, rex=True) for _ in range(runs)]

    def med(rows: list[tuple[float, float]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    rows = [
        {"metric": "sequential RPC latency (us/call)", "bridge": med(b, 0),
         "yardstick": med(e, 0), "yardstick_name": "Erlang hidden node rpc:call",
         "extra": f"rex gen_server:call {med(x, 0):.0f}"},
        {"metric": f"pipelined RPC rate ({n_par} in flight, calls/s)", "bridge": med(b, 1),
         "yardstick": med(e, 1), "yardstick_name": "Erlang hidden node rpc:call",
         "extra": f"rex gen_server:call {med(x, 1):.0f}", "target": ">= 0.5x"},
    ]
    return rows


# ------------------------------------------------------------------------------------ cold
def erl_call_path(rt: L.Runtime) -> str | None:
    found = shutil.which("erl_call") or rt.tool("erl_call")
    if found:
        return found
    hits = sorted(Path("/usr/lib/erlang/lib").glob("erl_interface-*/bin/erl_call"))
    return str(hits[-1]) if hits else None


def section_cold(runs: int, rt: L.Runtime, node: str, port: int) -> list[dict[str, Any]]:
    env = {**os.environ, **rt.env, "ERL_EPMD_PORT": str(port), "BRIDGE_COOKIE": COOKIE}
    bridge = median_of(runs, lambda: timed_process(
        [PY, "-m", "mim_bridge.erldist", node, "erlang", "node"], env))
    erl = median_of(runs, lambda: timed_process(
        [rt.erl, "-hidden", "-noshell", "-sname", L.unique_name("cold"), "-setcookie", COOKIE,
         "-eval", f"io:format(\"~p~n\", [rpc:call('{node}', erlang, node, [])]), halt()."],
        env))
    rows = [{"metric": "cold start to first RPC result (s)", "bridge": bridge,
             "yardstick": erl, "yardstick_name": "erl -hidden -eval rpc:call",
             "target": "well under"}]
    ec = erl_call_path(rt)
    if ec:
        t = median_of(runs, lambda: timed_process(
            [ec, "-c", COOKIE, "-sname", node, "-a", "erlang node"], env))
        rows[0]["extra"] = f"erl_call {t:.3f}"
    return rows


# ------------------------------------------------------------------------------------ rss
RSS_SCRIPT = """
import asyncio, sys
from mim_bridge.erldist import connect
async def main():
    c = await connect(sys.argv[1], sys.argv[2], epmd_port=int(sys.argv[3]))
    await c.rpc("erlang", "node", [])
    print("ready", flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def section_rss(runs: int, node: str, port: int) -> list[dict[str, Any]]:
    def one() -> float:
        p = subprocess.Popen([PY, "-c", RSS_SCRIPT, node, COOKIE, str(port)],
                             stdout=subprocess.PIPE, text=True)
        try:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            time.sleep(1.0)
            return rss_kib(p.pid) / 1024
        finally:
            p.kill()
            p.wait()
    return [{"metric": "idle connected client RSS (MiB)", "bridge": median_of(runs, one),
             "yardstick": 40.0, "yardstick_name": "target", "target": "< 40"}]


# ------------------------------------------------------------------------------------ collect
async def _reductions(conn: Any) -> int:
    r = await conn.rpc("erlang", "statistics", [Atom("exact_reductions")])
    return int(r[0])


async def _code_server_reductions(conn: Any) -> int:
    pid = await conn.rpc("erlang", "whereis", [Atom("code_server")])
    info = await conn.rpc("erlang", "process_info", [pid, Atom("reductions")])
    return int(info[1])


async def measure_report(node: str, port: int, runs: int) -> dict[str, float]:
    """Server reductions and wall time of one report: cold (a new connection's first report:
    identify + 2 waves), warm (a reused connection: 2 waves), and MongooseIM's own in-VM
    collector called the way the era's service calls it. Whole-VM ``exact_reductions`` deltas,
    minus the cost of the two reads that bracket them; medians."""
    from mim_bridge.collect import Collector
    from mim_bridge.collect import collector as collector_module
    from mim_bridge.collect.crosscheck import collect_call

    conn = await connect(node, COOKIE, epmd_port=port)
    try:
        first = await Collector(conn).collect()
        era, source = first.era, first.stanza_source
        bases, cold, warm, cold_t, warm_t, code, waves = [], [], [], [], [], [], []
        for _ in range(runs):
            r0 = await _reductions(conn)
            bases.append(await _reductions(conn) - r0)
        for _ in range(runs):
            collector_module._IDENTITIES.pop(conn, None)
            c0 = await _code_server_reductions(conn)
            r0 = await _reductions(conn)
            t0 = time.perf_counter()
            rep = await Collector(conn).collect()
            cold_t.append(time.perf_counter() - t0)
            cold.append(await _reductions(conn) - r0)
            code.append(await _code_server_reductions(conn) - c0)
            waves.append(rep.waves)
        for _ in range(runs):
            r0 = await _reductions(conn)
            t0 = time.perf_counter()
            await Collector(conn).collect()
            warm_t.append(time.perf_counter() - t0)
            warm.append(await _reductions(conn) - r0)
        call = collect_call(era, source)
        await conn.rpc(call.module, call.function, list(call.args))  # loaded from now on
        in_vm, in_vm_t = [], []
        for _ in range(runs):
            r0 = await _reductions(conn)
            t0 = time.perf_counter()
            await conn.rpc(call.module, call.function, list(call.args))
            in_vm_t.append(time.perf_counter() - t0)
            in_vm.append(await _reductions(conn) - r0)
        base = statistics.median(bases)
        med = statistics.median
        return {"era": era.name, "releases": era.releases, "waves": max(waves),
                "cold": med(cold) - base, "warm": med(warm) - base,
                "in_vm": med(in_vm) - 2 * base,  # the rpc itself costs about one read
                "cold_ms": 1000 * med(cold_t), "warm_ms": 1000 * med(warm_t),
                "in_vm_ms": 1000 * med(in_vm_t), "code_server": med(code)}
    finally:
        await conn.close()


ERA_PROFILES = os.environ.get("BENCH_ERA_PROFILES", "")


def era_profiles() -> list[str]:
    """One stand-in profile per MongooseIM era (its shipped defaults), from erlang/README.md's
    profile table; ``BENCH_ERA_PROFILES`` overrides (comma-separated)."""
    if ERA_PROFILES:
        return ERA_PROFILES.split(",")
    return [p for p in L.profiles() if p not in ("not_mim", "large", "custom")]


def section_eras(runs: int, rt: L.Runtime, port: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for profile in era_profiles():
        name = L.unique_name("era") + "@localhost"
        with L.StandIn(profile, name, COOKIE, runtime=rt, epmd_port=port):
            m = asyncio.run(measure_report(name, port, runs))
        rows.append({
            "metric": f"server reductions per report, {profile} ({m['era']}: {m['releases']})",
            "bridge": m["cold"], "yardstick": m["in_vm"],
            "yardstick_name": "MongooseIM's own collector in the VM", "target": "<= 1x (0.5x)",
            "extra": (f"reused connection {m['warm']:,.0f}; {m['waves']} waves; code server "
                      f"{m['code_server']:,.0f}; wall {m['cold_ms']:.1f} ms (reused "
                      f"{m['warm_ms']:.1f}) vs {m['in_vm_ms']:.2f} ms")})
    return rows


def section_collect(runs: int, rt: L.Runtime, port: int) -> list[dict[str, Any]]:
    name = L.unique_name("large") + "@localhost"
    with L.StandIn("large", name, COOKIE, runtime=rt, epmd_port=port):
        m = asyncio.run(measure_report(name, port, runs))
    return [
        {"metric": "full report, large profile (ms)", "bridge": m["cold_ms"],
         "yardstick": m["in_vm_ms"], "yardstick_name": "MongooseIM's own collector (one rpc)",
         "target": "<= 3x", "extra": f"reused connection {m['warm_ms']:.2f} ms"},
        {"metric": "sequential round-trip waves (large profile)", "bridge": m["waves"],
         "yardstick": 3, "yardstick_name": "target", "target": "<= 3 (2 on a reused "
         "connection)"},
        {"metric": "server reductions per report, large profile", "bridge": m["cold"],
         "yardstick": m["in_vm"], "yardstick_name": "MongooseIM's own collector in the VM",
         "target": "<= 1x (0.5x)", "extra": f"reused connection {m['warm']:,.0f}"},
    ]


def section_cluster(runs: int, rt: L.Runtime, port: int) -> list[dict[str, Any]]:
    """One report of a 1-, 3- and 10-node cluster: wall time, reductions per node."""
    from mim_bridge.collect import collect_cluster

    async def once(seed: str, names: list[str]) -> tuple[float, float]:
        conns: dict[str, Any] = {}

        async def get(node: str) -> Any:
            if node not in conns:
                conns[node] = await connect(node, COOKIE, epmd_port=port)
            return conns[node]
        try:
            for n in names:
                await get(n)
            reds0 = [await _reductions(conns[n]) for n in names]
            t0 = time.perf_counter()
            report = await collect_cluster(get, [seed])
            dt = time.perf_counter() - t0
            reds1 = [await _reductions(conns[n]) for n in names]
            assert len(report.nodes) == len(names)
            return dt, statistics.mean(b - a for a, b in zip(reds0, reds1, strict=True))
        finally:
            for c in conns.values():
                await c.close()

    rows: list[dict[str, Any]] = []
    single = 0.0
    for size in (1, 3, 10):
        with L.StandInCluster("small", size, COOKIE, epmd_port=port,
                              otp=[rt.release] * size) as cluster:
            names = cluster.names
            samples = [asyncio.run(once(names[0], names)) for _ in range(runs)]
        wall = statistics.median(s[0] for s in samples)
        reds = statistics.median(s[1] for s in samples)
        single = single or wall
        rows.append({"metric": f"one report of a {size}-node cluster (ms)",
                     "bridge": 1000 * wall, "yardstick": 1000 * single * (2 if size == 10 else 1),
                     "yardstick_name": "2x one node" if size == 10 else "one node",
                     "target": "<= 2x one node" if size == 10 else "",
                     "extra": f"{reds:,.0f} reductions per node (cold connections)"})
    return rows


def section_atoms(runs: int, rt: L.Runtime, port: int) -> list[dict[str, Any]]:
    """Atoms a stand-in node gains from 100 ``--once`` and 100 ``--check`` runs."""
    name = L.unique_name("atoms") + "@localhost"
    script = shutil.which("mim-metrics-bridge")
    base = ([script] if script and "pyenv/shims" not in script else [PY, "-m", "mim_bridge"])
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, \
            L.StandIn("small", name, COOKIE, runtime=rt, epmd_port=port) as node:
        env = {**os.environ, **rt.env, "ERL_EPMD_PORT": str(port), "BRIDGE_COOKIE": COOKIE,
               "BRIDGE_STATE_DIR": f"{tmp}/state", "BRIDGE_REPORT_FILE": f"{tmp}/r.json",
               "BRIDGE_GA_URL": "http://127.0.0.1:9/mp/collect"}

        def atoms() -> int:
            return int(node.probe([("n", "erlang", "system_info", "[atom_count]")])["n"])

        for mode in (["--once", "--dry-run"], ["--check"]):
            before = atoms()
            for _ in range(100):
                subprocess.run([*base, "--node", name, "--report", "true", *mode],
                               env=env, capture_output=True, timeout=120, check=False)
            after = atoms()
            rows.append({"metric": f"atoms added by 100 `{' '.join(mode)}` runs",
                         "bridge": after - before - 1, "yardstick": 0,
                         "yardstick_name": "target", "target": "0 after the first",
                         "extra": "counted from the first run, whose stable node name is "
                                  "one atom for good; the probe that reads atom_count adds "
                                  "1 itself, subtracted"})
    return rows


def _script() -> list[str]:
    script = shutil.which("mim-metrics-bridge")
    return [script] if script and "pyenv/shims" not in script else [PY, "-m", "mim_bridge"]


def _python_floor(runs: int) -> float:
    """This interpreter's own start-up: the part of every cold start no code of ours can cut."""
    return median_of(runs, lambda: timed_process([PY, "-c", "pass"], dict(os.environ)))


def section_version(runs: int) -> list[dict[str, Any]]:
    t = median_of(runs, lambda: timed_process([*_script(), "--version"], dict(os.environ)))
    return [{"metric": "`mim-metrics-bridge --version` (s)", "bridge": t, "yardstick": 0.06,
             "yardstick_name": "target", "target": "< 0.06",
             "extra": f"python -c pass {_python_floor(runs):.3f}"}]


def section_once(runs: int, rt: L.Runtime, port: int) -> list[dict[str, Any]]:
    """A v5_1 node (its own reports go to Universal Analytics): the bridge reports it in full."""
    name = L.unique_name("once") + "@localhost"
    env = {**os.environ, **rt.env, "ERL_EPMD_PORT": str(port), "BRIDGE_COOKIE": COOKIE}
    cmd = [*_script(), "--node", name, "--once", "--dry-run", "--report", "true"]
    imports = median_of(runs, lambda: timed_process(
        [PY, "-c", "import mim_bridge.app.cli, mim_bridge.app.oneshot, "
         "mim_bridge.erldist.connection, mim_bridge.collect"], env))
    with L.StandIn("v5_1", name, COOKIE, runtime=rt, epmd_port=port):
        bridge = median_of(runs, lambda: timed_process(cmd, env))
        erl = median_of(runs, lambda: timed_process(
            [rt.erl, "-hidden", "-noshell", "-sname", L.unique_name("cold"), "-setcookie",
             COOKIE, "-eval",
             f"io:format(\"~p~n\", [rpc:call('{name}', erlang, node, [])]), halt()."], env))
    floor = _python_floor(runs)
    return [{"metric": "`--once --dry-run` cold start (s)", "bridge": bridge, "yardstick": erl,
             "yardstick_name": "erl -hidden, one rpc:call", "target": "<= 0.5x",
             "extra": f"python -c pass {floor:.3f}; python importing the one-shot path "
                      f"{imports:.3f}"}]


# ------------------------------------------------------------------------------------ memory
def peak_mib(args: list[str], env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**env, "BRIDGE_STATE_DIR": f"{tmp}/state", "BRIDGE_REPORT_FILE": f"{tmp}/r.json"}
        return run_with_peak(args, env, timeout=180).peak / (1 << 20)


def section_memory(runs: int, rt: L.Runtime, port: int) -> list[dict[str, Any]]:
    """Peak RSS of a whole ``--once --dry-run`` run: the large profile, and a hostile node."""
    from support import fake_node  # the suite's hostile peer, the same attacks as its tests

    env = {**os.environ, **rt.env, "BRIDGE_COOKIE": COOKIE}
    once = ["--once", "--dry-run", "--report", "true", "--no-discover", "--call-timeout", "5s"]
    name = L.unique_name("mem") + "@localhost"
    with L.StandIn("large", name, COOKIE, runtime=rt, epmd_port=port):
        large = median_of(runs, lambda: peak_mib(["--node", name, *once],
                                                 {**env, "ERL_EPMD_PORT": str(port)}))
    rows = [{"metric": "peak RSS of `--once --dry-run`, large profile (MiB)", "bridge": large,
             "yardstick": 64.0, "yardstick_name": "container limit", "target": "< 64"}]

    def harmless(pid: Any, ref: Any, *_: Any) -> Any:
        yield fake_node.reply(pid, ref, (Atom("badrpc"), Atom("nope")))

    def zip_bombs(pid: Any, ref: Any, *_: Any) -> Any:
        yield fake_node.zip_bomb(pid, ref)  # 200 MB inflated, for every call

    def fragment_flood() -> Any:
        sequences = iter(range(1, 65))  # 64 sequences that never end, 4 MiB of each

        def respond(pid: Any, ref: Any, *_: Any) -> Any:
            for seq in sequences:
                yield from fake_node.endless_fragments(pid, ref, seq, 64)
            yield from harmless(pid, ref)
        return respond

    def attacked(make: Callable[[], Any]) -> float:
        with fake_node.FakeNode(COOKIE, responder=make()) as node:
            return peak_mib(["--node", node.name, *once],
                            {**env, "ERL_EPMD_PORT": str(node.epmd_port)})

    base = median_of(runs, lambda: attacked(lambda: harmless))
    for label, make in (("zip bombs", lambda: zip_bombs), ("fragment flood", fragment_flood)):
        peak = median_of(runs, lambda make=make: attacked(make))
        rows.append({"metric": f"peak RSS under a hostile node: {label} (MiB)",
                     "bridge": peak, "yardstick": 64.0,
                     "yardstick_name": "container limit", "target": "< 64",
                     "extra": f"same run against a harmless node {base:.1f} MiB; "
                              "budget --max-reply-memory 16 MiB"})
    return rows


# ------------------------------------------------------------------------------------ main
def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{platform.node() and 'Linux'} {platform.release()}, {os.cpu_count()} cores, "
            f"{cpu}, Python {platform.python_version()}")


def render(rows: list[dict[str, Any]], header: str) -> str:
    out = [header, "", "| metric | bridge | yardstick | ratio | target | notes |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        b, y = r["bridge"], r["yardstick"]
        ratio = f"{b / y:.2f}" if y else "-"
        fmt = (lambda v: f"{v:.3f}") if max(abs(b), abs(y)) < 10 else (lambda v: f"{v:,.0f}")
        out.append(f"| {r['metric']} | {fmt(b)} | {fmt(y)} ({r['yardstick_name']}) | {ratio} "
                   f"| {r.get('target', '')} | {r.get('extra', '')} |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--otp", default="25")
    ap.add_argument("--sections",
                    default="rpc,cold,rss,memory,collect,eras,cluster,atoms,once,version")
    ap.add_argument("--write", type=Path, help="also write the table as Markdown to this file")
    ns = ap.parse_args()
    rt = L.runtimes()[ns.otp]
    sections = ns.sections.split(",")
    # A pip install leaves compiled bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would recompile every module on every cold start.
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   capture_output=True)
    rows: list[dict[str, Any]] = []
    with L.Epmd(rt) as epmd:
        node = L.unique_name("server") + "@localhost"
        with L.ErlNode(node, COOKIE, runtime=rt, epmd_port=epmd.port):
            if "rpc" in sections:
                rows += section_rpc(ns.runs, rt, node, epmd.port)
            if "cold" in sections:
                rows += section_cold(ns.runs, rt, node, epmd.port)
            if "rss" in sections:
                rows += section_rss(ns.runs, node, epmd.port)
            if "memory" in sections:
                rows += section_memory(ns.runs, rt, epmd.port)
        if "collect" in sections:
            rows += section_collect(ns.runs, rt, epmd.port)
        if "eras" in sections:
            rows += section_eras(ns.runs, rt, epmd.port)
        if "cluster" in sections:
            rows += section_cluster(max(3, ns.runs // 2), rt, epmd.port)
        if "atoms" in sections:
            rows += section_atoms(ns.runs, rt, epmd.port)
        if "once" in sections:
            rows += section_once(ns.runs, rt, epmd.port)
    if "version" in sections:
        rows += section_version(ns.runs)
    header = (f"Benchmarks, {time.strftime('%Y-%m-%d')}, server OTP {ns.otp}, medians of "
              f"{ns.runs} runs, on {machine()}")
    table = render(rows, header)
    print(table)
    print(json.dumps(rows, indent=1), file=sys.stderr)
    if ns.write:
        ns.write.write_text("# Benchmark figures\n\nProduced by `python bench/run.py --write "
                            f"{ns.write}`. Re-run after changes that touch speed or memory.\n\n"
                            + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
