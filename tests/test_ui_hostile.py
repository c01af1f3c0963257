"""Issue 9: a hostile Dashboard (``--fault-hostile``) rendered in every view and toast.

The whole app runs against the simulated Dashboard whose server, group,
service, rule and site names, host facts, sensor names, public notes and
error texts carry escape sequences, controls, bidi overrides, zero-width
characters, markup-looking text, CJK, emoji, combining marks, a 200-character
and an empty name.  For every view the screen is rendered as the terminal
would get it (the compositor's strips, and the bytes Textual would write) and
checked for raw control bytes; markup in a name must neither crash the app
nor be interpreted.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.sanitise import ESCAPE_STAND_IN
from nezha_tui.demo.server import DemoOptions, DemoServer
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.screens.help import HelpScreen
from nezha_tui.ui.screens.server_detail import ServerDetailScreen
from nezha_tui.ui.screens.service_history import ServiceHistoryScreen
from nezha_tui.ui.screens.services import ServicesScreen
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from tests.test_ui_demo import T, SteppedClock, until

SIZE = (160, 50)
# what Textual itself writes: SGR styles and cursor moves; anything else with ESC came from data
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+;\d+H")
_INVISIBLE = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff\u200e\u200f")


def _bad(ch: str) -> bool:
    cp = ord(ch)
    return cp < 0x20 or 0x7F <= cp <= 0x9F or ch in _INVISIBLE or 0xD800 <= cp <= 0xDFFF


def screen_lines(app) -> list[str]:
    update = app.screen._compositor.render_update(full=True)
    return ["".join(seg.text for strip in line for seg in strip if not seg.control) for line in update.strips]


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


def assert_inert(app, where: str) -> str:
    """The screen's segments hold no control/bidi/zero-width character, and the bytes a terminal
    would receive carry no escape sequence but Textual's own; returns the screen's text."""
    update = app.screen._compositor.render_update(full=True)
    for line in update.strips:
        for strip in line:
            for seg in strip:
                if not seg.control:
                    assert not any(_bad(c) for c in seg.text), f"{where}: raw control in {seg.text!r}"
    out = _OWN_SEQUENCES.sub("", update.render_segments(app.console))
    assert out.count("\n") < app.size.height  # Textual's own line ends only (the segments hold none)
    out = out.replace("\n", "")
    assert not any(_bad(c) for c in out), f"{where}: {[c for c in out if _bad(c)][:5]!r} reach the terminal"
    return screen_text(app)


async def _start(**app_kw):
    clock = SteppedClock(T)
    demo = DemoServer(DemoOptions(seed=1, clock=clock, frame_interval=0.05, hostile=True))
    await demo.start()
    app = NezhaApp(NezhaClient(demo.url, Credentials(username=demo.username, password=demo.password)),
                   start_timers=False, **app_kw)
    return demo, app, clock


async def test_hostile_text_is_inert_in_the_fleet_views_header_help_and_toasts():
    demo, app, clock = await _start()
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: app.store.frames > 0 and app.setting is not None)
            await pilot.pause()
            text = assert_inert(app, "table")
            assert "Hostile ␛[bold]Demo[/] etis" in text  # header: the site name as text, bidi gone
            assert f"clip-{ESCAPE_STAND_IN}web" in text and "x [/b]" in text and "[@click=app.quit]x[/]" in text
            assert "long-abcdefghij" in text and "…" in text  # the 200-character name is cut
            assert "数据库服务器" in text
            # every table row is as wide as the screen: no name broke or widened a row
            assert {cell_len(line) for line in screen_lines(app)} == {SIZE[0]}

            await pilot.press("v")
            await until(pilot, lambda: app.screen.query_one(FleetCards).display)
            await pilot.pause()
            text = assert_inert(app, "cards")
            assert f"debian{ESCAPE_STAND_IN}" in text  # host facts
            await pilot.press("v")

            await pilot.press("right_square_bracket")  # a group toast with a hostile group name
            await until(pilot, lambda: "Group: Prod" in screen_text(app))
            text = assert_inert(app, "group toast")
            assert f"Group: Prod {ESCAPE_STAND_IN}[/]" in text
            await pilot.press("left_square_bracket")

            app.refresh_groups()  # the second /server-group request answers a hostile error text
            await until(pilot, lambda: "quota [/] exceeded" in screen_text(app))
            assert_inert(app, "error toast")

            app.store.online_window = -1.0  # the next frame takes every server offline: an alert naming them
            frames = app.store.frames
            clock.t = T + 2
            await until(pilot, lambda: app.store.frames > frames and "went offline" in screen_text(app))
            text = assert_inert(app, "offline alert")
            assert "x [/b]" in text  # the markup-looking name, shown as it is (it crashed the app before)

            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.pause()
            assert_inert(app, "help")
        assert app.return_code in (None, 0)
    finally:
        await demo.stop()


async def test_hostile_text_is_inert_in_the_detail_services_history_and_monitors():
    demo, app, clock = await _start()
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: app.store.frames > 0 and app.setting is not None)
            app.action_open_server(1)  # hostile name, host facts, sensors and a hostile JSON note
            await until(pilot, lambda: isinstance(app.screen, ServerDetailScreen) and "Platform" in screen_text(app))
            await pilot.pause()
            text = assert_inert(app, "detail")
            assert f"clip-{ESCAPE_STAND_IN}web" in text and f"debian{ESCAPE_STAND_IN}" in text
            assert f"core{ESCAPE_STAND_IN}0" in text  # a sensor name
            assert "1Gbps [/]" in text  # the note's plan, as text
            await pilot.press("m")  # the monitors of this server (names of service monitors)
            await until(pilot, lambda: app.screen.monitors.rows or app.screen.monitors.message)
            await pilot.pause()
            assert_inert(app, "monitors")
            await pilot.press("escape")

            app.action_open_server(2)  # its metrics answer a hostile error text
            await until(pilot, lambda: isinstance(app.screen, ServerDetailScreen) and "Platform" in screen_text(app))
            await pilot.pause()
            text = assert_inert(app, "detail with a plain note")
            assert f"plain note {ESCAPE_STAND_IN}[/] with newline␇" in text  # the note, as one line of text
            await pilot.press("h")
            await until(pilot, lambda: "quota [/] exceeded" in screen_text(app))
            assert_inert(app, "detail history error")
            await pilot.press("escape")

            long_id = next(sid for sid, srv in app.store.servers.items() if srv.name.startswith("long-"))
            app.action_open_server(long_id)  # the 200-character name: cut in the grid, whole in the detail
            await until(pilot, lambda: isinstance(app.screen, ServerDetailScreen) and "Platform" in screen_text(app))
            await pilot.pause()
            text = assert_inert(app, "detail of the long name")
            assert "abcdefghij-end" in text.replace("\n", "").replace(" ", "")
            await pilot.press("escape")

            app.action_open_services()
            await until(pilot, lambda: isinstance(app.screen, ServicesScreen) and app.screen.overview is not None)
            await pilot.pause()
            text = assert_inert(app, "services")
            assert "[@click=app.quit]Cloudflare[/]" in text and "quota [/]" in text
            app.push_screen(ServiceHistoryScreen(1, name=app.screen.overview.services[1].service_name))
            await until(pilot, lambda: "quota [/] exceeded" in screen_text(app))  # a hostile error text
            assert_inert(app, "service history error")
            await pilot.press("escape")
            app.push_screen(ServiceHistoryScreen(2, name=app.screen.overview.services[2].service_name))
            await until(pilot, lambda: isinstance(app.screen, ServiceHistoryScreen) and app.screen.history is not None)
            await pilot.pause()
            assert_inert(app, "service history")
        assert app.return_code in (None, 0)
    finally:
        await demo.stop()


async def test_hostile_text_is_inert_on_the_wall():
    demo, app, _ = await _start(wall=30.0)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await until(pilot, lambda: app.store.frames > 0 and app.setting is not None)
            await pilot.pause()
            text = assert_inert(app, "wall")
            assert f"clip-{ESCAPE_STAND_IN}web" in text
    finally:
        await demo.stop()


async def test_an_overlong_site_name_is_cut_and_the_connection_state_stays_in_the_header():
    from tests.test_ui_fleet import feed, header
    from tests.ui_fakes import FakeClient, fleet, stream_factory

    streams = stream_factory()
    app = NezhaApp(FakeClient(site_name="Site-" + "x" * 195), stream_factory=streams, start_timers=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, streams, fleet(3))
        await until(pilot, lambda: app.setting is not None)
        await pilot.pause()
        text = header(app)
        assert "Site-xxx" in text and "x" * 60 not in text and "…" in text
        assert "3 servers" in text
