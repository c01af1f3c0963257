"""Turn frames, service overviews and stream states into :class:`~nezha_tui.alerts.event.Event` s.

Plain Python, no Textual.  One :class:`EventDetector` per Dashboard connection:

- :meth:`EventDetector.on_frame` after the store took a frame: offline / online (with the time
  away), added / removed / renamed, billing expiry (public note), rule events from the
  :class:`~nezha_tui.alerts.rule_engine.RuleEngine`; flapping folded.
- :meth:`EventDetector.on_services` with each ``/api/v1/service`` overview: service monitors
  down / up, traffic quotas crossing 80 / 90 / 100 %.
- :meth:`EventDetector.on_stream` on each stream state: stale / live again.
- :meth:`EventDetector.active`: the alerts holding now, per server id (the grid pins those rows).

No storm: the first frame gives one summary event, the first overview one summary per kind
(services down, quotas already high); a frame in which many servers flip at once (the
Dashboard's own network, a restart) gives one event per kind naming the first few.

Per frame the work grows with what changed (the change sets of :class:`~nezha_tui.store.FleetChange`),
not with the fleet: the first frame, one check a day of the billing dates and a new store (a
reconnect that rebuilt it) walk the fleet once.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.rules import AlertConfig, Rule
from nezha_tui.api.sanitise import sanitise
from nezha_tui.format import fmt_bytes, fmt_duration, fmt_load, fmt_speed, fmt_temp
from nezha_tui.store import FleetChange, FleetStore, ServerState

if TYPE_CHECKING:  # pragma: no cover
    from nezha_tui.api.models import CycleTransferStats, ServiceItem, ServiceOverview

__all__ = [
    "EventDetector", "RuleEngineLike", "FLAP_WINDOW_S", "FLAP_COUNT", "FOLD_AT", "QUOTA_STEPS",
]

log = logging.getLogger(__name__)

FLAP_WINDOW_S = 600
"""A server that goes offline :data:`FLAP_COUNT` times within this many seconds is flapping; it is
steady again after this long without going offline or coming back."""
FLAP_COUNT = 3
FOLD_AT = 10
"""This many servers or more flipping the same way in one frame give one event, not one each."""
NAMES_SHOWN = 5
"""Names listed in a summary or a folded event before "+N more"."""
IDS_KEPT = 100
"""Server ids kept in a summary's ``data`` (the count is always exact)."""
QUOTA_STEPS = (80.0, 90.0, 100.0)
"""Quota percentages whose upward crossing is an event (plus ``AlertConfig.quota_percent``)."""
_DAY_MS = 86_400_000

_STALE_STATES = frozenset({"stale", "reconnecting", "auth_failed"})


class RuleTransitionLike(Protocol):
    """What :class:`~nezha_tui.alerts.rule_engine.RuleTransition` holds (as the detector reads it)."""

    rule: Rule
    server_id: int
    fired: bool
    value: float
    since_ms: int


class RuleEngineLike(Protocol):
    """The part of :class:`~nezha_tui.alerts.rule_engine.RuleEngine` the detector uses."""

    def evaluate(self, store: FleetStore, change: FleetChange, now_ms: int) -> Sequence[RuleTransitionLike]: ...

    def firing(self) -> Mapping[int, frozenset[str]]: ...


@dataclass(slots=True)
class _Flap:
    """One server's recent offline flips (only servers that went offline lately have one)."""

    offline_ms: deque[int] = field(default_factory=deque)
    """When it went offline, within the last :data:`FLAP_WINDOW_S`."""
    flapping: bool = False
    count: int = 0
    """Times offline since the flapping began (the episode's count)."""
    first_ms: int = 0
    last_flip_ms: int = 0


class EventDetector:
    """Events of one Dashboard (see the module docstring).

    ``engine``: the metric rules' engine; ``None`` builds one from ``config.rules`` when there are
    any (and the rule engine is installed), else no rule events.
    """

    def __init__(self, dashboard: str, config: AlertConfig, engine: RuleEngineLike | None = None) -> None:
        self.dashboard = dashboard
        self.config = config
        if engine is None and config.rules:
            engine = _make_engine(config.rules)
        self.engine = engine
        self._offline_on = config.enabled("offline")
        self._services_on = config.enabled("service_down")
        self._quota_on = config.enabled("quota")
        self._expiry_on = config.enabled("expiry")
        # servers
        self._started = False
        self._names: dict[int, str] = {}
        """Every known server's name (a removed server's name is gone from the store)."""
        self._offline: set[int] = set()
        """Servers not online now (offline, disconnected, never reported)."""
        self._last_seen_ms: dict[int, int | None] = {}
        self._never: set[int] = set()
        """Servers that never reported (coming online is their first report)."""
        """When an offline server last reported (from when it went offline; None: never)."""
        self._flaps: dict[int, _Flap] = {}
        self._flap_sweep_ms = 0
        self._expiry_day: _dt.date | None = None
        self._billing_ids: set[int] = set()
        """Servers whose public note holds billing data (checked again each day)."""
        self._expiry_sent: dict[int, set[tuple[str, str]]] = {}
        """Server id -> the (end date, stage) pairs already reported."""
        self._engine_failed = False
        # services and quotas
        self._services_seen = False
        self._service_down: dict[int, int | None] = {}
        """Monitors down now -> since when (ms; None: already down on the first overview)."""
        self._quota_seen = False
        self._quota_level: dict[tuple[int, int], float] = {}
        """(cycle id, server id) -> the highest step reached (0: below every step)."""
        self._quota_percent: dict[tuple[int, int], float] = {}
        self._quota_active: frozenset[int] = frozenset()
        """Servers with a quota at or above ``quota_percent``."""
        self._active: dict[int, set[str]] | None = None
        self.active_version = 0
        """Grows whenever :meth:`active` may answer differently (a caller can skip the rest)."""
        # stream
        self._stream_state = ""
        self._stale_since: int | None = None

    # ================================================================== frames

    def on_frame(self, change: FleetChange, store: FleetStore) -> list[Event]:
        """Events of one frame (``store``: the store that took it)."""
        now = int(change.now_ms or store.now_ms)
        if not self._started:
            self._started = True
            return self._first_frame(change, store, now)
        if change.first:  # a new store (rebuilt on reconnect): compare with what we knew
            change = self._resync(change, store)
        events: list[Event] = []
        names = self._names
        servers = store.servers

        # removed first (their names are needed once more), then added, renamed, flips
        removed = sorted(sid for sid in change.removed if sid in names)
        added = sorted(sid for sid in change.added if sid in servers)
        self._membership(events, removed, added, store, now)

        for sid in sorted(change.meta_changed):
            server = servers.get(sid)
            if server is None:
                continue
            new = _name(server.name, sid)
            old = names.get(sid)
            names[sid] = new
            if old is not None and old != new:
                events.append(self._event(now, EventKind.RENAMED, Severity.INFO, f"{old} was renamed to {new}",
                                          sid, new, data={"old_name": old}))
        went = sorted(sid for sid in change.went_offline if sid in servers and sid not in change.added)
        came = sorted(sid for sid in change.came_online if sid in servers and sid not in change.added)
        self._flips(events, went, came, store, now)
        self._flap_check(events, store, now)

        if self._expiry_on:
            self._expiry(events, store, now, set(change.added) | set(change.meta_changed))
        fired = self._rules(events, store, change, now)
        for sid in removed:
            names.pop(sid, None)
        if removed or added or went or came or fired:
            self._invalidate()
        return events

    def _invalidate(self) -> None:
        self._active = None
        self.active_version += 1

    # ------------------------------------------------------------------ first frame

    def _first_frame(self, change: FleetChange, store: FleetStore, now: int) -> list[Event]:
        servers = store.servers
        online_flags = store.online_flags
        self._names = {sid: _name(server.name, sid) for sid, server in servers.items()}
        offline: list[int] = []
        never: list[int] = []
        for sid in store.order:
            if sid not in servers or online_flags.get(sid, False):
                continue
            status = store.state_of(sid)
            if status.state is ServerState.NEVER_REPORTED:
                never.append(sid)
                self._never.add(sid)
            else:
                offline.append(sid)
            self._last_seen_ms[sid] = _ms(status.last_active_s)
        self._offline = set(offline) | set(never)
        total = len(servers)
        online = total - len(offline) - len(never)
        parts = [f"{online} online"]
        if offline:
            parts.append(f"{len(offline)} offline ({self._list(offline)})")
        if never:
            parts.append(f"{len(never)} never reported")
        message = f"{_plural(total, 'server')}: " + ", ".join(parts)
        data: dict[str, Any] = {
            "servers": total, "online": online, "offline": len(offline), "never_reported": len(never),
            "offline_ids": offline[:IDS_KEPT], "never_reported_ids": never[:IDS_KEPT],
        }
        if self._expiry_on:
            soon, passed = self._expiry_at_start(store, now)
            if soon:
                message += f"; billing ends within {_plural(self.config.expiry_days, 'day')} for " \
                           + self._list([sid for sid, _ in soon])
            if passed:
                message += "; billing ended for " + self._list([sid for sid, _ in passed])
            if soon or passed:
                data["expiry"] = [{"server_id": sid, "days_left": days} for sid, days in (soon + passed)[:IDS_KEPT]]
        firing: dict[str, list[int]] = {}
        for t in self._transitions(store, change, now):
            if t.fired:
                firing.setdefault(t.rule.name, []).append(t.server_id)
        for rule_name, ids in firing.items():
            message += f"; {rule_name}: {self._list(ids)}"
        if firing:
            data["rules"] = {rule_name: ids[:IDS_KEPT] for rule_name, ids in firing.items()}
        severity = Severity.WARNING if offline or firing else Severity.INFO
        self._invalidate()
        return [self._event(now, EventKind.SUMMARY, severity, message, data=data)]

    def _resync(self, change: FleetChange, store: FleetStore) -> FleetChange:
        """A first frame of a new store after earlier frames: the change against what we knew."""
        known = self._names
        servers = store.servers
        online = store.online_flags
        out = FleetChange(now_ms=change.now_ms, first=True)
        out.added = {sid for sid in servers if sid not in known}
        out.removed = {sid for sid in known if sid not in servers}
        both = [sid for sid in servers if sid in known]
        out.went_offline = {sid for sid in both if not online.get(sid, False) and sid not in self._offline}
        out.came_online = {sid for sid in both if online.get(sid, False) and sid in self._offline}
        out.meta_changed = set(both)
        out.changed = set(both)
        return out

    # ------------------------------------------------------------------ membership, flips

    def _membership(self, events: list[Event], removed: list[int], added: list[int],
                    store: FleetStore, now: int) -> None:
        names = self._names
        for sid in removed:
            self._offline.discard(sid)
            self._last_seen_ms.pop(sid, None)
            self._never.discard(sid)
            self._flaps.pop(sid, None)
            self._billing_ids.discard(sid)
            self._expiry_sent.pop(sid, None)
        if len(removed) >= FOLD_AT:
            events.append(self._fold(now, EventKind.REMOVED, Severity.INFO, removed,
                                     f"{len(removed)} servers left the Dashboard"))
        else:
            for sid in removed:
                events.append(self._event(now, EventKind.REMOVED, Severity.INFO,
                                          f"{names[sid]} left the Dashboard", sid, names[sid]))
        for sid in added:
            server = store.servers[sid]
            names[sid] = _name(server.name, sid)
            status = store.state_of(sid)
            if status.state is not ServerState.ONLINE:
                self._offline.add(sid)
                self._last_seen_ms[sid] = _ms(status.last_active_s)
                if status.state is ServerState.NEVER_REPORTED:
                    self._never.add(sid)
        if len(added) >= FOLD_AT:
            events.append(self._fold(now, EventKind.ADDED, Severity.INFO, added,
                                     f"{len(added)} servers appeared on the Dashboard"))
        else:
            for sid in added:
                phrase = _state_word(store.state_of(sid).state)
                events.append(self._event(now, EventKind.ADDED, Severity.INFO,
                                          f"{names[sid]} appeared on the Dashboard ({phrase})", sid, names[sid],
                                          data={"state": phrase}))

    def _flips(self, events: list[Event], went: list[int], came: list[int], store: FleetStore, now: int) -> None:
        names = self._names
        flaps = self._flaps
        offline_events: list[int] = []
        online_events: list[tuple[int, float | None, bool]] = []
        for sid in went:
            self._offline.add(sid)
            status = store.state_of(sid)
            last = _ms(status.last_active_s)
            self._last_seen_ms[sid] = last if last is not None else now
            if status.state is ServerState.NEVER_REPORTED:
                self._never.add(sid)
            flap = flaps.get(sid)
            if flap is None:
                flap = flaps[sid] = _Flap()
            times = flap.offline_ms
            times.append(now)
            while times and now - times[0] > FLAP_WINDOW_S * 1000:
                times.popleft()
            flap.last_flip_ms = now
            if flap.flapping:
                flap.count += 1
                continue  # held: the flapping event says it
            if len(times) >= FLAP_COUNT:
                flap.flapping = True
                flap.count = len(times)
                flap.first_ms = times[0]
                if self._offline_on:
                    minutes = _minutes(now - times[0])
                    events.append(self._event(
                        now, EventKind.FLAPPING, Severity.WARNING,
                        f"{names[sid]} is flapping: {flap.count} times offline in {minutes} min",
                        sid, names[sid], rule="offline", data={"count": flap.count, "state": "started"}))
                continue
            offline_events.append(sid)
        for sid in came:
            self._offline.discard(sid)
            since = self._last_seen_ms.pop(sid, None)
            first_report = sid in self._never
            self._never.discard(sid)
            flap = flaps.get(sid)
            if flap is not None:
                flap.last_flip_ms = now
                if flap.flapping:
                    continue
            away = (now - since) / 1000.0 if since is not None and not first_report else None
            online_events.append((sid, away if away is None or away >= 0 else 0.0, first_report))
        if not self._offline_on:
            return
        if len(offline_events) >= FOLD_AT:
            events.append(self._fold(now, EventKind.OFFLINE, Severity.CRITICAL, offline_events,
                                     f"{len(offline_events)} servers went offline", rule="offline"))
        else:
            for sid in offline_events:
                seen = self._last_seen_ms.get(sid)
                data: dict[str, Any] = {"last_seen_ms": seen}
                message = f"{names[sid]} is offline"
                state = store.state_of(sid).state
                if state is ServerState.DISCONNECTED:
                    message += " (agent disconnected)"
                elif state is ServerState.NEVER_REPORTED:
                    message += " (never reported)"
                elif seen is not None and now - seen >= 1000:
                    message += f" (last seen {fmt_duration((now - seen) / 1000.0)} ago)"
                events.append(self._event(now, EventKind.OFFLINE, Severity.CRITICAL, message, sid, names[sid],
                                          rule="offline", data=data))
        if len(online_events) >= FOLD_AT:
            events.append(self._fold(now, EventKind.ONLINE, Severity.OK, [sid for sid, _, _ in online_events],
                                     f"{len(online_events)} servers are back online", rule="offline"))
        else:
            for sid, away, first_report in online_events:
                if first_report:
                    message = f"{names[sid]} is online (its first report)"
                elif away is None:
                    message = f"{names[sid]} is back online"
                else:
                    message = f"{names[sid]} is back online after {fmt_duration(away)}"
                events.append(self._event(now, EventKind.ONLINE, Severity.OK, message, sid, names[sid],
                                          rule="offline", data={"away_s": None if away is None else round(away, 3)}))

    def _flap_check(self, events: list[Event], store: FleetStore, now: int) -> None:
        """Flapping servers steady for :data:`FLAP_WINDOW_S`: one event each; entries of
        servers that went offline long ago are dropped (a sweep a minute)."""
        window = FLAP_WINDOW_S * 1000
        flaps = self._flaps
        ended: list[int] = []
        for sid, flap in flaps.items():
            if flap.flapping and now - flap.last_flip_ms >= window:
                ended.append(sid)
        for sid in ended:
            flap = flaps.pop(sid)
            if not self._offline_on or sid not in self._names:
                continue
            name = self._names[sid]
            online = sid not in self._offline
            minutes = _minutes(flap.last_flip_ms - flap.first_ms)
            state = "online" if online else "offline"
            events.append(self._event(
                now, EventKind.FLAPPING, Severity.OK if online else Severity.CRITICAL,
                f"{name} flapped {flap.count} times in {minutes} min, now {state}", sid, name, rule="offline",
                data={"count": flap.count, "state": "ended", "online": online}))
        if now - self._flap_sweep_ms >= 60_000:
            self._flap_sweep_ms = now
            stale = [sid for sid, flap in flaps.items()
                     if not flap.flapping and (not flap.offline_ms or now - flap.offline_ms[-1] > window)]
            for sid in stale:
                del flaps[sid]

    # ------------------------------------------------------------------ billing expiry

    def _expiry_at_start(self, store: FleetStore, now: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The first frame: servers whose billing ends soon / ended, recorded as reported."""
        self._expiry_day = _day(now)
        soon: list[tuple[int, int]] = []
        passed: list[tuple[int, int]] = []
        for sid in store.order:
            found = self._billing_stage(store, sid)
            if found is None:
                continue
            end, days, _auto, stage = found
            self._expiry_sent.setdefault(sid, set()).add((end.isoformat(), stage))
            (passed if stage == "passed" else soon).append((sid, days))
        return soon, passed

    def _expiry(self, events: list[Event], store: FleetStore, now: int, touched: set[int]) -> None:
        day = _day(now)
        if day != self._expiry_day:  # a new day on the Dashboard's clock: every billing again
            self._expiry_day = day
            touched = touched | self._billing_ids
        for sid in sorted(touched):
            if sid not in store.servers:
                continue
            found = self._billing_stage(store, sid)
            if found is None:
                continue
            end, days, auto, stage = found
            key = (end.isoformat(), stage)
            sent = self._expiry_sent.setdefault(sid, set())
            if key in sent:
                continue
            sent.add(key)
            name = self._names.get(sid) or _name(store.servers[sid].name, sid)
            verb = "renews" if auto else "ends"
            if days < 0:
                ago = _plural(-days, "day")
                message = f"{name}'s billing ended {end.isoformat()} ({ago} ago)"
                severity = Severity.CRITICAL
            else:
                when = "today" if days == 0 else f"in {_plural(days, 'day')}"
                message = f"{name}'s billing {verb} {end.isoformat()} ({when})"
                severity = Severity.INFO if auto else Severity.WARNING
            events.append(self._event(now, EventKind.EXPIRY, severity, message, sid, name, rule="expiry",
                                      data={"end": end.isoformat(), "days_left": days, "auto_renewal": auto}))

    def _billing_stage(self, store: FleetStore, sid: int) -> tuple[_dt.date, int, bool, str] | None:
        """(end date, days left, auto-renewing, stage) of a server whose billing end is near or past."""
        found = self._billing(store, sid)
        if found is None:
            return None
        stage = self._stage(found[1])
        return None if stage is None else (*found, stage)

    def _billing(self, store: FleetStore, sid: int) -> tuple[_dt.date, int, bool] | None:
        """(end date, days left, auto-renewing) of a server's billing, when its note has one."""
        try:
            note = store.note(sid)
        except Exception:  # pragma: no cover - the parser promises not to raise
            note = None
        billing = getattr(note, "billing", None)
        if billing is None:
            self._billing_ids.discard(sid)
            return None
        self._billing_ids.add(sid)
        end = billing.next_renewal or billing.end
        days = billing.days_left
        if end is None or not isinstance(days, int) or billing.never_expires:
            return None
        return end, days, bool(billing.auto_renewal and billing.next_renewal is not None)

    def _stage(self, days: int) -> str | None:
        if days < 0:
            return "passed"
        if days <= self.config.expiry_days:
            return "soon"
        return None

    # ------------------------------------------------------------------ metric rules

    def _transitions(self, store: FleetStore, change: FleetChange, now: int) -> Sequence[RuleTransitionLike]:
        engine = self.engine
        if engine is None:
            return ()
        try:
            return engine.evaluate(store, change, now)
        except Exception:
            if not self._engine_failed:
                self._engine_failed = True
                log.exception("alert rules: evaluation failed")
            return ()

    def _rules(self, events: list[Event], store: FleetStore, change: FleetChange, now: int) -> bool:
        """Rule events of this frame; ``True`` when some rule fired or cleared."""
        transitions = self._transitions(store, change, now)
        if not transitions:
            return False
        groups: dict[tuple[str, bool], list[int]] = {}
        for t in transitions:
            groups.setdefault((t.rule.name, bool(t.fired)), []).append(t.server_id)
        folded = {key for key, ids in groups.items() if len(ids) >= FOLD_AT}
        for (rule_name, fired) in folded:
            ids = groups[(rule_name, fired)]
            if fired:
                events.append(self._fold(now, EventKind.RULE_FIRED, Severity.WARNING, ids,
                                         f"{rule_name} fired on {len(ids)} servers", rule=rule_name))
            else:
                events.append(self._fold(now, EventKind.RULE_CLEARED, Severity.OK, ids,
                                         f"{rule_name} cleared on {len(ids)} servers", rule=rule_name))
        for t in transitions:
            if (t.rule.name, bool(t.fired)) in folded:
                continue
            sid = t.server_id
            rule = t.rule
            name = self._names.get(sid) or _name(getattr(store.servers.get(sid), "name", ""), sid)
            value = _float(t.value)
            since = t.since_ms if isinstance(t.since_ms, int) and 0 < t.since_ms <= now else None
            held = (now - since) / 1000.0 if since is not None else None
            condition = _condition(rule)
            data: dict[str, Any] = {
                "metric": rule.metric, "value": value if math.isfinite(value) else None,
                "above": rule.above, "below": rule.below, "for_s": rule.for_s, "since_ms": since,
            }
            if t.fired:
                message = f"{rule.name} on {name}: {rule.metric} {_metric_value(rule.metric, value)}, {condition}"
                if rule.for_s > 0 and held is not None:
                    message += f" for {fmt_duration(held)}"
                events.append(self._event(now, EventKind.RULE_FIRED, Severity.WARNING, message, sid, name,
                                          rule=rule.name, data=data))
            else:
                message = f"{rule.name} on {name} cleared"
                if held is not None:
                    message += f" after {fmt_duration(held)}"
                if math.isfinite(value):
                    message += f" ({rule.metric} {_metric_value(rule.metric, value)})"
                elif sid not in store.servers:
                    message += " (left the Dashboard)"
                else:
                    message += " (offline)"
                events.append(self._event(now, EventKind.RULE_CLEARED, Severity.OK, message, sid, name,
                                          rule=rule.name, data=data))
        return True

    # ================================================================== services

    def on_services(self, overview: ServiceOverview, now_ms: int) -> list[Event]:
        """Events of one services overview: monitors down / up, quotas crossing a step."""
        now = int(now_ms)
        events: list[Event] = []
        if self._services_on:
            self._services(events, getattr(overview, "services", None) or {}, now)
        if self._quota_on:
            self._quotas(events, getattr(overview, "cycle_transfer_stats", None) or {}, now)
        return events

    def _services(self, events: list[Event], services: Mapping[int, ServiceItem], now: int) -> None:
        first = not self._services_seen
        self._services_seen = True
        down_state = self._service_down
        present: set[int] = set()
        down_at_start: list[tuple[int, str]] = []
        for service_id, item in services.items():
            present.add(service_id)
            down = item.down_now
            name = _service_name(item, service_id)
            was_down = service_id in down_state
            if down is None or down == was_down:
                continue  # no data (keep what we knew), or no change
            counts = _today_counts(item)
            if down:
                if first:
                    down_state[service_id] = None
                    down_at_start.append((service_id, name))
                    continue
                down_state[service_id] = now
                events.append(self._service_event(now, EventKind.SERVICE_DOWN, Severity.CRITICAL,
                                                  f"service {name} is down{_counts_text(counts)}",
                                                  service_id, name, counts))
            else:
                since = down_state.pop(service_id)
                if since is not None and now >= since:
                    text = f"service {name} is back up after {fmt_duration((now - since) / 1000.0)}"
                    down_s: float | None = (now - since) / 1000.0
                else:
                    text = f"service {name} is back up"
                    down_s = None
                events.append(self._service_event(now, EventKind.SERVICE_UP, Severity.OK,
                                                  text + _counts_text(counts), service_id, name, counts,
                                                  down_s=down_s))
        for service_id in [sid for sid in down_state if sid not in present]:
            del down_state[service_id]  # the monitor was deleted
        if down_at_start:
            names = [name for _, name in down_at_start]
            shown = ", ".join(names[:NAMES_SHOWN]) + (f", +{len(names) - NAMES_SHOWN} more"
                                                      if len(names) > NAMES_SHOWN else "")
            events.append(Event(
                ts_ms=now, kind=EventKind.SUMMARY, severity=Severity.CRITICAL,
                message=f"{_plural(len(names), 'service')} down: {shown}", dashboard=self.dashboard,
                rule="service_down",
                data={"services_down": len(names), "service_ids": [sid for sid, _ in down_at_start][:IDS_KEPT]}))

    def _service_event(self, now: int, kind: EventKind, severity: Severity, message: str, service_id: int,
                       name: str, counts: tuple[int, int] | None, *, down_s: float | None = None) -> Event:
        data: dict[str, Any] = {}
        if counts is not None:
            data["today_up"], data["today_down"] = counts
        if kind is EventKind.SERVICE_UP:
            data["down_s"] = None if down_s is None else round(down_s, 3)
        return Event(ts_ms=now, kind=kind, severity=severity, message=message, dashboard=self.dashboard,
                     service_id=service_id, service_name=name, rule="service_down", data=data)

    def _quotas(self, events: list[Event], cycles: Mapping[int, CycleTransferStats], now: int) -> None:
        first = not self._quota_seen
        self._quota_seen = True
        threshold = _float(self.config.quota_percent)
        steps = sorted({*QUOTA_STEPS, threshold} if math.isfinite(threshold) and threshold > 0 else set(QUOTA_STEPS))
        levels = self._quota_level
        percents = self._quota_percent
        seen: set[tuple[int, int]] = set()
        at_start: list[tuple[int, str, float]] = []
        for cycle_id, cycle in cycles.items():
            limit = _float(getattr(cycle, "max", 0))
            if not (limit > 0 and math.isfinite(limit)):
                continue
            for sid, used in (getattr(cycle, "transfer", None) or {}).items():
                used_f = _float(used)
                if not math.isfinite(used_f):
                    continue
                key = (cycle_id, sid)
                seen.add(key)
                percent = used_f * 100.0 / limit
                percents[key] = percent
                level = max((s for s in steps if percent >= s), default=0.0)
                old = levels.get(key)
                levels[key] = level
                if level == 0.0:
                    continue
                name = self._names.get(sid) or _name(_clean((cycle.server_name or {}).get(sid, "")), sid)
                if first:
                    at_start.append((sid, name, percent))
                    continue
                if old is not None and level <= old:
                    continue  # no step crossed upward (a new cycle lowers the level silently)
                severity = (Severity.CRITICAL if level >= 100.0
                            else Severity.WARNING if level >= threshold else Severity.INFO)
                cycle_name = _clean(cycle.name) or f"cycle {cycle_id}"
                events.append(self._event(
                    now, EventKind.QUOTA, severity,
                    f"{name} used {percent:.0f}% of its traffic quota '{cycle_name}' "
                    f"({fmt_bytes(used_f)} of {fmt_bytes(limit)})",
                    sid, name, rule="quota",
                    data={"percent": round(percent, 2), "threshold": level, "cycle_id": cycle_id,
                          "cycle": cycle_name, "transfer": int(used_f), "max": int(limit)}))
        for key in [key for key in levels if key not in seen]:
            del levels[key]
            percents.pop(key, None)
        quota_active = frozenset(sid for (_, sid), percent in percents.items() if percent >= threshold)
        if quota_active != self._quota_active:
            self._quota_active = quota_active
            self._invalidate()
        if at_start:
            at_start.sort(key=lambda item: -item[2])
            shown = ", ".join(f"{name} {percent:.0f}%" for _, name, percent in at_start[:NAMES_SHOWN])
            if len(at_start) > NAMES_SHOWN:
                shown += f", +{len(at_start) - NAMES_SHOWN} more"
            top = at_start[0][2]
            severity = (Severity.CRITICAL if top >= 100.0 else Severity.WARNING if top >= threshold
                        else Severity.INFO)
            events.append(Event(
                ts_ms=now, kind=EventKind.SUMMARY, severity=severity,
                message=f"traffic quotas at {steps[0]:.0f}% or more: {shown}", dashboard=self.dashboard,
                rule="quota",
                data={"quota": [{"server_id": sid, "percent": round(p, 2)} for sid, _, p in at_start[:IDS_KEPT]],
                      "count": len(at_start)}))

    # ================================================================== stream

    def on_stream(self, state: object, message: str, now_ms: int) -> list[Event]:
        """Events of a stream state: stale (leaving "live"), live again (with how long it was not)."""
        name = str(getattr(state, "value", state) or "").strip().lower().replace(" ", "_")
        previous = self._stream_state
        if name == previous:
            return []
        self._stream_state = name
        now = int(now_ms)
        text = " ".join(str(message or "").split())
        if name == "live":
            since, self._stale_since = self._stale_since, None
            if since is None:
                return []
            away = max(0.0, (now - since) / 1000.0)
            return [Event(ts_ms=now, kind=EventKind.STREAM_LIVE, severity=Severity.OK,
                          message=f"the stream is live again after {fmt_duration(away)}",
                          dashboard=self.dashboard, data={"away_s": round(away, 3)})]
        if previous == "live" and name in _STALE_STATES and self._stale_since is None:
            self._stale_since = now
            words = {"stale": "stale", "reconnecting": "reconnecting", "auth_failed": "refused (auth failed)"}[name]
            return [Event(ts_ms=now, kind=EventKind.STREAM_STALE, severity=Severity.WARNING,
                          message=f"the stream is {words}" + (f": {text}" if text else ""),
                          dashboard=self.dashboard, data={"state": name})]
        return []

    # ================================================================== active alerts

    def active(self) -> dict[int, set[str]]:
        """Server id -> names of its alerts holding now: ``"offline"``, firing rules, ``"quota"``.

        Built again only after a change (see :attr:`active_version`); the caller must not modify it."""
        if self._active is None:
            self._active = self._build_active()
        return self._active

    def _build_active(self) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        if self._offline_on:
            for sid in self._offline:
                out[sid] = {"offline"}
        engine = self.engine
        if engine is not None:
            try:
                firing = engine.firing()
            except Exception:  # pragma: no cover - logged by _rules if it is broken
                firing = {}
            for sid, names in firing.items():
                if names:
                    out.setdefault(sid, set()).update(names)
        if self._quota_on:
            for sid in self._quota_active:
                out.setdefault(sid, set()).add("quota")
        return out

    # ================================================================== helpers

    def _event(self, now: int, kind: EventKind, severity: Severity, message: str, sid: int | None = None,
               name: str = "", *, rule: str = "", data: dict[str, Any] | None = None) -> Event:
        return Event(ts_ms=now, kind=kind, severity=severity, message=message, dashboard=self.dashboard,
                     server_id=sid, server_name=name, rule=rule, data=data or {})

    def _fold(self, now: int, kind: EventKind, severity: Severity, ids: list[int], head: str,
              *, rule: str = "") -> Event:
        ids = sorted(ids)
        return self._event(now, kind, severity, f"{head}: {self._list(ids)}", rule=rule,
                           data={"count": len(ids), "server_ids": ids[:IDS_KEPT]})

    def _list(self, ids: Iterable[int]) -> str:
        ids = list(ids)
        names = [self._names.get(sid, f"server #{sid}") for sid in ids[:NAMES_SHOWN]]
        more = len(ids) - len(names)
        return ", ".join(names) + (f", +{more} more" if more > 0 else "")


# --------------------------------------------------------------------------- module helpers


def _make_engine(rules: Sequence[Rule]) -> RuleEngineLike | None:
    try:
        from nezha_tui.alerts.rule_engine import RuleEngine  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - until the rule engine lands
        log.warning("alert rules: the rule engine is not available; %d rule(s) not evaluated", len(rules))
        return None
    return RuleEngine(rules)  # type: ignore[no-any-return]


def _name(name: object, sid: int) -> str:
    if isinstance(name, str) and name.strip():
        return name
    return f"server #{sid}"


def _service_name(item: ServiceItem, service_id: int) -> str:
    name = _clean(getattr(item, "service_name", ""))
    return name if name.strip() else f"#{service_id}"


def _clean(text: object) -> str:
    """Text of the services overview: the client sanitised it already; once more costs nothing
    for clean text (:func:`sanitise` returns it as it is), and an event outlives the screen."""
    return sanitise(text) if isinstance(text, str) else ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _count(value: object) -> int:
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _ms(seconds: float | None) -> int | None:
    if seconds is None or not math.isfinite(seconds):
        return None
    return int(seconds * 1000)


def _day(now_ms: int) -> _dt.date:
    try:
        return _dt.datetime.fromtimestamp(now_ms / 1000.0, _dt.timezone.utc).date()
    except (OverflowError, ValueError, OSError):
        return _dt.date.min


def _minutes(ms: int) -> int:
    return max(1, math.ceil(ms / 60_000))


def _state_word(state: ServerState) -> str:
    return {ServerState.ONLINE: "online", ServerState.OFFLINE: "offline",
            ServerState.DISCONNECTED: "agent disconnected", ServerState.NEVER_REPORTED: "never reported"}[state]


def _today_counts(item: ServiceItem) -> tuple[int, int] | None:
    """Today's (up, down) checks: index 29 of the 30-day arrays."""
    up, down = item.up or [], item.down or []
    if len(up) < 30 or len(down) < 30:
        return None
    return _count(up[29]), _count(down[29])


def _counts_text(counts: tuple[int, int] | None) -> str:
    if counts is None:
        return ""
    return f" (today {counts[0]} up, {counts[1]} down)"


_PERCENT_METRICS = frozenset({"cpu", "mem", "swap", "disk", "gpu"})
_SPEED_METRICS = frozenset({"net_in_speed", "net_out_speed"})
_BYTES_METRICS = frozenset({"net_in_transfer", "net_out_transfer"})
_LOAD_METRICS = frozenset({"load1", "load5", "load15"})


def _metric_value(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if metric in _PERCENT_METRICS:
        return f"{value:.1f}%"
    if metric in _SPEED_METRICS:
        return fmt_speed(value)
    if metric in _BYTES_METRICS:
        return fmt_bytes(value)
    if metric in _LOAD_METRICS:
        return fmt_load(value)
    if metric == "temperature":
        return fmt_temp(value)
    return f"{value:g}"


def _condition(rule: Rule) -> str:
    if rule.above is not None:
        return f"above {_metric_value(rule.metric, float(rule.above))}"
    if rule.below is not None:
        return f"below {_metric_value(rule.metric, float(rule.below))}"
    return "holding"  # pragma: no cover - a parsed rule has one of them
