"""Pilot tests of issue 11's screens: the event log (``e``), the header's unseen counter and red
offline count, the wall's footer of the latest events, and trouble first (pinned, marked rows,
``!`` and the saved ``pin_alerts``).  Events are published as the lead's pipeline will: added to
``app.events`` (and ``set_active``), then :class:`EventsAdded` on ``state_changed``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.fleet_view import FleetView
from nezha_tui.settings import SettingsStore, UiSettings
from nezha_tui.store import FleetStore
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.events import EventsAdded
from nezha_tui.ui.screens.events import EventsScreen
from nezha_tui.ui.screens.fleet import FleetScreen
from nezha_tui.ui.screens.server_detail import ServerDetailScreen
from nezha_tui.ui.widgets.events import EventTicker
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.summary import FleetSummary
from nezha_tui.alerts.rules import BUILTIN_RULES, AlertConfig
from tests.test_ui_fleet import NARROW, header, table_lines
from tests.test_ui_fleet import feed as feed_frame
from tests.test_ui_fleet import make_app as fleet_app

QUIET = AlertConfig(disabled=frozenset(BUILTIN_RULES))
"""These tests stand in for the pipeline (they publish events and active alerts themselves): the
app's own detector runs with its built-in rules off, so only its first-frame summary comes, and
:func:`feed` drops it (tests/test_ui_alerting.py covers the real pipeline in the app)."""


def make_app(**kw: Any):
    kw.setdefault("alerts", QUIET)
    return fleet_app(**kw)


async def feed(pilot: Any, streams: Any, frame: Any) -> None:
    await feed_frame(pilot, streams, frame)
    if all(e.kind is EventKind.SUMMARY for e in pilot.app.events):
        pilot.app.events.clear()
        pilot.app.state_changed.publish(EventsAdded())
        await pilot.pause()
from tests.ui_fakes import T0, fleet

WIDE = (160, 30)


def ev(t: float, message: str, *, kind: EventKind = EventKind.OFFLINE, severity: Severity = Severity.WARNING,
       sid: int | None = None, name: str = "", dashboard: str = "Fake Fleet", **kw: Any) -> Event:
    return Event(ts_ms=int(t * 1000), kind=kind, severity=severity, message=message, dashboard=dashboard,
                 server_id=sid, server_name=name, **kw)


def publish(app: NezhaApp, events: Iterable[Event] = (), active: Mapping[int, Iterable[str]] | None = None) -> None:
    """What the pipeline does: the feed takes the events and the active alerts, then the signal."""
    added = app.events.add(events)
    changed = app.events.set_active(active) if active is not None else set()
    app.state_changed.publish(EventsAdded(tuple(added), frozenset(changed)))


STORY = [
    ev(T0 - 3600 * 30, "srv-002 is offline", sid=2, name="srv-002"),  # yesterday (UTC): the date shows
    ev(T0 - 120, "srv-003 is offline", sid=3, name="srv-003"),
    ev(T0 - 60, "web is down (3 down today)", kind=EventKind.SERVICE_DOWN, severity=Severity.CRITICAL,
       service_id=7, service_name="web"),
    ev(T0 - 30, "srv-003 is back online after 1m 30s", kind=EventKind.ONLINE, severity=Severity.OK, sid=3,
       name="srv-003"),
    ev(T0 - 10, "hot cpu on srv-005: 97% for 1m", kind=EventKind.RULE_FIRED, severity=Severity.CRITICAL, sid=5,
       name="srv-005", rule="hot cpu"),
]


def rows(app: NezhaApp) -> list[list[str]]:
    table = app.screen.query_one("#events", DataTable)
    return [[c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def cursor_message(app: NezhaApp) -> str:
    table = app.screen.query_one("#events", DataTable)
    return rows(app)[table.cursor_row][-1]


async def started(pilot: Any, streams: Any, app: NezhaApp, servers: int = 6) -> None:
    app.tz = timezone.utc
    await feed(pilot, streams, fleet(servers))


# --------------------------------------------------------------------------- the event log


async def test_e_opens_the_log_newest_first_and_marks_the_events_seen() -> None:
    app, streams, _ = make_app(wall_clock=lambda: datetime.fromtimestamp(T0))
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app)
        publish(app, STORY)
        await pilot.pause()
        assert "⚑ 5 new" in header(app)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        got = rows(app)
        assert [r[-1] for r in got] == [e.message for e in reversed(STORY)]
        assert got[0][1] == "✖ crit" and got[1][1] == "✔ ok" and got[-1][1] == "▲ warn"
        assert got[0][0] == "11:06:30"  # local (UTC here) time of day, today
        assert got[-1][0] == "11-17 05:06"  # another day: the date shows
        assert got[2][2] == "web"  # a service's event names the service
        assert app.events.unseen == 0
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen)
        assert "⚑" not in header(app)


async def test_live_events_keep_the_cursor_on_its_event_and_are_seen_as_they_come() -> None:
    app, streams, _ = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app)
        publish(app, STORY)
        await pilot.press("e", "down", "down")
        await pilot.pause()
        assert cursor_message(app) == STORY[2].message
        publish(app, [ev(T0, "srv-004 is offline", sid=4, name="srv-004")])
        await pilot.pause()
        assert rows(app)[0][-1] == "srv-004 is offline"
        assert cursor_message(app) == STORY[2].message  # the same event, one row lower
        assert app.events.unseen == 0


async def test_filter_and_severity_filter() -> None:
    app, streams, notes = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app)
        publish(app, STORY)
        await pilot.press("e", "slash", *"srv-003")
        await pilot.pause()
        assert [r[-1] for r in rows(app)] == [STORY[3].message, STORY[1].message]
        await pilot.press("enter")  # leaves the field, keeps the filter
        await pilot.press("escape")  # clears it (does not leave the screen)
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen) and len(rows(app)) == 5
        await pilot.press("f")
        await pilot.pause()
        assert [r[1] for r in rows(app)] == ["✖ crit", "✖ crit", "▲ warn", "▲ warn"]
        await pilot.press("f")
        await pilot.pause()
        assert [r[-1] for r in rows(app)] == [STORY[4].message, STORY[2].message]
        assert "Showing: critical events" in [n for n, _ in notes]
        await pilot.press("f", "slash", *"nothing-like-this")
        await pilot.pause()
        assert rows(app) == []
        empty = app.screen.query_one("#events-empty")
        assert empty.display and "No event matches 'nothing-like-this'" in str(empty.render())


async def test_enter_opens_the_events_server_and_says_when_it_is_gone() -> None:
    app, streams, notes = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app, servers=4)
        publish(app, [ev(T0 - 5, "srv-009 is offline", sid=9, name="srv-009"),
                      ev(T0, "srv-003 is offline", sid=3, name="srv-003")])
        await pilot.press("e", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.server_id == 3
        await pilot.press("escape", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        assert notes[-1][0] == "srv-009 is not on the Dashboard now"


async def test_empty_log_and_gap_rows() -> None:
    app, streams, _ = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await started(pilot, streams, app)
        await pilot.press("e")
        await pilot.pause()
        empty = app.screen.query_one("#events-empty")
        assert empty.display and "No events yet" in str(empty.render())
        app.events.load([ev(T0 - 7200, "srv-001 is offline", sid=1, name="srv-001"),
                         ev(T0 - 3600, "not watching from 06:08 to 07:08", kind=EventKind.GAP,
                            severity=Severity.INFO)])
        publish(app, [ev(T0, "srv-002 is offline", sid=2, name="srv-002")])
        await pilot.pause()
        got = rows(app)
        assert got[1][-1] == "── not watching from 06:08 to 07:08 ──" and got[1][1] == ""
        assert got[0][1] == "▲"  # 80 columns: the glyph alone
        assert not empty.display


# --------------------------------------------------------------------------- header and wall


async def test_header_counts_unseen_events_short_when_narrow_and_offline_count_is_critical() -> None:
    app, streams, _ = make_app()
    async with app.run_test(size=NARROW) as pilot:
        app.tz = None
        await feed(pilot, streams, fleet(6, offline=[2]))
        publish(app, STORY[:3])
        await pilot.pause()
        assert "⚑ 3" in header(app) and "⚑ 3 new" not in header(app)
        summary = app.screen.query_one(FleetSummary)
        from nezha_tui.ui.widgets.summary import _theme_colors

        assert ("○ 1", _theme_colors(app)["error"]) in summary.fitted(200)  # the critical colour
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert "⚑ 3 new" in header(app)


async def test_wall_footer_shows_the_three_latest_events_newest_first() -> None:
    app, streams, _ = make_app(wall=15.0, wall_clock=lambda: datetime.fromtimestamp(T0))
    async with app.run_test(size=(132, 40)) as pilot:
        await started(pilot, streams, app, servers=30)
        ticker = app.screen.query_one(EventTicker)
        assert not ticker.display
        publish(app, STORY)
        await pilot.pause()
        await pilot.pause()
        assert ticker.display and ticker.size.height == 3
        lines = ticker.render().plain.splitlines()
        assert lines == [f"11:06:30 ✖ {STORY[4].message}", f"11:06:10 ✔ {STORY[3].message}",
                         f"11:05:40 ✖ {STORY[2].message}"]
        await pilot.resize_terminal(*NARROW)  # 80x24: three rows of compact cards stay; two events
        await pilot.pause()
        await pilot.pause()
        cards = app.screen.query_one(FleetCards)
        assert ticker.size.height == 2 and cards.rows_per_page * cards.grid()[0] == 6
        assert ticker.render().plain.splitlines() == lines[:2]


# --------------------------------------------------------------------------- trouble first


def ids_in_table(app: NezhaApp) -> list[str]:
    return [line.split()[1] if line.split()[0] in "●○⚑" else line.split()[0]
            for line in table_lines(app)[1:] if line.strip()]


async def test_servers_with_alerts_are_pinned_marked_and_the_key_turns_it_off_saved(tmp_path: Any) -> None:
    from nezha_tui.settings import SettingsFile

    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    settings = SettingsStore.from_file(SettingsFile(config))
    app, streams, _ = make_app(settings=settings)
    async with app.run_test(size=WIDE) as pilot:
        app.tz = timezone.utc
        await feed(pilot, streams, fleet(6, offline=[2]))
        names = [line.split()[2] for line in table_lines(app)[1:7]]
        assert names == ["srv-001", "srv-003", "srv-004", "srv-005", "srv-006", "srv-002"]  # offline last
        publish(app, [STORY[4]], active={5: ["hot cpu"], 2: ["offline"]})
        await pilot.pause()
        lines = table_lines(app)[1:7]
        assert [line.split()[2] for line in lines] == ["srv-005", "srv-002", "srv-001", "srv-003", "srv-004",
                                                        "srv-006"]  # pinned first (online first there too)
        assert lines[0].split()[0] == "⚑" and lines[1].split()[0] == "○"  # offline keeps its ○
        await pilot.press("Y")  # another sort: the pinned part first, each part sorted
        await pilot.pause()
        view = app.screen.view
        assert view is not None and set(view.ids[:2]) == {2, 5}
        assert view.ids[2:] == sorted(view.ids[2:], key=lambda s: (app.store.servers[s].country_code or ""))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert not view.pin_alerts and app.ui_settings.pin_alerts is False
        assert view.ids == sorted(view.ids, key=lambda s: (not app.store.is_online(s),  # offline last, as ever
                                                           app.store.servers[s].country_code or ""))
        assert "⚑" in "".join(table_lines(app))  # still marked
        publish(app, active={})  # the alerts clear: no mark
        await pilot.pause()
        assert "⚑" not in "".join(table_lines(app))
        app._save_settings()
        assert "pin_alerts = false" in config.read_text(encoding="utf-8")


async def test_pin_setting_is_restored_and_cards_are_marked_too() -> None:
    settings = SettingsStore()
    settings.remember(pin_alerts=False, view="cards")
    app, streams, _ = make_app(settings=settings)
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app)
        view = app.screen.view
        assert view is not None and not view.pin_alerts
        publish(app, [STORY[4]], active={5: ["hot cpu"]})
        await pilot.pause()
        assert view.ids[0] == 1  # not pinned
        cards = app.screen.query_one(FleetCards)
        text = "\n".join(cards.render_line(y).text for y in range(cards.size.height))
        assert "⚑ srv-005" in text and "⚑ hot cpu" in text


def test_the_view_re_sorts_only_when_a_shown_servers_pinned_state_changes() -> None:
    from tests.ui_fakes import fleet as make_fleet

    store = FleetStore()
    store.apply(make_fleet(5))
    view = FleetView(store, pin_alerts=True)
    before = view.recomputes
    assert view.set_alerts({3: ("offline",)}, {3}) and view.ids[0] == 3
    assert not view.set_alerts({3: ("offline", "hot cpu")}, {3})  # still pinned: no re-sort
    assert not view.set_alerts({3: ("offline", "hot cpu"), 99: ("x",)}, {99})  # not shown
    assert view.recomputes == before + 1
    assert view.set_alerts({}, {3, 99}) and view.ids == [1, 2, 3, 4, 5]


async def test_no_color_keeps_the_severity_glyphs_and_the_offline_count_stands_out() -> None:
    os.environ["NO_COLOR"] = "1"
    try:
        app, streams, _ = make_app()
    finally:
        del os.environ["NO_COLOR"]
    async with app.run_test(size=WIDE) as pilot:
        assert app.no_color
        await feed(pilot, streams, fleet(4, offline=[4]))
        summary = app.screen.query_one(FleetSummary)
        assert ("○ 1", "bold reverse") in summary.fitted(200)
        publish(app, STORY)
        await pilot.press("e")
        await pilot.pause()
        assert [r[1].split()[0] for r in rows(app)] == ["✖", "✔", "✖", "▲", "▲"]


def test_defaults() -> None:
    assert UiSettings().pin_alerts is True


async def test_the_detail_names_the_servers_alerts() -> None:
    app, streams, _ = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app)
        await pilot.press("down", "down", "down", "down", "enter")  # srv-005
        await pilot.pause()
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.server_id == 5
        crumbs = app.screen.query_one("#crumbs")
        assert "⚑" not in str(crumbs.render())
        publish(app, [STORY[4]], active={5: ["hot cpu"]})
        await pilot.pause()
        assert "⚑ hot cpu" in str(crumbs.render())


async def test_the_log_holds_the_newest_rows_and_new_ones_go_on_top(monkeypatch: Any) -> None:
    from nezha_tui.ui.screens import events as screen_module

    monkeypatch.setattr(screen_module, "ROWS_MAX", 3)
    app, streams, _ = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot, streams, app)
        publish(app, STORY)
        await pilot.press("e", "down")
        await pilot.pause()
        assert [r[-1] for r in rows(app)] == [e.message for e in STORY[:1:-1]]
        status = str(app.screen.query_one("#events-status").render())
        assert "3 of 5 events" in status and "the newest 3 shown" in status
        assert cursor_message(app) == STORY[3].message
        publish(app, [ev(T0, "srv-006 is offline", sid=6, name="srv-006")])
        await pilot.pause()
        assert [r[-1] for r in rows(app)] == ["srv-006 is offline", STORY[4].message, STORY[3].message]
        assert cursor_message(app) == STORY[3].message
        publish(app, [ev(T0 + 1, "srv-001 is offline", severity=Severity.INFO, sid=1, name="srv-001")])
        await pilot.press("f")  # warnings and worse: the info event is not shown, nor added
        publish(app, [ev(T0 + 2, "srv-002 is back", severity=Severity.OK, sid=2, name="srv-002")])
        await pilot.pause()
        assert "srv-002 is back" not in [r[-1] for r in rows(app)]
