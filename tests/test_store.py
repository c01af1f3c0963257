"""FleetStore: online rule, change sets, public notes, ring buffers, groups, totals."""

from __future__ import annotations

import datetime as dt
import math

import msgspec
import pytest

from nezha_tui.api import models as m
from nezha_tui.store import FleetStore, RecentSample
from tests.ui_fakes import T0, fleet, frame, groups, server_json


def test_first_frame_adds_everything_and_flags_no_flips():
    store = FleetStore()
    change = store.apply(fleet(5, offline=[2]))
    assert change.first and change.added == {1, 2, 3, 4, 5}
    assert not change.went_offline and not change.came_online and not change.removed
    assert store.order == [1, 2, 3, 4, 5]
    assert store.is_online(1) and not store.is_online(2)
    assert store.totals.servers == 5 and store.totals.online == 4 and store.totals.offline == 1
    assert store.viewers == 1 and store.now_ms == T0 * 1000


@pytest.mark.parametrize(("age", "window", "online"), [
    (0.0, 30, True), (30.0, 30, True), (30.5, 30, False), (31, 30, False), (-0.9, 30, True),
    (9.0, 10, True), (11.0, 10, False), (None, 30, False),
])
def test_online_rule(age, window, online):
    store = FleetStore(online_window=window)
    store.apply(frame([server_json(1, age=age)]))
    assert store.is_online(1) is online
    if age is None:
        assert store.last_seen_age(1) is None
    else:
        assert store.last_seen_age(1) == pytest.approx(max(0.0, age), abs=1e-3)


def test_online_rule_is_the_same_in_every_time_zone_and_for_naive_times():
    # the store compares against a cutoff per zone; naive times count as UTC
    now = dt.datetime.fromtimestamp(T0, dt.timezone.utc)
    zones = [dt.timezone.utc, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
    servers = []
    sid = 0
    for age, online in [(30.0, True), (30.000001, False), (29.999999, True), (-5.0, True)]:
        for zone in zones:
            sid += 1
            servers.append((sid, (now - dt.timedelta(seconds=age)).astimezone(zone), online, age))
        sid += 1
        servers.append((sid, (now - dt.timedelta(seconds=age)).replace(tzinfo=None), online, age))
    f = m.StreamFrame(now=T0 * 1000, servers=[m.StreamServer(id=i, last_active=la) for i, la, _, _ in servers])
    store = FleetStore(online_window=30)
    store.apply(f)
    for i, _, online, age in servers:
        assert store.is_online(i) is online, (i, age)
        assert store.last_seen_age(i) == pytest.approx(max(0.0, age), abs=1e-5)


def test_online_rule_uses_frame_now_not_local_clock():
    store = FleetStore()
    # a frame from long ago whose server reported 2 s before that frame's now
    store.apply(frame([server_json(1, now=1_000_000, age=2)], now=1_000_000))
    assert store.is_online(1)


def test_never_reported_server_with_empty_objects():
    store = FleetStore()
    change = store.apply(frame([server_json(7, age=None, empty=True)]))
    assert change.added == {7} and not store.is_online(7)
    assert math.isnan(store.recent(7)[-1].mem_pct)  # no value in that frame: a gap in the plot
    online_empty = frame([server_json(8, now=T0 + 2, empty=True)], now=T0 + 2)  # reporting, but with no totals
    store.apply(online_empty)
    assert store.is_online(8) and store.recent(8)[-1].mem_pct == 0.0  # no division by a zero total


def test_change_sets_values_flips_and_removals():
    store = FleetStore()
    store.apply(fleet(4))
    same = store.apply(fleet(4, now=T0 + 2))
    assert not same.changed and not same and not same.order_changed

    f = fleet(4, now=T0 + 4, offline=[3])
    f.servers[0].state.cpu = 99.0
    f.servers.pop(1)  # id 2 vanishes
    change = store.apply(f)
    assert change.removed == {2}
    assert change.went_offline == {3}
    assert change.changed == {1, 3}
    assert change.order_changed and store.order == [1, 3, 4]
    assert 2 not in store and store.get(2) is None and store.recent(2) == []

    back = store.apply(fleet(4, now=T0 + 6))
    assert back.came_online == {3} and back.added == {2}
    assert store.is_online(3)


def test_versions_bump_only_on_change():
    store = FleetStore()
    store.apply(fleet(2))
    v1, v2 = store.version[1], store.version[2]
    f = fleet(2, now=T0 + 2)
    f.servers[1].state.net_in_speed = 5
    store.apply(f)
    assert store.version[1] == v1 and store.version[2] > v2


def test_meta_changes_are_reported_separately():
    store = FleetStore()
    store.apply(frame([server_json(1, "a"), server_json(2, "b")]))
    change = store.apply(frame([server_json(1, "renamed"), server_json(2, "b", cpu=50)], now=T0 + 2))
    assert change.meta_changed == {1}
    assert change.changed == {1, 2}


def test_public_note_kept_from_first_frame():
    store = FleetStore()
    note = '{"billingDataMod":{"amount":"5EUR","cycle":"month"}}'
    store.apply(frame([server_json(1, public_note=note)]))
    change = store.apply(frame([server_json(1)], now=T0 + 2))  # later frames omit it
    assert store.public_note(1) == note
    assert not change.meta_changed
    parsed = store.note(1)
    assert parsed is not None and parsed.billing is not None
    assert parsed.billing.amount == "5EUR"
    assert store.note(1) is parsed  # cached
    assert store.note(99) is None


def test_garbage_public_note_never_raises():
    store = FleetStore()
    store.apply(frame([server_json(1, public_note="{not json")]))
    note = store.note(1)
    assert note is None or note.billing is None


def test_ring_buffer_keeps_last_n_in_order_and_skips_duplicate_now():
    store = FleetStore(recent_len=3)
    for i in range(5):
        store.apply(fleet(1, now=T0 + 2 * i, step=i))
    store.apply(fleet(1, now=T0 + 8, step=99))  # same now as the last frame: no new sample
    samples = store.recent(1)
    assert [s.ts_ms for s in samples] == [(T0 + 4) * 1000, (T0 + 6) * 1000, (T0 + 8) * 1000]
    assert isinstance(samples[0], RecentSample)
    assert samples[-1].cpu == float((7 + 4 * 3) % 100)
    assert samples[-1].mem_pct == pytest.approx(50.0, abs=0.01)
    assert samples[-1].disk_pct == pytest.approx(25.0, abs=0.01)
    assert samples[-1].net_in_speed == 1000 + 4


def test_settle_records_each_frame_once_whoever_calls_it():
    store = FleetStore()
    store.apply(fleet(1, now=T0, step=0))
    store.settle()
    store.settle()  # nothing pending: no second sample
    store.apply(fleet(1, now=T0 + 2, step=1))  # not settled: recent() records it
    assert [s.ts_ms for s in store.recent(1)] == [T0 * 1000, (T0 + 2) * 1000]
    store.apply(fleet(1, now=T0 + 4, step=2))
    store.apply(fleet(1, now=T0 + 6, step=3))  # the next apply records the unsettled one
    assert [s.ts_ms for s in store.recent(1)][-2:] == [(T0 + 4) * 1000, (T0 + 6) * 1000]


def test_recent_net_speeds_end_with_the_frame_shown_and_read_only_what_they_return():
    store = FleetStore(recent_len=10)
    for step in range(4):
        store.apply(fleet(2, now=T0 + 2 * step, step=step, offline=[2] if step == 1 else []))
    # the last frame is not recorded yet (nobody settled): it comes from the server itself
    assert store.recent_net_speeds(1, 3) == [3048 + 1, 3048 + 2, 3048 + 3]
    assert store.recent_net_speeds(1, 10) == [3048, 3049, 3050, 3051]  # as many as there are
    two = store.recent_net_speeds(2, 4)
    assert math.isnan(two[1]) and two[0] == 2000 + 2048 and two[-1] == 2003 + 2048
    store.settle()  # recorded now: the same answer, the frame not counted twice
    assert store.recent_net_speeds(1, 3) == [3049, 3050, 3051]
    store.freeze()  # a pause: frames recorded meanwhile are newer than the picture
    store.apply(fleet(2, now=T0 + 8, step=4))
    store.settle()
    assert store.recent_net_speeds(1, 3) == [3049, 3050, 3051]
    store.thaw()
    assert store.recent_net_speeds(1, 2) == [3051, 3052]
    store.apply(fleet(2, now=T0 + 10, step=5, offline=[1]))
    assert math.isnan(store.recent_net_speeds(1, 2)[-1])  # offline now: no current speed
    assert store.recent_net_speeds(9, 3) == [] and store.recent_net_speeds(1, 0) == []


def test_duplicate_ids_keep_first_and_empty_frame_removes_all():
    store = FleetStore()
    store.apply(frame([server_json(1, "first"), server_json(1, "second")]))
    assert store.get(1).name == "first" and store.order == [1]
    change = store.apply(frame([], now=T0 + 2))
    assert change.removed == {1} and len(store) == 0 and store.totals.servers == 0


def test_naive_and_zero_times_are_safe():
    store = FleetStore()
    f = frame([server_json(1), server_json(2)])
    f.servers[0].last_active = dt.datetime.fromtimestamp(T0 - 1, dt.timezone.utc).replace(tzinfo=None)
    f.servers[1].last_active = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
    store.apply(f)
    assert store.is_online(1) and not store.is_online(2)


def test_groups_and_totals_for_group():
    store = FleetStore()
    store.apply(fleet(4, offline=[4]))
    assert store.set_groups(groups((1, "eu", [1, 2]), (2, "asia", [3, 4]), (3, "empty", None), (4, "gone", [99])))
    assert not store.set_groups(groups((1, "eu", [1, 2]), (2, "asia", [3, 4]), (3, "empty", None), (4, "gone", [99])))
    assert store.group_names[1] == ["eu"]
    assert [g.group.name for g in store.visible_groups()] == ["eu", "asia"]
    t = store.totals_for(store.group_members(2))
    assert t.servers == 2 and t.online == 1 and t.net_in_speed == 3000
    assert store.totals.net_in_speed == 1000 + 2000 + 3000


def test_totals_only_count_online_servers():
    store = FleetStore()
    store.apply(fleet(3, offline=[1, 2]))
    assert store.totals.online == 1 and store.totals.net_out_speed == 2048


def test_bad_numbers_in_frame_do_not_crash():
    store = FleetStore()
    f = frame([server_json(1)])
    f.now = "garbage"  # type: ignore[assignment]
    f.servers[0].state.net_in_speed = None  # type: ignore[assignment]
    store.apply(f)
    assert 1 in store


def test_decoded_model_roundtrip_with_real_decoder_if_present():
    decode = pytest.importorskip("nezha_tui.api.decode")
    from tests.ui_fakes import frame_json
    f, _report = decode.decode_frame(frame_json([server_json(1), server_json(2, age=None)]))
    store = FleetStore()
    store.apply(f)
    assert store.is_online(1) and not store.is_online(2)
    assert isinstance(store.get(1), m.StreamServer)
    assert msgspec.structs.asdict(store.get(1).host)["arch"] == "x86_64"


def test_never_reported_vs_agent_disconnected():
    from nezha_tui.api.models import Host, HostState, StreamFrame, StreamServer

    store = FleetStore()
    store.apply(StreamFrame(now=1_000_000, servers=[
        StreamServer(id=1, name="never"),
        StreamServer(id=2, name="gone", host=Host(platform="debian", mem_total=1024), state=HostState(cpu=5.0)),
    ]))
    assert store.never_reported(1) and not store.is_online(1)
    assert not store.never_reported(2) and not store.is_online(2)
    assert not store.never_reported(99)


def test_a_frame_without_a_usable_now_does_not_make_everyone_online():
    """``now`` absent or out of range (the decoder makes it 0): the store keeps the previous
    frame's clock, or takes the newest report, instead of calling every reported server online."""
    import datetime as dt

    from nezha_tui.api.models import StreamFrame, StreamServer

    t = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.timezone.utc)
    now_ms = int(t.timestamp() * 1000)

    def servers():
        return [StreamServer(id=1, name="a", last_active=t),
                StreamServer(id=2, name="b", last_active=t - dt.timedelta(hours=3))]

    store = FleetStore(online_window=30)
    store.apply(StreamFrame(now=now_ms, servers=servers()))
    store.apply(StreamFrame(now=0, servers=servers()))
    assert store.now_ms == now_ms
    assert store.is_online(1) and not store.is_online(2)
    fresh = FleetStore(online_window=30)
    fresh.apply(StreamFrame(now=0, servers=servers()))  # a first frame: the newest report stands for now
    assert fresh.now_ms == now_ms
    assert fresh.is_online(1) and not fresh.is_online(2)
    assert fresh.last_seen_age(2) == 3 * 3600
