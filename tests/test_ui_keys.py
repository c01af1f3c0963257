"""The keys every screen shares (issue 10, "Keys and help"), walked over every screen of the real app:
``?`` lists that screen's keys, ``ctrl+p`` its actions, ``esc`` and ``q`` go back (``q`` on the grid
quits), ``j`` ``k`` ``g`` ``G`` ``home`` ``end`` ``pgup`` ``pgdn`` move in its list, ``tab`` moves between
its panes.  Plus the sort menu, the capital sort keys and ``enter`` on rows that name a server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, OptionList

from nezha_tui.fleet_view import SORT_KEYS
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.commands import COMMANDS, SCOPES, SORT_LETTERS, bindings_for
from nezha_tui.ui.screens.base import NezhaModalScreen, NezhaScreen
from nezha_tui.ui.screens.fleet import FleetScreen
from nezha_tui.ui.screens.help import HelpScreen, help_rows
from nezha_tui.ui.screens.server_detail import ServerDetailScreen
from nezha_tui.ui.screens.service_history import ServiceHistoryScreen
from nezha_tui.ui.screens.services import ServicesScreen
from nezha_tui.ui.screens.sort_menu import SortMenu
from nezha_tui.ui.widgets.fleet_table import FleetTable
from tests import ui_fakes as uf
from tests.test_ui_detail import metric_answer, services_answer
from tests.test_ui_services import history, overview

SIZE = (100, 30)


def make_app() -> NezhaApp:
    client = uf.FakeClient(server_metrics=metric_answer, server_services=services_answer,
                           services=overview(), service_history=lambda sid, period: history(period))
    return NezhaApp(client, stream_factory=uf.stream_factory(), start_timers=False)


async def settle(pilot: Any, app: NezhaApp) -> None:
    await pilot.pause()
    fetches = [w for w in app.workers if w.node is not app]  # the stream runs on
    if fetches:  # (an empty list would wait for every worker)
        await app.workers.wait_for_complete(fetches)
    await pilot.pause()


async def press(pilot: Any, app: NezhaApp, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot, app)


@asynccontextmanager
async def running(servers: int = 40):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.stream_factory is not None
        app.stream.push(uf.fleet(servers))
        await settle(pilot, app)
        yield app, pilot


# --------------------------------------------------------------------------- the screens


@dataclass(frozen=True)
class Spec:
    name: str
    kind: type
    open: Callable[[Any, NezhaApp], Awaitable[None]]
    """From the fleet, to this screen."""
    list: Callable[[Any], Widget]
    """The list or table the movement keys act on (focused by ``focus_list``)."""
    position: Callable[[Widget], float]
    panes: int
    """Widgets tab cycles through (at least)."""
    focus_list: str = ""
    """Keys that focus the list first."""


async def _nothing(pilot: Any, app: NezhaApp) -> None:
    return None


async def _detail(pilot: Any, app: NezhaApp) -> None:
    await press(pilot, app, "down", "down", "enter")


async def _services(pilot: Any, app: NezhaApp) -> None:
    await press(pilot, app, "s")


async def _service_history(pilot: Any, app: NezhaApp) -> None:
    await press(pilot, app, "s")
    await press(pilot, app, "enter")


async def _help(pilot: Any, app: NezhaApp) -> None:
    await press(pilot, app, "question_mark")


def _row(table: Any) -> float:
    return float(table.cursor_row)


SPECS = [
    Spec("fleet", FleetScreen, _nothing, lambda s: s.query_one(FleetTable), lambda w: float(w.cursor), 1),
    Spec("detail", ServerDetailScreen, _detail, lambda s: s.query_one("#metrics", OptionList),
         lambda w: float(w.highlighted or 0), 3, focus_list="h"),
    Spec("services", ServicesScreen, _services, lambda s: s.query_one("#services", DataTable), _row, 2),
    Spec("service_history", ServiceHistoryScreen, _service_history,
         lambda s: s.query_one("#per-server", DataTable), _row, 1),
    Spec("help", HelpScreen, _help, lambda s: s.query_one(VerticalScroll), lambda w: float(w.scroll_y), 1),
]
IDS = [s.name for s in SPECS]


def _scope(screen: Any) -> str:
    return type(screen).SCOPE


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_question_mark_lists_this_screens_own_keys(spec: Spec) -> None:
    async with running() as (app, pilot):
        await spec.open(pilot, app)
        screen = app.screen
        assert isinstance(screen, spec.kind)
        await press(pilot, app, "question_mark")
        if spec.kind is HelpScreen:
            assert isinstance(app.screen, FleetScreen)  # ? again closes the help
            return
        assert isinstance(app.screen, HelpScreen)
        texts = {text for _, text in help_rows(app, app.screen.help_bindings)}
        own = [c for c in COMMANDS if c.scope in (spec.name, "screen")]
        assert own
        for command in own:
            if spec.name == "fleet" and command.id == "back":
                continue  # esc and q are the grid's own: clear the filter, quit
            if command.id == "retry":
                continue  # only live once the stream gave up (test_ui_empty_states)
            assert command.help in texts, command.id
        others = [c for c in COMMANDS if c.scope not in (spec.name, "screen", "list", "app")]
        assert not any(c.help in texts for c in others if c.help not in {o.help for o in own})
        await press(pilot, app, "escape")
        assert app.screen is screen


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_palette_lists_this_screens_commands_with_keys(spec: Spec) -> None:
    async with running() as (app, pilot):
        await spec.open(pilot, app)
        screen = app.screen
        titles = [c.title for c in app.get_system_commands(screen)]
        for command in COMMANDS:
            if command.scope == _scope(screen) and command.palette and command.id != "retry":  # (only once the stream gave up)
                assert any(t.startswith(command.title + "  (") for t in titles), command.id
        assert "Help  (?)" in titles
        if spec.name != "fleet":
            assert any(t.startswith("Back  (esc") for t in titles)
        ours = {c.title for c in COMMANDS}
        mine = {c.title for c in COMMANDS if c.scope in (_scope(screen), "screen")}
        for title in titles:  # no other screen's command (Textual's own have no key: Theme, Quit)
            name, _, key = title.partition("  (")
            assert not key or (name in ours and name in mine), title
        await press(pilot, app, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await press(pilot, app, "escape")
        assert app.screen is screen


@pytest.mark.parametrize("key", ["escape", "q"])
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_escape_and_q_go_back_q_on_the_grid_quits(spec: Spec, key: str) -> None:
    async with running() as (app, pilot):
        await spec.open(pilot, app)
        depth = len(app.screen_stack)
        await press(pilot, app, key)
        if spec.name == "fleet":
            if key == "q":
                assert not app.is_running and app.return_code == 0
            else:
                assert app.is_running and isinstance(app.screen, FleetScreen)
            return
        assert app.is_running
        assert len(app.screen_stack) == depth - 1


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_movement_keys_move_the_cursor_in_the_list(spec: Spec) -> None:
    async with running() as (app, pilot):
        await spec.open(pilot, app)
        if spec.focus_list:
            await press(pilot, app, spec.focus_list)
        widget = spec.list(app.screen)
        assert app.screen.focused is widget
        pos = lambda: spec.position(widget)  # noqa: E731
        start = pos()
        await press(pilot, app, "j")
        assert pos() == start + 1
        await press(pilot, app, "k")
        assert pos() == start
        await press(pilot, app, "G")
        last = pos()
        assert last > start
        await press(pilot, app, "g")
        assert pos() == 0
        await press(pilot, app, "end")
        assert pos() == last
        await press(pilot, app, "home")
        assert pos() == 0
        await press(pilot, app, "pagedown")
        assert pos() > 0
        await press(pilot, app, "pageup")
        assert pos() == 0


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_tab_moves_between_panes(spec: Spec) -> None:
    async with running() as (app, pilot):
        await spec.open(pilot, app)
        screen = app.screen
        chain = screen.focus_chain
        assert len(chain) >= spec.panes
        first = screen.focused
        assert first is not None
        seen = [first]
        for _ in range(len(chain)):
            await press(pilot, app, "tab")
            seen.append(screen.focused)
        assert seen[-1] is first  # round the panes and back
        assert len({id(w) for w in seen}) == len(chain) >= spec.panes
        await press(pilot, app, "shift+tab")
        assert screen.focused is seen[-2]


async def test_tab_moves_between_the_grid_and_the_filter() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "slash", *"srv", "enter")
        screen = app.screen
        assert isinstance(screen.focused, FleetTable)
        await press(pilot, app, "tab")
        assert screen.focused is screen.query_one("#filter")
        await press(pilot, app, "shift+tab")
        assert isinstance(screen.focused, FleetTable)


async def test_movement_keys_type_into_the_filter() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "slash", *"jkgG")
        assert app.screen.query_one("#filter").value == "jkgG"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- binding ids


def test_every_binding_has_a_nezha_id_unique_in_its_screen() -> None:
    screens = [FleetScreen, ServerDetailScreen, ServicesScreen, ServiceHistoryScreen, HelpScreen, SortMenu]
    for kind in screens:
        assert issubclass(kind, (NezhaScreen, NezhaModalScreen))
        ids: dict[str, str] = {}
        ours = [c for c in kind.__mro__ if c.__module__.startswith("nezha_tui.") and "BINDINGS" in c.__dict__]
        assert ours
        for binding in (b for c in ours for b in c.__dict__["BINDINGS"]):
            assert binding.id and binding.id.startswith("nezha."), (kind.__name__, binding)
            assert ids.setdefault(binding.id, binding.action) == binding.action, (kind.__name__, binding.id)
    for scope in SCOPES:
        names = [b.id for b in bindings_for(scope)]
        assert len(names) == len(set(names)), scope


# --------------------------------------------------------------------------- sort


def _sort(app: NezhaApp) -> tuple[str, bool]:
    view = app.screen.view  # type: ignore[attr-defined]
    return view.sort_key.id, view.reverse


async def test_capital_letters_sort_directly_and_again_reverse() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "A")  # the current key (the Dashboard's order): reverse
        assert _sort(app) == ("default", True)
        for letter, key in SORT_LETTERS[1:]:
            await press(pilot, app, letter.upper())
            assert _sort(app) == (key, False), letter
        await press(pilot, app, "C")
        assert _sort(app) == ("cpu", False)
        await press(pilot, app, "C")
        assert _sort(app) == ("cpu", True)
        await press(pilot, app, "M")
        assert _sort(app) == ("mem", False)
        ids = app.screen.view.ids  # type: ignore[attr-defined]
        assert ids  # the order is the view's (its own tests check the order itself)


async def test_sort_menu_marks_the_current_key_and_picks_by_letter_or_enter() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "C")
        await press(pilot, app, "f6")
        menu = app.screen
        assert isinstance(menu, SortMenu)
        options = menu.query_one(OptionList)
        assert options.highlighted == [k.id for k in SORT_KEYS].index("cpu")
        lines = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert [line for line in lines if "now" in line] == ["c  CPU  ◀ now"]
        assert all(line[:1] == letter for line, (letter, _) in zip(lines, SORT_LETTERS))
        await press(pilot, app, "d")  # a letter picks
        assert isinstance(app.screen, FleetScreen) and _sort(app) == ("disk", False)
        await press(pilot, app, "less_than_sign")
        await press(pilot, app, "enter")  # enter on the current key: reverse
        assert _sort(app) == ("disk", True)
        await press(pilot, app, "less_than_sign", "j", "enter")
        assert _sort(app) == ("net_in", False)
        await press(pilot, app, "f6")
        assert "reversed" not in str(app.screen.query_one(OptionList).get_option_at_index(5).prompt)
        await press(pilot, app, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        texts = {text for _, text in help_rows(app, app.screen.help_bindings)}
        assert "Sort by CPU (the current key: reverse)" in texts
        await press(pilot, app, "escape", "escape")
        assert isinstance(app.screen, FleetScreen) and _sort(app) == ("net_in", False)


async def test_fleet_help_names_the_sort_keys() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "question_mark")
        rows = dict(help_rows(app, app.screen.help_bindings))  # type: ignore[attr-defined]
        assert rows["C"] == "Sort by CPU (again: reverse)"
        assert rows["F6 <"].startswith("Choose the sort key from a menu")
        assert rows["O"] == "Reverse the sort order" and rows["F"] == "Put offline servers first in every sort"


# --------------------------------------------------------------------------- enter on rows that name a server


async def test_enter_on_a_quota_row_opens_its_server() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "s")
        await press(pilot, app, "tab")
        quotas = app.screen.query_one("#quotas", DataTable)
        assert app.screen.focused is quotas
        await press(pilot, app, "j", "enter")  # rows: (rule 1, server 3), (rule 1, server 4)
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.server_id == 4
        await press(pilot, app, "q")
        assert isinstance(app.screen, ServicesScreen)


async def test_enter_on_a_service_history_row_opens_its_server() -> None:
    async with running() as (app, pilot):
        await press(pilot, app, "s")
        await press(pilot, app, "enter")
        assert isinstance(app.screen, ServiceHistoryScreen)
        await press(pilot, app, "enter")  # rows by name: paris (4), tokyo (3)
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.server_id == 4
        await press(pilot, app, "escape")
        await press(pilot, app, "j", "enter")
        assert isinstance(app.screen, ServerDetailScreen) and app.screen.server_id == 3
        await press(pilot, app, "q", "q", "q")
        assert isinstance(app.screen, FleetScreen) and app.is_running


async def test_a_keymap_moves_a_binding_by_its_id() -> None:
    async with running() as (app, pilot):
        app.set_keymap({"nezha.sort_cpu": "P", "nezha.back": "backspace"})
        await press(pilot, app, "P")
        assert _sort(app) == ("cpu", False)
        await press(pilot, app, "s")
        assert any(t.startswith("Back  (⌫)") for t in
                   (c.title for c in app.get_system_commands(app.screen)))
        await press(pilot, app, "backspace")
        assert isinstance(app.screen, FleetScreen)


def test_readme_keys_agree_with_the_command_table() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    keys = readme[readme.index("## Keys"):readme.index("## Wall-screen mode")]
    for command in COMMANDS:
        if command.scope != "sort_menu":
            assert f"`nezha.{command.id}`" in keys, command.id
    capitals = " ".join(f"`{letter.upper()}`" for letter, _ in SORT_LETTERS)
    assert f"| {capitals} |" in keys
    for shown in ("`F6` or `<`", "`o` / `O`", "`f` / `F`", "`esc` `q` | back", "`tab` / `shift+tab`",
                  "`g` `G` `home` `end`", "on a traffic quota: its server", "the selected row's server"):
        assert shown in keys, shown


async def test_the_country_header_keeps_its_title_with_the_sort_arrow() -> None:
    async with running() as (app, pilot):
        table = app.screen.query_one(FleetTable)
        await press(pilot, app, "Y")
        header = table.render_line(0).text
        assert "▲CC NAME" in header and "C…" not in header
        await press(pilot, app, "Y")
        assert "▼CC NAME" in table.render_line(0).text
        await press(pilot, app, "C")
        assert " CC NAME" in table.render_line(0).text and "CPU▼" in table.render_line(0).text
