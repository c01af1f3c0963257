import logging
import os

import pytest

from nezha_tui.config import ConfigError, Profile, load_profile, read_secret_file, resolve_auth, resolve_url
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
