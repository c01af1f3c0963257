"""The header line of the fleet screen and the stale-stream banner.

Both read the app's state when they render (store, view, stream status,
clocks), so a refresh is all they need; neither holds data of its own.
The header drops its least important parts as the terminal narrows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.format import cut_cells, fmt_bytes, fmt_duration, fmt_speed
from nezha_tui.ui.styles import emphasis, rich_color_name
from nezha_tui.ui.context import UsesNezha

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App

    from nezha_tui.fleet_view import FleetView
    from nezha_tui.ui.links import DashboardLink

__all__ = [
    "FleetSummary", "StaleBanner", "stream_state", "connection_label", "stale_text", "stream_cause", "banner_lines",
    "not_live", "short_speed",
]


def stream_state(status: StreamStatus | None) -> StreamState:
    """The stream's state; ``CONNECTING`` before it told any."""
    return status.state if status is not None else StreamState.CONNECTING


_LABELS = {
    StreamState.CONNECTING: "connecting…", StreamState.LIVE: "live", StreamState.STALE: "stale",
    StreamState.RECONNECTING: "reconnecting", StreamState.AUTH_FAILED: "auth failed", StreamState.STOPPED: "stopped",
}


def connection_label(status: StreamStatus | None) -> str:
    state = stream_state(status)
    label = _LABELS[state]
    if state is StreamState.RECONNECTING and status is not None and status.attempt:
        label += f" #{status.attempt}"
    return label


def stale_text(status: StreamStatus | None, frame_age: float | None, now: float) -> str:
    """``'stale: last frame 14 s ago, reconnecting, attempt 3, next in 8 s'``."""
    state = stream_state(status)
    parts: list[str] = []
    head = {StreamState.AUTH_FAILED: "auth failed", StreamState.STOPPED: "stopped"}.get(state, "stale")
    if frame_age is None:
        parts.append(f"{head}: no frame yet")
    else:
        parts.append(f"{head}: last frame {int(max(0, frame_age))} s ago")
    if state is StreamState.RECONNECTING:
        parts.append("reconnecting")
    elif state is StreamState.CONNECTING:
        parts.append("connecting")
    if status is None:
        return ", ".join(parts)
    if status.attempt and state in (StreamState.RECONNECTING, StreamState.CONNECTING, StreamState.STALE):
        parts.append(f"attempt {status.attempt}")
    next_retry = status.next_retry_at
    if next_retry is not None and next_retry > now:
        parts.append(f"next in {int(next_retry - now + 0.999)} s")
    text = ", ".join(parts)
    cause = stream_cause(status.message)
    if cause:
        text += f" ({cause})"
    return text


def stream_cause(message: str) -> str:
    """The stream's one-line message without what the banner already says (state, retry timing)."""
    cause = str(message).split(";")[0].strip()
    if cause.lower().startswith(("reconnecting", "connecting", "live", "retrying")):
        return ""
    return cause


def not_live(links: list[DashboardLink]) -> list[DashboardLink]:
    """The Dashboards the banner has a line for: every one whose stream is not live, but for one
    still making its first connection (no frame yet, no failed attempt: nothing to say yet)."""
    out = []
    for link in links:
        status = link.stream_status
        state = stream_state(status)
        if state is StreamState.LIVE:
            continue
        if (state is StreamState.CONNECTING and not link.frames_received
                and (status is None or not status.attempt)):
            continue
        out.append(link)
    return out


BANNER_LINES = 3
"""The banner's most lines with several Dashboards; past that, the last says how many more."""


def banner_lines(links: list[DashboardLink], now: float, limit: int = BANNER_LINES) -> list[str]:
    """One line per Dashboard not live (see :func:`not_live`): ``'work: stale: last frame 14 s ago,
    reconnecting, attempt 3, next in 8 s (cause)'``; at most ``limit`` lines, the last one
    ``'+2 more: a, b'`` when more are not live."""
    lines: list[str] = []
    shown = not_live(links)
    cut = len(shown) > limit
    for link in shown[:limit - 1] if cut else shown:
        status = link.stream_status
        try:
            text = stale_text(status, link.frame_age(), now)
        except Exception:
            text = "stale"
        if stream_state(status) in (StreamState.AUTH_FAILED, StreamState.STOPPED):
            text += " · r retries"
        lines.append(f"{cut_cells(link.name, 24)}: {text}")
    if cut:
        rest = shown[limit - 1:]
        lines.append(f"+{len(rest)} more: " + ", ".join(cut_cells(link.name, 24) for link in rest))
    return lines


_THEME_CACHE: dict[object, dict[str, str]] = {}


def _theme_colors(app: App[object]) -> dict[str, str]:
    """A few theme colours for Rich text (``app.theme_variables`` is slow: cached per theme)."""
    key = (app.theme, app.ansi_color, app.no_color)
    cached = _THEME_CACHE.get(key)
    if cached is not None:
        return cached
    fallback = {"success": "green", "error": "red", "warning": "yellow", "accent": "cyan"}
    try:
        variables = app.theme_variables
    except Exception:
        return fallback
    # warning / error: the severity colours, bold (and underlined) where colour alone cannot carry them
    colors = {k: f"{rich_color_name(variables, k, v)} {emphasis(variables, k) or ''}".strip()
              for k, v in fallback.items()}
    _THEME_CACHE[key] = colors
    return colors


def short_speed(value: float) -> str:
    """Bytes per second in at most 5 cells, for the per-Dashboard parts: ``'1.2M'``, ``'300k'``, ``'12B'``
    (base 1024, as :func:`~nezha_tui.format.fmt_speed`)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "-"
    if not value == value or value < 0:  # NaN or negative: nothing sensible to show
        return "-"
    for unit in ("B", "k", "M", "G", "T"):
        if value < 1000 or unit == "T":
            break
        value /= 1024
    if value >= 1000:
        return ">999T"
    if unit == "B":
        return f"{int(value)}B"
    return f"{value:.1f}{unit}" if value < 10 else f"{int(value)}{unit}"


DASHBOARD_PRIORITY = 8
"""The per-Dashboard parts of the header (several Dashboards) go first as the terminal narrows."""

NARROW = 100
"""Below this many columns the header's parts take their short forms ("⚑ 3" for "⚑ 3 new (e)")."""


class FleetSummary(UsesNezha, Widget):
    """One line: site, counts, speeds, transfer, viewers, connection, frame age."""

    DEFAULT_CSS = """
    FleetSummary { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, view: FleetView, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view
        self._base: Style | None = None
        self._styles: dict[str, Style] = {}

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._styles.clear()

    @property
    def _base_style(self) -> Style:
        """``rich_style`` (which walks the ancestors' backgrounds), cached until the CSS changes."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def parts(self, short: bool = False) -> list[tuple[int, list[tuple[str, str]]]]:
        """``(priority, [(text, style), ...])`` pieces in display order; lower priority numbers are
        kept longest.  Styles are Rich style strings ("" for the widget's own).  ``short``: the
        per-Dashboard parts without their speeds (several Dashboards)."""
        app = self.nezha
        store = self.view.store
        view = self.view
        status = app.stream_status
        state = stream_state(status)
        out: list[tuple[int, list[tuple[str, str]]]] = []
        theme = _theme_colors(self.app)
        green, red, yellow, accent = theme["success"], theme["error"], theme["warning"], theme["accent"]

        several = app.several
        if several:  # each Dashboard's name is in its own part (below)
            out.append((0, [(f"{len(app.dashboards)} Dashboards", "bold")]))
        else:  # the Dashboard's names, cut so one cannot push the connection state off the line
            out.append((0, [(cut_cells(store.site_name, 40) or "Nezha", "bold")]))
        if view.group_id is not None:
            out.append((1, [(f"[{cut_cells(view.group_label, 30)}]", f"bold {accent}")]))
        if store.frames:
            totals = view.totals()
            offline = [("○", ""), (f" {totals.offline}", "")]
            if totals.offline:  # the one count that means trouble: critical (NO_COLOR: bold, reversed)
                offline = [(f"○ {totals.offline}", "bold reverse" if self.app.no_color else red)]
            out.append((1, [(f"{totals.servers} servers ", ""), ("●", green), (f" {totals.online} ", ""),
                            *offline]))
            if view.filtering:
                out.append((2, [(f"filter {len(view.ids)} of {view.group_total}", "italic")]))
            out.append((3, [(f"↓{fmt_speed(totals.net_in_speed)} ↑{fmt_speed(totals.net_out_speed)}", "")]))
            if several:  # the first to go as the terminal narrows, the last Dashboard's first
                out.extend((DASHBOARD_PRIORITY, self._dashboard_part(link, theme, short)) for link in app.dashboards)
            out.append((6, [(f"Σ↓{fmt_bytes(totals.net_in_transfer)} Σ↑{fmt_bytes(totals.net_out_transfer)}",
                             "")]))
            out.append((7, [(f"{store.viewers} viewer{'s' if store.viewers != 1 else ''}", "")]))
        else:  # nothing known yet: no zeros that look like a dead fleet
            out.append((1, [("- servers", "")]))
        key = view.sort_key
        if key.id != "default" or view.reverse:
            arrow = "▲" if view.reverse != (not key.descending) else "▼"
            out.append((5, [(f"sort {key.label}{arrow}", "")]))
        unseen = app.events.unseen
        if unseen:  # events since the event log (e) was last open
            narrow = 0 < self.content_size.width < NARROW
            out.append((1, [(f"⚑ {unseen}" if narrow else f"⚑ {unseen} new (e)", f"bold {yellow}")]))
        flags = []
        if app.paused:
            held = app.held_frames
            flags.append("PAUSED" + (f" (+{held})" if held else ""))
        if app.bells:
            flags.append("bell")
        if flags:
            out.append((1, [(" ".join(flags), "bold reverse")]))
        repaired = app.frames_repaired
        if repaired:  # malformed values the store replaced by the previous ones (or skipped)
            out.append((2, [(f"⚠ {repaired} frame{'s' if repaired != 1 else ''} repaired", yellow)]))
        style = {StreamState.LIVE: green, StreamState.STALE: yellow, StreamState.RECONNECTING: yellow,
                 StreamState.AUTH_FAILED: red, StreamState.STOPPED: red}.get(state, "")
        label = connection_label(status)
        if state is StreamState.CONNECTING and not app.store.frames:
            label = f"connecting to {app.dashboard_origin()}…"
        if several and state is StreamState.LIVE:
            live = sum(stream_state(link.stream_status) is StreamState.LIVE for link in app.dashboards)
            if live < len(app.dashboards):  # some are not: how many are (the banner says which)
                style, label = yellow, f"live {live}/{len(app.dashboards)}"
        conn = [("● " if state is StreamState.LIVE else "◌ ", style), (label, "")]
        age = app.frame_age()
        if age is not None:
            conn.append((f" {fmt_duration(age)} ago", ""))
        out.append((0, conn))
        if app.wall:
            out.append((0, [(app.wall_clock().strftime("%H:%M:%S"), "bold")]))
        return out

    def _dashboard_part(self, link: DashboardLink, theme: dict[str, str],
                        short: bool = False) -> list[tuple[str, str]]:
        """``'home 24/24 ↓1.2M ↑300k'`` (``short``: ``'home 24/24'``); a Dashboard not live: its state
        instead of speeds (``'work 15/16 ◌ reconnecting #3'``; ``short``: ``'work 15/16 ◌'``)."""
        name = (cut_cells(link.name, 16), "bold")
        status = link.stream_status
        state = stream_state(status)
        if not link.frames_received:
            label = "auth failed" if link.login_refused else connection_label(status)
            return [name, (" ◌ ", ""), (label, theme["error"] if link.login_refused else "")]
        totals = self.nezha.store.dashboard_totals(link.index)
        counts = (f" {totals.online}/{totals.servers}", "")
        if totals.offline:  # servers down there: critical as the offline count (NO_COLOR: bold, reversed)
            counts = (counts[0], "bold reverse" if self.app.no_color else theme["error"])
        if state is not StreamState.LIVE:
            color = theme["error"] if state in (StreamState.AUTH_FAILED, StreamState.STOPPED) else theme["warning"]
            if short:  # the banner says what it is at
                return [name, counts, (" ◌", color)]
            return [name, counts, (" ◌ ", color), (connection_label(status), "")]
        if short:
            return [name, counts]
        return [name, counts, (f" ↓{short_speed(totals.net_in_speed)} ↑{short_speed(totals.net_out_speed)}", "")]

    SEPARATOR = (" │ ", "dim")

    def fitted(self, width: int) -> list[tuple[str, str]]:
        """The pieces that fit in ``width`` cells, joined by separators, as ``(text, style)`` runs.

        With several Dashboards, when their parts do not all fit, their short forms (no speeds)
        are tried: whichever keeps more Dashboards is shown."""
        try:
            keep = self._fit(self.parts(), width)
            if self.nezha.several:
                kept = sum(p == DASHBOARD_PRIORITY for p, _, _ in keep)
                if kept < len(self.nezha.dashboards):
                    short = self._fit(self.parts(short=True), width)
                    if sum(p == DASHBOARD_PRIORITY for p, _, _ in short) > kept:
                        keep = short
        except Exception:  # never let a header take the app down
            return [("nezha-tui", "")]
        out: list[tuple[str, str]] = []
        for i, (_, runs, _) in enumerate(keep):
            if i:
                out.append(self.SEPARATOR)
            out.extend(runs)
        return out

    def _fit(self, parts: list[tuple[int, list[tuple[str, str]]]],
             width: int) -> list[tuple[int, list[tuple[str, str]], int]]:
        """``parts`` less the least important ones until they fit in ``width``, each with its width."""
        sep_len = cell_len(self.SEPARATOR[0])
        keep = [(priority, runs, sum(_cells(text) for text, _ in runs)) for priority, runs in parts]
        while len(keep) > 1:
            total = sum(n for _, _, n in keep) + sep_len * (len(keep) - 1)
            if total <= width:
                break
            worst = max(range(len(keep)), key=lambda i: (keep[i][0], i))
            if keep[worst][0] == 0 and all(p == 0 for p, _, _ in keep):
                break
            keep.pop(worst)
        return keep

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        for text, style in self.fitted(max(1, self.content_size.width)):
            line.append(text, style=style or None)
        return line

    def render_line(self, y: int) -> Strip:
        """The header as Segments made here: Textual's general path (Text -> Content -> Strip)
        costs about 1 ms for this one line, repeated every frame; Rich's Text about 0.3 ms."""
        width = self.content_size.width
        base = self._base_style
        if y != 0 or width <= 0:
            return Strip.blank(max(0, width), base)
        runs = self.fitted(width)
        if sum(_cells(text) for text, _ in runs) > width:  # one part alone too wide: Rich cuts it with "…"
            line = self.render()
            line.truncate(width, overflow="ellipsis")
            segments = list(Segment.apply_style(line.render(self.app.console), base))
        else:
            merged: list[tuple[str, str]] = []  # adjacent runs of one style: one segment
            for text, style in runs:
                if merged and merged[-1][1] == style:
                    merged[-1] = (merged[-1][0] + text, style)
                elif text:
                    merged.append((text, style))
            segments = [Segment(text, self._run_style(style)) for text, style in merged]
        return Strip(segments).adjust_cell_length(width, base)

    def _run_style(self, style: str) -> Style:
        cached = self._styles.get(style)
        if cached is None:
            try:
                cached = self._base_style + Style.parse(style) if style else self._base_style
            except Exception:  # not Rich syntax: the plain look rather than an error
                cached = self._base_style
            self._styles[style] = cached
        return cached


def _cells(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


_BANNER_STATES = frozenset({StreamState.STALE, StreamState.RECONNECTING, StreamState.AUTH_FAILED, StreamState.STOPPED})
"""States the banner shows in once a frame came (and connecting again after one)."""


class StaleBanner(UsesNezha, Widget):
    """"stale: last frame 14 s ago, reconnecting, attempt 3, next in 8 s (cause)".

    Wraps onto a second or third line rather than cutting the cause (a firewall's or a
    proxy's line is long); the layout is redone only when the line count changes."""

    DEFAULT_CSS = """
    StaleBanner { height: auto; max-height: 3; background: $warning; color: $text; text-style: bold;
                  padding: 0 1; display: none; }
    StaleBanner.-error { background: $error; }
    StaleBanner.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines = 1

    def _text(self) -> Text:
        app = self.nezha
        if app.several:  # a line per Dashboard not live, each cut rather than wrapped
            return Text("\n".join(banner_lines(app.dashboards, app.clock())), no_wrap=True, overflow="ellipsis")
        status = app.stream_status
        age = app.frame_age()
        now = app.clock()
        try:
            text = stale_text(status, age, now)
        except Exception:
            text = "stale"
        if stream_state(status) in (StreamState.AUTH_FAILED, StreamState.STOPPED):
            text += " · r retries"
        return Text(text, overflow="ellipsis")

    def render(self) -> Text:
        return self._text()

    def update_state(self) -> bool:
        """Show or hide for the current stream status; ``True`` when shown."""
        app = self.nezha
        if app.several:
            return self._update_several()
        status = app.stream_status
        state = stream_state(status)
        had_frame = bool(app.store.frames)
        # before the first frame the fleet screen's body says why there is none (not "stale")
        shown = had_frame and (state in _BANNER_STATES or state is StreamState.CONNECTING)
        self.set_class(shown, "-shown")
        self.set_class(state is StreamState.AUTH_FAILED, "-error")
        if shown:
            width = max(1, self.content_size.width or self.app.size.width - 2)
            lines = min(3, max(1, len(self._text().wrap(self.app.console, width))))
            self.refresh(layout=lines != self._lines)
            self._lines = lines
        return shown

    def _update_several(self) -> bool:
        """Several Dashboards: shown while one of them is not live (and the fleet has data: before
        the first frame the fleet screen's body says why there is none)."""
        app = self.nezha
        links = not_live(app.dashboards) if app.store.frames else []
        shown = bool(links)
        self.set_class(shown, "-shown")
        self.set_class(any(stream_state(link.stream_status) is StreamState.AUTH_FAILED for link in links), "-error")
        if shown:
            lines = min(BANNER_LINES, len(links))
            self.refresh(layout=lines != self._lines)
            self._lines = lines
        return shown
