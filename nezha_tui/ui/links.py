"""One Dashboard the app is connected to: its client, its store, its stream and what it said.

The app holds one :class:`DashboardLink` per Dashboard (``app.dashboards``).  Each has its
own stream task, backoff, stale state, site settings and groups, so one Dashboard that fails
or is slow never delays or blanks the others.  Plain Python: the app drives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nezha_tui.api.stream import StreamState, StreamStatus

if TYPE_CHECKING:  # pragma: no cover
    from nezha_tui.api.models import Setting
    from nezha_tui.store import FleetStore
    from nezha_tui.ui.context import DashboardClient

__all__ = ["DashboardLink"]


@dataclass(eq=False)
class DashboardLink:
    """What the app knows of one Dashboard."""

    index: int
    """Its place among the app's Dashboards (the high part of its servers' fleet keys)."""
    name: str
    """Its label: the profile's name, or the site name once known for a bare URL."""
    client: DashboardClient
    store: FleetStore
    """Its own store (server ids, its clock)."""
    named: bool = True
    """The user chose the name; otherwise the site name replaces it when it arrives."""
    source: str = ""
    """The name it was started with, which never changes (the profile's, or the URL's host):
    what its events are filed under (``Event.dashboard``), while :attr:`name` may become
    the site name."""
    clock: Callable[[], float] = field(default=lambda: 0.0, repr=False)
    stream: Any = None
    """The running stream (a :class:`~nezha_tui.api.stream.FleetStream` or a test's stand-in)."""
    stream_status: StreamStatus | None = None
    stream_running: bool = False
    """A stream's ``run()`` is under way (or about to start): no second one."""
    was_live: bool = False
    retried_at: float | None = None
    setting: Setting | None = None
    groups_answered: bool = False
    frames_received: int = 0
    last_frame_at: float | None = None
    """App clock when its latest frame arrived."""
    frame_applied_at: float | None = None
    """App clock when the picture took its latest frame (ages advance from there)."""

    @property
    def state(self) -> StreamState:
        status = self.stream_status
        return status.state if status is not None else StreamState.CONNECTING

    @property
    def login_refused(self) -> bool:
        """The Dashboard refused the login before any frame came."""
        return not self.store.frames and self.state is StreamState.AUTH_FAILED

    @property
    def stale(self) -> bool:
        """It has shown data, and its stream is not live now (its rows are last known)."""
        return self.store.frames > 0 and self.stream_status is not None and self.state is not StreamState.LIVE

    def frame_age(self) -> float | None:
        """Seconds since its latest frame arrived, or ``None`` before the first."""
        at = self.last_frame_at
        if at is None:
            at = self.stream_status.last_frame_at if self.stream_status is not None else None
            if at is None:
                return None
        return max(0.0, self.clock() - at)

    def now(self) -> float | None:
        """Its clock now (unix seconds): its latest frame's ``now`` advanced by the time since."""
        if not self.store.now_ms:
            return None
        now = self.store.now_ms / 1000.0
        if self.frame_applied_at is not None:
            try:
                now += max(0.0, self.clock() - self.frame_applied_at)
            except Exception:
                pass
        return now
