"""The metric rules (``[[alerts.rules]]``), evaluated once per frame.

A rule holds on a server while the server is online, passes the rule's filter (``servers`` glob,
``group``) and its metric is above (or below) the threshold.  It starts holding at a frame time
t0; it *fires* once, when ``now - t0 >= for_s`` (at once when ``for_s`` is 0); it *clears* once,
when it stops holding (the value crossed back, the server went offline or left the Dashboard,
or no longer passes the filter).  Times are the Dashboard's clock (the frame's ``now``).

Performance (issue 11: 10,000 servers x 10 rules within 2 ms a frame on a slow 2-core machine).
A frame changes nearly every server's values, so the work is done column-wise with numpy,
never as a Python loop over servers x rules:

* cpu, mem, swap, disk and the network speeds come from the store's own per-frame columns
  (:meth:`FleetStore.frame_columns`, the arrays recorded for the realtime plots): no extra
  per-server work at all, a zero-copy view each;
* the other metrics (load, connections, processes, transfers, temperature, GPU) are read
  from the frame once per metric in C (``map``/``np.fromiter``), only when a rule uses them,
  and only for the changed servers when few changed (~1 ms per metric at 10,000 servers);
* per rule a frame costs a few vector operations (compare, mask with online and filter, compare
  with the last frame); Python work only for the servers whose state changed (a transition) and
  for the servers waiting out a ``for``;
* the filter masks and the memory/disk totals are kept, updated for ``meta_changed`` servers
  only, and rebuilt when the Dashboard's order or membership or the groups change.

Pure Python cannot do it: one C-level comparison of a 10,000-value column into a list costs
~1 ms on that machine, ten rules 10 ms; the same with numpy costs ~5 us.  numpy is imported
lazily, when an engine with at least one rule evaluates its first frame.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from nezha_tui.alerts.rules import Rule

if TYPE_CHECKING:  # pragma: no cover
    from nezha_tui.store import FleetChange, FleetStore

__all__ = ["METRICS", "RuleEngine", "RuleTransition"]

METRICS: dict[str, str] = {
    "cpu": "CPU use, % of all cores",
    "mem": "memory used, % of the total",
    "swap": "swap used, % of the total",
    "disk": "disk used, % of the total",
    "load1": "load average over 1 minute",
    "load5": "load average over 5 minutes",
    "load15": "load average over 15 minutes",
    "net_in_speed": "network in, bytes/s",
    "net_out_speed": "network out, bytes/s",
    "net_in_transfer": "network in since the agent started, bytes",
    "net_out_transfer": "network out since the agent started, bytes",
    "temperature": "the hottest sensor, °C",
    "gpu": "the busiest GPU, %",
    "tcp": "TCP connections",
    "udp": "UDP connections",
    "processes": "processes running",
}
"""Metric name -> what it measures, in its unit (the names config.toml's ``metric`` takes)."""

# metrics read from the store's per-frame columns: metric -> (column, host total for a percentage)
_COLUMN_METRICS: dict[str, tuple[str, str | None]] = {
    "cpu": ("cpu", None),
    "mem": ("mem", "mem_total"),
    "swap": ("swap", "swap_total"),
    "disk": ("disk", "disk_total"),
    "net_in_speed": ("net_in", None),
    "net_out_speed": ("net_out", None),
}
# the others: metric -> attribute of HostState (a number), or a tuple read as its maximum
_STATE_FIELDS: dict[str, str] = {
    "load1": "load_1", "load5": "load_5", "load15": "load_15",
    "net_in_transfer": "net_in_transfer", "net_out_transfer": "net_out_transfer",
    "tcp": "tcp_conn_count", "udp": "udp_conn_count", "processes": "process_count",
    # for a frame without recorded columns (a value of the wrong type somewhere)
    "cpu": "cpu", "net_in_speed": "net_in_speed", "net_out_speed": "net_out_speed",
    "mem": "mem_used", "swap": "swap_used", "disk": "disk_used",
}
_MAX_OF = {"temperature", "gpu"}

_STATE = attrgetter("state")
_HOST = attrgetter("host")
_TEMPERATURES = attrgetter("temperatures")
_TEMPERATURE = attrgetter("temperature")
_GPU = attrgetter("gpu")

_FEW = 8
"""Metrics outside the columns are re-read for the changed servers only when fewer than
1/_FEW of the fleet changed; otherwise the whole column is read again (faster in C)."""

_np: Any = None


def _numpy() -> Any:
    global _np
    if _np is None:
        import numpy

        _np = numpy
    return _np


@dataclass(frozen=True, slots=True)
class RuleTransition:
    """A rule fired (``fired=True``) or cleared on one server."""

    rule: Rule
    server_id: int
    fired: bool
    value: float
    """The metric's value at this frame (NaN when the server went offline or left)."""
    since_ms: int
    """When the condition started holding (Dashboard clock, ms)."""


def _num(value: object) -> float:
    """A value read from a server as a float; NaN when it is not a number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number


def _max_of(values: object) -> float:
    if not values or not isinstance(values, tuple):
        return math.nan
    best = math.nan
    for v in values:
        v = _num(getattr(v, "temperature", v))
        if v == v and not v <= best:
            best = v
    return best


class _RuleState:
    """Per rule, per server position: holding since (ms), holding, fired."""

    __slots__ = ("rule", "above", "threshold", "for_ms", "filter_key", "since", "on", "fired", "pending")

    def __init__(self, rule: Rule, n: int) -> None:
        np = _numpy()
        self.rule = rule
        self.above = rule.above is not None
        self.threshold = float(rule.above if rule.above is not None else rule.below)  # type: ignore[arg-type]
        self.for_ms = max(0.0, float(rule.for_s)) * 1000.0
        self.filter_key = (rule.servers.casefold() if rule.servers else None,
                           rule.group.casefold() if rule.group else None)
        self.since = np.zeros(n, dtype=np.float64)
        self.on = np.zeros(n, dtype=bool)
        self.fired = np.zeros(n, dtype=bool)
        self.pending = 0
        """Servers holding but not fired yet (waiting out ``for``)."""


class RuleEngine:
    """Evaluates metric rules frame by frame; see the module's doc for the semantics and costs."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(r for r in rules if r.metric in METRICS
                                             and (r.above is not None) != (r.below is not None))
        self._states: list[_RuleState] = []
        self._order: list[int] = []
        self._position: object = None  # the store's position dict the arrays are laid out by
        self._groups: object = None  # the store's groups list the group masks were built from
        self._filters: dict[tuple[str | None, str | None], Any] = {}
        self._totals: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}  # metric -> values of the last frame (non-column metrics)
        self._extra_frame = -1
        self._frame_states: list[Any] | None = None
        self._counts: dict[int, dict[str, int]] = {}
        self._firing: dict[int, frozenset[str]] = {}
        self._metrics = sorted({r.metric for r in self.rules})

    # ------------------------------------------------------------------ queries

    def firing(self) -> Mapping[int, frozenset[str]]:
        """Server id -> names of the rules firing on it now (servers with none are absent)."""
        return self._firing

    # ------------------------------------------------------------------ a frame

    def evaluate(self, store: FleetStore, change: FleetChange, now_ms: int) -> list[RuleTransition]:
        """Take one frame (``store`` took it, ``change`` is what it changed); the transitions, in
        rule order, then the Dashboard's server order (clears before fires within a rule)."""
        if not self.rules:
            return []
        np = _numpy()
        out: list[RuleTransition] = []
        now = float(now_ms)
        order = store.order
        n = len(order)
        relaid = store.position is not self._position
        left: dict[int, list[RuleTransition]] = self._relayout(store) if relaid else {}
        groups_changed = store.groups is not self._groups
        if relaid or groups_changed:
            self._groups = store.groups
            self._filters = {key: self._filter_mask(store, key) for key in {s.filter_key for s in self._states}}
            self._totals = {}
        elif change.meta_changed:
            self._update_meta(store, change.meta_changed)

        columns = store.frame_columns()
        if columns is not None and columns.position is not store.position:
            columns = None
        if columns is not None:
            online = None if columns.online is None else np.frombuffer(columns.online, dtype=np.uint8).view(bool)
        else:
            flags = store.online_flags
            online = np.fromiter(map(flags.get, order, [False] * n), dtype=bool, count=n)
            if online.all():
                online = None
        self._frame_states = None
        values = {metric: self._values(metric, store, change, columns, relaid, n) for metric in self._metrics}
        self._frame_states = None  # (the frame's servers are let go with the frame)
        self._extra_frame = store.frames

        for r, state in enumerate(self._states):
            if r in left:
                out += left[r]
            v = values[state.rule.metric]
            h = v > state.threshold if state.above else v < state.threshold
            if online is not None:
                h &= online
            mask = self._filters.get(state.filter_key)
            if mask is not None:
                h &= mask
            moved = np.flatnonzero(h != state.on)
            started = ()
            if moved.size:
                now_on = h[moved]
                started = moved[now_on]
                stopped = moved[~now_on]
                if stopped.size:
                    cleared = stopped[state.fired[stopped]]
                    state.pending -= int(stopped.size - cleared.size)
                    if cleared.size:
                        state.fired[cleared] = False
                        self._emit(out, state, order, cleared, False, v, online, mask)
                    state.on[stopped] = False
                if started.size:
                    state.on[started] = True
                    state.since[started] = now
                    state.pending += int(started.size)
            if state.pending:
                if state.for_ms <= 0:
                    ready = started
                else:
                    ready = np.flatnonzero(state.on & ~state.fired & (state.since <= now - state.for_ms))
                if len(ready):
                    state.fired[ready] = True
                    state.pending -= int(len(ready))
                    self._emit(out, state, order, ready, True, v, None, None)
        return out

    # ------------------------------------------------------------------ helpers

    def _emit(self, out: list[RuleTransition], state: _RuleState, order: list[int], idx: Any, fired: bool,
              values: Any, online: Any, mask: Any) -> None:
        rule, name = state.rule, state.rule.name
        since = state.since
        counts, firing = self._counts, self._firing
        for i in idx.tolist():
            sid = order[i]
            value = float(values[i])
            if not fired and ((online is not None and not online[i]) or (mask is not None and not mask[i])):
                value = math.nan  # offline, or out of the rule's servers: no value of its own
            out.append(RuleTransition(rule, sid, fired, value, int(since[i])))
            self._count(counts, firing, sid, name, 1 if fired else -1)

    @staticmethod
    def _count(counts: dict[int, dict[str, int]], firing: dict[int, frozenset[str]], sid: int, name: str,
               delta: int) -> None:
        names = counts.setdefault(sid, {})
        c = names.get(name, 0) + delta
        if c > 0:
            names[name] = c
        else:
            names.pop(name, None)
        if names:
            firing[sid] = frozenset(names)
        else:
            counts.pop(sid, None)
            firing.pop(sid, None)

    def _relayout(self, store: FleetStore) -> dict[int, list[RuleTransition]]:
        """The Dashboard's order or membership changed: move every rule's state to the new positions.
        Returns rule index -> the clears of servers that left (value NaN)."""
        np = _numpy()
        old_order = self._order
        order = store.order
        position = store.position
        n = len(order)
        left: dict[int, list[RuleTransition]] = {}
        if not self._states:
            self._states = [_RuleState(rule, n) for rule in self.rules]
        else:
            new_index = np.fromiter(map(position.get, old_order, [-1] * len(old_order)), dtype=np.intp,
                                    count=len(old_order))
            kept = new_index >= 0
            gone = np.flatnonzero(~kept)
            for r, state in enumerate(self._states):
                if gone.size:
                    for i in gone[state.fired[gone]].tolist():
                        left.setdefault(r, []).append(
                            RuleTransition(state.rule, old_order[i], False, math.nan, int(state.since[i])))
                        self._count(self._counts, self._firing, old_order[i], state.rule.name, -1)
                since, on, fired = (np.zeros(n, dtype=np.float64), np.zeros(n, dtype=bool),
                                    np.zeros(n, dtype=bool))
                target = new_index[kept]
                since[target] = state.since[kept]
                on[target] = state.on[kept]
                fired[target] = state.fired[kept]
                state.since, state.on, state.fired = since, on, fired
                state.pending = int(np.count_nonzero(on & ~fired))
        self._order = list(order)
        self._position = position
        self._extra = {}
        return left

    def _filter_mask(self, store: FleetStore, key: tuple[str | None, str | None]) -> Any:
        """Which positions pass a rule's filter (``None``: every one)."""
        np = _numpy()
        glob, group = key
        order = store.order
        n = len(order)
        mask = None
        if group is not None:
            members: set[int] = set()
            for g in store.groups:
                name = g.group.name
                if isinstance(name, str) and name.casefold() == group:
                    members.update(g.servers or ())
            mask = np.fromiter(map(members.__contains__, order), dtype=bool, count=n)
        if glob is not None:
            match = _glob(glob)
            servers = store.servers
            names = np.fromiter((match(_casefold(servers[sid].name)) is not None for sid in order),
                                dtype=bool, count=n)
            mask = names if mask is None else mask & names
        return mask

    def _update_meta(self, store: FleetStore, ids: set[int]) -> None:
        """Names or host facts of some servers changed: their filter bits and totals."""
        position = store.position
        servers = store.servers
        idx = [(position[sid], servers[sid]) for sid in ids if sid in position and sid in servers]
        for (glob, group), mask in self._filters.items():
            if mask is None or glob is None:
                continue
            match = _glob(glob)
            in_group = self._group_members(store, group) if group is not None else None
            for i, server in idx:
                ok = match(_casefold(server.name)) is not None
                if in_group is not None:
                    ok = ok and server.id in in_group
                mask[i] = ok
        for field, totals in self._totals.items():
            for i, server in idx:
                totals[i] = _total(getattr(server.host, field, 0))

    @staticmethod
    def _group_members(store: FleetStore, group: str) -> set[int]:
        members: set[int] = set()
        for g in store.groups:
            name = g.group.name
            if isinstance(name, str) and name.casefold() == group:
                members.update(g.servers or ())
        return members

    def _values(self, metric: str, store: FleetStore, change: FleetChange, columns: Any, relaid: bool,
                n: int) -> Any:
        """This frame's values of one metric, by position (NaN: no value)."""
        np = _numpy()
        spec = _COLUMN_METRICS.get(metric)
        if spec is not None and columns is not None:
            column, total_field = spec
            used = np.frombuffer(getattr(columns, column), dtype=np.float64)
            if total_field is None:
                return used
            totals = self._totals.get(total_field)
            if totals is None:
                servers = store.servers
                totals = np.fromiter((_total(getattr(servers[sid].host, total_field, 0)) for sid in store.order),
                                     dtype=np.float64, count=n)
                self._totals[total_field] = totals
            return used * 100.0 / totals
        # not in the columns: read from the frame (only the changed servers when few changed)
        cached = self._extra.get(metric)
        if (cached is not None and not relaid and self._extra_frame == store.frames - 1
                and len(change.changed) * _FEW < n):
            position, servers = store.position, store.servers
            for sid in change.changed:
                i = position.get(sid)
                if i is not None:
                    cached[i] = _one_value(metric, servers[sid])
            values = cached
        else:
            if self._frame_states is None:
                self._frame_states = _states(store)
            values = _read_column(metric, self._frame_states, n)
            if metric in ("mem", "swap", "disk"):  # columns missing: a percentage of the total
                servers = store.servers
                totals = np.fromiter((_total(getattr(servers[sid].host, metric + "_total", 0))
                                      for sid in store.order), dtype=np.float64, count=n)
                values = values * 100.0 / totals
        if metric in _COLUMN_METRICS:
            self._extra.pop(metric, None)  # columns may be back next frame: no stale cache
        else:
            self._extra[metric] = values
        return values


def _total(value: object) -> float:
    total = _num(value)
    return total if total > 0 else math.nan


def _casefold(name: object) -> str:
    return name.casefold() if isinstance(name, str) else ""


_GLOBS: dict[str, Any] = {}


def _glob(pattern: str) -> Any:
    match = _GLOBS.get(pattern)
    if match is None:
        match = re.compile(fnmatch.translate(pattern)).match
        _GLOBS[pattern] = match
    return match


def _one_value(metric: str, server: Any) -> float:
    state = server.state
    if metric == "temperature":
        return _max_of(getattr(state, "temperatures", ()))
    if metric == "gpu":
        return _max_of(getattr(state, "gpu", ()))
    value = _num(getattr(state, _STATE_FIELDS[metric], math.nan))
    if metric in ("mem", "swap", "disk"):
        value = value * 100.0 / _total(getattr(server.host, metric + "_total", 0))
    return value


def _states(store: FleetStore) -> list[Any]:
    """The frame's HostStates by position: the store's list (built for its columns), else from
    ``store.servers`` (built in the Dashboard's order; reading its values is ~4x cheaper than a
    look-up per id: the keys are compared with the order in C)."""
    states = store.frame_states()
    if states is not None and len(states) == len(store.order):
        return states
    servers = store.servers
    if len(servers) == len(store.order) and list(servers) == store.order:
        return list(map(_STATE, servers.values()))
    return list(map(_STATE, map(servers.__getitem__, store.order)))


def _read_column(metric: str, states: list[Any], n: int) -> Any:
    """One metric for every server (``states``: their HostStates by position), read in C where
    the values allow."""
    np = _numpy()
    try:
        if metric in _MAX_OF:
            lists = list(map(_TEMPERATURES if metric == "temperature" else _GPU, states))
            lengths = np.fromiter(map(len, lists), dtype=np.intp, count=n)
            flat = chain.from_iterable(lists)
            if metric == "temperature":
                flat = map(_TEMPERATURE, flat)
            flat_values = np.fromiter(flat, dtype=np.float64, count=int(lengths.sum()))
            out = np.full(n, np.nan)
            has = lengths > 0
            if flat_values.size:
                starts = np.cumsum(lengths) - lengths
                out[has] = np.fmax.reduceat(flat_values, starts[has])
            return out
        return np.fromiter(map(attrgetter(_STATE_FIELDS[metric]), states), dtype=np.float64, count=n)
    except (TypeError, ValueError, OverflowError, AttributeError):
        # a value of the wrong type somewhere: one server at a time
        if metric in _MAX_OF:
            getter = _TEMPERATURES if metric == "temperature" else _GPU
            return np.fromiter((_max_of(getter(st)) for st in states), dtype=np.float64, count=n)
        field = _STATE_FIELDS[metric]
        return np.fromiter((_num(getattr(st, field, math.nan)) for st in states), dtype=np.float64, count=n)
