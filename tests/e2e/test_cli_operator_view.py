"""What the operator sees, end to end: real stand-ins, the fake GA4 server, the bridge as a
subprocess whose output is a pipe (never a terminal), so every page must be plain text.

For the small, large, custom and pre-5.0 (v4_2) profiles: ``--dry-run --format table|json``,
two ``--once`` reports, ``show`` and ``history``; every event is represented and no string of
the profile's private configuration appears in any page or in the transparency log.
"""

from __future__ import annotations

import json
import re

import pytest

import launcher
from conftest import PRIMARY, PRIVATE, Bridge, standin
from mim_bridge.app.view.blocks import split_nodes
from mim_bridge.pipeline.history import FILENAME
from mim_bridge.report import read_report
from mim_bridge.vocab.events import Event
from mim_bridge.vocab.names import ALL_NAMES
from support.fake_ga import FakeGA
from support.pages import ESC, assert_represented, blocks_of

PRIVATE_ID = ("--tracking-id", PRIVATE, "--tracking-secret", "test-secret")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def private_strings(profile: str) -> list[str]:
    """The profile's configuration strings and module names that must never be shown: host
    names, domains, paths, URLs, credentials, custom modules (a cluster id that is a UUID is
    the client id, which is sent, so it is not among them)."""
    text = re.sub(r"%.*", "", launcher.profile_path(profile).read_text())
    found = set(re.findall(r'"([^"\n]+)"', text)) | set(re.findall(r"\bmod_\w+", text))
    return sorted(s for s in found if s not in ALL_NAMES and not UUID.match(s) and len(s) >= 5
                  and not s[0].isdigit())


def reporting(profile: str) -> dict[str, str]:
    """Overrides so that the node may be reported: the custom profile's own config opts out
    (report = false), which the bridge honours."""
    if profile != "custom":
        return {}
    text = launcher.profile_path(profile).read_text()
    start = text.index("{config,") + len("{config,")
    config = text[start:text.index("}.\n", start)]
    assert "report => false" in config
    return {"config": config.replace("report => false", "report => true")}


def checked(result: object) -> str:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    out: str = result.stdout  # type: ignore[attr-defined]
    assert ESC not in out  # a pipe gets plain text
    return out


@pytest.mark.parametrize("profile", ["small", "large", "custom", "v4_2"])
def test_dry_run_show_and_history_pages_of_a_profile(
        profile: str, bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    with standin(epmd, profile, overrides=reporting(profile)) as node:
        args = ("--node", node.name, *PRIVATE_ID)
        table = checked(bridge.run(*args, "--dry-run", "--format", "table"))
        doc = json.loads(checked(bridge.run(*args, "--dry-run", "--format", "json")))
        jsonl = checked(bridge.run(*args, "--dry-run"))
        for _ in range(2):
            checked(bridge.run(*args, "--once", "--report", "true"))
    show = checked(bridge.run("show"))
    history = checked(bridge.run("history"))
    history_doc = json.loads(checked(bridge.run("history", "--format", "json")))
    show_doc = json.loads(checked(bridge.run("show", "--format", "json")))

    # --dry-run: the page shows every event; the document holds the exact bodies (jsonl's).
    # The page and the document are two collections: only the node's uptime may differ.
    [dry_node] = doc["nodes"]
    dry_events = [Event.from_json(e) for e in dry_node["events"]]
    [block] = blocks_of(table)
    assert_represented(block, [without_uptime(e) for e in dry_events])
    assert re.search(r"^  cluster +uptime=\d{4}-\d\d:\d\d:\d\d ", block, re.MULTILINE)
    assert [same_uptime(json.dumps(b, separators=(",", ":"), ensure_ascii=False))
            for b in dry_node["requests"]] == [same_uptime(line) for line in jsonl.splitlines()]
    assert doc["destinations"] == [PRIMARY, PRIVATE]
    assert f"{PRIMARY}, {PRIVATE}" in table

    # show: the report file, node by node, and when/where it went (from the log)
    sent_events = read_report(bridge.report_file)
    [shown] = blocks_of(show)
    assert_represented(shown, split_nodes(sent_events)[0])
    requests = len(dry_node["requests"])
    assert re.search(rf"^  {PRIMARY} +{requests} delivered \(HTTP 204\)$", show, re.MULTILINE)
    assert re.search(rf"^  {PRIVATE} +{requests} delivered \(HTTP 204\)$", show, re.MULTILINE)
    assert show_doc["sent"] == history_doc["entries"][-1]
    assert show_doc["sent"]["client_id"] == ga.delivered(PRIMARY)[-1].json["client_id"]

    # history: two reports, each to both properties, and the stanza counts' trend
    entries = history_doc["entries"]
    assert len(entries) == 2 and "2 report(s)" in history
    assert all(e["requests"] == 2 * requests and e["nodes"] == 1 for e in entries)
    assert len(ga.delivered(PRIMARY)) == 2 * requests
    for kind, counts in entries[-1]["stanzas"].items():
        assert re.search(rf"^  {kind} +\S+ +\+{counts['increment']} +{counts['total']}$",
                         history, re.MULTILINE)
    assert bool(entries[-1]["stanzas"]) == any(
        e.name == "xmpp_stanza_count" for e in sent_events)

    # nothing private, anywhere the operator looks
    kept = (bridge.state_dir / FILENAME).read_text()
    haystack = "\n".join([table, json.dumps(doc), jsonl, show, json.dumps(show_doc), history,
                          json.dumps(history_doc), kept])
    secrets = private_strings(profile)
    assert secrets, "the profile has private strings to look for"
    for secret in secrets:
        assert secret not in haystack, secret


def same_uptime(body: str) -> str:
    return re.sub(r'"uptime":"[^"]*"', '"uptime":"U"', body)


def without_uptime(e: Event) -> Event:
    return Event(e.name, {k: v for k, v in e.params.items() if k != "uptime"})


def test_the_log_says_what_ga4_answered(bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    with standin(epmd) as node:
        args = ("--node", node.name, "--report", "true", *PRIVATE_ID)
        ga.fail_next(1000, status=503)
        assert bridge.run(*args, "--once", "--send-timeout", "1s").returncode == 6
        ga.reset()
        assert bridge.run(*args, "--once").returncode == 0
        ga.reject_next(1, status=400)
        assert bridge.run(*args, "--once").returncode == 6
    page = checked(bridge.run("history"))
    entries = json.loads(checked(bridge.run("history", "--format", "json")))["entries"]
    first, second, third = entries
    assert first["destinations"][PRIMARY]["pending"] == 1
    assert 503 in first["destinations"][PRIMARY]["http"] and first["waiting"] == 2
    assert second["resent"] == 2 and second["waiting"] == 0  # the first report, from the spool
    assert third["destinations"][PRIMARY] == {"delivered": 0, "rejected": 1, "pending": 0,
                                              "dropped": 0, "http": [400], "errors": []}
    assert third["destinations"][PRIVATE]["delivered"] == 1
    assert "1 waiting in the spool (HTTP 503)" in page and "1 rejected (HTTP 400)" in page
    assert "2 earlier batch(es) sent from the spool" in page


def test_the_service_keeps_the_log_within_history_size(
        bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    with standin(epmd) as node:
        proc = bridge.start("--node", node.name, "--report", "true", "--initial-report", "0",
                            "--periodic-report", "150ms", "--history-size", "16k")
        ga.wait_for(lambda g: len(g.delivered(PRIMARY)) >= 40, timeout=60)
        assert bridge.stop(proc) == 0
    files = sorted(bridge.state_dir.glob(f"{FILENAME}*"))
    assert [f.name for f in files] == [FILENAME, *(f"{FILENAME}.{k}" for k in (1, 2, 3))]
    assert sum(f.stat().st_size for f in files) <= 16 * 1024
    doc = json.loads(checked(bridge.run("history", "--format", "json", "--last", "1000")))
    assert 10 < doc["reports"] < len(ga.delivered(PRIMARY))  # the oldest were rotated out
    assert doc["unreadable_lines"] == 0
    assert bridge.leftovers() == []


def test_no_history_keeps_no_log(bridge: Bridge, epmd: launcher.Epmd, ga: FakeGA) -> None:
    with standin(epmd) as node:
        assert bridge.run("--node", node.name, "--once", "--report", "true",
                          "--no-history").returncode == 0
    assert ga.delivered(PRIMARY)
    assert not (bridge.state_dir / FILENAME).exists()
    assert "the transparency log is off" in checked(bridge.run("show", BRIDGE_HISTORY="false"))
