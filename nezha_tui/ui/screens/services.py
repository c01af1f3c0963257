"""The services overview (``s`` from the grid): one row per service monitor
of ``GET /api/v1/service`` and one row per (rule, server) of the cycle-transfer
quotas.  Refreshed every 15 s; ``enter`` opens a monitor's history.

With several Dashboards, each has its section in both tables (a header row with its
label, then its rows keyed ``"{index}:..."``), fetched from its own client at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable, Hashable

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from nezha_tui.ui.widgets.footer import KeyFooter
from nezha_tui.api.models import CycleTransferStats, ServiceItem, ServiceOverview
from nezha_tui.format import cut_cells, fmt_bytes, fmt_duration
from nezha_tui.ui.drilldown import (
    app_now, app_tz, fmt_local, local_dt, plain_cell, refused_reason,
)
from nezha_tui.ui.loader import Loader
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.widgets.tables import selected_row_key
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.widgets.day_strip import day_strip_text, uptime_level


__all__ = ["ServicesScreen", "DashboardServices", "service_status", "average_delay", "delay_level", "quota_rows",
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


@dataclass(eq=False)
class DashboardServices:
    """One Dashboard's part of the services screen: its overview, fetched from its own client."""

    index: int
    """The Dashboard's index in ``app.dashboards``."""
    label: str
    loader: Loader[ServiceOverview]
    overview: ServiceOverview | None = None
    """The last answer (kept, and shown, while a refresh fails)."""
    error: str | None = None
    """Why the last fetch failed (or why none is made: a refused login); ``None`` after an answer."""
    fetched_at: float | None = None


class ServicesScreen(NezhaScreen):
    """Service monitors and traffic quotas of the Dashboard; with several Dashboards, one
    section per Dashboard (a header row with its label, then its rows), each fetched from its
    own client at the same time: one that fails shows why in its section, the others their data."""

    CSS_PATH = "services.tcss"
    SCOPE = "services"
    BINDINGS = screen_bindings("services")

    def __init__(self, *, refresh_seconds: float = REFRESH_SECONDS, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.refresh_seconds = refresh_seconds
        self.sections: list[DashboardServices] = []
        """One per Dashboard, in the app's order (made at mount)."""
        self.several = False
        """Sections with header rows (more than one Dashboard); one Dashboard: no header row."""
        self._narrow: bool | None = None  # services table headers in use
        self._quota_layout: QuotaLayout | None = None

    # ------------------------------------------------------------------ one Dashboard's view

    @property
    def overview(self) -> ServiceOverview | None:
        """The first Dashboard's overview (the only one's, with one Dashboard)."""
        return self.sections[0].overview if self.sections else None

    @property
    def error(self) -> str | None:
        """The first Dashboard's error (the only one's, with one Dashboard)."""
        return self.sections[0].error if self.sections else None

    @property
    def loader(self) -> Loader[ServiceOverview]:
        """The first Dashboard's loader."""
        return self.sections[0].loader

    def section(self, index: int) -> DashboardServices:
        """The section of Dashboard ``index``."""
        return next(sec for sec in self.sections if sec.index == index)

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

    def _make_sections(self) -> None:
        links = list(self.nezha.dashboards)
        self.several = len(links) > 1
        self.sections = []
        for n, link in enumerate(links):
            index = int(getattr(link, "index", n))
            loader: Loader[ServiceOverview] = Loader(
                self, group="services" if not self.several else f"services-{index}",
                fetch=self._fetcher(index), show=self._show, fail=self._failed, what="service",
                retry=False)  # the 15 s refresh tries again
            self.sections.append(DashboardServices(index, str(link.name), loader))

    def on_mount(self) -> None:
        self._make_sections()
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
        if any(sec.overview is not None or (self.several and sec.error) for sec in self.sections):
            self._fill()

    # ------------------------------------------------------------------ data

    def _tick(self) -> None:
        if self.is_current:
            self.fetch(only_idle=True)

    def fetch(self, *, only_idle: bool = False) -> None:
        """Fetch every Dashboard's services now (never from the cache: they change every check),
        all at once; ``only_idle``: not those whose fetch is still under way.  A Dashboard whose
        login was refused is not asked: its section says why."""
        for sec in self.sections:
            if only_idle and sec.loader.busy:
                continue
            reason = refused_reason(self.nezha.dashboards[sec.index]) if self.several else None
            if reason is not None:
                sec.loader.leave()
                self._failed(("services", sec.index), reason)
                continue
            sec.loader.load(("services", sec.index), force=True)

    def _fetcher(self, index: int) -> Callable[[Hashable, bool], Awaitable[ServiceOverview]]:
        async def fetch(key: Hashable, force: bool) -> ServiceOverview:
            return await self.nezha.dashboards[index].client.services()  # its own client, its own auth
        return fetch

    def _failed(self, key: Hashable, message: str) -> None:
        sec = self.section(key[1])  # type: ignore[index]
        sec.error = message
        if not self.several or all(s.overview is not None or s.error for s in self.sections):
            self.query_one("#services", DataTable).loading = False
        if self.several:
            self._fill()
        self._show_status()

    def _show(self, key: Hashable, overview: ServiceOverview) -> None:
        sec = self.section(key[1])  # type: ignore[index]
        sec.error = None
        sec.overview = overview
        sec.fetched_at = app_now(self.nezha)
        self.query_one("#services", DataTable).loading = False  # the rows that came are shown at once
        self._fill()
        self._show_status()

    def _show_status(self) -> None:
        if self.several:
            self._show_sections_status()
            return
        sec = self.sections[0]
        status = self.query_one("#services-status", Static)
        tz = app_tz(self.nezha)
        parts: list[str] = []
        if sec.overview is not None:
            parts.append(f"{len(sec.overview.services)} monitors")
            if sec.fetched_at is not None:
                parts.append(f"updated {fmt_local(sec.fetched_at, tz, '%H:%M:%S')}")
            parts.append(f"every {self.refresh_seconds:g} s")
        if sec.error:
            status.update(Text(f"⚠ {sec.error}" + ("  (showing the last data)" if sec.overview else ""),
                               style=theme_style(self.app.theme_variables, "error")))
            status.add_class("error")
        else:
            status.update(" · ".join(parts) if parts else "")
            status.remove_class("error")

    def _show_sections_status(self) -> None:
        """``home: 3 monitors · work: ⚠ login refused · updated 12:00:00 · every 15 s``."""
        theme = self.app.theme_variables
        tz = app_tz(self.nezha)
        t = Text(no_wrap=True, overflow="ellipsis")
        for n, sec in enumerate(self.sections):
            if n:
                t.append(" · ")
            t.append(f"{sec.label}: ")
            if sec.error:
                t.append(f"⚠ {cut_cells(sec.error, 40)}", style=theme_style(theme, "error"))
            elif sec.overview is not None:
                t.append(f"{len(sec.overview.services)} monitors")
            else:
                t.append("loading...", style=theme_style(theme, "foreground-muted"))
        times = [sec.fetched_at for sec in self.sections if sec.fetched_at is not None]
        if times:
            t.append(f" · updated {fmt_local(max(times), tz, '%H:%M:%S')}")
        t.append(f" · every {self.refresh_seconds:g} s")
        status = self.query_one("#services-status", Static)
        status.update(t)
        status.set_class(any(sec.error for sec in self.sections), "error")

    def _fill(self) -> None:
        theme = self.app.theme_variables
        table = self.query_one("#services", DataTable)
        selected = self._selected_key(table)
        narrow = self._is_narrow()
        table.clear()
        self._service_columns(table, narrow=narrow)
        for sec in self.sections:
            if self.several:
                self._section_rows(table, sec, theme, narrow)
            elif sec.overview is not None:
                self._service_rows(table, sec, theme, narrow, "")
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        if self.focused is None:  # a table that was loading could not take the focus at mount
            table.focus()
        self._fill_quotas()

    def _section_rows(self, table: DataTable[Any], sec: DashboardServices, theme: dict[str, str],
                      narrow: bool) -> None:
        """A Dashboard's header row (its label), why it shows nothing (if so), then its monitors."""
        head = Text(cut_cells(sec.label, 16 if narrow else 40), style=theme_style(theme, "accent", bold=True),
                    no_wrap=True, overflow="ellipsis")
        count = ""
        if sec.overview is not None:
            n = len(sec.overview.services)
            count = f"{n} monitor{'s' if n != 1 else ''}"
        table.add_row(head, _styled(count, "", theme), "", "", "", key=f"dash:{sec.index}")
        if sec.error:
            message = sec.error + (" (the last data below)" if sec.overview is not None else "")
            style = theme_style(theme, "error")
            if narrow:  # the name column is short there: the message takes the 30 cells of the days
                table.add_row(Text("⚠ unavailable", style=style), "",
                              Text(cut_cells(message, 30), style=style, no_wrap=True, overflow="ellipsis"),
                              "", "", key=f"error:{sec.index}")
            else:  # as wide as a monitor's name may be, or what the other columns leave (~70 cells)
                room = max(40, self.size.width - 72)
                table.add_row(Text(cut_cells(f"⚠ {message}", room), style=style, no_wrap=True, overflow="ellipsis"),
                              "", "", "", "", key=f"error:{sec.index}")
        elif sec.overview is None:
            table.add_row(Text("loading...", style=theme_style(theme, "foreground-muted")), "", "", "", "",
                          key=f"loading:{sec.index}")
        if sec.overview is not None:
            self._service_rows(table, sec, theme, narrow, f"{sec.index}:")

    def _service_rows(self, table: DataTable[Any], sec: DashboardServices, theme: dict[str, str],
                      narrow: bool, prefix: str) -> None:
        """The rows of a Dashboard's monitors, keyed ``{prefix}{service id}``."""
        assert sec.overview is not None
        services = sec.overview.services
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
                key=f"{prefix}{sid}",
            )
        if not services:
            table.add_row(Text("no service monitors on this Dashboard", style="italic"), "", "", "", "",
                          key=f"__empty__{prefix.rstrip(':')}")

    def _fill_quotas(self) -> None:
        theme = self.app.theme_variables
        tz = app_tz(self.nezha)
        now = app_now(self.nezha)
        quotas = self.query_one("#quotas", DataTable)
        # (row key, section label or None, (rule id, server id, stats) or None) in table order
        entries: list[tuple[str, str | None, tuple[int, int, CycleTransferStats] | None]] = []
        for sec in self.sections:
            if sec.overview is None:
                continue
            rows = quota_rows(sec.overview.cycle_transfer_stats)
            if not rows:
                continue
            if self.several:
                entries.append((f"dash:{sec.index}", sec.label, None))
            prefix = f"{sec.index}:" if self.several else ""
            entries.extend((f"{prefix}{rule_id}:{sid}", None, (rule_id, sid, st)) for rule_id, sid, st in rows)
        quotas.display = bool(entries)
        self.query_one("#quotas-title").display = bool(entries)
        selected = self._selected_key(quotas)
        room = (self.size.width or 132) - 2  # a vertical scrollbar may take two cells
        layout = QUOTA_LAYOUTS[-1]
        cells: list[dict[str, Any]] = []
        last = QUOTA_LAYOUTS[-1]
        candidates = [*QUOTA_LAYOUTS[:-1], *(replace(last, name_max=n) for n in (24, 20, 18, 16, 14, 12, 10))]
        for candidate in candidates:  # the most detailed layout that fits the screen
            cells = [quota_cells(row[2], row[0], row[1], candidate, theme, tz, now) if row is not None
                     else {"rule": Text(cut_cells(head or "", candidate.name_max),
                                        style=theme_style(theme, "accent", bold=True))}
                     for _key, head, row in entries]
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
        width = len(quotas.columns)
        for (key, _head, _row), row in zip(entries, cells):
            values = list(row.values())
            quotas.add_row(*values, *([""] * (width - len(values))), key=key)
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

    def _split(self, key: str | None, parts: int) -> tuple[int, list[int]] | None:
        """A row key's (Dashboard index, ids): ``"{ids}"`` with one Dashboard, ``"{index}:{ids}"``
        with several; ``None`` for a header or message row."""
        fields = (key or "").split(":")
        if self.several:
            if len(fields) != parts + 1 or not all(f.isdigit() for f in fields):
                return None
            return int(fields[0]), [int(f) for f in fields[1:]]
        if len(fields) != parts or not all(f.isdigit() for f in fields):
            return None
        return (self.sections[0].index if self.sections else 0), [int(f) for f in fields]

    def _open_quota(self, key: str | None) -> None:
        """A quota row (``rule:server``) names a server: open its detail."""
        found = self._split(key, 2)
        if found is None:
            return
        index, (_rule, sid) = found
        self.open_server(self.nezha.store.key_for(index, sid) if self.several else sid)

    def _open(self, key: str | None) -> None:
        found = self._split(key, 1)
        if found is None:
            return
        index, (sid,) = found
        name = ""
        sec = next((s for s in self.sections if s.index == index), None)
        if sec is not None and sec.overview is not None and sid in sec.overview.services:
            name = sec.overview.services[sid].service_name
        from nezha_tui.ui.screens.service_history import ServiceHistoryScreen

        self.app.push_screen(ServiceHistoryScreen(sid, name=name, dashboard=index))
