"""One definition of a server's state (issue 8, part 1), rendered the same in every view.

States: online; offline since T (last known values, with an age that moves); agent
disconnected; never reported; values repaired in this frame.  The store decides
(:meth:`FleetStore.state_of`), every view follows: table, cards, wall, detail, snapshot.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nezha_tui.api import models as m
from nezha_tui.api.decode import DecodeReport
from nezha_tui.format import fmt_percent
from nezha_tui.snapshot import snapshot_json, snapshot_table
from nezha_tui.store import FleetStore, ServerState, age_text
from nezha_tui.ui.screens.server_detail import ServerDetailScreen, facts_text, live_text
from nezha_tui.ui.widgets.fleet_cards import FleetCards
from nezha_tui.ui.widgets.fleet_table import FleetTable
from tests.test_ui_fleet import feed, header, make_app, record_formatted_rows, table_lines
from tests.ui_fakes import T0, frame, server_json, status

NOW = T0 + 2  # the frame under test; the previous one is at T0
INVENTED = ("0.0%", "up 0s", "load 0.00", "0 procs", "0 B/s")


def repaired_frame(servers: list[dict[str, Any]], broken: dict[int, str], now: float) -> tuple[m.StreamFrame, DecodeReport]:
    """A frame as the tolerant decoder leaves it: each ``broken`` server's field replaced by its default."""
    f = frame(servers, now=now)
    report = DecodeReport()
    for s in f.servers:
        name = broken.get(s.id)
        if name is not None:
            setattr(s, name, {"state": m.HostState, "host": m.Host}[name]())
            report.repair(s.id, name)
            report.bad(f"servers[{s.id}].{name}", "null where an object belongs")
    return f, report


# --------------------------------------------------------------------------- the store


def test_every_state_from_the_frame_now():
    store = FleetStore()
    store.apply(frame([
        server_json(1, now=NOW, age=3), server_json(2, now=NOW, age=7 * 60 + 13),
        server_json(3, now=NOW, age=None), server_json(4, now=NOW, age=None, empty=True),
    ], now=NOW))
    states = {sid: store.state_of(sid).state for sid in (1, 2, 3, 4)}
    assert states == {1: ServerState.ONLINE, 2: ServerState.OFFLINE, 3: ServerState.DISCONNECTED,
                      4: ServerState.NEVER_REPORTED}
    offline = store.state_of(2)
    assert offline.shows_age and age_text(offline.age(NOW)) == "7m 13s"
    assert age_text(offline.age(NOW + 60)) == "8m 13s"  # ages move with the clock they are given
    assert store.state_of(3).age(NOW) is None and not store.state_of(3).shows_age
    assert store.state_of(3).has_values and not store.state_of(4).has_values
    assert store.state_of(99).state is ServerState.NEVER_REPORTED  # unknown id


def test_state_is_computed_once_per_change():
    store = FleetStore()
    store.apply(frame([server_json(1, now=T0, age=60)], now=T0))
    first = store.state_of(1)
    assert store.state_of(1) is first
    store.apply(frame([server_json(1, now=T0 + 2, age=62)], now=T0 + 2))  # same report, still offline
    assert store.state_of(1) is first
    store.apply(frame([server_json(1, now=T0 + 4, age=None)], now=T0 + 4))  # the agent disconnected
    assert store.state_of(1).state is ServerState.DISCONNECTED


def test_repaired_fields_keep_the_previous_values_for_one_frame():
    store = FleetStore()
    store.apply(frame([server_json(1, cpu=40.0, net_in=5000), server_json(2, cpu=20.0, net_in=3000)]))
    before = store.totals
    good = store.get(1)
    f, report = repaired_frame([server_json(1, now=NOW, cpu=41.0, net_in=5000),
                                server_json(2, now=NOW, cpu=21.0, net_in=3000)], {1: "state"}, NOW)
    change = store.apply(f, report)
    assert store.get(1).state == good.state and store.get(1).state.cpu == 40.0  # kept, not zeros
    assert store.get(2).state.cpu == 21.0
    assert store.totals.net_in_speed == before.net_in_speed  # the totals do not dip
    assert store.state_of(1).repaired == {"state"} and store.state_of(1).has_values
    assert 1 in change.changed  # the mark is something to show
    assert f.servers[0].state == m.HostState()  # the frame itself is left as decoded
    assert store.recent(1)[-1].cpu == 40.0  # no dip in the realtime plot either
    change = store.apply(frame([server_json(1, now=NOW + 2, cpu=40.0, net_in=5000),
                                server_json(2, now=NOW + 2, cpu=21.0, net_in=3000)], now=NOW + 2))
    assert not store.state_of(1).repaired and 1 in change.changed  # the mark goes with the next clean frame


def test_repaired_in_its_first_frame_has_nothing_to_keep():
    store = FleetStore()
    f, report = repaired_frame([server_json(1), server_json(2)], {1: "state"}, T0)
    store.apply(f, report)
    assert not store.state_of(1).has_values and store.state_of(1).unknown == {"state"}
    f, report = repaired_frame([server_json(1, now=NOW), server_json(2, now=NOW)], {1: "state"}, NOW)
    store.apply(f, report)
    assert not store.state_of(1).has_values  # what was kept is still nothing
    store.apply(frame([server_json(1, now=NOW + 2, cpu=12.0), server_json(2, now=NOW + 2)], now=NOW + 2))
    assert store.state_of(1).has_values and store.get(1).state.cpu == 12.0


def test_recent_values_have_a_gap_where_the_server_was_offline():
    store = FleetStore()
    for i, age in enumerate((1, 1, 200, 202, 1)):
        store.apply(frame([server_json(1, now=T0 + 2 * i, age=age, cpu=30.0)], now=T0 + 2 * i))
    cpu = [s.cpu for s in store.recent(1)]
    assert cpu[:2] == [30.0, 30.0] and cpu[-1] == 30.0
    assert all(math.isnan(v) for v in cpu[2:4])  # no flat line at the last value


# --------------------------------------------------------------------------- every state in every view

KINDS = ("online", "offline", "disconnected", "never", "repaired", "repaired_first")


@st.composite
def fleets(draw: Any) -> list[tuple[int, str, int, float]]:
    """``[(id, kind, offline age in s, cpu)]``: one to six servers, each in a drawn state."""
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=6))
    out = []
    for i, kind in enumerate(kinds, start=1):
        age = draw(st.integers(min_value=40, max_value=40 * 86400))
        cpu = draw(st.floats(min_value=0.5, max_value=99.5).map(lambda v: round(v, 1)))
        out.append((i, kind, age, cpu))
    return out


def build(spec: list[tuple[int, str, int, float]]) -> tuple[FleetStore, m.StreamFrame]:
    """Two frames (T0, NOW) through a fresh store: the second one holds every state of ``spec``."""
    first, second, broken = [], [], {}
    for sid, kind, age, cpu in spec:
        name = f"k{sid}-{kind}"
        if kind == "online":
            first.append(server_json(sid, name, now=T0, cpu=cpu))
            second.append(server_json(sid, name, now=NOW, cpu=cpu))
        elif kind == "offline":  # the same last report in both frames
            first.append(server_json(sid, name, now=T0, age=age - 2, cpu=cpu))
            second.append(server_json(sid, name, now=NOW, age=age, cpu=cpu))
        elif kind == "disconnected":
            first.append(server_json(sid, name, now=T0, age=None, cpu=cpu))
            second.append(server_json(sid, name, now=NOW, age=None, cpu=cpu))
        elif kind == "never":
            first.append(server_json(sid, name, now=T0, age=None, empty=True))
            second.append(server_json(sid, name, now=NOW, age=None, empty=True))
        elif kind == "repaired":
            first.append(server_json(sid, name, now=T0, cpu=cpu))
            second.append(server_json(sid, name, now=NOW, cpu=cpu))
            broken[sid] = "state"
        else:  # repaired_first: new in the second frame, its state malformed
            second.append(server_json(sid, name, now=NOW, cpu=cpu))
            broken[sid] = "state"
    store = FleetStore()
    store.apply(frame(first, now=T0))
    f, report = repaired_frame(second, broken, NOW)
    store.apply(f, report)
    return store, f


def _values_are_blank(text: str) -> bool:
    # (a bare "0s" too: the table's UPTIME cell has no "up" before it)
    return not re.search(r"\d+\.\d%|\d+(\.\d)? ?[KMG]?i?B|up \d|load \d|\d+ procs|\b0s\b", text)


def check_views(app: Any, store: FleetStore, f: m.StreamFrame, spec: list[tuple[int, str, int, float]]) -> None:
    table = app.screen.query_one(FleetTable)
    cards = app.screen.query_one(FleetCards)
    for grid in (table, cards):
        grid.store = store
    app.store = store
    app.frame_applied_at = None  # ages at the frame's now
    theme = app.theme_variables
    setting = m.Setting(config=m.SiteConfig(site_name="Prop"))
    snap_text = snapshot_table(setting, [], f, store).splitlines()
    snap = {s["id"]: s for s in json.loads(snapshot_json(setting, [], f, store))["servers"]}
    width = 200
    for sid, kind, age, cpu in spec:
        status = store.state_of(sid)
        server = store.get(sid)
        row = table._row(sid, width, width, False).text
        card = "\n".join(s.text for s in cards._build_card(sid, 46, False))
        cards.large = True
        wall = "\n".join(s.text for s in cards._build_card(sid, 60, False))
        cards.large = False
        live = live_text(server, theme, status, status.age(NOW)).plain
        facts = facts_text(server, online=status.online, age=status.age(NOW), theme=theme, tz=None,
                           status=status).plain
        text = next(line for line in snap_text if f"k{sid}-" in line)
        doc = snap[sid]
        views = {"table": row, "card": card, "wall": wall, "live": live, "snapshot": text}
        shown = fmt_percent(cpu)
        if kind in ("never", "repaired_first"):  # nothing known: "-" everywhere, no invented zeros
            assert not status.has_values
            for view, out in views.items():
                assert _values_are_blank(out.replace(f"k{sid}-{kind}", "")), (view, out)
                assert not any(z in out for z in INVENTED), (view, out)
            assert doc["status"] == ("never_reported" if kind == "never" else "online")
            assert doc["state"] is None  # no values: null, not zeros
        elif kind == "offline":  # last known, labelled with its age; nothing that looks live
            label = age_text(age)
            assert status.state is ServerState.OFFLINE
            assert f"↓{label}" in row, row
            assert f"last seen {label} ago" in card and f"last seen {label} ago" in wall
            assert f"last report {label} ago" in live and f"last seen {label} ago" in facts
            assert f"last seen {label} ago" in text
            for out in (card, wall, live):
                assert "█" not in out and "B/s" not in out, out  # no live bars or speeds
            for out in (card, wall, facts, row):
                assert not re.search(r"up \d|\d+d \d+h +$", out), out  # no "up 137d"
            assert shown in row and shown in card and shown in live  # the last value, shown as such
            assert doc["status"] == "offline" and doc["last_seen_age"] == pytest.approx(age, abs=1)
            assert doc["offline_since"] is not None
        elif kind == "disconnected":
            assert "agent" in row and "agent disconnected" in card and "agent disconnected" in live
            assert "B/s" not in card and "█" not in card
            assert doc["status"] == "disconnected" and doc["last_seen_age"] is None
        elif kind == "repaired":  # the previous values, marked
            assert status.repaired == {"state"}
            assert shown in row and shown in card and shown in wall and shown in live and shown in text
            assert "!" in row[:2] and "values repaired" in card and "values repaired" in live
            assert "values repaired" in text and doc["repaired"] == ["state"]
            assert doc["state"]["cpu"] == pytest.approx(cpu)
        else:
            assert status.online and shown in row and shown in card and "█" in card
            assert doc["status"] == "online" and doc["offline_since"] is None


async def test_every_state_renders_by_the_same_rules_in_every_view():
    app, streams, _ = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await feed(pilot, streams, frame([server_json(1)]))

        ran: list[int] = []

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(fleets())
        def check(spec: list[tuple[int, str, int, float]]) -> None:
            ran.append(len(spec))
            store, f = build(spec)
            check_views(app, store, f, spec)

        check()
        assert len(ran) >= 30
        for kind in KINDS:  # each state at least once, whatever hypothesis drew
            spec = [(1, kind, 7 * 60 + 13, 42.5), (2, "online", 50, 10.0)]
            store, f = build(spec)
            check_views(app, store, f, spec)


# --------------------------------------------------------------------------- ages that move


async def test_offline_ages_move_on_every_screen_without_reformatting_other_rows():
    clock = [1000.0]
    servers = [server_json(i, now=NOW, age=(7 * 60 + 13 if i == 2 else 1)) for i in range(1, 6)]
    for wall in (None, 60.0):
        app, streams, _ = make_app(clock=lambda: clock[0], wall=wall)
        async with app.run_test(size=(160, 48)) as pilot:
            clock[0] = 1000.0
            streams.last.set_status(status("live"))
            await feed(pilot, streams, frame(servers, now=NOW))
            grids = [app.screen.query_one(FleetCards)] if wall else [app.screen.query_one(FleetTable)]

            def shown(app=app, wall=wall) -> str:
                grid = app.screen.query_one(FleetCards if wall else FleetTable)
                return "\n".join(grid.render_line(y).text for y in range(grid.size.height))

            assert ("last seen 7m 13s ago" if wall else "↓7m 13s") in shown()
            if not wall:
                formatted = record_formatted_rows(grids[0])
                clock[0] += 0.4
                app._tick()
                await pilot.pause()
                assert "↓7m 13s" in shown() and formatted == []  # same text: nothing repainted
                clock[0] += 1.0
                app._tick()
                await pilot.pause()
                assert "↓7m 14s" in shown(), shown()
                assert set(formatted) == {2}  # only the offline row, not the four unchanged ones
                await pilot.press("v")  # the cards
                await pilot.pause()
                cards = app.screen.query_one(FleetCards)
                lines = "\n".join(cards.render_line(y).text for y in range(cards.size.height))
                assert "last seen 7m 14s ago" in lines
                clock[0] += 61
                app._tick()
                await pilot.pause()
                lines = "\n".join(cards.render_line(y).text for y in range(cards.size.height))
                assert "last seen 8m 15s ago" in lines
                app.action_open_server(2)
                await pilot.pause()
                detail = app.screen
                assert isinstance(detail, ServerDetailScreen)
                facts = str(detail.query_one("#facts").render())
                live = str(detail.query_one("#live").render())
                assert "last seen 8m 15s ago" in facts and "last report 8m 15s ago" in live
                clock[0] += 3600
                app._tick()
                await pilot.pause()
                facts = str(detail.query_one("#facts").render())
                live = str(detail.query_one("#live").render())
                crumbs = str(detail.query_one("#crumbs").render())
                assert "last seen 1h 08m ago" in facts and "last report 1h 08m ago" in live
                assert "offline, last seen 1h 08m ago" in crumbs
            else:
                clock[0] += 2.0
                app._tick()
                await pilot.pause()
                assert "last seen 7m 15s ago" in shown(), shown()
                assert "last seen 7m 15s ago" in shown()
        del app


async def test_the_next_frame_restarts_the_age_from_the_dashboards_clock():
    clock = [0.0]
    app, streams, _ = make_app(clock=lambda: clock[0])
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, streams, frame([server_json(1, now=NOW, age=100), server_json(2, now=NOW)], now=NOW))
        clock[0] = 10.0
        assert app.fleet_now() == pytest.approx(NOW + 10)
        # the next frame's now is what counts, not local time elapsed (clocks differ)
        await feed(pilot, streams, frame([server_json(1, now=NOW + 2, age=102), server_json(2, now=NOW + 2)],
                                         now=NOW + 2))
        assert app.fleet_now() == pytest.approx(NOW + 2)
        assert "↓1m 42s" in "\n".join(table_lines(app))


async def test_the_app_passes_the_decode_report_to_the_store():
    app, streams, _ = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await feed(pilot, streams, frame([server_json(1, cpu=55.5), server_json(2)]))
        f, report = repaired_frame([server_json(1, now=NOW, cpu=1.0), server_json(2, now=NOW)], {1: "state"}, NOW)
        streams.last.push(f, report)
        await pilot.pause()
        assert app.store.get(1).state.cpu == 55.5 and app.store.state_of(1).repaired == {"state"}
        assert "55.5%" in table_lines(app)[1]
        assert "⚠ 1 frame repaired" in header(app)  # the count stays in the status line
        streams.last.push(*repaired_frame([server_json(1, now=NOW), server_json(2, now=NOW)], {}, NOW))
        await pilot.pause()
        assert "⚠ 1 frame repaired" in header(app)  # a clean frame does not add to it


def test_snapshot_json_keeps_the_stream_fields_and_adds_the_state():
    store = FleetStore()
    f = frame([server_json(1, now=NOW, age=3600), server_json(2, now=NOW, age=None, empty=True)], now=NOW)
    store.apply(f)
    doc = json.loads(snapshot_json(m.Setting(), [], f, store))
    one, two = doc["servers"]
    assert one["status"] == "offline" and one["last_seen_age"] == pytest.approx(3600, abs=1)
    assert msgspec.json.decode(json.dumps(one).encode(), type=m.StreamServer).id == 1
    assert one["offline_since"].startswith("2026-")
    assert two["status"] == "never_reported" and two["last_seen_age"] is None and two["offline_since"] is None


async def test_the_realtime_plot_has_a_gap_where_the_server_was_offline():
    from nezha_tui.ui.widgets.plot import Plot

    app, streams, _ = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        ages = (1, 1, 1, 300, 302, 304, 1, 1)  # offline in frames 3-5
        for i, age in enumerate(ages):
            await feed(pilot, streams, frame([server_json(1, now=T0 + 2 * i, age=age, cpu=30.0 + i)], now=T0 + 2 * i))
        app.action_open_server(1)
        await pilot.pause()
        plot = app.screen.query_one("#rt-pct", Plot)
        cpu = plot._series[0]
        assert cpu.ys[:3] == [30.0, 31.0, 32.0] and cpu.ys[-2:] == [36.0, 37.0]
        assert all(math.isnan(v) for v in cpu.ys[3:6])  # no points: not a flat line at 32 %
        # the line breaks across two or more missing frames (the three offline ones here), not one dropped frame
        assert cpu.gap is not None and 2 * 2.0 < cpu.gap < 3 * 2.0
        await feed(pilot, streams, frame([server_json(1, now=T0 + 16, age=200)], now=T0 + 16))
        cpu = plot._series[0]
        assert math.isnan(cpu.ys[-1]) and cpu.legend_extra == "-"  # no invented value in the legend
