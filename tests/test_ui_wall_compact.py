"""The wall (--wall) on a small terminal: compact cards so that more than two fit, no scrollbar."""

from __future__ import annotations

import pytest

from nezha_tui.ui.widgets.fleet_cards import FleetCards
from tests.test_ui_fleet import feed, make_app
from tests.ui_fakes import T0, fleet


def screen_lines(app) -> list[str]:
    return [line.text for line in app.screen._compositor.render_strips()]


def whole_cards(app) -> int:
    """Cards drawn from top to bottom border on screen now."""
    lines = screen_lines(app)
    return sum(line.count("╰") for line in lines)


@pytest.mark.parametrize("size, cards, compact", [
    ((80, 24), 6, True),
    ((120, 36), 6, False),  # large cards still fit 6 (2 x 3)
    ((200, 60), 20, False),  # as before: 4 x 5 large cards
])
async def test_the_wall_fits_its_cards_without_a_scrollbar(size, cards, compact):
    app, streams, _ = make_app(wall=15)
    async with app.run_test(size=size) as pilot:
        await feed(pilot, streams, fleet(30, offline=[1, 2]))
        await pilot.pause()
        grid = app.screen.query_one(FleetCards)
        assert grid.compact is compact
        assert grid.card_height == (7 if compact else 11)
        assert whole_cards(app) == cards
        assert not grid.show_vertical_scrollbar or grid.scrollbar_size_vertical == 0
        assert grid.scrollable_content_region.width == size[0]  # no column lost to a scrollbar
        text = "\n".join(screen_lines(app))
        assert "offline, last seen" in text  # offline servers first, with their state
        assert "CPU" in text and "DISK" in text


async def test_compact_wall_cards_page_and_grow_back_when_the_terminal_does():
    app, streams, _ = make_app(wall=15)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, streams, fleet(14))
        grid = app.screen.query_one(FleetCards)
        assert grid.page_count() == 3  # 6 a page
        first = "\n".join(screen_lines(app))
        assert "srv-001" in first and "srv-007" not in first
        app.wall_tick()
        await pilot.pause()
        second = "\n".join(screen_lines(app))
        assert "srv-007" in second and "srv-001" not in second
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await feed(pilot, streams, fleet(14, now=T0 + 2, step=1))
        assert not grid.compact and grid.card_height == 11 and "SWAP" in "\n".join(screen_lines(app))


async def test_the_cards_view_outside_the_wall_keeps_its_card():
    app, streams, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot, streams, fleet(5))
        await pilot.press("v")
        await pilot.pause()
        grid = app.screen.query_one(FleetCards)
        assert not grid.compact and grid.card_height == 8
