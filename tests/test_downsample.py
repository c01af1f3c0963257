"""Min/max-per-column downsampling: spikes survive, gaps stay open, bad input never crashes."""

from __future__ import annotations

import math
import random

from nezha_tui.downsample import clean_points, downsample, median_step, series_stats


def _day(n: int = 2880, seed: int = 3) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    xs = [1_764_000_000 + 30 * i for i in range(n)]
    ys = [rng.uniform(10, 40) for _ in range(n)]
    return xs, ys


def test_spike_survives_and_extremes_are_exact() -> None:
    xs, ys = _day()
    ys[1777] = 99.25
    ys[42] = -3.5
    buckets = downsample(xs, ys, 100)
    assert 1 <= len(buckets) <= 100
    assert max(b.hi for b in buckets) == max(ys) == 99.25
    assert min(b.lo for b in buckets) == min(ys) == -3.5
    assert sum(b.count for b in buckets) == len(xs)


def test_each_bucket_is_min_and_max_of_its_column() -> None:
    xs, ys = _day(600)
    columns = 37
    buckets = downsample(xs, ys, columns)
    lo_x, hi_x = xs[0], xs[-1]
    width = (hi_x - lo_x) / columns
    for b in buckets:
        col = min(columns - 1, int((b.x - lo_x) / width))
        members = [y for x, y in zip(xs, ys) if min(columns - 1, int((x - lo_x) / width)) == col]
        assert b.lo == min(members) and b.hi == max(members) and b.count == len(members)


def test_first_second_keep_temporal_order() -> None:
    xs = [0, 1, 2, 3]
    buckets = downsample(xs, [5, 9, 1, 4], 1)
    assert len(buckets) == 1
    b = buckets[0]
    assert (b.first, b.second) == (9, 1)  # max came before min
    b2 = downsample(xs, [5, 1, 9, 4], 1)[0]
    assert (b2.first, b2.second) == (1, 9)


def test_fewer_points_than_columns_keep_their_own_x() -> None:
    xs = [100.0, 160.0, 220.0]
    buckets = downsample(xs, [1, 2, 3], 300)
    assert [b.x for b in buckets] == xs
    assert [b.first for b in buckets] == [1, 2, 3]
    assert not any(b.break_before for b in buckets)


def test_gap_breaks_the_line() -> None:
    xs = [i * 30.0 for i in range(100)] + [i * 30.0 for i in range(200, 300)]
    ys = [1.0] * 200
    buckets = downsample(xs, ys, 50)
    breaks = [b for b in buckets if b.break_before]
    assert len(breaks) == 1
    assert breaks[0].x >= 200 * 30 - 1
    # explicit gap threshold: never break
    assert not any(b.break_before for b in downsample(xs, ys, 50, gap=0))


def test_none_nan_inf_and_junk_are_skipped() -> None:
    xs = [0, 1, 2, 3, 4, 5, "x", None]
    ys = [1, None, float("nan"), float("inf"), "7", 3, 4, 5]
    cx, cy = clean_points(xs, ys)
    assert cx == [0.0, 4.0, 5.0]
    assert cy == [1.0, 7.0, 3.0]
    assert max(b.hi for b in downsample(xs, ys, 10)) == 7.0


def test_unsorted_input_is_sorted() -> None:
    cx, cy = clean_points([3, 1, 2], [30, 10, 20])
    assert cx == [1.0, 2.0, 3.0] and cy == [10.0, 20.0, 30.0]


def test_x_range_clips_and_positions() -> None:
    xs = list(range(100))
    ys = list(range(100))
    buckets = downsample(xs, ys, 10, x_range=(50, 99))
    assert min(b.lo for b in buckets) == 50
    assert all(50 <= b.x <= 99 for b in buckets)
    # reversed / non-finite range falls back sanely
    assert downsample(xs, ys, 10, x_range=(99, 50))
    assert downsample(xs, ys, 10, x_range=(math.nan, 5))


def test_degenerate_inputs() -> None:
    assert downsample([], [], 10) == []
    assert downsample([1], [None], 10) == []
    one = downsample([5], [2], 0)
    assert len(one) == 1 and one[0].lo == one[0].hi == 2
    same_x = downsample([7, 7, 7], [1, 5, 3], 4)
    assert len(same_x) == 1 and same_x[0].hi == 5 and same_x[0].lo == 1
    assert median_step([]) == 0.0
    assert median_step([0, 30, 60, 1000]) == 30


def test_series_stats() -> None:
    st = series_stats([1, None, 3, float("nan"), 8])
    assert st is not None
    assert (st.count, st.minimum, st.maximum, st.last) == (3, 1, 8, 8)
    assert st.average == 4
    assert series_stats([]) is None
    assert series_stats([None, "a"]) is None


def test_history_cache_expires_and_evicts() -> None:
    from nezha_tui.history_cache import HistoryCache

    now = [100.0]
    cache = HistoryCache(ttl=60, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1 and "b" in cache
    cache.put("c", 3)  # evicts the least recently used: b
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    now[0] += 60
    assert cache.get("a") is None and "c" not in cache
    cache.put("d", 4, ttl=5)
    now[0] += 4.9
    assert cache.get("d") == 4
    assert cache.hits == 4 and len(cache) >= 1
