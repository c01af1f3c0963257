"""Run a DemoServer on its own event loop in a daemon thread (for ``nezha-tui --demo``)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from .server import DemoOptions, DemoServer

__all__ = ["DemoThread", "start_demo_in_thread"]


class DemoThread:
    """A running demo: ``url``, ``server`` (the DemoServer), ``stop()``."""

    def __init__(self, options: DemoOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = DemoServer(options, host=host, port=port)
        self.loop = asyncio.new_event_loop()
        self._started: Future = Future()
        self._thread = threading.Thread(target=self._run, name="nezha-demo", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    # The demo credentials, as DemoProcess has them (``--demo`` uses either).
    @property
    def username(self) -> str:
        return self.server.username

    @property
    def password(self) -> str:
        return self.server.password

    @property
    def token(self) -> str:
        return self.server.token

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as e:  # report start failures to the caller
            self._started.set_exception(e)
            self.loop.close()
            return
        self._started.set_result(None)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.server.stop())
            self.loop.close()

    def start(self, timeout: float = 10.0) -> "DemoThread":
        self._thread.start()
        self._started.result(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and the thread (idempotent)."""
        if not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


def start_demo_in_thread(options: DemoOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> DemoThread:
    """Start a demo Dashboard in a daemon thread; returns once it accepts connections."""
    return DemoThread(options, host=host, port=port).start()
