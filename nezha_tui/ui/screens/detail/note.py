"""The public_note panel: billing (expiry, price, renewal) and plan (bandwidth, traffic,
IP, route, tags) of the themes' JSON, or the note's raw text."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nezha_tui.ui.drilldown import append_gap, theme_style
from nezha_tui.ui.screens.detail.rows import row as _row

__all__ = ["note_text"]


def note_text(note: Any, raw: str, theme: Any) -> Text | None:
    """Billing and plan of the public_note, or its raw text when it is not that JSON."""
    t = Text()
    billing = getattr(note, "billing", None) if note is not None else None
    plan = getattr(note, "plan", None) if note is not None else None
    if billing is not None:
        left = billing.days_left
        role = "error" if left is not None and left < 0 else "warning" if left is not None and left <= 7 else ""
        muted_or = theme_style(theme, role or "foreground-muted")
        rolled = billing.next_renewal is not None and billing.next_renewal != billing.end
        if billing.never_expires:
            expiry = Text("never expires", style=theme_style(theme, "success"))
        elif billing.auto_renewal and billing.next_renewal is not None:
            # an auto-renewing plan is due on its next renewal, not on the (past) end date of the note
            expiry = Text(f"renews {billing.next_renewal.isoformat()}")
            if left is not None:
                append_gap(expiry)
                expiry.append(f"({left} days)" if left != 1 else "(1 day)", style=muted_or)
        elif billing.end is not None:
            expiry = Text(billing.end.isoformat())
            if left is not None:
                append_gap(expiry)
                expiry.append(f"({left} days left)" if left >= 0 else f"(expired {-left} days ago)", style=muted_or)
        else:
            expiry = Text("-")
        _row(t, "Expires", expiry, theme)
        price = billing.price_label or billing.amount or "-"
        if billing.cycle and billing.price_label not in ("free", "pay as you go"):
            price += f" / {billing.cycle}"
        _row(t, "Price", price, theme)
        if not billing.auto_renewal:
            renew = "no auto-renewal"
        elif billing.next_renewal is None:
            renew = "automatic (cycle unknown)" if not billing.never_expires else "automatic"
        elif rolled and billing.end is not None:
            renew = f"automatic (note: {billing.end.isoformat()})"  # the end date written in the note
        else:
            renew = "automatic"
        _row(t, "Renewal", renew, theme)
        if billing.start is not None:
            _row(t, "Since", billing.start.isoformat(), theme)
    if plan is not None:
        if plan.bandwidth:
            _row(t, "Bandwidth", plan.bandwidth, theme)
        if plan.traffic_vol or plan.traffic_type:
            _row(t, "Traffic", " ".join(x for x in (plan.traffic_vol, plan.traffic_type and f"({plan.traffic_type})") if x), theme)
        ip = Text()
        ip.append("IPv4 ✓" if plan.ipv4 else "IPv4 ✗", style=theme_style(theme, "success" if plan.ipv4 else "foreground-muted"))
        ip.append("  ")
        ip.append("IPv6 ✓" if plan.ipv6 else "IPv6 ✗", style=theme_style(theme, "success" if plan.ipv6 else "foreground-muted"))
        _row(t, "IP", ip, theme)
        if plan.network_route:
            _row(t, "Route", plan.network_route, theme)
        if plan.tags:
            _row(t, "Tags", ", ".join(plan.tags), theme)
    if billing is None and plan is None:
        raw = (raw or "").strip()
        if not raw:
            return None
        _row(t, "Note", Text(raw[:500]), theme)  # shown as plain text, never as markup
    t.rstrip()
    return t

