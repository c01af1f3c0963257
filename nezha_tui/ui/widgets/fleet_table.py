"""The fleet table: one line per server on Textual's Line API.

``render_line(y)`` formats only the rows on screen; each formatted row is
cached under ``(id, version, width, cursor, theme)`` so a frame that changes
ten visible servers formats ten rows, whatever the size of the fleet.
Columns have fixed widths and a priority: as the terminal narrows, the
least important columns are dropped, never squeezed, so values changing
width never move the layout.

:class:`FleetGrid` is the shared base of the table and the cards: selection
kept by server id, cursor moves, per-frame refresh of what is visible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from math import isfinite
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.color import Color
from textual.filter import ANSIToTruecolor
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from nezha_tui.api.models import StreamServer
from nezha_tui.fleet_view import FleetView
from nezha_tui.format import (
    cpu_cores, fmt_bytes, fmt_count, fmt_duration, fmt_load, fmt_percent, fmt_speed, fmt_temp, level, load_level,
    percent_of,
)
from nezha_tui.store import FleetChange, FleetStore, ServerState, ServerStatus, age_text
from nezha_tui.ui.context import UsesNezha

log = logging.getLogger("nezha_tui.ui")

__all__ = [
    "FleetGrid", "FleetTable", "Column", "COLUMNS", "CHOOSABLE", "CHOOSABLE_SEVERAL", "DASHBOARD", "STALE_MARK",
    "bar_text", "choosable", "columns_for", "layout_columns", "server_values", "spark_text",
]


# --------------------------------------------------------------------------- values


def hottest(server: StreamServer) -> float | None:
    temps = [t.temperature for t in server.state.temperatures or () if isinstance(t.temperature, (int, float))]
    return max(temps) if temps else None


def busiest_gpu(server: StreamServer) -> float | None:
    gpus = [g for g in server.state.gpu or () if isinstance(g, (int, float))]
    return max(gpus) if gpus else None


def server_values(server: StreamServer) -> dict[str, float]:
    """Percentages derived from a server's host totals."""
    s, h = server.state, server.host
    return {
        "cpu": s.cpu,
        "mem": percent_of(s.mem_used, h.mem_total),
        "swap": percent_of(s.swap_used, h.swap_total),
        "disk": percent_of(s.disk_used, h.disk_total),
    }


Cell = tuple[str, str | None]  # text, component suffix ("ok", "warn", "crit", "up", "down", "muted") or None


def _pct_cell(value: float) -> Cell:
    # the hottest path of a frame: plain arithmetic first, the forgiving helpers for odd values
    try:
        if isfinite(value):
            return f"{value:.1f}%", ("crit" if value > 90.0 else "warn" if value > 70.0 else "ok")
    except TypeError:
        pass
    return fmt_percent(value), level(value)


def _share(used: float, total: float) -> float:
    try:
        return used * 100.0 / total if total > 0 else 0.0
    except TypeError:
        return percent_of(used, total)


def _cell_status(s: StreamServer, online: bool) -> Cell:
    return ("●", "up") if online else ("○", "down")


def _cell_country(s: StreamServer, online: bool) -> Cell:
    return (s.country_code or "").upper()[:2], "muted"


def _cell_name(s: StreamServer, online: bool) -> Cell:
    return s.name or f"#{s.id}", None


def _cell_cpu(s: StreamServer, online: bool) -> Cell:
    return _pct_cell(s.state.cpu)


def _cell_mem(s: StreamServer, online: bool) -> Cell:
    return _pct_cell(_share(s.state.mem_used, s.host.mem_total))


def _cell_swap(s: StreamServer, online: bool) -> Cell:
    if not s.host.swap_total:
        return "-", "muted"
    return _pct_cell(_share(s.state.swap_used, s.host.swap_total))


def _cell_disk(s: StreamServer, online: bool) -> Cell:
    return _pct_cell(_share(s.state.disk_used, s.host.disk_total))


def _cell_load(s: StreamServer, online: bool) -> Cell:
    """The 1-minute load, coloured relative to the core count (plain when that is unknown)."""
    return fmt_load(s.state.load_1), load_level(s.state.load_1, cpu_cores(s.host.cpu))


def _cell_temp(s: StreamServer, online: bool) -> Cell:
    t = hottest(s)
    if t is None:
        return "-", "muted"
    return fmt_temp(t), level(t, 70, 85)


def _cell_gpu(s: StreamServer, online: bool) -> Cell:
    g = busiest_gpu(s)
    return ("-", "muted") if g is None else _pct_cell(g)


def _live_only(text: Callable[[StreamServer], str], kind: str | None) -> Callable[[StreamServer, bool], Cell]:
    """A cell that only means something while the server reports (speeds, uptime): "-" when offline."""

    def cell(s: StreamServer, online: bool) -> Cell:
        return (text(s), kind) if online else ("-", "muted")

    return cell


def _cell_uptime(s: StreamServer, online: bool) -> Cell:  # without the state; the table uses uptime_cell
    return (fmt_duration(s.state.uptime), "muted") if online else ("-", "muted")


def uptime_cell(server: StreamServer, status: ServerStatus, now_s: float) -> Cell:
    """The UPTIME column: the uptime while online; for an offline server, how long it has been
    silent (``'↓7m 13s'``, the age since its last report, which moves on every second)."""
    state = status.state
    if state is ServerState.ONLINE:
        return fmt_duration(server.state.uptime), "muted"
    if state is ServerState.OFFLINE:
        return f"↓{age_text(status.age(now_s))}", "down"  # 8 cells up to 999 days
    if state is ServerState.DISCONNECTED:
        return "↓agent", "down"
    return "-", "muted"


_BAR_KINDS = {"warn": "bar-warn", "crit": "bar-crit"}
"""A bar takes the severity colour only at warn/critical; any other value draws as "bar"."""


def _cell_dashboard(s: StreamServer, online: bool) -> Cell:
    """The table draws the Dashboard's label from the store (the fleet key names the Dashboard)."""
    return "", "muted"


def _cell_net_trend(s: StreamServer, online: bool) -> Cell:
    """Offline: "-"; online the table draws the trend from the store (see :func:`spark_text`)."""
    return "-", "muted"


_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
_SPARKS = "▁▂▃▄▅▆▇█"
_SPARK_FLOOR = 1024.0
"""The smallest span a trend is drawn over (bytes/s): an idle server's noise stays flat."""
_SPARK_SHARE = 0.1
"""...and at least this share of its peak: a busy link's small wobble stays small."""


def bar_text(percent: float, width: int) -> str:
    """A ``width``-cell bar of ``percent`` (0-100) in eighth blocks; blank for a value that is not one."""
    try:
        if not isfinite(percent):
            return " " * width
        eighths = round(min(max(percent, 0.0), 100.0) * width * 8 / 100.0)
    except TypeError:
        return " " * width
    if percent > 0 and eighths == 0:
        eighths = 1  # a load above zero is never drawn as none
    bars = _BAR_TEXTS.get(width)
    if bars is None:
        bars = _BAR_TEXTS[width] = [("█" * (n // 8) + _EIGHTHS[n % 8]).ljust(width) for n in range(width * 8 + 1)]
    return bars[eighths]


_BAR_TEXTS: dict[int, list[str]] = {}
"""Width -> the bar of every eighth (a row's bars are look-ups)."""


def spark_text(values: list[float], width: int) -> str:
    """The last ``width`` of ``values`` as a sparkline, newest on the right, right-aligned in
    ``width`` cells; a gap where a value is NaN (offline then).

    Drawn from the lowest value to the highest (a trend: the speeds are in the columns
    before it), over a span of at least 1 KiB/s and a tenth of the peak.
    """
    values = values[-width:] if width > 0 else []
    finite = [v for v in values if isfinite(v)]
    if not finite:
        return " " * width
    low = min(finite)
    high = max(finite)
    scale = 8.0 / max(high - low, _SPARK_FLOOR, _SPARK_SHARE * high)
    sparks = _SPARKS
    text = "".join([sparks[min(7, int((v - low) * scale))] if isfinite(v) else " " for v in values])
    return text.rjust(width)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    priority: int
    """0 is never dropped; higher numbers are dropped first."""
    cell: Callable[[StreamServer, bool], Cell]
    right: bool = True
    label: str = ""
    """What the column chooser calls it."""
    value: Callable[[StreamServer], float] | None = None
    """The percentage a bar beside the value draws, when there is room (see :func:`layout_columns`)."""


def _cpu(s: StreamServer) -> float:
    return s.state.cpu


def _mem(s: StreamServer) -> float:
    return _share(s.state.mem_used, s.host.mem_total)


def _disk(s: StreamServer) -> float:
    return _share(s.state.disk_used, s.host.disk_total)


COLUMNS: tuple[Column, ...] = (
    Column("status", "", 1, 0, _cell_status, right=False, label="State (● online, ○ offline, ⚑ alert)"),
    Column("country", "CC", 2, 4, _cell_country, right=False, label="Country code"),
    Column("name", "NAME", 14, 0, _cell_name, right=False, label="Name (always shown)"),
    Column("cpu", "CPU", 6, 0, _cell_cpu, label="CPU %", value=_cpu),
    Column("mem", "MEM", 6, 1, _cell_mem, label="Memory %", value=_mem),
    Column("swap", "SWAP", 6, 9, _cell_swap, label="Swap %"),
    Column("disk", "DISK", 6, 2, _cell_disk, label="Disk %", value=_disk),
    Column("net_in", "IN/s", 12, 3, _live_only(lambda s: fmt_speed(s.state.net_in_speed), None),
           label="Network in speed"),
    Column("net_out", "OUT/s", 12, 3, _live_only(lambda s: fmt_speed(s.state.net_out_speed), None),
           label="Network out speed"),
    Column("net_trend", "NET", 8, 11, _cell_net_trend, right=False,
           label="Network trend (in+out, recent frames)"),
    Column("tx_in", "RX", 10, 7, lambda s, o: (fmt_bytes(s.state.net_in_transfer), "muted"),
           label="Received in total"),
    Column("tx_out", "TX", 10, 7, lambda s, o: (fmt_bytes(s.state.net_out_transfer), "muted"),
           label="Sent in total"),
    Column("load", "LOAD", 6, 6, _cell_load, label="Load (1 min)"),
    Column("uptime", "UPTIME", 8, 5, _cell_uptime, label="Uptime (offline: since when)"),
    Column("conn", "TCP/UDP", 11, 8,
           lambda s, o: (f"{fmt_count(s.state.tcp_conn_count)}/{fmt_count(s.state.udp_conn_count)}", "muted"),
           label="TCP/UDP connections"),
    Column("procs", "PROC", 5, 10, lambda s, o: (fmt_count(s.state.process_count), "muted"), label="Processes"),
    Column("temp", "TEMP", 5, 8, _cell_temp, label="Hottest sensor"),
    Column("gpu", "GPU", 6, 9, _cell_gpu, label="Busiest GPU %"),
)
DASHBOARD = Column("dashboard", "DASHBOARD", 10, 5, _cell_dashboard, right=False,
                   label="Dashboard (its name; with several Dashboards)")
"""Only with several Dashboards (see :func:`columns_for`): after the name, dropped before the uptime."""
SEVERAL_COLUMNS: tuple[Column, ...] = COLUMNS[:3] + (DASHBOARD,) + COLUMNS[3:]


def columns_for(several: bool) -> tuple[Column, ...]:
    """Every column of the table: with several Dashboards, the Dashboard's too."""
    return SEVERAL_COLUMNS if several else COLUMNS


NAME_MAX = 32
NAME_WANT = 20
"""The name grows to this before bars are added, and to :data:`NAME_MAX` after."""
BAR = 5
"""Cells of the bar beside CPU/MEM/DISK (eighth blocks: 40 steps)."""
BARS = "bars"
"""Not a column: the id that turns the bars on in a chosen set (see :func:`layout_columns`)."""
EXTRA_PRIORITY = 11
"""Columns of this priority and above are laid out after the bars (they want room to spare)."""
_NAME_WIDTH = next(c.width for c in COLUMNS if c.key == "name")
LOCKED = frozenset({"name"})
"""Columns that a chosen set cannot hide."""
CHOOSABLE: tuple[str, ...] = tuple(c.key for c in COLUMNS) + (BARS,)
"""Every id the column chooser offers for one Dashboard, in display order (then the bars)."""
CHOOSABLE_SEVERAL: tuple[str, ...] = tuple(c.key for c in SEVERAL_COLUMNS) + (BARS,)
"""...and with several Dashboards (the Dashboard column too): every id
:meth:`FleetTable.set_chosen_columns` knows."""


def choosable(several: bool) -> tuple[str, ...]:
    return CHOOSABLE_SEVERAL if several else CHOOSABLE


_IDENTITY = frozenset({"status", "country", "name", "dashboard"})
GAP = 1
ALERT_MARK = "⚑"
"""The status cell of an online server with an active alert (an offline one keeps its ○)."""
STALE_MARK = "~"
"""The status cell of a server whose Dashboard's stream is not live (several Dashboards): its values are
the last known ones; the mark reads without colour."""


def layout_columns(width: int, chosen: Collection[str] | None = None,
                   several: bool = False) -> list[tuple[Column, int]]:
    """The columns that fit in ``width`` cells, in display order, with their widths.

    ``chosen``: the ids to show (``None``: every column); the name is always shown.
    ``several``: several Dashboards (the Dashboard column is one of the columns).
    Columns are taken by priority while they fit (never squeezed); then the name grows
    to :data:`NAME_WANT`; then, if every one of CPU/MEM/DISK shown can have one (and
    ``chosen`` has :data:`BARS`), a bar of :data:`BAR` cells widens them; then the extra
    columns (the network trend); then the name grows to :data:`NAME_MAX`.  A column with a
    bar is :func:`has_bar`.
    """
    shown = [c for c in columns_for(several) if chosen is None or c.key in chosen or c.key in LOCKED]
    picked: set[str] = set()
    used = 0

    def take(columns: list[Column]) -> None:
        nonlocal used
        for col in sorted(columns, key=lambda c: c.priority):
            need = col.width + (GAP if picked else 0)
            if used + need <= width or col.priority == 0:
                picked.add(col.key)
                used += need

    take([c for c in shown if c.priority < EXTRA_PRIORITY])
    name_grow = max(0, min(NAME_WANT - _NAME_WIDTH, width - used))
    used += name_grow
    barred: set[str] = set()
    if chosen is None or BARS in chosen:
        barred = {c.key for c in shown if c.value is not None and c.key in picked}
        need = (BAR + GAP) * len(barred)
        if used + need <= width:
            used += need
        else:
            barred = set()
    take([c for c in shown if c.priority >= EXTRA_PRIORITY])
    name_grow += max(0, min(NAME_MAX - NAME_WANT, width - used))
    out: list[tuple[Column, int]] = []
    for col in shown:
        if col.key in picked:
            w = col.width
            if col.key == "name":
                w += name_grow
            elif col.key in barred:
                w += BAR + GAP
            out.append((col, w))
    return out


def has_bar(col: Column, width: int) -> bool:
    """The column is laid out ``width`` cells wide with a bar beside its value."""
    return col.value is not None and width >= col.width + BAR + GAP


def fit(text: str, width: int, right: bool) -> str:
    """``text`` padded or cut to exactly ``width`` cells (an ellipsis marks a cut)."""
    if len(text) <= width and text.isascii():
        return text.rjust(width) if right else text.ljust(width)
    if width <= 0:
        return ""
    n = cell_len(text)
    if n > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else "…"
    pad = " " * (width - n)
    return pad + text if right else text + pad


def _styled(strip: Strip, style: Style) -> Strip:
    """``strip`` with ``style`` on every segment that has none.

    Textual's generic line path leaves no segment unstyled before its line filters run,
    and its ``Monochrome`` filter (NO_COLOR) relies on that: it fails on a ``None`` style.
    The grid's own path (:meth:`FleetGrid.render_lines`) keeps the same promise here.
    """
    segments = list(strip)
    if all([segment.style is not None for segment in segments]):
        return strip
    return Strip([Segment(text, style if seg_style is None else seg_style, control)
                  for text, seg_style, control in segments], strip.cell_length)


# --------------------------------------------------------------------------- shared base


class FleetGrid(UsesNezha, ScrollView, can_focus=True):
    """Selection by server id and per-frame refresh, shared by the table and the cards."""

    CONVERTS_STYLES = False
    """Whether the subclass passes its styles through :meth:`_final` (then the ANSI -> truecolor
    filter is not run on its lines)."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(-1)", "First", show=False),
        Binding("end,G", "edge(1)", "Last", show=False),
    ]

    class Open(Message):
        """The user asked to open a server (enter or click)."""

        def __init__(self, server_id: int) -> None:
            super().__init__()
            self.server_id = server_id

    class SortBy(Message):
        """The user clicked a column title: sort by it (again: reverse)."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(self, view: FleetView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.view = view
        self.store: FleetStore = view.store
        self.selected_id: int | None = None
        self.cursor = 0
        self.follow_cursor = True
        """Scroll to keep the selected server in sight when rows move (off on the wall: it pages)."""
        self.show_cursor = True
        """Draw the cursor (off on the wall until someone presses a key)."""
        self._cache: LRUCache[tuple, object] = LRUCache(1024)
        self._style_gen = 0
        self._styles: dict[object, Style] = {}
        self._box_key: object = None
        self._box = Region()
        self.rows_rendered = 0
        """Rows (or cards) formatted since mount: proves that only visible ones are."""
        self._ansi: ANSIToTruecolor | None = None
        self._ansi_background: Color | None = None
        self._ages_shown: dict[int, str] = {}
        """Server id -> the age text its visible row/card shows (what the 1 s tick compares)."""
        self.age_refreshes = 0
        """Rows (or cards) the age tick asked to repaint since mount."""

    # -- several Dashboards
    @property
    def several(self) -> bool:
        """The fleet spans several Dashboards (rows show their Dashboard; one that is not live is marked)."""
        return self.store.several

    def dashboard_label(self, sid: int) -> str:
        """The label of the Dashboard ``sid`` (a fleet key) is on: plain text, never markup."""
        try:
            return self.store.name_of(sid)
        except Exception:  # a key of no Dashboard: a blank cell rather than an error
            return ""

    def row_stale(self, sid: int) -> bool:
        """``sid``'s Dashboard has data and its stream is not live (several Dashboards only: one
        Dashboard's stale stream dims the whole grid instead)."""
        return self.several and self.store.is_stale(sid)

    # -- ages
    def fleet_now(self) -> float:
        """The Dashboard's clock now (unix seconds): the app's, else the latest frame's ``now``."""
        return self.nezha.fleet_now()

    def age_label(self, sid: int, now_s: float) -> str | None:
        """The age text shown for ``sid`` (``None`` for a server that shows none: online, no report)."""
        status = self.store.state_of(sid)
        if not status.shows_age:
            return None
        text = age_text(status.age(now_s))
        self._ages_shown[sid] = text
        return text

    def tick_ages(self) -> int:
        """Repaint the visible rows whose age text moved on (the app's 1 s tick); how many.

        Only visible offline servers are looked at, and only those whose displayed text
        changed are repainted: a row or card that did not change is not formatted again.
        """
        online = self.store.online_flags
        ids = self.visible_ids()
        if not ids or all(online.get(sid, False) for sid in ids):
            return 0
        now = self.fleet_now()
        shown = self._ages_shown
        first = self._first_visible_index()
        dirty: list[int] = []
        for i, sid in enumerate(ids):
            if online.get(sid, False):
                continue
            before = shown.get(sid)
            if self.age_label(sid, now) != before:
                dirty.append(first + i)
        if dirty:
            self.age_refreshes += len(dirty)
            self._refresh_indices(dirty)
        if len(shown) > 4096:
            shown.clear()
        return len(dirty)

    # -- subclass interface
    def visible_ids(self) -> list[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _update_virtual_size(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scroll_to_cursor(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- selection
    @property
    def highlighted_id(self) -> int | None:
        ids = self.view.ids
        if not ids:
            return None
        return ids[min(self.cursor, len(ids) - 1)]

    def select(self, server_id: int | None) -> None:
        """Put the cursor on ``server_id`` (if shown) and remember it."""
        self.selected_id = server_id
        index = self.view.index_of(server_id)
        if index is not None:
            self.cursor = index
        self._scroll_to_cursor()
        self.refresh()

    def sync(self) -> None:
        """The view's rows changed: find the selected server again, keep it in sight."""
        ids = self.view.ids
        index = self.view.index_of(self.selected_id)
        if index is not None:
            self.cursor = index
        else:
            self.cursor = max(0, min(self.cursor, len(ids) - 1))
            if self.selected_id is None and ids:
                self.selected_id = ids[self.cursor]
        self._update_virtual_size()
        if self.follow_cursor:
            self._scroll_to_cursor()
        self.refresh()

    def frame_update(self, change: FleetChange, reordered: bool) -> None:
        """Called once per frame after the view followed it."""
        if reordered or change.membership_changed:
            self.sync()
            return
        changed = change.changed
        if not changed:
            return
        # Repaint only the lines of visible servers that changed: Textual then re-renders
        # those lines alone and keeps the others (and the header) from its line cache.
        first = self._first_visible_index()
        dirty = [first + i for i, sid in enumerate(self.visible_ids()) if sid in changed]
        if dirty:
            self._refresh_indices(dirty)

    def _first_visible_index(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _refresh_indices(self, indices: list[int]) -> None:
        """Repaint the lines showing these positions of ``view.ids`` (ascending, all visible)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _move_to(self, index: int) -> None:
        ids = self.view.ids
        if not ids:
            return
        self.cursor = max(0, min(index, len(ids) - 1))
        self.selected_id = ids[self.cursor]
        self.show_cursor = True
        self._scroll_to_cursor()
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_edge(self, direction: int) -> None:
        self._move_to(0 if direction < 0 else len(self.view.ids) - 1)

    def open_highlighted(self) -> None:
        sid = self.highlighted_id
        if sid is not None:
            self.selected_id = sid
            self.post_message(self.Open(sid))

    def render_line(self, y: int) -> Strip:
        try:
            return self._render_line(y)
        except Exception:  # a bad value must cost a blank line, never the app
            log.exception("rendering line %s failed", y)
            return Strip.blank(self.box.width, self._base_style)

    def _render_line(self, y: int) -> Strip:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- painting
    def render_lines(self, crop: Region) -> list[Strip]:
        """The table's lines, without Textual's generic per-line pass when it has nothing to do.

        Textual sends every line a widget renders through its styles cache (borders,
        padding, outline, hatch, tint, opacity), ~25 µs a line even for a widget that has
        none of them: a quarter of a frame's time at 160x48 with every visible row changed.
        The grid has none of them (the stale look adds tint and text-opacity: then, or
        whenever a style needs it, the generic path runs).  Lines come from the subclass's
        own caches (:meth:`_lines`), which know what changed.  Line filters are applied as
        Textual applies them; with ``CONVERTS_STYLES`` the ANSI -> truecolor one is not: it
        maps each segment's style alone, so the table applies it to its few styles once
        (see :meth:`_final`) instead of to every new row.
        """
        if not self._plain_look():
            if self._ansi is not None:  # Textual applies every filter on this path: no styles converted ahead
                self._ansi = self._ansi_background = None
                self._restyle()
            return super().render_lines(crop)
        width = self.outer_size.width
        filters = self.get_line_filters()
        background = self.background_colors[1] if filters else None
        ansi = next((f for f in filters if isinstance(f, ANSIToTruecolor)), None) if self.CONVERTS_STYLES else None
        if ansi is not self._ansi or (ansi is not None and background != self._ansi_background):
            self._ansi, self._ansi_background = ansi, background
            self._restyle()
        if ansi is not None:
            filters = [f for f in filters if f is not ansi]
        strips = self._lines(crop.line_range)
        plain = self._plain_style
        for i, strip in enumerate(strips):
            if strip.cell_length != width:
                strip = strip.adjust_cell_length(width, plain)
            if filters:  # NO_COLOR's monochrome filter (or the dim one) expects every segment styled
                strip = _styled(strip, plain)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)  # type: ignore[arg-type]
            strips[i] = strip
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _final(self, style: Style) -> Style:
        """``style`` as the ANSI -> truecolor line filter would leave it (``style`` without one)."""
        ansi = self._ansi
        if ansi is None or self._ansi_background is None:
            return style
        return ansi.truecolor_style(style, self._ansi_background.rich_color)

    @property
    def _plain_style(self) -> Style:
        """The widget's own style, final: blank cells and lines."""
        style = self._styles.get("plain")
        if style is None:
            style = self._styles["plain"] = self._final(self._base_style)
        return style  # type: ignore[return-value]

    def _plain_look(self) -> bool:
        """No border, padding, outline, hatch, tint or opacity: a line is the row as rendered."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and styles.text_opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
            and self.opacity == 1.0
            and not self.BLANK
        )

    def _lines(self, ys: range) -> list[Strip]:  # pragma: no cover - abstract
        """Lines ``ys`` of the widget, each as wide as the widget, from the subclass's caches."""
        raise NotImplementedError

    # -- styles
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def _restyle(self) -> None:
        """Forget every style and cached line (the theme or a filter changed)."""
        self._style_gen += 1
        self._cache.clear()
        self._styles.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        if self.follow_cursor:
            self._scroll_to_cursor()

    @property
    def box(self) -> Region:
        """``scrollable_content_region``, cached while the size and scrollbars stay."""
        key = (self.outer_size, self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        if key != self._box_key:
            self._box_key = key
            gutter = self.scrollbar_gutter
            size = self.outer_size
            self._box = Region(0, 0, max(0, size.width - gutter.width), max(0, size.height - gutter.height))
        return self._box

    def _style(self, name: str) -> Style:
        """What component class ``name`` sets (to add to the widget's style).

        The partial style has only what the class sets, but a colour with an alpha comes
        out in it unblended: ``$text-muted`` ("auto 60%") as full white, the blurred
        cursor's background (primary at 30 %) as the focused cursor's.  Colours are taken
        from the full style, blended over what lies beneath.
        """
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True, default=Style())
            if style.color is not None or style.bgcolor is not None:
                full = self.get_component_rich_style(name, default=Style())
                style += Style(color=full.color if style.color is not None else None,
                               bgcolor=full.bgcolor if style.bgcolor is not None else None)
            self._styles[name] = style
        return style

    @property
    def _base_style(self) -> Style:
        style = self._styles.get("")
        if style is None:
            style = self._styles[""] = self.rich_style
        return style


class FleetTable(FleetGrid):
    """The table view of the fleet."""

    COMPONENT_CLASSES = {
        "fleet-table--header", "fleet-table--cursor", "fleet-table--offline",
        "fleet-table--ok", "fleet-table--warn", "fleet-table--crit",
        "fleet-table--up", "fleet-table--down", "fleet-table--muted", "fleet-table--sorted",
        "fleet-table--rail", "fleet-table--thumb",
        "fleet-table--bar", "fleet-table--bar-warn", "fleet-table--bar-crit", "fleet-table--spark",
        "fleet-table--stale",
    }

    DEFAULT_CSS = """
    FleetTable { scrollbar-size-vertical: 0; overflow-x: hidden; }
    FleetTable > .fleet-table--header { text-style: bold; color: $text-muted; background: $panel; }
    FleetTable > .fleet-table--sorted { text-style: bold underline; color: $nezha-accent; }
    FleetTable > .fleet-table--cursor { background: $nezha-cursor-blurred-background; }
    FleetTable:focus > .fleet-table--cursor { background: $nezha-cursor-background; color: $block-cursor-foreground; }
    FleetTable > .fleet-table--offline { color: $text-disabled; }
    FleetTable > .fleet-table--ok { }
    FleetTable > .fleet-table--warn { color: $nezha-warn; text-style: $nezha-severity-style; }
    FleetTable > .fleet-table--crit { color: $nezha-crit; text-style: bold; }
    FleetTable > .fleet-table--up { color: $success; }
    FleetTable > .fleet-table--down { color: $nezha-crit; }
    FleetTable > .fleet-table--muted { color: $text-muted; }
    /* bars and trends: a colour of their own; the severity colours only on a bar at warn/critical */
    FleetTable > .fleet-table--bar { color: $text-primary; background: $foreground 7%; }
    FleetTable > .fleet-table--bar-warn { color: $nezha-warn; background: $foreground 7%; }
    FleetTable > .fleet-table--bar-crit { color: $nezha-crit; background: $foreground 7%; }
    FleetTable > .fleet-table--spark { color: $text-primary; }
    /* a row of a Dashboard whose stream is not live (several Dashboards): last known values, dimmed */
    FleetTable > .fleet-table--stale { color: $text-disabled; text-style: italic; }
    FleetTable > .fleet-table--rail { color: $foreground 25%; }
    FleetTable > .fleet-table--thumb { color: $scrollbar; }
    FleetTable:focus > .fleet-table--thumb { color: $scrollbar-hover; }
    /* NO_COLOR: colours become greys, so meaning moves to text styles (the glyphs ● ○ stay) */
    FleetTable:nocolor > .fleet-table--warn { text-style: bold; }
    FleetTable:nocolor > .fleet-table--crit { text-style: bold underline reverse; }
    FleetTable:nocolor > .fleet-table--cursor { text-style: reverse; }
    /* bars and trends read by their glyphs: full foreground, never reversed (a reversed bar reads backwards) */
    FleetTable:nocolor > .fleet-table--bar { color: $foreground; }
    FleetTable:nocolor > .fleet-table--bar-warn { color: $foreground; }
    FleetTable:nocolor > .fleet-table--bar-crit { color: $foreground; }
    FleetTable:nocolor > .fleet-table--spark { color: $foreground; }
    FleetTable:nocolor:focus > .fleet-table--cursor { text-style: reverse; }
    """
    RAIL = "▕"
    THUMB = "▐"

    CONVERTS_STYLES = True
    _ROWS_KEPT = 2048

    class ColumnsChosen(Message):
        """The user applied a column set in the chooser (``None``: every column, as room allows)."""

        def __init__(self, ids: tuple[str, ...] | None) -> None:
            super().__init__()
            self.ids = ids

    def __init__(self, view: FleetView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(view, id=id, classes=classes)
        self._chosen: tuple[str, ...] | None = None
        self._layout: list[tuple[Column, int]] = []
        self._layout_width = -1
        self._columns_width = 0
        self._plan: list[tuple[Callable[[StreamServer, bool], Cell], int, bool, bool, bool,
                               Callable[[StreamServer], float] | None]] = []
        self._rows: dict[int, tuple[tuple, Strip]] = {}
        """Server id -> (what its row depended on, the row): one look-up per line and frame."""
        self._dragging_rail = False

    # -- geometry
    @property
    def _content_width(self) -> int:
        # when the rows do not all fit, the last column is the rail (see _thumb)
        overflow = len(self.view.ids) > self.rows_on_screen
        return max(0, self.box.width - overflow)

    @property
    def rows_on_screen(self) -> int:
        """Server rows the table shows at once (its height less the header; at least 1): a page."""
        return max(1, self.box.height - 1)

    # -- columns
    @property
    def chosen_columns(self) -> tuple[str, ...] | None:
        """The column ids the user chose (with :data:`BARS` for the bars), in display order;
        ``None``: automatic, every column as room allows.  Chosen columns still drop, least
        important first, when they do not fit."""
        return self._chosen

    def set_chosen_columns(self, ids: Collection[str] | None) -> None:
        """Show only ``ids`` (unknown ids are ignored; the name is always shown), or every
        column as room allows (``None``).  The Dashboard column's id is kept with one
        Dashboard too (it shows only with several)."""
        if isinstance(ids, str):  # one id, not its letters
            ids = (ids,)
        chosen = None if ids is None else tuple(i for i in CHOOSABLE_SEVERAL if i in ids or i in LOCKED)
        if chosen == self._chosen:
            return
        self._chosen = chosen
        self._layout_width = -1  # lay out again; rows and the header were cut for the old columns
        self._rows.clear()
        self._cache.clear()
        self.refresh()

    def apply_chosen_columns(self, ids: tuple[str, ...] | None) -> None:
        """The user's choice from the column chooser (``None``: cancelled): show it and post
        :class:`ColumnsChosen`.  Every column marked is the automatic set (``None``), so that
        columns of a later version show up too."""
        if ids is None:
            return
        self.set_chosen_columns(None if set(choosable(self.several)) <= set(ids) else ids)
        self.post_message(self.ColumnsChosen(self._chosen))

    def columns(self) -> list[tuple[Column, int]]:
        width = self._content_width
        if width != self._layout_width:
            self._layout = layout_columns(width, self._chosen, self.several)
            self._layout_width = width
            self._columns_width = sum(w for _, w in self._layout) + GAP * max(0, len(self._layout) - 1)
            self._plan = [(col.cell, w, col.right, col.key == "status", col.key in _IDENTITY,
                           col.value if has_bar(col, w) else None)
                          for col, w in self._layout]
        return self._layout

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(0, len(self.view.ids) + 1)

    def visible_ids(self) -> list[int]:
        top = int(self.scroll_offset.y)
        return self.view.ids[top:top + self.rows_on_screen]

    def _first_visible_index(self) -> int:
        return int(self.scroll_offset.y)

    def _refresh_indices(self, indices: list[int]) -> None:
        # one region per run of adjacent rows; line y shows row top + y - 1 (line 0 is the header)
        offset = 1 - int(self.scroll_offset.y)
        width = self.size.width
        regions: list[Region] = []
        start = prev = indices[0]
        for index in indices[1:] + [-1]:
            if index != prev + 1:
                regions.append(Region(0, start + offset, width, prev - start + 1))
                start = index
            prev = index
        self.refresh(*regions)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        rows = self.rows_on_screen
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * self.rows_on_screen)

    # -- rendering
    def _render_line(self, y: int) -> Strip:
        return self._lines(range(y, y + 1))[0]

    def _thumb(self, top: int, count: int) -> tuple[int, int]:
        """Lines ``[first, end)`` of the rail's thumb; ``(0, 0)`` when every row fits.

        The table draws its own scrollbar in its last column (the "rail") rather than
        having Textual overlay a ScrollBar widget there: the overlay makes the compositor
        cut every line in two and render a second widget, ~1 ms of each frame at 160x48.
        """
        rows = self.rows_on_screen
        if count <= rows:
            return 0, 0
        size = max(1, round(rows * rows / count))
        start = round(max(0, min(top, count - rows)) * (rows - size) / (count - rows))
        return 1 + start, 1 + start + size

    def _lines(self, ys: range) -> list[Strip]:
        """Lines ``ys`` of the widget: the header, then one row per server, blank below."""
        width = self._content_width  # the columns' room
        paint = max(width, self.outer_size.width)  # with the rail
        top = int(self.scroll_offset.y) - 1  # line y shows row top + y
        ids = self.view.ids
        count = len(ids)
        thumb_first, thumb_end = self._thumb(top + 1, count)
        cursor_row = self.cursor if self.show_cursor else -1
        cursor_look = 1 + self.has_focus
        version = self.store.version.get
        online = self.store.online_flags.get
        alert = self.view.alerts.get
        now: float | None = None
        rows = self._rows
        gen = self._style_gen
        out: list[Strip] = []
        for y in ys:
            row = top + y
            if y == 0:
                out.append(self._header(width, paint))
                continue
            if row < 0 or row >= count:
                out.append(self._blank(paint))
                continue
            sid = ids[row]
            cursor = row == cursor_row
            rail = 0 if not thumb_end else 2 if thumb_first <= y < thumb_end else 1
            age = None
            if not online(sid, False):  # an offline row shows its age: part of what it depends on
                if now is None:
                    now = self.fleet_now()
                age = self.age_label(sid, now)
            key = (version(sid, 0), width, paint, cursor and cursor_look, rail, gen, age, alert(sid))
            cached = rows.get(sid)
            if cached is not None and cached[0] == key:
                out.append(cached[1])
                continue
            try:
                strip = self._row(sid, width, paint, cursor, rail, now)
            except Exception:  # a bad value must cost a blank line, never the app
                log.exception("rendering the row of server %s failed", sid)
                strip = Strip.blank(paint, self._plain_style)
            if len(rows) >= self._ROWS_KEPT:
                rows.clear()  # scrolled through a big fleet: start over rather than grow
            rows[sid] = (key, strip)
            out.append(strip)
        return out

    def _blank(self, paint: int) -> Strip:
        key = ("blank", paint, self._style_gen)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._cache[key] = Strip.blank(paint, self._plain_style)
        return strip  # type: ignore[return-value]

    def _header(self, width: int, paint: int) -> Strip:
        key = ("header", width, paint, self.view.sort_key.id, self.view.reverse, self._style_gen)
        strip = self._cache.get(key)
        if strip is None:
            header = self._style("fleet-table--header")
            base = self._final(header)
            sorted_style = self._final(header + self._style("fleet-table--sorted"))
            segments: list[Segment] = []
            arrow = "▲" if self.view.reverse != (not self.view.sort_key.descending) else "▼"
            sort_col = self.view.sort_key.column
            for i, (col, w) in enumerate(self.columns()):
                if i:
                    segments.append(Segment(" " * GAP, base))
                title = col.title
                if col.key == sort_col:
                    if len(title) + 1 > w and i and not col.right:
                        segments[-1] = Segment(arrow * GAP, sorted_style)  # "▲CC": the gap before, not "C…"
                    else:
                        title = f"{title}{arrow}"
                    segments.append(Segment(fit(title, w, col.right), sorted_style))
                else:
                    segments.append(Segment(fit(title, w, col.right), base))
            strip = Strip(segments).adjust_cell_length(paint, base)
            self._cache[key] = strip
        return strip  # type: ignore[return-value]

    def _cell_style(self, kind: str | None, online: bool, cursor: bool, status: bool, stale: bool = False) -> Style:
        key = (kind, online, cursor, status, stale)
        style = self._styles.get(key)
        if style is None:
            style = self._base_style
            if kind and (online or status):
                style = style + self._style(f"fleet-table--{kind}")
            if not online and not status:
                style = style + self._style("fleet-table--offline")
            if stale:
                style = style + self._style("fleet-table--stale")
            if cursor:
                style = style + self._style("fleet-table--cursor")
            style = self._styles[key] = self._final(style)
        return style

    def _kind_styles(self, online: bool, cursor: bool, status: bool, stale: bool = False) -> dict[str | None, Style]:
        """``kind -> Style`` for one row state, built once per theme (a row then does one look-up per cell)."""
        key = ("kinds", online, cursor, status, stale)
        styles = self._styles.get(key)
        if styles is None:
            kinds = (None, "ok", "warn", "crit", "up", "down", "muted", "bar", "bar-warn", "bar-crit", "spark")
            # equal styles become one object, so that a row's cells of equal look merge
            canonical: dict[Style, Style] = self._styles.setdefault("canonical", {})  # type: ignore[assignment]
            styles = {kind: canonical.setdefault(style, style)
                      for kind in kinds for style in (self._cell_style(kind, online, cursor, status, stale),)}
            self._styles[key] = styles  # type: ignore[assignment]
        return styles  # type: ignore[return-value]

    def _rail_segment(self, rail: int, cells: int) -> Segment:
        """The last ``cells`` of a row: 0 blank, 1 the rail, 2 the thumb (at the end)."""
        if rail == 0 or cells <= 0:
            return Segment(" " * max(0, cells), self._plain_style)
        style = self._styles.get(("rail", rail))
        if style is None:
            name = "fleet-table--thumb" if rail == 2 else "fleet-table--rail"
            style = self._styles[("rail", rail)] = self._final(self._base_style + self._style(name))
        return Segment(" " * (cells - 1) + (self.THUMB if rail == 2 else self.RAIL), style)  # type: ignore[arg-type]

    def _row(self, sid: int, width: int, paint: int, cursor: bool, rail: int = 0,
             now: float | None = None) -> Strip:
        self.rows_rendered += 1
        server = self.store.servers.get(sid)
        base = self._cell_style(None, True, cursor, False)
        if server is None:
            return Strip.blank(paint, base)
        online = self.store.is_online(sid)
        status = self.store.state_of(sid)
        never = not status.has_values  # never reported (or repaired with nothing to keep): "-"
        stale = self.row_stale(sid)  # its Dashboard is not live: last known values, dimmed and marked
        if width != self._layout_width:
            self.columns()
        value_styles = self._kind_styles(online, cursor, False, stale)
        status_styles = self._kind_styles(online, cursor, True, stale)
        # Adjacent cells of one style become one segment (fewer segments: cheaper for
        # Textual's filters and compositor); the gap after a run takes the run's style.
        gap = " " * GAP
        segments: list[Segment] = []
        run: list[str] = []
        run_style: Style | None = None
        default = value_styles[None]
        for cell, w, right, is_status, identity, bar in self._plan:
            if never and not identity:
                text, kind = "-", "muted"
            elif cell is _cell_uptime:
                text, kind = uptime_cell(server, status, self.fleet_now() if now is None else now)
            elif cell is _cell_dashboard:
                text, kind = self.dashboard_label(sid), "muted"
            elif is_status and stale:
                # its Dashboard's stream is not live: whether it is online now is not known
                text, kind = STALE_MARK, "muted"
            elif cell is _cell_net_trend and online:
                # read with the row: it moves on with the server's values (a row whose values
                # did not change keeps its trend until they do), and costs nothing for rows off screen
                spark = spark_text(self.store.recent_net_speeds(sid, w), w)  # w cells: no fitting
                style = value_styles["spark"]
                if style is run_style:
                    run.append(spark)
                else:
                    if run:
                        segments.append(Segment(gap.join(run) + gap, run_style))
                    run = [spark]
                    run_style = style
                continue
            elif is_status and online and sid in self.view.alerts:
                # an active alert (a rule firing, a quota): marked; an offline server keeps its ○
                text, kind = ALERT_MARK, "crit"
            elif is_status and status.repaired and online:
                # values repaired in this frame (the previous ones kept); an offline server keeps
                # its ○, the one offline mark that survives NO_COLOR
                text, kind = "!", "warn"
            else:
                try:
                    text, kind = cell(server, online)
                except Exception:
                    text, kind = "?", "muted"
            if bar is not None:
                # the bar first, as a cell of its own (a style of its own), then the value
                w -= BAR + GAP
                if online and not never:
                    try:
                        bar_cell, bar_style = bar_text(bar(server), BAR), value_styles[_BAR_KINDS.get(kind, "bar")]
                    except Exception:
                        bar_cell, bar_style = " " * BAR, default
                else:
                    bar_cell, bar_style = " " * BAR, default
                if bar_style is run_style:
                    run.append(bar_cell)
                else:
                    if run:
                        segments.append(Segment(gap.join(run) + gap, run_style))
                    run = [bar_cell]
                    run_style = bar_style
            if len(text) <= w and text.isascii():
                text = text.rjust(w) if right else text.ljust(w)
            else:
                text = fit(text, w, right)
            style = (status_styles if is_status else value_styles).get(kind, default)
            if style is run_style:
                run.append(text)
            else:
                if run:
                    segments.append(Segment(gap.join(run) + gap, run_style))
                run = [text]
                run_style = style
        if run:
            segments.append(Segment(gap.join(run), run_style))
        spare = width - self._columns_width
        if spare > 0:
            segments.append(Segment(" " * spare, base))
        elif spare < 0:  # narrower than the columns that are never dropped
            segments = list(Strip(segments, self._columns_width).crop(0, width))
        if paint > width:
            segments.append(self._rail_segment(rail, paint - width))
        return Strip(segments, max(paint, width))

    # -- mouse
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for i, (col, w) in enumerate(self.columns()):
                if x <= offset.x < x + w + GAP:
                    self.post_message(self.SortBy(col.key))
                    return
                x += w + GAP
            return
        if self._on_rail(offset.x):
            return  # the rail: the mouse-down jumped (the cursor went along); nothing opens
        row = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= row < len(self.view.ids):
            self._move_to(row)
            self.open_highlighted()

    def _on_rail(self, x: int) -> bool:
        """Column ``x`` is the rail, and the rail is shown."""
        return x >= self._content_width and bool(self._thumb(int(self.scroll_offset.y), len(self.view.ids))[1])

    def _rail_jump(self, y: int) -> None:
        """Put the cursor where line ``y`` of the rail points (line 1 = first row, last = last)."""
        count = len(self.view.ids)
        rows = self.rows_on_screen
        y = max(1, min(rows, y))
        self._move_to(round((y - 1) * (count - 1) / max(1, rows - 1)))

    # the rail can be dragged, as the scrollbar it replaces
    def on_mouse_down(self, event: events.MouseDown) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1 and self._on_rail(offset.x):
            self._dragging_rail = True
            self.capture_mouse()
            self._rail_jump(offset.y)
            event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging_rail:
            self._rail_jump(event.get_content_offset_capture(self).y)
            event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging_rail:
            self._dragging_rail = False
            self.release_mouse()
            event.stop()

    def refresh_row_region(self, row: int) -> None:
        y = row - int(self.scroll_offset.y) + 1
        self.refresh(Region(0, y, self.size.width, 1))
