"""The live panel: the values of the last frame (bars for CPU, memory, swap, disk and GPUs),
or, for a server that does not report, its last known values dimmed under their age."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nezha_tui.api.models import StreamServer
from nezha_tui.format import fmt_bytes, fmt_load, fmt_percent, fmt_speed, level, percent_of
from nezha_tui.store import ServerState, ServerStatus, age_text
from nezha_tui.ui.drilldown import append_gap, emphasis, theme_style
from nezha_tui.ui.screens.detail.rows import row as _row

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

