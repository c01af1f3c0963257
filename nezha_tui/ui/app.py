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
import gc
import importlib.util
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.signal import Signal

from nezha_tui.api.sanitise import sanitise
from nezha_tui.store import FleetChange, FleetStore
from nezha_tui.ui.commands import bindings_for

__all__ = ["NezhaApp", "FramePerf", "FrameSample"]

log = logging.getLogger("nezha_tui.ui")

_FAILED = object()  # what NezhaApp._fetch returns when the request failed (None can be an answer)


def _error_message(exc: BaseException) -> str:
    """One human line for an exception, without secrets (NezhaError carries one)."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    return f"{type(exc).__name__}: {exc}"[:200] if str(exc) else type(exc).__name__


_frozen = False


def _freeze_long_lived() -> None:
    """Take what exists after the first frame out of the cyclic GC's view (once per process).

    By then the app's long-lived objects exist: modules, widgets, CSS, the first fleet -
    100,000+ objects.  Python's full collections re-scan all of them; with a frame's worth
    of allocations (Textual's strips, decoded lists) one runs every few frames and pauses
    that frame by 50-100 ms.  ``gc.freeze()`` moves them to a permanent generation that
    collections skip (reference counting still frees them).  ``gc.collect()`` first, so no
    garbage is frozen.  Once per process: a test run builds many apps, and objects frozen
    with one of them are never reclaimed by the cyclic GC.
    """
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()


WALL_RETRY_MAX = 3600.0
"""Longest wait (s) before the wall tries a refused stream again."""


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
        client: Any,
        *,
        wall: float | None = None,
        online_window: float = 30.0,
        bells: bool = False,
        stream_factory: Callable[..., Any] | None = None,
        title: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = datetime.now,
        groups_interval: float = 60.0,
        stream_options: dict[str, Any] | None = None,
        start_timers: bool = True,
        wall_retry: float = 300.0,
    ) -> None:
        super().__init__()
        self.client = client
        self.wall = float(wall) if wall else None
        self.bells = bells
        self.store = FleetStore(online_window=online_window)
        self.setting: Any = None
        self.stream: Any = None
        self.stream_status: Any = None
        self.stream_factory = stream_factory
        self.stream_options = dict(stream_options or {})
        self.clock = clock
        self.wall_clock = wall_clock
        self.groups_interval = groups_interval
        self.start_timers = start_timers
        self.wall_retry = wall_retry
        self.perf = FramePerf()
        self.paused = False
        self.held_frames = 0
        """Frames recorded while paused (the picture shows none of them)."""
        self._paused_flips: tuple[set[int], set[int]] = (set(), set())
        """Ids that went offline / came online in some frame recorded while paused."""
        self.frames_received = 0
        self.frames_repaired = 0
        """Frames in which the decoder repaired a field or dropped a server (the header counts them)."""
        self.last_frame_at: float | None = None
        self.frame_applied_at: float | None = None
        """App clock when the store took in its latest frame (ages advance from there)."""
        self._was_live = False
        self._reported: dict[str, str] = {}
        self._wall_foreign_ticks = 0
        self._gc_paused = False
        self.wall_services_page: Screen | None = None
        if title:
            self.title = title
        self.fleet_changed: Signal[FleetChange] = Signal(self, "fleet_changed")
        self.stream_status_changed: Signal[Any] = Signal(self, "stream_status_changed")
        self.state_changed: Signal[str] = Signal(self, "state_changed")
        """Published with a word ("pause", "bell", "setting", "groups") when app state changes."""

    # ------------------------------------------------------------------ lifecycle

    def get_css_variables(self) -> dict[str, str]:
        """Textual's variables, plus :data:`~nezha_tui.ui.drilldown.NO_COLOR_KEY` under NO_COLOR:
        code that styles Rich text from ``app.theme_variables`` then makes warnings and errors
        bold/underlined instead of relying on a colour (CSS uses the ``:nocolor`` pseudo-class)."""
        from nezha_tui.ui.drilldown import NO_COLOR_KEY

        variables = super().get_css_variables()
        if getattr(self, "no_color", False):
            variables[NO_COLOR_KEY] = "1"  # the same dict as self.theme_variables
        return variables

    def get_default_screen(self) -> Screen:
        from nezha_tui.ui.screens.fleet import FleetScreen

        return FleetScreen()

    def on_mount(self) -> None:
        if self.wall:
            self.add_class("-wall")
        self.run_worker(self._stream_main(), name="stream", group="stream", exit_on_error=False)
        self.run_worker(self._load_setting(), name="setting", group="setting", exit_on_error=False)
        self.refresh_groups()
        if self.start_timers:
            self.set_interval(max(5.0, self.groups_interval), self.refresh_groups, name="groups")
            self.set_interval(1.0, self._tick, name="tick")
            if self.wall:
                self.set_interval(self.wall, self.wall_tick, name="wall")

    async def on_unmount(self) -> None:
        self._resume_gc()
        self._stop_stream()

    async def action_quit(self) -> None:
        self._stop_stream()  # close the socket cleanly rather than by cancellation
        self.exit()

    def _stop_stream(self) -> None:
        stream = self.stream
        if stream is not None:
            try:
                stream.stop()
            except Exception:
                log.exception("stopping the stream failed")

    def _make_stream(self) -> Any:
        factory = self.stream_factory
        if factory is None:
            from nezha_tui.api.stream import FleetStream

            factory = FleetStream
        return factory(self.client, on_frame=self._on_frame, on_status=self._on_status, on_receive=self._pause_gc,
                       **self.stream_options)

    async def _stream_main(self) -> None:
        """Run the stream; in wall mode, forever (a stopped stream is started again later)."""
        fruitless = 0
        while True:
            frames_before = self.frames_received
            try:
                self.stream = self._make_stream()
                await self.stream.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("stream failed")
                self.report_error("stream", f"Live stream stopped: {_error_message(exc)}")
            if not self.wall:
                return
            fruitless = 0 if self.frames_received > frames_before else fruitless + 1
            await asyncio.sleep(self.wall_retry_delay(fruitless))

    def wall_retry_delay(self, fruitless: int) -> float:
        """Wait before the wall starts a stopped stream again, after ``fruitless`` runs in a row
        that showed no frame (a run that did resets it to 0).

        ``wall_retry`` (300 s), doubling with each fruitless run up to an hour: a Dashboard
        that keeps refusing the credentials bans the address that keeps trying.
        """
        return min(max(self.wall_retry, WALL_RETRY_MAX), self.wall_retry * 2 ** max(0, fruitless - 1))

    # ------------------------------------------------------------------ stream callbacks

    def _on_frame(self, frame: Any, report: Any = None) -> None:
        started = time.perf_counter()
        self.last_frame_at = self.clock()
        if report is not None and (getattr(report, "dropped_servers", 0) or getattr(report, "bad_fields", 0)):
            log.warning("frame decode report: %s", report)
        self.frames_received += 1
        if report is not None and not getattr(report, "clean", True):
            self.frames_repaired += 1
        if not self.paused:
            self._pause_gc()  # (already paused when the stream told of the bytes)
        try:
            change = self.store.apply(frame, report)  # paused: recorded, the picture stays (the store is frozen)
            if not self.paused:
                self.frame_applied_at = self.clock()
        except Exception as exc:  # a bad frame must never take the app down
            log.exception("applying a frame failed")
            self._resume_gc()
            self.report_error("frame", f"A frame could not be read: {_error_message(exc)}")
            return
        if self.paused:
            self.held_frames += 1
            went_offline, came_online = self._paused_flips
            went_offline |= change.went_offline
            came_online |= change.came_online
            self.store.settle()  # nothing to paint: record the recent values now
            self._resume_gc()
            self.state_changed.publish("pause")  # the mark's count
            return
        applied = time.perf_counter()
        self.fleet_changed.publish(change)
        handled = time.perf_counter()
        self._alert(change)
        received = getattr(self.stream, "received_at", None)
        sample = FrameSample(started, applied, handled, servers=len(self.store), changed=len(change.changed),
                             received=received if isinstance(received, float) and received <= started else None)
        self.perf.record(sample)
        self.call_after_refresh(self.perf.painted, sample)
        self.call_after_refresh(self.store.settle)  # plot-only bookkeeping, once the frame is shown
        if change.first:
            self.call_after_refresh(_freeze_long_lived)
        self.call_after_refresh(self._resume_gc)

    def _pause_gc(self) -> None:
        """No cyclic garbage collection from a frame's bytes arriving until it is on screen.

        Decoding and following a frame allocate thousands of objects (the frame's tuples,
        rows, strips and Textual's caches on each); the collector would run several times
        in the middle (~0.5-1 ms at 1,000 servers; one pass of 3-5 ms right after decoding
        10,000).  Paused, it runs once, after the paint.  Nothing is lost: reference counting
        frees as usual and the collector catches up at resume, which the paint, a status
        change, the 1 s tick or unmount brings.
        """
        if self._gc_paused:
            return
        if gc.isenabled():
            gc.disable()
            self._gc_paused = True

    def _resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()

    def _on_status(self, status: Any) -> None:
        self._resume_gc()  # e.g. a malformed frame: bytes came, no frame to paint
        previous = self.stream_status
        self.stream_status = status
        name = getattr(getattr(status, "state", None), "name", "")
        prev = getattr(getattr(previous, "state", None), "name", "")
        if name == "LIVE":
            if self._was_live and prev and prev != "LIVE":
                self._toast("Connection restored", "information")
            self._was_live = True
        elif name in ("STALE", "RECONNECTING") and prev == "LIVE":
            message = getattr(status, "message", "") or "no frames"
            self._toast(f"Connection lost: {message}", "warning")
        elif name == "AUTH_FAILED" and prev != "AUTH_FAILED":
            message = getattr(status, "message", "") or "the Dashboard refused the credentials"
            guest = getattr(getattr(self.client, "credentials", None), "mode", "") == "guest"
            self._toast(message if guest else f"Authentication failed: {message}", "error", timeout=30)
        self.stream_status_changed.publish(status)

    # ------------------------------------------------------------------ alerts

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast is plain text, never markup (issue 9): a server, group or error text
        holding ``[/]`` must not crash the app, nor ``[HK]`` lose its tag.  Widgets'
        ``notify`` passes ``markup=True`` by default, so the flag is ignored here."""
        kwargs: dict[str, Any] = {"title": sanitise(str(title)), "severity": severity, "markup": False}
        if timeout is not None:
            kwargs["timeout"] = timeout
        super().notify(sanitise(str(message)), **kwargs)

    def _toast(self, message: str, severity: str = "information", timeout: float | None = None) -> None:
        kwargs: dict[str, Any] = {"severity": severity}
        if timeout is not None:
            kwargs["timeout"] = timeout
        self.notify(message, **kwargs)
        if self.bells:
            self.bell()

    def _names(self, ids: Iterable[int], limit: int = 3) -> str:
        names = []
        ids = list(ids)
        position = self.store.position
        ids.sort(key=lambda sid: position.get(sid, 0))
        for sid in ids[:limit]:
            server = self.store.servers.get(sid)
            names.append(server.name if server is not None and server.name else f"#{sid}")
        text = ", ".join(names)
        if len(ids) > limit:
            text += f" and {len(ids) - limit} more"
        return text

    def _alert(self, change: FleetChange) -> None:
        if change.first:
            return
        if change.went_offline:
            n = len(change.went_offline)
            text = (f"{self._names(change.went_offline)} is offline" if n == 1
                    else f"{n} servers went offline: {self._names(change.went_offline)}")
            self._toast(text, "warning")
        if change.came_online:
            n = len(change.came_online)
            text = (f"{self._names(change.came_online)} is back online" if n == 1
                    else f"{n} servers are back online: {self._names(change.came_online)}")
            self._toast(text, "information")

    def report_error(self, key: str, message: str, severity: str = "error") -> None:
        """Notify once per distinct message for ``key`` (a minute timer must not toast every minute)."""
        if self._reported.get(key) == message:
            return
        self._reported[key] = message
        self.notify(message, severity=severity, timeout=10)

    # ------------------------------------------------------------------ REST data

    async def _fetch(self, key: str, what: str, request: Callable[[], Awaitable[Any]]) -> Any:
        """One REST answer, or ``_FAILED`` after a one-time warning (cleared by the next success)."""
        try:
            answer = await request()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("%s failed: %s", key, _error_message(exc))
            self.report_error(key, f"{what}: {_error_message(exc)}", "warning")
            return _FAILED
        self._reported.pop(key, None)
        return answer

    async def _load_setting(self) -> None:
        setting = await self._fetch("setting", "Site settings", self.client.setting)
        if setting is _FAILED:
            return
        self.setting = setting
        config = getattr(setting, "config", None)
        self.store.site_name = getattr(config, "site_name", "") or ""
        if self.store.site_name:
            self.sub_title = self.store.site_name
        self.state_changed.publish("setting")

    def refresh_groups(self) -> None:
        self.run_worker(self._load_groups(), name="groups", group="groups", exclusive=True,
                        exit_on_error=False)
        if self.setting is None and self.store.frames:
            self.run_worker(self._load_setting(), name="setting", group="setting", exclusive=True,
                            exit_on_error=False)

    async def _load_groups(self) -> None:
        groups = await self._fetch("groups", "Server groups", self.client.server_groups)
        if groups is _FAILED:
            return
        if self.store.set_groups(groups or []):
            self.fleet_changed.publish(FleetChange(now_ms=self.store.now_ms))
            self.state_changed.publish("groups")

    # ------------------------------------------------------------------ last line of defence

    def _fatal_error(self) -> None:
        """An exception no handler caught: one line for the user, the traceback to the log.

        Textual's own version prints a full traceback with local variables (which
        may hold the password or token) to the terminal.  This keeps Textual's
        behaviour otherwise: the app exits with return code 1, and under a test
        pilot the exception is still re-raised (``_handle_exception`` records it
        before calling this).
        """
        import sys

        from rich.text import Text

        from nezha_tui.logsetup import redact

        exc = sys.exc_info()[1] or self._exception
        log.error("unexpected error; the app stops", exc_info=exc)
        line = f"nezha-tui: unexpected error: {type(exc).__name__}: {exc}" if exc else "nezha-tui: unexpected error"
        self._exit_renderables.append(Text(redact(line)[:500] + " (run with --log FILE for details)"))
        self._close_messages_no_wait()

    # ------------------------------------------------------------------ clocks

    def frame_age(self) -> float | None:
        """Seconds since the last frame arrived (app clock), or ``None`` before the first."""
        if self.last_frame_at is None:
            status_at = getattr(self.stream_status, "last_frame_at", None)
            if not isinstance(status_at, (int, float)):
                return None
            return max(0.0, self.clock() - status_at)
        return max(0.0, self.clock() - self.last_frame_at)

    def fleet_now(self) -> float:
        """The Dashboard's clock now, in unix seconds: the latest frame's ``now`` advanced by
        the time elapsed since that frame arrived (app clock).  What ages are measured with."""
        now = self.store.now_ms / 1000.0
        if self.frame_applied_at is not None:
            try:
                now += max(0.0, self.clock() - self.frame_applied_at)
            except Exception:  # an odd injected clock: the frame's own time
                pass
        return now

    def _tick(self) -> None:
        self._resume_gc()  # backstop: a frame whose paint never came (1 s ago at most)
        self.state_changed.publish("tick")

    # ------------------------------------------------------------------ actions

    def action_toggle_pause(self) -> None:
        """Freeze the picture (the store keeps recording), or catch up: one repaint with all
        that changed meanwhile and one toast that sums up the alerts, not one per frame."""
        self.paused = not self.paused
        if self.paused:
            self.store.freeze()
            self.held_frames = 0
            self._paused_flips = (set(), set())
            self.notify("Paused: the picture is frozen, the recording goes on", timeout=3)
            self.state_changed.publish("pause")
            return
        held, self.held_frames = self.held_frames, 0
        flips, self._paused_flips = self._paused_flips, (set(), set())
        change = self.store.thaw()
        if self.last_frame_at is not None:
            self.frame_applied_at = self.last_frame_at  # the picture now shows the latest frame
        self.state_changed.publish("pause")
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
                        "warning" if change.went_offline else "information")
        else:
            self.notify(f"Resumed ({frames} caught up)", timeout=3)

    def action_toggle_bells(self) -> None:
        self.bells = not self.bells
        self.notify("Bell on alerts: on" if self.bells else "Bell on alerts: off", timeout=3)
        self.state_changed.publish("bell")

    def action_open_server(self, server_id: int) -> None:
        try:
            from nezha_tui.ui.screens.server_detail import ServerDetailScreen

            screen = ServerDetailScreen(server_id)
        except Exception as exc:
            log.info("server detail unavailable: %s", exc)
            self.notify("Server details are not available in this build", severity="warning", timeout=4)
            return
        self.push_screen(screen)

    def action_open_services(self) -> None:
        screen = self._services_screen()
        if screen is None:
            self.notify("The services overview is not available in this build", severity="warning", timeout=4)
            return
        self.push_screen(screen)

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
