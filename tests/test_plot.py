"""The plotext-6 plot widget: ticks, sizes, downsampled content, lazy import, redraws."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import timedelta, timezone

from rich.cells import cell_len
from textual.app import App, ComposeResult

from nezha_tui.ui.widgets.plot import (
    AxisFormat, Plot, Series, build_plot_text, format_value, nice_ticks, time_ticks,
)

THEME = {"primary": "#0178D4", "warning": "#ffa62b", "foreground-muted": "#a0a0a0", "panel-lighten-2": "#404040"}
T0 = 1_764_115_200  # 2025-11-26 00:00:00 UTC


def _series(n: int = 2880, spike_at: int = 1500, spike: float = 97.0) -> Series:
    xs = [T0 + 30 * i for i in range(n)]
    ys = [40 + 10 * math.sin(i / 50) for i in range(n)]
    ys[spike_at] = spike
    return Series("cpu", xs, ys, color="primary")


def test_import_does_not_import_plotext() -> None:
    code = "import sys, nezha_tui.ui.widgets.plot; assert 'plotext' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_nice_ticks() -> None:
    assert nice_ticks(0, 100, 5) == (0.0, 100.0, [0.0, 25.0, 50.0, 75.0, 100.0])
    lo, hi, ticks = nice_ticks(0, 66, 5)
    assert lo == 0 and hi >= 66 and ticks[0] == 0 and ticks[-1] == hi
    lo, hi, ticks = nice_ticks(5, 5, 3)
    assert lo < 5 < hi
    assert nice_ticks(math.nan, 1, 3)[2]


def test_time_ticks_local_hours_and_days() -> None:
    pos, labels = time_ticks(T0, T0 + 86400, 9, timezone.utc)
    assert labels[0] == "00:00" and pos[0] == T0
    assert all(lb.endswith(":00") for lb in labels)
    # a zone 5:30 ahead moves the ticks so that labels stay on local boundaries
    ist = timezone(timedelta(hours=5, minutes=30))
    pos2, labels2 = time_ticks(T0, T0 + 86400, 9, ist)
    assert all(lb.endswith(":00") for lb in labels2)
    assert pos2[0] == T0 + 1800  # 05:30 local -> next boundary 06:00 local
    days, dlabels = time_ticks(T0, T0 + 7 * 86400, 8, timezone.utc)
    assert dlabels[0] == "11-26" and len(days) == 8
    assert time_ticks(5, 5, 4) == ([], [])


def test_format_value() -> None:
    assert format_value(1536, "bytes") == "1.5 KiB"
    assert format_value(2048, "speed") == "2.0 KiB/s"
    assert format_value(12.345, "percent") == "12.3%"
    assert format_value(150.2, "ms") == "150 ms"
    assert format_value(math.inf, "ms") == "-"


def test_build_is_exactly_the_requested_size_and_keeps_the_spike() -> None:
    built = build_plot_text([_series()], 100, 24, THEME, fmt=AxisFormat("percent", 0, 100), tz=timezone.utc)
    lines = built.text.plain.split("\n")
    assert len(lines) == 24
    assert all(cell_len(line) <= 100 for line in lines)
    assert cell_len(lines[0]) == 100
    assert max(b.hi for b in built.buckets[0]) == 97.0
    # downsampled to the canvas width in braille dot columns (2 per cell): y labels "100%" + 2 frame cells
    assert built.columns == 2 * (100 - len("100%") - 2)
    assert len(built.buckets[0]) <= built.columns
    assert sum(b.count for b in built.buckets[0]) == 2880
    assert "cpu" in lines[-1]  # legend row
    assert "00:00" in built.text.plain or "03:00" in built.text.plain
    assert built.y_range[1] >= 97.0 and built.y_range[1] <= 100


def test_build_bytes_axis_and_messages() -> None:
    s = Series("mem", [T0, T0 + 30, T0 + 60], [1 << 30, 3 << 29, 2 << 30])
    built = build_plot_text([s], 60, 12, THEME, fmt=AxisFormat("bytes"), tz=timezone.utc)
    assert "GiB" in built.text.plain
    assert build_plot_text([], 60, 12, THEME).text.plain == "no data"
    assert "too small" in build_plot_text([s], 8, 3, THEME).text.plain


def test_build_points_series_and_breaks() -> None:
    xs = [T0 + 30 * i for i in range(100)] + [T0 + 30 * i for i in range(300, 400)]
    line = Series("latency", xs, [20.0] * 200)
    down = Series("down", [T0 + 30 * 50], [20.0], color="error", points=True)
    built = build_plot_text([line, down], 80, 16, THEME, fmt=AxisFormat("ms"), tz=timezone.utc)
    assert sum(1 for b in built.buckets[0] if b.break_before) == 1
    assert built.buckets[1][0].count == 1
    assert "x down" in built.text.plain


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Plot(id="p", fmt=AxisFormat("percent", 0, 100), tz=timezone.utc)


async def test_widget_builds_at_content_size_and_redraws_on_resize_and_theme() -> None:
    app = PlotApp()
    async with app.run_test(size=(90, 24)) as pilot:
        plot = app.query_one(Plot)
        await pilot.pause()
        assert plot.builds == 0 and plot.message == "loading..."
        plot.plot([_series()])
        await pilot.pause()
        assert plot.builds == 1 and plot.last is not None
        assert max(b.hi for b in plot.last.buckets[0]) == 97.0
        assert len(plot.last.text.plain.split("\n")) == plot.content_size.height
        builds = plot.builds
        await pilot.pause()
        plot.refresh()
        await pilot.pause()
        assert plot.builds == builds  # cached: nothing changed
        await pilot.resize_terminal(70, 20)
        await pilot.pause()
        assert plot.builds == builds + 1 and plot.last.text.plain.split("\n")[0].__len__() == 70
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert plot.builds == builds + 2


async def test_widget_message_and_hidden_plot_is_not_built() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 20)) as pilot:
        plot = app.query_one(Plot)
        plot.display = False
        plot.plot([_series()])
        await pilot.pause()
        assert plot.builds == 0
        plot.display = True
        await pilot.pause()
        assert plot.builds == 1
        plot.plot([Series("x", [], [])], empty="nothing here")
        await pilot.pause()
        assert plot.message == "nothing here"
        plot.show_message("this Dashboard keeps no metric history")
        await pilot.pause()
        assert plot.builds == 1
        assert "keeps no metric history" in str(plot.render())
