"""Make the SVG screenshots in screenshots/ from the demo, with a fixed seed and clock.

    python scripts/screenshots.py [--out screenshots]

The simulated Dashboard runs in-process on 127.0.0.1 with seed 1 and a clock
that this script steps by hand (2 s per frame, 60 frames, ending at
2026-11-26 12:00 UTC), so the live values, the realtime plots and the
history are the same on every run.  The time zone is UTC.  The app reaches
the demo through the same client code as a real Dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ["TZ"] = "UTC"
time.tzset()
os.environ.pop("NO_COLOR", None)

T_END = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc).timestamp()
SIZE = (132, 40)
SMALL = (80, 24)
WIDE = (200, 40)
REFUSED_PORT = 48765
FRAMES = 60


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def wait_for(pilot, predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.02)


def no_loading(app) -> bool:
    from textual.widgets import LoadingIndicator

    return not any(w.display for w in app.screen.query(LoadingIndicator))


class Shooter:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.made: list[str] = []

    async def shot(self, pilot, name: str) -> None:
        from textual.widgets import Input

        for field in pilot.app.screen.query(Input):  # a typing cursor stays shown: its blink (0.5 s)
            if field.has_focus:  # must not decide the picture on a slow or busy machine
                field._pause_blink(visible=True)
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()
        svg = pilot.app.export_screenshot(title=f"nezha-tui: {name.replace('-', ' ')}")
        (self.out / f"{name}.svg").write_text(svg, encoding="utf-8")
        self.made.append(name)


async def feed_frames(pilot, demo_clock: ManualClock, app_clock: ManualClock, frames: int) -> None:
    """Step the demo's clock frame by frame and wait until the app applied each frame."""
    app = pilot.app
    for k in range(frames):
        t = T_END - 2.0 * (frames - 1 - k)
        demo_clock.t = t
        app_clock.t = 1000.0 + 2.0 * k
        await wait_for(pilot, lambda: app.store.now_ms == int(t) * 1000, f"frame {k}")


def make_app(demo, wall: float | None, app_clock: ManualClock, *, theme: str | None = None,
             password: str | None = None):
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.alerts.rules import DEMO_RULE, AlertConfig
    from nezha_tui.ui.app import NezhaApp

    client = NezhaClient(demo.url, Credentials(username=demo.username, password=password or demo.password))
    local_noon = datetime.fromtimestamp(T_END)
    app = NezhaApp(client, wall=wall, clock=app_clock, wall_clock=lambda: local_noon, start_timers=False,
                   theme=theme, alerts=AlertConfig(rules=(DEMO_RULE,)))
    app.tz = timezone.utc
    return app


async def main(out: Path) -> list[str]:
    from nezha_tui.api.stream import StreamState, StreamStatus
    from nezha_tui.demo.server import DemoOptions, DemoServer

    out.mkdir(parents=True, exist_ok=True)
    shooter = Shooter(out)
    demo_clock = ManualClock(T_END - 2.0 * (FRAMES - 1))
    demo = DemoServer(DemoOptions(seed=1, clock=demo_clock, frame_interval=0.05))
    await demo.start()
    try:
        app_clock = ManualClock(1000.0)
        app = make_app(demo, None, app_clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.store.frames > 0 and app.setting is not None, "first frame")
            await feed_frames(pilot, demo_clock, app_clock, FRAMES)
            await wait_for(pilot, lambda: len(app.store.groups) > 0, "groups")
            await shooter.shot(pilot, "fleet-table")
            await pilot.resize_terminal(*WIDE)  # room for the bars and the network trend
            await shooter.shot(pilot, "fleet-wide")
            await pilot.resize_terminal(*SIZE)
            await pilot.press("v")
            await shooter.shot(pilot, "fleet-cards")
            await pilot.press("v", "slash", *"edge")
            await shooter.shot(pilot, "fleet-filtered")
            await pilot.press("escape", "escape")
            await pilot.press("question_mark")
            await shooter.shot(pilot, "help")
            await pilot.press("escape")
            await pilot.press("less_than_sign")
            await shooter.shot(pilot, "sort-menu")
            await pilot.press("escape", "c")
            await shooter.shot(pilot, "column-chooser")
            await pilot.press("escape")

            # Server detail: overview with live panel, then history at two periods.
            await pilot.press("home", "enter")
            await wait_for(pilot, lambda: app.screen.id != "fleet", "server detail")
            await shooter.shot(pilot, "server-detail")
            await pilot.press("h")
            await wait_for(pilot, lambda: no_loading(app), "1d history")
            await shooter.shot(pilot, "server-history-1d")
            await pilot.press("7")
            await wait_for(pilot, lambda: no_loading(app), "7d history")
            await shooter.shot(pilot, "server-history-7d")
            await pilot.press("m")
            await wait_for(pilot, lambda: no_loading(app), "monitors")
            await shooter.shot(pilot, "server-monitors")
            await pilot.press("escape")

            # Services overview and one service's history.
            await pilot.press("s")
            await wait_for(pilot, lambda: no_loading(app) and app.screen.id != "fleet", "services")
            await pilot.pause(0.5)
            await shooter.shot(pilot, "services")
            await pilot.press("enter")
            await pilot.pause(0.2)
            await wait_for(pilot, lambda: no_loading(app), "service history")
            await shooter.shot(pilot, "service-history")
            await pilot.press("escape", "escape")

            # The event log (e), then the grid sorted by CPU with the servers that have an alert
            # pinned above the rest (each part in the sort), marked.
            await pilot.press("e")
            await wait_for(pilot, lambda: app.screen.id == "events-screen", "event log")
            await shooter.shot(pilot, "events")
            await pilot.press("escape", "C")
            await shooter.shot(pilot, "fleet-pinned")
            await pilot.press("A")  # back to the Dashboard's order

            # The stream stalls: the grid dims under the stale banner, last data kept.
            demo.faults.stall = True
            await pilot.pause(0.3)  # a frame already on its way lands before the clock moves on
            app_clock.t += 14.0
            app._on_status(StreamStatus(StreamState.STALE, attempt=3, last_frame_at=app_clock.t - 14.0,
                                        next_retry_at=app_clock.t + 8.0, message="no frame for 14 s"))
            await shooter.shot(pilot, "fleet-stale")
            demo.faults.stall = False

        wall_clock = ManualClock(1000.0)
        wall_app = make_app(demo, 15.0, wall_clock)
        async with wall_app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: wall_app.store.frames > 0 and len(wall_app.store.groups) > 0, "wall frame")
            await shooter.shot(pilot, "wall")

        # A light theme: the warning and critical colours are derived to stay readable on it.
        light_app = make_app(demo, None, ManualClock(1000.0), theme="textual-light")
        async with light_app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: light_app.store.frames > 0 and len(light_app.store.groups) > 0,
                           "light frame")
            await shooter.shot(pilot, "fleet-light")

        # A small terminal (80x24): the detail keeps each value on one line, the wall compact cards.
        small_app = make_app(demo, None, ManualClock(1000.0))
        async with small_app.run_test(size=SMALL) as pilot:
            await wait_for(pilot, lambda: small_app.store.frames > 0 and small_app.setting is not None, "80x24 frame")
            await pilot.press("home", "enter")
            await wait_for(pilot, lambda: small_app.screen.id != "fleet", "80x24 detail")
            await shooter.shot(pilot, "server-detail-80x24")
        small_wall = make_app(demo, 15.0, ManualClock(1000.0))
        async with small_wall.run_test(size=SMALL) as pilot:
            await wait_for(pilot, lambda: small_wall.store.frames > 0 and len(small_wall.store.groups) > 0,
                           "80x24 wall")
            await shooter.shot(pilot, "wall-80x24")

        # The Dashboard refuses the password: one panel with the cause, the fix and the keys.  The
        # panel names the Dashboard's address: a demo on a fixed port, so the picture is the same.
        fixed = DemoServer(DemoOptions(seed=1, clock=demo_clock, frame_interval=0.05), port=REFUSED_PORT)
        await fixed.start()
        try:
            refused = make_app(fixed, None, ManualClock(1000.0), password="not-the-password")
            async with refused.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: refused.login_refused, "refused login")
                await shooter.shot(pilot, "login-refused")
        finally:
            await fixed.stop()

        # NO_COLOR (read by Textual when the app is built): meaning in glyphs, bold, underline, reverse.
        os.environ["NO_COLOR"] = "1"
        try:
            mono_clock = ManualClock(1000.0)
            mono_app = make_app(demo, None, mono_clock)
            async with mono_app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: mono_app.store.frames > 0 and len(mono_app.store.groups) > 0,
                               "NO_COLOR frame")
                await shooter.shot(pilot, "fleet-no-color")
        finally:
            os.environ.pop("NO_COLOR", None)
    finally:
        await demo.stop()

    await several_dashboards(shooter)

    # A hostile Dashboard (--fault-hostile): escape sequences, markup, bidi, wide and empty names, inert.
    hostile_clock = ManualClock(T_END - 2.0 * (FRAMES - 1))
    hostile = DemoServer(DemoOptions(seed=1, clock=hostile_clock, frame_interval=0.05, hostile=True))
    await hostile.start()
    try:
        app_clock = ManualClock(1000.0)
        app = make_app(hostile, None, app_clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.store.frames > 0, "hostile frame")
            await feed_frames(pilot, hostile_clock, app_clock, 3)
            await pilot.pause(0.2)
            app.clear_notifications()  # the hostile group error's toast: a test covers it
            await pilot.pause(0.1)
            await shooter.shot(pilot, "fleet-hostile")
    finally:
        await hostile.stop()
    return shooter.made


SEVERAL_FRAMES = 8
"""Frames the combined grid is shown after (its shots have no realtime plot)."""

SEVERAL = (("home", 1, 10, "Home Lab"), ("work", 2, 8, "Work Fleet"), ("friends", 3, 6, "Friends' Boxes"))
"""The combined grid's Dashboards: (name, seed, servers, site name)."""


async def several_dashboards(shooter: Shooter) -> None:
    """Three simulated Dashboards in one grid; the third's stream stalls (its rows stay, marked stale)."""
    from nezha_tui.api.client import Credentials, NezhaClient
    from nezha_tui.alerts.rules import DEMO_RULE, AlertConfig
    from nezha_tui.api.stream import StreamState, StreamStatus
    from nezha_tui.demo.server import DemoOptions, DemoServer
    from nezha_tui.fleets import DashboardTarget
    from nezha_tui.ui.app import NezhaApp

    demo_clock = ManualClock(T_END - 2.0 * (SEVERAL_FRAMES - 1))
    demos = [DemoServer(DemoOptions(seed=seed, servers=size, site_name=site, clock=demo_clock, frame_interval=0.05))
             for _name, seed, size, site in SEVERAL]
    for demo in demos:
        await demo.start()
    try:
        app_clock = ManualClock(1000.0)
        targets = [DashboardTarget(name, NezhaClient(demo.url, Credentials(username=demo.username,
                                                                             password=demo.password)))
                   for (name, *_rest), demo in zip(SEVERAL, demos)]
        local_noon = datetime.fromtimestamp(T_END)
        app = NezhaApp(targets, clock=app_clock, wall_clock=lambda: local_noon, start_timers=False,
                       alerts=AlertConfig(rules=(DEMO_RULE,)))
        app.tz = timezone.utc
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: all(link.store.frames for link in app.dashboards), "three first frames")
            for k in range(FRAMES - SEVERAL_FRAMES, FRAMES):  # no plot in these shots: a few frames do
                t = T_END - 2.0 * (FRAMES - 1 - k)
                demo_clock.t = t
                app_clock.t = 1000.0 + 2.0 * k
                await wait_for(pilot, lambda: all(link.store.now_ms == int(t) * 1000 for link in app.dashboards),
                               f"frame {k} of every Dashboard")
            await wait_for(pilot, lambda: all(link.groups_answered and link.setting for link in app.dashboards),
                           "groups and settings")
            await pilot.pause(0.3)
            app.clear_notifications()
            await shooter.shot(pilot, "dashboards")
            # the third Dashboard stalls: its rows stay, dimmed and marked, under its own banner line
            demos[2].faults.stall = True
            await pilot.pause(0.3)
            app_clock.t += 14.0
            link = app.dashboards[2]
            app._on_status(StreamStatus(StreamState.STALE, attempt=3, last_frame_at=app_clock.t - 14.0,
                                        next_retry_at=app_clock.t + 8.0, message="no frame for 14 s"), link)
            await pilot.pause(0.3)
            await shooter.shot(pilot, "dashboards-stale")
            await pilot.press("s")
            await wait_for(pilot, lambda: no_loading(app) and app.screen.id != "fleet", "services of three")
            await pilot.pause(0.5)
            await shooter.shot(pilot, "dashboards-services")
            demos[2].faults.stall = False
    finally:
        for demo in demos:
            await demo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "screenshots"))
    made = asyncio.run(main(Path(parser.parse_args().out)))
    print(f"wrote {len(made)} screenshots: {', '.join(made)}", file=sys.stderr)
