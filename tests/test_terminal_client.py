"""NezhaClient.open_terminal against httpx.MockTransport: the ticket, every refusal, the CSRF pair.

The fake follows the Dashboard's rules (controller.go: the auth group's jwtOrPAT + csrfMiddleware,
restScopeMiddleware(nezha:server:exec); terminal.go: createTerminal's checks and texts).
"""

from __future__ import annotations

import json

import httpx
import pytest

from nezha_tui.api.client import Credentials, NezhaClient
from nezha_tui.api.errors import (
    CsrfRejected, ProtocolError, TerminalRefused, TokenRejected, WafBlocked, terminal_refusal,
)
from nezha_tui.api.models import TerminalTicket

PASSWORD = "s3cret-pass"
PAT = "nzp_exec_token_123"
PAT_NO_EXEC = "nzp_read_only_456"
CSRF = "nonce123.signature456"
SESSION = "6f1c1e0a-3b1f-4b7e-9d55-0d5f1a2b3c4d"


class FakeDashboard:
    def __init__(self) -> None:
        self.jwts: set[str] = set()
        self.csrf = CSRF
        self.requests: list[httpx.Request] = []
        self.servers = {1: ("web-01", True, 1), 2: ("fra-12", False, 1), 3: ("db-02", True, 99)}
        self.override: httpx.Response | None = None
        self.rotate_csrf = False
        self.n = 0

    def js(self, status: int, body: dict, **kw) -> httpx.Response:
        return httpx.Response(status, json=body, **kw)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.rotate_csrf:
            self.csrf = f"rotated.{len(self.requests)}"
        path = request.url.path
        auth = request.headers.get("authorization", "")
        bearer = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        if path == "/api/v1/login":
            body = json.loads(request.content)
            if body.get("password") != PASSWORD:
                return self.js(200, {"error": "ApiErrorUnauthorized"})
            self.n += 1
            token = f"jwt-{self.n}"
            self.jwts.add(token)
            return self.js(200, {"success": True, "data": {"token": token, "expire": "2099-01-01T00:00:00Z"}},
                           headers={"set-cookie": f"nz-csrf={self.csrf}; Path=/; SameSite=Strict"})
        # the auth group: a PAT, else a JWT
        if bearer.startswith("nzp_"):
            if bearer not in (PAT, PAT_NO_EXEC):
                return self.js(401, {"error": "ApiErrorUnauthorized: invalid api token"})
            pat = bearer
        elif bearer in self.jwts:
            pat = None
        else:
            return self.js(200, {"error": "ApiErrorUnauthorized"})
        cookie = request.headers.get("cookie", "")
        if request.method == "GET":
            resp = self.js(200, {"success": True, "data": {"id": 1, "username": "admin", "role": 0}})
            if pat is None and "nz-csrf=" not in cookie:
                resp.headers["set-cookie"] = f"nz-csrf={self.csrf}; Path=/; SameSite=Strict"
            return resp
        if pat is None:
            header = request.headers.get("x-csrf-token", "")
            if not header or f"nz-csrf={header}" not in cookie or header != self.csrf:
                return self.js(403, {"error": "ApiErrorForbidden: missing or invalid CSRF token"})
        if path != "/api/v1/terminal":
            return self.js(404, {"error": "404 Not Found"})
        if pat == PAT_NO_EXEC:
            return self.js(403, {"error": "ApiErrorForbidden: api token lacks scope nezha:server:exec"})
        if self.override is not None:
            return self.override
        sid = json.loads(request.content).get("server_id")
        name, online, owner = self.servers.get(sid, ("", False, 0))
        if not online:
            return self.js(200, {"error": "server not found or not connected"})
        if owner != 1:
            return self.js(200, {"error": "permission denied"})
        return self.js(200, {"success": True, "data": {"session_id": SESSION, "server_id": sid,
                                                       "server_name": name}})

    def posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST" and r.url.path == "/api/v1/terminal"]


def client_for(dash: FakeDashboard, creds: Credentials) -> NezhaClient:
    return NezhaClient("http://dash.test", creds, transport=httpx.MockTransport(dash))


TOKEN = Credentials(token=PAT)
LOGIN = Credentials(username="admin", password=PASSWORD)


async def test_token_opens_a_session_with_the_bearer_and_no_csrf():
    dash = FakeDashboard()
    async with client_for(dash, TOKEN) as c:
        ticket = await c.open_terminal(1)
    assert ticket == TerminalTicket(SESSION, 1, "web-01")
    (post,) = dash.posts()
    assert post.headers["authorization"] == f"Bearer {PAT}"
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.content) == {"server_id": 1}
    assert "x-csrf-token" not in post.headers


async def test_password_session_sends_the_csrf_pair():
    dash = FakeDashboard()
    async with client_for(dash, LOGIN) as c:
        ticket = await c.open_terminal(1)
        assert c.terminal_ws_url(ticket.session_id) == f"ws://dash.test/api/v1/ws/terminal/{SESSION}"
        ws_headers = c.terminal_headers()
    (post,) = dash.posts()
    assert post.headers["authorization"] == "Bearer jwt-1"
    assert post.headers["x-csrf-token"] == CSRF
    assert f"nz-csrf={CSRF}" in post.headers["cookie"]
    assert ws_headers == {"Authorization": "Bearer jwt-1", "Cookie": f"nz-csrf={CSRF}", "X-CSRF-Token": CSRF}


async def test_raw_jwt_without_a_cookie_seeds_one_first():
    dash = FakeDashboard()
    dash.jwts.add("raw-jwt")
    async with client_for(dash, Credentials(token="raw-jwt")) as c:
        assert (await c.open_terminal(1)).session_id == SESSION
    kinds = [(r.method, r.url.path) for r in dash.requests]
    assert kinds == [("GET", "/api/v1/profile"), ("POST", "/api/v1/terminal")]
    assert dash.posts()[0].headers["x-csrf-token"] == CSRF


async def test_stale_csrf_cookie_is_replaced_once():
    dash = FakeDashboard()
    async with client_for(dash, LOGIN) as c:
        await c.login()
        dash.csrf = "rotated.secret"  # the Dashboard's secret changed: the old cookie no longer verifies
        assert (await c.open_terminal(1)).session_id == SESSION
    posts = dash.posts()
    assert len(posts) == 2 and posts[1].headers["x-csrf-token"] == "rotated.secret"


async def test_csrf_refused_twice_is_reported():
    dash = FakeDashboard()
    async with client_for(dash, LOGIN) as c:
        await c.login()
        dash.rotate_csrf = True  # every request verifies against a new secret: no cookie ever passes
        with pytest.raises(CsrfRejected):
            await c.open_terminal(1)
    assert len(dash.posts()) == 2  # one fresh try, not a loop


async def test_guest_is_refused_without_a_request():
    dash = FakeDashboard()
    async with client_for(dash, Credentials()) as c:
        with pytest.raises(TerminalRefused) as ei:
            await c.open_terminal(1)
    assert ei.value.kind == "guest"
    assert ei.value.message == "log in or use a token with nezha:server:exec"
    assert dash.requests == []


async def test_token_without_the_exec_scope():
    dash = FakeDashboard()
    async with client_for(dash, Credentials(token=PAT_NO_EXEC)) as c:
        with pytest.raises(TerminalRefused) as ei:
            await c.open_terminal(1)
    assert ei.value.kind == "scope"
    assert "nezha:server:exec" in ei.value.message


@pytest.mark.parametrize("name, expected", [("fra-12", "fra-12 is not connected"),
                                            (None, "the Dashboard answered: server not found or not connected")])
async def test_offline_server(name, expected):
    dash = FakeDashboard()
    async with client_for(dash, TOKEN) as c:
        with pytest.raises(TerminalRefused) as ei:
            await c.open_terminal(2, name)
    assert (ei.value.kind, ei.value.message) == ("offline", expected)


async def test_offline_in_the_dashboards_language_and_hostile_name():
    assert terminal_refusal("服务器未找到或仍未连接", "fra-12").kind == "offline"
    assert terminal_refusal("Server Nicht Gefunden Oder Nicht Verbunden").kind == "offline"
    refusal = terminal_refusal("server not found or not connected", "evil\x1b[2J\x07name")
    assert "\x1b" not in refusal.message and "\x07" not in refusal.message
    assert terminal_refusal("database error") is None


async def test_permission_denied():
    dash = FakeDashboard()
    async with client_for(dash, TOKEN) as c:
        with pytest.raises(TerminalRefused) as ei:
            await c.open_terminal(3, "db-02")
    assert ei.value.kind == "permission"
    assert terminal_refusal("权限不够").kind == "permission"


@pytest.mark.parametrize("response", [
    httpx.Response(404, json={"error": "404 Not Found"}),
    httpx.Response(200, json={"error": "404 Not Found"}),  # Dashboards before v1.5 answered unknown routes so
    httpx.Response(200, text="<!DOCTYPE html><html><head><title>Nezha</title></head></html>",
                   headers={"content-type": "text/html"}),
    httpx.Response(404, text="<html><body>not here</body></html>", headers={"content-type": "text/html"}),
])
async def test_dashboard_without_the_endpoint(response):
    dash = FakeDashboard()
    dash.override = response
    async with client_for(dash, TOKEN) as c:
        with pytest.raises(TerminalRefused) as ei:
            await c.open_terminal(1)
    assert ei.value.kind == "unsupported"
    assert "no web terminal" in ei.value.message


async def test_dead_jwt_logs_in_again_once_then_guest():
    dash = FakeDashboard()
    async with client_for(dash, LOGIN) as c:
        await c.login()
        dash.jwts.clear()  # the session was revoked: the JWT is answered as a guest
        assert (await c.open_terminal(1)).session_id == SESSION
        logins = [r for r in dash.requests if r.url.path == "/api/v1/login"]
        assert len(logins) == 2

        dash.override = httpx.Response(200, json={"error": "ApiErrorUnauthorized"})
        with pytest.raises(TerminalRefused) as ei:
            await c.open_terminal(1)
    assert ei.value.kind == "guest" and "log in again" in ei.value.message
    assert len([r for r in dash.requests if r.url.path == "/api/v1/login"]) == 3  # one more login, no loop


async def test_other_failures_keep_their_types():
    dash = FakeDashboard()
    async with client_for(dash, Credentials(token="nzp_unknown")) as c:
        with pytest.raises(TokenRejected):
            await c.open_terminal(1)
    dash = FakeDashboard()
    dash.override = httpx.Response(403, text="<html><title>nezha WAF</title><p>blocked: too many failures</p>",
                                   headers={"content-type": "text/html"})
    async with client_for(dash, TOKEN) as c:
        with pytest.raises(WafBlocked):
            await c.open_terminal(1)


@pytest.mark.parametrize("data", [
    {"server_id": 1, "server_name": "web-01"},  # no session
    {"session_id": "../../api/v1/ws/server", "server_id": 1},  # not a plain id: it goes into a URL path
    {"session_id": "a b", "server_id": 1},
])
async def test_a_ticket_without_a_usable_session_is_a_protocol_error(data):
    dash = FakeDashboard()
    dash.override = httpx.Response(200, json={"success": True, "data": data})
    async with client_for(dash, TOKEN) as c:
        with pytest.raises(ProtocolError):
            await c.open_terminal(1)


async def test_ticket_is_decoded_tolerantly_and_sanitised():
    dash = FakeDashboard()
    dash.override = httpx.Response(200, json={"success": True, "data": {
        "session_id": SESSION, "server_id": "not a number", "server_name": "web\x1b]0;pwned\x07-01"}})
    async with client_for(dash, TOKEN) as c:
        ticket = await c.open_terminal(1)
    assert ticket.server_id == 1 and ticket.session_id == SESSION
    assert "\x1b" not in ticket.server_name and "\x07" not in ticket.server_name


async def test_no_secret_in_any_refusal():
    messages = []
    for creds, sid, override in [
        (LOGIN, 2, None), (LOGIN, 3, None), (Credentials(token=PAT_NO_EXEC), 1, None),
        (TOKEN, 1, httpx.Response(404, json={"error": "404 Not Found"})),
        (LOGIN, 1, httpx.Response(200, json={"error": "ApiErrorUnauthorized"})),
    ]:
        dash = FakeDashboard()
        dash.override = override
        async with client_for(dash, creds) as c:
            with pytest.raises(TerminalRefused) as ei:
                await c.open_terminal(sid, "srv")
        messages.append(ei.value.message + repr(ei.value) + str(ei.value))
    for text in messages:
        for secret in (PASSWORD, PAT, PAT_NO_EXEC, CSRF, "jwt-"):
            assert secret not in text


async def test_invalid_server_id():
    async with client_for(FakeDashboard(), TOKEN) as c:
        with pytest.raises(ValueError):
            await c.open_terminal(0)
