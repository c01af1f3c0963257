"""The demo's story: a few things go wrong, on schedule, so alerts can be seen.

Every :data:`PERIOD` seconds of the demo's clock, counted from ``t0`` (the
clock reading when the demo was built), an *episode* plays:

- ``OFFLINE``: one server stops reporting (its ``last_active`` and state stay
  at the second it stopped) and comes back; a client with the usual 30 s
  online window sees it offline for about a minute;
- ``HOT``: another server's CPU runs above 90 % for about a minute;
- ``SERVICE``: one service monitor fails on every reporter for two minutes.
  The Dashboard's "current" counters hold the results since its 30-entry
  buffer last started over (one entry per 30 s, see views._current); the story
  monitor's buffer starts over at ``SERVICE_RESET``, so ``current_up`` is 0
  while the failures last and the monitor reads as down, then recovers;
- ``QUOTA``: a third server bursts traffic against the "Burst cap" quota rule
  (its cycle is the episode), crossing 90 % of it at ``QUOTA_CROSS``.

Who plays which part rotates between three servers (picked by the seed among
online servers, guest-visible first) and three monitors, so small fleets have
a story too.  Everything is a pure function of ``(fleet, seed, t0)`` and the
time asked about: the stream, the REST history and the overview agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .fleet import GIB, Fleet, FleetServer, Monitor, QuotaRule, Status
from .signals import Signals, mix

__all__ = [
    "Story", "Episode", "PERIOD", "OFFLINE", "HOT", "SERVICE_DOWN", "SERVICE_RESET", "QUOTA_RAMP", "QUOTA_CROSS",
    "QUOTA_RULE_ID", "BUFFER_SIZE", "BUFFER_EVERY",
]

PERIOD = 600.0  # seconds between episodes
OFFLINE = (15.0, 105.0)  # [start, end) offsets: the server does not report
HOT = (20.0, 85.0)  # [start, end): CPU above 90 %
SERVICE_RESET = 110.0  # the story monitor's current-status buffer starts over here (the offline server is back)
SERVICE_DOWN = (80.0, 170.0)  # (start, end]: checks made in this span fail on every reporter
QUOTA_RAMP = (30.0, 60.0)  # the burst's bytes arrive linearly over this span
QUOTA_CROSS = 0.92  # share of the quota used at the end of the ramp
QUOTA_RULE_ID = 2
BUFFER_SIZE = 30  # the Dashboard's _CurrentStatusSize
BUFFER_EVERY = 30.0  # one result enters the buffer per 30 s
_CYCLE = BUFFER_SIZE * BUFFER_EVERY  # a buffer starts over every 900 s
# episode k's monitor is the one whose buffer starts over at its SERVICE_RESET: phases 110, 410, 710 (mod 900)
_MONITOR_OF_EPISODE = (0, 2, 1)


@dataclass(frozen=True)
class Episode:
    """Who plays which part in episode ``k`` (starting at absolute time ``start``)."""

    k: int
    start: float
    offline: int  # server ids
    hot: int
    quota: int
    monitor: int  # monitor id, 0 when the fleet has none


class Story:
    def __init__(self, fleet: Fleet, seed: int, t0: float) -> None:
        self.fleet = fleet
        self.seed = seed
        self.t0 = float(t0)
        online = [s for s in fleet.servers if s.status == Status.ONLINE and s.host is not None]
        online.sort(key=lambda s: (s.hide_for_guest, mix(seed, s.id, 0x5707) & 0xFFFF_FFFF, s.id))
        self.cast: tuple[FleetServer, ...] = tuple(online[:3])
        mons = [m for m in fleet.monitors if m.reporters]
        mons.sort(key=lambda m: (m.hide_for_guest, mix(seed, m.id, 0x5E7) & 0xFFFF_FFFF, m.id))
        self.monitors: tuple[Monitor, ...] = tuple(mons[:3])
        self._phase = {m.id: self.t0 + (mix(seed, m.id, 0xB0F) % int(_CYCLE)) for m in fleet.monitors}
        for j, m in enumerate(self.monitors):
            self._phase[m.id] = self.t0 + SERVICE_RESET + 300.0 * j
        self.rule: QuotaRule | None = None
        self.quota_max = 0
        if self.cast:
            bound = max((s.profile[5] + s.profile[6]) * 1.8 * PERIOD for s in self.cast)
            self.quota_max = max(1, math.ceil(20 * bound / GIB)) * GIB  # the cast's own traffic stays under 5 %
            self.rule = QuotaRule(QUOTA_RULE_ID, "Burst cap (10 min)", tuple(sorted(s.id for s in self.cast)),
                                  self.quota_max, 0, "story")
        self._burst: dict[int, float] = {}

    # ------------------------------------------------------------------ episodes

    def episode_index(self, t: float) -> int | None:
        """The episode playing at ``t`` (None before the story starts)."""
        if t < self.t0:
            return None
        return int((t - self.t0) // PERIOD)

    def episode(self, k: int) -> Episode | None:
        if not self.cast or k < 0:
            return None
        c = self.cast
        n = len(c)
        mon = 0
        if self.monitors:
            j = _MONITOR_OF_EPISODE[k % 3]
            mon = self.monitors[j].id if j < len(self.monitors) else 0
        # with fewer than three servers the quota goes to the hot one, not to the one that stops reporting
        quota = c[(k + 2) % n] if n >= 3 else c[(k + 1) % n]
        return Episode(k, self.t0 + k * PERIOD, c[k % n].id, c[(k + 1) % n].id, quota.id, mon)

    def _offset(self, t: float) -> tuple[int, float]:
        k = int((t - self.t0) // PERIOD)
        return k, t - self.t0 - k * PERIOD

    # ------------------------------------------------------------------ servers

    def frozen_at(self, sid: int, sec: int) -> int | None:
        """The whole second whose report the stream still shows while ``sid`` does not report, else None."""
        if sec < self.t0 or not self.cast:
            return None
        k, r = self._offset(sec)
        if not (OFFLINE[0] <= r < OFFLINE[1]):
            return None
        c = self.cast
        if c[k % len(c)].id != sid:
            return None
        return math.ceil(self.t0 + k * PERIOD + OFFLINE[0]) - 1

    def is_hot(self, sid: int, sec: float) -> bool:
        if sec < self.t0 or not self.cast:
            return False
        k, r = self._offset(sec)
        if not (HOT[0] <= r < HOT[1]):
            return False
        c = self.cast
        return c[(k + 1) % len(c)].id == sid

    # ------------------------------------------------------------------ services

    def buffer_phase(self, mid: int) -> float:
        """An absolute time at which monitor ``mid``'s current-status buffer starts over."""
        return self._phase.get(mid, self.t0)

    def service_down(self, mid: int, t: float) -> bool:
        """Whether a check of monitor ``mid`` made at ``t`` fails on every reporter (the story's outage)."""
        if not self.monitors or t <= self.t0 + SERVICE_DOWN[0]:
            return False
        k = int((t - self.t0 - SERVICE_DOWN[0]) // PERIOD)
        r = t - self.t0 - k * PERIOD
        if not (SERVICE_DOWN[0] < r <= SERVICE_DOWN[1]):
            return False
        e = self.episode(k)
        return e is not None and e.monitor == mid

    def outages(self, mid: int, t_from: float, t_to: float) -> list[tuple[float, float]]:
        """The story's outage spans ``(a, b]`` of monitor ``mid`` that meet ``(t_from, t_to]``."""
        out: list[tuple[float, float]] = []
        if not self.monitors or t_to <= self.t0:
            return out
        k0 = max(0, int((t_from - self.t0 - SERVICE_DOWN[1]) // PERIOD))
        k = k0
        while True:
            start = self.t0 + k * PERIOD
            a, b = start + SERVICE_DOWN[0], start + SERVICE_DOWN[1]
            if a >= t_to:
                break
            e = self.episode(k)
            if e is not None and e.monitor == mid and b > t_from:
                out.append((a, b))
            k += 1
        return out

    # ------------------------------------------------------------------ quota

    def cycle_bounds(self, t: float) -> tuple[int, int]:
        """The Burst cap cycle holding ``t``: (start, stop) whole seconds, stop inclusive."""
        k = math.floor((t - self.t0) / PERIOD)
        start = self.t0 + k * PERIOD
        return math.ceil(start), math.ceil(start + PERIOD) - 1

    def burst(self, sid: int, t: float, signals: Signals) -> int:
        """Bytes the story's burst added to ``sid``'s quota use in the current cycle by ``t``."""
        k = self.episode_index(t)
        e = self.episode(k) if k is not None else None
        if e is None or e.quota != sid:
            return 0
        r = t - e.start
        if r <= QUOTA_RAMP[0]:
            return 0
        total = self._burst.get(k)
        if total is None:
            s = self.fleet.by_id[sid]
            start, _ = self.cycle_bounds(e.start)
            at = int(e.start + QUOTA_RAMP[1])
            total = max(0.0, QUOTA_CROSS * self.quota_max - self.base_use(s, start, at, signals))
            if len(self._burst) > 64:
                self._burst.clear()
            self._burst[k] = total
        share = min(1.0, (r - QUOTA_RAMP[0]) / (QUOTA_RAMP[1] - QUOTA_RAMP[0]))
        return int(total * share)

    @staticmethod
    def base_use(s: FleetServer, start: int, end: int, signals: Signals) -> int:
        """Bytes in + out of ``s`` from ``start`` to ``end`` by its own traffic (transfer counters)."""
        assert s.host is not None
        if end < start:
            return 0
        a = signals.sample(s, end)
        b = signals.sample(s, max(start, s.host.boot_time))
        return max(0, (a.net_in_transfer + a.net_out_transfer) - (b.net_in_transfer + b.net_out_transfer))
