"""uvicorn's WebSocket protocol, adjusted to behave like the Dashboard's gorilla socket.

The Dashboard never reads its stream socket, so it never answers a client's
ping; it sends its own ping after every 4th frame.  uvicorn's sans-I/O
protocol answers pings automatically and has no ASGI message for sending a
ping, so this subclass discards the automatic pong and exposes two hooks to
the demo through the scope (``scope["extensions"]["nezha.demo"]``):
``ping()`` (send an empty ping) and ``abort()`` (drop the TCP connection
without a close frame).  If the sans-I/O protocol is unavailable (older
uvicorn), uvicorn's default protocol is used and those hooks are absent.
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
            # the automatic pong is queued in the protocol's output: drop it unsent
            self.conn.data_to_send()

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            scope = getattr(self, "scope", None)
            if scope is not None:
                scope.setdefault("extensions", {})["nezha.demo"] = {"ping": self._demo_ping,
                                                                    "abort": self._demo_abort}

        def _demo_ping(self) -> None:
            if self.transport is None or self.transport.is_closing() or self.close_sent:
                return
            self.conn.send_ping(b"")
            self.transport.write(b"".join(self.conn.data_to_send()))

        def _demo_abort(self) -> None:
            if self.transport is not None:
                self.transport.abort()

    return DashboardLikeProtocol
