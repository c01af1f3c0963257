"""Label/value rows of the detail's text panels, and their wrapping under the value column."""

from __future__ import annotations

import io
from typing import Any, Callable

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from textual import events
from textual.widgets import Static

from nezha_tui.format import cut_cells, fmt_bytes
from nezha_tui.ui.styles import theme_style

__all__ = ["LABEL_CELLS", "Rows", "FittedText", "row", "hang", "used_of"]

LABEL_CELLS = 10
"""Cells of the label column (the values start after it)."""


def row(t: Text, label: str, value: str | Text, theme: Any, width: int = LABEL_CELLS) -> None:
    """Append ``label`` (muted, padded to ``width``) and ``value`` as one line of ``t``."""
    t.append(f"{label:<{width}}", style=theme_style(theme, "foreground-muted"))
    if isinstance(value, Text):
        t.append_text(value)
    else:
        t.append(value)
    t.append("\n")


class Rows:
    """Label/value rows, every one a single line of at most ``width`` cells.

    A row is given as variants, most detailed first: the first that fits the value column
    is shown, else the last one cut with an ellipsis, so a number is never parted from its
    unit on a narrow terminal.  ``wrap=True`` rows (free prose, e.g. a raw note) wrap
    under the value column instead.  ``width=None``: the first variant, whatever its width.
    """

    def __init__(self, theme: Any, width: int | None = None, label_cells: int = LABEL_CELLS) -> None:
        self.theme = theme
        self.width = width if width and width > label_cells + 4 else None
        self.label_cells = label_cells
        self._text = Text()

    @property
    def room(self) -> int | None:
        """Cells for a value (``None``: no limit)."""
        return None if self.width is None else self.width - self.label_cells

    def fits(self, value: str | Text) -> bool:
        room = self.room
        return room is None or (value.cell_len if isinstance(value, Text) else cell_len(value)) <= room

    def add(self, label: str, *variants: str | Text, wrap: bool = False) -> None:
        room = self.room
        value: str | Text = variants[0] if variants else ""
        for value in variants:
            if self.fits(value):
                break
        else:
            if room is not None and not wrap:
                if isinstance(value, Text):
                    value = value.copy()
                    value.truncate(room, overflow="ellipsis")
                else:
                    value = cut_cells(value, room)
        line = Text()
        row(line, label, value, self.theme, self.label_cells)
        line.rstrip()
        if wrap:
            line = hang(line, self.width, self.label_cells)
        if self._text:
            self._text.append("\n")
        self._text.append_text(line)

    def add_aligned(self, group: list[tuple[str, list[str | Text]]]) -> None:
        """Rows that look alike (bars, arrows) take the same variant: the first that fits all of
        them (a row with fewer variants keeps its last)."""
        depth = max((len(v) for _, v in group), default=0)
        pick = depth - 1
        for i in range(depth):
            if all(self.fits(v[min(i, len(v) - 1)]) for _, v in group):
                pick = i
                break
        for label, variants in group:
            self.add(label, *variants[min(pick, len(variants) - 1):])

    def text(self) -> Text:
        """The rows; a line is cut, never wrapped, should the widget be narrower than ``width``."""
        self._text.no_wrap = True
        self._text.overflow = "ellipsis"
        return self._text


def used_of(used: int, total: int, *, short: bool = False) -> str:
    """``8.3 GiB / 15.7 GiB``; ``short``: ``8.3/15.7 GiB`` when both have the same unit."""
    a, b = fmt_bytes(used), fmt_bytes(total)
    if short:
        unit_a, unit_b = a.rpartition(" ")[2], b.rpartition(" ")[2]
        if unit_a == unit_b:
            return f"{a.rpartition(' ')[0]}/{b}"
        return f"{a}/{b}"
    return f"{a} / {b}"


_WRAP_CONSOLE: Console | None = None


def hang(text: Text, width: int | None, indent: int = LABEL_CELLS) -> Text:
    """Wrap label/value rows to ``width`` cells with continuation lines indented
    under the value (a wrapped value must never look like the next label)."""
    if not width or width < indent + 8:
        return text
    global _WRAP_CONSOLE
    if _WRAP_CONSOLE is None:
        _WRAP_CONSOLE = Console(file=io.StringIO(), width=1000, color_system=None, legacy_windows=False)
    out = Text(end="")
    for n, line in enumerate(text.split("\n", allow_blank=True)):
        if n:
            out.append("\n")
        if line.cell_len <= width:
            out.append_text(line)
            continue
        head, body = line[:indent], line[indent:]
        pieces = body.wrap(_WRAP_CONSOLE, width - indent, overflow="fold")
        for i, piece in enumerate(pieces):
            if i:
                out.append("\n" + " " * indent)
            else:
                out.append_text(head)
            piece.rstrip()
            out.append_text(piece)
    return out


class FittedText(Static):
    """A text panel made for its width: :meth:`fit` takes a function of the width (cells, or
    ``None`` before the first layout) and calls it again whenever the width changes, so the
    rows are always fitted to what the panel really has (a scrollbar, a resize)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._make: Callable[[int | None], Text | None] | None = None
        self._width = 0

    def fit(self, make: Callable[[int | None], Text | None]) -> None:
        """Show ``make(width)``; ``None`` hides the panel."""
        self._make = make
        self._refit()

    def _refit(self) -> None:
        if self._make is None:
            return
        self._width = self.size.width
        text = self._make(self._width or None)
        self.display = text is not None
        if text is not None:
            self.update(text)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._refit()
