"""The combined fleet of several Dashboards: fleet keys, merged mappings, groups, stale, pause."""

from __future__ import annotations

from nezha_tui.fleets import CombinedFleet, ID_MAX, merge_changes, server_key, split_key
from nezha_tui.store import FleetChange, FleetStore
from tests.ui_fakes import T0, fleet, frame, groups, server_json


def two(n_a: int = 3, n_b: int = 2) -> tuple[CombinedFleet, FleetStore, FleetStore]:
    a, b = FleetStore(), FleetStore()
    combined = CombinedFleet([a, b], ["home", "work"])
    combined.absorb(0, a.apply(fleet(n_a)))
    combined.absorb(1, b.apply(fleet(n_b, offline=[2])))
    return combined, a, b


def test_keys_round_trip_and_dashboard_zero_is_the_id() -> None:
    assert server_key(0, 7) == 7 and split_key(7) == (0, 7)
    assert split_key(-3) == (0, -3)
    key = server_key(2, 7)
    assert key != 7 and split_key(key) == (2, 7)
    assert split_key(server_key(5, ID_MAX)) == (5, ID_MAX)


def test_same_id_on_two_dashboards_is_two_servers() -> None:
    combined, a, b = two()
    k_a, k_b = server_key(0, 1), server_key(1, 1)
    assert len(combined) == 5
    assert combined.servers[k_a] is a.servers[1] and combined.servers[k_b] is b.servers[1]
    assert combined.order == [1, 2, 3, server_key(1, 1), server_key(1, 2)]
    assert combined.name_of(k_b) == "work" and combined.server_id(k_b) == 1 and combined.store_for(k_b) is b
    assert combined.is_online(server_key(1, 1)) and not combined.is_online(server_key(1, 2))
    assert combined.state_of(server_key(1, 2)).state.value == "offline"
    assert combined.totals.servers == 5 and combined.totals.online == 4
    assert combined.dashboard_totals(1).online == 1
    assert combined.totals_for([k_a, k_b]).servers == 2


def test_a_frame_changes_only_its_dashboards_keys() -> None:
    combined, a, b = two()
    before = dict(combined.version)
    change = combined.absorb(1, b.apply(fleet(2, step=1)))  # values move, server 2 comes back
    assert change.changed == {server_key(1, 1), server_key(1, 2)}
    assert change.came_online == {server_key(1, 2)} and combined.is_online(server_key(1, 2))
    assert all(combined.version[k] == before[k] for k in (1, 2, 3))
    assert combined.version[server_key(1, 1)] != before[server_key(1, 1)]
    assert combined.servers[server_key(1, 1)] is b.servers[1]


def test_membership_follows_and_groups_hold_each_dashboard() -> None:
    combined, a, b = two()
    assert [g.group.name for g in combined.groups][:2] == ["home", "work"]
    assert combined.group_members(-2) == {server_key(1, 1), server_key(1, 2)}
    b.set_groups(groups((1, "web", [1])))
    combined.absorb_groups(1)
    web = next(g for g in combined.groups if g.group.name == "work: web")
    assert combined.group_members(web.group.id) == {server_key(1, 1)}
    assert "web" in combined.group_names[server_key(1, 1)] and "work" in combined.group_names[server_key(1, 1)]
    change = combined.absorb(1, b.apply(fleet(1)))  # server 2 left
    assert change.removed == {server_key(1, 2)} and server_key(1, 2) not in combined.servers
    assert combined.order[-1] == server_key(1, 1) and change.order_changed
    assert combined.group_members(-2) == {server_key(1, 1)}


def test_ids_that_cannot_be_keyed_are_left_out() -> None:
    a, b = FleetStore(), FleetStore()
    combined = CombinedFleet([a, b], ["a", "b"])
    combined.absorb(1, b.apply(frame([server_json(1), server_json(-4)])))
    assert combined.order == [server_key(1, 1)] and len(combined) == 1


def test_stale_bumps_that_dashboards_rows() -> None:
    combined, a, b = two()
    change = combined.set_stale(1, True)
    assert change.changed == {server_key(1, 1), server_key(1, 2)}
    assert combined.is_stale(server_key(1, 1)) and not combined.is_stale(1)
    assert not combined.set_stale(1, True)  # no news
    assert combined.set_stale(1, False).changed


def test_pause_keeps_the_picture_and_thaw_catches_up() -> None:
    combined, a, b = two()
    combined.freeze()
    combined.absorb(1, b.apply(fleet(2, step=1)))  # recorded
    assert not combined.is_online(server_key(1, 2))  # the picture
    change = combined.thaw()
    assert server_key(1, 2) in change.came_online and combined.is_online(server_key(1, 2))


def test_set_name_renames_the_pseudo_group() -> None:
    combined, a, b = two()
    change = combined.set_name(1, "Work Fleet")
    assert combined.groups[1].group.name == "Work Fleet" and change.meta_changed == change.changed
    assert combined.name_of(server_key(1, 1)) == "Work Fleet"


def test_merge_changes_unions() -> None:
    x = FleetChange(changed={1}, now_ms=5)
    merge_changes(x, FleetChange(added={server_key(1, 1)}, first=True, now_ms=9))
    assert x.changed == {1} and x.added == {server_key(1, 1)} and x.first and x.now_ms == 9


def test_clock_is_the_newest() -> None:
    combined, a, b = two()
    b.apply(fleet(2, now=T0 + 10))
    assert combined.now_ms == (T0 + 10) * 1000
