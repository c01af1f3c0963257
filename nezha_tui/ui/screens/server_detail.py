"""Server detail (``enter`` from the grid): facts, public_note billing and plan,
live values from the stream with a realtime plot of the last frames, metric
history for all 17 metrics, and the server's service monitors.

Three tabs: ``i`` overview, ``h`` history, ``m`` monitors; ``1`` ``7`` ``3``
switch the period of the history and monitor tabs.  Each panel lives in its own
module of :mod:`nezha_tui.ui.screens.detail`; this screen lays them out, feeds
the overview from the store and holds the keys.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from nezha_tui.api.models import StreamServer
from nezha_tui.fleets import split_key
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.store import FleetChange, age_text, state_phrase
from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.screens.base import NezhaScreen
from nezha_tui.ui.events import AppEvent, EventsAdded, PauseChanged, Tick
from nezha_tui.ui.drilldown import (
    PERIODS, app_now, app_tz, dashboard_label, dashboard_now, local_dt, own_site,
)
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.screens.detail.facts import facts_text
from nezha_tui.ui.screens.detail.history import METRIC_VIEWS, VIEWS_BY_KEY, MetricHistory, MetricView, metric_series
from nezha_tui.ui.screens.detail.live import live_text
from nezha_tui.ui.screens.detail.monitors import ServiceMonitors, estimate_loss
from nezha_tui.ui.screens.detail.note import note_text
from nezha_tui.ui.screens.detail.realtime import WAITING, show_realtime
from nezha_tui.ui.screens.detail.rows import FittedText, hang
from nezha_tui.ui.widgets.footer import KeyFooter
from nezha_tui.ui.widgets.plot import AxisFormat, Plot


SHORT_SCREEN = 40
"""Below this many rows the overview saves rows: names are cut, not wrapped, and the live
panel shows the hottest temperature, not one per sensor (the plots need the rows)."""

__all__ = [
    "ServerDetailScreen", "MetricView", "METRIC_VIEWS", "VIEWS_BY_KEY", "metric_series",
    "estimate_loss", "facts_text", "live_text", "note_text", "hang",
]


class ServerDetailScreen(NezhaScreen):
    CSS_PATH = "server_detail.tcss"
    SCOPE = "detail"
    BINDINGS = screen_bindings("detail")  # the periods stay out of the footer: the period bar names the keys

    def __init__(self, key: int, *, tab: str = "overview", metric: str = "cpu", period: str = "1d") -> None:
        super().__init__()
        self.key = int(key)
        """The server's fleet key (:mod:`nezha_tui.fleets`): what the store, the frames and the alerts use."""
        self.index, self.server_id = split_key(self.key)
        """Its Dashboard (index in ``app.dashboards``) and its id there: what the REST calls use."""
        self.period = period if period in PERIODS else "1d"
        self._initial_tab = tab if tab in ("overview", "history", "monitors") else "overview"
        self.gone = False
        self.history = MetricHistory(self.key, metric=metric, period=self.period, id="history-panel")
        self.monitors = ServiceMonitors(self.key, period=self.period, id="monitors-panel")
        self._dirty_live = False
        self._stream_note = ""
        self._age_shown: str | None = None
        """The age text the panels show (an offline server), for the 1 s tick to compare."""
        self._skip_realtime = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        tz = app_tz(self.app)
        yield Static(id="crumbs")
        with TabbedContent(initial=self._initial_tab, id="tabs"):
            with TabPane("Overview (i)", id="overview"):
                with Horizontal(id="overview-row"):
                    with VerticalScroll(id="facts-box"):
                        yield FittedText(id="facts")
                        yield FittedText(id="note")
                    with VerticalScroll(id="live-box"):  # scrolls when a short terminal squeezes the plots
                        yield FittedText(id="live")
                        yield Plot(id="rt-pct", fmt=AxisFormat("percent", 0, 100), tz=tz)
                        yield Plot(id="rt-net", fmt=AxisFormat("speed"), tz=tz)
            with TabPane("History (h)", id="history"):
                yield self.history
            with TabPane("Monitors (m)", id="monitors"):
                yield self.monitors
        yield KeyFooter()

    def on_mount(self) -> None:
        for plot_id in ("#rt-pct", "#rt-net"):
            self.query_one(plot_id, Plot).show_message(WAITING)
        app = self.nezha
        if app.several:  # the server's Dashboard may be down already
            self._on_stream_status(None)
        self._update_live()
        app.fleet_changed.subscribe(self, self._on_fleet_changed)
        app.stream_status_changed.subscribe(self, self._on_stream_status)
        app.state_changed.subscribe(self, self._on_app_state)
        self._activate(self._initial_tab)

    # ------------------------------------------------------------------ live panel

    def _server(self) -> StreamServer | None:
        return self.nezha.store.get(self.key)

    def _on_fleet_changed(self, change: FleetChange) -> None:
        sid = self.key
        if sid in change.removed:
            self.gone = True
        elif sid in change.added:
            self.gone = False
        if not (sid in change.removed or sid in change.changed or sid in change.added or change.first):
            return
        if self.is_current:
            self._update_live()
        else:
            self._dirty_live = True

    def _on_stream_status(self, status: StreamStatus | None) -> None:
        # the server's own Dashboard's stream (another one's status says nothing of this server)
        own = self.nezha.link_for(self.key).stream_status if self.nezha.several else status
        if own is None:
            return
        state = own.state
        self._stream_note = "" if state is StreamState.LIVE else f"stream {state.value}"
        if self.is_current:
            self._update_crumbs(self._server())

    def _on_app_state(self, event: AppEvent) -> None:
        if isinstance(event, Tick):
            self._tick_age()
            return
        if isinstance(event, EventsAdded):
            if self.key not in event.alerts_changed:
                return
        elif not isinstance(event, PauseChanged):
            return
        if self.is_current:
            self._update_crumbs(self._server())  # the "paused" mark
        else:
            self._dirty_live = True

    def on_resize(self) -> None:
        self.call_after_refresh(self._update_live)  # a short screen shows fewer rows (the panels refit themselves)

    def on_screen_resume(self) -> None:
        if self._dirty_live:
            self._dirty_live = False
            self._update_live()

    def _update_crumbs(self, server: StreamServer | None) -> None:
        app = self.nezha
        store = app.store
        name = server.name if server is not None else f"server #{self.server_id}"
        label = dashboard_label(app, self.key)
        if label:  # several Dashboards: the server's own one names it ("fra-12 · work")
            site = own_site(app, self.key, label)
            t = Text(f"{site + ' › ' if site else ''}{name} · {label} › detail",
                     style=theme_style(self.app.theme_variables, "", bold=True))
        else:
            site = store.site_name or "Fleet"
            t = Text(f"{site} › {name} › detail", style=theme_style(self.app.theme_variables, "", bold=True))
        if server is not None:
            status = store.state_of(self.key)
            if not status.online or status.repaired:
                mark = "○ " if not status.online else "! "
                t.append(f"   {mark}{state_phrase(status, self._now())}",
                         style=theme_style(self.app.theme_variables, "warning" if status.online else "error"))
        alerts = [a for a in app.events.active.get(self.key, ()) if a != "offline"]  # offline: said above
        if alerts:
            t.append(f"   ⚑ {', '.join(alerts)}", style=theme_style(self.app.theme_variables, "error"))
        if self.gone:
            t.append("   ⚠ this server is gone from the Dashboard", style=theme_style(self.app.theme_variables, "error"))
        if self._stream_note:
            t.append(f"   ({self._stream_note})", style=theme_style(self.app.theme_variables, "warning"))
        if app.paused:  # as the fleet's header: the picture is frozen
            held = app.held_frames
            t.append("   ")
            t.append("PAUSED" + (f" (+{held})" if held else ""), style="bold reverse")
        self.query_one("#crumbs", Static).update(t)

    def _update_live(self) -> None:
        theme = self.app.theme_variables
        server = self._server()
        store = self.nezha.store
        if server is None and len(store.servers) > 0:
            self.gone = True
        self._update_crumbs(server)
        if server is None:
            msg = ("this server is gone from the Dashboard" if self.gone
                   else "waiting for the server in the live stream...")
            self.query_one("#facts", FittedText).fit(lambda width: Text(msg, style=theme_style(theme, "warning")))
            self.query_one("#live", FittedText).fit(lambda width: Text())
            self.query_one("#note", FittedText).fit(lambda width: None)
            return
        tz = app_tz(self.app)
        online = store.is_online(self.key)
        status = store.state_of(self.key)
        age = status.age(self._now())
        self._age_shown = age_text(age) if status.shows_age else None
        short = 0 < self.size.height < SHORT_SCREEN  # rows are scarce: one line each, fewer sensors
        self.query_one("#facts", FittedText).fit(
            lambda width: facts_text(server, online=online, age=age, theme=theme, tz=tz, status=status,
                                     width=width, short=short))
        raw = store.public_note(self.key)
        try:
            note = store.note(self.key, self._today())
        except Exception:  # a note the parser chokes on is shown as its raw text
            note = None
        self.query_one("#note", FittedText).fit(lambda width: note_text(note, raw, theme, width=width, short=short))
        self.query_one("#live", FittedText).fit(
            lambda width: live_text(server, theme, status, age, width=width, short=short))
        self._update_realtime()

    def _now(self) -> float:
        return dashboard_now(self.app)

    def _tick_age(self) -> None:
        """The 1 s tick: an offline server's age moves on; repaint the panels only when its text did."""
        if self._age_shown is None:
            return
        status = self.nezha.store.state_of(self.key)
        if not status.shows_age or age_text(status.age(self._now())) == self._age_shown:
            return
        if self.is_current:
            self._update_text_panels()
        else:
            self._dirty_live = True

    def _update_text_panels(self) -> None:
        """Crumbs, facts and live panel again (the age moved), without the plots."""
        self._skip_realtime = True
        try:
            self._update_live()
        finally:
            self._skip_realtime = False

    def _today(self) -> date:
        d = local_dt(app_now(self.app), app_tz(self.app))
        return d.date() if d is not None else date.today()

    def _update_realtime(self) -> None:
        if self._skip_realtime:
            return
        samples = self.nezha.store.recent(self.key)
        show_realtime(self.query_one("#rt-pct", Plot), self.query_one("#rt-net", Plot), samples)

    # ------------------------------------------------------------------ tabs and periods

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id or ""
        self._activate(pane)

    def _activate(self, pane: str) -> None:
        if pane == "history":
            self.history.load()
            self.history.focus_list()
        elif pane == "monitors":
            self.monitors.load()
            self.monitors.focus_table()

    def _active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or "overview"

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != tab:
            tabs.active = tab  # TabActivated loads the data
        else:
            self._activate(tab)

    def action_period(self, period: str) -> None:
        if period not in PERIODS:
            return
        self.period = period
        self.history.set_period(period)
        self.monitors.set_period(period)
        tab = self._active_tab()
        if tab == "overview":
            self.action_tab("history")
        else:
            self._activate(tab)

    def action_shell(self) -> None:
        """``x``: a shell on this server (the app asks first)."""
        self.app.call_later(self.app.run_action, f"open_shell({self.key})")

    def action_reload(self) -> None:
        tab = self._active_tab()
        if tab == "history":
            self.history.load(force=True)
        elif tab == "monitors":
            self.monitors.load(force=True)
        else:
            self._update_live()

    def action_back(self) -> None:
        self.app.pop_screen()
