"""The Textual application: one stream, one store, screens that read it.

Data flows one way.  The stream task (a :class:`~nezha_tui.api.stream.FleetStream`,
or whatever ``stream_factory`` builds) never touches widgets: its
``on_frame`` goes to :meth:`NezhaApp._on_frame`, which applies the frame to
the store and publishes the resulting :class:`~nezha_tui.store.FleetChange`
on :attr:`NezhaApp.fleet_changed`; ``on_status`` is published on
:attr:`NezhaApp.stream_status_changed`.  Screens subscribe to both.

Site settings and server groups come from the REST client in workers (groups
again every minute); their errors become notifications, never a crash.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from textual.app import App, SystemCommand
from textual.notifications import Notification, Notify
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.timer import Timer

from nezha_tui import gc_policy
from nezha_tui.alerts.feed import EventFeed
from nezha_tui.alerts.rules import AlertConfig
from nezha_tui.api.decode import DecodeReport
from nezha_tui.api.errors import NezhaError
from nezha_tui.api.models import Setting, StreamFrame
from nezha_tui.api.sanitise import sanitise
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.fleets import CombinedFleet, DashboardTarget, merge_changes
from nezha_tui.history_cache import HistoryCache
from nezha_tui.settings import SettingsError, SettingsStore, UiSettings
from nezha_tui.format import fmt_origin
from nezha_tui.store import FleetChange, FleetStore
from nezha_tui.ui.alerting import SERVICES_INTERVAL, AlertBridge
from nezha_tui.ui.commands import bindings_for
from nezha_tui.ui.context import DashboardClient
from nezha_tui.ui.events import AppEvent, BellToggled, GroupsChanged, PauseChanged, SettingLoaded, Tick
from nezha_tui.ui.links import DashboardLink

__all__ = ["NezhaApp", "FramePerf", "FrameSample"]

log = logging.getLogger("nezha_tui.ui")

_FAILED = object()  # what NezhaApp._fetch returns when the request failed (None can be an answer)


def _error_message(exc: BaseException) -> str:
    """One human line for an exception, without secrets (NezhaError carries one)."""
    if isinstance(exc, NezhaError) and exc.message:
        return exc.message
    return f"{type(exc).__name__}: {exc}"[:200] if str(exc) else type(exc).__name__


class FrameSource(Protocol):
    """What the app needs of the stream ``stream_factory`` builds (FleetStream; a stand-in in tests)."""

    received_at: float | None
    """``time.perf_counter()`` when the latest frame's bytes arrived (``None``: unknown)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


SETTINGS_SAVE_DELAY = 1.0
"""Seconds from a settings change to the config file's rewrite: nine presses of ``o`` write once."""

WALL_RETRY_MAX = 3600.0
"""Longest wait (s) before the wall tries a refused stream again."""

RETRY_PAUSE = 5.0
"""Shortest time (s) between two retries asked for with ``r``."""


@dataclass(slots=True)
class FrameSample:
    """Timings of one frame (seconds, ``time.perf_counter``)."""

    started: float
    applied: float
    """After ``store.apply``."""
    handled: float
    """After every subscriber (views, widgets) followed the change and asked for a repaint."""
    painted: float | None = None
    """When the screen was next refreshed (``None`` until then)."""
    servers: int = 0
    changed: int = 0
    received: float | None = None
    """When the frame's bytes arrived from the socket, before decoding (``None`` if unknown)."""
    dashboard: int = 0
    """The index of the Dashboard that sent it."""

    @property
    def to_handled_ms(self) -> float:
        return (self.handled - self.started) * 1000.0

    @property
    def decode_ms(self) -> float | None:
        return None if self.received is None else (self.started - self.received) * 1000.0

    @property
    def to_screen_ms(self) -> float | None:
        """From the frame's arrival (its decoding included) to the screen refreshed."""
        if self.painted is None:
            return None
        return (self.painted - (self.received if self.received is not None else self.started)) * 1000.0


@dataclass
class FramePerf:
    """Per-frame timings for the bench: ``samples`` and listeners called when a frame is on screen."""

    keep: int = 1000
    samples: deque[FrameSample] = field(default_factory=deque)
    listeners: list[Callable[[FrameSample], None]] = field(default_factory=list)
    frames: int = 0
    merged: int = 0
    """Frames painted together with another Dashboard's frame (one paint saved each)."""

    def __post_init__(self) -> None:
        self.samples = deque(maxlen=self.keep)

    def add_listener(self, callback: Callable[[FrameSample], None]) -> None:
        """``callback(sample)`` runs after each frame reached the screen."""
        self.listeners.append(callback)

    def record(self, sample: FrameSample) -> None:
        self.frames += 1
        self.samples.append(sample)

    def painted(self, sample: FrameSample) -> None:
        sample.painted = time.perf_counter()
        for callback in list(self.listeners):
            try:
                callback(sample)
            except Exception:  # a bench hook must not break the app
                log.exception("perf listener failed")

    def screen_ms(self) -> list[float]:
        return [s.to_screen_ms for s in self.samples if s.to_screen_ms is not None]


class NezhaApp(App[None]):
    """nezha-tui's app.  ``wall`` (seconds) turns on wall-screen mode."""

    CSS_PATH = ["app.tcss", "screens/fleet.tcss"]
    TITLE = "nezha-tui"
    BINDINGS = bindings_for("app")

    def __init__(
        self,
        client: DashboardClient | Sequence[DashboardTarget],
        *,
        wall: float | None = None,
        online_window: float = 30.0,
        bells: bool = False,
        stream_factory: Callable[..., FrameSource] | None = None,
        title: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = datetime.now,
        groups_interval: float = 60.0,
        stream_options: dict[str, Any] | None = None,
        start_timers: bool = True,
        wall_retry: float = 300.0,
        settings: SettingsStore | None = None,
        theme: str | None = None,
        alerts: AlertConfig | None = None,
        dashboard_name: str = "",
        hook_argv: Sequence[str] = (),
        keep_event_log: bool = False,
        services_interval: float = SERVICES_INTERVAL,
        startup_problems: Sequence[str] = (),
    ) -> None:
        super().__init__()
        if isinstance(client, Sequence):
            targets = list(client)
            if not targets:
                raise ValueError("no Dashboard to show")
        else:
            targets = [DashboardTarget(dashboard_name, client, online_window=online_window)]
        self.dashboards: list[DashboardLink] = [
            DashboardLink(i, t.name, t.client, FleetStore(online_window=t.online_window), named=t.named,
                          source=t.name, clock=clock)
            for i, t in enumerate(targets)
        ]
        """One link per Dashboard (its client, its own store, stream, status, settings, groups)."""
        self.client = self.dashboards[0].client
        """The first Dashboard's client (the only one, usually); :meth:`client_for` finds a server's."""
        self.store: FleetStore | CombinedFleet = (
            self.dashboards[0].store if len(self.dashboards) == 1
            else CombinedFleet([link.store for link in self.dashboards], [link.name for link in self.dashboards]))
        """The fleet the screens read, keyed by fleet keys (:mod:`nezha_tui.fleets`): the one
        Dashboard's store, or the combined fleet of several."""
        self._pending: FleetChange | None = None
        """Frames of several Dashboards taken in but not yet published (one paint for all)."""
        self._pending_from: set[int] = set()
        self._pending_samples: list[FrameSample] = []
        self.wall = float(wall) if wall else None
        self.settings = settings or SettingsStore()
        """The UI settings in use; saved only when the command line gave a file (tests: never)."""
        self._settings_timer: Timer | None = None
        self.bells = bells or self.settings.current.bell
        theme = theme or self.settings.current.theme
        if theme in self.available_themes:  # a saved theme that no longer exists: the default, quietly
            self.theme = theme
        self._theme_shown = self.theme
        self.stream_factory = stream_factory
        self.stream_options = dict(stream_options or {})
        self.clock = clock
        self.wall_clock = wall_clock
        self.tz: tzinfo | None = None
        """The zone local times are shown in (``None``: the machine's)."""
        self.history_cache = HistoryCache(ttl=60.0, max_entries=64)
        self.events = EventFeed()
        """The recent events and the active alerts (the pipeline adds to it, then publishes
        :class:`~nezha_tui.ui.events.EventsAdded` on ``state_changed``)."""
        self.groups_interval = groups_interval
        self.start_timers = start_timers
        self.wall_retry = wall_retry
        self.perf = FramePerf()
        self.paused = False
        self.held_frames = 0
        """Frames recorded while paused (the picture shows none of them)."""
        self._paused_flips: tuple[set[int], set[int]] = (set(), set())
        """Ids that went offline / came online in some frame recorded while paused."""
        self.frames_repaired = 0
        """Frames in which the decoder repaired a field or dropped a server (the header counts them)."""
        self._reported: dict[str, str] = {}
        self._toast_kinds: dict[str, Notification] = {}
        """The latest toast of each kind (see :meth:`notify`)."""
        self._alert_ids: tuple[set[int], set[int]] = (set(), set())
        """Servers named in the offline / back-online toast still on screen."""
        self._wall_foreign_ticks = 0
        self.gc_pause = gc_policy.FramePause()
        """The collector is off from a frame's bytes arriving until it is on screen (see gc_policy)."""
        self.wall_services_page: Screen | None = None
        self.alerts = AlertBridge(self, alerts, dashboard=dashboard_name, hook_argv=hook_argv,
                                  keep_log=keep_event_log, services_interval=services_interval)
        self.startup_problems = list(startup_problems)
        """Problems found before the app started (the [alerts] config): shown once it runs."""
        from nezha_tui.shell_bridge import bridge

        self.shell_bridge = bridge
        """What hands the terminal over to a shell session (tests put a stand-in here)."""
        self.terminal_written: list[str] = []
        """Escape sequences :meth:`write_terminal` could not send (headless: tests read them)."""
        if title:
            self.title = title
        self.fleet_changed: Signal[FleetChange] = Signal(self, "fleet_changed")
        self.stream_status_changed: Signal[StreamStatus] = Signal(self, "stream_status_changed")
        self.state_changed: Signal[AppEvent] = Signal(self, "state_changed")
        """Published with an :mod:`~nezha_tui.ui.events` event when the app's own state changes."""

    # ------------------------------------------------------------------ the Dashboards

    @property
    def several(self) -> bool:
        """More than one Dashboard shares the grid."""
        return len(self.dashboards) > 1

    def link_for(self, key: int) -> DashboardLink:
        """The Dashboard of a server's fleet key."""
        index = self.store.index_of(key)
        return self.dashboards[index] if 0 <= index < len(self.dashboards) else self.dashboards[0]

    def client_for(self, key: int) -> DashboardClient:
        """The REST client of a server's own Dashboard (its auth, its guest limits)."""
        return self.link_for(key).client

    # what was one Dashboard's before several could share the app: the first link's, read-only
    # (``stream_status``: when several, a live one's, so the grid as a whole is not dimmed;
    # ``setting`` and ``frame_applied_at`` can be set, for tests of one Dashboard)

    @property
    def stream(self) -> FrameSource | None:
        return self.dashboards[0].stream

    @property
    def stream_status(self) -> StreamStatus | None:
        links = self.dashboards
        if len(links) > 1:
            for link in links:
                if link.state is StreamState.LIVE:
                    return link.stream_status
        return links[0].stream_status

    @property
    def stream_running(self) -> bool:
        return any(link.stream_running for link in self.dashboards)

    @property
    def setting(self) -> Setting | None:
        return self.dashboards[0].setting

    @setting.setter
    def setting(self, value: Setting | None) -> None:
        self.dashboards[0].setting = value

    @property
    def groups_answered(self) -> bool:
        """Every Dashboard's first server-groups request ended (answered, even with none, or failed)."""
        return all(link.groups_answered for link in self.dashboards)

    @property
    def frames_received(self) -> int:
        return sum(link.frames_received for link in self.dashboards)

    @property
    def last_frame_at(self) -> float | None:
        times = [link.last_frame_at for link in self.dashboards if link.last_frame_at is not None]
        return max(times) if times else None

    @property
    def frame_applied_at(self) -> float | None:
        return self.dashboards[0].frame_applied_at

    @frame_applied_at.setter
    def frame_applied_at(self, value: float | None) -> None:
        self.dashboards[0].frame_applied_at = value

    def _worker_group(self, kind: str, link: DashboardLink) -> str:
        """The worker group of one Dashboard's ``kind`` of work (``"stream"``, ``"groups"``,
        ``"setting"``): the bare kind when there is one Dashboard."""
        return f"{kind}-{link.index}" if self.several else kind

    def _start(self, kind: str, link: DashboardLink, work: Awaitable[None], *, exclusive: bool = False) -> None:
        """Run one Dashboard's ``kind`` of work in its worker group (errors are the work's own business)."""
        group = self._worker_group(kind, link)
        self.run_worker(work, name=group, group=group, exclusive=exclusive, exit_on_error=False)

    def _label(self, link: DashboardLink, text: str) -> str:
        """``text`` prefixed with the Dashboard's name when several share the app."""
        return f"{link.name}: {text}" if self.several and link.name else text

    # ------------------------------------------------------------------ lifecycle

    def get_css_variables(self) -> dict[str, str]:
        """Textual's variables, plus :data:`~nezha_tui.ui.styles.NO_COLOR_KEY` under NO_COLOR
        and :data:`~nezha_tui.ui.styles.DARK_KEY`, and the colours derived from the theme
        (severity, selection: :func:`~nezha_tui.ui.styles.css_variables`).  Code that styles
        Rich text from ``app.theme_variables`` (the same dict) reads them from there; CSS uses
        ``$nezha-warn`` etc. and the ``:nocolor`` pseudo-class."""
        from nezha_tui.ui.styles import DARK_KEY, NO_COLOR_KEY, css_variables

        variables = super().get_css_variables()
        if self.no_color:
            variables[NO_COLOR_KEY] = "1"
        theme = self.get_theme(self.theme)
        variables[DARK_KEY] = "0" if theme is not None and not theme.dark else "1"
        variables.update(css_variables(variables))
        return variables

    def get_default_screen(self) -> Screen:
        from nezha_tui.ui.screens.fleet import FleetScreen

        return FleetScreen()

    def on_mount(self) -> None:
        if self.wall:
            self.add_class("-wall")
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.call_after_refresh(self._report_settings_problems)
        self.alerts.start()
        for link in self.dashboards:
            link.stream_running = True  # until the worker starts
            self._start("stream", link, self._stream_main(link))
            self._start("setting", link, self._load_setting(link))
        self.refresh_groups()
        if self.start_timers:
            self.set_interval(max(5.0, self.groups_interval), self.refresh_groups, name="groups")
            self.set_interval(1.0, self._tick, name="tick")
            if self.wall:
                self.set_interval(self.wall, self.wall_tick, name="wall")

    async def on_unmount(self) -> None:
        self.gc_pause.resume()
        self._stop_stream()
        self._save_settings()
        await self.alerts.close()

    async def action_quit(self) -> None:
        self._stop_stream()  # close the socket cleanly rather than by cancellation
        self.exit()

    def _stop_stream(self) -> None:
        for link in self.dashboards:
            stream = link.stream
            if stream is not None:
                try:
                    stream.stop()
                except Exception:
                    log.exception("stopping the stream failed")

    def _make_stream(self, link: DashboardLink) -> FrameSource:
        factory = self.stream_factory
        if factory is None:
            from nezha_tui.api.stream import FleetStream

            factory = FleetStream

        def on_frame(frame: StreamFrame, report: DecodeReport | None = None) -> None:
            self._on_frame(frame, report, link)

        def on_status(status: StreamStatus) -> None:
            self._on_status(status, link)

        return factory(link.client, on_frame=on_frame, on_status=on_status, on_receive=self.gc_pause.pause,
                       **self.stream_options)

    async def _stream_main(self, link: DashboardLink | None = None) -> None:
        """Run one Dashboard's stream; in wall mode, forever (a stopped stream is started again later)."""
        link = link or self.dashboards[0]
        fruitless = 0
        while True:
            frames_before = link.frames_received
            link.stream_running = True
            try:
                link.stream = stream = self._make_stream(link)
                await stream.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("stream failed")
                self.report_error(f"stream:{link.index}",
                                  self._label(link, f"Live stream stopped: {_error_message(exc)}"))
            finally:
                link.stream_running = False
            if not self.wall:
                return
            fruitless = 0 if link.frames_received > frames_before else fruitless + 1
            await asyncio.sleep(self.wall_retry_delay(fruitless))

    def retry_stream(self) -> bool:
        """Start the streams that gave up again (refused credentials, a stop): ``r``.

        Not while every stream runs (one stream at a time per Dashboard), nor within
        :data:`RETRY_PAUSE` s of the last retry (a Dashboard's firewall blocks an address
        longer with every failed login).  The client forgets the refused login so it tries
        once more.  ``True`` when a new stream was started.
        """
        stopped = [link for link in self.dashboards if not link.stream_running]
        if not stopped:
            self.notify("Already connected or connecting", timeout=3, kind="connection")
            return False
        now = self.clock()
        recent = [link.retried_at for link in stopped if link.retried_at is not None and now - link.retried_at < RETRY_PAUSE]
        if recent:
            wait = int(RETRY_PAUSE - (now - max(recent)) + 0.999)
            self.notify(f"Wait {wait} s before retrying", timeout=3, kind="connection")
            return False
        for link in stopped:
            link.retried_at = now
            self._reported.pop(f"stream:{link.index}", None)
            link.client.forget_auth_failure()
            link.stream_running = True  # until the worker starts: a second r must not start another
            self._start("stream", link, self._stream_main(link), exclusive=True)
            self._start("groups", link, self._load_groups(link), exclusive=True)
            if link.setting is None:
                self._start("setting", link, self._load_setting(link), exclusive=True)
        return True

    @property
    def login_refused(self) -> bool:
        """Every Dashboard refused the login before any frame came: nothing to show but why."""
        return all(link.login_refused for link in self.dashboards)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No pause or bell keys before there is data; no services key after a refused login; the
        events key before the first frame only when the log file held earlier events."""
        if action in ("toggle_pause", "toggle_bells") and not self.store.frames:
            return False
        if action == "open_services" and self.login_refused:
            return False
        if action == "open_events" and not self.store.frames and not len(self.events):
            return False  # before any frame: only when earlier runs left events to read
        return True

    def wall_retry_delay(self, fruitless: int) -> float:
        """Wait before the wall starts a stopped stream again, after ``fruitless`` runs in a row
        that showed no frame (a run that did resets it to 0).

        ``wall_retry`` (300 s), doubling with each fruitless run up to an hour: a Dashboard
        that keeps refusing the credentials bans the address that keeps trying.
        """
        return min(max(self.wall_retry, WALL_RETRY_MAX), self.wall_retry * 2 ** max(0, fruitless - 1))

    # ------------------------------------------------------------------ stream callbacks

    def _on_frame(self, frame: StreamFrame, report: DecodeReport | None = None,
                  link: DashboardLink | None = None) -> None:
        link = link or self.dashboards[0]
        started = time.perf_counter()
        link.last_frame_at = self.clock()
        if report is not None and (report.dropped_servers or report.bad_fields):
            log.warning("frame decode report (%s): %s", link.name, report)
        link.frames_received += 1
        if report is not None and not report.clean:
            self.frames_repaired += 1
        if not self.paused:
            self.gc_pause.pause()  # (already paused when the stream told of the bytes)
        store = self.store
        try:
            own = link.store.apply(frame, report)  # paused: recorded, the picture stays (the store is frozen)
            change = own if store is link.store else store.absorb(link.index, own)  # type: ignore[union-attr]
            if not self.paused:
                link.frame_applied_at = self.clock()
        except Exception as exc:  # a bad frame must never take the app down
            log.exception("applying a frame failed")
            self.gc_pause.resume()
            self.report_error(f"frame:{link.index}",
                              self._label(link, f"A frame could not be read: {_error_message(exc)}"))
            return
        if self.paused:
            self.held_frames += 1
            went_offline, came_online = self._paused_flips
            went_offline |= change.went_offline
            came_online |= change.came_online
            link.store.settle()  # nothing to paint: record the recent values now
            self.gc_pause.resume()
            self.state_changed.publish(PauseChanged(True, self.held_frames))  # the mark's count
            self.alerts.on_frame(link.index, own)  # events go on while the picture is paused
            return
        applied = time.perf_counter()
        received = link.stream.received_at if link.stream is not None else None
        sample = FrameSample(started, applied, applied, servers=len(link.store), changed=len(change.changed),
                             received=received if isinstance(received, float) and received <= started else None,
                             dashboard=link.index)
        if not self.several:
            self.fleet_changed.publish(change)
            sample.handled = time.perf_counter()
            self._alert(change)
            self.alerts.on_frame(link.index, own)
            self._painting([sample], change.first)
            return
        # Several Dashboards: frames that arrive together are published (and painted) once.
        if self._pending is not None and link.index in self._pending_from:
            self._publish_pending()  # a second frame of the same Dashboard: the first goes out on its own
        if self._pending is None:
            self._pending = change
            self.call_later(self._publish_pending)
        else:
            merge_changes(self._pending, change)
        self._pending_from.add(link.index)
        self._pending_samples.append(sample)
        self._alert(change)
        self.alerts.on_frame(link.index, own)

    def _publish_pending(self) -> None:
        """Publish the frames taken in since the last paint, as one change (several Dashboards)."""
        change, self._pending = self._pending, None
        samples, self._pending_samples = self._pending_samples, []
        self._pending_from = set()
        if change is None:
            return
        self.fleet_changed.publish(change)
        handled = time.perf_counter()
        for sample in samples:
            sample.handled = handled
        self.perf.merged += max(0, len(samples) - 1)
        self._painting(samples, change.first)

    def _painting(self, samples: list[FrameSample], first: bool) -> None:
        """Once the frames are on screen: their timings, then the bookkeeping that can wait."""
        for sample in samples:
            self.perf.record(sample)
            self.call_after_refresh(self.perf.painted, sample)
        self.call_after_refresh(self.store.settle)  # plot-only bookkeeping, once the frame is shown
        if first:
            self.call_after_refresh(gc_policy.freeze_long_lived)  # the long-lived objects exist now
        self.call_after_refresh(self.gc_pause.resume)

    def _on_status(self, status: StreamStatus, link: DashboardLink | None = None) -> None:
        link = link or self.dashboards[0]
        self.gc_pause.resume()  # e.g. a malformed frame: bytes came, no frame to paint
        previous = link.stream_status
        link.stream_status = status
        state = status.state
        prev = previous.state if previous is not None else None
        kind = f"connection:{link.index}" if self.several else "connection"
        if state is StreamState.LIVE:
            if link.was_live and prev is not None and prev is not StreamState.LIVE:
                self._toast(self._label(link, "Connection restored"), "information", kind=kind)
            link.was_live = True
        elif state in (StreamState.STALE, StreamState.RECONNECTING) and prev is StreamState.LIVE:
            message = status.message or "no frames"
            self._toast(self._label(link, f"Connection lost: {message}"), "warning", kind=kind)
        elif state is StreamState.AUTH_FAILED and prev is not StreamState.AUTH_FAILED and link.store.frames:
            # (before the first frame the fleet screen's panel says it, with the fix: no toast)
            message = status.message or "the Dashboard refused the credentials"
            guest = link.client.credentials.mode == "guest"
            self._toast(self._label(link, message if guest else f"Authentication failed: {message} (r retries)"),
                        "error", timeout=30, kind=kind)
        if self.several:
            stale = self.store.set_stale(link.index, link.stale)  # type: ignore[union-attr]
            if stale:
                self.fleet_changed.publish(stale)  # its rows: dimmed and marked, or live again
            self.stream_status_changed.publish(self.stream_status or status)
        else:
            self.stream_status_changed.publish(status)
        self.alerts.on_status(link.index, status)

    # ------------------------------------------------------------------ alerts

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False, kind: str | None = None) -> None:
        """Every toast is plain text, never markup (issue 9): a server, group or error text
        holding ``[/]`` must not crash the app, nor ``[HK]`` lose its tag.  Widgets'
        ``notify`` passes ``markup=True`` by default, so the flag is ignored here.

        ``kind`` (e.g. ``"group"``, ``"connection"``): a toast of that kind replaces the
        previous one still on screen instead of stacking on it."""
        notification = Notification(sanitise(str(message)), sanitise(str(title)), severity,
                                    self.NOTIFICATION_TIMEOUT if timeout is None else timeout, markup=False)
        if kind is not None:
            previous = self._toast_kinds.get(kind)
            self._toast_kinds[kind] = notification
            if previous is not None:
                # queued behind the previous toast's own Notify message, so it is removed
                # even when both were raised in one handler
                self.call_later(self._drop_notification, previous)
        self.post_message(Notify(notification))

    def _drop_notification(self, notification: Notification) -> None:
        """Take a toast off the screen (Textual has no public call for one toast; a test
        of toast kinds fails if this internal changes)."""
        try:
            self._unnotify(notification)
        except Exception:  # a Textual upgrade that renamed it: toasts stack again, no crash
            log.exception("removing a toast failed")

    def _toast(self, message: str, severity: str = "information", timeout: float | None = None,
               kind: str | None = None) -> None:
        self.notify(message, severity=severity, timeout=timeout, kind=kind)
        if self.bells:
            self.bell()

    def _names(self, ids: Iterable[int], limit: int = 3) -> str:
        names = []
        ids = list(ids)
        position = self.store.position
        ids.sort(key=lambda sid: position.get(sid, 0))
        store = self.store
        for key in ids[:limit]:
            server = store.servers.get(key)
            name = server.name if server is not None and server.name else f"#{store.server_id(key)}"
            if store.several:  # which Dashboard's: two may have a server of that name
                name += f" ({store.name_of(key)})"
            names.append(name)
        text = ", ".join(names)
        if len(ids) > limit:
            text += f" and {len(ids) - limit} more"
        return text

    def _alert(self, change: FleetChange) -> None:
        """One offline toast and one back-online toast at most: a flip while the last one of
        its kind is still shown adds its servers to it (new toast, same kind) instead of
        stacking a second one."""
        if change.first:
            return
        offline, online = self._alert_ids
        if change.went_offline:
            offline = self._still_shown("offline", offline) | change.went_offline
            online -= change.went_offline
            n = len(offline)
            text = (f"{self._names(offline)} is offline" if n == 1
                    else f"{n} servers went offline: {self._names(offline)}")
            self._toast(text, "warning", kind="offline")
        if change.came_online:
            online = self._still_shown("online", online) | change.came_online
            offline -= change.came_online
            n = len(online)
            text = (f"{self._names(online)} is back online" if n == 1
                    else f"{n} servers are back online: {self._names(online)}")
            self._toast(text, "information", kind="online")
        self._alert_ids = (offline, online)

    def _still_shown(self, kind: str, ids: set[int]) -> set[int]:
        """``ids`` while the last toast of ``kind`` is on screen, else none."""
        last = self._toast_kinds.get(kind)
        return ids if last is not None and not last.has_expired else set()

    def report_error(self, key: str, message: str, severity: str = "error") -> None:
        """Notify once per distinct message for ``key`` (a minute timer must not toast every minute)."""
        if self._reported.get(key) == message:
            return
        self._reported[key] = message
        self.notify(message, severity=severity, timeout=10, kind=f"error:{key}")

    # ------------------------------------------------------------------ REST data

    async def _fetch(self, key: str, what: str, request: Callable[[], Awaitable[Any]],
                     link: DashboardLink | None = None) -> Any:
        """One REST answer, or ``_FAILED`` after a one-time warning (cleared by the next success)."""
        link = link or self.dashboards[0]
        try:
            answer = await request()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("%s failed: %s", key, _error_message(exc))
            if link.store.frames:
                # (before the first frame the fleet screen says why the stream has none, once;
                # the groups timer asks again and tells then if it still fails)
                self.report_error(key, self._label(link, f"{what}: {_error_message(exc)}"), "warning")
            return _FAILED
        self._reported.pop(key, None)
        return answer

    async def _load_setting(self, link: DashboardLink | None = None) -> None:
        link = link or self.dashboards[0]
        key = f"setting:{link.index}" if self.several else "setting"
        setting = await self._fetch(key, "Site settings", link.client.setting, link)
        if setting is _FAILED:
            return
        link.setting = setting
        site = setting.config.site_name
        link.store.site_name = site
        if self.several:
            if site and not link.named and link.name != site:
                link.name = site  # a bare URL: its site name is its label
                renamed = self.store.set_name(link.index, site)  # type: ignore[union-attr]
                if renamed:
                    self.fleet_changed.publish(renamed)
                    self.state_changed.publish(GroupsChanged())
            self.sub_title = " · ".join(link.name for link in self.dashboards)
        elif site:
            self.sub_title = site
        self.state_changed.publish(SettingLoaded(setting))

    def refresh_groups(self) -> None:
        for link in self.dashboards:
            self._start("groups", link, self._load_groups(link), exclusive=True)
            if link.setting is None and link.store.frames:
                self._start("setting", link, self._load_setting(link), exclusive=True)

    async def _load_groups(self, link: DashboardLink | None = None) -> None:
        link = link or self.dashboards[0]
        key = f"groups:{link.index}" if self.several else "groups"
        groups = await self._fetch(key, "Server groups", link.client.server_groups, link)
        first = not link.groups_answered
        link.groups_answered = True  # even a failure: a saved group waits no longer (the fleet screen)
        changed = groups is not _FAILED and link.store.set_groups(groups or [])
        if changed and self.several:
            self.store.absorb_groups(link.index)  # type: ignore[union-attr]
        if changed or first:
            self.state_changed.publish(GroupsChanged())  # no server changed: views re-filter on it

    # ------------------------------------------------------------------ settings that stay

    @property
    def ui_settings(self) -> UiSettings:
        return self.settings.current

    def remember(self, **changes: Any) -> None:
        """Record UI choices (:class:`~nezha_tui.settings.UiSettings` fields); saved a moment later
        (and at exit), once for a burst of changes."""
        if self.settings.remember(**changes) and self._settings_timer is None and self.is_running:
            self._settings_timer = self.set_timer(SETTINGS_SAVE_DELAY, self._save_settings, name="settings")

    def _save_settings(self) -> None:
        if self._settings_timer is not None:
            self._settings_timer.stop()
            self._settings_timer = None
        try:
            self.settings.flush()
        except SettingsError as exc:  # a read-only or broken config: one line, the app goes on
            log.warning("%s", exc)
            self.report_error("settings", f"Settings not saved: {exc}", "warning")

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self._theme_shown:  # the user's choice (the palette), not the start
            self._theme_shown = theme.name
            self.remember(theme=theme.name)

    def write_terminal(self, text: str) -> None:
        """Send an escape sequence to the terminal (a desktop notification) through the driver's
        writer, as Textual's own :meth:`bell` does (an internal: Textual is pinned to 8.2, and
        tests/test_ui_alerting.py checks it); headless, it is kept in :attr:`terminal_written`."""
        driver = self._driver
        if self.is_headless or driver is None:
            self.terminal_written.append(text)
            return
        try:
            driver.write(text)
        except Exception:
            log.exception("writing to the terminal failed")

    def _report_settings_problems(self) -> None:
        """One note for what the config's [ui], [keymap] and [alerts] held that could not be used."""
        problems = self.startup_problems + list(self.settings.problems)
        if self.settings.keymap:
            from nezha_tui.ui.keymap import clashes, unknown_ids

            unknown = unknown_ids(self.settings.keymap)
            if unknown:
                problems.append(f"keymap: no binding has the id {', '.join(repr(i) for i in unknown)}; "
                                "ignored (README lists the ids)")
            problems.extend(clashes(self.settings.keymap))
        for problem in problems:
            log.warning("%s", problem)
        if problems:
            more = f" (and {len(problems) - 1} more: --log FILE lists them)" if len(problems) > 1 else ""
            self.notify(f"{problems[0]}{more}", severity="warning", timeout=10)

    # ------------------------------------------------------------------ last line of defence

    def _fatal_error(self) -> None:
        """An exception no handler caught: one line for the user, the traceback to the log.

        Textual's own version prints a full traceback with local variables (which
        may hold the password or token) to the terminal.  This keeps Textual's
        behaviour otherwise: the app exits with return code 1, and under a test
        pilot the exception is still re-raised (``_handle_exception`` records it
        before calling this).  The line is the exception's first line, redacted
        (the client's own password and token too, registered or not).

        Private Textual API (``_fatal_error``, ``_exception``, ``_exit_renderables``,
        ``_close_messages_no_wait``): Textual has no public hook for what an uncaught
        exception prints; tests/test_ui_crash.py checks this against the pinned version.
        """
        import sys

        from rich.text import Text

        from nezha_tui.logsetup import one_line

        exc = sys.exc_info()[1] or self._exception
        log.error("unexpected error; the app stops", exc_info=exc)
        line = f"nezha-tui: unexpected error: {type(exc).__name__}: {exc}" if exc else "nezha-tui: unexpected error"
        for link in self.dashboards:
            credentials = link.client.credentials
            for secret in (credentials.password, credentials.token):
                if secret:
                    line = line.replace(secret, "***")
        self._exit_renderables.append(Text(one_line(line, 500) + " (run with --log FILE for details)"))
        self._close_messages_no_wait()

    # ------------------------------------------------------------------ clocks

    def dashboard_origin(self) -> str:
        """Where the app connects, for people: scheme, host and port (no path, no credentials)."""
        return fmt_origin(self.client.base_url)

    def credentials_mode(self) -> str:
        """What the client signs in with: ``"guest"``, ``"password"``, ``"access_token"`` (nzp_)
        or ``"jwt"`` (a JWT given as the token)."""
        credentials = self.client.credentials
        if credentials.mode == "token":
            return "access_token" if credentials.is_access_token else "jwt"
        return str(credentials.mode)

    def frame_age(self) -> float | None:
        """Seconds since the last frame arrived (app clock), or ``None`` before the first
        (several Dashboards: the freshest one's)."""
        ages = [age for age in (link.frame_age() for link in self.dashboards) if age is not None]
        return min(ages) if ages else None

    def fleet_now(self) -> float:
        """The Dashboard's clock now, in unix seconds: the latest frame's ``now`` advanced by
        the time elapsed since that frame arrived (app clock).  What ages are measured with.
        Several Dashboards: the newest of their clocks (taken to be in step)."""
        if self.several:
            nows = [now for now in (link.now() for link in self.dashboards) if now is not None]
            return max(nows) if nows else self.store.now_ms / 1000.0
        now = self.store.now_ms / 1000.0
        applied = self.frame_applied_at
        if applied is not None:
            try:
                now += max(0.0, self.clock() - applied)
            except Exception:  # an odd injected clock: the frame's own time
                pass
        return now

    def _tick(self) -> None:
        self.gc_pause.resume()  # backstop: a frame whose paint never came (1 s ago at most)
        self.state_changed.publish(Tick())

    # ------------------------------------------------------------------ actions

    def action_toggle_pause(self) -> None:
        """Freeze the picture (the store keeps recording), or catch up: one repaint with all
        that changed meanwhile and one toast that sums up the alerts, not one per frame."""
        self.paused = not self.paused
        if self.paused:
            self.store.freeze()
            self.held_frames = 0
            self._paused_flips = (set(), set())
            self.notify("Paused: the picture is frozen, the recording goes on", timeout=3, kind="pause")
            self.state_changed.publish(PauseChanged(True))
            return
        held, self.held_frames = self.held_frames, 0
        flips, self._paused_flips = self._paused_flips, (set(), set())
        change = self.store.thaw()
        for link in self.dashboards:
            if link.last_frame_at is not None:
                link.frame_applied_at = link.last_frame_at  # the picture now shows the latest frame
        self.state_changed.publish(PauseChanged(False))
        if change:
            self.fleet_changed.publish(change)
            self.call_after_refresh(self.store.settle)
        self._pause_summary(change, held, *flips)

    def _pause_summary(self, change: FleetChange, held: int, went_offline: set[int], came_online: set[int]) -> None:
        """One toast on resume: the net flips, and the servers that flipped and flipped back."""
        parts = []
        if change.went_offline:
            n = len(change.went_offline)
            parts.append(f"{self._names(change.went_offline)} {'is' if n == 1 else 'are'} offline")
        if change.came_online:
            n = len(change.came_online)
            parts.append(f"{self._names(change.came_online)} {'is' if n == 1 else 'are'} back online")
        bounced = ((went_offline | came_online) - change.flipped) & self.store.servers.keys()
        if bounced:
            n = len(bounced)
            parts.append(f"{self._names(bounced)} went off- or online and back meanwhile")
        frames = f"{held} frame{'s' if held != 1 else ''}"
        if parts:
            self._toast(f"Resumed ({frames} caught up): " + "; ".join(parts),
                        "warning" if change.went_offline else "information", kind="pause")
        else:
            self.notify(f"Resumed ({frames} caught up)", timeout=3, kind="pause")

    def action_toggle_bells(self) -> None:
        self.bells = not self.bells
        self.remember(bell=self.bells)
        self.notify("Bell on alerts: on" if self.bells else "Bell on alerts: off", timeout=3, kind="bell")
        self.state_changed.publish(BellToggled(self.bells))

    def action_open_server(self, key: int) -> None:
        """Open the detail screen of the server with this fleet key."""
        try:
            from nezha_tui.ui.screens.server_detail import ServerDetailScreen

            screen = ServerDetailScreen(key)
        except Exception as exc:
            log.info("server detail unavailable: %s", exc)
            self.notify("Server details are not available in this build", severity="warning", timeout=4)
            return
        self.push_screen(screen)

    def action_open_shell(self, key: int) -> None:
        """A shell on the server with this fleet key, after a question (:mod:`nezha_tui.ui.shell`)."""
        from nezha_tui.ui.shell import ask_and_open_shell

        ask_and_open_shell(self, key)

    def action_open_services(self) -> None:
        screen = self._services_screen()
        if screen is None:
            self.notify("The services overview is not available in this build", severity="warning", timeout=4)
            return
        self.push_screen(screen)

    def action_open_events(self) -> None:
        from nezha_tui.ui.screens.events import EventsScreen

        if isinstance(self.screen, EventsScreen):
            return
        self.push_screen(EventsScreen())

    def _services_screen(self) -> Screen | None:
        try:
            from nezha_tui.ui.screens.services import ServicesScreen

            return ServicesScreen()
        except Exception as exc:
            log.info("services screen unavailable: %s", exc)
            return None

    def action_help(self) -> None:
        """``?`` of the screen on top (every nezha-tui screen has its own)."""
        from nezha_tui.ui.screens.base import NezhaModalScreen, NezhaScreen

        screen = self.screen
        if isinstance(screen, (NezhaScreen, NezhaModalScreen)):
            screen.action_help()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: the actions of the screen it was opened on (with their keys), then Textual's."""
        from nezha_tui.ui.screens.base import NezhaModalScreen, NezhaScreen

        if isinstance(screen, (NezhaScreen, NezhaModalScreen)):
            for title, text, action in screen.palette():

                def run(action: str = action, screen: Screen = screen) -> None:
                    self.call_later(screen.run_action, action)

                yield SystemCommand(title, text, run)
        yield from super().get_system_commands(screen)

    # ------------------------------------------------------------------ wall mode

    def services_page_available(self) -> bool:
        try:
            return importlib.util.find_spec("nezha_tui.ui.screens.services") is not None
        except (ImportError, ValueError):
            return False

    def wall_tick(self) -> None:
        """Advance the wall screen by one page (called every ``wall`` seconds)."""
        from nezha_tui.ui.screens.fleet import FleetScreen

        try:
            top = self.screen
            if self.wall_services_page is not None and top is self.wall_services_page:
                self.wall_services_page = None
                self.pop_screen()
                base = self.screen
                if isinstance(base, FleetScreen):
                    base.wall_first_page()
                return
            if not isinstance(top, FleetScreen):
                # somebody opened another screen on the wall; give it a minute, then come back
                self._wall_foreign_ticks += 1
                if self._wall_foreign_ticks * (self.wall or 15) >= 60:
                    self._wall_foreign_ticks = 0
                    while len(self.screen_stack) > 1 and not isinstance(self.screen, FleetScreen):
                        self.pop_screen()
                return
            self._wall_foreign_ticks = 0
            wrapped = top.wall_next_page()
            if wrapped and self.services_page_available():
                page = self._services_screen()
                if page is not None:
                    self.wall_services_page = page
                    self.push_screen(page)
        except Exception:
            log.exception("wall tick failed")
