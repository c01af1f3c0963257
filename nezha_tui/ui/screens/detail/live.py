"""The live panel: the values of the last frame (bars for CPU, memory, swap, disk and GPUs),
or, for a server that does not report, its last known values dimmed under their age."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nezha_tui.api.models import StreamServer
from nezha_tui.format import cpu_cores, cut_cells, fmt_bytes, fmt_load, fmt_percent, fmt_speed, level, load_level, percent_of
from nezha_tui.store import ServerState, ServerStatus, age_text
from nezha_tui.ui.drilldown import append_gap
from nezha_tui.ui.styles import emphasis, theme_style
from nezha_tui.ui.screens.detail.rows import Rows, used_of

__all__ = ["live_text"]


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


def _barred(pct: float, rest: str, theme: Any, width: int = 10) -> Text:
    """A bar of ``width`` cells, the percent, then ``rest``; ``width=0``: no bar."""
    if width:
        t = _bar(pct, width, theme)
        _pct_after_bar(t, pct, rest, theme)
        return t
    role = _ROLE_OF_LEVEL[level(pct)]
    t = Text(fmt_percent(pct), style=emphasis(theme, "" if role == "success" else role))
    t.append(rest)
    return t


_LEVELS = ((10, False), (10, True), (5, True), (0, True), (0, None))
"""How a bar row shrinks: (bar cells, short ``8.3/15.7 GiB``; ``None``: no amounts)."""


def _used_variants(used_b: int, total_b: int, theme: Any) -> list[str | Text]:
    """``███░░ 52.8%  8.3 GiB / 15.7 GiB``, then shorter: ``8.3/15.7 GiB``, a narrower bar, no bar."""
    pct = percent_of(used_b, total_b)
    out: list[str | Text] = []
    for bar, short in _LEVELS:
        if not total_b:
            t = _bar(pct, bar, theme) if bar else Text()
            if bar:
                append_gap(t)
            t.append(fmt_bytes(used_b))
        else:
            rest = "" if short is None else f"  {used_of(used_b, total_b, short=short)}"
            t = _barred(pct, rest, theme, bar)
        out.append(t)
    return out


def _pct_variants(pct: float, theme: Any, rest: str = "") -> list[str | Text]:
    return [_barred(pct, rest, theme, bar) for bar, _ in _LEVELS]


def _pair(down: str, up: str) -> list[str | Text]:
    return [f"↓ {down}   ↑ {up}", f"↓ {down} ↑ {up}", f"↓{down.replace(' ', '')} ↑{up.replace(' ', '')}"]


def _temperature_rows(rows: Rows, temps: list[Any], short: bool) -> None:
    """One row per sensor; ``short``: one row with the hottest (the least useful rows go first)."""
    if not temps:
        return
    if short and len(temps) > 1:
        hot = max(temps, key=lambda x: x.temperature)
        value = f"{hot.temperature:.1f}°C"
        more = f"  hottest of {len(temps)}"
        rows.add("Temps", f"{value}  {hot.name or 'sensor'}{more}", f"{value}{more}", value)
        return
    for i, temp in enumerate(temps):
        value = f"{temp.temperature:.1f}°C"
        name = temp.name or "sensor"
        room = rows.room
        cut = cut_cells(name, max(1, room - len(value) - 2)) if room is not None else name
        rows.add("Temps" if i == 0 else "", f"{name}  {value}", f"{cut}  {value}", value)


def _last_known_text(server: StreamServer, theme: Any, status: ServerStatus, age: float | None,
                     width: int | None = None) -> Text:
    """The live panel of a server that does not report: its last values, dimmed, under their age."""
    s, h = server.state, server.host
    rows = Rows(theme, width)
    warn = theme_style(theme, "warning")
    if not status.has_values:
        head = ("never reported: no values" if status.state is ServerState.NEVER_REPORTED
                else "no values yet (this frame's were malformed)")
        rows.add("Live", Text(head, style=warn))
        for label in ("CPU", "Memory", "Swap", "Disk", "Speed", "Transfer", "Load", "Conns", "Processes"):
            rows.add(label, "-")
        return rows.text()
    if status.state is ServerState.OFFLINE and age is not None:
        head, brief = f"last report {age_text(age)} ago: last known values", f"{age_text(age)} ago: last values"
    elif status.state is ServerState.DISCONNECTED:
        head, brief = "agent disconnected: last known values", "disconnected: last values"
    else:
        head, brief = "offline: last known values", "offline: last values"
    rows.add("Live", Text(head, style=warn), Text(brief, style=warn))
    dim = theme_style(theme, "foreground-muted")

    def used(label: str, used_b: int, total_b: int) -> None:
        if total_b:
            pct = fmt_percent(percent_of(used_b, total_b))
            values = [f"{pct}  {used_of(used_b, total_b)}", f"{pct}  {used_of(used_b, total_b, short=True)}", pct]
        else:
            values = [fmt_bytes(used_b)]
        rows.add(label, *(Text(v, style=dim) for v in values))

    rows.add("CPU", Text(fmt_percent(s.cpu), style=dim))
    used("Memory", s.mem_used, h.mem_total)
    used("Swap", s.swap_used, h.swap_total)
    used("Disk", s.disk_used, h.disk_total)
    rows.add("Speed", Text("-  (no report)", style=dim), Text("-", style=dim))
    rows.add("Transfer", *(Text(str(v), style=dim) for v in _pair(fmt_bytes(s.net_in_transfer), fmt_bytes(s.net_out_transfer))))
    rows.add("Load", Text(f"{fmt_load(s.load_1)}  {fmt_load(s.load_5)}  {fmt_load(s.load_15)}", style=dim))
    rows.add("Conns", Text(f"TCP {s.tcp_conn_count}   UDP {s.udp_conn_count}", style=dim))
    rows.add("Processes", Text(str(s.process_count), style=dim))
    return rows.text()


def live_text(server: StreamServer, theme: Any, status: ServerStatus | None = None,
              age: float | None = None, width: int | None = None, short: bool = False) -> Text:
    """The live values; for a server that does not report (``status`` not online), its last
    known values, dimmed and labelled with their age (``age``: seconds since the last report).

    Every row is one line of ``width`` cells (see :class:`Rows`); ``short`` (a short
    terminal) leaves out the least useful rows: one temperature instead of one per sensor.
    """
    if status is not None and not (status.online and status.has_values):
        return _last_known_text(server, theme, status, age, width)
    s, h = server.state, server.host
    rows = Rows(theme, width)
    if status is not None and status.repaired:
        warn = theme_style(theme, "warning")
        rows.add("Live", Text("values repaired in this frame: the previous ones are shown", style=warn),
                 Text("repaired: previous values shown", style=warn))
    rows.add_aligned([
        ("CPU", _pct_variants(s.cpu, theme)),
        ("Memory", _used_variants(s.mem_used, h.mem_total, theme)),
        ("Swap", _used_variants(s.swap_used, h.swap_total, theme)),
        ("Disk", _used_variants(s.disk_used, h.disk_total, theme)),
    ])
    rows.add_aligned([
        ("Speed", _pair(fmt_speed(s.net_in_speed), fmt_speed(s.net_out_speed))),
        ("Transfer", _pair(fmt_bytes(s.net_in_transfer), fmt_bytes(s.net_out_transfer))),
    ])
    rows.add("Load", load_text(s.load_1, s.load_5, s.load_15, cpu_cores(h.cpu), theme))
    rows.add("Conns", f"TCP {s.tcp_conn_count}   UDP {s.udp_conn_count}", f"TCP {s.tcp_conn_count} UDP {s.udp_conn_count}")
    rows.add("Processes", str(s.process_count))
    _temperature_rows(rows, list(s.temperatures or []), short)
    gpu_names = list(h.gpu or [])
    for i, busy in enumerate(s.gpu or []):
        name = gpu_names[i] if i < len(gpu_names) else f"GPU {i}"
        bare = _barred(busy, "", theme)
        room = rows.room
        cut = cut_cells(name, max(1, room - bare.cell_len - 2)) if room is not None else name
        rows.add("GPU" if i == 0 else "", _barred(busy, f"  {name}", theme), _barred(busy, f"  {cut}", theme), bare)
    return rows.text()


def load_text(load1: float, load5: float, load15: float, cores: int | None, theme: Any) -> Text:
    """``0.50  0.40  0.30``, each coloured relative to the core count (plain when unknown)."""
    t = Text()
    for i, value in enumerate((load1, load5, load15)):
        if i:
            append_gap(t, 2)
        severity = load_level(value, cores)
        t.append(fmt_load(value), style=theme_style(theme, "error" if severity == "crit" else
                                                    "warning" if severity == "warn" else ""))
    return t
