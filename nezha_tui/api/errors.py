"""Typed errors of the API layer.

Every error carries ``.message``: one human line, safe to show in the UI and in
logs.  Messages never contain passwords or tokens; they may contain host names,
ports, HTTP statuses and the Dashboard's own error text (which holds no
secrets).

:func:`error_from_text` turns the Dashboard's ``{"error": "..."}`` text (see
nezha-api-v1.md section 1) into the matching class; both the REST decoder and
the stream use it.
"""

from __future__ import annotations

import html
import re

from nezha_tui.api.sanitise import sanitise

__all__ = [
    "is_transient",
    "NezhaError", "BadCredentials", "TokenRejected", "MissingScope", "Unauthorized",
    "CsrfRejected", "WafBlocked", "DashboardTooOld", "NotFound", "GuestPeriodDenied",
    "ApiError", "ProxyError", "NetworkError", "ProtocolError",
    "RealIpHeaderMissing", "RedirectRefused", "TerminalRefused", "TERMINAL_KINDS", "EXEC_SCOPE", "NOT_A_DASHBOARD",
    "error_from_text", "terminal_refusal", "html_reason", "is_nezha_waf_page", "network_error_from", "not_a_dashboard",
    "trim", "waf_error",
]

NOT_A_DASHBOARD = "this does not look like a Nezha Dashboard (got an HTML page) - check the URL"

_MAX_LINE = 160


def trim(text: str, limit: int = _MAX_LINE) -> str:
    """Sanitise (the Dashboard's texts are untrusted), collapse whitespace to single
    spaces and cut to ``limit`` characters.  Every error message goes through here."""
    text = " ".join(sanitise(str(text)).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


class NezhaError(Exception):
    """Base of every error the API layer raises on purpose."""

    default_message = "the Dashboard request failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = trim(message or self.default_message)
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadCredentials(NezhaError):
    """Login refused (wrong user name or password, or password login disabled)."""

    default_message = "login failed: wrong user name or password"


class TokenRejected(NezhaError):
    """401: the ``nzp_`` token is unknown, expired or revoked, or the JWT expired."""

    default_message = "the access token was rejected (unknown, expired or revoked)"


class MissingScope(NezhaError):
    """403 JSON: the access token lacks a scope (or the route refuses tokens)."""

    def __init__(self, scope: str = "", message: str | None = None) -> None:
        self.scope = scope
        if message is None:
            message = (f"the access token lacks the scope {scope}" if scope
                       else "the access token is not allowed here")
        super().__init__(message)


class Unauthorized(NezhaError):
    """``ApiErrorUnauthorized`` on HTTP 200: not logged in (or force_auth is on)."""

    default_message = "not authorized: this Dashboard requires logging in"


class CsrfRejected(NezhaError):
    """403: a state-changing request lacked the CSRF double-submit pair."""

    default_message = "the Dashboard rejected the request: missing or invalid CSRF token"


class WafBlocked(NezhaError):
    """403 HTML: the Dashboard's firewall blocks this IP address."""

    def __init__(self, reason: str = "", *, by_dashboard: bool = True) -> None:
        self.reason = trim(reason, 100)
        self.by_dashboard = by_dashboard
        msg = "blocked by the Dashboard's firewall" if by_dashboard else "HTTP 403 from a proxy or firewall"
        if self.reason:
            msg += f": {self.reason}"
        super().__init__(msg)


class DashboardTooOld(NezhaError):
    """A history route answered with the 404 fallback (Dashboard before v2.0.0)."""

    default_message = "this Dashboard is too old for history (needs v2.0.0 or newer)"


class NotFound(NezhaError):
    """"server not found" / "service not found" (or not visible to this viewer)."""

    default_message = "not found (or not visible to this login)"


class GuestPeriodDenied(NezhaError):
    """Guests may only read the 1d period."""

    default_message = "only 1d history is available without logging in"


class ApiError(NezhaError):
    """Any other error text of the Dashboard."""

    def __init__(self, text: str = "", status: int | None = None) -> None:
        self.text = trim(text)
        self.status = status
        super().__init__(f"the Dashboard answered: {self.text}" if self.text else None)


EXEC_SCOPE = "nezha:server:exec"
#: The kinds of :class:`TerminalRefused`.
TERMINAL_KINDS = ("guest", "scope", "offline", "permission", "unsupported", "attach_timeout")


class TerminalRefused(NezhaError):
    """The Dashboard would not open (or attach) a web terminal; ``kind`` says why.

    ``guest``: no login (or the login is no longer accepted); ``scope``: the access
    token lacks ``nezha:server:exec``; ``offline``: the server is unknown or its agent is
    not connected; ``permission``: this login may not open a shell there (or attach to
    that session); ``unsupported``: the Dashboard has no terminal endpoint (404, an HTML
    page); ``attach_timeout``: the session was not attached in time, is gone, or its
    agent never answered.
    """

    def __init__(self, kind: str, message: str | None = None) -> None:
        if kind not in TERMINAL_KINDS:
            raise ValueError(f"unknown terminal refusal kind {kind!r}")
        self.kind = kind
        super().__init__(message or _TERMINAL_DEFAULTS[kind])

    def __repr__(self) -> str:
        return f"TerminalRefused({self.kind!r}, {self.message!r})"


_TERMINAL_DEFAULTS = {
    "guest": f"log in or use a token with {EXEC_SCOPE}",
    "scope": f"the access token lacks the scope {EXEC_SCOPE} (needed for a shell)",
    "offline": "the server is not connected",
    "permission": "permission denied: this login may not open a shell on that server",
    "unsupported": "this Dashboard has no web terminal endpoint (older than Nezha v1?)",
    "attach_timeout": "the shell session could not be attached in time (10 s)",
}


_STATUS_REASONS = {
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 520: "Unknown Error", 521: "Web Server Is Down",
    522: "Connection Timed Out", 523: "Origin Is Unreachable", 524: "A Timeout Occurred",
    525: "SSL Handshake Failed", 526: "Invalid SSL Certificate",
}


class RealIpHeaderMissing(ApiError):
    """``real ip header not found``: the Dashboard reads the client IP from a header its proxy does not send."""

    def __init__(self, text: str = "real ip header not found", status: int | None = 200) -> None:
        super().__init__(text, status)
        self.message = trim(
            "the Dashboard cannot see the client IP (\"real ip header not found\"): its reverse proxy "
            "must pass the header set as web_real_ip_header")
        self.args = (self.message,)


class ProxyError(NezhaError):
    """An HTML (or non-Dashboard) error page, typically from a reverse proxy."""

    def __init__(self, status: int, detail: str = "") -> None:
        self.status = status
        self.detail = trim(detail, 80)
        label = f"{status} {_STATUS_REASONS.get(status, '')}".strip()
        if status in (502, 503, 504) or 520 <= status <= 526:
            msg = f"proxy error {label} (the Dashboard behind it may be down)"
        else:
            msg = f"unexpected HTTP {label}" + (f": {self.detail}" if self.detail else "")
        super().__init__(msg)


class NetworkError(NezhaError):
    """The Dashboard could not be reached: DNS, refused, TLS, timeout, reset."""

    default_message = "network error"


class ProtocolError(NezhaError):
    """The answer was not what a Nezha Dashboard sends (not JSON, wrong shape)."""

    default_message = "the answer is not a Nezha Dashboard API answer"


class RedirectRefused(ProtocolError):
    """A redirect to another origin (scheme, host, port): not followed, it would carry the credentials."""

    def __init__(self, target: str, what: str = "the Dashboard") -> None:
        self.target = target
        super().__init__(f"{what} redirected to another address ({trim(target, 70)}): not followed, "
                         f"so the credentials stay with the URL you gave")


def is_transient(exc: BaseException) -> bool:
    """Might the same request pass if tried again soon: a network error or a proxy's 5xx page."""
    return isinstance(exc, NetworkError) or (isinstance(exc, ProxyError) and exc.status >= 500)


def not_a_dashboard(body: bytes | str, content_type: str = "") -> str | None:
    """NOT_A_DASHBOARD when ``body`` is an HTML page (by type or by its first bytes), else None."""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    head = body[:512].lstrip().lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml")):
        return NOT_A_DASHBOARD
    return None


_TOKEN_401 = ("invalid api token", "api token expired", "api token lookup failed",
              "owner of api token not found")


def error_from_text(text: object, status: int | None = None) -> NezhaError:
    """Map the Dashboard's ``error`` text (and the HTTP status) to a typed error.

    Texts follow the Go source: ``ApiErrorUnauthorized`` (200: not logged in),
    ``ApiErrorUnauthorized: invalid api token`` (401), ``ApiErrorForbidden: api
    token lacks scope X`` (403), ``ApiErrorForbidden: missing or invalid CSRF
    token`` (403), and localized handler errors on 200.
    """
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    t = raw.strip()
    low = t.lower()
    if low.startswith("apierrorunauthorized"):
        detail = t[len("ApiErrorUnauthorized"):].lstrip(": ").strip()
        if status == 401 or any(k in low for k in _TOKEN_401):
            if "expired" in low:
                return TokenRejected("the access token has expired")
            if detail:
                return TokenRejected(f"the access token was rejected: {detail}")
            return TokenRejected()
        return Unauthorized()
    if low.startswith("apierrorforbidden"):
        detail = t[len("ApiErrorForbidden"):].lstrip(": ").strip()
        if "csrf" in low:
            return CsrfRejected()
        m = re.search(r"lacks scope\s*(\S*)", t)
        if m:
            return MissingScope(m.group(1))
        if "not accessible by api token" in low:
            return MissingScope(message="this endpoint does not accept access tokens (log in with a password)")
        return MissingScope(message=f"forbidden: {detail}" if detail else None)
    if low == "real ip header not found":
        return RealIpHeaderMissing(t, status)
    if "only 1d data available for guests" in low:
        return GuestPeriodDenied()
    if low in ("server not found", "service not found"):
        what = low.split()[0]
        return NotFound(f"{what} not found (or not visible to this login)")
    if low == "unauthorized":
        # a handler's permission answer (this viewer may not see that server),
        # not the auth middleware's ApiErrorUnauthorized: logging in again won't help
        return NotFound("not allowed to see this with the current login")
    if status == 401:
        return TokenRejected(f"the access token was rejected: {t}" if t else None)
    return ApiError(t, status)


# The Dashboard's texts for the terminal's refusals, in its languages (pkg/i18n/translations/*/nezha.po)
_OFFLINE_TEXTS = frozenset({
    "server not found or not connected", "server nicht gefunden oder nicht verbunden",
    "servidor no encontrado o no conectado", "server tidak ditemukan atau tidak terkoneksi",
    "servidor não encontrado ou não conectado", "сервер не найден или не подключен",
    "சேவையகம் கண்டுபிடிக்கப்படவில்லை அல்லது இணைக்கப்படவில்லை", "服务器未找到或仍未连接", "伺服器未找到或仍未連線",
})
_PERMISSION_TEXTS = frozenset({
    "permission denied", "zugriff verweigert", "permiso denegado", "akses ditolak", "permissão negada",
    "доступ запрещен", "இசைவு மறுக்கப்பட்டது", "truy cập bị từ chối", "权限不够", "權限不夠",
})


def terminal_refusal(text: str, server_name: str | None = None) -> TerminalRefused | None:
    """The TerminalRefused for an error text of the terminal endpoints on HTTP 200, or None.

    ``server not found or not connected`` (any of the Dashboard's languages) -> offline
    ("NAME is not connected" when the name is known, else the Dashboard's text);
    ``permission denied`` -> permission; ``ApiErrorUnauthorized`` -> guest; ``404 Not
    Found`` -> unsupported.
    """
    t = (text or "").strip()
    low = t.lower()
    if low in _OFFLINE_TEXTS:
        name = trim(server_name or "", 60)
        return TerminalRefused("offline", f"{name} is not connected" if name
                               else f"the Dashboard answered: {t}")
    if low in _PERMISSION_TEXTS:
        return TerminalRefused("permission", f"permission denied: this login may not open a shell there ({t})"
                               if low != "permission denied" else None)
    if low == "apierrorunauthorized":
        return TerminalRefused("guest")
    if low == "404 not found":
        return TerminalRefused("unsupported")
    return None


_TAG = re.compile(r"<[^>]+>")
_DROP = re.compile(r"<(script|style|head)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_P = re.compile(r"<p\b[^>]*>(.*?)</p\s*>", re.S | re.I)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.S | re.I)


def _text(fragment: str) -> str:
    return trim(html.unescape(_TAG.sub(" ", fragment)))


def is_nezha_waf_page(page: str | bytes) -> bool:
    """Is this 403 page the Dashboard's own WAF page (waf.html), or a proxy's?"""
    if isinstance(page, bytes):
        page = page.decode("utf-8", "replace")
    return "nezha WAF" in page[:200_000]


def waf_error(page: str | bytes) -> "WafBlocked":
    """The WafBlocked error for a 403 HTML page, naming who blocked."""
    return WafBlocked(html_reason(page) if page else "",
                      by_dashboard=not page or is_nezha_waf_page(page))


def html_reason(page: str | bytes, limit: int = 100) -> str:
    """A short reason from an HTML error page (the Nezha WAF page or a proxy's).

    The Nezha WAF page holds its reason in the first ``<p>``; other pages are
    summarised by their ``<title>`` or ``<h1>``, else the visible text.
    """
    if isinstance(page, bytes):
        page = page.decode("utf-8", "replace")
    page = page[:200_000]
    if "nezha WAF" in page:
        for m in _P.finditer(page):
            txt = _text(m.group(1))
            if txt and txt.lower() != "nezha waf":
                return trim(txt, limit)
    for rx in (_TITLE, _H1):
        m = rx.search(page)
        if m and _text(m.group(1)):
            return trim(_text(m.group(1)), limit)
    return trim(_text(_DROP.sub(" ", page)), limit)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from (causes, contexts, group members)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return seen


def network_error_from(exc: BaseException, host: str, port: int | None = None,
                       timeout: float | None = None) -> NetworkError:
    """Name the precise cause of a failed connection (DNS, refused, TLS, ...).

    Works on plain OS / asyncio / ssl exceptions and on library wrappers that
    keep the original as ``__cause__`` (httpx, httpcore, websockets).
    """
    import socket
    import ssl

    where = f"{host}:{port}" if port else host
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, socket.gaierror):
            return NetworkError(f"cannot resolve host {host}")
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            why = getattr(e, "verify_message", "") or ""
            detail = f": {why}" if why else ""
            return NetworkError(f"TLS certificate verification failed{detail} (use --insecure to skip)")
    for e in chain:
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "reason", None) or str(e)
            return NetworkError(f"TLS handshake with {where} failed: {reason}")
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return NetworkError(f"connection refused by {where}")
    for e in chain:
        if isinstance(e, ConnectionResetError):
            return NetworkError(f"connection reset by {where}")
    for e in chain:
        if isinstance(e, TimeoutError) or type(e).__name__.endswith("Timeout"):
            after = f" after {timeout:g} s" if timeout else ""
            return NetworkError(f"timed out{after} ({where})")
    import errno

    for e in chain:
        if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return NetworkError(f"{'network' if e.errno == errno.ENETUNREACH else 'host'} unreachable ({where})")
    text = str(exc) or type(exc).__name__
    return NetworkError(f"cannot reach {where}: {text}")
