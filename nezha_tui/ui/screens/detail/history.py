"""The metric history panel (``h``): a list of metric views, the plot of the chosen one over
the period (``GET /api/v1/server/{id}/metrics``) and its min/avg/max."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nezha_tui.api.models import MetricSeries, Setting
from nezha_tui.downsample import series_stats
from nezha_tui.format import fmt_bytes, percent_of
from nezha_tui.fleets import split_key
from nezha_tui.ui.context import DashboardClient, UsesNezha
from nezha_tui.ui.drilldown import (
    GUEST_MESSAGE, NO_TSDB_MESSAGE, PERIODS, app_tz, client_of, guest_denies, history_cache, period_bar,
    setting_of,
)
from nezha_tui.ui.loader import Loader
from nezha_tui.ui.styles import plot_colors
from nezha_tui.ui.widgets.plot import AxisFormat, Plot, Series, format_value


__all__ = ["MetricView", "METRIC_VIEWS", "VIEWS_BY_KEY", "MetricStats", "metric_series", "MetricHistory"]


@dataclass(frozen=True)
class MetricView:
    """One entry of the metric list: one metric, or several sharing a unit."""

    key: str
    title: str
    metrics: tuple[str, ...]
    kind: str  # axis kind of plot.AxisFormat
    totals: tuple[str, ...] = ()  # Host total per metric for percent (mem_total...), "" = none


METRIC_VIEWS: tuple[MetricView, ...] = (
    MetricView("cpu", "CPU", ("cpu",), "percent"),
    MetricView("memory", "Memory", ("memory",), "percent", ("mem_total",)),
    MetricView("swap", "Swap", ("swap",), "percent", ("swap_total",)),
    MetricView("memory+swap", "Memory + swap", ("memory", "swap"), "percent", ("mem_total", "swap_total")),
    MetricView("disk", "Disk", ("disk",), "percent", ("disk_total",)),
    MetricView("net_speed", "Net in + out speed", ("net_in_speed", "net_out_speed"), "speed"),
    MetricView("net_in_speed", "Net in speed", ("net_in_speed",), "speed"),
    MetricView("net_out_speed", "Net out speed", ("net_out_speed",), "speed"),
    MetricView("net_transfer", "Transfer in + out", ("net_in_transfer", "net_out_transfer"), "bytes"),
    MetricView("net_in_transfer", "Transfer in", ("net_in_transfer",), "bytes"),
    MetricView("net_out_transfer", "Transfer out", ("net_out_transfer",), "bytes"),
    MetricView("load", "Load 1 / 5 / 15", ("load1", "load5", "load15"), "number"),
    MetricView("load1", "Load 1", ("load1",), "number"),
    MetricView("load5", "Load 5", ("load5",), "number"),
    MetricView("load15", "Load 15", ("load15",), "number"),
    MetricView("conns", "TCP + UDP connections", ("tcp_conn", "udp_conn"), "number"),
    MetricView("tcp_conn", "TCP connections", ("tcp_conn",), "number"),
    MetricView("udp_conn", "UDP connections", ("udp_conn",), "number"),
    MetricView("process_count", "Processes", ("process_count",), "number"),
    MetricView("temperature", "Temperature (hottest)", ("temperature",), "celsius"),
    MetricView("gpu", "GPU (busiest)", ("gpu",), "percent"),
    MetricView("uptime", "Uptime", ("uptime",), "seconds"),
)
VIEWS_BY_KEY = {v.key: v for v in METRIC_VIEWS}

_LABELS = {
    "cpu": "cpu", "memory": "memory", "swap": "swap", "disk": "disk", "net_in_speed": "in",
    "net_out_speed": "out", "net_in_transfer": "in", "net_out_transfer": "out", "load1": "load 1",
    "load5": "load 5", "load15": "load 15", "tcp_conn": "tcp", "udp_conn": "udp",
    "process_count": "processes", "temperature": "temperature", "gpu": "gpu", "uptime": "uptime",
}
_COLORS = ("primary", "warning", "success", "accent")


@dataclass(frozen=True)
class MetricStats:
    label: str
    text: str


def metric_series(view: MetricView, results: Sequence[MetricSeries], host: Any) -> tuple[list[Series], AxisFormat, list[MetricStats]]:
    """Series to plot for a view, the axis, and min/avg/max of the shown range.

    Memory, swap and disk become percent of the host totals when these are
    known (the totals go in the legend); otherwise they stay bytes.
    """
    kind = view.kind
    as_percent = bool(view.totals)
    totals: list[float] = []
    for i, _ in enumerate(view.metrics):
        name = view.totals[i] if i < len(view.totals) else ""
        total = float(getattr(host, name, 0) or 0) if name else 0.0
        totals.append(total)
        if name and total <= 0:
            as_percent = False
    if view.totals and not as_percent:
        kind = "bytes"
    fmt = AxisFormat(kind, floor=0.0, ceiling=100.0 if kind == "percent" else None)
    series: list[Series] = []
    stats: list[MetricStats] = []
    for i, (metric, result) in enumerate(zip(view.metrics, results)):
        xs = [p.ts / 1000.0 for p in result.data_points]
        raw = [p.value for p in result.data_points]
        label = _LABELS.get(metric, metric)
        extra = ""
        if view.totals and as_percent:
            total = totals[i]
            ys = [percent_of(v, total) for v in raw]
            extra = f"of {fmt_bytes(total)}"
        else:
            ys = raw
        series.append(Series(label, xs, ys, color=_COLORS[i % len(_COLORS)], legend_extra=extra))
        st = series_stats(ys)
        if st is None:
            stats.append(MetricStats(label, "no data"))
            continue
        if view.totals and as_percent:
            total = totals[i]
            text = "  ".join(
                f"{name} {format_value(v, 'percent')} ({fmt_bytes(v * total / 100.0)})"
                for name, v in (("min", st.minimum), ("avg", st.average), ("max", st.maximum))
            )
        else:
            text = "  ".join(f"{name} {format_value(v, kind)}"
                             for name, v in (("min", st.minimum), ("avg", st.average), ("max", st.maximum)))
        stats.append(MetricStats(label, text))
    return series, fmt, stats


class MetricHistory(UsesNezha, Vertical):
    """The history tab: period bar, metric list, plot and stats of one server.

    Each fetch shows a loading indicator, results are kept briefly in the app's history
    cache, and a result for a metric or period the user has left is never shown.
    """

    def __init__(self, key: int, *, metric: str = "cpu", period: str = "1d", id: str | None = None) -> None:
        super().__init__(id=id)
        self.key = key
        """The server's fleet key; its Dashboard answers the requests (with ``server_id``, its id there)."""
        self.server_id = split_key(key)[1]
        self.period = period if period in PERIODS else "1d"
        self.view_key = metric if metric in VIEWS_BY_KEY else "cpu"
        self.message: str | None = None
        self.stats: list[MetricStats] = []
        self._no_tsdb_seen = False
        self.loader: Loader[list[MetricSeries]] = Loader(
            self, group="metrics", fetch=self._fetch, show=self._show, fail=self._failed, loading=self._loading,
            read=self._cached, write=lambda key, answer: None)  # _fetch caches each metric

    def compose(self) -> ComposeResult:
        yield Static(id="history-bar", classes="period-bar")
        with Horizontal(id="history-row"):
            yield OptionList(*[Option(v.title, id=v.key) for v in METRIC_VIEWS], id="metrics")
            with Vertical(id="history-plot-box"):
                yield Plot(id="metric-plot", tz=app_tz(self.nezha))
                yield Static(id="metric-stats")

    def on_mount(self) -> None:
        self.query_one("#metrics", OptionList).highlighted = [v.key for v in METRIC_VIEWS].index(self.view_key)

    def focus_list(self) -> None:
        self.query_one("#metrics", OptionList).focus()

    @on(OptionList.OptionHighlighted, "#metrics")
    def _metric_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        key = event.option.id or ""
        if key in VIEWS_BY_KEY and key != self.view_key:
            self.view_key = key
            self.load()

    def select_metric(self, key: str) -> None:
        """Programmatic choice of a metric view (moves the list's highlight)."""
        if key in VIEWS_BY_KEY:
            self.query_one("#metrics", OptionList).highlighted = [v.key for v in METRIC_VIEWS].index(key)

    def set_period(self, period: str) -> None:
        if period in PERIODS:
            self.period = period
        self._update_bar()

    def _update_bar(self) -> None:
        view = VIEWS_BY_KEY[self.view_key]
        self.query_one("#history-bar", Static).update(period_bar(self.period, self.app.theme_variables,
                                                                 extra=view.title))

    def _client(self) -> DashboardClient:
        """The server's own Dashboard's client (its auth, its guest limits)."""
        return client_of(self.nezha, self.key)

    def _metric_key(self, metric: str, period: str) -> tuple[Any, ...]:
        # the Dashboard's address is part of the key: two Dashboards' server 1 never share an answer
        return ("metrics", self._client().base_url, self.server_id, metric, period)

    def load(self, *, force: bool = False) -> None:
        self._update_bar()
        if self._no_tsdb_seen and self._tsdb_off():
            # checked once already: an empty answer, not a Dashboard without the route
            self.loader.leave()
            self._show_message(NO_TSDB_MESSAGE)
            return
        if guest_denies(self._client(), self.period):  # the Dashboard would refuse it: not asked
            self.loader.leave()
            self._show_message(GUEST_MESSAGE)
            return
        self.loader.load((self.view_key, self.period), force=force)

    def _cached(self, key: Hashable) -> list[MetricSeries] | None:
        view_key, period = key  # type: ignore[misc]
        cache = history_cache(self.nezha)
        parts = [cache.get(self._metric_key(m, period)) for m in VIEWS_BY_KEY[view_key].metrics]
        return parts if all(isinstance(p, MetricSeries) for p in parts) else None

    async def _fetch(self, key: Hashable, force: bool) -> list[MetricSeries]:
        """The view's metrics (each cached apart: memory is also part of memory + swap)."""
        view_key, period = key  # type: ignore[misc]
        cache = history_cache(self.nezha)
        client = self._client()

        async def one(metric: str) -> MetricSeries:
            key = self._metric_key(metric, period)
            hit = None if force else cache.get(key)
            if hit is not None:
                return hit
            result = await client.server_metrics(self.server_id, metric, period)
            cache.put(key, result)
            return result

        return list(await asyncio.gather(*(one(m) for m in VIEWS_BY_KEY[view_key].metrics)))

    def _loading(self, key: Hashable) -> None:
        self.query_one("#metric-plot", Plot).loading = True

    def _tsdb_off(self) -> bool:
        """The setting says the TSDB is off.  A Dashboard before v2.0 has no
        ``tsdb_enabled`` at all (read as off) and no history routes either, so
        the first history request is still made: its 404 says "too old", an
        empty answer confirms "TSDB off" (later views then skip the request)."""
        setting = self._setting()
        return setting is not None and not setting.tsdb_enabled

    def _setting(self) -> Setting | None:
        """The server's own Dashboard's settings (whether it keeps history)."""
        return setting_of(self.nezha, self.key)

    def _failed(self, key: Hashable, message: str) -> None:
        self._show_message(message)

    def _show_message(self, message: str) -> None:
        self.message = message
        self.stats = []
        plot = self.query_one("#metric-plot", Plot)
        plot.loading = False
        plot.show_message(message)
        self.query_one("#metric-stats", Static).update("")

    def _show(self, key: Hashable, results: list[MetricSeries]) -> None:
        view = VIEWS_BY_KEY[key[0]]  # type: ignore[index]
        server = self.nezha.store.get(self.key)
        host = server.host if server is not None else None
        series, fmt, stats = metric_series(view, results, host)
        plot = self.query_one("#metric-plot", Plot)
        plot.loading = False
        if not any(len(r.data_points) for r in results):
            if self._setting() is None:
                msg = "no metric history in this period (the Dashboard may keep none: TSDB off?)"
            elif self._tsdb_off():
                msg = NO_TSDB_MESSAGE
                self._no_tsdb_seen = True
            else:
                msg = "no data in this period"
            self.message = msg
            self.stats = []
            plot.show_message(msg)
            self.query_one("#metric-stats", Static).update("")
            return
        self.message = None
        self.stats = stats
        plot.plot(series, fmt=fmt)
        theme = self.app.theme_variables
        t = Text(no_wrap=True, overflow="ellipsis")
        legend = plot_colors(theme, [_COLORS[i % len(_COLORS)] for i in range(len(stats))])  # as the plot's lines
        for i, st in enumerate(stats):
            if i:
                t.append("\n")
            t.append(f"{st.label:<12}", style=Style(color=legend[i].rich_color))
            t.append(st.text)
        self.query_one("#metric-stats", Static).update(t)
