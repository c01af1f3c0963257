"""Pause freezes the picture, not the recording: the store and its recent values take every
frame while paused; resuming repaints once with all that changed and sums up the alerts."""

from __future__ import annotations

from nezha_tui.store import FleetStore
from tests.test_ui_fleet import feed, fleet_screen, header, table_lines
from tests.ui_fakes import T0, fleet, frame, server_json


def cpu_frame(step: int, *, offline: tuple[int, ...] = (), extra: bool = False, name1: str = "srv-001"):
    now = T0 + 2 * step
    servers = [server_json(i, name1 if i == 1 else None, now=now, age=120.0 if i in offline else 1.0,
                           cpu=float(10 + step) if i == 1 else 5.0) for i in range(1, 5)]
    if extra:
        servers.append(server_json(9, now=now))
    return frame(servers, now=now)


async def test_pause_keeps_recording_and_resume_catches_up_in_one_repaint():
    async with fleet_screen(cpu_frame(0)) as (app, pilot, streams, notes):
        store = app.store
        before = len(store.recent(1))
        await pilot.press("p")
        assert app.paused and "PAUSED" in header(app)
        notes.clear()
        n = 6
        for step in range(1, n + 1):
            # srv-002 goes offline for good; srv-003 goes offline and comes back; srv-009 joins
            offline = (2,) + ((3,) if step in (2, 3) else ())
            await feed(pilot, streams, cpu_frame(step, offline=offline, extra=step >= 4))
        assert len(store.recent(1)) == before  # the plots show the frozen picture too
        # ... and the picture frozen: old values, old membership, no toast per frame
        lines = table_lines(app)
        assert "10.0%" in lines[1] and "16.0%" not in lines[1]
        assert not any("srv-009" in line for line in lines)
        assert f"PAUSED (+{n})" in header(app)
        assert notes == []
        await pilot.press("p")
        await pilot.pause()
        lines = table_lines(app)
        assert not app.paused and "PAUSED" not in header(app)
        assert "16.0%" in lines[1] and any("srv-009" in line for line in lines)
        assert store.is_online(3) and not store.is_online(2)
        # recorded meanwhile: one new sample per frame, no hole, nothing twice
        samples = store.recent(1)
        assert len(samples) == before + n
        assert [s.cpu for s in samples[-n:]] == [float(10 + step) for step in range(1, n + 1)]
        assert [s.ts_ms for s in samples[-n:]] == [(T0 + 2 * step) * 1000 for step in range(1, n + 1)]
        # one summary: the net flip, and who flipped and flipped back
        assert len(notes) == 1, notes
        text, kwargs = notes[0]
        assert text.startswith(f"Resumed ({n} frames caught up)")
        assert "srv-002 is offline" in text and "srv-003 went off- or online and back" in text
        assert kwargs["severity"] == "warning"


async def test_a_quiet_pause_resumes_with_a_short_note():
    async with fleet_screen(cpu_frame(0)) as (app, pilot, streams, notes):
        await pilot.press("p")
        notes.clear()
        await pilot.press("p")
        assert [t for t, _ in notes] == ["Resumed (0 frames caught up)"]


def test_store_freeze_keeps_the_picture_and_thaw_returns_the_net_change():
    store = FleetStore()
    store.apply(cpu_frame(0))
    versions = dict(store.version)
    store.freeze()
    assert store.frozen
    c1 = store.apply(cpu_frame(1, offline=(2,), extra=True, name1="renamed"))
    assert c1.went_offline == {2} and c1.added == {9}  # what the frame changed in the recording
    store.apply(cpu_frame(2, offline=(2,), extra=True, name1="renamed"))
    # the picture: unchanged
    assert store.servers[1].name == "srv-001" and 9 not in store and store.is_online(2)
    assert store.version == versions and store.totals.online == 4
    assert len(store.recent(1)) == 1  # the picture's samples; the recording's come with the thaw
    change = store.thaw()
    assert len(store.recent(1)) == 3
    assert not store.frozen
    assert change.added == {9} and not change.removed
    assert change.changed == {1, 2} and change.went_offline == {2} and not change.came_online
    assert change.meta_changed == {1}
    assert change.order_changed and not change.first
    assert store.servers[1].name == "renamed" and 9 in store and not store.is_online(2)
    assert store.now_ms == (T0 + 4) * 1000 and store.frames == 3
    # thawed: frames go to the picture again
    assert store.apply(cpu_frame(3, offline=(2,), extra=True)).meta_changed == {1}
    assert store.thaw() == type(change)(now_ms=store.now_ms)


def test_groups_set_while_frozen_survive_the_thaw():
    from tests.ui_fakes import groups

    store = FleetStore()
    store.apply(fleet(3))
    store.freeze()
    assert store.set_groups(groups((1, "eu", [1, 2])))
    store.apply(fleet(3, now=T0 + 2))
    store.thaw()
    assert store.group_names == {1: ["eu"], 2: ["eu"]} and store.visible_groups()[0].group.name == "eu"


async def test_the_detail_screen_shows_the_paused_mark():
    from textual.widgets import Static

    from nezha_tui.ui.screens.server_detail import ServerDetailScreen
    from tests.test_ui_themes import make_app, settle

    app, streams = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        streams.last.push(cpu_frame(0))
        app.push_screen(ServerDetailScreen(1))
        await settle(pilot, app)

        def crumbs() -> str:
            return str(app.screen.query_one("#crumbs", Static).render())

        assert "PAUSED" not in crumbs()
        app.action_toggle_pause()  # ("p" is a key of the fleet screen; paused there, the detail shows it too)
        await pilot.pause()
        assert "PAUSED" in crumbs()
        streams.last.push(cpu_frame(1))
        await pilot.pause()
        assert "PAUSED (+1)" in crumbs()
        app.action_toggle_pause()
        await pilot.pause()
        assert "PAUSED" not in crumbs()


async def test_a_detail_opened_while_paused_plots_the_frozen_picture():
    """The live panel and the realtime plot show the same moment: not the frozen values
    beside the samples recorded since the pause."""
    from textual.widgets import Static

    from nezha_tui.ui.screens.server_detail import ServerDetailScreen
    from nezha_tui.ui.widgets.plot import Plot
    from tests.test_ui_themes import make_app, settle

    app, streams = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        for step in range(3):
            streams.last.push(cpu_frame(step))  # cpu 10, 11, 12
            await pilot.pause()
        app.action_toggle_pause()
        for step in range(3, 6):
            streams.last.push(cpu_frame(step))  # recorded: 13, 14, 15
        app.push_screen(ServerDetailScreen(1))
        await settle(pilot, app)
        screen = app.screen
        assert "12.0%" in str(screen.query_one("#live", Static).render())
        plot = screen.query_one("#rt-pct", Plot)
        assert plot.last is not None and max(b.hi for b in plot.last.buckets[0]) == 12.0
        app.action_toggle_pause()
        await settle(pilot, app)
        assert "15.0%" in str(screen.query_one("#live", Static).render())
        assert plot.last is not None and max(b.hi for b in plot.last.buckets[0]) == 15.0


def test_a_frozen_picture_keeps_its_cleaned_note_while_the_recording_changes():
    """freeze() must not share the text cleaner: a server that leaves (or whose note changes)
    during the pause would otherwise show its raw, hostile note in the frozen picture."""
    import datetime as dt

    from nezha_tui.api.models import StreamFrame, StreamServer
    from nezha_tui.store import FleetStore

    t = dt.datetime(2026, 11, 26, 12, tzinfo=dt.timezone.utc)
    now = int(t.timestamp() * 1000)
    hostile = "evil\x1b]52;c;AAAA\x07note"
    store = FleetStore()
    store.apply(StreamFrame(now=now, servers=[StreamServer(id=1, name="a", public_note=hostile, last_active=t),
                                              StreamServer(id=2, name="b", public_note="", last_active=t)]))
    before = store.public_note(1)
    assert "\x1b" not in before and "note" in before
    store.freeze()
    store.apply(StreamFrame(now=now + 2000, servers=[StreamServer(id=2, name="b", last_active=t)]))
    assert 1 in store.servers and store.public_note(1) == before
    store.thaw()
    assert 1 not in store.servers
