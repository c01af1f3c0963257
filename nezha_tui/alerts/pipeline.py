"""Where events go: the one path from the detector to the feed, the log file, the hook and the
terminal's notifications.  The app and ``nezha-tui watch`` both drive it (no Textual here).

Nothing in here may raise into the caller: a full disk, a missing hook program or a broken
rule costs one problem line (``on_problem``, once per cause), never the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.feed import EventFeed
from nezha_tui.alerts.rules import AlertConfig

if TYPE_CHECKING:
    from nezha_tui.alerts.detector import EventDetector
    from nezha_tui.alerts.eventlog import EventLog
    from nezha_tui.alerts.notify import HookRunner
    from nezha_tui.api.models import ServiceOverview
    from nezha_tui.store import FleetChange, FleetStore

__all__ = ["AlertPipeline", "NOTIFIED_SEVERITIES", "HISTORY_LOADED", "build_pipeline", "build_pipelines",
           "load_history", "close_pipelines"]

log = logging.getLogger(__name__)

NOTIFIED_SEVERITIES = frozenset({Severity.WARNING, Severity.CRITICAL, Severity.OK})
"""Terminal notifications for these (``info``: the log and the hook only)."""

NOT_NOTIFIED_KINDS = frozenset({EventKind.SUMMARY, EventKind.GAP})
"""Context, not news: logged, never pushed to the desktop."""

HISTORY_LOADED = 1000
"""Events of earlier runs read back from the log file at start."""


class AlertPipeline:
    """Detector -> feed (+ active alerts) -> log file -> hook -> notifier.

    ``notify`` is called for each event worth a desktop notification (see
    :data:`NOTIFIED_SEVERITIES`); the app turns it into an OSC sequence, ``watch`` ignores it.
    ``on_events`` is called once per batch with the new events and the fleet keys of the servers
    whose active alerts changed (the app publishes them to its screens; ``watch`` prints them).

    Several Dashboards: one pipeline each (its own detector, which names its Dashboard in every
    event), all sharing one feed, one log file and one hook (:func:`build_pipelines`).  ``key``
    maps the detector's server ids to fleet keys (:func:`nezha_tui.fleets.server_key` of the
    Dashboard's index) for the feed's active alerts and the keys given to ``on_events``; each
    pipeline sets its own part of the feed's active alerts (its Dashboard's name).
    """

    def __init__(
        self,
        detector: EventDetector,
        *,
        feed: EventFeed | None = None,
        log_file: EventLog | None = None,
        hook: HookRunner | None = None,
        notify: Callable[[Event], None] | None = None,
        on_events: Callable[[list[Event], set[int]], None] | None = None,
        on_problem: Callable[[str], None] | None = None,
        key: Callable[[int], int] | None = None,
    ) -> None:
        self.detector = detector
        self.feed = feed if feed is not None else EventFeed()
        self.log_file = log_file
        self.hook = hook
        self.notify = notify
        self.on_events = on_events
        self.on_problem = on_problem
        self._problems: set[str] = set()
        self._gap_checked = False
        self._active_version: int | None = None
        self.key = key
        """The detector's server id -> the server's fleet key (``None``: the id itself, one Dashboard)."""

    @property
    def dashboard(self) -> str:
        return self.detector.dashboard

    # ------------------------------------------------------------------ inputs

    def load_history(self, limit: int = HISTORY_LOADED) -> None:
        """Show what earlier runs logged for this Dashboard (not counted as unseen)."""
        load_history([self], limit)

    def on_frame(self, change: FleetChange, store: FleetStore) -> list[Event]:
        events: list[Event] = []
        if not self._gap_checked and store.now_ms > 0:
            self._gap_checked = True
            events += self._gap(store.now_ms)
        events += self._detect(lambda: self.detector.on_frame(change, store), "a frame")
        if self.log_file is not None and store.now_ms > 0:
            self._guard(lambda: self.log_file.watching(self.dashboard, store.now_ms), "the event log")
        return self._emit(events)

    def on_services(self, overview: ServiceOverview, now_ms: int) -> list[Event]:
        return self._emit(self._detect(lambda: self.detector.on_services(overview, now_ms), "the services"))

    def on_stream(self, state: str, message: str, now_ms: int) -> list[Event]:
        state = state.replace(" ", "_")
        return self._emit(self._detect(lambda: self.detector.on_stream(state, message, now_ms), "the stream state"))

    # ------------------------------------------------------------------ outputs

    def _gap(self, now_ms: int) -> list[Event]:
        if self.log_file is None:
            return []
        gap = self._guard(lambda: self.log_file.gap(self.dashboard, now_ms), "the event log")
        return [gap] if isinstance(gap, Event) else []

    def _detect(self, run: Callable[[], Sequence[Event]], what: str) -> list[Event]:
        try:
            return list(run())
        except Exception:  # a detector bug must not stop the stream: logged, shown once
            log.exception("detecting events from %s failed", what)
            self._problem(f"events could not be derived from {what} (see --log)")
            return []

    def _emit(self, events: list[Event]) -> list[Event]:
        changed = self._update_active()
        if not events and not changed:
            return []
        if events:
            self.feed.add(events)
            if self.log_file is not None:
                self._guard(lambda: self.log_file.append(events), "the event log")
            if self.hook is not None:
                for event in events:
                    if event.kind is not EventKind.GAP:
                        self._guard(lambda event=event: self.hook.submit(event), "the event hook")
            if self.notify is not None:
                for event in events:
                    if event.severity in NOTIFIED_SEVERITIES and event.kind not in NOT_NOTIFIED_KINDS:
                        self._guard(lambda event=event: self.notify(event), "a notification")
        if self.on_events is not None:
            self._guard(lambda: self.on_events(events, changed), "showing events")
        return events

    async def close(self, hook_wait: float = 0.0) -> None:
        """At exit: give running hooks ``hook_wait`` s, stop the rest, write the last moment watched.
        (Pipelines sharing a hook and a log: :func:`close_pipelines`, which closes each once.)"""
        await close_pipelines([self], hook_wait)

    def _update_active(self) -> set[int]:
        version = getattr(self.detector, "active_version", None)
        if version is not None and version == self._active_version:
            return set()  # nothing changed: no comparison of the whole mapping per frame
        self._active_version = version
        try:
            active = self.detector.active()
            key = self.key
            if key is not None:
                active = {key(sid): names for sid, names in active.items()}
            return self.feed.set_active(active, self.dashboard)
        except Exception:
            log.exception("active alerts failed")
            return set()

    def _guard(self, run: Callable[[], Any], what: str) -> Any:
        try:
            return run()
        except Exception as exc:
            log.warning("%s failed: %s", what, _one_line(exc))
            self._problem(f"{what}: {_one_line(exc)}")
            return None

    def _problem(self, message: str) -> None:
        if message in self._problems:
            return
        self._problems.add(message)
        if self.on_problem is not None:
            try:
                self.on_problem(message)
            except Exception:
                log.exception("reporting a problem failed")


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:200]


def load_history(pipelines: Sequence[AlertPipeline], limit: int = HISTORY_LOADED) -> None:
    """Show what earlier runs logged for the pipelines' Dashboards (not counted as unseen): each
    log file is read once (pipelines sharing one: once in all), its events of those Dashboards
    go to their feed (a feed shared by several pipelines: once, in the log's order)."""
    done: set[int] = set()
    for pipeline in pipelines:
        log_file = pipeline.log_file
        if log_file is None or id(log_file) in done:
            continue
        done.add(id(log_file))
        sharing = [p for p in pipelines if p.log_file is log_file]
        try:
            events = log_file.read_recent(limit)
        except Exception as exc:
            pipeline._problem(f"the event log could not be read: {_one_line(exc)}")
            continue
        feeds: dict[int, tuple[EventFeed, set[str]]] = {}
        for p in sharing:
            feeds.setdefault(id(p.feed), (p.feed, set()))[1].add(p.dashboard)
        for feed, names in feeds.values():
            feed.load(e for e in events if e.dashboard in names)


async def close_pipelines(pipelines: Sequence[AlertPipeline], hook_wait: float = 0.0) -> None:
    """At exit: each hook (shared or not) gets ``hook_wait`` s for what still runs, once, then
    stops; each log file writes the last moment watched and closes, once.  Never raises."""
    hooks: dict[int, HookRunner] = {}
    logs: dict[int, tuple[AlertPipeline, EventLog]] = {}
    for pipeline in pipelines:
        if pipeline.hook is not None:
            hooks.setdefault(id(pipeline.hook), pipeline.hook)
        if pipeline.log_file is not None:
            logs.setdefault(id(pipeline.log_file), (pipeline, pipeline.log_file))

    async def close_hook(hook: HookRunner) -> None:
        try:
            if hook_wait > 0:
                await hook.drain(hook_wait)
            await hook.close()
        except Exception:
            log.exception("closing the event hook failed")

    if hooks:
        await asyncio.gather(*(close_hook(hook) for hook in hooks.values()))
    for pipeline, log_file in logs.values():
        pipeline._guard(log_file.close, "the event log")


def events_text(events: Iterable[Event]) -> str:
    """Plain lines (``watch`` without ``--json``)."""
    return "\n".join(event_line(e) for e in events)


def event_line(event: Event) -> str:
    """One plain line: ``2026-12-03T10:02:11Z warning offline  demo  fra-12 is offline``."""
    stamp = event.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    where = f"[{event.dashboard}] " if event.dashboard else ""
    return f"{stamp} {event.severity.value:<8} {event.kind.value:<13} {where}{event.message}"


def build_pipeline(
    dashboard: str,
    config: AlertConfig,
    *,
    hook_argv: Sequence[str] = (),
    keep_log: bool = True,
    feed: EventFeed | None = None,
    notify: Callable[[Event], None] | None = None,
    on_events: Callable[[list[Event], set[int]], None] | None = None,
    on_problem: Callable[[str], None] | None = None,
    key: Callable[[int], int] | None = None,
    log_file: EventLog | None = None,
    hook: HookRunner | None = None,
) -> AlertPipeline:
    """The pipeline the app and ``watch`` use: the detector with the config's rules, the log
    file in the state dir (``keep_log``), the hook (``hook_argv``, else the config's ``on_event``).
    ``log_file`` / ``hook``: ones to share (another pipeline's), used instead of new ones."""
    problems: list[str] = []
    if log_file is None and keep_log:
        log_file, problem = _open_log(config)
        if problem:
            problems.append(problem)
    if hook is None:
        hook = _make_hook(hook_argv, config, on_problem)
    pipeline = AlertPipeline(_detector(dashboard, config), feed=feed, log_file=log_file, hook=hook,
                             notify=notify, on_events=on_events, on_problem=on_problem, key=key)
    for problem in problems:
        pipeline._problem(problem)
    return pipeline


def build_pipelines(
    dashboards: Sequence[str],
    config: AlertConfig,
    *,
    hook_argv: Sequence[str] = (),
    keep_log: bool = True,
    feed: EventFeed | None = None,
    notify: Callable[[Event], None] | None = None,
    on_events: Callable[[int], Callable[[list[Event], set[int]], None] | None] | None = None,
    on_problem: Callable[[str], None] | None = None,
    keys: Sequence[Callable[[int], int] | None] | None = None,
) -> list[AlertPipeline]:
    """One pipeline per Dashboard (``dashboards``: their names, unique), sharing ONE log file (one
    writer: one rotation) and ONE hook (one limit on the commands running), and ``feed`` when
    given (else each its own).  ``on_events(i)``: the callback of the ``i``-th pipeline;
    ``keys[i]``: its server id -> fleet key (default: none for the first, ``server_key(i, id)``
    after).  A problem of the shared log or hook is told once.  Close them with
    :func:`close_pipelines` (each shared part closed once)."""
    log_file, problem = _open_log(config) if keep_log and dashboards else (None, "")
    hook = _make_hook(hook_argv, config, on_problem) if dashboards else None
    if keys is None:
        keys = [_fleet_key(i) for i in range(len(dashboards))]
    pipelines = [
        AlertPipeline(_detector(name, config), feed=feed, log_file=log_file, hook=hook, notify=notify,
                      on_events=on_events(i) if on_events is not None else None, on_problem=on_problem,
                      key=keys[i] if i < len(keys) else None)
        for i, name in enumerate(dashboards)
    ]
    told: set[str] = set()
    for pipeline in pipelines:
        pipeline._problems = told  # the shared log's or hook's problem: told once, not once per Dashboard
    if problem and pipelines:
        pipelines[0]._problem(problem)
    return pipelines


def _fleet_key(index: int) -> Callable[[int], int] | None:
    """Server id -> fleet key of the ``index``-th Dashboard (``None`` for the first: the id)."""
    if index == 0:
        return None
    from nezha_tui.fleets import server_key

    return lambda sid: server_key(index, sid)


def _detector(dashboard: str, config: AlertConfig) -> EventDetector:
    from nezha_tui.alerts.detector import EventDetector

    engine = None
    if config.rules:
        from nezha_tui.alerts.rule_engine import RuleEngine

        engine = RuleEngine(config.rules)
    return EventDetector(dashboard, config, engine)


def _open_log(config: AlertConfig) -> tuple[EventLog | None, str]:
    """The event log in the state dir, or why not (one line)."""
    from nezha_tui.alerts.eventlog import EventLog, EventLogError, state_dir

    try:
        return EventLog(state_dir() / EVENT_LOG_NAME, max_bytes=config.log_max_bytes), ""
    except (EventLogError, OSError) as exc:
        return None, f"events are not kept across restarts: {_one_line(exc)}"


def _make_hook(hook_argv: Sequence[str], config: AlertConfig,
               on_problem: Callable[[str], None] | None) -> HookRunner | None:
    """The command hook (``hook_argv``, else the config's ``on_event``; ``None`` when neither)."""
    argv = tuple(hook_argv) or tuple(config.on_event)
    if not argv:
        return None
    from nezha_tui.alerts.notify import HookRunner

    def hook_problem(message: str) -> None:
        if on_problem is not None:
            on_problem(f"event hook: {message}")

    return HookRunner(argv, timeout=config.hook_timeout, max_running=config.hook_max, on_problem=hook_problem)


EVENT_LOG_NAME = "events.jsonl"
