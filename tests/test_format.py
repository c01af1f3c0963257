import math

import pytest

from nezha_tui.format import (country_flag, fmt_age, fmt_bytes, fmt_duration, fmt_load, fmt_percent,
                              fmt_speed, percent_of)


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
