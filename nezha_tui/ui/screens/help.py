"""The ``?`` screen: every key, generated from the bindings that are active.

The caller passes ``Screen.active_bindings`` of the screen the user was on,
so the list is the bindings themselves (after any keymap), not a copy.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.containers import VerticalScroll
from textual.widgets import Static

from nezha_tui.ui.commands import COMMANDS, help_for_action
from nezha_tui.ui.screens.base import NezhaModalScreen, key_label

__all__ = ["HelpScreen", "help_rows"]


def help_rows(app, bindings: Mapping[str, ActiveBinding]) -> list[tuple[str, str]]:
    """``(keys, description)`` rows, one per action, keys of the same action joined."""
    by_action: dict[str, tuple[list[str], str]] = {}
    for key, active in bindings.items():
        binding = active.binding
        if binding.system:
            continue
        label = key_label(app, key, binding)
        text = binding.tooltip or help_for_action(binding.action) or binding.description or binding.action
        keys, _ = by_action.setdefault(binding.action, ([], text))
        if label not in keys:
            keys.append(label)
    # nezha-tui's own actions first, in the command table's order; then widget and app keys
    rank = {c.action: i for i, c in enumerate(COMMANDS)}
    ordered = sorted(by_action.items(), key=lambda item: rank.get(item[0], len(rank)))
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
    AUTO_FOCUS = "#help-scroll"

    def __init__(self, bindings: Mapping[str, ActiveBinding], *, title: str = "Keys") -> None:
        super().__init__()
        self.help_bindings = dict(bindings)
        self.title_text = title

    def compose(self) -> ComposeResult:
        rows = help_rows(self.app, self.help_bindings)
        width = max((len(k) for k, _ in rows), default=4) + 2
        body = Text()
        for keys, text in rows:
            body.append(keys.ljust(width), style="bold")
            body.append(text + "\n")
        body.append("\nctrl+p opens the command palette with the same actions.", style="italic")
        with VerticalScroll(id="help-scroll"):
            yield Static(Text(self.title_text), id="help-title")
            yield Static(body, id="help-body")

    def help_title(self) -> str:
        return "Keys of this help"

    def action_help(self) -> None:
        """``?`` again closes it."""
        self.dismiss(None)
