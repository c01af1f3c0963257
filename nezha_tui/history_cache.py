"""A brief cache of history fetch results, so switching back to a metric,
period or service is instant.

Plain Python (no Textual).  Entries expire after ``ttl`` seconds of the
injected monotonic ``clock``; the oldest entries go first once ``max_entries``
is reached.  Only successful results are stored, never errors.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable, Hashable

__all__ = ["HistoryCache"]


class HistoryCache:
    def __init__(self, ttl: float = 60.0, max_entries: int = 256,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = float(ttl)
        self.max_entries = max(1, int(max_entries))
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        """The stored value, or ``None`` when absent or expired."""
        item = self._data.get(key)
        if item is None:
            self.misses += 1
            return None
        expires, value = item
        if self._clock() >= expires:
            del self._data[key]
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        self._data[key] = (self._clock() + (self.ttl if ttl is None else float(ttl)), value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        item = self._data.get(key)  # type: ignore[arg-type]
        return item is not None and self._clock() < item[0]
