"""History of one service monitor (``GET /api/v1/service/{id}/history``):
latency per server as lines, the down points marked, and per server the up
percent, total up/down and average delay.  ``1`` ``7`` ``3`` switch periods.
"""

from __future__ import annotations

from typing import Any, Hashable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from nezha_tui.ui.widgets.footer import KeyFooter
from nezha_tui.api.models import ServiceHistory
from nezha_tui.ui.context import DashboardClient
from nezha_tui.ui.drilldown import (
    GUEST_MESSAGE, PERIODS, app_tz, first_per_id, guest_denies, history_cache, period_bar, plain_cell,
)
from nezha_tui.ui.loader import Loader
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.widgets.day_strip import uptime_level
from nezha_tui.ui.widgets.plot import AxisFormat, Plot, Series


__all__ = ["ServiceHistoryScreen", "history_series", "ordered_servers"]


def ordered_servers(history: ServiceHistory) -> list[Any]:
    """The history's servers by name, then id: the API's order is not stable (with the TSDB off
    it follows the SQL rows), and rows and line colours must not reshuffle on every reload.
    A server id given twice is shown once (:func:`~nezha_tui.ui.drilldown.first_per_id`)."""
    servers = first_per_id(history.servers, lambda srv: srv.server_id)
    return sorted(servers, key=lambda srv: ((srv.server_name or "").casefold(), srv.server_id))


def history_series(history: ServiceHistory) -> list[Series]:
    """One latency line per server (down points left out of the line) and one
    series of marks for every down point (drawn at their delay, 0 if none)."""
    lines: list[Series] = []
    down_x: list[float] = []
    down_y: list[float] = []
    for srv in ordered_servers(history):
        xs: list[float] = []
        ys: list[float | None] = []
        for p in srv.stats.data_points:
            x = p.ts / 1000.0
            if p.status == 0:
                down_x.append(x)
                down_y.append(max(0.0, p.delay))
                continue
            xs.append(x)
            ys.append(p.delay)
        lines.append(Series(srv.server_name or f"#{srv.server_id}", xs, ys,
                            legend_extra=f"avg {srv.stats.avg_delay:.0f} ms"))
    if down_x:
        lines.append(Series(f"down ({len(down_x)})", down_x, down_y, color="error", points=True, mark="x"))
    return lines


class ServiceHistoryScreen(NezhaScreen):
    CSS_PATH = "service_history.tcss"
    SCOPE = "service_history"
    BINDINGS = screen_bindings("service_history")
    AUTO_FOCUS = "#per-server"

    def __init__(self, service_id: int, *, name: str = "", period: str = "1d", dashboard: int = 0) -> None:
        super().__init__()
        self.service_id = int(service_id)
        self.dashboard = int(dashboard)
        """The index of the service's Dashboard in ``app.dashboards`` (a service id is unique per
        Dashboard only): its client answers, and its servers' rows open with its fleet keys."""
        self.service_name = name
        self.period = period if period in PERIODS else "1d"
        self.history: ServiceHistory | None = None
        self.message: str | None = None
        self.loader: Loader[ServiceHistory] = Loader(
            self, group="service-history", fetch=self._fetch, show=self._show, fail=self._failed,
            loading=self._loading, cache=lambda: history_cache(self.nezha), what="service")

    def compose(self) -> ComposeResult:
        yield Static(self._crumbs(), id="crumbs")
        yield Static(id="period-bar")
        yield Plot(id="latency", fmt=AxisFormat("ms"), tz=app_tz(self.nezha))
        table: DataTable[Any] = DataTable(id="per-server", cursor_type="row")
        yield table
        yield KeyFooter()

    def _crumbs(self) -> Text:
        app = self.nezha
        site = app.store.site_name or "Fleet"
        monitor = self.service_name or f"monitor #{self.service_id}"
        if app.several:  # the monitor's own Dashboard: "Work Site › Services › api https · work"
            link = app.dashboards[self.dashboard]
            site = link.store.site_name if link.store.site_name not in ("", link.name) else ""
            # Text, not a str: a Static parses a str as markup, and these are the Dashboard's names
            return Text(f"{site + ' › ' if site else ''}Services › {monitor} · {link.name}",
                        no_wrap=True, overflow="ellipsis")
        return Text(f"{site} › Services › {monitor}", no_wrap=True, overflow="ellipsis")

    def on_mount(self) -> None:
        table = self.query_one("#per-server", DataTable)
        table.add_column("Server", key="server")
        table.add_column("Up %", key="up_pct")
        table.add_column("Up", key="up")
        table.add_column("Down", key="down")
        table.add_column("Avg delay", key="delay")
        table.add_column("Down points", key="downs")
        self._load()

    # ------------------------------------------------------------------ data

    def _client(self) -> DashboardClient:
        """The service's own Dashboard's client (its auth, its guest limits)."""
        return self.nezha.dashboards[self.dashboard].client

    def _key(self) -> tuple[Any, ...]:
        # the Dashboard's address is part of the key: two Dashboards' service 2 never share an answer
        return ("service_history", self._client().base_url, self.service_id, self.period)

    def _load(self, *, force: bool = False) -> None:
        self._update_bar()
        if guest_denies(self._client(), self.period):  # the Dashboard would refuse it: not asked
            self.loader.leave()
            self._failed(None, GUEST_MESSAGE)
            return
        self.loader.load(self._key(), force=force)

    async def _fetch(self, key: Hashable, force: bool) -> ServiceHistory:
        period = key[-1]  # type: ignore[index]
        return await self._client().service_history(self.service_id, period)

    def _loading(self, key: Hashable) -> None:
        plot = self.query_one("#latency", Plot)
        plot.show_message(f"loading {self.period}...")
        plot.loading = True

    def _failed(self, key: Hashable, message: str) -> None:
        plot = self.query_one("#latency", Plot)
        plot.loading = False
        self.history = None
        self.message = message
        plot.show_message(message)
        self.query_one("#per-server", DataTable).clear()
        self._update_bar()

    def _show(self, key: Hashable, history: ServiceHistory) -> None:
        self.history = history
        self.message = None
        if history.service_name and not self.service_name:
            self.service_name = history.service_name
            self.query_one("#crumbs", Static).update(self._crumbs())
        plot = self.query_one("#latency", Plot)
        plot.loading = False
        series = history_series(history)
        if not history.servers:
            plot.show_message("no checks of this monitor in this period")
        else:
            plot.plot(series, empty="no checks of this monitor in this period")
        theme = self.app.theme_variables
        table = self.query_one("#per-server", DataTable)
        table.clear()
        for srv in ordered_servers(history):
            st = srv.stats
            downs = sum(1 for p in st.data_points if p.status == 0)
            total = st.total_up + st.total_down
            up_pct = st.up_percent if total else None
            # without the TSDB the Dashboard keeps no up/down: 0 and 0, every point "up" - unknown, not 0
            known = total > 0
            table.add_row(
                plain_cell(srv.server_name or f"#{srv.server_id}"),
                Text(f"{up_pct:.2f}%" if up_pct is not None else "no data",
                     style=theme_style(theme, uptime_level(up_pct) or "foreground-muted")),
                str(st.total_up) if known else "-",
                Text(str(st.total_down) if known else "-", style=theme_style(theme, "error" if st.total_down else "")),
                f"{st.avg_delay:.1f} ms",
                Text(str(downs) if known else "-", style=theme_style(theme, "error" if downs else "")),
                key=str(srv.server_id),
            )
        self._update_bar()

    def _update_bar(self) -> None:
        extra = ""
        if self.history is not None and self.message is None:
            extra = f"{len(ordered_servers(self.history))} servers"
        self.query_one("#period-bar", Static).update(period_bar(self.period, self.app.theme_variables, extra=extra))

    # ------------------------------------------------------------------ actions

    def action_open_selected(self) -> None:
        table = self.query_one("#per-server", DataTable)
        if table.row_count:
            self._open_server(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected, "#per-server")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open_server(event.row_key.value)

    def _open_server(self, key: str | None) -> None:
        """Every row is one server of the monitor (of its Dashboard): open its detail."""
        if key is not None and key.isdigit():
            self.open_server(self.nezha.store.key_for(self.dashboard, int(key)))

    def action_period(self, period: str) -> None:
        if period not in PERIODS:
            return
        self.period = period
        self._load()

    def action_reload(self) -> None:
        self._load(force=True)
