from datetime import date

import pytest

from nezha_tui.api.public_note import normalize_cycle, parse_public_note

TODAY = date(2026, 11, 26)


def note(billing=None, plan=None):
    import json

    doc = {}
    if billing is not None:
        doc["billingDataMod"] = billing
    if plan is not None:
        doc["planDataMod"] = plan
    return json.dumps(doc, ensure_ascii=False)


def test_plain_text_is_raw():
    pn = parse_public_note("rented from Hetzner, call Bob", TODAY)
    assert pn.raw == "rented from Hetzner, call Bob"
    assert pn.billing is None and pn.plan is None and not pn.is_structured


@pytest.mark.parametrize("text", [None, "", "{", "{not json", "[1,2]", '{"billingDataMod": "x"}', "{" * 5000])
def test_garbage_never_raises(text):
    pn = parse_public_note(text, TODAY)
    assert pn.billing is None


def test_billing_days_left_and_price():
    pn = parse_public_note(note({"startDate": "2026-01-01T00:00:00+08:00", "endDate": "2026-12-06T00:00:00+08:00",
                                 "autoRenewal": "0", "cycle": "Monthly", "amount": "5EUR"}), TODAY)
    b = pn.billing
    assert b.start == date(2026, 1, 1) and b.end == date(2026, 12, 6)
    assert b.days_left == 10 and b.price_label == "5EUR" and b.cycle == "month"
    assert b.next_renewal is None and not b.auto_renewal


def test_auto_renewal_rolls_past_end_forward():
    b = parse_public_note(note({"endDate": "2026-01-31", "autoRenewal": "1", "cycle": "月"}), TODAY).billing
    # Jan 31 + 10 months -> Nov 30 (clamped to month end), which is >= Nov 26.
    assert b.next_renewal == date(2026, 11, 30)
    assert b.days_left == 4


def test_auto_renewal_yearly_and_weekly():
    b = parse_public_note(note({"endDate": "2024-03-01", "autoRenewal": "1", "cycle": "y"}), TODAY).billing
    assert b.next_renewal == date(2027, 3, 1)
    w = parse_public_note(note({"endDate": "2026-11-20", "autoRenewal": "1", "cycle": "Week"}), TODAY).billing
    assert w.next_renewal == date(2026, 11, 27) and w.days_left == 1


def test_expired_without_renewal_is_negative():
    b = parse_public_note(note({"endDate": "2026-11-20", "autoRenewal": "0", "cycle": "m"}), TODAY).billing
    assert b.days_left == -6


def test_never_expires_and_special_amounts():
    b = parse_public_note(note({"endDate": "0000-00-00T23:59:59+08:00", "amount": "0"}), TODAY).billing
    assert b.never_expires and b.end is None and b.days_left is None and b.price_label == "free"
    b = parse_public_note(note({"amount": "-1"}), TODAY).billing
    assert b.price_label == "pay as you go"


def test_plan_flags_and_tags():
    p = parse_public_note(note(plan={"bandwidth": "1Gbps", "trafficVol": "2TB", "trafficType": "2", "IPv4": "1",
                                     "IPv6": "0", "networkRoute": "CN2 GIA,BGP", "extra": "NVMe, BGP"}), TODAY).plan
    assert p.bandwidth == "1Gbps" and p.traffic_vol == "2TB" and p.ipv4 and not p.ipv6
    assert p.tags == ["CN2 GIA", "BGP", "NVMe"]


@pytest.mark.parametrize("vol, code, words, text", [
    ("2TB", "2", "in + out", "2TB (in + out)"),
    ("1TB", "1", "inbound", "1TB (inbound)"),
    ("500GB", "", "", "500GB"),
    ("", "1", "inbound", "inbound"),
    ("1TB", "7", "type 7", "1TB (type 7)"),  # a code no frontend offers: still not a bare "(7)"
    ("1TB", "双向", "双向", "1TB (双向)"),  # a theme that writes words: as written
    ("", "", "", ""),
])
def test_traffic_type_codes_in_words(vol, code, words, text):
    p = parse_public_note(note(plan={"trafficVol": vol, "trafficType": code}), TODAY).plan
    assert p.traffic_words == words and p.traffic_text == text


def test_price_text_names_the_cycle():
    def price(**billing):
        return parse_public_note(note(billing), TODAY).billing.price_text

    assert price(amount="5EUR", cycle="Month") == "5EUR/month"
    assert price(amount="49.99USD", cycle="年") == "49.99USD/year"
    assert price(amount="0", cycle="Month") == "free"
    assert price(amount="-1", cycle="Month") == "pay as you go"
    assert price(amount="5EUR") == "5EUR" and price(cycle="Month") == ""


def test_wrong_types_inside_are_tolerated():
    pn = parse_public_note('{"billingDataMod": {"endDate": 5, "amount": 12, "autoRenewal": true}, "planDataMod": []}', TODAY)
    assert pn.billing.amount == "12" and pn.billing.auto_renewal and pn.billing.end is None
    assert pn.plan is None


@pytest.mark.parametrize("text,expected", [("quarterly", "quarter"), ("Q", "quarter"), ("半年", "half-year"),
                                           ("semi-annually", "half-year"), ("annual", "year"), ("年付", "year"),
                                           ("Day", "day"), ("weird", "")])
def test_cycles(text, expected):
    assert normalize_cycle(text) == expected
