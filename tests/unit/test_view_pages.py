"""The pages the operator reads: ``show``, ``--dry-run --format table|json`` and ``history``.

Rendered from the hand-written expected reports of the stand-in profiles (small, large, custom
and the pre-5.0 v4_2), several nodes concatenated, odd event shapes, and hypothesis's adversarial
reports: every event is represented, nothing private is, and colour only goes to a terminal.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_privacy import adversarial_report, configs  # the privacy suite's generated inputs

from mim_bridge.app.view.blocks import ORDER, human_uptime, split_nodes
from mim_bridge.app.view.history_page import history_document, history_page
from mim_bridge.app.view.report_page import (
    Outgoing,
    dry_run_document,
    dry_run_page,
    show_document,
    show_page,
)
from mim_bridge.app.view.terminal import ASCII_BARS, BARS, Style, bars_for, sparkline, wants_colour
from mim_bridge.ga4 import BatchOutcome, DeliveryReport, split_batches
from mim_bridge.pipeline.history import History, build_entry
from mim_bridge.report import KNOWN_EVENTS, anonymise
from mim_bridge.vocab.events import Event
from support.pages import ESC, assert_represented, blocks_of, section

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "expected"
PROFILES = ["small", "large", "custom", "v4_2"]
CID = "69fc3600-22d6-4e8e-8947-5ec2e7420051"
MAIN, PRIVATE = "G-B4S18X6KY5", "G-PRIVATE0001"
PLAIN = Style(colour=False)


def profile_events(name: str, uptime: str = "0000-00:08:12") -> list[Event]:
    """The profile's expected report, with a real uptime in place of the placeholder."""
    events = [Event.from_json(e) for e in json.loads((EXPECTED / f"{name}.json").read_text())]
    return [Event(e.name, {**e.params, "uptime": uptime}) if e.name == "cluster" else e
            for e in events]


def answered(status: str = "delivered", http: int | None = 204) -> DeliveryReport:
    return DeliveryReport((BatchOutcome(MAIN, 20, status, http, 1, False),
                           BatchOutcome(PRIVATE, 20, "delivered", 204, 1, False)), (), 0, 0.1)


class Tty(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_the_page_knows_every_event_the_gate_lets_out() -> None:
    assert set(ORDER) == KNOWN_EVENTS


@pytest.mark.parametrize("profile", PROFILES)
def test_show_represents_every_event_of_each_profile(profile: str, tmp_path: Path) -> None:
    events = profile_events(profile)
    page = show_page(tmp_path / "r.json", None, [events], None, "not in the log", PLAIN)
    [block] = blocks_of(page)
    assert_represented(block, anonymise(events).events)
    assert ESC not in page
    cluster = next(e.params for e in events if e.name == "cluster")
    assert f"MongooseIM {cluster['version']}, up 8 min" in block


def test_pre_5_0_says_which_events_it_does_not_have() -> None:
    page = show_page(Path("r.json"), None, [profile_events("v4_2")], None, "-", PLAIN)
    assert re.search(r"^  domain_count +not reported$", page, re.MULTILINE)


def test_large_folds_host_types_and_keeps_a_modules_backends_together() -> None:
    page = show_page(Path("r.json"), None, [profile_events("large")], None, "-", PLAIN)
    modules = section(blocks_of(page)[0], "module_with_opt").splitlines()
    assert "host types" in modules[0]
    bosh = [i for i, line in enumerate(modules) if " mod_bosh " in line]
    assert len(bosh) == 2 and bosh[1] == bosh[0] + 1  # mnesia and cets, next to each other
    assert re.search(r"mod_adhoc .* 10$", "\n".join(modules), re.MULTILINE)
    assert "outgoing_pool        rdbms x2" in page


def test_a_cluster_file_is_shown_node_by_node_in_sending_order(tmp_path: Path) -> None:
    nodes = [profile_events("small", "0000-01:00:00"), profile_events("v4_2", "0002-03:04:05"),
             [e for e in profile_events("custom") if e.name != "xmpp_stanza_count"],
             profile_events("large")]
    concatenated = [e for events in nodes for e in events]
    assert split_nodes(concatenated) == nodes
    page = show_page(tmp_path / "r.json", None, split_nodes(concatenated), None, "-", PLAIN)
    blocks = blocks_of(page)
    assert [b.split("  ")[0] for b in blocks] == [f"node {i} of 4" for i in range(1, 5)]
    for block, events in zip(blocks, nodes, strict=True):
        assert_represented(block, anonymise(events).events)
    assert "up 2 d 3 h" in blocks[1]


def test_split_starts_a_node_where_a_once_per_node_event_comes_again() -> None:
    a = [Event("cluster", {"version": "6.2.1"})]
    b = [Event("cluster", {"version": "6.2.2"})]
    assert split_nodes(a + b) == [a, b]


def test_unknown_shapes_are_shown_as_they_are_after_the_gate() -> None:
    events = [Event("host_count", {"value": 2}),
              Event("module_with_opt", {"module": "mod_mam", "backend": "rdbms",
                                        "api_version": "v7"}),
              Event("module_with_opt", {"module": "mod_mam", "backend": "cassandra"}),
              Event("module_with_opt", {"module": "mod_secret_x", "backend": "rdbms"}),
              Event("tls_option", {"mode": "sslv2", "module": "acme_tls"}),
              Event("xmpp_stanza_count", {"stanza_type": "xmppIqSent", "total": 5}),
              Event("http_api", {})]
    block = blocks_of(show_page(Path("r"), None, [events], None, "-", PLAIN))[0]
    assert "mode=other  module=other" in section(block, "tls_option")
    assert "v7" in section(block, "module_with_opt") and "cassandra" in block
    assert "mod_secret_x" not in block
    assert re.search(r"custom_module_count +1", block)
    assert "stanza_type=xmppIqSent  total=5" in section(block, "xmpp_stanza_count")
    assert re.search(r"http_api +none", block)


def test_a_node_with_no_cluster_event_still_gets_a_headline() -> None:
    block = blocks_of(show_page(Path("r"), None, [[Event("host_count", {"value": 1})]], None,
                                "-", PLAIN))[0]
    assert block.startswith("node 1 of 1  no cluster event")
    assert re.search(r"^  cluster +not reported$", block, re.MULTILINE)


@pytest.mark.parametrize(("uptime", "words"), [
    ("0000-00:00:07", "7 s"), ("0000-00:08:12", "8 min"), ("0000-05:08:12", "5 h 8 min"),
    ("0012-05:08:12", "12 d 5 h"), ("soon", None), (17, None)])
def test_uptime_in_words(uptime: object, words: str | None) -> None:
    assert human_uptime(uptime) == words


def test_show_says_when_and_where_the_report_went() -> None:
    events = profile_events("small")
    entry = build_entry(CID, [("n", events)], {"n": answered("pending", 503)}, [MAIN, PRIVATE],
                        datetime.datetime(2026, 5, 1, 12, 0, 4, tzinfo=datetime.UTC))
    written = datetime.datetime(2026, 5, 1, 12, 0, 3, tzinfo=datetime.UTC)
    page = show_page(Path("/var/r.json"), written, [events], entry, "-", PLAIN)
    head = page.split("node 1 of 1")[0]
    assert re.search(r"^  written +2026-05-01 12:00:03 UTC$", head, re.MULTILINE)
    assert re.search(rf"^  client id +{CID}$", head, re.MULTILINE)
    assert re.search(r"^  sent +2026-05-01 12:00:04 UTC, 2 request\(s\) in all$", head,
                     re.MULTILINE)
    assert re.search(rf"{MAIN} +1 waiting in the spool \(HTTP 503\)", head)
    assert re.search(rf"{PRIVATE} +1 delivered \(HTTP 204\)", head)
    doc = json.loads(show_document(Path("/var/r.json"), written, [events], entry))
    assert doc["sent"] == entry and doc["nodes"][0]["events"] == [
        e.to_json() for e in anonymise(events).events]


def outgoing(nodes: list[list[Event]]) -> Outgoing:
    return Outgoing(CID, "cluster", "https://www.google-analytics.com/mp/collect",
                    [MAIN, PRIVATE], Path("/var/r.json"),
                    [(events, [b.body for b in split_batches(CID, events).batches])
                     for events in nodes])


@pytest.mark.parametrize("profile", PROFILES)
def test_dry_run_table_and_json_for_each_profile(profile: str) -> None:
    events = anonymise(profile_events(profile)).events
    out = outgoing([list(events)])
    page = dry_run_page(out, PLAIN)
    assert "what would be sent (dry run: nothing is sent)" in page
    assert f"{CID} (the cluster's id, read from the node)" in page
    assert f"{MAIN}, {PRIVATE}" in page
    batches = len(out.nodes[0][1])
    assert f"{batches} per destination, {len(events)} events from 1 node(s)" in page
    assert_represented(blocks_of(page)[0], events)
    doc = json.loads(dry_run_document(out))
    assert doc["nodes"][0]["events"] == [e.to_json() for e in events]
    bodies = doc["nodes"][0]["requests"]
    assert [json.dumps(b, separators=(",", ":"), ensure_ascii=False).encode()
            for b in bodies] == list(out.nodes[0][1])  # the exact bodies
    assert {b["client_id"] for b in bodies} == {CID}
    assert sum(len(b["events"]) for b in bodies) == len(events)


def history_entries(count: int) -> list[dict[str, Any]]:
    start = datetime.datetime(2026, 5, 1, 9, 0, 4, tzinfo=datetime.UTC)
    out, total = [], 0
    for i in range(count):
        total += i * 3
        events = [Event("xmpp_stanza_count", {"stanza_type": "xmppMessageSent", "total": total,
                                              "increment": i * 3})]
        status = ("pending", 503) if i == 2 else ("delivered", 204)
        out.append(build_entry(CID, [("n", events)], {"n": answered(*status)}, [MAIN, PRIVATE],
                               start + datetime.timedelta(hours=3 * i)))
    return out


def test_history_page_lists_reports_destinations_answers_and_the_trend() -> None:
    entries = history_entries(5)
    page = history_page(entries[-4:], 5, [Path("/s/history.jsonl.1"), Path("/s/history.jsonl")],
                        Path("/s/history.jsonl"), True, PLAIN, BARS)
    assert "/s/history.jsonl (+1 older file): the last 4 of 5 reports" in page
    assert re.search(rf"2026-05-01 12:00:04 +1 +1 +2 +{MAIN} +1 delivered \(HTTP 204\)", page)
    assert re.search(rf"^ +{PRIVATE} +1 delivered \(HTTP 204\)$", page, re.MULTILINE)
    assert re.search(rf"2026-05-01 15:00:04 .*{MAIN} +1 waiting in the spool \(HTTP 503\)",
                     page)
    assert f"client id {CID}" in page
    trend = re.search(r"xmppMessageSent +(\S+) +\+12 +30", page)
    assert trend and trend[1] == sparkline([3, 6, 9, 12])
    assert ESC not in page


def test_history_page_without_entries_or_stanzas() -> None:
    page = history_page([], 0, [], Path("/s/history.jsonl"), False, PLAIN, BARS)
    assert "no report recorded in /s/history.jsonl" in page and "the log is off" in page
    bare = [{"format": 1, "time": "2026-05-01T00:00:00Z"}]
    page = history_page(bare, 1, [], Path("/s/h"), True, PLAIN, BARS)
    assert "xmpp_stanza_count: not reported" in page and "no destination recorded" in page


def test_history_json_is_the_entries_as_kept() -> None:
    entries = history_entries(3)
    doc = json.loads(history_document(entries, 7, [Path("/s/h")], 2))
    assert doc == {"files": ["/s/h"], "reports": 7, "unreadable_lines": 2, "entries": entries}


@pytest.mark.parametrize(("values", "line"), [
    ([0, 7, 0], "▁█▁"), ([None, 3, 3], " ██"), ([0, 0], "▁▁"), ([None], " "),
    ([-4, 0, 4], "▁▅█")])
def test_sparkline(values: list[int | None], line: str) -> None:
    assert sparkline(values) == line


def test_bars_fall_back_to_ascii_where_blocks_cannot_be_encoded() -> None:
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert bars_for(ascii_out) == ASCII_BARS
    assert bars_for(Tty()) == BARS
    assert sparkline([0, 7], ASCII_BARS) == "_#"


@pytest.mark.parametrize(("tty", "env", "colour"), [
    (True, {}, True), (True, {"NO_COLOR": "1"}, False), (True, {"NO_COLOR": ""}, True),
    (True, {"TERM": "dumb"}, False), (False, {}, False)])
def test_colour_only_on_a_terminal_without_no_color(tty: bool, env: dict[str, str],
                                                     colour: bool) -> None:
    stream = Tty() if tty else io.StringIO()
    assert wants_colour(stream, env) is colour
    page = show_page(Path("r"), None, [profile_events("small")], None, "-",
                     Style(wants_colour(stream, env)))
    assert (ESC in page) is colour
    if colour:  # colour codes never break the alignment
        assert re.sub(r"\x1b\[\d+m", "", page) == show_page(
            Path("r"), None, [profile_events("small")], None, "-", PLAIN)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cfg=configs)
def test_no_configuration_string_reaches_a_page(cfg: Any) -> None:
    events = adversarial_report(cfg)
    raw = Outgoing(CID, "state_file", "http://127.0.0.1:9/mp/collect", [MAIN],
                   Path("/r.json"), [(events, [b.body for b in split_batches(
                       CID, anonymise(events).events).batches])])
    entry = build_entry(CID, [(cfg.hosts[0], events)], {cfg.hosts[0]: answered()}, [MAIN],
                        datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        log = History(Path(tmp), 1024 * 1024)
        log.append(entry)
        kept = log.path.read_text()
        read = log.read()
    outputs = [
        show_page(Path("/r.json"), None, split_nodes(events), entry, "-", PLAIN),
        show_document(Path("/r.json"), None, split_nodes(events), entry),
        dry_run_page(raw, PLAIN), dry_run_document(raw), kept,
        history_page(read.entries, 1, [], Path("/s/history.jsonl"), True, PLAIN, BARS),
        history_document(read.entries, 1, [], 0),
    ]
    haystack = "\n".join(outputs)
    for secret in cfg.secrets():
        assert secret not in haystack
    assert "zqx" not in haystack.lower()
