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

import ipaddress
import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from nezha_tui.api.credentials import Credentials

__all__ = ["ConfigError", "Profile", "UsageError", "View", "load_view", "check_online_window", "check_url", "config_path", "read_config_text",
           "load_profile", "resolve_auth", "resolve_url", "read_secret_file"]

CONFIG_FILE = "config.toml"
# a config file is a few lines; anything this big is a mistake (or /dev/zero behind a link)
CONFIG_MAX_BYTES = 1 << 20
# --online-window and a profile's online_window: from 1 s to 30 days
ONLINE_WINDOW_MIN, ONLINE_WINDOW_MAX = 1.0, 30 * 86400.0
# the most of a rejected URL echoed back
URL_ECHO_MAX = 80


class ConfigError(Exception):
    """A one-line, secret-free reason the configuration cannot be used."""


class UsageError(ConfigError):
    """A bad argument or setting (exit 2): a malformed URL, a number out of range, no URL at all."""


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


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_config_text(path: Path) -> str:
    """The config file's text; refuses (without blocking) anything but a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"config {path} is {_kind(st.st_mode)}, not a file")
        if st.st_size > CONFIG_MAX_BYTES:
            raise ConfigError(f"config {path} is too large ({st.st_size} bytes) to be a config file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(CONFIG_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text") from None


def check_online_window(value: object, where: str) -> float:
    """A finite number of seconds within [ONLINE_WINDOW_MIN, ONLINE_WINDOW_MAX], else UsageError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:  # a huge TOML integer
            ok = False
        else:
            ok = math.isfinite(number) and ONLINE_WINDOW_MIN <= number <= ONLINE_WINDOW_MAX
    if not ok:
        raise UsageError(f"{where} must be a number of seconds from {ONLINE_WINDOW_MIN:.0f} to "
                         f"{ONLINE_WINDOW_MAX:.0f} (30 days)")
    return number


def _read_config(path: Path, asked: str | None) -> dict | None:
    """The parsed TOML at ``path``; ``None`` when there is no file (a UsageError if ``asked``,
    a one-line description of what was asked for, needs one)."""
    try:
        os.stat(path)
        missing = False
    except (FileNotFoundError, NotADirectoryError):
        missing = True
    except OSError as exc:  # a loop of links, no permission on a directory on the way
        raise ConfigError(f"cannot read config {path}: {exc.strerror or type(exc).__name__}") from None
    if missing:
        if os.path.islink(path):
            raise ConfigError(f"config {path} is a symbolic link to {os.readlink(path)}, which does not exist")
        if asked:
            raise UsageError(f"{asked} asked for, but there is no config file at {path}")
        return None
    text_ = read_config_text(path)
    try:
        return tomllib.loads(text_)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config {path} is not valid TOML: nested too deeply") from None


def load_profile(name: str | None, path: Path | None = None) -> Profile:
    """Read profile ``name`` (or the file's ``default``) from the TOML config.

    A missing file is fine when no profile was asked for; a broken one (a
    dangling link, a directory, a FIFO, invalid or absurdly nested TOML) is
    an error with one line saying which.  A profile asked for that is not
    there is a :class:`UsageError` listing the profiles there are.
    """
    path = path or config_path()
    data = _read_config(path, f"profile {name!r}" if name else None)
    if data is None:
        return Profile()
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"config {path}: [profiles] must be a table")
    if name is None:
        default = data.get("default")
        if default is None:
            return Profile()
        if not isinstance(default, str) or not default:
            raise ConfigError(f"config {path}: default must be the name of a profile (a string)")
        if default not in profiles:  # the file's mistake, not the command line's
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"config {path}: default names no profile {default!r} (profiles: {known})")
        name = default
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise UsageError(f"config {path} has no profile {name!r} (profiles: {known})")
    entry = profiles[name]
    if not isinstance(entry, dict):
        raise ConfigError(f"config {path}: profiles.{name} must be a table ([profiles.{name}] with url = ...), "
                          f"not a {type(entry).__name__}")
    if any(isinstance(entry.get(k), str) and entry.get(k) for k in ("password", "token")):
        _check_private(path, "config file")

    def text(key: str) -> str:
        value = entry.get(key, "")
        if not isinstance(value, str):
            raise ConfigError(f"config {path}: profiles.{name}.{key} must be a string")
        return value

    window = entry.get("online_window")
    if window is not None:
        window = check_online_window(window, f"config {path}: profiles.{name}.online_window")
    insecure = entry.get("insecure", False)
    if not isinstance(insecure, bool):
        raise ConfigError(f"config {path}: profiles.{name}.insecure must be true or false")
    return Profile(
        name=name, url=text("url"), user=text("user"), password=text("password"), token=text("token"),
        token_file=text("token_file"), insecure=insecure, online_window=window,
    )


# the most Dashboards one view may name (each is a stream, a client and a store)
VIEW_MAX = 16


@dataclass(frozen=True)
class View:
    """``[views.NAME]``: several Dashboards shown as one grid, by profile name and/or bare URL."""

    name: str
    profiles: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()


def _is_view(entry: object) -> bool:
    return isinstance(entry, dict) and ("profiles" in entry or "urls" in entry)


def load_view(name: str, path: Path | None = None) -> View:
    """Read ``[views.NAME]`` (``profiles = ["a", "b"]``, optionally ``urls = [...]``).

    A view that is not there is a :class:`UsageError` listing the views there
    are (tables under ``[views]`` with ``profiles`` or ``urls``: a ``[views.NAME.ui]``
    table alone is settings saved for a combination, not a view).  The profiles
    it names are checked when they are loaded.
    """
    path = path or config_path()
    data = _read_config(path, f"view {name!r}")
    assert data is not None
    views = data.get("views", {})
    if not isinstance(views, dict):
        raise ConfigError(f"config {path}: [views] must be a table")
    entry = views.get(name)
    if not _is_view(entry):
        known = ", ".join(sorted(k for k, v in views.items() if _is_view(v))) or "none"
        raise UsageError(f"config {path} has no view {name!r} (views: {known})")
    assert isinstance(entry, dict)

    def names(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"config {path}: views.{name}.{key} must be a list of names (strings)")
        return tuple(dict.fromkeys(value))  # in order, each once

    view = View(name=name, profiles=names("profiles"), urls=names("urls"))
    if not view.profiles and not view.urls:
        raise ConfigError(f"config {path}: views.{name} names no Dashboard (profiles = [\"a\", \"b\"])")
    if len(view.profiles) + len(view.urls) > VIEW_MAX:
        raise ConfigError(f"config {path}: views.{name} names more than {VIEW_MAX} Dashboards")
    return view


_SCHEMES = ("http", "https", "ws", "wss")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f]")
_BAD_HOST = re.compile(r"[\s%<>\"{}|\\^`]")
URL_MAX = 2048


def _echo(url: str) -> str:
    """A rejected URL as shown back: its scheme and authority only (a path or query may hold a
    token: ``?token=`` is how browsers pass one), quoted, at most URL_ECHO_MAX characters."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    shown = scheme + sep + authority + ("/…" if len(authority) < len(rest) else "")
    shown = shown if len(shown) <= URL_ECHO_MAX else shown[: URL_ECHO_MAX - 1] + "…"
    return repr(shown)


def check_url(url: str, source: str = "the Dashboard URL") -> str:
    """``url`` stripped, if it can be a Dashboard's; else a UsageError that never echoes a password.

    A URL with a user name or password (``https://user:pass@host``) is refused
    without being echoed: the password belongs in NEZHA_PASSWORD or a prompt.
    Only the first URL_ECHO_MAX characters of a rejected URL are shown.
    """
    raw = (url or "").strip()
    if not raw:
        raise UsageError(f"{source} is empty")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "", raw
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in raw:  # anywhere: a password holding / ? or # would end the authority early
        raise UsageError(f"{source} holds an @ (a user name or password?): leave that out and use --user NAME "
                         "(the password from NEZHA_PASSWORD or a prompt) or a token")
    if len(raw) > URL_MAX:
        raise UsageError(f"{source} is too long ({len(raw)} characters) to be a Dashboard's")
    if _CONTROL_OR_SPACE.search(raw):
        raise UsageError(f"{source} holds spaces or control characters: {_echo(raw)}")
    if sep and scheme.lower() not in _SCHEMES:
        shown = scheme if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}", scheme) else _echo(scheme)
        raise UsageError(f"{source} has the unsupported scheme {shown} (use http:// or https://)")
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket:
            raise UsageError(f"{source} is malformed (an IPv6 address without its closing ]): {_echo(raw)}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"{source} has a malformed IPv6 address: {_echo(raw)}") from None
        if after and not after.startswith(":"):
            raise UsageError(f"{source} is malformed: {_echo(raw)}")
        port = after[1:] if after else ""
    else:
        host, _, port = authority.partition(":")
        if ":" in port:
            raise UsageError(f"{source} is malformed (an IPv6 address needs [brackets]): {_echo(raw)}")
        if not host or len(host) > 253 or _BAD_HOST.search(host) or ".." in host:
            raise UsageError(f"{source} has no valid host name: {_echo(raw)}")
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise UsageError(f"{source} has an invalid port (1-65535): {_echo(raw)}")
    return raw


def resolve_url(arg: str | None, profile: Profile, env: Mapping[str, str]) -> str:
    """The URL to use, checked (:func:`check_url`); UsageError if none is given or it is malformed."""
    if arg:
        return check_url(arg)
    if env.get("NEZHA_URL", ""):
        return check_url(env["NEZHA_URL"], "NEZHA_URL")
    if profile.url:
        return check_url(profile.url, f"the url of profile {profile.name!r}")
    raise UsageError("no Dashboard URL: pass one (nezha-tui https://nezha.example.com), "
                     "set NEZHA_URL, use --profile, or try --demo")


def resolve_auth(
    *,
    user: str | None,
    token_file: str | None,
    profile: Profile,
    env: Mapping[str, str],
    prompt: Callable[[str], str] | None,
    where: str = "",
) -> Credentials:
    """Pick the credentials; ``prompt`` asks for a password (``None``: not interactive).

    ``where`` names the Dashboard in the prompt and the errors when several are
    being opened (``work (https://nezha.example.com)``).
    """
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
        at = f" at {where}" if where else ""
        if prompt is None:
            how = "put it in the profile (mode 600)" if where else "set NEZHA_PASSWORD"
            raise ConfigError(f"a password is needed for user {username!r}{at}: {how} "
                              "or run in a terminal to be prompted")
        password = prompt(f"Password for {username}{at}: ")
        if not password:
            raise ConfigError(f"no password given{' for ' + where if where else ''}")
    return Credentials(username=username, password=password)
