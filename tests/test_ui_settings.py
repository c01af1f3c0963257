"""Settings that stay, in the running app: restored at start, recorded when the user changes them,
saved to the config file (only when a file was given), a user keymap."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from nezha_tui.api.errors import NetworkError
from nezha_tui.settings import (
    DEMO_SCOPE,
    LoadedSettings,
    SettingsError,
    SettingsFile,
    SettingsStore,
    UiSettings,
    profile_scope,
)
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.screens.fleet import FleetScreen
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.fleet_table import FleetTable
from tests.test_ui_hostile import screen_text
from tests.ui_fakes import FakeClient, fleet, groups, stream_factory

SIZE = (120, 36)
EU = groups((1, "eu", [1, 2]), (2, "us", [3]))


def make_app(settings: SettingsStore | None = None, *, group_list=EU, **kw: Any):
    streams = stream_factory()
    app = NezhaApp(FakeClient(group_list=group_list), stream_factory=streams, start_timers=False,
                   settings=settings, **kw)
    notes: list[tuple[str, str]] = []
    original = app.notify

    def notify(message, **kwargs):
        notes.append((str(message), str(kwargs.get("severity", "information"))))
        return original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return app, streams, notes


async def settle(pilot, app: NezhaApp) -> None:
    await pilot.pause()
    workers = [w for w in app.workers if w.group != "stream"]
    if workers:
        await app.workers.wait_for_complete(workers)
    await pilot.pause()


def fleet_screen(app: NezhaApp) -> FleetScreen:
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    return screen


def stored(ui: UiSettings, keymap: dict[str, str] | None = None) -> SettingsStore:
    return SettingsStore(LoadedSettings(ui, keymap or {}))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[profiles.home]\nurl = "https://a"  # home\n')
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- restore


async def test_saved_settings_are_restored_at_start():
    saved = UiSettings(theme="nord", bell=True, view="cards", sort="cpu", reverse=True, offline_first=True)
    app, streams, notes = make_app(stored(saved))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4, offline=[2]))
        await settle(pilot, app)
        screen = fleet_screen(app)
        assert app.theme == "nord" and app.bells
        assert screen.grid is screen.cards and not screen.table.display
        assert app.screen.focused is screen.cards
        view = screen.view
        assert view is not None and (view.sort_key.id, view.reverse, view.offline_first) == ("cpu", True, True)
        assert view.ids[0] == 2  # the offline server first
    assert notes == []


async def test_the_group_is_restored_once_the_groups_and_servers_arrive():
    app, streams, notes = make_app(stored(UiSettings(group="eu")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)  # the groups came; no server yet: nothing to show of "eu"
        view = fleet_screen(app).view
        assert view is not None and view.group_id is None
        streams.last.push(fleet(4))
        await settle(pilot, app)
        assert view.group_id == 1 and view.ids == [1, 2]
        assert "[eu]" in screen_text(app)
    assert notes == []


async def test_a_group_that_is_gone_and_an_unknown_theme_fall_back_quietly():
    app, streams, notes = make_app(stored(UiSettings(group="asia", theme="no-such-theme")))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        screen = fleet_screen(app)
        assert screen.view is not None and screen.view.group_id is None and len(screen.view.ids) == 4
        assert app.theme == "textual-dark"
        # given up: a later group list holding the name does not jump there behind the user's back
        assert screen._group_to_restore is None
    assert notes == []


async def test_the_command_line_theme_beats_the_saved_one_and_is_not_saved(config):
    store = SettingsStore.from_file(SettingsFile(config, profile_scope("home")))
    store.remember(theme="nord")
    store.flush()
    before = config.read_bytes()
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))),
                               theme="dracula")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.theme == "dracula"
    assert config.read_bytes() == before


async def test_starting_and_quitting_writes_nothing(config):
    config.write_text(config.read_text() + '\n[profiles.home.ui]\nview = "cards"\ngroup = "eu"\nsort = "mem"\n')
    before = config.read_bytes()
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("slash", "x", "enter", "escape")  # a filter is not a setting
        await pilot.pause()
    assert config.read_bytes() == before


async def test_a_user_choice_before_the_groups_arrive_does_not_drop_the_saved_group(config):
    config.write_text(config.read_text() + '\n[profiles.home.ui]\ngroup = "eu"\n')
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))  # servers, but the groups have not come yet
        await pilot.pause()
        await pilot.press("o")  # a sort before the groups: the saved group is still to come
        await pilot.pause()
    ui = tomllib.loads(config.read_text())["profiles"]["home"]["ui"]
    assert ui == {"group": "eu", "sort": "name"}


# --------------------------------------------------------------------------- record and save


async def test_every_change_is_saved_to_the_profile(config):
    app, streams, notes = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("v", "o", "o", "O", "right_square_bracket", "F", "b")
        await pilot.pause()
        app.theme = "gruvbox"  # as the palette's theme switcher does
        await pilot.pause()
    data = tomllib.loads(config.read_text())
    assert data["ui"] == {"theme": "gruvbox", "bell": True}
    assert data["profiles"]["home"] == {
        "url": "https://a",
        "ui": {"view": "cards", "sort": "cpu", "reverse": True, "group": "eu", "offline_first": True},
    }
    assert config.read_text().startswith('# mine\n[profiles.home]\nurl = "https://a"  # home\n')
    assert not [n for n in notes if n[1] != "information"]


async def test_changes_are_saved_a_moment_later_once(config, monkeypatch):
    import nezha_tui.ui.app as app_module

    monkeypatch.setattr(app_module, "SETTINGS_SAVE_DELAY", 3600.0)
    file = SettingsFile(config, DEMO_SCOPE)
    saves: list[dict] = []
    original = file.save

    def save(changes):
        saves.append(dict(changes))
        original(changes)

    file.save = save  # type: ignore[method-assign]
    app, streams, _ = make_app(SettingsStore.from_file(file))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("o", "o", "o")
        await pilot.pause()
        assert saves == [] and app._settings_timer is not None  # due later, once for the three
        app._settings_timer.stop()
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        app._save_settings()  # what the timer calls
        assert saves == [{"sort": "disk"}]
        await pilot.press("O")
        await pilot.pause()
    assert saves == [{"sort": "disk"}, {"reverse": True}]  # what was left, at exit
    assert tomllib.loads(config.read_text())["demo"]["ui"] == {"sort": "disk", "reverse": True}


async def test_the_wall_does_not_save_its_own_view(config):
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, DEMO_SCOPE)), wall=15)
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("v", "F")
        await pilot.pause()
    assert "demo" not in tomllib.loads(config.read_text())


async def test_a_save_that_fails_is_one_note_and_no_crash(config):
    class ReadOnly(SettingsFile):
        def save(self, changes):
            raise SettingsError(f"cannot write config {self.path}: Read-only file system")

    app, streams, notes = make_app(SettingsStore.from_file(ReadOnly(config, DEMO_SCOPE)))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("v")
        app._save_settings()
        await pilot.press("v", "v")
        app._save_settings()
        await pilot.pause()
        failures = [n for n in notes if "Settings not saved" in n[0]]
        assert len(failures) == 1 and "Read-only file system" in failures[0][0] and failures[0][1] == "warning"
    assert app.return_code in (None, 0)


async def test_without_a_settings_file_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    app, streams, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("v", "o", "b")
        app.theme = "nord"
        await pilot.pause()
        assert app.ui_settings.view == "cards" and app.ui_settings.theme == "nord"
    assert os.listdir(tmp_path) == []


async def test_a_broken_config_is_one_note_and_never_rewritten(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[ui]\nview = "cards\n')
    app, streams, notes = make_app(SettingsStore.from_file(SettingsFile(path, DEMO_SCOPE)))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        await pilot.press("v", "o")
        app._save_settings()
        await pilot.pause()
    assert path.read_text() == '[ui]\nview = "cards\n'
    warnings = [n for n in notes if n[1] == "warning"]
    assert len(warnings) == 1 and "not valid TOML" in warnings[0][0] and "not saved" in warnings[0][0]


# --------------------------------------------------------------------------- keymap


async def test_a_remapped_key_works_and_help_shows_it():
    app, streams, notes = make_app(stored(UiSettings(), {"nezha.sort_next": "z", "nezha.view": "ctrl+t"}))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        screen = fleet_screen(app)
        await pilot.press("o")  # no longer bound
        await pilot.pause()
        assert screen.view is not None and screen.view.sort_key.id == "default"
        await pilot.press("z")
        await pilot.pause()
        assert screen.view.sort_key.id == "name"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(screen.grid, FleetCards)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        sort_line = next(line for line in text.splitlines() if "Next sort key" in line)
        assert " z " in sort_line and " o " not in sort_line
        view_line = next(line for line in text.splitlines() if "Switch between the table and cards" in line)
        assert "^t" in view_line or "ctrl+t" in view_line
    assert [n for n in notes if n[1] != "information"] == []


async def test_unknown_ids_and_bad_keys_are_one_note(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nnezha.sort_nxt = "x"\nnezha.view = "ctrl+"\n"nezha.sort_reverse" = "R"\n')
    app, streams, notes = make_app(SettingsStore.from_file(SettingsFile(path, DEMO_SCOPE)))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        warnings = [n for n in notes if n[1] == "warning"]
        assert len(warnings) == 1
        assert "keymap 'nezha.view'" in warnings[0][0] and "1 more" in warnings[0][0]
        screen = fleet_screen(app)
        await pilot.press("R")  # the good entry still applies
        await pilot.pause()
        assert screen.view is not None and screen.view.reverse
        await pilot.press("v")  # the bad one left the default key
        await pilot.pause()
        assert not isinstance(screen.grid, FleetTable)


def test_every_binding_the_keymap_may_name_is_known():
    from nezha_tui.ui.commands import COMMANDS
    from nezha_tui.ui.keymap import binding_ids, unknown_ids

    ids = binding_ids()
    assert {f"nezha.{c.id}" for c in COMMANDS} <= ids
    assert unknown_ids(["nezha.sort_next", "nezha.nope"]) == ["nezha.nope"]


def test_readme_names_every_binding_id():
    from nezha_tui.ui.keymap import binding_ids

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "Binding ids: the table under [Keys](#keys)" in readme
    missing = [i for i in sorted(binding_ids()) if f"`{i}`" not in readme]
    assert missing == []


async def test_a_key_taken_from_another_binding_is_one_note():
    app, streams, notes = make_app(stored(UiSettings(), {"nezha.sort_next": "s"}))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        warnings = [n for n in notes if n[1] == "warning"]
        assert warnings == [("keymap: nezha.sort_next takes 's' from nezha.services", "warning")]
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen) and app.screen.view.sort_key.id == "name"


def test_clashes_are_found_on_the_same_screen_and_with_the_app_only():
    from nezha_tui.ui.keymap import clashes

    assert clashes({"nezha.sort_next": "q"}) == ["keymap: nezha.sort_next takes 'q' from nezha.quit_grid",
                                                 "keymap: nezha.sort_next takes 'q' from nezha.quit"]
    assert clashes({"nezha.sort_next": "s", "nezha.services": "S"}) == []  # moved out of the way
    assert clashes({"nezha.sort_next": "z"}) == []


async def test_the_column_set_is_kept_for_the_column_chooser(config):
    config.write_text(config.read_text() + '\n[profiles.home.ui]\ncolumns = ["name", "cpu"]\n')
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.ui_settings.columns == ("name", "cpu")
        app.remember(columns=("name", "mem", "net_in"))
        await pilot.pause()
    assert tomllib.loads(config.read_text())["profiles"]["home"]["ui"]["columns"] == ["name", "mem", "net_in"]
    app.remember(columns=None)  # automatic again: the key goes
    app._save_settings()
    assert "columns" not in tomllib.loads(config.read_text())["profiles"]["home"]["ui"]


async def test_the_column_chooser_restores_and_saves_the_column_set(config):
    config.write_text(config.read_text() + '\n[profiles.home.ui]\ncolumns = ["name", "cpu"]\n')
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))))
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        table = fleet_screen(app).table
        chosen = table.chosen_columns
        assert chosen is not None and "cpu" in chosen and "mem" not in chosen  # restored at start
        assert "MEM" not in screen_text(app)
        await pilot.press("c", "a", "enter")  # the chooser: mark all, apply
        await pilot.pause()
        assert table.chosen_columns is None and "MEM" in screen_text(app)
        app._save_settings()
        assert "columns" not in tomllib.loads(config.read_text())["profiles"]["home"]["ui"]
        await pilot.press("c", "j", "space", "enter")  # hide the second column (country)
        await pilot.pause()
        app._save_settings()
        assert table.chosen_columns is not None and "country" not in table.chosen_columns
    saved = tomllib.loads(config.read_text())["profiles"]["home"]["ui"]["columns"]
    assert tuple(saved) == table.chosen_columns and "country" not in saved and "mem" in saved


# --------------------------------------------------------------------------- a restore that cannot happen ends


async def _restore_ends(app, streams, config) -> None:
    async with app.run_test(size=SIZE) as pilot:
        streams.last.push(fleet(4))
        await settle(pilot, app)
        screen = fleet_screen(app)
        view = screen.view
        assert view is not None and view.group_id is None and len(view.ids) == 4
        assert screen._group_to_restore is None  # given up: no groups answer will bring "eu"
        asked: list[int] = []
        original = view.group_choices
        view.group_choices = lambda: asked.append(1) or original()  # type: ignore[method-assign]
        streams.last.push(fleet(4, offline=[1, 2]))  # a reordering frame: no group lookup on it
        await settle(pilot, app)
        assert asked == []
        await pilot.press("o")  # the user's choice is saved, the group with it (all servers now)
        await settle(pilot, app)
    ui = tomllib.loads(config.read_text())["profiles"]["home"]["ui"]
    assert ui == {"sort": "name"}


async def test_a_saved_group_on_a_dashboard_without_groups_is_given_up(config):
    config.write_text(config.read_text() + '\n[profiles.home.ui]\ngroup = "eu"\n')
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))), group_list=[])
    await _restore_ends(app, streams, config)


async def test_a_saved_group_is_given_up_when_the_groups_request_fails(config):
    config.write_text(config.read_text() + '\n[profiles.home.ui]\ngroup = "eu"\n')
    app, streams, _ = make_app(SettingsStore.from_file(SettingsFile(config, profile_scope("home"))))
    app.client.errors["server_groups"] = NetworkError("connection refused")
    await _restore_ends(app, streams, config)
