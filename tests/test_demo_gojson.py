"""The Go-style JSON writer of the simulated Dashboard."""

from nezha_tui.demo.gojson import (
    F32, GoMap, GoTime, OMIT, ZERO_TIME, dumps, fields, go_float, go_float32, go_str, rfc3339, rfc3339nano,
)


def test_float64_like_go():
    assert go_float(45.0) == "45"
    assert go_float(0.1) == "0.1"
    assert go_float(1e16) == "10000000000000000"
    assert go_float(1.5e-5) == "0.000015"
    assert go_float(1e-7) == "1e-7"  # e-07 cleaned to e-7
    assert go_float(2.5e-7) == "2.5e-7"
    assert go_float(1.5e21) == "1.5e+21"
    assert go_float(1e20) == "100000000000000000000"
    assert go_float(3.0000000000000004) == "3.0000000000000004"
    assert go_float(-2.0) == "-2"


def test_float32_shortest():
    assert go_float32(97.22222222) == "97.22222"
    assert go_float32(33.333333) == "33.333332"
    assert go_float32(100.0) == "100"
    assert go_float32(0.0) == "0"
    assert go_float32(99.99) == "99.99"


def test_strings_are_html_escaped_like_json_marshal():
    assert go_str("a<b>&c") == '"a\\u003cb\\u003e\\u0026c"'
    assert go_str('q"\\\n\x01') == '"q\\"\\\\\\n\\u0001"'
    assert go_str("\u2028é测试") == '"\\u2028é测试"'
    assert go_str("plain") == '"plain"'


def test_times():
    ns = 1764158401123456789
    assert rfc3339nano(ns, 8 * 3600) == "2025-11-26T20:00:01.123456789+08:00"
    assert rfc3339nano(1764158401120000000, 0) == "2025-11-26T12:00:01.12Z"
    assert rfc3339nano(1764158401000000000, -5 * 3600 - 1800) == "2025-11-26T06:30:01-05:30"
    assert rfc3339(1764158401, 8 * 3600) == "2025-11-26T20:00:01+08:00"
    assert dumps(ZERO_TIME) == '"0001-01-01T00:00:00Z"'
    assert dumps(GoTime(1764158401000000000, 3600, nano=False)) == '"2025-11-26T13:00:01+01:00"'


def test_omitempty_and_maps():
    doc = fields(("a", 0, OMIT), ("b", 0), ("c", [], OMIT), ("d", {}, OMIT), ("e", GoMap({10: 1, 2: 2, 1: 3})),
                 ("f", GoMap(), OMIT), ("g", F32(97.22222222)), ("h", None), ("i", False, OMIT), ("j", "", OMIT))
    # structs ({}) are never omitted; maps sort their keys as strings
    assert dumps(doc) == '{"b":0,"d":{},"e":{"1":3,"10":1,"2":2},"g":97.22222,"h":null}'
