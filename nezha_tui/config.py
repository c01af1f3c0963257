"""Where the URL and the secrets come from: arguments, environment, profiles.

Precedence, highest first:

* URL: the positional argument, ``NEZHA_URL``, the profile's ``url``.
* Auth: ``NEZHA_TOKEN``; ``--token-file``; the profile's ``token`` /
  ``token_file``; a user name (``--user`` or the profile's ``user``) with
  ``NEZHA_PASSWORD``, the profile's ``password`` or an interactive prompt.
  Nothing given: guest.

A password is never taken from the command line.  A config file or token file
that holds a secret must not be readable by group or others (like ssh's keys).
No secret is ever put in an error message.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from nezha_tui.api.credentials import Credentials

__all__ = ["ConfigError", "Profile", "config_path", "load_profile", "resolve_auth", "read_secret_file"]

CONFIG_FILE = "config.toml"


class ConfigError(Exception):
    """A one-line, secret-free reason the configuration cannot be used."""


@dataclass(frozen=True)
class Profile:
    name: str = ""
    url: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    token_file: str = ""
    insecure: bool = False
    online_window: float | None = None


def config_dir() -> Path:
    env = os.environ.get("NEZHA_TUI_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("nezha-tui"))


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def _check_private(path: Path, what: str) -> None:
    """Refuse a secret-holding file that group or others can read (POSIX only)."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} {path} holds a secret but is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )


def read_secret_file(path: str | os.PathLike[str]) -> str:
    """The first non-empty line of a token file, which must be private."""
    p = Path(path).expanduser()
    _check_private(p, "token file")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read token file {p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"token file {p} is not text") from None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise ConfigError(f"token file {p} is empty")


def load_profile(name: str | None, path: Path | None = None) -> Profile:
    """Read profile ``name`` (or the file's ``default``) from the TOML config.

    A missing file is fine when no profile was asked for.
    """
    path = path or config_path()
    if not path.exists():
        if name:
            raise ConfigError(f"profile {name!r} asked for, but there is no config file at {path}")
        return Profile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"config {path}: [profiles] must be a table")
    if name is None:
        name = data.get("default") if isinstance(data.get("default"), str) else None
        if name is None:
            return Profile()
    entry = profiles.get(name)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"config {path} has no profile {name!r} (profiles: {known})")
    if any(isinstance(entry.get(k), str) and entry.get(k) for k in ("password", "token")):
        _check_private(path, "config file")

    def text(key: str) -> str:
        value = entry.get(key, "")
        if not isinstance(value, str):
            raise ConfigError(f"config {path}: profiles.{name}.{key} must be a string")
        return value

    window = entry.get("online_window")
    if window is not None and (not isinstance(window, (int, float)) or isinstance(window, bool) or window <= 0):
        raise ConfigError(f"config {path}: profiles.{name}.online_window must be a positive number of seconds")
    insecure = entry.get("insecure", False)
    if not isinstance(insecure, bool):
        raise ConfigError(f"config {path}: profiles.{name}.insecure must be true or false")
    return Profile(
        name=name, url=text("url"), user=text("user"), password=text("password"), token=text("token"),
        token_file=text("token_file"), insecure=insecure,
        online_window=float(window) if window is not None else None,
    )


def resolve_url(arg: str | None, profile: Profile, env: Mapping[str, str]) -> str:
    url = arg or env.get("NEZHA_URL", "") or profile.url
    if not url:
        raise ConfigError("no Dashboard URL: pass one (nezha-tui https://nezha.example.com), "
                          "set NEZHA_URL, use --profile, or try --demo")
    return url


def resolve_auth(
    *,
    user: str | None,
    token_file: str | None,
    profile: Profile,
    env: Mapping[str, str],
    prompt: Callable[[str], str] | None,
) -> Credentials:
    """Pick the credentials; ``prompt`` asks for a password (``None``: not interactive)."""
    token = env.get("NEZHA_TOKEN", "").strip()
    if token:
        return Credentials(token=token)
    if token_file:
        return Credentials(token=read_secret_file(token_file))
    if profile.token:
        return Credentials(token=profile.token.strip())
    if profile.token_file:
        return Credentials(token=read_secret_file(profile.token_file))
    username = user or profile.user
    if not username:
        return Credentials()
    password = env.get("NEZHA_PASSWORD", "") or profile.password
    if not password:
        if prompt is None:
            raise ConfigError(f"a password is needed for user {username!r}: set NEZHA_PASSWORD "
                              "or run in a terminal to be prompted")
        password = prompt(f"Password for {username}: ")
        if not password:
            raise ConfigError("no password given")
    return Credentials(username=username, password=password)
