"""The real alert pipeline inside the app: frames -> events -> feed, pins, toasts, desktop notifications,
the log file across restarts, events while paused, service events from the overview."""

from __future__ import annotations

import json
from typing import Any

from nezha_tui.alerts.event import EventKind
from nezha_tui.alerts.rules import AlertConfig, Rule
from nezha_tui.api import models as m
from nezha_tui.ui.app import NezhaApp
from tests.test_ui_fleet import NARROW, feed, header, table_lines
from tests.ui_fakes import T0, FakeClient, fleet, server_json, frame, stream_factory


def make_app(client: Any = None, **kw: Any) -> tuple[NezhaApp, Any, list[str]]:
    streams = stream_factory()
    app = NezhaApp(client or FakeClient(), stream_factory=streams, start_timers=False, **kw)
    notes: list[str] = []
    original = app.notify

    def notify(message, **kwargs):
        notes.append(str(message))
        return original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return app, streams, notes


def kinds(app: NezhaApp) -> list[EventKind]:
    return [e.kind for e in app.events]


async def test_offline_server_is_an_event_pinned_first_and_counted_in_the_header() -> None:
    app, streams, _ = make_app(dashboard_name="home")
    async with app.run_test(size=NARROW) as pilot:
        await feed(pilot, streams, fleet(6))
        assert kinds(app) == [EventKind.SUMMARY]
        assert app.events.newest(1)[0].message == "6 servers: 6 online"
        await feed(pilot, streams, fleet(6, now=T0 + 60, offline=[4]))
        await pilot.pause()
        event = app.events.newest(1)[0]
        assert (event.kind, event.server_id, event.dashboard) == (EventKind.OFFLINE, 4, "home")
        assert event.ts_ms == (T0 + 60) * 1000
        assert dict(app.events.active) == {4: ("offline",)}
        assert "srv-004" in table_lines(app)[1]  # pinned above the rest
        assert "⚑ 2" in header(app)
        await feed(pilot, streams, fleet(6, now=T0 + 120))
        await pilot.pause()
        back = app.events.newest(1)[0]
        assert back.kind is EventKind.ONLINE and "back online" in back.message
        assert dict(app.events.active) == {}
        assert "srv-001" in table_lines(app)[1]


async def test_a_rule_fires_with_a_toast_and_a_desktop_notification() -> None:
    rule = Rule(name="hot cpu", metric="cpu", above=90.0, for_s=60.0)
    app, streams, notes = make_app(alerts=AlertConfig(rules=(rule,), notify="osc777"))
    async with app.run_test(size=NARROW) as pilot:
        hot = [server_json(1, now=T0, cpu=95.0), server_json(2, now=T0)]
        await feed(pilot, streams, frame(hot, now=T0))
        await feed(pilot, streams, frame([server_json(1, now=T0 + 30, cpu=96.0), server_json(2, now=T0 + 30)],
                                         now=T0 + 30))
        assert EventKind.RULE_FIRED not in kinds(app)  # 30 s of 60
        await feed(pilot, streams, frame([server_json(1, now=T0 + 60, cpu=97.0), server_json(2, now=T0 + 60)],
                                         now=T0 + 60))
        await pilot.pause()
        fired = app.events.newest(1)[0]
        assert fired.kind is EventKind.RULE_FIRED and fired.rule == "hot cpu" and fired.server_id == 1
        assert dict(app.events.active) == {1: ("hot cpu",)}
        assert any(fired.message in note for note in notes)
        osc = [t for t in app.terminal_written if t.startswith("\x1b]777;notify;")]
        assert len(osc) == 1 and "hot cpu" in osc[0] and osc[0].endswith("\x07")


async def test_events_go_on_while_the_picture_is_paused() -> None:
    app, streams, _ = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await feed(pilot, streams, fleet(4))
        await pilot.press("p")
        await feed(pilot, streams, fleet(4, now=T0 + 60, offline=[2]))
        await pilot.pause()
        assert app.paused and app.events.newest(1)[0].kind is EventKind.OFFLINE


async def test_a_service_going_down_is_an_event_from_the_overview() -> None:
    def overview(down: bool) -> m.ServiceOverview:
        item = m.ServiceItem(service_name="web", current_up=0 if down else 10, current_down=3 if down else 0,
                             total_up=100, total_down=3, up=[0] * 29 + [90], down=[0] * 29 + [3 if down else 0])
        return m.ServiceOverview(services={7: item})

    client = FakeClient(services=overview(False))
    app, streams, _ = make_app(client)
    async with app.run_test(size=NARROW) as pilot:
        await feed(pilot, streams, fleet(2))
        app.alerts.fetch_services()
        await pilot.pause()
        client.answers["services"] = overview(True)
        app.alerts.fetch_services()
        for _ in range(50):  # the fetch runs in a worker: until its answer is taken in
            await pilot.pause()
            if app.events.newest(1)[0].kind is EventKind.SERVICE_DOWN:
                break
        down = app.events.newest(1)[0]
        assert down.kind is EventKind.SERVICE_DOWN and down.service_name == "web"


async def test_events_are_kept_across_restarts_with_the_gap(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path))
    app, streams, _ = make_app(keep_event_log=True, dashboard_name="home")
    async with app.run_test(size=NARROW) as pilot:
        await feed(pilot, streams, fleet(3))
        await feed(pilot, streams, fleet(3, now=T0 + 60, offline=[3]))
    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [o["kind"] for o in lines] == ["summary", "offline"]
    again, streams, _ = make_app(keep_event_log=True, dashboard_name="home")
    async with again.run_test(size=NARROW) as pilot:
        assert [e.kind for e in again.events] == [EventKind.SUMMARY, EventKind.OFFLINE]
        assert again.events.unseen == 0  # earlier runs' events are not new
        await feed(pilot, streams, fleet(3, now=T0 + 3600))
        gap = [e for e in again.events if e.kind is EventKind.GAP]
        assert len(gap) == 1 and gap[0].message.startswith("not watching from")


async def test_e_shows_earlier_events_before_the_first_frame_only_when_there_are_some(tmp_path, monkeypatch) -> None:
    from nezha_tui.ui.screens.events import EventsScreen

    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path))
    app, _, _ = make_app(keep_event_log=True, dashboard_name="home")
    async with app.run_test(size=NARROW) as pilot:  # connecting, nothing logged yet: e waits for data
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, EventsScreen)
    (tmp_path / "events.jsonl").write_text(json.dumps({
        "ts_ms": (T0 - 600) * 1000, "kind": "offline", "severity": "critical", "message": "srv-009 is offline",
        "dashboard": "home", "server_id": 9, "server_name": "srv-009"}) + "\n")
    again, _, _ = make_app(keep_event_log=True, dashboard_name="home")
    async with again.run_test(size=NARROW) as pilot:  # the Dashboard is down: what happened before still shows
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(again.screen, EventsScreen)
        assert [e.message for e in again.events] == ["srv-009 is offline"]
