"""Credentials stay home: redirects against real local servers (REST and WebSocket), the Origin header.

Two loopback servers on two ports: ``home`` (the configured URL) and ``away`` (the same host on another
port, where nothing a client sends with credentials may arrive).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing, asynccontextmanager

import pytest
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from nezha_tui.api.client import Credentials, NezhaClient, redirect_allowed
from nezha_tui.api.errors import ProtocolError, RedirectRefused
from nezha_tui.api.stream import FleetStream, StreamState

from tests.test_client import make_jwt, ok, T0

LOGIN_OK = json.dumps(ok({"token": make_jwt(T0 + 3600), "expire": "2026-11-26T05:00:00Z"})).encode()
SETTING_OK = json.dumps(ok({"config": {"site_name": "home"}, "tsdb_enabled": True})).encode()


class Http:
    """A tiny HTTP/1.1 server on loopback: records every request, answers with ``handler(req)``."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.requests: list[dict] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in
                           (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                req = {"method": method, "path": target, "headers": headers, "body": body}
                self.requests.append(req)
                status, extra, payload = self.handler(req)
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> "Http":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def away_server():
    return Http(lambda req: (200, {"Content-Type": "application/json"}, LOGIN_OK))


def redirecting_to(target: str, status: int = 307, first: dict | None = None):
    """Answers every request with a redirect to ``target`` + the request's path."""
    def handler(req):
        return status, {"Location": target + req["path"], **(first or {})}, b""
    return handler


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("old, new, allowed", [
    ("http://h:8008/api/v1/x", "http://h:8008/p/api/v1/x", True),  # a path prefix: same origin
    ("http://h/api/v1/x", "https://h/api/v1/x", True),  # http -> https upgrade of the same host
    ("http://h:8008/x", "https://h:8008/x", True),  # the upgrade on the same port
    ("http://h:8008/x", "http://h:9000/x", False),  # another port
    ("http://h/x", "https://h:8443/x", False),  # an upgrade to another port
    ("https://h/x", "http://h/x", False),  # a downgrade
    ("http://h/x", "http://evil/x", False),
    ("https://h/x", "https://H/y", True),  # host names are case-insensitive
])
def test_redirect_rule(old, new, allowed):
    assert redirect_allowed(old, new) is allowed


# --------------------------------------------------------------------------- REST


async def test_login_post_is_not_resent_to_another_port():
    async with away_server() as away, Http(redirecting_to(f"http://127.0.0.1:{0}")) as home:
        home.handler = redirecting_to(away.url, 307)
        async with aclosing(NezhaClient(home.url, Credentials("admin", "s3cret"))) as client:
            with pytest.raises(RedirectRefused) as info:
                await client.login()
        assert away.requests == []  # the password never left home
        assert [r["method"] for r in home.requests] == ["POST"]
        assert f":{away.port}" in info.value.message and "s3cret" not in info.value.message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_bearer_token_get_is_not_sent_to_another_port(status):
    async with away_server() as away, Http(redirecting_to("")) as home:
        home.handler = redirecting_to(away.url, status)
        async with aclosing(NezhaClient(home.url, Credentials(token="nzp_secret"))) as client:
            with pytest.raises(ProtocolError):
                await client.setting()
        assert away.requests == []
        assert home.requests[0]["headers"]["authorization"] == "Bearer nzp_secret"


async def test_cookies_stay_home():
    """The Dashboard's nz-csrf cookie (and nz-jwt) are sent back only to the origin that set them."""
    calls = {"n": 0}

    async with away_server() as away, Http(redirecting_to("")) as home:
        def handler(req):
            calls["n"] += 1
            if req["path"].endswith("/login"):
                return 200, {"Content-Type": "application/json",
                             "Set-Cookie": "nz-csrf=nonce; Path=/"}, LOGIN_OK
            return 302, {"Location": away.url + req["path"]}, b""
        home.handler = handler
        async with aclosing(NezhaClient(home.url, Credentials("admin", "s3cret"))) as client:
            await client.login()
            with pytest.raises(RedirectRefused):
                await client.setting()
        assert "nz-csrf=nonce" in home.requests[-1]["headers"].get("cookie", "")
        assert away.requests == []


async def test_same_origin_redirect_is_followed_with_the_credentials():
    async with Http(lambda req: (200, {}, b"")) as home:
        def handler(req):
            if not req["path"].startswith("/nezha/"):
                return 308, {"Location": "/nezha" + req["path"]}, b""
            return 200, {"Content-Type": "application/json"}, SETTING_OK
        home.handler = handler
        async with aclosing(NezhaClient(home.url, Credentials(token="nzp_secret"))) as client:
            assert (await client.setting()).config.site_name == "home"
            assert client.base_url == home.url + "/nezha"  # the prefix is adopted
        assert [r["path"] for r in home.requests] == ["/api/v1/setting", "/nezha/api/v1/setting"]
        assert all(r["headers"]["authorization"] == "Bearer nzp_secret" for r in home.requests)


# --------------------------------------------------------------------------- WebSocket


@asynccontextmanager
async def ws_server(process_request=None):
    seen: list[Headers] = []

    async def handler(ws):
        seen.append(ws.request.headers)
        await ws.send(json.dumps({"now": 1, "servers": [{"id": 1, "name": "away"}]}))
        await ws.wait_closed()  # until the client drops it

    server = await serve(handler, "127.0.0.1", 0, process_request=process_request, ping_interval=None)
    try:
        yield server, server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


def ws_redirect(location):
    def process_request(connection, request):
        if request.path.startswith("/api/v1/ws/server"):
            return Response(302, "Found", Headers([("Location", location(request)), ("Content-Length", "0")]), b"")
        return None
    return process_request


async def run_stream_until(client, pred, timeout: float = 5.0, hold: dict | None = None):
    """Run a FleetStream (no backoff waits) until ``pred(statuses, frames)``; ``hold["stream"]`` is the stream."""
    statuses, frames = [], []
    changed = asyncio.Event()

    def on_status(s):
        statuses.append(s)
        changed.set()

    def on_frame(f, r):
        frames.append(f)
        changed.set()

    async def sleep(d):
        await asyncio.sleep(0)

    stream = FleetStream(client, on_frame=on_frame, on_status=on_status, sleep=sleep)
    if hold is not None:
        hold["stream"] = stream
    task = asyncio.create_task(stream.run())
    try:
        async with asyncio.timeout(timeout):
            while not pred(statuses, frames):
                changed.clear()
                await changed.wait()
    finally:
        stream.stop()
        await asyncio.wait_for(task, 3)
    return stream, statuses, frames


async def test_websocket_redirect_to_another_origin_is_refused():
    async with ws_server() as (_, away_port, away_seen):
        away = f"ws://127.0.0.1:{away_port}"
        async with ws_server(ws_redirect(lambda r: away + r.path)) as (_, home_port, _):
            client = NezhaClient(f"http://127.0.0.1:{home_port}", Credentials(token="nzp_secret"))
            async with aclosing(client):
                stream, statuses, frames = await run_stream_until(
                    client, lambda st, fr: any(s.state is StreamState.RECONNECTING for s in st))
    assert away_seen == [] and frames == []  # that host's servers are not shown as the Dashboard's
    line = next(s.message for s in statuses if s.state is StreamState.RECONNECTING)
    assert line.startswith(f"the stream redirected to another address (ws://127.0.0.1:{away_port}/")
    assert "retrying in 30 s" in line  # a setup fault, not a blip: the longest wait


async def test_websocket_redirect_within_the_origin_is_followed_with_the_token():
    def process_request(connection, request):
        if request.path == "/api/v1/ws/server":
            return Response(302, "Found", Headers([("Location", "/nezha/api/v1/ws/server"),
                                                   ("Content-Length", "0")]), b"")
        return None

    async with ws_server(process_request) as (_, port, seen):
        client = NezhaClient(f"http://127.0.0.1:{port}", Credentials(token="nzp_secret"))
        async with aclosing(client):
            _, _, frames = await run_stream_until(client, lambda st, fr: len(fr) >= 1)
    assert frames[0].servers[0].name == "away"
    assert seen[0]["Authorization"] == "Bearer nzp_secret"


async def test_websocket_sends_no_origin_header():
    """The Dashboard answers a foreign Origin with 403: send none (websockets' default, kept)."""
    async with ws_server() as (_, port, seen):
        client = NezhaClient(f"http://127.0.0.1:{port}", Credentials())
        async with aclosing(client):
            await run_stream_until(client, lambda st, fr: len(fr) >= 1)
    assert "Origin" not in seen[0] and "Sec-WebSocket-Origin" not in seen[0]
    assert "Authorization" not in seen[0]  # a guest sends no credentials at all
