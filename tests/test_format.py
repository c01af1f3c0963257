import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nezha_tui.format import (country_flag, fmt_age, fmt_bytes, fmt_count, fmt_duration, fmt_load, fmt_percent,
                              fmt_speed, fmt_temp, level, percent_of)


@pytest.mark.parametrize("value,expected", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB"),
    (1024**7, "1024.0 EiB"), (-2048, "-2.0 KiB"), (math.nan, "0 B"), ("junk", "0 B"), (None, "0 B"),
])
def test_fmt_bytes(value, expected):
    assert fmt_bytes(value) == expected


def test_speed_and_percent():
    assert fmt_speed(1024 * 1024 * 3) == "3.0 MiB/s"
    assert fmt_percent(42) == "42.0%" and fmt_percent(99.95) == "100.0%" and fmt_percent(math.inf) == "0.0%"
    assert percent_of(50, 200) == 25.0 and percent_of(5, 0) == 0.0


@pytest.mark.parametrize("seconds,expected", [
    (0, "0s"), (9, "9s"), (250, "4m 10s"), (3 * 3600 + 300, "3h 05m"), (12 * 86400 + 4 * 3600 + 59, "12d 4h"),
    (-5, "0s"),
])
def test_fmt_duration(seconds, expected):
    assert fmt_duration(seconds) == expected


def test_age_load_flag():
    assert fmt_age(14) == "14s ago"
    assert fmt_load(0.5) == "0.50"
    assert country_flag("de") == "\U0001F1E9\U0001F1EA"
    assert country_flag("") == "" and country_flag("d") == "" and country_flag("1x") == ""


# --------------------------------------------------------------------------- never raise, never grow

HELPERS = (fmt_bytes, fmt_speed, fmt_percent, fmt_duration, fmt_age, fmt_load, fmt_temp, fmt_count, level)
ODD = [math.inf, -math.inf, math.nan, 1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, 10**400, -(10**400),
       2**63, -(2**63), 2**64, 10**4000, True, None, "12", "x", object(), [1], 1e22, -1]


@pytest.mark.parametrize("value", ODD, ids=lambda v: "object()" if type(v) is object else repr(v))  # no address
@pytest.mark.parametrize("fn", HELPERS, ids=lambda f: f.__name__)
def test_helpers_never_raise_and_stay_short(fn, value):
    out = fn(value)
    assert isinstance(out, str) and 0 < len(out) <= 14 and out.isprintable()  # "99999d 23h ago"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10**500), max_value=10**500)))
def test_helpers_never_raise_for_any_number(value):
    for fn in HELPERS:
        out = fn(value)
        assert isinstance(out, str) and len(out) <= 14
    assert math.isfinite(percent_of(value, 3)) and math.isfinite(percent_of(3, value))
    assert math.isfinite(percent_of(value, value))


@pytest.mark.parametrize("fn, value, expected", [
    (fmt_bytes, 1e308, ">9999 EiB"), (fmt_bytes, -1e308, "<-9999 EiB"), (fmt_bytes, 10**400, ">9999 EiB"),
    (fmt_bytes, 2**63 - 1, "8.0 EiB"), (fmt_speed, math.inf, "0 B/s"),
    (fmt_percent, 1e308, ">999%"), (fmt_percent, -5000, "<-999%"), (fmt_percent, 999.9, "999.9%"),
    (fmt_percent, math.nan, "0.0%"),
    (fmt_duration, 1e308, ">99999d"), (fmt_duration, 2**63 - 1, ">99999d"), (fmt_duration, 99_999 * 86400, "99999d 0h"),
    (fmt_duration, math.inf, "0s"), (fmt_age, 10**400, ">99999d ago"),
    (fmt_load, 1e308, ">99999"), (fmt_load, -1e9, "<-99999"), (fmt_load, 99_999, "99999.00"),
    (fmt_temp, 1e308, ">999°C"), (fmt_temp, -273.15, "-273°C"), (fmt_temp, -5000, "<-999°C"),
    (fmt_count, 1e308, ">999T"), (fmt_count, 2**63 - 1, ">999T"), (fmt_count, -5, "0"),
    (fmt_count, 99_999, "99k"), (fmt_count, 1234, "1234"), (fmt_count, 12_345, "12.3k"),
    (fmt_count, 4_500_000, "4.5M"), (fmt_count, 999_999_999, "999M"), (fmt_count, 1.5e9, "1.5G"),
])
def test_clamped_values(fn, value, expected):
    assert fn(value) == expected


def test_percent_of_is_finite_and_level_tolerates_odd_bounds():
    assert percent_of(1e308, 1e-300) == 0.0  # would be inf
    assert percent_of(10**400, 10) == 0.0 and percent_of(5, 10**400) == pytest.approx(0.0)
    assert level(95) == "crit" and level(math.nan) == "ok" and level(80, math.nan, math.inf) in ("ok", "warn", "crit")


def test_country_flag_of_anything():
    for value in (None, 5, ["de"], b"de", "ｄｅ", "d\u0301"):
        assert country_flag(value) == ""
