"""The simulated Nezha Dashboard: HTTP + WebSocket on one port (uvicorn, raw ASGI).

``DemoServer(options).start()`` binds 127.0.0.1 (port 0 = any free port) and
serves the read API of Dashboard v1 with the real envelope, status codes,
auth modes and quirks (see /work/shared/nezha-api-v1.md and views.py); the
live stream ``/api/v1/ws/server`` sends its first frame at once (as
``ws.go``'s loop does), then one every ``frame_interval`` seconds, with a
server ping after every 4th frame.  Values come from ``options.clock()``,
called exactly once per frame and once per REST request, so a test can step
time explicitly.

Faithfulness notes (what the real Dashboard does vs the demo):

- The Dashboard never reads its socket, so it never answers a client's ping.
  The demo runs uvicorn's sans-I/O websockets protocol with pong replies
  discarded (see _wsproto.py), so pings go unanswered here too, and sends the
  Dashboard's own empty ping after every ``ping_every`` (4) frames.  Gap: a
  client's *close frame* is still answered by the protocol layer, while the
  Dashboard ignores it until its next write fails - a client's close is quick
  against the demo and waits for its close timeout against the real thing.
- On ``stop()`` uvicorn closes open streams with close code 1012; a crashed
  Dashboard would just drop TCP (use ``faults.drop_websockets()`` for that).
- ``GET /server/{id}/metrics``: a bucket holds the sample at its start for
  gauges, the last value for cumulative metrics; the Dashboard averages the
  raw reports of a bucket (values are smooth, so the difference is small).
- Service history buckets for 7d/30d and the 30-day overview are computed
  from a sample of checks per bucket/day, weighted; 1d points are exact.
- Without the sans-I/O protocol (older uvicorn) pings are answered and the
  demo's own pings are not sent; everything else works.
- Login sessions are not bound to the client IP (every demo client is local).
- The story (story.py) runs every 10 minutes from the start: a server stops
  reporting, one runs hot, a monitor fails, a quota fills.  Its quota rule
  "Burst cap" has a 10-minute cycle (a Dashboard's shortest is an hour), and
  the burst counts in that rule's ``transfer`` only, not in the server's
  stream counters or speeds.
- The web terminal (``POST /terminal``, ``GET /ws/terminal/{id}``, terminal.go)
  is backed by ``terminal.SimulatedShell``: nothing runs for real.  Same
  auth chain as the Dashboard (JWT, CSRF pair on the POST only, or a token
  with ``nezha:server:exec``), same texts.  Differences: the real Dashboard
  keeps a session that nobody attached for as long as the agent's stream
  lives, and its 10 s (``StartStream``) is how long the agent may take to
  join *after* the attach; the demo's agent joins at once, and a session not
  attached within ``terminal_attach_window`` (10 s, demo clock) is dropped, so
  a late attach gets what the Dashboard says for a gone stream ("permission
  denied").  A second attach while the first is live gets the same answer
  (the real one would swap the stream's user side under the first socket).  Pings every
  ``terminal_ping_interval`` seconds of wall time; client pings are answered.
  A session ends as the agent ends it: the pty's read error text
  ("read /dev/ptmx: input/output error") as a last frame, then TCP closed
  without a close frame.  ``terminal_exec_disabled`` servers play an agent
  with ``disable_command_execute``: accepted, silent, dropped after 10 s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable
from urllib.parse import parse_qs

from . import hostile, views
from .auth import AuthBook
from .failing import FailDriver, FailSchedule
from .faults import MALFORMED_KINDS, DemoFaults
from .fleet import Fleet, Status, build_fleet
from .frames import FrameEncoder
from .gojson import GoMap, dumps, go_str, rfc3339
from .signals import Signals
from .story import Story
from .terminal import SimulatedShell, TerminalBook, TerminalSession
from .views import ApiFailure, Viewer

__all__ = ["DemoOptions", "DemoServer", "DemoState", "NGINX_502", "waf_page"]

FAIL_TICK = 0.25  # s between looks at the fail schedule (``DemoOptions.fail_cycle``)


@dataclass
class DemoOptions:
    """How the demo Dashboard behaves.

    ``clock()`` (epoch seconds) is called once when the server is built (the
    fleet's anchor ``t0``: offline ages, boot times), once per REST request,
    once per WebSocket handshake and once per frame - a stepping test clock
    therefore sees exactly those calls.
    """

    servers: int = 24
    seed: int = 1
    clock: Callable[[], float] = time.time
    frame_interval: float = 2.0
    frame_phase: float | None = None
    """None: a stream's first frame at once, then ``frame_interval`` after each send (as ws.go's loop).
    A number: every frame goes when the wall clock is that many seconds past a multiple of
    ``frame_interval`` (no drift), so demos in several processes send in step (the same phase) or out
    of step (different ones) whenever each stream connected (the bench's several Dashboards)."""
    force_auth: bool = False
    tsdb: bool = True
    legacy: bool = False  # a Dashboard before v2.0.0: no history routes (see faults.py)
    jwt_lifetime: float = 3600.0  # seconds (the Dashboard's jwt_timeout is in hours)
    tz_offset: int = 8 * 3600  # the Dashboard's zone: +08:00
    site_name: str = "Nezha Demo"
    version: str = "v2.3.1"  # Dashboard version shown to admins
    ping_every: int = 4  # server ping after every Nth frame (ws.go)
    terminal_ping_interval: float = 10.0  # s between the terminal socket's pings (wall time, as terminal.go)
    terminal_attach_window: float = 10.0  # s (demo clock) a terminal session waits for its attach
    terminal_exec_disabled: tuple[int, ...] = ()
    """Server ids whose agent refuses commands (``disable_command_execute``): the POST succeeds, the attach
    is accepted, no agent joins, and after ``terminal_agent_timeout`` the socket is dropped without a byte."""
    terminal_agent_timeout: float = 10.0  # s (wall time): StartStream's wait for both ends (terminal.go)
    # faults at start (also switchable at runtime via DemoServer.faults)
    proxy_502: bool = False
    waf_reason: str | None = None
    stall: bool = False
    hostile: bool = False  # hostile texts and error texts (see hostile.py); fixed at start
    malformed_every: int = 0  # every Nth frame of a stream is malformed (kinds in turn; 0 = never)
    # fail on this schedule from the start (failing.py; ``--demo-fail-one``); the clock is then also
    # read every FAIL_TICK seconds to follow it
    fail_cycle: tuple | None = None
    extra: dict[str, Any] = field(default_factory=dict)


NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
)

_WAF_TEMPLATE = """<!DOCTYPE html>
<html lang="en">

<head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <title>Blocked</title>
</head>

<body>
    <main>
        <div class="emoji">&#129313;</div>
        <h1>Blocked</h1>
        <p>{error}</p>
        <p class="secondary">nezha WAF</p>
    </main>
</body>

</html>"""


def waf_page(reason: str) -> str:
    return _WAF_TEMPLATE.replace("{error}", reason, 1)


_JSON = [(b"content-type", b"application/json; charset=utf-8")]
_HTML = [(b"content-type", b"text/html; charset=utf-8")]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


class _Reply(Exception):
    """Stop handling and answer this (status, headers, body)."""

    def __init__(self, status: int, headers: list, body: str) -> None:
        self.status, self.headers, self.body = status, headers, body


def _err(message: str, status: int = 200) -> _Reply:
    return _Reply(status, _JSON, '{"error":' + go_str(message) + "}")


def _ok(data: Any) -> str:
    """The success envelope; Go's ``omitempty`` drops ``data`` when it is nil or an empty slice/map."""
    if data is None or (isinstance(data, (list, tuple, GoMap)) and not data):
        return '{"success":true}'
    return '{"success":true,"data":' + dumps(data) + "}"


class DemoState:
    """Everything the handlers read: options, fleet, signals, encoder, auth, faults."""

    def __init__(self, options: DemoOptions) -> None:
        if options.hostile:
            options = replace(options, site_name=hostile.HOSTILE_SITE_NAME)
        self.options = options
        self.t0 = float(options.clock())
        self.tz = options.tz_offset
        self.fleet: Fleet = build_fleet(options.seed, options.servers, self.t0)
        if options.hostile:
            hostile.make_hostile(self.fleet)
        self.group_requests = 0
        self.story = Story(self.fleet, options.seed, self.t0)
        if self.story.rule is not None:
            self.fleet.rules.append(self.story.rule)
        self.signals = Signals(options.seed, self.story)
        self.encoder = FrameEncoder(self.fleet, self.signals, self.tz)
        self.auth = AuthBook(options.seed, self.t0, options.jwt_lifetime)
        self.faults = DemoFaults(force_auth=options.force_auth, tsdb=options.tsdb, legacy=options.legacy)
        self.faults.proxy_502 = options.proxy_502
        self.faults.waf_reason = options.waf_reason
        self.faults.stall = options.stall
        self.day_cache: dict = {}
        self.online = 0  # open stream connections (viewers)
        self.terminals = TerminalBook(options.seed, options.terminal_attach_window)
        self.terminal_pings = 0  # pings sent on terminal sockets (for tests)


class _Conn:
    """The parts of an ASGI scope the handlers need."""

    def __init__(self, scope: dict) -> None:
        self.scope = scope
        self.path: str = scope.get("path", "")
        self.method: str = scope.get("method", "GET")
        hs: dict[str, str] = {}
        for k, v in scope.get("headers", []):
            key = k.decode("latin-1").lower()
            if key not in hs:
                hs[key] = v.decode("latin-1")
        self.headers = hs
        self.query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1"),
                                                   keep_blank_values=True).items()}
        self.cookies: dict[str, str] = {}
        for part in hs.get("cookie", "").split(";"):
            name, eq, val = part.strip().partition("=")
            if eq and name and name not in self.cookies:
                self.cookies[name] = val.strip().strip('"')
        client = scope.get("client") or ("127.0.0.1", 0)
        self.client_ip = client[0]


class DemoServer:
    """The simulated Dashboard. ``await start()``, use ``url``, ``await stop()``; restartable."""

    def __init__(self, options: DemoOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.options = options or DemoOptions()
        self.host = host
        self.port = port
        self.state = DemoState(self.options)
        self.faults: DemoFaults = self.state.faults
        self.faults._drop_hook = self._drop_threadsafe
        self.fail_driver: FailDriver | None = None
        """Flips ``faults`` on ``options.fail_cycle``'s schedule (from the demo's start); ticked by the server."""
        if self.options.fail_cycle:
            self.fail_driver = FailDriver(self.faults, FailSchedule(self.state.t0, self.options.fail_cycle))
        self._fail_task: asyncio.Task | None = None
        self._uv: Any = None
        self._sock: socket.socket | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._streams: dict[int, dict] = {}
        self._ids = itertools.count(1)
        self._visible_cache: dict[tuple, list] = {}
        self._frame_cache: dict[tuple, str] = {}

    # ------------------------------------------------------------------ credentials

    @property
    def username(self) -> str:
        return self.state.auth.users[1].username

    @property
    def password(self) -> str:
        return self.state.auth.users[1].password

    @property
    def token(self) -> str:
        """A full-scope ``nzp_`` token."""
        return self.state.auth.full_token

    @property
    def tokens(self) -> dict[str, str]:
        a = self.state.auth
        return {"full": a.full_token, "expired": a.expired_token, "noscope": a.noscope_token,
                "limited": a.limited_token}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/api/v1/ws/server"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        import uvicorn

        from ._wsproto import protocol_class

        if self._task is not None:
            raise RuntimeError("demo server already running")
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        config = uvicorn.Config(
            self._asgi, host=self.host, port=self.port, log_level="error", access_log=False,
            lifespan="off", interface="asgi3", proxy_headers=False, ws=protocol_class(), ws_ping_interval=None, ws_ping_timeout=None,
            ws_max_size=1 << 20, timeout_graceful_shutdown=2, server_header=False, date_header=True,
        )
        # bind here, so a busy port is a plain OSError (uvicorn would sys.exit inside its task)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]  # keep the port: start() again reuses it
        self._sock = sock
        server = _QuietServer(config)
        self._uv = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._task.done():
                self._task = None
                sock.close()
                raise OSError(f"demo server failed to start on {self.host}:{self.port}")
            await asyncio.sleep(0.002)
        if self.fail_driver is not None:
            self.fail_driver.tick(float(self.options.clock()))
            self._fail_task = asyncio.create_task(self._follow_fail_schedule())

    async def _follow_fail_schedule(self) -> None:
        assert self.fail_driver is not None
        while not await self._pause(FAIL_TICK):
            self.fail_driver.tick(float(self.options.clock()))

    async def stop(self) -> None:
        if self._task is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        if self._fail_task is not None:
            self._fail_task.cancel()
            self._fail_task = None
        self._uv.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except (asyncio.TimeoutError, Exception):
            self._uv.force_exit = True
            self._task.cancel()
            try:
                await self._task
            except BaseException:
                pass
        self._task = None
        self._uv = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._streams.clear()
        self.state.online = 0

    async def __aenter__(self) -> "DemoServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _drop_threadsafe(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._drop_all()
        else:
            loop.call_soon_threadsafe(self._drop_all)

    def _drop_all(self) -> None:
        for ext in list(self._streams.values()):
            abort = ext.get("abort")
            if abort is not None:
                abort()

    def _to_phase(self, sent: bool = False) -> float:
        """Seconds until the wall clock is ``frame_phase`` past a multiple of ``frame_interval``;
        ``sent``: just after a frame (a timer that woke a hair early must not send that slot twice)."""
        opts = self.state.options
        wait = (float(opts.frame_phase or 0.0) - time.time()) % opts.frame_interval
        return wait + opts.frame_interval if sent and wait < opts.frame_interval / 20 else wait

    async def _pause(self, seconds: float) -> bool:
        """Sleep; True when the server is stopping."""
        assert self._stopping is not None
        if self._stopping.is_set():
            return True
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False

    # ------------------------------------------------------------------ ASGI

    async def _asgi(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _http(self, scope: dict, receive: Callable, send: Callable) -> None:
        conn = _Conn(scope)
        extra_headers: list = []
        try:
            body = b""
            if conn.method in ("POST", "PUT", "PATCH"):
                more = True
                while more:
                    msg = await receive()
                    body += msg.get("body", b"")
                    more = msg.get("more_body", False)
                    if len(body) > 1 << 20:
                        raise _Reply(413, _TEXT, "Request Entity Too Large")
            self._front_faults()
            status, text = self._route(conn, body, extra_headers)
            headers = _JSON
        except _Reply as r:
            status, headers, text = r.status, r.headers, r.body
        payload = text.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + extra_headers + [(b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    def _front_faults(self) -> None:
        f = self.faults
        if f.proxy_502:
            raise _Reply(502, _HTML, NGINX_502)
        if f.waf_reason is not None:
            raise _Reply(403, _HTML, waf_page(f.waf_reason))

    # ------------------------------------------------------------------ auth

    def _bearer(self, conn: _Conn) -> str:
        return conn.headers.get("authorization", "").strip()

    def _pat(self, conn: _Conn, now: float):
        raw = self._bearer(conn)
        if not raw.startswith("Bearer "):
            return None
        plain = raw[len("Bearer "):].strip()
        if not plain.startswith("nzp_"):
            return None
        tok = self.state.auth.tokens.get(plain)
        if tok is None:
            raise _err("ApiErrorUnauthorized: invalid api token", 401)
        if tok.expires_at is not None and now > tok.expires_at:
            raise _err("ApiErrorUnauthorized: api token expired", 401)
        return tok

    def _jwt_lookup(self, conn: _Conn) -> str:
        raw = self._bearer(conn)
        if raw:
            parts = raw.split(" ", 1)
            if len(parts) == 2 and parts[0] == "Bearer":
                return parts[1]
        tok = conn.query.get("token", "")
        if tok:
            return tok
        return conn.cookies.get("nz-jwt", "")

    def _strict_jwt(self, conn: _Conn, now: float) -> tuple[Viewer, dict]:
        token = self._jwt_lookup(conn)
        claims = self.state.auth.jwt_claims(token) if token else None
        if claims is None:
            raise _err("ApiErrorUnauthorized")
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp < int(now):
            raise _err("ApiErrorUnauthorized")
        user = self.state.auth.session_user(claims, now)
        if user is None:
            raise _err("ApiErrorUnauthorized")
        return Viewer(user=user), claims

    def _fallback_jwt(self, conn: _Conn, now: float) -> Viewer:
        token = self._jwt_lookup(conn)
        claims = self.state.auth.jwt_claims(token) if token else None
        if claims is None:
            return views.GUEST
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp < int(now):
            return views.GUEST  # the quirk: an expired JWT is served as a guest
        user = self.state.auth.session_user(claims, now)
        if user is None:
            raise _Reply(403, _HTML, waf_page("you were blocked by nezha WAF"))
        return Viewer(user=user)

    def _optional(self, conn: _Conn, now: float, scope: str) -> Viewer:
        tok = self._pat(conn, now)
        if tok is not None:
            if not tok.has_scope(scope):
                raise _err("ApiErrorForbidden: api token lacks scope " + scope, 403)
            return Viewer(user=self.state.auth.users[tok.user_id], token=tok)
        if self.faults.force_auth:
            return self._strict_jwt(conn, now)[0]
        return self._fallback_jwt(conn, now)

    def _login_only(self, conn: _Conn, now: float, scope: str | None, extra: list) -> tuple[Viewer, dict]:
        tok = self._pat(conn, now)
        if tok is not None:
            if scope is None:
                raise _err("ApiErrorForbidden: this endpoint is not accessible by api token", 403)
            if not tok.has_scope(scope):
                raise _err("ApiErrorForbidden: api token lacks scope " + scope, 403)
            return Viewer(user=self.state.auth.users[tok.user_id], token=tok), {}
        viewer, claims = self._strict_jwt(conn, now)
        if conn.method in ("GET", "HEAD", "OPTIONS"):
            if not conn.cookies.get("nz-csrf"):
                extra.append(self._csrf_cookie())
        else:
            header = conn.headers.get("x-csrf-token", "")
            cookie = conn.cookies.get("nz-csrf", "")
            if not cookie or not header or header != cookie or not self.state.auth.valid_csrf(cookie):
                raise _err("ApiErrorForbidden: missing or invalid CSRF token", 403)
        return viewer, claims

    def _csrf_cookie(self) -> tuple[bytes, bytes]:
        return (b"set-cookie", f"nz-csrf={self.state.auth.issue_csrf()}; Path=/; SameSite=Strict".encode())

    def _jwt_cookie(self, token: str, max_age: int) -> tuple[bytes, bytes]:
        return (b"set-cookie", f"nz-jwt={token}; Path=/; Max-Age={max_age}; SameSite=Lax".encode())

    # ------------------------------------------------------------------ routes

    def _route(self, conn: _Conn, body: bytes, extra: list) -> tuple[int, str]:
        path, method = conn.path, conn.method
        st = self.state
        if not path.startswith("/api"):
            page = "<!DOCTYPE html><html><head><title>%s</title></head><body>Nezha demo</body></html>"
            code = 200 if path == "/" or path.startswith("/server/") or path == "/dashboard/" else 404
            raise _Reply(code, _HTML, page % st.options.site_name)
        p = path[len("/api/v1"):] if path.startswith("/api/v1/") else None
        parts = p.strip("/").split("/") if p else []
        now = float(st.options.clock())
        try:
            if method == "POST" and p == "/login":
                return 200, self._login(conn, body, now, extra)
            if method == "POST" and p == "/refresh-token":
                viewer, claims = self._login_only(conn, now, None, extra)
                token, exp = st.auth.refresh_jwt(claims, now)
                extra.append(self._jwt_cookie(token, int(exp - now)))
                extra.append(self._csrf_cookie())
                return 200, _ok({"token": token, "expire": rfc3339(exp, st.tz)})
            if method == "POST" and p == "/terminal":
                viewer, _ = self._login_only(conn, now, "nezha:server:exec", extra)
                return 200, self._create_terminal(conn, viewer, body, now)
            if method != "GET":
                raise _err("404 Not Found", 404)
            if self.faults.legacy and _is_history_route(parts):
                # before v2.0.0 these routes do not exist: Gin's NoRoute answers, before any auth
                raise _err("404 Not Found", 404)
            if p == "/setting":
                return 200, _ok(views.setting(st, self._fallback_jwt(conn, now)))
            if p == "/ws/server":
                self._optional_or_unauth(conn, now, "nezha:inventory:read")
                raise _Reply(400, _TEXT + [(b"sec-websocket-version", b"13")], "Bad Request\n")
            if p == "/server-group":
                v = self._optional_or_unauth(conn, now, "nezha:inventory:read")
                st.group_requests += 1
                if st.options.hostile and st.group_requests == 2:  # the first refresh fails, once
                    raise _err(hostile.HOSTILE_ERROR)
                return 200, _ok(views.server_groups(st, v))
            if p == "/service":
                v = self._optional_or_unauth(conn, now, "nezha:service:read")
                return 200, _ok(views.services_overview(st, v, now))
            if p == "/service/server":
                v = self._optional_or_unauth(conn, now, "nezha:service:read")
                return 200, _ok(views.service_servers(st, v))
            if len(parts) == 3 and parts[0] == "service" and parts[2] == "history":
                v = self._optional_or_unauth(conn, now, "nezha:service:read")
                if st.options.hostile and parts[1] == str(hostile.HOSTILE_MONITOR_ID):
                    raise _err(hostile.HOSTILE_ERROR)
                return 200, _ok(views.service_history(st, v, parts[1], conn.query.get("period", "1d"), now))
            if len(parts) == 3 and parts[0] == "server" and parts[2] == "service":
                v = self._optional_or_unauth(conn, now, "nezha:service:read")
                return 200, _ok(views.server_services(st, v, parts[1], conn.query.get("period", "1d"), now))
            if len(parts) == 3 and parts[0] == "server" and parts[2] == "metrics":
                v = self._optional_or_unauth(conn, now, "nezha:server:read")
                if st.options.hostile and parts[1] == str(hostile.HOSTILE_METRICS_SERVER):
                    raise _err(hostile.HOSTILE_ERROR)
                return 200, _ok(views.metrics(st, v, parts[1], conn.query.get("metric", ""),
                                              conn.query.get("period", "1d"), now))
            if p == "/server":
                v, _ = self._login_only(conn, now, "nezha:inventory:read", extra)
                return 200, _ok(views.servers_full(st, v, conn.query.get("id"), now))
            if p == "/profile":
                v, _ = self._login_only(conn, now, None, extra)
                return 200, _ok(views.profile(st, v, conn.client_ip))
        except ApiFailure as e:
            raise _err(e.message, e.status)
        raise _err("404 Not Found", 404)

    def _optional_or_unauth(self, conn: _Conn, now: float, scope: str) -> Viewer:
        return self._optional(conn, now, scope)

    def _login(self, conn: _Conn, body: bytes, now: float, extra: list) -> str:
        ctype = conn.headers.get("content-type", "")
        username = password = None
        try:
            if "application/x-www-form-urlencoded" in ctype:
                form = parse_qs(body.decode("utf-8"))
                username, password = form.get("username", [""])[0], form.get("password", [""])[0]
            else:
                doc = json.loads(body or b"null")
                if isinstance(doc, dict):
                    username, password = doc.get("username"), doc.get("password")
        except (ValueError, UnicodeDecodeError):
            pass
        if not isinstance(username, str) or not isinstance(password, str):
            raise _err("ApiErrorUnauthorized")
        user = self.state.auth.check_password(username, password)
        if user is None:
            raise _err("ApiErrorUnauthorized")
        token, exp = self.state.auth.issue_jwt(user, now)
        extra.append(self._jwt_cookie(token, int(exp - now)))
        extra.append(self._csrf_cookie())
        return _ok({"token": token, "expire": rfc3339(exp, self.state.tz)})

    # ------------------------------------------------------------------ the web terminal

    def _create_terminal(self, conn: _Conn, viewer: Viewer, body: bytes, now: float) -> str:
        """``createTerminal`` (terminal.go): bind the form, find a connected server, check permission."""
        st = self.state
        server_id = 0
        if "json" in conn.headers.get("content-type", "").lower():
            server_id = _bind_terminal_form(body)
        s = next((x for x in st.fleet.servers if x.id == server_id), None)
        if s is None or not self._agent_connected(s, now):
            raise _err("server not found or not connected")
        owner = viewer.is_admin or (viewer.user is not None and s.owner_id == viewer.user.id)
        if not owner or (viewer.token is not None and not viewer.token.can_access_server(s.id)):
            raise _err("permission denied")
        assert viewer.user is not None  # _login_only: a JWT user or a token's user
        try:
            sess = st.terminals.create(s.id, s.name, viewer.user.id, now)
        except ValueError as e:
            raise _err(str(e))
        # CreateTerminalResponse: every field omitempty
        data = ('{"session_id":' + go_str(sess.session_id) + ',"server_id":' + str(sess.server_id)
                + (',"server_name":' + go_str(sess.server_name) if sess.server_name else "") + "}")
        return '{"success":true,"data":' + data + "}"

    def _agent_connected(self, s, now: float) -> bool:
        """Whether the server's agent holds its task stream now (ONLINE and not frozen by the story)."""
        if s.status != Status.ONLINE or s.host is None:
            return False
        return self.state.story.frozen_at(s.id, int(now)) is None

    def _terminal_attach(self, conn: _Conn, now: float, extra: list) -> TerminalSession:
        """The checks of ``GET /ws/terminal/:id`` before the upgrade (auth group, scope, terminalStream)."""
        viewer, _ = self._login_only(conn, now, "nezha:server:exec", extra)
        session_id = conn.path[len("/api/v1/ws/terminal/"):]
        user_id = viewer.user.id if viewer.user is not None else 0
        sess = self.state.terminals.attach(session_id, user_id, viewer.is_admin, now)
        if sess is None or (viewer.token is not None and not viewer.token.can_access_server(sess.server_id)):
            if sess is not None:
                sess.attached = False  # a whitelisted token's refusal leaves the session to its owner
            raise _err("permission denied")
        return sess

    async def _terminal_stream(self, scope: dict, receive: Callable, send: Callable, sess: TerminalSession) -> None:
        """Relay between the socket and a simulated shell, framed as the agent and the Dashboard do."""
        st = self.state
        ext = scope.get("extensions", {}).get("nezha.demo", {})
        ext["answer_pings"] = True
        shell = SimulatedShell(sess.server_name)
        pinger = asyncio.create_task(self._terminal_pings(ext)) if ext.get("ping") else None
        cid = next(self._ids)
        self._streams[cid] = ext
        try:
            if sess.server_id in st.options.terminal_exec_disabled:
                # the agent never opens its IOStream: StartStream times out, the socket is closed, nothing sent
                await self._pause(st.options.terminal_agent_timeout)
                if not _close_tcp(ext):
                    await send({"type": "websocket.close", "code": 1000})
                return
            await self._terminal_out(send, shell.start())
            while not shell.ended:
                msg = await receive()
                if msg.get("type") != "websocket.receive":
                    return  # the client went away: the Dashboard closes the stream, the agent's shell ends
                data = msg.get("bytes")
                if data is None:
                    data = b"\x00" + (msg.get("text") or "").encode("utf-8")  # websocketx: text is input
                if len(data) > TERMINAL_INPUT_LIMIT:
                    # gorilla's read limit: it writes close 1009, the read fails and the stream ends
                    await send({"type": "websocket.close", "code": 1009})
                    return
                if not data:
                    continue
                if data[0] == 0:
                    await self._terminal_out(send, shell.feed(data[1:]))
                elif data[0] == 1:
                    size = _terminal_size(data[1:])
                    if size is not None:
                        shell.resize(*size)
            # the shell exited: the agent's pty read fails and it sends the error text, then its stream ends;
            # the Dashboard closes the socket without a close frame (gorilla Conn.Close)
            await self._terminal_out(send, PTY_EOF_TEXT)
            if not _close_tcp(ext):
                await send({"type": "websocket.close", "code": 1000})
        except (OSError, RuntimeError):
            return
        finally:
            if pinger is not None:
                pinger.cancel()
            self._streams.pop(cid, None)
            st.terminals.end(sess.session_id)

    async def _terminal_out(self, send: Callable, out: bytes) -> None:
        # the agent reads its pty 32 KiB at a time; each read travels as one binary message
        for i in range(0, len(out), PTY_READ):
            await send({"type": "websocket.send", "bytes": out[i:i + PTY_READ]})

    async def _terminal_pings(self, ext: dict) -> None:
        interval = self.state.options.terminal_ping_interval
        while not await self._pause(interval):
            ext["ping"]()
            self.state.terminal_pings += 1

    # ------------------------------------------------------------------ the stream

    def _visible(self, viewer: Viewer) -> tuple[list, list[bool]]:
        key = viewer.key
        hit = self._visible_cache.get(key)
        if hit is None:
            servers = views.visible_servers(self.state, viewer)
            hit = (servers, [views.full_host_for(viewer, s) for s in servers])
            self._visible_cache[key] = hit
        return hit

    async def _websocket(self, scope: dict, receive: Callable, send: Callable) -> None:
        conn = _Conn(scope)
        msg = await receive()
        if msg.get("type") != "websocket.connect":
            return

        async def deny(status: int, headers: list, text: str) -> None:
            body = text.encode("utf-8")
            await send({"type": "websocket.http.response.start", "status": status,
                        "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "websocket.http.response.body", "body": body})

        now = float(self.state.options.clock())
        extra: list = []
        term: TerminalSession | None = None
        try:
            self._front_faults()
            if _TERMINAL_PATH.fullmatch(conn.path):
                term = self._terminal_attach(conn, now, extra)
                viewer = views.GUEST
            elif conn.path == "/api/v1/ws/server":
                viewer = self._optional(conn, now, "nezha:inventory:read")
            else:
                raise _err("404 Not Found", 404)
            if not _same_origin(conn):
                if term is not None:
                    self.state.terminals.end(term.session_id)  # the deferred CloseStream runs
                raise _Reply(403, _TEXT, "Forbidden\n")
        except _Reply as r:
            try:
                await deny(r.status, r.headers + extra, r.body)
            except (OSError, RuntimeError):
                pass
            return
        await send({"type": "websocket.accept", "headers": extra})
        if term is not None:
            await self._terminal_stream(scope, receive, send, term)
            return
        await self._stream(scope, send, viewer)

    async def _stream(self, scope: dict, send: Callable, viewer: Viewer) -> None:
        st = self.state
        opts = st.options
        ext = scope.get("extensions", {}).get("nezha.demo", {})
        cid = next(self._ids)
        self._streams[cid] = ext
        st.online += 1
        sent = 0
        note_sent = False
        try:
            if opts.frame_phase is not None and await self._pause(self._to_phase()):
                return
            while True:
                if self.faults.stall:
                    if await self._pause(0.02):
                        return
                    continue
                servers, full = self._visible(viewer)
                t = float(opts.clock())
                kind = self.faults.take_malformed()
                victim = 0  # which reporting server a malformed frame breaks
                every = opts.malformed_every
                if kind is None and every > 0 and (sent + 1) % every == 0:
                    victim = (sent + 1) // every - 1
                    kind = MALFORMED_KINDS[victim % len(MALFORMED_KINDS)]
                if kind is None:
                    # viewers with the same view at the same second share one encoding (ws.go's singleflight)
                    ck = (viewer.key, int(t // 1), not note_sent, st.online)
                    text = self._frame_cache.get(ck)
                    if text is None:
                        text = st.encoder.frame(t, st.online, servers, with_note=not note_sent,
                                                full_host=_FullHost(servers, full))
                        if len(self._frame_cache) > 16:
                            self._frame_cache.clear()
                        self._frame_cache[ck] = text
                    note_sent = True
                else:
                    text = self._malformed(kind, t, servers, full, victim)
                await send({"type": "websocket.send", "text": text})
                sent += 1
                if opts.ping_every and sent % opts.ping_every == 0 and ext.get("ping"):
                    ext["ping"]()
                if await self._pause(opts.frame_interval if opts.frame_phase is None else self._to_phase(sent=True)):
                    return
        except (OSError, RuntimeError):
            return  # the client went away: the Dashboard notices on its next write
        finally:
            self._streams.pop(cid, None)
            st.online -= 1

    def _malformed(self, kind: str, t: float, servers: list, full: list[bool], victim: int = 0) -> str:
        """A malformed frame of ``kind``; ``victim`` picks the server (among those that report)."""
        st = self.state
        text = st.encoder.frame(t, st.online, servers, with_note=False, full_host=_FullHost(servers, full))
        if kind == "invalid_json":
            return text[: max(1, len(text) // 2)]
        doc = json.loads(text)
        reporting = [s for s in doc.get("servers") or () if not str(s.get("last_active", "")).startswith("0001")]
        if reporting:
            s0 = reporting[victim % len(reporting)]
            if kind == "null_state":
                s0["state"] = None
            else:
                s0["last_active"] = 1700000000
                s0.setdefault("state", {})["cpu"] = "busy"
                s0.setdefault("host", {})["mem_total"] = "8 GiB"
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


_TERMINAL_PATH = re.compile(r"/api/v1/ws/terminal/[^/]+")
TERMINAL_INPUT_LIMIT = 512 * 1024 + 64  # terminal.go: terminalWebSocketInputLimit
PTY_READ = 32 * 1024  # the agent's pty read buffer (cmd/agent/terminal_session.go)
PTY_EOF_TEXT = b"read /dev/ptmx: input/output error"  # what the agent sends when its pty read fails at exit


def _bind_terminal_form(body: bytes) -> int:
    """``c.ShouldBind(&model.TerminalForm{})`` with a JSON body: the server id, or the Go error text raised."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        raise _err("EOF")
    try:
        doc = json.loads(text)
    except ValueError:
        raise _err(f"invalid character {text[0]!r} looking for beginning of value")
    if doc is None:
        return 0
    if not isinstance(doc, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(doc), "number")
        raise _err(f"json: cannot unmarshal {kind} into Go value of type model.TerminalForm")
    v = next((doc[k] for k in doc if k.lower() == "server_id"), None)  # encoding/json: keys fold case
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v >= 1 << 64:
        kind = ("bool" if isinstance(v, bool) else "string" if isinstance(v, str) else
                "array" if isinstance(v, list) else "object" if isinstance(v, dict) else f"number {v}")
        raise _err(f"json: cannot unmarshal {kind} into Go struct field TerminalForm.server_id of type uint64")
    return v


def _terminal_size(raw: bytes) -> tuple[int, int] | None:
    """The agent's resize: JSON ``{"Cols": c, "Rows": r}`` (keys fold case); None when it would not parse."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    vals = {k.lower(): v for k, v in doc.items()}
    cols, rows = vals.get("cols", 0), vals.get("rows", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 32 for v in (cols, rows)):
        return None
    return cols, rows


def _close_tcp(ext: dict) -> bool:
    hook = ext.get("close_tcp")
    if hook is None:
        return False
    hook()
    return True


def _is_history_route(parts: list[str]) -> bool:
    """``server/{id}/metrics``, ``server/{id}/service`` or ``service/{id}/history`` (added in v2.0.0)."""
    return len(parts) == 3 and (parts[0], parts[2]) in (("server", "metrics"), ("server", "service"),
                                                         ("service", "history"))


class _FullHost:
    """full_host(server) lookup for FrameEncoder.frame, by position."""

    __slots__ = ("_m",)

    def __init__(self, servers: list, full: list[bool]) -> None:
        self._m = {s.id: f for s, f in zip(servers, full)}

    def __call__(self, s) -> bool:
        return self._m[s.id]


def _same_origin(conn: _Conn) -> bool:
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    from urllib.parse import urlsplit

    try:
        host = urlsplit(origin).netloc
    except ValueError:
        return False
    return host.lower() == conn.headers.get("host", "").lower()


def _quiet_server_class():
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn.Server without signal capture: the demo runs inside other programs."""

        def capture_signals(self):  # type: ignore[override]
            import contextlib

            return contextlib.nullcontext()

    return QuietServer


def _QuietServer(config):  # noqa: N802 - a factory that looks like a class
    return _quiet_server_class()(config)


def start_demo_in_thread(options: DemoOptions | None = None, host: str = "127.0.0.1", port: int = 0):
    """See :func:`nezha_tui.demo.thread.start_demo_in_thread` (re-exported here for convenience)."""
    from .thread import start_demo_in_thread as _start

    return _start(options, host=host, port=port)
