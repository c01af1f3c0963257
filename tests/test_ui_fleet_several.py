"""The fleet screen over several Dashboards (issue 12): the Dashboard column and card label, a
Dashboard that is not live marked row by row (the others stay live), one banner line per
Dashboard not live, the header's per-Dashboard parts, the Dashboards as groups, the wall."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from textual.geometry import Region

from nezha_tui.fleets import DashboardTarget, server_key
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.screens.column_chooser import ColumnChooser, ColumnList
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.fleet_table import CHOOSABLE_SEVERAL, STALE_MARK, FleetTable, layout_columns
from nezha_tui.ui.widgets.summary import FleetSummary, StaleBanner, banner_lines, short_speed
from tests.test_ui_fleet import NARROW, UNPINNED, WIDE, header, table_lines
from tests.ui_fakes import T0, FakeClient, frame, groups, server_json, status, stream_factory

HOME, WORK = 0, 1


class Clock:
    """The app's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_several(names: tuple[str, ...] = ("home", "work"), *, group_lists: dict[int, Any] | None = None,
                 **kw: Any) -> tuple[NezhaApp, Any, list[FakeClient], Clock, list[tuple[str, dict]]]:
    kw.setdefault("alerts", UNPINNED)
    streams = stream_factory()
    lists = group_lists or {}
    clients = [FakeClient(site_name=f"{name} site", group_list=lists.get(i)) for i, name in enumerate(names)]
    clock = Clock()
    app = NezhaApp([DashboardTarget(name, client) for name, client in zip(names, clients)],
                   stream_factory=streams, start_timers=False, clock=clock, **kw)
    notes: list[tuple[str, dict]] = []
    original = app.notify

    def notify(message, **kwargs):
        notes.append((str(message), kwargs))
        return original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return app, streams, clients, clock, notes


def stream_of(streams: Any, client: FakeClient) -> Any:
    return next(s for s in reversed(streams.instances) if s.client is client)  # the latest (a retry makes one)


class Several:
    """The running app with its Dashboards' streams by index."""

    def __init__(self, app: NezhaApp, pilot: Any, streams: Any, clients: list[FakeClient], clock: Clock,
                 notes: list[tuple[str, dict]]) -> None:
        self.app, self.pilot, self.streams, self.clients, self.clock, self.notes = (
            app, pilot, streams, clients, clock, notes)

    def stream(self, index: int) -> Any:
        return stream_of(self.streams, self.clients[index])

    async def feed(self, index: int, f: Any) -> None:
        self.stream(index).push(f)
        await self.pilot.pause()

    async def status(self, index: int, st: Any) -> None:
        self.stream(index).set_status(st)
        await self.pilot.pause()


def home_frame(now: float = T0, **kw: Any) -> Any:
    return frame([server_json(1, "alpha", now=now, cpu=11.0, **kw), server_json(2, "bravo", now=now, cpu=22.0)],
                 now=now)


def work_frame(now: float = T0, **kw: Any) -> Any:
    # server id 1 again: ids are unique per Dashboard only
    return frame([server_json(1, "alpha", now=now, cpu=33.0, net_in=300 * 1024, **kw),
                  server_json(7, "golf", now=now, cpu=44.0, age=600.0)], now=now)


@asynccontextmanager
async def several(*, size: tuple[int, int] = WIDE, fed: bool = True, live: bool = True, **kw: Any):
    app, streams, clients, clock, notes = make_several(**kw)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        s = Several(app, pilot, streams, clients, clock, notes)
        if live:
            for i in range(len(clients)):
                await s.status(i, status("live"))
        if fed:
            await s.feed(HOME, home_frame())
            await s.feed(WORK, work_frame())
        yield s


def rows(app: NezhaApp) -> list[str]:
    return table_lines(app)[1:1 + len(app.screen.query_one(FleetTable).view.ids)]


def dashboard_cell(app: NezhaApp, line: str) -> str:
    head = table_lines(app)[0]
    start = head.index("DASHBOARD")
    return line[start:start + 10].strip()


# ----------------------------------------------------------------------------- the table


async def test_two_dashboards_with_the_same_server_id_are_two_rows_with_their_dashboard():
    async with several() as s:
        app = s.app
        table = app.screen.query_one(FleetTable)
        assert table.view.ids == [1, 2, server_key(WORK, 1), server_key(WORK, 7)]
        head = table_lines(app)[0]
        assert head.split()[:4] == ["CC", "NAME", "DASHBOARD", "CPU"]  # early: after the name
        lines = rows(app)
        assert [line.split()[2] for line in lines] == ["alpha", "bravo", "alpha", "golf"]
        assert [dashboard_cell(app, line) for line in lines] == ["home", "home", "work", "work"]
        assert "11.0%" in lines[0] and "33.0%" in lines[2]  # each alpha its own values
        # the cursor and enter act on the fleet key: the work Dashboard's server 1
        await s.pilot.press("down", "down")
        assert table.highlighted_id == server_key(WORK, 1)
        opened: list[int] = []
        app.action_open_server = opened.append  # type: ignore[method-assign]
        await s.pilot.press("enter")
        await s.pilot.pause()
        assert opened == [server_key(WORK, 1)]


async def test_a_frame_of_one_dashboard_repaints_only_its_changed_rows():
    async with several() as s:
        table = s.app.screen.query_one(FleetTable)
        formatted: list[int] = []
        original = table._row

        def record(sid: int, *args: Any, **kwargs: Any) -> Any:
            formatted.append(sid)
            return original(sid, *args, **kwargs)

        table._row = record  # type: ignore[method-assign]
        f = work_frame(now=T0 + 2)
        f.servers[0].state.cpu = 55.5
        await s.feed(WORK, f)
        assert "55.5%" in rows(s.app)[2] and "11.0%" in rows(s.app)[0]
        assert server_key(WORK, 1) in formatted and 1 not in formatted and 2 not in formatted


async def test_one_dashboard_shows_no_dashboard_column():
    from tests.test_ui_fleet import fleet_screen

    async with fleet_screen(home_frame(), size=WIDE) as (app, pilot, streams, _):
        assert "DASHBOARD" not in table_lines(app)[0]
        assert not app.screen.query_one(StaleBanner).has_class("-shown")
        assert "Fake Fleet" in header(app)  # the site name, as before


async def test_the_dashboard_column_drops_early_when_narrow_and_can_be_hidden():
    names = [c.key for c, _ in layout_columns(80, None, several=True)]
    assert "dashboard" in names and "uptime" not in names  # before the uptime and the load
    assert "dashboard" not in [c.key for c, _ in layout_columns(70, None, several=True)]
    assert "dashboard" not in [c.key for c, _ in layout_columns(200, None, several=False)]
    async with several(size=NARROW) as s:
        app = s.app
        assert "DASHBOARD" in table_lines(app)[0]
        await s.pilot.press("c")
        await s.pilot.pause()
        chooser = app.screen
        assert isinstance(chooser, ColumnChooser)
        column_list = chooser.query_one(ColumnList)
        assert [o.id for o in column_list.options] == list(CHOOSABLE_SEVERAL)
        assert str(column_list.get_option("dashboard").prompt).startswith("[x] Dashboard")
        column_list.highlighted = column_list.get_option_index("dashboard")
        await s.pilot.press("space", "enter")
        await s.pilot.pause()
        table = app.screen.query_one(FleetTable)
        assert table.chosen_columns is not None and "dashboard" not in table.chosen_columns
        assert "DASHBOARD" not in table_lines(app)[0]
        await s.pilot.press("c")
        await s.pilot.pause()
        await s.pilot.press("a", "enter")  # every column again: automatic, the Dashboard's included
        await s.pilot.pause()
        assert table.chosen_columns is None and "DASHBOARD" in table_lines(app)[0]


async def test_a_dashboard_label_is_plain_text_cut_to_the_column():
    async with several(names=("home", "[bold]a-very-long-name[/]")) as s:
        lines = rows(s.app)
        assert dashboard_cell(s.app, lines[2]) == "[bold]a-v…"
        assert "[bold]a-very-lo… 1/2" in header(s.app)  # the header's part: plain too, cut


# ----------------------------------------------------------------------------- stale per Dashboard


async def test_a_dashboard_not_live_marks_its_rows_and_the_others_stay_live():
    async with several() as s:
        app = s.app
        screen = app.screen
        before = rows(app)
        assert all(line.lstrip()[0] in "●○" for line in before)
        await s.status(WORK, status("reconnecting", attempt=3, next_retry_at=s.clock.now + 8,
                                    message="connection refused"))
        lines = rows(app)
        marks = [line[0] for line in lines]
        assert marks == ["●", "●", STALE_MARK, STALE_MARK]
        assert lines[2][1:] == before[2][1:] and lines[3][1:] == before[3][1:]  # last known values stay
        assert app.store.is_stale(server_key(WORK, 1)) and not app.store.is_stale(1)
        # one banner line, the grid as a whole not dimmed
        banner = screen.query_one(StaleBanner)
        assert banner.has_class("-shown") and not screen.has_class("-stale")
        text = banner.render().plain
        assert text == "work: stale: last frame 0 s ago, reconnecting, attempt 3, next in 8 s (connection refused)"
        # the stale rows' cells are dimmed: the offline look, italic
        table = screen.query_one(FleetTable)
        strips = table.render_lines(Region(0, 0, table.size.width, 5))
        stale_style = table._style("fleet-table--stale")
        assert all(seg.style.italic for seg in strips[3] if seg.text.strip())
        assert not any(seg.style.italic for seg in strips[1] if seg.text.strip())
        assert stale_style.color is not None
        # live again: the marks go, the banner hides
        await s.status(WORK, status("live"))
        assert [line[0] for line in rows(app)] == ["●", "●", "●", "○"]
        assert not banner.has_class("-shown")


async def test_stale_rows_read_under_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    async with several(size=NARROW) as s:
        assert s.app.no_color
        await s.status(WORK, status("reconnecting", attempt=1))
        table = s.app.screen.query_one(FleetTable)
        table.show_cursor = False
        table.refresh()
        await s.pilot.pause()
        strips = table.render_lines(Region(0, 0, table.size.width, 5))  # through the monochrome filter
        assert [strip.text[0] for strip in strips[1:5]] == ["●", "●", STALE_MARK, STALE_MARK]
        assert all(seg.style.italic for seg in strips[3] if seg.text.strip())  # the mark and the look
        assert not any(seg.style.italic for seg in strips[1] if seg.text.strip())
        assert "work" in strips[3].text and "home" in strips[1].text


async def test_every_dashboard_not_live_dims_the_whole_grid():
    async with several() as s:
        await s.status(HOME, status("reconnecting", attempt=1))
        assert not s.app.screen.has_class("-stale")
        await s.status(WORK, status("stopped", message="server closed"))
        screen = s.app.screen
        assert screen.has_class("-stale")
        text = screen.query_one(StaleBanner).render().plain.splitlines()
        assert text[0].startswith("home: stale: last frame") and "attempt 1" in text[0]
        assert text[1].startswith("work: stopped: last frame") and text[1].endswith("(server closed) · r retries")
        assert s.app.screen.check_action("retry", ()) is True  # work gave up: r retries it


async def test_the_banner_has_three_lines_at_most():
    async with several(names=("a", "b", "c", "d", "e")) as s:
        await s.feed(0, home_frame())
        for i in range(1, 5):
            await s.status(i, status("reconnecting", attempt=i))
        lines = banner_lines(s.app.dashboards, s.clock.now)
        assert len(lines) == 3
        assert lines[0].startswith("b: ") and lines[1].startswith("c: ") and lines[2] == "+2 more: d, e"
        assert s.app.screen.query_one(StaleBanner).render().plain.splitlines() == lines


async def test_a_dashboard_refusing_the_login_gets_a_line_the_others_stay():
    async with several(live=False, fed=False) as s:
        await s.status(HOME, status("live"))
        await s.feed(HOME, home_frame())
        await s.status(WORK, status("auth_failed", message="invalid token"))
        screen = s.app.screen
        banner = screen.query_one(StaleBanner)
        assert banner.has_class("-shown") and banner.has_class("-error")
        assert banner.render().plain == "work: auth failed: no frame yet (invalid token) · r retries"
        assert not screen.has_class("-stale") and not screen.has_class("-auth")
        assert [line.split()[2] for line in rows(s.app)] == ["alpha", "bravo"]
        assert "work ◌ auth failed" in header(s.app)


# ----------------------------------------------------------------------------- header


async def test_the_header_shows_totals_over_all_and_each_dashboard():
    async with several(size=(200, 30)) as s:
        h = header(s.app)
        assert "2 Dashboards" in h and "4 servers" in h
        assert "home 2/2 ↓2.0k ↑4.0k" in h and "work 1/2 ↓300k ↑2.0k" in h
        await s.status(WORK, status("reconnecting", attempt=3))
        h = header(s.app)
        assert "work 1/2 ◌ reconnecting #3" in h and "live 1/2" in h
        assert h.index("home 2/2") < h.index("work 1/2")
        summary = s.app.screen.query_one(FleetSummary)
        wide = "".join(text for text, _ in summary.fitted(400))
        short = "".join(text for text, _ in summary.fitted(len(wide) - 5))
        assert "home 2/2 │ work 1/2 ◌ │" in short  # short of room: the banner says what work is at


async def test_the_header_drops_the_dashboards_parts_first_when_narrow():
    async with several(size=NARROW) as s:
        h = header(s.app)
        assert len(h) <= NARROW[0] - 2
        assert "live" in h and "2 Dashboards" in h and "home" not in h  # the connection and the name stay
        summary = s.app.screen.query_one(FleetSummary)

        def text(width: int) -> str:
            return "".join(text for text, _ in summary.fitted(width))

        wide = text(400)
        assert "home 2/2 ↓2.0k ↑4.0k │ work 1/2 ↓300k ↑2.0k │ Σ" in wide
        # short of room for both with speeds: both without, before anything else goes
        assert "home 2/2 │ work 1/2 │ Σ" in text(len(wide) - 5)
        forms: list[tuple[str, str]] = []  # as the width shrinks: each Dashboard's part, "" when gone
        for width in range(len(wide), 40, -1):
            t = text(width)
            form = tuple(next((f for f in (f"{name} ↓", name) if f in t), "") for name in ("home 2/2", "work 1/2"))
            if not forms or forms[-1] != form:
                forms.append(form)
        # both with speeds, both without, the last Dashboard's part gone, then the first's
        assert forms == [("home 2/2 ↓", "work 1/2 ↓"), ("home 2/2", "work 1/2"), ("home 2/2", ""), ("", "")]


def test_short_speed():
    assert [short_speed(v) for v in (0, 999, 1536, 300 * 1024, 1.2 * 1024 ** 2, float("nan"), -1)] == [
        "0B", "999B", "1.5k", "300k", "1.2M", "-", "-"]


# ----------------------------------------------------------------------------- groups, filter


async def test_the_group_keys_cycle_all_each_dashboard_then_the_groups():
    lists = {WORK: groups((5, "web", [7]))}
    async with several(group_lists=lists) as s:
        app = s.app
        app.refresh_groups()
        for _ in range(4):
            await s.pilot.pause()
        view = app.screen.query_one(FleetTable).view
        seen = []
        for _ in range(4):
            await s.pilot.press("]")
            await s.pilot.pause()
            seen.append((s.notes[-1][0], list(view.ids)))
        assert seen == [
            ("Dashboard: home", [1, 2]),
            ("Dashboard: work", [server_key(WORK, 1), server_key(WORK, 7)]),
            ("Group: work: web", [server_key(WORK, 7)]),
            ("Group: All", [1, 2, server_key(WORK, 1), server_key(WORK, 7)]),
        ]
        await s.pilot.press("]", "]")
        await s.pilot.pause()
        assert "[work]" in header(app) and "2 servers" in header(app)


async def test_the_filter_matches_a_dashboard_and_its_own_groups_only():
    lists = {WORK: groups((5, "web", [1]))}
    async with several(group_lists=lists) as s:
        app = s.app
        app.refresh_groups()
        for _ in range(4):
            await s.pilot.pause()
        view = app.screen.query_one(FleetTable).view
        view.set_query("work")
        assert view.ids == [server_key(WORK, 1), server_key(WORK, 7)]
        view.set_query("web")  # work's server 1 is in "web"; home's server 1 is not
        assert view.ids == [server_key(WORK, 1)]


# ----------------------------------------------------------------------------- cards and wall


async def test_cards_name_their_dashboard_and_mark_a_stale_one():
    async with several(size=(120, 40)) as s:
        await s.pilot.press("v")
        await s.pilot.pause()
        cards = s.app.screen.query_one(FleetCards)
        shot = [cards.render_line(y).text for y in range(cards.card_height)]
        assert shot[-1].split()[:2] == ["╰" + "─" * (cards.grid()[1] - 9), "home"]
        await s.status(WORK, status("reconnecting", attempt=2))
        _, card_w = cards.grid()
        lines = cards._card(server_key(WORK, 1), card_w, False)
        assert lines[0].text.startswith(f"╭ {STALE_MARK} alpha")
        assert "stale: last known values" in lines[1].text
        assert lines[-1].text.endswith(" work ─╯")
        home = cards._card(1, card_w, False)
        assert home[0].text.startswith("╭ ● alpha") and home[-1].text.endswith(" home ─╯")


async def test_the_wall_pages_across_every_dashboard_and_names_them():
    async with several(size=NARROW, wall=10.0) as s:
        screen = s.app.screen
        cards = screen.query_one(FleetCards)
        assert sorted(cards.view.ids) == [1, 2, server_key(WORK, 1), server_key(WORK, 7)]
        text = "\n".join(cards.render_line(y).text for y in range(cards.size.height))
        assert " home ─╯" in text and " work ─╯" in text


# ----------------------------------------------------------------------------- before any frame


async def test_before_any_frame_the_body_says_what_each_dashboard_is_at():
    async with several(live=False, fed=False) as s:
        screen = s.app.screen
        await s.status(WORK, status("reconnecting", attempt=2, message="connection refused"))
        text = str(screen.query_one("#empty").render())
        assert screen.has_class("-nodata") and not screen.query_one(StaleBanner).has_class("-shown")
        assert text.splitlines() == ["Connecting to 2 Dashboards…", "home (http://fake.invalid): connecting",
                                     "work (http://fake.invalid): connecting, attempt 2: connection refused"]
        await s.status(HOME, status("auth_failed", message="invalid token"))
        assert not screen.has_class("-auth")  # work may still answer
        await s.status(WORK, status("auth_failed", message="[b]no[/b]"))
        text = str(screen.query_one("#empty").render())
        assert screen.has_class("-auth") and screen.check_action("retry", ()) is True
        assert "home (http://fake.invalid): auth failed: invalid token" in text
        assert "work (http://fake.invalid): auth failed: [b]no[/b]" in text  # as typed, never markup
        await s.feed(HOME, home_frame())  # one answers after all: its rows
        assert not screen.has_class("-auth") and len(rows(s.app)) == 2
