"""One table of user actions.

It feeds three things so they can never disagree: the key bindings of the
app and of the fleet screen (with ids, so a keymap can remap them), the
``?`` help screen (built from the active bindings) and the command palette
(``ctrl+p``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

__all__ = ["Command", "COMMANDS", "bindings_for", "palette_commands"]


@dataclass(frozen=True)
class Command:
    id: str
    """Binding id (``nezha.<id>``), for keymaps."""
    keys: str
    """Comma-separated Textual key names."""
    action: str
    """Action run on the scope's node (``app`` or the fleet screen)."""
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


COMMANDS: tuple[Command, ...] = (
    Command("filter", "slash", "start_filter", "Filter",
            "Filter by name, country, platform, group or tag (Esc clears)", key_display="/", priority=True),
    Command("clear_filter", "escape", "clear_filter", "Clear filter",
            "Clear the filter and the status filter", show=False, key_display="esc"),
    Command("sort_next", "o", "sort_next", "Sort", "Next sort key (online servers stay first but for name)"),
    Command("sort_reverse", "O", "sort_reverse", "Reverse", "Reverse the sort order", show=False,
            key_display="O"),
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
    Command("retry", "r", "retry", "Retry",
            "Connect again after the Dashboard refused the login (shown only then)"),
    Command("help", "question_mark", "app.help", "Help", "Show every key", key_display="?"),
    Command("quit", "q", "app.quit", "Quit", "Quit nezha-tui", scope="app"),
)


def bindings_for(scope: str) -> list[Binding]:
    """The Textual bindings of one scope (``"app"`` or ``"fleet"``)."""
    return [
        Binding(c.keys, c.action, c.title, show=c.show, key_display=c.key_display, id=f"nezha.{c.id}",
                tooltip=c.help, priority=c.priority)
        for c in COMMANDS if c.scope == scope
    ]


def palette_commands(scope: str) -> list[Command]:
    return [c for c in COMMANDS if c.palette and c.scope in (scope, "app")]


def help_for_action(action: str) -> str:
    for c in COMMANDS:
        if c.action == action or f"app.{c.action}" == action or c.action == f"app.{action}":
            return c.help
    return ""
