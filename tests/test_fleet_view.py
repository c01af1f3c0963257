"""FleetView: sort keys, stability, online-first, filters, groups, recompute economy."""

from __future__ import annotations

from nezha_tui.fleet_view import SORT_KEYS, FleetView, StatusFilter
from nezha_tui.store import FleetStore
from tests.ui_fakes import T0, fleet, frame, groups, server_json


def make(servers, **kw):
    store = FleetStore()
    change = store.apply(frame(servers))
    view = FleetView(store, **kw)
    view.update(change)
    return store, view


def test_default_is_dashboard_order_with_online_first():
    _, view = make([server_json(5, "e"), server_json(3, "c", age=None), server_json(9, "a")])
    assert view.ids == [5, 9, 3]
    view.toggle_reverse()
    assert view.ids == [9, 5, 3]  # reversed, still online first


def test_value_sort_descending_stable_ties_in_dashboard_order():
    _, view = make([server_json(1, cpu=5), server_json(2, cpu=50), server_json(3, cpu=5),
                    server_json(4, cpu=50), server_json(5, cpu=99, age=None)])
    view.set_sort("cpu")
    assert view.ids == [2, 4, 1, 3, 5]
    view.toggle_reverse()
    assert view.ids == [1, 3, 2, 4, 5]  # ties keep the Dashboard's order, offline stays last


def test_name_sort_ignores_online_and_case():
    _, view = make([server_json(1, "bravo"), server_json(2, "Alpha", age=None), server_json(3, "charlie")])
    view.set_sort("name")
    assert view.ids == [2, 1, 3]


def test_offline_first_applies_to_every_sort():
    _, view = make([server_json(1, "b"), server_json(2, "a", age=None)], offline_first=True)
    assert view.ids == [2, 1]
    view.set_sort("name")
    assert view.ids == [2, 1]
    view.set_offline_first(False)
    view.set_sort("cpu")
    assert view.ids == [1, 2]


def test_next_sort_cycles_all_keys():
    _, view = make([server_json(1)])
    seen = [view.next_sort().id for _ in SORT_KEYS]
    assert seen[-1] == "default" and len(set(seen)) == len(SORT_KEYS)


def test_filter_by_name_country_platform_group_tag_and_counts():
    note = '{"planDataMod":{"networkRoute":"CN2 GIA","extra":"streaming,backup"}}'
    store, view = make([
        server_json(1, "web-1", country="de", platform="debian"),
        server_json(2, "db-1", country="us", platform="ubuntu", public_note=note),
        server_json(3, "web-2", country="jp", platform="alpine"),
    ])
    store.set_groups(groups((10, "Production", [1, 2])))
    view.update(store.apply(frame([server_json(1, "web-1"), server_json(2, "db-1", country="us", platform="ubuntu"),
                                   server_json(3, "web-2", country="jp", platform="alpine")], now=T0 + 2)))
    cases = {"web": [1, 3], "WEB": [1, 3], "jp": [3], "ubuntu": [2], "production": [1, 2],
             "streaming": [2], "web de": [1], "nothing": []}
    for query, expected in cases.items():
        view.set_query(query)
        assert view.ids == expected, query
        assert view.group_total == 3
    view.set_query("")
    assert view.ids == [1, 2, 3] and not view.filtering


def test_status_filter():
    _, view = make([server_json(1), server_json(2, age=None), server_json(3, age=500)])
    assert view.next_status() is StatusFilter.OFFLINE and view.ids == [2, 3]
    assert view.next_status() is StatusFilter.ONLINE and view.ids == [1]
    assert view.next_status() is StatusFilter.ALL and len(view) == 3


def test_groups_cycle_only_visible_groups():
    store, view = make([server_json(i) for i in range(1, 5)])
    store.set_groups(groups((1, "eu", [1, 2]), (2, "ghost", [50]), (3, "asia", [3]), (4, "none", None)))
    view.update(store.apply(fleet(4, now=T0 + 2)))
    assert [n for _, n in view.group_choices()] == ["All", "eu", "asia"]
    assert view.next_group() == "eu" and view.ids == [1, 2] and view.group_total == 2
    assert view.next_group() == "asia" and view.ids == [3]
    assert view.next_group() == "All" and len(view) == 4
    assert view.next_group(-1) == "asia"
    t = view.totals()
    assert t.servers == 1 and t.online == 1


def test_group_that_vanishes_falls_back_to_all():
    store, view = make([server_json(1), server_json(2)])
    store.set_groups(groups((1, "eu", [2])))
    view.update(store.apply(fleet(2, now=T0 + 2)))
    view.next_group()
    assert view.ids == [2]
    view.update(store.apply(fleet(1, now=T0 + 4)))  # server 2 is gone: so is the group
    assert view.group_id is None and view.ids == [1]


def test_no_recompute_when_nothing_relevant_changed():
    store = FleetStore()
    view = FleetView(store)
    view.update(store.apply(fleet(50)))
    before = view.recomputes
    # values change, but the default order depends only on ids/order/online
    assert view.update(store.apply(fleet(50, now=T0 + 2, step=1))) is False
    assert view.recomputes == before
    view.set_sort("cpu")
    before = view.recomputes
    view.update(store.apply(fleet(50, now=T0 + 4, step=2)))
    assert view.recomputes == before + 1  # values changed: exactly one re-sort for the frame
    view.update(store.apply(fleet(50, now=T0 + 6, step=2)))
    assert view.recomputes == before + 1  # same values: none


def test_value_sort_follows_value_changes_and_flips():
    store = FleetStore()
    view = FleetView(store, sort="net_in")
    view.update(store.apply(fleet(3)))
    assert view.ids == [3, 2, 1]
    f = fleet(3, now=T0 + 2)
    f.servers[0].state.net_in_speed = 10**9
    assert view.update(store.apply(f)) is True
    assert view.ids == [1, 3, 2]
    assert view.update(store.apply(fleet(3, now=T0 + 4, offline=[3]))) is True
    assert view.ids == [2, 1, 3]


def test_index_of_tracks_reorders():
    store, view = make([server_json(1, cpu=1), server_json(2, cpu=2)])
    assert view.index_of(1) == 0
    view.set_sort("cpu")
    assert view.index_of(1) == 1 and view.index_of(99) is None and view.index_of(None) is None
