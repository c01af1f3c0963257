"""What screens and widgets need from the app: the typed contract between them.

Screens and widgets read the app's state (the store, the stream's status, the
clocks), call the REST client and subscribe to the app's signals; they reach it
through :class:`NezhaContext`, never through ``getattr`` on an untyped ``self.app``::

    class ServicesScreen(UsesNezha, Screen[None]):
        def on_mount(self) -> None:
            self.nezha.fleet_changed.subscribe(self, self.on_fleet_changed)

:class:`~nezha_tui.ui.app.NezhaApp` satisfies it, and so does the stand-in the
tests mount single screens in (``tests/ui_fakes.HostApp``); ``tests/test_context.py``
checks both, member by member.  Only what a screen or widget uses belongs here:
the app's own machinery (stream task, workers, alerts) does not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - annotations only (the module is imported by every screen)
    from textual.app import App
    from textual.signal import Signal

    from nezha_tui.alerts.feed import EventFeed
    from nezha_tui.api.credentials import Credentials
    from nezha_tui.api.models import (
        MetricSeries, ServerGroup, ServerServiceSeries, ServiceHistory, ServiceOverview, Setting,
    )
    from nezha_tui.api.stream import StreamStatus
    from nezha_tui.fleets import CombinedFleet
    from nezha_tui.history_cache import HistoryCache
    from nezha_tui.settings import UiSettings
    from nezha_tui.store import FleetChange, FleetStore
    from nezha_tui.ui.events import AppEvent
    from nezha_tui.ui.links import DashboardLink

__all__ = ["DashboardClient", "NezhaContext", "UsesNezha"]


class DashboardClient(Protocol):
    """The REST calls the app and its screens make (:class:`~nezha_tui.api.client.NezhaClient`;
    ``FakeClient`` in the tests)."""

    base_url: str
    """The Dashboard's address (part of every cache key: two profiles never share answers)."""
    credentials: Credentials
    """Who the client is (``credentials.mode == "guest"``: nothing was refused, a login is needed)."""

    async def setting(self) -> Setting: ...

    async def server_groups(self) -> list[ServerGroup]: ...

    async def server_metrics(self, server_id: int, metric: str, period: str = "1d") -> MetricSeries: ...

    async def server_services(self, server_id: int, period: str = "1d") -> list[ServerServiceSeries]: ...

    async def services(self) -> ServiceOverview: ...

    async def service_history(self, service_id: int, period: str = "1d") -> ServiceHistory: ...


@runtime_checkable
class NezhaContext(Protocol):
    """The app as screens and widgets see it (besides Textual's own ``App`` API)."""

    store: FleetStore | CombinedFleet
    """The fleet as the latest frames left it (frozen while ``paused``), keyed by fleet keys
    (:mod:`nezha_tui.fleets`): one Dashboard's store (keys are its server ids), or the combined
    fleet of several.  ``store.server_id(key)``, ``store.name_of(key)`` and ``store.is_stale(key)``
    answer for either."""
    client: DashboardClient
    """The first Dashboard's client; a server's own is :meth:`client_for`."""
    dashboards: list[DashboardLink]
    """One link per Dashboard: its name, client, own store, stream status, settings, groups."""
    setting: Setting | None
    """The Dashboard's site settings; ``None`` until they arrive (or when they could not be read)."""
    groups_answered: bool
    """The first server-groups request ended, answered (even with no group) or failed."""
    stream_status: StreamStatus | None
    """The live stream's latest status; ``None`` before the stream told any."""
    clock: Callable[[], float]
    """Monotonic seconds (injectable): what frame ages and retry countdowns are measured with."""
    wall_clock: Callable[[], datetime]
    """The local date and time (injectable, for deterministic screenshots; naive means local)."""
    tz: tzinfo | None
    """The zone local times are shown in; ``None``: the machine's."""
    wall: float | None
    """Wall-screen mode: seconds per page; ``None`` for the interactive app."""
    paused: bool
    """The picture is frozen (the recording goes on)."""
    held_frames: int
    """Frames recorded while paused."""
    bells: bool
    """The terminal bell rings on alerts."""
    frames_repaired: int
    """Frames in which the decoder repaired a field or dropped a server."""
    events: EventFeed
    """The recent events, the unseen counter and the active alerts (server id -> alert names):
    the event log, the header, the wall's footer and the pinned rows read it; an
    :class:`~nezha_tui.ui.events.EventsAdded` on ``state_changed`` says it changed."""
    history_cache: HistoryCache
    """Recent history answers (server metrics, monitors, service history), shared by the screens."""
    fleet_changed: Signal[FleetChange]
    """Every frame the picture shows."""
    stream_status_changed: Signal[StreamStatus]
    state_changed: Signal[AppEvent]
    """The app's own state: pause, tick, bell, settings, groups, events (:mod:`nezha_tui.ui.events`)."""

    @property
    def ui_settings(self) -> UiSettings:
        """The UI choices restored at start (sort, group, view...; :mod:`nezha_tui.settings`)."""
        ...

    def remember(self, **changes: Any) -> None:
        """Record UI choices (``UiSettings`` fields); saved a moment later when a config is in use."""
        ...

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False, kind: str | None = None) -> None:
        """A toast, always plain text; one of ``kind`` replaces the previous one of that kind."""
        ...

    def retry_stream(self) -> bool:
        """Start the stream again after it gave up (``r``); ``False`` when it may not yet."""
        ...

    def dashboard_origin(self) -> str:
        """Scheme, host and port of the Dashboard (no path, no credentials), for people."""
        ...

    def credentials_mode(self) -> str:
        """``"guest"``, ``"password"``, ``"access_token"`` or ``"jwt"``."""
        ...

    def fleet_now(self) -> float:
        """The Dashboard's clock now (unix seconds): what ages are measured with."""
        ...

    def frame_age(self) -> float | None:
        """Seconds since the last frame arrived, or ``None`` before the first."""
        ...

    def action_open_server(self, key: int) -> None:
        """Open the detail screen of the server with this fleet key."""
        ...

    @property
    def several(self) -> bool:
        """More than one Dashboard shares the grid."""
        ...

    def link_for(self, key: int) -> DashboardLink:
        """The Dashboard of a server's fleet key."""
        ...

    def client_for(self, key: int) -> DashboardClient:
        """The REST client of a server's own Dashboard (its auth, its guest limits)."""
        ...


class UsesNezha:
    """A mixin for screens and widgets: ``self.nezha`` is ``self.app`` as a :class:`NezhaContext`.

    Put it before the Textual base class: ``class FleetScreen(UsesNezha, Screen[None])``.
    """

    if TYPE_CHECKING:  # pragma: no cover - provided by Textual's DOMNode
        app: App[object]

    @property
    def nezha(self) -> NezhaContext:
        return cast(NezhaContext, self.app)
