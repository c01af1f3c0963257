"""Stream frames of ``/api/v1/ws/server``, encoded fast.

A frame is ``{"now","online","servers":[StreamServer...]}`` encoded like Go's
``model.StreamServerData`` (every field ``omitempty``: ``servers`` absent when
empty, ``public_note`` only when requested - the first frame of a
connection).  The static parts of each server (id, name, note, index, Host,
country) are encoded once per view and cached; per frame only ``state`` and
``last_active`` are written.  Offline servers' state never changes, so it is
cached too.
"""

from __future__ import annotations

from .fleet import Fleet, FleetServer, HostFacts, Status
from .gojson import ZERO_TIME_JSON, dumps, fields, go_float, go_str, rfc3339nano
from .signals import Signals, State

__all__ = ["host_struct", "state_struct", "state_json", "FrameEncoder"]


def host_struct(h: HostFacts | None, *, full: bool) -> dict:
    """``model.Host`` (``Filter()``-ed unless ``full``): every field omitempty."""
    if h is None:
        return {}
    return fields(
        ("platform", h.platform, True),
        ("platform_version", h.platform_version if full else "", True),
        ("cpu", list(h.cpu), True),
        ("mem_total", h.mem_total, True),
        ("disk_total", h.disk_total, True),
        ("swap_total", h.swap_total, True),
        ("arch", h.arch, True),
        ("virtualization", h.virtualization, True),
        ("boot_time", h.boot_time, True),
        ("version", h.version if full else "", True),
        ("gpu", list(h.gpu), True),
    )


def state_struct(st: State | None) -> dict:
    """``model.HostState`` as a struct for :func:`gojson.dumps` (every field omitempty)."""
    if st is None:
        return {}
    return fields(
        ("cpu", st.cpu, True), ("mem_used", st.mem_used, True), ("swap_used", st.swap_used, True),
        ("disk_used", st.disk_used, True), ("net_in_transfer", st.net_in_transfer, True),
        ("net_out_transfer", st.net_out_transfer, True), ("net_in_speed", st.net_in_speed, True),
        ("net_out_speed", st.net_out_speed, True), ("uptime", st.uptime, True),
        ("load_1", st.load_1, True), ("load_5", st.load_5, True), ("load_15", st.load_15, True),
        ("tcp_conn_count", st.tcp_conn_count, True), ("udp_conn_count", st.udp_conn_count, True),
        ("process_count", st.process_count, True),
        ("temperatures", [{"Name": n, "Temperature": v} for n, v in st.temperatures], True),
        ("gpu", list(st.gpu), True),
    )


def state_json(st: State) -> str:
    """The same as ``dumps(state_struct(st))``, written directly (hot path)."""
    p = []
    if st.cpu:
        p.append('"cpu":' + go_float(st.cpu))
    if st.mem_used:
        p.append('"mem_used":%d' % st.mem_used)
    if st.swap_used:
        p.append('"swap_used":%d' % st.swap_used)
    if st.disk_used:
        p.append('"disk_used":%d' % st.disk_used)
    if st.net_in_transfer:
        p.append('"net_in_transfer":%d' % st.net_in_transfer)
    if st.net_out_transfer:
        p.append('"net_out_transfer":%d' % st.net_out_transfer)
    if st.net_in_speed:
        p.append('"net_in_speed":%d' % st.net_in_speed)
    if st.net_out_speed:
        p.append('"net_out_speed":%d' % st.net_out_speed)
    if st.uptime:
        p.append('"uptime":%d' % st.uptime)
    if st.load_1:
        p.append('"load_1":' + go_float(st.load_1))
    if st.load_5:
        p.append('"load_5":' + go_float(st.load_5))
    if st.load_15:
        p.append('"load_15":' + go_float(st.load_15))
    if st.tcp_conn_count:
        p.append('"tcp_conn_count":%d' % st.tcp_conn_count)
    if st.udp_conn_count:
        p.append('"udp_conn_count":%d' % st.udp_conn_count)
    if st.process_count:
        p.append('"process_count":%d' % st.process_count)
    if st.temperatures:
        p.append('"temperatures":[' + ",".join(
            '{"Name":' + go_str(n) + ',"Temperature":' + go_float(v) + "}" for n, v in st.temperatures) + "]")
    if st.gpu:
        p.append('"gpu":[' + ",".join(go_float(g) for g in st.gpu) + "]")
    return "{" + ",".join(p) + "}"


class FrameEncoder:
    """Builds frames for a fleet; caches static parts per (server, view)."""

    def __init__(self, fleet: Fleet, signals: Signals, tz_offset: int) -> None:
        self.fleet = fleet
        self.signals = signals
        self.tz = tz_offset
        self._head: dict[tuple[int, bool], str] = {}  # (id, with_note) -> '{"id":..,"name":..[,"public_note":..]'
        self._mid: dict[tuple[int, bool], str] = {}  # (id, full_host) -> ',"display_index":..,"host":{..},"state":'
        self._tail: dict[int, str] = {}  # id -> ',"country_code":"de","last_active":'
        self._frozen: dict[int, str] = {}  # id -> state + tail + last_active for servers that do not report

    def _head_of(self, s: FleetServer, with_note: bool) -> str:
        k = (s.id, with_note)
        v = self._head.get(k)
        if v is None:
            v = '{"id":%d' % s.id
            if s.name:
                v += ',"name":' + go_str(s.name)
            if with_note and s.public_note:
                v += ',"public_note":' + go_str(s.public_note)
            self._head[k] = v
        return v

    def _mid_of(self, s: FleetServer, full: bool) -> str:
        k = (s.id, full)
        v = self._mid.get(k)
        if v is None:
            v = ""
            if s.display_index:
                v += ',"display_index":%d' % s.display_index
            v += ',"host":' + dumps(host_struct(s.host, full=full)) + ',"state":'
            self._mid[k] = v
        return v

    def _tail_of(self, s: FleetServer) -> str:
        v = self._tail.get(s.id)
        if v is None:
            v = (',"country_code":' + go_str(s.country) if s.country else "") + ',"last_active":'
            self._tail[s.id] = v
        return v

    def server_rest(self, s: FleetServer, now_sec: int) -> str:
        """``state`` JSON + tail + ``last_active`` + closing brace for server ``s`` at ``now_sec``."""
        if s.status == Status.ONLINE:
            ns = self.report_ns(s, now_sec)
            st = self.signals.sample(s, ns // 1_000_000_000)
            return state_json(st) + self._tail_of(s) + '"' + rfc3339nano(ns, self.tz) + '"}'
        v = self._frozen.get(s.id)
        if v is None:
            v = self._tail_of(s)
            if s.status == Status.NEVER or s.host is None:
                v = "{}" + v + ZERO_TIME_JSON + "}"
            else:
                ns = self.last_report_ns(s)
                st = state_json(self.signals.sample(s, ns // 1_000_000_000))
                if s.status == Status.DISCONNECTED:
                    v = st + v + ZERO_TIME_JSON + "}"
                else:
                    v = st + v + '"' + rfc3339nano(ns, self.tz) + '"}'
            self._frozen[s.id] = v
        return v

    def report_ns(self, s: FleetServer, now_sec: int) -> int:
        """When an online server's latest report arrived, as seen at ``now_sec`` (the story may hold it back)."""
        story = self.signals.story
        if story is not None:
            held = story.frozen_at(s.id, now_sec)
            if held is not None:
                return self.signals.report_time_ns(s, held)
        return self.signals.report_time_ns(s, now_sec)

    def last_report_ns(self, s: FleetServer) -> int:
        """When a server that stopped reporting last reported (epoch ns)."""
        if s.status == Status.DISCONNECTED:
            age = 26 * 60.0
        else:
            age = s.offline_age
        return int(round((self.fleet.t0 - age) * 1e9))

    def last_active_ns(self, s: FleetServer, now_sec: int) -> int | None:
        """``last_active`` as the stream shows it (None: zero time)."""
        if s.status == Status.ONLINE:
            return self.report_ns(s, now_sec)
        if s.status == Status.OFFLINE:
            return self.last_report_ns(s)
        return None

    def state_at(self, s: FleetServer, now_sec: int) -> State | None:
        """The state the stream shows for ``s`` at ``now_sec`` (None: ``{}``)."""
        if s.host is None or s.status == Status.NEVER:
            return None
        if s.status == Status.ONLINE:
            return self.signals.sample(s, self.report_ns(s, now_sec) // 1_000_000_000)
        return self.signals.sample(s, self.last_report_ns(s) // 1_000_000_000)

    def frame(self, now: float, online: int, visible: list[FleetServer], *, with_note: bool, full_host) -> str:
        """One frame. ``full_host(server) -> bool`` says whether this viewer sees the unfiltered Host."""
        now_sec = int(now // 1)
        parts = []
        for s in visible:
            parts.append(self._head_of(s, with_note) + self._mid_of(s, full_host(s)) + self.server_rest(s, now_sec))
        out = '{"now":%d' % (now_sec * 1000) if now_sec else "{"
        if online:
            out += (',' if now_sec else '') + '"online":%d' % online
        if parts:
            out += (',' if out != "{" else "") + '"servers":[' + ",".join(parts) + "]"
        return out + "}"
