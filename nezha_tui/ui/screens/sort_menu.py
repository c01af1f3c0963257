"""The sort menu (``F6`` or ``<`` on the grid, like htop's F6): every sort key with its letter,
the current one marked with its direction; a letter or ``enter`` picks, the current key again
reverses.  It only answers the key id: the fleet screen sorts (through its FleetView)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nezha_tui.fleet_view import SORT_KEYS
from nezha_tui.ui.commands import SORT_LETTERS, screen_bindings
from nezha_tui.ui.screens.base import NezhaModalScreen

__all__ = ["SortMenu", "menu_label"]

_LETTER = {key: letter for letter, key in SORT_LETTERS}


def menu_label(key_id: str, label: str, current: str, reverse: bool) -> Text:
    """One line of the menu: ``c  CPU``, the current key marked ``◀ now (reversed)``."""
    text = Text()
    text.append(f"{_LETTER.get(key_id, ' ')}  ", style="bold")
    text.append(label)
    if key_id == current:
        text.append("  ◀ now" + (", reversed" if reverse else ""), style="italic")
    return text


class SortMenu(NezhaModalScreen[str | None]):
    """Answers the sort key id picked, or ``None`` (esc, q)."""

    DEFAULT_CSS = """
    SortMenu { align: center middle; }
    SortMenu > Vertical {
        width: 44; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    SortMenu #sort-title { text-style: bold; color: $accent; }
    SortMenu OptionList, SortMenu OptionList:focus { height: auto; max-height: 14; border: none; padding: 0; }
    """
    SCOPE = "sort_menu"
    BINDINGS = screen_bindings("sort_menu")
    AUTO_FOCUS = "#sort-keys"

    def __init__(self, current: str, reverse: bool) -> None:
        super().__init__()
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        options = [Option(menu_label(k.id, k.label[:1].upper() + k.label[1:], self.current, self.reverse), id=k.id)
                   for k in SORT_KEYS]
        with Vertical():
            yield Static("Sort by (the current key again: reverse)", id="sort-title")
            yield OptionList(*options, id="sort-keys")

    def on_mount(self) -> None:
        keys = [k.id for k in SORT_KEYS]
        if self.current in keys:
            self.query_one(OptionList).highlighted = keys.index(self.current)

    def action_pick(self, key_id: str) -> None:
        self.dismiss(key_id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
