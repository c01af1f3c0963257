"""The key-hint footer: Textual's, compact when the terminal is narrow.

At 80 columns the fleet screen's hints do not fit with Textual's default
spacing and the last ones ("q Quit") are cut; the compact style (one space
around each key instead of two) fits them.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

__all__ = ["KeyFooter"]

COMPACT_BELOW = 110
"""Terminal widths under this many columns get the compact footer."""


class KeyFooter(Footer):
    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW
