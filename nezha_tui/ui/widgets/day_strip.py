"""The 30-day uptime strip of a service monitor (index 29 = today).

Each cell is one day coloured by that day's uptime: ``success`` at or above
99 %, ``warning`` at or above 95 %, ``error`` below, and a dim dot for a day
without checks (no data is not downtime).  :func:`day_strip_text` gives a Rich
``Text`` for a table cell; :class:`DayStrip` is the same as a widget.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from nezha_tui.ui.styles import no_color, theme_color

__all__ = ["DAYS", "day_uptimes", "uptime_level", "day_strip_text", "DayStrip"]

DAYS = 30
CELL = "█"
NO_DATA = "·"
NO_COLOR_CELLS = {"success": "█", "warning": "▄", "error": "▁"}
"""Under NO_COLOR (greys only) a day's level is the cell's height."""


def _int(v: object) -> int:
    try:
        n = int(v)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
    return n if n > 0 else 0


def day_uptimes(up: Sequence[object] | None, down: Sequence[object] | None, days: int = DAYS) -> list[float | None]:
    """Uptime percent per day, oldest first, ``None`` for days without checks.

    The arrays are aligned on their **last** element (today); a short array
    leaves the oldest days without data, a long one is cut to ``days``.
    """
    up = list(up or [])[-days:]
    down = list(down or [])[-days:]
    up = [0] * (days - len(up)) + up
    down = [0] * (days - len(down)) + down
    out: list[float | None] = []
    for u, d in zip(up, down):
        u, d = _int(u), _int(d)
        out.append(u / (u + d) * 100.0 if u + d else None)
    return out


def uptime_level(percent: float | None, good: float = 99.0, fair: float = 95.0) -> str:
    """Theme role for an uptime percent: success / warning / error, ``""`` for no data."""
    if percent is None:
        return ""
    if percent >= good:
        return "success"
    if percent >= fair:
        return "warning"
    return "error"


def _style(role: str, theme: Mapping[str, str]) -> Style:
    """The colour of ``role`` alone: under NO_COLOR a day's level is its cell's height, not a
    text style (an underline would run the cells together)."""
    c = theme_color(theme, role)
    return Style() if c is None else Style(color=c.rich_color)


_ROLES = ("success", "warning", "error", "foreground-muted")


def day_strip_text(up: Sequence[object] | None, down: Sequence[object] | None,
                   theme: Mapping[str, str] | None = None, days: int = DAYS) -> Text:
    """One character per day; colours from the theme variables."""
    theme = theme or {}
    styles = {role: _style(role, theme) for role in _ROLES}
    cells = NO_COLOR_CELLS if no_color(theme) else {}
    text = Text(no_wrap=True, end="")
    for pct in day_uptimes(up, down, days):
        role = uptime_level(pct)
        if role:
            text.append(cells.get(role, CELL), styles[role])
        else:
            text.append(NO_DATA, styles["foreground-muted"])
    return text


class DayStrip(Widget):
    """A 30-day strip as a widget (one row, 30 cells)."""

    def __init__(self, up: Sequence[int] = (), down: Sequence[int] = (), *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._up = list(up)
        self._down = list(down)

    def set_days(self, up: Sequence[int], down: Sequence[int]) -> None:
        self._up, self._down = list(up), list(down)
        self.refresh()

    def render(self) -> Text:
        try:
            theme = self.app.theme_variables
        except Exception:
            theme = {}
        return day_strip_text(self._up, self._down, theme)
