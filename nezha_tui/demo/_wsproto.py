"""uvicorn's WebSocket protocol, adjusted to behave like the Dashboard's gorilla socket.

The Dashboard never reads its stream socket, so it never answers a client's
ping; it sends its own ping after every 4th frame.  uvicorn's sans-I/O
protocol answers pings automatically and has no ASGI message for sending a
ping, so this subclass discards the automatic pong (unless the handler set
``answer_pings`` in its hooks: the terminal socket, which the Dashboard reads,
answers pings as gorilla's default handler does) and exposes three hooks to
the demo through the scope (``scope["extensions"]["nezha.demo"]``):
``ping()`` (send an empty ping), ``abort()`` (drop the TCP connection
without a close frame) and ``close_tcp()`` (the same after flushing what was
sent).  If the sans-I/O protocol is unavailable (older uvicorn), uvicorn's default protocol is used and those hooks are absent.
"""

from __future__ import annotations

from typing import Any


def protocol_class() -> Any:
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # pragma: no cover - older uvicorn
        return "auto"

    class DashboardLikeProtocol(WebSocketsSansIOProtocol):
        def handle_ping(self) -> None:
            ext = (getattr(self, "scope", None) or {}).get("extensions", {}).get("nezha.demo", {})
            if ext.get("answer_pings"):
                super().handle_ping()  # a socket the Dashboard reads (the terminal): gorilla answers
                return
            # the automatic pong is queued in the protocol's output: drop it unsent
            self.conn.data_to_send()

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            scope = getattr(self, "scope", None)
            if scope is not None:
                scope.setdefault("extensions", {})["nezha.demo"] = {"ping": self._demo_ping,
                                                                    "abort": self._demo_abort,
                                                                    "close_tcp": self._demo_close_tcp}

        def _demo_ping(self) -> None:
            if self.transport is None or self.transport.is_closing() or self.close_sent:
                return
            self.conn.send_ping(b"")
            self.transport.write(b"".join(self.conn.data_to_send()))

        def _demo_close_tcp(self) -> None:
            # gorilla's Conn.Close: flush what was written, then close TCP without a close frame
            if self.transport is not None:
                self.transport.close()

        def _demo_abort(self) -> None:
            if self.transport is not None:
                self.transport.abort()

    return DashboardLikeProtocol
