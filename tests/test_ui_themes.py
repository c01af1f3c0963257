"""Every screen in every registered theme, and under NO_COLOR: nothing raises, and under
NO_COLOR warn/critical values stand out by bold, reverse or underline (not by a colour that
the monochrome filter turns into a shade of grey)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.style import Style
from textual.geometry import Region

from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.screens.fleet import FleetScreen
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from tests import ui_fakes as uf
from tests.ui_fakes import T0
from tests.test_ui_detail import metric_answer, services_answer
from tests.test_ui_services import history, overview

SIZE = (120, 36)


def servers(now: float = T0) -> list[dict[str, Any]]:
    """Calm, warn and critical values; online, offline and never-reported servers."""
    return [
        uf.server_json(1, "calm", now=now, cpu=10.0, mem=0.2, temps=[40.0], gpu=[5.0]),
        uf.server_json(2, "warm", now=now, cpu=75.0, mem=0.8, disk=0.75, temps=[75.0]),
        uf.server_json(3, "hot", now=now, cpu=95.0, mem=0.95, disk=0.95, swap=0.95, temps=[95.0], gpu=[97.0]),
        uf.server_json(4, "gone", now=now, age=600.0, cpu=99.0),  # last known: not a live alarm
        uf.server_json(5, "never", now=now, age=None, empty=True),
    ]


def make_app(**kw: Any) -> tuple[NezhaApp, Any]:
    streams = uf.stream_factory()
    client = uf.FakeClient(server_metrics=metric_answer, server_services=services_answer,
                           services=overview(), service_history=lambda sid, period: history(period))
    return NezhaApp(client, stream_factory=streams, start_timers=False, **kw), streams


async def settle(pilot: Any, app: NezhaApp) -> None:
    await pilot.pause()
    workers = [w for w in app.workers if w.group != "stream"]  # the stream runs on
    if workers:  # (an empty list would mean every worker)
        await app.workers.wait_for_complete(workers)
    await pilot.pause()


def styles_of(app: NezhaApp, needle: str, where: str = "*") -> list[Style]:
    """The styles of every segment on the top screen (in widgets matching ``where``) whose text
    holds ``needle`` (after the line filters: what the terminal gets)."""
    out: list[Style] = []
    for widget in app.screen.query(where):
        if not widget.display or not widget.size.area or widget.children:
            continue
        for strip in widget.render_lines(Region(0, 0, *widget.size)):
            out.extend(seg.style for seg in strip if needle in seg.text and seg.style is not None)
    return out


def text_of(app: NezhaApp, where: str = "*") -> str:
    return "\n".join(strip.text for widget in app.screen.query(where)
                     if widget.display and widget.size.area and not widget.children
                     for strip in widget.render_lines(Region(0, 0, *widget.size)))


def legibility(style: Style) -> float:
    """The contrast of a segment's text against its background (what "dimmer" means)."""
    from textual.color import Color

    from nezha_tui.ui.styles import contrast

    assert style.color is not None and style.bgcolor is not None, style
    return contrast(Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor))


def check_emphasis(app: NezhaApp, name: str) -> None:
    """Under NO_COLOR, warn values are bold and critical ones bold + underlined (or reversed),
    and never dimmer than a normal value (the name of the same server)."""
    if name in ("table", "cards"):
        warn, crit = styles_of(app, "75.0%"), styles_of(app, "95.0%")  # cpu of "warm", of "hot"
        assert warn and all(st.bold for st in warn), (name, warn)
        assert crit and all(st.bold and (st.underline or st.reverse) for st in crit), (name, crit)
        normal = [st for st in styles_of(app, "warm") if not st.reverse]
        assert normal, name
        for st in warn + [st for st in crit if not st.reverse]:
            assert legibility(st) >= min(legibility(n) for n in normal) - 0.01, (name, app.theme, st, normal)
    elif name == "detail overview":  # "hot": the cpu's percentage after its bar
        crit = styles_of(app, "95.0%", "#live")
        assert crit and all(st.bold and st.underline for st in crit), crit
        legend = text_of(app, "#rt-pct")  # the realtime plot's lines told apart by glyph
        assert "━ cpu" in legend and "• mem" in legend, legend
    elif name == "services":  # the day strip: a day's level is the cell's height
        text = text_of(app)
        assert "▁" in text and "█" in text


def paint(app: NezhaApp) -> str:
    """The whole screen rendered through the compositor, line filters included (as a terminal gets it)."""
    return app.export_screenshot()


async def screens(app: NezhaApp, pilot: Any):
    """Yields the name of each screen once it is on top and settled."""
    from nezha_tui.ui.screens.help import HelpScreen
    from nezha_tui.ui.screens.server_detail import ServerDetailScreen
    from nezha_tui.ui.screens.service_history import ServiceHistoryScreen
    from nezha_tui.ui.screens.services import ServicesScreen

    fleet = app.screen
    assert isinstance(fleet, FleetScreen)
    yield "cards" if isinstance(fleet.grid, FleetCards) else "table"
    await pilot.press("v")
    await settle(pilot, app)
    yield "cards" if isinstance(fleet.grid, FleetCards) else "table"
    await pilot.press("v")
    await settle(pilot, app)
    if app.wall:
        return  # the other screens are the same with or without the wall
    for tab in ("overview", "history", "monitors"):
        app.push_screen(ServerDetailScreen(3))
        await settle(pilot, app)
        app.screen.action_tab(tab)
        await settle(pilot, app)
        yield f"detail {tab}"
        app.pop_screen()
    app.push_screen(ServicesScreen())
    await settle(pilot, app)
    yield "services"
    app.push_screen(ServiceHistoryScreen(2, name="api https"))
    await settle(pilot, app)
    yield "service history"
    app.pop_screen()
    app.pop_screen()
    app.push_screen(HelpScreen(fleet.active_bindings))
    await settle(pilot, app)
    yield "help"
    app.pop_screen()
    await settle(pilot, app)


LOOKS = [  # (NO_COLOR, wall, themes): NO_COLOR in every theme (it filters every theme's colours);
    # with colours a dark, a light and an ANSI theme (every theme again on the wall's screens)
    # (every theme through every screen is ~50 s: in three shards, each well inside the timeout)
    *(pytest.param(True, None, (k, 3), id=f"NO_COLOR-every-theme-{k + 1}of3") for k in range(3)),
    pytest.param(True, 5.0, None, id="NO_COLOR-wall-every-theme"),
    pytest.param(False, None, ["textual-light", "ansi-dark"], id="color"),
    pytest.param(False, 5.0, ["textual-light", "ansi-dark"], id="color-wall"),
]


@pytest.mark.parametrize("no_color, wall, themes", LOOKS)
async def test_every_screen_renders_in_every_theme(monkeypatch, no_color, wall, themes):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # Textual reads it when the app is made
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app, streams = make_app(wall=wall)
    if themes is None or isinstance(themes, tuple):
        every = sorted(app.available_themes)
        assert len(every) > 10
        themes = every if themes is None else every[themes[0]::themes[1]]
    seen: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color is no_color
        for step in range(3):  # a few frames: realtime plots with lines
            streams.last.push(uf.frame(servers(T0 + 2 * step), now=T0 + 2 * step))
        await settle(pilot, app)
        async for name in screens(app, pilot):
            seen.append(name)
            # the grid's own line path in every theme; the other screens (Textual's widgets) in a
            # sixth of them, a different sixth per shard (the colour rules of every theme are
            # checked in test_ui_styles; each theme switch re-parses the CSS: ~0.3 s a screen)
            for theme in (themes if name in ("table", "cards") else themes[::6]):
                app.theme = theme
                await pilot.pause()
                assert paint(app), (name, theme)
                if no_color:
                    check_emphasis(app, name)
            # (the next screen opens in the last theme: no switch back, each switch re-parses the CSS)
    assert seen == (["cards", "table"] if wall else
                    ["table", "cards", "detail overview", "detail history", "detail monitors",
                     "services", "service history", "help"])


async def test_the_grid_line_path_styles_unstyled_segments_before_the_monochrome_filter(monkeypatch):
    """The grid runs Textual's line filters itself: a segment without a style (which the
    monochrome filter of NO_COLOR cannot take) gets the widget's own style first."""
    from rich.segment import Segment
    from textual.strip import Strip

    from nezha_tui.ui.widgets.fleet_table import FleetTable

    monkeypatch.setenv("NO_COLOR", "1")
    app, streams = make_app()
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(uf.frame(servers()))
        await settle(pilot, app)
        table = app.screen.query_one(FleetTable)
        width = table.size.width
        monkeypatch.setattr(table, "_lines", lambda ys: [Strip([Segment("x" * width)], width) for _ in ys])
        strips = table.render_lines(Region(0, 0, width, 3))
        assert [strip.text for strip in strips] == ["x" * width] * 3
        assert all(seg.style is not None for strip in strips for seg in strip)
