"""Config for several Dashboards: [views.NAME], an unknown profile or view (usage, exit 2), prompts naming the profile."""

from __future__ import annotations

import os

import pytest

from nezha_tui.config import ConfigError, Profile, UsageError, View, load_profile, load_view, resolve_auth


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


CONFIG = """\
[profiles.home]
url = "https://home.example"

[profiles.work]
url = "https://work.example"

[views.all]
profiles = ["home", "work", "home"]
urls = ["https://friend.example"]

[views."home+work".ui]   # settings saved for a combination: not a view
view = "cards"
"""


def test_a_view_lists_its_profiles_and_urls_in_order_each_once(tmp_path):
    cfg = write(tmp_path / "c.toml", CONFIG)
    assert load_view("all", cfg) == View("all", ("home", "work"), ("https://friend.example",))


def test_an_unknown_view_is_a_usage_error_listing_the_views(tmp_path):
    cfg = write(tmp_path / "c.toml", CONFIG)
    with pytest.raises(UsageError, match=r"has no view 'nope' \(views: all\)$"):
        load_view("nope", cfg)
    with pytest.raises(UsageError, match="no view 'home\\+work'"):  # a table of settings only
        load_view("home+work", cfg)
    with pytest.raises(UsageError, match="view 'all' asked for, but there is no config file"):
        load_view("all", tmp_path / "none.toml")


def test_an_unknown_profile_is_a_usage_error_listing_the_profiles(tmp_path):
    cfg = write(tmp_path / "c.toml", CONFIG)
    with pytest.raises(UsageError, match=r"no profile 'nope' \(profiles: home, work\)"):
        load_profile("nope", cfg)
    with pytest.raises(UsageError, match="no config file"):
        load_profile("home", tmp_path / "none.toml")
    # a default naming no profile is the file's mistake: a ConfigError, not usage
    bad = write(tmp_path / "d.toml", 'default = "gone"\n[profiles.a]\nurl = "https://a"\n')
    with pytest.raises(ConfigError, match="default names no profile 'gone'") as exc:
        load_profile(None, bad)
    assert not isinstance(exc.value, UsageError)


@pytest.mark.parametrize("body, message", [
    ("[views.v]\nprofiles = \"home\"\n", "must be a list of names"),
    ("[views.v]\nprofiles = [1]\n", "must be a list of names"),
    ("[views.v]\nprofiles = []\n", "names no Dashboard"),
    ("views = 3\n", r"\[views\] must be a table"),
    ("[views.v]\nprofiles = [" + ", ".join(f'"p{i}"' for i in range(17)) + "]\n", "more than 16"),
])
def test_a_malformed_view_is_one_line(tmp_path, body, message):
    cfg = write(tmp_path / "c.toml", body)
    with pytest.raises(ConfigError, match=message) as exc:
        load_view("v", cfg)
    assert "\n" not in str(exc.value)


def test_the_password_prompt_names_the_profile_and_its_dashboard():
    asked: list[str] = []
    auth = resolve_auth(user=None, token_file=None, profile=Profile(name="work", user="admin"), env={},
                        prompt=lambda m: asked.append(m) or "typed", where="work (https://work.example)")
    assert auth.password == "typed" and asked == ["Password for admin at work (https://work.example): "]
    with pytest.raises(ConfigError, match="user 'admin' at work .*put it in the profile"):
        resolve_auth(user=None, token_file=None, profile=Profile(name="work", user="admin"), env={}, prompt=None,
                     where="work (https://work.example)")
