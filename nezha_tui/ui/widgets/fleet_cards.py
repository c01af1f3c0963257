"""The cards view of the fleet, virtualized on the Line API.

Cards have a fixed size and are laid out in as many columns as fit; only the
card rows crossing the viewport are formatted, each card cached under
``(id, version, width, cursor, size, theme)``.  ``large=True`` (wall mode)
gives taller, wider cards with more lines, or compact ones where fewer than 4 large
cards would fit (80x24).
"""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.strip import Strip

from nezha_tui.api.public_note import PublicNote
from nezha_tui.fleet_view import FleetView
from nezha_tui.format import (
    cpu_cores, fmt_bytes, fmt_duration, fmt_load, fmt_percent, fmt_speed, fmt_temp, level, load_level, percent_of,
)
from nezha_tui.store import ServerState
from nezha_tui.ui.widgets.fleet_table import ALERT_MARK, STALE_MARK, FleetGrid, busiest_gpu, fit, hottest

__all__ = ["FleetCards", "billing_text", "billing_urgent"]


def billing_text(note: PublicNote | None, room: int = 1000) -> str:
    """``'5EUR/year · 23d left · renews 2027-01-01'``, ``'free · never expires'`` ... or ``''``.

    Parts are dropped from the end until the text fits in ``room`` cells.
    """
    billing = note.billing if note is not None else None
    if billing is None:
        return ""
    parts: list[str] = []
    price = billing.price_text  # as the detail's "Price"
    if price:
        parts.append(price)
    if billing.never_expires:
        parts.append("never expires")
    elif billing.days_left is not None:
        days = billing.days_left
        parts.append(f"{days}d left" if days >= 0 else f"expired {-days}d ago")
    if billing.next_renewal is not None and billing.auto_renewal:
        parts.append(f"renews {billing.next_renewal.isoformat()}")
    while parts and cell_len(" · ".join(parts)) > room:
        parts.pop()
    return " · ".join(parts)


def billing_urgent(note: PublicNote | None, days: int = 7) -> bool:
    """Expired, or due within ``days`` without auto-renewal... or with it (money leaves soon either way)."""
    billing = note.billing if note is not None else None
    if billing is None or billing.never_expires or billing.days_left is None:
        return False
    return billing.days_left <= days


class FleetCards(FleetGrid):
    """Cards in a grid; arrows move in two dimensions."""

    COMPONENT_CLASSES = {
        "fleet-cards--border", "fleet-cards--cursor", "fleet-cards--title", "fleet-cards--offline",
        "fleet-cards--ok", "fleet-cards--warn", "fleet-cards--crit", "fleet-cards--empty",
        "fleet-cards--up", "fleet-cards--down", "fleet-cards--muted",
    }

    DEFAULT_CSS = """
    FleetCards { scrollbar-size-vertical: 1; overflow-x: hidden; }
    FleetCards > .fleet-cards--border { color: $foreground 40%; }  /* visible on light themes too (panel-lighten-2 was white on white) */
    FleetCards > .fleet-cards--cursor { color: $nezha-accent; text-style: bold; }
    FleetCards:focus > .fleet-cards--cursor { color: $nezha-accent; text-style: bold; }
    FleetCards > .fleet-cards--title { text-style: bold; }
    FleetCards > .fleet-cards--offline { color: $text-disabled; }
    FleetCards > .fleet-cards--ok { color: $success; }
    FleetCards > .fleet-cards--warn { color: $nezha-warn; text-style: $nezha-severity-style; }
    FleetCards > .fleet-cards--crit { color: $nezha-crit; text-style: $nezha-severity-style; }
    FleetCards > .fleet-cards--empty { color: $panel-lighten-1; }
    FleetCards > .fleet-cards--up { color: $success; }
    FleetCards > .fleet-cards--down { color: $nezha-crit; text-style: bold; }
    FleetCards > .fleet-cards--muted { color: $text-muted; }
    /* NO_COLOR: colours become greys, so meaning moves to text styles (no reverse: it would
       hide the bars' blocks) and the selected card's border is reversed */
    FleetCards:nocolor > .fleet-cards--warn { text-style: bold; }
    FleetCards:nocolor > .fleet-cards--crit { text-style: bold underline; }
    FleetCards:nocolor > .fleet-cards--cursor { text-style: bold reverse; }
    FleetCards:nocolor:focus > .fleet-cards--cursor { text-style: bold reverse; }
    """

    _LINES_KEPT = 4096

    BINDINGS = [
        Binding("left,h", "cursor_h(-1)", "Left", show=False),
        Binding("right,l", "cursor_h(1)", "Right", show=False),
    ]

    def __init__(self, view: FleetView, *, large: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(view, id=id, classes=classes)
        self.large = large
        self._line_cache: dict[int, tuple[tuple, Strip]] = {}
        """Absolute line -> (the keys of the cards it cuts through, the line)."""
        if large:  # the wall pages by itself; nobody is there to follow a cursor
            self.follow_cursor = False
            self.show_cursor = False

    # -- geometry
    LARGE = (11, 46, 72)
    """Height, least and greatest width of a wall card."""
    COMPACT = (7, 36, 56)
    """A wall card on a small screen: no platform or transfer lines (an offline server's state
    takes the speeds' line), so that 6 fit at 80x24 instead of 2."""
    NORMAL = (8, 34, 56)

    @property
    def compact(self) -> bool:
        """Wall cards where fewer than 4 large ones would fit."""
        if not self.large:
            return False
        height, least, _ = self.LARGE
        size = self.size
        return ((size.width + self.GAP) // (least + self.GAP)) * (size.height // height) < 4

    def card_height_for(self, height: int) -> int:
        """The card height at this width if the widget were ``height`` lines tall."""
        if not self.large:
            return self.NORMAL[0]
        large, least, _ = self.LARGE
        compact = ((self.size.width + self.GAP) // (least + self.GAP)) * (height // large) < 4
        return self.COMPACT[0] if compact else large

    @property
    def form(self) -> tuple[int, int, int]:
        """(height, least width, greatest width) of a card now."""
        if not self.large:
            return self.NORMAL
        return self.COMPACT if self.compact else self.LARGE

    @property
    def card_height(self) -> int:
        return self.form[0]

    @property
    def min_width(self) -> int:
        return self.form[1]

    @property
    def max_width(self) -> int:
        return self.form[2]

    GAP = 1

    def grid(self) -> tuple[int, int]:
        """(columns, card width) for the current width."""
        width = max(1, self.box.width)
        cols = max(1, (width + self.GAP) // (self.min_width + self.GAP))
        card_w = min(self.max_width, (width - self.GAP * (cols - 1)) // cols)
        return cols, max(10, card_w)

    @property
    def rows_per_page(self) -> int:
        return max(1, self.box.height // self.card_height)

    def _update_virtual_size(self) -> None:
        cols, _ = self.grid()
        rows = math.ceil(len(self.view.ids) / cols)
        height = rows * self.card_height
        if self.large:  # whole pages, so that the last one can be scrolled to like the others
            page = self.rows_per_page * self.card_height
            height = self.page_count() * page + max(0, self.box.height - page)
        self.virtual_size = Size(0, height)

    def visible_ids(self) -> list[int]:
        cols, _ = self.grid()
        h = self.card_height
        top = int(self.scroll_offset.y) // h
        bottom = (int(self.scroll_offset.y) + self.box.height - 1) // h
        if self.large:  # wall pages show whole cards only
            bottom = top + self.rows_per_page - 1
        return self.view.ids[top * cols:(bottom + 1) * cols]

    def _first_visible_index(self) -> int:
        cols, _ = self.grid()
        return int(self.scroll_offset.y) // self.card_height * cols

    def _refresh_indices(self, indices: list[int]) -> None:
        # a card is card_height whole lines tall: repaint the bands of the card rows concerned
        cols, _ = self.grid()
        h = self.card_height
        top = int(self.scroll_offset.y)
        width = self.size.width
        rows = sorted({index // cols for index in indices})
        visible = Region(0, 0, width, self.size.height)  # a band cut by the bottom edge must not spill over the footer
        self.refresh(*(band for row in rows if (band := Region(0, row * h - top, width, h).intersection(visible))))

    def _scroll_to_cursor(self) -> None:
        cols, _ = self.grid()
        h = self.card_height
        row = self.cursor // cols
        top = int(self.scroll_offset.y)
        height = self.box.height
        if row * h < top:
            self.scroll_to(y=row * h, animate=False, immediate=True)
        elif (row + 1) * h > top + height:
            self.scroll_to(y=max(0, (row + 1) * h - height), animate=False, immediate=True)

    # -- moves
    def action_cursor(self, delta: int) -> None:
        cols, _ = self.grid()
        target = self.cursor + delta * cols
        if 0 <= target < len(self.view.ids):
            self._move_to(target)

    def action_cursor_h(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        cols, _ = self.grid()
        self._move_to(self.cursor + direction * cols * self.rows_per_page)

    # -- wall paging
    def page_count(self) -> int:
        cols, _ = self.grid()
        rows = math.ceil(len(self.view.ids) / cols)
        return max(1, math.ceil(rows / self.rows_per_page))

    def current_page(self) -> int:
        return int(self.scroll_offset.y) // (self.rows_per_page * self.card_height)

    def next_page(self) -> bool:
        """Show the next page; ``True`` when it wrapped around to the first."""
        page = self.current_page() + 1
        wrapped = page >= self.page_count()
        if wrapped:
            page = 0
        self.scroll_to(y=page * self.rows_per_page * self.card_height, animate=False, immediate=True)
        self.refresh()
        return wrapped

    # -- rendering
    def _render_line(self, y: int) -> Strip:
        width = self.box.width
        cols, card_w = self.grid()
        h = self.card_height
        absolute = int(self.scroll_offset.y) + y
        row, line = divmod(absolute, h)
        ids = self.view.ids
        base = self._base_style
        if self.large and row >= int(self.scroll_offset.y) // h + self.rows_per_page:
            return Strip.blank(width, base)  # wall pages show whole cards only
        strips: list[Strip] = []
        for col in range(cols):
            index = row * cols + col
            if col:
                strips.append(Strip.blank(self.GAP, base))
            if index >= len(ids):
                strips.append(Strip.blank(card_w, base))
                continue
            strips.append(self._card(ids[index], card_w, index == self.cursor and self.show_cursor)[line])
        return Strip.join(strips).adjust_cell_length(width, base)

    def _card_key(self, sid: int, width: int, cursor: bool, now: float | None = None) -> tuple:
        """What a card's lines depend on (the day too: billing shows days left; an offline
        server's age as shown)."""
        age = None
        if not self.store.online_flags.get(sid, False):
            age = self.age_label(sid, self.fleet_now() if now is None else now)
        return (sid, self.store.version.get(sid, 0), width, cursor, self.form, self._style_gen,
                self.store.now_ms // 86_400_000, self.view.alerts.get(sid), age)

    def _lines(self, ys: range) -> list[Strip]:
        """Lines ``ys`` as wide as the widget (the scrollbar is drawn over the last column), each
        kept with the keys of the cards it cuts through: a line is joined again only when one
        of them changed."""
        paint = self.outer_size.width
        cols, card_w = self.grid()
        h = self.card_height
        top = int(self.scroll_offset.y)
        ids = self.view.ids
        count = len(ids)
        cursor_index = self.cursor if self.show_cursor else -1
        page_end = top // h + self.rows_per_page if self.large else None
        head = (cols, card_w, self.box.width, paint, self._style_gen)
        cache = self._line_cache
        now = self.fleet_now()
        out: list[Strip] = []
        for y in ys:
            absolute = top + y
            row, line = divmod(absolute, h)
            if page_end is not None and row >= page_end:
                cards: tuple = ()  # wall pages show whole cards only: blank below
            else:
                first = row * cols
                cards = tuple(self._card_key(ids[i], card_w, i == cursor_index, now)
                              for i in range(first, min(count, first + cols)))
            key = (head, line, cards)
            hit = cache.get(absolute)
            if hit is not None and hit[0] == key:
                out.append(hit[1])
                continue
            strip = self.render_line(y)
            if strip.cell_length != paint:  # the column under the scrollbar, as Textual pads it
                strip = strip.adjust_cell_length(paint, Style(bgcolor=self._base_style.bgcolor))
            if len(cache) >= self._LINES_KEPT:
                cache.clear()  # scrolled through a big fleet: start over rather than grow
            cache[absolute] = (key, strip)
            out.append(strip)
        return out

    def _card(self, sid: int, width: int, cursor: bool) -> list[Strip]:
        key = self._card_key(sid, width, cursor)
        lines = self._cache.get(key)
        if lines is None:
            lines = self._build_card(sid, width, cursor, age=key[-1])  # the age its key holds
            self._cache[key] = lines
        return lines  # type: ignore[return-value]

    def _build_card(self, sid: int, width: int, cursor: bool, age: str | None = None) -> list[Strip]:
        self.rows_rendered += 1
        base = self._base_style
        st = self._style
        border = base + (st("fleet-cards--cursor") if cursor else st("fleet-cards--border"))
        server = self.store.servers.get(sid)
        h = self.card_height
        large = self.large and not self.compact  # the wall's full card
        inner = width - 4
        if server is None or inner < 6:
            return [Strip.blank(width, base)] * h
        online = self.store.is_online(sid)
        status = self.store.state_of(sid)
        values = status.has_values  # never reported (or nothing to keep after a repair): all "-"
        stale = self.row_stale(sid)  # its Dashboard's stream is not live: last known values, dimmed
        live = online and values and not stale
        dim = st("fleet-cards--offline") if stale or not online else None

        def styled(kind: str | None) -> Style:
            style = base
            if kind:
                style = style + st(f"fleet-cards--{kind}")
            if dim is not None and kind not in ("down",):
                style = style + dim
            return style

        def row(*parts: tuple[str, str | None]) -> Strip:
            segs = [Segment("│ ", border)]
            used = 0
            for text, kind in parts:
                text = fit(text, min(cell_len(text), inner - used), False)
                used += cell_len(text)
                segs.append(Segment(text, styled(kind)))
            segs.append(Segment(" " * (inner - used), base))
            segs.append(Segment(" │", border))
            return Strip(segs, width)

        def spread(left: str, right: str, kind_l: str | None = None, kind_r: str | None = None) -> Strip:
            space = inner - cell_len(left) - cell_len(right)
            if space < 1:
                return row((left, kind_l))
            return row((left, kind_l), (" " * space, None), (right, kind_r))

        def bar(label: str, pct: float, show: bool = True) -> Strip:
            if not show or not values:
                return row((label.ljust(5), "muted"), ("-", "muted"))
            if not live:  # last known: the value alone, dimmed, no bar that looks live
                return row((label.ljust(5), "muted"), (fmt_percent(pct), None))
            bar_w = max(1, inner - 5 - 7)
            filled = int(round(max(0.0, min(100.0, pct)) / 100.0 * bar_w))
            kind = level(pct)
            return row((label.ljust(5), "muted"), ("█" * filled, kind), ("░" * (bar_w - filled), "empty"),
                       (fmt_percent(pct).rjust(7), kind))

        s, hst = server.state, server.host
        # top border with status and name
        alerts = self.view.alerts.get(sid)
        mark, mark_kind = ("●", "up") if online else ("○", "down")
        if stale:  # whether it is online now is not known
            mark, mark_kind = STALE_MARK, "muted"
        elif alerts and online:  # a rule firing, a quota: marked (an offline server keeps its ○)
            mark, mark_kind = ALERT_MARK, "crit"
        cc = (server.country_code or "").upper()[:2]
        name_room = max(1, width - 4 - 2 - (cell_len(cc) + 3 if cc else 0))
        title = server.name or f"#{server.id}"  # its id on its Dashboard (sid is a fleet key)
        name = fit(title, min(cell_len(title), name_room), False)
        top = [Segment("╭ ", border), Segment(mark, styled(mark_kind)), Segment(" ", base),
               Segment(name, styled("title"))]
        used = 2 + 1 + 1 + cell_len(name)
        tail = f" {cc} ╮" if cc else " ╮"
        fill = max(0, width - used - cell_len(tail) - 1)
        top.append(Segment(" " + "─" * fill, border))
        top.append(Segment(tail, border))
        lines = [Strip(top, width).adjust_cell_length(width, base)]

        platform = " · ".join(p for p in (hst.platform, hst.arch, hst.virtualization) if p) or "unknown platform"
        if stale and online:  # (offline: as below, marked stale)
            state_line = row(("stale: last known values", "muted"), (" · " + platform, "muted"))
        elif not online:
            state = status.state
            if state is ServerState.OFFLINE:
                if age is None:
                    age = self.age_label(sid, self.fleet_now())
                platform = f"offline, last seen {age} ago"
            elif state is ServerState.DISCONNECTED:
                platform = "offline, agent disconnected"
            else:
                platform = "offline, never reported"
            state_line = row((f"stale: {platform}" if stale else platform, "down"))
        elif alerts:
            names = ", ".join(str(a) for a in alerts) if isinstance(alerts, tuple) else "alert"
            state_line = row((f"{ALERT_MARK} {names}", "crit"), (" · " + platform, "muted"))
        elif status.repaired:
            state_line = row(("values repaired", "warn"), (" · " + platform, "muted"))
        else:
            state_line = row((platform, "muted"))
        compact = self.compact
        if not compact:
            lines.append(state_line)
        lines.append(bar("CPU", s.cpu))
        lines.append(bar("MEM", percent_of(s.mem_used, hst.mem_total), bool(hst.mem_total)))
        if large:
            lines.append(bar("SWAP", percent_of(s.swap_used, hst.swap_total), bool(hst.swap_total)))
        lines.append(bar("DISK", percent_of(s.disk_used, hst.disk_total), bool(hst.disk_total)))
        if compact and (stale or not online or status.repaired):
            lines.append(state_line)  # offline since when / repaired: more than speeds it has not
        elif live:
            lines.append(spread(f"↓ {fmt_speed(s.net_in_speed)}", f"↑ {fmt_speed(s.net_out_speed)}"))
        else:  # a speed is "now": an offline server has none
            lines.append(spread("↓ -", "↑ -", "muted", "muted"))
        load = fmt_load(s.load_1) if values else "-"
        # coloured relative to the core count when live and known (a last-known load is no alarm)
        load_kind = load_level(s.load_1, cpu_cores(hst.cpu)) if live else None
        load_kind = load_kind if load_kind in ("warn", "crit") else "muted"
        uptime = f"up {fmt_duration(s.uptime)}" if live else "up -"
        if large:
            if values:
                lines.append(spread(f"Σ↓ {fmt_bytes(s.net_in_transfer)}", f"Σ↑ {fmt_bytes(s.net_out_transfer)}",
                                    "muted", "muted"))
            else:
                lines.append(spread("Σ↓ -", "Σ↑ -", "muted", "muted"))
            extras: list[tuple[str, str | None]] = [("load ", "muted"), (load, load_kind)]
            t = hottest(server)
            if t is not None:
                extras.append(("  " + fmt_temp(t), "muted"))
            g = busiest_gpu(server)
            if g is not None:
                extras.append((f"  GPU {fmt_percent(g)}", "muted"))
            lines.append(row(*extras))
        billing, urgent = "", False
        try:
            note = self.store.note(sid)
            billing = billing_text(note, inner - cell_len(uptime) - 1)
            urgent = billing_urgent(note)
        except Exception:
            billing = ""
        if billing:
            lines.append(spread(uptime, billing, "muted", "warn" if urgent else None))
        elif large:  # load is on the line above
            conns = (f"TCP {s.tcp_conn_count} · UDP {s.udp_conn_count} · {s.process_count} procs" if values
                     else "TCP - · UDP - · - procs")
            lines.append(spread(uptime, conns, "muted", "muted"))
        else:
            lines.append(spread(uptime, f"load {load}", "muted", load_kind))
        lines.append(self._bottom(sid, width, border))
        while len(lines) < h:
            lines.insert(-1, row(("", None)))
        return lines[:h]

    def _bottom(self, sid: int, width: int, border: Style) -> Strip:
        """The bottom border; with several Dashboards it names the card's: ``╰──── work ─╯``."""
        label = self.dashboard_label(sid) if self.several else ""
        room = width - 6  # "╰─ " ... " ─╯"
        if not label or room < 1:
            return Strip([Segment("╰" + "─" * (width - 2) + "╯", border)], width)
        label = fit(label, min(cell_len(label), room), False)
        fill = width - 5 - cell_len(label)
        return Strip([Segment("╰" + "─" * fill + " ", border), Segment(label, border),
                      Segment(" ─╯", border)], width)

    # -- mouse
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        cols, card_w = self.grid()
        col = offset.x // (card_w + self.GAP)
        if col >= cols:
            return
        row = (int(self.scroll_offset.y) + offset.y) // self.card_height
        index = row * cols + col
        if 0 <= index < len(self.view.ids):
            self._move_to(index)
            self.open_highlighted()
