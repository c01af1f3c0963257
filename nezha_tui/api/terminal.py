"""A web-terminal session of the Dashboard: ``/api/v1/ws/terminal/{session_id}``.

``NezhaClient.open_terminal(server_id)`` asks the Dashboard for a session (a
:class:`~nezha_tui.api.models.TerminalTicket`); :meth:`TerminalSession.attach`
opens its WebSocket within :data:`ATTACH_TIMEOUT` seconds, with the same
credentials as the fleet stream (plus the CSRF pair for a JWT session), and
following a redirect only where the REST client would (``HomeOnlyConnect``).

Frames (cmd/dashboard/controller/terminal.go and the agent's side):

* client -> Dashboard, binary: ``0x00`` + input bytes, or ``0x01`` + JSON
  ``{"Cols": c, "Rows": r}`` (a resize);
* Dashboard -> client, binary: raw terminal output, passed on as is.

The Dashboard reads at most 512 KiB + 64 bytes per message, so input is sent in
chunks of :data:`MAX_INPUT_CHUNK`.  It pings every 10 s; websockets answers.
The Dashboard ends a session by dropping the connection (no close frame): the
output iterator then ends.  When it ends before a single byte of output came
(and not by our :meth:`close`), the server's agent never started the shell: that
is raised as ``TerminalRefused("attach_timeout")``.

Nothing typed or shown is logged: only that a session on a server opened or
closed, and how many bytes went each way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .client import NezhaClient
from .decode import envelope_error
from .errors import (
    NezhaError, ProtocolError, ProxyError, TerminalRefused, error_from_text, html_reason,
    network_error_from, not_a_dashboard, terminal_refusal, trim, waf_error,
)
from .models import TerminalTicket
from .stream import HomeOnlyConnect

__all__ = ["ATTACH_TIMEOUT", "MAX_INPUT_CHUNK", "TerminalSession", "input_frame", "resize_frame"]

log = logging.getLogger(__name__)

ATTACH_TIMEOUT = 10.0  # s: the Dashboard's StartStream waits 10 s for both ends
MAX_INPUT_CHUNK = 32 * 1024  # bytes of input per frame (the Dashboard's read limit is 512 KiB + 64)
MAX_OUTPUT_FRAME = 4 * 1024 * 1024  # the Dashboard relays through a 1 MiB buffer

_INPUT = b"\x00"
_RESIZE = b"\x01"


def input_frame(data: bytes) -> bytes:
    """The frame carrying ``data`` typed by the user."""
    return _INPUT + bytes(data)


def resize_frame(cols: int, rows: int) -> bytes:
    """The frame announcing the terminal's size (Go's field names, capitalised)."""
    return _RESIZE + json.dumps({"Cols": int(cols), "Rows": int(rows)}, separators=(",", ":")).encode()


class TerminalSession:
    """One attached web terminal.  Use :meth:`attach`; then send, read, close."""

    def __init__(self, ws: Any, ticket: TerminalTicket) -> None:
        self._ws = ws
        self.ticket = ticket
        self.bytes_in = 0  # output received
        self.bytes_out = 0  # input sent
        self._closing = False

    @classmethod
    async def attach(cls, client: NezhaClient, ticket: TerminalTicket, *, timeout: float = ATTACH_TIMEOUT,
                     connect: Callable[..., Any] = HomeOnlyConnect) -> TerminalSession:
        """Open the session's WebSocket within ``timeout`` seconds.

        Raises :class:`TerminalRefused` (attach_timeout: too late, the session is gone or
        was used already; permission: not its creator nor an admin; scope; guest;
        unsupported) or another :class:`NezhaError` (network, firewall, proxy, redirect).
        """
        url = client.terminal_ws_url(ticket.session_id)
        try:
            async with asyncio.timeout(timeout):
                await client.ensure_auth()
                kwargs: dict[str, Any] = dict(
                    additional_headers=client.terminal_headers(),
                    ping_interval=None,  # the Dashboard pings us (every 10 s); websockets answers
                    max_size=MAX_OUTPUT_FRAME,
                    open_timeout=None,  # the timeout above covers the handshake
                    close_timeout=1.0,
                    compression=None,
                )
                ssl_ctx = client.ssl_context()
                if ssl_ctx is not None:
                    kwargs["ssl"] = ssl_ctx
                ws = await connect(url, **kwargs)
        except TimeoutError:
            raise TerminalRefused("attach_timeout", f"could not attach the shell session within {timeout:g} s "
                                                    f"({client.host}:{client.port})") from None
        except (NezhaError, asyncio.CancelledError):
            raise
        except InvalidStatus as exc:
            raise _handshake_refusal(exc, ticket) from None
        except InvalidHandshake as exc:
            raise ProtocolError(f"the terminal handshake failed: {trim(str(exc), 80)}") from None
        except OSError as exc:
            raise network_error_from(exc, client.host, client.port, timeout) from None
        log.info("terminal session on server %d opened", ticket.server_id)
        return cls(ws, ticket)

    @property
    def closed(self) -> bool:
        return self._closing

    async def send_input(self, data: bytes) -> None:
        """Send typed bytes (``0x00`` frames, at most :data:`MAX_INPUT_CHUNK` of input each).

        Raises ConnectionClosed when the session has ended."""
        view = memoryview(bytes(data))
        for start in range(0, len(view), MAX_INPUT_CHUNK):
            chunk = view[start:start + MAX_INPUT_CHUNK]
            await self._ws.send(_INPUT + chunk.tobytes())
            self.bytes_out += len(chunk)

    async def resize(self, cols: int, rows: int) -> None:
        """Tell the remote terminal its size.  Raises ConnectionClosed when the session has ended."""
        await self._ws.send(resize_frame(cols, rows))

    async def output(self) -> AsyncIterator[bytes]:
        """The terminal's output, one binary frame at a time, until the session ends.

        Ends quietly after :meth:`close` or when the Dashboard ends the session; raises
        ``TerminalRefused("attach_timeout")`` when it ended before any output came.
        """
        while True:
            try:
                data = await self._ws.recv(decode=False)
            except ConnectionClosed:
                if not self._closing and self.bytes_in == 0:
                    self._closing = True
                    raise TerminalRefused(
                        "attach_timeout", "the server's agent did not start the shell: the Dashboard closed "
                                          "the session before any output") from None
                return
            if isinstance(data, str):  # a text frame (the Dashboard sends binary): its UTF-8 bytes
                data = data.encode("utf-8", "surrogateescape")
            if not data:
                continue
            self.bytes_in += len(data)
            yield data

    async def close(self) -> None:
        """End the session (idempotent).  The Dashboard may not answer the close frame: at most 1 s."""
        self._closing = True
        ws = self._ws
        if isinstance(ws, _Closed):
            return
        self._ws = _Closed()
        try:
            await ws.close()
        except Exception:  # already gone: nothing to close
            pass
        finally:
            transport = getattr(ws, "transport", None)
            if transport is not None:
                transport.abort()
        log.info("terminal session on server %d closed (%d bytes in, %d out)",
                 self.ticket.server_id, self.bytes_in, self.bytes_out)


class _Closed:
    """Stands in for the socket after close(): sends and reads fail like a closed connection."""

    async def send(self, _data: bytes) -> None:
        raise ConnectionClosed(None, None)

    async def recv(self, decode: bool | None = None) -> bytes:
        raise ConnectionClosed(None, None)


def _handshake_refusal(exc: InvalidStatus, ticket: TerminalTicket) -> NezhaError:
    """The typed error for an attach answered with HTTP instead of the 101 upgrade."""
    resp = exc.response
    status = resp.status_code
    body = bytes(resp.body or b"")
    text = envelope_error(body)
    if text is not None:  # a JSON object
        if text == "stream not found":
            return TerminalRefused("attach_timeout", "the shell session is gone (not attached within 10 s, "
                                                     "or attached once already)")
        low = text.lower()
        if status == 403 and "lacks scope" in low:
            scope = trim(text.split("lacks scope", 1)[1].strip() or "nezha:server:exec", 40)
            return TerminalRefused("scope", f"the access token lacks the scope {scope} (needed for a shell)")
        if status in (200, 404):
            refusal = terminal_refusal(text, ticket.server_name)
            if refusal is not None:
                if refusal.kind == "permission":
                    return TerminalRefused("permission", "permission denied: only the session's creator or "
                                                         "an admin may attach")
                return refusal
        if status >= 500:
            return ProxyError(status, text)
        return error_from_text(text, status) if text else ProxyError(status)
    ctype = resp.headers.get("Content-Type", "") if resp.headers is not None else ""
    if status in (200, 404) and (not body or not_a_dashboard(body, ctype)):
        return TerminalRefused("unsupported", "this Dashboard has no web terminal (the attach URL answered "
                                              f"{'404' if status == 404 else 'a web page'})")
    if status == 403:
        return waf_error(body)
    return ProxyError(status, html_reason(body) if body else "")
