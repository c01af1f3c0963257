"""REST client of the Nezha Dashboard API v1 (httpx, async).

Auth modes (``Credentials.mode``):

* ``guest``: no header.
* ``password``: ``POST /api/v1/login`` -> JWT kept in memory only (never on
  disk, never in logs).  Renewed by logging in again shortly before
  ``expire``.  Because optional routes silently serve an expired or revoked JWT
  as a guest, the JWT is re-checked with ``GET /api/v1/profile`` (a login-only
  route) at most every ``validate_every`` seconds.  A failed login raises
  :class:`BadCredentials` and is remembered: later calls raise it again without
  touching the network (the Dashboard's firewall blocks IPs that keep failing).
* ``token``: an ``nzp_`` access token, or a raw JWT, sent as Bearer.  A raw JWT
  is renewed with ``POST /api/v1/refresh-token`` and the CSRF double-submit
  pair (cookie ``nz-csrf`` + header ``X-CSRF-Token``), as the Dashboard's
  ``csrfMiddleware`` requires for a JWT on an unsafe method.

Base URL normalisation (:func:`normalize_base_url`): surrounding blanks and
trailing slashes are removed, a path prefix is kept (``https://host/nezha``),
a pasted ``/api/v1...`` suffix is dropped.  Without a scheme, ``https://`` is
assumed, except for ``localhost`` and loopback addresses (``http://``): a
Dashboard on the Internet should be reached over TLS, and a plain-HTTP one that
redirects to HTTPS works either way.  Redirects are followed within the same
host (a permanent http -> https upgrade is adopted for later calls and for the
WebSocket URL); a redirect to another host is refused (it would carry the
Authorization header elsewhere).

Credentials stay home: a password, JWT, cookie or token is sent only to the
configured origin (scheme, host and port of the base URL).  A redirect is
followed only within that origin (e.g. to a path prefix), or as an upgrade of
the same host from http to https (same port, or 80 -> 443): the same machine,
now encrypted, which is what a proxy's "redirect to HTTPS" does; a password
may follow that.  Anything else (another host, another port, https -> http)
raises :class:`RedirectRefused` before a byte goes there.  The stream refuses
a WebSocket redirect to another origin the same way (see stream.py).

The web terminal: :meth:`NezhaClient.open_terminal` asks for a session (``POST
/api/v1/terminal``; a JWT session sends the CSRF pair, an ``nzp_`` token needs
``nezha:server:exec``) and maps the Dashboard's refusals to
:class:`~nezha_tui.api.errors.TerminalRefused`; attaching to it is
:mod:`nezha_tui.api.terminal`'s.

``GET /profile`` is a check, not a requirement: when it fails otherwise than
with the Dashboard's "not logged in" answer (404, an HTML page, 5xx, a proxy
that blocks it, a network error) the answer is *unknown* and the session is
kept.  A silent fall-back to the guest view is then detected by what the
stream sees (:meth:`NezhaClient.suspect_guest_view`).  Logins are
single-flight: callers that queued behind a failed login get its error
without sending another one (the Dashboard's firewall counts failures).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpx

from .. import __version__ as _VERSION
from .credentials import Credentials
from .decode import decode_data, decode_terminal_ticket, envelope_error
from .errors import (
    EXEC_SCOPE, NOT_A_DASHBOARD, ApiError, BadCredentials, CsrfRejected, DashboardTooOld, MissingScope,
    NetworkError, NezhaError, ProtocolError, ProxyError, RedirectRefused, TerminalRefused, TokenRejected,
    Unauthorized, WafBlocked, error_from_text, html_reason, network_error_from, not_a_dashboard, terminal_refusal,
    trim, waf_error,
)
from .sanitise import sanitise_obj
from .models import (
    METRICS, PERIODS, FullServer, LoginResult, MetricSeries, Profile, ServerGroup,
    ServerServiceSeries, ServiceHistory, ServiceOverview, Setting, TerminalTicket,
)

__all__ = ["Credentials", "NezhaClient", "normalize_base_url"]

T = TypeVar("T")

log = logging.getLogger(__name__)

_API = "/api/v1"
_CSRF_COOKIE = "nz-csrf"
_JWT_COOKIE = "nz-jwt"
_MAX_REDIRECTS = 5
LOGIN_HOLD_WAF = 30.0  # s after the firewall blocked a login (its block grows with every attempt)


def _is_local(host: str) -> bool:
    h = host.strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """``"dash.example.com/nezha/"`` -> ``"https://dash.example.com/nezha"``.

    Raises ValueError for something that cannot be a Dashboard URL.
    """
    raw = (url or "").strip()
    if not raw:
        raise ValueError("the Dashboard URL is empty")
    if "://" not in raw:
        host = raw.split("/", 1)[0].rsplit("@", 1)[-1]
        if host.startswith("["):
            hostname = host[1:].split("]", 1)[0]
        else:
            hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        raw = ("http://" if _is_local(hostname) else "https://") + raw
    try:
        u = httpx.URL(raw)
    except Exception as exc:  # httpx.InvalidURL and friends
        raise ValueError(f"not a valid URL: {raw!r} ({exc})") from None
    scheme = {"ws": "http", "wss": "https"}.get(u.scheme, u.scheme)
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme {u.scheme!r} (use http:// or https://)")
    if not u.host:
        raise ValueError(f"the URL {raw!r} has no host")
    path = u.path.rstrip("/")
    idx = path.find(_API)
    if idx != -1 and (len(path) == idx + len(_API) or path[idx + len(_API)] == "/"):
        path = path[:idx].rstrip("/")
    host = f"[{u.host}]" if ":" in u.host else u.host
    port = f":{u.port}" if u.port is not None else ""
    return f"{scheme}://{host}{port}{path}"


def _jwt_claim(token: str, name: str) -> float | None:
    """A numeric claim (``exp``, ``orig_iat``) of a JWT, unverified: used only to plan renewal."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        value = claims.get(name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    except (IndexError, ValueError, binascii.Error, AttributeError, TypeError):
        return None


class NezhaClient:
    """Async REST client; methods return typed models or raise NezhaError."""

    def __init__(self, base_url: str, credentials: Credentials = Credentials(), *,
                 verify: bool = True, timeout: float = 10.0,
                 clock: Callable[[], float] = time.time,
                 transport: httpx.AsyncBaseTransport | None = None,
                 validate_every: float = 60.0) -> None:
        self.base_url = normalize_base_url(base_url)
        self.credentials = credentials
        self.verify = verify
        self.timeout = timeout
        self.validate_every = validate_every
        self._clock = clock
        self._http = httpx.AsyncClient(
            verify=verify, timeout=timeout, transport=transport, follow_redirects=False,
            headers={"User-Agent": f"nezha-tui/{_VERSION}", "Accept": "application/json"},
        )
        self._auth_lock = asyncio.Lock()
        self._jwt: str | None = None
        self._jwt_expires_at: float | None = None  # our clock
        self._jwt_lifetime: float = 3600.0
        self._validated_at: float | None = None  # our clock; last proof the JWT is good
        self._auth_error: NezhaError | None = None  # remembered login/JWT failure
        self._csrf: str | None = None
        self._login_attempts = 0  # logins sent so far (single flight: see _login_locked)
        self._login_error: NezhaError | None = None  # what the last login attempt raised
        self._login_hold_until = 0.0  # our clock: no new login before this after a failed one
        self.profile_unknown = False  # the last /profile check neither accepted nor refused the JWT
        if credentials.mode == "token" and not credentials.is_access_token:
            self._jwt = credentials.token.strip()
            # when this JWT was issued is unknown (and the clocks may differ): plan
            # from its exp until the first refresh, which gives a skew-free lifetime
            exp = _jwt_claim(self._jwt, "exp")
            if exp is not None:
                self._jwt_expires_at = exp
                iat = _jwt_claim(self._jwt, "orig_iat")
                self._jwt_lifetime = exp - iat if iat is not None and exp > iat else max(exp - clock(), 60.0)

    # ------------------------------------------------------------------ urls, headers

    @property
    def ws_url(self) -> str:
        return self._ws_base() + f"{_API}/ws/server"

    def _ws_base(self) -> str:
        scheme, rest = self.base_url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}"

    def terminal_ws_url(self, session_id: str) -> str:
        """``ws(s)://.../api/v1/ws/terminal/{session_id}`` (the id checked by the decoder)."""
        return self._ws_base() + f"{_API}/ws/terminal/{session_id}"

    @property
    def host(self) -> str:
        return httpx.URL(self.base_url).host

    @property
    def port(self) -> int:
        u = httpx.URL(self.base_url)
        return u.port or (443 if u.scheme == "https" else 80)

    def ssl_context(self) -> ssl.SSLContext | None:
        """For the WebSocket: None for ws://, else a context honouring ``verify``."""
        if not self.base_url.startswith("https://"):
            return None
        ctx = ssl.create_default_context()
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _bearer(self) -> str | None:
        mode = self.credentials.mode
        if mode == "token":
            return self.credentials.token.strip() if self.credentials.is_access_token else self._jwt
        if mode == "password":
            return self._jwt
        return None

    def stream_headers(self) -> dict[str, str]:
        bearer = self._bearer()
        return {"Authorization": f"Bearer {bearer}"} if bearer else {}

    @property
    def is_jwt_session(self) -> bool:
        """A JWT is the credential (password login or a raw JWT): unsafe methods need the CSRF pair."""
        return self.credentials.mode == "password" or (
            self.credentials.mode == "token" and not self.credentials.is_access_token)

    def terminal_headers(self) -> dict[str, str]:
        """Headers of the terminal's WebSocket: the stream's, plus the CSRF pair for a JWT session.

        The Dashboard's CSRF check passes every GET (the handshake is one), so the pair is not
        required there; it is sent anyway, the same as on the POST, so a Dashboard that began
        checking it would still attach.  Never logged.
        """
        headers = self.stream_headers()
        csrf = self._csrf_value() if self.is_jwt_session else None
        if csrf:
            headers["Cookie"] = f"{_CSRF_COOKIE}={csrf}"
            headers["X-CSRF-Token"] = csrf
        return headers

    @property
    def auth_failed(self) -> NezhaError | None:
        """The remembered login / JWT failure, if any."""
        return self._auth_error

    def forget_auth_failure(self) -> None:
        """Allow one more login attempt (e.g. after the user fixed the password)."""
        self._auth_error = None
        self._login_error = None
        self._login_hold_until = 0.0

    def invalidate_jwt(self) -> None:
        """Drop the JWT (password mode logs in again at the next ensure_auth)."""
        if self.credentials.mode == "password":
            self._jwt = None
            self._jwt_expires_at = None
        self._validated_at = None

    # ------------------------------------------------------------------ auth

    async def login(self) -> None:
        """Password mode: log in once.  Other modes: nothing to do."""
        if self.credentials.mode != "password":
            return
        seen = self._login_attempts
        async with self._auth_lock:
            if self._jwt is not None and not self._expires_soon(self._clock()):
                return  # logged in already (another caller did, or an earlier login())
            await self._login_locked(seen)

    def _expires_soon(self, now: float) -> bool:
        return self._jwt_expires_at is not None and self._jwt_expires_at - now <= self._renew_margin()

    async def _login_locked(self, seen: int | None = None) -> None:
        """Log in (the auth lock held).  ``seen``: the login count when the caller began waiting.

        Single flight: when another caller logged in while this one waited for the
        lock, its result is taken: its JWT, or its error (a firewall's block, a
        proxy's 502 ...) raised again without sending another login.
        """
        if self._auth_error is not None:
            raise self._auth_error
        if seen is not None and seen != self._login_attempts:
            if self._login_error is not None:
                raise self._login_error
            if self._jwt is not None:
                return
        if self._login_error is not None and self._clock() < self._login_hold_until:
            # the last login failed moments ago (a firewall's block grows with every try)
            raise self._login_error
        self._login_attempts += 1
        self._login_error = None
        body = {"username": self.credentials.username or "", "password": self.credentials.password or ""}
        try:
            resp = await self._send("POST", f"{_API}/login", json_body=body, with_auth=False)
            try:
                result = self._decode(resp, LoginResult)
            except Unauthorized:
                self._auth_error = BadCredentials()
                raise self._auth_error from None
            self._adopt_token(result)
        except NezhaError as exc:
            self._login_error = exc
            # the firewall counts failures (its block grows as count^4): no new login for a
            # while; a proxy's 502 or a reset never reached it, a retry may log in
            self._login_hold_until = self._clock() + (LOGIN_HOLD_WAF if isinstance(exc, WafBlocked) else 0.0)
            raise

    def _adopt_token(self, result: LoginResult) -> None:
        if not result.token:
            raise ProtocolError("the login answer has no token")
        now = self._clock()
        # The lifetime by the Dashboard's own clock (exp - orig_iat, both set by
        # gin-jwt at login and refresh) is immune to clock skew between the
        # machines; ``expire`` minus our clock is the fallback.
        exp = _jwt_claim(result.token, "exp")
        iat = _jwt_claim(result.token, "orig_iat")
        if exp is not None and iat is not None and exp > iat:
            lifetime = exp - iat
        elif result.expire is not None:
            lifetime = result.expire.timestamp() - now
        elif exp is not None:
            lifetime = exp - now
        else:
            lifetime = 3600.0
        self._jwt = result.token
        self._jwt_lifetime = max(lifetime, 1.0)
        self._jwt_expires_at = now + max(lifetime, 0.0)
        self._validated_at = now

    def _renew_margin(self) -> float:
        return min(max(60.0, 0.1 * self._jwt_lifetime), self._jwt_lifetime / 2)

    async def ensure_auth(self) -> None:
        """Make sure the credentials in use are good before a request or a reconnect.

        password: log in when there is no JWT or it expires soon; re-check an
        existing JWT with ``/profile`` every ``validate_every`` s and log in
        again (once) when the Dashboard no longer accepts it.
        raw JWT: refresh it (CSRF pair) when it looks close to expiry; raise
        TokenRejected (remembered) when the Dashboard refuses it.
        guest / nzp_: nothing to do (a bad nzp_ token fails loudly with 401).
        """
        mode = self.credentials.mode
        if mode == "guest" or (mode == "token" and self.credentials.is_access_token):
            return
        seen = self._login_attempts
        async with self._auth_lock:
            if self._auth_error is not None:
                raise self._auth_error
            now = self._clock()
            if mode == "password":
                if self._jwt is None or (self._jwt_expires_at is not None
                                         and self._jwt_expires_at - now <= self._renew_margin()):
                    await self._login_locked(seen)
                    return
                if self._validation_due(now) and await self._profile_accepts() is False:
                    self._jwt = None
                    await self._login_locked()
                return
            # a raw JWT given as token: refresh when it looks close to expiry (the
            # Dashboard, not our possibly skewed clock, decides whether it still can)
            if self._jwt_expires_at is not None and self._jwt_expires_at - now <= self._renew_margin():
                await self._refresh_locked()
                return
            if self._validation_due(now) and await self._profile_accepts() is False:
                self._auth_error = TokenRejected("the JWT is no longer accepted (expired or revoked): log in again")
                raise self._auth_error

    def _validation_due(self, now: float) -> bool:
        return self._validated_at is None or now - self._validated_at >= self.validate_every

    async def _profile_accepts(self) -> bool | None:
        """Does the Dashboard still accept our JWT?  ``None``: unknown, keep the session.

        Only the Dashboard's own "not logged in" answer (``ApiErrorUnauthorized``,
        or a JSON 401) is a refusal.  A 404, an HTML page, a 5xx, a proxy's 401 or
        403 page or a network error says nothing about the JWT: every other route
        may work, so the session is kept and checked again after
        ``validate_every`` seconds (the stream watches for the guest view meanwhile).
        """
        try:
            resp = await self._send("GET", f"{_API}/profile")
            if resp.status_code == 401 and not _looks_json(resp):
                raise ProxyError(401, html_reason(resp.content, 60) if resp.content else "")
            self._decode(resp, Profile)
        except (Unauthorized, TokenRejected):
            return False
        except WafBlocked as exc:
            if exc.by_dashboard:
                raise  # every other request gets the same page: say so
            return self._profile_unknown(exc)
        except (RedirectRefused, BadCredentials):
            raise
        except NezhaError as exc:
            return self._profile_unknown(exc)
        self._validated_at = self._clock()
        self.profile_unknown = False
        return True

    def _profile_unknown(self, exc: NezhaError) -> None:
        if not self.profile_unknown:
            log.info("GET /api/v1/profile failed (%s): keeping the session", exc.message)
        self.profile_unknown = True
        self._validated_at = self._clock()  # not on every call: again after validate_every
        return None

    def recheck(self) -> None:
        """Check the JWT with ``/profile`` before the next request (e.g. after a firewall page:
        a revoked session's JWT gets the IP blocked, and reusing it would extend the block)."""
        self._validated_at = None

    def suspect_guest_view(self) -> bool:
        """The stream (or the store) saw the view of a guest: servers a login sees are gone.

        The Dashboard serves an expired, revoked or IP-bound JWT as a guest on the
        optional routes, stream included.  Password mode: drop the JWT, so the next
        request or reconnect logs in once more; returns True.  A raw JWT: re-check it
        with ``/profile`` at the next request (it cannot be renewed by a login);
        guest and ``nzp_`` tokens: nothing to do.  Returns whether a new login follows.
        """
        mode = self.credentials.mode
        if mode == "password" and self._jwt is not None and self._auth_error is None:
            log.info("fewer servers than before: logging in again")
            self.invalidate_jwt()
            return True
        if mode == "token" and not self.credentials.is_access_token:
            self._validated_at = None
        return False

    async def _refresh_locked(self) -> None:
        """POST /refresh-token with the Bearer JWT and the CSRF double-submit pair."""
        if not self._csrf_value():
            # a safe request on a login route makes the Dashboard seed nz-csrf
            if await self._profile_accepts() is False:
                self._auth_error = TokenRejected("the JWT is no longer accepted (expired or revoked): log in again")
                raise self._auth_error
            if not self._csrf_value():
                # /profile failed (a proxy blocks it): no CSRF cookie, so no renewal is possible.
                # Use the JWT as long as the Dashboard takes it rather than fail every call.
                log.info("cannot renew the JWT without the CSRF cookie (GET /profile failed)")
                self._jwt_expires_at = None
                return
        csrf = self._csrf_value()
        headers = {"X-CSRF-Token": csrf} if csrf else {}
        resp = await self._send("POST", f"{_API}/refresh-token", extra_headers=headers)
        try:
            result = self._decode(resp, LoginResult)
        except (Unauthorized, TokenRejected):
            self._auth_error = TokenRejected("the JWT could not be renewed: log in again")
            raise self._auth_error from None
        self._adopt_token(result)

    def _csrf_value(self) -> str | None:
        for cookie in self._http.cookies.jar:
            if cookie.name == _CSRF_COOKIE and cookie.value:
                return cookie.value
        return self._csrf

    def _csrf_in_jar(self) -> bool:
        return any(c.name == _CSRF_COOKIE and c.value for c in self._http.cookies.jar)

    def _drop_csrf(self) -> None:
        """Forget the CSRF cookie (the Dashboard refused it): the next GET seeds a new one."""
        self._csrf = None
        self._http.cookies.delete(_CSRF_COOKIE)

    async def _csrf_pair(self) -> dict[str, str]:
        """The CSRF double-submit headers for an unsafe request of a JWT session (else ``{}``).

        Without a cookie yet, a safe request on a login route (``GET /profile``) makes the
        Dashboard seed one.  The header always; the cookie explicitly only when the jar
        would not send it (an explicit Cookie header replaces the jar's).
        """
        if not self.is_jwt_session:
            return {}
        if not self._csrf_value():
            await self._profile_accepts()
        csrf = self._csrf_value()
        if not csrf:
            return {}  # the Dashboard will say 403 CSRF: reported as CsrfRejected
        headers = {"X-CSRF-Token": csrf}
        if not self._csrf_in_jar():
            headers["Cookie"] = f"{_CSRF_COOKIE}={csrf}"
        return headers

    # ------------------------------------------------------------------ transport

    async def _send(self, method: str, path: str, *, params: dict[str, str] | None = None,
                    json_body: Any = None, with_auth: bool = True,
                    extra_headers: dict[str, str] | None = None) -> httpx.Response:
        """One request with redirects (same host only) and transport errors mapped."""
        headers = dict(extra_headers or {})
        bearer = self._bearer() if with_auth else None
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        content = json.dumps(json_body).encode() if json_body is not None else None
        url = httpx.URL(self.base_url + path, params=params)
        for _ in range(_MAX_REDIRECTS + 1):
            request = self._http.build_request(method, url, headers=headers, content=content)
            try:
                resp = await self._http.send(request)
                await resp.aread()
            except httpx.TimeoutException as exc:
                raise self._timeout_error(exc, url) from None
            except httpx.TransportError as exc:
                raise network_error_from(exc, url.host, url.port or _default_port(url),
                                         self.timeout) from None
            self._remember_cookies(resp)
            if resp.status_code not in (301, 302, 303, 307, 308) or "location" not in resp.headers:
                return resp
            try:
                target = url.join(resp.headers["location"])
            except Exception:  # httpx.InvalidURL and friends: a Location that is no URL
                raise ProtocolError(f"the answer of {path} redirects to an invalid address") from None
            if target.scheme == "http" and url.scheme == "https":
                raise ProtocolError("the Dashboard redirects from https to http: refusing to downgrade")
            if not redirect_allowed(url, target):
                raise RedirectRefused(str(target.copy_with(query=None, fragment=None)))
            self._adopt_redirect(url, target, path)
            if resp.status_code == 303:
                method, content = "GET", None
                headers.pop("Content-Type", None)
            url = target
        raise ProtocolError(f"too many redirects for {path}")

    def _adopt_redirect(self, old: httpx.URL, new: httpx.URL, path: str) -> None:
        """A redirect that keeps the API path (a scheme/prefix move) updates the base."""
        old_base = httpx.URL(self.base_url)
        if new.path.endswith(path) and old.path.endswith(path):
            prefix = new.path[: len(new.path) - len(path)].rstrip("/")
            port = f":{new.port}" if new.port is not None else ""
            host = f"[{new.host}]" if ":" in new.host else new.host
            candidate = f"{new.scheme}://{host}{port}{prefix}"
            if new.host == old_base.host:
                self.base_url = candidate

    def _remember_cookies(self, resp: httpx.Response) -> None:
        csrf = resp.cookies.get(_CSRF_COOKIE)
        if csrf:
            self._csrf = csrf
        # the JWT lives in self._jwt only; don't let the cookie jar keep a copy
        self._http.cookies.delete(_JWT_COOKIE)

    def _timeout_error(self, exc: httpx.TimeoutException, url: httpx.URL) -> NetworkError:
        where = f"{url.host}:{url.port or _default_port(url)}"
        if isinstance(exc, httpx.ConnectTimeout):
            return NetworkError(f"timed out after {self.timeout:g} s connecting to {where}")
        return NetworkError(f"timed out after {self.timeout:g} s waiting for {where}")

    def _decode(self, resp: httpx.Response, typ: Any, *, history: bool = False) -> Any:
        """Map the HTTP status and body of an answer to data or a typed error."""
        status = resp.status_code
        body = resp.content
        path = resp.request.url.path
        is_json = _looks_json(resp)
        if 200 <= status < 300:
            if not is_json:
                html = not_a_dashboard(body, resp.headers.get("content-type", ""))
                if html:
                    raise ProtocolError(html)
                page = html_reason(body, 60) if body else "empty body"
                raise ProtocolError(f"the answer of {path} is not JSON ({page}): is the URL the Dashboard's?")
            if history and envelope_error(body) == "404 Not Found":
                # Dashboards before v1.5 answered unknown routes with HTTP 200 and this text
                raise DashboardTooOld()
            return sanitise_obj(decode_data(body, typ))  # untrusted text made inert, once, here
        text = (envelope_error(body) or None) if is_json else None
        if status == 401:
            if text:
                raise error_from_text(text, 401)
            detail = html_reason(body, 60) if body else ""
            raise TokenRejected(f"HTTP 401 Unauthorized{': ' + detail if detail else ''} "
                                f"(a proxy asking for its own login?)" if not is_json else None)
        if status == 403:
            if text is not None:
                err = error_from_text(text, 403)
                raise err if not isinstance(err, ApiError) else MissingScope(message=f"forbidden: {text}")
            raise waf_error(body)
        if status == 404:
            if not is_json and not_a_dashboard(body, resp.headers.get("content-type", "")):
                raise ProtocolError(NOT_A_DASHBOARD)  # the Dashboard's own 404 is JSON
            if history:
                raise DashboardTooOld()
            raise ApiError(f"404 Not Found: {path} (is the URL the Dashboard's?)", 404)
        if status in (502, 503, 504) or not is_json or text is None:
            raise ProxyError(status, html_reason(body) if body else "")
        raise error_from_text(text, status)

    async def _get(self, path: str, typ: type[T] | Any, *, params: dict[str, str] | None = None,
                   history: bool = False) -> T:
        await self.ensure_auth()
        used = self._jwt
        resp = await self._send("GET", path, params=params)
        try:
            return self._decode(resp, typ, history=history)
        except Unauthorized:
            # the Dashboard no longer accepts our JWT although it has not expired
            # (revoked session, IP change): log in again once, then retry once
            if self.credentials.mode != "password" or used is None:
                raise
        if self._jwt == used:  # not already replaced by a concurrent caller's new login
            self.invalidate_jwt()
        await self.ensure_auth()
        resp = await self._send("GET", path, params=params)
        return self._decode(resp, typ, history=history)

    async def probe_stream_url(self) -> str | None:
        """What answers a plain GET of the stream URL: NOT_A_DASHBOARD for an HTML page, else None.

        For a handshake websockets could not read (an HTTP/1.0 web server, ...).
        No credentials: the answer's kind is all that matters.
        """
        url = httpx.URL(self.base_url + f"{_API}/ws/server")
        try:
            resp = await self._http.get(url, headers={"Accept": "text/html,application/json"})
        except httpx.HTTPError:
            return None
        if _looks_json(resp):
            return None
        return not_a_dashboard(resp.content, resp.headers.get("content-type", ""))

    # ------------------------------------------------------------------ endpoints

    async def setting(self) -> Setting:
        return await self._get(f"{_API}/setting", Setting)

    async def server_groups(self) -> list[ServerGroup]:
        return await self._get(f"{_API}/server-group", list[ServerGroup])

    async def servers(self, ids: Iterable[int] | None = None) -> list[FullServer]:
        params = None
        if ids is not None:
            id_list = list(dict.fromkeys(_check_id(i, "server id") for i in ids))
            if id_list:
                params = {"id": ",".join(str(i) for i in id_list)}
        return await self._get(f"{_API}/server", list[FullServer], params=params)

    async def profile(self) -> Profile:
        return await self._get(f"{_API}/profile", Profile)

    async def server_metrics(self, server_id: int, metric: str, period: str = "1d") -> MetricSeries:
        sid = _check_id(server_id, "server id")
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
        _check_period(period)
        return await self._get(f"{_API}/server/{sid}/metrics", MetricSeries,
                               params={"metric": metric, "period": period}, history=True)

    async def server_services(self, server_id: int, period: str = "1d") -> list[ServerServiceSeries]:
        sid = _check_id(server_id, "server id")
        _check_period(period)
        return await self._get(f"{_API}/server/{sid}/service", list[ServerServiceSeries],
                               params={"period": period}, history=True)

    async def services(self) -> ServiceOverview:
        return await self._get(f"{_API}/service", ServiceOverview)

    async def service_history(self, service_id: int, period: str = "1d") -> ServiceHistory:
        sid = _check_id(service_id, "service id")
        _check_period(period)
        return await self._get(f"{_API}/service/{sid}/history", ServiceHistory,
                               params={"period": period}, history=True)

    async def service_servers(self) -> list[int]:
        return await self._get(f"{_API}/service/server", list[int])

    async def open_terminal(self, server_id: int, server_name: str | None = None) -> TerminalTicket:
        """``POST /api/v1/terminal``: a web-terminal session on ``server_id``, to attach within 10 s.

        JWT sessions send the CSRF pair (the Dashboard's csrfMiddleware requires it on a POST);
        an ``nzp_`` token needs the scope ``nezha:server:exec``.  ``server_name``, when given,
        names the server in the "not connected" refusal.  Raises :class:`TerminalRefused`
        (kinds guest, scope, offline, permission, unsupported) for the terminal's own
        refusals, any other :class:`NezhaError` for the usual failures (network, firewall,
        proxy, a rejected token, a missing CSRF pair after one fresh try).
        """
        sid = _check_id(server_id, "server id")
        if self.credentials.mode == "guest":
            raise TerminalRefused("guest")
        path = f"{_API}/terminal"
        relogged = csrf_retried = False
        while True:
            await self.ensure_auth()
            used = self._jwt
            headers = await self._csrf_pair()
            resp = await self._send("POST", path, json_body={"server_id": sid}, extra_headers=headers)
            try:
                return self._terminal_answer(resp, sid, server_name)
            except Unauthorized:
                if self.credentials.mode == "password" and used is not None and not relogged:
                    # the JWT died with its session (IP change, revoke): log in again once
                    relogged = True
                    if self._jwt == used:
                        self.invalidate_jwt()
                    continue
                raise TerminalRefused("guest", f"the Dashboard did not accept this login: "
                                               f"log in again or use a token with {EXEC_SCOPE}") from None
            except CsrfRejected:
                if self.is_jwt_session and not csrf_retried:
                    csrf_retried = True  # a stale cookie (the Dashboard's secret changed): seed a new one
                    self._drop_csrf()
                    continue
                raise

    def _terminal_answer(self, resp: httpx.Response, server_id: int, server_name: str | None) -> TerminalTicket:
        status = resp.status_code
        body = resp.content
        is_json = _looks_json(resp)
        text = envelope_error(body) if is_json else None
        if status == 404 or (status == 200 and (not is_json or text == "404 Not Found")):
            if status == 200 and not is_json and not not_a_dashboard(body, resp.headers.get("content-type", "")):
                self._decode(resp, TerminalTicket)  # not JSON, not HTML: the usual ProtocolError
            raise TerminalRefused("unsupported", f"this Dashboard has no web terminal (POST {_API}/terminal "
                                                 f"answered {'404' if status == 404 else 'a web page'}): "
                                                 f"it is older than Nezha v1, or the URL is not the API's")
        if status == 403 and text:
            m = re.search(r"lacks scope\s*(\S+)", text)
            if m:
                scope = trim(m.group(1), 40)
                raise TerminalRefused("scope", f"the access token lacks the scope {scope} (needed for a shell)")
        if status == 200 and text and not text.startswith("ApiError"):  # those: _decode (a login retry)
            refusal = terminal_refusal(text, server_name)
            if refusal is not None:
                raise refusal
        if 200 <= status < 300 and is_json and not text:
            return sanitise_obj(decode_terminal_ticket(body, server_id))
        return self._decode(resp, TerminalTicket)  # raises the typed error of the answer

    async def aclose(self) -> None:
        self._jwt = None if self.credentials.mode == "password" else self._jwt
        await self._http.aclose()

    async def __aenter__(self) -> NezhaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"NezhaClient({self.base_url!r}, {self.credentials!r})"


# --------------------------------------------------------------------------- helpers


def origin_of(url: httpx.URL | str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, the port filled in; ws/wss count as http/https."""
    u = httpx.URL(url) if isinstance(url, str) else url
    scheme = {"ws": "http", "wss": "https"}.get(u.scheme, u.scheme)
    return scheme, (u.host or "").lower(), u.port or (443 if scheme == "https" else 80)


def redirect_allowed(old: httpx.URL | str, new: httpx.URL | str) -> bool:
    """May a request to ``old`` that carries credentials follow a redirect to ``new``?

    Yes within the same origin, and for an upgrade of the same host from http to
    https on the same port or from 80 to 443; no for anything else.
    """
    o, n = origin_of(old), origin_of(new)
    if o == n:
        return True
    return (o[0] == "http" and n[0] == "https" and o[1] == n[1]
            and (o[2] == n[2] or (o[2] == 80 and n[2] == 443)))


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _check_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def _looks_json(resp: httpx.Response) -> bool:
    ctype = resp.headers.get("content-type", "").lower()
    if "json" in ctype:
        return True
    head = resp.content[:64].lstrip()
    return head[:1] in (b"{", b"[")
