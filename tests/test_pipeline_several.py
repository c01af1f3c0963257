"""Several Dashboards through the alert pipeline: one pipeline each, one feed, one log file, one hook.

Both Dashboards have a server with id 1: their active alerts must not overwrite each other, and the
keys handed on are fleet keys (the second Dashboard's ids shifted)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.feed import EventFeed
from nezha_tui.alerts.pipeline import build_pipelines, close_pipelines, load_history
from nezha_tui.alerts.rules import AlertConfig
from nezha_tui.fleets import server_key
from nezha_tui.store import FleetStore
from tests.ui_fakes import T0, fleet



def second(sid: int) -> int:
    """The fleet key of the second Dashboard's server ``sid``."""
    return server_key(1, sid)


class Shown:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[Event], set[int]]] = []

    def __call__(self, index: int):
        def shown(events: list[Event], changed: set[int]) -> None:
            self.batches.append((("home", "work")[index], events, changed))
        return shown

    def changed(self) -> list[tuple[str, set[int]]]:
        return [(name, changed) for name, _, changed in self.batches if changed]


def _two(feed: EventFeed, shown: Shown, **kw):
    pipelines = build_pipelines(["home", "work"], AlertConfig(), feed=feed, on_events=shown, **kw)
    assert pipelines[0].key is None and pipelines[1].key is not None and pipelines[1].key(5) == second(5)
    return pipelines


def test_same_server_id_on_two_dashboards_keeps_both_alerts_apart() -> None:
    feed, shown = EventFeed(), Shown()
    home, work = _two(feed, shown, keep_log=False)
    stores = FleetStore(), FleetStore()

    def frame(pipeline, store, **kw):
        return pipeline.on_frame(store.apply(fleet(3, **kw)), store)

    frame(home, stores[0])
    frame(work, stores[1])
    assert feed.active == {}
    out = frame(home, stores[0], now=T0 + 60, offline=[1])
    assert [(e.kind, e.dashboard, e.server_id) for e in out] == [(EventKind.OFFLINE, "home", 1)]
    out = frame(work, stores[1], now=T0 + 60, offline=[1, 2])
    assert {(e.kind, e.dashboard) for e in out} == {(EventKind.OFFLINE, "work")}
    # both server 1s are active, each under its own key
    assert dict(feed.active) == {1: ("offline",), second(1): ("offline",), second(2): ("offline",)}
    # home's server 1 comes back: only its key changes, work's server 1 stays
    out = frame(home, stores[0], now=T0 + 62)
    assert [(e.kind, e.dashboard, e.server_id) for e in out] == [(EventKind.ONLINE, "home", 1)]
    assert dict(feed.active) == {second(1): ("offline",), second(2): ("offline",)}
    # work's server 2 comes back: its fleet key, not 2 (home's server 2, never offline)
    frame(work, stores[1], now=T0 + 62, offline=[1])
    assert dict(feed.active) == {second(1): ("offline",)}
    assert shown.changed() == [("home", {1}), ("work", {second(1), second(2)}), ("home", {1}), ("work", {second(2)})]
    # every event names its Dashboard; the feed holds both, in order
    assert [e.dashboard for e in feed if e.kind is EventKind.SUMMARY] == ["home", "work"]


def test_feed_parts_replace_only_their_own_alerts() -> None:
    feed = EventFeed()
    assert feed.set_active({1: {"offline"}}, "home") == {1}
    before = feed.active
    assert feed.set_active({second(1): {"cpu"}}, "work") == {second(1)}
    assert dict(feed.active) == {1: ("offline",), second(1): ("cpu",)}
    assert dict(before) == {1: ("offline",)}  # a mapping handed out earlier is not changed under its holder
    version = feed.version
    assert feed.set_active({second(1): ["cpu"]}, "work") == set() and feed.version == version
    assert feed.set_active({}, "home") == {1}
    assert dict(feed.active) == {second(1): ("cpu",)}
    assert feed.set_active({}, "work") == {second(1)} and dict(feed.active) == {}
    # one part only (one Dashboard): as before, with the default part
    solo = EventFeed()
    assert solo.set_active({3: {"b", "a"}}) == {3} and dict(solo.active) == {3: ("a", "b")}
    assert solo.set_active({4: {"x"}}) == {3, 4} and dict(solo.active) == {4: ("x",)}


def test_one_log_file_and_one_hook_shared_history_loaded_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path / "state"))
    hook_out = tmp_path / "hook.jsonl"
    hook_argv = ["python3", "-c", f"import sys; open({str(hook_out)!r}, 'a').write(sys.stdin.read())"]
    feed, shown = EventFeed(), Shown()
    home, work = _two(feed, shown, hook_argv=hook_argv)
    assert home.log_file is not None and home.log_file is work.log_file
    assert home.hook is not None and home.hook is work.hook
    closed: list[str] = []
    real_close = home.log_file.close
    home.log_file.close = lambda: (closed.append("log"), real_close())[1]  # type: ignore[method-assign]

    async def run() -> None:
        stores = FleetStore(), FleetStore()
        home.on_frame(stores[0].apply(fleet(2)), stores[0])
        work.on_frame(stores[1].apply(fleet(2)), stores[1])
        work.on_frame(stores[1].apply(fleet(2, now=T0 + 60, offline=[1])), stores[1])
        await close_pipelines([home, work], hook_wait=10.0)

    asyncio.run(run())
    assert closed == ["log"]  # the shared log closed once
    log_path = tmp_path / "state" / "events.jsonl"
    logged = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(o["dashboard"], o["kind"]) for o in logged] == [("home", "summary"), ("work", "summary"),
                                                               ("work", "offline")]
    hooked = [json.loads(line) for line in hook_out.read_text().splitlines()]
    assert sorted((o["dashboard"], o["kind"]) for o in hooked) == sorted((o["dashboard"], o["kind"]) for o in logged)
    watched = json.loads((tmp_path / "state" / "events.watch.json").read_text())["dashboards"]
    assert set(watched) == {"home", "work"}

    # an event of a Dashboard not shown this time stays out of the feed
    other = Event(ts_ms=(T0 + 61) * 1000, kind=EventKind.OFFLINE, severity=Severity.CRITICAL, message="x",
                  dashboard="other", server_id=1)
    with log_path.open("a") as f:
        f.write(json.dumps(other.to_json()) + "\n")

    # the next run: the history is read once for both, each event once
    feed2 = EventFeed()
    again = build_pipelines(["home", "work"], AlertConfig(), feed=feed2)
    reads: list[int] = []
    real_read = again[0].log_file.read_recent
    again[0].log_file.read_recent = lambda limit: (reads.append(limit), real_read(limit))[1]  # type: ignore
    load_history(again)
    assert reads == [1000]
    assert [(e.dashboard, e.kind.value) for e in feed2] == [("home", "summary"), ("work", "summary"),
                                                            ("work", "offline")]
    assert feed2.unseen == 0
    asyncio.run(close_pipelines(again))


def test_a_log_that_cannot_be_opened_is_told_once(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(blocker / "state"))  # a file in the way of the dir
    problems: list[str] = []
    pipelines = build_pipelines(["a", "b", "c"], AlertConfig(), keep_log=True, on_problem=problems.append,
                                keys=[None, None, None])
    feed_a = pipelines[0].feed
    for p in pipelines:
        store = FleetStore()
        p.on_frame(store.apply(fleet(1)), store)
    assert feed_a is not pipelines[1].feed  # no feed given: each its own
    # the shared log's two problems (the watch record, the file), each told once for the three
    assert len(problems) == 2 and all("event log" in m or "watch record" in m for m in problems), problems


@pytest.mark.parametrize("count", [0, 1])
def test_build_pipelines_few(count: int) -> None:
    pipelines = build_pipelines(["solo"][:count], AlertConfig(), keep_log=False)
    assert len(pipelines) == count
    if count:
        assert pipelines[0].key is None and pipelines[0].dashboard == "solo"
