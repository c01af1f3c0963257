"""The event log (``e`` from the grid): what happened, newest first.

Rows come from ``app.events`` (an :class:`~nezha_tui.alerts.feed.EventFeed`: this run's events
and the log file's earlier ones); an :class:`~nezha_tui.ui.events.EventsAdded` on the app's
``state_changed`` brings new ones in while the screen is open, the cursor staying on its event.
``/`` filters by text, ``f`` steps through all / warning and worse / critical, ``enter`` opens the
event's server.  Opening the screen marks the events seen (the header's counter).

Several Dashboards: a Dashboard column (its label), the filter matches it, and ``enter`` opens the
server through its fleet key (the event's Dashboard and server id); an event of a Dashboard not
shown now, or of a server gone, is a toast.
"""

from __future__ import annotations

import enum
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static

from nezha_tui.alerts.event import SEVERITY_ORDER, Event, EventKind, Severity
from nezha_tui.ui.alerting import dashboard_index, dashboard_label
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.format import cut_cells
from nezha_tui.ui.drilldown import plain_cell
from nezha_tui.ui.events import AppEvent, EventsAdded, Tick
from nezha_tui.ui.widgets.tables import selected_row_key
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.widgets.events import event_time, gap_text, local_today, severity_text
from nezha_tui.ui.widgets.footer import KeyFooter

__all__ = ["EventsScreen", "SeverityFilter", "event_haystack"]


MESSAGE_MAX = 300
"""An event's text is cut to this many cells in the table."""


def _width(cell: object) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


class SeverityFilter(enum.Enum):
    ALL = "all"
    WARNING = "warning+"
    CRITICAL = "critical"

    @property
    def least(self) -> int:
        """The lowest :data:`~nezha_tui.alerts.event.SEVERITY_ORDER` shown."""
        return {"all": 0, "warning+": SEVERITY_ORDER[Severity.WARNING],
                "critical": SEVERITY_ORDER[Severity.CRITICAL]}[self.value]


_CYCLE = (SeverityFilter.ALL, SeverityFilter.WARNING, SeverityFilter.CRITICAL)
_WORDS = {SeverityFilter.ALL: "all events", SeverityFilter.WARNING: "warnings and critical events",
          SeverityFilter.CRITICAL: "critical events"}


def event_haystack(event: Event, label: str = "") -> str:
    """Lower-case text a filter query is matched against (``label``: the Dashboard's label now, when it
    is not the name the event carries)."""
    return "\n".join((event.message, event.server_name, event.service_name, event.dashboard, label, event.rule,
                      event.kind.value, event.severity.value)).casefold()


ROWS_MAX = 1000
"""The table holds the newest this many matching events (a DataTable row costs ~0.2 ms to add:
every keystroke of the filter rebuilds it); the status line says when there are more."""


class EventsScreen(NezhaScreen):
    """Every event in memory, newest first."""

    CSS_PATH = "events.tcss"
    SCOPE = "events"
    BINDINGS = screen_bindings("events")
    AUTO_FOCUS = "#events"

    def __init__(self) -> None:
        super().__init__(id="events-screen")
        self.severity = SeverityFilter.ALL
        self.query_text = ""
        self._terms: list[str] = []
        self._keys: dict[str, Event] = {}
        """Row key -> its event (the events shown)."""
        self._columns: tuple[str, ...] = ()
        self._layout: tuple[tuple[str, ...], dict[str, int]] = ((), {})
        """The columns and their widths in the table now."""
        self._version = -1
        self._day: object = None
        self._order: dict[int, int] = {}
        """``id()`` of a row's time cell -> its event's place in time (the rows' sort key)."""
        self._seq = 0
        self._narrow = False
        self._last_seen: Event | None = None
        """The feed's newest event the rows know of."""
        self._matching = 0
        """Events that pass the filters (the table may hold fewer: :data:`ROWS_MAX`)."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(self._crumbs(), id="crumbs")
        yield Static("", id="events-status")
        table: DataTable[Any] = DataTable(id="events", cursor_type="row", zebra_stripes=True)
        table.cursor_foreground_priority = "renderable"  # severity colours stay under the cursor
        yield table
        yield Static("", id="events-empty")
        with Horizontal(id="events-filter-bar"):
            yield Static("/", id="events-filter-label")
            yield Input(placeholder="server, message, Dashboard or kind", id="events-filter")
        yield KeyFooter()

    def _crumbs(self) -> Text:
        site = self.nezha.store.site_name
        return Text(f"{site or 'Fleet'} › Events", no_wrap=True, overflow="ellipsis")

    def on_mount(self) -> None:
        self.nezha.state_changed.subscribe(self, self._on_app_state)
        self.query_one("#events-filter-bar").display = False
        self._fill()
        self.nezha.events.mark_seen()

    def on_screen_resume(self) -> None:
        if self.nezha.events.version != self._version:
            self._fill()
        self.nezha.events.mark_seen()

    def on_resize(self) -> None:
        self._fill(force=True)

    # ------------------------------------------------------------------ data

    def _on_app_state(self, event: AppEvent) -> None:
        if isinstance(event, EventsAdded):
            if event.events:
                self._add(event.events)
                if self.is_current:
                    self.nezha.events.mark_seen()  # seen as they arrive
        elif isinstance(event, Tick):
            today = self._today()
            if (today.date() if today else None) != self._day or self.nezha.events.version != self._version:
                self._fill(force=True)  # midnight: today's times lose their date; a feed loaded from the log

    def _today(self) -> Any:
        return local_today(self.nezha.wall_clock(), self.nezha.tz)

    def _passes(self, event: Event) -> bool:
        if event.kind is not EventKind.GAP:  # a gap stays (it tells the rows apart in time)...
            if SEVERITY_ORDER.get(event.severity, 0) < self.severity.least:
                return False
        elif self._terms:  # ...but not under a text filter
            return False
        if self._terms:
            label = dashboard_label(self.nezha, event.dashboard) if self.nezha.several else ""
            hay = event_haystack(event, label if label != event.dashboard else "")
            if not all(term in hay for term in self._terms):
                return False
        return True

    def shown_events(self) -> list[Event]:
        """The events that pass the filters, newest first."""
        return [event for event in reversed(list(self.nezha.events)) if self._passes(event)]

    def _fill(self, force: bool = False) -> None:
        """Rebuild the rows (new events, a filter, a resize): the cursor stays on its event."""
        app = self.nezha
        feed = app.events
        self._version = feed.version
        table = self.query_one("#events", DataTable)
        today = self._today()
        self._day = today.date() if today is not None else None
        newest = feed.newest(1)
        self._last_seen = newest[0] if newest else None
        matching = self.shown_events()
        self._matching = len(matching)
        events = matching[:ROWS_MAX]
        dashboards = self._dashboard_column()
        narrow = 0 < self.size.width < 100
        columns = ("time", "severity", *(("dashboard",) if dashboards else ()), "server", "message")
        selected = self._selected_key(table)
        selected_row = table.cursor_row if table.row_count else 0
        self._columns = columns
        self._keys = {}
        self._order = {}
        self._narrow = narrow
        base = self._seq + len(events)
        rows = [self._row(event, base - i) for i, event in enumerate(events)]  # newest first
        self._seq = base
        # Fixed widths, measured here: a DataTable measures auto widths when idle, and a screen
        # painted before that keeps its first, too narrow, columns in a real terminal.
        titles = {"time": "Time", "severity": "" if narrow else "Severity", "dashboard": "Dashboard",
                  "server": "Server", "message": "Event"}
        widths = {c: max([cell_len(titles[c]), *(_width(cells[c]) for _, cells in rows)]) for c in columns}
        if (columns, widths) != self._layout or force:
            self._layout = (columns, widths)
            table.clear(columns=True)
            for key in columns:
                table.add_column(titles[key], key=key, width=widths[key])
        else:
            table.clear()
        for key, cells in rows:
            table.add_row(*(cells[c] for c in columns), key=key)
        if selected is not None and selected in self._keys:
            table.move_cursor(row=table.get_row_index(selected), animate=False, scroll=True)
        elif events:
            table.move_cursor(row=min(selected_row, len(events) - 1), animate=False)
        self._update_status(len(events))

    def _dashboard_column(self) -> bool:
        """Several Dashboards share the app, or the events name more than one (earlier runs)."""
        return self.nezha.several or len({e.dashboard for e in self.nezha.events}) > 1

    def _place(self, time_cell: object) -> int:
        """A row's place in time, from its time cell (what ``DataTable.sort`` gives the key)."""
        return self._order.get(id(time_cell), 0)

    def _row(self, event: Event, place: int | None = None) -> tuple[str, dict[str, Any]]:
        """A row's key and cells (by column); ``place``: its place in time (next by default)."""
        theme = self.app.theme_variables
        tz = self.nezha.tz
        today = self._today()
        key = str(id(event))
        self._keys[key] = event
        when = Text(event_time(event, tz, today), style=theme_style(theme, "foreground-muted"), no_wrap=True)
        if place is None:
            self._seq += 1
            place = self._seq
        self._order[id(when)] = place
        if event.kind is EventKind.GAP:
            cells: dict[str, Any] = {"time": when, "severity": "", "dashboard": "", "server": "",
                                     "message": gap_text(event, tz, today, theme)}
        else:
            server = event.server_name or (event.service_name if event.service_id is not None else "")
            cells = {"time": when, "severity": severity_text(event.severity, theme, word=not self._narrow),
                     "dashboard": plain_cell(dashboard_label(self.nezha, event.dashboard), 20),
                     "server": plain_cell(server, 16 if self._narrow else 24),
                     "message": Text(cut_cells(event.message, MESSAGE_MAX), no_wrap=True, overflow="ellipsis")}
        return key, cells

    def _add(self, added: tuple[Event, ...]) -> None:
        """New events: their rows go on top (the others stay; the cursor stays on its event)."""
        feed = self.nezha.events
        dashboards = self._dashboard_column()
        before = feed.newest(len(added) + 1)
        last_seen = before[-1] if len(before) > len(added) else None
        if dashboards != ("dashboard" in self._columns) or last_seen is not self._last_seen:
            self._fill()  # a second Dashboard (its column), or the feed changed otherwise (loaded from the log)
            return
        self._last_seen = before[0] if before else None
        self._version = feed.version
        table = self.query_one("#events", DataTable)
        selected = self._selected_key(table)
        new = [event for event in added if self._passes(event)]
        self._matching += len(new)
        if not new:
            self._update_status(table.row_count)
            return
        rows = [self._row(event) for event in new]
        widths = self._layout[1]
        if any(_width(cells[c]) > widths[c] for _, cells in rows for c in self._columns):
            self._fill()  # a wider cell: the columns are measured again
            return
        for key, cells in rows:
            table.add_row(*(cells[c] for c in self._columns), key=key)
        table.sort("time", key=self._place, reverse=True)
        while table.row_count > ROWS_MAX:  # the oldest rows (at the bottom) go
            oldest = table.coordinate_to_cell_key(Coordinate(table.row_count - 1, 0)).row_key
            self._keys.pop(str(oldest.value), None)
            table.remove_row(oldest)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False, scroll=False)
        self._update_status(table.row_count)

    def _update_status(self, shown: int) -> None:
        feed = self.nezha.events
        total = len(feed)
        parts = [f"{shown} of {total} events" if shown != total else f"{total} event{'s' if total != 1 else ''}"]
        if self._matching > shown:
            parts.append(f"the newest {shown} shown")
        if self.severity is not SeverityFilter.ALL:
            parts.append(f"showing {_WORDS[self.severity]} (f)")
        if self.query_text:
            parts.append(f"filter '{self.query_text}' (esc clears)")
        self.query_one("#events-status", Static).update(Text(" · ".join(parts), no_wrap=True, overflow="ellipsis"))
        empty = self.query_one("#events-empty", Static)
        if shown:
            empty.display = False
            return
        empty.display = True
        if not total:
            text = ("No events yet.\nServers going offline or coming back, services going down, quotas, "
                    "billing dates and alert rules show up here.")
        else:
            text = "No event matches" + (f" '{self.query_text}'" if self.query_text else "") + \
                (f" among {_WORDS[self.severity]}" if self.severity is not SeverityFilter.ALL else "") + \
                ".\nesc clears the filter, f shows every severity."
        empty.update(Text(text))

    _selected_key = staticmethod(selected_row_key)

    def selected_event(self) -> Event | None:
        key = self._selected_key(self.query_one("#events", DataTable))
        return self._keys.get(key) if key is not None else None

    # ------------------------------------------------------------------ filter

    def action_start_filter(self) -> None:
        self.query_one("#events-filter-bar").display = True
        self.set_focus(self.query_one("#events-filter", Input))

    @on(Input.Changed, "#events-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_query(event.value)

    @on(Input.Submitted, "#events-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_focus(self.query_one("#events", DataTable))
        self.query_one("#events-filter-bar").display = bool(self.query_text)

    def set_query(self, text: str) -> None:
        text = (text or "").strip()
        if text == self.query_text:
            return
        self.query_text = text
        self._terms = text.casefold().split()
        self._fill()

    def action_severity_filter(self) -> None:
        self.severity = _CYCLE[(_CYCLE.index(self.severity) + 1) % len(_CYCLE)]
        self._fill()
        self.nezha.notify(f"Showing: {_WORDS[self.severity]}", timeout=2, kind="events")

    def action_back(self) -> None:
        """esc: clear the filter first (the text, then the severity), then back to the grid."""
        field = self.query_one("#events-filter", Input)
        if self.query_text or self.focused is field:
            field.value = ""
            self.set_query("")
            self.query_one("#events-filter-bar").display = False
            self.set_focus(self.query_one("#events", DataTable))
            return
        super().action_back()

    # ------------------------------------------------------------------ open

    def action_open_selected(self) -> None:
        if self.focused is self.query_one("#events-filter", Input):
            self._filter_submitted(None)  # type: ignore[arg-type]
            return
        self._open(self.selected_event())

    @on(DataTable.RowSelected, "#events")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open(self._keys.get(str(event.row_key.value)))

    def _open(self, event: Event | None) -> None:
        if event is None:
            return
        sid = event.server_id
        if sid is None:
            if event.kind is not EventKind.GAP:
                self.nezha.notify("This event names no server", timeout=2, kind="events")
            return
        app = self.nezha
        name = event.server_name or f"Server {sid}"
        index = dashboard_index(self.nezha, event.dashboard)
        if index is None:
            app.notify(f"{name}: its Dashboard ({event.dashboard or 'unnamed'}) is not shown now",
                       timeout=3, kind="events")
            return
        key = app.store.key_for(index, sid)
        if key not in app.store.servers:
            where = f"on {dashboard_label(self.nezha, event.dashboard)}" if app.several else "on the Dashboard"
            app.notify(f"{name} is not {where} now", timeout=3, kind="events")
            return
        self.open_server(key)
