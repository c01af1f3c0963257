"""How one event reads (time, severity glyph, text) and the wall's footer of the latest events.

Shared by the event log screen (:mod:`nezha_tui.ui.screens.events`) and the wall.  Event text
is the Dashboard's (sanitised already): always a Rich ``Text``, never markup.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.widget import Widget

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.format import cut_cells
from nezha_tui.ui.alerting import dashboard_label
from nezha_tui.ui.context import UsesNezha
from nezha_tui.ui.drilldown import local_dt
from nezha_tui.ui.events import AppEvent, EventsAdded, Tick
from nezha_tui.ui.styles import theme_style

__all__ = ["SEVERITY_GLYPHS", "SEVERITY_ROLES", "EventTicker", "event_time", "severity_text", "event_line",
           "gap_text", "TICKER_LINES"]

SEVERITY_GLYPHS = {Severity.CRITICAL: "✖", Severity.WARNING: "▲", Severity.INFO: "●", Severity.OK: "✔"}
"""One glyph per severity: the meaning survives NO_COLOR (and a colour-blind eye)."""
SEVERITY_ROLES = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "", Severity.OK: "success"}
"""The theme role of each severity (``error`` / ``warning``: the derived severity colours)."""
SEVERITY_WORDS = {Severity.CRITICAL: "crit", Severity.WARNING: "warn", Severity.INFO: "info", Severity.OK: "ok"}

TICKER_LINES = 3
"""Events in the wall's footer."""


def event_time(event: Event, tz: tzinfo | None, today: datetime | None) -> str:
    """``14:02:33`` today, ``11-25 14:02`` another day this year, ``2025-11-25 14:02`` before (local zone)."""
    d = local_dt(event.ts_ms / 1000.0, tz)
    if d is None:
        return "-"
    if today is not None and d.date() == today.date():
        return d.strftime("%H:%M:%S")
    if today is not None and d.year == today.year:
        return d.strftime("%m-%d %H:%M")
    return d.strftime("%Y-%m-%d %H:%M")


def local_today(now: datetime, tz: tzinfo | None) -> datetime | None:
    """The app's wall clock (naive: local) in the zone times are shown in."""
    try:
        return now.astimezone(tz) if tz is not None else now.astimezone()
    except (OverflowError, OSError, ValueError):
        return None


def severity_text(severity: Severity, theme: Any, *, word: bool = True) -> Text:
    """``✖ crit`` in the severity's colour (the glyph alone with ``word=False``)."""
    glyph = SEVERITY_GLYPHS.get(severity, "?")
    text = f"{glyph} {SEVERITY_WORDS.get(severity, '')}" if word else glyph
    role = SEVERITY_ROLES.get(severity, "")
    return Text(text, style=theme_style(theme, role) if role else "", no_wrap=True)


def gap_text(event: Event, tz: tzinfo | None, today: datetime | None, theme: Any) -> Text:
    """A GAP event's separator: ``── not watching from 14:02 to 15:40 ──``."""
    return Text(f"── {event.message} ──", style=theme_style(theme, "foreground-muted", italic=True), no_wrap=True)


def event_line(event: Event, theme: Any, tz: tzinfo | None, today: datetime | None, *,
               dashboard: bool | str = False, width: int = 0) -> Text:
    """One line for the wall's footer: ``14:02:33 ✖ fra-12 is offline`` (cut to ``width`` cells);
    ``dashboard``: prefix the Dashboard (``True``: the event's name; a string: that label)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(event_time(event, tz, today), style=theme_style(theme, "foreground-muted"))
    line.append(" ")
    if event.kind is EventKind.GAP:
        line.append(f"── {event.message} ──", style=theme_style(theme, "foreground-muted", italic=True))
    else:
        line.append_text(severity_text(event.severity, theme, word=False))
        line.append(" ")
        label = dashboard if isinstance(dashboard, str) else event.dashboard if dashboard else ""
        if label:
            line.append(f"{cut_cells(label, 20)} · ", style=theme_style(theme, "foreground-muted"))
        line.append(event.message)
    if width > 0:
        line.truncate(width, overflow="ellipsis")
    return line


class EventTicker(UsesNezha, Widget):
    """The wall's footer: the latest :data:`TICKER_LINES` events, newest first, one line each
    (as tall as the events it shows; hidden while there are none)."""

    DEFAULT_CSS = """
    EventTicker { height: auto; background: $panel; color: $text; padding: 0 1; display: none; }
    EventTicker.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._version = -1
        self._count = 0
        self.lines = TICKER_LINES
        """Events shown at most (the wall gives the ticker what whole rows of cards leave)."""

    def set_lines(self, lines: int) -> None:
        lines = max(1, min(TICKER_LINES, lines))
        if lines != self.lines:
            self.lines = lines
            self.update_events()

    def on_mount(self) -> None:
        self.nezha.state_changed.subscribe(self, self._on_app_state)
        self.update_events()

    def _on_app_state(self, event: AppEvent) -> None:
        if isinstance(event, (EventsAdded, Tick)) and self.nezha.events.version != self._version:
            self.update_events()  # the feed changed without a signal (loaded from the log)

    def update_events(self) -> None:
        feed = self.nezha.events
        self._version = feed.version
        count = len(feed.newest(self.lines))
        self.set_class(count > 0, "-shown")
        self.refresh(layout=count != self._count)
        self._count = count

    def render(self) -> Text:
        app = self.nezha
        try:
            events = app.events.newest(self.lines)
            theme = self.app.theme_variables
            today = local_today(app.wall_clock(), app.tz)
            dashboards = app.several or len({e.dashboard for e in events}) > 1
            width = max(1, self.content_size.width)
            out = Text(no_wrap=True)
            for i, event in enumerate(events):
                if i:
                    out.append("\n")
                label = dashboard_label(self.nezha, event.dashboard) if dashboards else ""
                out.append_text(event_line(event, theme, app.tz, today, dashboard=label, width=width))
            return out
        except Exception:  # a footer must never take the wall down
            return Text("")
