"""The field's proxies: a CDN that cuts a WebSocket whose client -> server direction is silent for 15 s.

Time is scaled down (``SCALE``): the demo Dashboard's frames, its pings, the proxy's silence limit, the
stream's keepalive and the minute the connection must last all shrink by the same factor, so the test
checks "one connection lasts a minute behind a 15 s client-silence cut" in 2.5 s of wall clock.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing


from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.stream import KEEPALIVE, FleetStream, StreamState
from nezha_tui.demo.server import DemoOptions, DemoServer

SCALE = 1 / 24  # 2 s frames -> 83 ms, a 15 s cut -> 625 ms, a minute -> 2.5 s
SILENCE_LIMIT = 15.0 * SCALE
MINUTE = 60.0 * SCALE


class SilenceCuttingProxy:
    """A TCP relay on loopback that drops a connection whose client -> server bytes stop for ``limit`` s."""

    def __init__(self, upstream_port: int, limit: float) -> None:
        self.upstream_port = upstream_port
        self.limit = limit
        self.cuts = 0
        self.connections = 0
        self.client_bytes = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task] = set()

    async def _handle(self, c_reader, c_writer) -> None:
        self.connections += 1
        u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        loop = asyncio.get_running_loop()
        last = [loop.time()]

        async def pump(reader, writer, from_client: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if from_client:
                        last[0] = loop.time()
                        self.client_bytes += len(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass

        up = asyncio.create_task(pump(c_reader, u_writer, True))
        down = asyncio.create_task(pump(u_reader, c_writer, False))
        try:
            while not (up.done() or down.done()):
                await asyncio.sleep(self.limit / 10)
                if loop.time() - last[0] > self.limit:
                    self.cuts += 1
                    break
        finally:
            for t in (up, down):
                t.cancel()
            for w in (c_writer, u_writer):
                w.transport.abort()

    def _spawn(self, r, w) -> None:
        task = asyncio.ensure_future(self._handle(r, w))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def __aenter__(self) -> "SilenceCuttingProxy":
        self.server = await asyncio.start_server(self._spawn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def one_minute_through_the_proxy(*, dashboard_pings: bool, keepalive: float | None):
    """Stream for a scaled minute through the proxy: (stream, proxy, frames, statuses)."""
    demo = DemoServer(DemoOptions(servers=4, seed=2, frame_interval=2.0 * SCALE,
                                  ping_every=4 if dashboard_pings else 0))
    await demo.start()
    try:
        async with SilenceCuttingProxy(demo.port, SILENCE_LIMIT) as proxy:
            frames, statuses = [], []
            client = NezhaClient(f"http://127.0.0.1:{proxy.port}", Credentials())
            async with aclosing(client):
                stream = FleetStream(client, on_frame=lambda f, r: frames.append(f),
                                     on_status=statuses.append, interval=2.0 * SCALE * 4,
                                     keepalive=keepalive)
                task = asyncio.create_task(stream.run())
                await asyncio.sleep(MINUTE)
                stream.stop()
                await asyncio.wait_for(task, 3)
            return stream, proxy, frames, statuses
    finally:
        await demo.stop()


async def test_dashboard_pings_and_our_pongs_keep_the_connection():
    stream, proxy, frames, _ = await one_minute_through_the_proxy(dashboard_pings=True, keepalive=None)
    assert proxy.cuts == 0 and stream.connections == 1
    assert len(frames) > 15  # frames kept coming for the whole minute


async def test_the_proxy_cuts_a_silent_client():
    """Control: with no Dashboard ping and no keepalive of ours, the proxy does cut (the test can fail)."""
    stream, proxy, _, statuses = await one_minute_through_the_proxy(dashboard_pings=False, keepalive=None)
    assert proxy.cuts >= 1  # (the reconnect itself waits ~1 s of backoff: maybe after the minute)
    assert any(s.state is StreamState.RECONNECTING for s in statuses)


async def test_keepalive_pongs_keep_the_connection_without_the_dashboards_ping():
    stream, proxy, frames, statuses = await one_minute_through_the_proxy(
        dashboard_pings=False, keepalive=KEEPALIVE * SCALE)
    assert proxy.cuts == 0 and stream.connections == 1
    assert stream.pongs_sent >= int(MINUTE / (KEEPALIVE * SCALE)) - 1
    assert not any(s.state is StreamState.RECONNECTING for s in statuses)


def test_keepalive_is_well_inside_the_cdn_limit():
    assert KEEPALIVE <= 15.0 / 2
