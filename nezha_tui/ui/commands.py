"""One table of user actions.

It feeds three things so they can never disagree: the key bindings of the
app and of every screen (each with an id ``nezha.<id>``, so a keymap can
remap them), the ``?`` help screen (built from the active bindings) and the
command palette (``ctrl+p``, the actions of the screen it was opened on).

Scopes:

- ``app``: the app's own bindings (apply on every screen unless a screen binds the key).
- ``screen``: every nezha-tui screen (:class:`~nezha_tui.ui.screens.base.NezhaScreen`):
  help, back, panes.
- ``list``: every nezha-tui screen too: j/k/g/G/home/end for the focused list or table.
- ``fleet``, ``detail``, ``services``, ``service_history``, ``events``, ``help``, ``sort_menu``, ``column_chooser``:
  one screen each.

A binding id is stable: the same id on several screens means the same thing
(``nezha.back``, ``nezha.reload``), so one keymap line remaps it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

__all__ = ["Command", "COMMANDS", "SCOPES", "SORT_LETTERS", "bindings_for", "screen_bindings", "palette_commands",
           "help_for_action"]


@dataclass(frozen=True)
class Command:
    id: str
    """Binding id without the ``nezha.`` prefix, for keymaps."""
    keys: str
    """Comma-separated Textual key names."""
    action: str
    """Action run on the scope's node (the app or the screen)."""
    title: str
    """Short label for the footer and the palette."""
    help: str
    """One sentence for the help screen and the palette."""
    scope: str = "fleet"
    show: bool = True
    """Shown in the footer."""
    key_display: str | None = None
    palette: bool = True
    priority: bool = False
    """Checked before the focused widget sees the key (so keys typed right after it reach the new focus)."""


SORT_LETTERS: tuple[tuple[str, str], ...] = (
    ("a", "default"), ("n", "name"), ("c", "cpu"), ("m", "mem"), ("d", "disk"), ("i", "net_in"),
    ("x", "net_out"), ("l", "load"), ("u", "uptime"), ("y", "country"),
)
"""The sort menu's letter for each sort key id (:data:`nezha_tui.fleet_view.SORT_KEYS`); on the grid
the capital letter sorts directly (``O`` is reverse and ``F`` offline first, so none of these)."""

_SORT_WORDS = {"default": "the Dashboard's order", "name": "name", "cpu": "CPU", "mem": "memory",
               "disk": "disk", "net_in": "network in", "net_out": "network out", "load": "load",
               "uptime": "uptime", "country": "country"}


def _sort_commands() -> tuple[Command, ...]:
    return tuple(
        Command(f"sort_{key}", letter.upper(), f"sort_by('{key}')", f"Sort by {_SORT_WORDS[key]}",
                f"Sort by {_SORT_WORDS[key]} (again: reverse)", show=False, key_display=letter.upper())
        for letter, key in SORT_LETTERS
    )


_PERIODS = (("1", "1d", "1 day", "History of the last day (30-second points)"),
            ("7", "7d", "7 days", "History of the last 7 days (30-minute points; needs login)"),
            ("3", "30d", "30 days", "History of the last 30 days (2-hour points; needs login)"))


def _period_commands(scope: str) -> tuple[Command, ...]:
    return tuple(Command(f"period_{p}", key, f"period('{p}')", title, text, scope=scope,
                         show=scope != "detail")  # the detail's footer would not fit 80 columns
                 for key, p, title, text in _PERIODS)


COMMANDS: tuple[Command, ...] = (
    # ---------------------------------------------------------------- the grid
    Command("filter", "slash", "start_filter", "Filter",
            "Filter by name, country, platform, group or tag (Esc clears)", key_display="/", priority=True),
    Command("clear_filter", "escape", "clear_filter", "Clear filter",
            "Clear the filter and the status filter", show=False, key_display="esc"),
    Command("sort_next", "o", "sort_next", "Sort", "Next sort key (online servers stay first but for name)"),
    Command("sort_reverse", "O", "sort_reverse", "Reverse", "Reverse the sort order", show=False,
            key_display="O"),
    Command("sort_menu", "f6,less_than_sign", "sort_menu", "Sort by…",
            "Choose the sort key from a menu (a letter each; the current one again reverses)",
            show=False),
    *_sort_commands(),
    Command("group_prev", "left_square_bracket", "group(-1)", "Prev group", "Previous server group",
            show=False, key_display="["),
    Command("group_next", "right_square_bracket", "group(1)", "Group", "Next server group ('All' first)",
            key_display="]"),
    Command("status_filter", "f", "status_filter", "Online/offline",
            "Show all servers, only offline ones, or only online ones", show=False),
    Command("offline_first", "F", "offline_first", "Offline first",
            "Put offline servers first in every sort", show=False, key_display="F"),
    Command("view", "v", "toggle_view", "View", "Switch between the table and cards"),
    Command("columns", "c", "choose_columns", "Columns",
            "Choose the table's columns (space toggles, enter applies, esc cancels)", show=False),
    Command("pause", "p", "app.toggle_pause", "Pause",
            "Freeze the picture; the stream goes on"),
    Command("bell", "b", "app.toggle_bells", "Bell", "Ring the terminal bell on offline/online and connection alerts",
            show=False),
    Command("open", "enter", "open_selected", "Open", "Open the selected server's details", show=False,
            palette=False),
    Command("services", "s", "app.open_services", "Services", "Open the services overview"),
    Command("events", "e", "app.open_events", "Events",
            "Open the event log: offline, services, quotas, alert rules",
            show=False),  # 80 columns hold no more hints; the header's "⚑ 3 new (e)" names the key
    Command("shell", "x", "shell_selected", "Shell",
            "Open a shell on the selected server through its Dashboard (asks first; ctrl+] detaches)",
            show=False),
    Command("pin_alerts", "exclamation_mark", "toggle_pin_alerts", "Pin alerts",
            "Servers with an active alert first, marked ⚑ (again: in the sort order)",
            show=False, key_display="!"),
    Command("retry", "r", "retry", "Retry",
            "Connect again after the Dashboard refused the login (shown only then)"),
    Command("quit_grid", "q", "app.quit", "Quit", "Quit nezha-tui", palette=False),  # Textual's palette has Quit
    # ---------------------------------------------------------------- the server detail
    Command("detail_overview", "i", "tab('overview')", "Overview", "Facts, billing and live values",
            scope="detail"),
    Command("detail_history", "h", "tab('history')", "History", "Metric history (pick metrics from the list)",
            scope="detail"),
    Command("detail_monitors", "m", "tab('monitors')", "Monitors",
            "Latency of the service monitors of this server", scope="detail"),
    *_period_commands("detail"),
    Command("reload", "r", "reload", "Reload", "Fetch the shown history again, bypassing the short cache",
            scope="detail"),
    Command("shell", "x", "shell", "Shell",
            "Open a shell on this server through its Dashboard (asks first; ctrl+] detaches)", scope="detail"),
    # ---------------------------------------------------------------- a yes/no question
    Command("confirm_yes", "y", "answer(True)", "Yes", "Yes, go on", scope="confirm"),
    Command("confirm_no", "n", "answer(False)", "No", "No (esc too)", scope="confirm"),
    # ---------------------------------------------------------------- the services overview
    Command("open_row", "enter", "open_selected", "Open",
            "Open the selected row: a monitor's latency history, or a quota's server", scope="services",
            key_display="enter", priority=True),  # before the table's own enter, so ? and the palette name it
    Command("reload", "r", "refresh", "Refresh", "Fetch the services now (also every 15 s)", scope="services"),
    # ---------------------------------------------------------------- one monitor's history
    *_period_commands("service_history"),
    Command("reload", "r", "reload", "Reload", "Fetch again, bypassing the short cache", scope="service_history"),
    Command("open_row", "enter", "open_selected", "Open server", "Open the selected row's server",
            scope="service_history", show=False, priority=True),
    # ---------------------------------------------------------------- the event log
    Command("filter", "slash", "start_filter", "Filter",
            "Filter the events by text: server, message, Dashboard, kind (esc clears)", scope="events",
            key_display="/", priority=True),
    Command("severity_filter", "f", "severity_filter", "Severity",
            "Show all events, warnings and worse, or critical ones only", scope="events"),
    Command("open_row", "enter", "open_selected", "Open server", "Open the selected event's server",
            scope="events", priority=True),
    # ---------------------------------------------------------------- the sort menu
    *(Command(f"sort_menu_{key}", letter, f"pick('{key}')", _SORT_WORDS[key].capitalize(),
              f"Sort by {_SORT_WORDS[key]} (the current key: reverse)", scope="sort_menu", show=False)
      for letter, key in SORT_LETTERS),
    # ---------------------------------------------------------------- the column chooser
    Command("columns_all", "a", "mark_all", "All", "Mark every column (automatic: what fits shows)",
            scope="column_chooser"),
    Command("columns_cancel", "escape", "cancel", "Cancel", "Close without changing the columns",
            scope="column_chooser", key_display="esc"),
    # ---------------------------------------------------------------- every screen
    Command("help", "question_mark", "help", "Help", "Show this screen's keys", key_display="?", scope="screen"),
    Command("back", "escape,q", "back", "Back", "Back to the previous screen (the help, a menu: close it)",
            scope="screen"),
    Command("next_pane", "tab", "app.focus_next", "Next pane", "Move the focus to the next pane",
            scope="screen", show=False, palette=False),
    Command("prev_pane", "shift+tab", "app.focus_previous", "Previous pane", "Move the focus to the previous pane",
            scope="screen", show=False, palette=False),
    Command("list_down", "j", "list('down')", "Down", "Down in the list or table", scope="list",
            show=False, palette=False, priority=True),
    Command("list_up", "k", "list('up')", "Up", "Up in the list or table", scope="list",
            show=False, palette=False, priority=True),
    Command("list_first", "g,home", "list('first')", "First", "First row of the list or table", scope="list",
            show=False, palette=False, priority=True),
    Command("list_last", "G,end", "list('last')", "Last", "Last row of the list or table", scope="list",
            show=False, palette=False, priority=True),
    # ---------------------------------------------------------------- the app
    Command("quit", "q", "app.quit", "Quit", "Quit nezha-tui", scope="app"),
)

SCOPES = ("app", "screen", "list", "fleet", "detail", "services", "service_history", "events", "help", "sort_menu",
          "column_chooser", "confirm")


def bindings_for(scope: str) -> list[Binding]:
    """The Textual bindings of one scope (see the module's docstring)."""
    return [
        Binding(c.keys, c.action, c.title, show=c.show, key_display=c.key_display, id=f"nezha.{c.id}",
                tooltip=c.help, priority=c.priority)
        for c in COMMANDS if c.scope == scope
    ]


def screen_bindings(scope: str) -> list[Binding]:
    """A screen's bindings: its own first (the footer's order), then those of every screen
    (``screen`` and ``list``) for the keys its own leave free."""
    own = bindings_for(scope)
    taken = {key for b in own for key in b.key.split(",")}
    shared = []
    for b in (*bindings_for("screen"), *bindings_for("list")):
        free = [key for key in b.key.split(",") if key not in taken]
        if free:
            shared.append(Binding(",".join(free), b.action, b.description, show=b.show, key_display=b.key_display,
                                  id=b.id, tooltip=b.tooltip, priority=b.priority))
    return [*own, *shared]


def palette_commands(scope: str) -> list[Command]:
    """The palette's commands on a screen of ``scope``: its own, then those of every screen."""
    return [c for c in COMMANDS if c.palette and c.scope in (scope, "screen")]


def help_for_action(action: str) -> str:
    for c in COMMANDS:
        if c.action == action or f"app.{c.action}" == action or c.action == f"app.{action}":
            return c.help
    return ""
