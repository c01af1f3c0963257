"""The app over several Dashboards: each keeps its own stream, status and data; keys are
(dashboard, id); one failing never blanks or delays the others; frames that come together are
published (painted) once."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from nezha_tui.fleets import DashboardTarget, server_key
from nezha_tui.ui.app import NezhaApp
from nezha_tui.api.stream import StreamState
from tests.test_ui_fleet import UNPINNED
from tests.ui_fakes import FakeClient, fleet, frame, groups, server_json, status, stream_factory

KEY_B1 = server_key(1, 1)


def make_multi(names=("home", "work"), **kw: Any) -> tuple[NezhaApp, Any, list[FakeClient]]:
    """An app over ``len(names)`` fake Dashboards; ``streams.instances[i]`` is Dashboard i's stream."""
    kw.setdefault("alerts", UNPINNED)
    streams = stream_factory()
    clients = [FakeClient(site_name=f"Site {name}") for name in names]
    app = NezhaApp([DashboardTarget(name, client) for name, client in zip(names, clients)],
                   stream_factory=streams, start_timers=False, **kw)
    return app, streams, clients


def stream_of(streams: Any, client: FakeClient) -> Any:
    return next(s for s in reversed(streams.instances) if s.client is client)


@asynccontextmanager
async def running(**kw: Any):
    app, streams, clients = make_multi(**kw)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        yield app, pilot, streams, clients


async def test_same_id_on_two_dashboards_is_two_rows_each_with_its_own_client() -> None:
    async with running() as (app, pilot, streams, clients):
        a, b = (stream_of(streams, c) for c in clients)
        a.push(frame([server_json(1, "alpha")]))
        b.push(frame([server_json(1, "bravo"), server_json(2, "charlie")]))
        await pilot.pause()
        assert app.several and len(app.store) == 3
        assert app.store.get(1).name == "alpha" and app.store.get(KEY_B1).name == "bravo"
        assert app.client_for(1) is clients[0] and app.client_for(KEY_B1) is clients[1]
        assert app.link_for(KEY_B1).name == "work" and app.store.name_of(KEY_B1) == "work"
        assert app.store.totals.servers == 3 and app.store.dashboard_totals(1).servers == 2


async def test_one_dashboard_reconnecting_leaves_the_other_live_and_its_rows_stale() -> None:
    async with running() as (app, pilot, streams, clients):
        a, b = (stream_of(streams, c) for c in clients)
        for s in (a, b):
            s.set_status(status("live"))
        a.push(fleet(2))
        b.push(fleet(2))
        await pilot.pause()
        b.set_status(status("reconnecting", attempt=3, message="connection refused"))
        await pilot.pause()
        assert app.dashboards[1].stale and not app.dashboards[0].stale
        assert app.store.is_stale(KEY_B1) and not app.store.is_stale(1)
        assert app.stream_status.state is StreamState.LIVE  # the grid as a whole is not stale
        a.push(fleet(2, step=1))  # the live one goes on
        await pilot.pause()
        assert app.store.get(1).state.cpu != app.store.get(KEY_B1).state.cpu
        assert len(app.store) == 4  # the stale one's rows stay
        b.set_status(status("live"))
        await pilot.pause()
        assert not app.store.is_stale(KEY_B1)


async def test_one_dashboard_refusing_credentials_does_not_stop_the_other() -> None:
    async with running() as (app, pilot, streams, clients):
        a, b = (stream_of(streams, c) for c in clients)
        b.set_status(status("auth_failed", message="the Dashboard refused the password"))
        a.set_status(status("live"))
        a.push(fleet(3))
        await pilot.pause()
        assert app.dashboards[1].login_refused and not app.login_refused
        assert len(app.store) == 3 and app.check_action("open_services", ()) is True


async def test_frames_that_arrive_together_are_published_once() -> None:
    async with running() as (app, pilot, streams, clients):
        a, b = (stream_of(streams, c) for c in clients)
        a.push(fleet(2))
        b.push(fleet(2))
        await pilot.pause()
        published: list[Any] = []
        app.fleet_changed.subscribe(app.screen, published.append)
        a.push(fleet(2, step=1))
        b.push(fleet(2, step=1))
        await pilot.pause()
        assert len(published) == 1
        assert published[0].changed == {1, 2, KEY_B1, server_key(1, 2)}
        assert app.perf.merged >= 1
        assert {s.dashboard for s in list(app.perf.samples)[-2:]} == {0, 1}


async def test_groups_cycle_through_each_dashboard_then_its_groups() -> None:
    app, streams, clients = make_multi()
    clients[1].answers["server_groups"] = groups((1, "web", [2]))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        a, b = (stream_of(streams, c) for c in clients)
        a.push(fleet(2))
        b.push(fleet(2))
        await pilot.pause()
        app.refresh_groups()
        await pilot.pause()
        names = [g.group.name for g in app.store.visible_groups()]
        assert names == ["home", "work", "work: web"]
        assert app.store.group_members(app.store.visible_groups()[2].group.id) == {server_key(1, 2)}


async def test_a_bare_url_takes_its_site_name_as_its_label() -> None:
    streams = stream_factory()
    clients = [FakeClient(site_name="Home Lab"), FakeClient(site_name="Work Fleet")]
    app = NezhaApp([DashboardTarget("home", clients[0]), DashboardTarget("10.0.0.2:8008", clients[1], named=False)],
                   stream_factory=streams, start_timers=False, alerts=UNPINNED)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert [link.name for link in app.dashboards] == ["home", "Work Fleet"]
        assert app.store.names == ["home", "Work Fleet"]


async def test_offline_toasts_name_the_servers_dashboard() -> None:
    async with running() as (app, pilot, streams, clients):
        a, b = (stream_of(streams, c) for c in clients)
        a.push(fleet(2))
        b.push(fleet(2))
        await pilot.pause()
        seen: list[str] = []
        original = app.notify
        app.notify = lambda message, **kw: (seen.append(str(message)), original(message, **kw))[1]  # type: ignore[method-assign]
        b.push(fleet(2, offline=[1]))
        await pilot.pause()
        assert any("srv-001 (work) is offline" in text for text in seen), seen
