"""The facts panel: what the server is (name and country, status, platform, CPU, memory,
disk, swap, boot time and uptime, agent version, GPUs)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nezha_tui.api.models import Host, StreamServer
from nezha_tui.format import country_flag, fmt_age, fmt_bytes, fmt_duration
from nezha_tui.store import ServerState, ServerStatus
from nezha_tui.ui.drilldown import append_gap, fmt_local, theme_style
from nezha_tui.ui.screens.detail.rows import row as _row

__all__ = ["facts_text"]


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

