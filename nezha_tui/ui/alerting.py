"""The app's side of the alert pipeline: frames, stream states and the services overview in;
toasts, the bell, desktop notifications and :class:`~nezha_tui.ui.events.EventsAdded` out.

The pipeline itself (:mod:`nezha_tui.alerts.pipeline`) knows nothing of Textual; this module
is the one place that connects it to the app.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nezha_tui.alerts.event import SEVERITY_ORDER, Event, EventKind, Severity
from nezha_tui.alerts.pipeline import AlertPipeline, build_pipeline
from nezha_tui.alerts.rules import AlertConfig
from nezha_tui.ui.events import EventsAdded

if TYPE_CHECKING:
    from nezha_tui.api.stream import StreamStatus
    from nezha_tui.store import FleetChange
    from nezha_tui.ui.app import NezhaApp

__all__ = ["AlertBridge", "TOASTED_KINDS", "SERVICES_INTERVAL"]

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
    """Owns the app's :class:`AlertPipeline` (built in :meth:`start`, once the app runs)."""

    def __init__(self, app: NezhaApp, config: AlertConfig | None = None, *, dashboard: str = "",
                 hook_argv: Sequence[str] = (), keep_log: bool = False,
                 services_interval: float = SERVICES_INTERVAL) -> None:
        self.owner = app
        """The app this bridge serves (typed: NezhaApp)."""
        self.config = config or AlertConfig()
        self.dashboard = dashboard
        self.hook_argv = tuple(hook_argv)
        self.keep_log = keep_log
        self.services_interval = services_interval
        self.pipeline: AlertPipeline | None = None
        self.notifications_sent = 0

    def start(self) -> None:
        """Build the pipeline (the detector, the log file, the hook) and show earlier events."""
        app = self.owner
        dashboard = self.dashboard or app.dashboard_origin() or "dashboard"
        self.pipeline = build_pipeline(dashboard, self.config, hook_argv=self.hook_argv, keep_log=self.keep_log,
                                       feed=app.events, notify=self._desktop, on_events=self._shown,
                                       on_problem=self._problem)
        self.pipeline.load_history()
        if app.start_timers and self.wants_services:
            app.set_interval(max(5.0, self.services_interval), self.fetch_services, name="alert-services")

    async def close(self) -> None:
        """At exit: running hooks get a second, the last moment watched is written."""
        if self.pipeline is not None:
            await self.pipeline.close(hook_wait=1.0)

    @property
    def wants_services(self) -> bool:
        """The services overview is fetched only for the built-in rules that read it."""
        return self.config.enabled("service_down") or self.config.enabled("quota")

    # ------------------------------------------------------------------ inputs

    def on_frame(self, index: int, change: FleetChange) -> None:
        """Dashboard ``index``'s frame: its own change (server ids) and its store."""
        if self.pipeline is not None and index == 0:
            # paused: the recording, events go on
            self.pipeline.on_frame(change, self.owner.dashboards[index].store.live)

    def on_status(self, index: int, status: StreamStatus) -> None:
        if self.pipeline is not None and index == 0:
            self.pipeline.on_stream(status.state.value, status.message, self.now_ms())

    def fetch_services(self) -> None:
        app = self.owner
        if self.pipeline is None or not app.store.frames or app.login_refused:
            return
        app.run_worker(self._services(), name="alert-services", group="alert-services", exclusive=True,
                       exit_on_error=False)

    async def _services(self) -> None:
        try:
            overview = await self.owner.client.services()
        except Exception as exc:  # the services screen says why; here a note in the log is enough
            log.info("services overview for events failed: %s", getattr(exc, "message", exc))
            return
        if self.pipeline is not None:
            self.pipeline.on_services(overview, self.now_ms())

    def now_ms(self) -> int:
        return int(self.owner.fleet_now() * 1000)

    # ------------------------------------------------------------------ outputs

    def _shown(self, events: list[Event], alerts_changed: set[int]) -> None:
        app = self.owner
        app.state_changed.publish(EventsAdded(tuple(events), frozenset(alerts_changed)))
        toasted = [e for e in events if e.kind in TOASTED_KINDS]
        if not toasted:
            return
        worst = max(toasted, key=lambda e: (SEVERITY_ORDER[e.severity], e.ts_ms))
        text = worst.message if len(toasted) == 1 else f"{worst.message} (+{len(toasted) - 1} more: e shows them)"
        app.notify(text, severity=_TOAST_SEVERITY[worst.severity], kind="events")
        if app.bells and worst.severity in (Severity.CRITICAL, Severity.WARNING):
            app.bell()

    def _desktop(self, event: Event) -> None:
        style = self.config.notify
        if style == "off":
            return
        from nezha_tui.alerts.notify import osc_notification

        title = f"nezha-tui: {event.dashboard}" if event.dashboard else "nezha-tui"
        sequence = osc_notification(style, title, event.message, tmux=bool(os.environ.get("TMUX")))
        self.owner.write_terminal(sequence)
        self.notifications_sent += 1

    def _problem(self, message: str) -> None:
        log.warning("alerts: %s", message)
        self.owner.notify(message, severity="warning", timeout=10, kind=f"alerts:{message[:40]}")

