"""The drill-down views' fetch -> cache -> show helper (nezha_tui/ui/loader.py), on its own."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Hashable

from textual.app import App, ComposeResult
from textual.widgets import Static

from nezha_tui.api import errors as e
from nezha_tui.history_cache import HistoryCache
from nezha_tui.ui.drilldown import GUEST_MESSAGE
from nezha_tui.ui.loader import Loader


class View(Static):
    """A view with a loader: records what it was asked to show."""

    def __init__(self) -> None:
        super().__init__()
        self.cache = HistoryCache(ttl=60.0)
        self.shown: list[tuple[Hashable, Any]] = []
        self.failed: list[tuple[Hashable, str]] = []
        self.loading: list[Hashable] = []
        self.calls: list[tuple[Hashable, bool]] = []
        self.gates: dict[Hashable, asyncio.Event] = {}
        self.errors: list[BaseException] = []  # raised by the next fetches, in order
        self.scheduled: list[tuple[float, Callable[[], None]]] = []
        """The retries the loader asked for, not yet fired (no timer runs: a test fires them)."""
        self.loader: Loader[str] = Loader(self, group="test", fetch=self.fetch, show=self.show_answer,
                                          fail=self.fail, loading=self.loading.append,
                                          cache=lambda: self.cache, schedule=self.schedule)

    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self.scheduled.append((delay, callback))

    def fire(self) -> list[float]:
        """Run the retries asked for so far, as their timers would; their delays."""
        due, self.scheduled = self.scheduled, []
        for _, callback in due:
            callback()
        return [delay for delay, _ in due]

    async def fetch(self, key: Hashable, force: bool) -> str:
        self.calls.append((key, force))
        gate = self.gates.get(key)
        if gate is not None:
            await gate.wait()
        if self.errors:
            raise self.errors.pop(0)
        return f"answer {key} #{len(self.calls)}"

    def show_answer(self, key: Hashable, answer: str) -> None:
        if key == "unshowable":
            raise KeyError("a view that cannot show this answer")
        self.shown.append((key, answer))

    def fail(self, key: Hashable, message: str) -> None:
        self.failed.append((key, message))


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield View()


async def settle(pilot: Any, app: App[Any]) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_fetch_then_cache_hit_shows_without_fetching_and_force_fetches() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.loader.load("a")
        await settle(pilot, app)
        assert view.loading == ["a"] and view.calls == [("a", False)] and view.shown == [("a", "answer a #1")]
        view.loader.load("a")  # already shown: nothing happens
        view.loader.load("b")
        await settle(pilot, app)
        view.loader.load("a")  # back to a: from the cache, at once, no loading mark
        assert view.shown[-1] == ("a", "answer a #1") and view.calls == [("a", False), ("b", False)]
        assert view.loading == ["a", "b"]
        view.loader.load("a", force=True)
        await settle(pilot, app)
        assert view.calls[-1] == ("a", True) and view.shown[-1] == ("a", "answer a #3")
        assert view.cache.get("a") == "answer a #3" and view.loader.shown == "a"


async def test_an_answer_for_a_key_the_user_left_is_cached_not_shown() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.loader.load("b")
        await settle(pilot, app)
        view.gates["slow"] = asyncio.Event()
        view.loader.load("slow")
        await pilot.pause()
        assert view.loader.busy
        view.loader.load("b")  # the user moved on before the answer came (b is cached)
        assert view.shown[-1][0] == "b"
        view.gates["slow"].set()
        await settle(pilot, app)
        assert not view.loader.busy and view.shown[-1][0] == "b" and all(key != "slow" for key, _ in view.shown)
        assert view.cache.get("slow") is not None  # kept for when the user comes back
        view.loader.load("slow")
        assert view.shown[-1] == ("slow", view.cache.get("slow")) and len(view.calls) == 2


async def test_a_failure_the_user_left_is_not_shown() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.gates["x"] = asyncio.Event()
        view.errors = [e.NotFound("gone")]
        view.loader.load("x")
        await pilot.pause()
        view.loader.leave()  # the view shows a message of its own
        view.gates["x"].set()
        await settle(pilot, app)
        assert view.failed == [] and view.shown == []


async def test_passing_errors_are_retried_with_backoff_until_they_pass() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.errors = [e.ProxyError(502, "Bad Gateway")] * 3
        view.loader.load("k")
        delays = []
        for _ in range(3):
            await settle(pilot, app)
            assert view.shown == [] and len(view.scheduled) == 1  # one retry at a time
            delays += view.fire()
        await settle(pilot, app)
        assert len(view.failed) == 3 and "502" in view.failed[0][1] and view.shown == [("k", "answer k #4")]
        assert delays == [2.0, 4.0, 8.0]  # doubled after each failure
        assert view.scheduled == [] and view.loader.failures == 0 and view.cache.get("k") == "answer k #4"
        assert view.cache.get("never") is None


async def test_a_retry_for_a_key_the_user_left_or_that_was_shown_meanwhile_does_nothing() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.errors = [e.ProxyError(502, "Bad Gateway")]
        view.loader.load("a")
        await settle(pilot, app)
        view.loader.load("b")  # the user moved on before the retry
        await settle(pilot, app)
        assert view.fire() == [2.0]
        await settle(pilot, app)
        assert view.calls == [("a", False), ("b", False)]
        view.errors = [e.ProxyError(502, "Bad Gateway")]
        view.loader.load("c")
        await settle(pilot, app)
        view.loader.load("c", force=True)  # the user's r came first
        await settle(pilot, app)
        view.fire()
        await settle(pilot, app)
        assert [k for k, _ in view.calls].count("c") == 2 and view.shown[-1][0] == "c"


async def test_errors_that_cannot_pass_are_shown_once_not_retried_and_not_cached() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.errors = [e.GuestPeriodDenied()]
        view.loader.load("7d")
        await settle(pilot, app)
        assert view.scheduled == []  # no retry
        assert view.failed == [("7d", GUEST_MESSAGE)] and len(view.calls) == 1 and "7d" not in view.cache
        view.loader.load("7d")  # asked again: fetched again (an error is not cached)
        await settle(pilot, app)
        assert len(view.calls) == 2 and view.shown == [("7d", "answer 7d #2")]


async def test_no_retry_when_the_view_refreshes_itself_and_unexpected_errors_are_one_line() -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.loader.retry = False
        view.errors = [e.NetworkError("connection refused"), ValueError("boom\nTraceback")]
        view.loader.load("s", force=True)
        await settle(pilot, app)
        assert view.scheduled == []  # no retry
        assert view.failed == [("s", "connection refused")] and len(view.calls) == 1
        view.loader.load("s", force=True)
        await settle(pilot, app)
        assert view.failed[-1] == ("s", "unexpected error: ValueError")


def test_retries_use_the_owners_timer_by_default() -> None:
    class Owner:
        def __init__(self) -> None:
            self.timers: list[float] = []

        def set_timer(self, delay: float, callback: Callable[[], None]) -> None:
            self.timers.append(delay)

    owner = Owner()
    loader: Loader[str] = Loader(owner, group="g", fetch=None, show=None, fail=None)  # type: ignore[arg-type]
    loader.schedule(3.0, lambda: None)
    assert owner.timers == [3.0]


async def test_an_answer_the_view_cannot_show_is_a_one_line_failure_not_a_crash(caplog: Any) -> None:
    app = Host()
    async with app.run_test() as pilot:
        view = app.query_one(View)
        view.loader.load("unshowable")
        await settle(pilot, app)
        assert app.is_running and app.return_code is None
        assert view.failed == [("unshowable", "unexpected error: KeyError")] and view.loader.shown is None
        assert "could not show 'unshowable'" in caplog.text and "Traceback" in caplog.text
        view.loader.load("unshowable")  # from the cache: shown at once, and it fails at once, quietly
        assert view.failed[-1] == ("unshowable", "unexpected error: KeyError") and len(view.calls) == 1
        view.loader.load("fine")
        await settle(pilot, app)
        assert view.shown == [("fine", "answer fine #2")]
