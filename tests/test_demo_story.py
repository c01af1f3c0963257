"""The demo's story (nezha_tui/demo/story.py) under a fixed seed and a stepped clock."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from nezha_tui.demo import views
from nezha_tui.demo.server import DemoOptions, DemoState
from nezha_tui.demo.story import HOT, OFFLINE, PERIOD, QUOTA_RULE_ID, SERVICE_DOWN, SERVICE_RESET

T0 = 1_795_000_000.0  # whole: the story's offsets are then whole seconds of the frames


class StepClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def state(servers: int = 24, seed: int = 1) -> DemoState:
    return DemoState(DemoOptions(servers=servers, seed=seed, clock=StepClock(T0)))


def frame(st: DemoState, t: float) -> dict[int, dict]:
    vis = views.visible_servers(st, views.GUEST)
    doc = json.loads(st.encoder.frame(t, 1, vis, with_note=False, full_host=lambda s: False))
    return {s["id"]: s for s in doc["servers"]}


def age(server: dict, t: float) -> float:
    return int(t) - datetime.fromisoformat(server["last_active"]).timestamp()


def down_services(ov: dict) -> set[int]:
    return {k for k, v in ov["services"].items() if v["current_down"] > 0 and v["current_up"] == 0}


def quota_use(ov: dict, sid: int) -> float:
    cyc = ov["cycle_transfer_stats"][QUOTA_RULE_ID]
    return cyc["transfer"][sid] / cyc["max"]


def test_the_cast_is_picked_by_the_seed_and_rotates():
    st = state()
    e0, e1, e2, e3 = (st.story.episode(k) for k in range(4))
    assert len({e0.offline, e0.hot, e0.quota}) == 3
    assert (e1.offline, e1.hot, e1.quota) == (e0.hot, e0.quota, e0.offline)
    assert len({e0.monitor, e1.monitor, e2.monitor}) == 3 and e3.monitor == e0.monitor
    assert (e3.offline, e3.hot, e3.quota) == (e0.offline, e0.hot, e0.quota)
    for sid in (e0.offline, e0.hot, e0.quota):
        assert not st.fleet.by_id[sid].hide_for_guest and st.fleet.by_id[sid].status == "online"
    again = state()
    assert [again.story.episode(k) for k in range(4)] == [e0, e1, e2, e3]
    assert state(seed=2).story.cast != st.story.cast


@pytest.mark.parametrize("k", [0, 1, 7])
def test_a_server_stops_reporting_for_about_a_minute_and_comes_back(k):
    st = state()
    e = st.story.episode(k)
    base = T0 + k * PERIOD
    seen = []
    for off in range(130):
        srv = frame(st, base + off)[e.offline]
        if age(srv, base + off) > 30:  # the client's online window
            seen.append(off)
    # it last reported at OFFLINE[0] - 1 (up to 2 s late, see Signals.report_time_ns), reports again at OFFLINE[1]
    assert seen == list(range(seen[0], int(OFFLINE[1]))) and OFFLINE[0] + 28 <= seen[0] <= OFFLINE[0] + 31
    for off in range(0, 130, 5):
        others = [sid for sid, s in frame(st, base + off).items()
                  if sid != e.offline and st.fleet.by_id[sid].status == "online" and age(s, base + off) > 3]
        assert not others
    # frozen means frozen: the same report the whole time
    assert frame(st, base + 40)[e.offline] == frame(st, base + 100)[e.offline]


@pytest.mark.parametrize("k", [0, 2])
def test_a_server_runs_above_90_percent_cpu_for_about_a_minute(k):
    st = state()
    e = st.story.episode(k)
    base = T0 + k * PERIOD
    for off in range(130):
        srv = frame(st, base + off)[e.hot]
        sample = int(datetime.fromisoformat(srv["last_active"]).timestamp()) - base  # the report's second
        assert (srv["state"]["cpu"] > 90) == (HOT[0] <= sample < HOT[1]), off


def test_a_service_goes_down_and_recovers_counted_in_todays_down():
    st = state()
    for k in (0, 1, 2, 3):
        e = st.story.episode(k)
        base = T0 + k * PERIOD
        before = views.services_overview(st, views.GUEST, base + SERVICE_RESET - 1)
        assert e.monitor not in down_services(before) and before["services"][e.monitor]["current_up"] >= 20
        during = views.services_overview(st, views.GUEST, base + SERVICE_RESET)
        svc = during["services"][e.monitor]
        assert (svc["current_up"], svc["current_down"]) == (0, 1)
        late = views.services_overview(st, views.GUEST, base + SERVICE_RESET + 89)["services"][e.monitor]
        assert (late["current_up"], late["current_down"]) == (0, 3)
        after = views.services_overview(st, views.GUEST, base + SERVICE_RESET + 90)
        assert e.monitor not in down_services(after) and after["services"][e.monitor]["current_up"] >= 1
        # today's down counts the outage exactly (the rest of the day is sampled): every reporter, every point
        m = next(x for x in st.fleet.monitors if x.id == e.monitor)
        per_point = m.duration * (1 if m.type == 1 else 2)
        a, b = base + SERVICE_DOWN[0], base + SERVICE_DOWN[1]
        # a point is written every per_point s from the checks since the last; it fails when all of them fail
        points = sum(1 for ts in range(int(a) // per_point * per_point, int(b) + 1, per_point)
                     if a < ts - per_point + m.duration and ts <= b)
        outages = st.story.outages
        st.story.outages = lambda *a: []  # type: ignore[method-assign]
        st.day_cache.clear()
        plain = views.services_overview(st, views.GUEST, base + SERVICE_RESET + 90)["services"][e.monitor]
        st.story.outages = outages  # type: ignore[method-assign]
        told = after["services"][e.monitor]
        live = [sid for sid in m.reporters if (views._reporter_end(st, sid, base + 200) or 0) >= base + 200]
        assert live  # servers that stopped reporting long ago check nothing
        episodes = k // 3 + 1  # today so far: this one and those three episodes back (same monitor)
        lost = len(live) * points * episodes
        assert told["down"][29] - plain["down"][29] == lost == plain["up"][29] - told["up"][29]


def test_a_quota_crosses_90_percent_and_starts_over_each_cycle():
    st = state()
    for k in (0, 1):
        e = st.story.episode(k)
        base = T0 + k * PERIOD
        assert quota_use(views.services_overview(st, views.GUEST, base + 25), e.quota) < 0.05
        assert quota_use(views.services_overview(st, views.GUEST, base + 45), e.quota) < 0.9
        assert 0.9 < quota_use(views.services_overview(st, views.GUEST, base + 61), e.quota) < 1.0
        assert quota_use(views.services_overview(st, views.GUEST, base + PERIOD - 5), e.quota) < 1.0
        cyc = views.services_overview(st, views.GUEST, base + 61)["cycle_transfer_stats"][QUOTA_RULE_ID]
        assert set(cyc["transfer"]) == {s.id for s in st.story.cast}


def test_every_beat_happens_within_two_minutes_and_repeats_after_the_period():
    st = state()

    def beats(base: float) -> tuple:
        e = st.story.episode(int((base - T0) // PERIOD))
        off = min(o for o in range(0, 120, 2) if age(frame(st, base + o)[e.offline], base + o) > 30)
        hot = min(o for o in range(0, 120, 2) if frame(st, base + o)[e.hot]["state"]["cpu"] > 90)
        down = quota = None
        for o in range(0, 120, 2):
            ov = views.services_overview(st, views.GUEST, base + o)
            if quota is None and quota_use(ov, e.quota) > 0.9:
                quota = o
            if e.monitor in down_services(ov):
                down = o
                break
        return off, hot, down, quota

    first = beats(T0)
    assert max(first) < 120
    for k in (1, 5):
        again = beats(T0 + k * PERIOD)
        assert again[2:] == first[2:]
        # when the stream shows a report also depends on the agent's lag (0-2 s, Signals.report_time_ns)
        assert abs(again[0] - first[0]) <= 2 and abs(again[1] - first[1]) <= 2


@pytest.mark.parametrize("n", [1, 2, 3])
def test_small_fleets_have_a_story(n):
    st = state(servers=n)
    e = st.story.episode(0)
    assert e is not None and e.monitor
    fr = frame(st, T0 + 60)
    assert age(fr[e.offline], T0 + 60) > 30
    if n > 1:
        assert fr[e.hot]["state"]["cpu"] > 90
    assert e.monitor in down_services(views.services_overview(st, views.GUEST, T0 + SERVICE_RESET + 5))
    # a fleet of one: its only server stops reporting, so the burst shows when it reports again
    at = T0 + (61 if n > 1 else OFFLINE[1])
    assert quota_use(views.services_overview(st, views.GUEST, at), e.quota) > 0.9


def test_history_has_a_gap_while_the_server_was_not_reporting():
    st = state()
    e = st.story.episode(0)
    s = st.fleet.by_id[e.offline]
    pts = views.metric_points(st, s, "cpu", "1d", T0 + 300)
    ts = {p["ts"] // 1000 for p in pts}
    gap = [t for t in range(int(T0) // 30 * 30, int(T0) + 300, 30) if t not in ts]
    assert gap and all(T0 + OFFLINE[0] <= t < T0 + OFFLINE[1] for t in gap)
