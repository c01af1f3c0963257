"""The demo Dashboard's web terminal: the simulated shell alone, then both endpoints over HTTP/WS.

Checked with httpx, websockets and json only (never the client's decoder).
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import websockets

from nezha_tui.demo.server import DemoOptions, DemoServer
from nezha_tui.demo.terminal import SEQ_LIMIT, SimulatedShell, TerminalBook

T0 = 1_795_669_320.0
PROMPT = b"root@web-01:~# "
ONLINE, OFFLINE, NEVER = 1, 8, 22  # lax-db-01 (online), tyo-edge-01 (agent hung), ams-mail-01 (never reported)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --------------------------------------------------------------------------- the shell alone


def _shell(name: str = "web-01") -> SimulatedShell:
    s = SimulatedShell(name)
    assert s.start() == PROMPT if name == "web-01" else True
    return s


def test_prompt_echo_and_command():
    s = _shell()
    assert s.feed(b"host") == b"host"
    assert s.feed(b"name\r") == b"name\r\nweb-01\r\n" + PROMPT
    assert s.feed(b"whoami\n") == b"whoami\r\nroot\r\n" + PROMPT  # LF runs the line too
    out = s.feed(b"uname -a\r").decode()
    assert re.fullmatch(r"uname -a\r\nLinux web-01 \S+ #1 .+ x86_64 GNU/Linux\r\nroot@web-01:~# ", out)
    assert s.feed(b"echo  hello   'big world'\r") == b"echo  hello   'big world'\r\nhello big world\r\n" + PROMPT
    assert s.feed(b"\r") == b"\r\n" + PROMPT


def test_backspace_both_codes_and_wide_chars():
    s = _shell()
    assert s.feed(b"whoamx\x7f") == b"whoamx\b \b"
    assert s.feed(b"\x08\x08") == b"\b \b\b \b"
    assert s.feed(b"ami\r") == b"ami\r\nroot\r\n" + PROMPT
    assert s.feed(b"\x7f") == b""  # nothing to erase at the prompt
    assert s.feed("中".encode()[:2]) == b""  # half a UTF-8 character waits for the rest
    assert s.feed("中".encode()[2:]) == "中".encode()
    assert s.feed(b"\x7f") == b"\b\b  \b\b"  # a wide character takes two cells


def test_ctrl_c_and_ctrl_d():
    s = _shell()
    assert s.feed(b"sleep 100\x03") == b"sleep 100^C\r\n" + PROMPT
    assert s.feed(b"\r") == b"\r\n" + PROMPT  # the interrupted line is gone
    assert s.feed(b"ab\x04") == b"ab"  # ^D on a non-empty line does nothing
    assert not s.ended
    assert s.feed(b"\x15") == b"\b\b  \b\b"  # ^U erases the line
    assert s.feed(b"\x04") == b"exit\r\n"
    assert s.ended and s.feed(b"hostname\r") == b""


def test_exit_and_status():
    s = _shell()
    assert s.feed(b"exit 3\rhostname\r") == b"exit 3\r\nexit\r\n"  # input after exit is not read
    assert s.ended and s.exit_status == 3


def test_stty_size_follows_accepted_resizes():
    s = _shell()
    assert s.feed(b"stty size\r") == b"stty size\r\n24 80\r\n" + PROMPT  # the agent's pty starts 80x24
    assert s.resize(132, 40)
    assert s.feed(b"stty size\r") == b"stty size\r\n40 132\r\n" + PROMPT
    assert not s.resize(1, 40) and not s.resize(132, 501)  # the agent ignores these
    assert s.feed(b"stty size\r").endswith(b"40 132\r\n" + PROMPT)


def test_unknown_command_and_escapes_swallowed():
    s = _shell()
    assert s.feed(b"rm -rf /\r") == b"rm -rf /\r\nbash: rm: command not found\r\n" + PROMPT
    assert s.feed(b"\x1b[A\x1b[1;5C\x1bOB\x1b[200~ls\x1b[201~") == b"ls"  # arrows, paste marks
    assert s.feed(b"\r") == b"\r\nbash: ls: command not found\r\n" + PROMPT


def test_seq_output_size():
    s = _shell()
    out = s.feed(b"seq 100000\r")
    body = out[len(b"seq 100000\r\n"):-len(PROMPT)]
    lines = body.split(b"\r\n")
    assert lines[0] == b"1" and lines[-2] == b"100000" and lines[-1] == b"" and len(lines) == 100001
    assert 580_000 < len(out) < 700_000
    assert s.feed(b"seq 3 5\r") == b"seq 3 5\r\n3\r\n4\r\n5\r\n" + PROMPT
    assert b"at most" in s.feed(f"seq {SEQ_LIMIT + 1}\r".encode())


def test_hostile_name_is_not_written_raw():
    s = SimulatedShell("evil\x1b]0;pwned\x07host")
    assert b"\x1b" not in s.start() and b"\x07" not in s.start()
    assert b"\x1b" not in s.feed(b"hostname\r")
    assert b"\x1b" not in s.feed(b"echo \x1b[31mred\r")


def test_book_creator_or_admin_once_within_window():
    b = TerminalBook(seed=1, window=10.0)
    a = b.create(3, "bom-proxy-01", creator_id=2, now=100.0)
    assert UUID.fullmatch(a.session_id)
    assert b.attach(a.session_id, user_id=3, is_admin=False, now=101.0) is None  # someone else
    assert b.attach(a.session_id, user_id=1, is_admin=True, now=101.0) is a  # an admin may
    assert b.attach(a.session_id, user_id=2, is_admin=False, now=101.0) is None  # once
    late = b.create(3, "bom-proxy-01", creator_id=2, now=100.0)
    assert b.attach(late.session_id, user_id=2, is_admin=False, now=110.5) is None  # 10.5 s later: gone
    c = b.create(3, "x", creator_id=2, now=200.0)
    assert b.attach(c.session_id, 2, False, now=210.0) is c  # exactly 10 s is still in time
    b.end(a.session_id)  # a and c were attached (live streams count) and now end
    b.end(c.session_id)
    for _ in range(20):
        b.create(3, "x", creator_id=2, now=300.0)
    with pytest.raises(ValueError, match="too many concurrent streams for this user"):
        b.create(3, "x", creator_id=2, now=300.0)


# --------------------------------------------------------------------------- over HTTP / WebSocket


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def demo():
    s = DemoServer(DemoOptions(clock=Clock(), frame_interval=0.05, terminal_ping_interval=0.05))
    await s.start()
    yield s
    await s.stop()


async def _admin(c: httpx.AsyncClient, s: DemoServer, user: str | None = None, pw: str | None = None) -> dict:
    """Log in; the headers of a JWT session with its CSRF pair (the client keeps the cookies)."""
    r = await c.post("/api/v1/login", json={"username": user or s.username, "password": pw or s.password})
    jwt = r.json()["data"]["token"]
    return {"Authorization": f"Bearer {jwt}", "X-CSRF-Token": c.cookies["nz-csrf"]}


async def _create(c: httpx.AsyncClient, headers: dict, server_id: int = ONLINE) -> httpx.Response:
    return await c.post("/api/v1/terminal", json={"server_id": server_id}, headers=headers)


def _ws_url(s: DemoServer, session_id: str) -> str:
    return f"ws://{s.host}:{s.port}/api/v1/ws/terminal/{session_id}"


async def _until(ws, marker: bytes, timeout: float = 5.0) -> tuple[bytes, list[bytes]]:
    """Binary frames until the output ends with ``marker``."""
    got: list[bytes] = []
    buf = b""
    while not buf.endswith(marker):
        frame = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(frame, bytes)
        got.append(frame)
        buf += frame
    return buf, got


async def test_admin_jwt_with_csrf_pair_creates_a_session(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        h = await _admin(c, demo)
        r = await _create(c, h, 4)
        assert r.status_code == 200
        m = re.fullmatch(r'\{"success":true,"data":\{"session_id":"([0-9a-f-]{36})","server_id":4,'
                         r'"server_name":"nyc-web-01 \(测试\)"\}\}', r.text)
        assert m and UUID.fullmatch(m.group(1))


async def test_jwt_without_csrf_pair_is_refused(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        h = await _admin(c, demo)
        no_header = {"Authorization": h["Authorization"]}
        for headers in (no_header, {**h, "X-CSRF-Token": h["X-CSRF-Token"] + "0"}):
            r = await _create(c, headers)
            assert r.status_code == 403
            assert r.text == '{"error":"ApiErrorForbidden: missing or invalid CSRF token"}'
        c.cookies.delete("nz-csrf")
        r = await _create(c, h)  # header without its cookie
        assert r.status_code == 403


async def test_tokens_need_the_exec_scope(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        r = await _create(c, {"Authorization": f"Bearer {demo.tokens['full']}"})  # nezha:* ; no CSRF needed
        assert r.status_code == 200 and r.json()["data"]["server_id"] == ONLINE
        for kind in ("noscope", "limited"):
            r = await _create(c, {"Authorization": f"Bearer {demo.tokens[kind]}"})
            assert r.status_code == 403
            assert r.text == '{"error":"ApiErrorForbidden: api token lacks scope nezha:server:exec"}'
        r = await _create(c, {"Authorization": "Bearer nzp_0000000000"})
        assert r.status_code == 401 and r.json() == {"error": "ApiErrorUnauthorized: invalid api token"}


async def test_guest_and_member_refused(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        r = await _create(c, {})
        assert r.status_code == 200 and r.text == '{"error":"ApiErrorUnauthorized"}'
        h = await _admin(c, demo, "viewer", "viewer-demo")  # a member who owns no server
        r = await _create(c, h)
        assert r.status_code == 200 and r.text == '{"error":"permission denied"}'


async def test_offline_unknown_and_bad_forms(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        h = await _admin(c, demo)
        for sid in (OFFLINE, NEVER, 16, 9999, 0):
            r = await _create(c, h, sid)
            assert (r.status_code, r.text) == (200, '{"error":"server not found or not connected"}'), sid
        r = await c.post("/api/v1/terminal", content=b"", headers={**h, "Content-Type": "application/json"})
        assert r.text == '{"error":"EOF"}'
        r = await c.post("/api/v1/terminal", json={"server_id": "1"}, headers=h)
        assert r.json() == {"error": "json: cannot unmarshal string into Go struct field "
                                     "TerminalForm.server_id of type uint64"}


async def test_round_trip_resize_and_exit(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        h = await _admin(c, demo)
        sid = (await _create(c, h, 2)).json()["data"]["session_id"]
    prompt = b"root@par-ci-01:~# "
    async with websockets.connect(_ws_url(demo, sid), additional_headers=h, ping_interval=None) as ws:
        assert (await _until(ws, prompt))[0] == prompt
        await ws.send(b"\x00hostname\r")
        assert (await _until(ws, prompt))[0] == b"hostname\r\npar-ci-01\r\n" + prompt
        await ws.send(b"\x01" + json.dumps({"Cols": 132, "Rows": 40}).encode())
        await ws.send(b"\x01{\"cols\":0,\"rows\":0}")  # outside the agent's bounds: ignored
        await ws.send(b"\x02ignored")  # neither input nor resize: the agent skips it
        await ws.send(b"")
        await ws.send(b"\x00stty size\r")
        assert (await _until(ws, prompt))[0] == b"stty size\r\n40 132\r\n" + prompt
        await ws.send("whoami\r")  # a text message is input (websocketx prefixes 0x00)
        assert (await _until(ws, prompt))[0] == b"whoami\r\nroot\r\n" + prompt
        await ws.send(b"\x00exit\r")
        out, _ = await _until(ws, b"input/output error")
        assert out == b"exit\r\nexit\r\nread /dev/ptmx: input/output error"
        with pytest.raises(websockets.ConnectionClosedError) as e:
            await asyncio.wait_for(ws.recv(), 5)
        assert e.value.rcvd is None  # TCP closed without a close frame, as gorilla's Close does
    assert demo.state.terminals.sessions == {}


async def test_seq_streams_in_agent_sized_frames(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        sid = (await _create(c, {"Authorization": f"Bearer {demo.token}"})).json()["data"]["session_id"]
    prompt = b"root@lax-db-01:~# "
    async with websockets.connect(_ws_url(demo, sid), additional_headers={"Authorization": f"Bearer {demo.token}"},
                                  ping_interval=None) as ws:
        await _until(ws, prompt)
        await ws.send(b"\x00seq 100000\r")
        out, frames = await _until(ws, b"100000\r\n" + prompt)
        assert len(out) > 580_000 and max(len(f) for f in frames) <= 32 * 1024 and len(frames) >= 18


async def test_attach_rules(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        h = await _admin(c, demo)
        first = (await _create(c, h)).json()["data"]["session_id"]
        late = (await _create(c, h)).json()["data"]["session_id"]
        other = (await _create(c, h)).json()["data"]["session_id"]
        viewer = await _admin(c, demo, "viewer", "viewer-demo")

    async def refused(sid: str, headers: dict) -> tuple[int, bytes]:
        with pytest.raises(websockets.InvalidStatus) as e:
            async with websockets.connect(_ws_url(demo, sid), additional_headers=headers, ping_interval=None):
                pass
        return e.value.response.status_code, e.value.response.body

    assert await refused(first, {}) == (200, b'{"error":"ApiErrorUnauthorized"}')  # a guest
    assert await refused(first, viewer) == (200, b'{"error":"permission denied"}')  # not the creator
    assert await refused(first, {"Authorization": f"Bearer {demo.tokens['noscope']}"}) == (
        403, b'{"error":"ApiErrorForbidden: api token lacks scope nezha:server:exec"}')
    assert await refused("no-such-session", h) == (200, b'{"error":"permission denied"}')
    # the creator, with the JWT only (GET is a safe method: no CSRF pair needed), attaches once
    async with websockets.connect(_ws_url(demo, first), additional_headers={"Authorization": h["Authorization"]},
                                  ping_interval=None) as ws:
        await _until(ws, b"root@lax-db-01:~# ")
        assert await refused(first, h) == (200, b'{"error":"permission denied"}')  # a second attach
        # an admin's token may attach a session another credential created
        async with websockets.connect(_ws_url(demo, other), ping_interval=None,
                                      additional_headers={"Authorization": f"Bearer {demo.token}"}) as ws2:
            await _until(ws2, b"root@lax-db-01:~# ")
    assert await refused(first, h) == (200, b'{"error":"permission denied"}')  # a finished session
    demo.options.clock.t = T0 + 10.5  # the demo's clock: past the attach window
    assert await refused(late, h) == (200, b'{"error":"permission denied"}')


async def test_pings_sent_and_answered(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        sid = (await _create(c, {"Authorization": f"Bearer {demo.token}"})).json()["data"]["session_id"]
    async with websockets.connect(_ws_url(demo, sid), additional_headers={"Authorization": f"Bearer {demo.token}"},
                                  ping_interval=None) as ws:
        await _until(ws, b"root@lax-db-01:~# ")
        for _ in range(200):  # the demo's terminal_ping_interval is 0.05 s here (10 s by default)
            if demo.state.terminal_pings >= 2:
                break
            await asyncio.sleep(0.01)
        assert demo.state.terminal_pings >= 2
        await asyncio.wait_for(await ws.ping(), 5)  # the terminal socket answers pings (it is read)


async def test_oversized_input_closes_with_1009(demo):
    async with httpx.AsyncClient(base_url=demo.url) as c:
        sid = (await _create(c, {"Authorization": f"Bearer {demo.token}"})).json()["data"]["session_id"]
    async with websockets.connect(_ws_url(demo, sid), additional_headers={"Authorization": f"Bearer {demo.token}"},
                                  ping_interval=None, max_size=None) as ws:
        await _until(ws, b"root@lax-db-01:~# ")
        await ws.send(b"\x00" + b"a" * (512 * 1024 + 64))  # one byte over terminalWebSocketInputLimit
        with pytest.raises(websockets.ConnectionClosed) as e:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1009
    assert demo.state.terminals.sessions == {}


async def test_fleet_stream_still_leaves_pings_unanswered(demo):
    """The terminal socket answers pings; the fleet stream (never read by the Dashboard) still does not."""
    async with websockets.connect(demo.ws_url, ping_interval=None) as ws:
        json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(await ws.ping(), 0.3)


async def test_agent_that_refuses_commands_times_out():
    """disable_command_execute: accepted, then dropped after StartStream's wait, without a byte."""
    s = DemoServer(DemoOptions(clock=Clock(), frame_interval=0.05, terminal_exec_disabled=(3,),
                               terminal_agent_timeout=0.2))
    await s.start()
    try:
        auth = {"Authorization": f"Bearer {s.token}"}
        async with httpx.AsyncClient(base_url=s.url) as c:
            r = await _create(c, auth, 3)
            assert r.json()["data"]["server_name"] == "bom-proxy-01"  # the Dashboard cannot know yet
        async with websockets.connect(_ws_url(s, r.json()["data"]["session_id"]), additional_headers=auth,
                                      ping_interval=None) as ws:
            with pytest.raises(websockets.ConnectionClosedError) as e:
                await asyncio.wait_for(ws.recv(), 5)
            assert e.value.rcvd is None
        assert s.state.terminals.sessions == {}
    finally:
        await s.stop()
