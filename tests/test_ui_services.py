"""Services overview and service history screens, in a small host app with a fake client."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from textual.app import App
from textual.widgets import DataTable, Static

from nezha_tui.api import errors as e
from nezha_tui.api import models as m
from nezha_tui.ui.drilldown import GUEST_MESSAGE, TOO_OLD_MESSAGE
from nezha_tui.ui.screens.service_history import ServiceHistoryScreen, history_series
from nezha_tui.ui.screens.services import ServicesScreen, average_delay, quota_rows, service_status
from nezha_tui.ui.widgets.day_strip import NO_DATA, day_strip_text, day_uptimes, uptime_level
from nezha_tui.ui.widgets.plot import Plot
from tests.ui_fakes import FakeClient, HostApp

UTC = dt.timezone.utc
T0 = 1_795_000_000


def overview() -> m.ServiceOverview:
    up = [0] * 10 + [100] * 20
    down = [0] * 10 + [0] * 18 + [3, 10]
    return m.ServiceOverview(
        services={
            2: m.ServiceItem(service_name="api https", current_up=5, current_down=0, total_up=2000,
                             total_down=13, delay=[0.0] * 10 + [40.0] * 20, up=up, down=down),
            7: m.ServiceItem(service_name="db tcp", current_up=0, current_down=4, total_up=10, total_down=90,
                             delay=[350.0] * 30, up=[1] * 30, down=[3] * 30),
            11: m.ServiceItem(service_name="quiet"),
        },
        cycle_transfer_stats={
            1: m.CycleTransferStats(
                name="monthly 1T", from_=dt.datetime(2026, 11, 1, tzinfo=UTC), to=dt.datetime(2026, 12, 1, tzinfo=UTC),
                max=1 << 40, server_name={3: "tokyo", 4: "paris"}, transfer={3: 1 << 39, 4: 1 << 30},
                next_update={3: dt.datetime.fromtimestamp(T0 + 3600, UTC)}),
        },
    )


def history(period: str = "1d") -> m.ServiceHistory:
    base = T0 * 1000 - 86400_000
    pts_a = [m.ServiceHistoryPoint(ts=base + i * 30_000, delay=20.0 + (i % 7), status=1) for i in range(2880)]
    pts_a[100] = m.ServiceHistoryPoint(ts=pts_a[100].ts, delay=0.0, status=0)
    pts_a[2000] = m.ServiceHistoryPoint(ts=pts_a[2000].ts, delay=480.5, status=1)  # spike
    pts_b = [m.ServiceHistoryPoint(ts=base + i * 30_000, delay=80.0, status=1) for i in range(0, 2880, 2)]
    return m.ServiceHistory(service_id=2, service_name=f"api https {period}", servers=[
        m.ServiceHistoryServer(server_id=3, server_name="tokyo", stats=m.ServiceHistoryStats(
            avg_delay=23.5, up_percent=99.96, total_up=2879, total_down=1, data_points=pts_a)),
        m.ServiceHistoryServer(server_id=4, server_name="paris", stats=m.ServiceHistoryStats(
            avg_delay=80.0, up_percent=100.0, total_up=1440, total_down=0, data_points=pts_b)),
    ])


Host = HostApp
"""Stands in for NezhaApp (tests.ui_fakes.HostApp): ``Host(client, screen_factory)``."""


async def settle(pilot: Any, app: App[Any]) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


# --------------------------------------------------------------------------- pure parts


def test_day_strip_aligns_on_today_and_marks_no_data() -> None:
    days = day_uptimes([5, 5], [0, 5])
    assert len(days) == 30 and days[:28] == [None] * 28
    assert days[28] == 100.0 and days[29] == 50.0
    assert len(day_uptimes(list(range(40)), [0] * 40)) == 30
    text = day_strip_text([0] * 29 + [1], [0] * 30)
    assert text.plain == NO_DATA * 29 + "█"
    assert uptime_level(99.0) == "success" and uptime_level(95.0) == "warning"
    assert uptime_level(94.9) == "error" and uptime_level(None) == ""
    assert day_uptimes(None, ["x", -1]) == [None] * 30


def test_service_row_helpers() -> None:
    ov = overview()
    assert service_status(ov.services[2]) == ("▲ up", "success")
    assert service_status(ov.services[7]) == ("▼ down", "error")
    assert service_status(ov.services[11])[0] == "no data"
    assert service_status(m.ServiceItem(current_up=3, current_down=1))[1] == "warning"
    assert average_delay(ov.services[2]) == 40.0
    assert average_delay(ov.services[11]) is None
    from nezha_tui.ui.screens.services import _cycle_end
    assert _cycle_end(dt.datetime(2026, 11, 1, 16, 0, tzinfo=UTC), UTC) == "2026-11-01 16:00"
    assert _cycle_end(dt.datetime(2026, 11, 1, tzinfo=UTC), UTC) == "2026-11-01"
    assert _cycle_end(None, UTC) == "-"
    rows = quota_rows(ov.cycle_transfer_stats)
    assert [(r, s) for r, s, _ in rows] == [(1, 3), (1, 4)]


def test_history_series_marks_down_points() -> None:
    series = history_series(history())
    assert [s.label for s in series] == ["paris", "tokyo", "down (1)"]  # by name, not the API's order
    assert series[2].points and len(series[2].xs) == 1
    assert len(series[1].xs) == 2879  # the down point is not part of the line


def test_service_history_rows_do_not_follow_the_api_order() -> None:
    """With the TSDB off the API's order changes on every reload: the rows and lines must not."""
    from nezha_tui.ui.screens.service_history import ordered_servers

    h = history()
    forward = [s.server_id for s in ordered_servers(h)]
    h.servers.reverse()
    assert [s.server_id for s in ordered_servers(h)] == forward
    assert [s.label for s in history_series(h)] == ["paris", "tokyo", "down (1)"]


# --------------------------------------------------------------------------- services screen


async def test_services_fit_80_columns_and_cursor_keeps_day_colours() -> None:
    ov = overview()
    long_rule = next(iter(ov.cycle_transfer_stats.values()))
    long_rule.name = "A very long quota rule name that goes on"
    client = FakeClient(services=ov, service_history=lambda sid, period: history(period))
    app = Host(client, ServicesScreen)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("#services", DataTable)
        quotas = screen.query_one("#quotas", DataTable)
        for t in (table, quotas):
            assert t.virtual_size.width <= t.size.width, t.id  # nothing cut off on the right
        assert "Delay" in [str(c.label) for c in table.columns.values()]
        q = [str(c) for c in quotas.get_row("1:3")]
        assert q[0].endswith("…") and "50% of 1.0 TiB" in q[2] and q[-1] == "in 1h 00m"
        # the selected row keeps the day colours of its 30-day strip
        table.focus()
        table.move_cursor(row=table.get_row_index("2"))
        await pilot.pause()
        strip = table.render_line(1 + table.get_row_index("2"))
        cursor_fg = table.get_component_rich_style("datatable--cursor").color
        cells = [seg for seg in strip if "█" in seg.text]
        assert cells and all(seg.style.color != cursor_fg for seg in cells)
    wide = Host(FakeClient(services=ov), ServicesScreen)
    async with wide.run_test(size=(132, 40)) as pilot:
        await settle(pilot, wide)
        quotas = wide.screen.query_one("#quotas", DataTable)
        assert quotas.virtual_size.width <= quotas.size.width
        assert "Cycle" in [str(c.label) for c in quotas.columns.values()]


async def test_services_rows_quotas_and_navigation() -> None:
    client = FakeClient(services=overview(), service_history=lambda sid, period: history(period))
    app = Host(client, ServicesScreen)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ServicesScreen)
        table = screen.query_one("#services", DataTable)
        assert table.row_count == 3
        row = [str(c) for c in table.get_row("2")]
        assert row[0] == "api https" and row[1] == "▲ up" and row[3] == "99.35%" and row[4] == "40 ms"
        assert row[2] == NO_DATA * 10 + "█" * 20
        assert [str(c) for c in table.get_row("7")][1] == "▼ down"
        quotas = screen.query_one("#quotas", DataTable)
        assert quotas.display and quotas.row_count == 2
        q = [str(c) for c in quotas.get_row("1:3")]
        assert q[1] == "tokyo" and "512.0 GiB / 1.0 TiB (50%)" in q[2]
        assert q[3] == "11-01 → 12-01" and q[4] == "11-18 12:06 (in 1h 00m)"  # this year: no year
        assert "3 monitors" in str(screen.query_one("#services-status", Static).render())
        assert "Test Fleet › Services" in str(screen.query_one("#crumbs", Static).render())

        # enter opens the history of the highlighted monitor; escape comes back
        table.focus()
        table.move_cursor(row=table.get_row_index("2"))
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ServiceHistoryScreen) and app.screen.service_id == 2
        assert ("service_history", (2, "1d")) in client.calls
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_services_refresh_and_error_message() -> None:
    client = FakeClient(services=overview())
    client.errors["services"] = e.NetworkError("connection refused (fake.invalid:80)")
    app = Host(client, ServicesScreen)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ServicesScreen)
        status = str(screen.query_one("#services-status", Static).render())
        assert "connection refused" in status
        assert screen.query_one("#services", DataTable).row_count == 0
        del client.errors["services"]
        screen._tick()  # what the 15 s timer does
        await settle(pilot, app)
        assert screen.query_one("#services", DataTable).row_count == 3
        client.errors["services"] = e.ProxyError(502)
        await pilot.press("r")
        await settle(pilot, app)
        status = str(screen.query_one("#services-status", Static).render())
        assert "502" in status and "showing the last data" in status
        assert screen.query_one("#services", DataTable).row_count == 3
        assert client.count("services") == 3


async def test_services_empty_dashboard() -> None:
    app = Host(FakeClient(services=m.ServiceOverview()), ServicesScreen)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one("#services", DataTable)
        assert table.row_count == 1 and "no service monitors" in str(table.get_row("__empty__")[0])
        assert not app.screen.query_one("#quotas", DataTable).display
        await pilot.press("enter")  # on the placeholder row: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, ServicesScreen)


# --------------------------------------------------------------------------- service history screen


async def test_service_history_plot_periods_and_cache() -> None:
    client = FakeClient(service_history=lambda sid, period: history(period))
    app = Host(client, lambda: ServiceHistoryScreen(2))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ServiceHistoryScreen)
        plot = screen.query_one("#latency", Plot)
        assert plot.message is None and plot.last is not None
        # the plotted maximum is the series maximum (the spike survived downsampling; tokyo is the second line, by name)
        assert max(b.hi for b in plot.last.buckets[1]) == 480.5
        assert plot.last.columns < 2879
        assert len(plot.last.buckets[2]) == 1  # one down mark
        table = screen.query_one("#per-server", DataTable)
        assert [str(c) for c in table.get_row("3")][:4] == ["tokyo", "99.96%", "2879", "1"]
        assert "api https 1d" in str(screen.query_one("#crumbs", Static).render())

        await pilot.press("7")
        await settle(pilot, app)
        assert screen.period == "7d" and ("service_history", (2, "7d")) in client.calls
        assert "[7d]" in str(screen.query_one("#period-bar", Static).render())
        await pilot.press("1")
        await settle(pilot, app)
        assert client.count("service_history") == 2  # 1d came from the cache
        assert plot.message is None
        await pilot.press("r")
        await settle(pilot, app)
        assert client.count("service_history") == 3


async def test_service_history_messages() -> None:
    client = FakeClient(service_history=lambda sid, period: history(period))
    app = Host(client, lambda: ServiceHistoryScreen(2, name="api"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        plot = screen.query_one("#latency", Plot)
        client.errors["service_history"] = e.GuestPeriodDenied()
        await pilot.press("3")
        await settle(pilot, app)
        assert plot.message == GUEST_MESSAGE
        client.errors["service_history"] = e.DashboardTooOld()
        await pilot.press("r")
        await settle(pilot, app)
        assert plot.message == TOO_OLD_MESSAGE
        client.errors["service_history"] = e.NotFound("service not found")
        await pilot.press("r")
        await settle(pilot, app)
        assert "gone" in (plot.message or "")
        del client.errors["service_history"]
        client.answers["service_history"] = m.ServiceHistory(service_id=2, service_name="api")
        await pilot.press("r")
        await settle(pilot, app)
        assert plot.message == "no checks of this monitor in this period"


async def test_service_history_without_tsdb_shows_unknown_counts_as_dashes() -> None:
    """Without the TSDB the Dashboard answers 0 up, 0 down and every point "up": not known, not 0."""
    base = T0 * 1000 - 86400_000
    no_tsdb = m.ServiceHistory(service_id=2, service_name="api", servers=[
        m.ServiceHistoryServer(server_id=3, server_name="tokyo", stats=m.ServiceHistoryStats(
            avg_delay=21.5, data_points=[m.ServiceHistoryPoint(ts=base + i * 60_000, delay=21.5, status=1)
                                         for i in range(100)]))])
    app = Host(FakeClient(service_history=no_tsdb), lambda: ServiceHistoryScreen(2))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        row = [str(c) for c in app.screen.query_one("#per-server", DataTable).get_row("3")]
        assert row == ["tokyo", "no data", "-", "-", "21.5 ms", "-"]


class SlowClient(FakeClient):
    """``service_history`` for 7d waits until released: the user moves on meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def service_history(self, service_id: int, period: str = "1d") -> m.ServiceHistory:
        self.calls.append(("service_history", (service_id, period)))
        if period == "7d":
            self.started.set()
            await self.release.wait()
        return history(period)


async def test_service_history_result_of_a_left_period_is_not_shown() -> None:
    client = SlowClient()
    app = Host(client, lambda: ServiceHistoryScreen(2))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        plot = screen.query_one("#latency", Plot)
        await pilot.press("7")
        await client.started.wait()
        assert plot.loading
        await pilot.press("1")  # cached: instant, and the 7d fetch is cancelled
        await pilot.pause()
        assert screen.period == "1d" and not plot.loading
        client.release.set()
        await settle(pilot, app)
        assert screen.history is not None and screen.history.service_name == "api https 1d"


# --------------------------------------------------------------------------- the real app against the demo Dashboard


async def test_demo_services_and_history_roundtrip() -> None:
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.demo.server import DemoOptions, DemoServer
    from nezha_tui.ui.app import NezhaApp

    demo = DemoServer(DemoOptions(servers=6, frame_interval=0.5))
    await demo.start()
    client = NezhaClient(demo.url, Credentials(token=demo.token), timeout=5)
    try:
        app = NezhaApp(client, start_timers=False)
        async with app.run_test(size=(120, 40)) as pilot:
            base = app.screen
            app.action_open_services()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ServicesScreen)
            for _ in range(300):
                if screen.overview is not None or screen.error:
                    break
                await pilot.pause(0.02)
            assert screen.error is None and screen.overview is not None
            expected = await client.services()
            table = screen.query_one("#services", DataTable)
            assert table.row_count == len(expected.services) > 0
            first = min(expected.services)
            item = expected.services[first]
            row = [str(c) for c in table.get_row(str(first))]
            assert row[0] == item.service_name
            assert row[2] == day_strip_text(item.up, item.down).plain
            table.move_cursor(row=table.get_row_index(str(first)))
            await pilot.press("enter")
            await pilot.pause()
            hist = app.screen
            assert isinstance(hist, ServiceHistoryScreen)
            plot = hist.query_one("#latency", Plot)
            for _ in range(300):
                if hist.history is not None or hist.message is not None:
                    break
                await pilot.pause(0.02)
            assert hist.message is None and hist.history is not None
            if hist.history.servers:
                delays = [p.delay for s in hist.history.servers for p in s.stats.data_points if p.status == 1]
                await pilot.pause()
                assert plot.last is not None
                assert max(b.hi for bs in plot.last.buckets[: len(hist.history.servers)] for b in bs) == max(delays)
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert app.screen is base
    finally:
        await client.aclose()
        await demo.stop()


async def test_service_history_with_a_duplicate_server_id_keeps_the_first_and_does_not_crash() -> None:
    """Two entries with one server id used to raise DuplicateKey and end the app."""
    def answer(sid: int, period: str) -> m.ServiceHistory:
        h = history(period)
        again = m.ServiceHistoryServer(server_id=3, server_name="tokyo-again", stats=h.servers[1].stats)
        return m.ServiceHistory(service_id=h.service_id, service_name=h.service_name,
                                servers=[*h.servers, again])

    app = Host(FakeClient(service_history=answer), lambda: ServiceHistoryScreen(2))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.is_running
        table = app.screen.query_one("#per-server", DataTable)
        assert table.row_count == 2 and str(table.get_row("3")[0]) == "tokyo"
