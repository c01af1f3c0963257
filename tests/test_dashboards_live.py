"""Two simulated Dashboards on loopback, one app over both, through the real client and stream:
one Dashboard going down (its server stopped) leaves the other live and its own rows on screen,
marked stale; started again on the same port, it comes back by itself."""

from __future__ import annotations

import asyncio

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.stream import StreamState
from nezha_tui.demo.server import DemoOptions, DemoServer
from nezha_tui.fleets import DashboardTarget, server_key
from nezha_tui.ui.app import NezhaApp
from tests.test_ui_demo import until
from tests.test_ui_fleet import UNPINNED


async def quick_sleep(seconds: float) -> None:  # the stream's backoff, shortened (not a wall-clock wait)
    await asyncio.sleep(min(seconds, 0.05))


async def test_a_dashboard_that_goes_down_and_comes_back_never_stops_the_other() -> None:
    home = DemoServer(DemoOptions(seed=1, servers=4, site_name="Home", frame_interval=0.05))
    work = DemoServer(DemoOptions(seed=2, servers=3, site_name="Work", frame_interval=0.05))
    for demo in (home, work):
        await demo.start()
    targets = [DashboardTarget(name, NezhaClient(d.url, Credentials(username=d.username, password=d.password)))
               for name, d in (("home", home), ("work", work))]
    app = NezhaApp(targets, start_timers=False, alerts=UNPINNED, stream_options={"sleep": quick_sleep})
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: all(link.state is StreamState.LIVE and link.store.frames
                                           for link in app.dashboards))
            assert len(app.store) == 7 and server_key(1, 1) in app.store and 1 in app.store
            await work.stop()
            await until(pilot, lambda: app.dashboards[1].stale)
            assert app.store.is_stale(server_key(1, 1)) and not app.store.is_stale(1)
            assert len(app.store) == 7  # its rows stay
            before = app.dashboards[0].frames_received
            await until(pilot, lambda: app.dashboards[0].frames_received > before + 3)  # the other goes on
            assert app.dashboards[0].state is StreamState.LIVE
            await work.start()  # the same port
            await until(pilot, lambda: app.dashboards[1].state is StreamState.LIVE, timeout=20)
            await until(pilot, lambda: not app.store.is_stale(server_key(1, 1)))
    finally:
        for demo in (home, work):
            await demo.stop()
