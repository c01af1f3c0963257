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

    ``active`` maps a server's fleet key (:func:`nezha_tui.fleets.server_key`; with one Dashboard,
    its id) to the names of its alerts holding now (``"offline"``, a rule's name, ...): the grid
    pins and marks those rows.  Each Dashboard's pipeline sets its own *part* of it
    (:meth:`set_active`); ``active`` is their union (fleet keys of two Dashboards never collide).
    ``version`` grows with every change, so a view can tell whether it must repaint.
    """

    def __init__(self, maxlen: int = FEED_MAX) -> None:
        self._events: deque[Event] = deque(maxlen=maxlen)
        self.unseen = 0
        """Events added since :meth:`mark_seen` (the header's counter)."""
        self.version = 0
        self._active: dict[int, tuple[str, ...]] = {}
        self._parts: dict[str, dict[int, tuple[str, ...]]] = {}
        """Each part's (Dashboard's) active alerts; ``_active`` is their union."""
        self.sources: dict[str, int] = {}
        """The name each Dashboard's events carry -> its index among the app's Dashboards (set by
        whoever builds the pipelines; a name stays with its events even when the Dashboard's label
        changes later)."""

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

    def source_index(self, dashboard: str) -> int | None:
        """The index of the Dashboard whose events carry the name ``dashboard`` (see :attr:`sources`)."""
        return self.sources.get(dashboard)

    # ------------------------------------------------------------------ active alerts

    @property
    def active(self) -> Mapping[int, tuple[str, ...]]:
        return self._active

    def set_active(self, active: Mapping[int, Iterable[str]], part: str = "") -> set[int]:
        """Replace the active alerts of ``part`` (one Dashboard: each pipeline passes its own name;
        the other parts stay); return the keys whose alerts changed.  The keys of two parts must not
        collide (fleet keys never do)."""
        new = {key: tuple(sorted(names)) for key, names in active.items() if names}
        old = self._parts.get(part, {})
        if new == old:
            return set()
        changed = {key for key in new.keys() | old.keys() if new.get(key) != old.get(key)}
        if len(self._parts) <= 1 and (not self._parts or part in self._parts):
            merged = new  # one part (one Dashboard): the union is that part (neither is modified)
        else:
            merged = dict(self._active)  # a new mapping: a caller holding the old one sees it unchanged
            for key in changed:
                names = new.get(key)
                if names is None:
                    merged.pop(key, None)
                else:
                    merged[key] = names
        self._parts[part] = new
        self._active = merged
        self.version += 1
        return changed
