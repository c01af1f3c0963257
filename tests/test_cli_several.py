"""The command line for several Dashboards: --profile a --profile b, URL1 URL2, --view, --demo-dashboards."""

from __future__ import annotations

import pytest

from nezha_tui import cli
from nezha_tui.config import UsageError
from nezha_tui.connections import DEMO_FLEETS, DEMOS_SCOPE, open_dashboards, view_scope
from nezha_tui.settings import DEMO_SCOPE, profile_scope

CONFIG = """\
default = "home"

[profiles.home]
url = "https://home.example"

[profiles.work]
url = "https://work.example:8443/"
user = "admin"

[profiles.work2]
url = "https://WORK.example:8443"
user = "admin"

[profiles.workguest]
url = "https://work.example:8443/api/v1"

[profiles.friend]
url = "http://10.0.0.5:8008"
token = "nzp_friend_secret"

[views.all]
profiles = ["home", "work"]
urls = ["https://pub.example"]
"""


@pytest.fixture(autouse=True)
def config_dir(monkeypatch, tmp_path):
    for name in ("NEZHA_URL", "NEZHA_TOKEN", "NEZHA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEZHA_TUI_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    path.chmod(0o600)
    return tmp_path


def opened(argv, env=None, answers=None):
    """The Dashboards ``argv`` names, what was said on stderr and the prompts shown."""
    said: list[str] = []
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return (answers or {}).get(text, "typed-secret")

    args = cli._run_parser().parse_args(argv)
    dashboards = open_dashboards(args, env=env or {}, prompt=prompt, say=said.append)
    return dashboards, said, asked


def test_repeated_profiles_are_several_dashboards_named_by_profile():
    d, said, asked = opened(["--profile", "home", "--profile", "work", "--profile", "friend"])
    assert d.several and [c.name for c in d.connections] == ["home", "work", "friend"]
    assert all(c.named for c in d.connections)
    assert [c.url for c in d.connections] == ["https://home.example", "https://work.example:8443/",
                                              "http://10.0.0.5:8008"]
    assert d.connections[2].auth.token == "nzp_friend_secret" and d.connections[0].auth.mode == "guest"
    # one prompt, for the one profile that needs a password, naming it and its Dashboard
    assert asked == ["Password for admin at work (https://work.example:8443): "]
    assert d.connections[1].auth.password == "typed-secret"
    assert said == []
    # the combination's settings: [views."friend+home+work".ui], whatever the order
    assert d.scope == view_scope("friend+home+work") and all(c.scope == d.scope for c in d.connections)


def test_urls_are_guests_named_by_host_and_told_apart_by_port():
    d, said, asked = opened(["https://a.example", "http://b.example:8008", "http://b.example:9009/"])
    assert [c.name for c in d.connections] == ["a.example", "b.example", "b.example:9009"]
    assert not any(c.named for c in d.connections) and all(c.auth.mode == "guest" for c in d.connections)
    assert asked == [] and said == []


def test_a_url_named_like_a_profile_gets_its_port_or_a_number():
    d, _, _ = opened(["--profile", "home", "http://home:1", "http://home:1/x", "https://home"])
    assert [c.name for c in d.connections] == ["home", "home:1", "home-2", "home-3"]


def test_a_profile_and_a_url_together_are_two_dashboards():
    d, _, _ = opened(["--profile", "home", "https://pub.example"])
    assert [(c.name, c.named) for c in d.connections] == [("home", True), ("pub.example", False)]


def test_a_view_opens_its_profiles_and_urls_with_its_own_settings():
    d, said, asked = opened(["--view", "all"])
    assert [c.name for c in d.connections] == ["home", "work", "pub.example"]
    assert d.scope == view_scope("all") == ("views", "all")
    d2, _, _ = opened(["--view", "all", "--profile", "friend"])  # more on the command line: added
    assert [c.name for c in d2.connections] == ["home", "work", "friend", "pub.example"]  # profiles, then URLs
    assert d2.scope == view_scope("friend+home+pub.example+work")  # not the view any more


def test_two_profiles_at_one_dashboard_are_shown_once_and_said_in_one_line():
    d, said, asked = opened(["--profile", "work", "--profile", "work2", "--profile", "home"])
    assert [c.name for c in d.connections] == ["work", "home"]
    assert said == ["profiles work and work2 both point at https://work.example:8443: shown once"]
    assert len(asked) == 1  # no prompt for the one not used


def test_same_dashboard_other_credentials_says_which_are_used():
    d, said, _ = opened(["--profile", "workguest", "--profile", "work"])
    assert [c.name for c in d.connections] == ["workguest"]
    assert said == ["profiles workguest and work both point at https://work.example:8443: shown once, "
                    "with the credentials of profile workguest"]


def test_a_bare_url_at_a_profiles_dashboard_gives_way_to_the_profile():
    d, said, _ = opened(["--profile", "home", "https://home.example/", "https://pub.example", "pub.example"])
    assert [c.name for c in d.connections] == ["home", "pub.example"]
    assert said == ["profile home and home.example both point at https://home.example: shown once",
                    "https://pub.example is given twice: shown once"]


def test_several_collapsing_to_one_use_that_profiles_settings():
    d, said, _ = opened(["--profile", "work", "--profile", "work2"])
    assert not d.several and d.scope == profile_scope("work")


def test_one_profile_is_exactly_as_before():
    d, said, asked = opened(["--profile", "work"], env={"NEZHA_PASSWORD": "pw"})
    assert not d.several and d.first.name == "work" and d.scope == profile_scope("work")
    assert d.first.auth.password == "pw" and asked == [] and said == []
    d, _, _ = opened(["--view", "all"][:0] + ["--profile", "home", "--profile", "home"])  # the same one twice
    assert not d.several and d.first.name == "home"


def test_environment_credentials_are_not_sent_to_several_dashboards():
    env = {"NEZHA_TOKEN": "nzp_env_secret", "NEZHA_URL": "https://env.example"}
    d, said, _ = opened(["--profile", "home", "https://pub.example"], env=env)
    assert [c.auth.mode for c in d.connections] == ["guest", "guest"]
    assert [c.url for c in d.connections] == ["https://home.example", "https://pub.example"]
    assert said == ["NEZHA_URL, NEZHA_TOKEN not used with several Dashboards: each profile's own url and "
                    "credentials are (a bare URL is a guest)"]
    assert "nzp_env_secret" not in " ".join(said)


def test_one_url_given_twice_is_one_dashboard_named_as_always():
    d, said, _ = opened(["http://b.example:8008", "http://b.example:8008/"])
    assert not d.several and d.first.name == "b.example:8008" and said == ["http://b.example:8008 is given twice: "
                                                                         "shown once"]


def test_more_than_sixteen_dashboards_is_a_usage_error():
    with pytest.raises(UsageError, match="at most 16 Dashboards"):
        opened([f"https://h{i}.example" for i in range(17)])


def test_user_or_token_file_with_several_is_a_usage_error():
    with pytest.raises(UsageError, match="--user and --token-file"):
        opened(["--profile", "home", "--profile", "work", "--user", "bob"])


@pytest.mark.parametrize("argv, expect", [
    (["snapshot", "--profile", "home", "--profile", "nope"], "has no profile 'nope' (profiles: friend, home, work"),
    (["snapshot", "--view", "nope"], "has no view 'nope' (views: all)"),
    (["--profile", "nope", "--profile", "home"], "has no profile 'nope'"),
    (["watch", "--view", "gone"], "has no view 'gone'"),
    (["snapshot", "https://a.example", "not a url"], "holds spaces"),
    (["snapshot", "--demo-dashboards", "9"], "--demo-dashboards: must be a whole number from 1 to 8"),
])
def test_unknown_names_and_bad_arguments_are_one_line_and_exit_2(argv, expect, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("nezha-tui: ") and expect in err, err


def test_watch_hands_every_dashboard_to_run_watch(monkeypatch):
    import nezha_tui.watch as watch

    seen = []

    async def fake_run_watch(targets, config, hook_argv=(), json_lines=False, online_window=30.0, **kw):
        seen.append(([(name, window) for name, _client, window in targets], json_lines))
        return 0

    monkeypatch.setattr(watch, "run_watch", fake_run_watch)
    assert cli.main(["watch", "--profile", "home", "--profile", "friend", "--json"]) == 0
    assert cli.main(["watch", "--profile", "friend"]) == 0
    assert seen == [([("home", 30.0), ("friend", 30.0)], True), ([("friend", 30.0)], False)]


# --------------------------------------------------------------------------- demos


def test_demo_dashboards_start_named_fleets_with_their_own_site_names_and_seeds():
    args = cli._run_parser().parse_args(["--demo-dashboards", "3", "--demo-servers", "5", "--demo-seed", "4"])
    d = open_dashboards(args, env={}, say=lambda m: None)
    try:
        assert [c.name for c in d.connections] == ["home", "work", "friends"]
        assert all(c.named and c.auth.mode == "password" for c in d.connections)
        servers = [c.demo.server for c in d.connections]
        assert [s.options.site_name for s in servers] == [f[1] for f in DEMO_FLEETS[:3]]
        assert [s.options.servers for s in servers] == [5, DEMO_FLEETS[1][2], DEMO_FLEETS[2][2]]
        assert [s.options.seed for s in servers] == [4, 5, 6]
        assert len({c.url for c in d.connections}) == 3
        assert all(s.fail_driver is None for s in servers)
        assert d.scope == DEMOS_SCOPE
    finally:
        d.close()
    assert all(c.demo is None for c in d.connections)


def test_demo_fail_one_makes_the_last_demo_fail_on_its_schedule():
    args = cli._run_parser().parse_args(["--demo-dashboards", "2", "--demo-servers", "3", "--demo-fail-one",
                                         "--demo-as", "token"])
    d = open_dashboards(args, env={}, say=lambda m: None)
    try:
        first, last = (c.demo.server for c in d.connections)
        assert first.fail_driver is None and last.fail_driver is not None
        assert last.fail_driver.phase == "fine"  # from its start: fine for 40 s
        assert all(c.auth.mode == "token" for c in d.connections)
    finally:
        d.close()


def test_one_demo_is_as_before():
    for argv in (["--demo", "--demo-servers", "2"], ["--demo-dashboards", "1", "--demo-servers", "2"]):
        d = open_dashboards(cli._run_parser().parse_args(argv), env={}, say=lambda m: None)
        try:
            assert not d.several and d.first.name == "demo" and d.scope == DEMO_SCOPE
            assert d.first.demo.server.options.site_name == "Nezha Demo"
        finally:
            d.close()


def test_the_snapshot_and_watch_parsers_know_the_new_flags():
    for parser in (cli._snapshot_parser(), cli._watch_parser(), cli._run_parser()):
        args = parser.parse_args(["--profile", "a", "--profile", "b", "--view", "v", "--demo-dashboards", "2",
                                  "--demo-fail-one", "https://x", "https://y"])
        assert (args.profile, args.url, args.view, args.demo_dashboards, args.demo_fail_one) == (
            ["a", "b"], ["https://x", "https://y"], "v", 2, True)


@pytest.fixture
def made(monkeypatch):
    """Run the TUI command without the TUI: what the app was built with."""
    import nezha_tui.ui.app as app_module

    calls: list[tuple[object, dict]] = []

    class Recorder:
        return_code = 0

        def __init__(self, what, **kwargs):
            calls.append((what, kwargs))

        def run(self):
            pass

    monkeypatch.setattr(app_module, "NezhaApp", Recorder)
    return calls


def test_the_tui_gets_one_target_per_dashboard(made, config_dir):
    from nezha_tui.api.client import NezhaClient
    from nezha_tui.fleets import DashboardTarget

    assert cli.main(["--profile", "home", "--profile", "friend", "https://pub.example", "--online-window", "45"]) == 0
    (what, kwargs), = made
    assert all(isinstance(t, DashboardTarget) and isinstance(t.client, NezhaClient) for t in what)
    assert [(t.name, t.named, t.online_window) for t in what] == [("home", True, 45.0), ("friend", True, 45.0),
                                                                 ("pub.example", False, 45.0)]
    assert "dashboard_name" not in kwargs and kwargs["startup_problems"] == []
    assert kwargs["settings"].file.scope == view_scope("friend+home+pub.example")


def test_a_merge_is_said_on_stderr_and_in_the_app(made, capsys):
    assert cli.main(["--profile", "home", "https://home.example/", "https://pub.example"]) == 0
    (what, kwargs), = made
    said = "profile home and home.example both point at https://home.example: shown once"
    assert capsys.readouterr().err == f"nezha-tui: {said}\n"
    assert kwargs["startup_problems"] == [said] and [t.name for t in what] == ["home", "pub.example"]


def test_the_tui_with_one_dashboard_gets_its_client_as_before(made):
    from nezha_tui.api.client import NezhaClient

    assert cli.main(["--profile", "friend"]) == 0
    (what, kwargs), = made
    assert isinstance(what, NezhaClient) and kwargs["dashboard_name"] == "friend"
    assert kwargs["settings"].file.scope == profile_scope("friend")


def test_the_real_app_takes_the_targets(monkeypatch):
    from nezha_tui.ui.app import NezhaApp

    apps: list[NezhaApp] = []
    monkeypatch.setattr(NezhaApp, "run", lambda self, *a, **kw: apps.append(self))
    assert cli.main(["--profile", "home", "--profile", "friend", "https://pub.example"]) == 0
    app, = apps
    assert app.several and [(link.name, link.named) for link in app.dashboards] == [
        ("home", True), ("friend", True), ("pub.example", False)]


def test_a_profiles_unreadable_token_file_stops_the_start_in_one_line(config_dir, capsys, made):
    path = config_dir / "config.toml"
    path.write_text(CONFIG + f'\n[profiles.broken]\nurl = "https://broken.example"\n'
                             f'token_file = "{config_dir / "missing.token"}"\n')
    assert cli.main(["--profile", "home", "--profile", "broken"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "cannot read token file" in err and "missing.token" in err
    assert made == []


def test_a_needed_password_without_a_terminal_names_the_profile(capsys, made):
    assert cli.main(["--profile", "home", "--profile", "work"]) == 1
    err = capsys.readouterr().err
    assert err == ("nezha-tui: a password is needed for user 'admin' at work (https://work.example:8443): put it in "
                   "the profile (mode 600) or run in a terminal to be prompted\n")
