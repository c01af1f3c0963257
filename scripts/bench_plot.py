"""Render time of one 2,880-point plot (a day of 30-second points), as the Plot widget does it.

Usage: python scripts/bench_plot.py [--width 120] [--height 30] [--runs 20]

Prints the plotext import time, the first build and the median / max of the
following builds, each including downsampling (min/max per column), the
plotext build and the conversion of its ANSI output to a Rich Text.
Also prints, for comparison, the cost without downsampling (all 2,880 points
handed to plotext).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=120)
    ap.add_argument("--height", type=int, default=30)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--points", type=int, default=2880)
    args = ap.parse_args()

    t0 = time.perf_counter()
    from nezha_tui.ui.widgets import plot as plotmod
    t_mod = time.perf_counter() - t0
    t0 = time.perf_counter()
    plotmod.ensure_plotext()
    t_import = time.perf_counter() - t0

    rng = random.Random(1)
    start = 1_764_000_000
    xs = [start + 30 * i for i in range(args.points)]
    ys = [30 + 20 * math.sin(i / 200) + rng.random() * 10 for i in range(args.points)]
    ys[1234] = 99.5  # one spike: must survive downsampling
    theme = {"primary": "#0178D4", "foreground-muted": "#a0a0a0", "panel-lighten-2": "#404040"}
    series = [plotmod.Series("cpu", xs, ys, color="primary")]
    fmt = plotmod.AxisFormat("percent", floor=0, ceiling=100)

    def one(**kw):
        t = time.perf_counter()
        built = plotmod.build_plot_text(series, args.width, args.height, theme, fmt=fmt, tz=timezone.utc, **kw)
        return (time.perf_counter() - t) * 1000, built

    first, built = one()
    times = [one()[0] for _ in range(args.runs)]
    plotted_max = max(b.hi for b in built.buckets[0])
    print(f"module import (no plotext): {t_mod * 1000:.1f} ms")
    print(f"plotext import:             {t_import * 1000:.1f} ms")
    print(f"{args.points} points at {args.width}x{args.height}, downsampled to {built.columns} columns "
          f"({sum(1 if b.first == b.second else 2 for b in built.buckets[0])} points to plotext)")
    print(f"  first build:  {first:.1f} ms")
    print(f"  median build: {statistics.median(times):.1f} ms   max: {max(times):.1f} ms   ({args.runs} runs)")
    print(f"  plotted max {plotted_max} == series max {max(ys)}: {plotted_max == max(ys)}")

    # comparison: every point handed to plotext (what the widget avoids)
    plt = plotmod.ensure_plotext()
    raw = []
    for _ in range(3):
        t = time.perf_counter()
        fig = plt.figure
        fig.clear()
        fig.plot_size(args.width, args.height)
        sig = fig.signal(xs, ys, marker="braille")
        sig.lines(True)
        fig.draw(sig)
        from rich.text import Text
        Text.from_ansi(fig.build().string(), no_wrap=True)
        raw.append((time.perf_counter() - t) * 1000)
    print(f"  without downsampling: median {statistics.median(raw):.1f} ms")
    ok = statistics.median(times) <= 50
    print("OK: <= 50 ms" if ok else "SLOW: > 50 ms")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
