"""NezhaClient and FleetStream against the simulated Dashboard (real HTTP + WebSocket)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.errors import (
    BadCredentials, GuestPeriodDenied, MissingScope, NotFound, ProxyError, TokenRejected,
    Unauthorized, WafBlocked,
)
from nezha_tui.api.models import FullServer, MetricSeries, ServiceHistory, ServiceOverview, Setting
from nezha_tui.api.stream import LOGIN_REQUIRED, FleetStream, StreamState
from nezha_tui.demo.server import DemoOptions, DemoServer

T0 = 1_795_669_320.0  # 2026-11-26 05:02:00 UTC, a multiple of 30 s


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Counting(httpx.AsyncBaseTransport):
    """A real transport that records the paths it sends."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path.removeprefix("/api/v1"))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def demo(clock):
    s = DemoServer(DemoOptions(servers=12, seed=3, clock=clock, frame_interval=0.03))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def make_client(demo, clock):
    made: list[NezhaClient] = []

    def make(creds: Credentials = Credentials(), **kw) -> NezhaClient:
        kw.setdefault("clock", clock)
        c = NezhaClient(demo.url, creds, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.aclose()


# --------------------------------------------------------------------------- every endpoint


async def test_guest_reads_every_public_endpoint(make_client, demo):
    c = make_client()
    setting = await c.setting()
    assert isinstance(setting, Setting) and setting.config.site_name == "Nezha Demo"
    assert setting.tsdb_enabled is True and setting.version == ""  # version is for admins only
    groups = await c.server_groups()
    assert groups and all(g.group.name for g in groups)
    overview = await c.services()
    assert isinstance(overview, ServiceOverview) and overview.services
    item = next(iter(overview.services.values()))
    assert len(item.up) == 30 and len(item.delay) == 30
    monitored = await c.service_servers()
    assert monitored and all(isinstance(i, int) for i in monitored)
    sid = monitored[0]
    m = await c.server_metrics(sid, "cpu")
    assert isinstance(m, MetricSeries) and m.server_id == sid and m.metric == "cpu"
    assert len(m.data_points) > 100
    assert all(m.data_points[i].ts < m.data_points[i + 1].ts for i in range(len(m.data_points) - 1))
    series = await c.server_services(sid)
    assert series and all(len(s.created_at) == len(s.avg_delay) for s in series)
    service_id = next(iter(overview.services))
    h = await c.service_history(service_id)
    assert isinstance(h, ServiceHistory) and h.service_id == service_id and h.servers
    assert all(p.status in (0, 1) for s in h.servers for p in s.stats.data_points)


async def test_guest_limits(make_client):
    c = make_client()
    sid = (await c.service_servers())[0]
    with pytest.raises(GuestPeriodDenied):
        await c.server_metrics(sid, "cpu", "7d")
    service_id = next(iter((await c.services()).services))
    with pytest.raises(GuestPeriodDenied):
        await c.service_history(service_id, "30d")
    with pytest.raises(Unauthorized):
        await c.servers()
    with pytest.raises(Unauthorized):
        await c.profile()
    with pytest.raises(NotFound):
        await c.server_metrics(99999, "cpu")
    with pytest.raises(NotFound):
        await c.service_history(99999)


async def test_password_mode_full_records_and_long_periods(make_client, demo):
    transport = Counting()
    c = make_client(Credentials(demo.username, demo.password), transport=transport)
    servers = await c.servers()
    assert len(servers) == 12 and all(isinstance(s, FullServer) and s.id > 0 for s in servers)
    assert transport.paths[:2] == ["/login", "/server"]
    assert (await c.profile()).username == demo.username
    ids = [servers[0].id, servers[2].id]
    assert sorted(s.id for s in await c.servers(ids)) == sorted(ids)
    assert (await c.setting()).version  # admins see the version
    m = await c.server_metrics(servers[0].id, "memory", "7d")
    assert m.metric == "memory"
    # logged in, guests' hidden servers are in the groups too
    guest_ids = {i for g in await make_client().server_groups() for i in g.servers}
    admin_ids = {i for g in await c.server_groups() for i in g.servers}
    assert guest_ids <= admin_ids


async def test_access_tokens(make_client, demo):
    full = make_client(Credentials(token=demo.token))
    assert len(await full.servers()) == 12
    assert (await full.services()).services
    with pytest.raises(MissingScope) as info:
        await full.profile()  # self-management routes refuse tokens
    assert "access tokens" in info.value.message
    narrow = make_client(Credentials(token=demo.tokens["noscope"]))
    assert (await narrow.services()).services
    with pytest.raises(MissingScope) as info:
        await narrow.server_groups()
    assert info.value.scope == "nezha:inventory:read"
    limited = make_client(Credentials(token=demo.tokens["limited"]))
    assert {s.id for s in await limited.servers()} <= {1, 2, 3}


async def test_expired_and_unknown_tokens_are_401(make_client, demo):
    with pytest.raises(TokenRejected) as info:
        await make_client(Credentials(token=demo.tokens["expired"])).server_groups()
    assert "expired" in info.value.message
    with pytest.raises(TokenRejected):
        await make_client(Credentials(token="nzp_" + "0" * 40)).server_groups()


async def test_bad_password_is_not_retried(make_client, demo):
    transport = Counting()
    c = make_client(Credentials(demo.username, "wrong"), transport=transport)
    with pytest.raises(BadCredentials):
        await c.setting()
    with pytest.raises(BadCredentials):
        await c.server_groups()
    with pytest.raises(BadCredentials):
        await c.ensure_auth()
    assert transport.paths == ["/login"]


async def test_force_auth(make_client, demo):
    demo.faults.force_auth = True
    guest = make_client()
    with pytest.raises(Unauthorized):
        await guest.server_groups()
    with pytest.raises(Unauthorized):
        await guest.services()
    admin = make_client(Credentials(demo.username, demo.password))
    assert await admin.server_groups()


async def test_proxy_502_and_waf(make_client, demo):
    c = make_client()
    demo.faults.proxy_502 = True
    with pytest.raises(ProxyError) as info:
        await c.setting()
    assert info.value.message == "proxy error 502 Bad Gateway (the Dashboard behind it may be down)"
    demo.faults.proxy_502 = False
    demo.faults.waf_reason = "you were blocked by nezha WAF"
    with pytest.raises(WafBlocked) as info:
        await c.setting()
    assert info.value.message == "blocked by the Dashboard's firewall: you were blocked by nezha WAF"
    demo.faults.reset()
    assert (await c.setting()).config.site_name


async def test_tsdb_off(make_client, demo):
    demo.faults.tsdb = False
    c = make_client()
    assert (await c.setting()).tsdb_enabled is False
    sid = (await c.service_servers())[0]
    assert (await c.server_metrics(sid, "cpu")).data_points == []
    service_id = next(iter((await c.services()).services))
    h = await c.service_history(service_id)  # from the SQL path
    assert h.service_id == service_id


# --------------------------------------------------------------------------- JWT lifetime


async def test_jwt_renewed_and_revoked_session_detected(make_client, demo, clock):
    transport = Counting()
    c = make_client(Credentials(demo.username, demo.password), transport=transport, validate_every=60)
    await c.ensure_auth()
    assert transport.paths == ["/login"]
    clock.t += 3600 - 120  # 2 minutes left (margin 6 min on a 1 h JWT): renew
    await c.ensure_auth()
    assert transport.paths == ["/login", "/login"]
    assert (await c.profile()).username == demo.username
    demo.state.auth.revoke_sessions()  # optional routes would now serve us as a guest
    clock.t += 61
    await c.ensure_auth()
    assert transport.paths[-3:] == ["/profile", "/profile", "/login"]
    assert len(await c.servers()) == 12


async def test_raw_jwt_refreshed_with_csrf_pair(make_client, demo, clock):
    user = demo.state.auth.users[1]
    token, _ = demo.state.auth.issue_jwt(user, clock())
    transport = Counting()
    c = make_client(Credentials(token=token), transport=transport)
    assert (await c.profile()).username == user.username
    clock.t += 3600 - 60
    await c.ensure_auth()
    assert transport.paths[-1] == "/refresh-token"
    assert c.stream_headers()["Authorization"] != f"Bearer {token}"
    clock.t += 600  # past the old expiry: the renewed token still works
    assert (await c.profile()).username == user.username


# --------------------------------------------------------------------------- the stream


class Sink:
    def __init__(self) -> None:
        self.frames: list = []
        self.statuses: list = []
        self.sleeps: list[float] = []
        self.event = asyncio.Event()

    def on_frame(self, frame, report) -> None:
        self.frames.append((frame, report))
        self.event.set()

    def on_status(self, status) -> None:
        self.statuses.append(status)
        self.event.set()

    async def sleep(self, d: float) -> None:
        self.sleeps.append(d)
        await asyncio.sleep(0.01)

    async def until(self, pred, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred():
                self.event.clear()
                await self.event.wait()


def stream_for(client, sink: Sink, **kw) -> FleetStream:
    return FleetStream(client, on_frame=sink.on_frame, on_status=sink.on_status, interval=0.03,
                       sleep=sink.sleep, rng=lambda: 0.5, **kw)


async def test_stream_with_password_drop_and_malformed(make_client, demo):
    c = make_client(Credentials(demo.username, demo.password))
    sink = Sink()
    stream = stream_for(c, sink)
    task = asyncio.create_task(stream.run())
    await sink.until(lambda: len(sink.frames) >= 2)
    frame, report = sink.frames[1]
    assert len(frame.servers) == 12 and report.clean
    assert any(s.public_note for s in sink.frames[0][0].servers)  # notes come in the first frame
    assert all(s.public_note is None for s in frame.servers)  # and only there (the store keeps them)
    demo.faults.send_malformed("invalid_json")
    await sink.until(lambda: any("malformed" in s.message for s in sink.statuses))
    demo.faults.send_malformed("wrong_types")
    await sink.until(lambda: any(not r.clean for _, r in sink.frames))
    assert stream.connections == 1
    demo.faults.drop_websockets()
    await sink.until(lambda: stream.connections == 2 and stream.status.state is StreamState.LIVE)
    assert sink.sleeps == [1.0]
    stream.stop()
    await asyncio.wait_for(task, 5)


async def test_stream_force_auth_guest_is_auth_failed(make_client, demo):
    demo.faults.force_auth = True
    sink = Sink()
    stream = stream_for(make_client(), sink)
    await asyncio.wait_for(stream.run(), 5)
    assert stream.status.state is StreamState.AUTH_FAILED
    assert stream.status.message == LOGIN_REQUIRED


async def test_stream_proxy_502_then_recovery(make_client, demo):
    demo.faults.proxy_502 = True
    sink = Sink()
    stream = stream_for(make_client(Credentials(token=demo.token)), sink)
    task = asyncio.create_task(stream.run())
    await sink.until(lambda: len(sink.sleeps) >= 2)
    assert any(s.message.startswith("proxy error 502 Bad Gateway") for s in sink.statuses)
    demo.faults.proxy_502 = False
    await sink.until(lambda: len(sink.frames) >= 1)
    assert sink.sleeps[:2] == [1.0, 2.0]
    stream.stop()
    await asyncio.wait_for(task, 5)


async def test_stream_stall_goes_stale(make_client, demo):
    sink = Sink()
    stream = stream_for(make_client(), sink)
    task = asyncio.create_task(stream.run())
    await sink.until(lambda: len(sink.frames) >= 1)
    demo.faults.stall = True
    await sink.until(lambda: any(s.state is StreamState.STALE for s in sink.statuses))
    demo.faults.stall = False
    await sink.until(lambda: stream.connections >= 2 and stream.status.state is StreamState.LIVE)
    stream.stop()
    await asyncio.wait_for(task, 5)


async def test_malformed_frames_of_the_demo_keep_totals_steady(clock):
    """--fault-malformed: every 2nd frame breaks one reporting server (null state, wrong types) or
    the whole document; through the real stream and decoder, the store keeps the broken server's
    previous values, so the totals never dip (the demo's clock stands still: every good frame is
    the same)."""
    from nezha_tui.store import FleetStore

    demo = DemoServer(DemoOptions(servers=12, seed=3, clock=clock, frame_interval=0.03, malformed_every=2))
    await demo.start()
    try:
        async with NezhaClient(demo.url, Credentials(demo.username, demo.password)) as c:
            sink = Sink()
            stream = stream_for(c, sink)
            task = asyncio.create_task(stream.run())
            await sink.until(lambda: len(sink.frames) >= 7)
            stream.stop()
            await asyncio.wait_for(task, 5)
    finally:
        await demo.stop()
    store = FleetStore()
    totals, repaired = [], []
    for frame, report in sink.frames:
        store.apply(frame, report)
        totals.append((store.totals.online, store.totals.net_in_speed, store.totals.net_out_transfer))
        repaired.append(dict(store.repaired))
    kinds = [set().union(*r.values()) for r in repaired if r]
    assert {"state"} in kinds and {"last_active", "host", "state"} in kinds  # both kinds arrived
    assert any("malformed" in s.message for s in sink.statuses)  # and a truncated one was skipped
    assert len(set(totals)) == 1, totals
    assert totals[0][0] > 0 and totals[0][1] > 0
