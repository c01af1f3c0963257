"""Toasts of one kind replace each other instead of stacking over the data."""

from __future__ import annotations

import pytest
from textual.widgets._toast import Toast

from contextlib import asynccontextmanager
from typing import Any

from tests.test_ui_fleet import NARROW, feed, make_app
from tests.ui_fakes import T0, fleet, groups, status

WIDE = (120, 36)


@asynccontextmanager
async def fleet_screen(first, *, size=NARROW, **app_kw: Any):
    """As tests.test_ui_fleet.fleet_screen, with toasts drawn (run_test hides them by default)."""
    app, streams, notes = make_app(**app_kw)
    async with app.run_test(size=size, notifications=True) as pilot:
        await feed(pilot, streams, first)
        yield app, pilot, streams, notes


def toasts(app) -> list[str]:
    """The toasts on screen now (what a user sees), oldest first."""
    return [str(toast._notification.message) for toast in app.screen.query(Toast)]


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_group_toasts_replace_each_other(size):
    spec = groups((1, "eu", [1, 2]), (2, "us", [3]), (3, "asia", [4]))
    async with fleet_screen(fleet(4), size=size, group_list=spec) as (app, pilot, _, _):
        await pilot.pause()
        for _ in range(3):
            await pilot.press("right_square_bracket")
        await pilot.pause()
        await pilot.pause()
        assert toasts(app) == ["Group: asia"]
        await pilot.press("o")  # another kind: shown beside it
        await pilot.pause()
        await pilot.pause()
        assert toasts(app)[0] == "Group: asia" and toasts(app)[1].startswith("Sort: ")


async def test_two_toasts_of_a_kind_raised_in_one_handler_leave_one():
    async with fleet_screen(fleet(2)) as (app, pilot, _, _):
        app.notify("first", kind="k")
        app.notify("second", kind="k")
        app.notify("other")
        await pilot.pause()
        await pilot.pause()
        assert sorted(toasts(app)) == ["other", "second"]


async def test_connection_toasts_replace_each_other():
    async with fleet_screen(fleet(2)) as (app, pilot, streams, _):
        streams.last.set_status(status("live"))
        for attempt in range(1, 4):
            streams.last.set_status(status("reconnecting", attempt=attempt, message="connection refused"))
            streams.last.set_status(status("live"))
        await pilot.pause()
        await pilot.pause()
        assert toasts(app) == ["Connection restored"]


async def test_offline_alerts_merge_into_one_toast():
    async with fleet_screen(fleet(6)) as (app, pilot, streams, notes):
        await feed(pilot, streams, fleet(6, now=T0 + 2, offline=[2]))
        await feed(pilot, streams, fleet(6, now=T0 + 4, offline=[2, 5]))
        await pilot.pause()
        assert notes[-1][0] == "2 servers went offline: srv-002, srv-005"
        assert toasts(app) == ["2 servers went offline: srv-002, srv-005"]
        await feed(pilot, streams, fleet(6, now=T0 + 6, offline=[5]))  # srv-002 is back
        await pilot.pause()
        assert sorted(toasts(app)) == ["2 servers went offline: srv-002, srv-005", "srv-002 is back online"]
        await feed(pilot, streams, fleet(6, now=T0 + 8, offline=[5, 6]))
        await pilot.pause()
        # srv-002 came back: the merged toast names the servers offline now
        assert sorted(toasts(app)) == ["2 servers went offline: srv-005, srv-006", "srv-002 is back online"]


async def test_sort_toasts_of_every_sort_key_replace_each_other():
    """o, the capital letters and the sort menu all say "Sort: ..." in one toast, not a stack."""
    async with fleet_screen(fleet(4)) as (app, pilot, _, _):
        await pilot.press("C", "M", "D", "o")
        await pilot.pause()
        await pilot.pause()
        sorts = [t for t in toasts(app) if t.startswith("Sort: ")]
        assert len(sorts) == 1
