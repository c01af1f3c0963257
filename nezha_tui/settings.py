"""UI settings that stay between runs, kept in the config file beside the profiles.

Layout of ``config.toml`` (see README, "Settings that stay")::

    [ui]                  # theme and bell: for every Dashboard
    theme = "nord"
    bell = true
    view = "cards"        # view ... columns: without a profile (a URL on the command line),
    sort = "cpu"          # and the defaults of profiles and the demo that have not saved their own
    reverse = false
    group = "eu"
    offline_first = false
    pin_alerts = true     # servers with an active alert first (the ! key)
    columns = ["name", "cpu", "mem"]

    [profiles.home.ui]    # view, sort, reverse, group, offline_first, pin_alerts, columns for profile "home"
    view = "table"

    [demo.ui]             # the same for --demo

    [keymap]              # binding id -> keys (comma-separated), for every screen
    "nezha.sort_next" = "s"

Theme, bell and the keymap are global: they are about the person at the
terminal.  What shows of a fleet is per profile: a group name only means
something on one Dashboard.

The file is only ever rewritten whole and atomically (a temporary file in the
same directory, fsync, ``os.replace``), through tomlkit so the user's comments,
order and own keys stay byte for byte; only the keys that changed are touched.
A file that cannot be parsed is never rewritten.  No Textual here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from nezha_tui.config import ConfigError, read_config_text
from nezha_tui.fleet_view import SORT_KEYS

__all__ = ["DEMO_SCOPE", "GLOBAL_FIELDS", "LoadedSettings", "NO_PROFILE_SCOPE", "SCOPED_FIELDS", "Scope",
           "SettingsError", "SettingsFile", "SettingsStore", "UiSettings", "View", "check_keys", "profile_scope",
           "write_atomically"]

log = logging.getLogger("nezha_tui.settings")

View = Literal["table", "cards"]
VIEWS: tuple[str, ...] = get_args(View)

UI_TABLE = "ui"
KEYMAP_TABLE = "keymap"
NEW_FILE_MODE = 0o600
"""A new config file: it may come to hold a password, so private from the start."""
TEXT_MAX = 200
"""The longest theme, sort or column name taken from the file."""
GROUP_MAX = 4096
"""The longest group name taken from the file (and so saved: a Dashboard's group is any text)."""
COLUMNS_MAX = 64


@dataclass(frozen=True)
class UiSettings:
    """What the user chose in the UI, as saved.  Defaults are what a first start shows."""

    theme: str | None = None
    """A Textual theme name; ``None``: Textual's default."""
    bell: bool = False
    view: View = "table"
    sort: str = "default"
    """A :data:`~nezha_tui.fleet_view.SORT_KEYS` id."""
    reverse: bool = False
    group: str | None = None
    """A server group's name; ``None``: all servers."""
    offline_first: bool = False
    pin_alerts: bool = True
    """Servers with an active alert (offline, a rule firing) above the rest, marked (``!``)."""
    columns: tuple[str, ...] | None = None
    """The table's columns by id, in order; ``None``: chosen by the width."""


GLOBAL_FIELDS: frozenset[str] = frozenset({"theme", "bell"})
"""Saved in ``[ui]`` whatever the profile."""
SCOPED_FIELDS: frozenset[str] = frozenset(f.name for f in fields(UiSettings)) - GLOBAL_FIELDS
"""Saved per profile (``[profiles.NAME.ui]``), or for the demo (``[demo.ui]``), or in ``[ui]``."""

Scope = tuple[str, ...]
"""Where the scoped fields live: the path of the table that holds the ``ui`` table."""
NO_PROFILE_SCOPE: Scope = ()
DEMO_SCOPE: Scope = ("demo",)


def profile_scope(name: str) -> Scope:
    return ("profiles", name)


def _table_name(path: tuple[str, ...]) -> str:
    """``("profiles", "my home", "ui")`` as TOML writes it: ``profiles."my home".ui``."""
    return ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else '"' + p.replace('"', '\\"') + '"' for p in path)


class SettingsError(Exception):
    """Why the settings could not be saved: one line, no secret."""


# --------------------------------------------------------------------------- values


_SORT_IDS = frozenset(k.id for k in SORT_KEYS)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > TEXT_MAX:
        raise ValueError(f"must be a name (text of 1 to {TEXT_MAX} characters)")
    return value


def _group(value: object) -> str:
    """A Dashboard's group name: any text (spaces only, quotes, markup: TOML holds them all),
    up to GROUP_MAX characters, that UTF-8 can write (no lone surrogate)."""
    if not isinstance(value, str) or len(value) > GROUP_MAX:
        raise ValueError(f"must be a group name (text of up to {GROUP_MAX} characters)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be a group name (text UTF-8 can write)") from None
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _view(value: object) -> str:
    if value not in VIEWS:
        raise ValueError(f"must be {' or '.join(repr(v) for v in VIEWS)}")
    return str(value)


def _sort(value: object) -> str:
    value = _text(value)
    if value not in _SORT_IDS:  # e.g. a sort key of a newer version: the default, quietly
        log.info("ui.sort %r is not a sort key; sorting in the Dashboard's order", value)
        return "default"
    return value


def _columns(value: object) -> tuple[str, ...]:
    if (not isinstance(value, list) or len(value) > COLUMNS_MAX
            or not all(isinstance(v, str) and v and len(v) <= TEXT_MAX for v in value)):
        raise ValueError("must be a list of column names")
    return tuple(value)


_CHECKS: dict[str, Any] = {
    "theme": _text, "bell": _flag, "view": _view, "sort": _sort, "reverse": _flag, "group": _group,
    "offline_first": _flag, "pin_alerts": _flag, "columns": _columns,
}


def _to_toml(value: object) -> object:
    """A field's value as TOML holds it (``None`` is no key at all)."""
    return list(value) if isinstance(value, tuple) else value


# --------------------------------------------------------------------------- keymap

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_KEY_NAME = re.compile(r"[a-z][a-z0-9_]*")


def check_keys(value: object) -> str:
    """A keymap entry's keys as Textual takes them (``"ctrl+s,f5"``); ValueError saying what is wrong.

    A key is one printable character (``"s"``, ``"?"``) or a Textual key name (``"f5"``,
    ``"pageup"``, ``"question_mark"``), after optional modifiers (``ctrl+``, ``shift+``, ...).
    A list of keys is taken too.
    """
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be keys as text, e.g. \"s\" or \"ctrl+s,f5\"")
    keys = [k.strip() for k in value.split(",")]
    for key in keys:
        *modifiers, base = key.split("+")
        if not key or not base:
            raise ValueError(f"has an empty key in {value!r} (a comma is \"comma\", a plus \"plus\")")
        bad = [m for m in modifiers if m not in MODIFIERS]
        if bad:
            raise ValueError(f"has the unknown modifier {bad[0]!r} (use {', '.join(sorted(MODIFIERS))})")
        if not (len(base) == 1 and base.isprintable() and not base.isspace()) and not _KEY_NAME.fullmatch(base):
            raise ValueError(f"has the unknown key {base!r} (one character, or a name such as f5, pageup, space)")
    return ",".join(keys)


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """``{"nezha": {"sort_next": "s"}}`` (an unquoted dotted key) as ``{"nezha.sort_next": "s"}``."""
    out: dict[str, object] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedSettings:
    ui: UiSettings = UiSettings()
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys, each entry's keys checked (the ids are checked by the UI, which knows them)."""
    problems: tuple[str, ...] = ()
    """One line each: a value that was ignored, a file that could not be read."""
    writable: bool = True
    """``False`` when the file could not be read or parsed: it is never rewritten."""


def _node(data: Mapping[str, Any], path: tuple[str, ...]) -> object:
    """What is at ``path`` (``None`` if nothing is)."""
    node: object = data
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _table(data: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any] | None:
    node = _node(data, path)
    return node if isinstance(node, dict) else None


def _parse(data: Mapping[str, Any], scope: Scope, where: str) -> LoadedSettings:
    problems: list[str] = []
    values: dict[str, object] = {}
    scoped = _table(data, (*scope, UI_TABLE)) if scope else None
    common = _table(data, (UI_TABLE,))
    for path in dict.fromkeys(((UI_TABLE,), (*scope, UI_TABLE), (KEYMAP_TABLE,))):
        node = _node(data, path)
        if node is not None and not isinstance(node, dict):
            problems.append(f"{where}: {_table_name(path)} must be a table ([{_table_name(path)}]); ignored")
    for f in fields(UiSettings):
        for table, table_path in ((scoped, (*scope, UI_TABLE)), (common, (UI_TABLE,))):
            if table is None or f.name not in table or (f.name in GLOBAL_FIELDS and table is scoped):
                continue
            try:
                values[f.name] = _CHECKS[f.name](table[f.name])
            except ValueError as exc:
                problems.append(f"{where}: {_table_name((*table_path, f.name))} {exc}; ignored")
                continue
            break
    keymap: dict[str, str] = {}
    entries = _table(data, (KEYMAP_TABLE,))
    for binding_id, keys in _flatten(entries or {}).items():
        try:
            keymap[binding_id] = check_keys(keys)
        except ValueError as exc:
            problems.append(f"{where}: keymap {binding_id!r} {exc}; ignored")
    return LoadedSettings(UiSettings(**values), keymap, tuple(problems))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the file


def write_atomically(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` by ``text`` so that a reader (or a crash) sees the old file or the new one,
    never a part: a temporary file in the same directory, fsync, ``os.replace``, fsync of the
    directory.  The new file gets ``mode`` from the start (it is never readable by others on the way)."""
    directory = path.parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:  # newline="": \r\n stays \r\n
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # the rename itself, durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class SettingsFile:
    """The UI settings of one scope in one config file: :meth:`load` and :meth:`save`."""

    def __init__(self, path: Path, scope: Scope = NO_PROFILE_SCOPE) -> None:
        self.path = path
        self.scope = scope

    def _where(self) -> str:
        return f"config {self.path}"

    def _read(self) -> str | None:
        """The file's text, ``None`` if there is none; ConfigError if it cannot be read."""
        if not os.path.lexists(self.path):
            return None
        return read_config_text(self.path)

    def load(self) -> LoadedSettings:
        """The settings of this scope; never raises (what is wrong goes to ``problems``)."""
        try:
            text = self._read()
            data = {} if text is None else tomllib.loads(text)
        except ConfigError as exc:
            return LoadedSettings(problems=(f"{exc}; settings are not saved",), writable=False)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            return LoadedSettings(problems=(f"{self._where()} is not valid TOML ({reason}); settings are not saved",),
                                  writable=False)
        return _parse(data, self.scope, self._where())

    def save(self, changes: Mapping[str, object]) -> None:
        """Write ``changes`` (field name -> value; ``None`` removes the key) into the file, touching
        nothing else; SettingsError when that cannot be done safely."""
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        unknown = set(changes) - GLOBAL_FIELDS - SCOPED_FIELDS
        if unknown:
            raise ValueError(f"not settings: {sorted(unknown)}")
        for name, value in changes.items():  # what load would refuse is not written (it would warn at every start)
            if value is not None:
                try:
                    _CHECKS[name](_to_toml(value))
                except ValueError as exc:
                    table = (UI_TABLE,) if name in GLOBAL_FIELDS else (*self.scope, UI_TABLE)
                    raise SettingsError(f"{_table_name((*table, name))} {exc}; settings not saved") from None
        # through a symbolic link (dotfiles kept elsewhere): the file it points to is replaced, not the link
        path = Path(os.path.realpath(self.path))
        try:
            text = self._read()
        except ConfigError as exc:
            raise SettingsError(str(exc)) from None
        if text is None:
            old_data: dict[str, Any] = {}
            doc = tomlkit.document()
            mode = NEW_FILE_MODE
        else:
            try:
                old_data = tomllib.loads(text)
                doc = tomlkit.parse(text)
            except (tomllib.TOMLDecodeError, TOMLKitError, RecursionError, ValueError):
                raise SettingsError(f"{self._where()} is not valid TOML; settings not saved") from None
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except OSError as exc:
                raise SettingsError(f"cannot read config {self.path}: {exc.strerror}") from None
        expected = _plain_copy(old_data)
        by_table: dict[tuple[str, ...], dict[str, object]] = {}
        for name, value in changes.items():
            by_table.setdefault((UI_TABLE,) if name in GLOBAL_FIELDS else (*self.scope, UI_TABLE), {})[name] = value
        for table_path, values in by_table.items():
            _set_toml(doc, table_path, values, self._where())  # first: it refuses a key in the way
            for name, value in values.items():
                _set_plain(expected, table_path, name, value)
        new_text = doc.as_string()
        try:
            if _comparable(tomllib.loads(new_text)) != _comparable(expected):  # the safety net: all else as it was
                raise SettingsError(f"{self._where()}: the settings could not be written without changing "
                                    "other keys; settings not saved")
        except tomllib.TOMLDecodeError:
            raise SettingsError(f"{self._where()}: the settings could not be written as valid TOML; "
                                "settings not saved") from None
        if new_text == text:
            return
        try:
            if text is None:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomically(path, new_text, mode)
        except OSError as exc:
            raise SettingsError(f"cannot write config {self.path}: {exc.strerror or type(exc).__name__}") from None


def _comparable(data: Any) -> Any:
    """``data`` with NaNs made equal to each other (``nan = nan`` is valid TOML)."""
    if isinstance(data, dict):
        return {k: _comparable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_comparable(v) for v in data]
    if isinstance(data, float) and data != data:
        return ("nan",)
    return data


def _plain_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain_copy(v) for v in data]
    return data


def _set_plain(data: dict[str, Any], path: tuple[str, ...], name: str, value: object) -> None:
    node = data
    for key in path:
        if value is None and key not in node:
            return
        node = node.setdefault(key, {})
    if value is None:
        node.pop(name, None)
    else:
        node[name] = _to_toml(value)


def _set_toml(doc: Any, path: tuple[str, ...], values: Mapping[str, object], where: str) -> None:
    """Set ``values`` in the table at ``path`` of the tomlkit document (``None``: remove the key),
    creating the tables on the way; a key that exists keeps its place and its comment."""
    import tomlkit
    from tomlkit.items import InlineTable

    setting = {name: _to_toml(value) for name, value in values.items() if value is not None}
    node = doc
    for depth, key in enumerate(path):
        child = node.get(key)
        if child is None:
            if not setting:
                return
            if isinstance(node, InlineTable):
                child = tomlkit.inline_table()
            elif depth < len(path) - 1:  # [demo.ui] without an empty [demo] above it
                child = tomlkit.table(is_super_table=True)
            else:  # its keys, then a blank line as between the user's tables
                child = tomlkit.table()
                for name, value in setting.items():
                    child[name] = value
                child.add(tomlkit.nl())
                node[key] = child
                return
            node[key] = child
            child = node[key]
        elif not isinstance(child, dict):
            raise SettingsError(f"{where}: {_table_name(path[: depth + 1])} is not a table; settings not saved")
        node = child
    for name, value in values.items():
        if value is None:
            if name in node:
                del node[name]
        else:
            node[name] = _to_toml(value)


# --------------------------------------------------------------------------- in memory


class SettingsStore:
    """The settings in use, what changed since they were saved, and where they go (``file``).

    Without a file (tests, ``snapshot``) nothing is ever written.  :meth:`remember` is cheap
    (a comparison); :meth:`flush` writes what changed, once, and is what may fail.
    """

    def __init__(self, loaded: LoadedSettings | None = None, file: SettingsFile | None = None) -> None:
        loaded = loaded or LoadedSettings()
        self.current: UiSettings = loaded.ui
        self.keymap: dict[str, str] = dict(loaded.keymap)
        self.problems: tuple[str, ...] = loaded.problems
        self.file = file if loaded.writable else None
        self._saved = loaded.ui

    @classmethod
    def from_file(cls, file: SettingsFile) -> SettingsStore:
        return cls(file.load(), file)

    @property
    def pending(self) -> bool:
        return self.current != self._saved

    def remember(self, **changes: Any) -> bool:
        """Take new values (UiSettings field names); ``True`` when something now differs from the file."""
        new = replace(self.current, **changes)
        if new == self.current:
            return False
        self.current = new
        return self.pending

    def flush(self) -> None:
        """Write the fields that differ from what was saved; SettingsError if that failed (the
        changes stay pending: the next flush tries again)."""
        saved = asdict(self._saved)
        changes = {name: value for name, value in asdict(self.current).items() if value != saved[name]}
        if not changes:
            return
        if self.file is not None:
            self.file.save(changes)
        self._saved = replace(self._saved, **changes)
