"""RuleEngine: for-durations on scripted frames with the Dashboard's clock, fire once / clear once,
offline and leaving clear, filters (glob, group) kept up to date, every metric, and a reference
model on random frames."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from nezha_tui.alerts.rule_engine import METRICS, RuleEngine, RuleTransition
from nezha_tui.alerts.rules import Rule
from nezha_tui.store import FleetStore
from tests.ui_fakes import T0, frame, groups, server_json


def frame_at(t: float, spec: dict[int, dict[str, Any]]):
    """A frame at Dashboard time ``T0 + t`` with one server per ``spec`` entry (server_json kwargs;
    ``offline=True`` makes it stale)."""
    servers = []
    for sid, kw in spec.items():
        kw = dict(kw)
        offline = kw.pop("offline", False)
        servers.append(server_json(sid, now=T0 + t, age=120.0 if offline else 1.0, **kw))
    return frame(servers, now=T0 + t)


class Run:
    """A store and an engine taking scripted frames."""

    def __init__(self, *rules: Rule) -> None:
        self.store = FleetStore()
        self.engine = RuleEngine(rules)

    def step(self, t: float, spec: dict[int, dict[str, Any]], settle: bool = True) -> list[tuple]:
        change = self.store.apply(frame_at(t, spec))
        out = self.engine.evaluate(self.store, change, self.store.now_ms)
        if settle:
            self.store.settle()
        return [_short(tr) for tr in out]


def _short(tr: RuleTransition) -> tuple:
    value = None if math.isnan(tr.value) else round(tr.value, 3)
    return (tr.rule.name, tr.server_id, "fired" if tr.fired else "cleared", value, (tr.since_ms - T0 * 1000) / 1000)


def cpu(**by_id: float) -> dict[int, dict[str, Any]]:
    return {int(k[1:]): {"cpu": v} for k, v in by_id.items()}


HOT = Rule("hot", "cpu", above=90.0)


def test_for_zero_fires_at_once_then_once_only_and_clears_once():
    run = Run(HOT)
    assert run.step(0, cpu(s1=95, s2=10)) == [("hot", 1, "fired", 95.0, 0)]
    assert run.engine.firing() == {1: frozenset({"hot"})}
    assert run.step(2, cpu(s1=99, s2=10)) == []  # still holding: nothing new
    assert run.step(4, cpu(s1=90, s2=10)) == [("hot", 1, "cleared", 90.0, 0)]  # above, not at
    assert run.engine.firing() == {}
    assert run.step(6, cpu(s1=50, s2=10)) == []
    assert run.step(8, cpu(s1=91, s2=10)) == [("hot", 1, "fired", 91.0, 8)]


def test_for_duration_counts_on_the_dashboard_clock_from_the_first_frame_it_holds():
    rule = Rule("hot 1m", "cpu", above=90.0, for_s=60)
    run = Run(rule)
    assert run.step(0, cpu(s1=10)) == []
    assert run.step(10, cpu(s1=95)) == []  # starts holding at t0 = 10
    assert run.step(40, cpu(s1=95)) == []
    assert run.step(69, cpu(s1=95)) == []  # 59 s
    assert run.step(70, cpu(s1=96)) == [("hot 1m", 1, "fired", 96.0, 10)]  # 60 s: fires, since t0
    assert run.step(200, cpu(s1=97)) == []
    assert run.step(202, cpu(s1=5)) == [("hot 1m", 1, "cleared", 5.0, 10)]


def test_a_break_restarts_the_for_duration_and_a_short_spell_never_fires_nor_clears():
    run = Run(Rule("hot 1m", "cpu", above=90.0, for_s=60))
    run.step(0, cpu(s1=95))
    assert run.step(30, cpu(s1=50)) == []  # broke before firing: nothing to clear
    assert run.step(40, cpu(s1=95)) == []
    assert run.step(61, cpu(s1=95)) == []  # 61 s after the first start, 21 s after the second
    assert run.step(99, cpu(s1=95)) == []
    assert run.step(100, cpu(s1=95)) == [("hot 1m", 1, "fired", 95.0, 40)]


def test_a_late_frame_fires_when_the_clock_passed_the_duration_even_across_a_gap():
    run = Run(Rule("hot 5m", "cpu", above=90.0, for_s=300))
    run.step(0, cpu(s1=95))
    assert run.step(1000, cpu(s1=95)) == [("hot 5m", 1, "fired", 95.0, 0)]


def test_below_rules_and_equal_values():
    run = Run(Rule("idle", "cpu", below=1.0))
    assert run.step(0, cpu(s1=1.0, s2=0.5)) == [("idle", 2, "fired", 0.5, 0)]
    assert run.step(2, cpu(s1=0.0, s2=1.0)) == [("idle", 2, "cleared", 1.0, 0), ("idle", 1, "fired", 0.0, 2)]


def test_offline_clears_with_nan_never_fires_and_coming_back_starts_over():
    run = Run(Rule("hot 10s", "cpu", above=90.0, for_s=10))
    run.step(0, cpu(s1=95, s2=95))
    assert run.step(10, cpu(s1=95, s2=95)) == [("hot 10s", 1, "fired", 95.0, 0), ("hot 10s", 2, "fired", 95.0, 0)]
    # s1 stops reporting (its last values still say 95): cleared, value NaN
    assert run.step(12, {1: {"cpu": 95, "offline": True}, 2: {"cpu": 95}}) == [("hot 10s", 1, "cleared", None, 0)]
    assert run.engine.firing() == {2: frozenset({"hot 10s"})}
    assert run.step(40, {1: {"cpu": 95, "offline": True}, 2: {"cpu": 95}}) == []
    # back: the duration starts again from its return
    assert run.step(42, cpu(s1=95, s2=95)) == []
    assert run.step(52, cpu(s1=95, s2=95)) == [("hot 10s", 1, "fired", 95.0, 42)]


def test_an_offline_server_at_the_first_frame_never_fires():
    run = Run(HOT)
    assert run.step(0, {1: {"cpu": 99, "offline": True}}) == []
    assert run.engine.firing() == {}


def test_a_server_that_leaves_clears_with_nan_and_one_that_joins_is_evaluated():
    run = Run(HOT)
    run.step(0, cpu(s1=95, s2=95, s3=10))
    assert run.engine.firing() == {1: frozenset({"hot"}), 2: frozenset({"hot"})}
    # 2 leaves, 4 joins already hot
    assert run.step(2, cpu(s1=95, s3=10, s4=99)) == [("hot", 2, "cleared", None, 0), ("hot", 4, "fired", 99.0, 2)]
    assert run.engine.firing() == {1: frozenset({"hot"}), 4: frozenset({"hot"})}
    assert run.step(4, cpu(s1=95, s3=10, s4=99)) == []


def test_a_reordered_dashboard_keeps_every_server_s_state():
    run = Run(Rule("hot 10s", "cpu", above=90.0, for_s=10), HOT)
    run.step(0, cpu(s1=95, s2=10, s3=95))
    spec = {3: {"cpu": 95}, 2: {"cpu": 10}, 1: {"cpu": 95}}  # same servers, another order
    assert run.step(5, spec) == []
    assert run.step(10, spec) == [("hot 10s", 3, "fired", 95.0, 0), ("hot 10s", 1, "fired", 95.0, 0)]


def test_servers_glob_is_case_insensitive_and_follows_renames():
    rule = Rule("fra hot", "cpu", above=90.0, servers="FRA-*")
    run = Run(rule)
    spec = {1: {"name": "fra-01", "cpu": 95}, 2: {"name": "nyc-01", "cpu": 95}, 3: {"name": "Fra-02", "cpu": 95}}
    assert run.step(0, spec) == [("fra hot", 1, "fired", 95.0, 0), ("fra hot", 3, "fired", 95.0, 0)]
    # renamed out of the glob: cleared (its value has no place in the rule: NaN); renamed in: fires
    spec[1]["name"], spec[2]["name"] = "ams-01", "fra-03"
    assert run.step(2, spec) == [("fra hot", 1, "cleared", None, 0), ("fra hot", 2, "fired", 95.0, 2)]
    assert set(run.engine.firing()) == {2, 3}


def test_group_rules_follow_the_store_s_groups():
    rule = Rule("prod hot", "cpu", above=90.0, group="production")
    run = Run(rule)
    run.store.set_groups(groups((1, "Production", [1, 2]), (2, "staging", [3])))
    assert run.step(0, cpu(s1=95, s2=10, s3=95)) == [("prod hot", 1, "fired", 95.0, 0)]
    run.store.set_groups(groups((1, "Production", [2, 3]), (2, "staging", [1])))
    assert run.step(2, cpu(s1=95, s2=10, s3=95)) == [("prod hot", 1, "cleared", None, 0),
                                                      ("prod hot", 3, "fired", 95.0, 2)]
    # both filters: the glob and the group must match
    both = Run(Rule("both", "cpu", above=90.0, group="Production", servers="srv-00[12]"))
    both.store.set_groups(groups((1, "Production", [1, 2, 3])))
    assert [t[1] for t in both.step(0, cpu(s1=95, s2=95, s3=95))] == [1, 2]


def test_several_rules_come_out_in_rule_order_and_firing_names_them_all():
    run = Run(HOT, Rule("warm", "cpu", above=50.0), Rule("full", "mem", above=80.0))
    out = run.step(0, {1: {"cpu": 95, "mem": 0.9}, 2: {"cpu": 60, "mem": 0.1}})
    assert out == [("hot", 1, "fired", 95.0, 0), ("warm", 1, "fired", 95.0, 0), ("warm", 2, "fired", 60.0, 0),
                   ("full", 1, "fired", 90.0, 0)]
    assert run.engine.firing() == {1: frozenset({"hot", "warm", "full"}), 2: frozenset({"warm"})}


def test_rules_with_the_same_name_are_counted_not_collapsed():
    run = Run(Rule("x", "cpu", above=90.0), Rule("x", "cpu", above=50.0))
    run.step(0, cpu(s1=95))
    run.step(2, cpu(s1=60))  # the first clears, the second still fires
    assert run.engine.firing() == {1: frozenset({"x"})}
    run.step(4, cpu(s1=10))
    assert run.engine.firing() == {}


@pytest.mark.parametrize(("metric", "kw", "expected"), [
    ("cpu", {"cpu": 42.5}, 42.5),
    ("mem", {"mem": 0.5}, 50.0),  # used / total, in %
    ("swap", {"swap": 0.25}, 25.0),
    ("disk", {"disk": 0.75}, 75.0),
    ("load1", {"load": 3.5}, 3.5),
    ("load5", {"load": 2.5}, 2.5),
    ("load15", {"load": 1.5}, 1.5),
    ("net_in_speed", {"net_in": 5000}, 5000.0),
    ("net_out_speed", {"net_out": 7000}, 7000.0),
    ("net_in_transfer", {"net_in": 5000}, 5_000_000.0),
    ("net_out_transfer", {"net_out": 7000}, 7_000_000.0),
    ("temperature", {"temps": (41.0, 67.5, 55.0)}, 67.5),  # the hottest sensor
    ("gpu", {"gpu": (12.0, 88.0)}, 88.0),  # the busiest GPU
    ("tcp", {}, 12.0),
    ("udp", {}, 3.0),
    ("processes", {}, 140.0),
])
def test_every_metric_reads_its_value(metric, kw, expected):
    assert metric in METRICS
    run = Run(Rule("r", metric, above=expected - 0.01))
    assert run.step(0, {1: kw}) == [("r", 1, "fired", round(expected, 3), 0)]
    above = Run(Rule("r", metric, above=expected))
    assert above.step(0, {1: kw}) == []


def test_every_metric_is_tested():
    names = {p[0] for p in test_every_metric_reads_its_value.pytestmark[0].args[1]}
    assert names == set(METRICS)


@pytest.mark.parametrize("metric", ["temperature", "gpu"])
def test_no_sensor_or_gpu_is_no_value(metric):
    run = Run(Rule("low", metric, below=1000.0), Rule("high", metric, above=-1000.0))
    assert run.step(0, {1: {}}) == []


def test_a_zero_total_gives_no_percentage():
    store_frame = server_json(1, mem=0.5)
    store_frame["host"]["mem_total"] = 0
    store = FleetStore()
    engine = RuleEngine([Rule("any mem", "mem", above=-1.0), Rule("no mem", "mem", below=1e9)])
    change = store.apply(frame([store_frame]))
    assert engine.evaluate(store, change, store.now_ms) == []


def test_host_totals_follow_a_meta_change():
    run = Run(Rule("full", "mem", above=60.0))
    assert run.step(0, {1: {"mem": 0.5}}) == []
    f = server_json(1, now=T0 + 2, mem=0.5)
    f["host"]["mem_total"] = (8 << 30) // 2  # the same used bytes are now 100 %
    change = run.store.apply(frame([f], now=T0 + 2))
    assert 1 in change.meta_changed
    out = run.engine.evaluate(run.store, change, run.store.now_ms)
    assert [_short(t) for t in out] == [("full", 1, "fired", 100.0, 2)]


def test_metrics_outside_the_columns_update_only_the_changed_servers_when_few_changed():
    run = Run(Rule("load", "load1", above=4.0))
    spec = {i: {"load": 1.0} for i in range(1, 41)}
    assert run.step(0, spec) == []
    spec[7] = {"load": 5.0}  # one changed server of 40: the cached column is patched
    assert run.step(2, spec) == [("load", 7, "fired", 5.0, 2)]
    spec[7] = {"load": 1.0}
    spec[8] = {"load": 6.0}
    assert run.step(4, spec) == [("load", 7, "cleared", 1.0, 2), ("load", 8, "fired", 6.0, 4)]
    spec = {i: {"load": 9.0} for i in range(1, 41)}  # everything changed: read again
    out = run.step(6, spec)
    assert len(out) == 39 and all(t[2] == "fired" for t in out)


def test_without_the_store_s_columns_the_values_are_read_from_the_frame(monkeypatch):
    rules = [HOT, Rule("full", "mem", above=40.0), Rule("net", "net_in_speed", above=1500)]
    a, b = Run(*rules), Run(*rules)
    monkeypatch.setattr(b.store, "frame_columns", lambda: None)
    monkeypatch.setattr(b.store, "frame_states", lambda: None)
    for t, spec in enumerate([
        {1: {"cpu": 95, "mem": 0.5}, 2: {"cpu": 10, "net_in": 2000}},
        {1: {"cpu": 95, "mem": 0.3, "offline": True}, 2: {"cpu": 99}},
        {2: {"cpu": 99}, 3: {"cpu": 91, "mem": 0.9}},
    ]):
        assert a.step(t * 2, spec) == b.step(t * 2, spec)


def test_two_frames_in_the_same_second_are_both_evaluated():
    run = Run(HOT)
    run.step(0, cpu(s1=10))
    assert run.step(0, cpu(s1=95), settle=False) == [("hot", 1, "fired", 95.0, 0)]
    assert run.step(0, cpu(s1=10)) == [("hot", 1, "cleared", 10.0, 0)]


def test_no_rules_costs_nothing_and_says_nothing():
    engine = RuleEngine([])
    store = FleetStore()
    change = store.apply(frame_at(0, cpu(s1=99)))
    assert engine.evaluate(store, change, store.now_ms) == [] and engine.firing() == {}


def test_an_empty_fleet_and_a_fleet_that_empties():
    run = Run(HOT)
    assert run.step(0, {}) == []
    run.step(2, cpu(s1=95))
    assert run.step(4, {}) == [("hot", 1, "cleared", None, 2)]
    assert run.engine.firing() == {}


def _reference(rules: list[Rule], frames: list[tuple[float, dict[int, dict[str, Any]]]]) -> list[list[tuple]]:
    """The semantics, one server and rule at a time (cpu only)."""
    since: dict[tuple[int, int], float] = {}
    fired: set[tuple[int, int]] = set()
    out = []
    for t, spec in frames:
        now = t
        step = []
        for r, rule in enumerate(rules):
            clears, fires = [], []
            for sid in sorted(set(spec) | {k[1] for k in since if k[0] == r}, key=lambda s: list(spec).index(s)
                              if s in spec else -1):
                kw = spec.get(sid)
                value = kw["cpu"] if kw is not None else math.nan
                online = kw is not None and not kw.get("offline", False)
                holds = online and (value > rule.above if rule.above is not None else value < rule.below)
                key = (r, sid)
                if holds:
                    since.setdefault(key, now)
                    if key not in fired and now - since[key] >= rule.for_s:
                        fired.add(key)
                        fires.append((rule.name, sid, "fired", round(value, 3), since[key]))
                elif key in since:
                    if key in fired:
                        fired.discard(key)
                        shown = None if not online else round(value, 3)
                        clears.append((rule.name, sid, "cleared", shown, since[key]))
                    del since[key]
            # removed servers first (the engine relays out before it compares), then in frame order
            step += clears + fires
        out.append(step)
    return out


def test_random_frames_match_a_reference_model():
    rng = random.Random(11)
    rules = [Rule("a", "cpu", above=70.0), Rule("b", "cpu", above=50.0, for_s=6), Rule("c", "cpu", below=20.0, for_s=4)]
    ids = list(range(1, 13))
    frames = []
    for k in range(120):
        present = [sid for sid in ids if rng.random() > 0.08]
        if rng.random() < 0.1:
            rng.shuffle(present)
        frames.append((2.0 * k, {sid: {"cpu": float(rng.choice([5, 30, 60, 80, 95])),
                                       "offline": rng.random() < 0.1} for sid in present}))
    run = Run(*rules)
    got = [run.step(t, spec) for t, spec in frames]
    want = _reference(rules, frames)
    for k, (g, w) in enumerate(zip(got, want)):
        key = lambda tr: (tr[0], tr[2] == "fired", tr[1])  # noqa: E731 - order within a rule: clears, then fires
        assert sorted(g, key=key) == sorted(w, key=key), k
        assert [tr[0] for tr in g] == [tr[0] for tr in w]  # rule order


def test_the_store_hands_out_the_held_frame_s_columns_and_states_once_recorded():
    store = FleetStore()
    store.apply(frame_at(0, {1: {"cpu": 12.5}, 2: {"cpu": 50.0, "offline": True}}))
    columns, states = store.frame_columns(), store.frame_states()
    assert columns is not None and list(columns.cpu) == [12.5, 50.0] and columns.position is store.position
    assert columns.online == bytes([1, 0])
    assert [s.cpu for s in states] == [12.5, 50.0]
    store.settle()  # recorded once: settle keeps the same columns, recent() reads them
    assert store.frame_columns() is columns and [s.cpu for s in store.recent(1)] == [12.5]
    # a second frame in the same second: not a new sample, but its own columns when asked
    store.apply(frame_at(0, {1: {"cpu": 99.0}, 2: {"cpu": 50.0}}))
    again = store.frame_columns()
    assert again is not columns and list(again.cpu) == [99.0, 50.0] and again.online is None
    assert [s.cpu for s in store.recent(1)] == [12.5]
    assert FleetStore().frame_columns() is None and FleetStore().frame_states() is None


def test_rule_bench_runs_on_a_small_fleet():
    from nezha_tui.bench import BENCH_RULES, _rule_lines, rule_bench

    assert len(BENCH_RULES) == 10
    results = [rule_bench(30, 3), rule_bench(30, 3, other_metrics=True)]
    for r in results:
        assert r["servers"] == 30 and r["rules"] == 10 and r["frames"] == 3
        assert r["rules_median_ms"] >= 0 and r["rules_p95_ms"] >= r["rules_median_ms"]
    lines = _rule_lines(results)
    assert lines[0].startswith("alert rules: 30 servers x 10 rules (on column metrics): median ")
    assert "load1 and temperature" in lines[1]
