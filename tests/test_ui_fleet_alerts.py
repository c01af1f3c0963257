"""Pilot tests: offline/online and connection toasts, the stale banner, wall-screen mode."""

from __future__ import annotations

import datetime as dt

import pytest

from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.fleet_table import FleetTable
from nezha_tui.ui.widgets.summary import FleetSummary, StaleBanner, stale_text
from tests.test_ui_fleet import NARROW, feed, header, make_app, table_lines
from tests.ui_fakes import T0, fleet, status


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def test_offline_and_online_toasts_name_the_servers():
    app, streams, notes = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await feed(pilot, streams, fleet(8, offline=[8]))
        assert not [n for n, _ in notes if "offline" in n]  # the first frame is not news
        await feed(pilot, streams, fleet(8, now=T0 + 2, offline=[3, 8]))
        assert ("srv-003 is offline", "warning") in [(n, k.get("severity")) for n, k in notes]
        await feed(pilot, streams, fleet(8, now=T0 + 4))
        assert any(n.startswith("2 servers are back online: srv-003, srv-008") for n, _ in notes)
        await feed(pilot, streams, fleet(8, now=T0 + 6, offline=[1, 2, 3, 4, 5]))
        assert any(n == "5 servers went offline: srv-001, srv-002, srv-003 and 2 more" for n, _ in notes)


async def test_connection_lost_and_restored_toasts():
    app, streams, notes = make_app()
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("connecting"))
        streams.last.set_status(status("live"))
        assert not notes
        streams.last.set_status(status("reconnecting", attempt=1, message="connection refused"))
        assert ("Connection lost: connection refused", "warning") in [(n, k.get("severity")) for n, k in notes]
        streams.last.set_status(status("live"))
        assert notes[-1][0] == "Connection restored"
        await feed(pilot, streams, fleet(2))  # (before the first frame the panel says it, not a toast)
        streams.last.set_status(status("auth_failed", message="token rejected"))
        assert notes[-1][0] == "Authentication failed: token rejected (r retries)"
        assert notes[-1][1]["severity"] == "error"
        await pilot.pause()


async def test_stale_banner_dims_grid_and_keeps_data():
    clock = Clock(1000.0)
    app, streams, _ = make_app(clock=clock)
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("live", last_frame_at=1000.0))
        await feed(pilot, streams, fleet(5))
        banner = app.screen.query_one(StaleBanner)
        assert not banner.has_class("-shown") and not app.screen.has_class("-stale")
        clock.t = 1014.0
        streams.last.set_status(status("reconnecting", attempt=3, last_frame_at=1000.0, next_retry_at=1022.0))
        await pilot.pause()
        assert banner.has_class("-shown") and banner.display
        assert banner.render().plain == "stale: last frame 14 s ago, reconnecting, attempt 3, next in 8 s"
        assert app.screen.has_class("-stale")
        assert app.screen.query_one(FleetTable).styles.text_opacity < 1.0  # dimmed
        assert "srv-001" in table_lines(app)[1]  # the last data stays
        assert "reconnecting #3" in header(app) and "14s ago" in header(app)
        clock.t = 1016.0
        app._tick()  # the 1 s timer
        assert "16 s ago" in banner.render().plain and "next in 6 s" in banner.render().plain
        streams.last.set_status(status("live", last_frame_at=1016.0))
        await feed(pilot, streams, fleet(5, now=T0 + 2))
        assert not banner.has_class("-shown") and not app.screen.has_class("-stale")


def test_stale_text_variants():
    assert stale_text(status("stale"), 9.4, 0) == "stale: last frame 9 s ago"
    assert stale_text(status("auth_failed", message="token rejected"), None, 0) == \
        "auth failed: no frame yet (token rejected)"
    assert stale_text(None, None, 0) == "stale: no frame yet, connecting"


async def test_header_fits_narrow_terminal_and_drops_details():
    app, streams, _ = make_app()
    async with app.run_test(size=(50, 20)) as pilot:
        await feed(pilot, streams, fleet(3))
        text = header(app)
        summary = app.screen.query_one(FleetSummary)
        assert len(text) <= summary.content_size.width
        assert "Fake Fleet" in text and "viewer" not in text


async def test_wall_mode_cards_offline_first_clock_no_hints():
    app, streams, _ = make_app(wall=15, wall_clock=lambda: dt.datetime(2026, 11, 26, 12, 34, 56))
    async with app.run_test(size=(100, 30)) as pilot:
        await feed(pilot, streams, fleet(6, offline=[5]))
        screen = app.screen
        cards = screen.query_one(FleetCards)
        assert cards.display and cards.large and not screen.query_one(FleetTable).display
        assert not screen.query("Footer")
        assert cards.view.ids[0] == 5
        assert "12:34:56" in header(app)
        top = cards.render_line(0).text
        assert "srv-005" in top and "○" in top


async def test_wall_paging_wraps_and_shows_services_page():
    app, streams, _ = make_app(wall=15)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, streams, fleet(20))
        await pilot.pause()
        screen = app.screen
        cards = screen.query_one(FleetCards)
        pages = cards.page_count()
        assert pages > 1 and cards.current_page() == 0
        first_ids = set(cards.visible_ids())
        app.wall_tick()
        await pilot.pause()
        assert cards.current_page() == 1 and not first_ids & set(cards.visible_ids())
        for _ in range(pages - 1):
            app.wall_tick()
            await pilot.pause()
        assert cards.current_page() == 0
        if app.services_page_available():
            assert type(app.screen).__name__ == "ServicesScreen"
            await pilot.pause()
            assert all(not footer.display for footer in app.screen.query("Footer"))  # no key hints
            app.wall_tick()
            await pilot.pause()
            assert app.screen is screen and cards.current_page() == 0
        app.wall_tick()
        await pilot.pause()
        assert cards.current_page() == 1


async def test_wall_mode_returns_from_other_screens_and_never_waits():
    app, streams, _ = make_app(wall=15)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, streams, fleet(3))
        base = app.screen
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is not base
        for _ in range(4):  # 4 x 15 s: a minute
            app.wall_tick()
        await pilot.pause()
        assert app.screen is base


async def test_wall_mode_restarts_a_stopped_stream():
    app, streams, _ = make_app(wall=15, wall_retry=0.01)
    async with app.run_test(size=(80, 24)) as pilot:
        first = streams.last
        first.set_status(status("auth_failed", message="token rejected"))
        first.stop()
        for _ in range(50):
            await pilot.pause(0.02)
            if len(streams.instances) > 1:
                break
        assert len(streams.instances) >= 2 and streams.last is not first


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_views_render_at_both_sizes(size):
    app, streams, _ = make_app()
    async with app.run_test(size=size) as pilot:
        await feed(pilot, streams, fleet(40, offline=[2]))
        await pilot.press("v")
        cards = app.screen.query_one(FleetCards)
        cols, width = cards.grid()
        assert cols >= (5 if size[0] == 200 else 2) and width >= 34
        lines = [cards.render_line(y).text for y in range(cards.card_height)]
        assert all(len(line) == cards.scrollable_content_region.width for line in lines)
        assert lines[0].startswith("╭") and lines[-1].startswith("╰")


async def test_no_color_and_theme_switch_render(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, streams, _ = make_app()
    assert app.no_color
    async with app.run_test(size=NARROW) as pilot:
        await feed(pilot, streams, fleet(4, offline=[4]))
        lines = table_lines(app)
        assert lines[1].startswith("●") and lines[4].startswith("○")  # status readable without colour
        table = app.screen.query_one(FleetTable)
        before = table.get_component_rich_style("fleet-table--header", partial=True)
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        after = table._style("fleet-table--header")
        assert after.bgcolor == table.get_component_rich_style("fleet-table--header", partial=True).bgcolor
        assert after.bgcolor != before.bgcolor  # caches followed the theme
        # $text-muted ("auto 60%") blended over the header's background, not the partial style's full white
        assert after.color == table.get_component_rich_style("fleet-table--header").color
        assert after.color.triplet != (255, 255, 255)
        assert "srv-001" in table_lines(app)[1]


async def test_wall_page_stays_put_when_servers_flip():
    app, streams, _ = make_app(wall=15)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, streams, fleet(12))
        cards = app.screen.query_one(FleetCards)
        app.wall_tick()
        await pilot.pause()
        assert cards.current_page() == 1 and not cards.show_cursor
        await feed(pilot, streams, fleet(12, now=T0 + 2, offline=[7]))  # reorders: offline first
        assert cards.view.ids[0] == 7 and cards.current_page() == 1
        await pilot.press("right")
        assert cards.show_cursor


def test_stale_text_keeps_the_cause_not_the_stream_timing():
    st = status("reconnecting", attempt=2, next_retry_at=12.0, message="no data for 6 s; retrying in 1 s")
    assert stale_text(st, 7.2, 10.0) == "stale: last frame 7 s ago, reconnecting, attempt 2, next in 2 s (no data for 6 s)"
    assert stale_text(status("connecting", attempt=1, message="reconnecting (attempt 1)"), 8, 0) == \
        "stale: last frame 8 s ago, connecting, attempt 1"


def test_wall_waits_longer_after_each_refused_run_up_to_an_hour():
    app, _, _ = make_app(wall=15)
    assert [app.wall_retry_delay(n) for n in range(7)] == [300, 300, 600, 1200, 2400, 3600, 3600]
    app, _, _ = make_app(wall=15, wall_retry=0.01)
    assert app.wall_retry_delay(1) == 0.01 and app.wall_retry_delay(3) == 0.04


async def test_the_fleet_screen_renders_in_every_theme():
    # the header's theme colours come in Textual syntax ("ansi_green" in the ANSI themes), which
    # Rich cannot parse: they are converted ("color(2)"), in every theme
    app, streams, _ = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, streams, fleet(8, offline=[3]))
        for theme in sorted(app.available_themes):
            app.theme = theme
            await pilot.pause()
            summary = app.screen.query_one(FleetSummary)
            assert "8 servers" in summary.render_line(0).text, theme
            assert "srv-001" in table_lines(app)[1], theme
            dot = next(seg for seg in summary.render_line(0) if seg.text == "●")
            assert dot.style.color != summary.rich_style.color, theme  # the online dot keeps its colour
        assert app.is_running
