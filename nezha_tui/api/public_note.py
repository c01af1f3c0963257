"""Parse a server's ``public_note`` (section 7 of the API reference).

The note is opaque admin text.  The admin UI and the popular themes write a
JSON object with ``billingDataMod`` and ``planDataMod`` parts whose values are
all strings.  Anything else is kept as raw text.  This module never raises
and never follows or opens anything found in the note.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import date, datetime

__all__ = ["Billing", "Plan", "PublicNote", "parse_public_note", "normalize_cycle", "TRAFFIC_TYPES"]

TRAFFIC_TYPES = {"1": "inbound", "2": "in + out"}
"""``planDataMod.trafficType`` codes in words, as the Dashboard's admin UI offers them
(nezhahq/admin-frontend: "1" Inbound, "2" Both): which direction the volume counts."""

# How many months one cycle lasts (days/weeks are handled apart).
_CYCLE_ALIASES: dict[str, str] = {
    "day": "day", "d": "day", "daily": "day", "天": "day", "日": "day",
    "week": "week", "w": "week", "weekly": "week", "周": "week",
    "month": "month", "m": "month", "mo": "month", "monthly": "month", "月": "month",
    "quarter": "quarter", "quarterly": "quarter", "q": "quarter", "季": "quarter",
    "half": "half-year", "half-year": "half-year", "halfyearly": "half-year",
    "semi-annually": "half-year", "semiannually": "half-year", "h": "half-year", "半年": "half-year",
    "year": "year", "y": "year", "yr": "year", "yearly": "year", "annual": "year",
    "annually": "year", "年": "year",
}
_CYCLE_MONTHS = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}


def normalize_cycle(text: str) -> str:
    """``'Monthly'`` -> ``'month'``; ``'季'`` -> ``'quarter'``; unknown -> ``''``."""
    key = (text or "").strip().lower()
    if key in _CYCLE_ALIASES:
        return _CYCLE_ALIASES[key]
    for alias in ("半年", "月", "季", "年"):  # e.g. "月付", "年付"
        if alias in key:
            return _CYCLE_ALIASES[alias]
    return ""


@dataclass(frozen=True)
class Billing:
    start: date | None = None
    end: date | None = None
    never_expires: bool = False
    auto_renewal: bool = False
    cycle: str = ""  # normalized: day/week/month/quarter/half-year/year or ""
    amount: str = ""
    price_label: str = ""  # "free", "pay as you go", or the amount as written
    days_left: int | None = None  # to `end` (rolled forward when auto-renewing); None if unknown/never
    next_renewal: date | None = None  # the end rolled forward past today, when auto-renewing

    @property
    def price_text(self) -> str:
        """``'5EUR/month'``, ``'free'``, ``'pay as you go'``, ``'5EUR'`` (no cycle) or ``''`` (no amount)."""
        price = self.price_label or self.amount
        if price and self.cycle and self.price_label not in ("free", "pay as you go"):
            return f"{price}/{self.cycle}"
        return price


@dataclass(frozen=True)
class Plan:
    bandwidth: str = ""
    traffic_vol: str = ""
    traffic_type: str = ""
    ipv4: bool = False
    ipv6: bool = False
    network_route: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def traffic_words(self) -> str:
        """The traffic type in words: ``'in + out'`` for ``"2"``; text as written; ``'type 7'`` for
        another code; ``''`` when there is none."""
        code = self.traffic_type
        if not code:
            return ""
        if code in TRAFFIC_TYPES:
            return TRAFFIC_TYPES[code]
        return f"type {code}" if code.isdigit() else code

    @property
    def traffic_text(self) -> str:
        """``'2TB (in + out)'``, ``'1TB'``, ``'inbound'`` or ``''``."""
        words = self.traffic_words
        if self.traffic_vol and words:
            return f"{self.traffic_vol} ({words})"
        return self.traffic_vol or words


@dataclass(frozen=True)
class PublicNote:
    raw: str = ""
    billing: Billing | None = None
    plan: Plan | None = None

    @property
    def is_structured(self) -> bool:
        return self.billing is not None or self.plan is not None


def _as_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return ""


def _parse_date(text: str) -> date | None:
    text = text.strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year = d.year + month0 // 12
    month = month0 % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _roll_forward(end: date, cycle: str, today: date) -> date | None:
    """Advance ``end`` by whole cycles until it is today or later."""
    if cycle in ("day", "week"):
        step = 1 if cycle == "day" else 7
        if end >= today:
            return end
        periods = -(-(today - end).days // step)
        return date.fromordinal(end.toordinal() + periods * step)
    months = _CYCLE_MONTHS.get(cycle)
    if not months:
        return None
    rolled, n = end, 0
    while rolled < today and n < 12 * 200:
        n += months
        rolled = _add_months(end, n)
    return rolled


def _price_label(amount: str) -> str:
    if amount == "0":
        return "free"
    if amount == "-1":
        return "pay as you go"
    return amount


def _parse_billing(data: dict, today: date) -> Billing:
    end_text = _as_str(data.get("endDate"))
    never = end_text.startswith("0000-00-00")
    start = _parse_date(_as_str(data.get("startDate")))
    end = None if never else _parse_date(end_text)
    auto = _as_str(data.get("autoRenewal")) == "1"
    cycle = normalize_cycle(_as_str(data.get("cycle")))
    amount = _as_str(data.get("amount"))
    next_renewal = None
    effective_end = end
    if end is not None and auto and cycle:
        next_renewal = _roll_forward(end, cycle, today)
        if next_renewal is not None:
            effective_end = next_renewal
    days_left = None if effective_end is None else (effective_end - today).days
    return Billing(
        start=start, end=end, never_expires=never, auto_renewal=auto, cycle=cycle,
        amount=amount, price_label=_price_label(amount), days_left=days_left,
        next_renewal=next_renewal,
    )


def _split_tags(*texts: str) -> list[str]:
    tags: list[str] = []
    for text in texts:
        for part in text.replace("，", ",").split(","):
            part = part.strip()
            if part and part not in tags:
                tags.append(part)
    return tags


def _parse_plan(data: dict) -> Plan:
    route = _as_str(data.get("networkRoute"))
    return Plan(
        bandwidth=_as_str(data.get("bandwidth")),
        traffic_vol=_as_str(data.get("trafficVol")),
        traffic_type=_as_str(data.get("trafficType")),
        ipv4=_as_str(data.get("IPv4")) == "1",
        ipv6=_as_str(data.get("IPv6")) == "1",
        network_route=route,
        tags=_split_tags(route, _as_str(data.get("extra"))),
    )


def parse_public_note(text: str | None, today: date) -> PublicNote:
    """Parse defensively; a note that is not the themes' JSON is kept as raw text."""
    raw = text if isinstance(text, str) else ""
    stripped = raw.strip()
    if not stripped.startswith("{"):
        return PublicNote(raw=raw)
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        return PublicNote(raw=raw)
    if not isinstance(data, dict):
        return PublicNote(raw=raw)
    billing_data = data.get("billingDataMod")
    plan_data = data.get("planDataMod")
    billing = _parse_billing(billing_data, today) if isinstance(billing_data, dict) else None
    plan = _parse_plan(plan_data) if isinstance(plan_data, dict) else None
    return PublicNote(raw=raw, billing=billing, plan=plan)
