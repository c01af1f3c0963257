"""What each read endpoint answers, for a given viewer at a given time.

Pure functions of the demo state (fleet, signals, options) and a
:class:`Viewer`; they return structures for :func:`gojson.dumps` (or ``None``
for Go's nil, which the envelope then omits).  Visibility follows the
Dashboard's ``permissions.go``/``ws.go``: hidden servers only for admins and
owners, Host ``Filter()``-ed for everyone else, a PAT whitelist narrows
everything, guests see only groups with visible servers.

History follows ``pkg/tsdb/query.go``: buckets aligned to the interval
(30 s / 30 min / 2 h), gauges are the sample at the bucket start, cumulative
metrics (transfers, uptime) the last value in the bucket.  Coarse service
buckets (7d, 30d) and the 30-day overview sample a few checks per bucket and
weight them, to stay fast; 1d points are exact per check.
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .auth import ApiToken, User
from .faults import LEGACY_VERSION
from .fleet import FleetServer, Monitor, QuotaRule, Status
from .frames import host_struct, state_struct
from .gojson import F32, GoMap, GoTime, ZERO_TIME, fields
from .story import BUFFER_EVERY, BUFFER_SIZE

if TYPE_CHECKING:
    from .server import DemoState

__all__ = [
    "Viewer", "GUEST", "METRICS", "PERIODS", "ApiFailure",
    "setting", "server_groups", "servers_full", "profile", "metrics", "server_services",
    "services_overview", "service_history", "service_servers", "visible_servers", "can_view_server",
]

METRICS = (
    "cpu", "memory", "swap", "disk", "net_in_speed", "net_out_speed", "net_in_transfer", "net_out_transfer",
    "load1", "load5", "load15", "tcp_conn", "udp_conn", "process_count", "temperature", "uptime", "gpu",
)
CUMULATIVE = ("net_in_transfer", "net_out_transfer", "uptime")
PERIODS = {"1d": (86400, 30), "7d": (7 * 86400, 1800), "30d": (30 * 86400, 7200), "": (86400, 30)}
AVG_PING_COUNT = 2  # the Dashboard's avg_ping_count default: ping results are averaged in pairs


class ApiFailure(Exception):
    """An error answered as ``{"error": message}`` with HTTP ``status``."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Viewer:
    user: User | None = None
    token: ApiToken | None = None

    @property
    def is_member(self) -> bool:
        return self.user is not None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def key(self) -> tuple:
        return (self.user.id if self.user else 0, self.is_admin, self.token.id if self.token else 0)


GUEST = Viewer()


# --------------------------------------------------------------------------- visibility


def can_view_server(v: Viewer, s: FleetServer) -> bool:
    if v.token is not None and not v.token.can_access_server(s.id):
        return False
    if v.is_admin:
        return True
    if v.user is not None and s.owner_id == v.user.id:
        return True
    return not s.hide_for_guest


def full_host_for(v: Viewer, s: FleetServer) -> bool:
    return v.is_admin or (v.user is not None and s.owner_id == v.user.id)


def visible_servers(st: "DemoState", v: Viewer) -> list[FleetServer]:
    by_id = st.fleet.by_id
    return [by_id[i] for i in st.fleet.order if can_view_server(v, by_id[i])]


def can_view_service(v: Viewer, m: Monitor) -> bool:
    if v.is_admin:
        return True
    return not m.hide_for_guest  # monitors are owned by the admin in the demo


def _t(st: "DemoState", seconds: float) -> GoTime:
    """A database time: microsecond precision, the Dashboard's zone."""
    return GoTime(int(round(seconds * 1e6)) * 1000, st.tz)


def parse_period(p: str) -> tuple[int, int]:
    if p not in PERIODS:
        raise ApiFailure(f"invalid period: {p}, expected 1d, 7d, or 30d")
    return PERIODS[p]


def parse_id(raw: str) -> int:
    """strconv.ParseUint(raw, 10, 64) with Go's error text."""
    if not raw.isascii() or not raw.isdigit():
        raise ApiFailure(f'strconv.ParseUint: parsing "{raw}": invalid syntax')
    n = int(raw)
    if n >= 1 << 64:
        raise ApiFailure(f'strconv.ParseUint: parsing "{raw}": value out of range')
    return n


# --------------------------------------------------------------------------- setting, groups, servers


def setting(st: "DemoState", v: Viewer) -> dict:
    guests = fields(("language", "en-US"), ("site_name", st.options.site_name),
                    ("custom_code", "<!-- nezha demo: <style>.x{}</style> & more -->", True))
    if v.is_admin:
        config = dict(guests)
        config.update(fields(("install_host", "demo.example.com:8008", True), ("user_template", "user-dist", True),
                             ("admin_template", "admin-dist", True)))
        return fields(("config", config), ("version", LEGACY_VERSION if st.faults.legacy else st.options.version, True),
                      ("frontend_templates", [
                          fields(("path", "user-dist", True), ("name", "Official", True),
                                 ("repository", "https://github.com/hamster1963/nezha-dash-v1", True),
                                 ("author", "hamster1963", True), ("version", "v1.30.1", True),
                                 ("is_official", True, True)),
                          fields(("path", "admin-dist", True), ("name", "Official Admin", True),
                                 ("is_admin", True, True), ("is_official", True, True)),
                      ], True),
                      *_tsdb_field(st))
    config = dict(guests)
    if v.is_member:
        config.update(fields(("install_host", "demo.example.com:8008", True)))
    return fields(("config", config), *_tsdb_field(st))


def _tsdb_field(st: "DemoState") -> tuple:
    """``tsdb_enabled`` (not omitempty) - absent before v2.0.0 (``faults.legacy``)."""
    return () if st.faults.legacy else (("tsdb_enabled", st.faults.tsdb),)


def server_groups(st: "DemoState", v: Viewer) -> list | None:
    visible = {s.id for s in visible_servers(st, v)} if not v.is_member else None
    out = []
    for g in st.fleet.groups:
        ids = [i for i in g.server_ids
               if (visible is None or i in visible) and (v.token is None or v.token.can_access_server(i))]
        if v.is_member and not v.is_admin:
            continue  # groups belong to the admin: a member sees none
        if not v.is_member and not ids:
            continue
        if v.token is not None and v.token.server_ids and not ids:
            continue
        out.append(fields(
            ("group", fields(("id", g.id, True), ("created_at", _t(st, g.created_at)),
                             ("updated_at", _t(st, g.updated_at)), ("name", g.name))),
            ("servers", ids if ids else None),
        ))
    return out or None


def _server_record(st: "DemoState", s: FleetServer, now_sec: int) -> dict:
    enc = st.encoder
    la = enc.last_active_ns(s, now_sec)
    state = enc.state_at(s, now_sec)
    geo_ip = fields(("ipv4_addr", s.ipv4, True), ("ipv6_addr", s.ipv6, True))
    return fields(
        ("id", s.id, True), ("created_at", _t(st, s.created_at)), ("updated_at", _t(st, s.updated_at)),
        ("name", s.name), ("uuid", s.uuid, True), ("note", s.note, True), ("public_note", s.public_note, True),
        ("display_index", s.display_index), ("hide_for_guest", s.hide_for_guest, True),
        ("enable_ddns", s.enable_ddns, True), ("ddns_profiles", list(s.ddns_profiles), True),
        ("host", host_struct(s.host, full=True)), ("state", state_struct(state)),
        ("geoip", fields(("ip", geo_ip), ("country_code", s.country, True))),
        ("last_active", GoTime(la, st.tz) if la is not None else ZERO_TIME),
        ("owner", fields(("id", s.owner_id), ("username", st.auth.users[s.owner_id].username, True))),
    )


def servers_full(st: "DemoState", v: Viewer, id_query: str | None, now: float) -> list | None:
    """``GET /server``: servers the caller may manage, then the ``?id=`` search of model.SearchByID."""
    now_sec = int(now)
    mine = [s for s in (st.fleet.by_id[i] for i in st.fleet.order)
            if (v.is_admin or (v.user is not None and s.owner_id == v.user.id))
            and (v.token is None or v.token.can_access_server(s.id))]
    if id_query is not None:
        pri = [s for s in mine if s.display_index != 0]
        rest = [s for s in mine if s.display_index == 0]
        rest_by_id = {s.id: s for s in rest}
        picked1, picked2 = [], []
        for part in id_query.split(","):
            if not part.isascii() or not part.isdigit():
                continue
            n = int(part)
            hit = next((s for s in pri if s.id == n), None)
            if hit is not None:
                picked1.append(hit)
            if n in rest_by_id:
                picked2.append(rest_by_id[n])
        if picked1 or picked2:
            mine = picked1 + picked2
    return [_server_record(st, s, now_sec) for s in mine] or None


def profile(st: "DemoState", v: Viewer, client_ip: str) -> dict:
    u = v.user
    assert u is not None
    return fields(("id", u.id, True), ("created_at", _t(st, u.created_at)), ("updated_at", _t(st, u.created_at)),
                  ("username", u.username, True), ("role", u.role), ("agent_secret", u.agent_secret, True),
                  ("login_ip", client_ip, True))


# --------------------------------------------------------------------------- metric history


def _data_end(st: "DemoState", s: FleetServer, now: float) -> int | None:
    """Last whole second with data for ``s`` (None: no data at all)."""
    if s.host is None or s.status == Status.NEVER:
        return None
    if s.status == Status.ONLINE:
        return st.encoder.report_ns(s, int(now)) // 1_000_000_000 if st.story.frozen_at(s.id, int(now)) else int(now)
    return st.encoder.last_report_ns(s) // 1_000_000_000


def metric_points(st: "DemoState", s: FleetServer, metric: str, period: str, now: float) -> list | None:
    """Data points ``[{"ts","value"}]`` as the TSDB answers them (None: no data)."""
    span, step = PERIODS[period]
    end = _data_end(st, s, now)
    if end is None:
        return None
    if metric == "temperature" and not s.sensors:
        return None
    if metric == "gpu" and (s.host is None or not s.host.gpu):
        return None
    now_sec = int(now)
    last_bucket = (now_sec // step) * step
    n = span // step
    first = last_bucket - (n - 1) * step
    start = max(first, ((s.host.boot_time if metric == "uptime" else 0) // step) * step)
    cumulative = metric in CUMULATIVE
    sig = st.signals
    story = st.story
    out = []
    ts = start
    while ts <= last_bucket and ts <= end:
        if story.frozen_at(s.id, ts) is not None:  # the story's server was not reporting: no data
            ts += step
            continue
        at = min(ts + step - 1, end) if cumulative else ts
        val = sig.metric(s, metric, at)
        if val is not None:
            out.append({"ts": ts * 1000, "value": float(val)})
        ts += step
    return out or None


def _visible_server(st: "DemoState", v: Viewer, raw_id: str):
    """The server of a ``/server/{id}/...`` route, or the Dashboard's error for it."""
    s = st.fleet.by_id.get(parse_id(raw_id))
    if s is None:
        raise ApiFailure("server not found")
    if not can_view_server(v, s):
        raise ApiFailure("unauthorized")
    return s


def metrics(st: "DemoState", v: Viewer, raw_id: str, metric: str, period: str, now: float) -> dict:
    s = _visible_server(st, v, raw_id)
    sid = s.id
    if metric not in METRICS:
        raise ApiFailure("invalid metric name")
    parse_period(period)
    if not v.is_member and period not in ("1d", ""):
        raise ApiFailure("unauthorized: only 1d data available for guests")
    points: list | None = []
    if st.faults.tsdb:
        points = metric_points(st, s, metric, period or "1d", now)
    return fields(("server_id", sid), ("server_name", s.name, True), ("metric", metric), ("data_points", points))


# --------------------------------------------------------------------------- service checks


def _reporter_end(st: "DemoState", sid: int, now: float) -> int | None:
    s = st.fleet.by_id.get(sid)
    return None if s is None else _data_end(st, s, now)


def _points(st: "DemoState", m: Monitor, sid: int, t_from: int, t_to: int, stride: int = 1, *, story: bool = True):
    """Service points of reporter ``sid`` in ``(t_from, t_to]``: (ts seconds, delay, up).

    HTTP writes one point per check; ICMP/TCP average ``AVG_PING_COUNT`` checks
    into one point.  ``stride`` > 1 yields only every stride-th point (the
    caller weights them).
    """
    sig = st.signals
    per = 1 if m.type == 1 else AVG_PING_COUNT
    step = m.duration * per
    k = t_from // step + 1  # point k averages checks k*per-per+1 .. k*per, written at k*step
    if stride > 1:
        k = ((k + stride - 1) // stride) * stride
    while k * step <= t_to:
        if per == 1:
            d, up = sig.check(m, sid, k, story=story)
        else:
            tot = 0.0
            ok = 0
            for c in range(k * per - per + 1, k * per + 1):
                dd, u = sig.check(m, sid, c, story=story)
                tot += dd
                ok += u
            d, up = tot / per, ok * 2 >= per
        yield k * step, d, up
        k += stride


def _summary(st: "DemoState", m: Monitor, sid: int, span: int, step: int, now: float) -> dict | None:
    end = _reporter_end(st, sid, now)
    if end is None:
        return None
    now_sec = int(now)
    t_from = now_sec - span
    t_to = min(now_sec, end)
    per_point = m.duration * (1 if m.type == 1 else AVG_PING_COUNT)
    points_per_bucket = max(1, step // per_point)
    stride = max(1, points_per_bucket // 6)
    buckets: dict[int, list] = {}
    tot_delay = 0.0
    n = 0
    up_n = 0
    down_n = 0
    for ts, d, up in _points(st, m, sid, t_from, t_to, stride):
        b = (ts // step) * step
        acc = buckets.get(b)
        if acc is None:
            acc = buckets[b] = [0.0, 0, 0, 0]  # delay sum, count, up, status count
        acc[0] += d
        acc[1] += 1
        acc[2] += up
        acc[3] += 1
        tot_delay += d
        n += 1
        if up:
            up_n += stride
        else:
            down_n += stride
    if not n:
        return fields(("avg_delay", 0.0), ("up_percent", F32(0.0)), ("total_up", 0), ("total_down", 0),
                      ("data_points", None, True))
    dps = [{"ts": b * 1000, "delay": a[0] / a[1], "status": 1 if a[2] > a[3] // 2 else 0}
           for b, a in sorted(buckets.items())]
    return fields(("avg_delay", tot_delay / n),
                  ("up_percent", F32(_f32_percent(up_n, up_n + down_n))),
                  ("total_up", up_n), ("total_down", down_n), ("data_points", dps, True))


def _f32_percent(up: int, total: int) -> float:
    import struct
    if not total:
        return 0.0
    f = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]  # noqa: E731 - float32 arithmetic
    return f(f(f(float(up)) / f(float(total))) * 100.0)


def _db_summary(st: "DemoState", m: Monitor, sid: int, span: int, now: float) -> dict | None:
    """Service history without TSDB: per-server ping records (Up/Down not stored -> status 1, 0 %)."""
    end = _reporter_end(st, sid, now)
    if end is None or m.type == 1:
        return None
    now_sec = int(now)
    dps = []
    total = 0.0
    for ts, d, _up in _points(st, m, sid, now_sec - span, min(now_sec, end)):
        dps.append({"ts": ts * 1000, "delay": d, "status": 1})
        total += d
    if not dps:
        return None
    return fields(("avg_delay", total / len(dps)), ("up_percent", F32(0.0)), ("total_up", 0), ("total_down", 0),
                  ("data_points", dps, True))


def _monitor(st: "DemoState", v: Viewer, raw_id: str) -> Monitor:
    mid = parse_id(raw_id)
    m = next((x for x in st.fleet.monitors if x.id == mid), None)
    if m is None or not can_view_service(v, m):
        raise ApiFailure("service not found")
    return m


def service_history(st: "DemoState", v: Viewer, raw_id: str, period: str, now: float) -> dict:
    m = _monitor(st, v, raw_id)
    span, step = parse_period(period)
    if not v.is_member and period not in ("1d", ""):
        raise ApiFailure("unauthorized: only 1d data available for guests")
    servers = []
    for sid in sorted(m.reporters):
        s = st.fleet.by_id.get(sid)
        if s is None or not can_view_server(v, s):
            continue
        stats = _summary(st, m, sid, span, step, now) if st.faults.tsdb else _db_summary(st, m, sid, span, now)
        if stats is None or (st.faults.tsdb and "data_points" not in stats):
            continue
        servers.append(fields(("server_id", sid), ("server_name", s.name, True), ("stats", stats)))
    return fields(("service_id", m.id), ("service_name", m.name, True), ("servers", servers))


def _sorted_monitors(st: "DemoState") -> list[Monitor]:
    return sorted(st.fleet.monitors, key=lambda m: (-m.display_index, m.id))


def server_services(st: "DemoState", v: Viewer, raw_id: str, period: str, now: float) -> list | None:
    s = _visible_server(st, v, raw_id)
    sid = s.id
    span, step = parse_period(period)
    if not v.is_member and period not in ("1d", ""):
        raise ApiFailure("unauthorized: only 1d data available for guests")
    out = []
    for m in _sorted_monitors(st):
        if not can_view_service(v, m) or sid not in m.reporters:
            continue
        stats = _summary(st, m, sid, span, step, now) if st.faults.tsdb else _db_summary(st, m, sid, span, now)
        if not stats or not stats.get("data_points"):
            continue
        dps = stats["data_points"]
        out.append(fields(("monitor_id", m.id), ("server_id", sid), ("monitor_name", m.name),
                          ("server_name", s.name), ("display_index", m.display_index),
                          ("created_at", [p["ts"] for p in dps]), ("avg_delay", [p["delay"] for p in dps])))
    return out or None


def service_servers(st: "DemoState", v: Viewer) -> list | None:
    ids = set()
    for m in st.fleet.monitors:
        ids.update(m.reporters)
    out = [i for i in ids if i in st.fleet.by_id and can_view_server(v, st.fleet.by_id[i])]
    # the Dashboard iterates a Go map: no particular order; the demo rotates deterministically
    out.sort(key=lambda i: (i * 7919) % 1009)
    return out or None


# --------------------------------------------------------------------------- service overview


def _midnight(now: float, tz: int) -> int:
    local = int(now) + tz
    return local - local % 86400 - tz


def _day_stats(st: "DemoState", m: Monitor, day_start: int, day_end: int, now: float) -> tuple[int, int, float]:
    key = (m.id, day_start, day_end, st.faults.tsdb)
    hit = st.day_cache.get(key)
    if hit is not None:
        return hit
    up = down = 0
    delay = 0.0
    cnt = 0
    per_point = m.duration * (1 if m.type == 1 else AVG_PING_COUNT)
    stride = max(1, (86400 // per_point) // 48)
    for sid in m.reporters:
        end = _reporter_end(st, sid, now)
        if end is None:
            continue
        t_to = min(day_end, end)
        for _ts, d, ok in _points(st, m, sid, day_start, t_to, stride, story=False):
            if ok:
                up += stride
            else:
                down += stride
            delay = (delay * cnt + d) / (cnt + 1)
            cnt += 1
        # the story's outages are short: sampling would miss them, so they are counted exactly
        step = per_point
        for a, b in st.story.outages(m.id, day_start, t_to):
            lo, hi = max(day_start, int(a) - step), min(t_to, int(b) + step)
            plain = [ok for _ts, _d, ok in _points(st, m, sid, lo, hi, story=False)]
            told = [ok for _ts, _d, ok in _points(st, m, sid, lo, hi)]
            lost = sum(plain) - sum(told)
            up, down = max(0, up - lost), down + lost
    res = (up, down, delay)
    if day_end <= int(now) - 60:  # complete days never change
        st.day_cache[key] = res
    return res


def _current(st: "DemoState", m: Monitor, now: float) -> tuple[int, int]:
    """``current_up``/``current_down`` as servicesentinel.go keeps them.

    The Dashboard appends at most one reported result per 30 s to a buffer and
    empties it when it holds 30 (about 15 minutes); the counters are the
    buffer's results, so they climb from 1 to 30 and start over.  Where a
    buffer starts over is the monitor's phase (the story sets it for its
    monitors).  The result entering at ``tau`` is the latest check by the
    next reporter (in turn) that still reports then.
    """
    phase = st.story.buffer_phase(m.id)
    latest = math.floor((now - phase) / BUFFER_EVERY)
    first = latest - latest % BUFFER_SIZE
    ends = [(sid, _reporter_end(st, sid, now)) for sid in m.reporters]
    up = down = 0
    for i in range(first, latest + 1):
        tau = phase + i * BUFFER_EVERY
        for j in range(len(ends)):
            sid, e = ends[(i + j) % len(ends)]
            if e is not None and tau <= e + 1 and (s := st.fleet.by_id.get(sid)) is not None \
                    and st.story.frozen_at(s.id, int(tau)) is None:
                if st.signals.check(m, sid, int(tau // m.duration))[1]:
                    up += 1
                else:
                    down += 1
                break
    return up, down


def services_overview(st: "DemoState", v: Viewer, now: float) -> dict:
    today = _midnight(now, st.tz)
    services = GoMap()
    for m in st.fleet.monitors:
        if not can_view_service(v, m):
            continue
        ups, downs, delays = [], [], []
        for d in range(30):
            start = today - (29 - d) * 86400
            end = min(start + 86400, int(now))
            u, dn, dl = _day_stats(st, m, start, end, now)
            ups.append(u)
            downs.append(dn)
            delays.append(dl)
        cu, cd = _current(st, m, now)
        services[m.id] = fields(("service_name", m.name, True), ("current_up", cu), ("current_down", cd),
                                ("total_up", sum(ups)), ("total_down", sum(downs)),
                                ("delay", delays), ("up", ups), ("down", downs))
    cycles = GoMap()
    for r in st.fleet.rules:
        c = _cycle(st, v, r, now)
        if c is not None:
            cycles[r.id] = c
    return fields(("services", services, True), ("cycle_transfer_stats", cycles, True))


def _cycle(st: "DemoState", v: Viewer, r: QuotaRule, now: float) -> dict | None:
    tz = st.tz
    if r.cycle == "story":  # the story's Burst cap: a cycle per episode (story.py)
        start, stop = st.story.cycle_bounds(now)
    elif r.cycle == "day":
        start = _midnight(now, tz)
        stop = start + 86400 - 1
    else:
        lt = time.gmtime(int(now) + tz)
        start = calendar.timegm((lt.tm_year, lt.tm_mon, 1, 0, 0, 0)) - tz
        ny, nm = (lt.tm_year + 1, 1) if lt.tm_mon == 12 else (lt.tm_year, lt.tm_mon + 1)
        stop = calendar.timegm((ny, nm, 1, 0, 0, 0)) - tz - 1
    names, transfer, nxt = GoMap(), GoMap(), GoMap()
    now_sec = int(now)
    for sid in r.server_ids:
        s = st.fleet.by_id.get(sid)
        if s is None or not can_view_server(v, s) or s.host is None:
            continue
        end = _data_end(st, s, now)
        names[sid] = s.name
        used = 0
        if end is not None and end >= start:
            used = st.story.base_use(s, start, end, st.signals)
            if r.cycle == "story":
                used += st.story.burst(sid, end, st.signals)
        transfer[sid] = used
        nxt[sid] = GoTime(((now_sec // 60) + 1) * 60 * 1_000_000_000 + (sid * 7_919_000) % 1_000_000_000, tz)
    if not names and not transfer and not nxt:
        return None
    return fields(("name", r.name), ("from", GoTime(start * 1_000_000_000, tz)),
                  ("to", GoTime(stop * 1_000_000_000, tz)), ("max", r.max), ("min", r.min),
                  ("server_name", names, True), ("transfer", transfer, True), ("next_update", nxt, True))
