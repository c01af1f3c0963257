import logging
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nezha_tui.config import (
    CONFIG_MAX_BYTES,
    ConfigError,
    Profile,
    UsageError,
    check_url,
    load_profile,
    read_secret_file,
    resolve_auth,
    resolve_url,
)
from nezha_tui.logsetup import RedactingFilter, redact, register_secret


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_no_file_no_profile_is_fine(tmp_path):
    assert load_profile(None, tmp_path / "none.toml") == Profile()
    with pytest.raises(ConfigError, match="no config file"):
        load_profile("home", tmp_path / "none.toml")


def test_profile_and_default(tmp_path):
    cfg = write(tmp_path / "c.toml", 'default = "home"\n[profiles.home]\nurl = "https://n.example"\nuser = "ann"\n'
                                     'online_window = 60\n[profiles.work]\nurl = "https://w.example"\n', 0o644)
    p = load_profile(None, cfg)
    assert (p.name, p.url, p.user, p.online_window) == ("home", "https://n.example", "ann", 60.0)
    assert load_profile("work", cfg).url == "https://w.example"
    with pytest.raises(ConfigError, match="profiles: home, work"):
        load_profile("nope", cfg)


def test_secret_in_world_readable_config_is_refused(tmp_path):
    cfg = write(tmp_path / "c.toml", '[profiles.a]\nurl = "https://x"\npassword = "hunter2"\n', 0o644)
    with pytest.raises(ConfigError) as exc:
        load_profile("a", cfg)
    assert "chmod 600" in str(exc.value) and "hunter2" not in str(exc.value)
    os.chmod(cfg, 0o600)
    assert load_profile("a", cfg).password == "hunter2"
    assert "hunter2" not in repr(load_profile("a", cfg))


def test_bad_toml_and_types(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile("a", write(tmp_path / "c.toml", "[profiles.a\n"))
    with pytest.raises(ConfigError, match="must be a string"):
        load_profile("a", write(tmp_path / "d.toml", "[profiles.a]\nurl = 5\n"))
    with pytest.raises(ConfigError, match="online_window"):
        load_profile("a", write(tmp_path / "e.toml", "[profiles.a]\nonline_window = -1\n"))


def test_token_file(tmp_path):
    f = write(tmp_path / "tok", "\n  nzp_abc123  \n")
    assert read_secret_file(f) == "nzp_abc123"
    os.chmod(f, 0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_secret_file(f)
    with pytest.raises(ConfigError, match="empty"):
        read_secret_file(write(tmp_path / "empty", "\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        read_secret_file(tmp_path / "missing")


def test_auth_precedence(tmp_path):
    tok = write(tmp_path / "tok", "nzp_file")
    prof = Profile(user="bob", password="pw-from-profile")
    assert resolve_auth(user=None, token_file=str(tok), profile=prof, env={"NEZHA_TOKEN": "nzp_env"}, prompt=None).token == "nzp_env"
    assert resolve_auth(user=None, token_file=str(tok), profile=prof, env={}, prompt=None).token == "nzp_file"
    a = resolve_auth(user=None, token_file=None, profile=prof, env={}, prompt=None)
    assert (a.mode, a.username, a.password) == ("password", "bob", "pw-from-profile")
    a = resolve_auth(user="carol", token_file=None, profile=Profile(), env={"NEZHA_PASSWORD": "pw"}, prompt=None)
    assert (a.username, a.password) == ("carol", "pw") and "pw" not in repr(a)
    asked = []
    a = resolve_auth(user="dan", token_file=None, profile=Profile(), env={}, prompt=lambda m: asked.append(m) or "typed")
    assert a.password == "typed" and asked == ["Password for dan: "]
    with pytest.raises(ConfigError, match="NEZHA_PASSWORD"):
        resolve_auth(user="dan", token_file=None, profile=Profile(), env={}, prompt=None)
    assert resolve_auth(user=None, token_file=None, profile=Profile(), env={}, prompt=None).mode == "guest"


def test_url_precedence():
    assert resolve_url("https://a", Profile(url="https://c"), {"NEZHA_URL": "https://b"}) == "https://a"
    assert resolve_url(None, Profile(url="https://c"), {"NEZHA_URL": "https://b"}) == "https://b"
    assert resolve_url(None, Profile(url="https://c"), {}) == "https://c"
    with pytest.raises(ConfigError, match="--demo"):
        resolve_url(None, Profile(), {})


def test_redaction():
    register_secret("s3cr3t-password")
    text = ('login {"username":"a","password":"s3cr3t-password"} Authorization: Bearer eyJa.eyJb.sig '
            'nzp_ABCdef123 cookie nz-csrf=abc123; url ?token=xyz&x=1')
    out = redact(text)
    for secret in ("s3cr3t-password", "eyJa.eyJb.sig", "nzp_ABCdef123", "abc123", "xyz"):
        assert secret not in out
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "token %s", ("nzp_zzz",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "token nzp_***"


# --------------------------------------------------------------------------- broken config files


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_a_fifo_config_is_refused_without_waiting_for_a_writer(tmp_path):
    cfg = tmp_path / "config.toml"
    os.mkfifo(cfg)
    for name in (None, "home"):
        with pytest.raises(ConfigError, match="FIFO") as exc:
            load_profile(name, cfg)
        assert "\n" not in str(exc.value)


def test_a_directory_config_is_refused(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.mkdir()
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_profile(None, cfg)


def test_a_dangling_link_config_is_said_not_ignored(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.symlink_to(tmp_path / "gone.toml")
    with pytest.raises(ConfigError, match="symbolic link to .*gone.toml, which does not exist"):
        load_profile(None, cfg)
    # a link to a real file is fine
    write(tmp_path / "real.toml", '[profiles.a]\nurl = "https://x"\n')
    (tmp_path / "ok.toml").symlink_to(tmp_path / "real.toml")
    assert load_profile("a", tmp_path / "ok.toml").url == "https://x"


@pytest.mark.parametrize("text", [
    "a = " + "[" * 5000 + "]" * 5000 + "\n",
    "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n",
])
def test_absurdly_nested_toml_is_one_line(tmp_path, text):
    with pytest.raises(ConfigError, match="nested too deeply") as exc:
        load_profile(None, write(tmp_path / "c.toml", text))
    assert "\n" not in str(exc.value)


def test_a_profile_that_is_not_a_table_says_so(tmp_path):
    cfg = write(tmp_path / "c.toml", '[profiles]\nhome = "x"\n')
    with pytest.raises(ConfigError, match=r"profiles.home must be a table \(\[profiles.home\]"):
        load_profile("home", cfg)
    cfg = write(tmp_path / "d.toml", 'default = "home"\n[profiles]\nhome = 5\n')
    with pytest.raises(ConfigError, match="profiles.home must be a table"):
        load_profile(None, cfg)


def test_default_must_name_a_profile(tmp_path):
    with pytest.raises(ConfigError, match="default must be the name of a profile"):
        load_profile(None, write(tmp_path / "c.toml", "default = 5\n"))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "0.5", "1e9", "9" * 40, "true", '"60"'])
def test_online_window_in_a_profile_must_be_a_sane_number(tmp_path, value):
    cfg = write(tmp_path / "c.toml", f"[profiles.a]\nonline_window = {value}\n")
    with pytest.raises(UsageError, match="online_window must be a number of seconds from 1 to"):
        load_profile("a", cfg)


def test_online_window_bounds_are_inclusive(tmp_path):
    for value in ("1", "2592000", "45.5"):
        cfg = write(tmp_path / f"c{value}.toml", f"[profiles.a]\nonline_window = {value}\n")
        assert load_profile("a", cfg).online_window == float(value)


def test_a_huge_or_binary_config_is_one_line(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * CONFIG_MAX_BYTES + b"\n")
    with pytest.raises(ConfigError, match="too large"):
        load_profile(None, big)
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_profile(None, _bytes(tmp_path / "bin.toml", b"a = '\xff'\n"))


def _bytes(path, data):
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize("url", [
    "https://nezha.example.com", "https://nezha.example.com/nezha/", "http://127.0.0.1:8008", "localhost:8008",
    "nezha.example.com", "[::1]:8008", "http://[2001:db8::1]/x", "wss://n.example/api/v1/ws/server",
    "  https://n.example  ", "https://bücher.example", "HTTPS://N.EXAMPLE:443",
])
def test_check_url_accepts_what_a_dashboard_url_can_be(url):
    assert check_url(url) == url.strip()


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://x", "unsupported scheme ftp"),
    ("file:///etc/passwd", "unsupported scheme file"),
    ("", "is empty"),
    ("   ", "is empty"),
    ("http://", "no valid host"),
    ("http:///path", "no valid host"),
    ("http://h:99999", "invalid port"),
    ("http://h:0", "invalid port"),
    ("http://h:-1", "invalid port"),
    ("http://h:８０", "invalid port"),
    ("http://h:x", "invalid port"),
    ("http://[::1", "without its closing"),
    ("http://[not-v6]:80", "malformed IPv6"),
    ("http://::1:80", "needs \\[brackets\\]"),
    ("http://a b", "spaces or control characters"),
    ("http://x\x1b[31m", "spaces or control characters"),
    ("http://x\u202e", "spaces or control characters"),
    ("http://h%20x", "no valid host"),
    ("http://" + "a" * 300, "no valid host"),
    ("http://h/" + "a" * 5000, "too long"),
])
def test_check_url_refuses_in_one_short_line(url, reason):
    with pytest.raises(UsageError, match=reason) as exc:
        check_url(url)
    message = str(exc.value)
    assert "\n" not in message and "\x1b" not in message and len(message) < 200


@pytest.mark.parametrize("url", [
    "http://user:hunter2-pw@nezha.example.com", "https://user:hunter2-pw@[bad", "user:hunter2-pw@host:x",
    "http://:hunter2-pw@h/", "http://user:hunter2-pw@" + "h" * 5000,
])
def test_a_url_with_a_password_is_refused_without_echoing_it(url):
    with pytest.raises(UsageError, match="--user") as exc:
        check_url(url)
    assert "hunter2" not in str(exc.value) and "user:" not in str(exc.value)


def test_resolve_url_names_where_a_bad_url_came_from():
    with pytest.raises(UsageError, match="^NEZHA_URL has the unsupported scheme"):
        resolve_url(None, Profile(), {"NEZHA_URL": "ftp://x"})
    with pytest.raises(UsageError, match="^the url of profile 'home' has an invalid port"):
        resolve_url(None, Profile(name="home", url="http://h:70000"), {})


def test_redaction_masks_a_url_password_nobody_registered():
    out = redact("GET http://ann:never-registered@host/x and wss://:also-secret@h")
    assert "never-registered" not in out and "also-secret" not in out and "http://***@host/x" in out


URL_ALPHABET = st.sampled_from(list("ab.:/@[]%?#-_1 ") + ["\x1b", "\u202e", "é", "８", "::1", "http://", "https://",
                                                           "ftp://", "user:pw@", "localhost", "65536", "0"])


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.lists(URL_ALPHABET, max_size=12).map("".join))
def test_check_url_answers_any_text_in_one_line_and_agrees_with_the_client(url):
    from nezha_tui.api.client import normalize_base_url

    try:
        checked = check_url(url)
    except UsageError as exc:
        message = str(exc)
        assert "\n" not in message and "\x1b" not in message and len(message) < 200
        if "@" in url:
            assert "pw@" not in message
        return
    try:
        normalize_base_url(checked)  # what the command line accepts, the client can use...
    except ValueError:
        # ...except host names IDNA 2008 refuses, which the command line reports as malformed
        assert not checked.isascii()


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(min_size=1, max_size=30))
def test_a_password_never_appears_in_the_refusal(secret):
    # even a password holding / ? # (which would end the authority early) or @
    with pytest.raises(UsageError) as exc:
        check_url(f"https://user:{secret}@dash.example.com/")
    assert str(exc.value) == ("the Dashboard URL holds an @ (a user name or password?): leave that out and use "
                              "--user NAME (the password from NEZHA_PASSWORD or a prompt) or a token")


def test_a_rejected_url_is_echoed_without_its_path_or_query():
    """A query may carry a token (?token= is how a browser passes a JWT): only the scheme and
    the authority of a rejected URL are shown."""
    from nezha_tui.config import UsageError, check_url

    with pytest.raises(UsageError) as info:
        check_url("http://h:99999/?token=secret-jwt")
    assert "secret" not in str(info.value) and "'http://h:99999/…'" in str(info.value)
