"""Downsampling of time series to the columns of a terminal plot.

Pure functions, no Textual or plotext imports.

Method: the x range is cut into ``columns`` equal columns; every column keeps
the **minimum and the maximum** of the points that fall into it (in the order
in which they occurred), so a one-sample spike survives however many points
share its column, and the plotted maximum equals the series maximum.  A
column that no point falls into produces no bucket.

Gaps: a value that is ``None`` or not finite is skipped; when the distance in
x between two consecutive kept points is larger than ``gap`` (by default three
times the median step of the series), the bucket after it is marked
``break_before`` so the plot leaves the line open instead of drawing a
straight line across the missing time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["Bucket", "clean_points", "median_step", "downsample", "series_stats", "SeriesStats"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """The points of one plot column.

    ``x`` is where the bucket is drawn: the point's own x when the column
    holds one point, else the middle of the column.  ``first``/``second`` are
    the min and max in the order they occurred (equal for a single point).
    """

    x: float
    lo: float
    hi: float
    first: float
    second: float
    count: int
    break_before: bool = False


def _finite(v: object) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def clean_points(xs: Iterable[object], ys: Iterable[object]) -> tuple[list[float], list[float]]:
    """Pairs of finite numbers, sorted by x (stable); anything else is dropped."""
    try:  # fast path: all numbers, all finite
        fx = [float(x) for x in xs]  # type: ignore[arg-type]
        fy = [float(y) for y in ys]  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    else:
        if (
            len(fx) == len(fy)
            and all(map(math.isfinite, fx))
            and all(map(math.isfinite, fy))
            and all(a <= b for a, b in zip(fx, fx[1:]))
        ):
            return fx, fy
    pairs: list[tuple[float, float]] = []
    for x, y in zip(xs, ys):
        fx, fy = _finite(x), _finite(y)
        if fx is None or fy is None:
            continue
        pairs.append((fx, fy))
    if any(pairs[i][0] > pairs[i + 1][0] for i in range(len(pairs) - 1)):
        pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def median_step(xs: Sequence[float]) -> float:
    """Median distance between consecutive x values (0 with fewer than 2)."""
    steps = sorted(b - a for a, b in zip(xs, xs[1:]) if b > a)
    if not steps:
        return 0.0
    return steps[len(steps) // 2]


def downsample(
    xs: Sequence[object],
    ys: Sequence[object],
    columns: int,
    *,
    x_range: tuple[float, float] | None = None,
    gap: float | None = None,
    assume_clean: bool = False,
) -> list[Bucket]:
    """Min/max per column of ``columns`` equal columns over ``x_range``.

    ``x_range`` defaults to the data's own range; points outside it are
    dropped.  ``gap`` is the x distance above which two consecutive points
    are not joined (``None``: three times the median step; ``0`` or less:
    never break).  ``assume_clean``: the caller already passed the points
    through :func:`clean_points`.  Never raises on bad input; returns ``[]`` when nothing
    is left.
    """
    cx, cy = (list(xs), list(ys)) if assume_clean else clean_points(xs, ys)  # type: ignore[arg-type]
    if not cx:
        return []
    columns = max(1, int(columns))
    if x_range is None:
        lo_x, hi_x = cx[0], cx[-1]
    else:
        lo_x, hi_x = float(x_range[0]), float(x_range[1])
        if not (math.isfinite(lo_x) and math.isfinite(hi_x)):
            lo_x, hi_x = cx[0], cx[-1]
        if hi_x < lo_x:
            lo_x, hi_x = hi_x, lo_x
    if gap is None:
        step = median_step(cx)
        gap = step * 3.0 if step > 0 else 0.0
    span = hi_x - lo_x
    width = span / columns if span > 0 else 1.0

    buckets: list[Bucket] = []
    # state of the column being filled
    col = -1
    b_count = 0
    b_lo = b_hi = 0.0
    b_lo_i = b_hi_i = 0
    b_x = 0.0
    b_break = False
    prev_x: float | None = None

    def flush() -> None:
        if b_count == 0:
            return
        if b_lo_i <= b_hi_i:
            first, second = b_lo, b_hi
        else:
            first, second = b_hi, b_lo
        x = b_x if b_count == 1 else lo_x + (col + 0.5) * width
        buckets.append(Bucket(x, b_lo, b_hi, first, second, b_count, b_break))

    for i, (x, y) in enumerate(zip(cx, cy)):
        if x < lo_x or x > hi_x:
            continue
        c = int((x - lo_x) / width) if span > 0 else 0
        if c >= columns:
            c = columns - 1
        is_gap = prev_x is not None and gap > 0 and (x - prev_x) > gap
        if c != col or is_gap:
            flush()
            col = c
            b_count = 0
            b_break = is_gap
        if b_count == 0:
            b_lo = b_hi = y
            b_lo_i = b_hi_i = i
            b_x = x
        else:
            if y < b_lo:
                b_lo, b_lo_i = y, i
            if y > b_hi:
                b_hi, b_hi_i = y, i
        b_count += 1
        prev_x = x
    flush()
    return buckets


@dataclass(frozen=True, slots=True)
class SeriesStats:
    count: int
    minimum: float
    average: float
    maximum: float
    last: float


def series_stats(ys: Iterable[object]) -> SeriesStats | None:
    """Min / average / max / last of the finite values; ``None`` when there are none."""
    n = 0
    total = 0.0
    lo = math.inf
    hi = -math.inf
    last = 0.0
    for v in ys:
        f = _finite(v)
        if f is None:
            continue
        n += 1
        total += f
        lo = min(lo, f)
        hi = max(hi, f)
        last = f
    if n == 0:
        return None
    return SeriesStats(n, lo, total / n, hi, last)
