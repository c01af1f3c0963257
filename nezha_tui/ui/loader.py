"""One load -> fetch -> stale-guard -> cache -> show sequence for the drill-down views
(the detail's metric history and service monitors, the services screen, the service history).

A :class:`Loader` is owned by a widget (a screen or a panel) and runs its fetches as that
widget's workers.  ``load(key)`` shows a cached answer at once, or fetches it:

- the fetch is the owner's ``fetch(key, force)`` coroutine; a newer load cancels it;
- an answer for a key the user has left (``key != loader.wanted``) is cached, never shown;
- a failure is shown as one line (:func:`~nezha_tui.ui.drilldown.history_error_message`) and,
  when it may pass (a proxy's 502, a reset), fetched again by itself with backoff
  (:func:`~nezha_tui.ui.drilldown.history_retry_delay`);
- ``force=True`` bypasses the cache (the ``r`` key, a periodic refresh).

No Textual import beyond typing: the owner provides ``run_worker``, ``set_timer`` and
``is_attached`` (every Textual widget does).  ``schedule(delay, callback)`` replaces the
owner's ``set_timer`` for the retries (tests fire them by hand, no timer runs).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Generic, Hashable, TypeVar

from nezha_tui.history_cache import HistoryCache
from nezha_tui.ui.drilldown import history_error_message, history_retry_delay

if TYPE_CHECKING:
    from textual.dom import DOMNode

__all__ = ["Loader"]

log = logging.getLogger("nezha_tui.ui")

T = TypeVar("T")


class Loader(Generic[T]):
    """Fetch, cache and show the answers of one view; see the module's docstring.

    ``fetch(key, force)`` returns the answer (or raises); ``show(key, answer)`` puts it
    on screen; ``fail(key, message)`` shows why there is none; ``loading(key)`` (optional)
    marks the view as loading.  ``cache()`` gives the cache (``None``: answers are not
    kept); ``read``/``write`` replace the plain ``cache.get(key)``/``cache.put(key, answer)``
    (e.g. an answer made of several cached parts).  ``what`` names the thing a 404 says is
    gone ("server", "service"); ``retry=False`` leaves a failure alone (a view that refreshes
    itself anyway); ``schedule(delay, callback)`` runs a retry later (default: the owner's
    ``set_timer``).
    """

    def __init__(self, owner: DOMNode, *, group: str,
                 fetch: Callable[[Hashable, bool], Awaitable[T]],
                 show: Callable[[Hashable, T], None],
                 fail: Callable[[Hashable, str], None],
                 loading: Callable[[Hashable], None] | None = None,
                 cache: Callable[[], HistoryCache] | None = None,
                 read: Callable[[Hashable], T | None] | None = None,
                 write: Callable[[Hashable, T], None] | None = None,
                 what: str = "server", retry: bool = True, retry_start: float = 2.0,
                 schedule: Callable[[float, Callable[[], None]], object] | None = None) -> None:
        self._owner = owner
        self._group = group
        self._fetch = fetch
        self._show = show
        self._fail = fail
        self._loading = loading
        self._cache = cache
        self._read = read
        self._write = write
        self.what = what
        self.retry = retry
        self.retry_start = retry_start
        """Seconds before the first automatic retry (2, 4, 8 ... 60 after it)."""
        self.schedule: Callable[[float, Callable[[], None]], object] = (
            schedule if schedule is not None else owner.set_timer)
        """Runs ``callback`` after ``delay`` seconds (a retry); the owner's ``set_timer`` by default."""
        self.wanted: Hashable | None = None
        """The key the user asked for last: only its answer is shown."""
        self.shown: Hashable | None = None
        """The key whose answer is on screen (``None`` after a failure: a load fetches again)."""
        self.failures = 0
        """Consecutive failures of the wanted key (the backoff's exponent)."""
        self.fetches = 0
        self._running = 0

    @property
    def busy(self) -> bool:
        """A fetch is under way (a cancelled one has ended, whatever the newer one does)."""
        return self._running > 0

    # ------------------------------------------------------------------ cache

    def cached(self, key: Hashable) -> T | None:
        if self._read is not None:
            return self._read(key)
        cache = self._cache() if self._cache is not None else None
        return cache.get(key) if cache is not None else None

    def _keep(self, key: Hashable, answer: T) -> None:
        if self._write is not None:
            self._write(key, answer)
            return
        cache = self._cache() if self._cache is not None else None
        if cache is not None:
            cache.put(key, answer)

    # ------------------------------------------------------------------ loading

    def load(self, key: Hashable, *, force: bool = False) -> None:
        """Show ``key``'s answer: already shown (nothing to do), cached, or fetched now."""
        if key != self.wanted:
            self.failures = 0
        self.wanted = key
        if not force and self.shown == key:
            return
        hit = None if force else self.cached(key)
        if hit is not None:
            self._done(key, hit)
            return
        self.shown = None  # the view shows that it is loading now
        if self._loading is not None:
            self._loading(key)
        # exit_on_error=False: whatever goes wrong in a drill-down view, the app goes on
        self._owner.run_worker(self._run(key, force), group=self._group, exclusive=True, exit_on_error=False)

    def leave(self) -> None:
        """The view shows something else (a message of the owner's): no answer is shown until the next load."""
        self.wanted = None
        self.shown = None

    def _done(self, key: Hashable, answer: T) -> None:
        self.failures = 0
        self.shown = key
        try:
            self._show(key, answer)
        except Exception as err:  # an answer the view cannot show is one line, never a crash
            log.exception("could not show %r", key)
            self.shown = None
            self._failed(key, history_error_message(err, self.what))

    def _failed(self, key: Hashable, message: str) -> None:
        try:
            self._fail(key, message)
        except Exception:  # the view cannot even say so: the log has it
            log.exception("could not show the failure of %r", key)

    async def _run(self, key: Hashable, force: bool) -> None:
        self._running += 1
        try:
            answer = await self._fetch(key, force)
        except Exception as err:  # NezhaError is the normal case; never show a traceback
            if key == self.wanted:
                self.shown = None  # an error is not cached: a load tries again
                self._failed(key, history_error_message(err, self.what))
                self._retry_later(key, err)
            return
        finally:
            self._running -= 1
            self.fetches += 1
        self._keep(key, answer)
        if key == self.wanted:
            self._done(key, answer)
        # else: cached, not shown - the user has moved on

    def _retry_later(self, key: Hashable, err: BaseException) -> None:
        """A passing failure (a proxy's 502, a reset) is fetched again by itself, with backoff."""
        self.failures += 1
        delay = history_retry_delay(err, self.failures, self.retry_start) if self.retry else None
        if delay is None:
            return

        def again() -> None:
            if self._owner.is_attached and self.wanted == key and self.shown is None:
                self.load(key)

        self.schedule(delay, again)
