"""Label/value rows of the detail's text panels, and their wrapping under the value column."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.text import Text

from nezha_tui.ui.drilldown import theme_style

__all__ = ["LABEL_CELLS", "row", "hang"]

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
