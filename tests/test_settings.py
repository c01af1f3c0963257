"""UI settings in config.toml: the round trip keeps the user's bytes, writes are atomic and private,
a broken file is left alone, every profile keeps its own view."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from nezha_tui.config import load_profile
from nezha_tui.settings import (
    DEMO_SCOPE,
    NO_PROFILE_SCOPE,
    LoadedSettings,
    SettingsError,
    SettingsFile,
    SettingsStore,
    UiSettings,
    check_keys,
    profile_scope,
)

USER_FILE = """\
# nezha-tui: my Dashboards  (a comment the user wrote)
default = "home"   # the usual one

[profiles.home]
url = "https://nezha.example.com"
user = "admin"     # password from NEZHA_PASSWORD
online_window = 60
my_own_key = { colour = "teal", list = [1,2,  3] }

[profiles.home.ui]
view   = "cards"   # I like cards here
sort = "cpu"

# work is behind a VPN
[profiles.work]
url = 'https://status.example.org/nezha'
token_file = "~/.config/nezha-tui/work.token"

[ui]
theme = "nord"     # dark, please
unknown_future_setting = 42

[keymap]
"nezha.sort_next" = "s"

[something.else]
x = 1970-01-01T00:00:00Z
not_a_number = nan
"""


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write(tmp_path / "config.toml", USER_FILE)


def save(path: Path, scope, **changes) -> None:
    store = SettingsStore.from_file(SettingsFile(path, scope))
    store.remember(**changes)
    store.flush()


# --------------------------------------------------------------------------- loading


def test_loads_the_profiles_own_then_the_common_values(config):
    loaded = SettingsFile(config, profile_scope("home")).load()
    assert loaded.problems == ()
    assert loaded.ui == UiSettings(theme="nord", view="cards", sort="cpu")
    assert loaded.keymap == {"nezha.sort_next": "s"}
    # another profile: its own table is missing, so the common [ui] values (the theme) only
    assert SettingsFile(config, profile_scope("work")).load().ui == UiSettings(theme="nord")


def test_a_missing_file_is_the_defaults(tmp_path):
    loaded = SettingsFile(tmp_path / "none.toml", DEMO_SCOPE).load()
    assert loaded == LoadedSettings()


def test_a_theme_in_a_profile_table_is_not_taken_theme_is_global(tmp_path):
    path = write(tmp_path / "c.toml", '[profiles.a.ui]\ntheme = "x"\nview = "cards"\n')
    assert SettingsFile(path, profile_scope("a")).load().ui == UiSettings(view="cards")


def test_bad_values_are_ignored_with_one_line_each(tmp_path):
    path = write(tmp_path / "c.toml", '[ui]\nview = "grid"\nbell = "yes"\nreverse = true\ntheme = 3\n'
                                      'columns = "name"\n[keymap]\nnezha.view = 5\n"nezha.sort_next" = "s"\n')
    loaded = SettingsFile(path).load()
    assert loaded.ui == UiSettings(reverse=True)
    assert loaded.keymap == {"nezha.sort_next": "s"}
    assert len(loaded.problems) == 5
    assert any("ui.view must be 'table' or 'cards'" in p for p in loaded.problems)
    assert any("keymap 'nezha.view'" in p for p in loaded.problems)
    assert all("\n" not in p for p in loaded.problems)


def test_an_unknown_sort_id_falls_back_quietly(tmp_path):
    path = write(tmp_path / "c.toml", '[ui]\nsort = "colour"\n')
    loaded = SettingsFile(path).load()
    assert loaded.ui.sort == "default" and loaded.problems == ()


def test_a_ui_that_is_not_a_table_is_one_problem(tmp_path):
    path = write(tmp_path / "c.toml", 'ui = "cards"\nkeymap = 1\n')
    loaded = SettingsFile(path).load()
    assert loaded.ui == UiSettings()
    assert len(loaded.problems) == 2


@pytest.mark.parametrize("keys, expected", [
    ("s", "s"), ("ctrl+s, f5", "ctrl+s,f5"), ("?", "?"), ("shift+question_mark", "shift+question_mark"),
    (["s", "ctrl+x"], "s,ctrl+x"), ("O", "O"),
])
def test_keys_that_are_taken(keys, expected):
    assert check_keys(keys) == expected


@pytest.mark.parametrize("keys", ["", " ", "ctrl+", "s,,t", "hyperctrl+s", "F5", "ctrl s", 5, [], [1], "+"])
def test_keys_that_are_refused(keys):
    with pytest.raises(ValueError):
        check_keys(keys)


# --------------------------------------------------------------------------- saving: the user's bytes


def test_round_trip_keeps_every_byte_but_the_changed_values(config):
    save(config, profile_scope("home"), view="table", theme="gruvbox")
    text = config.read_text()
    assert text == (USER_FILE.replace('view   = "cards"   # I like cards here', 'view   = "table"   # I like cards here')
                    .replace('theme = "nord"     # dark, please', 'theme = "gruvbox"     # dark, please'))
    # and the profile still loads as before
    assert load_profile("home", config).online_window == 60


def test_nothing_changed_is_not_written(config):
    before = os.stat(config).st_mtime_ns
    config.chmod(0o400)  # a write would fail
    save(config, profile_scope("home"), view="cards", sort="cpu")  # the values already saved
    store = SettingsStore.from_file(SettingsFile(config, profile_scope("home")))
    store.remember(view="table")
    store.remember(view="cards")  # and back: nothing to write
    store.flush()
    assert os.stat(config).st_mtime_ns == before


def test_new_keys_and_tables_go_in_without_touching_the_rest(config):
    save(config, profile_scope("work"), view="cards", group='eu "west" \\ [/]', columns=("name", "cpu"))
    save(config, DEMO_SCOPE, offline_first=True, bell=True)
    text = config.read_text()
    data = tomllib.loads(text)
    assert data["profiles"]["work"]["ui"] == {"view": "cards", "group": 'eu "west" \\ [/]', "columns": ["name", "cpu"]}
    assert data["demo"] == {"ui": {"offline_first": True}}
    assert data["ui"] == {"theme": "nord", "unknown_future_setting": 42, "bell": True}
    # every line the user wrote is still there, in order
    lines = [line for line in text.splitlines()]
    user_lines = USER_FILE.splitlines()
    it = iter(lines)
    assert all(any(line == mine for line in it) for mine in user_lines)
    assert "[profiles.work.ui]" in text and "[demo.ui]" in text and "\n[demo]\n" not in text
    loaded = SettingsFile(config, profile_scope("work")).load()
    assert loaded.ui.group == 'eu "west" \\ [/]' and loaded.ui.columns == ("name", "cpu")


def test_none_removes_the_key(config):
    save(config, profile_scope("home"), sort="default")
    save(config, profile_scope("home"), group="eu")
    save(config, profile_scope("home"), group=None, theme=None)
    data = tomllib.loads(config.read_text())
    assert "group" not in data["profiles"]["home"]["ui"] and "theme" not in data["ui"]


def test_crlf_and_a_last_line_without_newline_stay(tmp_path):
    path = write(tmp_path / "c.toml", '# mine\r\n[ui]\r\nview = "table"\r\nbell = false')
    save(path, NO_PROFILE_SCOPE, view="cards")
    assert path.read_bytes() == b'# mine\r\n[ui]\r\nview = "cards"\r\nbell = false'


def test_dotted_and_inline_tables_are_updated_in_place(tmp_path):
    path = write(tmp_path / "c.toml", 'ui.theme = "nord"  # dotted\n[profiles]\nhome = {url = "https://a"}\n')
    save(path, profile_scope("home"), view="cards", theme="dracula")
    data = tomllib.loads(path.read_text())
    assert data == {"ui": {"theme": "dracula"}, "profiles": {"home": {"url": "https://a", "ui": {"view": "cards"}}}}
    assert 'ui.theme = "dracula"  # dotted' in path.read_text()


def test_profiles_do_not_share_their_view(config):
    save(config, profile_scope("home"), view="table", sort="mem", group="eu")
    save(config, profile_scope("work"), view="cards", sort="name")
    home = SettingsFile(config, profile_scope("home")).load().ui
    work = SettingsFile(config, profile_scope("work")).load().ui
    assert (home.view, home.sort, home.group) == ("table", "mem", "eu")
    assert (work.view, work.sort, work.group) == ("cards", "name", None)
    # theme and bell are one for all
    save(config, profile_scope("work"), theme="monokai")
    assert SettingsFile(config, profile_scope("home")).load().ui.theme == "monokai"
    # the demo has its own; without a profile the common [ui]
    save(config, DEMO_SCOPE, view="cards")
    save(config, NO_PROFILE_SCOPE, view="table", sort="load")
    assert SettingsFile(config, DEMO_SCOPE).load().ui.view == "cards"
    assert SettingsFile(config, NO_PROFILE_SCOPE).load().ui.sort == "load"
    assert tomllib.loads(config.read_text())["profiles"]["home"]["ui"]["sort"] == "mem"


def test_the_file_is_read_again_before_each_save(config):
    """The user edited the file while the app ran: their edit stays."""
    store = SettingsStore.from_file(SettingsFile(config, profile_scope("home")))
    config.write_text(config.read_text().replace("online_window = 60", "online_window = 90"))
    store.remember(view="table")
    store.flush()
    text = config.read_text()
    assert "online_window = 90" in text and 'view   = "table"' in text


# --------------------------------------------------------------------------- saving: safety


def test_a_broken_file_is_never_overwritten(tmp_path):
    broken = '[profiles.home]\nurl = "https://a"\npassword = "s3cret\n'  # an unclosed string
    path = write(tmp_path / "c.toml", broken)
    loaded = SettingsFile(path, profile_scope("home")).load()
    assert not loaded.writable and len(loaded.problems) == 1 and "not valid TOML" in loaded.problems[0]
    assert "s3cret" not in loaded.problems[0]
    store = SettingsStore(loaded, SettingsFile(path, profile_scope("home")))
    store.remember(view="cards")
    store.flush()  # quietly: the problem was said once, at load
    assert path.read_text() == broken
    with pytest.raises(SettingsError, match="not valid TOML") as caught:
        SettingsFile(path, profile_scope("home")).save({"view": "cards"})
    assert "s3cret" not in str(caught.value)
    assert path.read_text() == broken
    assert os.listdir(tmp_path) == ["c.toml"]


def test_a_file_that_broke_after_loading_is_not_overwritten(config):
    store = SettingsStore.from_file(SettingsFile(config, profile_scope("home")))
    config.write_text("[ui\n")
    store.remember(view="table")
    with pytest.raises(SettingsError):
        store.flush()
    assert config.read_text() == "[ui\n"
    assert store.pending  # tried again at the next flush


def test_a_key_in_the_way_is_refused(tmp_path):
    path = write(tmp_path / "c.toml", '[profiles]\nhome = "oops"\n')
    with pytest.raises(SettingsError, match="profiles.home is not a table"):
        SettingsFile(path, profile_scope("home")).save({"view": "cards"})
    assert path.read_text() == '[profiles]\nhome = "oops"\n'


def test_a_failure_mid_write_leaves_the_old_file(config, monkeypatch):
    def fail(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(SettingsError, match="No space left on device"):
        SettingsFile(config, profile_scope("home")).save({"view": "table"})
    assert config.read_text() == USER_FILE
    assert os.listdir(config.parent) == ["config.toml"]  # no temporary file left behind


def test_a_failed_replace_leaves_the_old_file(config, monkeypatch):
    def fail(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(SettingsError):
        SettingsFile(config, profile_scope("home")).save({"view": "table"})
    assert config.read_text() == USER_FILE
    assert os.listdir(config.parent) == ["config.toml"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640])
def test_an_existing_file_keeps_its_mode(config, mode):
    config.chmod(mode)
    save(config, profile_scope("home"), view="table")
    assert stat.S_IMODE(os.stat(config).st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_new_file_is_private_in_a_new_directory(tmp_path):
    path = tmp_path / "nezha-tui" / "config.toml"
    save(path, DEMO_SCOPE, view="cards", theme="nord")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) & 0o077 == 0
    assert tomllib.loads(path.read_text()) == {"ui": {"theme": "nord"}, "demo": {"ui": {"view": "cards"}}}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="POSIX permissions, not as root")
def test_a_read_only_directory_is_a_settings_error(config):
    config.parent.chmod(0o500)
    try:
        with pytest.raises(SettingsError, match="cannot write config"):
            SettingsFile(config, profile_scope("home")).save({"view": "table"})
    finally:
        config.parent.chmod(0o700)
    assert config.read_text() == USER_FILE


def test_a_read_only_directory_is_a_settings_error_also_as_root(config, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(SettingsError, match="cannot write config .*Permission denied"):
        SettingsFile(config, profile_scope("home")).save({"view": "table"})
    assert config.read_text() == USER_FILE


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_linked_config_stays_a_link(tmp_path):
    target = write(tmp_path / "dotfiles.toml", "[ui]\n")
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    save(link, NO_PROFILE_SCOPE, view="cards")
    assert link.is_symlink()
    assert tomllib.loads(target.read_text()) == {"ui": {"view": "cards"}}


def test_secrets_are_only_what_was_there(config):
    """The file holds what it held plus the settings: nothing of a profile is written from memory."""
    save(config, profile_scope("home"), view="table")
    data = tomllib.loads(config.read_text())
    assert "password" not in data["profiles"]["home"] and "token" not in data["profiles"]["home"]


def test_a_store_without_a_file_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = SettingsStore()
    assert store.remember(view="cards")
    store.flush()
    assert store.current.view == "cards" and not store.pending
    assert os.listdir(tmp_path) == []


def test_a_rewrite_that_would_change_other_keys_is_refused(config, monkeypatch):
    """The safety net: the new text must hold every other key as it was, or nothing is written."""
    import tomlkit

    original = tomlkit.TOMLDocument.as_string

    def lossy(self):
        return original(self).replace("online_window = 60\n", "")

    monkeypatch.setattr(tomlkit.TOMLDocument, "as_string", lossy)
    with pytest.raises(SettingsError, match="without changing other keys"):
        SettingsFile(config, profile_scope("home")).save({"view": "table"})
    assert config.read_text() == USER_FILE


# --------------------------------------------------------------------------- group names: what is saved is read back

ODD_GROUPS = [
    " ", "   ", "\t", "eu west", " leading and trailing ", 'say "hi"', "it's", "back\\slash", "two\nlines",
    "cr\r\nlf", "x" * 500, "[bold red]markup[/]", "[/]", "ünïcødé 東京 🚀", "#not a comment", "a = b",
    "]]", "\"\"\"", "'''", "nul\x00byte", "\x1b[31mescape",
]


@pytest.mark.parametrize("group", ODD_GROUPS)
def test_any_group_the_dashboard_sends_round_trips(tmp_path, group):
    """A group name is the Dashboard's (untrusted) text: whatever is saved is restored, without a problem."""
    path = write(tmp_path / "c.toml", '[profiles.home]\nurl = "https://n.example.com"\n')
    save(path, profile_scope("home"), group=group)
    loaded = SettingsFile(path, profile_scope("home")).load()
    assert loaded.problems == () and loaded.ui.group == group
    assert tomllib.loads(path.read_text(encoding="utf-8"))["profiles"]["home"]["url"] == "https://n.example.com"


def test_a_group_load_would_refuse_is_not_saved(tmp_path):
    """What cannot be read back is refused at saving (one line), not written to warn at every start."""
    path = write(tmp_path / "c.toml", "[ui]\nview = \"cards\"\n")
    for bad in ("x" * 100_000, "lone \udc80 surrogate"):
        with pytest.raises(SettingsError, match="ui.group"):
            save(path, NO_PROFILE_SCOPE, group=bad)
        assert path.read_text(encoding="utf-8") == "[ui]\nview = \"cards\"\n"
