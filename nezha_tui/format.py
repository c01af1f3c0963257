"""Human-readable units: bytes (base 1024), speeds, durations, percentages, flags.

Pure functions, no Textual imports.  Every function accepts any number
(including negative, non-finite or absurd values from a bad frame, ints too
big for a float, even values that are not numbers) and never raises.  Values
that cannot be a number read as 0; values too big for a column are clamped to
a bound shown with ``>`` (``'>999%'``, ``'>9999 EiB'``), so a formatted value
never grows wider than the largest sensible one.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from rich.cells import cell_len, set_cell_size

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_BYTES_MAX = 9999.9  # in the last unit (EiB): ~1.2e22 bytes, far beyond an int64
_DAYS_MAX = 99_999  # ~274 years
_FLOAT_MAX = 1.7976931348623157e308


def _finite(value: float) -> float:
    """``float(value)``; 0.0 for NaN, infinities and anything that is not a number.

    An int too big for a float (``10**400``) is a very large number, not 0: it reads
    as the largest float, so it is shown clamped like any other huge value.
    """
    try:
        value = float(value)
    except OverflowError:  # an int beyond ~1.8e308
        try:
            return _FLOAT_MAX if value > 0 else -_FLOAT_MAX  # type: ignore[operator]
        except Exception:  # a type whose float() overflows and whose comparison fails
            return 0.0
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
    if value > _BYTES_MAX:
        return f"{'<-' if sign else '>'}{int(_BYTES_MAX)} {_UNITS[unit]}"
    precision = precision if isinstance(precision, int) and 0 <= precision <= 6 else 1
    return f"{sign}{value:.{precision}f} {_UNITS[unit]}"


def fmt_speed(value: float) -> str:
    """Bytes per second: ``'1.5 MiB/s'``."""
    return fmt_bytes(value) + "/s"


def _bounded(value: float, limit: int, digits: int, unit: str = "") -> str:
    """``value`` with ``digits`` decimals and ``unit``; ``'>limit'`` / ``'<-limit'`` for what
    would round beyond ``limit`` with all its digits (what would print wider than a column)."""
    value = _finite(value)
    edge = limit + 1 - 0.5 * 10 ** -digits
    if value >= edge:
        return f">{limit}{unit}"
    if value <= -edge:
        return f"<-{limit}{unit}"
    return f"{value:.{digits}f}{unit}"


def fmt_percent(value: float) -> str:
    """One decimal: ``'42.0%'``; beyond +-999.9 ``'>999%'`` / ``'<-999%'``."""
    return _bounded(value, 999, 1, "%")


def percent_of(used: float, total: float) -> float:
    """``used / total * 100``, 0 when the total is unknown; always finite."""
    used, total = _finite(used), _finite(total)
    if total <= 0:
        return 0.0
    out = used / total * 100.0
    return out if math.isfinite(out) else 0.0


def fmt_duration(seconds: float) -> str:
    """Largest two units: ``'12d 4h'``, ``'3h 05m'``, ``'4m 10s'``, ``'9s'``; ``'>99999d'`` beyond."""
    value = max(0.0, _finite(seconds))
    if value >= (_DAYS_MAX + 1) * 86400:
        return f">{_DAYS_MAX}d"
    s = int(value)
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
    """Two decimals: ``'0.50'``; beyond +-99999 ``'>99999'`` / ``'<-99999'``."""
    return _bounded(value, 99_999, 2)


def country_flag(code: str) -> str:
    """``'de'`` -> the regional-indicator flag; ``''`` for anything not two letters."""
    if not isinstance(code, str):
        return ""
    code = code.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code)


def level(percent: float, warn: float = 70.0, crit: float = 90.0) -> str:
    """``'ok'``, ``'warn'`` (above 70 %) or ``'crit'`` (above 90 %) for colouring a percentage."""
    value = _finite(percent)
    if value > _finite(crit):
        return "crit"
    if value > _finite(warn):
        return "warn"
    return "ok"


LOAD_WARN_PER_CORE = 1.0
"""A load average at or above the core count: every core is busy and runnable tasks start to queue."""
LOAD_CRIT_PER_CORE = 2.0
"""At or above twice the core count: a task waits about as long as it runs (a user sees the host slow)."""

_CORES = re.compile(r"(\d{1,7})\s+(?:virtual|physical)\s+cores?\s*$", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _cores(models: tuple[str, ...]) -> int | None:
    total = 0
    for model in models:
        match = _CORES.search(model) if isinstance(model, str) else None
        if match:
            total += int(match.group(1))
    return total or None


def cpu_cores(models: object) -> int | None:
    """The core count in a host's ``cpu`` facts: the agent sends one string per CPU model,
    ending in ``"<n> Virtual Core"`` or ``"<n> Physical Core"`` (summed over the models);
    ``None`` when no string says (an old or foreign agent: the load is then not coloured)."""
    if not isinstance(models, (tuple, list)):
        return None
    try:
        return _cores(tuple(models))
    except TypeError:  # an unhashable item: not a model string anyway
        return None


def load_level(load: float, cores: int | None) -> str | None:
    """``'ok'``, ``'warn'`` (load at or above :data:`LOAD_WARN_PER_CORE` per core) or ``'crit'``
    (at or above :data:`LOAD_CRIT_PER_CORE`) for colouring a load average; ``None`` when the core
    count is unknown (a load of 4 is idle on 64 cores and an overload on 1)."""
    if not cores or cores <= 0:
        return None
    per_core = _finite(load) / cores
    if per_core >= LOAD_CRIT_PER_CORE:
        return "crit"
    if per_core >= LOAD_WARN_PER_CORE:
        return "warn"
    return "ok"


def fmt_temp(celsius: float) -> str:
    """``'45°C'`` (whole degrees); beyond +-999 ``'>999°C'`` / ``'<-999°C'``."""
    value = _finite(celsius)
    if value >= 999.5:
        return ">999°C"
    if value <= -999.5:
        return "<-999°C"
    return f"{value:.0f}°C"


_COUNT_UNITS = ((1_000_000_000_000, "T"), (1_000_000_000, "G"), (1_000_000, "M"), (1000, "k"))


def fmt_count(value: float) -> str:
    """A count that never grows wider than 5 cells: ``'1234'``, ``'12.3k'``, ``'4.5M'``, ``'>999T'``."""
    v = max(0.0, _finite(value))
    if v < 10_000:
        return str(int(v))
    if v >= 1000 * 1_000_000_000_000:
        return ">999T"
    for size, unit in _COUNT_UNITS:
        if v >= size:
            scaled = v / size
            if scaled < 100:
                text = f"{scaled:.1f}"
                if text != "100.0":
                    return text + unit
            return f"{int(scaled)}{unit}"
    return str(int(v))  # pragma: no cover - v >= 10,000 always has a unit


def cut_cells(text: str, n: int) -> str:
    """``text`` cut to at most ``n`` cells as the terminal draws them (wide CJK and emoji
    take two, combining marks none); an ellipsis marks a cut."""
    if cell_len(text) <= n:
        return text
    if n <= 1:
        return "…"[:max(n, 0)]
    return set_cell_size(text, n - 1).rstrip() + "…"


def fmt_origin(url: str) -> str:
    """``'https://user:pw@dash.example.com:8443/nezha?x'`` -> ``'https://dash.example.com:8443'``:
    where the app connects, to show a user; never credentials, a path or a query."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(url).strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port or bracket
        return "the Dashboard"
    if not parts.scheme or not host:
        return "the Dashboard"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{f':{port}' if port is not None else ''}"
