"""The facts panel: what the server is (name and country, status, platform, CPU, memory,
disk, swap, boot time and uptime, agent version, GPUs)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nezha_tui.api.models import Host, StreamServer
from nezha_tui.format import country_flag, fmt_age, fmt_bytes, fmt_duration
from nezha_tui.store import ServerState, ServerStatus
from nezha_tui.ui.drilldown import append_gap, fmt_local
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.screens.detail.rows import Rows

__all__ = ["facts_text"]


def _counted(items: list[str] | None) -> list[str]:
    """``["a", "a", "b"]`` -> ``["2 × a", "b"]`` (in first-seen order)."""
    counts: dict[str, int] = {}
    for item in items or []:
        counts[item] = counts.get(item, 0) + 1
    return [f"{n} × {item}" if n > 1 else item for item, n in counts.items()]


def facts_text(server: StreamServer, *, online: bool, age: float | None, theme: Any, tz: Any,
               status: ServerStatus | None = None, width: int | None = None, short: bool = False) -> Text:
    """The facts as label/value rows, each on one line of ``width`` cells (see :class:`Rows`);
    the names of things (the server's, platform, CPU and GPU models) wrap under the value unless ``short``
    (a short terminal: they are cut)."""
    h = server.host
    rows = Rows(theme, width)
    name = Text(server.name or f"#{server.id}", style=theme_style(theme, "", bold=True))
    if server.country_code:
        code = server.country_code.upper()
        flagged = name.copy()
        flagged.append(f"  {country_flag(server.country_code)} {code}".rstrip())
        coded = name.copy()
        coded.append(f"  {code}")
        rows.add("Name", flagged, coded, name, wrap=not short)
    else:
        rows.add("Name", name, wrap=not short)
    if online:  # the glyph tells the state without colour too (NO_COLOR)
        state = Text("● online", style=theme_style(theme, "success"))
    else:
        state = Text("○ offline", style=theme_style(theme, "error"))
    if age is not None:
        seen, brief = f"· last seen {fmt_age(age)}", f"· seen {fmt_age(age)}"
    elif status is not None and status.state is ServerState.DISCONNECTED:
        seen = brief = "· agent disconnected"  # zero last_active, the last values kept
    elif status is not None or server.host == Host():
        seen = brief = "· never reported"
    else:
        seen = brief = "· agent disconnected"
    repaired = status is not None and status.repaired
    variants: list[Text] = []
    for seen_text, repair_text in ((seen, " · values repaired (previous kept)"), (brief, " · repaired")):
        line = state.copy()
        append_gap(line)
        line.append(seen_text, style=theme_style(theme, "foreground-muted"))
        if repaired:
            line.append(repair_text, style=theme_style(theme, "warning"))
        variants.append(line)
    rows.add("Status", *variants, state)
    prose = not short
    rows.add("Platform", " ".join(x for x in (h.platform, h.platform_version) if x) or "-", wrap=prose)
    cpus = _counted(h.cpu)
    for i, cpu in enumerate(cpus or ["-"]):
        rows.add("CPU" if i == 0 else "", cpu, wrap=prose)
    rows.add("Arch", " · ".join(x for x in (h.arch, h.virtualization) if x) or "-")
    rows.add("Memory", fmt_bytes(h.mem_total) if h.mem_total else "-")
    rows.add("Disk", fmt_bytes(h.disk_total) if h.disk_total else "-")
    known = status is None or status.has_values  # never reported: no "none" either, just "-"
    rows.add("Swap", fmt_bytes(h.swap_total) if h.swap_total else "none" if known else "-")
    boot_at = h.boot_time if h.boot_time and h.boot_time > 0 else None
    uptime = server.state.uptime if online else 0  # "up 137d" is a live value: not for an offline server
    up = f"up {fmt_duration(uptime)}" if uptime else ""
    boot = fmt_local(boot_at, tz) if boot_at is not None else "-"
    day = fmt_local(boot_at, tz, "%Y-%m-%d") if boot_at is not None else "-"
    if up:
        rows.add("Boot", f"{boot} ({up})", f"{day} ({up})", up)
    else:
        rows.add("Boot", boot, day)
    rows.add("Agent", h.version or "-")
    for i, gpu in enumerate(_counted(h.gpu)):
        rows.add("GPU" if i == 0 else "", gpu, wrap=prose)
    return rows.text()
