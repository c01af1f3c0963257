"""NezhaClient against httpx.MockTransport: auth modes, renewal, every error kind."""

from __future__ import annotations

import base64
import json
import socket
import ssl
from contextlib import aclosing, asynccontextmanager
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from nezha_tui.api.client import Credentials, NezhaClient, normalize_base_url
from nezha_tui.api.errors import (
    ApiError, BadCredentials, CsrfRejected, DashboardTooOld, GuestPeriodDenied, MissingScope,
    NOT_A_DASHBOARD, NetworkError, NotFound, ProtocolError, ProxyError, TokenRejected, Unauthorized,
    WafBlocked,
)

FIX = Path(__file__).parent / "fixtures"
T0 = 1_795_665_600.0  # 2026-11-26T04:00:00Z


def fx(name: str) -> bytes:
    return (FIX / name).read_bytes()


def ok(data=None) -> dict:
    return {"success": True} if data is None else {"success": True, "data": data}


def make_jwt(exp: float, iat: float | None = None) -> str:
    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    claims = {"exp": int(exp), "keyId": "k", "uid": "x"}
    if iat is not None:
        claims["orig_iat"] = int(iat)
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.sig"


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeDashboard:
    """Enough of the Dashboard's auth rules (jwt.go, csrf.go, api_token.go) to test the client."""

    def __init__(self, clock: Clock, *, jwt_timeout: float = 3600.0, server_skew: float = 0.0) -> None:
        self.clock = clock
        self.jwt_timeout = jwt_timeout
        self.server_skew = server_skew  # the Dashboard's clock minus ours
        self.password = "s3cret"
        self.valid_jwts: dict[str, float] = {}  # token -> expiry (server time)
        self.csrf = "nonce.signature"
        self.pat = "nzp_goodtoken"
        self.pat_scopes = {"nezha:inventory:read", "nezha:server:read"}
        self.requests: list[httpx.Request] = []
        self.logins = 0
        self.overrides: dict[str, httpx.Response] = {}
        self.n = 0

    def server_now(self) -> float:
        return self.clock() + self.server_skew

    def issue(self) -> tuple[str, float]:
        self.n += 1
        exp = self.server_now() + self.jwt_timeout
        token = make_jwt(exp, self.server_now()) + str(self.n)
        self.valid_jwts[token] = exp
        return token, exp

    def json(self, status: int, body: dict, **kw) -> httpx.Response:
        headers = {"Date": format_datetime(datetime.fromtimestamp(self.server_now(), timezone.utc), usegmt=True)}
        headers.update(kw.pop("headers", {}))
        return httpx.Response(status, json=body, headers=headers, **kw)

    def identity(self, request: httpx.Request) -> str:
        auth = request.headers.get("authorization", "")
        tok = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
        if not tok:
            return "guest"
        if tok.startswith("nzp_"):
            return "pat" if tok == self.pat else "badpat"
        exp = self.valid_jwts.get(tok)
        return "jwt" if exp is not None and exp > self.server_now() else "expired-jwt"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path in self.overrides:
            return self.overrides[path]
        who = self.identity(request)
        if who == "badpat":
            return self.json(401, {"error": "ApiErrorUnauthorized: invalid api token"})
        if path == "/api/v1/login" and request.method == "POST":
            self.logins += 1
            body = json.loads(request.content)
            if body != {"username": "admin", "password": self.password}:
                return self.json(200, {"error": "ApiErrorUnauthorized"})
            token, exp = self.issue()
            expire = datetime.fromtimestamp(exp, timezone.utc).isoformat().replace("+00:00", "Z")
            return self._login_answer(token, expire)
        if path in ("/api/v1/profile", "/api/v1/refresh-token"):
            if who == "pat":
                return self.json(403, {"error": "ApiErrorForbidden: this endpoint is not accessible by api token"})
            if who != "jwt":
                return self.json(200, {"error": "ApiErrorUnauthorized"})
            if path == "/api/v1/profile":
                resp = self.json(200, ok({"id": 1, "username": "admin", "role": 0}))
                if "nz-csrf" not in request.headers.get("cookie", ""):
                    resp.headers["set-cookie"] = f"nz-csrf={self.csrf}; Path=/; SameSite=Strict"
                return resp
            cookie = request.headers.get("cookie", "")
            header = request.headers.get("x-csrf-token", "")
            if not header or f"nz-csrf={header}" not in cookie or header != self.csrf:
                return self.json(403, {"error": "ApiErrorForbidden: missing or invalid CSRF token"})
            token, exp = self.issue()
            expire = datetime.fromtimestamp(exp, timezone.utc).isoformat().replace("+00:00", "Z")
            return self.json(200, ok({"token": token, "expire": expire}))
        if path == "/api/v1/setting":
            return self.json(200, ok({"config": {"site_name": "who:" + who}, "tsdb_enabled": True}))
        if path == "/api/v1/server":
            if who not in ("jwt", "pat"):
                return self.json(200, {"error": "ApiErrorUnauthorized"})
            return self.json(200, json.loads(fx("servers_full.json")))
        if path == "/api/v1/service":
            if who == "pat" and "nezha:service:read" not in self.pat_scopes:
                return self.json(403, {"error": "ApiErrorForbidden: api token lacks scope nezha:service:read"})
            return self.json(200, json.loads(fx("service_overview.json")))
        if path.endswith("/metrics"):
            if who not in ("jwt", "pat") and request.url.params.get("period") != "1d":
                return self.json(200, {"error": "unauthorized: only 1d data available for guests"})
            return self.json(200, json.loads(fx("metrics_cpu.json")))
        return self.json(404, {"error": "404 Not Found"})

    def _login_answer(self, token: str, expire: str) -> httpx.Response:
        resp = self.json(200, ok({"token": token, "expire": expire}))
        resp.headers["set-cookie"] = f"nz-jwt={token}; Path=/; SameSite=Lax"
        return resp

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/api/v1") for r in self.requests]


def make(creds=Credentials(), clock=None, handler=None, base="http://dash.test", **kw):
    clock = clock or Clock()
    dash = FakeDashboard(clock)
    client = NezhaClient(base, creds, clock=clock, transport=httpx.MockTransport(handler or dash), **kw)
    return client, dash, clock


@asynccontextmanager
async def session(*args, **kw):
    """``make(...)`` for a block: yields ``(client, dash, clock)``, closes the client afterwards, also on a failure."""
    client, dash, clock = make(*args, **kw)
    async with aclosing(client):
        yield client, dash, clock


def jwt_client(dash: FakeDashboard, **kw) -> NezhaClient:
    """A client in token mode holding a raw JWT that ``dash`` has just issued (close it: ``aclosing``)."""
    token, _ = dash.issue()
    return NezhaClient("http://dash.test", Credentials(token=token), clock=dash.clock,
                       transport=httpx.MockTransport(dash), **kw)


PASSWORD = Credentials("admin", "s3cret")


# --------------------------------------------------------------------------- urls, repr


@pytest.mark.parametrize("raw, want", [
    ("dash.example.com", "https://dash.example.com"),
    ("dash.example.com/nezha/", "https://dash.example.com/nezha"),
    ("https://dash.example.com:8443/nezha///", "https://dash.example.com:8443/nezha"),
    ("http://dash.example.com/api/v1/", "http://dash.example.com"),
    ("https://h/p/api/v1/ws/server", "https://h/p"),
    ("localhost:8008", "http://localhost:8008"),
    ("127.0.0.1:8008", "http://127.0.0.1:8008"),
    ("[::1]:8008", "http://[::1]:8008"),
    ("  https://h/  ", "https://h"),
    ("wss://h/x", "https://h/x"),
])
def test_normalize_base_url(raw, want):
    assert normalize_base_url(raw) == want


@pytest.mark.parametrize("raw", ["", "   ", "ftp://h", "http://"])
def test_normalize_base_url_rejects(raw):
    with pytest.raises(ValueError):
        normalize_base_url(raw)


def test_ws_url_follows_scheme_and_prefix():
    assert make(base="https://h/nezha/")[0].ws_url == "wss://h/nezha/api/v1/ws/server"
    assert make(base="http://127.0.0.1:8008")[0].ws_url == "ws://127.0.0.1:8008/api/v1/ws/server"


def test_credentials_and_client_repr_hide_secrets():
    secret_token = "nzp_supersecretvalue"
    for obj in (PASSWORD, Credentials(token=secret_token), Credentials(token=make_jwt(T0)),
                make(PASSWORD)[0], make(Credentials(token=secret_token))[0]):
        text = repr(obj) + str(obj)
        assert "s3cret" not in text and "supersecret" not in text and "eyJ" not in text
    assert PASSWORD.mode == "password" and Credentials().mode == "guest"
    assert Credentials(token=secret_token).mode == "token"


def test_ssl_context_only_insecure_when_asked():
    assert make(base="http://h")[0].ssl_context() is None
    assert make(base="https://h")[0].ssl_context().verify_mode == ssl.CERT_REQUIRED
    ctx = make(base="https://h", verify=False)[0].ssl_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


# --------------------------------------------------------------------------- modes


async def test_guest_sends_no_authorization():
    async with session() as (client, dash, _):
        s = await client.setting()
        assert s.config.site_name == "who:guest"
        assert "authorization" not in dash.requests[0].headers
        assert client.stream_headers() == {}
        with pytest.raises(Unauthorized):
            await client.servers()
        with pytest.raises(GuestPeriodDenied):
            await client.server_metrics(3, "cpu", "7d")


async def test_access_token_mode():
    async with session(Credentials(token="nzp_goodtoken")) as (client, dash, _):
        await client.ensure_auth()
        assert dash.requests == []  # nothing to renew for an nzp_ token
        assert (await client.setting()).config.site_name == "who:pat"
        assert dash.requests[0].headers["authorization"] == "Bearer nzp_goodtoken"
        assert client.stream_headers() == {"Authorization": "Bearer nzp_goodtoken"}
        with pytest.raises(MissingScope) as info:
            await client.services()
        assert info.value.scope == "nezha:service:read"
        with pytest.raises(MissingScope) as info:
            await client.profile()
        assert "access tokens" in info.value.message


async def test_unknown_access_token_is_401_token_rejected():
    async with session(Credentials(token="nzp_wrong")) as (client, _, _):
        with pytest.raises(TokenRejected) as info:
            await client.setting()
        assert "nzp_wrong" not in info.value.message


async def test_password_login_and_bearer():
    async with session(PASSWORD) as (client, dash, _):
        assert len(await client.servers()) == 2
        assert dash.paths() == ["/login", "/server"]
        login = dash.requests[0]
        assert login.method == "POST" and login.headers["content-type"] == "application/json"
        assert json.loads(login.content) == {"username": "admin", "password": "s3cret"}
        assert dash.requests[1].headers["authorization"].startswith("Bearer ")
        assert client.stream_headers()["Authorization"] == dash.requests[1].headers["authorization"]
        # the JWT lives in memory only: the nz-jwt cookie does not stay in the jar
        assert "nz-jwt" not in client._http.cookies
        assert "nz-jwt" not in dash.requests[1].headers.get("cookie", "")


async def test_failed_login_is_not_retried():
    async with session(Credentials("admin", "wrong")) as (client, dash, _):
        with pytest.raises(BadCredentials):
            await client.login()
        for call in (client.setting, client.ensure_auth, client.login, client.servers):
            with pytest.raises(BadCredentials):
                await call()
        assert dash.logins == 1 and len(dash.requests) == 1
        assert isinstance(client.auth_failed, BadCredentials)
        client.forget_auth_failure()  # an explicit user action allows one more try
        with pytest.raises(BadCredentials):
            await client.login()
        assert dash.logins == 2


async def test_jwt_renewed_before_expiry_with_injected_clock_and_skew():
    clock = Clock()
    dash = FakeDashboard(clock, jwt_timeout=3600, server_skew=-7200)  # Dashboard clock 2 h behind
    async with aclosing(NezhaClient("http://dash.test", PASSWORD, clock=clock, transport=httpx.MockTransport(dash),
                                    validate_every=10_000)) as client:
        await client.ensure_auth()
        first = client.stream_headers()
        assert dash.logins == 1
        clock.t += 3000  # 10 min left: nothing yet (margin = max(60 s, 10 % of lifetime) = 360 s)
        await client.ensure_auth()
        assert dash.logins == 1
        clock.t += 300  # 5 min left: renew now
        await client.ensure_auth()
        assert dash.logins == 2 and client.stream_headers() != first
        # and the new token really works on a login-only route
        assert (await client.profile()).username == "admin"


async def test_profile_check_detects_dead_jwt_and_logs_in_once():
    async with session(PASSWORD, validate_every=60) as (client, dash, clock):
        await client.ensure_auth()
        dash.valid_jwts.clear()  # the Dashboard revoked the session (IP change, logout)
        clock.t += 30
        await client.ensure_auth()
        assert dash.paths() == ["/login"]  # checked less than validate_every ago: no call
        clock.t += 31
        await client.ensure_auth()
        assert dash.paths() == ["/login", "/profile", "/login"]
        assert (await client.profile()).id == 1


async def test_unauthorized_on_rest_call_relogs_once_then_retries():
    async with session(PASSWORD, validate_every=10_000) as (client, dash, _):
        await client.login()
        dash.valid_jwts.clear()
        assert len(await client.servers()) == 2
        assert dash.paths() == ["/login", "/server", "/login", "/server"]


async def test_raw_jwt_refresh_uses_csrf_double_submit_pair():
    clock = Clock()
    dash = FakeDashboard(clock)
    async with aclosing(jwt_client(dash)) as client:
        token = client.credentials.token
        await client.ensure_auth()
        assert dash.paths() == ["/profile"]  # first use: checked on a login-only route
        clock.t += 3400  # within the renewal margin of the JWT's exp claim
        await client.ensure_auth()
        assert dash.paths() == ["/profile", "/refresh-token"]
        refresh = dash.requests[-1]
        assert refresh.method == "POST"
        assert refresh.headers["x-csrf-token"] == dash.csrf
        assert f"nz-csrf={dash.csrf}" in refresh.headers["cookie"]
        assert client.stream_headers()["Authorization"] != f"Bearer {token}"
        assert (await client.profile()).username == "admin"


async def test_raw_jwt_refresh_seeds_csrf_cookie_first():
    clock = Clock()
    dash = FakeDashboard(clock)
    async with aclosing(jwt_client(dash, validate_every=10_000)) as client:
        clock.t += 3500
        await client.ensure_auth()
        assert dash.paths() == ["/profile", "/refresh-token"]


async def test_raw_jwt_expired_or_revoked():
    clock = Clock()
    dash = FakeDashboard(clock)
    async with aclosing(jwt_client(dash)) as client:
        clock.t += 4000  # expired: the Dashboard (not our clock) has the last word
        with pytest.raises(TokenRejected, match="no longer accepted"):
            await client.ensure_auth()
        assert dash.paths() == ["/profile"]
        with pytest.raises(TokenRejected):  # remembered: no new request
            await client.setting()
        assert dash.paths() == ["/profile"]
    dash.requests.clear()
    async with aclosing(jwt_client(dash)) as client2:
        dash.valid_jwts.clear()
        with pytest.raises(TokenRejected, match="no longer accepted"):
            await client2.setting()
        with pytest.raises(TokenRejected):  # remembered: no new request
            await client2.setting()
        assert dash.paths() == ["/profile"]


async def test_refresh_without_csrf_pair_is_rejected_by_fake():
    # guards the fake itself: a refresh without the header is a 403 CSRF error
    clock = Clock()
    dash = FakeDashboard(clock)
    token, _ = dash.issue()
    async with httpx.AsyncClient(transport=httpx.MockTransport(dash)) as raw:
        r = await raw.post("http://dash.test/api/v1/refresh-token", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]


# --------------------------------------------------------------------------- requests


async def test_servers_ids_filter_and_validation():
    async with session(Credentials(token="nzp_goodtoken")) as (client, dash, _):
        await client.servers([1, 2, 2])
        assert dash.requests[-1].url.params["id"] == "1,2"
        assert dash.requests[-1].url.query == b"id=1%2C2" or dash.requests[-1].url.query == b"id=1,2"
        await client.servers()
        assert "id" not in dash.requests[-1].url.params
        for bad in ([0], ["1"], [True]):
            with pytest.raises(ValueError):
                await client.servers(bad)


async def test_period_and_metric_validated_client_side():
    async with session() as (client, dash, _):
        with pytest.raises(ValueError, match="metric"):
            await client.server_metrics(1, "load_1")
        with pytest.raises(ValueError, match="period"):
            await client.server_metrics(1, "cpu", "90d")
        with pytest.raises(ValueError):
            await client.service_history(1, "1w")
        with pytest.raises(ValueError):
            await client.server_services(-1)
        assert dash.requests == []
        m = await client.server_metrics(3, "cpu")
        assert dash.requests[-1].url.params["metric"] == "cpu" and dash.requests[-1].url.params["period"] == "1d"
        assert len(m.data_points) == 3


# --------------------------------------------------------------------------- HTTP error kinds


def answer(status: int, body: bytes | dict | str, ctype: str | None = None):
    def handler(request):
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        headers = {"content-type": ctype} if ctype else {}
        return httpx.Response(status, content=body if isinstance(body, bytes) else body.encode(), headers=headers)
    return handler


async def call_err(handler, coro_name="setting", *args):
    async with session(handler=handler) as (client, _, _):
        with pytest.raises(Exception) as info:
            await getattr(client, coro_name)(*args)
        return info.value


async def test_waf_html_403():
    err = await call_err(answer(403, fx("waf_blocked.html"), "text/html; charset=utf-8"))
    assert isinstance(err, WafBlocked)
    assert err.message == "blocked by the Dashboard's firewall: you were blocked by nezha WAF"


async def test_proxy_403_page_is_not_blamed_on_the_dashboard():
    page = ("<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
            "<body><h1>Sorry, you have been blocked</h1></body></html>")
    err = await call_err(answer(403, page, "text/html"))
    assert isinstance(err, WafBlocked) and not err.by_dashboard
    assert err.message == "HTTP 403 from a proxy or firewall: Attention Required! | Cloudflare"


async def test_json_403_scope_and_csrf():
    err = await call_err(answer(403, {"error": "ApiErrorForbidden: api token lacks scope nezha:server:read"}))
    assert isinstance(err, MissingScope) and err.scope == "nezha:server:read"
    err = await call_err(answer(403, {"error": "ApiErrorForbidden: missing or invalid CSRF token"}))
    assert isinstance(err, CsrfRejected)


async def test_401_variants():
    err = await call_err(answer(401, {"error": "ApiErrorUnauthorized: api token expired"}))
    assert isinstance(err, TokenRejected) and "expired" in err.message
    err = await call_err(answer(401, b"", None))
    assert isinstance(err, TokenRejected)
    err = await call_err(answer(401, "<html><title>401 Authorization Required</title></html>", "text/html"))
    assert isinstance(err, TokenRejected)
    assert err.message == "HTTP 401 Unauthorized: 401 Authorization Required (a proxy asking for its own login?)"


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_proxy_errors_html_or_not(status):
    err = await call_err(answer(status, fx("nginx_502.html"), "text/html"))
    assert isinstance(err, ProxyError) and err.status == status
    assert "(the Dashboard behind it may be down)" in err.message
    err = await call_err(answer(status, {"error": "upstream"}))
    assert isinstance(err, ProxyError)


async def test_proxy_502_message_exact():
    err = await call_err(answer(502, fx("nginx_502.html"), "text/html"))
    assert err.message == "proxy error 502 Bad Gateway (the Dashboard behind it may be down)"


async def test_other_html_status_is_proxy_error_with_detail():
    err = await call_err(answer(418, "<html><title>I'm a teapot</title></html>", "text/html"))
    assert isinstance(err, ProxyError) and "418" in err.message and "teapot" in err.message


async def test_404_history_vs_other():
    err = await call_err(answer(404, {"error": "404 Not Found"}), "server_metrics", 1, "cpu")
    assert isinstance(err, DashboardTooOld)
    err = await call_err(answer(404, {"error": "404 Not Found"}), "service_history", 1)
    assert isinstance(err, DashboardTooOld)
    err = await call_err(answer(404, {"error": "404 Not Found"}), "server_services", 1)
    assert isinstance(err, DashboardTooOld)
    err = await call_err(answer(404, {"error": "404 Not Found"}), "setting")
    assert isinstance(err, ApiError) and "404" in err.message
    # an HTML 404 is not the Dashboard's (its own 404 is JSON): the URL is wrong
    err = await call_err(answer(404, "<html>SPA</html>", "text/html"), "setting")
    assert isinstance(err, ProtocolError) and err.message == NOT_A_DASHBOARD


async def test_404_text_on_http_200_from_pre_v15_dashboards_is_too_old():
    err = await call_err(answer(200, {"error": "404 Not Found"}), "server_metrics", 1, "cpu")
    assert isinstance(err, DashboardTooOld)
    err = await call_err(answer(200, {"error": "404 Not Found"}), "service_history", 1)
    assert isinstance(err, DashboardTooOld)
    err = await call_err(answer(200, {"error": "404 Not Found"}), "setting")
    assert not isinstance(err, DashboardTooOld)


async def test_non_json_200_is_protocol_error():
    err = await call_err(answer(200, "<!doctype html><html><title>Nezha</title></html>", "text/html"))
    assert isinstance(err, ProtocolError) and err.message == NOT_A_DASHBOARD
    err = await call_err(answer(200, "  <html><body>a blog</body></html>", "application/octet-stream"))
    assert isinstance(err, ProtocolError) and err.message == NOT_A_DASHBOARD
    err = await call_err(answer(200, "hello", "text/plain"))
    assert isinstance(err, ProtocolError) and "not JSON" in err.message
    err = await call_err(answer(200, {"unexpected": 1}))
    assert isinstance(err, ProtocolError)


async def test_200_error_texts():
    err = await call_err(answer(200, {"error": "server not found"}), "server_metrics", 9, "cpu")
    assert isinstance(err, NotFound)
    err = await call_err(answer(200, {"error": "database error"}))
    assert isinstance(err, ApiError) and err.message == "the Dashboard answered: database error"


async def test_redirect_http_to_https_is_adopted():
    seen = []

    def handler(request):
        seen.append(request)
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"location": str(request.url.copy_with(scheme="https"))})
        return httpx.Response(200, json=ok({"config": {"site_name": "tls"}}))

    redirected = NezhaClient("http://dash.test/nezha", Credentials(token="nzp_x"),
                             transport=httpx.MockTransport(handler))
    async with aclosing(redirected) as client:
        assert (await client.setting()).config.site_name == "tls"
        assert seen[1].url == "https://dash.test/nezha/api/v1/setting"
        assert seen[1].headers["authorization"] == "Bearer nzp_x"
        assert client.base_url == "https://dash.test/nezha"
        assert client.ws_url == "wss://dash.test/nezha/api/v1/ws/server"
        await client.setting()
        assert len(seen) == 3  # no redirect any more


async def test_redirect_to_other_host_refused_and_login_post_kept():
    def other_host(request):
        return httpx.Response(302, headers={"location": "https://evil.test/api/v1/setting"})
    err = await call_err(other_host)
    assert isinstance(err, ProtocolError) and "evil.test" in err.message

    seen = []

    def post_redirect(request):
        seen.append(request)
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"location": str(request.url.copy_with(scheme="https"))})
        return httpx.Response(200, json=ok({"token": make_jwt(T0 + 3600), "expire": "2026-11-26T05:00:00Z"}))
    async with session(PASSWORD, handler=post_redirect) as (client, _, _):
        await client.login()
        assert [(r.method, r.url.scheme) for r in seen] == [("POST", "http"), ("POST", "https")]
        assert json.loads(seen[1].content)["username"] == "admin"


# --------------------------------------------------------------------------- network errors


def raiser(exc: Exception):
    def handler(request):
        raise exc
    return handler


def chained(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize("exc, want", [
    (chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
     "cannot resolve host dash.test"),
    (chained(httpx.ConnectError("All connection attempts failed"),
             chained(OSError("All connection attempts failed"), ConnectionRefusedError(111, "refused"))),
     "connection refused by dash.test:80"),
    (chained(httpx.ConnectError("x"), ssl.SSLCertVerificationError(1, "certificate verify failed")),
     "TLS certificate verification failed (use --insecure to skip)"),
    (httpx.ConnectTimeout("x"), "timed out after 10 s connecting to dash.test:80"),
    (httpx.ReadTimeout("x"), "timed out after 10 s waiting for dash.test:80"),
    (chained(httpx.ReadError("x"), ConnectionResetError(104, "reset")), "connection reset by dash.test:80"),
])
async def test_network_errors_name_the_cause(exc, want):
    err = await call_err(raiser(exc))
    assert isinstance(err, NetworkError)
    assert err.message == want


async def test_tls_verify_message_includes_reason():
    e = ssl.SSLCertVerificationError(1, "certificate verify failed")
    e.verify_message = "self-signed certificate"
    err = await call_err(raiser(chained(httpx.ConnectError("x"), e)))
    assert err.message == "TLS certificate verification failed: self-signed certificate (use --insecure to skip)"


async def test_real_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with aclosing(NezhaClient(f"http://127.0.0.1:{port}", timeout=2)) as client:
        with pytest.raises(NetworkError) as info:
            await client.setting()
        assert info.value.message == f"connection refused by 127.0.0.1:{port}"


async def test_login_waf_blocked_and_proxy_down():
    async with session(PASSWORD, handler=answer(403, fx("waf_blocked.html"), "text/html")) as (client, _, _):
        with pytest.raises(WafBlocked):
            await client.login()
    async with session(PASSWORD, handler=answer(502, fx("nginx_502.html"), "text/html")) as (client, _, _):
        with pytest.raises(ProxyError):
            await client.ensure_auth()
        assert client.auth_failed is None  # a proxy error is not a failed login


# --------------------------------------------------------------------------- real TLS


async def _tls_server(cert, key):
    import asyncio

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    body = json.dumps(ok({"config": {"site_name": "over tls"}})).encode()

    async def handle(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    return server, server.sockets[0].getsockname()[1]


async def test_real_self_signed_tls_fails_verification_and_insecure_works(self_signed):
    cert, key = self_signed
    server, port = await _tls_server(cert, key)
    try:
        async with aclosing(NezhaClient(f"https://127.0.0.1:{port}", timeout=5)) as client:
            with pytest.raises(NetworkError) as info:
                await client.setting()
            assert info.value.message.startswith("TLS certificate verification failed")
            assert info.value.message.endswith("(use --insecure to skip)")
            assert "self-signed" in info.value.message  # the verify reason is named
        async with aclosing(NezhaClient(f"https://127.0.0.1:{port}", timeout=5, verify=False)) as insecure:
            assert (await insecure.setting()).config.site_name == "over tls"
    finally:
        server.close()
