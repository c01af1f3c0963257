"""The ``?`` screen: every key, generated from the bindings that are active.

The caller passes ``Screen.active_bindings`` of the screen the user was on,
so the list is the bindings themselves (after any keymap), not a copy.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from nezha_tui.ui.commands import COMMANDS, help_for_action, screen_bindings
from nezha_tui.ui.screens.base import NezhaModalScreen, key_label, list_action

__all__ = ["HelpScreen", "help_rows"]


def help_rows(app, bindings: Mapping[str, ActiveBinding]) -> list[tuple[str, str]]:
    """``(keys, description)`` rows, one per action, keys of the same action joined.

    A list's own keys join the row of the move they make (``↓`` with ``j``); the screen's own
    actions come first, then moving in lists, then the keys of every screen, then Textual's.
    """
    by_action: dict[str, tuple[list[str], str]] = {}
    for key, active in bindings.items():
        binding = active.binding
        if binding.system:
            continue
        action = binding.action
        for move in ("down", "up", "first", "last"):
            if isinstance(active.node, Widget) and list_action(active.node, move) == action:
                action = f"list('{move}')"
        label = key_label(app, key, binding)
        text = binding.tooltip or help_for_action(binding.action) or binding.description or binding.action
        keys, known = by_action.setdefault(action, ([], text))
        if (binding.id or "").startswith("nezha.") and known != text:
            by_action[action] = (keys, text)  # our words over a widget's ("Cursor down")
        if label not in keys:
            keys.append(label)
    groups = {"list": 1, "screen": 2, "app": 3}
    rank = {}
    for i, c in enumerate(COMMANDS):
        rank.setdefault(c.action, (groups.get(c.scope, 0), i))
    ordered = sorted(by_action.items(), key=lambda item: rank.get(item[0], (4, 0)))
    return [(" ".join(keys), text) for _, (keys, text) in ordered]


class HelpScreen(NezhaModalScreen[None]):
    """A scrollable list of keys; any of esc, q, ? closes it; j/k/g/G/pgup/pgdn scroll it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-title { text-style: bold; color: $accent; }
    """

    SCOPE = "help"
    BINDINGS = screen_bindings("help")
    AUTO_FOCUS = "#help-scroll"

    def __init__(self, bindings: Mapping[str, ActiveBinding], *, title: str = "Keys") -> None:
        super().__init__()
        self.help_bindings = dict(bindings)
        self.title_text = title

    def compose(self) -> ComposeResult:
        rows = help_rows(self.app, self.help_bindings)
        width = max((len(k) for k, _ in rows), default=4) + 2
        body = Table.grid(padding=(0, 0))  # a grid: a long description wraps under itself, not under the keys
        body.add_column(width=width, no_wrap=True)
        body.add_column(ratio=1)
        for keys, text in rows:
            body.add_row(Text(keys, style="bold"), Text(text))
        with VerticalScroll(id="help-scroll"):
            yield Static(Text(self.title_text), id="help-title")
            yield Static(body, id="help-body")
            yield Static(Text("\nctrl+p opens the command palette with the same actions.", style="italic"),
                         id="help-palette")

    def action_help(self) -> None:
        """``?`` again closes it."""
        self.dismiss(None)
