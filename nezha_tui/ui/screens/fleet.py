"""The fleet screen: header, stale banner, table or cards, filter bar, key hints.

It subscribes to the app's signals and does, per frame: the view follows the
change (re-sorting at most once, only if needed), the visible grid repaints
if a visible server changed, the header repaints.  Nothing here walks the
whole fleet per frame.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from nezha_tui.ui.widgets.footer import KeyFooter
from nezha_tui.fleet_view import FleetView, StatusFilter
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.store import FleetChange
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.format import fmt_origin
from nezha_tui.ui.empty_states import (
    auth_failure_text, no_match_text, no_servers_text, several_waiting_text, waiting_text,
)
from nezha_tui.ui.events import AppEvent, EventsAdded, GroupsChanged, Tick
from nezha_tui.ui.screens.column_chooser import ColumnChooser
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.events import EventTicker
from nezha_tui.ui.widgets.fleet_table import FleetGrid, FleetTable
from nezha_tui.ui.widgets.summary import FleetSummary, StaleBanner, stream_cause

__all__ = ["FleetScreen"]


class FleetScreen(NezhaScreen):
    """The live grid of servers."""

    CSS_PATH = "fleet.tcss"
    SCOPE = "fleet"
    BINDINGS = screen_bindings("fleet")
    AUTO_FOCUS = "#table"

    def __init__(self) -> None:
        super().__init__(id="fleet")
        self.view: FleetView | None = None
        self._filter_count_text = ""
        self._group_to_restore: str | None = None
        """The saved group's name, until the groups that hold it arrived (or the user chose one)."""
        self._empty_mode = ""
        """``""`` (servers shown), ``"-nodata"``, ``"-auth"`` or ``"-nomatch"``: see _update_empty."""
        self._empty_text: Text | None = None

    # ------------------------------------------------------------------ layout

    @property
    def wall(self) -> bool:
        return bool(self.nezha.wall)

    def compose(self) -> ComposeResult:
        app = self.nezha
        saved = app.ui_settings
        self.view = FleetView(app.store, sort=saved.sort, reverse=saved.reverse,
                              offline_first=self.wall or saved.offline_first, pin_alerts=saved.pin_alerts)
        self.view.set_alerts(app.events.active)
        self._group_to_restore = saved.group
        self.view.update(None)
        yield FleetSummary(self.view, id="summary")
        yield StaleBanner(id="stale")
        yield FleetTable(self.view, id="table")
        yield FleetCards(self.view, id="cards", large=self.wall)
        yield Static("", id="empty")  # below the table's header: "No server matches 'xyz'"
        with Horizontal(id="filter-bar"):
            yield Static("/", id="filter-label")
            yield Input(placeholder="name, country, platform, group or tag", id="filter")
            yield Static("", id="filter-count")
        if self.wall:
            yield EventTicker(id="ticker")  # the latest events, where the key hints would be
        else:
            yield KeyFooter()

    def on_mount(self) -> None:
        app = self.nezha
        app.fleet_changed.subscribe(self, self.on_fleet_changed, immediate=True)
        app.stream_status_changed.subscribe(self, self.on_stream_status, immediate=True)
        app.state_changed.subscribe(self, self.on_app_state, immediate=True)
        if self.wall:
            self.add_class("-wall")
            self.query_one("#table").display = False
            self.query_one("#cards").focus()
        else:
            self.query_one("#cards").display = False
            if app.ui_settings.columns is not None:
                self.table.set_chosen_columns(app.ui_settings.columns)
            if app.ui_settings.view == "cards":
                self._show_view(self.cards)
        self._restore_group()
        self._update_filter_bar()
        self._update_empty()
        self.grid.sync()

    @property
    def grid(self) -> FleetGrid:
        table = self.query_one("#table", FleetTable)
        return table if table.display else self.query_one("#cards", FleetCards)

    @property
    def table(self) -> FleetTable:
        return self.query_one("#table", FleetTable)

    @property
    def cards(self) -> FleetCards:
        return self.query_one("#cards", FleetCards)

    # ------------------------------------------------------------------ app signals

    def on_fleet_changed(self, change: FleetChange) -> None:
        view = self.view
        if view is None:
            return
        reordered = view.update(change)
        if change.first:
            reordered = True
        self.grid.frame_update(change, reordered)
        if reordered or change.membership_changed:
            self._update_filter_count()
        self.query_one(FleetSummary).refresh()
        if change.first or change.membership_changed or reordered or not self.view.ids or self._empty_mode:
            self._update_empty()
            if self._group_to_restore is not None:
                self._restore_group()

    def on_stream_status(self, status: StreamStatus) -> None:
        self._update_stale()
        self.query_one(FleetSummary).refresh()
        self._update_empty()
        self.refresh_bindings()  # r (retry) is live only when the stream gave up

    def on_app_state(self, event: AppEvent) -> None:
        self.query_one(FleetSummary).refresh()
        if isinstance(event, Tick):
            self._update_stale()
            self.grid.tick_ages()  # offline servers' ages move on: only the visible ones that changed
        elif isinstance(event, EventsAdded) and self.view is not None:
            if event.alerts_changed:
                self._follow_alerts(event.alerts_changed)
            if event.events and self.wall:
                self.call_after_refresh(self._fit_ticker)
        elif isinstance(event, GroupsChanged) and self.view is not None:
            if self._group_to_restore is not None:
                self._restore_group()
            if self.view.follow_groups():
                self.grid.sync()
            self._update_filter_count()
            self._update_empty()

    def _follow_alerts(self, changed: frozenset[int] | None) -> None:
        """The active alerts changed (for ``changed``; ``None``: any): pinned rows move, marks follow."""
        view = self.view
        if view is None:
            return
        if view.set_alerts(self.nezha.events.active, changed):
            self.grid.sync()
            self._update_filter_count()
        else:
            self.grid.refresh()  # the marks: only rows whose alerts changed are formatted again

    def on_resize(self) -> None:
        if self.wall:
            self.call_after_refresh(self._fit_ticker)  # once the cards have their size

    def _fit_ticker(self) -> None:
        """The wall's footer of events gets the lines whole rows of cards leave (1 to 3): at 80x24
        three rows of compact cards and two events, not two rows and three events."""
        if not self.wall:
            return
        ticker = self.query_one(EventTicker)
        room = self.cards.size.height + (ticker.size.height if ticker.display else 0)
        if room <= 0:
            return
        card_h = self.cards.card_height_for(room - 1)
        rows = max(1, (room - 1) // card_h)
        ticker.set_lines(room - rows * card_h)

    def on_screen_resume(self) -> None:
        self.query_one(FleetSummary).refresh()  # the unseen count (the event log marks events seen)

    def _update_stale(self) -> None:
        app = self.nezha
        shown = self.query_one(StaleBanner).update_state()
        dim = shown and app.store.frames > 0
        if dim and app.several:  # the rows of a Dashboard not live are dimmed one by one; all of the grid
            dim = not any(link.stream_status is not None and link.stream_status.state is StreamState.LIVE
                          for link in app.dashboards)  # only when none is live
        self.set_class(dim, "-stale")

    def _update_empty(self) -> None:
        """The words in place of the grid when it shows no server: connecting, a refused login
        (one panel: cause, fix, keys), no server on the Dashboard, or no match for the filter.

        Cheap (no walk over the fleet): it runs after every frame and view change."""
        app = self.nezha
        view = self.view
        status = app.stream_status
        state = status.state if status is not None else None
        mode, text = "", None
        if not app.store.frames and app.several:
            mode, text = self._several_waiting()
        elif not app.store.frames:
            if state is StreamState.AUTH_FAILED:
                mode = "-auth"
                text = auth_failure_text(app.credentials_mode(), status.message, app.dashboard_origin())
            else:
                mode = "-nodata"
                reason = stream_cause(status.message) if status is not None and status.attempt else ""
                if reason:
                    reason += f" (attempt {status.attempt})"
                text = waiting_text(app.dashboard_origin(), reason)
        elif not len(app.store):
            mode = "-nodata"
            text = no_servers_text()
        elif view is not None and not view.ids:
            mode = "-nomatch"
            text = no_match_text(view.query, view.status.value,
                                 view.group_label if view.group_id is not None else None)
        if mode != self._empty_mode:
            for name in ("-auth", "-nodata", "-nomatch"):
                self.set_class(name == mode, name)
            self._empty_mode = mode
            self.refresh_bindings()  # the auth panel's keys: r retry, q quit
            if mode == "-auth" and self.query_one("#filter", Input).has_focus:
                self.set_focus(self.grid)
        if text is not None and text != self._empty_text:
            self._empty_text = text
            self.query_one("#empty", Static).update(text)  # plain text (Text): never markup

    def _several_waiting(self) -> tuple[str, Text]:
        """No frame from any of several Dashboards: what each is at (every one refused: the auth panel)."""
        app = self.nezha
        lines = []
        for link in app.dashboards:
            status = link.stream_status
            state = status.state if status is not None else StreamState.CONNECTING
            cause = stream_cause(status.message) if status is not None else ""
            if state is StreamState.AUTH_FAILED:
                what = "auth failed"
            elif state is StreamState.STOPPED:
                what = "stopped"
            else:
                what = "connecting" + (f", attempt {status.attempt}" if status is not None and status.attempt else "")
            lines.append((link.name, fmt_origin(link.client.base_url), f"{what}: {cause}" if cause else what))
        refused = app.login_refused
        return ("-auth" if refused else "-nodata"), several_waiting_text(lines, refused)

    # ------------------------------------------------------------------ filter bar

    def _update_filter_count(self) -> None:
        view = self.view
        if view is None:
            return
        status = "" if view.status is StatusFilter.ALL else f" ({view.status.value})"
        text = f"{len(view.ids)} of {view.group_total}{status}"
        if text != self._filter_count_text:  # Static.update refreshes the layout even for the same text
            self._filter_count_text = text
            self.query_one("#filter-count", Static).update(text)

    def _update_filter_bar(self) -> None:
        view = self.view
        # `self.focused`, not `Input.has_focus`: the latter follows Focus/Blur events, which
        # arrive after this runs when Esc has just moved the focus back to the grid.
        shown = bool(view and view.filtering) or self.focused is self.query_one("#filter", Input)
        self.query_one("#filter-bar").display = shown
        self._update_filter_count()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.view is None:
            return
        self.view.set_query(event.value)
        self._after_view_change()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_focus(self.grid)
        self._update_filter_bar()

    def _after_view_change(self) -> None:
        self.grid.sync()
        self._update_filter_count()
        self.query_one(FleetSummary).refresh()
        self._update_empty()
        self._remember_choices()

    # ------------------------------------------------------------------ settings that stay

    def _remember_choices(self) -> None:
        """Record the sort, its direction, the group and offline-first (saved if they changed)."""
        view = self.view
        if view is None:
            return
        app = self.nezha
        changes: dict[str, Any] = {"sort": view.sort_key.id, "reverse": view.reverse}
        if self._group_to_restore is None:  # else: the saved group is still to come
            changes["group"] = None if view.group_id is None else view.group_label
        if not self.wall:  # the wall always puts offline servers first
            changes["offline_first"] = view.offline_first
            changes["pin_alerts"] = view.pin_alerts
        app.remember(**changes)

    def _restore_group(self) -> None:
        """Show the saved group once the groups and servers that make it are known; a group that
        is gone (servers there, and the groups answered without the name, or with none, or the
        request failed) falls back to all servers, quietly: the restore ends either way, so no
        later frame looks it up again and the user's choices are saved."""
        view, name = self.view, self._group_to_restore
        if view is None or name is None:
            return
        app = self.nezha
        gid = next((gid for gid, label in view.group_choices() if gid is not None and label == name), None)
        if gid is not None:
            self._group_to_restore = None
            view.set_group(gid)
            self.grid.sync()
            self._update_filter_count()
            self.query_one(FleetSummary).refresh()
        elif app.store.frames and app.groups_answered:
            self._group_to_restore = None

    # ------------------------------------------------------------------ actions

    def action_start_filter(self) -> None:
        self.query_one("#filter-bar").display = True
        self.set_focus(self.query_one("#filter", Input))  # now: keys already queued go to it
        self._update_filter_count()

    def action_clear_filter(self) -> None:
        if self.view is None:
            return
        field = self.query_one("#filter", Input)
        field.value = ""
        self.view.set_query("")
        if self.view.status is not StatusFilter.ALL:
            self.view.set_status(StatusFilter.ALL)
        self.set_focus(self.grid)
        self._update_filter_bar()
        self._after_view_change()

    def _toast(self, message: str, *, kind: str) -> None:
        """A short toast that replaces the last one of its ``kind`` (no stack of "Group: ..." toasts)."""
        self.nezha.notify(message, timeout=2, kind=kind)

    def action_sort_next(self) -> None:
        if self.view is None:
            return
        key = self.view.next_sort()
        self._after_view_change()
        self._toast(f"Sort: {key.label}", kind="sort")

    def action_sort_reverse(self) -> None:
        if self.view is None:
            return
        self.view.toggle_reverse()
        self._after_view_change()

    def action_group(self, step: int) -> None:
        if self.view is None:
            return
        self._group_to_restore = None  # the user's choice wins over the saved one still to come
        name = self.view.next_group(step)
        self._after_view_change()
        gid = self.view.group_id
        # with several Dashboards the first choices are the Dashboards (pseudo-groups of negative ids)
        self._toast(f"Dashboard: {name}" if gid is not None and gid < 0 else f"Group: {name}", kind="group")

    def action_status_filter(self) -> None:
        if self.view is None:
            return
        status = self.view.next_status()
        self._update_filter_bar()
        self._after_view_change()
        self._toast(f"Showing: {status.value} servers", kind="status")

    def action_offline_first(self) -> None:
        if self.view is None:
            return
        self.view.set_offline_first(not self.view.offline_first)
        self._after_view_change()
        self._toast("Offline servers first" if self.view.offline_first else "Online servers first", kind="sort")

    def action_toggle_pin_alerts(self) -> None:
        view = self.view
        if view is None:
            return
        view.set_pin_alerts(not view.pin_alerts)
        self._after_view_change()
        self._toast("Servers with alerts first" if view.pin_alerts else "Servers with alerts in the sort order",
                    kind="sort")

    def action_toggle_view(self) -> None:
        new = self._show_view(self.cards if self.grid is self.table else self.table)
        if not self.wall:
            app = self.nezha
            app.remember(view="cards" if new is self.cards else "table")

    def _show_view(self, new: FleetGrid) -> FleetGrid:
        old = self.grid
        old.display = False
        new.display = True
        new.selected_id = old.selected_id
        new.cursor = old.cursor
        self.set_focus(new)
        self.call_after_refresh(new.sync)
        new.sync()
        return new

    def action_retry(self) -> None:
        self.nezha.retry_stream()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without servers (connecting, a refused login) the grid's keys are not live (nor in the
        footer); ``r`` only when the stream gave up."""
        if action == "retry":
            app = self.nezha
            statuses = [link.stream_status for link in app.dashboards] if app.several else [app.stream_status]
            return any(status is not None and status.state in (StreamState.AUTH_FAILED, StreamState.STOPPED)
                       for status in statuses)  # with several: any that gave up
        if self._empty_mode in ("-auth", "-nodata") and action not in ("help", "open_events"):
            return False  # ? always says what works; e shows what earlier runs logged
        return True

    def action_choose_columns(self) -> None:
        table = self.table
        self.app.push_screen(ColumnChooser(table.chosen_columns, several=table.several), table.apply_chosen_columns)

    @on(FleetTable.ColumnsChosen)
    def _columns_chosen(self, event: FleetTable.ColumnsChosen) -> None:
        """The chooser applied a column set: saved (``None``, every column: automatic again)."""
        event.stop()
        self.nezha.remember(columns=event.ids)

    def action_open_selected(self) -> None:
        self.grid.open_highlighted()

    def action_shell_selected(self) -> None:
        key = self.grid.highlighted_id
        if key is not None:
            self.app.call_later(self.app.run_action, f"open_shell({int(key)})")

    def action_sort_by(self, key_id: str) -> None:
        """Sort by ``key_id``; by the current key again: reverse (a column title's click, the sort
        menu and the capital letters all come here)."""
        view = self.view
        if view is None:
            return
        if key_id == view.sort_key.id:
            view.toggle_reverse()
        else:
            view.set_sort(key_id, reverse=False)
        self._after_view_change()
        arrow = "reversed" if view.reverse else "usual order"
        self._toast(f"Sort: {view.sort_key.label} ({arrow})", kind="sort")

    def action_sort_menu(self) -> None:
        from nezha_tui.ui.screens.sort_menu import SortMenu

        view = self.view
        if view is None:
            return

        def picked(key_id: str | None) -> None:
            if key_id is not None:
                self.action_sort_by(key_id)

        self.app.push_screen(SortMenu(view.sort_key.id, view.reverse), picked)

    @on(FleetGrid.SortBy)
    def _sort_by(self, event: FleetGrid.SortBy) -> None:
        event.stop()
        if self.view is None:
            return
        from nezha_tui.fleet_view import SORT_KEYS

        key = next((k for k in SORT_KEYS if k.column == event.column), None)
        if key is not None:
            self.action_sort_by(key.id)

    @on(FleetGrid.Open)
    def _open(self, event: FleetGrid.Open) -> None:
        event.stop()
        self.nezha.action_open_server(event.server_id)

    # ------------------------------------------------------------------ wall mode

    def wall_next_page(self) -> bool:
        """Page the visible grid; ``True`` when it wrapped to the first page."""
        grid = self.grid
        if isinstance(grid, FleetTable):
            top = int(grid.scroll_offset.y) + grid.rows_on_screen
            wrapped = top >= len(grid.view.ids)
            grid.scroll_to(y=0 if wrapped else top, animate=False, immediate=True)
            return wrapped
        if isinstance(grid, FleetCards):
            return grid.next_page()
        return True  # no other grid: one page

    def wall_first_page(self) -> None:
        self.grid.scroll_to(y=0, animate=False, immediate=True)
