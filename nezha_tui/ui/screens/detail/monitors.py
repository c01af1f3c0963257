"""The service monitors panel (``m``): the latency of every monitor that covers this server
over the period (``GET /api/v1/server/{id}/service``), with a loss estimated from gaps."""

from __future__ import annotations

from typing import Any, Hashable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from nezha_tui.api.models import ServerServiceSeries
from nezha_tui.downsample import median_step, series_stats
from nezha_tui.fleets import split_key
from nezha_tui.ui.context import DashboardClient, UsesNezha
from nezha_tui.ui.drilldown import (
    GUEST_MESSAGE, PERIODS, app_tz, client_of, first_per_id, guest_denies, history_cache, period_bar,
    plain_cell, theme_style,
)
from nezha_tui.ui.loader import Loader
from nezha_tui.ui.widgets.plot import AxisFormat, Plot, Series


__all__ = ["estimate_loss", "ServiceMonitors"]


def estimate_loss(created_at: Sequence[int]) -> tuple[float | None, int, int]:
    """(loss percent, missing, present) estimated from gaps in a monitor's points.

    The usual step is the median distance between points; a distance of *k*
    steps counts *k - 1* missing points.  An estimate: the Dashboard does not
    report lost checks per point.
    """
    ts = sorted(t for t in created_at if isinstance(t, (int, float)))
    present = len(ts)
    if present < 3:
        return None, 0, present
    step = median_step(ts)
    if step <= 0:
        return None, 0, present
    missing = 0
    for a, b in zip(ts, ts[1:]):
        d = b - a
        if d > 1.5 * step:
            missing += max(0, int(round(d / step)) - 1)
    return missing / (present + missing) * 100.0, missing, present



class ServiceMonitors(UsesNezha, Vertical):
    """The monitors tab: period bar, one latency line per monitor, and a row per monitor."""

    def __init__(self, key: int, *, period: str = "1d", id: str | None = None) -> None:
        super().__init__(id=id)
        self.key = key
        """The server's fleet key; its Dashboard answers the requests (with ``server_id``, its id there)."""
        self.server_id = split_key(key)[1]
        self.period = period if period in PERIODS else "1d"
        self.message: str | None = None
        self.rows: list[tuple[ServerServiceSeries, float | None]] = []
        self.loader: Loader[list[ServerServiceSeries]] = Loader(
            self, group="monitors", fetch=self._fetch, show=self._show, fail=self._failed, loading=self._loading,
            cache=lambda: history_cache(self.nezha))

    def compose(self) -> ComposeResult:
        yield Static(id="monitors-bar", classes="period-bar")
        yield Plot(id="monitor-plot", fmt=AxisFormat("ms"), tz=app_tz(self.nezha))
        table: DataTable[Any] = DataTable(id="monitor-table", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#monitor-table", DataTable)
        table.add_column("Monitor", key="name")
        table.add_column("Avg delay", key="avg")
        table.add_column("Points", key="points")
        table.add_column("Loss (estimated from gaps)", key="loss")

    def focus_table(self) -> None:
        self.query_one("#monitor-table", DataTable).focus()

    def set_period(self, period: str) -> None:
        if period in PERIODS:
            self.period = period
        self._update_bar()

    def _update_bar(self) -> None:
        extra = f"{len(self.rows)} monitors" if self.rows and self.message is None else ""
        self.query_one("#monitors-bar", Static).update(period_bar(self.period, self.app.theme_variables, extra=extra))

    def _client(self) -> DashboardClient:
        """The server's own Dashboard's client (its auth, its guest limits)."""
        return client_of(self.nezha, self.key)

    def load(self, *, force: bool = False) -> None:
        self._update_bar()
        client = self._client()
        if guest_denies(client, self.period):  # the Dashboard would refuse it: not asked
            self.loader.leave()
            self._failed(None, GUEST_MESSAGE)
            return
        # the Dashboard's address is part of the key: two Dashboards' server 1 never share an answer
        key = ("server_services", client.base_url, self.server_id, self.period)
        self.loader.load(key, force=force)

    async def _fetch(self, key: Hashable, force: bool) -> list[ServerServiceSeries]:
        period = key[-1]  # type: ignore[index]
        return await self._client().server_services(self.server_id, period)

    def _loading(self, key: Hashable) -> None:
        self.query_one("#monitor-plot", Plot).loading = True

    def _failed(self, key: Hashable, message: str) -> None:
        plot = self.query_one("#monitor-plot", Plot)
        plot.loading = False
        self.message = message
        self.rows = []
        plot.show_message(message)
        self.query_one("#monitor-table", DataTable).clear()
        self._update_bar()

    def _show(self, key: Hashable, result: list[ServerServiceSeries]) -> None:
        plot = self.query_one("#monitor-plot", Plot)
        plot.loading = False
        table = self.query_one("#monitor-table", DataTable)
        table.clear()
        # a monitor id given twice is shown once: the rows are keyed by id (first_per_id says why)
        monitors = first_per_id(result, lambda r: r.monitor_id)
        ordered = sorted(monitors, key=lambda r: (-r.display_index, r.monitor_id))
        self.rows = []
        series: list[Series] = []
        theme = self.app.theme_variables
        for r in ordered:
            n = min(len(r.created_at), len(r.avg_delay))
            xs = [t / 1000.0 for t in r.created_at[:n]]
            ys = list(r.avg_delay[:n])
            st = series_stats(ys)
            avg = st.average if st is not None else None
            loss, missing, present = estimate_loss(r.created_at[:n])
            self.rows.append((r, loss))
            series.append(Series(r.monitor_name or f"#{r.monitor_id}", xs, ys,
                                 legend_extra=f"avg {avg:.0f} ms" if avg is not None else ""))
            loss_text = Text("-" if loss is None else f"≈ {loss:.1f}%  ({missing} of {present + missing} points missing)",
                             style=theme_style(theme, "" if not loss else "warning" if loss < 5 else "error"))
            table.add_row(plain_cell(r.monitor_name or f"#{r.monitor_id}"), f"{avg:.1f} ms" if avg is not None else "-",
                          str(n), loss_text, key=str(r.monitor_id))
        if not ordered:
            self.message = "no service monitors cover this server"
            plot.show_message(self.message)
        else:
            self.message = None
            plot.plot(series, empty="no monitor data in this period")
        self._update_bar()
