"""Typed payloads of the Nezha Dashboard API v1 (see ../shared/nezha-api-v1.md).

Every field has a default, so a key that is absent (Go's ``omitempty``) decodes
to the zero value.  Field names follow the JSON keys; where the JSON key is
capitalised or a Python keyword, ``msgspec.field(name=...)`` maps it.

These classes hold data only.  Decoding (with the tolerant fallback for
malformed input) lives in :mod:`nezha_tui.api.decode`; nothing here imports
Textual or does I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct, field

__all__ = [
    "Temperature", "Host", "HostState", "StreamServer", "StreamFrame",
    "GroupInfo", "ServerGroup", "SiteConfig", "Setting",
    "MetricPoint", "MetricSeries", "METRICS", "PERIODS",
    "ServerServiceSeries", "ServiceItem", "CycleTransferStats", "ServiceOverview",
    "ServiceHistoryPoint", "ServiceHistoryStats", "ServiceHistoryServer", "ServiceHistory",
    "GeoIPAddress", "GeoIP", "Owner", "FullServer", "LoginResult", "Profile",
    "TerminalTicket",
]

#: Metric names accepted by ``/server/{id}/metrics`` (section 3).
METRICS: tuple[str, ...] = (
    "cpu", "memory", "swap", "disk", "net_in_speed", "net_out_speed",
    "net_in_transfer", "net_out_transfer", "load1", "load5", "load15",
    "tcp_conn", "udp_conn", "process_count", "temperature", "uptime", "gpu",
)
#: History periods accepted by the history endpoints.
PERIODS: tuple[str, ...] = ("1d", "7d", "30d")


# --------------------------------------------------------------------------- stream

#: The numbers of the models (stream and REST): msgspec checks these bounds in C while it
#: decodes (no cost to speak of), so a value outside them fails the typed path and the tolerant
#: one drops it as a bad field.  Ints fit an int64 (what the Dashboard's Go types hold); floats
#: are finite (a lax conversion of "nan" or "inf" is refused too), so a format helper can print
#: every number a decoded document holds.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_MAX = 1.7976931348623157e308
Int = Annotated[int, Meta(ge=INT64_MIN, le=INT64_MAX)]
Float = Annotated[float, Meta(ge=-FLOAT_MAX, le=FLOAT_MAX)]


class Temperature(Struct, gc=False):
    """One sensor; the Dashboard capitalises these keys."""

    name: str = field(default="", name="Name")
    temperature: Float = field(default=0.0, name="Temperature")


class Host(Struct, gc=False):
    """Static facts about a server (section 4, Host).

    The arrays of the stream models are tuples, not lists: a tuple of strings,
    numbers or ``gc=False`` structs is dropped from the cyclic garbage
    collector's tracking, a list never is.  With 10,000 servers a frame makes
    40,000 of them every 2 s; as lists they cost ~13 ms of collection a frame.
    """

    platform: str = ""
    platform_version: str = ""
    cpu: tuple[str, ...] = ()
    mem_total: Int = 0
    disk_total: Int = 0
    swap_total: Int = 0
    arch: str = ""
    virtualization: str = ""
    boot_time: Int = 0  # unix seconds
    version: str = ""  # agent version
    gpu: tuple[str, ...] = ()


class HostState(Struct, gc=False):
    """Live values of a server (section 4, HostState)."""

    cpu: Float = 0.0
    mem_used: Int = 0
    swap_used: Int = 0
    disk_used: Int = 0
    net_in_transfer: Int = 0
    net_out_transfer: Int = 0
    net_in_speed: Int = 0
    net_out_speed: Int = 0
    uptime: Int = 0
    load_1: Float = 0.0
    load_5: Float = 0.0
    load_15: Float = 0.0
    tcp_conn_count: Int = 0
    udp_conn_count: Int = 0
    process_count: Int = 0
    temperatures: tuple[Temperature, ...] = ()
    gpu: tuple[Float, ...] = ()


class StreamServer(Struct, gc=False):
    """One server of a stream frame.

    ``public_note`` is ``None`` when the key was absent (every frame after the
    first of a connection); the store keeps the first value it saw.
    ``last_active`` is ``None`` for Go's zero time (never reported /
    disconnected); the decoder normalises it.
    """

    id: Int = 0
    name: str = ""
    public_note: str | None = None
    display_index: Int = 0
    host: Host = field(default_factory=Host)
    state: HostState = field(default_factory=HostState)
    country_code: str = ""
    last_active: datetime | None = None


class StreamFrame(Struct, gc=False):
    """One document of ``/api/v1/ws/server``."""

    now: Int = 0  # server time in ms (whole seconds x 1000)
    online: Int = 0  # number of *viewers*, not online servers
    servers: list[StreamServer] = field(default_factory=list)


# --------------------------------------------------------------------------- groups, setting


class GroupInfo(Struct):
    id: Int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    name: str = ""


class ServerGroup(Struct):
    group: GroupInfo = field(default_factory=GroupInfo)
    servers: list[Int] = field(default_factory=list)  # null / absent -> []


class SiteConfig(Struct):
    site_name: str = ""
    language: str = ""
    custom_code: str = ""
    oauth2_providers: list[str] = field(default_factory=list)


class Setting(Struct):
    config: SiteConfig = field(default_factory=SiteConfig)
    version: str = ""  # admins only
    frontend_templates: list[Any] = field(default_factory=list)  # admins only
    tsdb_enabled: bool = False


# --------------------------------------------------------------------------- metric history


class MetricPoint(Struct, array_like=False, gc=False):
    ts: Int = 0  # ms
    value: Float = 0.0


class MetricSeries(Struct):
    server_id: Int = 0
    server_name: str = ""
    metric: str = ""
    data_points: list[MetricPoint] = field(default_factory=list)  # null -> []


class ServerServiceSeries(Struct):
    """One monitor's latency for one server (``/server/{id}/service``).

    ``created_at`` (ms) and ``avg_delay`` (ms) are parallel arrays.
    """

    monitor_id: Int = 0
    server_id: Int = 0
    monitor_name: str = ""
    server_name: str = ""
    display_index: Int = 0
    created_at: list[Int] = field(default_factory=list)
    avg_delay: list[Float] = field(default_factory=list)


# --------------------------------------------------------------------------- services


class ServiceItem(Struct):
    """One service monitor of ``/api/v1/service``; 30-day arrays, index 29 = today."""

    service_name: str = ""
    current_up: Int = 0
    current_down: Int = 0
    total_up: Int = 0
    total_down: Int = 0
    delay: list[Float] = field(default_factory=list)
    up: list[Int] = field(default_factory=list)
    down: list[Int] = field(default_factory=list)

    @property
    def uptime_percent(self) -> float:
        total = self.total_up + self.total_down
        return self.total_up / total * 100.0 if total else 0.0

    @property
    def down_now(self) -> bool | None:
        """``True`` when the monitor is down now (failed recent checks and no good one), ``False``
        when some recent check succeeded, ``None`` without recent checks (both ``current_*`` 0).
        What the services screen's "now" column and the service events read."""
        up, down = max(0, self.current_up), max(0, self.current_down)
        if up == 0 and down == 0:
            return None
        return down > 0 and up == 0


class CycleTransferStats(Struct):
    """A traffic-quota cycle of an alert rule; maps are keyed by server id."""

    name: str = ""
    from_: datetime | None = field(default=None, name="from")
    to: datetime | None = None
    max: Int = 0
    min: Int = 0
    server_name: dict[int, str] = field(default_factory=dict)
    transfer: dict[int, Int] = field(default_factory=dict)
    next_update: dict[int, datetime] = field(default_factory=dict)


class ServiceOverview(Struct):
    services: dict[int, ServiceItem] = field(default_factory=dict)
    cycle_transfer_stats: dict[int, CycleTransferStats] = field(default_factory=dict)


class ServiceHistoryPoint(Struct, gc=False):
    ts: Int = 0  # ms
    delay: Float = 0.0  # ms
    status: Int = 0  # 1 up, 0 down


class ServiceHistoryStats(Struct):
    avg_delay: Float = 0.0
    up_percent: Float = 0.0
    total_up: Int = 0
    total_down: Int = 0
    data_points: list[ServiceHistoryPoint] = field(default_factory=list)


class ServiceHistoryServer(Struct):
    server_id: Int = 0
    server_name: str = ""
    stats: ServiceHistoryStats = field(default_factory=ServiceHistoryStats)


class ServiceHistory(Struct):
    service_id: Int = 0
    service_name: str = ""
    servers: list[ServiceHistoryServer] = field(default_factory=list)


# --------------------------------------------------------------------------- full server record, auth


class GeoIPAddress(Struct):
    ipv4_addr: str = ""
    ipv6_addr: str = ""


class GeoIP(Struct):
    ip: GeoIPAddress = field(default_factory=GeoIPAddress)
    country_code: str = ""


class Owner(Struct):
    id: Int = 0
    username: str = ""


class FullServer(Struct):
    """A record of ``GET /api/v1/server`` (login only, section 5)."""

    id: Int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    name: str = ""
    uuid: str = ""
    note: str = ""
    public_note: str = ""
    display_index: Int = 0
    hide_for_guest: bool = False
    enable_ddns: bool = False
    ddns_profiles: list[Int] = field(default_factory=list)
    override_ddns_domains: dict[int, list[str]] = field(default_factory=dict)
    host: Host = field(default_factory=Host)
    state: HostState = field(default_factory=HostState)
    geoip: GeoIP = field(default_factory=GeoIP)
    last_active: datetime | None = None
    owner: Owner = field(default_factory=Owner)


class LoginResult(Struct):
    token: str = ""
    expire: datetime | None = None


class Profile(Struct):
    id: Int = 0
    username: str = ""
    role: Int = 0


class TerminalTicket(Struct):
    """``POST /api/v1/terminal``'s answer: the session to attach to within 10 s."""

    session_id: str = ""  # a UUID from the Dashboard; used in the attach URL
    server_id: Int = 0
    server_name: str = ""


def to_builtins(obj: Any) -> Any:
    """Models as plain JSON-able Python (used by ``snapshot --json``)."""
    return msgspec.to_builtins(obj, builtin_types=(), str_keys=True)
