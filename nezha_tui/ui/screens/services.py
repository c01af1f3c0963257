"""The services overview (``s`` from the grid): one row per service monitor
of ``GET /api/v1/service`` and one row per (rule, server) of the cycle-transfer
quotas.  Refreshed every 15 s; ``enter`` opens a monitor's history.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Hashable

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from nezha_tui.ui.widgets.footer import KeyFooter
from nezha_tui.api.models import CycleTransferStats, ServiceItem, ServiceOverview
from nezha_tui.format import fmt_bytes, fmt_duration
from nezha_tui.ui.drilldown import (
    app_now, app_tz, fmt_local, local_dt, plain_cell,
)
from nezha_tui.ui.loader import Loader
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.widgets.tables import selected_row_key
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.widgets.day_strip import day_strip_text, uptime_level


__all__ = ["ServicesScreen", "service_status", "average_delay", "delay_level", "quota_rows",
           "QuotaLayout", "QUOTA_LAYOUTS", "quota_cells"]

REFRESH_SECONDS = 15.0


def service_status(item: ServiceItem) -> tuple[str, str]:
    """(label, theme role) of the "now" column, from the ``current_*`` counters."""
    down_now = item.down_now
    if down_now is None:
        return "no data", ""
    if down_now:
        return "▼ down", "error"
    up, down = max(0, item.current_up), max(0, item.current_down)
    if down == 0:
        return "▲ up", "success"
    return f"◆ {up}/{up + down} up", "warning"


def average_delay(item: ServiceItem) -> float | None:
    """Average delay over the 30 days, each day weighted by its successful checks."""
    delays = list(item.delay or [])[-30:]
    ups = list(item.up or [])[-len(delays):] if delays else []
    ups = [0] * (len(delays) - len(ups)) + ups
    total = weight = 0.0
    plain: list[float] = []
    for d, u in zip(delays, ups):
        try:
            d = float(d)
        except (TypeError, ValueError):
            continue
        if not (d > 0 and d < 1e9):
            continue
        plain.append(d)
        if u and u > 0:
            total += d * u
            weight += u
    if weight:
        return total / weight
    if plain:
        return sum(plain) / len(plain)
    return None


def delay_level(ms: float | None, good: float = 100.0, fair: float = 300.0) -> str:
    if ms is None:
        return ""
    if ms < good:
        return "success"
    if ms < fair:
        return "warning"
    return "error"


def _styled(text: str, role: str, theme: dict[str, str]) -> Text:
    return Text(text, style=theme_style(theme, role or "foreground-muted"))


def _bar(used: int, total: int, width: int, theme: dict[str, str], *, short: bool = False) -> Text:
    if total <= 0:
        return Text(f"{fmt_bytes(used)} (no limit)")
    frac = max(0.0, min(1.0, used / total))
    filled = int(round(frac * width))
    role = "error" if frac >= 0.9 else "warning" if frac >= 0.7 else "success"
    t = Text(no_wrap=True)
    t.append("█" * filled, style=theme_style(theme, role))
    # the separating space ends the bar's run (SVG renderers drop a run's leading space)
    t.append("░" * (width - filled) + " ", style=theme_style(theme, "foreground-muted" if width > filled else role))
    if short:
        t.append(f"{used / total * 100:.0f}% of {fmt_bytes(total)}")
    else:
        t.append(f"{fmt_bytes(used)} / {fmt_bytes(total)} ({used / total * 100:.0f}%)")
    return t


def _cycle_end(value: Any, tz: Any, year: int | None = None) -> str:
    """A cycle boundary in local time: the date, plus the time when it is not midnight.
    With ``year``, a date in that year leaves the year out (``11-30 15:59``)."""
    full = fmt_local(value, tz, "%Y-%m-%d %H:%M")
    if full.endswith(" 00:00"):
        full = full[:-6]
    if year is not None and full.startswith(f"{year:04d}-"):
        full = full[5:]
    return full


@dataclass(frozen=True)
class QuotaLayout:
    """How much of a quota row to show; the screen takes the widest that fits."""

    bar: int  # cells of the usage bar
    short_used: bool  # "50% of 1.0 TiB" instead of "512.0 GiB / 1.0 TiB (50%)"
    cycle: str  # "full" (from → to), "end" (→ to) or "" (no column)
    next_abs: bool  # the next update's date and time before "(in 1h 00m)"
    name_max: int  # rule and server names are cut to this many cells


QUOTA_LAYOUTS = (
    QuotaLayout(12, False, "full", True, 24),
    QuotaLayout(10, False, "full", False, 22),
    QuotaLayout(8, True, "end", False, 20),
    QuotaLayout(6, True, "", False, 16),
)

_QUOTA_HEADERS = {"rule": "Rule", "server": "Server", "used": "Used / max", "cycle": "Cycle",
                  "next": "Next update"}


def quota_cells(st: CycleTransferStats, rule_id: int, sid: int, layout: QuotaLayout, theme: dict[str, str],
                tz: Any, now: float) -> dict[str, Any]:
    """The cells of one quota row (by column key) in ``layout``."""
    year = None
    local_now = local_dt(now, tz)
    if local_now is not None:
        year = local_now.year
    used = max(0, int(st.transfer.get(sid, 0) or 0))
    nxt = st.next_update.get(sid)
    nxt_text = "-"
    if nxt is not None and nxt.year > 1:
        rel = ""
        try:
            delta = nxt.timestamp() - now
            rel = f"in {fmt_duration(delta)}" if delta >= 0 else "due"
        except (OverflowError, OSError, ValueError):
            pass
        if layout.next_abs or not rel:
            nxt_text = _cycle_end(nxt, tz, year) + (f" ({rel})" if rel else "")
        else:
            nxt_text = rel
    cells: dict[str, Any] = {
        "rule": plain_cell(st.name or f"rule {rule_id}", layout.name_max),
        "server": plain_cell(st.server_name.get(sid, "") or f"#{sid}", layout.name_max),
        "used": _bar(used, max(0, int(st.max or 0)), layout.bar, theme, short=layout.short_used),
    }
    if layout.cycle == "full":
        cells["cycle"] = f"{_cycle_end(st.from_, tz, year)} → {_cycle_end(st.to, tz, year)}"
    elif layout.cycle == "end":
        cells["cycle"] = f"→ {_cycle_end(st.to, tz, year)}"
    cells["next"] = nxt_text
    return cells


def _table_width(rows: list[dict[str, Any]], headers: dict[str, str]) -> int:
    """Cells a DataTable needs for these rows (padding 1 each side of every column)."""
    total = 0
    for key, title in headers.items():
        widest = cell_len(title)
        for r in rows:
            if key in r:
                v = r[key]
                widest = max(widest, v.cell_len if isinstance(v, Text) else cell_len(str(v)))
        total += widest + 2
    return total


def quota_rows(stats: dict[int, CycleTransferStats]) -> list[tuple[int, int, CycleTransferStats]]:
    """(rule id, server id, stats) for every server of every rule, in id order."""
    rows = []
    for rule_id in sorted(stats):
        st = stats[rule_id]
        ids = set(st.transfer) | set(st.server_name) | set(st.next_update)
        for sid in sorted(ids):
            rows.append((rule_id, sid, st))
    return rows


class ServicesScreen(NezhaScreen):
    """Service monitors and traffic quotas of the Dashboard."""

    CSS_PATH = "services.tcss"
    SCOPE = "services"
    BINDINGS = screen_bindings("services")

    def __init__(self, *, refresh_seconds: float = REFRESH_SECONDS, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.refresh_seconds = refresh_seconds
        self.overview: ServiceOverview | None = None
        self.error: str | None = None
        self.loader: Loader[ServiceOverview] = Loader(
            self, group="services", fetch=self._fetch, show=self._show, fail=self._failed, what="service",
            retry=False)  # the 15 s refresh tries again
        self._narrow: bool | None = None  # services table headers in use
        self._quota_layout: QuotaLayout | None = None
        self._fetched_at: float | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(self._crumbs(), id="crumbs")
        yield Static("loading services...", id="services-status")
        with Vertical(id="services-body"):
            table: DataTable[Any] = DataTable(id="services", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static("Cycle transfer quotas", id="quotas-title", classes="section-title")
            quotas: DataTable[Any] = DataTable(id="quotas", cursor_type="row")
            yield quotas
        yield KeyFooter()

    def _crumbs(self) -> Text:
        site = self.nezha.store.site_name
        # Text, not a str: a Static parses a str as markup, and the site name is the Dashboard's
        return Text(f"{site or 'Fleet'} › Services", no_wrap=True, overflow="ellipsis")

    def on_mount(self) -> None:
        table = self.query_one("#services", DataTable)
        table.cursor_foreground_priority = "renderable"  # the day strip keeps its colours under the cursor
        self._service_columns(table, narrow=False)
        table.loading = True
        quotas = self.query_one("#quotas", DataTable)
        quotas.cursor_foreground_priority = "renderable"
        self.query_one("#quotas-title").display = False
        quotas.display = False
        self.query_one("#crumbs", Static).update(self._crumbs())
        self.fetch()
        self.set_interval(self.refresh_seconds, self._tick)
        table.focus()

    def _service_columns(self, table: DataTable[Any], *, narrow: bool) -> None:
        if self._narrow == narrow:
            return
        self._narrow = narrow
        table.clear(columns=True)
        table.add_column("Monitor", key="name")
        table.add_column("Now", key="now")
        table.add_column("30 days" if narrow else "30 days (today right)", key="days")
        table.add_column("Uptime" if narrow else "Uptime 30d", key="uptime")
        table.add_column("Delay" if narrow else "Avg delay", key="delay")

    def _is_narrow(self) -> bool:
        return 0 < self.size.width < 100

    def on_resize(self) -> None:
        if self.overview is not None:
            self._fill()

    # ------------------------------------------------------------------ data

    def _tick(self) -> None:
        if self.is_current and not self.loader.busy:
            self.fetch()

    def fetch(self) -> None:
        """Fetch the services now (never from the cache: they change every check)."""
        self.loader.load("services", force=True)

    async def _fetch(self, key: Hashable, force: bool) -> ServiceOverview:
        return await self.nezha.client.services()

    def _failed(self, key: Hashable, message: str) -> None:
        self.query_one("#services", DataTable).loading = False
        self.error = message
        self._show_status()

    def _show(self, key: Hashable, overview: ServiceOverview) -> None:
        self.query_one("#services", DataTable).loading = False
        self.error = None
        self.overview = overview
        self._fetched_at = app_now(self.nezha)
        self._fill()
        self._show_status()

    def _show_status(self) -> None:
        status = self.query_one("#services-status", Static)
        tz = app_tz(self.nezha)
        parts: list[str] = []
        if self.overview is not None:
            parts.append(f"{len(self.overview.services)} monitors")
            if self._fetched_at is not None:
                parts.append(f"updated {fmt_local(self._fetched_at, tz, '%H:%M:%S')}")
            parts.append(f"every {self.refresh_seconds:g} s")
        if self.error:
            status.update(Text(f"⚠ {self.error}" + ("  (showing the last data)" if self.overview else ""),
                               style=theme_style(self.app.theme_variables, "error")))
            status.add_class("error")
        else:
            status.update(" · ".join(parts) if parts else "")
            status.remove_class("error")

    def _fill(self) -> None:
        assert self.overview is not None
        theme = self.app.theme_variables
        table = self.query_one("#services", DataTable)
        selected = self._selected_key(table)
        narrow = self._is_narrow()
        table.clear()
        self._service_columns(table, narrow=narrow)
        services = self.overview.services
        for sid in sorted(services):
            item = services[sid]
            label, role = service_status(item)
            total = item.total_up + item.total_down
            uptime = item.uptime_percent if total else None
            avg = average_delay(item)
            table.add_row(
                plain_cell(item.service_name or f"#{sid}", 16 if narrow else 40),
                _styled(label, role, theme),
                day_strip_text(item.up, item.down, theme),
                _styled(f"{uptime:.2f}%" if uptime is not None else "no data", uptime_level(uptime), theme),
                _styled(f"{avg:.0f} ms" if avg is not None else "-", delay_level(avg), theme),
                key=str(sid),
            )
        if not services:
            table.add_row(Text("no service monitors on this Dashboard", style="italic"), "", "", "", "",
                          key="__empty__")
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        if self.focused is None:  # a table that was loading could not take the focus at mount
            table.focus()
        self._fill_quotas()

    def _fill_quotas(self) -> None:
        assert self.overview is not None
        theme = self.app.theme_variables
        tz = app_tz(self.nezha)
        now = app_now(self.nezha)
        quotas = self.query_one("#quotas", DataTable)
        rows = quota_rows(self.overview.cycle_transfer_stats)
        quotas.display = bool(rows)
        self.query_one("#quotas-title").display = bool(rows)
        selected = self._selected_key(quotas)
        room = (self.size.width or 132) - 2  # a vertical scrollbar may take two cells
        layout = QUOTA_LAYOUTS[-1]
        cells: list[dict[str, Any]] = []
        last = QUOTA_LAYOUTS[-1]
        candidates = [*QUOTA_LAYOUTS[:-1], *(replace(last, name_max=n) for n in (24, 20, 18, 16, 14, 12, 10))]
        for candidate in candidates:  # the most detailed layout that fits the screen
            cells = [quota_cells(st, rule_id, sid, candidate, theme, tz, now) for rule_id, sid, st in rows]
            headers = {k: v for k, v in _QUOTA_HEADERS.items() if k != "cycle" or candidate.cycle}
            layout = candidate
            if _table_width(cells, headers) <= room:
                break
        if layout != self._quota_layout:
            self._quota_layout = layout
            quotas.clear(columns=True)
            for key, title in _QUOTA_HEADERS.items():
                if key != "cycle" or layout.cycle:
                    quotas.add_column(title, key=key)
        else:
            quotas.clear()
        for (rule_id, sid, _st), row in zip(rows, cells):
            quotas.add_row(*row.values(), key=f"{rule_id}:{sid}")
        if selected is not None and selected in quotas.rows:
            quotas.move_cursor(row=quotas.get_row_index(selected))

    _selected_key = staticmethod(selected_row_key)

    # ------------------------------------------------------------------ actions

    def action_refresh(self) -> None:
        self.query_one("#services-status", Static).update("refreshing...")
        self.fetch()

    def action_open_selected(self) -> None:
        """The focused table's row: a monitor's history, or a quota's server."""
        quotas = self.query_one("#quotas", DataTable)
        if self.focused is quotas:
            self._open_quota(self._selected_key(quotas))
        else:
            self._open(self._selected_key(self.query_one("#services", DataTable)))

    @on(DataTable.RowSelected, "#services")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open(event.row_key.value)

    @on(DataTable.RowSelected, "#quotas")
    def _quota_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open_quota(event.row_key.value)

    def _open_quota(self, key: str | None) -> None:
        """A quota row (``rule:server``) names a server: open its detail."""
        server = (key or "").partition(":")[2]
        if server.isdigit():
            self.open_server(int(server))

    def _open(self, key: str | None) -> None:
        if key is None or not key.isdigit():
            return
        sid = int(key)
        name = ""
        if self.overview is not None and sid in self.overview.services:
            name = self.overview.services[sid].service_name
        from nezha_tui.ui.screens.service_history import ServiceHistoryScreen

        self.app.push_screen(ServiceHistoryScreen(sid, name=name))
