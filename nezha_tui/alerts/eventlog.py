"""The event log kept across restarts: an append-only JSON-lines file in the state dir.

One line per event (:meth:`Event.to_json`), written so that a crash never corrupts the lines before:

* a batch is appended with one ``os.write`` of complete lines on an ``O_APPEND`` descriptor (a short
  write is continued, never rewritten); earlier bytes are never touched;
* a line torn by a crash (no final newline) is closed with a newline before the next batch, so the torn
  line stays one bad line and the new lines stay whole; readers skip lines that are not events;
* when the file would grow over ``max_bytes`` it is rotated first (``events.jsonl`` -> ``.1`` -> ... ->
  ``.keep``; the oldest is dropped), so the log stays bounded at about ``(keep + 1) * max_bytes``.

The file is private (mode 0600, a new state dir 0700): events name servers and services.

Next to it a small sidecar (``events.watch.json``, replaced atomically) records the last moment each
Dashboard was watched, so the next run can show what it missed as a GAP event ("not watching from
14:02 to 15:40"), as far as it can know.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.format import fmt_duration

__all__ = ["EventLog", "EventLogError", "state_dir", "default_log_path", "LOG_NAME", "WATCH_EVERY_MS",
           "GAP_MIN_MS"]

log = logging.getLogger(__name__)

LOG_NAME = "events.jsonl"
"""The log's file name in :func:`state_dir`."""
WATCH_EVERY_MS = 30_000
""":meth:`EventLog.watching` writes the sidecar at most this often (of the Dashboard clock)."""
GAP_MIN_MS = 60_000
"""A shorter absence is no gap worth showing (a restart)."""
WATCH_DASHBOARDS_MAX = 200
"""Dashboards remembered in the sidecar (the most recently watched)."""
FILE_MODE = 0o600
DIR_MODE = 0o700


class EventLogError(Exception):
    """The log cannot be read or written; the message is one line naming the file and the reason."""


def state_dir() -> Path:
    """Where nezha-tui keeps state across runs: ``$NEZHA_TUI_STATE_DIR``, else the platform's user state
    dir (``~/.local/state/nezha-tui`` on Linux)."""
    env = os.environ.get("NEZHA_TUI_STATE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("nezha-tui"))


def default_log_path() -> Path:
    """The event log's path in :func:`state_dir`."""
    return state_dir() / LOG_NAME


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EROFS,):
        return "read-only file system"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "a directory is in the way"
    if isinstance(exc, NotADirectoryError) or exc.errno == errno.EEXIST:
        return "a file is in the way of its directory"
    return exc.strerror or type(exc).__name__


def _line(event: Event) -> bytes:
    """One log line (JSON, no raw newline inside).  Never raises: text that cannot be encoded as UTF-8
    (a lone surrogate) is escaped, and data that is not JSON-safe is written as text."""
    obj = event.to_json()
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        # data that is not JSON: keep the event, its data as text
        obj["data"] = {"text": repr(event.data)[:1000]}
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    # a lone surrogate (only ever inside a JSON string here) becomes "?": the line stays valid UTF-8 JSON
    return (text + "\n").encode("utf-8", "replace")


_decode = msgspec.json.Decoder().decode  # ~3x json.loads here; the same objects for the lines we write


def _parse(line: bytes) -> Event | None:
    if not line.strip():
        return None
    try:
        obj = _decode(line)
    except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
        try:  # what msgspec refuses and json reads (a "\ud800" escape written by hand)
            obj = json.loads(line)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting: not an event
            return None
    return Event.from_json(obj)


def _lines_backwards(f: BinaryIO, size: int, block: int = 1 << 16) -> Iterator[bytes]:
    """The file's lines, last first, reading blocks from the end (only as much as the caller takes)."""
    pos = size
    tail = b""
    while pos > 0:
        n = min(block, pos)
        pos -= n
        f.seek(pos)
        parts = (f.read(n) + tail).split(b"\n")
        tail = parts[0]
        yield from reversed(parts[1:])
    yield tail


class EventLog:
    """The JSON-lines event log at ``path`` (see the module doc).

    Not thread-safe: use it from one thread (the app's event loop).  Several processes may append to the
    same file (the app and ``watch``): each batch is one ``O_APPEND`` write, and a writer notices a rotation
    done by another and reopens.
    """

    def __init__(self, path: Path, max_bytes: int = 5_000_000, keep: int = 3) -> None:
        self.path = Path(path)
        self.max_bytes = max(1024, int(max_bytes))
        self.keep = max(0, int(keep))
        self.watch_path = self.path.with_name(self.path.stem + ".watch.json")
        self._fd: int | None = None
        self._size = 0
        self._need_newline = False
        # the sidecar: as found when first read (for gap) and as this run has it
        self._watch_loaded = False
        self._previous: dict[str, int] = {}
        self._current: dict[str, int] = {}
        self._written: dict[str, int] = {}

    # ------------------------------------------------------------------ writing

    def append(self, events: Iterable[Event]) -> None:
        """Append the events as one write of complete lines (rotating first when the file would grow
        over ``max_bytes``).  Raises :class:`EventLogError`; lines already in the file are never lost."""
        data = b"".join(_line(e) for e in events)
        if not data:
            return
        try:
            self._open()
            if self._size and self._size + len(data) > self.max_bytes:
                self._rotate()
                self._open()
            if self._need_newline:
                data = b"\n" + data
            self._write_all(data)
        except OSError as exc:
            self._close_fd()
            raise EventLogError(f"cannot write the event log {self.path}: {_reason(exc)}") from None

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except OSError:
                # some bytes of this batch may be in the file: the next batch starts on a new line
                self._need_newline = True
                raise
            if n <= 0:  # pragma: no cover - a regular file never does this
                self._need_newline = True
                raise OSError(errno.EIO, "short write")
            self._size += n
            view = view[n:]
        self._need_newline = False

    def _open(self) -> None:
        """Open (or reopen after another process rotated the file) the append descriptor."""
        if self._fd is not None:
            try:
                on_disk = os.stat(self.path)
                mine = os.fstat(self._fd)
                if (on_disk.st_ino, on_disk.st_dev) == (mine.st_ino, mine.st_dev):
                    self._size = mine.st_size
                    return
            except FileNotFoundError:
                pass
            self._close_fd()
        parent = self.path.parent
        if not parent.is_dir():
            parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, FILE_MODE)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "not a regular file")
            if st.st_mode & 0o077 and hasattr(os, "fchmod"):
                os.fchmod(fd, FILE_MODE)
            self._need_newline = st.st_size > 0 and not _ends_with_newline(self.path, st.st_size)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._size = st.st_size

    def _rotate(self) -> None:
        """events.jsonl -> .1 -> ... -> .keep (the oldest dropped); keep=0: the file is dropped."""
        self._close_fd()
        if self.keep == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return
        for n in range(self.keep - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self._rotated(n), self._rotated(n + 1))
        with contextlib.suppress(FileNotFoundError):  # another process may have rotated it just now
            os.replace(self.path, self._rotated(1))
        log.debug("event log rotated: %s", self.path)

    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Write the pending watch record (see :meth:`watching`) and close the file.  Never raises."""
        try:
            self.flush_watching()
        except EventLogError as exc:
            log.warning("%s", exc)
        self._close_fd()

    # ------------------------------------------------------------------ reading

    def read_recent(self, limit: int) -> list[Event]:
        """The newest ``limit`` events, oldest first, across the rotated files.  Lines that are not events
        (torn by a crash, edited by hand) are skipped.  A missing log is empty; a log that cannot be read
        raises :class:`EventLogError`."""
        if limit <= 0:
            return []
        newest_first: list[Event] = []
        for path in [self.path, *(self._rotated(n) for n in range(1, self.keep + 1))]:
            try:
                with open(path, "rb") as f:
                    for line in _lines_backwards(f, os.fstat(f.fileno()).st_size):
                        event = _parse(line)
                        if event is not None:
                            newest_first.append(event)
                            if len(newest_first) >= limit:
                                return newest_first[::-1]
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise EventLogError(f"cannot read the event log {path}: {_reason(exc)}") from None
        return newest_first[::-1]

    # ------------------------------------------------------------------ watching and gaps

    def _load_watch(self) -> None:
        if self._watch_loaded:
            return
        self._watch_loaded = True
        try:
            raw = json.loads(self.watch_path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("ignoring the watch record %s: %s", self.watch_path, type(exc).__name__)
            return
        found = raw.get("dashboards") if isinstance(raw, dict) else None
        if not isinstance(found, dict):
            return
        for name, ms in found.items():
            if isinstance(name, str) and isinstance(ms, int) and not isinstance(ms, bool):
                self._previous[name] = ms
        self._current = dict(self._previous)
        self._written = dict(self._previous)

    def watching(self, dashboard: str, now_ms: int) -> None:
        """Record that ``dashboard`` is watched at ``now_ms`` (its clock).  The sidecar is rewritten
        (atomically) at most once per :data:`WATCH_EVERY_MS` per Dashboard; :meth:`close` writes the
        last moment.  Raises :class:`EventLogError` when the sidecar cannot be written."""
        self._load_watch()
        self._current[dashboard] = now_ms
        last = self._written.get(dashboard)
        if last is None or not 0 <= now_ms - last < WATCH_EVERY_MS:
            self._write_watch()

    def flush_watching(self) -> None:
        """Write the watch record now if it holds moments not yet written."""
        if self._watch_loaded and self._current != self._written:
            self._write_watch()

    def _write_watch(self) -> None:
        newest = sorted(self._current.items(), key=lambda kv: kv[1], reverse=True)[:WATCH_DASHBOARDS_MAX]
        self._current = dict(newest)
        text = json.dumps({"dashboards": self._current}, ensure_ascii=False, indent=1) + "\n"
        try:
            _write_atomically(self.watch_path, text.encode("utf-8", "backslashreplace"))
        except OSError as exc:
            raise EventLogError(f"cannot write the watch record {self.watch_path}: {_reason(exc)}") from None
        self._written = dict(self._current)

    def last_watched(self, dashboard: str) -> int | None:
        """When ``dashboard`` was last watched before this run (its clock, unix ms), if recorded."""
        self._load_watch()
        return self._previous.get(dashboard)

    def gap(self, dashboard: str, now_ms: int, *, tz: _dt.tzinfo | None = None) -> Event | None:
        """The GAP event for the time ``dashboard`` was not watched before this run (from the sidecar as
        it was when first read, so calling :meth:`watching` first does not hide it): ``None`` when there
        is no earlier record or the absence is under a minute.  Times in ``tz`` (default: local)."""
        from_ms = self.last_watched(dashboard)
        if from_ms is None or now_ms - from_ms < GAP_MIN_MS:
            return None
        start, end = _local(from_ms, tz), _local(now_ms, tz)
        if start.date() == end.date():
            span = f"{start:%H:%M} to {end:%H:%M}"
        else:
            span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
        away_s = (now_ms - from_ms) // 1000
        return Event(
            ts_ms=now_ms, kind=EventKind.GAP, severity=Severity.INFO,
            message=f"not watching from {span} ({fmt_duration(away_s)})",
            dashboard=dashboard, data={"from_ms": from_ms, "to_ms": now_ms, "away_s": away_s},
        )


def _local(ms: int, tz: _dt.tzinfo | None) -> _dt.datetime:
    utc = _dt.datetime.fromtimestamp(ms / 1000.0, _dt.timezone.utc)
    return utc.astimezone(tz) if tz is not None else utc.astimezone()


def _ends_with_newline(path: Path, size: int) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(size - 1)
            return f.read(1) == b"\n"
    except OSError:
        return True


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data``: a private temporary file in the same directory, then ``os.replace``
    (a reader or a crash sees the old record or the new one, never a part)."""
    directory = path.parent
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), FILE_MODE)
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
