"""Runtime fault switches of the simulated Dashboard.

A :class:`DemoFaults` lives on each :class:`~nezha_tui.demo.server.DemoServer`
(``server.faults``); flipping a switch takes effect on the next request or
frame, from any thread.  Switches:

- ``proxy_502``: every route (WebSocket handshakes included) answers an
  nginx-like ``502 Bad Gateway`` HTML page, as a reverse proxy does when the
  Dashboard is down;
- ``waf_reason``: every route answers the Dashboard WAF's ``403`` HTML page
  with this reason (``None`` = off);
- ``stall``: open streams stay connected but send nothing (new ones too);
- ``force_auth``: the Dashboard's ``force_auth`` setting (guests get
  ``ApiErrorUnauthorized``; the stream handshake answers HTTP 200 JSON);
- ``tsdb``: whether the TSDB is enabled (metrics history empty when off,
  service history from the SQL path);
- ``legacy``: behave like a Dashboard older than v2.0.0 (v1.5-v1.14): the
  history routes (``/server/{id}/metrics``, ``/server/{id}/service``,
  ``/service/{id}/history``) do not exist, so they get Gin's ``NoRoute``
  fallback - HTTP 404 ``{"error":"404 Not Found"}`` before any auth check -
  and ``/setting`` has no ``tsdb_enabled`` key (added with the TSDB in
  v2.0.0) and tells admins version ``LEGACY_VERSION``;
- :meth:`drop_websockets`: abort every open stream's TCP connection without
  a close frame (what a proxy cut or a crash looks like);
- :meth:`send_malformed`: the next frame sent (on any stream) is malformed:
  ``"invalid_json"`` (a truncated document), ``"wrong_types"`` (valid JSON
  where one server has values of the wrong types) or ``"null_state"`` (one
  reporting server's ``state`` is ``null``, as a misbehaving proxy or fork
  sends it);
- ``malformed_every`` (``DemoOptions``, ``--fault-malformed N``): every Nth frame
  of a stream is malformed, the kinds in turn (null state, wrong types,
  truncated), one server each time, a different one each time.
"""

from __future__ import annotations

import threading
from typing import Callable

__all__ = ["DemoFaults", "MALFORMED_KINDS", "LEGACY_VERSION"]

MALFORMED_KINDS = ("null_state", "wrong_types", "invalid_json")
LEGACY_VERSION = "v1.14.14"  # the last release before the history API (v2.0.0)


class DemoFaults:
    def __init__(self, *, force_auth: bool = False, tsdb: bool = True, legacy: bool = False) -> None:
        self.proxy_502: bool = False
        self.waf_reason: str | None = None
        self.stall: bool = False
        self.force_auth: bool = force_auth
        self.tsdb: bool = tsdb
        self.legacy: bool = legacy
        self._lock = threading.Lock()
        self._malformed: list[str] = []
        self._drop_hook: Callable[[], None] | None = None

    def send_malformed(self, kind: str = "invalid_json") -> None:
        """Make the next frame sent malformed (one frame per call)."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"unknown malformed kind {kind!r}; expected one of {MALFORMED_KINDS}")
        with self._lock:
            self._malformed.append(kind)

    def take_malformed(self) -> str | None:
        """The pending malformed kind, consumed (used by the stream loop)."""
        with self._lock:
            return self._malformed.pop(0) if self._malformed else None

    def drop_websockets(self) -> None:
        """Abort all open stream connections (no close frame). Safe from any thread."""
        hook = self._drop_hook
        if hook is not None:
            hook()

    def reset(self) -> None:
        """Turn every fault off (``force_auth``/``tsdb``/``legacy`` are left as they are)."""
        self.proxy_502 = False
        self.waf_reason = None
        self.stall = False
        with self._lock:
            self._malformed.clear()
