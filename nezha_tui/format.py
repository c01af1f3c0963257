"""Human-readable units: bytes (base 1024), speeds, durations, percentages, flags.

Pure functions, no Textual imports.  Every function accepts any number
(including negative or absurd values from a bad frame) and never raises.
"""

from __future__ import annotations

import math

from rich.cells import cell_len, set_cell_size

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _finite(value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def fmt_bytes(value: float, *, precision: int = 1) -> str:
    """``1536`` -> ``'1.5 KiB'``; base 1024; bytes without a fraction."""
    value = _finite(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{sign}{int(value)} B"
    return f"{sign}{value:.{precision}f} {_UNITS[unit]}"


def fmt_speed(value: float) -> str:
    """Bytes per second: ``'1.5 MiB/s'``."""
    return fmt_bytes(value) + "/s"


def fmt_percent(value: float) -> str:
    """One decimal: ``'42.0%'``."""
    return f"{_finite(value):.1f}%"


def percent_of(used: float, total: float) -> float:
    """``used / total * 100``, 0 when the total is unknown."""
    used, total = _finite(used), _finite(total)
    return used / total * 100.0 if total > 0 else 0.0


def fmt_duration(seconds: float) -> str:
    """Largest two units: ``'12d 4h'``, ``'3h 05m'``, ``'4m 10s'``, ``'9s'``."""
    s = int(max(0.0, _finite(seconds)))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"


def fmt_age(seconds: float) -> str:
    """How long ago: ``'14s ago'``, ``'3m 02s ago'``."""
    return fmt_duration(seconds) + " ago"


def fmt_load(value: float) -> str:
    return f"{_finite(value):.2f}"


def country_flag(code: str) -> str:
    """``'de'`` -> the regional-indicator flag; ``''`` for anything not two letters."""
    code = (code or "").strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code)


def level(percent: float, warn: float = 70.0, crit: float = 90.0) -> str:
    """``'ok'``, ``'warn'`` (above 70 %) or ``'crit'`` (above 90 %) for colouring a percentage."""
    value = _finite(percent)
    if value > crit:
        return "crit"
    if value > warn:
        return "warn"
    return "ok"


def fmt_temp(celsius: float) -> str:
    """``'45°C'`` (whole degrees)."""
    return f"{_finite(celsius):.0f}°C"


def fmt_count(value: float) -> str:
    """A count that never grows wider than 5 cells: ``'1234'``, ``'12.3k'``, ``'4.5M'``."""
    v = int(max(0.0, _finite(value)))
    if v < 10_000:
        return str(v)
    if v < 1_000_000:
        return f"{v / 1000:.1f}k" if v < 100_000 else f"{v // 1000}k"
    return f"{v / 1_000_000:.1f}M" if v < 100_000_000 else f"{v // 1_000_000}M"


def cut_cells(text: str, n: int) -> str:
    """``text`` cut to at most ``n`` cells as the terminal draws them (wide CJK and emoji
    take two, combining marks none); an ellipsis marks a cut."""
    if cell_len(text) <= n:
        return text
    if n <= 1:
        return "…"[:max(n, 0)]
    return set_cell_size(text, n - 1).rstrip() + "…"
