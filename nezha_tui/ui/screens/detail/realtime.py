"""The realtime plots of the overview: CPU and memory percent, network in and out speed,
over the recent frames the store keeps (no request)."""

from __future__ import annotations

from typing import Callable, Sequence

from nezha_tui.downsample import median_step
from nezha_tui.format import fmt_percent, fmt_speed
from nezha_tui.store import RecentSample
from nezha_tui.ui.widgets.plot import Plot, Series

__all__ = ["WAITING", "show_realtime"]

WAITING = "waiting for live frames..."


def _last(value: float, fmt: Callable[[float], str]) -> str:
    return fmt(value) if value == value else "-"  # the last frame was offline: no value


def show_realtime(pct: Plot, net: Plot, samples: Sequence[RecentSample]) -> None:
    """Plot ``samples`` (oldest first) in ``pct`` (cpu, mem) and ``net`` (in, out)."""
    if len(samples) < 2:
        pct.show_message(WAITING)
        net.show_message("")
        return
    xs = [s.ts_ms / 1000.0 for s in samples]
    last = samples[-1]
    if all(s.cpu != s.cpu for s in samples):  # NaN in every frame: the server never reported in them
        pct.show_message("offline: no live values in the recent frames")
        net.show_message("")
        return
    # a frame where the server was offline holds NaN: no point there, and the line breaks
    # across two or more missing steps (offline lasts the online window, ~15 frames); one
    # frame the stream dropped (malformed, late) leaves a single missing step: no break
    step = median_step(xs)
    gap = step * 2.5 if step > 0 else None
    pct.plot([
        Series("cpu", xs, [s.cpu for s in samples], color="primary", legend_extra=_last(last.cpu, fmt_percent),
               gap=gap),
        Series("mem", xs, [s.mem_pct for s in samples], color="warning",
               legend_extra=_last(last.mem_pct, fmt_percent), gap=gap),
    ], x_range=(xs[0], xs[-1]))
    net.plot([
        Series("in", xs, [s.net_in_speed for s in samples], color="success",
               legend_extra=_last(last.net_in_speed, fmt_speed), gap=gap),
        Series("out", xs, [s.net_out_speed for s in samples], color="accent",
               legend_extra=_last(last.net_out_speed, fmt_speed), gap=gap),
    ], x_range=(xs[0], xs[-1]))
