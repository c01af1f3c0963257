"""The public_note panel: billing (expiry, price, renewal) and plan (bandwidth, traffic,
IP, route, tags) of the themes' JSON, or the note's raw text."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nezha_tui.api.public_note import PublicNote
from nezha_tui.ui.drilldown import append_gap
from nezha_tui.ui.styles import theme_style
from nezha_tui.ui.screens.detail.rows import Rows

__all__ = ["note_text"]


def note_text(note: PublicNote | None, raw: str, theme: Any, width: int | None = None,
              short: bool = False) -> Text | None:
    """Billing and plan of the public_note, or its raw text when it is not that JSON; each row
    on one line of ``width`` cells (see :class:`Rows`); the raw text wraps, and the route and
    the tags unless ``short`` (a short terminal: they are cut)."""
    rows = Rows(theme, width)
    billing = note.billing if note is not None else None
    plan = note.plan if note is not None else None
    if billing is not None:
        left = billing.days_left
        role = "error" if left is not None and left < 0 else "warning" if left is not None and left <= 7 else ""
        muted_or = theme_style(theme, role or "foreground-muted")
        rolled = billing.next_renewal is not None and billing.next_renewal != billing.end
        expiry: list[Text] = []
        if billing.never_expires:
            expiry.append(Text("never expires", style=theme_style(theme, "success")))
        elif billing.auto_renewal and billing.next_renewal is not None:
            # an auto-renewing plan is due on its next renewal, not on the (past) end date of the note
            day = billing.next_renewal.isoformat()
            for head, days in ((f"renews {day}", f"({left} days)" if left != 1 else "(1 day)"),
                               (day, f"({left}d)")):
                text = Text(head)
                if left is not None:
                    append_gap(text)
                    text.append(days, style=muted_or)
                expiry.append(text)
            expiry.append(Text(day))
        elif billing.end is not None:
            day = billing.end.isoformat()
            for days in ((f"({left} days left)" if left >= 0 else f"(expired {-left} days ago)") if left is not None
                         else "", (f"({left}d left)" if left >= 0 else f"(expired {-left}d ago)") if left is not None
                         else ""):
                text = Text(day)
                if days:
                    append_gap(text)
                    text.append(days, style=muted_or)
                expiry.append(text)
            expiry.append(Text(day, style=muted_or if role else ""))
        else:
            expiry.append(Text("-"))
        rows.add("Expires", *expiry)
        rows.add("Price", billing.price_text or "-")
        if not billing.auto_renewal:
            rows.add("Renewal", "no auto-renewal", "none")
        elif billing.next_renewal is None:
            rows.add("Renewal", "automatic (cycle unknown)" if not billing.never_expires else "automatic", "automatic")
        elif rolled and billing.end is not None:
            rows.add("Renewal", f"automatic (note: {billing.end.isoformat()})", "automatic")  # the note's end date
        else:
            rows.add("Renewal", "automatic")
        if billing.start is not None:
            rows.add("Since", billing.start.isoformat())
    if plan is not None:
        if plan.bandwidth:
            rows.add("Bandwidth", plan.bandwidth)
        if plan.traffic_text:
            rows.add("Traffic", plan.traffic_text, plan.traffic_vol or plan.traffic_text)
        ip = Text()
        ip.append("IPv4 ✓" if plan.ipv4 else "IPv4 ✗", style=theme_style(theme, "success" if plan.ipv4 else "foreground-muted"))
        ip.append("  ")
        ip.append("IPv6 ✓" if plan.ipv6 else "IPv6 ✗", style=theme_style(theme, "success" if plan.ipv6 else "foreground-muted"))
        rows.add("IP", ip)
        if plan.network_route:
            rows.add("Route", plan.network_route, wrap=not short)
        if plan.tags:
            rows.add("Tags", ", ".join(plan.tags), wrap=not short)
    if billing is None and plan is None:
        raw = (raw or "").strip()
        if not raw:
            return None
        rows.add("Note", Text(raw[:500]), wrap=True)  # shown as plain text, never as markup
    return rows.text()
