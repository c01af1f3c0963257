"""The tolerant decoder against hand-written fixtures in the Dashboard's real shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from nezha_tui.api.decode import DecodeReport, convert_lenient, decode_data, decode_frame
from nezha_tui.api.errors import (
    ApiError, CsrfRejected, GuestPeriodDenied, MissingScope, NotFound, ProtocolError,
    TokenRejected, Unauthorized,
)
from nezha_tui.api.models import (
    FullServer, HostState, LoginResult, MetricSeries, Profile, ServerGroup, ServerServiceSeries,
    ServiceHistory, ServiceOverview, Setting, StreamFrame,
)

FIX = Path(__file__).parent / "fixtures"
CST = timezone(timedelta(hours=8))


def fx(name: str) -> bytes:
    return (FIX / name).read_bytes()


def by_id(frame: StreamFrame) -> dict:
    return {s.id: s for s in frame.servers}


# --------------------------------------------------------------------------- stream frames


def test_first_frame_typed_fast_path_and_all_values():
    frame, report = decode_frame(fx("frame_first.json"))
    assert report.clean and report.notes == []
    assert frame.now == 1795665600000 and frame.online == 3
    assert [s.id for s in frame.servers] == [3, 1, 7, 8]  # Dashboard order kept
    tokyo = by_id(frame)[3]
    assert tokyo.public_note.startswith('{"billingDataMod"')
    assert tokyo.country_code == "jp" and tokyo.display_index == 10
    # nanoseconds and the +08:00 offset; microsecond precision is what Python keeps
    assert tokyo.last_active == datetime(2026, 11, 26, 12, 0, 0, 734282, tzinfo=CST)
    assert tokyo.last_active.utcoffset() == timedelta(hours=8)
    # capitalised temperature keys; ints where floats are expected
    temps = tokyo.state.temperatures
    assert [(t.name, t.temperature) for t in temps] == [("coretemp_package_id_0", 45.0), ("nvme_composite", 38.85)]
    assert isinstance(temps[0].temperature, float)
    assert tokyo.state.gpu == (3.0,) and isinstance(tokyo.state.gpu[0], float)
    assert tokyo.state.load_15 == 1.0 and isinstance(tokyo.state.load_15, float)
    # Go's shortest float printing round-trips exactly
    assert tokyo.state.cpu == 12.345678901234567
    assert tokyo.host.cpu == ("AMD EPYC 7B13 8 Virtual Core",) and tokyo.host.gpu == ("NVIDIA T4",)
    assert tokyo.host.mem_total == 8326979584 and tokyo.state.net_in_transfer == 987654321012


def test_omitted_zeros_default():
    frame, _ = decode_frame(fx("frame_first.json"))
    fra = by_id(frame)[1]
    # guest view: no platform_version / version; zeros omitted
    assert fra.host.platform_version == "" and fra.host.version == "" and fra.host.swap_total == 0
    assert fra.state.swap_used == 0 and fra.state.load_5 == 0.0 and fra.state.udp_conn_count == 0
    assert fra.state.temperatures == () and fra.state.gpu == ()
    assert fra.public_note is None  # absent key (omitempty)


def test_never_connected_empty_objects_and_zero_time():
    frame, report = decode_frame(fx("frame_first.json"))
    never = by_id(frame)[7]
    assert never.last_active is None  # 0001-01-01T00:00:00Z
    assert never.host.platform == "" and never.state.cpu == 0.0 and never.country_code == ""
    nas = by_id(frame)[8]
    assert nas.last_active is None and nas.host.arch == "aarch64"  # last values kept while offline
    assert nas.state.cpu == 1.0
    assert report.clean


def test_later_frame_without_public_note_and_utc_time():
    frame, report = decode_frame(fx("frame_later.json"))
    assert report.clean
    s = by_id(frame)
    assert all(x.public_note is None for x in (s[3], s[1], s[7], s[8]))
    assert s[9].public_note == ""  # present but empty
    assert s[1].last_active == datetime(2026, 11, 26, 4, 0, 1, 500000, tzinfo=timezone.utc)
    assert s[3].last_active.microsecond == 734282  # 7 fraction digits (trailing zeros trimmed)


def test_servers_absent():
    frame, report = decode_frame(fx("frame_no_servers.json"))
    assert frame.servers == [] and frame.online == 1 and report.clean
    frame, report = decode_frame(b"{}")
    assert frame.now == 0 and frame.servers == [] and report.clean


def test_null_host_state_and_lists_are_defaults_not_errors():
    frame, report = decode_frame(fx("frame_nulls.json"))
    assert report.bad_fields == 0 and report.dropped_servers == 0
    s = by_id(frame)
    assert s[11].host.mem_total == 0 and s[11].state.cpu == 0.0 and s[11].country_code == ""
    assert s[11].last_active == datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)
    assert s[12].last_active is None and s[12].host.platform == ""
    assert s[13].host.cpu == () and s[13].host.mem_total == 1024
    assert s[13].state.temperatures == () and s[13].state.cpu == 3.5


def test_wrong_types_cost_one_field_not_the_frame():
    frame, report = decode_frame(fx("frame_bad_types.json"))
    s = by_id(frame)
    assert sorted(s) == [21, 22, 23, 24, 25]
    assert report.dropped_servers == 3  # no id, negative id, not an object
    assert report.bad_fields == 6
    # server 21 untouched
    assert s[21].state.cpu == 10.5 and s[21].state.mem_used == 100
    # one bad field: cpu defaults, the rest of the server is kept
    assert s[22].state.cpu == 0.0 and s[22].state.mem_used == 200 and s[22].state.load_1 == 0.5
    assert s[22].host.mem_total == 2048 and s[22].name == "one-bad-field"
    # bad name, a garbage temperature item dropped, a bad temperature value defaulted, bad time
    assert s[23].name == "" and s[23].state.cpu == 1.0 and s[23].last_active is None
    assert [(t.name, t.temperature) for t in s[23].state.temperatures] == [("ok", 40.0), ("t2", 0.0)]
    # lenient scalars: "24" id, 1.0 for an int, 1.5e9 bytes
    assert s[24].display_index == 1 and s[24].state.mem_used == 1_500_000_000
    # a host that is not an object: defaults, the state is kept
    assert s[25].host.platform == "" and s[25].state.cpu == 2.0
    assert any("server 22.state.cpu" in n for n in report.notes)
    assert len(report.notes) <= 13


@pytest.mark.parametrize("data", [b"", b"garbage", b"{\"now\":", b"\xff\xfe", "[1,2]", b"null", b"42", b'"x"'])
def test_garbage_raises_protocol_error_only(data):
    with pytest.raises(ProtocolError):
        decode_frame(data)


def test_servers_not_a_list_and_top_level_wrong_types():
    frame, report = decode_frame(b'{"now":"soon","online":2.0,"servers":{"id":1}}')
    assert frame.servers == [] and frame.online == 2 and frame.now == 0
    assert report.bad_fields == 2


def test_frame_accepts_str_and_float_time_fractions():
    doc = {"now": 1000, "servers": [{"id": 1, "last_active": "2026-11-26T12:00:01.1+05:45"}]}
    frame, report = decode_frame(json.dumps(doc))
    assert frame.servers[0].last_active.utcoffset() == timedelta(hours=5, minutes=45)
    assert report.clean


def test_report_notes_are_bounded():
    servers = [{"id": i, "state": {"cpu": "x"}} for i in range(1, 60)]
    frame, report = decode_frame(json.dumps({"servers": servers}))
    assert len(frame.servers) == 59 and report.bad_fields == 59
    assert len(report.notes) == 13 and report.notes[-1].startswith("…")


# --------------------------------------------------------------------------- REST envelopes


def test_setting_guest_and_admin():
    s = decode_data(fx("setting_guest.json"), Setting)
    assert s.config.site_name == "Nezha Monitoring" and s.config.language == "en-US"
    assert s.tsdb_enabled is True and s.version == ""
    a = decode_data(fx("setting_admin.json"), Setting)
    assert a.version == "1.14.2" and a.tsdb_enabled is False and a.config.oauth2_providers == ["GitHub"]
    assert len(a.frontend_templates) == 2


def test_server_groups_with_null_servers():
    report = DecodeReport()
    groups = decode_data(fx("server_group.json"), list[ServerGroup], report)
    assert [g.group.name for g in groups] == ["Asia", "Empty group", "Europe"]
    assert groups[0].servers == [3, 8] and groups[1].servers == [] and groups[2].servers == [1]
    assert groups[0].group.updated_at == datetime(2026, 10, 5, 9, 12, 44, 500000, tzinfo=CST)
    assert report.clean


@pytest.mark.parametrize("typ, empty", [
    (list[ServerServiceSeries], []), (list[ServerGroup], []), (list[int], []),
    (ServiceOverview, ServiceOverview()), (MetricSeries, MetricSeries()),
])
def test_success_without_data_is_empty(typ, empty):
    assert decode_data(fx("success_no_data.json"), typ) == empty


def test_full_servers_zero_time_and_maps():
    servers = decode_data(fx("servers_full.json"), list[FullServer])
    tokyo, never = servers
    assert tokyo.geoip.ip.ipv4_addr == "203.0.113.7" and tokyo.owner.username == "admin"
    assert tokyo.override_ddns_domains == {1: ["tokyo.example.com"]} and tokyo.ddns_profiles == [1, 2]
    assert tokyo.note == "root pw in vault"
    assert never.last_active is None and never.geoip.ip.ipv4_addr == "" and never.hide_for_guest


def test_metrics_points_null_empty_and_ints():
    m = decode_data(fx("metrics_cpu.json"), MetricSeries)
    assert [p.value for p in m.data_points] == [12.5, 13.0, 0.30000000000000004]
    assert m.data_points[0].ts == 1795579230000
    assert decode_data(fx("metrics_null_points.json"), MetricSeries).data_points == []
    assert decode_data(fx("metrics_tsdb_off.json"), MetricSeries).data_points == []


def test_server_services_parallel_arrays():
    rows = decode_data(fx("server_service.json"), list[ServerServiceSeries])
    assert rows[0].created_at == [1795579230000, 1795579260000, 1795579290000]
    assert rows[0].avg_delay == [31.5, 30.0, 29.123] and rows[1].avg_delay == []


def test_service_overview_string_keys_and_cycle_stats():
    ov = decode_data(fx("service_overview.json"), ServiceOverview)
    assert set(ov.services) == {2, 5}
    item = ov.services[2]
    assert len(item.delay) == 30 and item.up[29] == 1440 and item.down[28] == 400
    assert round(item.uptime_percent, 3) == round(86000 / 86400 * 100, 3)
    assert ov.services[5].delay == [] and ov.services[5].uptime_percent == 0.0
    cyc = ov.cycle_transfer_stats[4]
    assert cyc.from_ == datetime(2026, 11, 1, tzinfo=CST) and cyc.max == 1099511627776
    assert cyc.server_name == {3: "tokyo-1", 1: "frankfurt"} and cyc.transfer[3] == 536870912000
    assert list(cyc.next_update) == [3]  # the zero-time entry means "never": dropped
    assert decode_data(fx("service_overview_empty.json"), ServiceOverview) == ServiceOverview()


def test_service_history_float32_and_missing_points():
    h = decode_data(fx("service_history.json"), ServiceHistory)
    assert h.servers[0].stats.up_percent == pytest.approx(97.22222)
    assert [p.status for p in h.servers[0].stats.data_points] == [1, 0, 1]
    assert h.servers[1].stats.data_points == []


def test_list_of_ids_and_login_profile():
    assert decode_data(fx("service_server.json"), list[int]) == [8, 3, 1]
    login = decode_data(fx("login.json"), LoginResult)
    assert login.token.startswith("eyJ") and login.expire == datetime(2026, 11, 26, 13, 0, tzinfo=CST)
    p = decode_data(fx("profile.json"), Profile)
    assert (p.id, p.username, p.role) == (1, "admin", 0)


@pytest.mark.parametrize("name, cls", [
    ("error_unauthorized.json", Unauthorized),
    ("error_unauthorized_success_false.json", Unauthorized),
    ("error_invalid_token.json", TokenRejected),
    ("error_token_expired.json", TokenRejected),
    ("error_scope.json", MissingScope),
    ("error_pat_forbidden.json", MissingScope),
    ("error_csrf.json", CsrfRejected),
    ("error_server_not_found.json", NotFound),
    ("error_service_not_found.json", NotFound),
    ("error_guest_period.json", GuestPeriodDenied),
    ("error_invalid_period.json", ApiError),
    ("error_404.json", ApiError),
])
def test_error_envelopes(name, cls):
    with pytest.raises(cls) as info:
        decode_data(fx(name), Setting)
    assert type(info.value) is cls
    assert info.value.message and "\n" not in info.value.message


def test_error_messages_are_specific():
    with pytest.raises(MissingScope) as info:
        decode_data(fx("error_scope.json"), ServiceOverview)
    assert info.value.scope == "nezha:service:read" and "nezha:service:read" in info.value.message
    with pytest.raises(TokenRejected) as info:
        decode_data(fx("error_token_expired.json"), ServiceOverview)
    assert "expired" in info.value.message
    with pytest.raises(ApiError) as info:
        decode_data(fx("error_invalid_period.json"), ServiceOverview)
    assert "invalid period: 90d" in info.value.message


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b"[]", b'"str"', b"{}", b'{"success":false}'])
def test_rest_garbage_is_protocol_error(body):
    with pytest.raises(ProtocolError):
        decode_data(body, Setting)


def test_rest_bad_item_costs_the_item_or_field_not_the_list():
    body = json.dumps({"success": True, "data": [
        {"group": {"id": 1, "name": "ok"}, "servers": [1, 2]},
        "not-an-object",
        {"group": {"id": "x", "name": "bad id"}, "servers": [3, "four", None]},
    ]})
    report = DecodeReport()
    groups = decode_data(body, list[ServerGroup], report)
    assert [g.group.name for g in groups] == ["ok", "bad id"]
    assert groups[1].group.id == 0 and groups[1].servers == [3]
    assert report.bad_fields == 4  # the string item, the id, "four", the null
    ids = decode_data(b'{"success":true,"data":[1,"2",true,null,3.0]}', list[int])
    assert ids == [1, 2, 3]


def test_rest_wrong_data_type_gives_empty_value():
    report = DecodeReport()
    assert decode_data(b'{"success":true,"data":"nope"}', list[ServerGroup], report) == []
    assert decode_data(b'{"success":true,"data":[1]}', Setting, report) == Setting()
    assert report.bad_fields == 2


def test_error_that_is_not_a_string():
    with pytest.raises(ApiError):
        decode_data(b'{"error":{"code":7}}', Setting)


def test_convert_lenient_defaults_and_counts():
    report = DecodeReport()
    st = convert_lenient({"cpu": "x", "mem_used": 5, "temperatures": "no"}, HostState, report)
    assert st.cpu == 0.0 and st.mem_used == 5 and st.temperatures == ()
    assert report.bad_fields == 2


def test_plain_unauthorized_is_a_permission_answer_not_a_login_problem():
    with pytest.raises(NotFound) as info:
        decode_data(b'{"error":"unauthorized"}', MetricSeries)
    assert "current login" in info.value.message


def _mutations(doc, rng):
    """Replace one random value somewhere in ``doc`` by a value of a random wrong kind."""
    weird = [None, "x", -1, 1.5, 1e300, 2**70, True, [], {}, [None], {"a": 1}, "0001-01-01T00:00:00Z"]
    path = []
    node = doc
    while isinstance(node, (dict, list)) and node and rng.random() < 0.85:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        parent[key] = rng.choice(weird)
    return doc


@pytest.mark.parametrize("name", ["frame_first.json", "frame_later.json", "frame_nulls.json"])
def test_fuzzed_frames_never_raise_anything_but_protocol_error(name):
    import random

    rng = random.Random(name)
    base = fx(name)
    for _ in range(150):
        doc = json.loads(base)
        for _ in range(rng.randint(1, 4)):
            doc = _mutations(doc, rng)
        text = json.dumps(doc)
        if rng.random() < 0.2:  # and some byte-level damage
            cut = rng.randrange(len(text))
            text = text[:cut] + rng.choice(["", "}", "\x00", "\"", "[", "ä"]) + text[cut + 1:]
        try:
            frame, report = decode_frame(text.encode())
        except ProtocolError:
            continue
        assert isinstance(frame, StreamFrame)
        assert all(s.id > 0 for s in frame.servers)
        assert all(isinstance(s.state.cpu, float) and isinstance(s.host.mem_total, int) for s in frame.servers)
        assert all(s.last_active is None or s.last_active.year > 1 for s in frame.servers)


@pytest.mark.parametrize("name, typ", [
    ("service_overview.json", ServiceOverview), ("servers_full.json", list[FullServer]),
    ("service_history.json", ServiceHistory), ("server_group.json", list[ServerGroup]),
    ("setting_admin.json", Setting), ("metrics_cpu.json", MetricSeries),
])
def test_fuzzed_rest_answers_raise_only_nezha_errors(name, typ):
    import random

    from nezha_tui.api.errors import NezhaError

    rng = random.Random(name)
    for _ in range(100):
        doc = json.loads(fx(name))
        for _ in range(rng.randint(1, 3)):
            doc = _mutations(doc, rng)
        try:
            value = decode_data(json.dumps(doc).encode(), typ)
        except NezhaError:
            continue
        assert value is not None


def test_typed_path_drops_servers_without_id():
    doc = {"now": 1, "servers": [{"id": 2, "name": "ok"}, {"name": "no id"}, {"id": -3}]}
    frame, report = decode_frame(json.dumps(doc))
    assert [s.id for s in frame.servers] == [2]
    assert report.dropped_servers == 2 and report.bad_fields == 0


def test_frame_bytes_that_are_not_utf8_are_a_protocol_error():
    # the stream hands raw bytes to decode_frame (no str round trip): bad UTF-8 must not escape
    with pytest.raises(ProtocolError, match="not UTF-8"):
        decode_frame(b'{"now": 1, "servers": [{"id": 1, "name": "\xff"}]}')
    frame, report = decode_frame('{"now": 1, "servers": [{"id": 1, "name": "é"}]}'.encode())
    assert frame.servers[0].name == "é" and report.clean
