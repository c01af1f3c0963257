"""The fleet table's column chooser (``c``; htop's F2 setup, k9s' column views).

A modal list of the table's columns, each with a mark (``[x]`` shown, ``[ ]``
hidden: text, so it reads without colour): space toggles, enter applies, esc
cancels, ``a`` marks every column (automatic).  The name cannot be hidden.  It
dismisses with the ids marked, in the table's order (``None``: cancelled);
:meth:`FleetTable.apply_chosen_columns` takes them from there.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.screens.base import NezhaModalScreen
from nezha_tui.ui.widgets.fleet_table import BARS, LOCKED, choosable, columns_for

__all__ = ["ColumnChooser", "ColumnList", "column_labels"]


def column_labels(several: bool = False) -> list[tuple[str, str]]:
    """``(id, label)`` for every choosable id, in the table's order (the bars last); ``several``:
    several Dashboards (the Dashboard column is one)."""
    labels = {c.key: c.label or c.title for c in columns_for(several)}
    labels[BARS] = "Bars beside CPU, MEM and DISK"
    return [(cid, labels[cid]) for cid in choosable(several)]


class ColumnList(OptionList):
    """One option per column with its mark; space toggles the highlighted one."""

    BINDINGS = [
        Binding("space", "toggle", "Toggle", show=False),
        Binding("enter", "screen.apply", "Apply", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]

    def __init__(self, marked: set[str], *, several: bool = False, id: str | None = None) -> None:
        self.marked = set(marked) | LOCKED
        self._labels = dict(column_labels(several))
        super().__init__(*(Option(self._prompt(cid), id=cid, disabled=cid in LOCKED) for cid in self._labels),
                         id=id)

    def _prompt(self, cid: str) -> Text:
        return Text(f"[{'x' if cid in self.marked else ' '}] {self._labels[cid]}")

    def set_marked(self, cid: str, on: bool) -> None:
        if cid in LOCKED:
            return
        (self.marked.add if on else self.marked.discard)(cid)
        self.replace_option_prompt(cid, self._prompt(cid))

    def action_toggle(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id is not None:
            self.set_marked(option.id, option.id not in self.marked)


class ColumnChooser(NezhaModalScreen[tuple[str, ...] | None]):
    """Marks for the table's columns; dismisses with the marked ids, or ``None`` on esc."""

    CSS_PATH = "column_chooser.tcss"

    SCOPE = "column_chooser"
    BINDINGS = screen_bindings("column_chooser")  # esc cancels; q and ? as on every screen

    def __init__(self, chosen: tuple[str, ...] | None, *, several: bool = False) -> None:
        super().__init__()
        self.chosen = chosen
        self.ids = choosable(several)
        """The ids offered, in the table's order (the Dashboard column's with several Dashboards)."""
        self.several = several

    def compose(self) -> ComposeResult:
        marked = set(self.ids if self.chosen is None else self.chosen)
        with Vertical(id="columns-box"):
            yield Static("Columns", id="columns-title")
            yield ColumnList(marked, several=self.several, id="columns-list")
            yield Static("space toggles · enter applies · esc cancels · a marks all\n"
                         "Columns that do not fit drop out, least important first.", id="columns-hint")

    @property
    def marked(self) -> tuple[str, ...]:
        """The ids marked now, in the table's order."""
        marked = self.query_one(ColumnList).marked
        return tuple(cid for cid in self.ids if cid in marked)

    def action_apply(self) -> None:
        self.dismiss(self.marked)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_mark_all(self) -> None:
        column_list = self.query_one(ColumnList)
        for cid in self.ids:
            column_list.set_marked(cid, True)
