"""The alert pipeline: events reach the feed, the log, the hook and the notifier; nothing raises."""

from __future__ import annotations

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.pipeline import AlertPipeline, event_line


def _event(kind: EventKind = EventKind.OFFLINE, severity: Severity = Severity.CRITICAL, sid: int = 1) -> Event:
    return Event(ts_ms=1_700_000_000_000, kind=kind, severity=severity, message=f"s{sid} is offline",
                 dashboard="demo", server_id=sid, server_name=f"s{sid}")


class FakeDetector:
    dashboard = "demo"

    def __init__(self) -> None:
        self.next: list[Event] = []
        self.active_now: dict[int, set[str]] = {}
        self.fail = False

    def on_frame(self, change, store):
        if self.fail:
            raise RuntimeError("detector bug")
        out, self.next = self.next, []
        return out

    on_services = on_stream = None

    def active(self):
        return self.active_now


class FakeStore:
    now_ms = 1_700_000_000_000


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.items: list = []
        self.fail = fail

    def __call__(self, *args):
        if self.fail:
            raise OSError("disk full")
        self.items.append(args)


class FakeLog:
    def __init__(self, fail: bool = False) -> None:
        self.appended: list[Event] = []
        self.fail = fail
        self.watched: list[int] = []

    def append(self, events):
        if self.fail:
            raise OSError("No space left on device")
        self.appended.extend(events)

    def watching(self, dashboard, now_ms):
        self.watched.append(now_ms)

    def gap(self, dashboard, now_ms):
        return Event(ts_ms=now_ms, kind=EventKind.GAP, severity=Severity.INFO, message="not watching",
                     dashboard=dashboard)

    def read_recent(self, limit):
        return [_event(sid=7), Event(ts_ms=1, kind=EventKind.OFFLINE, severity=Severity.CRITICAL,
                                     message="other", dashboard="work")]


class FakeHook:
    def __init__(self) -> None:
        self.submitted: list[Event] = []

    def submit(self, event):
        self.submitted.append(event)


def test_events_reach_every_output_and_the_gap_comes_first():
    detector, log_file, hook = FakeDetector(), FakeLog(), FakeHook()
    notified, shown, problems = Recorder(), Recorder(), Recorder()
    pipeline = AlertPipeline(detector, log_file=log_file, hook=hook, notify=notified, on_events=shown,
                             on_problem=problems)
    detector.next = [_event(), _event(EventKind.ADDED, Severity.INFO, 2)]
    detector.active_now = {1: {"offline"}}
    out = pipeline.on_frame(object(), FakeStore())
    assert [e.kind for e in out] == [EventKind.GAP, EventKind.OFFLINE, EventKind.ADDED]
    assert list(pipeline.feed) == out and pipeline.feed.unseen == 3
    assert log_file.appended == out
    assert [e.kind for e in hook.submitted] == [EventKind.OFFLINE, EventKind.ADDED]  # not the gap
    assert [args[0].kind for args in notified.items] == [EventKind.OFFLINE]  # info and the gap: no desktop push
    assert shown.items == [(out, {1})]
    assert dict(pipeline.feed.active) == {1: ("offline",)}
    assert problems.items == []
    assert log_file.watched == [FakeStore.now_ms]
    # the gap is looked for once per run
    assert pipeline.on_frame(object(), FakeStore()) == []


def test_a_failing_output_is_one_problem_and_the_rest_still_runs():
    detector, hook, problems = FakeDetector(), FakeHook(), Recorder()
    pipeline = AlertPipeline(detector, log_file=FakeLog(fail=True), hook=hook, notify=Recorder(fail=True),
                             on_problem=problems)
    for _ in range(3):
        detector.next = [_event()]
        pipeline.on_frame(object(), FakeStore())
    assert len(hook.submitted) == 3 and len(pipeline.feed) == 4  # + the gap
    messages = [args[0] for args in problems.items]
    assert len(messages) == 2, messages  # the log and the notifier, once each
    assert any("No space left on device" in m for m in messages)


def test_a_detector_bug_is_reported_once_and_the_stream_goes_on():
    detector, problems = FakeDetector(), Recorder()
    pipeline = AlertPipeline(detector, on_problem=problems)
    detector.fail = True
    assert pipeline.on_frame(object(), FakeStore()) == []
    assert pipeline.on_frame(object(), FakeStore()) == []
    assert len(problems.items) == 1 and "events could not be derived" in problems.items[0][0]
    detector.fail = False
    detector.next = [_event()]
    assert len(pipeline.on_frame(object(), FakeStore())) == 1


def test_history_of_this_dashboard_only_and_not_unseen():
    pipeline = AlertPipeline(FakeDetector(), log_file=FakeLog())
    pipeline.load_history()
    assert [e.message for e in pipeline.feed] == ["s7 is offline"]
    assert pipeline.feed.unseen == 0


def test_event_line_is_one_plain_line():
    line = event_line(_event())
    assert line == "2023-11-14T22:13:20Z critical offline       [demo] s1 is offline"
