"""Pilot tests of the fleet screen: rows, keys, sort, filter, groups, selection, views."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.geometry import Region
from textual.widget import Widget

from nezha_tui.alerts.rules import AlertConfig
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.fleet_table import FleetTable
from nezha_tui.ui.widgets.summary import FleetSummary
from tests.ui_fakes import T0, FakeClient, fleet, frame, groups, server_json, status, stream_factory

NARROW = (80, 24)
WIDE = (200, 50)


UNPINNED = AlertConfig(disabled=frozenset({"offline"}))
"""The built-in offline rule off: offline servers are not pinned above the rest (these tests check the
grid's own order and marks; trouble-first pinning is tested in test_ui_events and test_ui_alerting)."""


def make_app(*, group_list=None, **kw: Any) -> tuple[NezhaApp, Any, list[tuple[str, dict]]]:
    kw.setdefault("alerts", UNPINNED)
    streams = stream_factory()
    client = FakeClient(group_list=group_list)
    app = NezhaApp(client, stream_factory=streams, start_timers=False, **kw)
    notes: list[tuple[str, dict]] = []
    original = app.notify

    def notify(message, **kwargs):
        notes.append((str(message), kwargs))
        return original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return app, streams, notes


async def feed(pilot, streams, f) -> None:
    streams.last.push(f)
    await pilot.pause()


@asynccontextmanager
async def fleet_screen(first=None, *, size=NARROW, **app_kw: Any):
    """``make_app(**app_kw)`` running at ``size``, fed the frame ``first`` when given.

    Yields ``(app, pilot, streams, notes)``; the app is shut down when the block ends, also on a failure.
    """
    app, streams, notes = make_app(**app_kw)
    async with app.run_test(size=size) as pilot:
        if first is not None:
            await feed(pilot, streams, first)
        yield app, pilot, streams, notes


def table_lines(app: NezhaApp) -> list[str]:
    table = app.screen.query_one(FleetTable)
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def header(app: NezhaApp) -> str:
    return app.screen.query_one(FleetSummary).render().plain


def spy(obj: Any, name: str, record: Any) -> None:
    """From now on, every call of ``obj.name`` first calls ``record`` with the same arguments."""
    original = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        record(*args, **kwargs)
        return original(*args, **kwargs)

    setattr(obj, name, wrapper)


def record_rendered_lines(widget: Any) -> list[int]:
    """From now on, appends to the returned list the y of every line ``widget`` renders."""
    asked: list[int] = []
    spy(widget, "_render_line", asked.append)
    return asked


def record_formatted_rows(table: FleetTable) -> list[int]:
    """From now on, appends to the returned list the id of every server whose row ``table`` formats."""
    formatted: list[int] = []
    spy(table, "_row", lambda sid, *args: formatted.append(sid))
    return formatted


def record_repaints(widget: Any) -> list[Region]:
    """From now on, appends to the returned list every region ``widget`` is asked to repaint."""
    regions: list[Region] = []
    spy(widget, "refresh", lambda *asked, **kwargs: regions.extend(asked))
    return regions


async def test_rows_shown_and_values_change_with_next_frame():
    async with fleet_screen() as (app, pilot, streams, _):
        await pilot.pause()
        streams.last.set_status(status("live"))
        await feed(pilot, streams, fleet(12))
        lines = table_lines(app)
        assert "NAME" in lines[0] and "CPU" in lines[0]
        assert "srv-001" in lines[1] and "14.0%" in lines[2]
        f = fleet(12, now=T0 + 2)
        f.servers[1].state.cpu = 42.5
        await feed(pilot, streams, f)
        assert "42.5%" in table_lines(app)[2]
        h = header(app)
        assert "Fake Fleet" in h and "12 servers" in h and "live" in h


async def test_narrow_drops_columns_wide_shows_all():
    async with fleet_screen(fleet(3)) as (app, pilot, streams, _):
        head = table_lines(app)[0]
        assert all(t in head for t in ("NAME", "CPU", "MEM", "DISK", "IN/s", "OUT/s"))
        assert "GPU" not in head and "TCP/UDP" not in head
        assert len(head) <= 80
    hot = fleet(3, temps=(41, 63.5), gpu=(12.0, 88.0))
    async with fleet_screen(hot, size=WIDE) as (app, pilot, streams, _):
        lines = table_lines(app)
        for title in ("CC", "SWAP", "RX", "TX", "LOAD", "UPTIME", "TCP/UDP", "PROC", "TEMP", "GPU"):
            assert title in lines[0]
        assert "64°C" in lines[1] and "88.0%" in lines[1] and "3d 1h" in lines[1] and "DE" not in lines[0]


async def test_layout_does_not_jump_when_values_change_width():
    f = fleet(2)
    f.servers[0].state.cpu, f.servers[0].state.net_in_speed = 1.0, 5
    async with fleet_screen(f) as (app, pilot, streams, _):
        before = table_lines(app)[1].index("%")
        g = fleet(2, now=T0 + 2)
        g.servers[0].state.cpu, g.servers[0].state.net_in_speed = 100.0, 1023 * 1024 * 1024
        await feed(pilot, streams, g)
        assert table_lines(app)[1].index("%") == before


async def test_offline_rows_are_marked_and_last():
    async with fleet_screen(fleet(4, offline=[1])) as (app, pilot, streams, _):
        lines = table_lines(app)
        assert lines[1].startswith("●") and "srv-002" in lines[1]
        assert lines[4].startswith("○") and "srv-001" in lines[4]


async def test_filter_counts_escape_and_q_typed_into_filter():
    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        await pilot.press("slash")
        await pilot.press(*"srv-01")
        table = app.screen.query_one(FleetTable)
        assert table.view.ids == [10, 11, 12]
        assert "3 of 12" in str(app.screen.query_one("#filter-count").render())
        bar = app.screen.query_one("#filter-bar")
        assert bar.region.height == 1 and bar.region.y == 22  # above the key hints, not under them
        assert "filter 3 of 12" in header(app)
        await pilot.press("q")  # typed into the filter, not quit
        assert app.is_running and table.view.ids == []
        await pilot.press("backspace", "enter")
        assert table.has_focus and app.screen.query_one("#filter-bar").display
        await pilot.press("escape")
        assert len(table.view.ids) == 12 and not app.screen.query_one("#filter-bar").display


async def test_filter_by_country_platform_and_group():
    async with fleet_screen(fleet(10), group_list=groups((1, "Tokyo-DC", [3, 8]))) as (app, pilot, streams, _):
        await pilot.pause()
        await pilot.press("slash", *"tokyo")
        assert app.screen.query_one(FleetTable).view.ids == [3, 8]
        await pilot.press("escape", "slash", *"jp")
        assert app.screen.query_one(FleetTable).view.ids == [2, 7]


async def test_status_filter_key():
    async with fleet_screen(fleet(5, offline=[2, 4])) as (app, pilot, streams, _):
        await pilot.press("f")  # all -> offline only -> online only -> all, as README and help say
        assert app.screen.query_one(FleetTable).view.ids == [2, 4]
        assert "2 of 5 (offline)" in str(app.screen.query_one("#filter-count").render())
        await pilot.press("f")
        assert app.screen.query_one(FleetTable).view.ids == [1, 3, 5]
        await pilot.press("f")
        assert len(app.screen.query_one(FleetTable).view.ids) == 5
        await pilot.press("f", "escape")
        assert len(app.screen.query_one(FleetTable).view.ids) == 5


async def test_sort_keys_reverse_and_stability():
    servers = [server_json(i, f"n{10 - i}", cpu=(50.0 if i % 2 else 20.0)) for i in range(1, 7)]
    servers.append(server_json(7, "a-offline", cpu=99.0, age=None))
    async with fleet_screen(frame(servers)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        await pilot.press("o")  # name (offline not forced last)
        assert table.view.sort_key.id == "name" and table.view.ids[0] == 7
        await pilot.press("o")  # cpu: ties keep the Dashboard order, offline last
        assert table.view.ids == [1, 3, 5, 2, 4, 6, 7]
        assert "CPU▼" in table_lines(app)[0]
        await pilot.press("O")
        assert table.view.ids == [2, 4, 6, 1, 3, 5, 7]
        assert "CPU▲" in table_lines(app)[0]
        # next frame with equal values: same order (stable)
        await feed(pilot, streams, frame(servers, now=T0 + 2))
        assert table.view.ids == [2, 4, 6, 1, 3, 5, 7]


async def test_selection_kept_across_frames_sorts_filters_groups_and_views():
    even_odd = groups((1, "even", [2, 4, 6, 8]), (2, "odd", [1, 3, 5, 7]))
    async with fleet_screen(fleet(8, step=0), group_list=even_odd) as (app, pilot, streams, _):
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        await pilot.press("down", "down", "down")
        assert table.highlighted_id == 4
        await pilot.press("o", "o")  # cpu sort
        assert table.highlighted_id == 4 and table.view.ids[table.cursor] == 4
        await feed(pilot, streams, fleet(8, now=T0 + 2, step=5))  # values move, order changes
        assert table.highlighted_id == 4
        await pilot.press("right_square_bracket")  # group "even"
        assert table.view.ids and set(table.view.ids) == {2, 4, 6, 8} and table.highlighted_id == 4
        assert "[even]" in header(app)
        await pilot.press("slash", "4", "enter")
        assert table.highlighted_id == 4
        await pilot.press("escape", "v")
        cards = app.screen.query_one(FleetCards)
        assert cards.display and not table.display and cards.highlighted_id == 4
        await pilot.press("v")
        assert table.display and table.highlighted_id == 4


async def test_group_keys_cycle_visible_groups():
    three = groups((1, "eu", [1, 2, 3]), (2, "empty", None), (3, "asia", [4, 5]))
    async with fleet_screen(fleet(6), group_list=three) as (app, pilot, streams, _):
        await pilot.pause()
        view = app.screen.query_one(FleetTable).view
        await pilot.press("right_square_bracket")
        assert view.ids == [1, 2, 3] and "3 servers" in header(app)
        await pilot.press("right_square_bracket")
        assert view.ids == [4, 5]
        await pilot.press("right_square_bracket")
        assert len(view.ids) == 6 and view.group_id is None
        await pilot.press("left_square_bracket")
        assert view.ids == [4, 5]


async def refresh_groups(app: NezhaApp, pilot: Any) -> None:
    """The app's groups refresh, answered and followed."""
    app.refresh_groups()
    await app.workers.wait_for_complete([w for w in app.workers if w.group == "groups"])
    await pilot.pause()


async def test_a_groups_refresh_refilters_without_a_fleet_change():
    """New groups come as GroupsChanged on state_changed, not as an empty FleetChange: the group
    filter, the filter text's group names, the count and the header's totals follow them."""
    from nezha_tui.ui.events import GroupsChanged

    async with fleet_screen(fleet(6), group_list=groups((1, "eu", [1, 2, 3]))) as (app, pilot, streams, _):
        await pilot.pause()
        await pilot.pause()
        changes: list[Any] = []
        events: list[Any] = []
        app.fleet_changed.subscribe(app.screen, changes.append, immediate=True)
        app.state_changed.subscribe(app.screen, events.append, immediate=True)
        view = app.screen.query_one(FleetTable).view
        await pilot.press("right_square_bracket")  # group "eu"
        assert view.ids == [1, 2, 3] and "3 servers" in header(app)
        app.client.answers["server_groups"] = groups((1, "eu", [1, 2]), (2, "asia", [5]))
        await refresh_groups(app, pilot)
        assert events == [GroupsChanged()] and changes == []
        assert view.ids == [1, 2] and "2 servers" in header(app)
        assert "2 of 2" in str(app.screen.query_one("#filter-count").render())
        assert ["srv-001" in table_lines(app)[1], "srv-002" in table_lines(app)[2], table_lines(app)[3].strip()] == [True, True, ""]
        await pilot.press("left_square_bracket", "slash", *"asia")  # the new group's name matches
        assert view.group_id is None and view.ids == [5]
        await pilot.press("escape", "escape", "right_square_bracket")
        assert view.group_id == 1
        app.client.answers["server_groups"] = groups((2, "asia", [5]))  # "eu" is gone
        await refresh_groups(app, pilot)
        assert view.group_id is None and len(view.ids) == 6 and "[eu]" not in header(app)
        await refresh_groups(app, pilot)  # the same groups again: nothing published
        assert events == [GroupsChanged(), GroupsChanged()] and changes == []


async def test_view_toggle_cards_show_billing_and_bars():
    note = '{"billingDataMod":{"startDate":"2026-01-01T00:00:00Z","endDate":"2027-01-01T00:00:00Z","autoRenewal":"1","cycle":"Year","amount":"9.99EUR"}}'
    billed = frame([server_json(1, "billed", public_note=note, cpu=95.0), server_json(2, "plain")])
    async with fleet_screen(billed) as (app, pilot, streams, _):
        await pilot.press("v")
        cards = app.screen.query_one(FleetCards)
        text = "\n".join(cards.render_line(y).text for y in range(cards.card_height))
        assert "billed" in text and "CPU" in text and "95.0%" in text and "█" in text
        assert "9.99EUR" in text and "d left" in text
        assert "up 3d 1h" in text


async def test_only_visible_rows_are_formatted():
    async with fleet_screen(fleet(3000)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        first = table.rows_rendered
        assert 0 < first <= 60
        await feed(pilot, streams, fleet(3000, now=T0 + 2, step=1))
        assert table.rows_rendered - first <= 60
        await pilot.press("end")
        assert table.highlighted_id == 3000 and "srv-3000" in table_lines(app)[-1]
        await pilot.press("v")
        cards = app.screen.query_one(FleetCards)
        await pilot.pause()
        assert cards.rows_rendered <= 12 and cards.highlighted_id == 3000


async def test_enter_and_click_open_the_selected_server():
    opened: list[int] = []
    async with fleet_screen() as (app, pilot, streams, _):
        app.action_open_server = opened.append  # type: ignore[method-assign]
        await feed(pilot, streams, fleet(5))
        await pilot.press("down", "enter")
        assert opened == [2]
        await pilot.click(FleetTable, offset=(10, 4))  # header is line 0: line 4 is the 4th row
        assert opened == [2, 4]
        await pilot.press("v")
        await pilot.click(FleetCards, offset=(45, 2))  # second card of the first row
        assert opened[-1] == 2


async def test_open_server_without_detail_screen_notifies(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.endswith("server_detail"):
            raise ImportError("not built")
        return real_import(name, *args, **kwargs)

    async with fleet_screen(fleet(2)) as (app, pilot, streams, notes):
        monkeypatch.setattr(builtins, "__import__", fake_import)
        await pilot.press("enter")
        monkeypatch.setattr(builtins, "__import__", real_import)
        assert any("not available" in n for n, _ in notes)
        assert app.is_running


async def test_services_key_opens_services_screen():
    pytest.importorskip("nezha_tui.ui.screens.services")
    async with fleet_screen(fleet(2)) as (app, pilot, streams, _):
        await pilot.press("s")
        await pilot.pause()
        assert type(app.screen).__name__ == "ServicesScreen"


async def test_help_lists_every_binding_and_closes():
    async with fleet_screen(fleet(2)) as (app, pilot, streams, _):
        await pilot.press("question_mark")
        await pilot.pause()
        from nezha_tui.ui.screens.help import HelpScreen, help_rows

        assert isinstance(app.screen, HelpScreen)
        rows = dict(help_rows(app, app.screen.help_bindings))
        for key in ("/", "esc", "o", "O", "[", "]", "v", "p", "b", "?", "enter", "s", "q", "f"):
            assert any(key in k.split() for k in rows), key
        assert any("Filter by name" in text for text in rows.values())
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_pause_freezes_picture_and_resume_applies_latest():
    async with fleet_screen(fleet(3)) as (app, pilot, streams, notes):
        await pilot.press("p")
        assert app.paused and "PAUSED" in header(app)
        f = fleet(3, now=T0 + 2)
        f.servers[0].state.cpu = 77.7
        await feed(pilot, streams, f)
        assert "77.7%" not in table_lines(app)[1] and app.held_frames == 1
        assert "PAUSED (+1)" in header(app)
        await pilot.press("p")
        assert not app.paused and "77.7%" in table_lines(app)[1]


async def test_bell_key_rings_on_alerts():
    rings: list[int] = []
    async with fleet_screen() as (app, pilot, streams, _):
        app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
        await feed(pilot, streams, fleet(3))
        await feed(pilot, streams, fleet(3, now=T0 + 2, offline=[2]))
        assert rings == []
        await pilot.press("b")
        assert app.bells and "bell" in header(app)
        await feed(pilot, streams, fleet(3, now=T0 + 4))
        assert rings == [1]


async def test_quit_key():
    async with fleet_screen(fleet(2)) as (app, pilot, streams, _):
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running
        assert streams.last.stopped.is_set()


async def test_command_palette_runs_the_same_actions():
    async with fleet_screen(fleet(3)) as (app, pilot, streams, _):
        await pilot.press("ctrl+p")
        await pilot.pause()
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Offline first")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one(FleetTable).view.offline_first


async def test_empty_states_and_client_errors_are_notifications():
    from nezha_tui.api.errors import NetworkError

    app, streams, notes = make_app()
    app.client.errors["server_groups"] = NetworkError("connection refused")
    app.client.errors["setting"] = RuntimeError("boom")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.pause()
        empty = str(app.screen.query_one("#empty").render())
        assert "Connecting to http://fake.invalid…" in empty
        assert not notes  # before the first frame the screen says why there is none: no toasts on it
        await feed(pilot, streams, frame([]))
        assert "No servers are visible" in str(app.screen.query_one("#empty").render())
        app.refresh_groups()  # the groups timer: now the errors are news
        await pilot.pause()
        await pilot.pause()
        assert any("Server groups" in n for n, _ in notes)
        assert any("Site settings" in n for n, _ in notes)
        app.refresh_groups()  # same error again: not toasted twice
        await pilot.pause()
        assert sum("Server groups" in n for n, _ in notes) == 1
        del app.client.errors["server_groups"]
        app.client.answers["server_groups"] = groups((1, "eu", [1]))
        await feed(pilot, streams, fleet(2))
        app.refresh_groups()
        await pilot.pause()
        await pilot.pause()
        assert [n for _, n in app.screen.query_one(FleetTable).view.group_choices()] == ["All", "eu"]
        assert app.is_running


async def test_perf_hook_records_frames_to_screen():
    seen = []
    async with fleet_screen() as (app, pilot, streams, _):
        app.perf.add_listener(seen.append)
        await feed(pilot, streams, fleet(50))
        await feed(pilot, streams, fleet(50, now=T0 + 2, step=1))
        await pilot.pause()
        assert app.perf.frames == 2 and len(seen) >= 1
        assert all(s.to_screen_ms is not None and s.to_screen_ms >= s.to_handled_ms for s in seen)
        assert seen[0].servers == 50


async def test_keys_typed_right_after_slash_reach_the_filter():
    from textual import events

    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        for key in ("slash", "1", "0"):  # one burst, as a terminal delivers a fast typist's keys
            app._driver.send_message(events.Key(key, "/" if key == "slash" else key))
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#filter").value == "10"
        assert app.screen.query_one(FleetTable).view.ids == [10]


async def test_bad_values_are_formatted_safely_in_both_views():
    f = fleet(3)
    bad = f.servers[0]
    bad.name = None  # type: ignore[assignment]
    bad.state.cpu = float("nan")
    bad.state.net_in_speed = None  # type: ignore[assignment]
    bad.state.temperatures = [None]  # type: ignore[list-item]
    bad.host.mem_total = -5
    bad.country_code = "🙂🙂🙂"
    async with fleet_screen(f, size=WIDE) as (app, pilot, streams, _):
        lines = table_lines(app)
        assert "#1" in lines[1] and "srv-002" in lines[2]
        await pilot.press("v")
        cards = app.screen.query_one(FleetCards)
        text = "\n".join(cards.render_line(y).text for y in range(cards.card_height))
        assert "#1" in text and app.is_running


async def test_clicking_a_column_title_sorts_by_it():
    async with fleet_screen(fleet(5)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        x = next(i for i, c in enumerate(table_lines(app)[0]) if table_lines(app)[0][i:i + 3] == "CPU")
        await pilot.click(FleetTable, offset=(x, 0))
        assert table.view.sort_key.id == "cpu" and table.view.ids[0] == 5
        await pilot.click(FleetTable, offset=(x, 0))
        assert table.view.reverse and table.view.ids[0] == 1


def test_first_screen_does_not_import_plotext():
    import subprocess
    import sys

    code = ("import sys, nezha_tui.ui.app, nezha_tui.ui.screens.fleet, nezha_tui.ui.widgets.fleet_cards;"
            "print('plotext' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr


def test_billing_text_and_urgency():
    import datetime as dt

    from nezha_tui.api.public_note import parse_public_note
    from nezha_tui.ui.widgets.fleet_cards import billing_text, billing_urgent

    today = dt.date(2026, 11, 26)
    soon = parse_public_note('{"billingDataMod":{"endDate":"2026-11-30T00:00:00Z","cycle":"Month","amount":"5EUR"}}', today)
    assert billing_text(soon) == "5EUR/month · 4d left" and billing_urgent(soon)
    free = parse_public_note('{"billingDataMod":{"endDate":"0000-00-00T00:00:00Z","amount":"0"}}', today)
    assert billing_text(free) == "free · never expires" and not billing_urgent(free)
    assert billing_text(soon, room=12) == "5EUR/month" and billing_text(soon, room=6) == ""
    assert billing_text(None) == "" and not billing_urgent(None)


async def test_escape_while_typing_closes_the_filter_bar():
    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        await pilot.press("slash", *"srv-01")
        assert app.screen.query_one("#filter-bar").display
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen.query_one(FleetTable).view.ids) == 12
        assert not app.screen.query_one("#filter-bar").display
        assert app.screen.query_one(FleetTable).has_focus


async def test_a_frame_formats_and_repaints_only_the_rows_of_changed_visible_servers():
    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        formatted = record_formatted_rows(table)
        repainted = record_repaints(table)
        f = fleet(12, now=T0 + 2)
        f.servers[1].state.cpu = 42.5
        await feed(pilot, streams, f)
        assert formatted == [2]  # srv-002's row; not the other rows
        assert repainted == [Region(0, 2, table.size.width, 1)]  # its line (line 0 is the header)
        assert "42.5%" in app.export_screenshot()
        formatted.clear()
        await feed(pilot, streams, fleet(12, now=T0 + 4))  # srv-002 back to its old value
        assert formatted == [2]


async def test_the_table_renders_through_textual_when_a_style_needs_it():
    # the stale look (tint, text-opacity) goes through Textual's generic line pass; so does NO_COLOR's filter
    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        region = Region(0, 0, table.size.width, 5)
        plain = table.render_lines(region)
        assert table._plain_look()
        # the fast path paints exactly what Textual's generic path paints (which applies every
        # line filter itself), in a truecolor theme, a light one and the terminal's ANSI colours
        for theme, ansi_color in (("textual-light", None), ("ansi-dark", None), ("ansi-dark", False),
                                  ("textual-dark", None)):
            app.theme = theme
            if ansi_color is not None:
                app.ansi_color = ansi_color  # ANSI styles through the ANSI -> truecolor filter
            await pilot.pause()
            assert [list(s) for s in table.render_lines(region)] == [list(s) for s in Widget.render_lines(table, region)]
            assert (table._ansi is None) == (theme == "ansi-dark" and ansi_color is None)  # native ANSI: no filter
            cropped = Region(3, 1, 20, 2)
            assert [list(s) for s in table.render_lines(cropped)] == [
                list(s) for s in Widget.render_lines(table, cropped)]
        assert [list(s) for s in table.render_lines(region)] == [list(s) for s in plain]
        app.screen.add_class("-stale")
        await pilot.pause()
        assert not table._plain_look()
        tinted = table.render_lines(region)
        assert [s.text for s in tinted] == [s.text for s in plain]
        assert [s._segments for s in tinted] != [s._segments for s in plain]


async def test_a_frame_repaints_only_the_card_rows_of_changed_visible_servers():
    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        await pilot.press("v")
        await pilot.pause()
        cards = app.screen.query_one(FleetCards)
        cols, _ = cards.grid()
        asked = record_rendered_lines(cards)
        f = fleet(12, now=T0 + 2)
        f.servers[cols].state.cpu = 42.5  # first card of the second card row
        await feed(pilot, streams, f)
        h = cards.card_height
        assert sorted(asked) == list(range(h, 2 * h))
        assert "42.5%" in app.export_screenshot()
        # a card row cut by the bottom edge repaints only what is inside the widget (not the footer)
        repainted = record_repaints(cards)
        cut_row = cards.size.height // h  # the first card row that does not fit whole
        assert cut_row * h < cards.size.height < (cut_row + 1) * h
        f = fleet(12, now=T0 + 4)
        f.servers[cut_row * cols].state.cpu = 12.5
        await feed(pilot, streams, f)
        assert repainted and all(r.bottom <= cards.size.height for r in repainted)


async def test_the_table_draws_its_own_rail_when_rows_overflow():
    async with fleet_screen(fleet(5)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        lines = table_lines(app)
        assert not any(line.endswith((FleetTable.RAIL, FleetTable.THUMB)) for line in lines)
        assert table._content_width == table.size.width  # every column for the data when all rows fit
    async with fleet_screen(fleet(100)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        assert table._content_width == table.size.width - 1
        rows = table.rows_on_screen
        lines = table_lines(app)
        rail = [line[-1] for line in lines[1:rows + 1]]
        thumb = round(rows * rows / 100)
        assert rail == [FleetTable.THUMB] * thumb + [FleetTable.RAIL] * (rows - thumb)  # at the top
        assert not lines[0].endswith((FleetTable.RAIL, FleetTable.THUMB))  # the header has none
        await pilot.press("end")
        await pilot.pause()
        rail = [line[-1] for line in table_lines(app)[1:rows + 1]]
        assert rail == [FleetTable.RAIL] * (rows - thumb) + [FleetTable.THUMB] * thumb  # at the bottom
    async with fleet_screen(fleet(100), size=(24, 10)) as (app, pilot, streams, _):  # narrower than the columns
        table = app.screen.query_one(FleetTable)
        lines = [s.text for s in table.render_lines(Region(0, 0, table.size.width, table.size.height))]
        assert all(len(line) == 24 for line in lines)
        assert lines[1].endswith(FleetTable.THUMB) and lines[-1].endswith(FleetTable.RAIL)


async def test_mouse_wheel_scrolls_and_a_click_on_the_rail_jumps():
    from textual import events

    async with fleet_screen(fleet(100)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        for _ in range(3):
            table.post_message(events.MouseScrollDown(table, 5, 5, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert table.scroll_offset.y > 0
        rows = table.rows_on_screen
        await pilot.click(FleetTable, offset=(table.size.width - 1, rows))  # bottom of the rail
        await pilot.pause()
        assert table.highlighted_id == table.view.ids[-1]
        assert app.screen is not None and type(app.screen).__name__ == "FleetScreen"  # nothing opened
        await pilot.click(FleetTable, offset=(table.size.width - 1, 1))  # top of the rail
        await pilot.pause()
        assert table.cursor == 0 and table.scroll_offset.y == 0
        # dragging the thumb, as with the scrollbar the rail replaces
        x = table.size.width - 1
        await pilot.mouse_down(FleetTable, offset=(x, 1))
        await pilot.hover(FleetTable, offset=(x, rows // 2 + 1))
        await pilot.pause()
        middle = table.cursor
        assert 0 < middle < 99 and table.scroll_offset.y > 0
        await pilot.hover(FleetTable, offset=(5, rows + 1))  # below the table: the end, still dragging
        await pilot.pause()
        assert table.cursor == 99
        await pilot.mouse_up(FleetTable, offset=(5, rows))
        await pilot.hover(FleetTable, offset=(x, 1))
        await pilot.pause()
        assert table.cursor == 99  # released: moving does nothing
        assert type(app.screen).__name__ == "FleetScreen"


async def test_the_collector_is_paused_only_while_a_frame_is_followed():
    import gc

    assert gc.isenabled()
    async with fleet_screen(fleet(12)) as (app, pilot, streams, _):
        seen: list[bool] = []
        original = app.store.apply

        def apply(frame, report=None):
            seen.append(gc.isenabled())
            return original(frame, report)

        app.store.apply = apply  # type: ignore[method-assign]
        assert streams.last.kwargs["on_receive"] == app.gc_pause.pause  # paused before decoding, too
        await feed(pilot, streams, fleet(12, now=T0 + 2))
        for _ in range(5):
            if gc.isenabled():
                break
            await pilot.pause()
        assert seen == [False]  # paused while the frame was taken in
        assert gc.isenabled()  # and running again once it was on screen
        app.paused = True
        await feed(pilot, streams, fleet(12, now=T0 + 4))
        assert gc.isenabled()  # a held frame pauses nothing
    assert gc.isenabled()


@pytest.mark.parametrize("size, compact", [(NARROW, True), (WIDE, False)])
async def test_the_footer_shows_every_grid_key_also_at_80_columns(size, compact):
    from nezha_tui.ui.widgets.footer import KeyFooter

    async with fleet_screen(fleet(4), size=size) as (app, pilot, streams, _):
        await pilot.pause()
        assert app.screen.query_one(KeyFooter).compact is compact
        bottom = app.screen._compositor.render_strips()[-1].text
        for hint in ("Filter", "Sort", "Group", "View", "Pause", "Services", "Help", "q Quit"):
            assert hint in bottom, (hint, bottom)


async def test_a_frame_the_store_cannot_take_is_reported_and_the_app_goes_on():
    import gc

    async with fleet_screen(fleet(12)) as (app, pilot, streams, notes):
        def broken(frame, report=None):
            raise ValueError("bad shape")

        original = app.store.apply
        app.store.apply = broken  # type: ignore[method-assign]
        await feed(pilot, streams, fleet(12, now=T0 + 2))
        assert any("A frame could not be read" in text and "bad shape" in text for text, _ in notes), notes
        assert gc.isenabled()  # the pause for that frame ended with it
        app.store.apply = original  # type: ignore[method-assign]
        f = fleet(12, now=T0 + 4)
        f.servers[0].state.cpu = 77.7
        await feed(pilot, streams, f)
        assert "77.7%" in table_lines(app)[1] and app.is_running


async def test_the_cursor_looks_different_when_the_table_has_no_focus():
    # the blurred cursor's background is the primary colour at 30 %: blended, not the focused one's
    async with fleet_screen(fleet(6)) as (app, pilot, streams, _):
        table = app.screen.query_one(FleetTable)
        assert table.has_focus
        focused = table._style("fleet-table--cursor").bgcolor
        await pilot.press("slash")  # the filter bar takes the focus
        await pilot.pause()
        assert not table.has_focus
        blurred = table._style("fleet-table--cursor").bgcolor
        assert focused is not None and blurred is not None and blurred != focused
        row = table.render_line(1)
        assert any(seg.style.bgcolor == blurred for seg in row)


@pytest.mark.parametrize("wall", [None, 15])
async def test_the_cards_fast_path_paints_what_textual_paints(wall):
    async with fleet_screen(fleet(30, offline=[2, 5]), size=(120, 40), wall=wall) as (app, pilot, streams, _):
        if not wall:
            await pilot.press("v")
        await pilot.pause()
        cards = app.screen.query_one(FleetCards)
        region = Region(0, 0, cards.size.width, cards.size.height)
        for theme in ("textual-dark", "ansi-dark", "textual-light"):
            app.theme = theme
            await pilot.pause()
            fast = [list(s) for s in cards.render_lines(region)]
            assert fast == [list(s) for s in Widget.render_lines(cards, region)], theme
        f = fleet(30, offline=[2, 5], now=T0 + 2)
        f.servers[0].state.cpu = 91.5
        await feed(pilot, streams, f)
        text = "\n".join(s.text for s in cards.render_lines(region))
        assert "91.5%" in text
        assert [list(s) for s in cards.render_lines(region)] == [list(s) for s in Widget.render_lines(cards, region)]


async def test_wall_paging_of_the_table_goes_a_page_at_a_time_and_wraps():
    from nezha_tui.ui.screens.fleet import FleetScreen

    async with fleet_screen(fleet(60)) as (app, pilot, streams, _):
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        table = screen.query_one(FleetTable)
        rows = table.rows_on_screen
        assert 1 < rows < 30
        tops = []
        while not screen.wall_next_page():
            tops.append(int(table.scroll_offset.y))
        assert tops[0] == rows and tops == sorted(set(tops)) and len(tops) >= 2  # a page at a time
        assert table.scroll_offset.y == 0  # wrapped to the first page
