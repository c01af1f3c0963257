"""``nezha-tui snapshot``: one stream frame, printed as a table or as JSON.

No Textual here: the client, the stream and the store, then text.  Every
failure is a :class:`SnapshotError` phrased for the user.
"""

from __future__ import annotations

import asyncio

__all__ = ["SnapshotError", "first_frame", "take_snapshot", "snapshot_json", "snapshot_table"]


class SnapshotError(Exception):
    """A failure already phrased for the user."""


async def first_frame(client, timeout: float):
    """Open the stream, wait for one frame; any failure raises SnapshotError."""
    from nezha_tui.api.stream import FleetStream, StreamState

    loop = asyncio.get_running_loop()
    got: asyncio.Future = loop.create_future()

    def on_frame(frame, report) -> None:
        if not got.done():
            got.set_result((frame, report))

    def on_status(status) -> None:
        failed = status.state in (StreamState.AUTH_FAILED, StreamState.RECONNECTING, StreamState.STALE)
        if failed and not got.done():
            got.set_exception(SnapshotError(f"live stream: {status.message or status.state.name.lower()}"))

    stream = FleetStream(client, on_frame=on_frame, on_status=on_status)
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
            setting, groups = await asyncio.gather(client.setting(), client.server_groups())
        except NezhaError as exc:
            raise SnapshotError(exc.message) from None
        frame, report = await first_frame(client, timeout)
    finally:
        await client.aclose()
    store = FleetStore(online_window=online_window)
    store.apply(frame)
    store.set_groups(groups)
    return setting, groups, frame, report, store


def snapshot_json(setting, groups, frame, store) -> str:
    import json

    from nezha_tui.api.models import to_builtins

    servers = []
    for server in frame.servers:
        item = to_builtins(server)
        item["online"] = store.is_online(server.id)
        servers.append(item)
    doc = {
        "site_name": setting.config.site_name,
        "tsdb_enabled": setting.tsdb_enabled,
        "now": frame.now,
        "online": frame.online,
        "groups": to_builtins(groups),
        "servers": servers,
    }
    from nezha_tui.api.sanitise import escape_json_controls

    # exact data, but C1, bidi and zero-width characters as \u escapes (json.dumps writes them raw)
    return escape_json_controls(json.dumps(doc, ensure_ascii=False, indent=2))


def snapshot_table(setting, groups, frame, store) -> str:
    from nezha_tui.api.sanitise import sanitise
    from nezha_tui.format import cut_cells, fmt_duration, fmt_percent, fmt_speed, percent_of

    def name_cell(text: str) -> str:  # sanitised already; cut so one name cannot widen the table
        return cut_cells(sanitise(text), 40)

    group_of: dict[int, str] = {}
    for g in groups:
        for sid in g.servers:
            group_of.setdefault(sid, name_cell(g.group.name))
    header = ("ID", "STATUS", "NAME", "CC", "CPU", "MEM", "DISK", "IN/s", "OUT/s", "UPTIME", "GROUP")
    rows = [header]
    # the store's servers: the frame's, with their text sanitised (issue 9), never the raw frame
    for s in store.servers.values():
        online = store.is_online(s.id)
        st, h = s.state, s.host
        rows.append((
            str(s.id), "online" if online else "offline", name_cell(s.name), s.country_code.upper() or "-",
            fmt_percent(st.cpu), fmt_percent(percent_of(st.mem_used, h.mem_total)),
            fmt_percent(percent_of(st.disk_used, h.disk_total)),
            fmt_speed(st.net_in_speed), fmt_speed(st.net_out_speed),
            fmt_duration(st.uptime) if online else "-", group_of.get(s.id, ""),
        ))
    from rich.cells import cell_len  # wide (CJK) characters take two columns

    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(header))]
    right = {0, 4, 5, 6, 7, 8, 9}

    def pad(i: int, cell: str) -> str:
        fill = " " * (widths[i] - cell_len(cell))
        return fill + cell if i in right else cell + fill

    lines = ["  ".join(pad(i, c) for i, c in enumerate(r)).rstrip() for r in rows]
    total = len(store.servers)
    online = sum(1 for sid in store.servers if store.is_online(sid))
    title = f"{sanitise(setting.config.site_name) or 'Nezha'}: {total} servers, {online} online, {total - online} offline"
    return "\n".join([title, *lines])
