"""EventDetector: every event kind from scripted frames through a real FleetStore, with an injected
Dashboard clock (the frames' ``now``); no storm on the first frame; flapping folded."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field


from nezha_tui.alerts.detector import FLAP_WINDOW_S, FOLD_AT, EventDetector
from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.rules import AlertConfig, Rule
from nezha_tui.api import models as m
from nezha_tui.store import FleetChange, FleetStore

T0_MS = 1_795_000_000_000  # 2026-11-19 (UTC), on the Dashboard's clock
UTC = dt.timezone.utc
TODAY = dt.datetime.fromtimestamp(T0_MS / 1000, UTC).date()


def billing_note(end: dt.date, *, auto: bool = False, cycle: str = "Month") -> str:
    return json.dumps({"billingDataMod": {
        "startDate": "2026-01-01T00:00:00Z", "endDate": f"{end.isoformat()}T00:00:00Z",
        "autoRenewal": "1" if auto else "0", "cycle": cycle, "amount": "5EUR"}})


@dataclass
class Fleet:
    """A scripted fleet: which servers report, their names and notes; each :meth:`step` advances
    the Dashboard's clock, builds the frame's models, applies it to a real store and hands the
    change to the detector."""

    n: int = 5
    offline: Iterable[int] = ()
    never: Iterable[int] = ()
    config: AlertConfig = field(default_factory=AlertConfig)
    engine: object = None
    notes: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.now = T0_MS
        self.names = {i: f"srv-{i}" for i in range(1, self.n + 1)}
        self.down = set(self.offline)
        self.never = set(self.never)
        self.cut: set[int] = set()
        """Agents disconnected: zero last_active, the last values kept (as current Dashboards send)."""
        # when each server last reported (ms); the initially offline ones 2 minutes ago
        self.last = {i: (self.now - 120_000 if i in self.down else self.now) for i in self.names}
        self.store = FleetStore(online_window=30)
        self.detector = EventDetector("demo", self.config, self.engine)  # type: ignore[arg-type]

    def frame(self) -> m.StreamFrame:
        servers = []
        for sid, name in self.names.items():
            if sid in self.never:
                servers.append(m.StreamServer(id=sid, name=name, last_active=None))
                continue
            if sid not in self.down:
                self.last[sid] = self.now - 1000
            last_active = None if sid in self.cut else dt.datetime.fromtimestamp(self.last[sid] / 1000, UTC)
            servers.append(m.StreamServer(
                id=sid, name=name, public_note=self.notes.get(sid),
                host=m.Host(platform="debian", mem_total=8 << 30),
                state=m.HostState(cpu=10.0 + sid, mem_used=1 << 30, uptime=self.now // 1000),
                last_active=last_active))
        return m.StreamFrame(now=self.now, online=1, servers=servers)

    def step(self, seconds: float = 2.0) -> list[Event]:
        self.now += int(seconds * 1000)
        change = self.store.apply(self.frame())
        return self.detector.on_frame(change, self.store)

    def run(self, seconds: float, every: float = 2.0) -> list[Event]:
        """Frames every ``every`` seconds for ``seconds``: all their events."""
        out: list[Event] = []
        steps = int(seconds / every)
        for _ in range(steps):
            out += self.step(every)
        return out

    def start(self) -> list[Event]:
        return self.step(0)

    def go_offline(self, *ids: int) -> list[Event]:
        """Stop reporting; return the events until the store calls them offline (31+ s)."""
        self.down.update(ids)
        return self.run(34)

    def come_back(self, *ids: int) -> list[Event]:
        self.down.difference_update(ids)
        return self.step()


def kinds(events: Iterable[Event]) -> list[EventKind]:
    return [e.kind for e in events]


def jsonable(events: Iterable[Event]) -> None:
    for event in events:
        line = json.dumps(event.to_json())
        assert Event.from_json(json.loads(line)) == event
        assert "\n" not in event.message


# --------------------------------------------------------------------------- first frame


def test_first_frame_is_one_summary_and_later_quiet_frames_give_nothing():
    f = Fleet(5, offline=[2], never=[4])
    events = f.start()
    assert kinds(events) == [EventKind.SUMMARY]
    e = events[0]
    assert e.message == "5 servers: 3 online, 1 offline (srv-2), 1 never reported"
    assert e.severity is Severity.WARNING and e.ts_ms == T0_MS and e.dashboard == "demo"
    assert e.data["offline_ids"] == [2] and e.data["never_reported_ids"] == [4]
    assert f.detector.active() == {2: {"offline"}, 4: {"offline"}}
    assert f.run(60) == []
    jsonable(events)


def test_first_frame_with_many_offline_is_still_one_event():
    f = Fleet(40, offline=range(1, 31))
    events = f.start()
    assert kinds(events) == [EventKind.SUMMARY]
    assert events[0].message == "40 servers: 10 online, 30 offline (srv-1, srv-2, srv-3, srv-4, srv-5, +25 more)"
    assert len(f.detector.active()) == 30


def test_healthy_fleet_summary_is_info():
    events = Fleet(1).start()
    assert events[0].message == "1 server: 1 online" and events[0].severity is Severity.INFO


# --------------------------------------------------------------------------- offline / online


def test_offline_then_back_online_with_time_away():
    f = Fleet(3)
    f.start()
    f.step()  # srv-2's last report: this frame's time minus 1 s
    last = T0_MS + 1000
    assert f.last[2] == last
    events = f.go_offline(2)
    assert kinds(events) == [EventKind.OFFLINE]
    off = events[0]
    assert off.server_id == 2 and off.server_name == "srv-2" and off.severity is Severity.CRITICAL
    assert off.rule == "offline" and off.ts_ms == T0_MS + 32_000  # the first frame more than 30 s after
    assert off.message == "srv-2 is offline (last seen 31s ago)"
    assert off.data["last_seen_ms"] == last
    assert f.detector.active() == {2: {"offline"}}
    f.run(396)
    events = f.come_back(2)
    assert kinds(events) == [EventKind.ONLINE]
    on = events[0]
    assert on.severity is Severity.OK and on.ts_ms == f.now == T0_MS + 434_000
    assert on.message == "srv-2 is back online after 7m 13s"  # from its last report
    assert on.data["away_s"] == 433.0
    assert f.detector.active() == {}
    jsonable(events)


def test_never_reported_server_reporting_first_time_has_no_away_time():
    f = Fleet(2, never=[2])
    f.start()
    f.never.discard(2)
    events = f.step()
    assert kinds(events) == [EventKind.ONLINE]
    assert events[0].message == "srv-2 is online (its first report)" and events[0].data["away_s"] is None


def test_agent_disconnected_and_back():
    f = Fleet(2)
    f.start()
    f.cut.add(2)
    f.down.add(2)
    events = f.step()
    assert [e.message for e in events] == ["srv-2 is offline (agent disconnected)"]
    f.run(10)
    f.cut.discard(2)
    f.down.discard(2)
    events = f.step()
    assert [e.message for e in events] == ["srv-2 is back online after 12s"]  # since it was seen to go


def test_many_servers_offline_in_one_frame_fold_into_one_event():
    f = Fleet(30)
    f.start()
    ids = range(1, FOLD_AT + 3)
    events = f.go_offline(*ids)
    assert kinds(events) == [EventKind.OFFLINE]
    assert events[0].server_id is None and events[0].data["count"] == FOLD_AT + 2
    assert events[0].message.startswith(f"{FOLD_AT + 2} servers went offline: srv-1, srv-2, ")
    assert len(f.detector.active()) == FOLD_AT + 2
    events = f.come_back(*ids)
    assert kinds(events) == [EventKind.ONLINE]
    assert events[0].message.startswith(f"{FOLD_AT + 2} servers are back online: ")


def test_offline_builtin_disabled_gives_no_offline_events_and_no_active():
    f = Fleet(3, offline=[3], config=AlertConfig(disabled=frozenset({"offline"})))
    assert kinds(f.start()) == [EventKind.SUMMARY]  # the summary is not an alert: still there
    assert f.go_offline(2) == []
    assert f.come_back(2) == []
    assert f.detector.active() == {}


# --------------------------------------------------------------------------- flapping


def flap(f: Fleet, sid: int) -> list[Event]:
    return f.go_offline(sid) + f.come_back(sid) + f.run(20)


def test_flapping_is_folded_and_ends_with_one_event():
    f = Fleet(3)
    f.start()
    events = flap(f, 1) + flap(f, 1)
    assert kinds(events) == [EventKind.OFFLINE, EventKind.ONLINE, EventKind.OFFLINE, EventKind.ONLINE]
    events = f.go_offline(1)
    assert kinds(events) == [EventKind.FLAPPING]
    assert events[0].message == "srv-1 is flapping: 3 times offline in 2 min"
    assert events[0].severity is Severity.WARNING and events[0].data == {"count": 3, "state": "started"}
    assert f.detector.active() == {1: {"offline"}}  # the state stays true while events are held
    events = f.come_back(1) + f.run(20) + flap(f, 1) + flap(f, 1)
    assert events == []  # held
    events = f.run(FLAP_WINDOW_S - 40)
    assert events == []  # not yet steady for 10 minutes (20 s of them were in flap())
    events = f.run(40)
    assert kinds(events) == [EventKind.FLAPPING]
    assert events[0].message == "srv-1 flapped 5 times in 4 min, now online"
    assert events[0].severity is Severity.OK and events[0].data["state"] == "ended"
    # after that it is a fresh start: the next offline is a plain event again
    assert kinds(f.go_offline(1)) == [EventKind.OFFLINE]
    jsonable(events)


def test_two_offlines_a_while_apart_are_not_flapping():
    f = Fleet(2)
    f.start()
    events = flap(f, 2) + f.run(FLAP_WINDOW_S) + flap(f, 2) + flap(f, 2)
    assert EventKind.FLAPPING not in kinds(events)
    assert kinds(events).count(EventKind.OFFLINE) == 3


def test_flapping_that_ends_offline_says_so():
    f = Fleet(2)
    f.start()
    f.run(0)
    flap(f, 2)
    flap(f, 2)
    assert kinds(f.go_offline(2)) == [EventKind.FLAPPING]
    events = f.run(FLAP_WINDOW_S + 10)
    assert kinds(events) == [EventKind.FLAPPING]
    assert events[0].message.endswith("now offline") and events[0].severity is Severity.CRITICAL


# --------------------------------------------------------------------------- membership, renames


def test_added_removed_renamed():
    f = Fleet(3)
    f.start()
    f.names[9] = "new-9"
    f.last[9] = f.now
    events = f.step()
    assert kinds(events) == [EventKind.ADDED]
    assert events[0].message == "new-9 appeared on the Dashboard (online)" and events[0].server_id == 9
    f.names[2] = "srv-2b"
    events = f.step()
    assert kinds(events) == [EventKind.RENAMED]
    assert events[0].message == "srv-2 was renamed to srv-2b" and events[0].data == {"old_name": "srv-2"}
    del f.names[2]
    events = f.step()
    assert kinds(events) == [EventKind.REMOVED]
    assert events[0].message == "srv-2b left the Dashboard" and events[0].server_id == 2
    f.names[10] = "ghost"
    f.never.add(10)
    events = f.step()
    assert events[0].message == "ghost appeared on the Dashboard (never reported)"
    assert f.detector.active() == {10: {"offline"}}
    jsonable(events)


def test_an_offline_server_that_leaves_is_no_longer_active():
    f = Fleet(3, offline=[3])
    f.start()
    del f.names[3]
    assert kinds(f.step()) == [EventKind.REMOVED]
    assert f.detector.active() == {}


def test_a_new_store_after_reconnecting_is_compared_with_what_was_known():
    f = Fleet(4)
    f.start()
    f.step()
    # a reconnect that rebuilt the store: srv-4 gone, srv-5 new, srv-2 renamed, srv-3 offline
    f.store = FleetStore(online_window=30)
    del f.names[4]
    f.names[5] = "srv-5"
    f.last[5] = f.now
    f.names[2] = "two"
    f.down.add(3)
    f.last[3] = f.now - 60_000
    events = f.step()
    assert sorted(kinds(events), key=lambda k: k.value) == sorted(
        [EventKind.REMOVED, EventKind.ADDED, EventKind.RENAMED, EventKind.OFFLINE], key=lambda k: k.value)
    assert f.detector.active() == {3: {"offline"}}


# --------------------------------------------------------------------------- billing expiry


def test_expiry_in_the_first_frame_is_in_the_summary_and_not_repeated():
    f = Fleet(3, notes={1: billing_note(TODAY + dt.timedelta(days=5)),
                        2: billing_note(TODAY - dt.timedelta(days=2)),
                        3: billing_note(TODAY + dt.timedelta(days=30))})
    events = f.start()
    assert kinds(events) == [EventKind.SUMMARY]
    assert events[0].message == "3 servers: 3 online; billing ends within 7 days for srv-1; billing ended for srv-2"
    assert events[0].data["expiry"] == [{"server_id": 1, "days_left": 5}, {"server_id": 2, "days_left": -2}]
    assert f.run(120) == []


def test_expiry_events_for_a_changed_note_then_once_a_day():
    f = Fleet(2, notes={1: billing_note(TODAY + dt.timedelta(days=300))})
    f.start()
    end = TODAY + dt.timedelta(days=3)
    f.notes[1] = billing_note(end)
    events = f.step()
    assert kinds(events) == [EventKind.EXPIRY]
    e = events[0]
    assert e.severity is Severity.WARNING and e.rule == "expiry"
    assert e.message == f"srv-1's billing ends {end.isoformat()} (in 3 days)"
    assert e.data == {"end": end.isoformat(), "days_left": 3, "auto_renewal": False}
    assert f.run(60) == []  # not per frame
    # the days pass on the Dashboard's clock (T0 is 11:06 UTC); each day the dates are checked
    # again: one event per end date and stage ("soon", then "passed"), not one a day
    assert f.run(3 * 86400 + 12 * 3600, every=3600) == []  # until 23:06 on the end date
    events = f.run(2 * 3600, every=3600)
    assert kinds(events) == [EventKind.EXPIRY]
    assert events[0].ts_ms == f.now - 3600_000  # the first frame of the next day (00:06)
    assert events[0].severity is Severity.CRITICAL
    assert events[0].message == f"srv-1's billing ended {end.isoformat()} (1 day ago)"
    assert f.run(86400 * 2, every=3600) == []
    jsonable(events)


def test_expiry_auto_renewal_and_disabled():
    f = Fleet(1, notes={1: "plain text"})
    f.start()
    f.notes[1] = billing_note(TODAY - dt.timedelta(days=27), auto=True, cycle="Month")
    events = f.step()
    assert kinds(events) == [EventKind.EXPIRY]
    assert events[0].severity is Severity.INFO and "billing renews" in events[0].message
    g = Fleet(1, config=AlertConfig(disabled=frozenset({"expiry"})),
              notes={1: billing_note(TODAY + dt.timedelta(days=1))})
    assert "billing" not in g.start()[0].message
    g.notes[1] = billing_note(TODAY + dt.timedelta(days=2))
    assert g.step() == []


# --------------------------------------------------------------------------- rules (a fake engine)


@dataclass(frozen=True)
class Transition:
    """What RuleEngine.evaluate returns (RuleTransition's fields)."""

    rule: Rule
    server_id: int
    fired: bool
    value: float
    since_ms: int


class FakeEngine:
    """Satisfies the RuleEngine interface: the test scripts the next frame's transitions."""

    def __init__(self) -> None:
        self.next: list[Transition] = []
        self.calls: list[tuple[FleetChange, int]] = []
        self._firing: dict[int, set[str]] = {}
        self.fail = False

    def evaluate(self, store: FleetStore, change: FleetChange, now_ms: int) -> list[Transition]:
        if self.fail:
            raise RuntimeError("boom")
        self.calls.append((change, now_ms))
        out, self.next = self.next, []
        for t in out:
            names = self._firing.setdefault(t.server_id, set())
            (names.add if t.fired else names.discard)(t.rule.name)
        return out

    def firing(self) -> dict[int, frozenset[str]]:
        return {sid: frozenset(names) for sid, names in self._firing.items() if names}


HOT = Rule(name="hot cpu", metric="cpu", above=90.0, for_s=300.0)
SLOW = Rule(name="slow net", metric="net_in_speed", below=1024.0)


def test_rule_fired_and_cleared_events_and_active():
    engine = FakeEngine()
    f = Fleet(3, engine=engine)
    f.start()
    since = f.now
    f.run(300)
    engine.next = [Transition(HOT, 2, True, 93.25, since)]
    events = f.step()
    assert kinds(events) == [EventKind.RULE_FIRED]
    e = events[0]
    assert e.message == "hot cpu on srv-2: cpu 93.2%, above 90.0% for 5m 02s"
    assert e.rule == "hot cpu" and e.severity is Severity.WARNING and e.server_id == 2
    assert e.data["value"] == 93.25 and e.data["above"] == 90.0 and e.data["since_ms"] == since
    assert f.detector.active() == {2: {"hot cpu"}}
    assert engine.calls[-1][1] == f.now  # evaluated with the frame's clock
    f.down.add(2)
    f.run(60)
    engine.next = [Transition(HOT, 2, False, float("nan"), since)]
    events = f.step()
    assert kinds(events) == [EventKind.RULE_CLEARED]
    assert events[0].message == "hot cpu on srv-2 cleared after 6m 04s (offline)"
    assert events[0].severity is Severity.OK and events[0].data["value"] is None
    assert f.detector.active() == {2: {"offline"}}
    engine.next = [Transition(SLOW, 1, True, 512.0, f.now), Transition(SLOW, 3, False, 4096.0, f.now - 10_000)]
    events = f.step()
    assert [e.message for e in events] == ["slow net on srv-1: net_in_speed 512 B/s, below 1.0 KiB/s",
                                           "slow net on srv-3 cleared after 12s (net_in_speed 4.0 KiB/s)"]
    jsonable(events)


def test_rule_fires_on_the_first_frame_go_into_the_summary_and_many_fold():
    engine = FakeEngine()
    engine.next = [Transition(HOT, 1, True, 95.0, T0_MS), Transition(HOT, 3, True, 99.0, T0_MS)]
    f = Fleet(30, engine=engine)
    events = f.start()
    assert kinds(events) == [EventKind.SUMMARY]
    assert events[0].message == "30 servers: 30 online; hot cpu: srv-1, srv-3"
    assert events[0].data["rules"] == {"hot cpu": [1, 3]} and events[0].severity is Severity.WARNING
    engine.next = [Transition(HOT, sid, True, 95.0, f.now) for sid in range(4, 4 + FOLD_AT)]
    events = f.step()
    assert kinds(events) == [EventKind.RULE_FIRED]
    assert events[0].message.startswith(f"hot cpu fired on {FOLD_AT} servers: srv-4, ")
    assert events[0].rule == "hot cpu" and events[0].data["count"] == FOLD_AT


def test_rule_clear_for_a_server_that_left_uses_its_name():
    engine = FakeEngine()
    f = Fleet(2, engine=engine)
    f.start()
    engine.next = [Transition(HOT, 2, True, 95.0, f.now)]
    f.step()
    del f.names[2]
    engine.next = [Transition(HOT, 2, False, float("nan"), f.now - 2000)]
    events = f.step()
    assert kinds(events) == [EventKind.REMOVED, EventKind.RULE_CLEARED]
    assert events[1].message == "hot cpu on srv-2 cleared after 4s (left the Dashboard)"


def test_a_failing_engine_is_logged_once_and_never_raises(caplog):
    engine = FakeEngine()
    f = Fleet(2, engine=engine)
    f.start()
    engine.fail = True
    with caplog.at_level(logging.ERROR):
        assert f.step() == [] and f.step() == []
    assert sum("evaluation failed" in r.message for r in caplog.records) == 1


def test_no_engine_without_rules():
    assert EventDetector("d", AlertConfig()).engine is None


# --------------------------------------------------------------------------- services


def item(name: str, up: int, down: int, *, today: tuple[int, int] = (100, 0)) -> m.ServiceItem:
    return m.ServiceItem(service_name=name, current_up=up, current_down=down,
                         up=[0] * 29 + [today[0]], down=[0] * 29 + [today[1]])


def overview(services: dict[int, m.ServiceItem] | None = None,
             quotas: dict[int, m.CycleTransferStats] | None = None) -> m.ServiceOverview:
    return m.ServiceOverview(services=services or {}, cycle_transfer_stats=quotas or {})


def test_service_down_now_reading():
    assert (item("a", 0, 3)).down_now is True
    assert (item("a", 2, 1)).down_now is False
    assert (item("a", 2, 0)).down_now is False
    assert (item("a", 0, 0)).down_now is None
    assert (m.ServiceItem(current_up=-5, current_down=2)).down_now is True


def test_services_first_overview_summary_then_down_and_up():
    d = EventDetector("demo", AlertConfig())
    events = d.on_services(overview({1: item("api", 0, 5), 2: item("db", 10, 0), 3: item("cdn", 0, 2)}), T0_MS)
    assert kinds(events) == [EventKind.SUMMARY]
    assert events[0].message == "2 services down: api, cdn" and events[0].severity is Severity.CRITICAL
    assert events[0].data["service_ids"] == [1, 3]
    assert d.on_services(overview({1: item("api", 0, 5), 2: item("db", 10, 0), 3: item("cdn", 0, 2)}),
                         T0_MS + 60_000) == []
    events = d.on_services(overview({1: item("api", 3, 0), 2: item("db", 0, 4, today=(880, 12)),
                                     3: item("cdn", 0, 2)}), T0_MS + 120_000)
    assert kinds(events) == [EventKind.SERVICE_UP, EventKind.SERVICE_DOWN]
    up, down = events
    assert up.message == "service api is back up (today 100 up, 0 down)" and up.service_id == 1
    assert up.data == {"today_up": 100, "today_down": 0, "down_s": None}
    assert down.message == "service db is down (today 880 up, 12 down)" and down.severity is Severity.CRITICAL
    assert down.service_name == "db" and down.rule == "service_down" and down.server_id is None
    # no data (0/0) keeps what we knew; partial recovery counts as up
    assert d.on_services(overview({2: item("db", 0, 0)}), T0_MS + 150_000) == []
    events = d.on_services(overview({2: item("db", 1, 2)}), T0_MS + 185_000)
    assert [e.message for e in events] == ["service db is back up after 1m 05s (today 100 up, 0 down)"]
    assert events[0].data["down_s"] == 65.0
    assert d.active() == {}  # monitors are not servers
    jsonable(events)


def test_services_disabled():
    d = EventDetector("demo", AlertConfig(disabled=frozenset({"service_down"})))
    assert d.on_services(overview({1: item("api", 0, 5)}), T0_MS) == []
    assert d.on_services(overview({1: item("api", 5, 0)}), T0_MS + 1) == []
    assert d.on_services(overview({1: item("api", 0, 5)}), T0_MS + 2) == []


# --------------------------------------------------------------------------- quotas


def cycle(transfer: dict[int, int], *, limit: int = 1000, names: dict[int, str] | None = None) -> m.CycleTransferStats:
    return m.CycleTransferStats(name="monthly", max=limit, transfer=transfer,
                                server_name=names or {sid: f"q-{sid}" for sid in transfer})


def test_quota_first_overview_summary_then_crossings_upward_only():
    d = EventDetector("demo", AlertConfig())
    events = d.on_services(overview(quotas={7: cycle({1: 500, 2: 850, 3: 930})}), T0_MS)
    assert kinds(events) == [EventKind.SUMMARY]
    assert events[0].message == "traffic quotas at 80% or more: q-3 93%, q-2 85%"
    assert events[0].severity is Severity.WARNING
    assert d.active() == {3: {"quota"}}
    assert d.on_services(overview(quotas={7: cycle({1: 600, 2: 860, 3: 940})}), T0_MS + 1) == []
    events = d.on_services(overview(quotas={7: cycle({1: 810, 2: 905, 3: 1001})}), T0_MS + 2)
    assert [(e.server_id, e.severity, e.data["threshold"]) for e in events] == [
        (1, Severity.INFO, 80.0), (2, Severity.WARNING, 90.0), (3, Severity.CRITICAL, 100.0)]
    assert events[0].message == "q-1 used 81% of its traffic quota 'monthly' (810 B of 1000 B)"
    assert events[0].rule == "quota" and events[0].data["percent"] == 81.0
    assert d.active() == {2: {"quota"}, 3: {"quota"}}
    # a new cycle: the level drops silently; crossing again is an event again; a jump is one event
    assert d.on_services(overview(quotas={7: cycle({1: 10, 2: 20, 3: 30})}), T0_MS + 3) == []
    assert d.active() == {}
    events = d.on_services(overview(quotas={7: cycle({1: 950, 2: 20, 3: 30})}), T0_MS + 4)
    assert [(e.server_id, e.data["threshold"]) for e in events] == [(1, 90.0)]
    jsonable(events)


def test_quota_uses_known_server_names_and_config_threshold():
    f = Fleet(2, config=AlertConfig(quota_percent=95.0))
    f.start()
    d = f.detector
    d.on_services(overview(quotas={1: cycle({1: 10})}), f.now)
    events = d.on_services(overview(quotas={1: cycle({1: 960}, names={1: "other"})}), f.now)
    assert [(e.server_name, e.data["threshold"], e.severity) for e in events] == [("srv-1", 95.0, Severity.WARNING)]
    assert d.active() == {1: {"quota"}}


def test_quota_disabled_and_bad_limits():
    d = EventDetector("demo", AlertConfig(disabled=frozenset({"quota"})))
    assert d.on_services(overview(quotas={1: cycle({1: 990})}), T0_MS) == []
    assert d.on_services(overview(quotas={1: cycle({1: 2000})}), T0_MS + 1) == []
    assert d.active() == {}
    d = EventDetector("demo", AlertConfig())
    assert d.on_services(overview(quotas={1: cycle({1: 990}, limit=0)}), T0_MS) == []
    assert d.active() == {}


# --------------------------------------------------------------------------- stream


def test_stream_stale_and_live_again():
    d = EventDetector("demo", AlertConfig())
    assert d.on_stream("connecting", "", T0_MS) == []
    assert d.on_stream("live", "", T0_MS + 1000) == []  # the first connection is no event
    events = d.on_stream("stale", "no data for 15 s; reconnecting", T0_MS + 20_000)
    assert kinds(events) == [EventKind.STREAM_STALE]
    assert events[0].message == "the stream is stale: no data for 15 s; reconnecting"
    assert events[0].severity is Severity.WARNING
    assert d.on_stream("reconnecting", "attempt 2", T0_MS + 30_000) == []
    events = d.on_stream("live", "", T0_MS + 85_000)
    assert kinds(events) == [EventKind.STREAM_LIVE]
    assert events[0].message == "the stream is live again after 1m 05s" and events[0].severity is Severity.OK
    assert events[0].data == {"away_s": 65.0}
    # the stream's own state names ("auth failed", with a space) and enum values are understood
    from nezha_tui.api.stream import StreamState
    events = d.on_stream(StreamState.AUTH_FAILED, "the Dashboard refused the token", T0_MS + 90_000)
    assert kinds(events) == [EventKind.STREAM_STALE] and events[0].data == {"state": "auth_failed"}
    assert d.on_stream(StreamState.STOPPED, "", T0_MS + 91_000) == []
    jsonable(events)


def test_stream_events_ignore_disabled_builtins():
    d = EventDetector("demo", AlertConfig(disabled=frozenset({"offline", "service_down", "quota", "expiry"})))
    d.on_stream("live", "", 0)
    assert kinds(d.on_stream("stale", "", 1000)) == [EventKind.STREAM_STALE]
    assert kinds(d.on_stream("live", "", 2000)) == [EventKind.STREAM_LIVE]


def test_active_is_rebuilt_only_after_a_change():
    engine = FakeEngine()
    f = Fleet(4, offline=[4], engine=engine)
    f.start()
    first = f.detector.active()
    version = f.detector.active_version
    f.run(10)
    assert f.detector.active() is first and f.detector.active_version == version  # quiet frames
    engine.next = [Transition(HOT, 1, True, 95.0, f.now)]
    f.step()
    assert f.detector.active_version > version and f.detector.active() == {1: {"hot cpu"}, 4: {"offline"}}
    version = f.detector.active_version
    f.detector.on_services(overview(quotas={1: cycle({2: 10})}), f.now)
    f.detector.on_services(overview(quotas={1: cycle({2: 20})}), f.now)
    assert f.detector.active_version == version
    f.detector.on_services(overview(quotas={1: cycle({2: 990})}), f.now)
    assert f.detector.active_version > version and f.detector.active()[2] == {"quota"}


def test_hostile_names_arrive_sanitised_and_bad_input_never_raises():
    f = Fleet(3)
    f.names[2] = "evil\x1b]0;pwned\x07\x1b[31m"
    events = f.start()
    f.go_offline(2)
    events = f.come_back(2)
    assert events and all("\x1b" not in e.message and "\x07" not in e.message for e in events)
    d = f.detector
    weird = m.ServiceOverview(
        services={1: m.ServiceItem(service_name="\x1b[2J", current_up=-1, current_down=10**12, up=[1], down=[])},
        cycle_transfer_stats={1: m.CycleTransferStats(max=-5, transfer={1: 10}),
                              2: m.CycleTransferStats(max=1, transfer={1: -10**15, 2: 10**18})})
    for now in (0, T0_MS, T0_MS + 1):
        jsonable(d.on_services(weird, now))
    assert d.on_stream(None, None, T0_MS) == []  # type: ignore[arg-type]
    assert d.on_stream("", "", -1) == []


def test_random_scripts_never_raise_and_events_are_json():
    import random

    rng = random.Random(11)
    engine = FakeEngine()
    f = Fleet(12, offline=[3], never=[4], engine=engine,
              notes={5: billing_note(TODAY + dt.timedelta(days=2)), 6: "{not json"})
    events = f.start()
    next_id = 13
    for _ in range(400):
        r = rng.random()
        if r < 0.1:
            f.down.symmetric_difference_update({rng.randint(1, next_id)})
        elif r < 0.13:
            f.names[next_id] = f"n-{next_id}"
            f.last[next_id] = f.now
            next_id += 1
        elif r < 0.15 and len(f.names) > 2:
            del f.names[rng.choice(sorted(f.names))]
        elif r < 0.17 and f.names:
            sid = rng.choice(sorted(f.names))
            f.names[sid] += "x"
        elif r < 0.2 and f.names:
            engine.next = [Transition(HOT, rng.choice(sorted(f.names)), rng.random() < 0.5, rng.random() * 100, f.now)]
        events += f.step(rng.choice((1, 2, 5, 60, 3600)))
    jsonable(events)
    active = f.detector.active()
    assert {sid for sid, names in active.items() if "offline" in names} == {
        sid for sid in f.store.servers if not f.store.is_online(sid)}
