"""Helpers shared by the drill-down screens (server detail, services, service history).

No plotext here (plot widgets import it lazily).  What they read of the app is in
its contract, :class:`~nezha_tui.ui.context.NezhaContext`: ``wall_clock()`` (the
clock for "today", "in 1h" and similar, injectable so screenshots are
deterministic), ``tz`` (``None``: the machine's zone), ``fleet_now()`` and
``history_cache``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, TypeVar

from rich.text import Text

from nezha_tui.api import errors as e
from nezha_tui.api.sanitise import sanitise
from nezha_tui.format import cut_cells
from nezha_tui.history_cache import HistoryCache
from nezha_tui.ui.styles import NO_COLOR_KEY, emphasis, no_color, theme_style

if TYPE_CHECKING:  # pragma: no cover
    from nezha_tui.api.models import Setting
    from nezha_tui.ui.context import DashboardClient, NezhaContext

__all__ = [
    "PERIODS", "PERIOD_NAMES", "app_now", "dashboard_now", "app_tz", "local_dt", "fmt_local",
    "history_cache", "history_error_message", "GUEST_MESSAGE", "NO_TSDB_MESSAGE", "append_gap",
    "NO_COLOR_KEY", "no_color", "emphasis", "theme_style", "cut_cells", "plain_cell", "NAME_CELLS",
    "first_per_id", "client_of", "setting_of", "guest_denies", "dashboard_label", "own_site", "refused_reason",
]

_Item = TypeVar("_Item")

#: A Dashboard name in a table is cut to this many cells (the full name is in the detail).
NAME_CELLS = 40


def plain_cell(text: str, n: int = NAME_CELLS) -> Text:
    """A Dashboard's text as a DataTable cell: cut to ``n`` cells, and plain text, never
    markup (a ``str`` cell is parsed as markup: ``[/]`` in a name would crash the table)."""
    return Text(cut_cells(text, n), no_wrap=True, overflow="ellipsis")


def first_per_id(items: Iterable[_Item], ident: Callable[[_Item], Hashable]) -> list[_Item]:
    """``items`` without the later ones whose id was seen already, in order.

    An id names one monitor or server: two entries with one id are a Dashboard's fault, and
    a table keyed by id cannot hold both.  The first is kept (rows stay keyed by id, so the
    cursor and the tests find a row by its id), the plot and the table show the same set."""
    seen: set[Hashable] = set()
    kept: list[_Item] = []
    for item in items:
        key = ident(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


PERIODS = ("1d", "7d", "30d")
PERIOD_NAMES = {"1d": "1 day", "7d": "7 days", "30d": "30 days"}
NO_TSDB_MESSAGE = "this Dashboard keeps no metric history (its TSDB is off)"
GUEST_MESSAGE = "log in for 7d and 30d (guests only get 1 day of history)"
TOO_OLD_MESSAGE = "this Dashboard is older than v2.0 and has no history API"


def dashboard_now(app: NezhaContext) -> float:
    """The Dashboard's clock now (unix seconds): the latest frame's ``now`` advanced by the
    time since it arrived (``app.fleet_now()``)."""
    return app.fleet_now()


def app_now(app: NezhaContext) -> float:
    """Wall-clock unix seconds as the app sees them (``app.wall_clock()``: a ``datetime``,
    naive means local; injectable for screenshots).  Note that ``app.wall`` is the
    wall-screen page interval, not a clock."""
    return app.wall_clock().timestamp()


def app_tz(app: NezhaContext) -> tzinfo | None:
    """The zone local times are shown in (``None``: the machine's)."""
    return app.tz


def local_dt(ts: float, tz: tzinfo | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts).astimezone()
    except (OverflowError, OSError, ValueError, TypeError):
        return None


def fmt_local(value: float | datetime | None, tz: tzinfo | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A unix time or an aware datetime in local time; ``-`` when unknown."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        if value.tzinfo is None or value.year <= 1:
            return "-"
        try:
            value = value.timestamp()
        except (OverflowError, OSError, ValueError):
            return "-"
    d = local_dt(float(value), tz)
    return d.strftime(fmt) if d is not None else "-"


def history_cache(app: NezhaContext) -> HistoryCache:
    """The app's brief cache of history results."""
    return app.history_cache


# ------------------------------------------------------------------ the server's own Dashboard
# Every server and service belongs to one Dashboard: its REST calls, its TSDB state, its guest
# limits and its login are that Dashboard's (``app.client_for(key)``, ``app.link_for(key)``).


def client_of(app: NezhaContext, key: int) -> DashboardClient:
    """The client of the Dashboard of fleet key ``key`` (a server's or a Dashboard's first key)."""
    return app.client_for(key)


def setting_of(app: NezhaContext, key: int) -> Setting | None:
    """The site settings of the Dashboard of fleet key ``key`` (``None`` until they arrive)."""
    return app.link_for(key).setting


def guest_denies(client: DashboardClient, period: str) -> bool:
    """A guest (no login) may read only the 1d period: the Dashboard would refuse ``period``,
    so it is not asked."""
    try:
        return period != "1d" and client.credentials.mode == "guest"
    except AttributeError:  # a client that does not tell: the Dashboard's answer will
        return False


def dashboard_label(app: NezhaContext, key: int) -> str:
    """The label of the Dashboard of ``key`` when the app shows several, else ``""``."""
    if not app.several:
        return ""
    try:
        return app.store.name_of(key)
    except (KeyError, IndexError, ValueError):
        return ""


def own_site(app: NezhaContext, key: int, label: str) -> str:
    """The site name of the Dashboard of ``key`` when it says more than its ``label``, else ``""``."""
    site = app.link_for(key).store.site_name
    return site if site and site != label else ""


def refused_reason(link: Any) -> str | None:
    """Why the Dashboard of ``link`` shows nothing: its login was refused (one line), or ``None``."""
    if not link.login_refused:
        return None
    status = link.stream_status
    message = cut_cells(" ".join(sanitise(str(getattr(status, "message", "") or "")).split()), 200)
    mode = getattr(getattr(link.client, "credentials", None), "mode", "")
    head = "login required" if mode == "guest" else "login refused"
    if "login" in message.lower():  # "login failed: wrong user name or password" says it already
        return message
    return f"{head}: {message}" if message else head


def history_error_message(err: BaseException, what: str = "server") -> str:
    """One line for the screen, in the words of the issue for the known cases."""
    if isinstance(err, e.GuestPeriodDenied):
        return GUEST_MESSAGE
    if isinstance(err, e.DashboardTooOld):
        return TOO_OLD_MESSAGE
    if isinstance(err, e.NotFound):
        return f"this {what} is gone (deleted, or not visible to this login)"
    if isinstance(err, e.NezhaError):
        return err.message
    return f"unexpected error: {type(err).__name__}"


def history_retry_delay(err: BaseException, failures: int, start: float = 2.0) -> float | None:
    """Seconds before a failed history request is tried again by itself, or None (it will not pass).

    A proxy's 5xx page or a network error passes: 2 s, 4 s, 8 s ... up to 60 s.
    """
    from nezha_tui.api.errors import is_transient

    if not is_transient(err):
        return None
    return min(60.0, start * 2 ** max(0, failures - 1))


def append_gap(text: Any, n: int = 1) -> None:
    """Append ``n`` spaces in the style of the last character of ``text`` (a Rich ``Text``).

    A separator that starts a run of another style is a leading space of that
    run, and SVG screenshots rendered by librsvg drop those (``cpu28.7%``);
    as trailing spaces of the previous run they survive every renderer.
    """
    end = len(text)
    style = None
    for span in reversed(text.spans):
        if span.end == end and span.start < end:
            style = span.style
            break
    text.append(" " * n, style=style)


def period_bar(current: str, theme: Any, *, extra: str = "") -> Any:
    """``period  [1d] 7d 30d`` with the current one highlighted (keys 1 / 7 / 3)."""
    from rich.text import Text

    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("period ", style=theme_style(theme, "foreground-muted"))
    for p in PERIODS:
        if p == current:
            t.append(f"[{p}]", style=theme_style(theme, "accent", bold=True))
        else:
            t.append(f" {p} ", style=theme_style(theme, "foreground-muted"))
        t.append(" ")
    t.append("(1 / 7 / 3)", style=theme_style(theme, "foreground-muted"))
    if extra:
        append_gap(t, 3)
        t.append(extra)
    return t

