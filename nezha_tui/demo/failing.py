"""A demo Dashboard that fails on a schedule (``--demo-fail-one``): isolation made visible.

The cycle, on the demo's own clock from its start: fine for 40 s, then the
stream stalls (connected, no frames) for 20 s, then every route answers the
proxy's ``502 Bad Gateway`` for 30 s (open streams are cut as the phase
begins, so the client's reconnects meet the 502), then fine again, and so on.
What changes is only :class:`~nezha_tui.demo.faults.DemoFaults`' switches,
so the client sees what a real proxy or a hung Dashboard does.

:class:`FailSchedule` is pure (a time in, a phase out); :class:`FailDriver`
flips a server's switches when the phase changes.  ``DemoServer`` ticks its
driver from its own loop; a test ticks it with any time it likes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import DemoFaults

__all__ = ["FAIL_CYCLE", "FailDriver", "FailSchedule", "Phase"]

FINE, STALL, PROXY_502 = "fine", "stall", "proxy_502"


@dataclass(frozen=True)
class Phase:
    kind: str  # FINE, STALL or PROXY_502
    seconds: float


FAIL_CYCLE: tuple[Phase, ...] = (Phase(FINE, 40.0), Phase(STALL, 20.0), Phase(PROXY_502, 30.0))


class FailSchedule:
    """Which phase a time ``t`` (epoch seconds on the demo's clock) falls in, counting from ``t0``."""

    def __init__(self, t0: float, phases: tuple[Phase, ...] = FAIL_CYCLE) -> None:
        if not phases or any(p.kind not in (FINE, STALL, PROXY_502) or not p.seconds > 0 for p in phases):
            raise ValueError("a fail schedule needs phases of a known kind and a positive length")
        self.t0 = float(t0)
        self.phases = phases
        self.period = sum(p.seconds for p in phases)

    def _locate(self, t: float) -> tuple[int, float]:
        """(phase index, seconds into the cycle at which that phase ends)."""
        if t < self.t0:  # a clock that went back: fine until the start comes round again
            return 0, self.phases[0].seconds
        into = (t - self.t0) % self.period
        end = 0.0
        for i, p in enumerate(self.phases):
            end += p.seconds
            if into < end:
                return i, end
        return len(self.phases) - 1, self.period  # rounding at the very end of a cycle

    def phase_at(self, t: float) -> str:
        return self.phases[self._locate(t)[0]].kind

    def next_change(self, t: float) -> float:
        """When the phase at ``t`` ends (on the same clock)."""
        if t < self.t0:
            return self.t0 + self.phases[0].seconds
        _, end = self._locate(t)
        cycles = (t - self.t0) // self.period
        return self.t0 + cycles * self.period + end


class FailDriver:
    """Sets ``faults`` to the schedule's phase; :meth:`tick` is cheap when nothing changes."""

    def __init__(self, faults: DemoFaults, schedule: FailSchedule) -> None:
        self.faults = faults
        self.schedule = schedule
        self.phase: str | None = None

    def tick(self, t: float) -> str | None:
        """Apply the phase at ``t``; the new phase when it changed, else ``None``."""
        phase = self.schedule.phase_at(t)
        if phase == self.phase:
            return None
        self.phase = phase
        self.faults.stall = phase == STALL
        self.faults.proxy_502 = phase == PROXY_502
        if phase == PROXY_502:
            # a proxy in front of a dead Dashboard drops the streams it held; reconnects meet the 502
            self.faults.drop_websockets()
        return phase
