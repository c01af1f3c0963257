"""The event log file: append, read back, rotation, a torn last line after a crash, the watch record and
the gap it gives, file modes and errors."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import stat

import pytest

from nezha_tui.alerts import eventlog as eventlog_mod
from nezha_tui.alerts.event import Event, EventKind, Severity
from nezha_tui.alerts.eventlog import (
    GAP_MIN_MS,
    WATCH_EVERY_MS,
    EventLog,
    EventLogError,
    default_log_path,
    state_dir,
)

T0 = 1_764_771_720_000  # 2025-12-03 14:22:00 UTC
UTC = dt.timezone.utc


def ev(i: int, *, message: str | None = None, dashboard: str = "prod", **kw) -> Event:
    return Event(ts_ms=T0 + i * 1000, kind=kw.pop("kind", EventKind.OFFLINE),
                 severity=kw.pop("severity", Severity.WARNING),
                 message=message if message is not None else f"srv-{i} is offline",
                 dashboard=dashboard, server_id=i, server_name=f"srv-{i}", **kw)


def messages(events: list[Event]) -> list[str]:
    return [e.message for e in events]


# ---------------------------------------------------------------------------- state dir


def test_state_dir_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("NEZHA_TUI_STATE_DIR", str(tmp_path / "st"))
    assert state_dir() == tmp_path / "st"
    assert default_log_path() == tmp_path / "st" / "events.jsonl"


def test_state_dir_default_is_the_platforms(monkeypatch):
    import platformdirs

    monkeypatch.delenv("NEZHA_TUI_STATE_DIR", raising=False)
    assert state_dir() == platformdirs.user_state_path("nezha-tui")


# ---------------------------------------------------------------------------- append / read


def test_append_and_read_back_oldest_first(tmp_path):
    log = EventLog(tmp_path / "state" / "events.jsonl")
    assert log.read_recent(10) == []  # no file yet: empty, no error
    log.append([ev(1), ev(2)])
    log.append([])
    log.append([ev(3, kind=EventKind.SERVICE_DOWN, service_id=7, service_name="api", rule="service down",
                   data={"down_today": 3})])
    got = log.read_recent(10)
    assert got == [ev(1), ev(2), ev(3, kind=EventKind.SERVICE_DOWN, service_id=7, service_name="api",
                                    rule="service down", data={"down_today": 3})]
    assert messages(log.read_recent(2)) == ["srv-2 is offline", "srv-3 is offline"]
    assert log.read_recent(0) == []
    # a new instance (a restart) reads the same
    assert EventLog(log.path).read_recent(10) == got
    # each line is the event's JSON object
    lines = log.path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4
    assert json.loads(lines[0]) == ev(1).to_json()


def test_modes_private(tmp_path):
    log = EventLog(tmp_path / "new" / "events.jsonl")
    log.append([ev(1)])
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log.path.parent).st_mode) == 0o700
    log.watching("prod", T0)
    assert stat.S_IMODE(os.stat(log.watch_path).st_mode) == 0o600


def test_an_existing_world_readable_log_is_made_private(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    EventLog(path).append([ev(1)])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_one_write_per_batch(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "events.jsonl")
    log.append([ev(0)])  # opened
    writes = []
    real_write = os.write

    def counting(fd, data):
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(eventlog_mod.os, "write", counting)
    log.append([ev(i) for i in range(1, 50)])
    assert len(writes) == 1 and writes[0].count(b"\n") == 49 and writes[0].endswith(b"\n")


def test_a_short_write_is_continued_not_rewritten(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "events.jsonl")
    real_write = os.write
    monkeypatch.setattr(eventlog_mod.os, "write", lambda fd, data: real_write(fd, bytes(data)[:7]))
    log.append([ev(1), ev(2)])
    monkeypatch.undo()
    assert log.read_recent(5) == [ev(1), ev(2)]


def test_hostile_and_odd_text_stays_one_line(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.append([
        ev(1, message="a\nb\r\n{\"kind\":\"gap\"}\u2028c"),
        ev(2, message="lone \ud800 surrogate", data={"x": "\udc80"}),
        ev(3, data={"nan": float("nan"), "obj": object()}),
        ev(4, message="服务器 ✓"),
    ])
    assert log.path.read_bytes().count(b"\n") == 4
    got = log.read_recent(10)
    assert [e.server_id for e in got] == [1, 2, 3, 4]
    assert got[0].message == "a b  {\"kind\":\"gap\"} c"  # sanitised again on the way back in
    assert got[3].message == "服务器 ✓"
    assert "服务器".encode() in log.path.read_bytes()  # readable with tail -f, not \u escapes


def test_bad_lines_are_skipped(tmp_path):
    path = tmp_path / "events.jsonl"
    good = [json.dumps(ev(i).to_json()).encode() for i in range(3)]
    path.write_bytes(b"\n".join([
        good[0], b"not json", b"\xff\xfe bad utf-8", b"[1, 2]", b'{"kind": "offline"}', b"[" * 100_000,
        b"", good[1], b'{"ts_ms": true, "kind": "offline", "severity": "info", "message": "x"}', good[2],
    ]) + b"\n")
    assert EventLog(path).read_recent(10) == [ev(0), ev(1), ev(2)]
    # an escaped lone surrogate (written by hand or by another tool) still reads
    with open(path, "ab") as f:
        f.write(json.dumps(ev(3, message="x\ud800").to_json(), ensure_ascii=True).encode() + b"\n")
    assert EventLog(path).read_recent(1)[0].server_id == 3


def test_reading_back_across_read_blocks(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    events = [ev(i, message=f"srv-{i} " + "x" * (i % 700)) for i in range(2000)]  # ~800 kB, lines of all sizes
    for i in range(0, 2000, 37):
        log.append(events[i:i + 37])
    assert log.path.stat().st_size > 10 * 65536
    assert log.read_recent(5000) == events
    assert log.read_recent(3) == events[-3:]


# ---------------------------------------------------------------------------- a crash


def test_torn_last_line_after_a_crash(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.append([ev(1), ev(2)])
    # the process dies halfway through writing a line
    torn = json.dumps(ev(3).to_json()).encode()[:40]
    with open(path, "ab") as f:
        f.write(torn)
    # the next run: the torn line is skipped, earlier lines kept
    after = EventLog(path)
    assert after.read_recent(10) == [ev(1), ev(2)]
    # and appending starts on a new line: the new event is whole
    after.append([ev(4)])
    assert after.read_recent(10) == [ev(1), ev(2), ev(4)]
    assert path.read_bytes().split(b"\n")[2] == torn


def test_disk_full_halfway_keeps_earlier_lines_and_the_next_batch_is_whole(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "events.jsonl")
    log.append([ev(1)])
    real_write = os.write
    calls = []

    def half_then_full(fd, data):
        calls.append(1)
        if len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(eventlog_mod.os, "write", half_then_full)
    with pytest.raises(EventLogError) as info:
        log.append([ev(2), ev(3)])
    assert str(info.value) == f"cannot write the event log {log.path}: no space left on the device"
    monkeypatch.undo()
    assert log.read_recent(10)[0] == ev(1)
    log.append([ev(4)])  # space again
    assert log.read_recent(10)[-1] == ev(4)
    assert ev(1) in log.read_recent(10)


# ---------------------------------------------------------------------------- rotation


def test_rotation_bounds_the_files_and_reads_across_them(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path, max_bytes=2000, keep=2)
    line_len = len(json.dumps(ev(0).to_json(), ensure_ascii=False, separators=(",", ":"))) + 1
    n = 100
    for i in range(n):
        log.append([ev(i)])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2000
    per_file = 2000 // line_len
    kept = log.read_recent(10_000)
    # newest kept, oldest first, no gaps in what is kept
    assert [e.server_id for e in kept] == list(range(n - len(kept), n))
    assert len(kept) > 2 * per_file
    # rotated files are private too
    assert stat.S_IMODE(os.stat(tmp_path / "events.jsonl.2").st_mode) == 0o600
    # a limit spanning files
    assert [e.server_id for e in log.read_recent(per_file + 3)] == list(range(n - per_file - 3, n))


def test_keep_zero_drops_the_old_file(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", max_bytes=1024, keep=0)
    for i in range(30):
        log.append([ev(i)])
    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]
    assert log.read_recent(100)[-1] == ev(29)


def test_a_second_writer_follows_a_rotation(tmp_path):
    path = tmp_path / "events.jsonl"
    app, watch = EventLog(path, max_bytes=1024, keep=3), EventLog(path, max_bytes=1024, keep=3)
    watch.append([ev(0)])
    for i in range(1, 15):  # the app's appends rotate the file under watch's open descriptor
        app.append([ev(i)])
    assert (tmp_path / "events.jsonl.1").exists()
    watch.append([ev(99)])
    assert EventLog(path).read_recent(1) == [ev(99)]
    assert path.read_bytes().endswith(json.dumps(ev(99).to_json(), ensure_ascii=False,
                                                 separators=(",", ":")).encode() + b"\n")


# ---------------------------------------------------------------------------- errors


def test_a_directory_in_the_way(tmp_path):
    path = tmp_path / "events.jsonl"
    path.mkdir()
    with pytest.raises(EventLogError) as info:
        EventLog(path).append([ev(1)])
    assert str(info.value) == f"cannot write the event log {path}: a directory is in the way"
    with pytest.raises(EventLogError, match="cannot read the event log"):
        EventLog(path).read_recent(5)


def test_a_file_in_the_way_of_the_directory(tmp_path):
    (tmp_path / "state").write_text("x")
    log = EventLog(tmp_path / "state" / "events.jsonl")
    with pytest.raises(EventLogError) as info:
        log.append([ev(1)])
    assert str(info.value).startswith(f"cannot write the event log {log.path}: ")
    assert "\n" not in str(info.value)


def test_read_only_file_system(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "events.jsonl")
    log.append([ev(1)])
    log.close()

    def erofs(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(eventlog_mod.os, "open", erofs)
    with pytest.raises(EventLogError) as info:
        log.append([ev(2)])
    assert str(info.value) == f"cannot write the event log {log.path}: read-only file system"
    monkeypatch.undo()
    assert log.read_recent(5) == [ev(1)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_read_only_directory(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    log = EventLog(d / "events.jsonl")
    log.append([ev(1)])
    log.close()
    os.chmod(d / "events.jsonl", 0o400)
    os.chmod(d, 0o500)
    try:
        with pytest.raises(EventLogError, match="permission denied"):
            EventLog(d / "events.jsonl").append([ev(2)])
        with pytest.raises(EventLogError, match="cannot write the watch record"):
            EventLog(d / "events.jsonl").watching("prod", T0)
        assert EventLog(d / "events.jsonl").read_recent(5) == [ev(1)]
    finally:
        os.chmod(d, 0o700)


def test_watch_record_error_is_one_line(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.watch_path.mkdir()
    with pytest.raises(EventLogError) as info:
        log.watching("prod", T0)
    assert str(info.value).startswith(f"cannot write the watch record {log.watch_path}: ")
    assert "\n" not in str(info.value)
    log.close()  # never raises (the problem is logged)


# ---------------------------------------------------------------------------- watching and the gap


def watch_record(log: EventLog) -> dict:
    return json.loads(log.watch_path.read_text())["dashboards"]


def test_gap_after_a_restart(tmp_path):
    path = tmp_path / "events.jsonl"
    first = EventLog(path)
    assert first.gap("prod", T0, tz=UTC) is None  # never watched before
    first.watching("prod", T0 - 60_000)
    first.watching("prod", T0)  # 60 s later: written
    first.close()

    later = T0 + 98 * 60_000  # 14:22 -> 16:00
    second = EventLog(path)
    second.watching("prod", later)  # recording this run first does not hide the gap
    gap = second.gap("prod", later, tz=UTC)
    assert gap == Event(ts_ms=later, kind=EventKind.GAP, severity=Severity.INFO,
                        message="not watching from 14:22 to 16:00 (1h 38m)", dashboard="prod",
                        data={"from_ms": T0, "to_ms": later, "away_s": 98 * 60})
    assert second.gap("staging", later, tz=UTC) is None  # another Dashboard: no record
    # it goes into the log like any event and reads back the same
    second.append([gap])
    assert second.read_recent(1) == [gap]


def test_gap_across_days_names_the_dates(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.watching("prod", T0)
    log.close()
    later = T0 + 26 * 3600_000
    gap = EventLog(log.path).gap("prod", later, tz=UTC)
    assert gap is not None
    assert gap.message == "not watching from 2025-12-03 14:22 to 2025-12-04 16:22 (1d 2h)"


def test_gap_in_local_time_by_default(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.watching("prod", T0)
    log.close()
    gap = EventLog(log.path).gap("prod", T0 + 3600_000)
    start = dt.datetime.fromtimestamp(T0 / 1000).astimezone()
    assert gap is not None and gap.message.startswith(f"not watching from {start:%H:%M} to ")


def test_no_gap_under_a_minute(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.watching("prod", T0)
    log.close()
    again = EventLog(log.path)
    assert again.gap("prod", T0 + GAP_MIN_MS - 1, tz=UTC) is None
    assert again.gap("prod", T0 + GAP_MIN_MS, tz=UTC) is not None


def test_watching_writes_at_most_every_30_s(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "events.jsonl")
    writes = []
    real = eventlog_mod._write_atomically
    monkeypatch.setattr(eventlog_mod, "_write_atomically", lambda p, d: (writes.append(d), real(p, d)))
    log.watching("prod", T0)
    for s in range(1, 30):
        log.watching("prod", T0 + s * 1000)
    assert len(writes) == 1 and watch_record(log) == {"prod": T0}
    log.watching("prod", T0 + WATCH_EVERY_MS)
    assert len(writes) == 2 and watch_record(log) == {"prod": T0 + WATCH_EVERY_MS}
    log.watching("staging", T0 + WATCH_EVERY_MS)  # another Dashboard: its own clock
    assert watch_record(log) == {"prod": T0 + WATCH_EVERY_MS, "staging": T0 + WATCH_EVERY_MS}
    log.watching("prod", T0 + WATCH_EVERY_MS + 5000)
    assert len(writes) == 3
    log.close()  # the last moment is written on close
    assert watch_record(log)["prod"] == T0 + WATCH_EVERY_MS + 5000
    assert len(writes) == 4
    log.close()  # nothing new: no write
    assert len(writes) == 4


def test_a_corrupt_watch_record_means_no_gap(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    for junk in (b"{not json", b"[]", b'{"dashboards": {"prod": "yesterday", "x": true}}', b"\xff"):
        log.watch_path.write_bytes(junk)
        fresh = EventLog(log.path)
        assert fresh.gap("prod", T0, tz=UTC) is None
        fresh.watching("prod", T0)  # and it is replaced by a good one
        assert watch_record(fresh) == {"prod": T0}
