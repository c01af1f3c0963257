"""Small helpers for Textual DataTables shared by the screens."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

__all__ = ["selected_row_key"]


def selected_row_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor, ``None`` in an empty table."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # the cursor outside the rows while the table is rebuilt
        return None
