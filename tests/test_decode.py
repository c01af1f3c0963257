"""The tolerant decoder against hand-written fixtures in the Dashboard's real shapes."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from nezha_tui.api.decode import DecodeReport, DecoderFault, convert_lenient, decode_data, decode_frame
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


# --------------------------------------------------------------------------- never anything but ProtocolError


def _one(server: dict, **top) -> tuple:
    doc = {"now": 1795665600000, "servers": [server], **top}
    frame, report = decode_frame(json.dumps(doc).encode())
    return (frame.servers[0] if frame.servers else None), report, frame


LA = "2026-11-26T04:00:00Z"


@pytest.mark.parametrize("depth", [100, 990, 5000])
def test_deep_nesting_under_an_unknown_key_is_a_protocol_error_or_skipped(depth):
    data = b'{"now":1,"x":' + b"[" * depth + b"]" * depth + b',"servers":[{"id":1}]}'
    try:
        frame, report = decode_frame(data)
    except ProtocolError as exc:
        assert "nested too deeply" in str(exc) and depth > 100
    else:
        assert [s.id for s in frame.servers] == [1] and report.clean


@pytest.mark.parametrize("depth", [50, 900])
def test_deep_value_in_a_known_field_costs_that_field(depth):
    deep = "[" * depth + "]" * depth
    data = ('{"now":1,"servers":[{"id":1,"name":"a","state":{"cpu":' + deep + ',"mem_used":5}}]}').encode()
    frame, report = decode_frame(data)
    s = frame.servers[0]
    assert s.state.cpu == 0.0 and s.state.mem_used == 5 and s.name == "a"
    assert report.bad_fields == 1 and report.repaired == {1: {"state"}}


def test_deep_nesting_in_rest_answers_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        decode_data(b'{"success":true,"data":' + b"[" * 5000 + b"]" * 5000 + b"}", Setting)
    with pytest.raises(ApiError):  # an error text that is deeply nested: no RecursionError from str()
        decode_data(b'{"error":' + b"[" * 900 + b"]" * 900 + b"}", Setting)


@pytest.mark.parametrize("text", ['{"servers":[{"id":1,"name":"\ud800"}]}', '{"servers":[{"id":1,"state":{"cpu":"x"}},'
                                  '{"id":2,"name":"\udcff"}]}', "\ud800"])
def test_str_with_lone_surrogates_is_a_protocol_error(text):
    with pytest.raises(ProtocolError, match="not valid text") as info:
        decode_frame(text)
    assert not isinstance(info.value, DecoderFault)
    with pytest.raises(ProtocolError, match="not valid text"):
        decode_data(text, Setting)


def test_bad_utf8_after_a_wrong_typed_field_is_a_protocol_error():
    data = b'{"now":1,"servers":[{"id":1,"state":{"cpu":"x"}},{"id":2,"name":"\xff\xfe"}]}'
    with pytest.raises(ProtocolError, match="not UTF-8"):
        decode_frame(data)
    with pytest.raises(ProtocolError, match="not UTF-8"):
        decode_data(b'{"success":true,"data":{"config":{"site_name":1},"version":"\xff"}}', Setting)


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1" + "0" * 400, "1" + "0" * 5000, "1" + "0" * 400 + ".5"])
def test_numbers_out_of_range_cost_their_field(literal):
    data = ('{"now":1795665600000,"servers":[{"id":1,"name":"a","state":{"cpu":' + literal
            + ',"mem_used":' + literal + ',"load_1":0.5},"last_active":"' + LA + '"},{"id":2}]}').encode()
    frame, report = decode_frame(data)
    s = by_id(frame)
    assert sorted(s) == [1, 2]
    assert s[1].state.cpu == 0.0 and s[1].state.mem_used == 0 and s[1].state.load_1 == 0.5
    assert s[1].name == "a" and s[1].last_active is not None
    assert report.bad_fields == 2 and report.repaired == {1: {"state"}}


def test_out_of_range_now_and_top_level_numbers():
    frame, report = decode_frame(b'{"now":1e400,"online":-3,"servers":[{"id":1}]}')
    assert frame.now == 0 and frame.online == 0 and [s.id for s in frame.servers] == [1]
    assert report.bad_fields == 2


@pytest.mark.parametrize("now", [-1, 253402300800000, 2**63 - 1])
def test_now_outside_a_sane_range_is_unknown(now):
    """A ``now`` after year 9999 (or before 1970) would crash date arithmetic downstream."""
    frame, report = decode_frame(json.dumps({"now": now, "servers": [{"id": 1}]}))
    assert frame.now == 0 and report.bad_fields == 1 and "now" in report.notes[0]
    frame, report = decode_frame(json.dumps({"now": now, "servers": [{"id": 1, "state": {"cpu": "x"}}]}))
    assert frame.now == 0 and report.bad_fields == 2  # the same on the slow path


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30])
def test_ints_beyond_int64_are_dropped_and_counted(value):
    s, report, _ = _one({"id": 1, "host": {"mem_total": value, "arch": "x86_64"}, "state": {"mem_used": value},
                         "last_active": LA})
    assert s.host.mem_total == 0 and s.state.mem_used == 0 and s.host.arch == "x86_64"
    assert report.bad_fields == 2 and report.repaired == {1: {"host", "state"}}


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-Infinity", "1e400"])
def test_non_finite_floats_from_lax_strings_are_dropped(text):
    s, report, _ = _one({"id": 1, "state": {"cpu": text, "gpu": [1.5, text], "load_1": 1}, "last_active": LA})
    assert s.state.cpu == 0.0 and s.state.gpu == (1.5,) and s.state.load_1 == 1.0
    assert report.bad_fields == 2 and report.repaired == {1: {"state"}}
    for field_ in ("cpu", "load_1", "load_5", "load_15"):
        assert math.isfinite(getattr(s.state, field_))


def test_huge_finite_floats_are_kept_and_ints_at_the_int64_edge_too():
    s, report, _ = _one({"id": 1, "state": {"cpu": 1.7e308, "mem_used": 2**63 - 1}})
    assert s.state.cpu == 1.7e308 and s.state.mem_used == 2**63 - 1 and report.clean


@pytest.mark.parametrize("raw_id", ["²", "١٢", "𝟙", "1e3", " 7 ", "0x1f", "9" * 19, "9" * 5000, 2**63, 1.5, True, "-1"])
def test_ids_are_ascii_digits_in_int64_only(raw_id):
    frame, report = decode_frame(json.dumps({"servers": [{"id": raw_id, "state": {"cpu": "x"}}, {"id": 3}]}))
    ids = [s.id for s in frame.servers]
    if raw_id == " 7 ":
        assert ids == [7, 3]
    else:
        assert ids == [3] and report.dropped_servers == 1


def test_times_outside_pythons_range_become_none_and_are_counted():
    for text in ("9999-12-31T23:59:59-23:59", "9999-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
                 "0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z"):
        for state in ({}, {"cpu": "bad"}):  # typed fast path and slow path
            s, report, _ = _one({"id": 1, "state": state, "last_active": text})
            assert s.last_active is None, text
            assert "last_active" in report.repaired.get(1, set()), text
    s, report, _ = _one({"id": 1, "last_active": "9998-12-31T23:59:59Z"})
    assert s.last_active.year == 9998 and report.clean
    s, report, _ = _one({"id": 1, "last_active": "0001-01-01T00:00:00+08:00"})
    assert s.last_active is None and report.clean and report.repaired == {}  # Go's zero time, in a zone


def test_rest_times_outside_pythons_range_are_none():
    report = DecodeReport()
    body = json.dumps({"success": True, "data": {"token": "t", "expire": "9999-12-31T23:00:00-05:00"}})
    assert decode_data(body, LoginResult, report).expire is None
    assert report.bad_fields == 1


def test_rest_numbers_out_of_range_cost_their_field():
    report = DecodeReport()
    body = (b'{"success":true,"data":{"server_id":1,"metric":"cpu",'
            b'"data_points":[{"ts":1,"value":1e400},{"ts":2,"value":5}]}}')
    m = decode_data(body, MetricSeries, report)
    assert m.server_id == 1 and [p.value for p in m.data_points][-1] == 5.0
    assert report.bad_fields >= 1
    ids = decode_data(b'{"success":true,"data":[1,' + b"9" * 400 + b',"nan",3]}', list[int])
    assert ids == [1, 3]


# --------------------------------------------------------------------------- duplicates, repaired


@pytest.mark.parametrize("slow", [False, True])
def test_duplicate_ids_first_wins_and_are_counted(slow):
    servers = [{"id": 1, "name": "first"}, {"id": 2, "name": "two"}, {"id": 1, "name": "second"},
               {"id": "2", "name": "again"}]
    if slow:
        servers[1]["state"] = {"cpu": "x"}
    frame, report = decode_frame(json.dumps({"servers": servers}))
    assert [(s.id, s.name) for s in frame.servers] == [(1, "first"), (2, "two")]
    assert report.dropped_servers == 2
    assert sum("repeated" in n for n in report.notes) == 2


@pytest.mark.parametrize("first", [{"id": 1, "name": "ok", "last_active": LA},
                                   {"id": 1, "name": "ok", "state": {"cpu": 1, "load_1": "x"}, "last_active": LA}])
def test_a_repeated_id_repairs_nothing_of_the_first_record(first):
    later = [{"id": 1, "state": {"cpu": "bad"}, "host": None, "last_active": LA},
             {"id": "1", "last_active": "9999-12-31T00:00:00Z", "name": 5}]
    frame, report = decode_frame(json.dumps({"servers": [first, *later]}))
    assert [s.name for s in frame.servers] == ["ok"] and report.dropped_servers == 2
    assert report.repaired == ({} if "state" not in first else {1: {"state"}})
    assert frame.servers[0].last_active is not None
    # the typed path too
    frame, report = decode_frame(json.dumps({"servers": [{"id": 1, "last_active": LA},
                                                         {"id": 1, "last_active": "9999-12-31T00:00:00Z"}]}))
    assert report.repaired == {} and report.dropped_servers == 1 and frame.servers[0].last_active is not None


def test_negative_online_is_zero_on_both_paths():
    for servers in ([{"id": 1}], [{"id": 1, "state": {"cpu": "x"}}]):
        frame, report = decode_frame(json.dumps({"online": -4, "servers": servers}))
        assert frame.online == 0 and "online" in report.notes[0]


def test_fast_path_frames_have_no_repairs():
    for name in ("frame_first.json", "frame_later.json", "frame_no_servers.json"):
        frame, report = decode_frame(fx(name))
        assert report.repaired == {} and report.clean


def test_repaired_names_the_top_level_field_of_each_bad_value():
    frame, report = decode_frame(fx("frame_bad_types.json"))
    assert report.repaired == {22: {"state"}, 23: {"name", "state", "last_active"}, 25: {"host"}}
    # lax conversions ("24" for an id, 1.0 for an int, 1.5e9 bytes) are not repairs
    assert 24 not in report.repaired and 21 not in report.repaired


def test_null_host_or_state_of_a_reporting_server_is_repaired_never_reported_is_not():
    frame, report = decode_frame(fx("frame_nulls.json"))
    assert report.repaired == {11: {"host", "state"}}  # 12: zero time; 13: null lists inside
    assert report.bad_fields == 0
    cases = [
        ({"id": 1, "host": None, "state": {"cpu": 1}, "last_active": LA}, {1: {"host"}}),
        ({"id": 1, "state": None, "last_active": LA}, {1: {"state"}}),
        ({"id": 1, "host": {}, "state": {}, "last_active": "0001-01-01T00:00:00Z"}, {}),
        ({"id": 1, "host": None, "state": None, "last_active": "0001-01-01T00:00:00Z"}, {}),
        ({"id": 1, "host": None, "state": None}, {}),
        ({"id": 1, "last_active": LA}, {}),  # absent is not null: nothing to repair
        ({"id": 1, "name": None, "country_code": None, "last_active": LA}, {}),
    ]
    for server, expected in cases:
        _, report, _ = _one(server)
        assert report.repaired == expected, server


@pytest.mark.parametrize("server, fields", [
    ({"name": 5}, {"name"}),
    ({"public_note": {"a": 1}}, {"public_note"}),
    ({"display_index": "first"}, {"display_index"}),
    ({"country_code": ["de"]}, {"country_code"}),
    ({"last_active": "yesterday"}, {"last_active"}),
    ({"host": {"cpu": ["ok", 7]}}, {"host"}),
    ({"host": {"gpu": "T4"}}, {"host"}),
    ({"state": {"temperatures": [{"Name": "a", "Temperature": "hot"}]}}, {"state"}),
    ({"state": {"temperatures": [None, {"Name": "a"}]}}, {"state"}),
    ({"state": {"gpu": [1, None, "x"]}, "host": {"mem_total": -1.5e300}}, {"state", "host"}),
    ({"state": "up"}, {"state"}),
    ({"host": [1, 2]}, {"host"}),
])
def test_repaired_for_each_kind_of_bad_value(server, fields):
    s, report, _ = _one({"id": 9, "last_active": LA, **server})
    assert report.repaired == {9: fields}
    assert report.bad_fields >= 1
    assert s.id == 9


def test_many_bad_values_in_one_server_take_the_field_by_field_path():
    state = {k: "x" for k in ("cpu", "mem_used", "swap_used", "disk_used", "net_in_transfer", "net_out_transfer",
                              "net_in_speed", "net_out_speed", "uptime", "load_1", "load_5", "load_15")}
    state["gpu"] = ["x"] * 30 + [12.5]
    state["process_count"] = 77
    s, report, _ = _one({"id": 4, "name": 1, "state": state, "host": {"arch": "arm", "mem_total": "big"},
                         "last_active": LA})
    assert s.state.process_count == 77 and s.state.gpu == (12.5,) and s.host.arch == "arm"
    assert report.repaired == {4: {"name", "state", "host"}}
    assert report.bad_fields == 12 + 30 + 1 + 1


def test_every_server_with_a_bad_field_is_not_much_slower_than_the_typed_path():
    """The slow path repairs a value with one more conversion, not a walk in Python (the bench:
    scripts/bench_decode.py, ~6x the typed path at 1,000 and 10,000 servers)."""
    import time

    servers = [{"id": i, "name": f"n{i}", "host": {"mem_total": 8 << 30, "platform": "debian"},
                "state": {"cpu": 1.5, "mem_used": 1 << 30, "load_1": 0.5, "uptime": 99}, "last_active": LA}
               for i in range(1, 1001)]
    clean = json.dumps({"now": 1, "servers": servers}).encode()
    for s in servers:
        s["state"]["uptime"] = "long"
    bad = json.dumps({"now": 1, "servers": servers}).encode()

    def best(data):  # this thread's CPU time: other processes (a parallel test run) don't count
        out = []
        for _ in range(5):
            t = time.thread_time()
            decode_frame(data)
            out.append(time.thread_time() - t)
        return min(out)

    frame, report = decode_frame(bad)
    assert len(frame.servers) == 1000 and report.bad_fields == 1000 and len(report.repaired) == 1000
    assert best(bad) < 15 * best(clean)  # ~6x measured (the old per-field walk: 20-25x)


def test_a_decoder_fault_is_still_a_protocol_error(monkeypatch):
    from nezha_tui.api import decode as dec

    def boom(*a, **k):
        raise KeyError("bug")

    monkeypatch.setattr(dec, "_decode_frame", boom)
    with pytest.raises(ProtocolError) as info:
        decode_frame(b"{}")
    assert isinstance(info.value, dec.DecoderFault) and "KeyError" in str(info.value)


@pytest.mark.parametrize("text", ['"-Infinity"', '"inf"', '"nan"', "1e400", '"1e999"'])
def test_rest_floats_are_finite_whatever_the_lax_conversion_accepts(text):
    report = DecodeReport()
    body = ('{"success":true,"data":{"metric":"cpu","data_points":[{"ts":1,"value":12.5},{"ts":2,"value":' + text
            + '}]}}')
    m = decode_data(body.encode(), MetricSeries, report)
    assert [p.value for p in m.data_points] == [12.5, 0.0] and report.bad_fields == 1
    rows = decode_data(('{"success":true,"data":[{"monitor_id":2,"avg_delay":[31.5,' + text + ']}]}').encode(),
                       list[ServerServiceSeries])
    assert rows[0].avg_delay == [31.5]
    json.dumps(msgspec.to_builtins(rows), allow_nan=False)
