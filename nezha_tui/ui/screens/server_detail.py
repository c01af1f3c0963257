"""Server detail (``enter`` from the grid): facts, public_note billing and plan,
live values from the stream with a realtime plot of the last frames, metric
history for all 17 metrics, and the server's service monitors.

Three tabs: ``i`` overview, ``h`` history, ``m`` monitors; ``1`` ``7`` ``3``
switch the period of the history and monitor tabs.  Each fetch shows a
loading indicator, results are kept briefly in the app's history cache, and
a result for a metric or period the user has left is never shown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.widgets.footer import KeyFooter
from nezha_tui.api.models import Host, MetricSeries, ServerServiceSeries, StreamServer
from nezha_tui.downsample import median_step, series_stats
from nezha_tui.store import ServerState, ServerStatus, age_text, state_phrase
from nezha_tui.format import (
    country_flag, fmt_age, fmt_bytes, fmt_duration, fmt_load, fmt_percent, fmt_speed, level, percent_of,
)
from nezha_tui.ui.drilldown import (
    NO_TSDB_MESSAGE, PERIODS, append_gap, app_now, app_tz, fmt_local, history_cache, history_error_message,
    dashboard_now, emphasis, history_retry_delay, local_dt, period_bar, plain_cell, theme_style,
)
from nezha_tui.ui.widgets.plot import AxisFormat, Plot, Series, format_value

__all__ = [
    "ServerDetailScreen", "MetricView", "METRIC_VIEWS", "VIEWS_BY_KEY", "metric_series",
    "estimate_loss", "facts_text", "live_text", "note_text",
]


# --------------------------------------------------------------------------- metric views


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


# --------------------------------------------------------------------------- text panels


def _row(t: Text, label: str, value: str | Text, theme: Any, width: int = 10) -> None:
    t.append(f"{label:<{width}}", style=theme_style(theme, "foreground-muted"))
    if isinstance(value, Text):
        t.append_text(value)
    else:
        t.append(value)
    t.append("\n")


_WRAP_CONSOLE: Any = None


def hang(text: Text, width: int | None, indent: int = 10) -> Text:
    """Wrap label/value rows to ``width`` cells with continuation lines indented
    under the value (a wrapped value must never look like the next label)."""
    if not width or width < indent + 8:
        return text
    global _WRAP_CONSOLE
    if _WRAP_CONSOLE is None:
        import io

        from rich.console import Console

        _WRAP_CONSOLE = Console(file=io.StringIO(), width=1000, color_system=None, legacy_windows=False)
    out = Text(end="")
    for n, line in enumerate(text.split("\n", allow_blank=True)):
        if n:
            out.append("\n")
        if line.cell_len <= width:
            out.append_text(line)
            continue
        head, body = line[:indent], line[indent:]
        pieces = body.wrap(_WRAP_CONSOLE, width - indent, overflow="fold")
        for i, piece in enumerate(pieces):
            if i:
                out.append("\n" + " " * indent)
            else:
                out.append_text(head)
            piece.rstrip()
            out.append_text(piece)
    return out


def facts_text(server: StreamServer, *, online: bool, age: float | None, theme: Any, tz: Any,
               status: ServerStatus | None = None) -> Text:
    h = server.host
    t = Text()
    flag = country_flag(server.country_code)
    name = Text(server.name or f"#{server.id}", style=theme_style(theme, "", bold=True))
    if server.country_code:
        name.append(f"  {flag} {server.country_code.upper()}".rstrip())
    _row(t, "Name", name, theme)
    if online:  # the glyph tells the state without colour too (NO_COLOR)
        line = Text("● online", style=theme_style(theme, "success"))
    else:
        line = Text("○ offline", style=theme_style(theme, "error"))
    append_gap(line)
    if age is not None:
        seen = f"· last seen {fmt_age(age)}"
    elif status is not None and status.state is ServerState.DISCONNECTED:
        seen = "· agent disconnected"  # zero last_active, the last values kept
    elif status is not None or server.host == Host():
        seen = "· never reported"
    else:
        seen = "· agent disconnected"
    line.append(seen, style=theme_style(theme, "foreground-muted"))
    if status is not None and status.repaired:
        line.append(" · values repaired (previous kept)", style=theme_style(theme, "warning"))
    _row(t, "Status", line, theme)
    _row(t, "Platform", " ".join(x for x in (h.platform, h.platform_version) if x) or "-", theme)
    cpus: dict[str, int] = {}
    for model in h.cpu or []:
        cpus[model] = cpus.get(model, 0) + 1
    if cpus:
        for i, (model, n) in enumerate(cpus.items()):
            _row(t, "CPU" if i == 0 else "", f"{n} × {model}" if n > 1 else model, theme)
    else:
        _row(t, "CPU", "-", theme)
    _row(t, "Arch", " · ".join(x for x in (h.arch, h.virtualization) if x) or "-", theme)
    _row(t, "Memory", fmt_bytes(h.mem_total) if h.mem_total else "-", theme)
    _row(t, "Disk", fmt_bytes(h.disk_total) if h.disk_total else "-", theme)
    known = status is None or status.has_values  # never reported: no "none" either, just "-"
    _row(t, "Swap", fmt_bytes(h.swap_total) if h.swap_total else "none" if known else "-", theme)
    boot = fmt_local(h.boot_time, tz) if h.boot_time and h.boot_time > 0 else "-"
    uptime = server.state.uptime if online else 0  # "up 137d" is a live value: not for an offline server
    _row(t, "Boot", f"{boot}" + (f" (up {fmt_duration(uptime)})" if uptime else ""), theme)
    _row(t, "Agent", h.version or "-", theme)
    gpus: dict[str, int] = {}
    for gpu in h.gpu or []:
        gpus[gpu] = gpus.get(gpu, 0) + 1
    for i, (gpu, n) in enumerate(gpus.items()):
        _row(t, "GPU" if i == 0 else "", f"{n} × {gpu}" if n > 1 else gpu, theme)
    t.rstrip()
    return t


def note_text(note: Any, raw: str, theme: Any) -> Text | None:
    """Billing and plan of the public_note, or its raw text when it is not that JSON."""
    t = Text()
    billing = getattr(note, "billing", None) if note is not None else None
    plan = getattr(note, "plan", None) if note is not None else None
    if billing is not None:
        left = billing.days_left
        role = "error" if left is not None and left < 0 else "warning" if left is not None and left <= 7 else ""
        muted_or = theme_style(theme, role or "foreground-muted")
        rolled = billing.next_renewal is not None and billing.next_renewal != billing.end
        if billing.never_expires:
            expiry = Text("never expires", style=theme_style(theme, "success"))
        elif billing.auto_renewal and billing.next_renewal is not None:
            # an auto-renewing plan is due on its next renewal, not on the (past) end date of the note
            expiry = Text(f"renews {billing.next_renewal.isoformat()}")
            if left is not None:
                append_gap(expiry)
                expiry.append(f"({left} days)" if left != 1 else "(1 day)", style=muted_or)
        elif billing.end is not None:
            expiry = Text(billing.end.isoformat())
            if left is not None:
                append_gap(expiry)
                expiry.append(f"({left} days left)" if left >= 0 else f"(expired {-left} days ago)", style=muted_or)
        else:
            expiry = Text("-")
        _row(t, "Expires", expiry, theme)
        price = billing.price_label or billing.amount or "-"
        if billing.cycle and billing.price_label not in ("free", "pay as you go"):
            price += f" / {billing.cycle}"
        _row(t, "Price", price, theme)
        if not billing.auto_renewal:
            renew = "no auto-renewal"
        elif billing.next_renewal is None:
            renew = "automatic (cycle unknown)" if not billing.never_expires else "automatic"
        elif rolled and billing.end is not None:
            renew = f"automatic (note: {billing.end.isoformat()})"  # the end date written in the note
        else:
            renew = "automatic"
        _row(t, "Renewal", renew, theme)
        if billing.start is not None:
            _row(t, "Since", billing.start.isoformat(), theme)
    if plan is not None:
        if plan.bandwidth:
            _row(t, "Bandwidth", plan.bandwidth, theme)
        if plan.traffic_vol or plan.traffic_type:
            _row(t, "Traffic", " ".join(x for x in (plan.traffic_vol, plan.traffic_type and f"({plan.traffic_type})") if x), theme)
        ip = Text()
        ip.append("IPv4 ✓" if plan.ipv4 else "IPv4 ✗", style=theme_style(theme, "success" if plan.ipv4 else "foreground-muted"))
        ip.append("  ")
        ip.append("IPv6 ✓" if plan.ipv6 else "IPv6 ✗", style=theme_style(theme, "success" if plan.ipv6 else "foreground-muted"))
        _row(t, "IP", ip, theme)
        if plan.network_route:
            _row(t, "Route", plan.network_route, theme)
        if plan.tags:
            _row(t, "Tags", ", ".join(plan.tags), theme)
    if billing is None and plan is None:
        raw = (raw or "").strip()
        if not raw:
            return None
        _row(t, "Note", Text(raw[:500]), theme)  # shown as plain text, never as markup
    t.rstrip()
    return t


_ROLE_OF_LEVEL = {"ok": "success", "warn": "warning", "crit": "error"}
"""format.level() (the table's and the cards' thresholds) -> the theme colour of a bar."""


def _bar(pct: float, width: int, theme: Any) -> Text:
    pct = max(0.0, min(100.0, pct))
    filled = int(round(pct / 100 * width))
    role = _ROLE_OF_LEVEL[level(pct)]
    t = Text()
    t.append("█" * filled, style=theme_style(theme, role))
    t.append("░" * (width - filled), style=theme_style(theme, "foreground-muted"))
    return t


def _pct_after_bar(t: Text, pct: float, rest: str = "", theme: Any = None) -> None:
    """`` 28.7%`` right-aligned in 7 cells after a bar (the padding ends the bar's run); under
    NO_COLOR a warning or critical value is emphasised (the bar's colour is a grey then)."""
    label = fmt_percent(pct)
    append_gap(t, 1 + max(0, 6 - len(label)))
    role = _ROLE_OF_LEVEL[level(pct)]
    t.append(label, style=emphasis(theme, "" if role == "success" else role))
    t.append(rest)


def _last_known_text(server: StreamServer, theme: Any, status: ServerStatus, age: float | None) -> Text:
    """The live panel of a server that does not report: its last values, dimmed, under their age."""
    s, h = server.state, server.host
    t = Text()
    warn = theme_style(theme, "warning")
    if not status.has_values:
        head = ("never reported: no values" if status.state is ServerState.NEVER_REPORTED
                else "no values yet (this frame's were malformed)")
        _row(t, "Live", Text(head, style=warn), theme)
        for label in ("CPU", "Memory", "Swap", "Disk", "Speed", "Transfer", "Load", "Conns", "Processes"):
            _row(t, label, "-", theme)
        t.rstrip()
        return t
    if status.state is ServerState.OFFLINE and age is not None:
        head = f"last report {age_text(age)} ago: last known values"
    elif status.state is ServerState.DISCONNECTED:
        head = "agent disconnected: last known values"
    else:
        head = "offline: last known values"
    _row(t, "Live", Text(head, style=warn), theme)
    dim = theme_style(theme, "foreground-muted")

    def used(label: str, used_b: int, total_b: int) -> None:
        if total_b:
            value = f"{fmt_percent(percent_of(used_b, total_b))}  {fmt_bytes(used_b)} / {fmt_bytes(total_b)}"
        else:
            value = fmt_bytes(used_b)
        _row(t, label, Text(value, style=dim), theme)

    _row(t, "CPU", Text(fmt_percent(s.cpu), style=dim), theme)
    used("Memory", s.mem_used, h.mem_total)
    used("Swap", s.swap_used, h.swap_total)
    used("Disk", s.disk_used, h.disk_total)
    _row(t, "Speed", Text("-  (no report)", style=dim), theme)
    _row(t, "Transfer", Text(f"↓ {fmt_bytes(s.net_in_transfer)}   ↑ {fmt_bytes(s.net_out_transfer)}", style=dim), theme)
    _row(t, "Load", Text(f"{fmt_load(s.load_1)}  {fmt_load(s.load_5)}  {fmt_load(s.load_15)}", style=dim), theme)
    _row(t, "Conns", Text(f"TCP {s.tcp_conn_count}   UDP {s.udp_conn_count}", style=dim), theme)
    _row(t, "Processes", Text(str(s.process_count), style=dim), theme)
    t.rstrip()
    return t


def live_text(server: StreamServer, theme: Any, status: ServerStatus | None = None,
              age: float | None = None) -> Text:
    """The live values; for a server that does not report (``status`` not online), its last
    known values, dimmed and labelled with their age (``age``: seconds since the last report)."""
    if status is not None and not (status.online and status.has_values):
        return _last_known_text(server, theme, status, age)
    s, h = server.state, server.host
    t = Text()
    if status is not None and status.repaired:
        _row(t, "Live", Text("values repaired in this frame: the previous ones are shown",
                             style=theme_style(theme, "warning")), theme)

    def used(label: str, used_b: int, total_b: int) -> None:
        pct = percent_of(used_b, total_b)
        v = Text()
        v.append_text(_bar(pct, 10, theme))
        if total_b:
            _pct_after_bar(v, pct, f"  {fmt_bytes(used_b)} / {fmt_bytes(total_b)}", theme)
        else:
            append_gap(v)
            v.append(fmt_bytes(used_b))
        _row(t, label, v, theme)

    cpu = Text()
    cpu.append_text(_bar(s.cpu, 10, theme))
    _pct_after_bar(cpu, s.cpu, theme=theme)
    _row(t, "CPU", cpu, theme)
    used("Memory", s.mem_used, h.mem_total)
    used("Swap", s.swap_used, h.swap_total)
    used("Disk", s.disk_used, h.disk_total)
    _row(t, "Speed", f"↓ {fmt_speed(s.net_in_speed)}   ↑ {fmt_speed(s.net_out_speed)}", theme)
    _row(t, "Transfer", f"↓ {fmt_bytes(s.net_in_transfer)}   ↑ {fmt_bytes(s.net_out_transfer)}", theme)
    _row(t, "Load", f"{fmt_load(s.load_1)}  {fmt_load(s.load_5)}  {fmt_load(s.load_15)}", theme)
    _row(t, "Conns", f"TCP {s.tcp_conn_count}   UDP {s.udp_conn_count}", theme)
    _row(t, "Processes", str(s.process_count), theme)
    for i, temp in enumerate(s.temperatures or []):
        _row(t, "Temps" if i == 0 else "", f"{temp.name or 'sensor'}  {temp.temperature:.1f}°C", theme)
    gpu_names = list(h.gpu or [])
    for i, busy in enumerate(s.gpu or []):
        name = gpu_names[i] if i < len(gpu_names) else f"GPU {i}"
        v = Text()
        v.append_text(_bar(busy, 10, theme))
        _pct_after_bar(v, busy, f"  {name}", theme)
        _row(t, "GPU" if i == 0 else "", v, theme)
    t.rstrip()
    return t


# --------------------------------------------------------------------------- the screen


class ServerDetailScreen(NezhaScreen):
    CSS_PATH = "server_detail.tcss"
    SCOPE = "detail"
    BINDINGS = screen_bindings("detail")  # the periods stay out of the footer: the period bar names the keys

    def __init__(self, server_id: int, *, tab: str = "overview", metric: str = "cpu", period: str = "1d") -> None:
        super().__init__()
        self.server_id = int(server_id)
        self.period = period if period in PERIODS else "1d"
        self.view_key = metric if metric in VIEWS_BY_KEY else "cpu"
        self._initial_tab = tab if tab in ("overview", "history", "monitors") else "overview"
        self.gone = False
        self.history_message: str | None = None
        self.monitors_message: str | None = None
        self.metric_stats: list[MetricStats] = []
        self.monitor_rows: list[tuple[ServerServiceSeries, float | None]] = []
        self._shown: dict[str, tuple[Any, ...] | None] = {"history": None, "monitors": None}
        self.history_failures = 0  # consecutive transient failures of the plot (backoff)
        self.history_retry_start = 2.0  # s before the first automatic retry (tests shorten it)
        self._dirty_live = False
        self._stream_note = ""
        self._no_tsdb_seen = False
        self.fetches = 0
        self._age_shown: str | None = None
        """The age text the panels show (an offline server), for the 1 s tick to compare."""
        self._skip_realtime = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        tz = app_tz(self.app)
        yield Static(id="crumbs")
        with TabbedContent(initial=self._initial_tab, id="tabs"):
            with TabPane("Overview (i)", id="overview"):
                with Horizontal(id="overview-row"):
                    with VerticalScroll(id="facts-box"):
                        yield Static(id="facts")
                        yield Static(id="note")
                    with VerticalScroll(id="live-box"):  # scrolls when a short terminal squeezes the plots
                        yield Static(id="live")
                        yield Plot(id="rt-pct", fmt=AxisFormat("percent", 0, 100), tz=tz)
                        yield Plot(id="rt-net", fmt=AxisFormat("speed"), tz=tz)
            with TabPane("History (h)", id="history"):
                yield Static(id="history-bar", classes="period-bar")
                with Horizontal(id="history-row"):
                    yield OptionList(*[Option(v.title, id=v.key) for v in METRIC_VIEWS], id="metrics")
                    with Vertical(id="history-plot-box"):
                        yield Plot(id="metric-plot", tz=tz)
                        yield Static(id="metric-stats")
            with TabPane("Monitors (m)", id="monitors"):
                yield Static(id="monitors-bar", classes="period-bar")
                yield Plot(id="monitor-plot", fmt=AxisFormat("ms"), tz=tz)
                table: DataTable[Any] = DataTable(id="monitor-table", cursor_type="row")
                yield table
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#monitor-table", DataTable)
        table.add_column("Monitor", key="name")
        table.add_column("Avg delay", key="avg")
        table.add_column("Points", key="points")
        table.add_column("Loss (estimated from gaps)", key="loss")
        options = self.query_one("#metrics", OptionList)
        options.highlighted = [v.key for v in METRIC_VIEWS].index(self.view_key)
        for plot_id in ("#rt-pct", "#rt-net"):
            self.query_one(plot_id, Plot).show_message("waiting for live frames...")
        self._update_live()
        signal = getattr(self.app, "fleet_changed", None)
        if signal is not None:
            signal.subscribe(self, self._on_fleet_changed)
        status_signal = getattr(self.app, "stream_status_changed", None)
        if status_signal is not None:
            status_signal.subscribe(self, self._on_stream_status)
        state_signal = getattr(self.app, "state_changed", None)
        if state_signal is not None:
            state_signal.subscribe(self, self._on_app_state)
        self._activate(self._initial_tab)

    # ------------------------------------------------------------------ live panel

    def _server(self) -> StreamServer | None:
        store = getattr(self.app, "store", None)
        return store.get(self.server_id) if store is not None else None

    def _on_fleet_changed(self, change: Any) -> None:
        sid = self.server_id
        removed = getattr(change, "removed", set()) or set()
        if sid in removed:
            self.gone = True
        elif sid in (getattr(change, "added", set()) or set()):
            self.gone = False
        relevant = sid in removed or sid in (getattr(change, "changed", set()) or set()) \
            or sid in (getattr(change, "added", set()) or set()) or bool(getattr(change, "first", False))
        if not relevant:
            return
        if self.is_current:
            self._update_live()
        else:
            self._dirty_live = True

    def _on_stream_status(self, status: Any) -> None:
        state = getattr(getattr(status, "state", None), "name", "")
        self._stream_note = "" if state in ("LIVE", "") else f"stream {state.lower().replace('_', ' ')}"
        if self.is_current:
            self._update_crumbs(self._server())

    def _on_app_state(self, what: str) -> None:
        if what == "tick":
            self._tick_age()
            return
        if what != "pause":
            return
        if self.is_current:
            self._update_crumbs(self._server())  # the "paused" mark
        else:
            self._dirty_live = True

    def on_resize(self) -> None:
        self.call_after_refresh(self._update_live)  # re-wrap the text panels to the new widths

    def on_screen_resume(self) -> None:
        if self._dirty_live:
            self._dirty_live = False
            self._update_live()

    def _update_crumbs(self, server: StreamServer | None) -> None:
        store = getattr(self.app, "store", None)
        site = getattr(store, "site_name", "") or "Fleet"
        name = server.name if server is not None else f"server #{self.server_id}"
        t = Text(f"{site} › {name} › detail", style=theme_style(self.app.theme_variables, "", bold=True))
        if server is not None and store is not None and hasattr(store, "state_of"):
            status = store.state_of(self.server_id)
            if not status.online or status.repaired:
                mark = "○ " if not status.online else "! "
                t.append(f"   {mark}{state_phrase(status, self._now())}",
                         style=theme_style(self.app.theme_variables, "warning" if status.online else "error"))
        if self.gone:
            t.append("   ⚠ this server is gone from the Dashboard", style=theme_style(self.app.theme_variables, "error"))
        if self._stream_note:
            t.append(f"   ({self._stream_note})", style=theme_style(self.app.theme_variables, "warning"))
        if getattr(self.app, "paused", False):  # as the fleet's header: the picture is frozen
            held = getattr(self.app, "held_frames", 0)
            t.append("   ")
            t.append("PAUSED" + (f" (+{held})" if held else ""), style="bold reverse")
        self.query_one("#crumbs", Static).update(t)

    def _update_live(self) -> None:
        theme = self.app.theme_variables
        server = self._server()
        store = getattr(self.app, "store", None)
        if server is None and store is not None and len(getattr(store, "servers", {}) or {}) > 0:
            self.gone = True
        self._update_crumbs(server)
        if server is None:
            msg = ("this server is gone from the Dashboard" if self.gone
                   else "waiting for the server in the live stream...")
            self.query_one("#facts", Static).update(Text(msg, style=theme_style(theme, "warning")))
            self.query_one("#live", Static).update("")
            self.query_one("#note", Static).update("")
            return
        tz = app_tz(self.app)
        online = bool(store.is_online(self.server_id)) if store is not None else False
        status = store.state_of(self.server_id) if store is not None and hasattr(store, "state_of") else None
        age = status.age(self._now()) if status is not None else None
        self._age_shown = age_text(age) if status is not None and status.shows_age else None
        facts = self.query_one("#facts", Static)
        facts.update(hang(facts_text(server, online=online, age=age, theme=theme, tz=tz, status=status),
                          facts.size.width))
        note = None
        raw = ""
        if store is not None:
            raw = getattr(store, "public_note", lambda _id: "")(self.server_id) or ""
            today = self._today()
            try:
                note = store.note(self.server_id, today)
            except Exception:
                note = None
        note_box = self.query_one("#note", Static)
        note_t = note_text(note, raw, theme)
        if note_t is not None:
            note_t = hang(note_t, note_box.size.width or facts.size.width)
        note_box.display = note_t is not None
        if note_t is not None:
            note_box.update(note_t)
        live = self.query_one("#live", Static)
        live.update(hang(live_text(server, theme, status, age), live.size.width))
        self._update_realtime()

    def _now(self) -> float:
        return dashboard_now(self.app)

    def _tick_age(self) -> None:
        """The 1 s tick: an offline server's age moves on; repaint the panels only when its text did."""
        if self._age_shown is None:
            return
        store = getattr(self.app, "store", None)
        if store is None:
            return
        status = store.state_of(self.server_id)
        if not status.shows_age or age_text(status.age(self._now())) == self._age_shown:
            return
        if self.is_current:
            self._update_text_panels()
        else:
            self._dirty_live = True

    def _update_text_panels(self) -> None:
        """Crumbs, facts and live panel again (the age moved), without the plots."""
        self._skip_realtime = True
        try:
            self._update_live()
        finally:
            self._skip_realtime = False

    def _today(self) -> date:
        d = local_dt(app_now(self.app), app_tz(self.app))
        return d.date() if d is not None else date.today()

    def _update_realtime(self) -> None:
        if self._skip_realtime:
            return
        store = getattr(self.app, "store", None)
        samples = list(store.recent(self.server_id)) if store is not None else []
        pct = self.query_one("#rt-pct", Plot)
        net = self.query_one("#rt-net", Plot)
        if len(samples) < 2:
            pct.show_message("waiting for live frames...")
            net.show_message("")
            return
        xs = [s.ts_ms / 1000.0 for s in samples]
        last = samples[-1]
        if all(s.cpu != s.cpu for s in samples):  # NaN in every frame: the server never reported in them
            message = "offline: no live values in the recent frames"
            pct.show_message(message)
            net.show_message("")
            return
        # a frame where the server was offline holds NaN: no point there, and the line breaks
        # across two or more missing steps (offline lasts the online window, ~15 frames); one
        # frame the stream dropped (malformed, late) leaves a single missing step: no break
        step = median_step(xs)
        gap = step * 2.5 if step > 0 else None

        def extra(value: float, fmt: Any) -> str:
            return fmt(value) if value == value else "-"  # the last frame was offline: no value

        pct.plot([
            Series("cpu", xs, [s.cpu for s in samples], color="primary", legend_extra=extra(last.cpu, fmt_percent),
                   gap=gap),
            Series("mem", xs, [s.mem_pct for s in samples], color="warning",
                   legend_extra=extra(last.mem_pct, fmt_percent), gap=gap),
        ], x_range=(xs[0], xs[-1]))
        net.plot([
            Series("in", xs, [s.net_in_speed for s in samples], color="success",
                   legend_extra=extra(last.net_in_speed, fmt_speed), gap=gap),
            Series("out", xs, [s.net_out_speed for s in samples], color="accent",
                   legend_extra=extra(last.net_out_speed, fmt_speed), gap=gap),
        ], x_range=(xs[0], xs[-1]))

    # ------------------------------------------------------------------ tabs and periods

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id or ""
        self._activate(pane)

    def _activate(self, pane: str) -> None:
        if pane == "history":
            self._load_history()
            self.query_one("#metrics", OptionList).focus()
        elif pane == "monitors":
            self._load_monitors()
            self.query_one("#monitor-table", DataTable).focus()

    def _active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or "overview"

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != tab:
            tabs.active = tab  # TabActivated loads the data
        else:
            self._activate(tab)

    def action_period(self, period: str) -> None:
        if period not in PERIODS:
            return
        self.period = period
        tab = self._active_tab()
        if tab == "overview":
            self.action_tab("history")
        else:
            self._activate(tab)
        self._update_bars()

    def action_reload(self) -> None:
        tab = self._active_tab()
        if tab == "history":
            self._load_history(force=True)
        elif tab == "monitors":
            self._load_monitors(force=True)
        else:
            self._update_live()

    @on(OptionList.OptionHighlighted, "#metrics")
    def _metric_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        key = event.option.id or ""
        if key in VIEWS_BY_KEY and key != self.view_key:
            self.view_key = key
            self._load_history()

    def select_metric(self, key: str) -> None:
        """Programmatic choice of a metric view (moves the list's highlight)."""
        if key in VIEWS_BY_KEY:
            self.query_one("#metrics", OptionList).highlighted = [v.key for v in METRIC_VIEWS].index(key)

    def _update_bars(self) -> None:
        theme = self.app.theme_variables
        view = VIEWS_BY_KEY[self.view_key]
        self.query_one("#history-bar", Static).update(period_bar(self.period, theme, extra=view.title))
        extra = f"{len(self.monitor_rows)} monitors" if self.monitor_rows and self.monitors_message is None else ""
        self.query_one("#monitors-bar", Static).update(period_bar(self.period, theme, extra=extra))

    # ------------------------------------------------------------------ metric history

    def _base(self) -> str:
        return getattr(self.app.client, "base_url", "")

    def _metric_key(self, metric: str, period: str) -> tuple[Any, ...]:
        return ("metrics", self._base(), self.server_id, metric, period)

    def _load_history(self, *, force: bool = False) -> None:
        self._update_bars()
        want = (self.view_key, self.period)
        if not force and self._shown["history"] == want:
            return
        plot = self.query_one("#metric-plot", Plot)
        if self._no_tsdb_seen and self._tsdb_off():
            # checked once already: an empty answer, not a Dashboard without the route
            self._show_history_message(NO_TSDB_MESSAGE, want)
            return
        view = VIEWS_BY_KEY[self.view_key]
        cache = history_cache(self.app)
        cached = [None if force else cache.get(self._metric_key(m, self.period)) for m in view.metrics]
        if all(c is not None for c in cached):
            self._show_history(view, cached, want)  # type: ignore[arg-type]
            return
        plot.loading = True
        self._fetch_history(view, self.period, force)

    @work(exclusive=True, group="metrics")
    async def _fetch_history(self, view: MetricView, period: str, force: bool) -> None:
        want = (view.key, period)
        cache = history_cache(self.app)
        plot = self.query_one("#metric-plot", Plot)

        async def one(metric: str) -> MetricSeries:
            key = self._metric_key(metric, period)
            hit = None if force else cache.get(key)
            if hit is not None:
                return hit
            result = await self.app.client.server_metrics(self.server_id, metric, period)  # type: ignore[attr-defined]
            if not isinstance(result, MetricSeries):
                result = MetricSeries()
            cache.put(key, result)
            return result

        try:
            results = await asyncio.gather(*(one(m) for m in view.metrics))
        except Exception as err:
            if want != (self.view_key, self.period):
                return  # the user moved on; a newer fetch owns the plot
            plot.loading = False
            self._show_history_message(history_error_message(err, "server"), want)
            self._retry_history_later(err, want)
            return
        finally:
            self.fetches += 1
        if want != (self.view_key, self.period):
            return  # cached, but not shown: the user has moved on
        self._show_history(view, list(results), want)

    def _retry_history_later(self, err: BaseException, want: tuple[Any, ...]) -> None:
        """A passing failure (a proxy's 502, a reset) is fetched again by itself, with backoff."""
        self.history_failures += 1
        delay = history_retry_delay(err, self.history_failures, self.history_retry_start)
        if delay is None:
            return

        def again() -> None:
            if self.is_attached and self._shown["history"] is None and want == (self.view_key, self.period):
                self._load_history()

        self.set_timer(delay, again)

    def _tsdb_off(self) -> bool:
        """The setting says the TSDB is off.  A Dashboard before v2.0 has no
        ``tsdb_enabled`` at all (read as off) and no history routes either, so
        the first history request is still made: its 404 says "too old", an
        empty answer confirms "TSDB off" (later views then skip the request)."""
        setting = getattr(self.app, "setting", None)
        return setting is not None and not getattr(setting, "tsdb_enabled", True)

    def _show_history_message(self, message: str, want: tuple[Any, ...]) -> None:
        self.history_message = message
        self.metric_stats = []
        plot = self.query_one("#metric-plot", Plot)
        plot.loading = False
        plot.show_message(message)
        self.query_one("#metric-stats", Static).update("")
        self._shown["history"] = None  # an error is not cached: retry when asked again

    def _show_history(self, view: MetricView, results: list[MetricSeries], want: tuple[Any, ...]) -> None:
        self.history_failures = 0
        server = self._server()
        host = server.host if server is not None else None
        series, fmt, stats = metric_series(view, results, host)
        plot = self.query_one("#metric-plot", Plot)
        plot.loading = False
        if not any(len(r.data_points) for r in results):
            setting = getattr(self.app, "setting", None)
            if setting is None:
                msg = "no metric history in this period (the Dashboard may keep none: TSDB off?)"
            elif self._tsdb_off():
                msg = NO_TSDB_MESSAGE
                self._no_tsdb_seen = True
            else:
                msg = "no data in this period"
            self.history_message = msg
            self.metric_stats = []
            plot.show_message(msg)
            self.query_one("#metric-stats", Static).update("")
            self._shown["history"] = want
            return
        self.history_message = None
        self.metric_stats = stats
        plot.plot(series, fmt=fmt)
        theme = self.app.theme_variables
        t = Text(no_wrap=True, overflow="ellipsis")
        for i, st in enumerate(stats):
            if i:
                t.append("\n")
            t.append(f"{st.label:<12}", style=theme_style(theme, _COLORS[i % len(_COLORS)]))
            t.append(st.text)
        self.query_one("#metric-stats", Static).update(t)
        self._shown["history"] = want

    # ------------------------------------------------------------------ service monitors of this server

    def _load_monitors(self, *, force: bool = False) -> None:
        self._update_bars()
        want = ("monitors", self.period)
        if not force and self._shown["monitors"] == want:
            return
        cached = None if force else history_cache(self.app).get(("server_services", self._base(), self.server_id, self.period))
        if cached is not None:
            self._show_monitors(cached, want)
            return
        self.query_one("#monitor-plot", Plot).loading = True
        self._fetch_monitors(self.period)

    @work(exclusive=True, group="monitors")
    async def _fetch_monitors(self, period: str) -> None:
        want = ("monitors", period)
        plot = self.query_one("#monitor-plot", Plot)
        try:
            result = await self.app.client.server_services(self.server_id, period)  # type: ignore[attr-defined]
        except Exception as err:
            if period != self.period:
                return
            plot.loading = False
            self.monitors_message = history_error_message(err, "server")
            self.monitor_rows = []
            plot.show_message(self.monitors_message)
            self.query_one("#monitor-table", DataTable).clear()
            self._shown["monitors"] = None
            self._update_bars()
            return
        finally:
            self.fetches += 1
        result = [r for r in (result or []) if isinstance(r, ServerServiceSeries)]
        history_cache(self.app).put(("server_services", self._base(), self.server_id, period), result)
        if period != self.period:
            return
        self._show_monitors(result, want)

    def _show_monitors(self, result: list[ServerServiceSeries], want: tuple[Any, ...]) -> None:
        plot = self.query_one("#monitor-plot", Plot)
        plot.loading = False
        table = self.query_one("#monitor-table", DataTable)
        table.clear()
        ordered = sorted(result, key=lambda r: (-r.display_index, r.monitor_id))
        self.monitor_rows = []
        series: list[Series] = []
        theme = self.app.theme_variables
        for r in ordered:
            n = min(len(r.created_at), len(r.avg_delay))
            xs = [t / 1000.0 for t in r.created_at[:n]]
            ys = list(r.avg_delay[:n])
            st = series_stats(ys)
            avg = st.average if st is not None else None
            loss, missing, present = estimate_loss(r.created_at[:n])
            self.monitor_rows.append((r, loss))
            series.append(Series(r.monitor_name or f"#{r.monitor_id}", xs, ys,
                                 legend_extra=f"avg {avg:.0f} ms" if avg is not None else ""))
            loss_text = Text("-" if loss is None else f"≈ {loss:.1f}%  ({missing} of {present + missing} points missing)",
                             style=theme_style(theme, "" if not loss else "warning" if loss < 5 else "error"))
            table.add_row(plain_cell(r.monitor_name or f"#{r.monitor_id}"), f"{avg:.1f} ms" if avg is not None else "-",
                          str(n), loss_text, key=str(r.monitor_id))
        if not ordered:
            self.monitors_message = "no service monitors cover this server"
            plot.show_message(self.monitors_message)
        else:
            self.monitors_message = None
            plot.plot(series, empty="no monitor data in this period")
        self._shown["monitors"] = want
        self._update_bars()
