"""A yes/no question over the screen (``y`` / ``n``, ``esc`` and ``q`` are no): e.g. before a shell."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from nezha_tui.ui.commands import screen_bindings
from nezha_tui.ui.screens.base import NezhaModalScreen

__all__ = ["ConfirmScreen"]


class ConfirmScreen(NezhaModalScreen[bool]):
    """Answers ``True`` for ``y``, ``False`` for ``n``, ``esc`` or ``q``.  The question is plain text
    (it may hold a server's name: never markup)."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 72; max-width: 95%; height: auto; border: round $warning; background: $surface; padding: 0 2;
    }
    ConfirmScreen #confirm-keys { color: $text-muted; }
    """
    SCOPE = "confirm"
    BINDINGS = screen_bindings("confirm")

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            if self.detail:
                yield Static(Text(self.detail), id="confirm-detail")
            yield Static(Text("y yes · n no"), id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(bool(yes))

    def action_back(self) -> None:
        self.dismiss(False)
