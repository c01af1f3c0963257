"""The live fleet stream ``/api/v1/ws/server`` with reconnect and liveness.

One WebSocket at a time.  The Dashboard never reads from the socket (no pongs
to our pings, no close handshake), so keepalive pings are off and liveness is
judged by frames: no decodable frame for ``3 x interval`` -> STALE, the socket
is dropped and a new one opened.  Reconnects back off exponentially with
jitter (1 s, 2 s, 4 s ... capped at 30 s), reset by a good frame.

States (``StreamState``):

* CONNECTING: a connection attempt is in progress (``attempt`` counts the
  attempts since the last good frame);
* LIVE: frames are arriving;
* STALE: no frame for 3 x interval, or the connection was lost while we still
  show data (followed by RECONNECTING);
* RECONNECTING: waiting for the next attempt (``next_retry_at``);
* AUTH_FAILED: the Dashboard refused our credentials; no more attempts;
* STOPPED: :meth:`FleetStream.stop` was called.

``on_status`` is called whenever the status changes in what a person sees:
state, attempt, retry time or message (a malformed frame changes only the
message; the connection is kept).  Another good frame of a live stream only
moves ``last_frame_at``: :attr:`FleetStream.status` has it, but it is not
published (every subscriber would redo its work on every frame).

``public_note`` is sent only in the first frame of a connection.  In that
frame the stream makes an absent note ``""`` (Go's omitempty: no note), so a
cleared note is seen as cleared; in later frames it stays ``None`` ("not
sent"), and the consumer keeps the last note it saw (:class:`FleetStore`
does).  Filling every later frame from a cache cost ~4.7 ms per frame at
10,000 servers.  Clock, sleep and random source are injectable: tests check
the backoff sequence without waiting.

Credentials stay home: websockets follows redirects by itself (stripping the
Authorization header on a cross-origin one, so another host's servers would be
shown as the Dashboard's).  The default ``connect`` here refuses any redirect
to another origin (scheme, host, port) with one line (:class:`RedirectRefused`);
one within the origin is followed.  No ``Origin`` header is sent (websockets
sends none unless asked; the Dashboard answers a foreign one with 403).

Proxies that cut a WebSocket whose client -> server direction is silent (some
CDNs after 15 s): the Dashboard pings about every 8 s and websockets answers
with pongs; besides, every ``keepalive`` seconds (5) the stream sends an
unsolicited pong (RFC 6455 5.5.3: allowed, needs no answer, and the Dashboard
never reads its socket anyway), so the direction is never silent for long even
where the Dashboard's ping is missing or a proxy counts only data frames.

A login that silently fell back to the guest view (the Dashboard serves an
expired, revoked or IP-bound JWT as a guest): when the first frame after a
reconnect has fewer servers than the previous connection showed, the stream
asks the client (``suspect_guest_view``) and, in password mode, drops that
frame and reconnects after logging in once more.  :meth:`FleetStream.relogin`
is the same hook for the store or the app.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import connect as _ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidMessage, InvalidStatus

from .client import redirect_allowed
from .decode import DecodeReport, decode_frame, envelope_error
from .errors import (
    NOT_A_DASHBOARD, BadCredentials, MissingScope, NezhaError, ProtocolError, ProxyError, RedirectRefused,
    TokenRejected, Unauthorized, WafBlocked, error_from_text, html_reason, network_error_from, not_a_dashboard,
    trim, waf_error,
)
from .models import StreamFrame

__all__ = ["StreamState", "StreamStatus", "FleetStream"]

log = logging.getLogger(__name__)

BACKOFF_START = 1.0
BACKOFF_FACTOR = 2.0
BACKOFF_CAP = 30.0
MAX_FRAME = 64 * 1024 * 1024  # a 10,000-server frame is ~7 MB

KEEPALIVE = 5.0  # seconds between unsolicited pongs (a CDN may cut after 15 s of client silence)
LOGIN_REQUIRED = "this Dashboard requires a login (force_auth): give a user name or an access token"

_AUTH_ERRORS = (BadCredentials, TokenRejected, Unauthorized, MissingScope)


class HomeOnlyConnect(_ws_connect):
    """websockets' ``connect`` that follows a redirect only where the REST client would follow
    one with credentials (:func:`~nezha_tui.api.client.redirect_allowed`)."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        result = super().process_redirect(exc)
        if isinstance(result, str) and not redirect_allowed(self.uri, result):
            return RedirectRefused(result, "the stream")
        return result


class StreamState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class StreamStatus:
    state: StreamState
    attempt: int = 0
    last_frame_at: float | None = None  # clock() time of the last good frame
    next_retry_at: float | None = None  # clock() time of the next attempt
    message: str = ""  # one human line


class _Stopped(Exception):
    pass


class _AuthFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Retry(Exception):
    """A failed attempt or a lost connection; ``at_cap`` skips ahead to the longest wait."""

    def __init__(self, message: str, at_cap: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.at_cap = at_cap


class FleetStream:
    """Keeps one live stream open and hands decoded frames to ``on_frame``."""

    def __init__(self, client: Any, *, on_frame: Callable[[StreamFrame, DecodeReport], None],
                 on_status: Callable[[StreamStatus], None], interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: Callable[[], float] = random.random,
                 open_timeout: float = 10.0,
                 connect: Callable[..., Any] = HomeOnlyConnect,
                 on_receive: Callable[[], None] | None = None,
                 keepalive: float | None = KEEPALIVE) -> None:
        self.client = client
        self.on_frame = on_frame
        self.on_status = on_status
        self.on_receive = on_receive
        """Called when a frame's bytes arrived, before decoding them (the app pauses the GC there)."""
        self.interval = interval
        self.open_timeout = open_timeout
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._connect = connect
        self.keepalive = keepalive
        """Seconds between unsolicited pongs (None: none); never waits for an answer."""
        self.status = StreamStatus(StreamState.CONNECTING)
        self._stop = asyncio.Event()
        self._failures = 0  # consecutive failures since the last good frame
        self._attempt = 0
        self._last_frame_at: float | None = None
        self._ws: Any = None
        self._auth_retry_used = False
        self.connections = 0  # connections opened so far (for tests and diagnostics)
        self.pongs_sent = 0  # unsolicited pongs sent (keepalive)
        self._servers_seen = 0  # servers in the last frame of the previous connection(s)
        self._guest_check_used = False  # one re-login per drop in the server count
        self._setup_fault = ""  # the last failure's line when it was one the stream waits longest for
        self.received_at: float | None = None  # perf_counter() when the last frame's bytes arrived

    # ------------------------------------------------------------------ public

    def stop(self) -> None:
        """Stop: close the socket now and make :meth:`run` return."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            _abort(ws)

    def relogin(self, reason: str = "servers only a login sees disappeared") -> bool:
        """The store or app suspects the guest view: log in once more and reconnect.

        Returns whether that happens (password mode with a JWT); otherwise nothing
        changes on the stream (a raw JWT is re-checked at the next reconnect).
        """
        suspect = getattr(self.client, "suspect_guest_view", None)
        if suspect is None or not suspect():
            return False
        ws = self._ws
        if ws is not None:
            log.info("%s: reconnecting to log in again", reason)
            _abort(ws)
        return True

    def backoff_delay(self, failures: int) -> float:
        """Delay before the next attempt after ``failures`` consecutive failures (>= 1).

        ``base x 2^(failures-1)`` capped at 30 s, times a jitter factor in
        [0.75, 1.25) from ``rng`` (still capped); ``rng() == 0.5`` gives the
        exact sequence 1, 2, 4, 8, 16, 30, 30 ...
        """
        base = min(BACKOFF_CAP, BACKOFF_START * BACKOFF_FACTOR ** max(failures - 1, 0))
        return min(BACKOFF_CAP, base * (0.75 + 0.5 * self._rng()))

    async def run(self) -> None:
        """Connect, read, reconnect until :meth:`stop` (or AUTH_FAILED)."""
        try:
            while not self._stop.is_set():
                self._attempt += 1
                connecting = ("connecting" if self.connections == 0 and self._attempt == 1
                              else f"reconnecting (attempt {self._attempt})")
                if self._setup_fault:
                    # a fault of the setup (an HTML page, a redirect elsewhere, the firewall): its
                    # line stays in the banner while the next attempt runs, not only between them
                    connecting = f"{self._setup_fault}; {connecting}"
                self._emit(StreamState.CONNECTING, connecting)
                try:
                    await self._one_connection()
                    message, at_cap = "connection closed", False
                except _Retry as exc:
                    message, at_cap = exc.message, exc.at_cap
                    self._setup_fault = exc.message if exc.at_cap else ""
                except _AuthFailed as exc:
                    self._emit(StreamState.AUTH_FAILED, exc.message)
                    return
                except (_Stopped, asyncio.CancelledError):
                    raise
                except Exception as exc:  # a bug or an exotic library error: keep the stream alive
                    log.exception("stream attempt failed")
                    message, at_cap = f"unexpected error: {trim(str(exc) or type(exc).__name__, 80)}", False
                if self._stop.is_set():
                    break
                if self._last_frame_at is not None and self.status.state is not StreamState.STALE:
                    self._emit(StreamState.STALE, f"{message}; showing the last data")
                self._failures = max(self._failures + 1, 1)
                delay = BACKOFF_CAP if at_cap else self.backoff_delay(self._failures)
                retry_at = self._clock() + delay
                self._emit(StreamState.RECONNECTING, f"{message}; retrying in {delay:.0f} s",
                           next_retry_at=retry_at)
                await self._until_stopped(self._sleep(delay))
        except _Stopped:
            pass
        finally:
            ws, self._ws = self._ws, None
            if ws is not None:
                _abort(ws)
        if self.status.state is not StreamState.AUTH_FAILED:
            self._emit(StreamState.STOPPED, "stopped")

    # ------------------------------------------------------------------ one connection

    async def _one_connection(self) -> None:
        await self._ensure_auth()
        try:
            kwargs: dict[str, Any] = dict(
                additional_headers=self.client.stream_headers(),
                ping_interval=None,  # the Dashboard never answers pings
                max_size=MAX_FRAME,
                open_timeout=self.open_timeout,
                close_timeout=1.0,
                compression=None,  # the Dashboard does not negotiate it
            )
            ssl_ctx = _ssl_for(self.client)
            if ssl_ctx is not None:
                kwargs["ssl"] = ssl_ctx
            ws = await self._until_stopped(self._connect(self.client.ws_url, **kwargs))
        except (_Stopped, _Retry, _AuthFailed):
            raise
        except RedirectRefused as exc:
            raise _Retry(exc.message, at_cap=True) from None
        except InvalidStatus as exc:
            self._handshake_refused(exc)
        except InvalidHandshake as exc:
            if isinstance(exc, InvalidMessage):
                # not an HTTP/1.1 answer websockets can read (HTTP/1.0, a TLS port, ...):
                # what is at that URL?  A web site's HTML page is not a passing fault.
                why = await self._probe()
                if why:
                    raise _Retry(why, at_cap=True) from None
            raise _Retry(f"handshake failed: {trim(str(exc), 80)}") from None
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
            raise _Retry(network_error_from(exc, self.client.host, self.client.port,
                                            self.open_timeout).message) from None
        self._ws = ws
        self.connections += 1
        first = True
        pinger = (asyncio.ensure_future(self._keepalive(ws))
                  if self.keepalive and hasattr(ws, "pong") else None)
        try:
            if self._stop.is_set():
                raise _Stopped
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 3 * self.interval
            while True:
                try:
                    remaining = max(deadline - loop.time(), 0.0)
                    async with asyncio.timeout(remaining):
                        # decode=False: the frame's bytes as sent.  msgspec decodes UTF-8 bytes
                        # directly; a str with any non-ASCII character (names, flags) it must
                        # first encode back to UTF-8 (~9 ms for 10,000 servers), after websockets
                        # spent as long decoding it.
                        raw = await self._until_stopped(ws.recv(decode=False))
                    self.received_at = time.perf_counter()  # for timing frame -> screen, decode included
                    if self.on_receive is not None:
                        try:
                            self.on_receive()
                        except Exception:  # a consumer bug must not kill the stream
                            log.exception("on_receive failed")
                except TimeoutError:
                    if self._stop.is_set():
                        raise _Stopped from None
                    silent = 3 * self.interval
                    if self._last_frame_at is not None:
                        self._emit(StreamState.STALE, f"no data for {silent:g} s; reconnecting")
                    raise _Retry(f"no data for {silent:g} s") from None
                except ConnectionClosed as exc:
                    if self._stop.is_set():
                        raise _Stopped from None
                    raise _Retry(_closed_message(exc)) from None
                try:
                    frame, report = decode_frame(raw)
                except ProtocolError as exc:
                    # if this was the connection's first frame, its notes are lost: the
                    # next frame is not a first one (None: keep the notes known so far)
                    first = False
                    self._emit(self.status.state, f"malformed frame ignored: {exc.message}")
                    continue
                if first:
                    _empty_notes_of_first_frame(frame)
                    self._check_guest_view(len(frame.servers))
                first = False
                self._servers_seen = len(frame.servers)
                deadline = loop.time() + 3 * self.interval
                self._last_frame_at = self._clock()
                self._failures = 0
                self._attempt = 0
                self._auth_retry_used = False
                self._setup_fault = ""
                message = "live" if report.clean else (
                    f"live; repaired {report.bad_fields} field(s), dropped {report.dropped_servers} server(s)")
                self._emit(StreamState.LIVE, message)
                try:
                    self.on_frame(frame, report)
                except Exception:  # a consumer bug must not kill the stream
                    log.exception("on_frame failed")
        finally:
            if pinger is not None:
                pinger.cancel()
            self._ws = None
            _abort(ws)

    async def _keepalive(self, ws: Any) -> None:
        """An unsolicited pong every ``keepalive`` seconds: client -> server bytes for CDNs."""
        try:
            while True:
                await asyncio.sleep(self.keepalive or 0)
                await ws.pong(b"")
                self.pongs_sent += 1
        except Exception:  # ConnectionClosed and the like: the reader sees the loss and reconnects
            return

    def _check_guest_view(self, count: int) -> None:
        """First frame of a connection: fewer servers than before the reconnect?"""
        if self.connections <= 1 or count >= self._servers_seen:
            self._guest_check_used = False
            return
        if self._guest_check_used:
            return  # logged in again and still fewer: servers were really removed
        self._guest_check_used = True
        suspect = getattr(self.client, "suspect_guest_view", None)
        if suspect is not None and suspect():
            raise _Retry(f"{count} servers after reconnecting, {self._servers_seen} before "
                         f"(the guest view?): logging in again")

    async def _probe(self) -> str | None:
        probe = getattr(self.client, "probe_stream_url", None)
        if probe is None:
            return None
        try:
            return await self._until_stopped(probe())
        except (_Stopped, asyncio.CancelledError):
            raise
        except Exception:  # a probe is a courtesy: never worse than the first error
            log.debug("probe of the stream URL failed", exc_info=True)
            return None

    async def _ensure_auth(self) -> None:
        try:
            await self._until_stopped(self.client.ensure_auth())
        except (_Stopped, asyncio.CancelledError):
            raise
        except _AUTH_ERRORS as exc:
            raise _AuthFailed(exc.message) from None
        except WafBlocked as exc:
            raise _Retry(exc.message, at_cap=True) from None
        except NezhaError as exc:
            raise _Retry(exc.message) from None

    def _handshake_refused(self, exc: InvalidStatus) -> None:
        """The handshake got an HTTP answer instead of 101: decide stop or retry."""
        resp = exc.response
        status = resp.status_code
        body = bytes(resp.body or b"")
        text = envelope_error(body)  # None: not a JSON object (an HTML page, empty, ...)
        if text is not None:
            if status in (200, 401, 403):
                # 200: force_auth and no valid login; 401: bad/expired nzp_; 403: missing scope
                err = error_from_text(text, status) if text else (
                    TokenRejected() if status == 401 else Unauthorized())
                mode = getattr(getattr(self.client, "credentials", None), "mode", "guest")
                if mode == "guest" and isinstance(err, Unauthorized):
                    raise _AuthFailed(LOGIN_REQUIRED)
                if not isinstance(err, _AUTH_ERRORS):
                    raise _Retry(err.message)  # e.g. "real ip header not found", explained
                if (mode == "password" and not self._auth_retry_used
                        and isinstance(err, (Unauthorized, TokenRejected))):
                    # the JWT may have died with its session (IP change, revoke): log in again once
                    self._auth_retry_used = True
                    invalidate = getattr(self.client, "invalidate_jwt", None)
                    if invalidate is not None:
                        invalidate()
                    raise _Retry(f"{err.message}; logging in again")
                raise _AuthFailed(err.message)
            if status >= 500:
                raise _Retry(ProxyError(status, text).message)
            raise _Retry(error_from_text(text, status).message if text else f"HTTP {status}")
        detail = html_reason(body) if body else ""
        ctype = resp.headers.get("Content-Type", "") if resp.headers is not None else ""
        if (200 <= status < 300 or status == 404) and not_a_dashboard(body, ctype):
            raise _Retry(NOT_A_DASHBOARD, at_cap=True)  # a web site, not the API: the URL is wrong
        if status == 403:
            recheck = getattr(self.client, "recheck", None)
            if recheck is not None:
                recheck()  # a dead session's JWT gets the IP blocked: check it before reusing it
            raise _Retry(waf_error(body).message, at_cap=True)
        if status == 401:
            raise _AuthFailed(f"HTTP 401 Unauthorized{': ' + detail if detail else ''} "
                              f"(a proxy asking for its own login?)")
        if 200 <= status < 300:
            raise _Retry(f"the stream URL answered HTTP {status} without upgrading "
                         f"({detail or 'not a WebSocket'}): is the URL the Dashboard's?", at_cap=True)
        raise _Retry(ProxyError(status, detail).message)

    # ------------------------------------------------------------------ helpers

    async def _until_stopped(self, aw: Awaitable[Any]) -> Any:
        """Await ``aw`` unless stop() comes first (then cancel it, raise _Stopped)."""
        if self._stop.is_set():
            if asyncio.iscoroutine(aw):
                aw.close()
            raise _Stopped
        task = asyncio.ensure_future(aw)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            stopper.cancel()
            raise
        if task in done:
            stopper.cancel()
            return task.result()
        task.cancel()
        try:
            result = await task
        except (asyncio.CancelledError, Exception):
            pass
        else:  # connect() finished just as we stopped: don't leak the socket
            if hasattr(result, "transport"):
                _abort(result)
        raise _Stopped

    def _emit(self, state: StreamState, message: str, *, next_retry_at: float | None = None) -> None:
        attempt = 0 if state is StreamState.LIVE else self._attempt
        status = StreamStatus(state, attempt, self._last_frame_at, next_retry_at, trim(message))
        previous, self.status = self.status, status
        if status == previous:
            return
        if state is StreamState.LIVE and previous.state is StreamState.LIVE and status.message == previous.message:
            # Another frame of a live stream: only last_frame_at moved.  Not an event
            # (subscribers would redo their work for nothing on every frame); the status
            # stays readable here with the new time.
            return
        try:
            self.on_status(status)
        except Exception:
            log.exception("on_status failed")


def _empty_notes_of_first_frame(frame: StreamFrame) -> None:
    """In a connection's first frame an absent ``public_note`` means an empty one (omitempty)."""
    for server in frame.servers:
        if server.public_note is None:
            server.public_note = ""


def _abort(ws: Any) -> None:
    """Drop the socket at once (the Dashboard never answers a close frame)."""
    transport = getattr(ws, "transport", None)
    if transport is not None:
        transport.abort()


def _ssl_for(client: Any) -> Any:
    get = getattr(client, "ssl_context", None)
    return get() if get is not None else None


def _closed_message(exc: ConnectionClosed) -> str:
    if exc.rcvd is None:
        return "connection lost"
    reason = f": {exc.rcvd.reason}" if exc.rcvd.reason else ""
    return f"connection closed by the Dashboard (code {exc.rcvd.code}{reason})"
