"""Fakes for UI tests: frames in the real shape, a fake REST client, a fake stream.

General on purpose so every screen's tests can reuse them:

- :func:`server_json` / :func:`frame_json` build the JSON documents the
  Dashboard sends (capitalised temperature keys, RFC 3339 times with an
  offset, omitted zero fields); :func:`frame` decodes one into the typed
  :class:`~nezha_tui.api.models.StreamFrame` exactly as msgspec does.
- :class:`FakeClient` answers the client's async methods with models (or
  raises what a test sets in ``errors``) and records the calls.
- :class:`FakeStream` is a ``stream_factory``: the app constructs it like a
  ``FleetStream``; the test pushes frames and statuses through it.
- :class:`HostApp` stands in for ``NezhaApp`` where a test mounts one screen alone:
  it satisfies the screens' contract (:class:`~nezha_tui.ui.context.NezhaContext`),
  with no stream and fixed clocks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from textual.app import App
from textual.screen import Screen
from textual.signal import Signal

from nezha_tui.alerts.feed import EventFeed
from nezha_tui.api import models as m
from nezha_tui.settings import UiSettings
from nezha_tui.api.credentials import Credentials
from nezha_tui.api.stream import StreamState, StreamStatus
from nezha_tui.history_cache import HistoryCache
from nezha_tui.store import FleetChange, FleetStore
from nezha_tui.ui.events import AppEvent
from nezha_tui.ui.links import DashboardLink

T0 = 1_795_000_000  # a fixed "now" in unix seconds (Nov 2026)
ZONE = dt.timezone(dt.timedelta(hours=8))


def go_time(unix: float) -> str:
    """An RFC 3339 time with nanoseconds and a +08:00 offset, as Go prints it."""
    d = dt.datetime.fromtimestamp(unix, ZONE)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(unix % 1 * 1e9):09d}+08:00"


def server_json(sid: int, name: str | None = None, *, now: float = T0, age: float | None = 1.0,
                cpu: float = 10.0, mem: float = 0.5, disk: float = 0.25, swap: float = 0.0,
                net_in: int = 1024, net_out: int = 2048, country: str = "de",
                platform: str = "debian", uptime: int = 86400 * 3 + 3600,
                public_note: str | None = None, display_index: int = 0,
                temps: Iterable[float] = (), gpu: Iterable[float] = (), load: float = 0.5,
                empty: bool = False) -> dict[str, Any]:
    """One server as the Dashboard sends it; ``age=None`` is the zero time (never reported)."""
    doc: dict[str, Any] = {"id": sid, "name": name if name is not None else f"srv-{sid:03d}"}
    if display_index:
        doc["display_index"] = display_index
    if public_note is not None:
        doc["public_note"] = public_note
    if country:
        doc["country_code"] = country
    doc["last_active"] = "0001-01-01T00:00:00Z" if age is None else go_time(now - age)
    if empty:
        doc["host"], doc["state"] = {}, {}
        return doc
    mem_total, disk_total, swap_total = 8 << 30, 100 << 30, 2 << 30
    doc["host"] = {"platform": platform, "platform_version": "12", "cpu": ["AMD EPYC 7B13 8 Virtual Core"],
                   "mem_total": mem_total, "disk_total": disk_total, "swap_total": swap_total,
                   "arch": "x86_64", "virtualization": "kvm", "boot_time": int(T0 - uptime),
                   "version": "1.12.0"}
    state: dict[str, Any] = {
        "cpu": cpu, "mem_used": int(mem_total * mem), "swap_used": int(swap_total * swap),
        "disk_used": int(disk_total * disk), "net_in_transfer": net_in * 1000,
        "net_out_transfer": net_out * 1000, "net_in_speed": net_in, "net_out_speed": net_out,
        "uptime": uptime, "load_1": load, "load_5": load, "load_15": load,
        "tcp_conn_count": 12, "udp_conn_count": 3, "process_count": 140,
    }
    if temps:
        state["temperatures"] = [{"Name": f"coretemp_{i}", "Temperature": t} for i, t in enumerate(temps)]
    if gpu:
        state["gpu"] = list(gpu)
    doc["state"] = {k: v for k, v in state.items() if v}  # omitempty
    return doc


def frame_json(servers: list[dict[str, Any]], *, now: float = T0, viewers: int = 1) -> bytes:
    doc: dict[str, Any] = {"now": int(now) * 1000, "online": viewers}
    if servers:
        doc["servers"] = servers
    return msgspec.json.encode(doc)


def frame(servers: list[dict[str, Any]], *, now: float = T0, viewers: int = 1) -> m.StreamFrame:
    """Decode a real-shape frame into the typed model (zero time -> ``None`` as the decoder does)."""
    f = msgspec.json.decode(frame_json(servers, now=now, viewers=viewers), type=m.StreamFrame)
    for s in f.servers:
        if s.last_active is not None and s.last_active.year <= 1:
            s.last_active = None
    return f


def fleet(n: int, *, now: float = T0, offline: Iterable[int] = (), step: int = 0,
          **kw: Any) -> m.StreamFrame:
    """``n`` servers with ids 1..n; values vary with ``step``; ids in ``offline`` are stale."""
    off = set(offline)
    servers = [
        server_json(i, now=now, age=(120.0 if i in off else 1.0),
                    cpu=float((i * 7 + step * 3) % 100), net_in=1000 * i + step,
                    country=("de", "us", "jp", "fr", "sg")[i % 5], **kw)
        for i in range(1, n + 1)
    ]
    return frame(servers, now=now)


def groups(*spec: tuple[int, str, Iterable[int] | None]) -> list[m.ServerGroup]:
    """``groups((1, "eu", [1, 2]), (2, "empty", None))`` as the client returns them."""
    return [m.ServerGroup(group=m.GroupInfo(id=gid, name=name), servers=list(ids or []))
            for gid, name, ids in spec]


# --------------------------------------------------------------------------- fake REST client


class FakeClient:
    """Stands in for :class:`nezha_tui.api.client.NezhaClient`.

    ``answers`` maps a method name to a value or to a callable taking the call's
    arguments; ``errors`` maps a method name to an exception to raise.  Every
    call is recorded in ``calls`` as ``(name, args)``.
    """

    base_url = "http://fake.invalid"
    ws_url = "ws://fake.invalid/api/v1/ws/server"
    credentials = Credentials("admin", "fake-password")

    def __init__(self, *, site_name: str = "Fake Fleet", group_list: list[m.ServerGroup] | None = None,
                 **answers: Any) -> None:
        self.answers: dict[str, Any] = {
            "setting": m.Setting(config=m.SiteConfig(site_name=site_name), tsdb_enabled=True),
            "server_groups": group_list if group_list is not None else [],
            "services": m.ServiceOverview(),
            "service_servers": [],
            "servers": [],
            "profile": m.Profile(id=1, username="admin", role=0),
        }
        self.answers.update(answers)
        self.errors: dict[str, BaseException] = {}
        self.credentials = Credentials(username="admin", password="demo-password")
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.closed = False

    def _answer(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        if name in self.errors:
            raise self.errors[name]
        value = self.answers.get(name)
        return value(*args) if callable(value) else value

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    def stream_headers(self) -> dict[str, str]:
        return {}

    async def login(self) -> None:
        self._answer("login")

    def forget_auth_failure(self) -> None:
        self._answer("forget_auth_failure")

    async def ensure_auth(self) -> None:
        self._answer("ensure_auth")

    async def setting(self) -> m.Setting:
        return self._answer("setting")

    async def server_groups(self) -> list[m.ServerGroup]:
        return self._answer("server_groups")

    async def servers(self, ids: Iterable[int] | None = None) -> list[m.FullServer]:
        return self._answer("servers", ids)

    async def profile(self) -> m.Profile:
        return self._answer("profile")

    async def server_metrics(self, server_id: int, metric: str, period: str = "1d") -> m.MetricSeries:
        return self._answer("server_metrics", server_id, metric, period)

    async def server_services(self, server_id: int, period: str = "1d") -> list[m.ServerServiceSeries]:
        return self._answer("server_services", server_id, period)

    async def services(self) -> m.ServiceOverview:
        return self._answer("services")

    async def service_history(self, service_id: int, period: str = "1d") -> m.ServiceHistory:
        return self._answer("service_history", service_id, period)

    async def service_servers(self) -> list[int]:
        return self._answer("service_servers")

    async def aclose(self) -> None:
        self.closed = True


# --------------------------------------------------------------------------- fake stream


def status(state: str, **kw: Any) -> StreamStatus:
    """A ``StreamStatus`` for state name ``state`` (``"live"``, ``"auth_failed"`` ...)."""
    return StreamStatus(state=StreamState[state.upper()], **kw)


class FakeStream:
    """A ``stream_factory`` for the app: ``FakeStream(client, on_frame=..., on_status=...)``.

    ``run()`` waits until ``stop()``; tests call :meth:`push` and :meth:`set_status`.
    The most recent instance is ``FakeStream.last``.
    """

    last: FakeStream | None = None
    instances: list[FakeStream] = []

    def __init__(self, client: Any, *, on_frame: Callable[..., None], on_status: Callable[[Any], None],
                 **kwargs: Any) -> None:
        self.client = client
        self.on_frame = on_frame
        self.on_status = on_status
        self.kwargs = kwargs
        self.public_notes: dict[int, str] = {}
        self.status: Any = None
        self.received_at: float | None = None
        self.running = False
        self.stopped = asyncio.Event()
        type(self).last = self
        type(self).instances.append(self)

    async def run(self) -> None:
        self.running = True
        try:
            await self.stopped.wait()
        finally:
            self.running = False

    def stop(self) -> None:
        self.stopped.set()

    def push(self, f: m.StreamFrame, report: Any = None) -> None:
        for s in f.servers:
            if s.public_note is not None:
                self.public_notes.setdefault(s.id, s.public_note)
        on_receive = self.kwargs.get("on_receive")
        if on_receive is not None:  # as FleetStream: the bytes came, then the frame
            on_receive()
        self.on_frame(f, report)

    def set_status(self, st: Any) -> None:
        self.status = st
        self.on_status(st)


def stream_factory() -> type[FakeStream]:
    """A fresh FakeStream class per test (so ``last``/``instances`` do not leak between tests)."""

    class _Stream(FakeStream):
        last = None
        instances: list[FakeStream] = []

    return _Stream


# --------------------------------------------------------------------------- stand-in app


class HostApp(App[None]):
    """Stands in for ``NezhaApp`` where a test mounts one screen alone (``screen_factory()``
    on mount): the store, the client, the signals and the rest of ``NezhaContext``, with
    no stream, clocks fixed at ``T0`` and times shown in UTC."""

    def __init__(self, client: Any, screen_factory: Callable[[], Screen[Any]] | None = None) -> None:
        super().__init__()
        self.client = client
        self.store = FleetStore()
        self.store.site_name = "Test Fleet"
        self.dashboards = [DashboardLink(0, "", client, self.store, setting=m.Setting(tsdb_enabled=True),
                                         groups_answered=True)]
        self.clock: Callable[[], float] = lambda: 0.0
        self.wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.fromtimestamp(T0, dt.timezone.utc)
        self.tz: dt.tzinfo | None = dt.timezone.utc
        self.wall: float | None = None
        self.paused = False
        self.held_frames = 0
        self.bells = False
        self.frames_repaired = 0
        self.history_cache = HistoryCache(ttl=60.0, max_entries=64)
        self.events = EventFeed()
        self.fleet_changed: Signal[FleetChange] = Signal(self, "fleet_changed")
        self.stream_status_changed: Signal[StreamStatus] = Signal(self, "stream_status_changed")
        self.state_changed: Signal[AppEvent] = Signal(self, "state_changed")
        self._factory = screen_factory
        self._ui_settings = UiSettings()

    def on_mount(self) -> None:
        if self._factory is not None:
            self.push_screen(self._factory())

    # the one Dashboard's, as NezhaApp has them
    @property
    def setting(self) -> m.Setting | None:
        return self.dashboards[0].setting

    @setting.setter
    def setting(self, value: m.Setting | None) -> None:
        self.dashboards[0].setting = value

    @property
    def stream_status(self) -> StreamStatus | None:
        return self.dashboards[0].stream_status

    @stream_status.setter
    def stream_status(self, value: StreamStatus | None) -> None:
        self.dashboards[0].stream_status = value

    @property
    def groups_answered(self) -> bool:
        return all(link.groups_answered for link in self.dashboards)

    @property
    def several(self) -> bool:
        return len(self.dashboards) > 1

    def link_for(self, key: int) -> DashboardLink:
        index = self.store.index_of(key)
        return self.dashboards[index] if 0 <= index < len(self.dashboards) else self.dashboards[0]

    def client_for(self, key: int) -> Any:
        return self.link_for(key).client

    def fleet_now(self) -> float:
        return self.store.now_ms / 1000.0

    @property
    def ui_settings(self) -> UiSettings:
        return self._ui_settings

    def remember(self, **changes: Any) -> None:
        self._ui_settings = dataclasses.replace(self._ui_settings, **changes)

    def frame_age(self) -> float | None:
        return None

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False, kind: str | None = None) -> None:
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def retry_stream(self) -> bool:
        return False

    def dashboard_origin(self) -> str:
        return self.client.base_url

    def credentials_mode(self) -> str:
        return self.client.credentials.mode

    def action_open_server(self, key: int) -> None:
        from nezha_tui.ui.screens.server_detail import ServerDetailScreen

        self.push_screen(ServerDetailScreen(key))
