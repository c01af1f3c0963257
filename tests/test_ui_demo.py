"""The whole app against the simulated Dashboard: real client, real stream, real widgets."""

from __future__ import annotations

import asyncio

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.demo.server import DemoOptions, DemoServer
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.widgets.fleet_table import FleetTable

T = 1795694400.0  # 2026-11-26 12:00:00 UTC


class SteppedClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def until(pilot, predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.02)


def table_text(app) -> str:
    table = app.screen.query_one(FleetTable)
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def test_demo_rows_shown_and_values_change_with_the_next_frame():
    clock = SteppedClock(T)
    demo = DemoServer(DemoOptions(seed=3, clock=clock, frame_interval=0.05))
    await demo.start()
    try:
        app = NezhaApp(NezhaClient(demo.url, Credentials(username=demo.username, password=demo.password)),
                       start_timers=False)
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: app.store.now_ms == int(T) * 1000)
            await pilot.pause()
            first = table_text(app)
            names = [app.store.servers[sid].name for sid in app.store.order]
            assert len(names) == 24 and all(name in first for name in names[:20])
            assert "Nezha Demo" in str(app.screen.query_one("#summary").render())

            clock.t = T + 2.0
            await until(pilot, lambda: app.store.now_ms == int(T + 2) * 1000)
            await pilot.pause()
            second = table_text(app)
            assert second != first
            online = next(sid for sid in app.store.order if app.store.is_online(sid))
            cpu_now = app.store.servers[online].state.cpu
            assert f"{cpu_now:.1f}%" in second
    finally:
        await demo.stop()


async def test_demo_recovers_after_the_dashboard_restarts():
    demo = DemoServer(DemoOptions(seed=3, frame_interval=0.05))
    await demo.start()
    port = int(demo.url.rsplit(":", 1)[1])
    app = NezhaApp(NezhaClient(demo.url), start_timers=False,
                   stream_options={"interval": 0.1})
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.store.frames > 0)
            await demo.stop()
            await until(pilot, lambda: app.stream_status.state.name in ("STALE", "RECONNECTING"))
            assert app.store.frames > 0 and len(app.store.servers) > 0  # the last data stays
            assert app.screen.query_one("#stale").has_class("-shown")
            frames = app.store.frames
            demo = DemoServer(DemoOptions(seed=3, frame_interval=0.05), port=port)
            await demo.start()
            await until(pilot, lambda: app.store.frames > frames, timeout=20)
            await until(pilot, lambda: app.stream_status.state.name == "LIVE")
            assert not app.screen.query_one("#stale").has_class("-shown")
    finally:
        await demo.stop()
