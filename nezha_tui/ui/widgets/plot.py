"""A terminal plot widget drawn with plotext 6.

textual-plotext pins ``plotext<6`` and fails with plotext 6.1, so this is a
small widget of our own:

* ``render()`` builds the figure at the widget's ``content_size`` (plotext's
  clamp to the real terminal is lifted) and turns plotext's ANSI output into a
  Rich ``Text`` (``Text.from_ansi(..., no_wrap=True)``).  Textual calls
  ``render()`` only for a widget on screen, again on resize and on theme
  change, so the plot is drawn only when visible and follows the theme.
* Colours come from ``app.theme_variables`` through :mod:`nezha_tui.ui.styles` (series name a
  role such as ``"primary"``, axes in ``foreground-muted``); a line never takes a colour that
  looks like a severity colour (:func:`~nezha_tui.ui.styles.plot_colors`).
* The data are downsampled to the plot's width **before** plotext sees them:
  one column per braille dot column (two per terminal cell), keeping the min
  and the max of each column (``nezha_tui.downsample``), so spikes survive
  and a 2,880-point day builds in ~15 ms instead of ~47 ms.
* ``plotext`` is imported on the first build (its import costs ~0.35 s).
* Ticks are computed here: times in local time (or ``tz``), values in human
  units (bytes base 1024, speeds, percent, ms).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Sequence

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from nezha_tui.downsample import Bucket, clean_points, downsample
from nezha_tui.format import fmt_bytes
from nezha_tui.ui.styles import no_color, plot_colors, theme_color

__all__ = [
    "Series", "AxisFormat", "Plot", "nice_ticks", "time_ticks", "format_value",
    "ensure_plotext", "build_plot_text",
]

_plotext: Any = None


def ensure_plotext() -> Any:
    """Import plotext once, on the first plot, with the terminal clamp lifted."""
    global _plotext
    if _plotext is None:
        import plotext

        plotext.terminal.limit(False, False)
        _plotext = plotext
    return _plotext


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Series:
    """One line (or set of marks) of a plot.

    ``xs`` are unix seconds; ``ys`` may contain ``None`` (skipped).
    ``color`` is a theme variable (``"primary"``, ``"error"``...) or any
    colour Textual parses; ``""`` takes the next colour of the palette.
    ``points=True`` draws marks only (``mark`` glyph), no lines.
    ``gap`` overrides the gap rule of :func:`nezha_tui.downsample.downsample`.
    """

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    color: str = ""
    points: bool = False
    mark: str = "x"
    gap: float | None = None
    legend_extra: str = ""


# --------------------------------------------------------------------------- ticks


_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


@dataclass(frozen=True)
class AxisFormat:
    """How values of the y axis are shown: ``kind`` is one of
    ``number``, ``percent``, ``bytes``, ``speed``, ``ms``, ``seconds``, ``celsius``.
    ``floor`` pins the lower end (``0`` for non-negative quantities);
    ``ceiling`` caps the upper end (``100`` for percent)."""

    kind: str = "number"
    floor: float | None = 0.0
    ceiling: float | None = None

    def unit_scale(self, top: float) -> tuple[float, str]:
        top = abs(top)
        if self.kind in ("bytes", "speed"):
            scale, idx = 1.0, 0
            while top >= 1024 * scale and idx < len(_BYTE_UNITS) - 1:
                scale *= 1024
                idx += 1
            return scale, _BYTE_UNITS[idx] + ("/s" if self.kind == "speed" else "")
        if self.kind == "seconds":
            if top >= 2 * 86400:
                return 86400.0, "d"
            if top >= 2 * 3600:
                return 3600.0, "h"
            if top >= 120:
                return 60.0, "m"
            return 1.0, "s"
        if self.kind == "number":
            if top >= 2e6:
                return 1e6, "M"
            if top >= 2e4:
                return 1e3, "k"
        return 1.0, {"percent": "%", "ms": "ms", "celsius": "°C"}.get(self.kind, "")


def format_value(value: float, kind: str) -> str:
    """A single value in the unit of ``kind`` (legends, stats)."""
    if value is None or not math.isfinite(value):
        return "-"
    if kind == "bytes":
        return fmt_bytes(value)
    if kind == "speed":
        return fmt_bytes(value) + "/s"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "ms":
        return f"{value:.1f} ms" if abs(value) < 100 else f"{value:.0f} ms"
    if kind == "celsius":
        return f"{value:.1f}°C"
    if kind == "seconds":
        from nezha_tui.format import fmt_duration

        return fmt_duration(value)
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


def _nice_step(raw: float) -> float:
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    base = 10.0**exp
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * base * (1 + 1e-9):
            return m * base
    return 10.0 * base


def nice_ticks(lo: float, hi: float, count: int) -> tuple[float, float, list[float]]:
    """Round tick positions covering ``lo..hi`` with about ``count`` ticks.

    Returns the (possibly widened) range and the ticks inside it.
    """
    count = max(2, count)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad if lo != 0 else lo, hi + pad
    step = _nice_step((hi - lo) / (count - 1))
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    ticks = []
    v = start
    i = 0
    while v <= end + step * 1e-6 and i < 50:
        ticks.append(round(v, 12))
        i += 1
        v = start + i * step
    return start, end, ticks


_TIME_STEPS = (
    10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 4 * 3600, 6 * 3600, 12 * 3600,
    86400, 2 * 86400, 3 * 86400, 7 * 86400, 14 * 86400,
)


def time_ticks(x0: float, x1: float, max_ticks: int, tz: tzinfo | None = None) -> tuple[list[float], list[str]]:
    """Tick positions on local-time boundaries and their labels.

    ``HH:MM`` when the range is within about a day and a half, else
    ``MM-DD`` at local midnights.  ``tz=None`` means the machine's local zone.
    """
    if not (math.isfinite(x0) and math.isfinite(x1)) or x1 <= x0:
        return [], []
    span = x1 - x0
    daily = span > 36 * 3600
    fmt = "%m-%d" if daily else "%H:%M"
    max_ticks = max(2, max_ticks)
    step = _TIME_STEPS[-1]
    for s in _TIME_STEPS:
        if daily and s < 86400:
            continue
        if span / s <= max_ticks - 1 or s == _TIME_STEPS[-1]:
            step = s
            break
    if step < 60:
        fmt = "%H:%M:%S"

    def local(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts).astimezone()

    positions: list[float] = []
    labels: list[str] = []
    start = local(x0)
    if step >= 86400:
        days = step // 86400
        d = start.date()
        last = local(x1).date()
        while d <= last:
            if days == 1 or d.toordinal() % days == 0:
                if tz is not None:
                    midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
                else:
                    midnight = datetime(d.year, d.month, d.day).astimezone()
                ts = midnight.timestamp()
                if x0 <= ts <= x1:
                    positions.append(ts)
                    labels.append(midnight.strftime(fmt))
            d += timedelta(days=1)
    else:
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset = (start - midnight).total_seconds()
        first = x0 + (math.ceil(offset / step) * step - offset)
        t = first
        guard = 0
        while t <= x1 + 1e-6 and guard < 200:
            guard += 1
            positions.append(t)
            labels.append(local(t).strftime(fmt))
            t += step
    return positions, labels


# --------------------------------------------------------------------------- building


def _rgb(value: str, theme: dict[str, str], fallback: tuple[int, int, int]) -> tuple[int, int, int]:
    """Theme variable (or colour) ``value`` as RGB, blended over the background (:mod:`~nezha_tui.ui.styles`)."""
    c = theme_color(theme, value)
    return fallback if c is None else (c.r, c.g, c.b)


def _style(rgb: tuple[int, int, int]) -> Style:
    return Style(color=RichColor.from_rgb(*rgb))


@dataclass
class BuiltPlot:
    text: Text
    buckets: list[list[Bucket]] = field(default_factory=list)
    y_range: tuple[float, float] = (0.0, 1.0)
    x_range: tuple[float, float] = (0.0, 1.0)
    columns: int = 0
    elapsed_ms: float = 0.0


def _data_ranges(series: Sequence[Series], fmt: AxisFormat, x_range: tuple[float, float] | None,
                 y_range: tuple[float, float] | None) -> tuple[list[tuple[list[float], list[float]]], tuple[float, float], tuple[float, float]] | None:
    cleaned = [clean_points(s.xs, s.ys) for s in series]
    all_x = [x for cx, _ in cleaned for x in (cx[:1] + cx[-1:])]
    if not all_x:
        return None
    if x_range is None:
        xr = (min(all_x), max(all_x))
    else:
        xr = (float(x_range[0]), float(x_range[1]))
    if xr[1] <= xr[0]:
        xr = (xr[0] - 30.0, xr[0] + 30.0)
    if y_range is not None:
        yr = (float(y_range[0]), float(y_range[1]))
    else:
        ys = [y for (cx, cy) in cleaned for x, y in zip(cx, cy) if xr[0] <= x <= xr[1]]
        if not ys:
            ys = [0.0]
        lo, hi = min(ys), max(ys)
        if fmt.floor is not None:
            lo = min(lo, fmt.floor)
        if fmt.ceiling is not None and hi <= fmt.ceiling:
            hi = max(hi, min(fmt.ceiling, hi * 1.1 if hi > 0 else fmt.ceiling))
        yr = (lo, hi)
    return cleaned, xr, yr


NO_COLOR_GLYPHS = ("•", "+", "o", "*", "#")
"""The marks of a plot's second, third... line under NO_COLOR (the first stays braille)."""


def _line_glyphs(series: Sequence[Series], theme: Any) -> list[str]:
    """Per series: ``""`` (braille, and ``━`` in the legend) or, under NO_COLOR, a glyph that tells
    the lines apart when their colours are all greys."""
    if not no_color(theme):
        return [""] * len(series)
    out: list[str] = []
    lines = 0
    for s in series:
        if s.points:
            out.append("")
            continue
        out.append(NO_COLOR_GLYPHS[(lines - 1) % len(NO_COLOR_GLYPHS)] if lines else "")
        lines += 1
    return out


def build_plot_text(
    series: Sequence[Series],
    width: int,
    height: int,
    theme: dict[str, str],
    *,
    fmt: AxisFormat = AxisFormat(),
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    legend: bool = True,
    tz: tzinfo | None = None,
    resolution: int = 2,
) -> BuiltPlot:
    """Build one plot as a Rich ``Text`` of ``width`` x ``height`` cells.

    Pure apart from plotext's module state; used by :class:`Plot` and the bench.
    """
    t0 = time.perf_counter()
    muted = _rgb("foreground-muted", theme, (140, 140, 140))
    if width < 12 or height < 4:
        return BuiltPlot(Text("(too small)", style=_style(muted)))
    ranges = _data_ranges(series, fmt, x_range, y_range)
    if ranges is None:
        return BuiltPlot(Text("no data", style=_style(muted)))
    cleaned, xr, yr = ranges
    legend_rows = 1 if legend and height >= 6 and any(s.label for s in series) else 0
    plot_h = height - legend_rows
    canvas_h = max(1, plot_h - 3)

    # y ticks (computed by us so the units are human)
    scale, unit = fmt.unit_scale(max(abs(yr[0]), abs(yr[1])))
    lo_s, hi_s, ticks_s = nice_ticks(yr[0] / scale, yr[1] / scale, min(5, max(2, canvas_h // 2 + 1)))
    if fmt.ceiling is not None and hi_s * scale > fmt.ceiling and yr[1] <= fmt.ceiling:
        hi_s = fmt.ceiling / scale
        ticks_s = [t for t in ticks_s if t <= hi_s + 1e-9]
    y_lo, y_hi = lo_s * scale, hi_s * scale
    sep = "" if unit in ("%", "", "k", "M", "d", "h", "m", "s") else " "
    raw_labels = [f"{t:g}{sep}{unit}" for t in ticks_s]
    label_w = max((len(lb) for lb in raw_labels), default=1)
    y_labels = [lb.rjust(label_w) for lb in raw_labels]
    canvas_w = width - label_w - 2
    if canvas_w < 4:
        return BuiltPlot(Text("(too small)", style=_style(muted)))

    plt = ensure_plotext()
    fig = plt.figure
    fig.clear()
    fig.plot_size(width, plot_h)
    text_px = plt.pixel(foreground=muted)
    grid_px = plt.pixel(foreground=_rgb("panel-lighten-2", theme, (70, 70, 70)))
    plt.add_theme("nezha-tui", text=text_px, grid=grid_px)
    fig.theme("nezha-tui")
    fig.legend(False)

    columns = max(1, canvas_w * max(1, resolution))
    all_buckets: list[list[Bucket]] = []
    colors: list[tuple[int, int, int]] = []
    # lines never take a severity colour (an amber line reads as "warning"); marks (points) may
    line_colors = iter(plot_colors(theme, [s.color for s in series if not s.points]))
    # under NO_COLOR every line is a grey: the first is drawn in braille, the next with a glyph each
    glyphs = _line_glyphs(series, theme)
    for s, glyph, (cx, cy) in zip(series, glyphs, cleaned):
        if s.points:
            rgb = _rgb(s.color or "foreground", theme, (200, 200, 200))
        else:
            c = next(line_colors)
            rgb = (c.r, c.g, c.b)
        colors.append(rgb)
        buckets = downsample(cx, cy, columns, x_range=xr, gap=s.gap, assume_clean=True)
        all_buckets.append(buckets)
        if not buckets:
            continue
        px: list[float] = []
        py: list[float] = []
        breaks: list[int] = []
        for b in buckets:
            if b.break_before and px:
                breaks.append(len(px))
            px.append(b.x)
            py.append(b.first)
            if b.count > 1 and b.second != b.first:
                px.append(b.x)
                py.append(b.second)
        if s.points:
            marker = plt.marker(s.mark or "x", pixel=plt.pixel(foreground=rgb))
        else:
            marker = plt.marker(glyph or "braille", pixel=plt.pixel(foreground=rgb))
        sig = fig.signal(px, py, marker=marker)
        if not s.points:
            sig.lines(True)
            for i in breaks:
                sig.line(i, False)
        fig.draw(sig)

    fig.ruler("x").lim(xr[0], xr[1])
    tpos, tlabels = time_ticks(xr[0], xr[1], max(2, canvas_w // 9), tz)
    fig.ruler("x").ticks(tpos, labels=tlabels)
    fig.ruler("y").lim(y_lo, y_hi)
    fig.ruler("y").ticks([t * scale for t in ticks_s], labels=y_labels)
    ansi = fig.build().string().rstrip("\n")
    text = Text.from_ansi(ansi, no_wrap=True, end="")
    if legend_rows:
        text.append("\n")
        line = Text(no_wrap=True, overflow="ellipsis")
        for s, rgb, glyph in zip(series, colors, glyphs):
            if not s.label:
                continue
            if line:
                line.append("  ")
            line.append(f"{s.mark or 'x'} " if s.points else f"{glyph or '━'} ", style=_style(rgb))
            # the separator ends the label's run: a run's leading space is lost by some SVG renderers
            line.append(s.label + " " if s.legend_extra else s.label)
            if s.legend_extra:
                line.append(s.legend_extra, style=_style(muted))
        line.truncate(width, overflow="ellipsis")
        text.append_text(line)
    return BuiltPlot(text, all_buckets, (y_lo, y_hi), xr, columns, (time.perf_counter() - t0) * 1000)


# --------------------------------------------------------------------------- widget


class Plot(Widget):
    """A plot of :class:`Series` over time; rebuilt lazily in ``render()``.

    Call :meth:`plot` with data or :meth:`show_message` with a sentence to
    show instead of an empty plot.  After a render, ``last`` holds the
    downsampled buckets actually drawn (for tests) and the build time.
    """

    def __init__(
        self,
        *,
        fmt: AxisFormat = AxisFormat(),
        legend: bool = True,
        tz: tzinfo | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._series: tuple[Series, ...] = ()
        self._fmt = fmt
        self._legend = legend
        self._tz = tz
        self._x_range: tuple[float, float] | None = None
        self._y_range: tuple[float, float] | None = None
        self._message: str | None = "loading..."
        self._version = 0
        self._cache_key: tuple[Any, ...] | None = None
        self._cache: Text | None = None
        self.last: BuiltPlot | None = None
        self.builds = 0

    # -- data in

    def plot(
        self,
        series: Sequence[Series],
        *,
        fmt: AxisFormat | None = None,
        x_range: tuple[float, float] | None = None,
        y_range: tuple[float, float] | None = None,
        empty: str = "no data in this period",
    ) -> None:
        self._series = tuple(series)
        if fmt is not None:
            self._fmt = fmt
        self._x_range = x_range
        self._y_range = y_range
        has_data = any(clean_points(s.xs, s.ys)[0] for s in self._series)
        self._message = None if has_data else empty
        self._changed()

    def show_message(self, message: str) -> None:
        self._series = ()
        self._message = message
        self._changed()

    @property
    def message(self) -> str | None:
        return self._message

    @property
    def series(self) -> tuple[Series, ...]:
        return self._series

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    # -- drawing

    def _theme(self) -> dict[str, str]:
        try:
            return self.app.theme_variables
        except Exception:
            return {}

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        theme = self._theme()
        if self._message is not None:
            muted = _rgb("foreground-muted", theme, (140, 140, 140))
            lines = self._message.splitlines() or [""]
            left = max(0, (width - max(cell_len(line) for line in lines)) // 2)
            body = "\n".join(" " * left + line for line in lines)
            pad = max(0, (height - len(lines)) // 2)
            return Text("\n" * pad + body, style=_style(muted))
        key = (width, height, self._version, theme.get("foreground-muted"), theme.get("primary"),
               theme.get("warning"), theme.get("panel-lighten-2"), self.app.current_theme.name if self.is_attached else "")
        if key == self._cache_key and self._cache is not None:
            return self._cache
        try:
            built = build_plot_text(
                self._series, width, height, theme, fmt=self._fmt, x_range=self._x_range,
                y_range=self._y_range, legend=self._legend, tz=self._tz,
            )
        except Exception as exc:  # a plot must never take the screen down
            muted = _rgb("foreground-muted", theme, (140, 140, 140))
            built = BuiltPlot(Text(f"(cannot draw this plot: {type(exc).__name__})", style=_style(muted)))
        self.builds += 1
        self.last = built
        self._cache_key = key
        self._cache = built.text
        return built.text
