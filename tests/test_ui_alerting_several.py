"""The alert pipelines of several Dashboards inside the app: one per Dashboard, both with a server 1;
active alerts keyed by fleet keys, toasts naming the Dashboard, services polled per Dashboard (not one
that refused the login), the event log's Dashboard column, filter and ``enter`` through the fleet key,
and the wall's ticker naming the Dashboard."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.rules import AlertConfig, Rule
from nezha_tui.api import models as m
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.fleets import DashboardTarget, server_key
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.events import EventsAdded
from nezha_tui.ui.screens.events import EventsScreen
from nezha_tui.ui.screens.server_detail import ServerDetailScreen
from nezha_tui.ui.widgets.events import EventTicker
from tests.ui_fakes import T0, FakeClient, fleet, frame, server_json, stream_factory

WIDE = (160, 30)


class Several:
    """An app over the Dashboards ``names`` (FakeClients), with a hand on each one's stream."""

    def __init__(self, names: tuple[str, ...] = ("home", "work"), *, unnamed: tuple[str, ...] = (),
                 **kw: Any) -> None:
        self.streams = stream_factory()
        self.clients = {name: FakeClient(site_name=f"{name.title()} Site") for name in names}
        targets = [DashboardTarget(name, client, named=name not in unnamed) for name, client in self.clients.items()]
        kw.setdefault("wall_clock", lambda: datetime.fromtimestamp(T0))
        self.app = NezhaApp(targets, stream_factory=self.streams, start_timers=False, **kw)
        self.app.tz = timezone.utc
        self.notes: list[str] = []
        original = self.app.notify

        def notify(message: Any, **kwargs: Any) -> None:
            self.notes.append(str(message))
            original(message, **kwargs)

        self.app.notify = notify  # type: ignore[method-assign]

    def stream(self, name: str) -> Any:
        client = self.clients[name]
        return [s for s in self.streams.instances if s.client is client][-1]

    async def push(self, pilot: Any, name: str, f: m.StreamFrame) -> None:
        self.stream(name).push(f)
        await pilot.pause()
        await pilot.pause()


def kinds(app: NezhaApp, dashboard: str) -> list[EventKind]:
    return [e.kind for e in app.events if e.dashboard == dashboard]


def rows(app: NezhaApp) -> list[list[str]]:
    table = app.screen.query_one("#events", DataTable)
    return [[c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_same_server_id_on_two_dashboards_alerts_apart_and_toasts_name_the_dashboard() -> None:
    rule = Rule(name="hot cpu", metric="cpu", above=90.0, for_s=0.0)
    several = Several(alerts=AlertConfig(rules=(rule,)))
    app = several.app
    async with app.run_test(size=WIDE) as pilot:
        await several.push(pilot, "home", fleet(3))
        await several.push(pilot, "work", fleet(3))
        assert kinds(app, "home") == [EventKind.SUMMARY] and kinds(app, "work") == [EventKind.SUMMARY]
        await several.push(pilot, "home", fleet(3, now=T0 + 60, offline=[1]))
        await several.push(pilot, "work", frame([server_json(1, now=T0 + 60, cpu=99.0),
                                                 server_json(2, now=T0 + 60), server_json(3, now=T0 + 60)],
                                                now=T0 + 60))
        work1 = server_key(1, 1)
        assert dict(app.events.active) == {1: ("offline",), work1: ("hot cpu",)}
        fired = app.events.newest(1)[0]
        assert (fired.kind, fired.dashboard, fired.server_id) == (EventKind.RULE_FIRED, "work", 1)
        assert any(note.startswith("work: ") and fired.message in note for note in several.notes), several.notes
        # home's server 1 comes back: work's alert on its own server 1 stays
        changed: list[frozenset[int]] = []
        app.state_changed.subscribe(app.screen, lambda e: changed.append(e.alerts_changed)
                                    if isinstance(e, EventsAdded) and e.alerts_changed else None)
        await several.push(pilot, "home", fleet(3, now=T0 + 90))
        assert dict(app.events.active) == {work1: ("hot cpu",)}
        assert changed == [frozenset({1})]
        # the grid pins work's server 1 (its fleet key), not home's
        view = app.screen.view
        assert view is not None and view.pin_alerts and view.ids[0] == work1 and 1 in view.ids[1:]


async def test_services_are_polled_per_dashboard_and_not_where_the_login_was_refused() -> None:
    def overview(down: bool) -> m.ServiceOverview:
        item = m.ServiceItem(service_name="web", current_up=0 if down else 10, current_down=3 if down else 0,
                             total_up=100, total_down=3, up=[0] * 29 + [90], down=[0] * 29 + [3 if down else 0])
        return m.ServiceOverview(services={7: item})

    several = Several(("home", "work", "lab"))
    app = several.app
    several.clients["home"].answers["services"] = overview(False)
    several.clients["work"].answers["services"] = overview(False)
    async with app.run_test(size=WIDE) as pilot:
        await several.push(pilot, "home", fleet(2))
        await several.push(pilot, "work", fleet(2))
        several.stream("lab").on_status(StreamStatus(StreamState.AUTH_FAILED, message="wrong password"))
        await pilot.pause()
        assert app.dashboards[2].login_refused
        app.alerts.fetch_services()
        await polled(app, pilot)
        several.clients["work"].answers["services"] = overview(True)
        app.alerts.fetch_services()
        await polled(app, pilot)
        assert several.clients["home"].count("services") == 2 and several.clients["work"].count("services") == 2
        assert several.clients["lab"].count("services") == 0  # refused: not asked
        down = app.events.newest(1)[0]
        assert (down.kind, down.dashboard, down.service_name) == (EventKind.SERVICE_DOWN, "work", "web")
        assert kinds(app, "home") == [EventKind.SUMMARY]
        assert any(note.startswith("work: service web is down") for note in several.notes), several.notes


async def polled(app: NezhaApp, pilot: Any) -> None:
    """Until the services workers ended (the streams' workers never do)."""
    await app.workers.wait_for_complete([w for w in app.workers if w.group.startswith("alert-services")])
    await pilot.pause()


def ev(t: float, message: str, dashboard: str, sid: int | None = None, **kw: Any) -> Event:
    return Event(ts_ms=int(t * 1000), kind=EventKind.OFFLINE, severity=Severity.WARNING, message=message,
                 dashboard=dashboard, server_id=sid, server_name=f"srv-{sid:03d}" if sid is not None else "", **kw)


def publish(app: NezhaApp, events: list[Event]) -> None:
    app.state_changed.publish(EventsAdded(tuple(app.events.add(events)), frozenset()))


async def test_the_event_log_names_the_dashboard_filters_on_it_and_opens_through_the_fleet_key() -> None:
    several = Several(alerts=AlertConfig(disabled=frozenset({"offline", "service_down", "quota", "expiry"})))
    app = several.app
    async with app.run_test(size=WIDE) as pilot:
        await several.push(pilot, "home", fleet(3))
        await several.push(pilot, "work", fleet(2))
        app.events.clear()
        publish(app, [ev(T0 - 40, "srv-001 is offline", "home", 1),
                      ev(T0 - 30, "srv-009 is offline", "work", 9),
                      ev(T0 - 20, "srv-001 is offline", "gone", 1),
                      ev(T0 - 10, "srv-001 is offline", "work", 1)])
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        got = rows(app)
        assert [r[2] for r in got] == ["work", "gone", "work", "home"]  # the Dashboard column
        await pilot.press("enter")  # work's srv-001: fleet key (1, 1), not home's server 1
        await pilot.pause()
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.key == server_key(1, 1)
        await pilot.press("escape", "down", "enter")  # a Dashboard not shown now
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        assert several.notes[-1] == "srv-001: its Dashboard (gone) is not shown now"
        await pilot.press("down", "enter")  # work's srv-009: not on work now
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen) and several.notes[-1] == "srv-009 is not on work now"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.key == 1
        await pilot.press("escape", "slash", *"work")
        await pilot.pause()
        assert [r[2] for r in rows(app)] == ["work", "work"]


async def test_one_dashboard_has_no_dashboard_column_and_opens_by_server_id() -> None:
    streams = stream_factory()
    app = NezhaApp(FakeClient(), stream_factory=streams, start_timers=False, dashboard_name="solo",
                   alerts=AlertConfig(disabled=frozenset({"offline", "service_down", "quota", "expiry"})))
    async with app.run_test(size=WIDE) as pilot:
        streams.last.push(fleet(3))
        await pilot.pause()
        app.events.clear()
        publish(app, [ev(T0 - 10, "srv-002 is offline", "solo", 2)])
        await pilot.press("e")
        await pilot.pause()
        assert len(rows(app)[0]) == 4  # time, severity, server, message
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.key == 2


async def test_history_of_both_dashboards_loaded_once_and_the_wall_ticker_names_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path))
    lines = [ev(T0 - 300, "srv-001 is offline", "home", 1), ev(T0 - 200, "srv-001 is offline", "work", 1),
             ev(T0 - 100, "srv-004 is offline", "elsewhere", 4)]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e.to_json()) + "\n" for e in lines))
    several = Several(keep_event_log=True, wall=15.0)
    app = several.app
    async with app.run_test(size=(132, 40)) as pilot:
        assert [(e.dashboard, e.message) for e in app.events] == [("home", "srv-001 is offline"),
                                                                  ("work", "srv-001 is offline")]
        assert len(app.alerts.pipelines) == 2
        assert app.alerts.pipelines[0].log_file is app.alerts.pipelines[1].log_file
        await several.push(pilot, "home", fleet(3))
        await several.push(pilot, "work", fleet(2))
        await pilot.pause()
        ticker = app.screen.query_one(EventTicker)
        text = ticker.render().plain.splitlines()
        assert any("work · 2 servers" in line for line in text), text
        assert any("home · 3 servers" in line for line in text), text


async def test_a_bare_urls_events_keep_their_name_and_show_its_site_name_once_known() -> None:
    """``work.example`` (a bare URL): its label becomes the site name; its events keep the host (the log,
    the next run) and read as the label on screen; enter still finds its servers."""
    several = Several(("home", "work.example"), unnamed=("work.example",))
    app = several.app
    async with app.run_test(size=WIDE) as pilot:
        await several.push(pilot, "home", fleet(2))
        await several.push(pilot, "work.example", fleet(2))
        for _ in range(20):
            if app.dashboards[1].name != "work.example":
                break
            await pilot.pause()
        assert app.dashboards[1].name == "Work.Example Site"
        await several.push(pilot, "work.example", fleet(2, now=T0 + 60, offline=[2]))
        offline = app.events.newest(1)[0]
        assert (offline.dashboard, offline.server_id) == ("work.example", 2)
        assert app.alerts.message(offline) == f"Work.Example Site: {offline.message}"
        await pilot.press("e")
        await pilot.pause()
        assert rows(app)[0][2] == "Work.Example Site"
        await pilot.press("slash", *"example site", "enter")
        await pilot.pause()
        assert [r[2] for r in rows(app)] == ["Work.Example Site", "Work.Example Site"]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.key == server_key(1, 2)
