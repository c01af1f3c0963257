"""The simulated Dashboard over real HTTP and WebSocket, checked with httpx/websockets/json only."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import websockets

from nezha_tui.demo.server import DemoOptions, DemoServer

T0 = 1_795_669_320.0  # a multiple of 30 s (2026-11-26 05:02:00 UTC)
ZERO = "0001-01-01T00:00:00Z"


class StepClock:
    """Returns t, then advances by step at every call."""

    def __init__(self, t: float = T0, step: float = 0.0) -> None:
        self.t, self.step = t, step

    def __call__(self) -> float:
        v = self.t
        self.t += self.step
        return v


async def _server(**kw) -> DemoServer:
    kw.setdefault("clock", StepClock())
    kw.setdefault("frame_interval", 0.02)
    s = DemoServer(DemoOptions(**kw))
    await s.start()
    return s


@pytest.fixture
async def demo():
    s = await _server()
    yield s
    await s.stop()


async def _frames(url: str, n: int, headers: dict | None = None) -> list[str]:
    async with websockets.connect(url, ping_interval=None, additional_headers=headers or {}) as ws:
        return [await asyncio.wait_for(ws.recv(), 5) for _ in range(n)]


async def _login(c: httpx.AsyncClient, s: DemoServer) -> str:
    r = await c.post("/api/v1/login", json={"username": s.username, "password": s.password})
    return r.json()["data"]["token"]


# --------------------------------------------------------------------------- the stream


async def test_first_frame_shape_and_quirks(demo):
    raw = (await _frames(demo.ws_url, 1))[0]
    doc = json.loads(raw)
    assert doc["now"] == int(T0) * 1000 and doc["online"] == 1
    servers = doc["servers"]
    keys = [(-s.get("display_index", 0), s["id"]) for s in servers]
    assert keys == sorted(keys)  # display_index desc, then id asc
    ids = {s["id"] for s in servers}
    assert 5 not in ids and 18 not in ids  # hidden for guests
    assert any("public_note" in s for s in servers)
    never = next(s for s in servers if s["id"] == 22)
    assert never["host"] == {} and never["state"] == {} and never["last_active"] == ZERO
    assert '"host":{},"state":{}' in raw
    lab = next(s for s in servers if s["id"] == 6)
    assert "country_code" not in lab
    countries = {s["country_code"] for s in servers if "country_code" in s}
    assert len(countries) >= 5 and all(c == c.lower() for c in countries)
    for s in servers:
        assert "platform_version" not in s["host"] and "version" not in s["host"]  # Host.Filter() for guests
    online = [s for s in servers if s["last_active"] != ZERO and s["id"] not in (8, 13, 19)]
    for s in online:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?\+08:00", s["last_active"])
    temps = [t for s in servers for t in s["state"].get("temperatures", [])]
    assert temps and set(temps[0]) == {"Name", "Temperature"}
    assert re.search(r'"Temperature":\d+[,}]', raw)  # integral floats without ".0"
    assert any("gpu" in s["state"] for s in servers)
    assert any(s["host"].get("swap_total") is None for s in servers if s["host"])  # omitted zero


async def test_public_note_only_first_frame_and_now_steps():
    s = await _server(clock=StepClock(step=2.0))
    try:
        frames = [json.loads(f) for f in await _frames(s.ws_url, 3)]
    finally:
        await s.stop()
    assert any("public_note" in x for x in frames[0]["servers"])
    assert not any("public_note" in x for f in frames[1:] for x in f["servers"])
    nows = [f["now"] for f in frames]
    assert [b - a for a, b in zip(nows, nows[1:])] == [2000, 2000] and nows[0] % 1000 == 0


async def test_last_active_near_now_may_be_later():
    s = await _server(clock=StepClock(step=1.0))
    try:
        frames = [json.loads(f) for f in await _frames(s.ws_url, 6)]
    finally:
        await s.stop()
    from datetime import datetime

    later = 0
    for f in frames:
        for x in f["servers"]:
            if x["id"] in (8, 13, 19, 16, 22):
                continue
            age_ms = f["now"] - datetime.fromisoformat(x["last_active"]).timestamp() * 1000
            assert -1000 < age_ms < 3000
            later += age_ms < 0
    assert later > 0  # the "last_active after now" quirk happens


async def test_offline_servers_keep_old_last_active(demo):
    from datetime import datetime

    doc = json.loads((await _frames(demo.ws_url, 1))[0])
    by = {x["id"]: x for x in doc["servers"]}
    ages = sorted(doc["now"] / 1000 - datetime.fromisoformat(by[i]["last_active"]).timestamp() for i in (8, 13, 19))
    assert 60 < ages[0] < 3600 and ages[1] > 3600 and ages[2] > 86400
    disconnected = by[16]
    assert disconnected["last_active"] == ZERO and disconnected["state"].get("cpu")  # values kept


async def test_same_seed_and_clock_same_bytes():
    a = await _server()
    b = await _server()
    try:
        fa = await _frames(a.ws_url, 2)
        fb = await _frames(b.ws_url, 2)
        async with httpx.AsyncClient(base_url=a.url) as ca, httpx.AsyncClient(base_url=b.url) as cb:
            for path in ("/api/v1/service", "/api/v1/server/1/metrics?metric=net_in_transfer",
                         "/api/v1/service/7/history", "/api/v1/server-group"):
                assert (await ca.get(path)).content == (await cb.get(path)).content
    finally:
        await a.stop()
        await b.stop()
    assert fa == fb
    c = await _server(seed=2)
    try:
        assert (await _frames(c.ws_url, 1))[0] != fa[0]
    finally:
        await c.stop()


async def test_stream_agrees_with_metric_history(demo):
    doc = json.loads((await _frames(demo.ws_url, 1))[0])
    from datetime import datetime

    now_s = doc["now"] // 1000
    checked = 0
    async with httpx.AsyncClient(base_url=demo.url) as c:
        for x in doc["servers"]:
            if x["last_active"] == ZERO or int(datetime.fromisoformat(x["last_active"]).timestamp()) != now_s:
                continue
            for metric, key in (("cpu", "cpu"), ("memory", "mem_used"), ("tcp_conn", "tcp_conn_count")):
                pts = (await c.get(f"/api/v1/server/{x['id']}/metrics?metric={metric}")).json()["data"]["data_points"]
                assert pts[-1]["ts"] == now_s * 1000
                assert pts[-1]["value"] == x["state"][key]
            checked += 1
    assert checked >= 3


# --------------------------------------------------------------------------- handshake and auth


async def test_handshake_rules(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        r = await c.get("/api/v1/ws/server")
        assert r.status_code == 400
    with pytest.raises(websockets.InvalidStatus) as e:
        await _frames(demo.ws_url, 1, {"Origin": "https://evil.example"})
    assert e.value.response.status_code == 403
    await _frames(demo.ws_url, 1, {"Origin": demo.url})  # same origin is fine


async def test_force_auth():
    s = await _server(force_auth=True)
    try:
        with pytest.raises(websockets.InvalidStatus) as e:
            await _frames(s.ws_url, 1)
        assert e.value.response.status_code == 200
        assert json.loads(e.value.response.body) == {"error": "ApiErrorUnauthorized"}
        async with httpx.AsyncClient(base_url=s.url) as c:
            r = await c.get("/api/v1/service")
            assert r.json() == {"error": "ApiErrorUnauthorized"}
            assert "success" not in r.json()
            tok = await _login(c, s)
            frames = await _frames(s.ws_url, 1, {"Authorization": "Bearer " + tok})
            assert 5 in {x["id"] for x in json.loads(frames[0])["servers"]}  # admin sees hidden servers
            s.faults.force_auth = False
            assert (await c.get("/api/v1/service")).json()["success"] is True
    finally:
        await s.stop()


async def test_login_cookies_refresh_and_profile():
    clock = StepClock()
    s = await _server(clock=clock, jwt_lifetime=60)
    try:
        async with httpx.AsyncClient(base_url=s.url) as c:
            bad = await c.post("/api/v1/login", json={"username": "admin", "password": "nope"})
            assert bad.status_code == 200 and bad.json() == {"error": "ApiErrorUnauthorized"}
            r = await c.post("/api/v1/login", json={"username": s.username, "password": s.password})
            data = r.json()["data"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", data["expire"])
            assert {"nz-jwt", "nz-csrf"} <= set(c.cookies.keys())
            auth = {"Authorization": "Bearer " + data["token"]}
            assert (await c.get("/api/v1/profile", headers=auth)).json()["data"]["username"] == "admin"
            setting = (await c.get("/api/v1/setting", headers=auth)).json()["data"]
            assert setting["version"] and setting["tsdb_enabled"] is True
            # refresh needs the CSRF pair
            nocsrf = httpx.AsyncClient(base_url=s.url)
            r = await nocsrf.post("/api/v1/refresh-token", headers=auth)
            await nocsrf.aclose()
            assert r.status_code == 403 and "CSRF" in r.json()["error"]
            clock.t += 10
            r = await c.post("/api/v1/refresh-token", headers={**auth, "X-CSRF-Token": c.cookies["nz-csrf"]})
            assert r.json()["success"] is True and r.json()["data"]["token"] != data["token"]
            new_auth = {"Authorization": "Bearer " + r.json()["data"]["token"]}
            # past expiry: optional routes serve a guest, login-only routes refuse
            clock.t += 3600
            c.cookies.clear()
            assert (await c.get("/api/v1/profile", headers=new_auth)).json() == {"error": "ApiErrorUnauthorized"}
            r = await c.get("/api/v1/server/5/metrics?metric=cpu", headers=new_auth)
            assert r.json() == {"error": "unauthorized"}  # hidden server: the JWT became a guest
            assert "version" not in (await c.get("/api/v1/setting", headers=new_auth)).json()["data"]
    finally:
        await s.stop()


async def test_api_tokens(demo):
    t = demo.tokens
    async with httpx.AsyncClient(base_url=demo.url) as c:
        def h(tok):
            return {"Authorization": "Bearer " + tok}

        r = await c.get("/api/v1/server", headers=h(t["full"]))
        assert r.status_code == 200 and len(r.json()["data"]) == 24
        r = await c.get("/api/v1/server-group", headers=h(t["expired"]))
        assert r.status_code == 401 and r.json() == {"error": "ApiErrorUnauthorized: api token expired"}
        r = await c.get("/api/v1/server-group", headers=h("nzp_unknown"))
        assert r.status_code == 401 and r.json() == {"error": "ApiErrorUnauthorized: invalid api token"}
        r = await c.get("/api/v1/server-group", headers=h(t["noscope"]))
        assert r.status_code == 403 and r.json()["error"] == "ApiErrorForbidden: api token lacks scope nezha:inventory:read"
        assert (await c.get("/api/v1/service", headers=h(t["noscope"]))).json()["success"] is True
        r = await c.get("/api/v1/profile", headers=h(t["full"]))
        assert r.status_code == 403
        r = await c.get("/api/v1/server", headers=h(t["limited"]))
        assert [x["id"] for x in r.json()["data"]] == [1, 2, 3]
        r = await c.get("/api/v1/server?id=4,1", headers=h(t["full"]))
        assert [x["id"] for x in r.json()["data"]] == [1, 4]  # display_index != 0 first (model.SearchByID)
        r = await c.get("/api/v1/server?id=999", headers=h(t["full"]))
        assert len(r.json()["data"]) == 24  # no match: the whole list
        assert (await c.get("/api/v1/server")).json() == {"error": "ApiErrorUnauthorized"}
    with pytest.raises(websockets.InvalidStatus) as e:
        await _frames(demo.ws_url, 1, {"Authorization": "Bearer " + t["expired"]})
    assert e.value.response.status_code == 401
    frames = await _frames(demo.ws_url, 1, {"Authorization": "Bearer " + t["limited"]})
    assert [x["id"] for x in json.loads(frames[0])["servers"]] == [1, 2, 3]


# --------------------------------------------------------------------------- REST shapes


async def test_groups_views(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        guest = (await c.get("/api/v1/server-group")).json()["data"]
        names = [g["group"]["name"] for g in guest]
        assert "Decommissioned" not in names and "Internal" not in names
        assert all(5 not in g["servers"] for g in guest)
        tok = await _login(c, demo)
        r = await c.get("/api/v1/server-group", headers={"Authorization": "Bearer " + tok})
        admin = r.json()["data"]
        empty = next(g for g in admin if g["group"]["name"] == "Decommissioned")
        assert empty["servers"] is None and '"servers":null' in r.text


async def test_metrics_routes():
    s = await _server(servers=30)
    try:
        async with httpx.AsyncClient(base_url=s.url) as c:
            tok = await _login(c, s)
            c.cookies.clear()  # the nz-jwt cookie would authenticate too
            auth = {"Authorization": "Bearer " + tok}

            async def pts(path, **kw):
                return (await c.get(path, **kw)).json()["data"]["data_points"]

            assert len(await pts("/api/v1/server/1/metrics?metric=cpu&period=1d")) == 2880
            assert len(await pts("/api/v1/server/1/metrics?metric=cpu&period=7d", headers=auth)) == 336
            assert len(await pts("/api/v1/server/1/metrics?metric=uptime&period=30d", headers=auth)) >= 1
            d1 = await pts("/api/v1/server/1/metrics?metric=cpu")
            assert d1[1]["ts"] - d1[0]["ts"] == 30_000
            r = await c.get("/api/v1/server/22/metrics?metric=cpu")
            assert '"data_points":null' in r.text  # never reported: TSDB has nothing
            assert (await c.get("/api/v1/server/1/metrics?metric=bogus")).json() == {"error": "invalid metric name"}
            assert (await c.get("/api/v1/server/1/metrics?metric=cpu&period=90d", headers=auth)).json() == {
                "error": "invalid period: 90d, expected 1d, 7d, or 30d"}
            assert (await c.get("/api/v1/server/1/metrics?metric=cpu&period=7d")).json() == {
                "error": "unauthorized: only 1d data available for guests"}
            assert (await c.get("/api/v1/server/999/metrics?metric=cpu")).json() == {"error": "server not found"}
            s.faults.tsdb = False
            r = await c.get("/api/v1/server/1/metrics?metric=cpu")
            assert '"data_points":[]' in r.text
            assert (await c.get("/api/v1/setting")).json()["data"]["tsdb_enabled"] is False
            r = await c.get("/api/v1/nothing/here")
            assert r.status_code == 404 and r.json() == {"error": "404 Not Found"}
    finally:
        await s.stop()


async def test_services_routes(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        data = (await c.get("/api/v1/service")).json()["data"]
        items = data["services"]
        assert len(items) >= 6 and "6" not in items  # a monitor hidden for guests
        for it in items.values():
            assert len(it["delay"]) == len(it["up"]) == len(it["down"]) == 30
            for k in ("current_up", "current_down", "total_up", "total_down"):
                assert k in it
        assert data["cycle_transfer_stats"]
        cyc = next(iter(data["cycle_transfer_stats"].values()))
        assert set(cyc["transfer"]) <= set(cyc["server_name"]) and "from" in cyc and "to" in cyc
        h = (await c.get("/api/v1/service/7/history")).json()["data"]
        assert h["servers"]
        stats = h["servers"][0]["stats"]
        assert {"avg_delay", "up_percent", "total_up", "total_down", "data_points"} <= set(stats)
        downs = [p for srv in h["servers"] for p in srv["stats"]["data_points"] if p["status"] == 0]
        assert downs and all("status" in p for p in h["servers"][0]["stats"]["data_points"])
        assert (await c.get("/api/v1/service/99/history")).json() == {"error": "service not found"}
        ids = (await c.get("/api/v1/service/server")).json()["data"]
        assert ids
        with_mon = (await c.get(f"/api/v1/server/{ids[0]}/service")).json()
        assert with_mon["success"] and len(with_mon["data"][0]["created_at"]) == len(with_mon["data"][0]["avg_delay"])
        no_mon = next(i for i in range(1, 25) if i not in ids and i not in (5, 18))
        assert (await c.get(f"/api/v1/server/{no_mon}/service")).json() == {"success": True}


# --------------------------------------------------------------------------- faults


async def test_fault_pages(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        demo.faults.proxy_502 = True
        r = await c.get("/api/v1/setting")
        assert r.status_code == 502 and "502 Bad Gateway" in r.text and r.headers["content-type"].startswith("text/html")
        with pytest.raises(websockets.InvalidStatus) as e:
            await _frames(demo.ws_url, 1)
        assert e.value.response.status_code == 502
        demo.faults.proxy_502 = False
        demo.faults.waf_reason = "you were blocked by nezha WAF: too many failed logins"
        r = await c.get("/api/v1/service")
        assert r.status_code == 403 and "too many failed logins" in r.text and "<html" in r.text
        demo.faults.waf_reason = None
        assert (await c.get("/api/v1/service")).status_code == 200


async def test_drop_stall_malformed(demo):
    async with websockets.connect(demo.ws_url, ping_interval=None) as ws:
        await ws.recv()
        demo.faults.drop_websockets()
        with pytest.raises(websockets.ConnectionClosedError):
            for _ in range(100):
                await asyncio.wait_for(ws.recv(), 5)
    demo.faults.stall = True
    async with websockets.connect(demo.ws_url, ping_interval=None) as ws:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        demo.faults.stall = False
        json.loads(await asyncio.wait_for(ws.recv(), 5))
        # frames sent before the call may still be in flight (one every 20 ms): the malformed one
        # is the next one *sent*, so skip the good ones already on their way (a few at most)
        demo.faults.send_malformed("invalid_json")
        for _ in range(20):
            try:
                json.loads(await asyncio.wait_for(ws.recv(), 5))
            except json.JSONDecodeError:
                break
        else:
            pytest.fail("no truncated frame came")
        demo.faults.send_malformed("wrong_types")
        for _ in range(20):
            doc = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if doc["servers"][0]["state"]["cpu"] == "busy":
                break
        else:
            pytest.fail("no frame with wrong types came")
        assert isinstance(json.loads(await asyncio.wait_for(ws.recv(), 5))["servers"][0]["state"]["cpu"], float)


async def test_frame_phase_puts_every_frame_on_the_wall_clock_grid():
    """--phase (bench: several demos in or out of step): each frame waits for the next moment the clock
    is PHASE past a multiple of the interval, however late the stream connected or the last frame went."""
    import time

    s = await _server(frame_phase=0.3, frame_interval=0.25)
    try:
        async with websockets.connect(s.ws_url, ping_interval=None) as ws:
            for _ in range(3):
                before = time.time()
                slot = before + (0.3 - before) % 0.25  # the earliest moment the server may send the next
                await asyncio.wait_for(ws.recv(), 5)
                assert time.time() >= slot - 0.001
    finally:
        await s.stop()
    assert s.state.online == 0
    assert DemoOptions().frame_phase is None  # by default the first frame goes at once, as ws.go


async def test_restart_same_port(demo):
    port = demo.port
    await demo.stop()
    with pytest.raises(OSError):
        await _frames(f"ws://127.0.0.1:{port}/api/v1/ws/server", 1)
    await demo.start()
    assert demo.port == port
    assert json.loads((await _frames(demo.ws_url, 1))[0])["servers"]


async def test_server_pings_and_ignores_client_pings():
    s = await _server(ping_every=2)
    try:
        async with websockets.connect(s.ws_url, ping_interval=None) as ws:
            waiter = await ws.ping()
            for _ in range(4):
                await asyncio.wait_for(ws.recv(), 5)
            assert not waiter.done()  # the Dashboard never answers pings
    finally:
        await s.stop()


async def test_admin_sees_full_host_and_hidden_servers(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        tok = await _login(c, demo)
    doc = json.loads((await _frames(demo.ws_url, 1, {"Authorization": "Bearer " + tok}))[0])
    by = {x["id"]: x for x in doc["servers"]}
    assert 5 in by and 18 in by
    assert by[1]["host"]["platform_version"] and by[1]["host"]["version"]
    # the JWT may also come as ?token= (browsers cannot set WebSocket headers)
    doc = json.loads((await _frames(demo.ws_url + "?token=" + tok, 1))[0])
    assert 5 in {x["id"] for x in doc["servers"]}


async def test_empty_fleet_omits_servers_and_online_counts_viewers():
    s = await _server(servers=0)
    try:
        raw = (await _frames(s.ws_url, 1))[0]
        now = json.loads(raw)["now"]
        assert now % 1000 == 0 and raw == '{"now":%d,"online":1}' % now  # "servers" omitted when empty
        async with httpx.AsyncClient(base_url=s.url) as c:
            assert (await c.get("/api/v1/service/server")).json() == {"success": True}
    finally:
        await s.stop()
    d = await _server()
    try:
        async with websockets.connect(d.ws_url, ping_interval=None) as a, \
                websockets.connect(d.ws_url, ping_interval=None) as b:
            await a.recv()
            await b.recv()
            # (a frame for ``a`` may have left before ``b`` connected on a busy machine: the next ones count both)
            seen = [json.loads(await asyncio.wait_for(a.recv(), 5))["online"] for _ in range(2)]
            assert seen[-1] == 2 and set(seen) <= {1, 2}
    finally:
        await d.stop()


async def test_revoked_session_gets_waf_page(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        tok = await _login(c, demo)
        c.cookies.clear()
        demo.state.auth.revoke_sessions()
        r = await c.get("/api/v1/service", headers={"Authorization": "Bearer " + tok})
        assert r.status_code == 403 and "Blocked" in r.text and r.headers["content-type"].startswith("text/html")
        r = await c.get("/api/v1/service", headers={"Authorization": "Bearer not.a.jwt"})
        assert r.json()["success"] is True  # garbage is simply a guest


async def test_number_and_time_formats_on_the_wire(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        r = await c.get("/api/v1/server/1/metrics?metric=memory")
        assert re.search(r'"value":\d+[,}]', r.text) and ".0," not in r.text  # bytes: integral floats
        r = await c.get("/api/v1/service/7/history")
        assert re.search(r'"up_percent":\d+(\.\d{1,7})?[,}]', r.text)  # float32 shortest form
        assert (await c.get("/api/v1/service")).text.count('"current_up":') >= 6
        tok = await _login(c, demo)
        r = await c.get("/api/v1/server?id=22", headers={"Authorization": "Bearer " + tok})
        rec = r.json()["data"][0]
        assert rec["host"] == {} and rec["state"] == {} and rec["last_active"] == ZERO
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?\+08:00", rec["created_at"])
        assert rec["owner"] == {"id": 1, "username": "admin"} and rec["display_index"] == 0


async def test_service_history_without_tsdb():
    s = await _server(tsdb=False)
    try:
        async with httpx.AsyncClient(base_url=s.url) as c:
            http_mon = (await c.get("/api/v1/service/3/history")).json()["data"]
            assert http_mon["servers"] == []  # HTTP results are not stored per server without TSDB
            ping = (await c.get("/api/v1/service/1/history")).json()["data"]["servers"][0]["stats"]
            assert ping["up_percent"] == 0 and ping["total_up"] == 0
            assert {p["status"] for p in ping["data_points"]} == {1}
    finally:
        await s.stop()


def test_thousand_server_frame_is_fast():
    import time as _time

    from nezha_tui.demo import views
    from nezha_tui.demo.server import DemoState

    st = DemoState(DemoOptions(servers=1000, clock=StepClock()))
    servers = views.visible_servers(st, views.GUEST)
    st.encoder.frame(T0, 1, servers, with_note=True, full_host=lambda s: False)
    a = _time.perf_counter()
    text = st.encoder.frame(T0 + 2, 1, servers, with_note=False, full_host=lambda s: False)
    assert _time.perf_counter() - a < 1.0  # measured ~25 ms; generous for loaded CI machines
    assert len(json.loads(text)["servers"]) == len(servers) > 900


async def test_legacy_dashboard_has_no_history_routes():
    """faults.legacy: a Dashboard before v2.0.0 - the three history routes get Gin's NoRoute
    fallback (HTTP 404 JSON, before any auth), /setting has no tsdb_enabled; the rest works."""
    s = await _server(legacy=True)
    history = ("/api/v1/server/1/metrics?metric=cpu&period=1d", "/api/v1/server/1/service?period=1d",
               "/api/v1/service/1/history?period=1d", "/api/v1/server/999/metrics?metric=bogus")
    try:
        async with httpx.AsyncClient(base_url=s.url) as c:
            auth = {"Authorization": "Bearer " + await _login(c, s)}
            for headers in ({}, auth):
                for path in history:
                    r = await c.get(path, headers=headers)
                    assert r.status_code == 404, path
                    assert r.text == '{"error":"404 Not Found"}'
                    assert r.headers["content-type"] == "application/json; charset=utf-8"
            guest = (await c.get("/api/v1/setting")).json()["data"]
            assert "tsdb_enabled" not in guest and guest["config"]["site_name"]
            admin = (await c.get("/api/v1/setting", headers=auth)).json()["data"]
            assert "tsdb_enabled" not in admin and admin["version"] == "v1.14.14"
            assert (await c.get("/api/v1/service")).json()["data"]["services"]
            assert (await c.get("/api/v1/server-group")).json()["success"] is True
            c.cookies.clear()  # the login left an nz-jwt cookie: be a guest again
            s.faults.force_auth = True  # NoRoute runs before the auth middleware
            assert (await c.get(history[0])).status_code == 404
            assert (await c.get("/api/v1/service")).json() == {"error": "ApiErrorUnauthorized"}
            s.faults.force_auth = False
            s.faults.legacy = False  # a runtime switch: an upgraded Dashboard
            r = await c.get(history[0])
            assert r.status_code == 200 and len(r.json()["data"]["data_points"]) == 2880
            assert (await c.get("/api/v1/setting")).json()["data"]["tsdb_enabled"] is True
    finally:
        await s.stop()
