"""``nezha-tui watch``: the stream, the events, the rules and the hook, without a UI.

One line per event on stdout (``--json``: one JSON object per line), flushed at once; it
reconnects forever like the wall; exit 0 on SIGINT/SIGTERM, 1 with one line when the
Dashboard refuses the credentials.  No Textual is imported.

Several Dashboards (:func:`run_watch`): one :class:`Watcher` each (its own client, stream, store,
detector and polls), all printing to the same output; their pipelines share one log file and one
hook.  Every line (and JSON object) names its Dashboard.  A Dashboard that refuses the credentials
is one line on stderr (``work: the Dashboard refused the credentials: ...``) and the others go on;
the exit status is 1 only when every one of them refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, Any

from nezha_tui.alerts.event import Event
from nezha_tui.alerts.pipeline import AlertPipeline, build_pipeline, build_pipelines, close_pipelines, event_line
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.store import FleetStore

__all__ = ["Watcher", "run_watch", "SERVICES_INTERVAL", "GROUPS_INTERVAL"]

log = logging.getLogger(__name__)

SERVICES_INTERVAL = 30.0
"""Seconds between service-overview fetches (service monitors, traffic quotas)."""
GROUPS_INTERVAL = 300.0
HOOK_DRAIN = 5.0
"""Seconds the hooks still running get at exit."""


class Watcher:
    """Runs one Dashboard's stream into an :class:`AlertPipeline` and prints its events.

    ``run()`` returns the exit status.  The stream (``stream_factory``, default
    :class:`~nezha_tui.api.stream.FleetStream`), the output and the clocks are injectable
    for tests.
    """

    def __init__(self, client: Any, pipeline: AlertPipeline, *, json_lines: bool = False,
                 out: IO[str] | None = None, err: IO[str] | None = None, online_window: float = 30.0,
                 stream_factory: Callable[..., Any] | None = None,
                 services_interval: float = SERVICES_INTERVAL, groups_interval: float = GROUPS_INTERVAL,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 label: str = "", reported: set[str] | None = None, close_pipeline: bool = True,
                 on_output_closed: Callable[[], None] | None = None) -> None:
        self.client = client
        self.pipeline = pipeline
        self.json_lines = json_lines
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.store = FleetStore(online_window=online_window)
        self.stream_factory = stream_factory
        self.services_interval = services_interval
        self.groups_interval = groups_interval
        self.clock = clock
        self.wall_clock = wall_clock
        self.stream: Any = None
        self.status: StreamStatus | None = None
        self.refused: str | None = None
        """Why the Dashboard refused the credentials (then ``run`` returns 1)."""
        self._applied_at: float | None = None
        self._stopping = False
        self.label = label
        """The Dashboard's name before this watcher's own problems (watching several), else ``""``."""
        self._reported: set[str] = reported if reported is not None else set()
        """Problems told already (shared by the watchers of one run: a shared log's problem once)."""
        self.close_pipeline = close_pipeline
        """Close the pipeline at the end of :meth:`run` (not when its log and hook are shared)."""
        self.on_output_closed = on_output_closed
        self._closed_output = False
        pipeline.on_events = self._print
        pipeline.on_problem = self._problem

    # ------------------------------------------------------------------ output

    def _print(self, events: list[Event], _changed: set[int]) -> None:
        if not events or self._closed_output:
            return
        if self.json_lines:
            text = "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events)
        else:
            text = "".join(event_line(e) + "\n" for e in events)
        try:
            self.out.write(text)
            self.out.flush()
        except (BrokenPipeError, ValueError, OSError):  # `watch | head`: the reader left
            self._closed_output = True
            (self.on_output_closed or self.stop)()

    def _own_problem(self, message: str) -> None:
        """A problem of this Dashboard's (its frames, its credentials): named when watching several."""
        self._problem(f"{self.label}: {message}" if self.label else message)

    def _problem(self, message: str) -> None:
        if message in self._reported:
            return
        self._reported.add(message)
        try:
            self.err.write(f"nezha-tui watch: {message}\n")
            self.err.flush()
        except (ValueError, OSError):
            pass

    # ------------------------------------------------------------------ clocks

    def dashboard_now_ms(self) -> int:
        """The Dashboard's clock now: the last frame's ``now`` advanced by the time since it came
        (before any frame: this machine's clock)."""
        if self._applied_at is None or self.store.now_ms <= 0:
            return int(self.wall_clock() * 1000)
        return int(self.store.now_ms + max(0.0, self.clock() - self._applied_at) * 1000)

    # ------------------------------------------------------------------ stream callbacks

    def _on_frame(self, frame: Any, report: Any = None) -> None:
        try:
            change = self.store.apply(frame, report)
        except Exception as exc:  # a bad frame never stops the watch
            log.exception("applying a frame failed")
            self._own_problem(f"a frame could not be read: {exc}")
            return
        self._applied_at = self.clock()
        self.pipeline.on_frame(change, self.store)
        self.store.settle()

    def _on_status(self, status: StreamStatus) -> None:
        self.status = status
        self.pipeline.on_stream(status.state.value, status.message, self.dashboard_now_ms())
        if status.state is StreamState.AUTH_FAILED:
            self.refused = status.message or "the Dashboard refused the credentials"

    # ------------------------------------------------------------------ run

    def stop(self) -> None:
        self._stopping = True
        stream = self.stream
        if stream is not None:
            try:
                stream.stop()
            except Exception:
                log.exception("stopping the stream failed")

    async def _poll(self, interval: float, fetch: Callable[[], Any], what: str) -> None:
        while not self._stopping:
            try:
                await fetch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                log.info("%s failed: %s", what, message)
            await asyncio.sleep(interval)

    async def _services(self) -> None:
        if self.store.frames == 0:
            return  # nothing to compare the clock with yet: the next round
        overview = await self.client.services()
        self.pipeline.on_services(overview, self.dashboard_now_ms())

    async def _groups(self) -> None:
        groups = await self.client.server_groups()
        self.store.set_groups(groups)

    async def run(self, install_signals: bool = True) -> int:
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.stop)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        factory = self.stream_factory
        if factory is None:
            from nezha_tui.api.stream import FleetStream

            factory = FleetStream
        tasks = [
            asyncio.ensure_future(self._poll(self.services_interval, self._services, "the services overview")),
            asyncio.ensure_future(self._poll(self.groups_interval, self._groups, "the server groups")),
        ]
        try:
            while not self._stopping:
                self.stream = factory(self.client, on_frame=self._on_frame, on_status=self._on_status)
                await self.stream.run()
                if self.refused is not None or self._stopping:
                    break
                await asyncio.sleep(5.0)  # the stream stopped by itself: start it again, like the wall
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.close_pipeline:
                await self.pipeline.close(hook_wait=HOOK_DRAIN)
            try:
                await self.client.aclose()
            except Exception:
                log.exception("closing the client failed")
        if self.refused is not None:
            self._own_problem(f"the Dashboard refused the credentials: {self.refused}")
            return 1
        return 0


@contextlib.asynccontextmanager
async def _stopped_by(event: asyncio.Event | None, stop: Callable[[], None]) -> AsyncIterator[None]:
    """While inside: ``stop()`` once ``event`` is set."""
    if event is None:
        yield
        return

    async def wait() -> None:
        await event.wait()
        stop()

    task = asyncio.ensure_future(wait())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _target(target: Any, online_window: float) -> tuple[str, Any, float]:
    """``(name, client)``, ``(name, client, online_window)`` or an object with ``name``, ``client``
    (and ``online_window``): the CLI's DashboardTarget."""
    if isinstance(target, tuple):
        name, client, *rest = target
        return str(name), client, float(rest[0]) if rest and rest[0] else online_window
    window = getattr(target, "online_window", None)
    return str(target.name), target.client, float(window) if window else online_window


async def run_watch(targets: Sequence[Any], config: Any, hook_argv: Sequence[str] = (), json_lines: bool = False,
                    online_window: float = 30.0, install_signals: bool = True, *,
                    keep_log: bool = True, out: IO[str] | None = None, err: IO[str] | None = None,
                    stop: asyncio.Event | None = None, **watcher_options: Any) -> int:
    """Watch one Dashboard or several (``targets``: ``(name, client)`` pairs, ``(name, client,
    online_window)`` or the CLI's DashboardTarget objects; ``config``: the AlertConfig) until SIGINT /
    SIGTERM (``install_signals``) or the output closes; returns the exit status.

    One Dashboard: exactly :class:`Watcher` (exit 1 when it refuses the credentials).  Several: one
    Watcher each, run together; their pipelines share one log file and one hook (closed once, at the
    end); a Dashboard that refuses the credentials is one line on stderr and the rest go on; exit 1
    only when every one refused.  ``watcher_options``: more :class:`Watcher` arguments (tests:
    ``stream_factory``, intervals, clocks); ``stop``: setting it stops the watch like a signal."""
    found = [_target(t, online_window) for t in targets]
    if not found:
        return 0
    if len(found) == 1:
        name, client, window = found[0]
        pipeline = build_pipeline(name, config, hook_argv=hook_argv, keep_log=keep_log)
        watcher = Watcher(client, pipeline, json_lines=json_lines, online_window=window, out=out, err=err,
                          **watcher_options)
        async with _stopped_by(stop, watcher.stop):
            return await watcher.run(install_signals=install_signals)
    pipelines = build_pipelines([name for name, _, _ in found], config, hook_argv=hook_argv, keep_log=keep_log,
                                keys=[None] * len(found))  # each its own feed: no fleet keys needed
    reported: set[str] = set()
    watchers: list[Watcher] = []

    def stop_all() -> None:
        for w in watchers:
            w.stop()

    for (name, client, window), pipeline in zip(found, pipelines, strict=True):
        watchers.append(Watcher(client, pipeline, json_lines=json_lines, online_window=window, out=out, err=err,
                                label=name, reported=reported, close_pipeline=False, on_output_closed=stop_all,
                                **watcher_options))
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    if install_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop_all)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
    try:
        async with _stopped_by(stop, stop_all):
            codes = await asyncio.gather(*(w.run(install_signals=False) for w in watchers),
                                         return_exceptions=True)
    finally:
        await close_pipelines(pipelines, hook_wait=HOOK_DRAIN)
        for sig in installed:
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
    for watcher, code in zip(watchers, codes, strict=True):
        if isinstance(code, BaseException):  # a watcher's own failure: the others went on
            log.error("watching %s failed", watcher.label, exc_info=code)
            if isinstance(code, (KeyboardInterrupt, SystemExit)):
                raise code
    if all(w.refused is not None for w in watchers):
        return 1
    return 0
