"""The fleet screen with nothing to show: connecting, an empty filter, a refused login (and retry)."""

from __future__ import annotations

import time

import pytest
from rich.text import Text

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.stream import StreamState
from nezha_tui.demo.server import DemoOptions, DemoServer
from nezha_tui.format import fmt_origin
from nezha_tui.ui.app import RETRY_PAUSE, NezhaApp
from nezha_tui.ui.empty_states import auth_failure_text, no_match_text
from nezha_tui.ui.widgets.fleet_table import FleetTable
from tests.test_ui_fleet import NARROW, feed, fleet_screen, header, make_app
from tests.test_ui_demo import until
from tests.ui_fakes import fleet, groups, status

MEDIUM = (120, 36)
SIZES = [pytest.param(NARROW, id="80x24"), pytest.param(MEDIUM, id="120x36")]


def _screen_lines(app) -> str:
    width, height = app.size
    lines = app.screen._compositor.render_strips()  # noqa: SLF001 - the composed screen, as a user sees it
    return "\n".join(line.text for line in lines[:height])


def empty(app):
    return app.screen.query_one("#empty")


def shown(widget) -> bool:
    return widget.display and widget.region.height > 0


class Clock:
    """The app clock: real time plus a jump a test can add (for the retry pause)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


# --------------------------------------------------------------------------- words


def test_no_match_words():
    assert no_match_text("xyz", "all", None).plain == "No server matches 'xyz' (esc clears)"
    assert no_match_text("", "offline", None).plain == "No offline servers (f shows all, esc clears)"
    assert no_match_text("db", "online", "eu").plain == "No online server in group 'eu' matches 'db' (esc clears)"
    assert no_match_text("", "all", "eu").plain.startswith("Group 'eu' has no servers")
    hostile = no_match_text("[/]\x1b[31m[b]", "all", None)
    assert isinstance(hostile, Text) and not hostile.spans and "\x1b" not in hostile.plain and "[/]" in hostile.plain


def test_origin_never_shows_credentials_or_a_path():
    assert fmt_origin("https://admin:s3cret@dash.example.com:8443/nezha?token=x") == "https://dash.example.com:8443"
    assert fmt_origin("not a url") == "the Dashboard"


def test_auth_panel_words_per_mode():
    for mode, fix in [("password", "NEZHA_PASSWORD"), ("access_token", "NEZHA_TOKEN"), ("jwt", "log in again"),
                      ("guest", "--user NAME")]:
        text = auth_failure_text(mode, "why [/]\x1b]0;x\x07", "http://h").plain
        assert fix in text and "why [/]" in text and "\x1b" not in text and "r retry   q quit" in text


# --------------------------------------------------------------------------- empty filter


@pytest.mark.parametrize("size", SIZES)
async def test_a_filter_with_no_match_says_so_and_esc_clears(size):
    async with fleet_screen(fleet(5), size=size) as (app, pilot, _, _):
        assert not shown(empty(app))
        await pilot.press("slash", *"[b]xyz")
        await pilot.pause()
        assert shown(empty(app)) and str(empty(app).render()) == "No server matches '[b]xyz' (esc clears)"
        assert "No server matches '[b]xyz' (esc clears)" in _screen_lines(app)
        assert app.screen.query_one(FleetTable).region.height == 1  # the header stays above the words
        await pilot.press("escape")
        await pilot.pause()
        assert not shown(empty(app)) and "srv-001" in _screen_lines(app)


@pytest.mark.parametrize("size", SIZES)
async def test_a_status_filter_with_no_match_says_so(size):
    async with fleet_screen(fleet(3), size=size) as (app, pilot, _, _):  # all online
        await pilot.press("f")  # all -> offline only
        await pilot.pause()
        assert str(empty(app).render()) == "No offline servers (f shows all, esc clears)"
        assert shown(empty(app))


async def test_the_words_follow_the_frames():
    async with fleet_screen(fleet(3)) as (app, pilot, streams, _):
        await pilot.press("slash", *"srv-004")
        await pilot.pause()
        assert shown(empty(app))
        await feed(pilot, streams, fleet(4))  # a server that matches arrives
        assert not shown(empty(app)) and "srv-004" in _screen_lines(app)


async def test_a_group_and_filter_with_no_match_names_the_group():
    spec = groups((1, "eu", [1, 2]))
    async with fleet_screen(fleet(3), group_list=spec) as (app, pilot, _, _):
        await pilot.pause()
        await pilot.press("right_square_bracket", "slash", *"srv-003")
        await pilot.pause()
        assert str(empty(app).render()) == "No server in group 'eu' matches 'srv-003' (esc clears)"


# --------------------------------------------------------------------------- connecting


@pytest.mark.parametrize("size", SIZES)
async def test_connecting_shows_a_dash_and_the_origin_not_zeros(size):
    app, streams, _ = make_app()
    async with app.run_test(size=size) as pilot:
        streams.last.set_status(status("connecting"))
        await pilot.pause()
        line = header(app)
        assert "- servers" in line and "connecting to http://fake.invalid…" in line
        screen = _screen_lines(app)
        assert "Connecting to http://fake.invalid…" in screen
        for zero in ("0 servers", "● 0", "0 B", "0 viewer"):
            assert zero not in screen
        await feed(pilot, streams, fleet(2))
        assert "2 servers" in header(app) and not shown(empty(app))


async def test_reconnecting_before_any_frame_says_why():
    app, streams, _ = make_app()
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("reconnecting", attempt=2, message="connection refused; retrying in 4 s"))
        await pilot.pause()
        assert "connection refused" in str(empty(app).render())
        assert "0 servers" not in _screen_lines(app)


async def test_reconnecting_after_frames_keeps_the_data_marked_stale():
    async with fleet_screen(fleet(3)) as (app, pilot, streams, _):
        streams.last.set_status(status("reconnecting", attempt=1, message="connection lost; retrying in 1 s"))
        await pilot.pause()
        assert not shown(empty(app)) and app.screen.has_class("-stale") and "srv-001" in _screen_lines(app)


# --------------------------------------------------------------------------- refused login (fake stream)


@pytest.mark.parametrize("size", SIZES)
async def test_a_refused_login_is_one_panel_with_cause_fix_and_keys(size):
    app, streams, notes = make_app(clock=Clock())
    async with app.run_test(size=size) as pilot:
        streams.last.set_status(status("auth_failed", message="login failed: wrong user name or password"))
        await pilot.pause()
        screen = _screen_lines(app)
        assert "Authentication failed" in screen and "wrong user name or password" in panel(app)
        assert "r retry   q quit" in screen
        assert not app.screen.query_one("#stale").has_class("-shown")  # no banner on top
        assert not notes  # no toast on top
        for zero in ("0 servers", "● 0", "0 B/s"):
            assert zero not in screen
        footer = screen.splitlines()[-1]
        assert "Retry" in footer and "Sort" not in footer and "Pause" not in footer
        await pilot.press("o", "v", "slash")  # keys of a grid there is none of: nothing happens
        await pilot.pause()
        assert shown(empty(app)) and not app.screen.query_one("#filter-bar").display
        await pilot.press("question_mark")  # ? still says which keys work
        await pilot.pause()
        from nezha_tui.ui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)


async def test_r_restarts_the_stream_once():
    clock = Clock()
    app, streams, notes = make_app(clock=clock)
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message="token rejected"))
        streams.last.stop()  # as FleetStream.run returns after AUTH_FAILED
        await pilot.pause()
        first = streams.last
        await pilot.pause()
        assert not first.running and not app.stream_running  # the stream gave up
        await pilot.press("r")
        await pilot.pause()
        assert len(streams.instances) == 2 and streams.last.running
        assert app.client.count("forget_auth_failure") == 1
        await pilot.press("r")  # a stream runs: no second one
        clock.offset += RETRY_PAUSE + 1
        app.retry_stream()
        await pilot.pause()
        assert len(streams.instances) == 2
        streams.last.set_status(status("connecting"))
        await pilot.pause()
        assert "connecting to http://fake.invalid…" in header(app)
        await feed(pilot, streams, fleet(3))
        assert not shown(empty(app)) and "srv-001" in _screen_lines(app)
        assert "Retry" not in _screen_lines(app).splitlines()[-1]


async def test_r_twice_in_a_row_waits_for_the_dashboards_firewall():
    clock = Clock()
    app, streams, notes = make_app(clock=clock)
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message="token rejected"))
        streams.last.stop()
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        streams.last.set_status(status("auth_failed", message="token rejected"))
        streams.last.stop()
        await pilot.pause()
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert len(streams.instances) == 2 and notes[-1][0].startswith("Wait ")
        clock.offset += RETRY_PAUSE
        await pilot.press("r")
        await pilot.pause()
        assert len(streams.instances) == 3


async def test_r_on_the_wall_starts_at_once_instead_of_the_long_wait():
    clock = Clock()
    app, streams, _ = make_app(clock=clock, wall=15.0)
    async with app.run_test(size=NARROW) as pilot:
        streams.last.set_status(status("auth_failed", message="token rejected"))
        streams.last.stop()  # the wall's loop now sleeps (wall_retry) before the next try
        await pilot.pause()
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert len(streams.instances) == 2 and streams.last.running


async def test_auth_failure_after_frames_keeps_the_data_with_a_banner_and_one_toast():
    async with fleet_screen(fleet(3)) as (app, pilot, streams, notes):
        streams.last.set_status(status("auth_failed", message="token rejected"))
        await pilot.pause()
        assert not shown(empty(app)) and "srv-001" in _screen_lines(app)
        assert app.screen.query_one("#stale").has_class("-shown")
        assert [n for n, _ in notes] == ["Authentication failed: token rejected (r retries)"]
        assert "Retry" in _screen_lines(app).splitlines()[-1]


# --------------------------------------------------------------------------- refused login (the demo)


def panel(app) -> str:
    return " ".join(str(empty(app).render()).split())


def refused(app: NezhaApp) -> bool:
    return app.stream_status is not None and app.stream_status.state is StreamState.AUTH_FAILED


@pytest.mark.parametrize("who, words", [
    ("guest", "requires a login"),
    ("password", "wrong user name or password"),
    ("expired", "the access token has expired"),
])
async def test_the_demo_refusing_credentials_shows_the_panel(who, words):
    async with DemoServer(DemoOptions(seed=3, frame_interval=0.05, force_auth=True)) as demo:
        credentials = {"guest": Credentials(), "password": Credentials(demo.username, "wrong"),
                       "expired": Credentials(token=demo.tokens["expired"])}[who]
        app = NezhaApp(NezhaClient(demo.url, credentials), start_timers=False)
        notes: list[str] = []
        original = app.notify
        app.notify = lambda message, **kw: (notes.append(str(message)), original(message, **kw))[1]  # type: ignore
        async with app.run_test(size=NARROW) as pilot:
            await until(pilot, lambda: refused(app))
            await pilot.pause()
            await pilot.pause()
            screen = _screen_lines(app)
            assert words in panel(app) and shown(empty(app))
            assert "r retry   q quit" in screen and "0 servers" not in screen
            assert len(notes) <= 1, notes


async def test_the_demo_retry_succeeds_after_the_dashboard_is_fixed_and_q_quits():
    clock = Clock()
    async with DemoServer(DemoOptions(seed=3, frame_interval=0.05, force_auth=True)) as demo:
        app = NezhaApp(NezhaClient(demo.url), start_timers=False, clock=clock)
        async with app.run_test(size=NARROW) as pilot:
            await until(pilot, lambda: refused(app))
            await until(pilot, lambda: not app.stream_running)
            await pilot.press("r")  # still refused
            await until(pilot, lambda: not app.stream_running and refused(app))
            assert "requires a login" in panel(app)
            demo.faults.force_auth = False  # the Dashboard's admin lets guests in
            clock.offset += RETRY_PAUSE
            await pilot.press("r")
            await until(pilot, lambda: app.store.frames > 0)
            await pilot.pause()
            assert not shown(empty(app)) and app.store.servers
            assert app.stream_running
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)


# --------------------------------------------------------------------------- the stale banner


@pytest.mark.parametrize("size", SIZES)
async def test_the_stale_banner_wraps_a_long_cause_instead_of_cutting_it(size):
    cause = ("blocked by the Dashboard's firewall: you were blocked by nezha WAF after too many failed "
             "logins or bad tokens, wait, then check the credentials")
    async with fleet_screen(fleet(3), size=size) as (app, pilot, streams, _):
        streams.last.set_status(status("reconnecting", attempt=3, message=f"{cause}; retrying in 30 s"))
        await pilot.pause()
        await pilot.pause()
        banner = app.screen.query_one("#stale")
        assert banner.has_class("-shown") and 2 <= banner.region.height <= 3
        shown_text = " ".join(line.text.strip() for line in screen_lines_of(app, banner))
        assert "wait, then check the credentials" in shown_text
        assert "srv-001" in _screen_lines(app)  # the data stays under it
        streams.last.set_status(status("live"))
        await pilot.pause()
        assert not banner.has_class("-shown")


def screen_lines_of(app, widget) -> list:
    lines = app.screen._compositor.render_strips()
    region = widget.region
    return [line.crop(region.x, region.right) for line in lines[region.y:region.bottom]]
