"""``nezha-tui watch``: the stream, the events, the rules and the hook, without a UI.

One line per event on stdout (``--json``: one JSON object per line), flushed at once; it
reconnects forever like the wall; exit 0 on SIGINT/SIGTERM, 1 with one line when the
Dashboard refuses the credentials.  No Textual is imported.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from nezha_tui.alerts.event import Event
from nezha_tui.alerts.pipeline import AlertPipeline, event_line
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.store import FleetStore

__all__ = ["Watcher", "SERVICES_INTERVAL", "GROUPS_INTERVAL"]

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
                 wall_clock: Callable[[], float] = time.time) -> None:
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
        self._reported: set[str] = set()
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
            self.stop()

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
            self._problem(f"a frame could not be read: {exc}")
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
            await self.pipeline.close(hook_wait=HOOK_DRAIN)
            try:
                await self.client.aclose()
            except Exception:
                log.exception("closing the client failed")
        if self.refused is not None:
            self._problem(f"the Dashboard refused the credentials: {self.refused}")
            return 1
        return 0
