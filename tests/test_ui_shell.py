"""``x``: a shell on a server through the simulated Dashboard's web terminal.  The app asks first,
opens the session with the server's own Dashboard, suspends and hands the terminal over (here a
stand-in bridge types a command and reads the answer), then comes back live; refusals are toasts.
A pty run of the real bridge against the demo checks the terminal settings come back exactly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import termios

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.terminal import TerminalSession
from nezha_tui.demo.server import DemoOptions, DemoServer
from nezha_tui.shell_bridge import BridgeEnd, EndKind, bridge
from nezha_tui.ui.app import NezhaApp
from nezha_tui.ui.screens.confirm import ConfirmScreen
from tests.test_ui_demo import until
from tests.test_ui_fleet import UNPINNED


class TypingBridge:
    """Stands in for the raw-terminal bridge: types ``command``, keeps the output, then ``exit``."""

    def __init__(self, command: bytes) -> None:
        self.command = command
        self.output = b""

    async def __call__(self, session, in_fd, out_fd, **kw) -> BridgeEnd:
        await session.resize(120, 40)
        await session.send_input(self.command + b"\r")

        async def read() -> None:
            async for chunk in session.output():
                self.output += chunk
                if self.output.count(b"# ") >= 2:
                    return

        await asyncio.wait_for(read(), 5)
        await session.send_input(b"exit\r")
        return BridgeEnd(EndKind.REMOTE_CLOSED)


@contextlib.asynccontextmanager
async def demo_app(credentials=None, servers: int = 4):
    demo = DemoServer(DemoOptions(servers=servers, frame_interval=0.05))
    await demo.start()
    creds = credentials(demo) if credentials else Credentials(username=demo.username, password=demo.password)
    app = NezhaApp(NezhaClient(demo.url, creds), start_timers=False, alerts=UNPINNED)
    notes: list[str] = []
    original = app.notify
    app.notify = lambda message, **kw: (notes.append(str(message)), original(message, **kw))[1]  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.store.frames > 0)
            yield app, pilot, notes
    finally:
        await demo.stop()


def first_online(app) -> int:
    return next(key for key in app.store.order if app.store.is_online(key))


async def test_x_asks_then_opens_a_shell_and_comes_back_live() -> None:
    async with demo_app() as (app, pilot, notes):
        typing = TypingBridge(b"hostname")
        app.shell_bridge = typing
        app.suspend = contextlib.nullcontext  # type: ignore[method-assign]  (headless: nothing to suspend)
        key = first_online(app)
        name = app.store.get(key).name
        app.action_open_shell(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and name in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: any("ended" in n for n in notes))
        assert f"root@{name}:~# hostname\r\n{name}\r\n".encode() in typing.output
        assert f"The shell on {name} ended" in notes
        frames = app.store.frames
        await until(pilot, lambda: app.store.frames > frames)  # live again


async def test_n_opens_nothing() -> None:
    async with demo_app() as (app, pilot, notes):
        called = []
        app.shell_bridge = lambda *a, **k: called.append(a)
        app.action_open_shell(first_online(app))
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and called == []


async def test_a_guest_is_told_to_log_in_and_an_offline_server_is_not_connected() -> None:
    async with demo_app(lambda demo: Credentials()) as (app, pilot, notes):
        app.action_open_shell(first_online(app))
        await pilot.pause()
        assert any("nezha:server:exec" in n for n in notes) and not isinstance(app.screen, ConfirmScreen)
    async with demo_app(servers=24) as (app, pilot, notes):  # (the demo's fleet of 24 has offline servers)
        offline = next(key for key in app.store.order if not app.store.is_online(key))
        app.action_open_shell(offline)
        await pilot.pause()
        assert f"{app.store.get(offline).name} is not connected" in notes


async def test_the_real_bridge_on_a_pty_against_the_demo_restores_the_terminal() -> None:
    demo = DemoServer(DemoOptions(servers=2, frame_interval=0.05))
    await demo.start()
    main, side = pty.openpty()
    try:
        client = NezhaClient(demo.url, Credentials(username=demo.username, password=demo.password))
        ticket = await client.open_terminal(1)
        session = await TerminalSession.attach(client, ticket)
        before = termios.tcgetattr(side)
        task = asyncio.ensure_future(bridge(session, side, side, get_size=lambda: (90, 30)))
        os.write(main, b"stty size\r")
        seen = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while b"30 90" not in seen:
            assert loop.time() < deadline, seen
            await asyncio.sleep(0.02)
            with contextlib.suppress(BlockingIOError, OSError):
                os.set_blocking(main, False)
                seen += os.read(main, 4096)
        os.write(main, b"exit\r")
        end = await asyncio.wait_for(task, 5)
        assert end.kind is EndKind.REMOTE_CLOSED
        assert termios.tcgetattr(side) == before
        await session.close()
        await client.aclose()
    finally:
        os.close(main)
        os.close(side)
        await demo.stop()
