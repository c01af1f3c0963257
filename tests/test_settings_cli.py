"""The command line and the settings: --theme, and which table a connection's settings go to."""

from __future__ import annotations

import pytest

from nezha_tui import cli
from nezha_tui.settings import DEMO_SCOPE, NO_PROFILE_SCOPE, profile_scope

CONFIG = """\
default = "home"

[profiles.home]
url = "http://127.0.0.1:9"

[profiles.work]
url = "http://127.0.0.1:10"

[ui]
theme = "nord"
"""


@pytest.fixture(autouse=True)
def config_dir(monkeypatch, tmp_path):
    for name in ("NEZHA_URL", "NEZHA_TOKEN", "NEZHA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.toml").write_text(CONFIG)
    return tmp_path


@pytest.fixture
def started(monkeypatch):
    """Run the TUI command without the TUI: the app it would have run."""
    from nezha_tui.ui.app import NezhaApp

    apps: list[NezhaApp] = []
    monkeypatch.setattr(NezhaApp, "run", lambda self, *a, **kw: apps.append(self))
    return apps


def test_an_unknown_theme_is_one_usage_line_listing_the_themes(capsys, started):
    assert cli.main(["--theme", "solarised", "--profile", "home"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("nezha-tui: unknown theme 'solarised'")
    for name in ("textual-dark", "textual-light", "nord", "tokyo-night"):  # the whole list, not cut
        assert name in err
    assert started == []


def test_the_theme_from_the_command_line_beats_the_saved_one(started):
    assert cli.main(["--profile", "home", "--theme", "dracula"]) == 0
    assert started[0].theme == "dracula"
    assert cli.main(["--profile", "home"]) == 0
    assert started[1].theme == "nord"


def test_the_app_gets_a_store_for_the_config_file(started, config_dir):
    assert cli.main(["--profile", "work"]) == 0
    file = started[0].settings.file
    assert file is not None and file.path == config_dir / "config.toml" and file.scope == profile_scope("work")


@pytest.mark.parametrize("argv, env, scope", [
    (["--profile", "work"], {}, profile_scope("work")),
    ([], {}, profile_scope("home")),  # the default profile
    (["http://127.0.0.1:11"], {}, NO_PROFILE_SCOPE),  # another Dashboard: its groups are not home's
    # a profile and a URL are two Dashboards: the combination's own table, [views."127.0.0.1+work".ui]
    (["--profile", "work", "http://127.0.0.1:11"], {}, ("views", "127.0.0.1+work")),
    (["--profile", "work"], {"NEZHA_URL": "http://127.0.0.1:12"}, NO_PROFILE_SCOPE),
])
def test_which_settings_a_connection_uses(argv, env, scope, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = cli._run_parser().parse_args(argv)
    assert cli._dashboards(args).first.scope == scope


def test_the_demo_has_its_own_settings():
    args = cli._run_parser().parse_args(["--demo", "--demo-servers", "2"])
    conn = cli._dashboards(args).first
    try:
        assert conn.scope == DEMO_SCOPE
    finally:
        conn.close()
