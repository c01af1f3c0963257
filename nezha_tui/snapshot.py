"""``nezha-tui snapshot``: one stream frame, printed as a table or as JSON.

No Textual here: the client, the stream and the store, then text.  Every
failure is a :class:`SnapshotError` phrased for the user.

A proxy that fails now and then (a 502 page every few requests) does not fail
a snapshot: the idempotent GETs and the stream handshake are tried up to
``RETRIES`` more times after a 5xx or a network error, with a short backoff.
The login is not retried here (a failed one is the client's to remember).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from nezha_tui.api.errors import is_transient

__all__ = ["DashboardSnapshot", "SnapshotError", "first_frame", "take_snapshot", "take_snapshots", "snapshot_json",
           "snapshot_table", "several_json", "several_table"]

RETRIES = 2  # more attempts after a transient failure (5xx, network)
RETRY_DELAY = 0.5  # s before the first retry; doubled for the next


class SnapshotError(Exception):
    """A failure already phrased for the user."""


async def _retrying(call, retries: int = RETRIES, delay: float = RETRY_DELAY):
    """``await call()``; again after a transient failure, at most ``retries`` more times."""
    for attempt in range(retries + 1):
        try:
            return await call()
        except Exception as exc:
            if attempt == retries or not is_transient(exc):
                raise
        await asyncio.sleep(delay * 2 ** attempt)


async def first_frame(client, timeout: float, retries: int = RETRIES):
    """Open the stream, wait for one frame; any failure raises SnapshotError.

    A connection that fails in a way the stream retries soon (a 502, a reset) is
    given ``retries`` more attempts; one it waits the longest for (the firewall,
    an HTML page, a redirect elsewhere) or an auth failure ends it at once.
    """
    from nezha_tui.api.stream import BACKOFF_CAP, FleetStream, StreamState

    import time

    failures = 0
    stream_clock = time.monotonic

    loop = asyncio.get_running_loop()
    got: asyncio.Future = loop.create_future()

    def on_frame(frame, report) -> None:
        if not got.done():
            got.set_result((frame, report))

    def on_status(status) -> None:
        nonlocal failures
        failed = status.state in (StreamState.AUTH_FAILED, StreamState.RECONNECTING, StreamState.STALE)
        if status.state is StreamState.RECONNECTING and failures < retries:
            wait = (status.next_retry_at or 0.0) - stream_clock()
            if wait < BACKOFF_CAP * 0.5:  # a passing fault: the stream tries again soon
                failures += 1
                return
        if failed and not got.done():
            got.set_exception(SnapshotError(f"live stream: {status.message or status.state.name.lower()}"))

    stream = FleetStream(client, on_frame=on_frame, on_status=on_status, clock=stream_clock)
    task = asyncio.create_task(stream.run())
    try:
        async with asyncio.timeout(timeout):
            return await got
    except TimeoutError:
        raise SnapshotError(f"no frame from the live stream within {timeout:g} s") from None
    finally:
        stream.stop()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):  # the stream's own end is not the snapshot's business
            pass


async def take_snapshot(client, timeout: float, online_window: float):
    from nezha_tui.api.errors import NezhaError
    from nezha_tui.store import FleetStore

    try:
        try:
            await client.login()
            # return_exceptions: one failing must not cancel the other mid-connect (httpx's
            # connect under cancellation leaves a coroutine never awaited: a RuntimeWarning)
            answers = await asyncio.gather(_retrying(client.setting), _retrying(client.server_groups),
                                           return_exceptions=True)
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            setting, groups = answers
        except NezhaError as exc:
            raise SnapshotError(exc.message) from None
        frame, report = await first_frame(client, timeout)
    finally:
        await client.aclose()
    store = FleetStore(online_window=online_window)
    store.apply(frame, report)
    store.set_groups(groups)
    return setting, groups, frame, report, store


@dataclass
class DashboardSnapshot:
    """One Dashboard's part of a snapshot of several: its first frame, or why there is none."""

    name: str
    setting: Any = None
    groups: Any = None
    frame: Any = None
    report: Any = None
    store: Any = None
    error: str | None = None


async def take_snapshots(targets, timeout: float) -> list[DashboardSnapshot]:
    """Each ``(name, client, online_window)``'s first frame, all at once; one failing is its own
    :attr:`DashboardSnapshot.error`, never the others' (every client is closed)."""

    async def one(name: str, client, window: float) -> DashboardSnapshot:
        try:
            setting, groups, frame, report, store = await take_snapshot(client, timeout, window)
        except SnapshotError as exc:
            return DashboardSnapshot(name, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one Dashboard's surprise is not the others' business
            return DashboardSnapshot(name, error=f"unexpected error: {type(exc).__name__}: {exc}")
        return DashboardSnapshot(name, setting, groups, frame, report, store)

    return list(await asyncio.gather(*(one(name, client, window) for name, client, window in targets)))


def _server_items(frame, store, dashboard: str) -> list[dict]:
    import datetime as dt

    from nezha_tui.api.models import to_builtins

    now_s = store.now_ms / 1000.0
    servers = []
    for server in frame.servers:
        # exact text (escaped below), and for a repaired server the values the store kept
        item = to_builtins(store.received(server.id) or server)
        status = store.state_of(server.id)
        item["online"] = store.is_online(server.id)
        # "state" is the live values (HostState) already: the state in words goes in "status"
        item["status"] = status.state.value  # online, offline, disconnected, never_reported
        age = status.age(now_s)
        item["last_seen_age"] = None if age is None else round(age, 3)  # seconds before "now"
        item["offline_since"] = None
        if not status.online and status.last_active_s is not None:
            item["offline_since"] = dt.datetime.fromtimestamp(status.last_active_s, dt.timezone.utc).isoformat()
        item["repaired"] = sorted(status.repaired)
        if not status.has_values:  # never reported (or broken in its first frame): no values, not zeros
            item["state"] = None
        item["dashboard"] = dashboard  # ids are unique per Dashboard only: (dashboard, id) names a server
        servers.append(item)
    return servers


def _dashboard_entry(snap: DashboardSnapshot) -> dict:
    from nezha_tui.api.models import to_builtins

    if snap.error is not None:
        return {"name": snap.name, "site_name": None, "tsdb_enabled": None, "now": None, "online": None,
                "groups": [], "error": snap.error}
    return {"name": snap.name, "site_name": snap.setting.config.site_name, "tsdb_enabled": snap.setting.tsdb_enabled,
            "now": snap.frame.now, "online": snap.frame.online, "groups": to_builtins(snap.groups), "error": None}


def _dumps(doc: dict) -> str:
    import json

    from nezha_tui.api.sanitise import escape_json_controls

    # exact data, but C1, bidi and zero-width characters as \u escapes (json.dumps writes them raw)
    return escape_json_controls(json.dumps(doc, ensure_ascii=False, indent=2))


def snapshot_json(setting, groups, frame, store, dashboard: str = "") -> str:
    """One Dashboard: its site name, clock, groups and servers, each server marked with ``dashboard``;
    ``dashboards`` lists it as :func:`several_json` does."""
    from nezha_tui.api.models import to_builtins

    snap = DashboardSnapshot(dashboard, setting, groups, frame, None, store)
    doc = {
        "site_name": setting.config.site_name,
        "tsdb_enabled": setting.tsdb_enabled,
        "now": frame.now,
        "online": frame.online,
        "groups": to_builtins(groups),
        "dashboards": [_dashboard_entry(snap)],
        "servers": _server_items(frame, store, dashboard),
    }
    return _dumps(doc)


def several_json(snaps: list[DashboardSnapshot]) -> str:
    """Several Dashboards: ``dashboards`` (name, site name, clock, groups, error: each its own ids)
    and every server that answered, each marked with its ``dashboard``."""
    servers: list[dict] = []
    for snap in snaps:
        if snap.error is None:
            servers += _server_items(snap.frame, snap.store, snap.name)
    return _dumps({"dashboards": [_dashboard_entry(snap) for snap in snaps], "servers": servers})


def _rows(setting, groups, store, dashboard: str | None) -> list[tuple[str, ...]]:
    from nezha_tui.api.sanitise import sanitise
    from nezha_tui.format import cut_cells, fmt_duration, fmt_percent, fmt_speed, percent_of
    from nezha_tui.store import state_phrase

    now_s = store.now_ms / 1000.0

    def name_cell(text: str) -> str:  # sanitised already; cut so one name cannot widen the table
        return cut_cells(sanitise(text), 40)

    group_of: dict[int, str] = {}
    for g in groups:
        for sid in g.servers:
            group_of.setdefault(sid, name_cell(g.group.name))
    rows = []
    # the store's servers: the frame's, with their text sanitised (issue 9) and a repaired
    # server's kept values, never the raw frame
    for s in store.servers.values():
        online = store.is_online(s.id)
        status = store.state_of(s.id)
        st, h = s.state, s.host
        if not status.has_values:  # never reported: no value to show, not zeros
            values = ("-",) * 6
        else:  # an offline server's values are its last known ones (STATUS says since when)
            values = (
                fmt_percent(st.cpu),
                fmt_percent(percent_of(st.mem_used, h.mem_total)) if h.mem_total else "-",
                fmt_percent(percent_of(st.disk_used, h.disk_total)) if h.disk_total else "-",
                fmt_speed(st.net_in_speed) if online else "-", fmt_speed(st.net_out_speed) if online else "-",
                fmt_duration(st.uptime) if online else "-",
            )
        row = (str(s.id), state_phrase(status, now_s), name_cell(s.name) or f"#{s.id}",
               cut_cells(s.country_code.upper(), 3) or "-", *values, group_of.get(s.id, ""))
        rows.append(row if dashboard is None else (name_cell(dashboard), *row))
    return rows


_HEADER = ("ID", "STATUS", "NAME", "CC", "CPU", "MEM", "DISK", "IN/s", "OUT/s", "UPTIME", "GROUP")
_RIGHT = frozenset({0, 4, 5, 6, 7, 8, 9})  # the numbers (ID and the values)


def _layout(header: tuple[str, ...], rows: list[tuple[str, ...]], right: frozenset[int]) -> list[str]:
    from rich.cells import cell_len  # wide (CJK) characters take two columns

    rows = [header, *rows]
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(header))]

    def pad(i: int, cell: str) -> str:
        fill = " " * (widths[i] - cell_len(cell))
        return fill + cell if i in right else cell + fill

    return ["  ".join(pad(i, c) for i, c in enumerate(r)).rstrip() for r in rows]


def _title(setting, store) -> str:
    from nezha_tui.api.sanitise import sanitise

    total = len(store.servers)
    online = sum(1 for sid in store.servers if store.is_online(sid))
    return f"{sanitise(setting.config.site_name) or 'Nezha'}: {total} servers, {online} online, {total - online} offline"


def snapshot_table(setting, groups, frame, store) -> str:
    return "\n".join([_title(setting, store), *_layout(_HEADER, _rows(setting, groups, store, None), _RIGHT)])


def several_table(snaps: list[DashboardSnapshot]) -> str:
    """A title line per Dashboard that answered (its name, its site name), then one table with a
    DASHBOARD column; the ones that failed are said on stderr by the caller."""
    from nezha_tui.api.sanitise import sanitise

    titles, rows = [], []
    for snap in snaps:
        if snap.error is not None:
            continue
        name = sanitise(snap.name)
        title = _title(snap.setting, snap.store)
        titles.append(title if title.startswith(name + ":") else f"{name}: {title}")
        rows += _rows(snap.setting, snap.groups, snap.store, snap.name)
    return "\n".join([*titles, *_layout(("DASHBOARD", *_HEADER), rows, frozenset(i + 1 for i in _RIGHT))])
