"""Live values as smooth deterministic functions of (seed, server, time).

A server's state at whole second ``sec`` is :meth:`Signals.sample`; the live
stream shows the sample of the second its report carries (the whole second of
``last_active``), and metric history at a bucket start ``ts`` is the sample at
``ts`` - so a history point and the stream agree exactly at the same second.
Transfers are the closed-form integral of the speeds since boot, so they grow
with time consistently with the speeds; uptime is ``sec - boot_time``.

Service checks (:meth:`Signals.check`) are likewise pure functions of
(monitor, reporter, check slot): realistic delays per reporter, rare random
failures and short deterministic outages.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from .fleet import FleetServer, Monitor

if TYPE_CHECKING:
    from .story import Story

__all__ = ["State", "Signals", "mix", "unit"]

_TAU = 2 * math.pi
_DAY = 86400.0
_W_DAY = _TAU / _DAY
_MASK = (1 << 64) - 1


#: API metric name -> the State field it reads (temperature and gpu are maxima, see Signals.metric).
_METRIC_FIELDS = {
    "cpu": "cpu", "memory": "mem_used", "swap": "swap_used", "disk": "disk_used",
    "net_in_speed": "net_in_speed", "net_out_speed": "net_out_speed",
    "net_in_transfer": "net_in_transfer", "net_out_transfer": "net_out_transfer",
    "load1": "load_1", "load5": "load_5", "load15": "load_15",
    "tcp_conn": "tcp_conn_count", "udp_conn": "udp_conn_count", "process_count": "process_count",
    "uptime": "uptime",
}


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 chained): stable across runs and platforms."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h ^= h >> 31
        h = h * 0x94D049BB133111EB & _MASK
        h ^= h >> 29
    return h


def unit(*parts: int) -> float:
    """A deterministic float in [0, 1)."""
    return (mix(*parts) >> 11) / float(1 << 53)


class State(NamedTuple):
    cpu: float
    mem_used: int
    swap_used: int
    disk_used: int
    net_in_transfer: int
    net_out_transfer: int
    net_in_speed: int
    net_out_speed: int
    uptime: int
    load_1: float
    load_5: float
    load_15: float
    tcp_conn_count: int
    udp_conn_count: int
    process_count: int
    temperatures: tuple[tuple[str, float], ...]
    gpu: tuple[float, ...]


def _speed_and_bytes(base: float, w2: float, p1: float, p2: float, t: float, tb: float) -> tuple[int, int]:
    """speed(t) = base (1 + .5 sin(w1 t + p1) + .3 sin(w2 t + p2)) and its integral since tb."""
    s = base * (1 + 0.5 * math.sin(_W_DAY * t + p1) + 0.3 * math.sin(w2 * t + p2))
    integ = base * (
        (t - tb)
        - 0.5 / _W_DAY * (math.cos(_W_DAY * t + p1) - math.cos(_W_DAY * tb + p1))
        - 0.3 / w2 * (math.cos(w2 * t + p2) - math.cos(w2 * tb + p2))
    )
    return int(s), int(integ)


class Signals:
    """Deterministic live values of a fleet under a seed."""

    def __init__(self, seed: int, story: "Story | None" = None) -> None:
        self.seed = seed
        self.story = story  # the demo's story (story.py): hot CPU and failing checks on schedule

    # ------------------------------------------------------------------ servers

    def sample(self, s: FleetServer, sec: int) -> State:
        h = s.host
        assert h is not None, "a server that never reported has no state"
        p = s.profile
        t = float(sec)
        fast = p[13]
        wf = _TAU / fast
        day = math.sin(_W_DAY * t + p[10])
        wave = math.sin(wf * t + p[11])
        ripple = math.sin(_TAU * t / 47.0 + p[12])
        cpu = p[0] * (1 + p[1] * (0.6 * day + 0.3 * wave + 0.1 * ripple))
        cpu = min(100.0, max(0.05, cpu))
        story = self.story
        if story is not None and story.is_hot(s.id, t):
            cpu = 94.0 + 4.0 * math.sin(_TAU * t / 23.0 + p[12]) + 1.5 * ripple
            cpu = min(99.6, max(91.0, cpu))
        # agents report cpu as busy/total * 100: not rounded
        mem_f = min(0.98, max(0.02, p[2] + 0.05 * math.sin(_TAU * t / 7200 + p[11])))
        swap_used = int(h.swap_total * p[3] * (1 + 0.1 * math.sin(_TAU * t / 5400 + p[12]))) if h.swap_total else 0
        disk_f = min(0.99, p[4] + 0.01 * math.sin(_TAU * t / (30 * _DAY) + p[10]))
        tb = float(h.boot_time)
        in_speed, in_bytes = _speed_and_bytes(p[5], wf, p[10], p[12], t, tb)
        out_speed, out_bytes = _speed_and_bytes(p[6], wf, p[11], p[10], t, tb)
        busy = h.cores * cpu / 100.0
        load1 = round(max(0.0, busy * (1 + 0.25 * ripple)), 2)
        load5 = round(max(0.0, busy * (1 + 0.1 * wave)), 2)
        load15 = round(max(0.0, busy * (1 + 0.05 * day)), 2)
        tcp = int(p[7] * (1 + 0.3 * day + 0.1 * ripple))
        udp = int(p[8] * (1 + 0.2 * wave))
        procs = int(p[9] * (1 + 0.05 * wave))
        temps: tuple[tuple[str, float], ...] = ()
        if s.sensors:
            base = p[14] + cpu * 0.25
            out = []
            for i, name in enumerate(s.sensors):
                v = base + (i * 1.5 if not name.startswith("nvme") else -6) + 2 * math.sin(_TAU * t / 900 + i)
                if name.startswith("acpitz"):
                    v = 27.8
                elif name.startswith("nvidia"):
                    v = 38 + p[15] * 0.4
                out.append((name, round(v * 2) / 2))  # sensors report whole or half degrees
            temps = tuple(out)
        gpu: tuple[float, ...] = ()
        if h.gpu:
            gpu = tuple(
                min(100.0, max(0.0, p[15] * (1 + 0.5 * math.sin(_TAU * t / 1800 + p[12] + k))))
                for k in range(len(h.gpu))
            )
        return State(
            cpu=cpu,
            mem_used=int(h.mem_total * mem_f),
            swap_used=swap_used,
            disk_used=int(h.disk_total * disk_f),
            net_in_transfer=in_bytes,
            net_out_transfer=out_bytes,
            net_in_speed=in_speed,
            net_out_speed=out_speed,
            uptime=max(0, sec - h.boot_time),
            load_1=load1,
            load_5=load5,
            load_15=load15,
            tcp_conn_count=tcp,
            udp_conn_count=udp,
            process_count=procs,
            temperatures=temps,
            gpu=gpu,
        )

    def report_time_ns(self, s: FleetServer, now_sec: int) -> int:
        """When the server's latest report arrived, as seen at whole second ``now_sec``.

        Most agents report every second: the report carries the sample of a
        whole second and arrives a fraction later, so ``last_active`` can be up
        to 1 s *later* than the frame's truncated ``now``; a few lag 1-2 s.
        """
        u = mix(self.seed, s.id, now_sec)
        lag = (0, 0, 0, 0, 0, 1, 1, 2)[u & 7]
        frac = (u >> 8) % 1_000_000_000
        return (now_sec - lag) * 1_000_000_000 + frac

    # ------------------------------------------------------------------ metrics

    def metric(self, s: FleetServer, name: str, sec: int) -> float | None:
        """The value of metric ``name`` (API names) at ``sec``; None when the server has none."""
        st = self.sample(s, sec)
        if name == "temperature":  # the hottest sensor
            return max((v for _, v in st.temperatures), default=None)
        if name == "gpu":  # the busiest GPU
            return max(st.gpu, default=None)
        return float(getattr(st, _METRIC_FIELDS[name]))

    # ------------------------------------------------------------------ service checks

    def check(self, m: Monitor, server_id: int, slot: int, *, story: bool = True) -> tuple[float, bool]:
        """Result of check number ``slot`` (at ``slot * m.duration``) by ``server_id``: (delay ms, up).

        ``story=False``: without the story's outages (views._day_stats samples those and adds the story exactly).
        """
        t = slot * m.duration
        if story and self.story is not None and self.story.service_down(m.id, t):
            return 0.0, False
        hour = t // 3600
        # a short outage in about 1 of 120 hours, a few minutes long
        o = mix(self.seed, m.id, 7777, hour)
        if (o & 0xFFFF) < 0xFFFF // 120:
            start = (o >> 16) % 3300
            length = 120 + (o >> 32) % 480
            if start <= t % 3600 < start + length:
                return 0.0, False
        if unit(self.seed, m.id, server_id, slot) < m.fail_rate:
            return 0.0, False
        dist = 0.5 + 2.5 * unit(self.seed, m.id, server_id)  # how far the reporter is
        base = m.base_delay * dist if m.type != 3 or m.base_delay > 5 else m.base_delay
        jitter = unit(self.seed, m.id, server_id, slot, 1)
        spike = 3.0 if jitter > 0.995 else 1.0
        delay = base * (1 + 0.12 * math.sin(_W_DAY * t + m.id) + 0.2 * jitter) * spike
        return delay, True
