"""Privacy properties: nothing from a cluster's configuration leaves the machine.

Hypothesis builds configurations full of distinctive host names, domains, JIDs, IPs, cookies,
custom module names, file paths and free-form option values, and an adversarial collector that
puts them in every slot of every event (values, param keys, event names, the cluster id). The
whole output path then runs: anonymity gate, report file, client id, spool, GA4 requests to the
fake server, validation requests, and every log record. None of the strings may appear anywhere.
"""

from __future__ import annotations

import logging
import string
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mim_bridge.ga4 import MONGOOSEIM_PRODUCTION, Ga4Sender, tracking_destination
from mim_bridge.report import gate, resolve_client_id, write_report
from mim_bridge.vocab.events import Event, ParamValue
from support.fake_ga import FakeGA

MARKER = "zqx"  # in every private string; in no allowlisted name, UUID, or GA4 id


@dataclass(frozen=True)
class Config:
    hosts: list[str]
    domains: list[str]
    jids: list[str]
    ips: list[str]
    cookie: str
    custom_modules: list[str]
    paths: list[str]
    free_text: list[str]

    def secrets(self) -> list[str]:
        return [
            *self.hosts,
            *self.domains,
            *self.jids,
            *self.ips,
            self.cookie,
            *self.custom_modules,
            *self.paths,
            *self.free_text,
        ]

    def names(self) -> list[str]:
        """Everything that could be mistaken for a name by a careless collector."""
        return [*self.hosts, *self.domains, *self.custom_modules, *self.jids]


token = st.text(string.ascii_lowercase + string.digits, min_size=2, max_size=8)
configs = st.builds(
    Config,
    hosts=st.lists(token.map(lambda t: f"mim-{MARKER}{t}.corp.example"), min_size=1, max_size=3),
    domains=st.lists(token.map(lambda t: f"{MARKER}{t}.example.org"), min_size=1, max_size=3),
    jids=st.lists(
        token.map(lambda t: f"alice.{MARKER}{t}@chat.example/phone"), min_size=1, max_size=2
    ),
    ips=st.lists(
        st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda p: f"203.0.{p[0]}.{p[1]}"),
        min_size=1,
        max_size=2,
    ),
    cookie=token.map(lambda t: f"{MARKER.upper()}COOKIE{t}"),
    custom_modules=st.lists(token.map(lambda t: f"mod_{MARKER}{t}"), min_size=1, max_size=4),
    paths=st.lists(
        token.map(lambda t: f"/opt/{MARKER}{t}/etc/mongooseim.toml"), min_size=1, max_size=2
    ),
    free_text=st.lists(
        token.map(lambda t: f"{MARKER} {t}, with spaces & symbols!"), min_size=1, max_size=2
    ),
)


def adversarial_report(cfg: Config) -> list[Event]:
    """A collector gone wrong: private strings in every value, key and name it could use."""
    s = cfg.secrets()

    def one(i: int) -> str:
        return s[i % len(s)]

    events: list[Event] = [
        Event("host_count", {"value": len(cfg.hosts), cfg.hosts[0]: 1}),
        Event("domain_count", {"value": cfg.domains[0]}),
        Event(
            "cluster",
            {
                "uptime": cfg.paths[0],
                "version": f"6.2.1-{cfg.hosts[0]}",
                "component": cfg.ips[0],
                "node_number": 2,
                "config_type": cfg.paths[0],
                cfg.cookie: "cookie",
            },
        ),
        Event(
            "http_api", {m: "enabled" for m in cfg.custom_modules} | {"mod_bosh": cfg.domains[0]}
        ),
        Event("transport_mechanism", {"tcp": "enabled", cfg.jids[0]: "enabled"}),
        Event("tls_option", {"mode": cfg.cookie, "module": cfg.paths[0]}),
        Event("outgoing_pool", {"value": cfg.hosts[0]}),
        Event("xmpp_stanza_count", {"stanza_type": cfg.jids[0], "total": 1, "increment": 1}),
        Event("xmpp_stanza_count", {"stanza_type": "xmppIqSent", "total": 3, "increment": 1}),
        Event("custom_module_count", {"value": 1}),
    ]
    for i, module in enumerate(cfg.custom_modules):
        events.append(Event("module_with_opt", {"module": module, "backend": "rdbms"}))
        events.append(Event("module_with_opt", {"module": "mod_vcard", "backend": one(i)}))
        events.append(Event("module_with_opt", {"module": "mod_mam", one(i + 1): one(i + 2)}))
        events.append(
            Event(
                "module_with_opt",
                {
                    "module": "mod_push_service_mongoosepush",
                    "api_version": one(i + 3),
                },
            )
        )
    for name in cfg.names():
        events.append(Event(name, {"value": 1}))
    params: dict[str, ParamValue] = {f"k{i}": v for i, v in enumerate(s)}
    events.append(Event("module_with_opt", {"module": "mod_muc", **params}))
    return events


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def ga() -> Iterator[FakeGA]:
    with FakeGA() as fake:
        yield fake


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cfg=configs)
def test_no_configuration_string_leaves_the_machine(ga: FakeGA, cfg: Config) -> None:
    ga.reset()
    handler = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            outputs = run_everything(ga, cfg, Path(tmp))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    outputs += handler.lines
    assert ga.requests, "the pipeline sent nothing; the test would prove nothing"
    haystack = "\n".join(outputs)
    for secret in cfg.secrets():
        assert secret not in haystack
    assert MARKER not in haystack.lower()


def run_everything(ga: FakeGA, cfg: Config, tmp: Path) -> list[str]:
    events = adversarial_report(cfg)
    report_path = tmp / "log" / "system_metrics_report.json"
    write_report(report_path, events)
    client = resolve_client_id(cfg.hosts[0], tmp / "state" / "client_id")
    private = tracking_destination("G-PRIVATE123", "private-secret")
    outputs = [report_path.read_text(), client.value]

    def sender(budget: float) -> Ga4Sender:
        return Ga4Sender(
            ga.url,
            [MONGOOSEIM_PRODUCTION, private],
            tmp / "spool",
            attempt_timeout=0.5,
            total_retry_seconds=budget,
            initial_backoff=0.001,
            max_backoff=0.002,
            gate=gate,
        )

    ga.fail_next(1000, status=503)  # first everything lands in the spool...
    with sender(0.06) as s:
        s.send(client.value, events)
    outputs += [p.read_text() for p in sorted((tmp / "spool").glob("*.json"))]
    assert len(outputs) > 2
    ga.reset()  # ...then it is delivered, and validated
    with sender(5.0) as s:
        assert s.send(client.value, []).ok
        s.validate(client.value, events)
    for request in ga.requests:
        outputs += [request.path, str(request.query), request.body, str(request.headers)]
    return outputs


def test_the_marker_is_not_part_of_any_allowed_name() -> None:
    from mim_bridge.report.anonymise import KNOWN_EVENTS
    from mim_bridge.vocab.names import ALL_NAMES

    assert not any(MARKER in n.lower() for n in ALL_NAMES | KNOWN_EVENTS)
