"""The app's side of the alert pipeline: frames, stream states and the services overview in;
toasts, the bell, desktop notifications and :class:`~nezha_tui.ui.events.EventsAdded` out.

The pipeline itself (:mod:`nezha_tui.alerts.pipeline`) knows nothing of Textual; this module
is the one place that connects it to the app.

Several Dashboards: one pipeline per Dashboard (``app.dashboards``), each with its own detector
(its events name it) and its own services poll; all feed ``app.events`` (active alerts keyed by
fleet keys) and share one log file and one hook.  Toasts name the Dashboard when there are several.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nezha_tui.alerts.event import SEVERITY_ORDER, Event, EventKind, Severity
from nezha_tui.alerts.pipeline import AlertPipeline, build_pipelines, close_pipelines, load_history
from nezha_tui.alerts.rules import AlertConfig
from nezha_tui.ui.events import EventsAdded

if TYPE_CHECKING:
    from nezha_tui.api.stream import StreamStatus
    from nezha_tui.ui.context import NezhaContext
    from nezha_tui.store import FleetChange
    from nezha_tui.ui.app import NezhaApp

__all__ = ["AlertBridge", "TOASTED_KINDS", "SERVICES_INTERVAL", "dashboard_index", "dashboard_label"]

log = logging.getLogger(__name__)

SERVICES_INTERVAL = 30.0
"""Seconds between service-overview fetches (monitors and traffic quotas) for events."""

TOASTED_KINDS = frozenset({EventKind.RULE_FIRED, EventKind.RULE_CLEARED, EventKind.SERVICE_DOWN,
                           EventKind.SERVICE_UP, EventKind.QUOTA, EventKind.EXPIRY, EventKind.FLAPPING})
"""Events that get a toast of their own (offline / back online and the connection keep the toasts
they had; the summary and the gap marker only go to the event log)."""

_TOAST_SEVERITY = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "information",
                   Severity.OK: "information"}


class AlertBridge:
    """Owns the app's :class:`AlertPipeline` s, one per Dashboard (built in :meth:`start`, once the
    app runs)."""

    def __init__(self, app: NezhaApp, config: AlertConfig | None = None, *, dashboard: str = "",
                 hook_argv: Sequence[str] = (), keep_log: bool = False,
                 services_interval: float = SERVICES_INTERVAL) -> None:
        self.owner = app
        """The app this bridge serves (typed: NezhaApp)."""
        self.config = config or AlertConfig()
        self.dashboard = dashboard
        """The one Dashboard's name in its events (several: each link's name at start)."""
        self.hook_argv = tuple(hook_argv)
        self.keep_log = keep_log
        self.services_interval = services_interval
        self.pipelines: list[AlertPipeline] = []
        """One per Dashboard, in ``app.dashboards`` order."""
        self.notifications_sent = 0

    @property
    def pipeline(self) -> AlertPipeline | None:
        """The first Dashboard's pipeline (the only one with one Dashboard)."""
        return self.pipelines[0] if self.pipelines else None

    def start(self) -> None:
        """Build the pipelines (detectors, the shared log file and hook) and show earlier events."""
        app = self.owner
        links = app.dashboards
        if len(links) <= 1:
            names = [self.dashboard or app.dashboard_origin() or "dashboard"]
        else:
            # the name each Dashboard was started with: its events keep it (the log, the hook, the
            # history of the next run), even when a bare URL's label becomes the site name later
            names = [link.source or f"dashboard {link.index + 1}" for link in links]
        app.events.sources = {name: i for i, name in enumerate(names)}
        self.pipelines = build_pipelines(names, self.config, hook_argv=self.hook_argv, keep_log=self.keep_log,
                                         feed=app.events, notify=self._desktop, on_events=lambda _index: self._shown,
                                         on_problem=self._problem)
        load_history(self.pipelines)  # the log read once for every Dashboard shown
        if app.start_timers and self.wants_services:
            app.set_interval(max(5.0, self.services_interval), self.fetch_services, name="alert-services")

    async def close(self) -> None:
        """At exit: running hooks get a second, the last moment watched is written (each shared
        part once)."""
        if self.pipelines:
            await close_pipelines(self.pipelines, hook_wait=1.0)

    @property
    def wants_services(self) -> bool:
        """The services overview is fetched only for the built-in rules that read it."""
        return self.config.enabled("service_down") or self.config.enabled("quota")

    def index_of(self, dashboard: str) -> int | None:
        """The index of the Dashboard an event names (see :func:`dashboard_index`)."""
        return dashboard_index(self.owner, dashboard)

    def label_of(self, dashboard: str) -> str:
        """How an event's Dashboard reads now (see :func:`dashboard_label`)."""
        return dashboard_label(self.owner, dashboard)

    # ------------------------------------------------------------------ inputs

    def on_frame(self, index: int, change: FleetChange) -> None:
        """A frame of Dashboard ``index`` (its own change: server ids), after its store took it."""
        pipeline = self._pipeline(index)
        if pipeline is not None:
            # paused: the recording (``live``), events go on
            pipeline.on_frame(change, self.owner.dashboards[index].store.live)

    def on_status(self, index: int, status: StreamStatus) -> None:
        pipeline = self._pipeline(index)
        if pipeline is not None:
            pipeline.on_stream(status.state.value, status.message, self.now_ms(index))

    def _pipeline(self, index: int) -> AlertPipeline | None:
        return self.pipelines[index] if 0 <= index < len(self.pipelines) else None

    def fetch_services(self) -> None:
        """Each Dashboard's services overview, in its own worker (not one that refused the login or
        has sent no frame yet)."""
        app = self.owner
        for link in app.dashboards:
            if self._pipeline(link.index) is None or not link.store.frames or link.login_refused:
                continue
            group = f"alert-services-{link.index}"
            app.run_worker(self._services(link.index), name=group, group=group, exclusive=True,
                           exit_on_error=False)

    async def _services(self, index: int) -> None:
        link = self.owner.dashboards[index]
        try:
            overview = await link.client.services()
        except Exception as exc:  # the services screen says why; here a note in the log is enough
            log.info("services overview of %s for events failed: %s", link.name, getattr(exc, "message", exc))
            return
        pipeline = self._pipeline(index)
        if pipeline is not None:
            pipeline.on_services(overview, self.now_ms(index))

    def now_ms(self, index: int = 0) -> int:
        """Dashboard ``index``'s clock now (unix ms); before its first frame, the app's."""
        links = self.owner.dashboards
        now = links[index].now() if 0 <= index < len(links) else None
        return int((now if now is not None else self.owner.fleet_now()) * 1000)

    # ------------------------------------------------------------------ outputs

    def _shown(self, events: list[Event], alerts_changed: set[int]) -> None:
        app = self.owner
        app.state_changed.publish(EventsAdded(tuple(events), frozenset(alerts_changed)))
        toasted = [e for e in events if e.kind in TOASTED_KINDS]
        if not toasted:
            return
        worst = max(toasted, key=lambda e: (SEVERITY_ORDER[e.severity], e.ts_ms))
        text = self.message(worst)
        if len(toasted) > 1:
            text = f"{text} (+{len(toasted) - 1} more: e shows them)"
        app.notify(text, severity=_TOAST_SEVERITY[worst.severity], kind="events")
        if app.bells and worst.severity in (Severity.CRITICAL, Severity.WARNING):
            app.bell()

    def message(self, event: Event) -> str:
        """An event's text for a toast: ``work: fra-12 is offline`` when several Dashboards share the app."""
        if self.owner.several and event.dashboard:
            return f"{self.label_of(event.dashboard)}: {event.message}"
        return event.message

    def _desktop(self, event: Event) -> None:
        style = self.config.notify
        if style == "off":
            return
        from nezha_tui.alerts.notify import osc_notification

        title = f"nezha-tui: {self.label_of(event.dashboard)}" if event.dashboard else "nezha-tui"
        sequence = osc_notification(style, title, event.message, tmux=bool(os.environ.get("TMUX")))
        self.owner.write_terminal(sequence)
        self.notifications_sent += 1

    def _problem(self, message: str) -> None:
        log.warning("alerts: %s", message)
        self.owner.notify(message, severity="warning", timeout=10, kind=f"alerts:{message[:40]}")



def dashboard_index(app: NezhaContext, dashboard: str) -> int | None:
    """The index of the Dashboard an event names: the one whose pipeline gave its events that name
    (``app.events.sources``), else a Dashboard labelled so now; ``None`` when none is shown.  With one
    Dashboard: 0 (its events are the only ones shown)."""
    links = app.dashboards
    if len(links) <= 1:
        return 0
    index = app.events.source_index(dashboard)
    if index is not None and 0 <= index < len(links):
        return index
    return next((link.index for link in links if link.name == dashboard), None)


def dashboard_label(app: NezhaContext, dashboard: str) -> str:
    """How an event's Dashboard reads now: its link's label (a bare URL's host becomes the site name
    once known), else the name the event carries."""
    index = app.events.source_index(dashboard)
    links = app.dashboards
    if index is not None and 0 <= index < len(links) and links[index].name:
        return links[index].name
    return dashboard
