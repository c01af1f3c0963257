"""The recent events in memory, and the alerts active now: what the UI reads.

Plain Python (no Textual): the pipeline appends, the app tells its screens through a signal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping

from nezha_tui.alerts.event import Event

__all__ = ["EventFeed"]

FEED_MAX = 5000
"""Events kept in memory (the log file keeps more)."""


class EventFeed:
    """The newest :data:`FEED_MAX` events, oldest first, with an unseen counter and the active alerts.

    ``active`` maps a server id to the names of its alerts holding now (``"offline"``, a rule's
    name, ...): the grid pins and marks those rows.  ``version`` grows with every change, so a
    view can tell whether it must repaint.
    """

    def __init__(self, maxlen: int = FEED_MAX) -> None:
        self._events: deque[Event] = deque(maxlen=maxlen)
        self.unseen = 0
        """Events added since :meth:`mark_seen` (the header's counter)."""
        self.version = 0
        self._active: dict[int, tuple[str, ...]] = {}

    # ------------------------------------------------------------------ events

    def load(self, events: Iterable[Event]) -> None:
        """Events from before this run (the log file): shown, not counted as unseen."""
        self._events.extend(events)
        self.version += 1

    def add(self, events: Iterable[Event]) -> list[Event]:
        """Append new events; return them (as a list)."""
        added = list(events)
        if added:
            self._events.extend(added)
            self.unseen += len(added)
            self.version += 1
        return added

    def clear(self) -> None:
        """Forget the events (not the active alerts)."""
        self._events.clear()
        self.unseen = 0
        self.version += 1

    def mark_seen(self) -> None:
        if self.unseen:
            self.unseen = 0
            self.version += 1

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        """Oldest first."""
        return iter(self._events)

    def newest(self, count: int) -> list[Event]:
        """The ``count`` newest events, newest first."""
        out: list[Event] = []
        for event in reversed(self._events):
            if len(out) >= count:
                break
            out.append(event)
        return out

    # ------------------------------------------------------------------ active alerts

    @property
    def active(self) -> Mapping[int, tuple[str, ...]]:
        return self._active

    def set_active(self, active: Mapping[int, Iterable[str]]) -> set[int]:
        """Replace the active alerts; return the server ids whose alerts changed."""
        new = {sid: tuple(sorted(names)) for sid, names in active.items() if names}
        old = self._active
        if new == old:
            return set()
        changed = {sid for sid in new.keys() | old.keys() if new.get(sid) != old.get(sid)}
        self._active = new
        self.version += 1
        return changed
