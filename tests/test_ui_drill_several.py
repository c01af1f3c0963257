"""The drill-down screens with several Dashboards: the detail, its history and monitors, the
services and a monitor's history ask the server's (or the service's) own Dashboard - its client,
its login, its guest limits, its TSDB state - and server ids repeat across Dashboards."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from textual.screen import Screen
from textual.widgets import DataTable, Static

from nezha_tui.api import errors as e
from nezha_tui.api import models as m
from nezha_tui.api.credentials import Credentials
from nezha_tui.fleets import CombinedFleet, server_key
from nezha_tui.store import FleetStore
from nezha_tui.ui.drilldown import GUEST_MESSAGE, NO_TSDB_MESSAGE
from nezha_tui.ui.links import DashboardLink
from nezha_tui.ui.screens.server_detail import ServerDetailScreen
from nezha_tui.ui.screens.service_history import ServiceHistoryScreen
from nezha_tui.ui.screens.services import ServicesScreen
from nezha_tui.ui.widgets.plot import Plot
from tests import ui_fakes as uf
from tests.test_ui_detail import metric_answer, services_answer
from tests.test_ui_services import T0, history, overview, settle

UTC = dt.timezone.utc
WORK_1 = server_key(1, 1)
"""Server 1 of the second Dashboard ("work"); server 1 of the first ("home") is key 1."""


def client(base_url: str, *, guest: bool = False, **answers: Any) -> uf.FakeClient:
    c = uf.FakeClient(**{"server_metrics": metric_answer, "server_services": services_answer, **answers})
    c.base_url = base_url
    if guest:
        c.credentials = Credentials()
    return c


def several(clients: Sequence[uf.FakeClient], factory: Callable[[], Screen[Any]] | None,
            names: Sequence[str] = ("home", "work"), settings: Sequence[m.Setting | None] | None = None,
            silent: Sequence[int] = ()) -> uf.HostApp:
    """A host app over several Dashboards (one FleetStore and one link each, one combined fleet),
    each with servers 1 and 2 (named ``{name}-1``, ``{name}-2``) but those in ``silent`` (no frame yet)."""
    app = uf.HostApp(clients[0], factory)
    stores = [FleetStore() for _ in clients]
    combined = CombinedFleet(stores, list(names))
    app.store = combined  # type: ignore[assignment]
    app.dashboards = [
        DashboardLink(i, names[i], c, stores[i], groups_answered=True,
                      setting=(settings[i] if settings is not None else m.Setting(tsdb_enabled=True)))
        for i, c in enumerate(clients)]
    for i, name in enumerate(names):
        for step in range(3 if i not in silent else 0):
            now = T0 - 10 + 2 * step
            change = stores[i].apply(uf.frame([uf.server_json(1, f"{name}-1", now=now, cpu=10.0 + i),
                                               uf.server_json(2, f"{name}-2", now=now)], now=now))
            combined.absorb(i, change)
    return app


def metric_calls(c: uf.FakeClient) -> list[tuple[Any, ...]]:
    return [args for name, args in c.calls if name == "server_metrics"]


def crumbs(screen: Screen[Any]) -> str:
    return str(screen.query_one("#crumbs", Static).render())


# --------------------------------------------------------------------------- the server detail


async def test_each_dashboards_server_1_is_fetched_from_its_own_client() -> None:
    home, work = client("http://home.invalid"), client("http://work.invalid")
    app = several([home, work], lambda: ServerDetailScreen(WORK_1))
    async with app.run_test(size=(130, 44)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ServerDetailScreen) and (screen.index, screen.server_id) == (1, 1)
        assert "work-1 · work" in crumbs(screen)  # the Dashboard's label names it
        await pilot.press("h")
        await settle(pilot, app)
        assert metric_calls(work) == [(1, "cpu", "1d")] and metric_calls(home) == []
        assert screen.query_one("#metric-plot", Plot).message is None
        await pilot.press("m")
        await settle(pilot, app)
        assert ("server_services", (1, "1d")) in work.calls and home.count("server_services") == 0

        # home's server 1: its own client, and not work's cached answer (the cache keys name the Dashboard)
        await pilot.press("escape")
        app.push_screen(ServerDetailScreen(1, tab="history"))
        await settle(pilot, app)
        assert "home-1 · home" in crumbs(app.screen)
        assert metric_calls(home) == [(1, "cpu", "1d")] and metric_calls(work) == [(1, "cpu", "1d")]
        assert ("metrics", "http://home.invalid", 1, "cpu", "1d") in app.history_cache
        assert ("metrics", "http://work.invalid", 1, "cpu", "1d") in app.history_cache


async def test_guest_limits_apply_only_to_the_guest_dashboards_servers() -> None:
    admin, guest = client("http://admin.invalid"), client("http://guest.invalid", guest=True)
    app = several([admin, guest], lambda: ServerDetailScreen(1), names=("mine", "friend"))
    async with app.run_test(size=(130, 44)) as pilot:
        await settle(pilot, app)
        plot = app.screen.query_one("#metric-plot", Plot)
        await pilot.press("7")  # the admin's server: 7 days
        await settle(pilot, app)
        assert plot.message is None and metric_calls(admin) == [(1, "cpu", "7d")]
        await pilot.press("m")
        await settle(pilot, app)
        assert app.screen.query_one("#monitor-plot", Plot).message is None

        await pilot.press("escape")
        app.push_screen(ServerDetailScreen(WORK_1, tab="history"))
        await settle(pilot, app)
        screen = app.screen
        plot = screen.query_one("#metric-plot", Plot)
        assert plot.message is None and metric_calls(guest) == [(1, "cpu", "1d")]  # a guest may see 1 day
        await pilot.press("7")
        await settle(pilot, app)
        assert plot.message == GUEST_MESSAGE
        assert metric_calls(guest) == [(1, "cpu", "1d")]  # 7d not even asked: the Dashboard refuses guests
        await pilot.press("m")
        await settle(pilot, app)
        assert screen.query_one("#monitor-plot", Plot).message == GUEST_MESSAGE
        assert guest.count("server_services") == 0
        await pilot.press("1")
        await settle(pilot, app)
        assert screen.query_one("#monitor-plot", Plot).message is None
        assert ("server_services", (1, "1d")) in guest.calls

        # a monitor of each Dashboard: 7 days for the admin, the guest message for the guest
        for c in (admin, guest):
            c.answers["service_history"] = lambda sid, period: history(period)
        for index, c, message in ((0, admin, None), (1, guest, GUEST_MESSAGE)):
            app.push_screen(ServiceHistoryScreen(2, dashboard=index))
            await settle(pilot, app)
            await pilot.press("7")
            await settle(pilot, app)
            assert app.screen.query_one("#latency", Plot).message == message
            asked = [args for name, args in c.calls if name == "service_history"]
            assert asked == ([(2, "1d"), (2, "7d")] if message is None else [(2, "1d")])
            await pilot.press("escape")


async def test_a_dashboard_without_tsdb_says_so_while_the_others_history_shows() -> None:
    empty = m.MetricSeries(server_id=1, data_points=[])
    with_tsdb, without = client("http://a.invalid"), client("http://b.invalid", server_metrics=empty)
    app = several([with_tsdb, without], lambda: ServerDetailScreen(WORK_1, tab="history"),
                  settings=[m.Setting(tsdb_enabled=True), m.Setting(tsdb_enabled=False)])
    async with app.run_test(size=(130, 44)) as pilot:
        await settle(pilot, app)
        assert app.screen.query_one("#metric-plot", Plot).message == NO_TSDB_MESSAGE
        await pilot.press("escape")
        app.push_screen(ServerDetailScreen(1, tab="history"))
        await settle(pilot, app)
        plot = app.screen.query_one("#metric-plot", Plot)
        assert plot.message is None and plot.last is not None
        assert with_tsdb.count("server_metrics") == 1 and without.count("server_metrics") == 1


async def test_the_detail_follows_its_own_dashboards_stream() -> None:
    app = several([client("http://a.invalid"), client("http://b.invalid")], lambda: ServerDetailScreen(WORK_1))
    async with app.run_test(size=(130, 44)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        app.dashboards[0].stream_status = uf.status("reconnecting")  # the other Dashboard
        app.dashboards[1].stream_status = uf.status("live")
        app.stream_status_changed.publish(uf.status("reconnecting"))
        await pilot.pause()
        assert "stream" not in crumbs(screen)
        app.dashboards[1].stream_status = uf.status("reconnecting")
        app.stream_status_changed.publish(uf.status("reconnecting"))
        await pilot.pause()
        assert "(stream reconnecting)" in crumbs(screen)


# --------------------------------------------------------------------------- services


def work_overview() -> m.ServiceOverview:
    return m.ServiceOverview(
        services={2: m.ServiceItem(service_name="work api", current_up=3, total_up=90, total_down=10,
                                   delay=[80.0] * 30, up=[3] * 30, down=[0] * 30)},
        cycle_transfer_stats={
            5: m.CycleTransferStats(name="work quota", from_=dt.datetime(2026, 11, 1, tzinfo=UTC),
                                    to=dt.datetime(2026, 12, 1, tzinfo=UTC), max=1 << 40,
                                    server_name={1: "work-1"}, transfer={1: 1 << 30})})


def rows(table: DataTable[Any]) -> list[str]:
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


async def test_services_have_a_section_per_dashboard_and_one_failing_shows_its_error() -> None:
    home = client("http://home.invalid", services=overview(), service_history=lambda sid, p: history(p))
    work = client("http://work.invalid", services=work_overview(), service_history=lambda sid, p: history(p))
    work.errors["services"] = e.NetworkError("connection refused (work.invalid:80)")
    app = several([home, work], ServicesScreen)
    async with app.run_test(size=(132, 44)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ServicesScreen) and screen.several
        table = screen.query_one("#services", DataTable)
        assert rows(table) == ["dash:0", "0:2", "0:7", "0:11", "dash:1", "error:1"]
        assert str(table.get_row("dash:0")[0]) == "home" and str(table.get_row("dash:1")[0]) == "work"
        assert "connection refused" in str(table.get_row("error:1")[0])
        assert table.virtual_size.width <= table.size.width  # the error fits beside the columns
        status = str(screen.query_one("#services-status", Static).render())
        assert "home: 3 monitors" in status and "work: ⚠ connection refused" in status
        assert not table.loading
        quotas = screen.query_one("#quotas", DataTable)
        assert rows(quotas) == ["dash:0", "0:1:3", "0:1:4"]  # work's quotas: none known yet

        # the failing Dashboard comes back: its section fills, home's rows stay
        del work.errors["services"]
        screen._tick()
        await settle(pilot, app)
        assert rows(table) == ["dash:0", "0:2", "0:7", "0:11", "dash:1", "1:2"]
        assert str(table.get_row("1:2")[0]) == "work api" and str(table.get_row("0:2")[0]) == "api https"
        assert rows(quotas) == ["dash:0", "0:1:3", "0:1:4", "dash:1", "1:5:1"]
        assert home.count("services") == 2 and work.count("services") == 2

        # service 2 of each Dashboard: its own history, from its own client
        table.focus()
        table.move_cursor(row=table.get_row_index("1:2"))
        await pilot.press("enter")
        await settle(pilot, app)
        hist = app.screen
        assert isinstance(hist, ServiceHistoryScreen) and (hist.dashboard, hist.service_id) == (1, 2)
        assert ("service_history", (2, "1d")) in work.calls and home.count("service_history") == 0
        assert "· work" in crumbs(hist)
        # a server row of work's monitor opens work's server 3, not home's
        per_server = hist.query_one("#per-server", DataTable)
        per_server.move_cursor(row=per_server.get_row_index("3"))
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.key == server_key(1, 3)
        await pilot.press("escape")
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is screen

        # a quota row of work names work's server 1
        quotas.focus()
        quotas.move_cursor(row=quotas.get_row_index("1:5:1"))
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.key == WORK_1


async def test_services_sections_fit_80_columns() -> None:
    home = client("http://home.invalid", services=overview())
    work = client("http://work.invalid", services=work_overview())
    work.errors["services"] = e.NetworkError("connection refused (work.invalid:80)")
    app = several([home, work], ServicesScreen, names=("home", "a rather long Dashboard label"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        table = screen.query_one("#services", DataTable)
        assert "connection refused" in "".join(str(c) for c in table.get_row("error:1"))
        assert table.virtual_size.width <= table.size.width  # the error too
        del work.errors["services"]
        screen._tick()
        await settle(pilot, app)
        for t in (table, screen.query_one("#quotas", DataTable)):
            assert t.virtual_size.width <= t.size.width, t.id  # nothing cut off on the right


class SlowServices(uf.FakeClient):
    """A Dashboard whose services answer waits until released."""

    def __init__(self) -> None:
        super().__init__(services=work_overview())
        self.base_url = "http://slow.invalid"
        self.release = asyncio.Event()

    async def services(self) -> m.ServiceOverview:
        self.calls.append(("services", ()))
        await self.release.wait()
        return self.answers["services"]


async def test_a_slow_dashboard_does_not_hold_back_the_others_services() -> None:
    home, slow = client("http://home.invalid", services=overview()), SlowServices()
    app = several([home, slow], ServicesScreen)
    async with app.run_test(size=(132, 44)) as pilot:
        for _ in range(50):
            await pilot.pause()
            if isinstance(app.screen, ServicesScreen) and app.screen.section(0).overview is not None:
                break
        screen = app.screen
        assert isinstance(screen, ServicesScreen)
        table = screen.query_one("#services", DataTable)
        assert rows(table) == ["dash:0", "0:2", "0:7", "0:11", "dash:1", "loading:1"]
        assert slow.count("services") == 1  # asked at the same time, not after home
        slow.release.set()
        await settle(pilot, app)
        assert rows(table)[-2:] == ["dash:1", "1:2"]


async def test_a_refused_login_shows_its_reason_in_its_section_only() -> None:
    home = client("http://home.invalid", services=overview())
    work = client("http://work.invalid", services=work_overview())
    app = several([home, work], ServicesScreen, silent=[1])  # nothing came from work: its login was refused
    app.dashboards[1].stream_status = uf.status("auth_failed", message="ApiErrorUnauthorized")
    async with app.run_test(size=(132, 44)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ServicesScreen)
        table = screen.query_one("#services", DataTable)
        assert rows(table) == ["dash:0", "0:2", "0:7", "0:11", "dash:1", "error:1"]
        assert "login refused: ApiErrorUnauthorized" in str(table.get_row("error:1")[0])
        assert work.count("services") == 0 and home.count("services") == 1
