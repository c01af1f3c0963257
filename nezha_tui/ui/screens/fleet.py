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
from nezha_tui.store import FleetChange
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.fleet_table import FleetGrid, FleetTable
from nezha_tui.ui.widgets.summary import FleetSummary, StaleBanner, state_name

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

    # ------------------------------------------------------------------ layout

    @property
    def wall(self) -> bool:
        return bool(getattr(self.app, "wall", None))

    def compose(self) -> ComposeResult:
        app: Any = self.app
        self.view = FleetView(app.store, offline_first=self.wall)
        self.view.update(None)
        yield FleetSummary(self.view, id="summary")
        yield StaleBanner(id="stale")
        yield Static("", id="empty")
        yield FleetTable(self.view, id="table")
        yield FleetCards(self.view, id="cards", large=self.wall)
        with Horizontal(id="filter-bar"):
            yield Static("/", id="filter-label")
            yield Input(placeholder="name, country, platform, group or tag", id="filter")
            yield Static("", id="filter-count")
        if not self.wall:
            yield KeyFooter()

    def on_mount(self) -> None:
        app: Any = self.app
        app.fleet_changed.subscribe(self, self.on_fleet_changed, immediate=True)
        app.stream_status_changed.subscribe(self, self.on_stream_status, immediate=True)
        app.state_changed.subscribe(self, self.on_app_state, immediate=True)
        if self.wall:
            self.add_class("-wall")
            self.query_one("#table").display = False
            self.query_one("#cards").focus()
        else:
            self.query_one("#cards").display = False
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
        if change.first or change.membership_changed:
            self._update_empty()

    def on_stream_status(self, status: Any) -> None:
        self._update_stale()
        self.query_one(FleetSummary).refresh()
        self._update_empty()

    def on_app_state(self, what: str) -> None:
        self.query_one(FleetSummary).refresh()
        if what == "tick":
            self._update_stale()
            self.grid.tick_ages()  # offline servers' ages move on: only the visible ones that changed
        elif what == "groups":
            self._update_filter_count()

    def _update_stale(self) -> None:
        shown = self.query_one(StaleBanner).update_state()
        app: Any = self.app
        dim = shown and app.store.frames > 0
        self.set_class(dim, "-stale")

    def _update_empty(self) -> None:
        app: Any = self.app
        empty = self.query_one("#empty", Static)
        if len(app.store):
            empty.display = False
            return
        name = state_name(app.stream_status)
        url = getattr(app.client, "base_url", "") or "the Dashboard"
        if app.store.frames:
            text = "No servers are visible to this account on this Dashboard."
        elif name == "AUTH_FAILED" and getattr(getattr(app.client, "credentials", None), "mode", "") == "guest":
            # no credentials were given, so none were refused: force_auth wants a login
            text = f"{url}: {getattr(app.stream_status, 'message', '') or 'this Dashboard requires a login'}"
        elif name == "AUTH_FAILED":
            text = f"{url} refused the credentials: {getattr(app.stream_status, 'message', '')}"
        else:
            text = f"Waiting for the first frame from {url}…"
        empty.update(Text(text))  # plain text: the message may be the Dashboard's, e.g. "[/]"
        empty.display = True

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

    def action_sort_next(self) -> None:
        if self.view is None:
            return
        key = self.view.next_sort()
        self._after_view_change()
        self.notify(f"Sort: {key.label}", timeout=2)

    def action_sort_reverse(self) -> None:
        if self.view is None:
            return
        self.view.toggle_reverse()
        self._after_view_change()

    def action_group(self, step: int) -> None:
        if self.view is None:
            return
        name = self.view.next_group(step)
        self._after_view_change()
        self.notify(f"Group: {name}", timeout=2)

    def action_status_filter(self) -> None:
        if self.view is None:
            return
        status = self.view.next_status()
        self._update_filter_bar()
        self._after_view_change()
        self.notify(f"Showing: {status.value} servers", timeout=2)

    def action_offline_first(self) -> None:
        if self.view is None:
            return
        self.view.set_offline_first(not self.view.offline_first)
        self._after_view_change()
        self.notify("Offline servers first" if self.view.offline_first else "Online servers first", timeout=2)

    def action_toggle_view(self) -> None:
        old = self.grid
        new: FleetGrid = self.cards if old is self.table else self.table
        old.display = False
        new.display = True
        new.selected_id = old.selected_id
        new.cursor = old.cursor
        self.set_focus(new)
        self.call_after_refresh(new.sync)
        new.sync()

    def action_open_selected(self) -> None:
        self.grid.open_highlighted()

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
        self.notify(f"Sort: {view.sort_key.label} ({arrow})", timeout=2)

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
        self.app.action_open_server(event.server_id)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ wall mode

    def wall_next_page(self) -> bool:
        """Page the visible grid; ``True`` when it wrapped to the first page."""
        grid = self.grid
        if isinstance(grid, FleetCards):
            return grid.next_page()
        rows = grid._rows_on_screen  # type: ignore[attr-defined]
        top = int(grid.scroll_offset.y) + rows
        wrapped = top >= len(grid.view.ids)
        grid.scroll_to(y=0 if wrapped else top, animate=False, immediate=True)
        return wrapped

    def wall_first_page(self) -> None:
        self.grid.scroll_to(y=0, animate=False, immediate=True)
